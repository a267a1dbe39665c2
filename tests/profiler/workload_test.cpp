#include "miso/profiler/workload.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/profiler/builtin_workloads.hpp"
#include "miso/profiler/file_roundtrip_workload.hpp"
#include "miso/profiler/sort_workload.hpp"
#include "test_dir.hpp"

namespace miso::profiler {
namespace {

using WorkloadTest = miso::testing::TempDirTest;

TEST(DataSizes, ParseNamesAndTargets) {
  EXPECT_EQ(parse_size("small"), DataSize::Small);
  EXPECT_EQ(parse_size("medium"), DataSize::Medium);
  EXPECT_EQ(parse_size("large"), DataSize::Large);
  EXPECT_EQ(target_bytes(DataSize::Small), 1u << 20);
  EXPECT_EQ(target_bytes(DataSize::Medium), 100u << 20);
  EXPECT_EQ(target_bytes(DataSize::Large), 1u << 30);
  EXPECT_STREQ(to_string(DataSize::Medium), "medium");
  auto sizes = parse_sizes("small,large,small");
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[1], DataSize::Large);
  try {
    parse_size("huge");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'huge'"), std::string::npos);
  }
  EXPECT_THROW(parse_sizes("small,"), Error);
  EXPECT_THROW(parse_sizes(""), Error);
}

TEST(Registry, SelectsByComponentAndRejectsUnknownNames) {
  WorkloadRegistry r;
  register_profiler_workloads(r);
  r.add({"other.thing", "other", "", [] { return std::make_unique<SortWorkload>(); }});
  EXPECT_EQ(r.all().size(), 3u);
  EXPECT_EQ(r.components(), (std::vector<std::string>{"profiler", "other"}));
  EXPECT_EQ(r.select({}).size(), 3u);
  auto only = r.select({"other"});
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0]->name, "other.thing");
  try {
    r.select({"profiler", "nope"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("profiler, other"), std::string::npos);
  }
  EXPECT_THROW(r.add({"other.thing", "other", "", nullptr}), Error);
  EXPECT_EQ(input_file("/d", "a.b", DataSize::Large), std::filesystem::path("/d/a.b.large.misodat"));
}

TEST_F(WorkloadTest, InputsSavedAndReadBackGiveTheSameRun) {
  WorkloadContext gen{DataSize::Small, 11, {}, dir_, 0};
  SortWorkload a;
  a.prepare(gen);
  auto files = a.save_input(gen, dir_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(files[0]));
  WorkloadContext load{DataSize::Small, 999, dir_, dir_, 0};  // seed comes from the file
  SortWorkload b;
  b.prepare(load);
  EXPECT_EQ(fingerprint(a.records()), fingerprint(b.records()));

  FileRoundtripWorkload f;
  f.prepare(gen);
  f.save_input(gen, dir_);
  FileRoundtripWorkload g;
  g.prepare(load);
  EXPECT_EQ(g.input_bytes(), 1u << 20);
  g.run(load);
  CheckResult r = g.check();
  EXPECT_TRUE(r.passed) << r.detail;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "roundtrip.bin"));  // scratch cleaned
}

TEST_F(WorkloadTest, MissingOrCorruptInputIsAnError) {
  WorkloadContext load{DataSize::Small, 1, dir_, dir_, 0};
  SortWorkload s;
  EXPECT_THROW(s.prepare(load), Error);  // nothing generated yet
  core::write_file_atomic(input_file(dir_, "profiler.sort", DataSize::Small), "garbage that is not a data file....");
  try {
    s.prepare(load);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::Format);
    EXPECT_NE(std::string(e.what()).find("profiler.sort.small.misodat"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace miso::profiler
