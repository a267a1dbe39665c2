#include "miso/vxor/plugin_host.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"

namespace miso::vxor {

namespace fs = std::filesystem;

const char* to_string(LoadMode mode) noexcept { return mode == LoadMode::Isolated ? "isolated" : "in-process"; }

namespace {

fs::path canonical_or_normal(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return ec ? fs::absolute(p, ec).lexically_normal() : c;
}

std::string dir_list(const std::vector<fs::path>& dirs) {
  if (dirs.empty()) return "none configured";
  std::string out;
  for (const fs::path& d : dirs) {
    if (!out.empty()) out += ", ";
    out += d.string();
  }
  return out;
}

bool looks_like_path(std::string_view s) {
  return s.find('/') != std::string_view::npos || (s.size() > 5 && s.substr(s.size() - 5) == ".toml");
}

// The worker executable: configured, then $MISO_VXOR_WORKER, then beside this executable.
fs::path worker_path(const HostOptions& options) {
  if (!options.worker.empty()) return options.worker;
  if (const char* env = std::getenv("MISO_VXOR_WORKER"); env != nullptr && *env != '\0') return env;
  const std::optional<fs::path> self = core::executable_path();
  if (!self) return "miso-vxor-worker";
  return self->parent_path() / "miso-vxor-worker";
}

}  // namespace

PluginHost::PluginHost(HostOptions options) : options_(std::move(options)) {}

PluginHost::~PluginHost() {
  std::vector<std::shared_ptr<Plugin>> plugins;
  std::vector<HostListener> listeners;
  {
    std::lock_guard lock(mutex_);
    plugins.swap(plugins_);
    listeners = listeners_;
  }
  while (!plugins.empty()) {
    for (const HostListener& l : listeners) {
      try {
        if (l.unloading) l.unloading(plugins.back());
      } catch (...) {
        // Nothing can be reported from a destructor; the plugin is unloaded anyway.
      }
    }
    plugins.pop_back();
  }
}

PluginHost::Discovery PluginHost::discover() const {
  Discovery out;
  std::map<std::string, fs::path> seen;
  for (const fs::path& dir : options_.plugin_dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      out.problems.push_back("plugin directory " + dir.string() + " does not exist");
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::error_code type_ec;
      if (entry.path().extension() == ".toml" && entry.is_regular_file(type_ec)) files.push_back(entry.path());
    }
    if (ec) out.problems.push_back("plugin directory " + dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      try {
        Manifest m = read_manifest(file);
        auto [it, inserted] = seen.emplace(m.name, m.file);
        if (!inserted) {
          out.problems.push_back(file.string() + ": plugin '" + m.name + "' is also defined by " + it->second.string() +
                                 " (the first one is used)");
          continue;
        }
        out.manifests.push_back(std::move(m));
      } catch (const Error& e) {
        out.problems.push_back(e.what());
      }
    }
  }
  std::sort(out.manifests.begin(), out.manifests.end(),
            [](const Manifest& a, const Manifest& b) { return a.name < b.name; });
  return out;
}

std::shared_ptr<Plugin> PluginHost::load(std::string_view name_or_manifest, std::optional<LoadMode> mode) {
  Manifest manifest;
  if (looks_like_path(name_or_manifest)) {
    const fs::path file = canonical_or_normal(fs::path(name_or_manifest));
    bool inside = false;
    for (const fs::path& dir : options_.plugin_dirs) inside = inside || canonical_or_normal(dir) == file.parent_path();
    if (!inside) {
      throw Error(Error::Kind::InvalidArgument, "manifest " + std::string(name_or_manifest) +
                                                    " is outside the plugin directories (" +
                                                    dir_list(options_.plugin_dirs) + ")");
    }
    manifest = read_manifest(file);
  } else {
    Discovery d = discover();
    auto it = std::find_if(d.manifests.begin(), d.manifests.end(),
                           [&](const Manifest& m) { return m.name == name_or_manifest; });
    if (it == d.manifests.end()) {
      throw Error(Error::Kind::InvalidArgument, "no plugin named '" + std::string(name_or_manifest) +
                                                    "' in the plugin directories (" + dir_list(options_.plugin_dirs) +
                                                    ")");
    }
    manifest = std::move(*it);
  }

  const LoadMode chosen = mode ? *mode : manifest.isolated ? LoadMode::Isolated : options_.default_mode;
  std::shared_ptr<Plugin> plugin;
  std::vector<HostListener> listeners;
  {
    // Held while loading so that two loads of one plugin cannot both succeed.
    std::lock_guard lock(mutex_);
    for (const auto& p : plugins_) {
      if (p->name() == manifest.name) {
        throw Error(Error::Kind::InvalidArgument, "plugin '" + manifest.name + "' is already loaded");
      }
    }
    if (chosen == LoadMode::Isolated) {
      const auto deadline =
          manifest.deadline_ms ? std::chrono::milliseconds(*manifest.deadline_ms) : options_.call_deadline;
      plugin = load_isolated(manifest, worker_path(options_), deadline, options_.log);
    } else {
      plugin = load_in_process(manifest, options_.log);
    }
    plugins_.push_back(plugin);
    listeners = listeners_;
  }

  // Listeners run unlocked (they may query the host). One that fails undoes the load.
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    try {
      if (listeners[i].loaded) listeners[i].loaded(plugin);
    } catch (...) {
      for (std::size_t j = 0; j < i; ++j) {
        try {
          if (listeners[j].unloading) listeners[j].unloading(plugin);
        } catch (...) {
          // Already failing; the first error is the one reported.
        }
      }
      std::lock_guard lock(mutex_);
      std::erase(plugins_, plugin);
      throw;
    }
  }
  return plugin;
}

std::vector<std::string> PluginHost::load_all() {
  Discovery d = discover();
  std::vector<std::string> problems = std::move(d.problems);
  for (const Manifest& m : d.manifests) {
    if (find(m.name) != nullptr) continue;
    try {
      load(m.file.string());
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  return problems;
}

void PluginHost::unload(std::string_view name) {
  std::shared_ptr<Plugin> plugin = find(name);
  if (plugin == nullptr) {
    throw Error(Error::Kind::InvalidArgument, "plugin '" + std::string(name) + "' is not loaded");
  }
  std::vector<HostListener> listeners;
  {
    std::lock_guard lock(mutex_);
    listeners = listeners_;
  }
  for (const HostListener& l : listeners) {
    if (l.unloading) l.unloading(plugin);
  }
  std::lock_guard lock(mutex_);
  std::erase(plugins_, plugin);
}

std::shared_ptr<Plugin> PluginHost::reload(std::string_view name) {
  std::shared_ptr<Plugin> plugin = find(name);
  if (plugin == nullptr) {
    throw Error(Error::Kind::InvalidArgument, "plugin '" + std::string(name) + "' is not loaded");
  }
  const LoadMode mode = plugin->info().mode;
  const fs::path manifest = plugin->info().manifest.file;
  unload(name);
  plugin.reset();  // the old library closes before the new one opens (unless held elsewhere)
  return load(manifest.string(), mode);
}

std::shared_ptr<Plugin> PluginHost::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (const auto& p : plugins_) {
    if (p->name() == name) return p;
  }
  return nullptr;
}

std::vector<std::shared_ptr<Plugin>> PluginHost::loaded() const {
  std::lock_guard lock(mutex_);
  return plugins_;
}

void PluginHost::add_listener(HostListener listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

}  // namespace miso::vxor
