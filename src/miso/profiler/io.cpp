#include "miso/profiler/io.hpp"

#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>

#include "miso/core/atomic.hpp"
#include "miso/core/memory.hpp"

namespace miso::profiler {

namespace {

struct IoSites {
  std::mutex mutex;
  std::deque<IoSiteStats> items;
};

IoSites& sites() {
  static IoSites* s = new IoSites;  // leaked: used until exit
  return *s;
}

}  // namespace

const char* to_string(IoDirection direction) noexcept { return direction == IoDirection::Read ? "read" : "write"; }

IoSiteStats& io_site(std::string_view name, IoDirection direction) {
  core::memory::TagScope untagged(core::memory::kUntagged);
  const SpanSite& span = intern_site(name);
  IoSites& s = sites();
  std::lock_guard lock(s.mutex);
  for (IoSiteStats& item : s.items) {
    if (item.name == name && item.direction == direction) return item;
  }
  IoSiteStats& item = s.items.emplace_back();
  item.name = std::string(name);
  item.direction = direction;
  item.site = &span;
  return item;
}

std::vector<IoReading> read_io_sites() {
  IoSites& s = sites();
  std::lock_guard lock(s.mutex);
  std::vector<IoReading> out;
  for (const IoSiteStats& item : s.items) {
    out.push_back({item.name, item.direction, item.operations.load(std::memory_order_relaxed),
                   item.bytes.load(std::memory_order_relaxed), item.ticks.load(std::memory_order_relaxed),
                   item.max_ticks.load(std::memory_order_relaxed)});
  }
  return out;
}

IoScope::~IoScope() {
  std::uint64_t end = now_ticks();
  std::uint64_t took = end - start_;
  site_->operations.fetch_add(1, std::memory_order_relaxed);
  site_->bytes.fetch_add(bytes_, std::memory_order_relaxed);
  site_->ticks.fetch_add(took, std::memory_order_relaxed);
  core::store_max(site_->max_ticks, took);
  record_span(*site_->site, start_, end);
}

ProcessIo read_process_io() {
  ProcessIo io;
  std::FILE* f = std::fopen("/proc/self/io", "r");
  if (f == nullptr) return io;
  char key[64];
  unsigned long long value = 0;
  int fields = 0;
  while (std::fscanf(f, "%63[^:]: %llu\n", key, &value) == 2) {
    ++fields;
    if (std::strcmp(key, "rchar") == 0)
      io.read_chars = value;
    else if (std::strcmp(key, "wchar") == 0)
      io.write_chars = value;
    else if (std::strcmp(key, "syscr") == 0)
      io.read_calls = value;
    else if (std::strcmp(key, "syscw") == 0)
      io.write_calls = value;
    else if (std::strcmp(key, "read_bytes") == 0)
      io.storage_read = value;
    else if (std::strcmp(key, "write_bytes") == 0)
      io.storage_write = value;
  }
  std::fclose(f);
  io.available = fields >= 6;
  return io;
}

ProcessIo operator-(const ProcessIo& later, const ProcessIo& earlier) {
  ProcessIo d;
  d.available = later.available && earlier.available;
  d.read_chars = later.read_chars - earlier.read_chars;
  d.write_chars = later.write_chars - earlier.write_chars;
  d.read_calls = later.read_calls - earlier.read_calls;
  d.write_calls = later.write_calls - earlier.write_calls;
  d.storage_read = later.storage_read - earlier.storage_read;
  d.storage_write = later.storage_write - earlier.storage_write;
  return d;
}

}  // namespace miso::profiler
