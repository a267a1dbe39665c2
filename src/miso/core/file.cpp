#include "miso/core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "miso/core/error.hpp"

namespace miso::core {

namespace {

std::string system_reason() { return system_error_text(errno); }

[[noreturn]] void fail_io(const std::string& what, const std::filesystem::path& path) {
  throw Error(Error::Kind::Io, what + " '" + path.string() + "': " + system_reason());
}

std::filesystem::path temp_name_for(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path temp = path;
  temp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  return temp;
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)), temp_(temp_name_for(path_)) {
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail_io("cannot create file for", path_);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void AtomicFile::write(std::span<const std::byte> bytes) {
  if (fd_ < 0) throw Error(Error::Kind::Internal, "write after commit to '" + path_.string() + "'");
  const std::byte* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io("cannot write", path_);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  written_ += bytes.size();
}

void AtomicFile::write(std::string_view text) { write(std::as_bytes(std::span(text.data(), text.size()))); }

void AtomicFile::commit(bool durable) {
  if (fd_ < 0) throw Error(Error::Kind::Internal, "commit twice of '" + path_.string() + "'");
  if (durable && ::fdatasync(fd_) != 0) fail_io("cannot flush", path_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_.c_str());
    fail_io("cannot close", path_);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    int saved = errno;
    ::unlink(temp_.c_str());
    errno = saved;
    fail_io("cannot rename into place", path_);
  }
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents, bool durable) {
  AtomicFile file(path);
  file.write(contents);
  file.commit(durable);
}

FileReader::FileReader(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail_io("cannot open", path);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    ::close(fd_);
    fail_io("cannot stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    throw Error(Error::Kind::Io, "cannot read '" + path.string() + "': it is a folder");
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
}

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t FileReader::read(std::span<std::byte> buffer) {
  std::size_t got = 0;
  while (got < buffer.size()) {
    ssize_t n = ::read(fd_, buffer.data() + got, buffer.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io("cannot read", path_);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  offset_ += got;
  return got;
}

void FileReader::read_exact(std::span<std::byte> buffer, std::string_view what) {
  std::uint64_t at = offset_;
  std::size_t got = read(buffer);
  if (got != buffer.size()) {
    throw Error(Error::Kind::Format, "'" + path_.string() + "' is truncated: expected " +
                                         std::to_string(buffer.size()) + " bytes of " + std::string(what) +
                                         " at offset " + std::to_string(at) + ", found " + std::to_string(got));
  }
}

std::string read_file(const std::filesystem::path& path) {
  FileReader reader(path);
  std::string contents(reader.size(), '\0');
  std::size_t got = reader.read(std::as_writable_bytes(std::span(contents.data(), contents.size())));
  contents.resize(got);
  return contents;
}

void ensure_writable_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw Error(Error::Kind::Io, "cannot create folder '" + dir.string() + "': " + ec.message());
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(Error::Kind::Io, "'" + dir.string() + "' is not a folder");
  }
  std::filesystem::path probe = temp_name_for(dir / ".miso-write-probe");
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail_io("cannot write into folder", dir);
  ::close(fd);
  ::unlink(probe.c_str());
}

std::optional<std::filesystem::path> executable_path() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  return exe;
}

}  // namespace miso::core
