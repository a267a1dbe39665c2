#include "miso/omega/runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "../profiler/test_dir.hpp"
#include "miso/omega/lifecycle.hpp"

namespace miso::omega {
namespace {

class RuntimeTest : public miso::testing::TempDirTest {
 protected:
  // A configuration whose plugin folder is `dir` (no autoload unless asked).
  Config config_with(const std::filesystem::path& dir, bool autoload) {
    Config c;
    c.set("vxor.plugin_dirs", dir.string(), ConfigSource::CommandLine, "--set");
    c.set("vxor.autoload", autoload ? "true" : "false", ConfigSource::CommandLine, "--set");
    c.set("vxor.worker", MISO_VXOR_WORKER, ConfigSource::CommandLine, "--set");
    return c;
  }
  static const nlohmann::json& component(const nlohmann::json& health, const std::string& name) {
    for (const nlohmann::json& c : health) {
      if (c["name"] == name) return c;
    }
    static const nlohmann::json none;
    ADD_FAILURE() << "no component " << name;
    return none;
  }
};

TEST_F(RuntimeTest, StandardComponentsFollowTheLayers) {
  Runtime runtime(config_with(dir_, false));
  const std::vector<std::string> order = runtime.lifecycle().start_order();
  EXPECT_EQ(order, (std::vector<std::string>{"core", "profiler", "nexus", "tmath", "qlogik", "echo", "bridge", "mprime",
                                             "mcode", "vxor", "omega"}));
  const auto position = [&](const std::string& name) { return std::find(order.begin(), order.end(), name); };
  // vxor depends on profiler and core only; omega on everything through mcode and vxor.
  EXPECT_LT(position("profiler"), position("vxor"));
  EXPECT_LT(position("vxor"), position("omega"));
  for (const std::string& name : order) EXPECT_EQ(runtime.lifecycle().state(name), ComponentState::Registered);
}

TEST_F(RuntimeTest, StartReportsRealFiguresAndStopsInReverse) {
  Runtime runtime(config_with(dir_, false));
  runtime.start();
  const nlohmann::json health = runtime.lifecycle().health();
  ASSERT_EQ(health.size(), 11u);
  for (const nlohmann::json& c : health) {
    EXPECT_EQ(c["state"], "running") << c.dump();
    EXPECT_TRUE(c["healthy"].get<bool>()) << c.dump();
    EXPECT_FALSE(c["version"].get<std::string>().empty());
  }
  EXPECT_GE(component(health, "nexus")["figures"]["worker_threads"].get<int>(), 1);
  EXPECT_TRUE(component(health, "tmath")["figures"]["pool"].contains("in_use_bytes"));
  EXPECT_TRUE(component(health, "tmath")["figures"]["plan_cache"].contains("plans"));
  EXPECT_TRUE(component(health, "profiler")["figures"]["metrics"].is_number());
  EXPECT_TRUE(component(health, "profiler")["figures"]["spans_enabled"].is_boolean());
  EXPECT_GT(component(health, "qlogik")["figures"]["workloads"].get<int>(), 0);
  EXPECT_EQ(component(health, "vxor")["figures"]["plugins_loaded"], 0);
  EXPECT_EQ(component(health, "vxor")["figures"]["plugin_dirs"][0], dir_.string());
  EXPECT_TRUE(component(health, "omega")["figures"]["config_file"].is_null());
  EXPECT_EQ(component(health, "mcode")["figures"]["sandbox"]["instruction_budget"], 100000000);
  runtime.stop();
  EXPECT_EQ(runtime.lifecycle().state("core"), ComponentState::Stopped);
  EXPECT_EQ(runtime.lifecycle().state("omega"), ComponentState::Stopped);
}

TEST_F(RuntimeTest, AutoloadLoadsThePluginsAndTheirWorkloadsAndUnloadsOnStop) {
  // The examples' folder and the loader tests' folder, which holds plugins made to be
  // refused (bad ABI, missing entry, failing init, ...) and one good one.
  Runtime runtime(config_with(std::string(MISO_PLUGIN_DIR) + "," + MISO_PLUGIN_DIR + "/loader", true));
  runtime.start();
  ASSERT_NE(runtime.plugins().find("example_c"), nullptr);
  ASSERT_NE(runtime.plugins().find("example_cpp"), nullptr);
  const nlohmann::json vxor = component(runtime.lifecycle().health(), "vxor")["figures"];
  // The refused ones are reported, one problem each naming the plugin, not fatal.
  ASSERT_NE(runtime.plugins().find("loader_ok"), nullptr);
  EXPECT_EQ(vxor["plugins_loaded"].get<int>(), 3);
  EXPECT_EQ(vxor["load_problems"].size(), 10u) << vxor.dump();
  for (const nlohmann::json& problem : vxor["load_problems"])
    EXPECT_NE(problem.get<std::string>().find("loader_"), std::string::npos) << problem;
  const profiler::WorkloadRegistry workloads = runtime.workloads();
  const auto& all = workloads.all();
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](const auto& w) { return w.name == "example_c.checksum"; }));
  EXPECT_GT(all.size(), builtin_workloads().all().size());

  std::ostringstream out;
  mcode::VmOptions options = runtime.script_options();
  options.output = &out;
  mcode::Vm vm(options);
  runtime.bind_plugins(vm);
  vm.run("print(example_c.add(2, 3) == 5)");
  EXPECT_EQ(out.str(), "true\n");

  runtime.stop();
  EXPECT_TRUE(runtime.plugins().loaded().empty());
  EXPECT_EQ(runtime.lifecycle().state("vxor"), ComponentState::Stopped);
}

