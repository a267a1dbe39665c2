// NEXUS-OS's workload for `miso profile`: "nexus.blocked_sum", a task graph over
// a generated array (a leaf task per block computing a sum of squares, a binary
// tree of tasks combining them) whose size grows with the data set, checked
// against a sequential sum.
#pragma once

#include <cstdint>
#include <vector>

#include "miso/profiler/workload.hpp"

namespace miso::nexus {

class BlockedSumWorkload final : public profiler::Workload {
 public:
  static constexpr std::size_t kBlock = 16384;  // elements per leaf task

  void prepare(const profiler::WorkloadContext& ctx) override;
  std::uint64_t input_bytes() const override { return values_.size() * sizeof(std::int32_t); }
  void run(const profiler::WorkloadContext& ctx) override;
  profiler::CheckResult check() const override;
  std::vector<std::filesystem::path> save_input(const profiler::WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override;

 private:
  std::vector<std::int32_t> values_;
  std::uint64_t seed_ = 0;
  std::uint64_t expected_ = 0;
  std::uint64_t result_ = 0;
  std::size_t tasks_ = 0;
};

void register_workloads(profiler::WorkloadRegistry& registry);

}  // namespace miso::nexus
