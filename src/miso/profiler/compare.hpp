// Comparing two profile runs: for every workload (at every size) and every span in
// it, the ratio B/A of time and memory metrics, with regressions beyond a threshold
// flagged, so `miso profile compare` can gate a change on performance. Runs made
// with --repeat carry their spread; a time difference within it is not flagged.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace miso::profiler {

struct CompareOptions {
  double threshold = 0.10;         // flag B/A > 1 + threshold
  double min_time_ns = 100'000;    // times below this in both runs are noise, never flagged
  double min_bytes = 64.0 * 1024;  // likewise for memory
};

struct MetricComparison {
  std::string subject;  // "profiler.sort@small" or "profiler.sort@small / profiler.sort.chunk"
  std::string metric;   // "wall_ns", "peak_bytes", "total_ns", ...
  double a = 0;
  double b = 0;
  double ratio = 1;  // b / a (infinity when a is 0 and b is not)
  bool regression = false;
  bool improvement = false;  // b / a < 1 / (1 + threshold)
  bool below_floor = false;  // too small to judge
  double threshold = 0;      // the threshold applied: the option, or for times the
                             // runs' own spread when that is larger
};

struct CompareResult {
  std::vector<MetricComparison> rows;
  std::vector<std::string> only_in_a;  // workloads missing from B
  std::vector<std::string> only_in_b;
  bool regressed() const;
};

// Reads a report from a run folder or a report.json path; checks schema and version.
nlohmann::json load_report(const std::filesystem::path& path);

CompareResult compare_reports(const nlohmann::json& a, const nlohmann::json& b, const CompareOptions& options = {});

nlohmann::json to_json(const CompareResult& result, const CompareOptions& options);

}  // namespace miso::profiler
