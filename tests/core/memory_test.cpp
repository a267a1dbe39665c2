#include "miso/core/memory.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "miso/core/error.hpp"

#if defined(MISO_SANITIZED)
// Let AddressSanitizer's malloc return null for impossible sizes, as glibc's does,
// so operator new can turn that into std::bad_alloc.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif

namespace miso::core::memory {
namespace {

TEST(MemoryTags, SameNameSameTag) {
  Tag a = tag("test.same");
  EXPECT_EQ(tag("test.same"), a);
  EXPECT_NE(tag("test.other"), a);
  EXPECT_EQ(tag_name(a), "test.same");
  EXPECT_EQ(tag_name(kUntagged), "untagged");
  EXPECT_GE(tag_count(), 3u);
}

TEST(MemoryTags, ScopeChargesKnownAllocationPattern) {
  Tag t = tag("test.pattern");
  TagStats before = stats(t);
  {
    TagScope scope(t);
    EXPECT_EQ(current_tag(), t);
    auto a = std::make_unique<char[]>(1000);
    auto b = std::make_unique<char[]>(3000);
    TagStats during = stats(t);
    EXPECT_EQ(during.live_bytes - before.live_bytes, 4000);
    EXPECT_EQ(during.allocations - before.allocations, 2u);
    EXPECT_EQ(during.allocated_bytes - before.allocated_bytes, 4000u);
    EXPECT_GE(during.peak_bytes, during.live_bytes);
  }
  EXPECT_EQ(current_tag(), kUntagged);
  TagStats after = stats(t);
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_EQ(after.frees - before.frees, 2u);
  EXPECT_EQ(after.histogram[bucket_of(1000)] - before.histogram[bucket_of(1000)], 1u);
  EXPECT_EQ(after.histogram[bucket_of(3000)] - before.histogram[bucket_of(3000)], 1u);
}

TEST(MemoryTags, FreeIsCreditedToTheAllocatingTagFromAnyThread) {
  Tag owner = tag("test.owner");
  Tag other = tag("test.freer");
  std::int64_t owner_live = stats(owner).live_bytes;
  std::int64_t other_live = stats(other).live_bytes;
  std::vector<int>* v = nullptr;
  {
    TagScope scope(owner);
    v = new std::vector<int>(1 << 16);
  }
  EXPECT_GE(stats(owner).live_bytes - owner_live, static_cast<std::int64_t>((1 << 16) * sizeof(int)));
  std::thread([&] {
    TagScope scope(other);
    delete v;
  }).join();
  EXPECT_EQ(stats(owner).live_bytes, owner_live);
  EXPECT_EQ(stats(other).live_bytes, other_live);
}

TEST(MemoryTags, PeakFollowsHighWaterAndResets) {
  Tag t = tag("test.peak");
  TagScope scope(t);
  reset_peak(t);
  std::int64_t base = stats(t).live_bytes;
  {
    auto big = std::make_unique<char[]>(1 << 20);
    big[0] = 1;
  }
  auto small = std::make_unique<char[]>(100);
  TagStats s = stats(t);
  EXPECT_EQ(s.peak_bytes, base + (1 << 20));
  EXPECT_EQ(s.live_bytes, base + 100);
  reset_peak(t);
  EXPECT_EQ(stats(t).peak_bytes, base + 100);
}

TEST(MemoryTags, NestedScopesRestore) {
  Tag a = tag("test.outer"), b = tag("test.inner");
  TagScope outer(a);
  {
    TagScope inner(b);
    EXPECT_EQ(current_tag(), b);
  }
  EXPECT_EQ(current_tag(), a);
}

TEST(MemoryHooks, AlignedAndNothrowFormsAreAccounted) {
  Tag t = tag("test.aligned");
  TagScope scope(t);
  std::int64_t live = stats(t).live_bytes;
  struct alignas(256) Wide {
    char bytes[512];
  };
  auto* w = new Wide;
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(w) % 256, 0u);
  EXPECT_EQ(stats(t).live_bytes - live, 512);
  delete w;
  int* p = new (std::nothrow) int[10];
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(stats(t).live_bytes - live, 40);
  delete[] p;
  EXPECT_EQ(stats(t).live_bytes, live);
  EXPECT_TRUE(hooks_active());
  EXPECT_GE(total_live_bytes(), 0);
}

TEST(MemoryHooks, ImpossibleAllocationThrowsBadAlloc) {
  std::size_t huge = static_cast<std::size_t>(-1) / 2;
  EXPECT_THROW((void)::operator new(huge), std::bad_alloc);
  EXPECT_EQ(::operator new(huge, std::nothrow), nullptr);
}

TEST(MemoryHistogram, BucketsAreLogTwoSizeClasses) {
  EXPECT_EQ(bucket_of(0), 0u);
  EXPECT_EQ(bucket_of(15), 0u);
  EXPECT_EQ(bucket_of(16), 1u);
  EXPECT_EQ(bucket_of(31), 1u);
  EXPECT_EQ(bucket_of(32), 2u);
  EXPECT_EQ(bucket_of(std::size_t{1} << 40), kBuckets - 1);
  for (std::size_t b = 1; b + 1 < kBuckets; ++b) {
    EXPECT_EQ(bucket_of(bucket_lower_bound(b)), b);
    EXPECT_EQ(bucket_of(bucket_lower_bound(b + 1) - 1), b);
  }
  EXPECT_EQ(all_stats().size(), tag_count());
}

TEST(MemoryTagsDeathTest, RunningOutOfTagsIsAnErrorNamingTheTag) {
  // In a child process, so this test's exhaustion does not leak into others.
  EXPECT_EXIT(
      {
        try {
          for (int i = 0; i < 100; ++i) tag("exhaust." + std::to_string(i));
        } catch (const Error& e) {
          std::exit(std::string(e.what()).find("exhaust.") != std::string::npos ? 0 : 1);
        }
        std::exit(2);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace miso::core::memory
