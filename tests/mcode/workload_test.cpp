#include "miso/mcode/workload.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include "../profiler/test_dir.hpp"
#include "miso/core/error.hpp"
#include "miso/profiler/data_file.hpp"

namespace miso::mcode {
namespace {

using ScriptsWorkloadTest = miso::testing::TempDirTest;

// A data set far below "small" (and shards of 16 KiB, so the CSV script streams several
// files) keeps the test fast under the sanitizers.
ScriptsWorkloadOptions tiny(std::string corrupt = "") {
  ScriptsWorkloadOptions o;
  o.target_bytes = 64 << 10;
  o.shard_bytes = 8 << 10;
  o.corrupt_expected = std::move(corrupt);
  return o;
}

const ScriptReport* find_report(const ScriptsWorkload& w, const std::string& name) {
  for (const ScriptReport& r : w.reports())
    if (r.name == name) return &r;
  return nullptr;
}

TEST_F(ScriptsWorkloadTest, ScriptsAgreeWithCppAndInputRoundTrips) {
  profiler::WorkloadContext ctx{profiler::DataSize::Small, 7, {}, dir_, 0};
  ScriptsWorkload w(tiny());
  w.prepare(ctx);
  EXPECT_GT(w.input_bytes(), 48u << 10);
  EXPECT_FALSE(w.check().passed);  // not run yet
  w.run(ctx);
  profiler::CheckResult r = w.check();
  ASSERT_TRUE(r.passed) << r.detail;
  const ScriptReport* csv = find_report(w, "csv");
  ASSERT_NE(csv, nullptr);
  EXPECT_GT(csv->items, 500u);  // rows
  EXPECT_GT(csv->instructions, csv->items);
  EXPECT_GT(csv->objects_allocated, csv->items);
  EXPECT_NE(r.detail.find("rows"), std::string::npos) << r.detail;
  for (const char* name : {"words", "tmath", "mprime", "qlogik", "nexus", "echo", "bridge"}) {
    const ScriptReport* rep = find_report(w, name);
    ASSERT_NE(rep, nullptr) << name;
    EXPECT_TRUE(rep->passed) << rep->detail;
    EXPECT_GT(rep->instructions, 0u) << name;
  }
  // Several shards were written (the script reads them one at a time).
  int shards = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_))
    if (entry.path().filename().string().starts_with("mcode_sales_")) ++shards;
  EXPECT_GE(shards, 4);

  // Saved and read back: the same rows, so the same answers.
  const std::filesystem::path saved = dir_ / "saved";
  std::filesystem::create_directories(saved);
  auto files = w.save_input(ctx, saved);
  ASSERT_EQ(files.size(), 1u);
  const std::filesystem::path scratch = dir_ / "again";
  std::filesystem::create_directories(scratch);
  profiler::WorkloadContext load{profiler::DataSize::Small, 0, saved, scratch, 0};
  ScriptsWorkload again(tiny());
  again.prepare(load);
  again.run(load);
  profiler::CheckResult r2 = again.check();
  EXPECT_TRUE(r2.passed) << r2.detail;
  ASSERT_NE(find_report(again, "csv"), nullptr);
  EXPECT_EQ(find_report(again, "csv")->items, csv->items);
}

TEST_F(ScriptsWorkloadTest, CorruptedExpectedValuesAreDetected) {
  profiler::WorkloadContext ctx{profiler::DataSize::Small, 3, {}, dir_, 0};
  for (const char* script : {"csv", "words", "tmath", "mprime", "qlogik", "nexus", "echo", "bridge"}) {
    ScriptsWorkloadOptions o = tiny(script);
    o.only = {script};  // the others pass and would only cost time
    ScriptsWorkload w(o);
    w.prepare(ctx);
    w.run(ctx);
    profiler::CheckResult r = w.check();
    EXPECT_FALSE(r.passed) << script;
    ASSERT_EQ(w.reports().size(), 1u);
    EXPECT_NE(r.detail.find(std::string("FAILED ") + script + " script: "), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("but C++ computes"), std::string::npos) << r.detail;
  }
  EXPECT_THROW(ScriptsWorkload(tiny("nonsense")).prepare(ctx), Error);
}

