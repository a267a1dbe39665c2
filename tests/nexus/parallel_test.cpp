#include "miso/nexus/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace miso::nexus {
namespace {

TEST(ParallelFor, CoversEveryIndexExactlyOnce) {
  Executor ex(2);
  for (std::size_t n : {0u, 1u, 7u, 1000u, 100003u}) {
    for (std::size_t grain : {0u, 1u, 13u, 4096u}) {
      std::vector<std::atomic<int>> hits(n);
      parallel_for(
          0, n,
          [&](std::size_t b, std::size_t e) {
            ASSERT_LT(b, e);
            if (grain != 0) {
              ASSERT_LE(e - b, grain);
            }
            for (std::size_t i = b; i < e; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
          },
          grain, ex);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " grain=" << grain;
    }
  }
  EXPECT_EQ(auto_grain(1280, ex), 10u);  // 64 pieces per slot
  EXPECT_EQ(auto_grain(1281, ex), 11u);
  EXPECT_EQ(auto_grain(1, ex), 1u);
}

TEST(ParallelFor, NestsAndOffsetsRanges) {
  Executor ex(2);
  std::vector<std::atomic<int>> grid(64 * 64);
  parallel_for(
      0, 64,
      [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
          parallel_for(
              10, 74,
              [&](std::size_t c0, std::size_t c1) {
                for (std::size_t c = c0; c < c1; ++c) grid[r * 64 + (c - 10)].fetch_add(1);
              },
              0, ex);
        }
      },
      1, ex);
  for (auto& g : grid) ASSERT_EQ(g.load(), 1);
}

TEST(ParallelFor, RethrowsABodysException) {
  Executor ex(2);
  EXPECT_THROW(parallel_for(
                   0, 1000,
                   [](std::size_t b, std::size_t) {
                     if (b == 0) throw std::invalid_argument("bad element");
                   },
                   10, ex),
               std::invalid_argument);
}

TEST(ParallelReduce, MatchesSequentialAndIsDeterministic) {
  Executor ex(2);
  std::vector<std::int64_t> v(1'000'003);
  std::iota(v.begin(), v.end(), -500'000);
  auto map = [&](std::size_t b, std::size_t e) {
    std::int64_t s = 0;
    for (std::size_t i = b; i < e; ++i) s += v[i] * v[i];
    return s;
  };
  std::int64_t expected = map(0, v.size());
  EXPECT_EQ(parallel_reduce<std::int64_t>(0, v.size(), 0, map, std::plus<>(), 0, ex), expected);
  EXPECT_EQ(parallel_reduce<std::int64_t>(0, v.size(), 0, map, std::plus<>(), 777, ex), expected);
  EXPECT_EQ(parallel_reduce<std::int64_t>(5, 5, 42, map, std::plus<>(), 0, ex), 42);

  std::vector<double> x(100000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0 / static_cast<double>(i + 1);
  auto fmap = [&](std::size_t b, std::size_t e) {
    double s = 0;
    for (std::size_t i = b; i < e; ++i) s += x[i];
    return s;
  };
  double first = parallel_reduce<double>(0, x.size(), 0.0, fmap, std::plus<>(), 1000, ex);
  for (int run = 0; run < 20; ++run) {
    ASSERT_EQ(parallel_reduce<double>(0, x.size(), 0.0, fmap, std::plus<>(), 1000, ex), first);  // bit for bit
  }
  EXPECT_NEAR(first, fmap(0, x.size()), 1e-9);
}

}  // namespace
}  // namespace miso::nexus
