// Spans: named, nestable intervals of a thread's time. MISO_PROFILE_SCOPE marks
// one with a static site record; the span's end writes one event into the calling
// thread's own buffer (no lock, no allocation but once per 4096 events). When
// profiling is switched off a span costs one predictable branch.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "miso/profiler/clock.hpp"

namespace miso::profiler {

// Where a span comes from. Sites made by the macros are static; intern_site makes
// sites for names known only at run time.
struct SpanSite {
  const char* name;  // "<component>.<operation>"
  const char* file;
  std::uint32_t line;
};

// A stable site for a run-time name (same name, same site). Cold path: takes a lock.
const SpanSite& intern_site(std::string_view name);

namespace detail {

struct SpanEvent {
  const SpanSite* site;
  std::uint64_t start;  // ticks
  std::uint64_t end;
  std::uint32_t depth;  // 0 for a span with no enclosing span on its thread
  std::uint32_t reserved;
};

inline constexpr std::uint32_t kBlockEvents = 4096;

struct Block {
  std::atomic<std::uint32_t> count{0};  // events readable by collectors (release)
  std::atomic<Block*> next{nullptr};
  SpanEvent events[kBlockEvents];
};

// One per thread that has recorded a span. Written only by its thread; read by the
// collector through the release/acquire counts of its blocks.
struct ThreadBuffer {
  Block* tail = nullptr;
  std::uint32_t pos = 0;
  std::uint32_t depth = 0;
  Block* head = nullptr;
  Block* spare = nullptr;  // discarded blocks kept for reuse (linked through next)
  // Events pushed since registration (never reset by discards). One writer, so a
  // relaxed load and store instead of an atomic increment; read by spans_recorded().
  std::atomic<std::uint64_t> recorded{0};

  void push(const SpanEvent& event) noexcept {
    if (pos == kBlockEvents) [[unlikely]]
      grow();
    tail->events[pos] = event;
    ++pos;
    tail->count.store(pos, std::memory_order_release);
    recorded.store(recorded.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void grow() noexcept;
};

extern constinit std::atomic<bool> g_enabled;
extern constinit thread_local ThreadBuffer* t_buffer;

// Registers the calling thread (cold path). Returns nullptr for a thread that is
// already exiting; its late spans are dropped.
ThreadBuffer* register_current_thread() noexcept;

inline ThreadBuffer* current_buffer() noexcept {
  ThreadBuffer* b = t_buffer;
  return b != nullptr ? b : register_current_thread();
}

}  // namespace detail

inline bool enabled() noexcept { return detail::g_enabled.load(std::memory_order_relaxed); }
// Switches span recording on or off for all threads (on by default).
void set_enabled(bool on) noexcept;

// RAII span.
class Scope {
 public:
  explicit Scope(const SpanSite& site) noexcept {
    if (enabled()) [[likely]] {
      buffer_ = detail::current_buffer();
      if (buffer_ != nullptr) {
        site_ = &site;
        depth_ = buffer_->depth++;
        start_ = now_ticks();
      }
    }
  }
  ~Scope() {
    if (buffer_ != nullptr) {
      std::uint64_t end = now_ticks();
      --buffer_->depth;
      buffer_->push({site_, start_, end, depth_, 0});
    }
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  detail::ThreadBuffer* buffer_ = nullptr;
  const SpanSite* site_ = nullptr;
  std::uint64_t start_ = 0;
  std::uint32_t depth_ = 0;
};

// Span events recorded so far by all threads, exited ones included (monotonic; events
// dropped by discard_thread_events still count). Safe to call from any thread while
// others record: it sums each buffer's relaxed counter, so the total may lag by the
// events being recorded at that instant. Costs a lock of the thread registry, not of
// the recording path.
std::uint64_t spans_recorded() noexcept;

// Records a span that was timed elsewhere (lock waits, I/O, GPU waits) on this thread.
void record_span(const SpanSite& site, std::uint64_t start_ticks, std::uint64_t end_ticks) noexcept;

}  // namespace miso::profiler

#define MISO_PROFILE_CONCAT_INNER(a, b) a##b
#define MISO_PROFILE_CONCAT(a, b) MISO_PROFILE_CONCAT_INNER(a, b)

// MISO_PROFILE_SCOPE("component.operation"): a span until the end of the block.
#define MISO_PROFILE_SCOPE(name)                                                                                \
  static constexpr ::miso::profiler::SpanSite MISO_PROFILE_CONCAT(miso_profile_site_, __LINE__){name, __FILE__, \
                                                                                                __LINE__};      \
  ::miso::profiler::Scope MISO_PROFILE_CONCAT(miso_profile_scope_, __LINE__) {                                  \
    MISO_PROFILE_CONCAT(miso_profile_site_, __LINE__)                                                           \
  }
