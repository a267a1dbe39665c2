#include "miso/profiler/span.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "miso/profiler/analysis.hpp"
#include "miso/profiler/thread_registry.hpp"

#include "thread_snapshots.hpp"

namespace miso::profiler {
namespace {

using miso::testing::find_thread;

TEST(Span, NestedScopesRecordDepthAndOrder) {
  std::uint64_t from = now_ticks();
  {
    MISO_PROFILE_SCOPE("test.outer");
    { MISO_PROFILE_SCOPE("test.inner"); }
    { MISO_PROFILE_SCOPE("test.inner"); }
  }
  std::uint64_t to = now_ticks();
  auto threads = snapshot_threads(from, to);
  const ThreadSnapshot* me = find_thread(threads, current_tid());
  ASSERT_NE(me, nullptr);
  ASSERT_EQ(me->events.size(), 3u);
  EXPECT_STREQ(me->events[0].site->name, "test.inner");
  EXPECT_STREQ(me->events[2].site->name, "test.outer");
  EXPECT_EQ(me->events[0].depth, 1u);
  EXPECT_EQ(me->events[2].depth, 0u);
  EXPECT_LE(me->events[2].start, me->events[0].start);
  EXPECT_GE(me->events[2].end, me->events[1].end);
}

TEST(Span, DisabledRecordsNothing) {
  set_enabled(false);
  std::uint64_t from = now_ticks();
  { MISO_PROFILE_SCOPE("test.disabled"); }
  std::uint64_t to = now_ticks();
  set_enabled(true);
  EXPECT_TRUE(enabled());
  for (const ThreadSnapshot& t : snapshot_threads(from, to)) EXPECT_TRUE(t.events.empty());
}

TEST(Span, InternedSitesAreStableAndRecordSpanWorks) {
  const SpanSite& a = intern_site("test.dynamic");
  const SpanSite& b = intern_site(std::string("test.") + "dynamic");
  EXPECT_EQ(&a, &b);
  EXPECT_STREQ(a.name, "test.dynamic");
  std::uint64_t from = now_ticks();
  std::uint64_t s = now_ticks();
  record_span(a, s, s + 1000);
  std::uint64_t to = now_ticks() + 2000;
  auto threads = snapshot_threads(from, to);
  const ThreadSnapshot* me = find_thread(threads, current_tid());
  ASSERT_NE(me, nullptr);
  ASSERT_EQ(me->events.size(), 1u);
  EXPECT_EQ(me->events[0].end - me->events[0].start, 1000u);
}

// Aggregation over a synthetic timeline with known answers (1 tick = 1 ns):
//   A [0, 100) contains B [10, 30) and B [40, 90); B [40, 90) contains C [50, 60).
TEST(SpanAggregation, SelfTimeAndStatisticsOnKnownTimeline) {
  static constexpr SpanSite A{"x.a", "", 0}, B{"x.b", "", 0}, C{"y.c", "", 0};
  ThreadSnapshot t;
  t.tid = 1;
  t.events = {{&B, 10, 30, 1}, {&C, 50, 60, 2}, {&B, 40, 90, 1}, {&A, 0, 100, 0}};
  auto stats = aggregate_spans({t}, 1.0, 0, 1000);
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].name, "x.a");  // sorted by total
  EXPECT_EQ(stats[0].total_ns, 100);
  EXPECT_EQ(stats[0].self_ns, 30);  // 100 - 20 - 50
  EXPECT_EQ(stats[1].name, "x.b");
  EXPECT_EQ(stats[1].count, 2u);
  EXPECT_EQ(stats[1].total_ns, 70);
  EXPECT_EQ(stats[1].self_ns, 60);  // 20 + (50 - 10)
  EXPECT_EQ(stats[1].min_ns, 20);
  EXPECT_EQ(stats[1].max_ns, 50);
  EXPECT_EQ(stats[1].median_ns, 20);  // nearest rank of {20, 50}
  EXPECT_EQ(stats[1].p99_ns, 50);
  EXPECT_EQ(stats[2].component, "y");
  EXPECT_EQ(stats[2].self_ns, 10);
  // A window that cuts A off keeps only what lies inside it.
  auto inner = aggregate_spans({t}, 2.0, 5, 95);
  ASSERT_EQ(inner.size(), 2u);
  EXPECT_EQ(inner[0].name, "x.b");
  EXPECT_EQ(inner[0].total_ns, 140);  // ns_per_tick = 2
}

TEST(SpanAggregation, SeveralWindowsGivePerWindowMeans) {
  static constexpr SpanSite S{"w.s", "", 0};
  ThreadSnapshot t;
  t.tid = 4;
  t.events = {{&S, 0, 10, 0}, {&S, 100, 130, 0}, {&S, 200, 250, 0}};
  auto stats = aggregate_spans({t}, 1.0, std::vector<TickWindow>{{0, 50}, {190, 300}});
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].count, 2u);     // the event at 100 lies in neither window
  EXPECT_EQ(stats[0].total_ns, 30);  // (10 + 50) / 2 windows
  EXPECT_EQ(stats[0].self_ns, 30);
  EXPECT_EQ(stats[0].max_ns, 50);
  EXPECT_EQ(stats[0].min_ns, 10);
}

TEST(SpanAggregation, PercentilesOnManyDurations) {
  static constexpr SpanSite S{"p.s", "", 0};
  ThreadSnapshot t;
  t.tid = 2;
  for (std::uint64_t i = 1; i <= 1000; ++i) t.events.push_back({&S, i * 10000, i * 10000 + i, 0});
  auto stats = aggregate_spans({t}, 1.0, 0, ~std::uint64_t{0});
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].median_ns, 500);
  EXPECT_EQ(stats[0].p99_ns, 990);
  EXPECT_EQ(stats[0].min_ns, 1);
  EXPECT_EQ(stats[0].max_ns, 1000);
  EXPECT_EQ(stats[0].self_ns, stats[0].total_ns);
}

TEST(SpansRecorded, CountsEveryEventAndSurvivesDiscards) {
  const std::uint64_t before = spans_recorded();
  for (int i = 0; i < 10; ++i) {
    MISO_PROFILE_SCOPE("test.counted");
  }
  record_span(intern_site("test.counted_elsewhere"), now_ticks(), now_ticks());
  EXPECT_EQ(spans_recorded() - before, 11u);
  discard_thread_events();  // dropped events stay counted: the total is monotonic
  EXPECT_EQ(spans_recorded() - before, 11u);
  set_enabled(false);
  { MISO_PROFILE_SCOPE("test.not_counted"); }
  set_enabled(true);
  EXPECT_EQ(spans_recorded() - before, 11u);
}

TEST(SpansRecorded, ReadableWhileAnotherThreadRecords) {
  const std::uint64_t before = spans_recorded();
  constexpr std::uint64_t kSpans = 3 * detail::kBlockEvents + 17;  // crosses block boundaries
  std::atomic<bool> done{false};
  std::thread recorder([&] {
    for (std::uint64_t i = 0; i < kSpans; ++i) {
      MISO_PROFILE_SCOPE("test.recorder");
    }
    done.store(true);
  });
  std::uint64_t last = before;
  bool monotonic = true;
  while (!done.load()) {
    const std::uint64_t now = spans_recorded();
    monotonic = monotonic && now >= last;
    last = now;
  }
  recorder.join();
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(spans_recorded() - before, kSpans);  // the exited thread's events still count
}

}  // namespace
}  // namespace miso::profiler
