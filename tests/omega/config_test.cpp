#include "miso/omega/config.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "../error_of.hpp"
#include "../profiler/test_dir.hpp"
#include "miso/core/file.hpp"

namespace miso::omega {
namespace {

using miso::testing::error_of;

class ConfigTest : public miso::testing::TempDirTest {
 protected:
  std::filesystem::path write(const std::string& text) {
    const auto path = dir_ / "miso.toml";
    core::write_file_atomic(path, text);
    return path;
  }
  static ConfigInputs inputs(std::optional<std::filesystem::path> file, std::map<std::string, std::string> env = {},
                             std::vector<std::tuple<std::string, std::string, std::string>> overrides = {}) {
    ConfigInputs in;
    in.file = std::move(file);
    in.environment = std::move(env);
    in.overrides = std::move(overrides);
    return in;
  }
};

TEST_F(ConfigTest, DefaultsMatchTheSchema) {
  const Config c;
  EXPECT_EQ(c.get_int("server.port"), 8787);
  EXPECT_EQ(c.get_string("server.host"), "127.0.0.1");
  EXPECT_EQ(c.get_string("log.level"), "warn");
  EXPECT_EQ(c.get_string("log.tmath"), "");
  EXPECT_TRUE(c.get_bool("vxor.autoload"));
  EXPECT_FALSE(c.get_bool("vxor.isolated"));
  EXPECT_TRUE(c.get_list("vxor.plugin_dirs").empty());
  EXPECT_EQ(c.get_path("profile.out_dir"), "miso-report");
  EXPECT_EQ(c.get_int("mcode.instruction_budget"), 100000000);
  EXPECT_FALSE(c.file().has_value());
  ASSERT_EQ(c.entries().size(), config_schema().size());
  std::set<std::string> names;
  for (const ConfigEntry& e : c.entries()) {
    EXPECT_EQ(e.source, ConfigSource::Default) << e.key->name;
    EXPECT_FALSE(e.key->doc.empty()) << e.key->name;
    EXPECT_TRUE(names.insert(e.key->name).second) << "duplicate " << e.key->name;
  }
}

TEST_F(ConfigTest, FileThenEnvironmentThenCommandLine) {
  const auto file = write(
      "# comment\n"
      "[server]\n"
      "port = 9000\n"
      "host = \"0.0.0.0\"\n"
      "token = \"secret\"\n"
      "\n"
      "[log]\n"
      "level = \"info\"\n"
      "tmath = \"debug\"\n"
      "[vxor]\n"
      "plugin_dirs = [\"plugins\", \"/abs/dir\"]\n"
      "autoload = false\n");
  const Config c = Config::load(
      inputs(file, {{"MISO_SERVER_PORT", "9100"}, {"MISO_LOG_LEVEL", "error"}}, {{"server.port", "9200", "--port"}}));
  EXPECT_EQ(c.file(), file);
  EXPECT_EQ(c.get_int("server.port"), 9200);
  EXPECT_EQ(c.entry("server.port").source, ConfigSource::CommandLine);
  EXPECT_EQ(c.entry("server.port").origin, "--port");
  EXPECT_EQ(c.get_string("log.level"), "error");
  EXPECT_EQ(c.entry("log.level").source, ConfigSource::Environment);
  EXPECT_EQ(c.entry("log.level").origin, "MISO_LOG_LEVEL");
  EXPECT_EQ(c.get_string("server.host"), "0.0.0.0");
  EXPECT_EQ(c.entry("server.host").source, ConfigSource::File);
  EXPECT_EQ(c.entry("server.host").origin, file.string() + ":4");
  EXPECT_EQ(c.entry("log.tmath").origin, file.string() + ":9");
  EXPECT_FALSE(c.get_bool("vxor.autoload"));
  // Relative paths in the file are relative to the file's folder.
  const auto dirs = c.get_paths("vxor.plugin_dirs");
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_EQ(dirs[0], dir_ / "plugins");
  EXPECT_EQ(dirs[1], "/abs/dir");
  EXPECT_EQ(c.entry("server.threads").source, ConfigSource::Default);
}

TEST_F(ConfigTest, EnvironmentListsAndBooleansAndUnrelatedVariables) {
  const Config c = Config::load(inputs(std::nullopt, {{"MISO_VXOR_PLUGIN_DIRS", "a, b,,c"},
                                                      {"MISO_VXOR_ISOLATED", "yes"},
                                                      {"MISO_SOMETHING_ELSE", "ignored"},
                                                      {"HOME", "/root"}}));
  EXPECT_EQ(c.get_list("vxor.plugin_dirs"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(c.get_paths("vxor.plugin_dirs")[0], "a");  // not from a file: relative to the current folder
  EXPECT_TRUE(c.get_bool("vxor.isolated"));
  Config d;
  d.set("mcode.allowed_paths", R"(["x,y", "z"])", ConfigSource::CommandLine, "--set");
  EXPECT_EQ(d.get_list("mcode.allowed_paths"), (std::vector<std::string>{"x,y", "z"}));
}

TEST_F(ConfigTest, MisoConfigNamesTheFileAndConfigOptionWins) {
  const auto file = write("[server]\nport = 1234\n");
  core::write_file_atomic(dir_ / "other.toml", "[server]\nport = 4321\n");
  EXPECT_EQ(Config::load(inputs(std::nullopt, {{"MISO_CONFIG", file.string()}})).get_int("server.port"), 1234);
  EXPECT_EQ(Config::load(inputs(dir_ / "other.toml", {{"MISO_CONFIG", file.string()}})).get_int("server.port"), 4321);
  const std::string missing = error_of(
      [&] {
        Config::load(inputs(std::nullopt, {{"MISO_CONFIG", (dir_ / "nope.toml").string()}}));
      },
      Error::Kind::Io);
  EXPECT_NE(missing.find("nope.toml"), std::string::npos) << missing;
}

TEST_F(ConfigTest, UnknownKeyNamesFileLineAndSuggestion) {
  const auto file = write("[server]\nport = 1\n\nprot = 9000\n");
  const std::string e = error_of([&] { Config::load(inputs(file)); }, Error::Kind::Format);
  EXPECT_EQ(e, file.string() + ":4:1: unknown key 'server.prot' (did you mean 'server.port'?)");
  const auto far = write("[zzz]\nqqqqqqqqqq = 1\n");
  const std::string f = error_of([&] { Config::load(inputs(far)); }, Error::Kind::Format);
  EXPECT_EQ(f, far.string() + ":2:1: unknown key 'zzz.qqqqqqqqqq'");
  const auto top = write("port = 1\n");
  EXPECT_NE(error_of([&] { Config::load(inputs(top)); }).find(":1:1: unknown key 'port'"), std::string::npos);
  const auto nested = write("[server.tls]\ncert = \"x\"\n");
  EXPECT_NE(error_of([&] { Config::load(inputs(nested)); }).find("unknown key 'server.tls'"), std::string::npos);
}

TEST_F(ConfigTest, TypeAndRangeErrorsNameKeyAndLine) {
  const auto port = write("[server]\nhost = \"localhost\"\nport = 70000\n");
  EXPECT_EQ(error_of([&] { Config::load(inputs(port)); }, Error::Kind::Format),
            port.string() + ":3:1: server.port: must be at most 65535");
  const auto type = write("[server]\nport = \"http\"\n");
  EXPECT_EQ(error_of([&] { Config::load(inputs(type)); }),
            type.string() + ":2:1: server.port: expected an integer from 0 to 65535, got a string");
  const auto level = write("[log]\n  level = \"loud\"\n");
  EXPECT_EQ(error_of([&] { Config::load(inputs(level)); }),
            level.string() + ":2:3: log.level: 'loud' is not one of trace, debug, info, warn, error, off");
  const auto list = write("[vxor]\nplugin_dirs = [\"a\", 3]\n");
  EXPECT_NE(error_of([&] { Config::load(inputs(list)); }).find(":2:1: vxor.plugin_dirs: expected a list of paths"),
            std::string::npos);
}

TEST_F(ConfigTest, SyntaxErrorsNameLineAndColumn) {
  const auto file = write("[server]\nport = 80\nhost = \"unterminated\n");
  const std::string e = error_of([&] { Config::load(inputs(file)); }, Error::Kind::Format);
  EXPECT_EQ(e.rfind(file.string() + ":3:", 0), 0u) << e;
}

TEST_F(ConfigTest, EnvironmentAndCommandLineErrors) {
  EXPECT_EQ(error_of(
                [&] {
                  Config::load(inputs(std::nullopt, {{"MISO_SERVER_PORT", "http"}}));
                },
                Error::Kind::InvalidArgument),
            "MISO_SERVER_PORT: 'http' is not an integer");
  EXPECT_EQ(error_of([&] {
              Config::load(inputs(std::nullopt, {}, {{"server.port", "70000", "--set"}}));
            }),
            "--set server.port=70000: server.port must be at most 65535");
  EXPECT_EQ(error_of([&] {
              Config::load(inputs(std::nullopt, {}, {{"server.port", "-1", "--port"}}));
            }),
            "--port -1: server.port must be at least 0");
  EXPECT_EQ(error_of([&] {
              Config::load(inputs(std::nullopt, {}, {{"server.prot", "1", "--set"}}));
            }),
            "--set server.prot=1: unknown key 'server.prot' (did you mean 'server.port'?)");
  EXPECT_EQ(error_of([&] {
              Config::load(inputs(std::nullopt, {{"MISO_VXOR_AUTOLOAD", "maybe"}}));
            }),
            "MISO_VXOR_AUTOLOAD: 'maybe' is not a boolean (true/false)");
  EXPECT_EQ(error_of([] { Config().entry("nope.key"); }, Error::Kind::InvalidArgument), "unknown key 'nope.key'");
}

TEST_F(ConfigTest, ShowAndJsonListEveryKeyWithItsSource) {
  const auto file = write("[server]\nport = 9000\n");
  const Config c = Config::load(inputs(file, {{"MISO_LOG_LEVEL", "info"}}, {{"server.threads", "8", "--set"}}));
  const std::string text = c.show();
  for (const ConfigKey& k : config_schema()) EXPECT_NE(text.find(k.name + " = "), std::string::npos) << k.name;
  EXPECT_NE(text.find("server.port = 9000"), std::string::npos);
  EXPECT_NE(text.find("# file (" + file.string() + ":2)"), std::string::npos) << text;
  EXPECT_NE(text.find("log.level = \"info\""), std::string::npos) << text;
  EXPECT_NE(text.find("# env (MISO_LOG_LEVEL)"), std::string::npos) << text;
  EXPECT_NE(text.find("# cli (--set)"), std::string::npos) << text;
  EXPECT_NE(text.find("vxor.plugin_dirs = []"), std::string::npos) << text;
  const nlohmann::json j = c.to_json();
  EXPECT_EQ(j["file"], file.string());
  EXPECT_EQ(j["values"]["server.port"]["value"], 9000);
  EXPECT_EQ(j["values"]["server.port"]["source"], "file");
  EXPECT_EQ(j["values"]["server.threads"]["value"], 8);
  EXPECT_EQ(j["values"]["server.threads"]["origin"], "--set");
  EXPECT_EQ(j["values"]["log.level"]["env"], "MISO_LOG_LEVEL");
  EXPECT_EQ(j["values"]["server.host"]["source"], "default");
  EXPECT_EQ(j["values"].size(), config_schema().size());
}

TEST_F(ConfigTest, EveryDefaultRoundTripsThroughTheFile) {
  // Writing each default back as TOML and loading it gives the same values.
  std::map<std::string, std::string> tables;
  for (const ConfigKey& k : config_schema()) {
    const auto dot = k.name.find('.');
    tables[k.name.substr(0, dot)] += k.name.substr(dot + 1) + " = " + k.default_text + "\n";
  }
  std::string text;
  for (const auto& [table, body] : tables) text += "[" + table + "]\n" + body;
  const Config c = Config::load(inputs(write(text)));
  const Config defaults;
  for (std::size_t i = 0; i < c.entries().size(); ++i) {
    EXPECT_EQ(c.entries()[i].value, defaults.entries()[i].value) << c.entries()[i].key->name;
    EXPECT_EQ(c.entries()[i].source, ConfigSource::File);
  }
}

TEST_F(ConfigTest, DocsListEveryKeyWithItsDefaultAndVariable) {
  const std::string docs = core::read_file(std::filesystem::path(MISO_SOURCE_DIR) / "docs" / "config.md");
  for (const ConfigKey& k : config_schema()) {
    std::string env = "MISO_";
    for (const char ch : k.name)
      env += ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_NE(docs.find("| `" + k.name + "` |"), std::string::npos) << k.name;
    EXPECT_NE(docs.find("`" + k.default_text + "` | `" + env + "` | " + k.doc + " |"), std::string::npos) << k.name;
  }
}

}  // namespace
}  // namespace miso::omega
