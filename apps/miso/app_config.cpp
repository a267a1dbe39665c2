// The global options of `miso` (--config FILE, --set key=value) and the effective
// configuration every command reads: defaults, file, MISO_* environment, command line.
#include <memory>
#include <optional>
#include <tuple>

#include "command.hpp"
#include "miso/core/error.hpp"
#include "miso/omega/config.hpp"

namespace miso::app {

namespace {

struct GlobalConfig {
  std::string file;
  std::vector<std::string> sets;
  std::vector<std::tuple<std::string, std::string, std::string>> overrides;  // from subcommand options
  std::optional<miso::omega::Config> config;
};

GlobalConfig& global() {
  static GlobalConfig g;
  return g;
}

}  // namespace

void add_global_options(CLI::App& app) {
  GlobalConfig& g = global();
  app.add_option("--config", g.file,
                 "Configuration file (TOML; default: $MISO_CONFIG, else ./miso.toml when present; see docs/config.md)");
  app.add_option("--set", g.sets, "Override a configuration key: --set server.port=9000 (repeatable)")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  // Global options may also follow the subcommand: `miso status --set log.level=debug`.
  app.fallthrough();
}

void override_config(std::string key, std::string text, std::string origin) {
  GlobalConfig& g = global();
  g.overrides.emplace_back(std::move(key), std::move(text), std::move(origin));
  g.config.reset();  // a later config() sees the override
}

const miso::omega::Config& config() {
  GlobalConfig& g = global();
  if (g.config) return *g.config;
  miso::omega::ConfigInputs inputs;
  if (!g.file.empty()) inputs.file = g.file;
  for (const std::string& set : g.sets) {
    const std::size_t eq = set.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(Error::Kind::InvalidArgument, "--set " + set + ": expected KEY=VALUE (e.g. server.port=9000)");
    }
    inputs.overrides.emplace_back(set.substr(0, eq), set.substr(eq + 1), "--set");
  }
  // Options of the subcommand itself are more specific than --set: they come last.
  inputs.overrides.insert(inputs.overrides.end(), g.overrides.begin(), g.overrides.end());
  g.config = miso::omega::Config::load(inputs);
  return *g.config;
}

}  // namespace miso::app
