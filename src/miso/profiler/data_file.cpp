#include "miso/profiler/data_file.hpp"

#include <cstring>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/core/hash.hpp"
#include "miso/profiler/io.hpp"

namespace miso::profiler {

namespace {

constexpr char kMagic[8] = {'M', 'I', 'S', 'O', 'D', 'A', 'T', '\0'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kChunk = std::size_t{4} << 20;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t header_bytes;
  char kind[8];
  std::uint64_t seed;
  std::uint64_t payload_bytes;
  std::uint64_t payload_checksum;
};
static_assert(sizeof(Header) == kDataHeaderBytes);

[[noreturn]] void corrupt(const std::filesystem::path& path, const std::string& what) {
  throw Error(Error::Kind::Format, "corrupt data file '" + path.string() + "': " + what);
}

}  // namespace

void write_data_file(const std::filesystem::path& path, std::string_view kind, std::uint64_t seed,
                     std::span<const std::byte> payload, std::string_view io_name) {
  if (kind.size() > 8)
    throw Error(Error::Kind::InvalidArgument, "data file kind '" + std::string(kind) + "' is longer than 8");
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.header_bytes = kDataHeaderBytes;
  std::memcpy(h.kind, kind.data(), kind.size());
  h.seed = seed;
  h.payload_bytes = payload.size();
  h.payload_checksum = core::checksum(payload);

  IoSiteStats& site = io_site(io_name, IoDirection::Write);
  core::AtomicFile file(path);
  {
    IoScope io(site, sizeof h);
    file.write(std::as_bytes(std::span(&h, 1)));
  }
  for (std::size_t at = 0; at < payload.size(); at += kChunk) {
    auto chunk = payload.subspan(at, std::min(kChunk, payload.size() - at));
    IoScope io(site, chunk.size());
    file.write(chunk);
  }
  IoScope io(site);
  file.commit(true);
}

void throw_not_whole(const std::filesystem::path& path, std::size_t bytes, std::size_t element_bytes) {
  corrupt(path, std::to_string(bytes) + " payload bytes is not a whole number of " + std::to_string(element_bytes) +
                    "-byte elements");
}

DataFile read_data_file(const std::filesystem::path& path, std::string_view expected_kind, std::string_view io_name) {
  IoSiteStats& site = io_site(io_name, IoDirection::Read);
  core::FileReader reader(path);
  if (reader.size() < kDataHeaderBytes) {
    corrupt(path, "only " + std::to_string(reader.size()) + " bytes, shorter than the 48-byte header");
  }
  Header h{};
  {
    IoScope io(site, sizeof h);
    reader.read_exact(std::as_writable_bytes(std::span(&h, 1)), "header");
  }
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) corrupt(path, "bad magic (not a misodat file)");
  if (h.version != kVersion) {
    corrupt(path, "version " + std::to_string(h.version) + ", this build reads version " + std::to_string(kVersion));
  }
  if (h.header_bytes != kDataHeaderBytes) corrupt(path, "header length " + std::to_string(h.header_bytes));
  std::string kind(h.kind, strnlen(h.kind, sizeof h.kind));
  if (kind != expected_kind) {
    corrupt(path, "holds '" + kind + "' data, expected '" + std::string(expected_kind) + "'");
  }
  std::uint64_t expected_size = kDataHeaderBytes + h.payload_bytes;
  if (reader.size() != expected_size) {
    corrupt(path, "header promises " + std::to_string(h.payload_bytes) + " payload bytes, file has " +
                      std::to_string(reader.size() - kDataHeaderBytes) +
                      (reader.size() < expected_size ? " (truncated)" : " (trailing bytes)"));
  }
  DataFile out;
  out.kind = kind;
  out.seed = h.seed;
  out.payload.resize(h.payload_bytes);
  std::span<std::byte> all(out.payload);
  for (std::size_t at = 0; at < all.size(); at += kChunk) {
    auto chunk = all.subspan(at, std::min(kChunk, all.size() - at));
    IoScope io(site, chunk.size());
    reader.read_exact(chunk, "payload");
  }
  if (core::checksum(out.payload) != h.payload_checksum) corrupt(path, "payload checksum mismatch");
  return out;
}

}  // namespace miso::profiler
