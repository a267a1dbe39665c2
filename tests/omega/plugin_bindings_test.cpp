#include "miso/omega/plugin_bindings.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "../error_of.hpp"
#include "miso/core/error.hpp"
#include "miso/echo/condition.hpp"
#include "miso/echo/trigger.hpp"
#include "miso/mcode/vm.hpp"
#include "miso/tmath/custom_kernel.hpp"
#include "miso/tmath/lazy.hpp"
#include "miso/tmath/ops.hpp"
#include "miso/vxor/plugin_host.hpp"

namespace miso::omega {
namespace {

using miso::testing::error_of;
namespace fs = std::filesystem;

// A plugin written in the test: what the bindings are checked against before (and
// independently of) the real example plugins.
class FakePlugin final : public vxor::Plugin {
 public:
  explicit FakePlugin(std::string name = "fake") {
    info_.name = std::move(name);
    info_.version = "0.1.0";
    info_.functions = {{"add", 2, "a + b"},
                       {"echo", 1, "its argument"},
                       {"fail", 1, "an error"},
                       {"count", -1, "the number of arguments"}};
    info_.kernels = {{"twice", 1, "2x", true}, {"diff", 2, "a - b", false}};
    info_.conditions = {{"big", "value > 5"}};
    info_.workloads = {{"squares", "sums squares"}};
  }
  const vxor::PluginInfo& info() const noexcept override { return info_; }

  vxor::PluginValue call(std::string_view function, std::span<const vxor::PluginValue> args) override {
    if (function == "add") return std::get<std::int64_t>(args[0]) + std::get<std::int64_t>(args[1]);
    if (function == "echo") return args[0];
    if (function == "count") return static_cast<std::int64_t>(args.size());
    if (function == "fail") throw Error(Error::Kind::Format, "fake.fail: " + std::get<std::string>(args[0]));
    throw Error(Error::Kind::InvalidArgument, "unknown function");
  }
  void kernel_f64(std::string_view kernel, std::span<const double> a, std::span<const double> b,
                  std::span<double> out) override {
    ++f64_calls;
    for (std::size_t i = 0; i < a.size(); ++i) out[i] = kernel == "twice" ? 2 * a[i] : a[i] - b[i];
  }
  void kernel_f32(std::string_view, std::span<const float> a, std::span<const float>, std::span<float> out) override {
    ++f32_calls;
    for (std::size_t i = 0; i < a.size(); ++i) out[i] = 2 * a[i];
  }
  bool condition(std::string_view, std::string_view event_type, std::int64_t key,
                 std::span<const vxor::Attribute> attributes) override {
    std::lock_guard lock(mutex);
    seen.emplace_back(std::string(event_type) + "@" + std::to_string(key));
    bool big = false;
    for (const vxor::Attribute& a : attributes) {
      if (a.key == "value" && std::holds_alternative<double>(a.value)) big = std::get<double>(a.value) > 5;
      if (std::holds_alternative<std::string>(a.value))
        seen.back() += " " + a.key + "=" + std::get<std::string>(a.value);
    }
    return big;
  }

  struct Squares final : vxor::PluginWorkload {
    std::uint64_t n, seed, sum = 0;
    Squares(std::uint64_t bytes, std::uint64_t s) : n(bytes / 8), seed(s) {}
    std::uint64_t input_bytes() const override { return n * 8; }
    void run() override {
      for (std::uint64_t i = 0; i < n; ++i) sum += (i + seed) * (i + seed);
    }
    Check check() override { return {sum != 0, "sum " + std::to_string(sum)}; }
  };
  std::unique_ptr<vxor::PluginWorkload> prepare_workload(std::string_view, std::uint64_t target_bytes,
                                                         std::uint64_t seed) override {
    prepared.push_back({target_bytes, seed});
    return std::make_unique<Squares>(target_bytes, seed);
  }
  Stats stats() const override { return {}; }

