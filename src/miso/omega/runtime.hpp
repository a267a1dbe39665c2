// The running MISO: the effective configuration, the component lifecycle with every
// standard component registered (core, profiler, nexus, tmath, qlogik, echo, bridge,
// mprime, mcode, vxor), the plugin host, and what commands and the server need from
// them: the workload registry (built-in and plugin workloads), M-CODE VMs with the
// plugins' functions bound, and the sandbox options for untrusted scripts.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "miso/mcode/vm.hpp"
#include "miso/omega/config.hpp"
#include "miso/omega/lifecycle.hpp"
#include "miso/profiler/workload.hpp"
#include "miso/vxor/plugin_host.hpp"

namespace miso::omega {

// Every component's built-in workloads, as `miso profile` and `miso data gen` see them.
profiler::WorkloadRegistry builtin_workloads();

// The plugin directories of the configuration (vxor.plugin_dirs; empty: the folder
// "plugins" beside the folder of the running executable, i.e. bin/../plugins).
std::vector<std::filesystem::path> plugin_dirs(const Config& config);
// Host options from vxor.* keys (directories, default mode, deadline, worker).
vxor::HostOptions host_options(const Config& config);

class Runtime {
 public:
  explicit Runtime(Config config);
  ~Runtime();  // stop()
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Configures logging, starts the components in dependency order (vxor loads the
  // plugins of vxor.plugin_dirs when vxor.autoload is on). stop(): reverse order.
  void start();
  void stop() noexcept;

  const Config& config() const noexcept { return config_; }
  Lifecycle& lifecycle() noexcept { return lifecycle_; }
  vxor::PluginHost& plugins() noexcept { return *plugins_; }

  // Built-in workloads plus those of the loaded plugins ("<plugin>.<workload>").
  profiler::WorkloadRegistry workloads() const;
  // VmOptions for trusted local scripts (`miso mcode`): no budgets.
  mcode::VmOptions script_options() const;
  // VmOptions for untrusted input (the HTTP API): budgets and allow-list from the
  // mcode.* keys, output captured by the caller.
  mcode::VmOptions sandbox_options() const;
  // Binds every loaded plugin's functions into the VM as module globals.
  void bind_plugins(mcode::Vm& vm) const;

 private:
  Config config_;
  Lifecycle lifecycle_;
  std::unique_ptr<vxor::PluginHost> plugins_;
};

}  // namespace miso::omega
