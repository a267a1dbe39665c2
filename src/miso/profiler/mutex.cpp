#include "miso/profiler/mutex.hpp"

#include <algorithm>
#include <deque>
#include <map>

#include "miso/core/memory.hpp"

namespace miso::profiler {

struct LockRegistryAccess {
  static LockReading read(const Mutex& m) {
    return {m.stats_->name, m.acquisitions_.load(std::memory_order_relaxed),
            m.contended_.load(std::memory_order_relaxed), m.wait_ticks_.load(std::memory_order_relaxed),
            m.max_wait_ticks_.load(std::memory_order_relaxed)};
  }
};

namespace {

struct Locks {
  std::mutex mutex;
  std::deque<LockStats> stats;                 // deque: addresses stay put
  std::vector<const Mutex*> live;              // constructed, not yet destroyed
  std::map<std::string, LockReading> retired;  // totals of destroyed mutexes by name
};

Locks& locks() {
  static Locks* l = new Locks;  // leaked: mutexes may be used during static destruction
  return *l;
}

void accumulate(LockReading& into, const LockReading& r) {
  into.acquisitions += r.acquisitions;
  into.contended += r.contended;
  into.wait_ticks += r.wait_ticks;
  into.max_wait_ticks = std::max(into.max_wait_ticks, r.max_wait_ticks);
}

}  // namespace

Mutex::Mutex(std::string_view name) {
  core::memory::TagScope untagged(core::memory::kUntagged);
  Locks& l = locks();
  std::lock_guard lock(l.mutex);
  auto it = std::find_if(l.stats.begin(), l.stats.end(), [&](const LockStats& s) { return s.name == name; });
  if (it == l.stats.end()) {
    LockStats& s = l.stats.emplace_back();
    s.name = std::string(name);
    s.wait_name = s.name + ".wait";
    s.wait_site = SpanSite{s.wait_name.c_str(), __FILE__, __LINE__};
    stats_ = &s;
  } else {
    stats_ = &*it;
  }
  l.live.push_back(this);
}

Mutex::~Mutex() {
  core::memory::TagScope untagged(core::memory::kUntagged);
  Locks& l = locks();
  std::lock_guard lock(l.mutex);
  l.live.erase(std::find(l.live.begin(), l.live.end(), this));
  LockReading& r = l.retired[stats_->name];
  r.name = stats_->name;
  accumulate(r, LockRegistryAccess::read(*this));
}

LockReading Mutex::reading() const { return LockRegistryAccess::read(*this); }

LockReading read_lock(std::string_view name) {
  Locks& l = locks();
  std::lock_guard lock(l.mutex);
  LockReading total{std::string(name), 0, 0, 0, 0};
  auto it = l.retired.find(std::string(name));
  if (it != l.retired.end()) accumulate(total, it->second);
  for (const Mutex* m : l.live) {
    if (m->name() == name) accumulate(total, LockRegistryAccess::read(*m));
  }
  return total;
}

std::vector<LockReading> read_lock_stats() {
  std::vector<std::string> names;
  {
    Locks& l = locks();
    std::lock_guard lock(l.mutex);
    for (const LockStats& s : l.stats) names.push_back(s.name);
  }
  std::vector<LockReading> out;
  for (const std::string& n : names) out.push_back(read_lock(n));
  return out;
}

void Mutex::lock_contended() {
  init_clock();
  std::uint64_t start = now_ticks();
  mutex_.lock();
  std::uint64_t end = now_ticks();
  std::uint64_t waited = end - start;
  bump(acquisitions_);
  bump(contended_);
  bump(wait_ticks_, waited);
  if (waited > max_wait_ticks_.load(std::memory_order_relaxed)) {
    max_wait_ticks_.store(waited, std::memory_order_relaxed);
  }
  record_span(stats_->wait_site, start, end);
}

}  // namespace miso::profiler
