// The configuration schema, the TOML reader, the MISO_* environment and command-line
// overrides. Every value is validated where it is given so that the error can name the
// key and its place (file:line:column, variable or option).
#include "miso/omega/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <sstream>
#include <system_error>

#include <toml++/toml.h>

#include "miso/core/error.hpp"

extern char** environ;

namespace miso::omega {
namespace {

ConfigKey key(std::string name, ConfigType type, std::string default_text, std::string doc,
              std::optional<std::int64_t> min = std::nullopt, std::optional<std::int64_t> max = std::nullopt,
              std::vector<std::string> choices = {}) {
  return ConfigKey{std::move(name), type, std::move(default_text), std::move(doc), min, max, std::move(choices)};
}

std::vector<ConfigKey> make_schema() {
  const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
  std::vector<std::string> component_levels = levels;
  component_levels.insert(component_levels.begin(), "");
  const auto I = ConfigType::Int;
  const auto S = ConfigType::String;
  std::vector<ConfigKey> schema{
      key("log.level", S, "\"warn\"", "Default level of every component's logger", std::nullopt, std::nullopt, levels),
      key("log.format", S, "\"text\"", "Log line format: text or json (one JSON object per line)", std::nullopt,
          std::nullopt, {"text", "json"}),
      key("log.file", ConfigType::Path, "\"\"", "Log file (appended to); empty: standard error"),
  };
  for (const char* component : {"core", "profiler", "nexus", "tmath", "qlogik", "echo", "bridge", "mprime", "mcode",
                                "vxor", "omega", "server"}) {
    schema.push_back(key(std::string("log.") + component, S, "\"\"",
                         std::string("Level of the ") + component + " logger; empty: log.level", std::nullopt,
                         std::nullopt, component_levels));
  }
  const std::int64_t int_max = std::int64_t{1} << 53;
  std::vector<ConfigKey> rest{
      key("server.host", S, "\"127.0.0.1\"", "Address `miso serve` binds to; non-loopback requires server.token"),
      key("server.port", I, "8787", "TCP port of `miso serve` (0: any free port)", 0, 65535),
      key("server.token", S, "\"\"", "Bearer token required on /api requests (required for non-loopback hosts)"),
      key("server.max_body_bytes", I, "1048576", "Largest accepted request body in bytes", 1, int_max),
      key("server.request_timeout_ms", I, "10000", "Timeout of one HTTP request (reading, writing, running a script)",
          1, 3600000),
      key("server.threads", I, "4", "HTTP worker threads", 1, 256),
      key("server.max_profile_jobs", I, "2", "Profile runs kept queued or running at once through the API", 1, 64),
      key("mcode.instruction_budget", I, "100000000", "Instructions per sandboxed M-CODE run (0: unlimited)", 0,
          int_max),
      key("mcode.time_limit_ms", I, "5000", "Wall-clock limit per sandboxed M-CODE run (0: unlimited)", 0, 86400000),
      key("mcode.memory_budget_mb", I, "256", "Heap budget per sandboxed M-CODE VM in MiB (0: unlimited)", 0, 1 << 20),
      key("mcode.allowed_paths", ConfigType::PathList, "[]",
          "Files and folders sandboxed scripts may access (empty: none)"),
      key("vxor.plugin_dirs", ConfigType::PathList, "[]",
          "Folders searched for plugin manifests (empty: plugins/ beside the executable's folder)"),
      key("vxor.autoload", ConfigType::Bool, "true", "Load every discovered plugin at start"),
      key("vxor.isolated", ConfigType::Bool, "false",
          "Run plugins in a worker process unless their manifest says otherwise"),
      key("vxor.deadline_ms", I, "2000", "Deadline of one isolated plugin call", 1, 3600000),
      key("vxor.worker", ConfigType::Path, "\"\"",
          "Worker executable for isolated plugins (empty: miso-vxor-worker beside miso)"),
      key("profile.out_dir", ConfigType::Path, "\"miso-report\"", "Report folder of `miso profile`"),
      key("profile.size", S, "\"small\"", "Data-set size of `miso profile`", std::nullopt, std::nullopt,
          {"small", "medium", "large"}),
      key("profile.seed", I, "42", "Seed of generated inputs", 0, int_max),
      key("profile.threads", I, "0", "Worker threads of profile runs (0: hardware concurrency)", 0, 1024),
      key("profile.sample_period_ms", I, "5", "Sampling period of the profiler's system sampler", 1, 10000),
  };
  schema.insert(schema.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
  return schema;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(std::string_view name) {
  std::string message = "unknown key '" + std::string(name) + "'";
  const ConfigKey* best = nullptr;
  std::size_t best_distance = 0;
  for (const ConfigKey& k : config_schema()) {
    const std::size_t d = edit_distance(name, k.name);
    if (best == nullptr || d < best_distance) {
      best = &k;
      best_distance = d;
    }
  }
  if (best != nullptr && best_distance <= std::max<std::size_t>(2, name.size() / 3)) {
    message += " (did you mean '" + best->name + "'?)";
  }
  return message;
}

std::size_t index_of(std::string_view name) {
  const auto& schema = config_schema();
  for (std::size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].name == name) return i;
  }
  return schema.size();
}

const char* type_name(ConfigType type) {
  switch (type) {
    case ConfigType::Bool: return "a boolean";
    case ConfigType::Int: return "an integer";
    case ConfigType::String: return "a string";
    case ConfigType::Path: return "a path (string)";
    case ConfigType::StringList: return "a list of strings";
    case ConfigType::PathList: return "a list of paths (strings)";
  }
  return "a value";
}

// Range and choice checks; returns "" when valid, else what is expected.
std::string check_value(const ConfigKey& k, const ConfigValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    if (k.min && *i < *k.min) return "must be at least " + std::to_string(*k.min);
    if (k.max && *i > *k.max) return "must be at most " + std::to_string(*k.max);
  }
  if (const auto* s = std::get_if<std::string>(&value); s != nullptr && !k.choices.empty()) {
    if (std::find(k.choices.begin(), k.choices.end(), *s) == k.choices.end()) {
      std::string expected;
      for (const std::string& c : k.choices) {
        if (!expected.empty()) expected += ", ";
        expected += c.empty() ? "\"\"" : c;
      }
      return "'" + *s + "' is not one of " + expected;
    }
  }
  return "";
}

std::string node_type_name(const toml::node& node) {
  if (node.is_boolean()) return "a boolean";
  if (node.is_integer()) return "an integer";
  if (node.is_floating_point()) return "a float";
  if (node.is_string()) return "a string";
  if (node.is_array()) return "an array";
  if (node.is_table()) return "a table";
  return "a date/time";
}

// A TOML node as the key's type, or "" + the expectation in `problem`.
std::optional<ConfigValue> from_node(const ConfigKey& k, const toml::node& node, std::string& problem) {
  const auto expected = [&] {
    problem = "expected " + std::string(type_name(k.type));
    if (k.type == ConfigType::Int && (k.min || k.max)) {
      problem += " from " + (k.min ? std::to_string(*k.min) : std::string("-inf")) + " to " +
                 (k.max ? std::to_string(*k.max) : std::string("inf"));
    }
    problem += ", got " + node_type_name(node);
    return std::nullopt;
  };
  switch (k.type) {
    case ConfigType::Bool:
      if (const auto* b = node.as_boolean()) return ConfigValue(b->get());
      return expected();
    case ConfigType::Int:
      if (const auto* i = node.as_integer()) return ConfigValue(i->get());
      return expected();
    case ConfigType::String:
    case ConfigType::Path:
      if (const auto* s = node.as_string()) return ConfigValue(s->get());
      return expected();
    case ConfigType::StringList:
    case ConfigType::PathList: {
      const auto* array = node.as_array();
      if (array == nullptr) return expected();
      std::vector<std::string> items;
      for (const toml::node& item : *array) {
        const auto* s = item.as_string();
        if (s == nullptr) return expected();
        items.push_back(s->get());
      }
      return ConfigValue(std::move(items));
    }
  }
  return expected();
}

std::string trim(std::string_view text) {
  std::size_t b = 0;
  std::size_t e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b])) != 0) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1])) != 0) --e;
  return std::string(text.substr(b, e - b));
}

