// Workloads: what `miso profile` runs. Every component registers one or more; each
// generates its input for a data-set size from a seed (or reads it back from files
// written by `miso data gen`), runs its representative operations, and checks its
// own result, because a profile of wrong answers is worthless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace miso::profiler {

enum class DataSize { Small, Medium, Large };

// "small" | "medium" | "large"; throws Error(InvalidArgument) naming the value.
DataSize parse_size(std::string_view text);
std::vector<DataSize> parse_sizes(std::string_view comma_separated);
const char* to_string(DataSize size) noexcept;
// Nominal input size: 1 MiB, 100 MiB, 1 GiB.
std::uint64_t target_bytes(DataSize size) noexcept;

struct WorkloadContext {
  DataSize size = DataSize::Small;
  std::uint64_t seed = 42;
  std::filesystem::path data_dir;     // empty: generate the input in memory
  std::filesystem::path scratch_dir;  // where a workload may write temporary files
  unsigned threads = 0;               // 0: one per hardware thread
};

struct CheckResult {
  bool passed = false;
  std::string detail;  // what was verified, or what was wrong
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Generates the input (or reads it from ctx.data_dir). Measured as its own phase.
  virtual void prepare(const WorkloadContext& ctx) = 0;
  virtual std::uint64_t input_bytes() const = 0;
  // The measured work.
  virtual void run(const WorkloadContext& ctx) = 0;
  // Verifies what run() produced.
  virtual CheckResult check() const = 0;
  // Writes the prepared input under `dir` for later runs with a data folder;
  // returns the files written.
  virtual std::vector<std::filesystem::path> save_input(const WorkloadContext& ctx,
                                                        const std::filesystem::path& dir) const = 0;
};

struct WorkloadInfo {
  std::string name;       // "<component>.<workload>"
  std::string component;  // "profiler", "tmath", ...
  std::string description;
  std::function<std::unique_ptr<Workload>()> make;
};

class WorkloadRegistry {
 public:
  // Throws Error(InvalidArgument) on a duplicate name.
  void add(WorkloadInfo info);
  const std::vector<WorkloadInfo>& all() const noexcept { return workloads_; }
  std::vector<std::string> components() const;
  // The workloads of the named components (all when empty), in registration order.
  // Throws Error(InvalidArgument) naming an unknown component and the known ones.
  std::vector<const WorkloadInfo*> select(const std::vector<std::string>& components) const;

 private:
  std::vector<WorkloadInfo> workloads_;
};

// The file a workload's input is saved to: "<dir>/<workload>.<size>.misodat".
std::filesystem::path input_file(const std::filesystem::path& dir, std::string_view workload, DataSize size);

}  // namespace miso::profiler
