// A Chase–Lev work-stealing deque (Chase & Lev, SPAA 2005), following Lê, Pop,
// Cohen and Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory
// Models" (PPoPP 2013), with the paper's fences expressed as sequentially
// consistent accesses (the same cost on x86, and visible to ThreadSanitizer). The owning worker pushes and pops at the
// bottom; other threads steal from the top. Lock-free; the ring grows on demand and
// outgrown rings are kept until the deque dies, because a thief may still read one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <vector>

namespace miso::nexus {

template <typename T>
class WorkStealingDeque {
  static_assert(std::is_trivially_copyable_v<T>, "items are copied racily by thieves; use pointers");

 public:
  explicit WorkStealingDeque(std::size_t capacity = 256) {
    std::size_t c = 1;
    while (c < capacity) c *= 2;
    rings_.push_back(std::make_unique<Ring>(c));
    ring_.store(rings_.back().get(), std::memory_order_relaxed);
  }
  WorkStealingDeque(const WorkStealingDeque&) = delete;
  WorkStealingDeque& operator=(const WorkStealingDeque&) = delete;

  // Owner only.
  void push(T item) {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_acquire);
    Ring* r = ring_.load(std::memory_order_relaxed);
    if (b - t > static_cast<std::int64_t>(r->capacity) - 1) r = grow(r, t, b);
    r->put(b, item);
    // A release store (the paper's release fence + relaxed store, in the form
    // ThreadSanitizer understands): a thief that sees the new bottom sees the item.
    bottom_.store(b + 1, std::memory_order_release);
  }

  // Owner only: the most recently pushed item.
  std::optional<T> pop() {
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    Ring* r = ring_.load(std::memory_order_relaxed);
    bottom_.store(b, std::memory_order_seq_cst);  // must be ordered before reading top
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    if (t > b) {  // empty
      bottom_.store(b + 1, std::memory_order_relaxed);
      return std::nullopt;
    }
    T item = r->get(b);
    if (t == b) {  // the last item: race the thieves for it
      bool won = top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed);
      bottom_.store(b + 1, std::memory_order_relaxed);
      if (!won) return std::nullopt;
    }
    return item;
  }

  // Any thread: the oldest item, or nothing when empty or when another thief won.
  std::optional<T> steal() {
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    std::int64_t b = bottom_.load(std::memory_order_seq_cst);
    if (t >= b) return std::nullopt;
    Ring* r = ring_.load(std::memory_order_acquire);
    T item = r->get(t);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
      return std::nullopt;
    }
    return item;
  }

  // Approximate when other threads are active.
  std::size_t size() const noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }
  bool empty() const noexcept { return size() == 0; }
  std::size_t capacity() const noexcept { return ring_.load(std::memory_order_relaxed)->capacity; }

 private:
  struct Ring {
    explicit Ring(std::size_t c) : capacity(c), mask(c - 1), slots(new std::atomic<T>[c]) {}
    void put(std::int64_t i, T v) noexcept {
      slots[static_cast<std::size_t>(i) & mask].store(v, std::memory_order_relaxed);
    }
    T get(std::int64_t i) const noexcept {
      return slots[static_cast<std::size_t>(i) & mask].load(std::memory_order_relaxed);
    }
    std::size_t capacity;
    std::size_t mask;
    std::unique_ptr<std::atomic<T>[]> slots;
  };

  Ring* grow(Ring* old, std::int64_t t, std::int64_t b) {
    auto bigger = std::make_unique<Ring>(old->capacity * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    Ring* r = bigger.get();
    rings_.push_back(std::move(bigger));  // the old ring stays alive for thieves
    ring_.store(r, std::memory_order_release);
    return r;
  }

  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  alignas(64) std::atomic<Ring*> ring_{nullptr};
  std::vector<std::unique_ptr<Ring>> rings_;  // owner only
};

}  // namespace miso::nexus
