// Isolated mode: the example plugins give the same answers through a worker process
// as in-process, and the faulty plugins' crashes, hangs and garbage become errors in
// this (host) process, which keeps running and gets a fresh worker on the next call.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "../error_of.hpp"
#include "miso/vxor/plugin.h"
#include "miso/vxor/plugin_host.hpp"

namespace miso::vxor {
namespace {

namespace fs = std::filesystem;
using miso::testing::error_of;
using namespace std::chrono_literals;

::testing::AssertionResult has(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' lacks '" << part << "'";
}

// The faulty plugins live in plugins/faulty/, away from the examples a host would autoload.
Manifest manifest_of(const std::string& name) {
  const fs::path dir = name.rfind("faulty_", 0) == 0 ? fs::path(MISO_PLUGIN_DIR) / "faulty" : fs::path(MISO_PLUGIN_DIR);
  return read_manifest(dir / (name + ".toml"));
}

struct LogLine {
  std::string plugin;
  int level;
  std::string message;
};

// Collects forwarded log lines (the callback may run on any calling thread).
struct LogSink {
  std::mutex mutex;
  std::vector<LogLine> lines;
  std::function<void(std::string_view, int, std::string_view)> fn() {
    return [this](std::string_view plugin, int level, std::string_view message) {
      std::lock_guard lock(mutex);
      lines.push_back({std::string(plugin), level, std::string(message)});
    };
  }
  bool contains(std::string_view part) {
    std::lock_guard lock(mutex);
    for (const auto& l : lines) {
      if (l.message.find(part) != std::string::npos) return true;
    }
    return false;
  }
};

std::shared_ptr<Plugin> isolated(const std::string& name, std::chrono::milliseconds deadline = 5000ms,
                                 std::function<void(std::string_view, int, std::string_view)> log = {}) {
  if (!log) log = [](std::string_view, int, std::string_view) {};
  return load_isolated(manifest_of(name), MISO_VXOR_WORKER, deadline, std::move(log));
}

// No child of this process is left, neither running nor a zombie.
void expect_no_children() {
  errno = 0;
  pid_t r = waitpid(-1, nullptr, WNOHANG);
  EXPECT_EQ(r, -1) << "a child process is left (pid " << r << ")";
  EXPECT_EQ(errno, ECHILD);
}

PluginValue call(Plugin& p, std::string_view fn, std::vector<PluginValue> args) { return p.call(fn, args); }

TEST(VxorIsolated, SameInfoAsInProcess) {
  for (const char* name : {"example_c", "example_cpp"}) {
    auto local = load_in_process(manifest_of(name), [](std::string_view, int, std::string_view) {});
    auto remote = isolated(name);
    const PluginInfo& a = local->info();
    const PluginInfo& b = remote->info();
    EXPECT_EQ(b.mode, LoadMode::Isolated);
    EXPECT_EQ(b.manifest.name, name);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.description, b.description);
    EXPECT_EQ(a.abi_major, b.abi_major);
    EXPECT_EQ(a.abi_minor, b.abi_minor);
    ASSERT_EQ(a.functions.size(), b.functions.size());
    for (std::size_t i = 0; i < a.functions.size(); ++i) {
      EXPECT_EQ(a.functions[i].name, b.functions[i].name);
      EXPECT_EQ(a.functions[i].arity, b.functions[i].arity);
      EXPECT_EQ(a.functions[i].summary, b.functions[i].summary);
    }
    ASSERT_EQ(a.kernels.size(), b.kernels.size());
    for (std::size_t i = 0; i < a.kernels.size(); ++i) {
      EXPECT_EQ(a.kernels[i].name, b.kernels[i].name);
      EXPECT_EQ(a.kernels[i].arity, b.kernels[i].arity);
      EXPECT_EQ(a.kernels[i].has_f32, b.kernels[i].has_f32);
    }
    ASSERT_EQ(a.workloads.size(), b.workloads.size());
    ASSERT_EQ(a.conditions.size(), b.conditions.size());
    EXPECT_EQ(a.conditions[0].name, b.conditions[0].name);
  }
  expect_no_children();
}

TEST(VxorIsolated, FunctionsGiveTheSameAnswers) {
  auto local = load_in_process(manifest_of("example_c"), [](std::string_view, int, std::string_view) {});
  auto remote = isolated("example_c");
  std::vector<std::pair<std::string, std::vector<PluginValue>>> calls = {
      {"add", {std::int64_t{2}, std::int64_t{3}}},
      {"add", {1.5, std::int64_t{2}}},
      {"greet", {std::string("Ann")}},
      {"sum", {std::vector<double>{1, 2, 3.5}}},
      {"mean", {std::vector<double>{1, 2, 3, 4}}},
      {"roundtrip", {std::int64_t{1000}}},
  };
  for (auto& [fn, args] : calls) {
    PluginValue want = local->call(fn, args);
    EXPECT_EQ(remote->call(fn, args), want) << fn;
  }
  EXPECT_EQ(call(*remote, "add", {std::int64_t{2}, std::int64_t{3}}), PluginValue(std::int64_t{5}));
  EXPECT_EQ(call(*remote, "greet", {std::string("Ann")}), PluginValue(std::string("Hello, Ann!")));
  EXPECT_EQ(call(*remote, "roundtrip", {std::int64_t{1000}}), PluginValue(499500.0));

  // example_cpp: a variadic function and array results.
  auto local_cpp = load_in_process(manifest_of("example_cpp"), [](std::string_view, int, std::string_view) {});
  auto remote_cpp = isolated("example_cpp");
  std::vector<PluginValue> mixed = {Nil{}, true, std::int64_t{1}, 2.0, std::string("s"), std::vector<double>{1}};
  EXPECT_EQ(remote_cpp->call("describe", mixed), local_cpp->call("describe", mixed));
  std::vector<PluginValue> unsorted = {std::vector<double>{3, -1, 2}};
  EXPECT_EQ(remote_cpp->call("sort", unsorted), PluginValue(std::vector<double>{-1, 2, 3}));
  std::vector<PluginValue> text = {std::string("a bb  ccc")};
  EXPECT_EQ(remote_cpp->call("word_count", text), local_cpp->call("word_count", text));
}

TEST(VxorIsolated, ErrorsAreTheSameAsInProcess) {
  auto local = load_in_process(manifest_of("example_c"), [](std::string_view, int, std::string_view) {});
  auto remote = isolated("example_c");
  std::vector<PluginValue> boom = {std::string("boom")};
  std::string want = error_of([&] { local->call("fail", boom); }, Error::Kind::Format);
  EXPECT_EQ(error_of([&] { remote->call("fail", boom); }, Error::Kind::Format), want);
  EXPECT_TRUE(has(want, "boom"));
  EXPECT_TRUE(has(want, "fail"));
  // Errors the host side raises (unknown name, arity, kernel lengths) keep their kind.
  for (auto kind_and_fn : std::vector<std::function<void(Plugin&)>>{
           [](Plugin& p) { p.call("nope", {}); },
           [](Plugin& p) { call(p, "add", {std::int64_t{1}}); },
           [](Plugin& p) {
             std::vector<double> a(3), out(2);
             p.kernel_f64("softplus", a, {}, out);
           },
           [](Plugin& p) { p.condition("missing", "e", 0, {}); },
           [](Plugin& p) { p.prepare_workload("missing", 1, 1); },
       }) {
    std::string in_process = error_of([&] { kind_and_fn(*local); }, Error::Kind::InvalidArgument);
    EXPECT_EQ(error_of([&] { kind_and_fn(*remote); }, Error::Kind::InvalidArgument), in_process);
  }
  // The worker stayed healthy through all of that.
  EXPECT_EQ(remote->stats().restarts, 0u);
  EXPECT_GE(remote->stats().failures, 6u);
  EXPECT_EQ(call(*remote, "add", {std::int64_t{1}, std::int64_t{1}}), PluginValue(std::int64_t{2}));
}

TEST(VxorIsolated, KernelsGiveTheSameAnswers) {
  auto local = load_in_process(manifest_of("example_c"), [](std::string_view, int, std::string_view) {});
  auto remote = isolated("example_c");
  // More elements than one request carries, so the chunking is exercised too.
  std::size_t n = (std::size_t{1} << 20) + 77;
  std::vector<double> a(n), b(n), want(n), got(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = std::sin(static_cast<double>(i)) * 30;
    b[i] = static_cast<double>(i % 17);
  }
  local->kernel_f64("softplus", a, {}, want);
  remote->kernel_f64("softplus", a, {}, got);
  EXPECT_EQ(got, want);
  std::span<const double> a1(a.data(), 1000), b1(b.data(), 1000);
  std::span<double> want1(want.data(), 1000), got1(got.data(), 1000);
  local->kernel_f64("hypot", a1, b1, want1);
  remote->kernel_f64("hypot", a1, b1, got1);
  EXPECT_TRUE(std::equal(got1.begin(), got1.end(), want1.begin()));
  EXPECT_EQ(got[3], std::hypot(a[3], b[3]));

  std::vector<float> af = {-3.0f, 0.0f, 0.5f, 20.0f}, wantf(4), gotf(4);
  local->kernel_f32("softplus", af, {}, wantf);
  remote->kernel_f32("softplus", af, {}, gotf);
  EXPECT_EQ(gotf, wantf);
  EXPECT_FLOAT_EQ(gotf[1], std::log(2.0f));

  std::vector<double> empty;
  remote->kernel_f64("softplus", empty, {}, empty);  // nothing to do, still fine
}

TEST(VxorIsolated, ConditionsAndWorkloadsGiveTheSameAnswers) {
  auto local = load_in_process(manifest_of("example_c"), [](std::string_view, int, std::string_view) {});
  auto remote = isolated("example_c");
  std::vector<Attribute> high = {{"value", 11.0}}, low = {{"value", std::int64_t{3}}},
                         custom = {{"value", 3.0}, {"threshold", 2.0}};
  for (const auto& attrs : {high, low, custom}) {
    EXPECT_EQ(remote->condition("above", "tick", 1, attrs), local->condition("above", "tick", 1, attrs));
  }
  EXPECT_TRUE(remote->condition("above", "tick", 1, high));
  EXPECT_FALSE(remote->condition("above", "tick", 1, low));

  auto w_local = local->prepare_workload("checksum", 1 << 16, 42);
  auto w_remote = remote->prepare_workload("checksum", 1 << 16, 42);
  EXPECT_EQ(w_remote->input_bytes(), w_local->input_bytes());
  w_local->run();
  w_remote->run();
  auto c_local = w_local->check();
  auto c_remote = w_remote->check();
  EXPECT_TRUE(c_remote.passed);
  EXPECT_EQ(c_remote.detail, c_local.detail);
  // Two instances live in one worker side by side.
  auto second = remote->prepare_workload("checksum", 64, 7);
  second->run();
  EXPECT_TRUE(second->check().passed);
  w_remote.reset();
  EXPECT_TRUE(second->check().passed);
}

TEST(VxorIsolated, LogLinesAndLiveBytesComeBack) {
  LogSink sink;
  {
    auto remote = isolated("example_c", 5000ms, sink.fn());
    call(*remote, "roundtrip", {std::int64_t{10}});
    EXPECT_TRUE(sink.contains("roundtrip over 10 values"));
    {
      std::lock_guard lock(sink.mutex);
      ASSERT_FALSE(sink.lines.empty());
      EXPECT_EQ(sink.lines.back().plugin, "example_c");
      EXPECT_EQ(sink.lines.back().level, MISO_VXOR_LOG_INFO);
    }
    call(*remote, "hold", {std::int64_t{4096}});
    EXPECT_EQ(remote->stats().live_bytes, 4096);
    EXPECT_EQ(call(*remote, "release", {}), PluginValue(std::int64_t{4096}));
    EXPECT_EQ(remote->stats().live_bytes, 0);
    EXPECT_EQ(remote->stats().calls, 3u);
  }
  EXPECT_TRUE(sink.contains("example_c initialised"));  // init's log line, before Hello
  expect_no_children();
}

std::size_t open_fds() {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{}));
}

