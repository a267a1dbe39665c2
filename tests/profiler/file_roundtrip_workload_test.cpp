#include "miso/profiler/file_roundtrip_workload.hpp"

#include <gtest/gtest.h>

#include "test_dir.hpp"

namespace miso::profiler {
namespace {

using FileRoundtripTest = miso::testing::TempDirTest;

TEST_F(FileRoundtripTest, RoundtripCheckFailsWithoutRun) {
  WorkloadContext ctx{DataSize::Small, 3, {}, dir_, 0};
  FileRoundtripWorkload f;
  f.prepare(ctx);
  EXPECT_FALSE(f.check().passed);
  auto bytes = generate_bytes(13, 5);
  EXPECT_EQ(bytes.size(), 13u);
  EXPECT_EQ(generate_bytes(13, 5), bytes);
  EXPECT_NE(generate_bytes(13, 6), bytes);
}

TEST_F(FileRoundtripTest, RunWritesReadsBackAndCleansUp) {
  WorkloadContext ctx{DataSize::Small, 8, {}, dir_, 0};
  FileRoundtripWorkload f;
  f.prepare(ctx);
  EXPECT_EQ(f.input_bytes(), 1u << 20);
  f.run(ctx);
  CheckResult r = f.check();
  EXPECT_TRUE(r.passed) << r.detail;
  EXPECT_NE(r.detail.find("1048576 bytes"), std::string::npos) << r.detail;
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 0);  // scratch file removed
}

}  // namespace
}  // namespace miso::profiler