// Text from the environment or the command line as the key's type; "" problem when fine.
std::optional<ConfigValue> from_text(const ConfigKey& k, std::string_view text, std::string& problem) {
  switch (k.type) {
    case ConfigType::Bool: {
      std::string lower = trim(text);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return ConfigValue(true);
      if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return ConfigValue(false);
      problem = "'" + std::string(text) + "' is not a boolean (true/false)";
      return std::nullopt;
    }
    case ConfigType::Int: {
      const std::string t = trim(text);
      std::int64_t value = 0;
      const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
      if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
        problem = "'" + std::string(text) + "' is not an integer";
        return std::nullopt;
      }
      return ConfigValue(value);
    }
    case ConfigType::String:
    case ConfigType::Path: return ConfigValue(std::string(text));
    case ConfigType::StringList:
    case ConfigType::PathList: {
      std::vector<std::string> items;
      const std::string t = trim(text);
      if (!t.empty() && t.front() == '[') {
        // TOML array syntax, for items containing commas.
        try {
          const toml::table table = toml::parse("v = " + t);
          return from_node(k, *table.get("v"), problem);
        } catch (const toml::parse_error& e) {
          problem = "'" + std::string(text) + "' is not a TOML array of strings: " + std::string(e.description());
          return std::nullopt;
        }
      }
      std::size_t start = 0;
      while (!t.empty() && start <= t.size()) {
        const std::size_t comma = std::min(t.find(',', start), t.size());
        std::string item = trim(std::string_view(t).substr(start, comma - start));
        if (!item.empty()) items.push_back(std::move(item));
        start = comma + 1;
      }
      return ConfigValue(std::move(items));
    }
  }
  return std::nullopt;
}

