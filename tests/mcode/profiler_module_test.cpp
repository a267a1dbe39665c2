// The profiler module: script spans recorded in MISO's profiler (checked through the
// profiler's own C++ API), nesting, spans closed by exceptions, counters, report().
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "miso/mcode/vm.hpp"
#include "miso/profiler/clock.hpp"
#include "miso/profiler/metric.hpp"
#include "miso/profiler/thread_registry.hpp"
#include "script_test_util.hpp"

namespace miso::mcode {
namespace {

using test_util::error_of;

std::string run(std::string_view source, VmOptions options = {}) { return run_to_string(source, options); }

// Span events named `name` that ended after `from` on any thread.
std::vector<profiler::ThreadSpanEvent> events_named(const std::string& name, std::uint64_t from) {
  std::vector<profiler::ThreadSpanEvent> found;
  for (const profiler::ThreadSnapshot& t : profiler::snapshot_threads(from, profiler::now_ticks()))
    for (const profiler::ThreadSpanEvent& e : t.events)
      if (name == e.site->name) found.push_back(e);
  return found;
}

TEST(ProfilerModule, ScopeReturnsTheResultAndRecordsNestedSpans) {
  profiler::init_clock();
  std::uint64_t from = profiler::now_ticks();
  EXPECT_EQ(run(R"(
let r = profiler.scope("mcode_test.outer", fn() {
  let sum = 0
  for i in range(3) { sum += profiler.scope("mcode_test.inner", fn() { return i * 10 }) }
  return sum
})
print(r)
)"),
            "30\n");
  std::vector<profiler::ThreadSpanEvent> outer = events_named("mcode_test.outer", from);
  std::vector<profiler::ThreadSpanEvent> inner = events_named("mcode_test.inner", from);
  ASSERT_EQ(outer.size(), 1u);
  ASSERT_EQ(inner.size(), 3u);
  for (const profiler::ThreadSpanEvent& e : inner) {
    EXPECT_EQ(e.depth, outer[0].depth + 1);
    EXPECT_GE(e.start, outer[0].start);
    EXPECT_LE(e.end, outer[0].end);
  }
}

TEST(ProfilerModule, SpansCloseWhenTheFunctionRaises) {
  profiler::init_clock();
  std::uint64_t from = profiler::now_ticks();
  EXPECT_EQ(run(R"(
try {
  profiler.scope("mcode_test.failing", fn() { throw "inside" })
} catch e {
  print("caught", e)
}
profiler.scope("mcode_test.after", fn() { return nil })
)"),
            "caught inside\n");
  std::vector<profiler::ThreadSpanEvent> failing = events_named("mcode_test.failing", from);
  std::vector<profiler::ThreadSpanEvent> after = events_named("mcode_test.after", from);
  ASSERT_EQ(failing.size(), 1u);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].depth, failing[0].depth);  // the thread's nesting depth was restored
  // Uncaught: the span still closes and the error reaches the host.
  EXPECT_NE(error_of("profiler.scope(\"mcode_test.uncaught\", fn() { return 1 + nil })").find("unsupported operand"),
            std::string::npos);
  EXPECT_EQ(events_named("mcode_test.uncaught", from).size(), 1u);
}

TEST(ProfilerModule, ReportAggregatesSpansOfThisVm) {
  EXPECT_EQ(
      run(R"(
fn work() { let s = 0; for i in range(1000) { s += i } return s }
for i in range(4) { profiler.scope("mcode_test.report", work) }
profiler.scope("mcode_test.report_outer", fn() { profiler.scope("mcode_test.report_inner", work) })
let r = profiler.report()
let e = r["mcode_test.report"]
print(e.count, e.total_ms >= 0, e.min_ms <= e.median_ms, e.median_ms <= e.max_ms)
print(r["mcode_test.report_outer"].count, r["mcode_test.report_inner"].count)
print(r["mcode_test.report_outer"].total_ms >= r["mcode_test.report_inner"].total_ms)
print(keys(e))
)"),
      "4 true true true\n1 1\ntrue\n[\"count\", \"total_ms\", \"self_ms\", \"min_ms\", \"median_ms\", \"max_ms\"]\n");
  // A new VM starts a new report window.
  EXPECT_EQ(run("print(profiler.report().get(\"mcode_test.report\"))"), "nil\n");
}

TEST(ProfilerModule, WorkerScopesAppearInTheCallersReport) {
  EXPECT_EQ(run(R"(
nexus.parallel_map(fn(x) { return profiler.scope("mcode_test.worker", fn() { return x }) }, [1, 2, 3, 4, 5],
                   {"workers": 2})
print(profiler.report()["mcode_test.worker"].count)
)"),
            "5\n");
}

TEST(ProfilerModule, CountersGaugesAndClock) {
  std::int64_t before = profiler::counter("mcode_test.counter").value();
  EXPECT_EQ(run("profiler.counter(\"mcode_test.counter\")\nprint(profiler.counter(\"mcode_test.counter\", 5))"),
            std::to_string(before + 6) + "\n");
  EXPECT_EQ(profiler::counter("mcode_test.counter").value(), before + 6);
  run("profiler.gauge(\"mcode_test.gauge\", -12)");
  EXPECT_EQ(profiler::gauge("mcode_test.gauge").value(), -12);
  EXPECT_NE(error_of("profiler.counter(\"mcode_test.counter\", -1)").find("counters only grow"), std::string::npos);
  EXPECT_NE(error_of("profiler.counter(\"mcode_test.gauge\")").find("profiler.counter: "), std::string::npos);
  EXPECT_NE(error_of("profiler.scope(\"x\", 3)").find("profiler.scope: fn must be"), std::string::npos);
  EXPECT_NE(error_of("profiler.scope(\"\", fn() { })").find("name must not be empty"), std::string::npos);
  EXPECT_EQ(run("let a = profiler.now()\nlet b = profiler.now()\nprint(type(a), b >= a, a > 0)"), "float true true\n");
}

}  // namespace
}  // namespace miso::mcode