TEST(VxorIsolated, CrashBecomesAnErrorAndTheNextCallRestarts) {
  std::size_t fds_before = open_fds();
  LogSink sink;
  auto p = isolated("faulty_crash", 5000ms, sink.fn());
  std::vector<PluginValue> two = {std::int64_t{2}, std::int64_t{3}};
  EXPECT_EQ(p->call("add", two), PluginValue(std::int64_t{5}));
  std::string segv = error_of([&] { p->call("segv", {}); }, Error::Kind::Io);
  EXPECT_TRUE(has(segv, "faulty_crash: worker died with signal 11 (Segmentation fault) during function segv"));
  EXPECT_EQ(p->call("add", two), PluginValue(std::int64_t{5}));
  EXPECT_EQ(p->stats().restarts, 1u);
  std::string abort = error_of([&] { p->call("abort", {}); }, Error::Kind::Io);
  EXPECT_TRUE(has(abort, "faulty_crash: worker died with signal 6 (Aborted) during function abort")) << abort;
  std::vector<double> a = {1, -2}, out(2);
  p->kernel_f64("negate", a, {}, out);
  EXPECT_EQ(out, (std::vector<double>{-1, 2}));
  EXPECT_EQ(p->stats().restarts, 2u);
  EXPECT_EQ(p->stats().failures, 2u);

  // A plugin error is not a fault: Error(Format) with the plugin's message, no restart.
  std::string fail = error_of([&] { p->call("fail", {}); }, Error::Kind::Format);
  EXPECT_TRUE(has(fail, "deliberate failure"));
  EXPECT_TRUE(sink.contains("about to fail on purpose"));
  EXPECT_EQ(p->stats().restarts, 2u);
  p.reset();
  expect_no_children();
  EXPECT_EQ(open_fds(), fds_before);  // every restart closed the old socket
}

