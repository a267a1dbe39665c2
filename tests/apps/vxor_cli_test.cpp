// `miso vxor list|info|check` as a user runs them, against the plugins the build
// makes (MISO_PLUGIN_DIR) and against copies in a temporary directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../profiler/test_dir.hpp"
#include "cli_run.hpp"

namespace {

namespace fs = std::filesystem;
using miso::testing::CliRun;
using miso::testing::miso;
using nlohmann::json;
using VxorCli = miso::testing::TempDirTest;

const std::string kDirOption = std::string(" --plugin-dir ") + MISO_PLUGIN_DIR;
const std::string kLoaderDirOption = std::string(" --plugin-dir ") + MISO_PLUGIN_DIR + "/loader";

TEST_F(VxorCli, ListShowsTheBuiltPlugins) {
  CliRun r = miso("vxor list" + kDirOption, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("example_c "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("example_cpp"), std::string::npos) << r.out;

  r = miso("vxor list --json" + kDirOption, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["plugin_dirs"].size(), 1u);
  bool found = false;
  for (const json& p : j["plugins"]) {
    if (p["name"] == "example_c") {
      found = true;
      EXPECT_EQ(p["version"], "1.0.0");
      EXPECT_EQ(p["abi"], "1.0");
      EXPECT_EQ(p["sha256"].get<std::string>().size(), 64u);
      EXPECT_EQ(p["isolated"], false);
    }
  }
  EXPECT_TRUE(found) << r.out;
}

TEST_F(VxorCli, ListReportsMalformedManifestsAndKeepsGoing) {
  std::ofstream(dir_ / "broken.toml") << "name = \"broken\"\nabi = \n";
  CliRun r = miso("vxor list --plugin-dir " + dir_.string(), dir_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("no plugins in"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("broken.toml:2"), std::string::npos) << r.err;

  r = miso("vxor list --json --plugin-dir " + dir_.string(), dir_);
  const json j = json::parse(r.out);
  EXPECT_TRUE(j["plugins"].empty());
  ASSERT_EQ(j["problems"].size(), 1u);
}

TEST_F(VxorCli, InfoDescribesAPlugin) {
  CliRun r = miso("vxor info example_c" + kDirOption, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("example_c 1.0.0 (ABI 1.0, in-process)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("example_c.add"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("example_c.softplus"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("example_c.checksum"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("example_c.above"), std::string::npos) << r.out;

  r = miso("vxor info example_cpp --json" + kDirOption, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["name"], "example_cpp");
  EXPECT_EQ(j["mode"], "in-process");
  EXPECT_EQ(j["thread_safe"], true);
  EXPECT_EQ(j["kernels"][0]["name"], "clamp01");
  EXPECT_EQ(j["kernels"][0]["f32"], true);
  EXPECT_EQ(j["workloads"][0]["name"], "sort");
  EXPECT_EQ(j["conditions"][0]["name"], "in_range");
  bool variadic = false;
  for (const json& f : j["functions"]) variadic = variadic || (f["name"] == "describe" && f["arity"] == -1);
  EXPECT_TRUE(variadic) << r.out;
}

TEST_F(VxorCli, InfoErrors) {
  CliRun r = miso("vxor info no_such_plugin" + kDirOption, dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no plugin named 'no_such_plugin'"), std::string::npos) << r.err;
  r = miso("vxor info loader_init_fails" + kLoaderDirOption, dir_);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("plugin 'loader_init_fails': init: no license for this machine"), std::string::npos) << r.err;
  r = miso("vxor info", dir_);
  EXPECT_EQ(r.code, 2);
}

TEST_F(VxorCli, CheckPassesForAGoodPlugin) {
  const std::string manifest = std::string(MISO_PLUGIN_DIR) + "/example_c.toml";
  CliRun r = miso("vxor check " + manifest + kDirOption, dir_);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("checksum  ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("in-process: 9 functions, 2 kernels, 1 workloads, 1 conditions"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("plugin ok"), std::string::npos) << r.out;

  r = miso("vxor check --json " + manifest + kDirOption, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["steps"].size(), 3u);
}

TEST_F(VxorCli, CheckFailsOnATamperedLibrary) {
  const fs::path src = MISO_PLUGIN_DIR;
  fs::copy_file(src / "example_c.toml", dir_ / "example_c.toml");
  fs::copy_file(src / "libexample_c.so", dir_ / "libexample_c.so");
  { std::ofstream(dir_ / "libexample_c.so", std::ios::app | std::ios::binary) << "x"; }
  CliRun r = miso("vxor check --json " + (dir_ / "example_c.toml").string() + " --plugin-dir " + dir_.string(), dir_);
  EXPECT_EQ(r.code, 1) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["steps"].size(), 2u);
  EXPECT_EQ(j["steps"][1]["step"], "checksum");
  EXPECT_NE(j["steps"][1]["detail"].get<std::string>().find("checksum mismatch"), std::string::npos);
}

TEST_F(VxorCli, CheckFailsOnABadTableAndOutsideThePluginDirectories) {
  CliRun r = miso("vxor check " + std::string(MISO_PLUGIN_DIR) + "/loader/loader_no_f64.toml" + kLoaderDirOption, dir_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("load      FAILED plugin 'loader_no_f64': kernel #0 ('twice') has no f64 function"),
            std::string::npos)
      << r.out;

  // Checksum fine, but the manifest is not in a plugin directory: not loaded.
  r = miso("vxor check " + std::string(MISO_PLUGIN_DIR) + "/example_c.toml --plugin-dir " + dir_.string(), dir_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("outside the plugin directories"), std::string::npos) << r.out;

  r = miso("vxor check " + (dir_ / "absent.toml").string(), dir_);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("manifest not found"), std::string::npos) << r.err;
}

}  // namespace