  vxor::PluginInfo info_;
  std::atomic<int> f64_calls{0}, f32_calls{0};
  std::mutex mutex;
  std::vector<std::string> seen;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> prepared;
};

std::string run(mcode::Vm& vm, std::ostringstream& out, std::string_view code) {
  out.str("");
  vm.run(code);
  return out.str();
}

class BindingsTest : public ::testing::Test {
 protected:
  BindingsTest() : vm(options()) {}
  mcode::VmOptions options() {
    mcode::VmOptions o;
    o.output = &out;
    return o;
  }
  std::ostringstream out;
  mcode::Vm vm;
  std::shared_ptr<FakePlugin> fake = std::make_shared<FakePlugin>();
};

TEST_F(BindingsTest, FunctionsConvertValuesBothWays) {
  bind_plugin_functions(vm, fake);
  EXPECT_EQ(run(vm, out, "print(fake.add(2, 40))"), "42\n");
  EXPECT_EQ(run(vm, out, "print(fake.echo(nil), fake.echo(true), fake.echo(7), fake.echo(2.5), fake.echo(\"hi\"))"),
            "nil true 7 2.5 hi\n");
  // Lists of numbers and tensors become arrays; arrays come back as lists of floats.
  EXPECT_EQ(run(vm, out, "print(fake.echo([1, 2.5, -3]))"), "[1.0, 2.5, -3.0]\n");
  EXPECT_EQ(run(vm, out, "print(fake.echo(tmath.tensor([[1.5, 2.0], [3.0, 4.0]])))"), "[1.5, 2.0, 3.0, 4.0]\n");
  EXPECT_EQ(run(vm, out, "print(fake.echo(tmath.tensor([1.5, 2.0], \"f64\")))"), "[1.5, 2.0]\n");
  EXPECT_EQ(run(vm, out, "print(fake.echo([]))"), "[]\n");
  EXPECT_EQ(run(vm, out, "print(fake.count(), fake.count(1, \"a\", nil))"), "0 3\n");
  EXPECT_EQ(run(vm, out, "print(type(fake), type(fake.add))"), "map function\n");
}

TEST_F(BindingsTest, FunctionErrorsAreCatchableAndNameTheFunction) {
  bind_plugin_functions(vm, fake);
  EXPECT_EQ(run(vm, out, "try { fake.fail(\"boom\") } catch e { print(e.message) }"), "fake.fail: boom\n");
  // An error without the plugin's prefix gets it.
  EXPECT_EQ(run(vm, out, "try { fake.add(1.5, 2) } catch e { print(e.message) }").rfind("fake.add: ", 0), 0u);
  EXPECT_NE(error_of([&] { vm.run("fake.echo({})"); })
                .find("fake.echo: argument 1 must be nil, a bool, a number, a string, a list of numbers or a tensor, "
                      "got map"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              vm.run("fake.echo([1, \"x\"])");
            }).find("fake.echo: argument 1 must be a list of numbers (an array), got string"),
            std::string::npos);
  EXPECT_NE(error_of([&] { vm.run("fake.add(1)"); }).find("fake.add"), std::string::npos);
}

TEST_F(BindingsTest, RebindingReplacesTheModuleButNotOtherGlobals) {
  bind_plugin_functions(vm, fake);
  bind_plugin_functions(vm, fake);  // a reload binds again
  EXPECT_EQ(run(vm, out, "print(fake.add(1, 1))"), "2\n");
  auto clash = std::make_shared<FakePlugin>("tmath");
  EXPECT_NE(error_of([&] { bind_plugin_functions(vm, clash); }, Error::Kind::InvalidArgument)
                .find("plugin 'tmath': its module would replace the global 'tmath'"),
            std::string::npos);
  EXPECT_EQ(run(vm, out, "print(tmath.ones([1]).item())"), "1.0\n");
}

TEST_F(BindingsTest, FunctionRecordsKeepThePluginAliveAndSurviveCollection) {
  std::weak_ptr<FakePlugin> weak = fake;
  bind_plugin_functions(vm, fake);
  fake.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(run(vm, out, "let s = 0\nfor i in range(2000) { s = s + len([i, i]) + fake.add(i, 0) }\nprint(s)"),
            "2003000\n");
  // Worker VMs get clones of the natives (and of their records).
  EXPECT_EQ(run(vm, out, "let add = fake.add\nprint(nexus.parallel_map(fn(x) { return add(x, 1) }, [1, 2, 3]))"),
            "[2, 3, 4]\n");
}

TEST_F(BindingsTest, KernelsRunEagerLazyAndFromScripts) {
  register_plugin_kernels(fake);
  auto twice = tmath::find_kernel("fake.twice");
  auto diff = tmath::find_kernel("fake.diff");
  ASSERT_NE(twice, nullptr);
  ASSERT_NE(diff, nullptr);
  EXPECT_EQ(diff->arity, 2);
  EXPECT_TRUE(static_cast<bool>(twice->f32));
  EXPECT_FALSE(static_cast<bool>(diff->f32));

  tmath::Tensor x = tmath::from_values({1, 2, 3}, {3}, tmath::DType::F64);
  tmath::Tensor y = tmath::from_values({0.5}, {1}, tmath::DType::F64);
  EXPECT_EQ(tmath::apply_kernel(*diff, x, y).to_vector<double>(), (std::vector<double>{0.5, 1.5, 2.5}));
  tmath::Lazy f = tmath::exp(tmath::Lazy(x)) * tmath::custom(twice, tmath::Lazy(y)) + 1.0;
  std::vector<double> got = f.eval().to_vector<double>();
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(got[static_cast<std::size_t>(i)], std::exp(i + 1.0) * 1.0 + 1.0);
  fake->f32_calls = 0;
  tmath::apply_kernel(*twice, x.to(tmath::DType::F32));
  EXPECT_GT(fake->f32_calls.load(), 0);

  EXPECT_EQ(run(vm, out, "print(tmath.map(\"fake.twice\", tmath.tensor([1.0, 4.0])).tolist())"), "[2.0, 8.0]\n");

  unregister_plugin_kernels(*fake);
  EXPECT_EQ(tmath::find_kernel("fake.twice"), nullptr);
  EXPECT_EQ(tmath::find_kernel("fake.diff"), nullptr);
  EXPECT_EQ(f.eval().to_vector<double>(), got);  // the graph holds its kernel
}

TEST_F(BindingsTest, KernelRegistrationIsAllOrNothing) {
  auto other = std::make_shared<tmath::CustomKernel>();
  other->name = "fake.diff";
  other->arity = 2;
  other->f64 = [](const double*, const double*, double*, std::int64_t) {};
  tmath::register_kernel(other);
  EXPECT_NE(error_of([&] { register_plugin_kernels(fake); }).find("'fake.diff' is already registered"),
            std::string::npos);
  EXPECT_EQ(tmath::find_kernel("fake.twice"), nullptr);  // registered first, then taken back
  EXPECT_EQ(tmath::find_kernel("fake.diff"), other);
  tmath::unregister_kernel("fake.diff");
}

TEST_F(BindingsTest, ConditionsSeeTheNodeWithSymbolsSpelled) {
  register_plugin_conditions(fake);
  echo::World world;
  echo::TriggerEngine engine(world);
  echo::Symbol reading = world.intern("reading"), value = world.intern("value"), who = world.intern("who");
  echo::Trigger t;
  t.name = "big_reading";
  t.pattern.types = {reading};
  t.condition = "fake.big";
  engine.add(t);
  auto put = [&](echo::Tick time, double v) {
    echo::NodeSpec spec;
    spec.time = time;
    spec.type = reading;
    const echo::Attribute attrs[] = {{value, echo::Value::of(v)}, {who, echo::Value::text_of(world.intern("ann"))}};
    spec.attributes = attrs;
    return engine.append(0, spec);
  };
  put(1, 3);
  echo::NodeId fired = put(2, 8);
  ASSERT_EQ(engine.firings().size(), 1u);
  EXPECT_EQ(engine.firings()[0].matched, std::vector<echo::NodeId>{fired});
  EXPECT_EQ(fake->seen, (std::vector<std::string>{"reading@1 who=ann", "reading@2 who=ann"}));

  unregister_plugin_conditions(*fake);
  EXPECT_FALSE(static_cast<bool>(echo::find_condition("fake.big")));
  EXPECT_NE(error_of([&] { engine.add(t); }).find("trigger 'big_reading': unknown condition 'fake.big'"),
            std::string::npos);
}

TEST_F(BindingsTest, WorkloadsPrepareRunCheckAndSaveADescriptor) {
  profiler::WorkloadRegistry registry;
  add_plugin_workloads(registry, fake);
  ASSERT_EQ(registry.all().size(), 1u);
  const profiler::WorkloadInfo& info = registry.all()[0];
  EXPECT_EQ(info.name, "fake.squares");
  EXPECT_EQ(info.component, "fake");
  EXPECT_EQ(info.description, "sums squares");
  EXPECT_EQ(registry.select({"fake"}).size(), 1u);

  auto w = info.make();
  profiler::WorkloadContext ctx;
  ctx.seed = 7;
  EXPECT_NE(error_of([&] { w->run(ctx); }).find("fake.squares: run or check before prepare"), std::string::npos);
  w->prepare(ctx);
  EXPECT_EQ(fake->prepared.back(), (std::pair<std::uint64_t, std::uint64_t>{1u << 20, 7}));
  EXPECT_EQ(w->input_bytes(), 1u << 20);
  w->run(ctx);
  profiler::CheckResult c = w->check();
  EXPECT_TRUE(c.passed);
  EXPECT_EQ(c.detail.rfind("sum ", 0), 0u);

  // The descriptor carries the seed to a later run with a data folder.
  fs::path dir = fs::temp_directory_path() / ("miso_bindings_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto files = w->save_input(ctx, dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], profiler::input_file(dir, "fake.squares", profiler::DataSize::Small));
  auto again = info.make();
  profiler::WorkloadContext with_data;
  with_data.seed = 99;
  with_data.data_dir = dir;
  again->prepare(with_data);
  EXPECT_EQ(fake->prepared.back().second, 7u);
  // A descriptor of another workload is refused.
  fs::rename(files[0], profiler::input_file(dir, "fake.other", profiler::DataSize::Small));
  auto other = std::make_shared<FakePlugin>();
  other->info_.workloads = {{"other", ""}};
  profiler::WorkloadRegistry r2;
  add_plugin_workloads(r2, other);
  EXPECT_NE(error_of([&] { r2.all()[0].make()->prepare(with_data); }, Error::Kind::Format)
                .find("describes 'fake.squares 1048576', not workload 'fake.other'"),
            std::string::npos);
  fs::remove_all(dir);
  // Duplicates in one registry are the registry's error.
  EXPECT_THROW(add_plugin_workloads(registry, fake), Error);
}

// --- the real example plugin -----------------------------------------------------------

fs::path example_manifest(const char* name) { return fs::path(MISO_PLUGIN_DIR) / (std::string(name) + ".toml"); }
// The misbehaving test plugins are built into their own folder (never autoloaded).
fs::path faulty_manifest(const char* name) {
  return fs::path(MISO_PLUGIN_DIR) / "faulty" / (std::string(name) + ".toml");
}

TEST(ExamplePluginBindings, ExampleCThroughEveryComponent) {
  std::shared_ptr<vxor::Plugin> plugin = vxor::load_in_process(vxor::read_manifest(example_manifest("example_c")));

  // M-CODE.
  std::ostringstream out;
  mcode::VmOptions o;
  o.output = &out;
  mcode::Vm vm(o);
  bind_plugin_functions(vm, plugin);
  vm.run(
      "print(example_c.add(2, 3), example_c.add(0.5, 1), example_c.greet(\"ann\"), example_c.sum([1, 2, 3.5]))\n"
      "print(example_c.mean(tmath.tensor([1.0, 2.0, 6.0])))\n"
      "try { example_c.fail(\"no luck\") } catch e { print(e.message) }");
  EXPECT_EQ(out.str(), "5 1.5 Hello, ann! 6.5\n3.0\nexample_c.fail: no luck\n");

  // Kernels: softplus in a fused lazy graph, hypot eagerly with broadcasting.
  register_plugin_kernels(plugin);
  auto softplus = tmath::find_kernel("example_c.softplus");
  ASSERT_NE(softplus, nullptr);
  tmath::Generator g(3);
  tmath::Tensor x = tmath::rand_normal({3000}, g, 0, 2, tmath::DType::F64);
  tmath::Tensor y = tmath::rand_normal({3000}, g, 0, 2, tmath::DType::F64);
  tmath::Tensor fused = (tmath::exp(tmath::Lazy(x)) * tmath::custom(softplus, tmath::Lazy(y)) + 1.0).eval();
  std::vector<double> vx = x.to_vector<double>(), vy = y.to_vector<double>(), vf = fused.to_vector<double>();
  for (std::size_t i = 0; i < vx.size(); ++i) {
    ASSERT_NEAR(vf[i], std::exp(vx[i]) * std::log1p(std::exp(vy[i])) + 1.0, 1e-12 * (1 + std::abs(vf[i]))) << i;
  }
  tmath::Tensor h = tmath::apply_kernel("example_c.hypot", tmath::from_values({3, 5}, {2, 1}, tmath::DType::F64),
                                        tmath::from_values({4, 12}, {2}, tmath::DType::F64));
  EXPECT_EQ(h.to_vector<double>(), (std::vector<double>{5, std::hypot(3.0, 12.0), std::hypot(5.0, 4.0), 13}));
  out.str("");
  vm.run("print(tmath.map(\"example_c.softplus\", tmath.tensor([0.0], \"f64\")).item())");
  EXPECT_EQ(out.str(), "0.6931471805599453\n");

  // Condition: "value" above "threshold" (10 by default).
  register_plugin_conditions(plugin);
  echo::World world;
  echo::TriggerEngine engine(world);
  echo::Symbol type = world.intern("reading"), value = world.intern("value"), threshold = world.intern("threshold");
  echo::Trigger t;
  t.name = "high";
  t.pattern.types = {type};
  t.condition = "example_c.above";
  engine.add(t);
  auto put = [&](echo::Tick time, std::vector<echo::Attribute> attrs) {
    echo::NodeSpec spec;
    spec.time = time;
    spec.type = type;
    spec.attributes = attrs;
    return engine.append(0, spec);
  };
  put(1, {{value, echo::Value::of(9)}});
  echo::NodeId a = put(2, {{value, echo::Value::of(11)}});
  put(3, {{value, echo::Value::of(11)}, {threshold, echo::Value::of(20)}});
  echo::NodeId b = put(4, {{value, echo::Value::of(3)}, {threshold, echo::Value::of(2)}});
  ASSERT_EQ(engine.firings().size(), 2u);
  EXPECT_EQ(engine.firings()[0].matched[0], a);
  EXPECT_EQ(engine.firings()[1].matched[0], b);

  // Workload.
  profiler::WorkloadRegistry registry;
  add_plugin_workloads(registry, plugin);
  ASSERT_EQ(registry.all().size(), 1u);
  EXPECT_EQ(registry.all()[0].name, "example_c.checksum");
  auto w = registry.all()[0].make();
  profiler::WorkloadContext ctx;
  w->prepare(ctx);
  EXPECT_EQ(w->input_bytes(), 1u << 20);
  w->run(ctx);
  profiler::CheckResult c = w->check();
  EXPECT_TRUE(c.passed) << c.detail;
  EXPECT_NE(c.detail.find("checksum"), std::string::npos) << c.detail;

  // Unregistering follows unload: names are gone, what was resolved keeps working.
  unregister_plugin_kernels(*plugin);
  unregister_plugin_conditions(*plugin);
  EXPECT_EQ(tmath::find_kernel("example_c.softplus"), nullptr);
  EXPECT_FALSE(static_cast<bool>(echo::find_condition("example_c.above")));
  put(5, {{value, echo::Value::of(50)}});
  EXPECT_EQ(engine.firings().size(), 3u);
}

// An isolated plugin behind the same bindings: a crash in the worker is a catchable
// M-CODE error naming the function, and the next call works again.
TEST(ExamplePluginBindings, IsolatedCrashesAreCatchableScriptErrors) {
  std::shared_ptr<vxor::Plugin> plugin = vxor::load_isolated(vxor::read_manifest(faulty_manifest("faulty_crash")),
                                                             MISO_VXOR_WORKER, std::chrono::milliseconds(5000));
  std::ostringstream out;
  mcode::VmOptions o;
  o.output = &out;
  mcode::Vm vm(o);
  bind_plugin_functions(vm, plugin);
  register_plugin_kernels(plugin);
  vm.run(
      "try { faulty_crash.segv() } catch e { print(e.message) }\n"
      "print(faulty_crash.add(2, 3))\n"
      "print(tmath.map(\"faulty_crash.negate\", tmath.tensor([1.5, -2.0], \"f64\")).tolist())");
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("faulty_crash.segv: ", 0), 0u) << text;
  EXPECT_NE(text.find("\n5\n[-1.5, 2.0]\n"), std::string::npos) << text;
  unregister_plugin_kernels(*plugin);
}

TEST(ExamplePluginBindings, HostListenersRegisterAndUnregister) {
  vxor::HostOptions options;
  options.plugin_dirs = {MISO_PLUGIN_DIR};
  vxor::PluginHost host(options);
  host.add_listener({[](const std::shared_ptr<vxor::Plugin>& p) {
                       register_plugin_kernels(p);
                       register_plugin_conditions(p);
                     },
                     [](const std::shared_ptr<vxor::Plugin>& p) {
                       unregister_plugin_kernels(*p);
                       unregister_plugin_conditions(*p);
                     }});
  host.load("example_cpp");
  auto clamp = tmath::find_kernel("example_cpp.clamp01");
  ASSERT_NE(clamp, nullptr);
  EXPECT_EQ(tmath::apply_kernel(*clamp, tmath::from_values({-1, 0.25, 3}, {3})).to_vector<double>(),
            (std::vector<double>{0, 0.25, 1}));
  EXPECT_TRUE(static_cast<bool>(echo::find_condition("example_cpp.in_range")));
  host.unload("example_cpp");
  EXPECT_EQ(tmath::find_kernel("example_cpp.clamp01"), nullptr);
  EXPECT_FALSE(static_cast<bool>(echo::find_condition("example_cpp.in_range")));
  host.load("example_cpp");  // and again after a reload
  EXPECT_NE(tmath::find_kernel("example_cpp.clamp01"), nullptr);
  host.unload("example_cpp");
}

}  // namespace
}  // namespace miso::omega
