#include "miso/omega/logging.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error_of.hpp"
#include "../profiler/test_dir.hpp"
#include "miso/core/file.hpp"
#include "miso/omega/config.hpp"

namespace miso::omega {
namespace {

class LoggingTest : public miso::testing::TempDirTest {
 protected:
  void TearDown() override {
    configure_logging(Config());  // back to stderr, so the file can be removed
    TempDirTest::TearDown();
  }
  void configure(std::vector<std::pair<std::string, std::string>> sets) {
    Config c;
    c.set("log.file", (dir_ / "log.txt").string(), ConfigSource::CommandLine, "--set");
    for (const auto& [k, v] : sets) c.set(k, v, ConfigSource::CommandLine, "--set");
    configure_logging(c);
  }
  std::vector<std::string> lines() {
    flush_logs();
    std::vector<std::string> out;
    std::istringstream in(core::read_file(dir_ / "log.txt"));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
};

TEST_F(LoggingTest, TextLinesWithPerComponentLevels) {
  configure({{"log.level", "warn"}, {"log.tmath", "debug"}, {"log.server", "off"}});
  log("tmath", spdlog::level::debug, "plan compiled", {{"ops", "3"}, {"name", "a b"}});
  log("tmath", spdlog::level::trace, "too fine");
  log("echo", spdlog::level::info, "below warn");
  log("echo", spdlog::level::warn, "paradox found", {{"event", "e1"}});
  log("server", spdlog::level::err, "silenced");
  logger("vxor.example_c")->error("from a plugin {}", 7);  // follows "vxor", i.e. log.level
  const auto l = lines();
  ASSERT_EQ(l.size(), 3u);
  // "2026-12-02T10:00:00.123Z debug [tmath] plan compiled  ops=3 name=\"a b\""
  ASSERT_GE(l[0].size(), 25u);
  EXPECT_EQ(l[0][4], '-');
  EXPECT_EQ(l[0][10], 'T');
  EXPECT_EQ(l[0].substr(23, 2), "Z ");
  EXPECT_EQ(l[0].substr(25), "debug [tmath] plan compiled  ops=3 name=\"a b\"");
  EXPECT_EQ(l[1].substr(25), "warn  [echo] paradox found  event=e1");
  EXPECT_EQ(l[2].substr(25), "error [vxor.example_c] from a plugin 7");
}

TEST_F(LoggingTest, JsonLines) {
  configure({{"log.format", "json"}, {"log.level", "info"}});
  log("server", spdlog::level::info, "request", {{"path", "/api/status"}, {"status", "200"}});
  logger("nexus")->warn("queue \"full\"");
  log("nexus", spdlog::level::debug, "hidden");
  const auto l = lines();
  ASSERT_EQ(l.size(), 2u);
  const auto a = nlohmann::json::parse(l[0]);
  EXPECT_EQ(a["level"], "info");
  EXPECT_EQ(a["component"], "server");
  EXPECT_EQ(a["msg"], "request");
  EXPECT_EQ(a["path"], "/api/status");
  EXPECT_EQ(a["status"], "200");
  EXPECT_EQ(a["ts"].get<std::string>().size(), 24u);
  const auto b = nlohmann::json::parse(l[1]);
  EXPECT_EQ(b["level"], "warn");
  EXPECT_EQ(b["msg"], "queue \"full\"");
}

TEST_F(LoggingTest, ReconfiguringChangesLevelsOfExistingLoggers) {
  configure({{"log.level", "error"}});
  const auto lg = logger("mprime");
  lg->warn("dropped");
  configure({{"log.level", "info"}});
  lg->info("kept");
  const auto l = lines();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_NE(l[0].find("[mprime] kept"), std::string::npos);
  EXPECT_EQ(logger("mprime"), lg);
}

TEST_F(LoggingTest, UnwritableLogFileIsAnError) {
  Config c;
  c.set("log.file", (dir_ / "no" / "such" / "log.txt").string(), ConfigSource::CommandLine, "--set");
  const std::string e = miso::testing::error_of([&] { configure_logging(c); }, Error::Kind::Io);
  EXPECT_NE(e.find("log.file"), std::string::npos) << e;
  EXPECT_NE(e.find("no/such/log.txt"), std::string::npos) << e;
}

}  // namespace
}  // namespace miso::omega
