#include "miso/profiler/io.hpp"

#include <gtest/gtest.h>

#include "miso/core/file.hpp"
#include "test_dir.hpp"

namespace miso::profiler {
namespace {

using IoTest = miso::testing::TempDirTest;

TEST_F(IoTest, ScopesCountOperationsBytesAndTime) {
  IoSiteStats& site = io_site("test.io.write", IoDirection::Write);
  EXPECT_EQ(&io_site("test.io.write", IoDirection::Write), &site);
  EXPECT_NE(&io_site("test.io.write", IoDirection::Read), &site);
  for (int i = 0; i < 3; ++i) {
    IoScope io(site, 100);
    io.add_bytes(23);
  }
  { IoScope io("test.io.write", IoDirection::Write, 7); }
  EXPECT_EQ(site.operations.load(), 4u);
  EXPECT_EQ(site.bytes.load(), 3u * 123 + 7);
  EXPECT_GE(site.ticks.load(), site.max_ticks.load());
  bool found = false;
  for (const IoReading& r : read_io_sites()) {
    if (r.name == "test.io.write" && r.direction == IoDirection::Write) {
      found = true;
      EXPECT_EQ(r.operations, 4u);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_STREQ(to_string(IoDirection::Read), "read");
  EXPECT_STREQ(to_string(IoDirection::Write), "write");
}

TEST_F(IoTest, ProcessCountersSeeFileAccess) {
  ProcessIo before = read_process_io();
  if (!before.available) GTEST_SKIP() << "/proc/self/io is not readable here";
  std::string data(1 << 20, 'x');
  core::write_file_atomic(dir_ / "f", data);
  std::string back = core::read_file(dir_ / "f");
  ProcessIo delta = read_process_io() - before;
  EXPECT_TRUE(delta.available);
  EXPECT_GE(delta.write_chars, data.size());
  EXPECT_GE(delta.read_chars, back.size());
  EXPECT_GE(delta.write_calls, 1u);
  EXPECT_GE(delta.read_calls, 1u);
}

}  // namespace
}  // namespace miso::profiler
