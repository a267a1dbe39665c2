// A profile run: runs the selected workloads at the selected sizes under full
// measurement and produces the report (documented in docs/report-format.md),
// written as a folder with report.json, trace.json and index.html.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "miso/core/error.hpp"
#include "miso/profiler/workload.hpp"

namespace miso::profiler {

inline constexpr int kReportVersion = 1;

// One step of a run, reported to ProfileOptions::on_progress (from the running thread).
struct ProfileProgress {
  std::string workload;  // "<component>.<workload>"
  DataSize size = DataSize::Small;
  std::string phase;      // "prepare" | "run" | "check" | "done"
  std::size_t index = 0;  // workload-and-size step, 0-based
  std::size_t total = 0;  // steps in the run
};

// A run stopped through ProfileOptions::cancel: nothing was written.
class ProfileCancelled : public miso::Error {
 public:
  ProfileCancelled() : miso::Error(miso::Error::Kind::Internal, "profile run cancelled; no report written") {}
};

struct ProfileOptions {
  std::vector<DataSize> sizes{DataSize::Small};
  std::vector<std::string> components;  // empty: all
  std::uint64_t seed = 42;
  std::filesystem::path out_dir = "miso-report";
  std::filesystem::path data_dir;  // empty: generate inputs in memory
  std::chrono::microseconds sample_period = std::chrono::milliseconds(5);
  unsigned threads = 0;
  unsigned repeat = 1;                                      // runs per workload and size; the median run is reported
  std::ostream* progress = nullptr;                         // one line per workload phase, or none
  std::function<void(const ProfileProgress&)> on_progress;  // structured progress, or none
  // Polled between phases (and inside long phases where workloads allow): when it turns
  // true the run stops, throws ProfileCancelled and writes nothing. The report folder is
  // written whole or not at all (files go to a temporary folder renamed into place).
  const std::atomic<bool>* cancel = nullptr;
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
