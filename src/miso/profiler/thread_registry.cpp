#include "miso/profiler/thread_registry.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <unordered_map>

#include "miso/core/memory.hpp"

namespace miso::profiler {

namespace detail {
constinit std::atomic<bool> g_enabled{true};
constinit thread_local ThreadBuffer* t_buffer = nullptr;
}  // namespace detail

namespace {

constinit std::atomic<std::uint64_t> g_buffer_bytes{0};
constinit thread_local bool t_exited = false;

// Blocks come from malloc, not operator new, so they are never charged to the
// memory tag of the component that happened to record a span.
detail::Block* new_block() noexcept {
  void* raw = std::malloc(sizeof(detail::Block));
  if (raw == nullptr) std::abort();  // out of memory inside the profiler itself
  g_buffer_bytes.fetch_add(sizeof(detail::Block), std::memory_order_relaxed);
  return new (raw) detail::Block();
}

struct ThreadRecord {
  detail::ThreadBuffer buffer;
  int tid = 0;
  std::string name;
  std::uint64_t start_tick = 0;
  std::uint64_t start_cpu_ns = 0;
  std::atomic<std::uint64_t> end_tick{0};
  std::atomic<std::uint64_t> end_cpu_ns{0};
};

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<ThreadRecord>> threads;  // never shrinks: buffers outlive threads
  std::unordered_map<const detail::ThreadBuffer*, ThreadRecord*> by_buffer;
};

Registry& registry() {
  static Registry* r = new Registry;  // leaked: threads may record during static destruction
  return *r;
}

ThreadRecord* record_of_current() {
  detail::ThreadBuffer* b = detail::current_buffer();
  if (b == nullptr) return nullptr;
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.by_buffer.find(b);
  return it == r.by_buffer.end() ? nullptr : it->second;
}

// Marks the thread's end when it exits (a thread_local with a destructor, kept off
// the hot path: only registration touches it).
struct ExitMark {
  ThreadRecord* record = nullptr;
  ~ExitMark() {
    if (record != nullptr) {
      record->end_cpu_ns.store(thread_cpu_ns(), std::memory_order_relaxed);
      record->end_tick.store(now_ticks(), std::memory_order_release);
    }
    detail::t_buffer = nullptr;
    t_exited = true;
  }
};

}  // namespace

void detail::ThreadBuffer::grow() noexcept {
  // Reuse a discarded block when there is one: fresh memory costs page faults,
  // which on some virtual machines take microseconds each.
  Block* b = spare;
  if (b != nullptr) {
    spare = b->next.load(std::memory_order_relaxed);
    b->next.store(nullptr, std::memory_order_relaxed);
    b->count.store(0, std::memory_order_relaxed);
  } else {
    b = new_block();
  }
  tail->next.store(b, std::memory_order_release);
  tail = b;
  pos = 0;
}

detail::ThreadBuffer* detail::register_current_thread() noexcept {
  if (t_exited) return nullptr;
  init_clock();
  core::memory::TagScope untagged(core::memory::kUntagged);
  auto record = std::make_unique<ThreadRecord>();
  record->tid = current_tid();
  record->name = "thread " + std::to_string(record->tid);
  record->start_cpu_ns = thread_cpu_ns();
  record->start_tick = now_ticks();
  record->buffer.head = record->buffer.tail = new_block();
  ThreadRecord* raw = record.get();
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.by_buffer.emplace(&raw->buffer, raw);
    r.threads.push_back(std::move(record));
  }
  static thread_local ExitMark exit_mark;
  exit_mark.record = raw;
  t_buffer = &raw->buffer;
  return t_buffer;
}

void set_thread_name(std::string_view name) {
  ThreadRecord* rec = record_of_current();
  if (rec == nullptr) return;
  std::lock_guard lock(registry().mutex);
  rec->name = std::string(name);
}

void register_thread() { (void)detail::current_buffer(); }

// Declared in span.hpp; defined here because the registry is what lists the buffers.
std::uint64_t spans_recorded() noexcept {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::uint64_t total = 0;
  for (const auto& rec : r.threads) total += rec->buffer.recorded.load(std::memory_order_relaxed);
  return total;
}

void discard_thread_events() {
  detail::ThreadBuffer* b = detail::t_buffer;
  if (b == nullptr) return;
  // Under the registry lock: collectors walk the chain only while holding it.
  std::lock_guard lock(registry().mutex);
  detail::Block* rest = b->head->next.load(std::memory_order_relaxed);
  if (rest != nullptr) {  // keep the blocks after head for reuse
    b->tail->next.store(b->spare, std::memory_order_relaxed);
    b->spare = rest;
  }
  b->head->next.store(nullptr, std::memory_order_relaxed);
  b->head->count.store(0, std::memory_order_release);
  b->tail = b->head;
  b->pos = 0;
}

std::vector<ThreadSnapshot> snapshot_threads(std::uint64_t from_tick, std::uint64_t to_tick) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<ThreadSnapshot> out;
  out.reserve(r.threads.size());
  for (const auto& rec : r.threads) {
    ThreadSnapshot s;
    s.tid = rec->tid;
    s.name = rec->name;
    s.start_tick = rec->start_tick;
    s.start_cpu_ns = rec->start_cpu_ns;
    s.end_tick = rec->end_tick.load(std::memory_order_acquire);
    s.end_cpu_ns = rec->end_cpu_ns.load(std::memory_order_relaxed);
    if (s.end_tick != 0 && s.end_tick < from_tick) continue;  // gone before the window
    if (s.start_tick > to_tick) continue;
    for (const detail::Block* b = rec->buffer.head; b != nullptr; b = b->next.load(std::memory_order_acquire)) {
      std::uint32_t n = b->count.load(std::memory_order_acquire);
      for (std::uint32_t i = 0; i < n; ++i) {
        const detail::SpanEvent& e = b->events[i];
        if (e.end >= from_tick && e.end <= to_tick && e.start >= from_tick) {
          s.events.push_back({e.site, e.start, e.end, e.depth});
        }
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<ThreadClock> thread_clocks() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<ThreadClock> out;
  for (const auto& rec : r.threads) {
    bool alive = rec->end_tick.load(std::memory_order_acquire) == 0;
    // The kernel's encoding of a per-thread CPU clock (what pthread_getcpuclockid
    // returns), built from the tid so an exited thread yields EINVAL, not a crash.
    int clock = static_cast<int>((~static_cast<unsigned>(rec->tid) << 3) | 6u);
    out.push_back({rec->tid, alive, clock});
  }
  return out;
}

std::uint64_t buffer_bytes() noexcept { return g_buffer_bytes.load(std::memory_order_relaxed); }

int current_tid() noexcept { return static_cast<int>(::syscall(SYS_gettid)); }

}  // namespace miso::profiler
