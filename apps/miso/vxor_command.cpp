// `miso vxor list` (the plugins the configured directories offer), `miso vxor info
// PLUGIN` (loads one and prints what it registers) and `miso vxor check MANIFEST`
// (parses, verifies and test-loads one plugin, step by step; exit 1 on failure).
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/core/error.hpp"
#include "miso/omega/config.hpp"
#include "miso/omega/runtime.hpp"
#include "miso/vxor/plugin.h"
#include "miso/vxor/plugin_host.hpp"

namespace miso::app {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct VxorOptions {
  std::vector<std::string> plugin_dirs;  // --plugin-dir: replace the configured directories
  bool isolated = false;
  bool json = false;
};

vxor::HostOptions host_options(const VxorOptions& o) {
  vxor::HostOptions options = miso::omega::host_options(config());
  if (!o.plugin_dirs.empty()) {
    options.plugin_dirs.clear();
    for (const std::string& d : o.plugin_dirs) options.plugin_dirs.emplace_back(d);
  }
  // Plugin log lines of a one-shot command: warnings and errors on stderr.
  options.log = [](std::string_view plugin, int level, std::string_view message) {
    if (level >= MISO_VXOR_LOG_WARN) std::cerr << "[vxor." << plugin << "] " << message << "\n";
  };
  return options;
}

std::string abi_text(std::uint32_t major, std::uint32_t minor) { return fmt::format("{}.{}", major, minor); }

json manifest_json(const vxor::Manifest& m) {
  json j{{"name", m.name},
         {"version", m.version},
         {"abi", abi_text(m.abi_major, m.abi_minor)},
         {"manifest", m.file.string()},
         {"library", m.library.string()},
         {"sha256", m.sha256},
         {"description", m.description},
         {"isolated", m.isolated}};
  j["deadline_ms"] = m.deadline_ms ? json(*m.deadline_ms) : json(nullptr);
  return j;
}

json info_json(const vxor::PluginInfo& info) {
  json functions = json::array(), kernels = json::array(), workloads = json::array(), conditions = json::array();
  for (const auto& f : info.functions)
    functions.push_back({{"name", f.name}, {"arity", f.arity}, {"summary", f.summary}});
  for (const auto& k : info.kernels) {
    kernels.push_back({{"name", k.name}, {"arity", k.arity}, {"f32", k.has_f32}, {"summary", k.summary}});
  }
  for (const auto& w : info.workloads) workloads.push_back({{"name", w.name}, {"description", w.description}});
  for (const auto& c : info.conditions) conditions.push_back({{"name", c.name}, {"summary", c.summary}});
  return {{"name", info.name},
          {"version", info.version},
          {"description", info.description},
          {"abi", abi_text(info.abi_major, info.abi_minor)},
          {"mode", vxor::to_string(info.mode)},
          {"thread_safe", info.thread_safe},
          {"manifest", manifest_json(info.manifest)},
          {"functions", functions},
          {"kernels", kernels},
          {"workloads", workloads},
          {"conditions", conditions}};
}

json dirs_json(const vxor::HostOptions& options) {
  json dirs = json::array();
  for (const fs::path& d : options.plugin_dirs) dirs.push_back(d.string());
  return dirs;
}

int list_plugins(const VxorOptions& o) {
  const vxor::HostOptions options = host_options(o);
  vxor::PluginHost host(options);
  const vxor::PluginHost::Discovery d = host.discover();
  if (o.json) {
    json plugins = json::array();
    for (const vxor::Manifest& m : d.manifests) plugins.push_back(manifest_json(m));
    std::cout << json{{"plugin_dirs", dirs_json(options)}, {"plugins", plugins}, {"problems", d.problems}}.dump(2)
              << "\n";
    return kExitOk;
  }
  if (d.manifests.empty()) {
    std::string dirs;
    for (const fs::path& dir : options.plugin_dirs) dirs += (dirs.empty() ? "" : ", ") + dir.string();
    std::cout << "no plugins in " << (dirs.empty() ? "(no plugin directories)" : dirs) << "\n";
  } else {
    std::cout << fmt::format("{:<20} {:<10} {:<5} {:<10} {}\n", "name", "version", "abi", "mode", "description");
    for (const vxor::Manifest& m : d.manifests) {
      const bool isolated = m.isolated || options.default_mode == vxor::LoadMode::Isolated;
      std::cout << fmt::format("{:<20} {:<10} {:<5} {:<10} {}\n", m.name, m.version, abi_text(m.abi_major, m.abi_minor),
                               isolated ? "isolated" : "in-process", m.description);
    }
  }
  for (const std::string& p : d.problems) std::cerr << "miso: warning: " << p << "\n";
  return kExitOk;
}

int show_info(const std::string& plugin, const VxorOptions& o) {
  vxor::PluginHost host(host_options(o));
  std::optional<vxor::LoadMode> mode;
  if (o.isolated) mode = vxor::LoadMode::Isolated;
  std::shared_ptr<vxor::Plugin> p = host.load(plugin, mode);
  const vxor::PluginInfo& info = p->info();
  if (o.json) {
    std::cout << info_json(info).dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{} {} (ABI {}, {}{})\n", info.name, info.version, abi_text(info.abi_major, info.abi_minor),
                           vxor::to_string(info.mode), info.thread_safe ? ", thread-safe" : "");
  if (!info.description.empty()) std::cout << "  " << info.description << "\n";
  std::cout << "  manifest  " << info.manifest.file.string() << "\n";
  std::cout << "  library   " << info.manifest.library.string() << "\n";
  std::cout << "  sha256    " << info.manifest.sha256 << "\n";
  std::cout << fmt::format("functions ({})\n", info.functions.size());
  for (const auto& f : info.functions) {
    std::cout << fmt::format(
        "  {}.{:<16} {:<8} {}\n", info.name, f.name,
        f.arity < 0 ? std::string("args...") : fmt::format("{} arg{}", f.arity, f.arity == 1 ? "" : "s"), f.summary);
  }
  std::cout << fmt::format("kernels ({})\n", info.kernels.size());
  for (const auto& k : info.kernels) {
    std::cout << fmt::format("  {}.{:<16} {:<8} {}\n", info.name, k.name,
                             fmt::format("{}{}", k.arity == 1 ? "unary" : "binary", k.has_f32 ? "" : " f64"),
                             k.summary);
  }
  std::cout << fmt::format("workloads ({})\n", info.workloads.size());
  for (const auto& w : info.workloads) std::cout << fmt::format("  {}.{:<16} {}\n", info.name, w.name, w.description);
  std::cout << fmt::format("conditions ({})\n", info.conditions.size());
  for (const auto& c : info.conditions) std::cout << fmt::format("  {}.{:<16} {}\n", info.name, c.name, c.summary);
  return kExitOk;
}

// Each step runs only when the previous one passed; the first failure ends the check.
int check_manifest(const std::string& file, const VxorOptions& o) {
  struct Step {
    std::string name;
    bool ok;
    std::string detail;
  };
  std::vector<Step> steps;
  auto run = [&](const std::string& name, auto&& body) {
    if (!steps.empty() && !steps.back().ok) return;
    try {
      steps.push_back({name, true, body()});
    } catch (const Error& e) {
      steps.push_back({name, false, e.what()});
    }
  };
  if (!fs::exists(fs::path(file))) throw Error(Error::Kind::Io, file + ": manifest not found");
  vxor::Manifest manifest;
  run("manifest", [&] {
    manifest = vxor::read_manifest(file);
    return fmt::format("{} {}, ABI {}, library {}", manifest.name, manifest.version,
                       abi_text(manifest.abi_major, manifest.abi_minor), manifest.library.filename().string());
  });
  run("checksum", [&] {
    vxor::verify_library(manifest);
    return "sha256 " + manifest.sha256 + " matches";
  });
  run("load", [&] {
    vxor::PluginHost host(host_options(o));
    std::optional<vxor::LoadMode> mode;
    if (o.isolated) mode = vxor::LoadMode::Isolated;
    std::shared_ptr<vxor::Plugin> p = host.load(manifest.file.string(), mode);
    const vxor::PluginInfo& info = p->info();
    return fmt::format("{}: {} functions, {} kernels, {} workloads, {} conditions", vxor::to_string(info.mode),
                       info.functions.size(), info.kernels.size(), info.workloads.size(), info.conditions.size());
  });
  const bool ok = steps.back().ok && steps.size() == 3;
  if (o.json) {
    json js = json::array();
    for (const Step& s : steps) js.push_back({{"step", s.name}, {"ok", s.ok}, {"detail", s.detail}});
    std::cout << json{{"manifest", file}, {"ok", ok}, {"steps", js}}.dump(2) << "\n";
  } else {
    for (const Step& s : steps) std::cout << fmt::format("{:<9} {:<6} {}\n", s.name, s.ok ? "ok" : "FAILED", s.detail);
    std::cout << (ok ? "plugin ok\n" : "plugin check FAILED\n");
  }
  return ok ? kExitOk : kExitFailed;
}

void add_common(CLI::App* cmd, const std::shared_ptr<VxorOptions>& o, bool isolated) {
  cmd->add_option("--plugin-dir", o->plugin_dirs,
                  "Plugin directory to use instead of the configured ones (vxor.plugin_dirs); repeatable")
      ->type_name("DIR");
  if (isolated) cmd->add_flag("--isolated", o->isolated, "Load the plugin in a worker process (isolated mode)");
  cmd->add_flag("--json", o->json, "Print one JSON document on stdout");
}

}  // namespace