TEST(VxorIsolated, WorkloadInstancesDieWithTheirWorker) {
  auto p = isolated("faulty_crash");
  auto w = p->prepare_workload("tiny", 1, 1);
  EXPECT_EQ(w->input_bytes(), sizeof(int));
  w->run();
  EXPECT_TRUE(w->check().passed);
  error_of([&] { p->call("abort", {}); }, Error::Kind::Io);
  EXPECT_TRUE(has(error_of([&] { w->run(); }, Error::Kind::Io),
                  "faulty_crash: the worker that prepared this workload tiny instance was restarted"));
  // A fresh instance in the fresh worker works; destroying the stale one is harmless.
  auto again = p->prepare_workload("tiny", 1, 1);
  again->run();
  EXPECT_TRUE(again->check().passed);
  w.reset();
  EXPECT_TRUE(again->check().passed);
}

TEST(VxorIsolated, RestartsStopAfterRepeatedFaults) {
  auto p = isolated("faulty_crash");
  for (int i = 0; i < 5; ++i) error_of([&] { p->call("abort", {}); }, Error::Kind::Io);
  std::string refused = error_of([&] { call(*p, "add", {std::int64_t{1}, std::int64_t{1}}); }, Error::Kind::Io);
  EXPECT_TRUE(has(refused, "faulty_crash: worker failed 5 times in a row; not restarting it")) << refused;
  EXPECT_EQ(p->stats().restarts, 4u);
  p.reset();
  expect_no_children();
}

