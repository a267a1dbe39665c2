#include "miso/profiler/profile_run.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/profiler/builtin_workloads.hpp"
#include "miso/profiler/io.hpp"
#include "miso/profiler/mutex.hpp"
#include "miso/profiler/span.hpp"
#include "miso/profiler/thread_registry.hpp"
#include "test_dir.hpp"

namespace miso::profiler {
namespace {

using nlohmann::json;
using ProfileRunTest = miso::testing::TempDirTest;

// A workload with a known allocation pattern, known spans and a contended lock.
class PatternWorkload final : public Workload {
 public:
  explicit PatternWorkload(bool pass = true, bool fail_prepare = false) : pass_(pass), fail_prepare_(fail_prepare) {}
  void prepare(const WorkloadContext&) override {
    if (fail_prepare_) throw Error(Error::Kind::Format, "planted corrupt input");
  }
  std::uint64_t input_bytes() const override { return target_bytes(DataSize::Small); }
  void run(const WorkloadContext&) override {
    MISO_PROFILE_SCOPE("pattern.outer");
    std::vector<std::unique_ptr<char[]>> blocks;
    for (int i = 0; i < 3; ++i) {
      MISO_PROFILE_SCOPE("pattern.alloc");
      blocks.push_back(std::make_unique<char[]>(1 << 20));  // 3 MiB live at once
    }
    Mutex m("pattern.lock");
    m.lock();
    std::atomic<bool> about_to_lock{false};
    std::thread t([&] {
      set_thread_name("pattern.waiter");
      about_to_lock = true;
      std::lock_guard lock(m);
    });
    while (!about_to_lock) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // the waiter blocks meanwhile
    m.unlock();
    t.join();
  }
  CheckResult check() const override { return {pass_, pass_ ? "fine" : "planted failure"}; }
  std::vector<std::filesystem::path> save_input(const WorkloadContext&, const std::filesystem::path&) const override {
    return {};
  }

