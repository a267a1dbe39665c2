// Where a plugin's registrations meet the components: M-CODE functions become a module
// global named after the plugin; kernels are registered with T-Mathematics as
// "<plugin>.<kernel>" (eager and lazy); conditions with ECHO-PRIME as
// "<plugin>.<condition>"; workloads become profiler workloads "<plugin>.<workload>"
// (component "<plugin>"). Unregistering follows unload.
#pragma once

#include <memory>

#include "miso/mcode/vm.hpp"
#include "miso/profiler/workload.hpp"
#include "miso/vxor/plugin.hpp"

namespace miso::omega {

// Binds `<plugin>.<function>(...)` natives (values converted at the boundary:
// nil/bool/int/float/string, lists of numbers and f64 tensors as arrays).
void bind_plugin_functions(mcode::Vm& vm, const std::shared_ptr<vxor::Plugin>& plugin);
void register_plugin_kernels(const std::shared_ptr<vxor::Plugin>& plugin);
void unregister_plugin_kernels(const vxor::Plugin& plugin);
void register_plugin_conditions(const std::shared_ptr<vxor::Plugin>& plugin);
void unregister_plugin_conditions(const vxor::Plugin& plugin);
void add_plugin_workloads(profiler::WorkloadRegistry& registry, const std::shared_ptr<vxor::Plugin>& plugin);

}  // namespace miso::omega
