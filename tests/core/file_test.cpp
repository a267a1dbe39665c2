#include "miso/core/file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "miso/core/error.hpp"

namespace miso::core {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("miso_file_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::size_t entries() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {})); }
  fs::path dir_;
};

TEST_F(FileTest, AtomicWriteRoundTripsAndLeavesNoTemporary) {
  write_file_atomic(dir_ / "a.txt", "hello\nworld", true);
  EXPECT_EQ(read_file(dir_ / "a.txt"), "hello\nworld");
  EXPECT_EQ(entries(), 1u);
  write_file_atomic(dir_ / "a.txt", "replaced");
  EXPECT_EQ(read_file(dir_ / "a.txt"), "replaced");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(FileTest, UncommittedFileLeavesTargetUntouched) {
  write_file_atomic(dir_ / "keep.txt", "original");
  {
    AtomicFile f(dir_ / "keep.txt");
    f.write("half-written");
    EXPECT_EQ(f.bytes_written(), 12u);
  }  // destroyed without commit, as when an exception unwinds
  EXPECT_EQ(read_file(dir_ / "keep.txt"), "original");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(FileTest, WriteAfterCommitIsAnError) {
  AtomicFile f(dir_ / "x");
  f.write("x");
  f.commit(false);
  EXPECT_THROW(f.write("y"), Error);
  EXPECT_THROW(f.commit(), Error);
  EXPECT_EQ(f.path(), dir_ / "x");
}

TEST_F(FileTest, MissingFileErrorNamesThePath) {
  try {
    read_file(dir_ / "nope.bin");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Io);
    EXPECT_NE(std::string(e.what()).find("nope.bin"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_file(dir_), Error);  // a folder is not a file
}

TEST_F(FileTest, ReaderReadsInChunksAndReportsTruncation) {
  write_file_atomic(dir_ / "data", "0123456789");
  FileReader r(dir_ / "data");
  EXPECT_EQ(r.size(), 10u);
  EXPECT_EQ(r.path(), dir_ / "data");
  std::byte buf[4];
  EXPECT_EQ(r.read(buf), 4u);
  EXPECT_EQ(static_cast<char>(buf[0]), '0');
  r.read_exact(buf, "block");
  EXPECT_EQ(static_cast<char>(buf[3]), '7');
  try {
    r.read_exact(buf, "block");
    FAIL() << "expected truncation";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Format);
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("offset 8"), std::string::npos) << e.what();
  }
  EXPECT_EQ(r.read(buf), 0u);
}

TEST_F(FileTest, WritableDirectoryIsCreatedOrRefused) {
  ensure_writable_directory(dir_ / "a" / "b");
  EXPECT_TRUE(fs::is_directory(dir_ / "a" / "b"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "a" / "b"), {}), 0);  // probe removed
  write_file_atomic(dir_ / "plain", "x");
  try {
    ensure_writable_directory(dir_ / "plain" / "sub");  // a file stands where a folder must go
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Io);
    EXPECT_NE(std::string(e.what()).find("plain"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ensure_writable_directory(dir_ / "plain"), Error);
}

}  // namespace
TEST(ExecutablePath, IsThisTestBinary) {
  const std::optional<std::filesystem::path> exe = executable_path();
  ASSERT_TRUE(exe.has_value());
  EXPECT_TRUE(exe->is_absolute());
  EXPECT_TRUE(std::filesystem::equivalent(*exe, "/proc/self/exe"));
  EXPECT_EQ(exe->filename(), "miso_core_tests");
}

}  // namespace miso::core
