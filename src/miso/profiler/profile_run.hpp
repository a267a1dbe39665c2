// A profile run: runs the selected workloads at the selected sizes under full
// measurement and produces the report (documented in docs/report-format.md),
// written as a folder with report.json, trace.json and index.html.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "miso/profiler/workload.hpp"

namespace miso::profiler {

inline constexpr int kReportVersion = 1;

struct ProfileOptions {
  std::vector<DataSize> sizes{DataSize::Small};
  std::vector<std::string> components;  // empty: all
  std::uint64_t seed = 42;
  std::filesystem::path out_dir = "miso-report";
  std::filesystem::path data_dir;  // empty: generate inputs in memory
  std::chrono::microseconds sample_period = std::chrono::milliseconds(5);
  unsigned threads = 0;
  unsigned repeat = 1;               // runs per workload and size; the median run is reported
  std::ostream* progress = nullptr;  // one line per workload phase, or none
};

struct ProfileResult {
  nlohmann::json report;
  std::filesystem::path out_dir;
  bool checks_passed = true;
};

// Validates the options (unknown component, unwritable folder: Error before any
// work), runs, writes the folder. A workload that throws aborts the run with its
// error and nothing is written; a failed self-check is recorded and reported.
ProfileResult run_profile(const WorkloadRegistry& registry, const ProfileOptions& options);

// Writes `dir/report.json` and `dir/index.html` from a report (atomically).
void write_report_files(const nlohmann::json& report, const std::filesystem::path& dir);

}  // namespace miso::profiler