TEST(VxorIsolated, HangPastTheDeadlineIsAnError) {
  auto p = isolated("faulty_hang", 300ms);
  EXPECT_EQ(p->call("ok", {}), PluginValue(true));
  EXPECT_TRUE(has(error_of([&] { p->call("sleep", {}); }, Error::Kind::Io),
                  "faulty_hang: worker exceeded its 300 ms deadline during function sleep"));
  EXPECT_EQ(p->call("ok", {}), PluginValue(true));
  EXPECT_TRUE(has(error_of([&] { p->call("spin", {}); }, Error::Kind::Io), "exceeded its 300 ms deadline"));
  EXPECT_EQ(p->call("ok", {}), PluginValue(true));
  EXPECT_EQ(p->stats().restarts, 2u);
  p.reset();
  expect_no_children();
}

TEST(VxorIsolated, GarbageOnTheSocketIsAProtocolError) {
  auto p = isolated("faulty_garbage");
  EXPECT_EQ(p->call("ok", {}), PluginValue(std::string("fine")));
  struct Case {
    const char* function;
    const char* message;
  };
  for (const Case& c :
       {Case{"junk", "sent garbage during function junk: vxor protocol: unknown message type 97"},
        Case{"bad_tag",
             "sent a malformed reply during function bad_tag: vxor protocol: Result message: value: bad value "
             "type tag 99"},
        Case{"bad_size", "elements announced"}, Case{"huge", "Result frame of 2147483648 bytes exceeds the limit"}}) {
    std::string e = error_of([&] { p->call(c.function, {}); }, Error::Kind::Io);
    EXPECT_TRUE(has(e, "faulty_garbage: worker ")) << c.function;
    EXPECT_TRUE(has(e, c.message)) << c.function;
    EXPECT_TRUE(has(e, std::string("during function ") + c.function));
    EXPECT_EQ(p->call("ok", {}), PluginValue(std::string("fine"))) << c.function;
  }
  EXPECT_EQ(p->stats().restarts, 4u);
  p.reset();
  expect_no_children();
}

