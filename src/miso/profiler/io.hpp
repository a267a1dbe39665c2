// I/O measurement: timed scopes around the project's own file access (bytes,
// operations, time per named site) and the process-wide totals the kernel keeps in
// /proc/self/io, which also see I/O done by libraries.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "miso/profiler/span.hpp"

namespace miso::profiler {

enum class IoDirection { Read, Write };
const char* to_string(IoDirection direction) noexcept;

struct IoSiteStats {
  std::string name;
  IoDirection direction = IoDirection::Read;
  const SpanSite* site = nullptr;
  std::atomic<std::uint64_t> operations{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> ticks{0};
  std::atomic<std::uint64_t> max_ticks{0};
};

// Same name and direction, same stats; they live for the whole program.
IoSiteStats& io_site(std::string_view name, IoDirection direction);

struct IoReading {
  std::string name;
  IoDirection direction;
  std::uint64_t operations = 0;
  std::uint64_t bytes = 0;
  std::uint64_t ticks = 0;
  std::uint64_t max_ticks = 0;
};
std::vector<IoReading> read_io_sites();

// Times one I/O operation (a whole file read, a chunk written). Also recorded as a
// span of the same name. Look the site up once (io_site) for loops.
class IoScope {
 public:
  IoScope(IoSiteStats& site, std::uint64_t bytes = 0) noexcept : site_(&site), bytes_(bytes), start_(now_ticks()) {}
  IoScope(std::string_view name, IoDirection direction, std::uint64_t bytes = 0)
      : IoScope(io_site(name, direction), bytes) {}
  ~IoScope();
  IoScope(const IoScope&) = delete;
  IoScope& operator=(const IoScope&) = delete;

  void add_bytes(std::uint64_t n) noexcept { bytes_ += n; }

 private:
  IoSiteStats* site_;
  std::uint64_t bytes_;
  std::uint64_t start_;
};

// The kernel's I/O accounting for this process (/proc/self/io).
struct ProcessIo {
  bool available = false;
  std::uint64_t read_chars = 0;     // rchar: bytes passed to read-like calls
  std::uint64_t write_chars = 0;    // wchar
  std::uint64_t read_calls = 0;     // syscr
  std::uint64_t write_calls = 0;    // syscw
  std::uint64_t storage_read = 0;   // read_bytes: fetched from the storage layer
  std::uint64_t storage_write = 0;  // write_bytes: sent to the storage layer
};
ProcessIo read_process_io();
ProcessIo operator-(const ProcessIo& later, const ProcessIo& earlier);

}  // namespace miso::profiler
