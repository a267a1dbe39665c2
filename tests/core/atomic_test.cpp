#include "miso/core/atomic.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace miso::core {
namespace {

TEST(StoreMax, KeepsTheHighestValueUnderConcurrency) {
  std::atomic<std::int64_t> high{-5};
  store_max(high, std::int64_t{-7});
  EXPECT_EQ(high.load(), -5);
  store_max(high, std::int64_t{3});
  EXPECT_EQ(high.load(), 3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::int64_t i = 0; i < 10000; ++i) store_max(high, i * 4 + t);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(high.load(), 9999 * 4 + 3);
}

}  // namespace
}  // namespace miso::core
