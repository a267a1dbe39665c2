// The running MISO: registers the standard components with their dependency arrows
// (ARCHITECTURE.md) and health figures, owns the plugin host and keeps the plugins'
// registrations (kernels, conditions) in step with loading and unloading.
#include "miso/omega/runtime.hpp"

#include <unistd.h>

#include <array>
#include <climits>
#include <system_error>

#include "miso/core/file.hpp"
#include "miso/core/memory.hpp"
#include "miso/nexus/executor.hpp"
#include "miso/omega/logging.hpp"
#include "miso/omega/plugin_bindings.hpp"
#include "miso/profiler/metric.hpp"
#include "miso/profiler/span.hpp"
#include "miso/tmath/lazy.hpp"
#include "miso/tmath/memory_pool.hpp"

#ifndef MISO_VERSION
#define MISO_VERSION "0.0.0"
#endif

namespace miso::omega {
namespace {

std::filesystem::path executable_dir() {
  if (const std::optional<std::filesystem::path> exe = core::executable_path()) return exe->parent_path();
  std::error_code ec;
  return std::filesystem::current_path(ec);
}

// Live and peak bytes of the memory tag named like the component, when there is one.
nlohmann::json memory_figures(std::string_view component) {
  for (const core::memory::TagStats& tag : core::memory::all_stats()) {
    if (tag.name == component) return {{"live_bytes", tag.live_bytes}, {"peak_bytes", tag.peak_bytes}};
  }
  return nlohmann::json::object();
}

std::size_t workload_count(const profiler::WorkloadRegistry& registry, std::string_view component) {
  std::size_t count = 0;
  for (const profiler::WorkloadInfo& info : registry.all()) count += info.component == component ? 1 : 0;
  return count;
}

}  // namespace

std::vector<std::filesystem::path> plugin_dirs(const Config& config) {
  std::vector<std::filesystem::path> dirs = config.get_paths("vxor.plugin_dirs");
  if (dirs.empty()) dirs.push_back((executable_dir() / ".." / "plugins").lexically_normal());
  return dirs;
}

vxor::HostOptions host_options(const Config& config) {
  vxor::HostOptions options;
  options.plugin_dirs = plugin_dirs(config);
  options.default_mode = config.get_bool("vxor.isolated") ? vxor::LoadMode::Isolated : vxor::LoadMode::InProcess;
  options.call_deadline = std::chrono::milliseconds(config.get_int("vxor.deadline_ms"));
  options.worker = config.get_path("vxor.worker");
  options.log = [](std::string_view plugin, int level, std::string_view message) {
    static constexpr std::array<spdlog::level::level_enum, 5> kLevels{
        spdlog::level::trace, spdlog::level::debug, spdlog::level::info, spdlog::level::warn, spdlog::level::err};
    const auto l = level >= 0 && level < static_cast<int>(kLevels.size()) ? kLevels[static_cast<std::size_t>(level)]
                                                                          : spdlog::level::err;
    log("vxor." + std::string(plugin), l, message);
  };
  return options;
}

Runtime::Runtime(Config config)
    : config_(std::move(config)), plugins_(std::make_unique<vxor::PluginHost>(host_options(config_))) {
  plugins_->add_listener(
      vxor::HostListener{[](const std::shared_ptr<vxor::Plugin>& plugin) {
                           register_plugin_kernels(plugin);
                           register_plugin_conditions(plugin);
                           log("vxor", spdlog::level::info, "plugin loaded",
                               {{"plugin", plugin->name()}, {"mode", vxor::to_string(plugin->info().mode)}});
                         },
                         [](const std::shared_ptr<vxor::Plugin>& plugin) {
                           unregister_plugin_kernels(*plugin);
                           unregister_plugin_conditions(*plugin);
                           log("vxor", spdlog::level::info, "plugin unloading", {{"plugin", plugin->name()}});
                         }});

  const std::string version = MISO_VERSION;
  const auto builtin = std::make_shared<profiler::WorkloadRegistry>(builtin_workloads());
  // Components without state of their own report their workloads and memory tag.
  const auto plain = [&](std::string name, std::vector<std::string> deps) {
    const std::string component = name;
    lifecycle_.add(Component{std::move(name), version, std::move(deps), nullptr,
                             [component, builtin] {
                               nlohmann::json figures = memory_figures(component);
                               figures["workloads"] = workload_count(*builtin, component);
                               return figures;
                             },
                             nullptr});
  };

  lifecycle_.add(Component{"core",
                           version,
                           {},
                           nullptr,
                           [] {
                             return nlohmann::json{{"live_bytes", core::memory::total_live_bytes()},
                                                   {"memory_tags", core::memory::all_stats().size()}};
                           },
                           nullptr});
  lifecycle_.add(Component{"profiler",
                           version,
                           {"core"},
                           nullptr,
                           [builtin] {
                             nlohmann::json figures = memory_figures("profiler");
                             figures["metrics"] = profiler::all_metrics().size();
                             figures["spans_enabled"] = profiler::enabled();
                             figures["workloads"] = workload_count(*builtin, "profiler");
                             return figures;
                           },
                           nullptr});
  lifecycle_.add(Component{"nexus",
                           version,
                           {"profiler"},
                           nullptr,
                           [] {
                             nexus::Executor& executor = nexus::Executor::global();
                             const nexus::ExecutorStats stats = executor.stats();
                             nlohmann::json figures = memory_figures("nexus");
                             figures["worker_threads"] = executor.worker_count();
                             figures["concurrency"] = executor.concurrency();
                             figures["queued"] = executor.queued();
                             figures["tasks_run"] = stats.tasks_run;
                             figures["steals"] = stats.steals;
                             return figures;
                           },
                           nullptr});
  lifecycle_.add(
      Component{"tmath",
                version,
                {"nexus"},
                nullptr,
                [] {
                  const tmath::PoolStats pool = tmath::MemoryPool::global().stats();
                  const tmath::PlanCacheStats plans = tmath::plan_cache_stats();
                  nlohmann::json figures = memory_figures("tmath");
                  figures["pool"] = {{"in_use_bytes", pool.in_use_bytes},
                                     {"peak_in_use_bytes", pool.peak_in_use_bytes},
                                     {"cached_bytes", pool.cached_bytes},
                                     {"hits", pool.hits},
                                     {"misses", pool.misses}};
                  figures["plan_cache"] = {{"plans", plans.plans}, {"hits", plans.hits}, {"misses", plans.misses}};
                  return figures;
                },
                nullptr});
  plain("qlogik", {"tmath"});
  plain("echo", {"tmath"});
  plain("bridge", {"echo", "qlogik"});
  plain("mprime", {"tmath"});
  lifecycle_.add(Component{"mcode",
                           version,
                           {"bridge", "mprime"},
                           nullptr,
                           [this, builtin] {
                             const mcode::VmOptions sandbox = sandbox_options();
                             nlohmann::json figures = memory_figures("mcode");
                             figures["workloads"] = workload_count(*builtin, "mcode");
                             figures["sandbox"] = {{"instruction_budget", sandbox.instruction_budget},
                                                   {"time_limit_ms", sandbox.time_limit.count()},
                                                   {"memory_budget_bytes", sandbox.memory_budget},
                                                   {"allowed_paths", sandbox.allowed_paths.size()}};
                             return figures;
                           },
                           nullptr});
  // A plugin that fails to load must not keep MISO from starting: it is skipped, and
  // its problem shows in `miso status` (and, with log.vxor = info, in the log). Not a
  // warning: a plugin folder may hold plugins meant for other hosts or MISO versions.
  auto problems = std::make_shared<std::vector<std::string>>();
  lifecycle_.add(Component{
      "vxor",
      version,
      {"profiler", "core"},
      [this, problems](const Config& c) {
        problems->clear();
        if (!c.get_bool("vxor.autoload")) return;
        *problems = plugins_->load_all();
        for (const std::string& problem : *problems)
          log("vxor", spdlog::level::info, "plugin not loaded", {{"problem", problem}});
      },
      [this, problems] {
        nlohmann::json plugins = nlohmann::json::array();
        for (const auto& plugin : plugins_->loaded()) {
          const vxor::Plugin::Stats stats = plugin->stats();
          plugins.push_back({{"name", plugin->name()},
                             {"version", plugin->info().version},
                             {"mode", vxor::to_string(plugin->info().mode)},
                             {"calls", stats.calls},
                             {"failures", stats.failures},
                             {"restarts", stats.restarts},
                             {"live_bytes", stats.live_bytes}});
        }
        nlohmann::json dirs = nlohmann::json::array();
        for (const auto& dir : plugins_->options().plugin_dirs) dirs.push_back(dir.string());
        return nlohmann::json{{"plugins_loaded", plugins.size()},
                              {"plugins", plugins},
                              {"plugin_dirs", dirs},
                              {"load_problems", *problems}};
      },
      [this]() noexcept {
        const auto loaded = plugins_->loaded();
        for (auto it = loaded.rbegin(); it != loaded.rend(); ++it) {
          try {
            plugins_->unload((*it)->name());
          } catch (const std::exception& e) {
            log("vxor", spdlog::level::warn, "unload failed", {{"plugin", (*it)->name()}, {"error", e.what()}});
          }
        }
      }});
  lifecycle_.add(Component{"omega",
                           version,
                           {"mcode", "vxor"},
                           nullptr,
                           [this] {
                             const auto file = config_.file();
                             return nlohmann::json{
                                 {"config_file", file ? nlohmann::json(file->string()) : nlohmann::json(nullptr)},
                                 {"log_level", config_.get_string("log.level")},
                                 {"pid", ::getpid()}};
                           },
                           [] { flush_logs(); }});
}

Runtime::~Runtime() { stop(); }

void Runtime::start() {
  configure_logging(config_);
  lifecycle_.start(config_);
}

void Runtime::stop() noexcept {
  lifecycle_.stop();
  try {
    flush_logs();
  } catch (...) {  // stop() never throws; a log that cannot be flushed has nowhere to report to
  }
}

profiler::WorkloadRegistry Runtime::workloads() const {
  profiler::WorkloadRegistry registry = builtin_workloads();
  for (const auto& plugin : plugins_->loaded()) add_plugin_workloads(registry, plugin);
  return registry;
}

mcode::VmOptions Runtime::script_options() const { return mcode::VmOptions{}; }

mcode::VmOptions Runtime::sandbox_options() const {
  mcode::VmOptions options;
  options.instruction_budget = static_cast<std::uint64_t>(config_.get_int("mcode.instruction_budget"));
  options.time_limit = std::chrono::milliseconds(config_.get_int("mcode.time_limit_ms"));
  options.memory_budget = static_cast<std::size_t>(config_.get_int("mcode.memory_budget_mb")) << 20;
  options.allowed_paths = config_.get_paths("mcode.allowed_paths");
  return options;
}

void Runtime::bind_plugins(mcode::Vm& vm) const {
  for (const auto& plugin : plugins_->loaded()) bind_plugin_functions(vm, plugin);
}

}  // namespace miso::omega
