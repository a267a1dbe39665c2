#include "miso/profiler/sort_workload.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_dir.hpp"

namespace miso::profiler {
namespace {

using SortWorkloadTest = miso::testing::TempDirTest;

TEST(ParallelSort, MatchesStdSortForAnyThreadCount) {
  for (unsigned threads : {1u, 2u, 3u, 4u, 8u}) {
    for (std::uint64_t n : {0ull, 1ull, 1000ull, 50'000ull}) {
      auto records = generate_records(n, n + threads);
      auto expected = records;
      std::sort(expected.begin(), expected.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
      parallel_sort(records, threads);
      ASSERT_EQ(records.size(), expected.size());
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(records[i].key, expected[i].key) << "n=" << n << " t=" << threads;
      EXPECT_EQ(fingerprint(records), fingerprint(expected));
    }
  }
}

TEST_F(SortWorkloadTest, SortWorkloadChecksItsResult) {
  WorkloadContext ctx{DataSize::Small, 7, {}, dir_, 2};
  SortWorkload w;
  w.prepare(ctx);
  EXPECT_EQ(w.input_bytes(), 1u << 20);
  CheckResult before = w.check();  // not sorted yet: the check must say so
  EXPECT_FALSE(before.passed);
  EXPECT_NE(before.detail.find("out of order"), std::string::npos);
  w.run(ctx);
  CheckResult after = w.check();
  EXPECT_TRUE(after.passed) << after.detail;
  EXPECT_EQ(fingerprint(generate_records(65536, 7)), fingerprint(w.records()));
}

}  // namespace
}  // namespace miso::profiler