 private:
  bool pass_;
  bool fail_prepare_;
};

WorkloadRegistry pattern_registry(bool pass = true, bool fail_prepare = false) {
  WorkloadRegistry r;
  r.add({"pattern.work", "pattern", "known allocations",
         [=] { return std::make_unique<PatternWorkload>(pass, fail_prepare); }});
  return r;
}

ProfileOptions options_for(const std::filesystem::path& out) {
  ProfileOptions o;
  o.out_dir = out;
  o.sample_period = std::chrono::milliseconds(1);
  return o;
}

TEST_F(ProfileRunTest, ReportHasKnownSpansMemoryAndLockWaits) {
  std::ostringstream progress;
  ProfileOptions o = options_for(dir_ / "out");
  o.progress = &progress;
  ProfileResult result = run_profile(pattern_registry(), o);
  EXPECT_TRUE(result.checks_passed);
  EXPECT_NE(progress.str().find("[1/1] pattern.work (small)"), std::string::npos) << progress.str();

  json r = json::parse(core::read_file(dir_ / "out" / "report.json"));
  EXPECT_EQ(r, result.report);
  EXPECT_EQ(r["schema"], "miso-profile-report");
  EXPECT_EQ(r["version"], kReportVersion);
  ASSERT_EQ(r["workloads"].size(), 1u);
  const json& w = r["workloads"][0];
  EXPECT_EQ(w["name"], "pattern.work");
  EXPECT_EQ(w["size"], "small");
  EXPECT_TRUE(w["check"]["passed"].get<bool>());
  EXPECT_GE(w["memory"]["allocated_bytes"].get<double>(), 3.0 * (1 << 20));
  EXPECT_GE(w["memory"]["peak_bytes"].get<double>(), 3.0 * (1 << 20));
  EXPECT_GE(w["memory"]["allocations"].get<double>(), 3);
  // The three 1 MiB blocks were freed; first-use statics of the runtime may stay.
  EXPECT_LT(w["memory"]["live_growth_bytes"].get<double>(), 1 << 16);
  EXPECT_GT(w["wall_ns"].get<double>(), 0);

  std::map<std::string, json> spans;
  for (const json& s : w["spans"]) spans[s["name"]] = s;
  ASSERT_TRUE(spans.count("pattern.alloc"));
  EXPECT_EQ(spans["pattern.alloc"]["count"], 3);
  ASSERT_TRUE(spans.count("pattern.outer"));
  ASSERT_TRUE(spans.count("pattern.work"));  // the run phase itself
  EXPECT_LE(spans["pattern.outer"]["self_ns"].get<double>(), spans["pattern.outer"]["total_ns"].get<double>());
  ASSERT_TRUE(spans.count("pattern.lock.wait"));
  ASSERT_EQ(w["locks"].size(), 1u);
  EXPECT_EQ(w["locks"][0]["name"], "pattern.lock");
  EXPECT_EQ(w["locks"][0]["contended"], 1);
  EXPECT_GT(w["locks"][0]["wait_ns"].get<double>(), 0);

  bool component = false;
  for (const json& c : r["components"]) {
    if (c["name"] != "pattern") continue;
    component = true;
    EXPECT_GE(c["memory"]["peak_bytes"].get<double>(), 3.0 * (1 << 20));
    EXPECT_GT(c["self_ns"].get<double>(), 0);
  }
  EXPECT_TRUE(component);
  bool waiter = false;
  for (const json& t : r["threads"]) waiter = waiter || t["name"] == "pattern.waiter";
  EXPECT_TRUE(waiter);
  bool rss = false;
  for (const json& s : r["series"]) rss = rss || s["name"] == "memory.rss";
  EXPECT_TRUE(rss);
  for (const char* key : {"counters", "gpu", "io", "memory", "cpu", "machine", "clock", "components", "locks"}) {
    EXPECT_TRUE(r.contains(key)) << key;
  }
  for (auto& [name, c] : r["counters"].items()) {
    EXPECT_TRUE(c["available"].get<bool>() || !c["reason"].get<std::string>().empty()) << name;
  }

  json trace = json::parse(core::read_file(dir_ / "out" / "trace.json"));
  int x_events = 0;
  for (const json& e : trace["traceEvents"]) x_events += e["ph"] == "X";
  EXPECT_GE(x_events, 6);
  std::string html = core::read_file(dir_ / "out" / "index.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("pattern.lock"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out" / (".scratch-" + std::to_string(::getpid()))));
}

TEST_F(ProfileRunTest, RepeatReportsTheMedianRunAndEveryRunsTime) {
  ProfileOptions o = options_for(dir_ / "out");
  o.repeat = 3;
  ProfileResult result = run_profile(pattern_registry(), o);
  const json& w = result.report["workloads"][0];
  EXPECT_EQ(result.report["config"]["repeat"], 3);
  ASSERT_EQ(w["repetitions"]["count"], 3);
  std::vector<double> walls = w["repetitions"]["wall_ns"].get<std::vector<double>>();
  ASSERT_EQ(walls.size(), 3u);
  ASSERT_EQ(w["repetitions"]["cpu_ns"].size(), 3u);
  std::sort(walls.begin(), walls.end());
  EXPECT_DOUBLE_EQ(w["wall_ns"].get<double>(), walls[1]);
  bool alloc = false;
  for (const json& s : w["spans"]) {
    EXPECT_GE(s["run_spread"].get<double>(), 0.0);
    if (s["name"] != "pattern.alloc") continue;
    alloc = true;
    EXPECT_EQ(s["count"], 9);  // 3 per run, 3 runs
  }
  EXPECT_TRUE(alloc);
  o.repeat = 0;
  EXPECT_THROW(run_profile(pattern_registry(), o), Error);
}

TEST_F(ProfileRunTest, FailedCheckIsReportedNotHidden) {
  ProfileResult result = run_profile(pattern_registry(false), options_for(dir_ / "out"));
  EXPECT_FALSE(result.checks_passed);
  EXPECT_FALSE(result.report["checks_passed"].get<bool>());
  EXPECT_EQ(result.report["workloads"][0]["check"]["detail"], "planted failure");
}

TEST_F(ProfileRunTest, WorkloadErrorAbortsAndWritesNothing) {
  EXPECT_THROW(run_profile(pattern_registry(true, true), options_for(dir_ / "out")), Error);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out" / "report.json"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out" / "trace.json"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_ / "out"), {}), 0);
}

