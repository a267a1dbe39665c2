// Every component's built-in workloads, in layer order.
#include "miso/bridge/workload.hpp"
#include "miso/echo/workload.hpp"
#include "miso/mcode/workload.hpp"
#include "miso/mprime/workload.hpp"
#include "miso/nexus/workload.hpp"
#include "miso/omega/runtime.hpp"
#include "miso/profiler/builtin_workloads.hpp"
#include "miso/qlogik/workload.hpp"
#include "miso/tmath/workload.hpp"

namespace miso::omega {

profiler::WorkloadRegistry builtin_workloads() {
  profiler::WorkloadRegistry registry;
  profiler::register_profiler_workloads(registry);
  nexus::register_workloads(registry);
  tmath::register_workloads(registry);
  qlogik::register_workloads(registry);
  echo::register_workloads(registry);
  bridge::register_workloads(registry);
  mprime::register_workloads(registry);
  mcode::register_workloads(registry);
  return registry;
}

}  // namespace miso::omega