TEST_F(ScriptsWorkloadTest, EchoAndBridgeScriptsDriveTheirEngines) {
  profiler::WorkloadContext ctx{profiler::DataSize::Small, 11, {}, dir_, 0};
  ScriptsWorkloadOptions o = tiny();
  o.only = {"echo", "bridge"};
  ScriptsWorkload w(o);
  w.prepare(ctx);
  w.run(ctx);
  profiler::CheckResult r = w.check();
  ASSERT_TRUE(r.passed) << r.detail;
  ASSERT_EQ(w.reports().size(), 2u);
  const ScriptReport* echo = find_report(w, "echo");
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(echo->items, 360u);  // 300 nodes on main, 60 on the forked branch
  // The planted paradoxes were found (and agree with echo C++): all three kinds.
  EXPECT_NE(r.detail.find("on 2 branches, "), std::string::npos) << r.detail;
  EXPECT_EQ(r.detail.find(" 0 paradoxes"), std::string::npos) << r.detail;
  const ScriptReport* bridge = find_report(w, "bridge");
  ASSERT_NE(bridge, nullptr);
  EXPECT_EQ(bridge->items, 400u);  // observation steps
  EXPECT_GT(bridge->bytes, 400u * 3);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "mcode_hmm.json"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "mcode_observations.txt"));
}

TEST_F(ScriptsWorkloadTest, AMalformedRowFailsTheWorkloadWithAClearMessage) {
  // A saved data set with a bad price: the C++ reference names the file and line.
  profiler::WorkloadContext ctx{profiler::DataSize::Small, 3, {}, dir_, 0};
  ScriptsWorkload w(tiny());
  w.prepare(ctx);
  const std::filesystem::path saved = dir_ / "saved";
  std::filesystem::create_directories(saved);
  auto files = w.save_input(ctx, saved);
  ASSERT_EQ(files.size(), 1u);
  // Rewrite the saved file with a broken row (a fresh, valid misodat file).
  std::string text = "id,region,product,quantity,price,timestamp\n0,north,p001,3,abc,1700000000\n";
  profiler::write_data_file(files[0], "csv", 3, std::as_bytes(std::span(text.data(), text.size())));
  const std::filesystem::path scratch = dir_ / "bad";
  std::filesystem::create_directories(scratch);
  profiler::WorkloadContext load{profiler::DataSize::Small, 0, saved, scratch, 0};
  ScriptsWorkload bad(tiny());
  try {
    bad.prepare(load);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot parse 'abc'"), std::string::npos) << e.what();
  }
}

TEST_F(ScriptsWorkloadTest, AScriptErrorFailsTheCheckWithTheScriptsMessage) {
  profiler::WorkloadContext ctx{profiler::DataSize::Small, 3, {}, dir_, 0};
  ScriptsWorkloadOptions o = tiny();
  o.only = {"csv"};
  ScriptsWorkload w(o);
  w.prepare(ctx);
  std::filesystem::remove(dir_ / "mcode_sales_0001.csv");  // read_lines fails on it
  w.run(ctx);
  profiler::CheckResult r = w.check();
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.detail.find("csv script failed: read_lines: cannot open"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("mcode.workload.csv.mc:"), std::string::npos) << r.detail;  // the M-CODE position
}

TEST(ScriptsWorkloadRegistry, RegistersOneMcodeWorkload) {
  profiler::WorkloadRegistry registry;
  register_workloads(registry);
  ASSERT_EQ(registry.all().size(), 1u);
  EXPECT_EQ(registry.all()[0].name, "mcode.scripts");
  EXPECT_EQ(registry.all()[0].component, "mcode");
}

}  // namespace
}  // namespace miso::mcode
