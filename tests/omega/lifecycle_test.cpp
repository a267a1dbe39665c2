#include "miso/omega/lifecycle.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <string>
#include <vector>

#include "../error_of.hpp"
#include "miso/omega/config.hpp"

namespace miso::omega {
namespace {

using miso::testing::error_of;

// Components that record start and stop in one shared journal.
struct Journal {
  std::vector<std::string> events;
  Component component(std::string name, std::vector<std::string> deps, bool fail_start = false,
                      bool throw_on_stop = false) {
    Component c;
    c.name = name;
    c.version = "1.0";
    c.depends_on = std::move(deps);
    c.start = [this, name, fail_start](const Config&) {
      if (fail_start) throw miso::Error(miso::Error::Kind::Io, "disk on fire");
      events.push_back("start " + name);
    };
    c.stop = [this, name, throw_on_stop] {
      events.push_back("stop " + name);
      if (throw_on_stop) throw std::runtime_error("stop failed");
    };
    c.health = [name] { return nlohmann::json{{"answer", 42}, {"who", name}}; };
    return c;
  }
};

TEST(Lifecycle, StartsInDependencyOrderAndStopsInReverse) {
  Journal j;
  Lifecycle life;
  // Registered out of order: the order follows the arrows, ties by registration.
  life.add(j.component("mcode", {"tmath", "echo"}));
  life.add(j.component("echo", {"tmath"}));
  life.add(j.component("core", {}));
  life.add(j.component("tmath", {"core"}));
  life.add(j.component("vxor", {"core"}));
  EXPECT_EQ(life.start_order(), (std::vector<std::string>{"core", "tmath", "echo", "mcode", "vxor"}));
  life.start(Config());
  EXPECT_EQ(life.state("mcode"), ComponentState::Running);
  life.stop();
  life.stop();  // idempotent
  EXPECT_EQ(j.events, (std::vector<std::string>{"start core", "start tmath", "start echo", "start mcode", "start vxor",
                                                "stop vxor", "stop mcode", "stop echo", "stop tmath", "stop core"}));
  EXPECT_EQ(life.state("core"), ComponentState::Stopped);
}

TEST(Lifecycle, CycleAndUnknownDependencyAreNamed) {
  Journal j;
  Lifecycle cyclic;
  cyclic.add(j.component("a", {}));
  cyclic.add(j.component("b", {"d"}));
  cyclic.add(j.component("c", {"b"}));
  cyclic.add(j.component("d", {"c", "a"}));
  EXPECT_EQ(error_of([&] { cyclic.start_order(); }, Error::Kind::InvalidArgument),
            "dependency cycle between components: b -> d -> c -> b");
  EXPECT_THROW(cyclic.start(Config()), Error);
  EXPECT_TRUE(j.events.empty());

  Lifecycle self;
  self.add(j.component("x", {"x"}));
  EXPECT_EQ(error_of([&] { self.start_order(); }), "dependency cycle between components: x -> x");

  Lifecycle unknown;
  unknown.add(j.component("x", {"ghost"}));
  EXPECT_EQ(error_of([&] { unknown.start_order(); }), "component 'x' depends on unknown component 'ghost'");
  EXPECT_EQ(error_of([&] { unknown.add(j.component("x", {})); }), "component 'x' added twice");
  EXPECT_EQ(error_of([&] { unknown.state("nope"); }), "unknown component 'nope'");
}

TEST(Lifecycle, FailedStartStopsTheStartedOnesInReverseAndNamesTheComponent) {
  Journal j;
  Lifecycle life;
  life.add(j.component("core", {}));
  life.add(j.component("tmath", {"core"}));
  life.add(j.component("echo", {"tmath"}, /*fail_start=*/true));
  life.add(j.component("mcode", {"echo"}));
  EXPECT_EQ(error_of([&] { life.start(Config()); }, Error::Kind::Io), "component 'echo' failed to start: disk on fire");
  EXPECT_EQ(j.events, (std::vector<std::string>{"start core", "start tmath", "stop tmath", "stop core"}));
  EXPECT_EQ(life.state("echo"), ComponentState::Failed);
  EXPECT_EQ(life.state("mcode"), ComponentState::Registered);
  EXPECT_EQ(life.state("core"), ComponentState::Stopped);
  const nlohmann::json health = life.health();
  EXPECT_EQ(health[2]["name"], "echo");
  EXPECT_EQ(health[2]["state"], "failed");
  EXPECT_EQ(health[2]["error"], "disk on fire");
  EXPECT_FALSE(health[2]["healthy"].get<bool>());
}

TEST(Lifecycle, StopNeverThrowsAndHealthReportsFigures) {
  Journal j;
  Lifecycle life;
  life.add(j.component("core", {}, false, /*throw_on_stop=*/true));
  Component sick = j.component("sick", {"core"});
  sick.health = []() -> nlohmann::json { throw std::runtime_error("pool exhausted"); };
  life.add(sick);
  life.start(Config());
  const nlohmann::json health = life.health();
  ASSERT_EQ(health.size(), 2u);
  EXPECT_EQ(health[0]["name"], "core");
  EXPECT_EQ(health[0]["version"], "1.0");
  EXPECT_EQ(health[0]["state"], "running");
  EXPECT_EQ(health[0]["figures"]["answer"], 42);
  EXPECT_TRUE(health[0]["healthy"].get<bool>());
  EXPECT_EQ(health[1]["depends_on"], nlohmann::json({"core"}));
  EXPECT_EQ(health[1]["error"], "health check failed: pool exhausted");
  EXPECT_FALSE(health[1]["healthy"].get<bool>());
  EXPECT_NO_THROW(life.stop());
  EXPECT_EQ(j.events.back(), "stop core");
  EXPECT_EQ(life.state("core"), ComponentState::Stopped);
  EXPECT_EQ(life.health()[0]["state"], "stopped");
}

TEST(Lifecycle, ShutdownSignalSetsTheFlagAndWakesThePipe) {
  reset_shutdown_for_testing();
  install_shutdown_signals();
  EXPECT_FALSE(shutdown_requested());
  EXPECT_EQ(shutdown_signal(), 0);
  pollfd p{shutdown_fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  ASSERT_EQ(::raise(SIGTERM), 0);  // handled: the process keeps running
  EXPECT_TRUE(shutdown_requested());
  EXPECT_TRUE(shutdown_flag().load());
  EXPECT_EQ(shutdown_signal(), SIGTERM);
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
  reset_shutdown_for_testing();
  EXPECT_FALSE(shutdown_requested());
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  // A second signal while shutting down exits at once with 128 + n.
  EXPECT_EXIT(
      {
        ::raise(SIGINT);
        ::raise(SIGINT);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(128 + SIGINT), "");
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

TEST(Lifecycle, StateNames) {
  EXPECT_STREQ(to_string(ComponentState::Registered), "registered");
  EXPECT_STREQ(to_string(ComponentState::Running), "running");
  EXPECT_STREQ(to_string(ComponentState::Stopped), "stopped");
  EXPECT_STREQ(to_string(ComponentState::Failed), "failed");
}

}  // namespace
}  // namespace miso::omega
