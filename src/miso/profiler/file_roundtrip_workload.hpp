// The profiler's own workload "profiler.file_roundtrip": writes its data set to a
// file in chunks (flushed to disk), reads it back in chunks and verifies the
// checksum, so the report's I/O section measures real file access.
#pragma once

#include <cstdint>
#include <vector>

#include "miso/profiler/workload.hpp"

namespace miso::profiler {

class FileRoundtripWorkload final : public Workload {
 public:
  void prepare(const WorkloadContext& ctx) override;
  std::uint64_t input_bytes() const override { return payload_.size(); }
  void run(const WorkloadContext& ctx) override;
  CheckResult check() const override;
  std::vector<std::filesystem::path> save_input(const WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override;

 private:
  std::vector<std::byte> payload_;
  std::uint64_t seed_ = 0;
  std::uint64_t expected_checksum_ = 0;
  std::uint64_t read_checksum_ = 0;
  std::uint64_t read_bytes_ = 0;
};

std::vector<std::byte> generate_bytes(std::uint64_t count, std::uint64_t seed);

}  // namespace miso::profiler
