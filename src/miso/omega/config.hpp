// MISO's configuration: one schema of documented keys with defaults, overridden by a
// TOML file, then by MISO_* environment variables, then by command-line options
// (`--set key=value` and per-command options such as `serve --port`). Every effective
// value remembers where it came from, for `miso config show`.
//
// File: --config FILE, else $MISO_CONFIG, else ./miso.toml when present (none is fine).
//   [server]
//   port = 8787
// Keys are "<table>.<key>" ("server.port"); the environment variable of a key is
// MISO_ + the key upper-cased with dots as underscores (MISO_SERVER_PORT). List values
// in the environment are comma-separated.
//
// Errors (miso::Error, Kind::Format for the file, InvalidArgument for environment and
// command line) name the key and where it was given: "miso.toml:7:1: unknown key
// 'server.prot' (did you mean 'server.port'?)", "MISO_SERVER_PORT: 'http' is not an
// integer", "--set server.port=70000: must be at most 65535".
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace miso::omega {

enum class ConfigType { Bool, Int, String, Path, StringList, PathList };

struct ConfigKey {
  std::string name;  // "server.port"
  ConfigType type = ConfigType::String;
  std::string default_text;  // as written in TOML: "8787", "\"127.0.0.1\"", "[]"
  std::string doc;           // one line
  // Valid range (Int) or allowed values (String, e.g. log levels); empty: any.
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
  std::vector<std::string> choices;
};

// The documented keys, in documentation order (docs/config.md lists the same).
const std::vector<ConfigKey>& config_schema();

using ConfigValue = std::variant<bool, std::int64_t, std::string, std::vector<std::string>>;

enum class ConfigSource { Default, File, Environment, CommandLine };
const char* to_string(ConfigSource source) noexcept;  // "default" | "file" | "env" | "cli"

struct ConfigEntry {
  const ConfigKey* key = nullptr;
  ConfigValue value;
  ConfigSource source = ConfigSource::Default;
  std::string origin;  // "miso.toml:12", "MISO_SERVER_PORT", "--port", "" for defaults
};

struct ConfigInputs {
  std::optional<std::filesystem::path> file;  // --config; MISO_CONFIG wins over the default search
  // The environment (all variables; only MISO_* ones matter). Default: the process's.
  std::optional<std::map<std::string, std::string>> environment;
  // Command-line overrides in order: (key, text, origin such as "--port").
  std::vector<std::tuple<std::string, std::string, std::string>> overrides;
};

class Config {
 public:
  // Defaults only.
  Config();
  // Reads the file (if any), the environment and the overrides, validating each.
  static Config load(const ConfigInputs& inputs);

  bool get_bool(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  std::string get_string(std::string_view key) const;
  std::filesystem::path get_path(std::string_view key) const;  // relative paths resolved against the file's folder
  std::vector<std::string> get_list(std::string_view key) const;
  std::vector<std::filesystem::path> get_paths(std::string_view key) const;
  const ConfigEntry& entry(std::string_view key) const;  // Error(InvalidArgument) on an unknown key

  // Sets a value from text as the command line would (validated).
  void set(std::string_view key, std::string_view text, ConfigSource source, std::string origin);

  std::optional<std::filesystem::path> file() const { return file_; }
  const std::vector<ConfigEntry>& entries() const noexcept { return entries_; }

  // `miso config show`: one line per key "key = value   # source (origin)", grouped by table.
  std::string show() const;
  nlohmann::json to_json() const;  // {"file": ..., "values": {key: {"value", "source", "origin"}}}

 private:
  std::optional<std::filesystem::path> file_;
  std::vector<ConfigEntry> entries_;  // parallel to config_schema()
};

}  // namespace miso::omega
