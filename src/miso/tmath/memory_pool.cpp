#include "miso/tmath/memory_pool.hpp"

#include <bit>
#include <mutex>
#include <new>

#include <sys/mman.h>

#include "miso/core/memory.hpp"

namespace miso::tmath {

namespace {
constexpr std::size_t kMinClass = 64;
constexpr std::size_t kPow2Limit = std::size_t{64} << 10;
constexpr int kClasses = 256;

core::memory::Tag tmath_tag() {
  static const core::memory::Tag tag = core::memory::tag("tmath");
  return tag;
}
}  // namespace

MemoryPool::MemoryPool(std::size_t cache_limit)
    : free_(kClasses),
      cache_limit_(cache_limit),
      in_use_gauge_(profiler::gauge("tmath.pool.in_use", "bytes")),
      cached_gauge_(profiler::gauge("tmath.pool.cached", "bytes")) {}

MemoryPool::~MemoryPool() { trim(); }

MemoryPool& MemoryPool::global() {
  // Never destroyed: tensors in static storage may be freed after main returns.
  static MemoryPool* pool = new MemoryPool();
  return *pool;
}

std::size_t MemoryPool::class_size(std::size_t bytes) noexcept {
  if (bytes <= kMinClass) return kMinClass;
  if (bytes <= kPow2Limit) return std::bit_ceil(bytes);
  std::size_t pow2 = std::bit_floor(bytes);
  std::size_t step = pow2 / 4;
  return (bytes + step - 1) / step * step;
}

std::size_t MemoryPool::class_index(std::size_t bytes) noexcept {
  std::size_t size = class_size(bytes);
  if (size <= kPow2Limit) return static_cast<std::size_t>(std::countr_zero(size) - std::countr_zero(kMinClass));
  // Four classes per power of two above 64 KiB: index by (log2, quarter).
  std::size_t pow2 = std::bit_floor(size);
  std::size_t quarter = (size - pow2) / (pow2 / 4);  // 0..3 (a size of 2*pow2 is the next power's 0)
  std::size_t base = static_cast<std::size_t>(std::countr_zero(kPow2Limit) - std::countr_zero(kMinClass)) + 1;
  std::size_t idx = base + (static_cast<std::size_t>(std::countr_zero(pow2)) - 16) * 4 + quarter;
  return idx < kClasses ? idx : kClasses;  // kClasses: too large to cache
}

// Blocks of at least this size are aligned to it and marked for transparent
// huge pages: a 400 MB tensor then takes 200 page faults instead of 100 000, and
// streaming through it misses the TLB 512 times less often.
constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::align_val_t alignment_for(std::size_t bytes) noexcept {
  return std::align_val_t{bytes >= kHugePage ? kHugePage : kAlignment};
}

std::size_t MemoryPool::size_of_class(std::size_t index) noexcept {
  const std::size_t pow2_classes = static_cast<std::size_t>(std::countr_zero(kPow2Limit) - std::countr_zero(kMinClass));
  if (index <= pow2_classes) return kMinClass << index;
  const std::size_t q = index - pow2_classes - 1;
  const std::size_t pow2 = std::size_t{1} << (16 + q / 4);
  return pow2 + (q % 4) * (pow2 / 4);
}

void* MemoryPool::system_allocate(std::size_t bytes) {
  core::memory::TagScope scope(tmath_tag());
  void* block = ::operator new(bytes, alignment_for(bytes));
#if defined(MADV_HUGEPAGE)
  if (bytes >= kHugePage) (void)::madvise(block, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);  // advice only
#endif
  return block;
}

void MemoryPool::system_free(void* block, std::size_t bytes) noexcept {
  ::operator delete(block, alignment_for(bytes));
}

void* MemoryPool::allocate(std::size_t bytes) {
  const std::size_t size = class_size(bytes);
  const std::size_t idx = class_index(bytes);
  {
    std::lock_guard lock(mutex_);
    stats_.in_use_bytes += size;
    if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
    if (idx < kClasses && !free_[idx].empty()) {
      void* block = free_[idx].back();
      free_[idx].pop_back();
      stats_.cached_bytes -= size;
      ++stats_.hits;
      in_use_gauge_.set(static_cast<std::int64_t>(stats_.in_use_bytes));
      cached_gauge_.set(static_cast<std::int64_t>(stats_.cached_bytes));
      return block;
    }
    ++stats_.misses;
    in_use_gauge_.set(static_cast<std::int64_t>(stats_.in_use_bytes));
  }
  try {
    return system_allocate(size);
  } catch (...) {
    // Out of memory: give the cache back and try once more before failing.
    trim();
    try {
      return system_allocate(size);
    } catch (...) {
      std::lock_guard lock(mutex_);
      stats_.in_use_bytes -= size;
      in_use_gauge_.set(static_cast<std::int64_t>(stats_.in_use_bytes));
      throw;
    }
  }
}

void MemoryPool::deallocate(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  const std::size_t size = class_size(bytes);
  const std::size_t idx = class_index(bytes);
  {
    std::lock_guard lock(mutex_);
    stats_.in_use_bytes -= size;
    in_use_gauge_.set(static_cast<std::int64_t>(stats_.in_use_bytes));
    if (idx < kClasses && stats_.cached_bytes + size <= cache_limit_) {
      try {
        free_[idx].push_back(block);
        stats_.cached_bytes += size;
        cached_gauge_.set(static_cast<std::int64_t>(stats_.cached_bytes));
        return;
      } catch (...) {  // no memory for the free list itself: release the block
      }
    }
  }
  system_free(block, size);
}

void MemoryPool::trim() noexcept {
  std::vector<std::vector<void*>> blocks(kClasses);
  {
    std::lock_guard lock(mutex_);
    blocks.swap(free_);
    free_.resize(kClasses);
    stats_.cached_bytes = 0;
    cached_gauge_.set(0);
  }
  for (std::size_t idx = 0; idx < blocks.size(); ++idx) {
    for (void* b : blocks[idx]) system_free(b, size_of_class(idx));
  }
}

PoolStats MemoryPool::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void MemoryPool::reset_peak() noexcept {
  std::lock_guard lock(mutex_);
  stats_.peak_in_use_bytes = stats_.in_use_bytes;
}

}  // namespace miso::tmath
