// The tensor memory pool: a size-class caching allocator. Blocks are 64-byte
// aligned; a freed block goes to its class's free list and the next request of
// that class takes it back, so after warm-up the hot path never reaches the
// system allocator. Blocks of 2 MiB and more are 2 MiB aligned and advised for
// transparent huge pages. Blocks come from the system under the memory tag "tmath"
// (miso::core memory accounting), and the pool publishes its own figures as
// profiler gauges tmath.pool.in_use and tmath.pool.cached.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "miso/profiler/metric.hpp"
#include "miso/profiler/mutex.hpp"

namespace miso::tmath {

inline constexpr std::size_t kAlignment = 64;

struct PoolStats {
  std::uint64_t in_use_bytes = 0;  // handed out and not yet returned (class sizes)
  std::uint64_t peak_in_use_bytes = 0;
  std::uint64_t cached_bytes = 0;  // returned and kept for reuse
  std::uint64_t hits = 0;          // requests served from a free list
  std::uint64_t misses = 0;        // requests that went to the system
};

class MemoryPool {
 public:
  // cache_limit: the most bytes kept in free lists; beyond it freed blocks go
  // back to the system.
  explicit MemoryPool(std::size_t cache_limit = std::size_t{2} << 30);
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  // The pool tensors use.
  static MemoryPool& global();

  // A block of at least `bytes` (0 allowed), 64-byte aligned. Throws
  // std::bad_alloc when the system has no memory left.
  void* allocate(std::size_t bytes);
  // Gives back a block from allocate(bytes) with the same `bytes`.
  void deallocate(void* block, std::size_t bytes) noexcept;
  // Returns every cached block to the system.
  void trim() noexcept;
  PoolStats stats() const;
  void reset_peak() noexcept;

  // The size class of a request: powers of two up to 64 KiB, then steps of a
  // quarter of the power of two below (at most 25% slack).
  static std::size_t class_size(std::size_t bytes) noexcept;
  // The free list a request goes to (kClasses: too large to cache), and back.
  static std::size_t class_index(std::size_t bytes) noexcept;
  static std::size_t size_of_class(std::size_t index) noexcept;

 private:
  void* system_allocate(std::size_t bytes);
  static void system_free(void* block, std::size_t bytes) noexcept;

  mutable profiler::Mutex mutex_{"tmath.pool"};
  std::vector<std::vector<void*>> free_;  // per class
  std::size_t cache_limit_;
  PoolStats stats_;
  profiler::Metric& in_use_gauge_;
  profiler::Metric& cached_gauge_;
};

}  // namespace miso::tmath