void add_vxor_commands(CLI::App& app, Action& action) {
  CLI::App* vxor = app.add_subcommand("vxor", "VXOR plugins: list, inspect and check them (docs/vxor.md)");
  vxor->require_subcommand(1);

  auto list_options = std::make_shared<VxorOptions>();
  CLI::App* list = vxor->add_subcommand("list", "List the plugins found in the plugin directories (loads nothing)");
  add_common(list, list_options, false);
  list->callback([list_options, &action] { action = [list_options] { return list_plugins(*list_options); }; });

  auto info_options = std::make_shared<VxorOptions>();
  auto info_plugin = std::make_shared<std::string>();
  CLI::App* info = vxor->add_subcommand("info", "Load one plugin and print what it registers");
  info->add_option("PLUGIN", *info_plugin, "Plugin name, or the path of its manifest in a plugin directory")
      ->required();
  add_common(info, info_options, true);
  info->callback([info_options, info_plugin, &action] {
    action = [info_options, info_plugin] { return show_info(*info_plugin, *info_options); };
  });

  auto check_options = std::make_shared<VxorOptions>();
  auto check_file = std::make_shared<std::string>();
  CLI::App* check = vxor->add_subcommand(
      "check", "Check a plugin: parse its manifest, verify the library's SHA-256, load it (exit 1 on failure)");
  check->add_option("MANIFEST", *check_file, "The plugin's manifest (.toml)")->required();
  add_common(check, check_options, true);
  check->callback([check_options, check_file, &action] {
    action = [check_options, check_file] { return check_manifest(*check_file, *check_options); };
  });
}

}  // namespace miso::app
