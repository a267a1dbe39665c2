// `miso config show` (the effective configuration with the source of every value) and
// `miso status` (every component started in dependency order, its state, version and
// key figures, then stopped in reverse order).
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/omega/config.hpp"
#include "miso/omega/runtime.hpp"

namespace miso::app {

namespace {

int show_config(bool as_json) {
  const miso::omega::Config& c = config();
  if (as_json) {
    std::cout << c.to_json().dump(2) << "\n";
  } else {
    std::cout << c.show();
  }
  return kExitOk;
}

// Figures on one line, "key=value" for scalars and nested objects flattened with dots.
void flatten(const nlohmann::json& value, const std::string& prefix, std::string& out) {
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) flatten(item, prefix.empty() ? key : prefix + "." + key, out);
    return;
  }
  if (!out.empty()) out += " ";
  out += prefix + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
}

int show_status(bool as_json) {
  miso::omega::Runtime runtime(config());
  runtime.start();
  const nlohmann::json health = runtime.lifecycle().health();
  runtime.stop();
  bool healthy = true;
  for (const nlohmann::json& c : health) healthy = healthy && c["healthy"].get<bool>();
  if (as_json) {
    const auto file = runtime.config().file();
    std::cout << nlohmann::json{{"healthy", healthy},
                                {"config_file", file ? nlohmann::json(file->string()) : nlohmann::json(nullptr)},
                                {"components", health}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << fmt::format("{:<10} {:<9} {:<8} {}\n", "component", "state", "version", "figures");
    for (const nlohmann::json& c : health) {
      std::string figures;
      if (c.contains("figures")) {
        nlohmann::json f = c["figures"];
        // Plugins and their load problems are listed on their own lines below.
        f.erase("plugins");
        f.erase("load_problems");
        flatten(f, "", figures);
      }
      if (c.contains("error")) {
        figures += (figures.empty() ? "" : " ") + std::string("error: ") + c["error"].get<std::string>();
      }
      std::cout << fmt::format("{:<10} {:<9} {:<8} {}\n", c["name"].get<std::string>(),
                               c["healthy"].get<bool>() ? "running" : "UNHEALTHY", c["version"].get<std::string>(),
                               figures);
      if (c.contains("figures") && c["figures"].contains("plugins")) {
        for (const nlohmann::json& p : c["figures"]["plugins"]) {
          std::string line;
          flatten(p, "", line);
          std::cout << "           plugin " << line << "\n";
        }
        for (const nlohmann::json& problem : c["figures"]["load_problems"]) {
          std::cout << "           not loaded: " << problem.get<std::string>() << "\n";
        }
      }
    }
  }
  return healthy ? kExitOk : kExitFailed;
}

}  // namespace

void add_config_commands(CLI::App& app, Action& action) {
  CLI::App* cfg = app.add_subcommand("config", "The effective configuration (docs/config.md)");
  cfg->require_subcommand(1);
  auto show_json = std::make_shared<bool>(false);
  CLI::App* show = cfg->add_subcommand(
      "show", "Print every configuration key with its value and where it came from (default, file, env, cli)");
  show->add_flag("--json", *show_json, "Print one JSON document on stdout");
  show->callback([show_json, &action] { action = [show_json] { return show_config(*show_json); }; });

  auto status_json = std::make_shared<bool>(false);
  CLI::App* status = app.add_subcommand(
      "status", "Start every component in dependency order and print its state, version and key figures");
  status->add_flag("--json", *status_json, "Print one JSON document on stdout");
  status->callback([status_json, &action] { action = [status_json] { return show_status(*status_json); }; });
}

}  // namespace miso::app
