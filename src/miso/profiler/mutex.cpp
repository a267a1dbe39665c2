#include "miso/profiler/mutex.hpp"

#include <deque>

#include "miso/core/memory.hpp"

namespace miso::profiler {

namespace {

struct Locks {
  std::mutex mutex;
  std::deque<LockStats> items;
};

Locks& locks() {
  static Locks* l = new Locks;  // leaked: mutexes may be used during static destruction
  return *l;
}

}  // namespace

LockStats& lock_stats(std::string_view name) {
  core::memory::TagScope untagged(core::memory::kUntagged);
  Locks& l = locks();
  std::lock_guard lock(l.mutex);
  for (LockStats& s : l.items) {
    if (s.name == name) return s;
  }
  LockStats& s = l.items.emplace_back();
  s.name = std::string(name);
  s.wait_name = s.name + ".wait";
  s.wait_site = SpanSite{s.wait_name.c_str(), __FILE__, __LINE__};
  return s;
}

std::vector<LockReading> read_lock_stats() {
  Locks& l = locks();
  std::lock_guard lock(l.mutex);
  std::vector<LockReading> out;
  for (const LockStats& s : l.items) {
    out.push_back({s.name, s.acquisitions.load(std::memory_order_relaxed), s.contended.load(std::memory_order_relaxed),
                   s.wait_ticks.load(std::memory_order_relaxed), s.max_wait_ticks.load(std::memory_order_relaxed)});
  }
  return out;
}

void Mutex::lock_contended() {
  init_clock();
  std::uint64_t start = now_ticks();
  mutex_.lock();
  std::uint64_t end = now_ticks();
  std::uint64_t waited = end - start;
  stats_->acquisitions.fetch_add(1, std::memory_order_relaxed);
  stats_->contended.fetch_add(1, std::memory_order_relaxed);
  stats_->wait_ticks.fetch_add(waited, std::memory_order_relaxed);
  std::uint64_t max = stats_->max_wait_ticks.load(std::memory_order_relaxed);
  while (waited > max && !stats_->max_wait_ticks.compare_exchange_weak(max, waited, std::memory_order_relaxed)) {
  }
  record_span(stats_->wait_site, start, end);
}

}  // namespace miso::profiler
