// File access with MISO's guarantees: every write goes to a temporary name in the
// target's folder and is renamed into place only when complete, so a reader never
// sees a half-written file; every failure names the path and the system's reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace miso::core {

// A file being written. Bytes go to "<path>.tmp.<pid>.<n>"; commit() flushes them to
// disk and renames the file to `path`. Destroying an uncommitted AtomicFile removes
// the temporary, leaving `path` as it was.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  // fsync when durable (the default), then rename into place.
  void commit(bool durable = true);

  const std::filesystem::path& path() const noexcept { return path_; }
  std::uint64_t bytes_written() const noexcept { return written_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

// Writes the whole file atomically (see AtomicFile).
void write_file_atomic(const std::filesystem::path& path, std::string_view contents, bool durable = false);

// Reads the whole file; throws Error(Io) naming the path when it cannot.
std::string read_file(const std::filesystem::path& path);

// A file opened for sequential reading in chunks.
class FileReader {
 public:
  explicit FileReader(const std::filesystem::path& path);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // Reads up to buffer.size() bytes; returns how many (0 at the end of the file).
  std::size_t read(std::span<std::byte> buffer);
  // Reads exactly buffer.size() bytes or throws Error(Format) saying the file is truncated.
  void read_exact(std::span<std::byte> buffer, std::string_view what);
  std::uint64_t size() const noexcept { return size_; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
};

// Creates `dir` (and parents) if needed and proves it writable by creating and
// removing a probe file; throws Error(Io) naming the folder otherwise.
void ensure_writable_directory(const std::filesystem::path& dir);

// The running executable's absolute path (/proc/self/exe), or nullopt when unreadable;
// tools find files installed beside it (plugins, the plugin worker).
std::optional<std::filesystem::path> executable_path();

}  // namespace miso::core
