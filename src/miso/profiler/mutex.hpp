// An instrumented mutex: a std::mutex that counts acquisitions, contended
// acquisitions and the time threads waited for it, per name. A contended wait also
// becomes a span "<name>.wait" on the waiting thread, so it shows in the trace.
// Uncontended locking costs one try_lock and one relaxed atomic increment.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "miso/profiler/span.hpp"

namespace miso::profiler {

struct LockStats {
  std::string name;
  std::string wait_name;  // "<name>.wait"
  SpanSite wait_site{};
  std::atomic<std::uint64_t> acquisitions{0};
  std::atomic<std::uint64_t> contended{0};
  std::atomic<std::uint64_t> wait_ticks{0};
  std::atomic<std::uint64_t> max_wait_ticks{0};
};

// Mutexes of the same name share one LockStats; it lives for the whole program.
LockStats& lock_stats(std::string_view name);

struct LockReading {
  std::string name;
  std::uint64_t acquisitions = 0;
  std::uint64_t contended = 0;
  std::uint64_t wait_ticks = 0;
  std::uint64_t max_wait_ticks = 0;
};
std::vector<LockReading> read_lock_stats();

// Satisfies Lockable: use with std::lock_guard, std::unique_lock and
// std::condition_variable_any.
class Mutex {
 public:
  explicit Mutex(std::string_view name) : stats_(&lock_stats(name)) {}
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {
    if (mutex_.try_lock()) {
      stats_->acquisitions.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    lock_contended();
  }
  bool try_lock() {
    if (!mutex_.try_lock()) return false;
    stats_->acquisitions.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  void unlock() { mutex_.unlock(); }

  const LockStats& stats() const noexcept { return *stats_; }

 private:
  void lock_contended();

  std::mutex mutex_;
  LockStats* stats_;
};

}  // namespace miso::profiler
