#include "miso/profiler/perf_counters.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace miso::profiler {
namespace {

TEST(PerfCounters, EveryCounterIsAValueOrAReason) {
  PerfCounters perf;
  auto first = perf.read();
  ASSERT_EQ(first.size(), 8u);
  for (const CounterValue& v : first) {
    if (v.available) {
      EXPECT_TRUE(v.reason.empty()) << v.name;
    } else {
      EXPECT_FALSE(v.reason.empty()) << v.name << " unavailable without a reason";
      EXPECT_EQ(v.value, 0u) << v.name;
    }
  }
  // Touch fresh memory: page faults, where countable, go up.
  std::vector<char> block(16 << 20, 1);
  auto second = perf.read();
  auto delta = difference(second, first);
  for (const CounterValue& v : delta) {
    if (v.name == "page_faults" && v.available) {
      EXPECT_GT(v.value, 0u);
    }
  }
  EXPECT_EQ(block[12345], 1);
}

TEST(PerfCounters, DifferenceKeepsUnavailableUnavailable) {
  std::vector<CounterValue> a{{"x", true, true, "", 10, false}, {"y", true, false, "no PMU", 0, false}};
  std::vector<CounterValue> b{{"x", true, true, "", 25, false}, {"y", true, false, "no PMU", 0, false}};
  auto d = difference(b, a);
  EXPECT_TRUE(d[0].available);
  EXPECT_EQ(d[0].value, 15u);
  EXPECT_FALSE(d[1].available);
  EXPECT_EQ(d[1].reason, "no PMU");
}

}  // namespace
}  // namespace miso::profiler