TEST_F(ProfileRunTest, BadOptionsFailBeforeAnyWork) {
  core::write_file_atomic(dir_ / "file", "x");
  try {
    run_profile(pattern_registry(), options_for(dir_ / "file" / "out"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Io);
  }
  ProfileOptions o = options_for(dir_ / "out");
  o.components = {"nope"};
  EXPECT_THROW(run_profile(pattern_registry(), o), Error);
  o.components = {};
  o.sizes = {};
  EXPECT_THROW(run_profile(pattern_registry(), o), Error);
  o.sizes = {DataSize::Small};
  o.data_dir = dir_ / "no-such-data";
  EXPECT_THROW(run_profile(pattern_registry(), o), Error);
}

TEST_F(ProfileRunTest, BuiltinWorkloadsPassAndReportIo) {
  WorkloadRegistry r;
  register_profiler_workloads(r);
  ProfileResult result = run_profile(r, options_for(dir_ / "out"));
  EXPECT_TRUE(result.checks_passed);
  const json& rt = result.report["workloads"][1];
  EXPECT_EQ(rt["name"], "profiler.file_roundtrip");
  EXPECT_GE(rt["io"]["write_bytes"].get<double>(), 1 << 20);
  EXPECT_GE(rt["io"]["read_bytes"].get<double>(), 1 << 20);
  std::uint64_t timed = 0;
  for (const json& s : rt["io_sites"]) timed += s["bytes"].get<std::uint64_t>();
  EXPECT_EQ(timed, 2u << 20);  // every byte written and read, timed once
}

// Input and memory proportional to the data-set size: n doubles.
class LinearWorkload final : public Workload {
 public:
  void prepare(const WorkloadContext& ctx) override { n_ = target_bytes(ctx.size) / 1024; }
  std::uint64_t input_bytes() const override { return n_ * sizeof(double); }
  void run(const WorkloadContext&) override {
    std::vector<double> v(n_);
    for (std::size_t i = 0; i < n_; ++i) v[i] = static_cast<double>(i) * 0.5;
    sum_ = 0;
    for (double x : v) sum_ += x;
  }
  CheckResult check() const override {
    double expected = 0.25 * static_cast<double>(n_) * static_cast<double>(n_ - 1);
    return {sum_ == expected, "sum of i/2"};
  }
  std::vector<std::filesystem::path> save_input(const WorkloadContext&, const std::filesystem::path&) const override {
    return {};
  }

 private:
  std::uint64_t n_ = 0;
  double sum_ = 0;
};

// Holds on to 64 KiB more every millisecond: a leak, as the report must show.
class LeakyWorkload final : public Workload {
 public:
  void prepare(const WorkloadContext&) override {}
  std::uint64_t input_bytes() const override { return 0; }
  void run(const WorkloadContext&) override {
    for (int i = 0; i < 40; ++i) {
      kept_.push_back(std::make_unique<char[]>(64 * 1024));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  CheckResult check() const override { return {kept_.size() == 40, "kept"}; }
  std::vector<std::filesystem::path> save_input(const WorkloadContext&, const std::filesystem::path&) const override {
    return {};
  }

 private:
  std::vector<std::unique_ptr<char[]>> kept_;
};

TEST_F(ProfileRunTest, SteadyGrowthShowsAsPositiveGrowthRate) {
  WorkloadRegistry r;
  r.add({"leaky.work", "leaky", "", [] { return std::make_unique<LeakyWorkload>(); }});
  ProfileResult result = run_profile(r, options_for(dir_ / "out"));
  const json& m = result.report["workloads"][0]["memory"];
  EXPECT_GE(m["live_growth_bytes"].get<double>(), 40.0 * 64 * 1024);  // plus the vector holding them
  EXPECT_LT(m["live_growth_bytes"].get<double>(), 41.0 * 64 * 1024);
  EXPECT_GT(m["live_growth_bytes_per_second"].get<double>(), 0.0);
  EXPECT_GE(m["peak_bytes"].get<double>(), 40.0 * 64 * 1024);
}

// Allocates nothing while it runs.
class QuietWorkload final : public Workload {
 public:
  void prepare(const WorkloadContext&) override {}
  std::uint64_t input_bytes() const override { return 0; }
  void run(const WorkloadContext&) override { MISO_PROFILE_SCOPE("quiet.run"); }
  CheckResult check() const override { return {true, "nothing to check"}; }
  std::vector<std::filesystem::path> save_input(const WorkloadContext&, const std::filesystem::path&) const override {
    return {};
  }
};

TEST_F(ProfileRunTest, ProfilerBookkeepingIsNotChargedToTheComponent) {
  // Long names make the profiler's own readings allocate.
  Mutex lock("a.lock.with.a.name.longer.than.small.strings");
  { std::lock_guard guard(lock); }
  { IoScope io("an.io.site.with.a.name.longer.than.small.strings", IoDirection::Read); }
  WorkloadRegistry r;
  r.add({"quiet.work", "quiet", "", [] { return std::make_unique<QuietWorkload>(); }});
  ProfileResult result = run_profile(r, options_for(dir_ / "out"));
  const json& m = result.report["workloads"][0]["memory"];
  EXPECT_EQ(m["allocations"], 0);
  EXPECT_EQ(m["allocated_bytes"], 0);
  EXPECT_EQ(m["live_growth_bytes"], 0);
}

TEST_F(ProfileRunTest, ScalingReportsGrowthExponents) {
  ProfileOptions o = options_for(dir_ / "out");
  o.sizes = {DataSize::Small, DataSize::Medium};
  WorkloadRegistry r;
  r.add({"linear.work", "linear", "", [] { return std::make_unique<LinearWorkload>(); }});
  ProfileResult result = run_profile(r, o);
  EXPECT_TRUE(result.checks_passed);
  ASSERT_EQ(result.report["workloads"].size(), 2u);
  ASSERT_EQ(result.report["scaling"].size(), 1u);
  const json& s = result.report["scaling"][0];
  EXPECT_EQ(s["workload"], "linear.work");
  EXPECT_EQ(s["sizes"], json({"small", "medium"}));
  EXPECT_EQ(s["input_bytes"], json({8192, 819200}));
  ASSERT_TRUE(s["memory_exponent"].is_number());
  EXPECT_NEAR(s["memory_exponent"].get<double>(), 1.0, 0.05);  // peak = 8 n bytes
  EXPECT_TRUE(s["time_exponent"].is_number());
}

TEST_F(ProfileRunTest, ProgressReportsEveryPhaseOfEveryStep) {
  ProfileOptions o = options_for(dir_ / "out");
  o.sizes = {DataSize::Small, DataSize::Medium};
  std::vector<ProfileProgress> steps;
  o.on_progress = [&](const ProfileProgress& p) { steps.push_back(p); };
  WorkloadRegistry r;
  r.add({"linear.work", "linear", "", [] { return std::make_unique<LinearWorkload>(); }});
  run_profile(r, o);
  ASSERT_EQ(steps.size(), 8u);
  const std::vector<std::string> phases{"prepare", "run", "check", "done"};
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].workload, "linear.work");
    EXPECT_EQ(steps[i].phase, phases[i % 4]);
    EXPECT_EQ(steps[i].index, i / 4);
    EXPECT_EQ(steps[i].total, 2u);
    EXPECT_EQ(steps[i].size, i < 4 ? DataSize::Small : DataSize::Medium);
  }
}

