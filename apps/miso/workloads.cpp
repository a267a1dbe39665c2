#include "workloads.hpp"

#include "miso/bridge/workload.hpp"
#include "miso/echo/workload.hpp"
#include "miso/mcode/workload.hpp"
#include "miso/mprime/workload.hpp"
#include "miso/nexus/workload.hpp"
#include "miso/profiler/builtin_workloads.hpp"
#include "miso/qlogik/workload.hpp"
#include "miso/tmath/workload.hpp"

namespace miso::app {

miso::profiler::WorkloadRegistry all_workloads() {
  miso::profiler::WorkloadRegistry registry;
  miso::profiler::register_profiler_workloads(registry);
  miso::nexus::register_workloads(registry);
  miso::tmath::register_workloads(registry);
  miso::qlogik::register_workloads(registry);
  miso::echo::register_workloads(registry);
  miso::bridge::register_workloads(registry);
  miso::mprime::register_workloads(registry);
  miso::mcode::register_workloads(registry);
  return registry;
}

}  // namespace miso::app
