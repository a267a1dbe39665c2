// A loaded plugin, as the host sees it: what it registered, and calls into it. Two
// implementations share this interface: in-process (the library is dlopen'ed into
// this process; a call is an indirect call plus value conversion) and isolated (the
// library runs in a child process, `miso-vxor-worker`, and every call is a framed
// message over a socket pair; a crash, a hang past the deadline or a malformed reply
// becomes an Error here and the worker is restarted on the next call).
//
// Every call may throw miso::Error:
//   - Kind::InvalidArgument: unknown function/kernel/workload/condition, wrong arity,
//     wrong kernel input lengths;
//   - Kind::Format: the plugin reported an error (host->error) — the message is
//     "<plugin>.<name>: <plugin's message>" — or returned something invalid;
//   - Kind::Io: isolated mode only — the worker crashed, missed its deadline or broke
//     the protocol ("<plugin>: worker ... (signal 11)", "... exceeded its 2000 ms deadline").
// A Plugin is safe to use from several threads: calls are serialised unless the plugin
// declares MISO_VXOR_FLAG_THREAD_SAFE (in-process only; an isolated worker serves one
// call at a time).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "miso/vxor/manifest.hpp"
#include "miso/vxor/value.hpp"

namespace miso::vxor {

enum class LoadMode { InProcess, Isolated };
const char* to_string(LoadMode mode) noexcept;  // "in-process" | "isolated"

struct FunctionInfo {
  std::string name;  // unqualified; scripts call <plugin>.<name>
  int arity = -1;    // -1: any
  std::string summary;
};
struct KernelInfo {
  std::string name;
  int arity = 1;  // 1 or 2
  std::string summary;
  bool has_f32 = false;
};
struct WorkloadSpec {
  std::string name;
  std::string description;
};
struct ConditionInfo {
  std::string name;
  std::string summary;
};

struct PluginInfo {
  std::string name;
  std::string version;
  std::string description;
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
  bool thread_safe = false;
  LoadMode mode = LoadMode::InProcess;
  Manifest manifest;
  std::vector<FunctionInfo> functions;
  std::vector<KernelInfo> kernels;
  std::vector<WorkloadSpec> workloads;
  std::vector<ConditionInfo> conditions;
};

// One prepared instance of a plugin workload (prepare → run → check → destroy).
class PluginWorkload {
 public:
  virtual ~PluginWorkload() = default;
  virtual std::uint64_t input_bytes() const = 0;
  virtual void run() = 0;
  struct Check {
    bool passed = false;
    std::string detail;
  };
  virtual Check check() = 0;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual const PluginInfo& info() const noexcept = 0;
  const std::string& name() const noexcept { return info().name; }

  virtual PluginValue call(std::string_view function, std::span<const PluginValue> args) = 0;
  // out[i] = kernel(a[i]) or kernel(a[i], b[i]); b empty for arity 1; sizes must match.
  virtual void kernel_f64(std::string_view kernel, std::span<const double> a, std::span<const double> b,
                          std::span<double> out) = 0;
  virtual void kernel_f32(std::string_view kernel, std::span<const float> a, std::span<const float> b,
                          std::span<float> out) = 0;
  virtual bool condition(std::string_view condition, std::string_view event_type, std::int64_t key,
                         std::span<const Attribute> attributes) = 0;
  virtual std::unique_ptr<PluginWorkload> prepare_workload(std::string_view workload, std::uint64_t target_bytes,
                                                           std::uint64_t seed) = 0;

  // Counters of this plugin since load: calls made and failed (plugin errors, crashes,
  // timeouts), worker restarts (isolated), plugin-accounted bytes live now.
  struct Stats {
    std::uint64_t calls = 0;
    std::uint64_t failures = 0;
    std::uint64_t restarts = 0;
    std::int64_t live_bytes = 0;
  };
  virtual Stats stats() const = 0;
};

}  // namespace miso::vxor
