// The plugin host: finds manifests in the configured plugin directories, verifies and
// loads plugins (in-process or isolated), and unloads and reloads them at run time.
//
// Loading is all-or-nothing: the manifest is read and its library's SHA-256 checked,
// the library opened, the entry symbol looked up, the table's ABI version, name and
// entries validated, and init() run — any failure is one Error naming the plugin and
// the step, and nothing stays loaded (the library is closed again).
//
// Only libraries named by manifests inside the configured directories are loaded; a
// manifest whose library resolves outside its own folder is refused.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "miso/vxor/manifest.hpp"
#include "miso/vxor/plugin.hpp"

namespace miso::vxor {

struct HostOptions {
  std::vector<std::filesystem::path> plugin_dirs;  // searched (non-recursively) for *.toml manifests
  // Mode for plugins whose manifest does not say `isolated = true`.
  LoadMode default_mode = LoadMode::InProcess;
  std::chrono::milliseconds call_deadline{2000};  // isolated calls, unless the manifest says otherwise
  // The worker executable for isolated mode; empty: $MISO_VXOR_WORKER, then
  // "miso-vxor-worker" beside the running executable.
  std::filesystem::path worker;
  // Receives plugins' log lines: (plugin, level MISO_VXOR_LOG_*, message). Default: stderr for warn and above.
  std::function<void(std::string_view plugin, int level, std::string_view message)> log;
};

// Called after a plugin was loaded (or reloaded) and before one is unloaded, so that
// registrations elsewhere (M-CODE modules, tmath kernels, workloads, triggers) can
// follow the plugin set.
struct HostListener {
  std::function<void(const std::shared_ptr<Plugin>&)> loaded;
  std::function<void(const std::shared_ptr<Plugin>&)> unloading;
};

class PluginHost {
 public:
  explicit PluginHost(HostOptions options = {});
  ~PluginHost();  // unloads everything, in reverse load order
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  const HostOptions& options() const noexcept { return options_; }

  // Manifests found in the plugin directories, sorted by name; malformed ones are
  // reported in `problems` (one message each) rather than thrown.
  struct Discovery {
    std::vector<Manifest> manifests;
    std::vector<std::string> problems;
  };
  Discovery discover() const;

  // Loads the plugin named `name` (found by discover()), or the manifest at a path
  // inside a plugin directory. Error(InvalidArgument) when already loaded or unknown.
  // `mode` overrides the manifest's and the default mode.
  std::shared_ptr<Plugin> load(std::string_view name_or_manifest, std::optional<LoadMode> mode = std::nullopt);
  // Loads every discovered plugin; returns the problems (one per plugin that failed).
  std::vector<std::string> load_all();
  // Runs shutdown() and closes the library (the library stays mapped while a
  // shared_ptr to the plugin is still held elsewhere). Error(InvalidArgument) when not loaded.
  void unload(std::string_view name);
  // unload + load with the same mode, re-reading the manifest (a rebuilt library with
  // an updated manifest is picked up). On failure the plugin stays unloaded.
  std::shared_ptr<Plugin> reload(std::string_view name);

  std::shared_ptr<Plugin> find(std::string_view name) const;  // nullptr when not loaded
  std::vector<std::shared_ptr<Plugin>> loaded() const;        // in load order

  void add_listener(HostListener listener);

 private:
  HostOptions options_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Plugin>> plugins_;
  std::vector<HostListener> listeners_;
};

// Loads one plugin from a verified manifest without a host (tests, the worker).
std::shared_ptr<Plugin> load_in_process(const Manifest& manifest,
                                        std::function<void(std::string_view, int, std::string_view)> log = {});
std::shared_ptr<Plugin> load_isolated(const Manifest& manifest, const std::filesystem::path& worker,
                                      std::chrono::milliseconds deadline,
                                      std::function<void(std::string_view, int, std::string_view)> log = {});

}  // namespace miso::vxor
