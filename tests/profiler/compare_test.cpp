#include "miso/profiler/compare.hpp"

#include <gtest/gtest.h>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/profiler/profile_run.hpp"
#include "test_dir.hpp"

namespace miso::profiler {
namespace {

using nlohmann::json;
using CompareTest = miso::testing::TempDirTest;

json workload(const std::string& name, double wall, double peak) {
  return {{"name", name},
          {"size", "small"},
          {"wall_ns", wall},
          {"cpu_ns", wall},
          {"memory", {{"peak_bytes", peak}, {"allocated_bytes", peak}}},
          {"spans", json::array({{{"name", name + ".inner"}, {"total_ns", wall / 2}, {"median_ns", wall / 4}}})}};
}

json report(std::vector<json> workloads) {
  return {{"schema", "miso-profile-report"}, {"version", kReportVersion}, {"workloads", workloads}};
}

TEST(Compare, EqualRunsPass) {
  json a = report({workload("x.a", 5e6, 1e7)});
  CompareResult r = compare_reports(a, a);
  EXPECT_FALSE(r.regressed());
  ASSERT_EQ(r.rows.size(), 6u);  // 4 workload metrics + 2 span metrics
  for (const MetricComparison& m : r.rows) EXPECT_DOUBLE_EQ(m.ratio, 1.0);
}

TEST(Compare, PlantedRegressionIsFlagged) {
  json a = report({workload("x.a", 5e6, 1e7), workload("x.b", 5e6, 1e7)});
  json b = report({workload("x.a", 6e6, 1e7), workload("x.b", 5.2e6, 1e7)});  // +20% and +4%
  CompareResult r = compare_reports(a, b);
  EXPECT_TRUE(r.regressed());
  int flagged = 0;
  for (const MetricComparison& m : r.rows) {
    if (!m.regression) continue;
    ++flagged;
    EXPECT_EQ(m.subject.rfind("x.a@small", 0), 0u) << m.subject;
  }
  EXPECT_EQ(flagged, 4);  // wall, cpu, span total, span median of x.a
  CompareOptions loose;
  loose.threshold = 0.25;
  EXPECT_FALSE(compare_reports(a, b, loose).regressed());
}

TEST(Compare, NoiseFloorImprovementsAndMissingWorkloads) {
  json a = report({workload("x.a", 1000, 100), workload("x.gone", 5e6, 1e7)});
  json b = report({workload("x.a", 5000, 100), workload("x.new", 5e6, 1e7)});
  CompareResult r = compare_reports(a, b);
  EXPECT_FALSE(r.regressed());  // 5x, but 5 us is below the 100 us floor
  EXPECT_TRUE(r.rows[0].below_floor);
  EXPECT_EQ(r.only_in_a, std::vector<std::string>{"x.gone@small"});
  EXPECT_EQ(r.only_in_b, std::vector<std::string>{"x.new@small"});

  CompareResult faster = compare_reports(report({workload("x.a", 1e7, 1e7)}), report({workload("x.a", 5e6, 1e7)}));
  EXPECT_FALSE(faster.regressed());
  EXPECT_TRUE(faster.rows[0].improvement);

  json zero = report({workload("x.a", 0, 1e7)});
  CompareResult from_zero = compare_reports(zero, report({workload("x.a", 1e6, 1e7)}));
  EXPECT_TRUE(std::isinf(from_zero.rows[0].ratio));
  EXPECT_TRUE(from_zero.rows[0].regression);
  json j = to_json(from_zero, CompareOptions{});
  EXPECT_TRUE(j["regressed"].get<bool>());
  EXPECT_TRUE(j["rows"][0]["ratio"].is_null());
}

TEST(Compare, DifferencesWithinTheRunsOwnSpreadAreNotFlagged) {
  json a = report({workload("x.a", 5e6, 1e7)});
  json b = report({workload("x.a", 6e6, 1e7)});  // +20%
  ASSERT_TRUE(compare_reports(a, b).regressed());
  a["workloads"][0]["repetitions"] = {{"count", 3}, {"wall_ns", {4e6, 5e6, 5.5e6}}};  // spread 30%
  CompareResult r = compare_reports(a, b);
  EXPECT_FALSE(r.regressed());
  EXPECT_DOUBLE_EQ(r.rows[0].threshold, 0.3);
  EXPECT_DOUBLE_EQ(r.rows[2].threshold, 0.1);  // memory keeps the plain threshold
  b["workloads"][0]["wall_ns"] = 7e6;          // +40%: beyond the spread
  EXPECT_TRUE(compare_reports(a, b).rows[0].regression);
}

TEST_F(CompareTest, LoadReportValidatesFiles) {
  json good = report({workload("x.a", 1, 1)});
  core::write_file_atomic(dir_ / "report.json", good.dump());
  EXPECT_EQ(load_report(dir_), good);
  EXPECT_EQ(load_report(dir_ / "report.json"), good);

  auto expect_error = [&](const std::string& text, const std::string& needle) {
    core::write_file_atomic(dir_ / "bad.json", text);
    try {
      load_report(dir_ / "bad.json");
      FAIL() << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::Format);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
  };
  expect_error("{not json", "not valid JSON");
  expect_error(R"({"schema": "other"})", "not a MISO profile report");
  expect_error(R"({"schema": "miso-profile-report", "version": 99, "workloads": []})", "version 99");
  expect_error(R"({"schema": "miso-profile-report", "version": 1})", "no workloads");
  EXPECT_THROW(load_report(dir_ / "missing"), Error);

  json broken = report({json{{"name", "x"}, {"size", "small"}}});
  EXPECT_THROW(compare_reports(broken, broken), Error);
}

}  // namespace
}  // namespace miso::profiler
