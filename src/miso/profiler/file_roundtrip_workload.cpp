#include "miso/profiler/file_roundtrip_workload.hpp"

#include <cstring>

#include "miso/core/file.hpp"
#include "miso/core/hash.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/profiler/io.hpp"
#include "miso/profiler/span.hpp"

namespace miso::profiler {

namespace {

constexpr const char* kName = "profiler.file_roundtrip";
constexpr const char* kKind = "bytes";
constexpr std::size_t kChunk = std::size_t{1} << 20;

}  // namespace

std::vector<std::byte> generate_bytes(std::uint64_t count, std::uint64_t seed) {
  std::vector<std::byte> out(count);
  core::SplitMix64 rng(seed);
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    std::uint64_t word = rng.next();
    std::memcpy(out.data() + i, &word, 8);
  }
  std::uint64_t tail = rng.next();
  for (; i < count; ++i, tail >>= 8) out[i] = static_cast<std::byte>(tail & 0xFF);
  return out;
}

void FileRoundtripWorkload::prepare(const WorkloadContext& ctx) {
  MISO_PROFILE_SCOPE("profiler.file_roundtrip.prepare");
  if (ctx.data_dir.empty()) {
    seed_ = ctx.seed;
    payload_ = generate_bytes(target_bytes(ctx.size), ctx.seed);
  } else {
    DataFile f = read_data_file(input_file(ctx.data_dir, kName, ctx.size), kKind);
    seed_ = f.seed;
    payload_ = std::move(f.payload);
  }
  expected_checksum_ = core::checksum(payload_);
}

void FileRoundtripWorkload::run(const WorkloadContext& ctx) {
  std::filesystem::path path = ctx.scratch_dir / "roundtrip.bin";
  {
    MISO_PROFILE_SCOPE("profiler.file_roundtrip.write");
    IoSiteStats& site = io_site("profiler.file_roundtrip.write_chunk", IoDirection::Write);
    core::AtomicFile file(path);
    std::span<const std::byte> all(payload_);
    for (std::size_t at = 0; at < all.size(); at += kChunk) {
      auto chunk = all.subspan(at, std::min(kChunk, all.size() - at));
      IoScope io(site, chunk.size());
      file.write(chunk);
    }
    IoScope io("profiler.file_roundtrip.sync", IoDirection::Write);
    file.commit(true);
  }
  {
    MISO_PROFILE_SCOPE("profiler.file_roundtrip.read");
    IoSiteStats& site = io_site("profiler.file_roundtrip.read_chunk", IoDirection::Read);
    core::FileReader reader(path);
    std::vector<std::byte> buffer(kChunk);
    core::Checksum sum;
    read_bytes_ = 0;
    for (;;) {
      IoScope io(site);
      std::size_t n = reader.read(buffer);
      io.add_bytes(n);
      if (n == 0) break;
      sum.update(std::span(buffer.data(), n));
      read_bytes_ += n;
    }
    read_checksum_ = sum.value();
  }
  std::filesystem::remove(path);
}

CheckResult FileRoundtripWorkload::check() const {
  if (read_bytes_ != payload_.size()) {
    return {false, "read back " + std::to_string(read_bytes_) + " bytes, wrote " + std::to_string(payload_.size())};
  }
  if (read_checksum_ != expected_checksum_) return {false, "checksum of the bytes read back differs"};
  return {true, std::to_string(read_bytes_) + " bytes written, flushed, read back with equal checksum"};
}

std::vector<std::filesystem::path> FileRoundtripWorkload::save_input(const WorkloadContext& ctx,
                                                                     const std::filesystem::path& dir) const {
  auto path = input_file(dir, kName, ctx.size);
  write_data_file(path, kKind, seed_, payload_);
  return {path};
}

}  // namespace miso::profiler
