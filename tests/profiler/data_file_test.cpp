#include "miso/profiler/data_file.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "test_dir.hpp"

namespace miso::profiler {
namespace {

using DataFileTest = miso::testing::TempDirTest;

std::vector<std::byte> sample_payload(std::size_t n) {
  std::vector<std::byte> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::byte>((i * 31 + 7) & 0xFF);
  return p;
}

void expect_corrupt(const std::filesystem::path& path, const std::string& kind, const std::string& needle) {
  try {
    read_data_file(path, kind);
    FAIL() << "expected an error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Format) << e.what();
    EXPECT_NE(std::string(e.what()).find(path.filename().string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST_F(DataFileTest, RoundTripPreservesPayloadKindAndSeed) {
  auto payload = sample_payload(10'000'000 + 3);  // spans several 4 MiB chunks
  write_data_file(dir_ / "d.misodat", "bytes", 99, payload);
  EXPECT_EQ(std::filesystem::file_size(dir_ / "d.misodat"), kDataHeaderBytes + payload.size());
  DataFile f = read_data_file(dir_ / "d.misodat", "bytes");
  EXPECT_EQ(f.kind, "bytes");
  EXPECT_EQ(f.seed, 99u);
  EXPECT_EQ(f.payload, payload);
  write_data_file(dir_ / "empty.misodat", "records", 1, {});
  EXPECT_TRUE(read_data_file(dir_ / "empty.misodat", "records").payload.empty());
}

TEST_F(DataFileTest, ArraysOfElementsRoundTripAndPartialElementsAreErrors) {
  std::vector<std::int32_t> values{1, -2, 3, 1 << 30};
  write_data_file(dir_ / "v.misodat", "int32", 77, std::as_bytes(std::span(values)));
  std::uint64_t seed = 0;
  EXPECT_EQ(read_data_array<std::int32_t>(dir_ / "v.misodat", "int32", seed), values);
  EXPECT_EQ(seed, 77u);
  auto odd = sample_payload(10);  // 10 bytes: not a whole number of 4-byte values
  write_data_file(dir_ / "odd.misodat", "int32", 1, odd);
  try {
    read_data_array<std::int32_t>(dir_ / "odd.misodat", "int32", seed);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Format);
    EXPECT_NE(std::string(e.what()).find("odd.misodat"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a whole number of 4-byte"), std::string::npos) << e.what();
  }
}

TEST_F(DataFileTest, CorruptionIsReportedPrecisely) {
  auto payload = sample_payload(1000);
  auto path = dir_ / "c.misodat";
  write_data_file(path, "bytes", 1, payload);
  std::string good = core::read_file(path);

  expect_corrupt(path, "records", "expected 'records'");

  std::string bad = good;
  bad[kDataHeaderBytes + 500] ^= 0x01;
  core::write_file_atomic(path, bad);
  expect_corrupt(path, "bytes", "checksum");

  core::write_file_atomic(path, good.substr(0, good.size() - 10));
  expect_corrupt(path, "bytes", "truncated");

  core::write_file_atomic(path, good + "extra");
  expect_corrupt(path, "bytes", "trailing");

  bad = good;
  bad[0] = 'X';
  core::write_file_atomic(path, bad);
  expect_corrupt(path, "bytes", "magic");

  bad = good;
  bad[8] = 9;  // version
  core::write_file_atomic(path, bad);
  expect_corrupt(path, "bytes", "version 9");

  core::write_file_atomic(path, "short");
  expect_corrupt(path, "bytes", "shorter than the 48-byte header");

  EXPECT_THROW(read_data_file(dir_ / "missing.misodat", "bytes"), Error);
  EXPECT_THROW(write_data_file(dir_ / "k", "far-too-long-kind", 0, {}), Error);
}

}  // namespace
}  // namespace miso::profiler