TEST_F(RuntimeTest, SandboxAndHostOptionsComeFromTheConfiguration) {
  Config c = config_with(dir_, false);
  c.set("mcode.instruction_budget", "1000", ConfigSource::CommandLine, "--set");
  c.set("mcode.time_limit_ms", "250", ConfigSource::CommandLine, "--set");
  c.set("mcode.memory_budget_mb", "3", ConfigSource::CommandLine, "--set");
  c.set("mcode.allowed_paths", dir_.string(), ConfigSource::CommandLine, "--set");
  c.set("vxor.isolated", "true", ConfigSource::CommandLine, "--set");
  c.set("vxor.deadline_ms", "300", ConfigSource::CommandLine, "--set");
  const Runtime runtime(c);
  const mcode::VmOptions sandbox = runtime.sandbox_options();
  EXPECT_EQ(sandbox.instruction_budget, 1000u);
  EXPECT_EQ(sandbox.time_limit, std::chrono::milliseconds(250));
  EXPECT_EQ(sandbox.memory_budget, 3u << 20);
  ASSERT_EQ(sandbox.allowed_paths.size(), 1u);
  EXPECT_EQ(sandbox.allowed_paths[0], dir_);
  const mcode::VmOptions script = runtime.script_options();
  EXPECT_EQ(script.instruction_budget, 0u);
  EXPECT_EQ(script.time_limit, std::chrono::milliseconds(0));

  const vxor::HostOptions host = host_options(c);
  EXPECT_EQ(host.default_mode, vxor::LoadMode::Isolated);
  EXPECT_EQ(host.call_deadline, std::chrono::milliseconds(300));
  EXPECT_EQ(host.worker, MISO_VXOR_WORKER);
  EXPECT_EQ(host.plugin_dirs, std::vector<std::filesystem::path>{dir_});
}

TEST_F(RuntimeTest, DefaultPluginFolderIsBesideTheExecutablesFolder) {
  const auto dirs = plugin_dirs(Config());
  ASSERT_EQ(dirs.size(), 1u);
  const auto exe = std::filesystem::read_symlink("/proc/self/exe");
  EXPECT_EQ(dirs[0], (exe.parent_path().parent_path() / "plugins").lexically_normal());
}

}  // namespace
}  // namespace miso::omega
