// The file format of generated data sets ("misodat"): a 48-byte header (magic,
// version, content kind, seed, payload length, payload checksum) and the payload.
// Reading verifies all of it, so a truncated or corrupted input is an error that
// names the file and the defect, never a wrong profile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace miso::profiler {

struct DataFile {
  std::string kind;  // up to 8 characters: "records", "bytes", ...
  std::uint64_t seed = 0;
  std::vector<std::byte> payload;
};

inline constexpr std::size_t kDataHeaderBytes = 48;

// Writes atomically, timing each chunk as I/O of site `io_name`.
void write_data_file(const std::filesystem::path& path, std::string_view kind, std::uint64_t seed,
                     std::span<const std::byte> payload, std::string_view io_name = "profiler.data.write");

// Reads and verifies; `expected_kind` must match. Timed as I/O of site `io_name`.
DataFile read_data_file(const std::filesystem::path& path, std::string_view expected_kind,
                        std::string_view io_name = "profiler.data.read");

[[noreturn]] void throw_not_whole(const std::filesystem::path& path, std::size_t bytes, std::size_t element_bytes);

// Reads a data file whose payload is an array of T (trivially copyable); a payload
// that is not a whole number of T is an Error(Format) naming the file.
template <typename T>
std::vector<T> read_data_array(const std::filesystem::path& path, std::string_view expected_kind, std::uint64_t& seed) {
  static_assert(std::is_trivially_copyable_v<T>);
  DataFile f = read_data_file(path, expected_kind);
  if (f.payload.size() % sizeof(T) != 0) throw_not_whole(path, f.payload.size(), sizeof(T));
  std::vector<T> out(f.payload.size() / sizeof(T));
  std::memcpy(out.data(), f.payload.data(), f.payload.size());
  seed = f.seed;
  return out;
}

}  // namespace miso::profiler