// A TOML basic string: JSON's escapes are valid TOML escapes.
std::string toml_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string value_text(const ConfigValue& value) {
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&value)) return toml_string(*s);
  std::string text = "[";
  for (const std::string& item : std::get<std::vector<std::string>>(value)) {
    if (text.size() > 1) text += ", ";
    text += toml_string(item);
  }
  return text + "]";
}

nlohmann::json value_json(const ConfigValue& value) {
  return std::visit([](const auto& v) { return nlohmann::json(v); }, value);
}

std::string env_name(std::string_view key_name) {
  std::string name = "MISO_";
  for (const char c : key_name) {
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = text.substr(0, eq);
    if (name.starts_with("MISO_")) env.emplace(std::string(name), std::string(text.substr(eq + 1)));
  }
  return env;
}

}  // namespace

const std::vector<ConfigKey>& config_schema() {
  static const std::vector<ConfigKey> schema = make_schema();
  return schema;
}

const char* to_string(ConfigSource source) noexcept {
  switch (source) {
    case ConfigSource::Default: return "default";
    case ConfigSource::File: return "file";
    case ConfigSource::Environment: return "env";
    case ConfigSource::CommandLine: return "cli";
  }
  return "default";
}

Config::Config() {
  for (const ConfigKey& k : config_schema()) {
    const toml::table table = toml::parse("v = " + k.default_text);
    std::string problem;
    auto value = from_node(k, *table.get("v"), problem);
    if (!value) throw miso::Error(miso::Error::Kind::Internal, "config schema: default of " + k.name + ": " + problem);
    entries_.push_back(ConfigEntry{&k, std::move(*value), ConfigSource::Default, ""});
  }
}

Config Config::load(const ConfigInputs& inputs) {
  Config config;
  const std::map<std::string, std::string> env = inputs.environment ? *inputs.environment : process_environment();

  std::optional<std::filesystem::path> file = inputs.file;
  bool explicit_file = file.has_value();
  if (!file) {
    if (const auto it = env.find("MISO_CONFIG"); it != env.end() && !it->second.empty()) {
      file = it->second;
      explicit_file = true;
    }
  }
  if (!file) {
    std::error_code ec;
    if (std::filesystem::is_regular_file("miso.toml", ec)) file = "miso.toml";
  }

  if (file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*file, ec)) {
      throw miso::Error(miso::Error::Kind::Io,
                        file->string() + ": configuration file not found" + (explicit_file ? "" : " (miso.toml)"));
    }
    config.file_ = *file;
    const std::string path = file->string();
    toml::table root;
    try {
      root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      throw miso::Error(
          miso::Error::Kind::Format,
          located(path, static_cast<int>(where.line), static_cast<int>(where.column), std::string(e.description())));
    }
    for (const auto& [table_key, table_node] : root) {
      const auto& table_where = table_node.source().begin;
      const auto* table = table_node.as_table();
      if (table == nullptr) {
        const auto& w = table_key.source().begin;
        throw miso::Error(miso::Error::Kind::Format, located(path, static_cast<int>(w.line), static_cast<int>(w.column),
                                                             unknown_key_message(table_key.str()) +
                                                                 "; keys are '<table>.<key>' in [table] sections"));
      }
      (void)table_where;
      for (const auto& [name_key, node] : *table) {
        const std::string name = std::string(table_key.str()) + "." + std::string(name_key.str());
        const auto& w = name_key.source().begin.line != 0 ? name_key.source().begin : node.source().begin;
        const int line = static_cast<int>(w.line);
        const int column = static_cast<int>(w.column);
        const std::size_t index = index_of(name);
        if (index == config_schema().size()) {
          throw miso::Error(miso::Error::Kind::Format, located(path, line, column, unknown_key_message(name)));
        }
        const ConfigKey& k = config_schema()[index];
        std::string problem;
        auto value = from_node(k, node, problem);
        if (value) problem = check_value(k, *value);
        if (!problem.empty()) {
          throw miso::Error(miso::Error::Kind::Format, located(path, line, column, name + ": " + problem));
        }
        config.entries_[index] =
            ConfigEntry{&k, std::move(*value), ConfigSource::File, path + ":" + std::to_string(line)};
      }
    }
  }

  for (const ConfigKey& k : config_schema()) {
    const std::string name = env_name(k.name);
    if (const auto it = env.find(name); it != env.end())
      config.set(k.name, it->second, ConfigSource::Environment, name);
  }
  for (const auto& [name, text, origin] : inputs.overrides) config.set(name, text, ConfigSource::CommandLine, origin);
  return config;
}

