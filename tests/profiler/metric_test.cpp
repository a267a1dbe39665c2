#include "miso/profiler/metric.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "miso/core/error.hpp"

namespace miso::profiler {
namespace {

TEST(Metric, CounterAddsFromManyThreads) {
  Metric& c = counter("test.metric.adds", "items");
  std::int64_t base = c.value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 10000; ++i) MISO_PROFILE_COUNT("test.metric.adds", 1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value() - base, 40000);
  EXPECT_EQ(c.unit(), "items");
  EXPECT_EQ(c.kind(), MetricKind::Counter);
  EXPECT_EQ(&counter("test.metric.adds"), &c);
}

TEST(Metric, GaugeSetsAndKindsDoNotMix) {
  MISO_PROFILE_GAUGE("test.metric.level", 17);
  Metric& g = gauge("test.metric.level");
  EXPECT_EQ(g.value(), 17);
  g.add(-5);
  EXPECT_EQ(g.value(), 12);
  EXPECT_EQ(g.kind(), MetricKind::Gauge);
  EXPECT_THROW(counter("test.metric.level"), Error);
  EXPECT_STREQ(to_string(MetricKind::Gauge), "gauge");
  EXPECT_STREQ(to_string(MetricKind::Counter), "counter");
  bool listed = false;
  for (Metric* m : all_metrics()) listed = listed || m == &g;
  EXPECT_TRUE(listed);
}

}  // namespace
}  // namespace miso::profiler
