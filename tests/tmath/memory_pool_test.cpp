#include "miso/tmath/memory_pool.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "miso/core/hash.hpp"
#include "miso/core/memory.hpp"

namespace miso::tmath {
namespace {

TEST(MemoryPool, ClassSizesArePowersOfTwoThenQuarterSteps) {
  EXPECT_EQ(MemoryPool::class_size(0), 64u);
  EXPECT_EQ(MemoryPool::class_size(1), 64u);
  EXPECT_EQ(MemoryPool::class_size(65), 128u);
  EXPECT_EQ(MemoryPool::class_size(4096), 4096u);
  EXPECT_EQ(MemoryPool::class_size(65536), 65536u);
  EXPECT_EQ(MemoryPool::class_size(65537), 65536u + 16384u);
  EXPECT_EQ(MemoryPool::class_size(100000), 114688u);  // 64 Ki + 3 * 16 Ki
  core::SplitMix64 rng(3);
  for (int i = 0; i < 10000; ++i) {
    std::size_t n = rng.next() % (std::size_t{1} << 34);
    std::size_t c = MemoryPool::class_size(n);
    ASSERT_GE(c, n);
    ASSERT_LE(static_cast<double>(c), std::max(64.0, static_cast<double>(n) * 2.0));
    if (n > 65536) {
      ASSERT_LE(static_cast<double>(c), static_cast<double>(n) * 1.25 + 1);
    }
    ASSERT_EQ(MemoryPool::class_size(c), c);  // a class size is its own class
    ASSERT_EQ(MemoryPool::size_of_class(MemoryPool::class_index(n)), c) << n;
  }
}

TEST(MemoryPool, ReusesFreedBlocksAlignedAndCountsThem) {
  MemoryPool pool;
  void* a = pool.allocate(1000);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % kAlignment, 0u);
  std::memset(a, 0xAB, 1000);
  PoolStats s = pool.stats();
  EXPECT_EQ(s.in_use_bytes, 1024u);
  EXPECT_EQ(s.misses, 1u);
  pool.deallocate(a, 1000);
  s = pool.stats();
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_EQ(s.cached_bytes, 1024u);
  void* b = pool.allocate(900);  // same class: the same block comes back
  EXPECT_EQ(b, a);
  s = pool.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.peak_in_use_bytes, 1024u);
  void* c = pool.allocate(5000);
  EXPECT_EQ(pool.stats().peak_in_use_bytes, 1024u + 8192u);
  pool.deallocate(b, 900);
  pool.deallocate(c, 5000);
  pool.reset_peak();
  EXPECT_EQ(pool.stats().peak_in_use_bytes, 0u);
  pool.trim();
  EXPECT_EQ(pool.stats().cached_bytes, 0u);
}

TEST(MemoryPool, LargeBlocksAreHugePageAligned) {
  MemoryPool pool;
  const std::size_t n = (std::size_t{3} << 20) + 5;
  void* a = pool.allocate(n);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % (std::size_t{2} << 20), 0u);
  std::memset(a, 1, n);
  pool.deallocate(a, n);
  EXPECT_EQ(pool.allocate(n), a);  // cached and reused
  pool.deallocate(a, n);
  pool.trim();  // frees with the alignment it was allocated with (ASan checks)
  EXPECT_EQ(pool.stats().cached_bytes, 0u);
}

TEST(MemoryPool, CacheLimitSendsBlocksBackToTheSystem) {
  MemoryPool pool(4096);
  void* a = pool.allocate(4096);
  void* b = pool.allocate(4096);
  pool.deallocate(a, 4096);
  pool.deallocate(b, 4096);  // over the limit: freed, not cached
  EXPECT_EQ(pool.stats().cached_bytes, 4096u);
}

TEST(MemoryPool, SystemBlocksAreAccountedUnderTheTmathTag) {
  if (!core::memory::hooks_active()) GTEST_SKIP() << "allocation hooks are off in this build";
  MemoryPool pool;
  auto tag = core::memory::tag("tmath");
  auto before = core::memory::stats(tag).live_bytes;
  void* a = pool.allocate(std::size_t{1} << 20);
  EXPECT_GE(core::memory::stats(tag).live_bytes - before, std::int64_t{1} << 20);
  pool.deallocate(a, std::size_t{1} << 20);
  pool.trim();
  EXPECT_EQ(core::memory::stats(tag).live_bytes, before);
}

TEST(MemoryPool, ThreadsShareItSafely) {
  MemoryPool pool;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      core::SplitMix64 rng(static_cast<std::uint64_t>(t));
      std::vector<std::pair<void*, std::size_t>> held;
      for (int i = 0; i < 2000; ++i) {
        if (held.size() < 16 && (rng.next() & 1)) {
          std::size_t n = rng.next() % 200000;
          void* p = pool.allocate(n);
          std::memset(p, t, std::min<std::size_t>(n, 64));
          held.emplace_back(p, n);
        } else if (!held.empty()) {
          pool.deallocate(held.back().first, held.back().second);
          held.pop_back();
        }
      }
      for (auto& [p, n] : held) pool.deallocate(p, n);
    });
  }
  for (auto& t : threads) t.join();
  PoolStats s = pool.stats();
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_GT(s.hits, 0u);
}

TEST(MemoryPool, GlobalIsOneInstance) { EXPECT_EQ(&MemoryPool::global(), &MemoryPool::global()); }

}  // namespace
}  // namespace miso::tmath
