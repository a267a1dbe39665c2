// The example plugins loaded in-process: every kind of registration, errors, and the
// host callbacks (log, spans, counters, accounted memory).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../error_of.hpp"
#include "miso/core/memory.hpp"
#include "miso/profiler/clock.hpp"
#include "miso/profiler/metric.hpp"
#include "miso/profiler/thread_registry.hpp"
#include "miso/vxor/plugin_host.hpp"

namespace miso::vxor {
namespace {

namespace fs = std::filesystem;
using miso::testing::error_of;

Manifest example(const std::string& name) { return read_manifest(fs::path(MISO_PLUGIN_DIR) / (name + ".toml")); }

std::vector<PluginValue> args(std::initializer_list<PluginValue> values) { return values; }

struct LogLine {
  std::string plugin;
  int level;
  std::string message;
};

class InProcessTest : public ::testing::Test {
 protected:
  std::shared_ptr<Plugin> load(const std::string& name) {
    return load_in_process(example(name), [this](std::string_view plugin, int level, std::string_view message) {
      std::lock_guard lock(mutex_);
      lines_.push_back({std::string(plugin), level, std::string(message)});
    });
  }
  std::vector<LogLine> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

  std::mutex mutex_;
  std::vector<LogLine> lines_;
};

TEST_F(InProcessTest, DescribesTheCPlugin) {
  auto p = load("example_c");
  const PluginInfo& info = p->info();
  EXPECT_EQ(info.name, "example_c");
  EXPECT_EQ(info.version, "1.0.0");
  EXPECT_EQ(info.mode, LoadMode::InProcess);
  EXPECT_FALSE(info.thread_safe);
  EXPECT_EQ(info.abi_major, 1u);
  ASSERT_GE(info.functions.size(), 5u);
  EXPECT_EQ(info.functions[0].name, "add");
  EXPECT_EQ(info.functions[0].arity, 2);
  ASSERT_EQ(info.kernels.size(), 2u);
  EXPECT_EQ(info.kernels[0].name, "softplus");
  EXPECT_TRUE(info.kernels[0].has_f32);
  EXPECT_EQ(info.kernels[1].arity, 2);
  EXPECT_FALSE(info.kernels[1].has_f32);
  ASSERT_EQ(info.workloads.size(), 1u);
  EXPECT_EQ(info.workloads[0].name, "checksum");
  ASSERT_EQ(info.conditions.size(), 1u);
  EXPECT_EQ(info.conditions[0].name, "above");
  EXPECT_EQ(info.manifest.name, "example_c");
  // init logged at debug level through the host.
  auto l = lines();
  ASSERT_FALSE(l.empty());
  EXPECT_EQ(l[0].plugin, "example_c");
  EXPECT_EQ(l[0].message, "example_c initialised");
}

TEST_F(InProcessTest, CallsFunctions) {
  auto p = load("example_c");
  EXPECT_EQ(std::get<std::int64_t>(p->call("add", args({std::int64_t{40}, std::int64_t{2}}))), 42);
  EXPECT_DOUBLE_EQ(std::get<double>(p->call("add", args({1.5, std::int64_t{2}}))), 3.5);
  EXPECT_EQ(std::get<std::string>(p->call("greet", args({std::string("MISO")}))), "Hello, MISO!");
  EXPECT_EQ(std::get<std::string>(p->call("greet", args({std::string()}))), "Hello, !");
  EXPECT_DOUBLE_EQ(std::get<double>(p->call("sum", args({std::vector<double>{1, 2, 3.5}}))), 6.5);
  EXPECT_DOUBLE_EQ(std::get<double>(p->call("mean", args({std::vector<double>{1, 2, 3, 6}}))), 3.0);
  EXPECT_EQ(std::get<std::int64_t>(p->call("calls", {})), 7);
}

TEST_F(InProcessTest, ReportsPluginErrors) {
  auto p = load("example_c");
  EXPECT_EQ(error_of([&] { p->call("mean", args({std::vector<double>{}})); }, Error::Kind::Format),
            "example_c.mean: mean of an empty array");
  EXPECT_EQ(error_of([&] { p->call("fail", args({std::string("it broke")})); }, Error::Kind::Format),
            "example_c.fail: it broke");
  EXPECT_EQ(error_of(
                [&] {
                  p->call("add", args({std::string("x"), std::int64_t{1}}));
                },
                Error::Kind::Format),
            "example_c.add: add expects two numbers");
  EXPECT_EQ(error_of([&] {
              p->call("add", args({std::int64_t{INT64_MAX}, std::int64_t{1}}));
            }),
            "example_c.add: integer overflow");
  EXPECT_EQ(error_of([&] { p->call("add", args({std::int64_t{1}})); }, Error::Kind::InvalidArgument),
            "example_c.add: expects 2 arguments, got 1");
  EXPECT_EQ(error_of([&] { p->call("nope", {}); }, Error::Kind::InvalidArgument),
            "plugin 'example_c' has no function 'nope'");
  Plugin::Stats s = p->stats();
  EXPECT_EQ(s.calls, 4u);  // the arity and name errors never reached the plugin
  EXPECT_EQ(s.failures, 4u);
  // Still usable after errors.
  EXPECT_EQ(std::get<std::int64_t>(p->call("add", args({std::int64_t{1}, std::int64_t{1}}))), 2);
}

// The by-name index finds every registered name of each kind, and only those: a call
// with the wrong number of arguments reaches the arity check (the name was found), and
// near misses (prefix, extension, other case, empty) are unknown.
TEST_F(InProcessTest, FindsEveryRegisteredNameAndNoOther) {
  for (const char* plugin : {"example_c", "example_cpp"}) {
    auto p = load(plugin);
    const std::string prefix = std::string(plugin) + ".";
    int checked = 0;
    for (const FunctionInfo& f : p->info().functions) {
      if (f.arity < 0) continue;  // variadic: any count is right
      std::vector<PluginValue> too_many(static_cast<std::size_t>(f.arity) + 1, PluginValue{Nil{}});
      std::string e = error_of([&] { p->call(f.name, too_many); }, Error::Kind::InvalidArgument);
      EXPECT_EQ(e.rfind(prefix + f.name + ": expects " + std::to_string(f.arity) + " argument", 0), 0u) << e;
      ++checked;
      for (const std::string& miss : {f.name + "x", f.name.substr(0, f.name.size() - 1), std::string("X") + f.name}) {
        EXPECT_EQ(error_of([&] { p->call(miss, {}); }, Error::Kind::InvalidArgument),
                  "plugin '" + std::string(plugin) + "' has no function '" + miss + "'");
      }
    }
    EXPECT_GT(checked, 2) << plugin;
    for (const KernelInfo& k : p->info().kernels) {
      std::vector<double> a(2), b(3), out(2);
      std::string e = error_of([&] { p->kernel_f64(k.name, a, b, out); }, Error::Kind::InvalidArgument);
      EXPECT_EQ(e.rfind(prefix + k.name + ": ", 0), 0u) << e;
    }
    EXPECT_EQ(error_of([&] { p->call("", {}); }, Error::Kind::InvalidArgument),
              "plugin '" + std::string(plugin) + "' has no function ''");
    EXPECT_EQ(error_of([&] { p->kernel_f64("ADD", {}, {}, {}); }, Error::Kind::InvalidArgument),
              "plugin '" + std::string(plugin) + "' has no kernel 'ADD'");
  }
}

TEST_F(InProcessTest, CallbacksReachTheHost) {
  auto p = load("example_c");
  auto& roundtrips = profiler::counter("vxor.example_c.roundtrips");
  auto& values = profiler::counter("vxor.example_c.values");
  const std::int64_t r0 = roundtrips.value();
  const std::int64_t v0 = values.value();
  const std::uint64_t from = profiler::now_ticks();

  EXPECT_DOUBLE_EQ(std::get<double>(p->call("roundtrip", args({std::int64_t{1000}}))), 999.0 * 1000.0 / 2);
  EXPECT_EQ(roundtrips.value(), r0 + 1);
  EXPECT_EQ(values.value(), v0 + 1000);
  EXPECT_EQ(p->stats().live_bytes, 0);

  auto l = lines();
  bool logged = false;
  for (const LogLine& line : l) logged = logged || (line.message == "roundtrip over 1000 values" && line.level == 2);
  EXPECT_TRUE(logged);

  bool span = false;
  for (const auto& thread : profiler::snapshot_threads(from, profiler::now_ticks())) {
    for (const auto& e : thread.events) {
      span = span || std::string(e.site->name) == "vxor.example_c.roundtrip";
    }
  }
  EXPECT_TRUE(span);
}

TEST_F(InProcessTest, AccountsPluginMemory) {
  auto p = load("example_c");
  p->call("hold", args({std::int64_t{1 << 20}}));
  EXPECT_EQ(p->stats().live_bytes, 1 << 20);
  const auto tag = core::memory::tag("vxor.example_c");
  EXPECT_GE(core::memory::stats(tag).live_bytes, 1 << 20);
  EXPECT_EQ(std::get<std::int64_t>(p->call("release", {})), 1 << 20);
  EXPECT_EQ(p->stats().live_bytes, 0);
}

TEST_F(InProcessTest, Kernels) {
  auto p = load("example_c");
  std::vector<double> a{0.0, 1.0, -1000.0, 1000.0, -1.0};
  std::vector<double> out(a.size());
  p->kernel_f64("softplus", a, {}, out);
  EXPECT_DOUBLE_EQ(out[0], std::log(2.0));
  EXPECT_DOUBLE_EQ(out[1], std::log1p(std::exp(1.0)));
  EXPECT_DOUBLE_EQ(out[2], 0.0);
  EXPECT_DOUBLE_EQ(out[3], 1000.0);
  EXPECT_DOUBLE_EQ(out[4], std::log1p(std::exp(-1.0)));

  std::vector<float> af{0.0f, 2.0f};
  std::vector<float> of(2);
  p->kernel_f32("softplus", af, {}, of);
  EXPECT_NEAR(of[0], std::log(2.0f), 1e-6f);
  EXPECT_NEAR(of[1], std::log1p(std::exp(2.0f)), 1e-6f);

  std::vector<double> x{3, 5, 0}, y{4, 12, 0}, h(3);
  p->kernel_f64("hypot", x, y, h);
  EXPECT_EQ(h, (std::vector<double>{5, 13, 0}));
  // No f32 variant: computed through f64.
  std::vector<float> xf{3, 8}, yf{4, 15}, hf(2);
  p->kernel_f32("hypot", xf, yf, hf);
  EXPECT_EQ(hf, (std::vector<float>{5, 17}));

  EXPECT_NE(error_of([&] { p->kernel_f64("hypot", x, std::vector<double>{1}, h); }, Error::Kind::InvalidArgument)
                .find("lengths differ"),
            std::string::npos);
  EXPECT_NE(error_of([&] { p->kernel_f64("softplus", a, a, out); }, Error::Kind::InvalidArgument).find("unary kernel"),
            std::string::npos);
  EXPECT_EQ(error_of([&] { p->kernel_f64("relu", a, {}, out); }, Error::Kind::InvalidArgument),
            "plugin 'example_c' has no kernel 'relu'");
}

TEST_F(InProcessTest, Conditions) {
  auto p = load("example_c");
  EXPECT_TRUE(p->condition("above", "reading", 1, std::vector<Attribute>{{"value", std::int64_t{11}}}));
  EXPECT_FALSE(p->condition("above", "reading", 1, std::vector<Attribute>{{"value", 9.5}}));
  EXPECT_FALSE(
      p->condition("above", "reading", 1, std::vector<Attribute>{{"value", 15.0}, {"threshold", std::int64_t{20}}}));
  EXPECT_TRUE(p->condition("above", "reading", 1, std::vector<Attribute>{{"threshold", 1.0}, {"value", 1.5}}));
  EXPECT_FALSE(p->condition("above", "reading", 1, {}));
  EXPECT_FALSE(p->condition("above", "reading", 1, std::vector<Attribute>{{"value", std::string("99")}}));
  error_of([&] { p->condition("below", "x", 0, {}); }, Error::Kind::InvalidArgument);
}

TEST_F(InProcessTest, Workloads) {
  auto p = load("example_c");
  auto w = p->prepare_workload("checksum", 1 << 16, 7);
  EXPECT_EQ(w->input_bytes(), 1u << 16);
  PluginWorkload::Check before = w->check();
  EXPECT_FALSE(before.passed);
  EXPECT_EQ(before.detail, "checksum: run() has not been called");
  w->run();
  PluginWorkload::Check after = w->check();
  EXPECT_TRUE(after.passed) << after.detail;
  EXPECT_NE(after.detail.find("over 8192 words"), std::string::npos) << after.detail;

  // Same seed, same checksum; another seed, another.
  auto same = p->prepare_workload("checksum", 1 << 16, 7);
  same->run();
  EXPECT_EQ(same->check().detail, after.detail);
  auto other = p->prepare_workload("checksum", 1 << 16, 8);
  other->run();
  EXPECT_NE(other->check().detail, after.detail);

  // The workload keeps the plugin alive.
  p.reset();
  w->run();
  EXPECT_TRUE(w->check().passed);
  error_of([&] { load("example_c")->prepare_workload("nope", 1, 1); }, Error::Kind::InvalidArgument);
}

TEST_F(InProcessTest, CppPlugin) {
  auto p = load("example_cpp");
  EXPECT_TRUE(p->info().thread_safe);
  EXPECT_EQ(std::get<std::int64_t>(p->call("word_count", args({std::string("  the quick\tbrown\nfox ")}))), 4);
  EXPECT_EQ(std::get<std::vector<double>>(p->call("sort", args({std::vector<double>{3, -1, 2}}))),
            (std::vector<double>{-1, 2, 3}));
  EXPECT_EQ(std::get<std::vector<double>>(p->call("stats", args({std::vector<double>{2, 4, 4, 4, 5, 5, 7, 9}}))),
            (std::vector<double>{8, 2, 9, 5, 2}));
  EXPECT_EQ(std::get<std::string>(p->call("upper", args({std::string("miso 10")}))), "MISO 10");
  EXPECT_EQ(std::get<std::string>(
                p->call("describe", args({Nil{}, true, std::int64_t{1}, 1.0, std::string(), std::vector<double>{}}))),
            "nil,bool,int,float,string,array");
  EXPECT_EQ(std::get<std::string>(p->call("describe", {})), "");
  EXPECT_EQ(error_of([&] { p->call("stats", args({std::vector<double>{}})); }),
            "example_cpp.stats: stats of an empty array");
  EXPECT_EQ(error_of([&] { p->call("sort", args({std::string("x")})); }),
            "example_cpp.sort: expects an array of numbers");

  std::vector<double> a{-0.5, 0.25, 3}, out(3);
  p->kernel_f64("clamp01", a, {}, out);
  EXPECT_EQ(out, (std::vector<double>{0, 0.25, 1}));
  std::vector<float> af{-2, 0.5f, 1.5f}, of(3);
  p->kernel_f32("clamp01", af, {}, of);
  EXPECT_EQ(of, (std::vector<float>{0, 0.5f, 1}));

  EXPECT_TRUE(p->condition("in_range", "t", 0, std::vector<Attribute>{{"value", 0.5}}));
  EXPECT_FALSE(p->condition("in_range", "t", 0, std::vector<Attribute>{{"value", 0.5}, {"lo", 0.6}}));

  auto w = p->prepare_workload("sort", 8000, 3);
  EXPECT_EQ(w->input_bytes(), 8000u);
  w->run();
  PluginWorkload::Check c = w->check();
  EXPECT_TRUE(c.passed) << c.detail;
  EXPECT_EQ(c.detail, "sorted 1000 values");
}

TEST_F(InProcessTest, ConcurrentCalls) {
  // example_c is not thread-safe (the host serialises), example_cpp is; both must
  // give the right results and counts from several threads.
  for (const char* name : {"example_c", "example_cpp"}) {
    auto p = load(name);
    const bool c = std::string(name) == "example_c";
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) {
          if (c) {
            auto r = p->call("add", args({std::int64_t{t}, std::int64_t{i}}));
            if (std::get<std::int64_t>(r) != t + i) ++wrong;
          } else {
            auto r = p->call("word_count", args({std::string("a b c")}));
            if (std::get<std::int64_t>(r) != 3) ++wrong;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0) << name;
    EXPECT_EQ(p->stats().calls, 800u) << name;
    if (c) {
      EXPECT_EQ(std::get<std::int64_t>(p->call("calls", {})), 801);
    }
  }
}

}  // namespace
}  // namespace miso::vxor
