// An instrumented mutex: a std::mutex that counts acquisitions, contended
// acquisitions and the time threads waited for it, per name. A contended wait also
// becomes a span "<name>.wait" on the waiting thread, so it shows in the trace.
// The counters of a mutex are written only by the thread holding it, so
// uncontended locking adds one try_lock and two plain memory operations.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "miso/profiler/span.hpp"

namespace miso::profiler {

class Mutex;

// Shared by all mutexes of one name; lives for the whole program.
struct LockStats {
  std::string name;
  std::string wait_name;  // "<name>.wait"
  SpanSite wait_site{};
};

struct LockReading {
  std::string name;
  std::uint64_t acquisitions = 0;
  std::uint64_t contended = 0;
  std::uint64_t wait_ticks = 0;
  std::uint64_t max_wait_ticks = 0;
};

// The totals of every mutex of that name, live or destroyed.
LockReading read_lock(std::string_view name);
std::vector<LockReading> read_lock_stats();

// Satisfies Lockable: use with std::lock_guard, std::unique_lock and
// std::condition_variable_any. Construction and destruction take a registry lock;
// keep instrumented mutexes long-lived.
class Mutex {
 public:
  explicit Mutex(std::string_view name);
  ~Mutex();
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {
    if (mutex_.try_lock()) {
      bump(acquisitions_);
      return;
    }
    lock_contended();
  }
  bool try_lock() {
    if (!mutex_.try_lock()) return false;
    bump(acquisitions_);
    return true;
  }
  void unlock() { mutex_.unlock(); }

  const std::string& name() const noexcept { return stats_->name; }
  LockReading reading() const;

 private:
  friend struct LockRegistryAccess;
  using Counter = std::atomic<std::uint64_t>;
  // Only the holder writes: a relaxed load and store, no locked instruction.
  static void bump(Counter& c, std::uint64_t by = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  void lock_contended();

  std::mutex mutex_;
  LockStats* stats_;
  Counter acquisitions_{0};
  Counter contended_{0};
  Counter wait_ticks_{0};
  Counter max_wait_ticks_{0};
};

}  // namespace miso::profiler
