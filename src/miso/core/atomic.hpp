// Small atomic helpers shared by the counters of core and profiler.
#pragma once

#include <atomic>

namespace miso::core {

// Raises `target` to `value` if `value` is larger (a high-water mark), lock-free.
template <typename T>
void store_max(std::atomic<T>& target, T value) noexcept {
  T seen = target.load(std::memory_order_relaxed);
  while (value > seen && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace miso::core
