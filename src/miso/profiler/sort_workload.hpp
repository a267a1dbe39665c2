// The profiler's own workload "profiler.sort": a parallel sort of generated
// 16-byte records (chunks sorted on separate threads, then merged pairwise in
// parallel), checked for order and for being a permutation of the input.
#pragma once

#include <cstdint>
#include <vector>

#include "miso/profiler/workload.hpp"

namespace miso::profiler {

struct Record {
  std::uint64_t key;
  std::uint64_t value;
};

class SortWorkload final : public Workload {
 public:
  void prepare(const WorkloadContext& ctx) override;
  std::uint64_t input_bytes() const override { return records_.size() * sizeof(Record); }
  void run(const WorkloadContext& ctx) override;
  CheckResult check() const override;
  std::vector<std::filesystem::path> save_input(const WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override;

  const std::vector<Record>& records() const noexcept { return records_; }

 private:
  std::vector<Record> records_;
  std::uint64_t input_fingerprint_ = 0;
  std::uint64_t seed_ = 0;
};

// Sorts by key using `threads` threads (0: hardware concurrency).
void parallel_sort(std::vector<Record>& records, unsigned threads);
// Order-independent fingerprint of a multiset of records.
std::uint64_t fingerprint(const std::vector<Record>& records) noexcept;
std::vector<Record> generate_records(std::uint64_t count, std::uint64_t seed);

}  // namespace miso::profiler