TEST(VxorIsolated, LoadFailuresAreReported) {
  // init exits the worker.
  std::string exited = error_of([] { isolated("faulty_exit"); }, Error::Kind::Io);
  EXPECT_TRUE(has(exited, "faulty_exit: worker exited with status 3 during load")) << exited;
  // No worker executable.
  std::string missing = error_of(
      [] { load_isolated(manifest_of("example_c"), "/nonexistent/miso-vxor-worker", 1000ms); }, Error::Kind::Io);
  EXPECT_TRUE(has(missing, "example_c: cannot start the worker /nonexistent/miso-vxor-worker")) << missing;
  EXPECT_TRUE(has(
      error_of([] { load_isolated(manifest_of("example_c"), MISO_VXOR_WORKER, 0ms); }, Error::Kind::InvalidArgument),
      "deadline must be positive"));

  // The worker re-verifies the library: a tampered copy is refused with the loader's error.
  fs::path dir = fs::temp_directory_path() / ("miso_vxor_isolated_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Manifest m = manifest_of("example_c");
  fs::copy_file(m.library, dir / m.library.filename(), fs::copy_options::overwrite_existing);
  {
    std::ofstream out(dir / m.library.filename(), std::ios::app | std::ios::binary);
    out << "tampered";
  }
  {
    std::ifstream in(m.file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(dir / "example_c.toml") << text;
  }
  Manifest copy = read_manifest(dir / "example_c.toml");
  std::string in_process = error_of([&] { load_in_process(copy); }, Error::Kind::Format);
  std::string remote = error_of([&] { load_isolated(copy, MISO_VXOR_WORKER, 2000ms); }, Error::Kind::Format);
  EXPECT_EQ(remote, in_process);
  EXPECT_TRUE(has(remote, "checksum mismatch"));
  fs::remove_all(dir);
  expect_no_children();
}

TEST(VxorIsolated, ConcurrentCallsAreSerialised) {
  auto p = isolated("example_c");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::int64_t i = 0; i < 50; ++i) {
        if (call(*p, "add", {std::int64_t{t}, i}) != PluginValue(std::int64_t{t + i})) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(p->stats().calls, 200u);
  EXPECT_EQ(call(*p, "calls", {}), PluginValue(std::int64_t{201}));
}

TEST(VxorIsolated, DestroyingThePluginShutsTheWorkerDown) {
  LogSink sink;
  {
    auto p = isolated("example_c", 5000ms, sink.fn());
    EXPECT_EQ(call(*p, "calls", {}), PluginValue(std::int64_t{1}));
  }
  expect_no_children();  // the worker was asked to exit, and reaped
}

}  // namespace
}  // namespace miso::vxor