// Cancelling at each phase of the run leaves no report file and no temporary file.
TEST_F(ProfileRunTest, CancelAtAnyPhaseWritesNothing) {
  for (const std::string cancel_at : {"prepare", "run", "check", "done"}) {
    SCOPED_TRACE(cancel_at);
    const std::filesystem::path out = dir_ / ("out-" + cancel_at);
    ProfileOptions o = options_for(out);
    o.sizes = {DataSize::Small, DataSize::Medium};
    std::atomic<bool> cancel{false};
    o.cancel = &cancel;
    std::size_t calls_after_cancel = 0;
    o.on_progress = [&](const ProfileProgress& p) {
      if (cancel.load()) ++calls_after_cancel;
      if (p.phase == cancel_at) cancel.store(true);
    };
    WorkloadRegistry r;
    r.add({"linear.work", "linear", "", [] { return std::make_unique<LinearWorkload>(); }});
    try {
      run_profile(r, o);
      FAIL() << "not cancelled";
    } catch (const ProfileCancelled& e) {
      EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos);
    }
    EXPECT_EQ(calls_after_cancel, 0u);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(out), {}), 0);
  }
}

TEST_F(ProfileRunTest, CancelledBeforeStartLeavesAnOldReportWhole) {
  const std::filesystem::path out = dir_ / "out";
  ProfileOptions o = options_for(out);
  const ProfileResult first = run_profile(pattern_registry(), o);
  const std::string old_report = core::read_file(out / "report.json");
  std::atomic<bool> cancel{true};
  o.cancel = &cancel;
  EXPECT_THROW(run_profile(pattern_registry(), o), ProfileCancelled);
  EXPECT_EQ(core::read_file(out / "report.json"), old_report);
  EXPECT_TRUE(std::filesystem::exists(out / "trace.json"));
  EXPECT_TRUE(std::filesystem::exists(out / "index.html"));
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    EXPECT_NE(e.path().filename().string().front(), '.') << e.path();
    ++files;
  }
  EXPECT_EQ(files, 3u);
}

// A cancel request from another thread while a run is in progress stops it.
TEST_F(ProfileRunTest, CancelFromAnotherThreadStopsTheRun) {
  const std::filesystem::path out = dir_ / "out";
  ProfileOptions o = options_for(out);
  o.sizes = {DataSize::Small, DataSize::Medium, DataSize::Small, DataSize::Medium};
  std::atomic<bool> cancel{false};
  std::atomic<bool> started{false};
  o.cancel = &cancel;
  o.on_progress = [&](const ProfileProgress&) {
    started.store(true);
    // Wait for the canceller so that the cancel lands mid-run, not after it.
    while (!cancel.load()) std::this_thread::yield();
  };
  std::thread canceller([&] {
    while (!started.load()) std::this_thread::yield();
    cancel.store(true);
  });
  EXPECT_THROW(run_profile(pattern_registry(), o), ProfileCancelled);
  canceller.join();
  EXPECT_FALSE(std::filesystem::exists(out / "report.json"));
  EXPECT_FALSE(std::filesystem::exists(out / "trace.json"));
  EXPECT_FALSE(std::filesystem::exists(out / "index.html"));
}

}  // namespace
}  // namespace miso::profiler