void Config::set(std::string_view key_name, std::string_view text, ConfigSource source, std::string origin) {
  // How the value was written, for messages: "MISO_SERVER_PORT", "--set server.port=70000", "--port 70000".
  std::string where = origin;
  if (source == ConfigSource::CommandLine) {
    where = origin == "--set" ? "--set " + std::string(key_name) + "=" + std::string(text)
                              : origin + " " + std::string(text);
  }
  const std::size_t index = index_of(key_name);
  if (index == config_schema().size()) {
    throw miso::Error(miso::Error::Kind::InvalidArgument, where + ": " + unknown_key_message(key_name));
  }
  const ConfigKey& k = config_schema()[index];
  std::string problem;
  auto value = from_text(k, text, problem);
  if (value) problem = check_value(k, *value);
  if (!problem.empty()) {
    throw miso::Error(miso::Error::Kind::InvalidArgument,
                      where + ": " + (source == ConfigSource::Environment ? "" : k.name + " ") + problem);
  }
  entries_[index] = ConfigEntry{&k, std::move(*value), source, std::move(origin)};
}

const ConfigEntry& Config::entry(std::string_view key_name) const {
  const std::size_t index = index_of(key_name);
  if (index == entries_.size()) {
    throw miso::Error(miso::Error::Kind::InvalidArgument, unknown_key_message(key_name));
  }
  return entries_[index];
}

namespace {
template <class T>
const T& typed(const ConfigEntry& entry, std::string_view key_name, const char* what) {
  const T* value = std::get_if<T>(&entry.value);
  if (value == nullptr) {
    throw miso::Error(miso::Error::Kind::InvalidArgument,
                      "configuration key '" + std::string(key_name) + "' is not " + what);
  }
  return *value;
}
}  // namespace

bool Config::get_bool(std::string_view key_name) const { return typed<bool>(entry(key_name), key_name, "a boolean"); }
std::int64_t Config::get_int(std::string_view key_name) const {
  return typed<std::int64_t>(entry(key_name), key_name, "an integer");
}
std::string Config::get_string(std::string_view key_name) const {
  return typed<std::string>(entry(key_name), key_name, "a string");
}
std::vector<std::string> Config::get_list(std::string_view key_name) const {
  return typed<std::vector<std::string>>(entry(key_name), key_name, "a list");
}

std::filesystem::path Config::get_path(std::string_view key_name) const {
  const ConfigEntry& e = entry(key_name);
  std::filesystem::path path = typed<std::string>(e, key_name, "a path");
  // Paths written in the file are relative to the file, so that a config file works from any folder.
  if (!path.empty() && path.is_relative() && e.source == ConfigSource::File && file_) {
    path = file_->parent_path() / path;
  }
  return path;
}

std::vector<std::filesystem::path> Config::get_paths(std::string_view key_name) const {
  const ConfigEntry& e = entry(key_name);
  std::vector<std::filesystem::path> paths;
  for (const std::string& item : typed<std::vector<std::string>>(e, key_name, "a list of paths")) {
    std::filesystem::path path = item;
    if (path.is_relative() && e.source == ConfigSource::File && file_) path = file_->parent_path() / path;
    paths.push_back(std::move(path));
  }
  return paths;
}

std::string Config::show() const {
  std::ostringstream out;
  out << "# configuration file: " << (file_ ? file_->string() : std::string("(none)")) << "\n";
  std::size_t width = 0;
  for (const ConfigEntry& e : entries_) width = std::max(width, e.key->name.size() + 3 + value_text(e.value).size());
  std::string table;
  for (const ConfigEntry& e : entries_) {
    const std::string t = e.key->name.substr(0, e.key->name.find('.'));
    if (t != table) {
      out << "\n";
      table = t;
    }
    std::string line = e.key->name + " = " + value_text(e.value);
    line.resize(std::max(line.size(), width), ' ');
    out << line << "  # " << to_string(e.source);
    if (!e.origin.empty()) out << " (" << e.origin << ")";
    out << "\n";
  }
  return out.str();
}

nlohmann::json Config::to_json() const {
  nlohmann::json values = nlohmann::json::object();
  for (const ConfigEntry& e : entries_) {
    values[e.key->name] = {{"value", value_json(e.value)},
                           {"source", to_string(e.source)},
                           {"origin", e.origin},
                           {"env", env_name(e.key->name)}};
  }
  return {{"file", file_ ? nlohmann::json(file_->string()) : nlohmann::json(nullptr)}, {"values", values}};
}

}  // namespace miso::omega
