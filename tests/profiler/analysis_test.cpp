#include "miso/profiler/analysis.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace miso::profiler {
namespace {

TEST(CpuTimeline, InterpolatesBetweenSamplesAndClampsToWall) {
  // Thread 7: idle from tick 0 to 100, then fully busy until 200.
  std::map<int, std::vector<CpuSample>> sampled{{7, {{100, 0}, {200, 100}}}};
  ThreadSnapshot t;
  t.tid = 7;
  t.start_tick = 0;
  t.start_cpu_ns = 0;
  CpuTimeline cpu(sampled, {t});
  EXPECT_TRUE(cpu.has(7));
  EXPECT_FALSE(cpu.has(8));
  EXPECT_DOUBLE_EQ(cpu.cpu_ns_between(7, 0, 100, 1.0), 0.0);
  EXPECT_DOUBLE_EQ(cpu.cpu_ns_between(7, 100, 200, 1.0), 100.0);
  EXPECT_DOUBLE_EQ(cpu.cpu_ns_between(7, 150, 175, 1.0), 25.0);
  EXPECT_DOUBLE_EQ(cpu.cpu_ns_between(7, 50, 150, 1.0), 50.0);
  EXPECT_DOUBLE_EQ(cpu.cpu_ns_between(7, 150, 175, 0.5), 12.5);  // clamped to wall time
  EXPECT_DOUBLE_EQ(cpu.cpu_ns_between(8, 0, 100, 1.0), 0.0);
  cpu.add(8, {0, 0});
  cpu.add(8, {10, 5});
  EXPECT_DOUBLE_EQ(cpu.cpu_ns_between(8, 0, 10, 1.0), 5.0);
}

TEST(ThreadUsage, BusyAndIdleInsideWindow) {
  ThreadSnapshot t;
  t.tid = 3;
  t.name = "w";
  t.start_tick = 0;
  t.end_tick = 400;
  t.start_cpu_ns = 0;
  t.end_cpu_ns = 100;
  static constexpr SpanSite S{"s.s", "", 0};
  t.events = {{&S, 10, 20, 0}, {&S, 300, 390, 0}};
  CpuTimeline cpu({}, {t});
  auto usage = thread_usage({t}, cpu, 1.0, 0, 1000);
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_DOUBLE_EQ(usage[0].lifetime_ns, 400);
  EXPECT_DOUBLE_EQ(usage[0].busy_ns, 100);
  EXPECT_DOUBLE_EQ(usage[0].idle_ns, 300);
  EXPECT_EQ(usage[0].spans, 2u);
  auto half = thread_usage({t}, cpu, 1.0, 200, 1000);
  ASSERT_EQ(half.size(), 1u);
  EXPECT_DOUBLE_EQ(half[0].lifetime_ns, 200);
  EXPECT_DOUBLE_EQ(half[0].busy_ns, 50);
  EXPECT_EQ(half[0].spans, 1u);
  EXPECT_TRUE(thread_usage({t}, cpu, 1.0, 500, 1000).empty());  // ended before the window
}

TEST(Statistics, PercentileNearestRank) {
  std::vector<double> v{5, 1, 4, 2, 3};
  EXPECT_EQ(percentile(v, 0.5), 3);
  EXPECT_EQ(percentile(v, 0.0), 1);
  EXPECT_EQ(percentile(v, 1.0), 5);
  std::vector<double> empty;
  EXPECT_EQ(percentile(empty, 0.5), 0);
}

TEST(Statistics, GrowthExponentRecoversPowerLaws) {
  std::vector<double> x{1e6, 1e8, 1e9};
  std::vector<double> linear, quadratic, nlogn;
  for (double v : x) {
    linear.push_back(3 * v);
    quadratic.push_back(0.5 * v * v);
    nlogn.push_back(v * std::log2(v));
  }
  EXPECT_NEAR(growth_exponent(x, linear), 1.0, 1e-9);
  EXPECT_NEAR(growth_exponent(x, quadratic), 2.0, 1e-9);
  double e = growth_exponent(x, nlogn);
  EXPECT_GT(e, 1.0);
  EXPECT_LT(e, 1.2);
  EXPECT_TRUE(std::isnan(growth_exponent({1e6}, {1.0})));
  EXPECT_TRUE(std::isnan(growth_exponent({5, 5}, {1.0, 2.0})));
  EXPECT_TRUE(std::isnan(growth_exponent({0, 10}, {1.0, 2.0})));  // log of 0 skipped
}

TEST(Statistics, RelativeSpread) {
  EXPECT_DOUBLE_EQ(relative_spread({4, 5, 5.5}), 0.3);  // (5.5 - 4) / 5
  EXPECT_DOUBLE_EQ(relative_spread({7}), 0.0);
  EXPECT_DOUBLE_EQ(relative_spread({0, 0, 1}), 0.0);  // zero median
}

TEST(Statistics, LinearSlope) {
  EXPECT_DOUBLE_EQ(linear_slope({0, 1, 2, 3}, {1, 3, 5, 7}), 2.0);
  EXPECT_DOUBLE_EQ(linear_slope({1}, {1}), 0.0);
  EXPECT_DOUBLE_EQ(linear_slope({2, 2}, {1, 5}), 0.0);
  EXPECT_EQ(component_of("tmath.matmul.block"), "tmath");
  EXPECT_EQ(component_of("plain"), "plain");
}

}  // namespace
}  // namespace miso::profiler
