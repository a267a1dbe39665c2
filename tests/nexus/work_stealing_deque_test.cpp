#include "miso/nexus/work_stealing_deque.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace miso::nexus {
namespace {

TEST(WorkStealingDeque, OwnerIsLifoThievesAreFifo) {
  WorkStealingDeque<int> d(4);
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(d.pop().has_value());
  EXPECT_FALSE(d.steal().has_value());
  for (int i = 1; i <= 5; ++i) d.push(i);
  EXPECT_EQ(d.size(), 5u);
  EXPECT_EQ(d.steal(), 1);  // oldest
  EXPECT_EQ(d.pop(), 5);    // newest
  EXPECT_EQ(d.pop(), 4);
  EXPECT_EQ(d.steal(), 2);
  EXPECT_EQ(d.pop(), 3);
  EXPECT_FALSE(d.pop().has_value());
  EXPECT_TRUE(d.empty());
}

TEST(WorkStealingDeque, GrowsAndKeepsEveryItem) {
  WorkStealingDeque<int> d(2);
  for (int i = 0; i < 10000; ++i) d.push(i);
  EXPECT_GE(d.capacity(), 10000u);
  long sum = 0;
  while (auto v = d.pop()) sum += *v;
  EXPECT_EQ(sum, 10000L * 9999 / 2);
}

// The owner pushes and pops while thieves steal: every item is taken exactly once.
TEST(WorkStealingDeque, StressEveryItemTakenExactlyOnce) {
  constexpr int kItems = 200000;
  constexpr int kThieves = 3;
  WorkStealingDeque<int> d(16);
  std::vector<std::atomic<int>> taken(kItems);
  std::atomic<bool> done{false};
  std::atomic<int> count{0};
  std::vector<std::thread> thieves;
  for (int t = 0; t < kThieves; ++t) {
    thieves.emplace_back([&] {
      while (!done.load(std::memory_order_acquire)) {
        if (auto v = d.steal()) {
          taken[*v].fetch_add(1, std::memory_order_relaxed);
          count.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (int i = 0; i < kItems; ++i) {
    d.push(i);
    if (i % 3 == 0) {
      if (auto v = d.pop()) {
        taken[*v].fetch_add(1, std::memory_order_relaxed);
        count.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  while (auto v = d.pop()) {
    taken[*v].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
  }
  while (count.load() < kItems && !d.empty()) std::this_thread::yield();
  done = true;
  for (auto& t : thieves) t.join();
  EXPECT_EQ(count.load(), kItems);
  for (int i = 0; i < kItems; ++i) ASSERT_EQ(taken[i].load(), 1) << "item " << i;
}

}  // namespace
}  // namespace miso::nexus
