#include "miso/core/memory.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>

#include "miso/core/atomic.hpp"
#include "miso/core/error.hpp"

namespace miso::core::memory {

namespace {

// Accounting is per thread: each thread counts its own allocations in a block of
// counters only it writes (relaxed load + store, no locked instruction), and moves
// its net live bytes to the global per-tag total once they exceed kFlushBytes (and
// at once for any block of kLargeBytes or more), so the hot path for small blocks
// costs a few plain memory operations. Readers sum the blocks. The global peak is
// therefore exact to within kFlushBytes of small blocks per thread.
constexpr std::int64_t kFlushBytes = std::int64_t{64} * 1024;
constexpr std::size_t kLargeBytes = 4096;

using Relaxed = std::atomic<std::uint64_t>;

struct TagCounters {
  std::atomic<std::int64_t> pending_live{0};  // not yet moved to the global total
  Relaxed allocations{0};
  Relaxed frees{0};
  Relaxed allocated{0};
  std::array<Relaxed, kBuckets> histogram{};
};

struct ThreadCounters {
  std::array<TagCounters, kMaxTags> tags{};
  ThreadCounters* prev = nullptr;
  ThreadCounters* next = nullptr;
};

inline void bump(Relaxed& c, std::uint64_t by = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

struct alignas(64) GlobalTag {
  std::atomic<std::int64_t> live{0};
  std::atomic<std::int64_t> peak{0};
};

// Constant-initialised so allocations made during static initialisation are safe.
constinit std::array<GlobalTag, kMaxTags> g_tags{};
constinit ThreadCounters g_retired{};  // counts of exited threads; updated atomically
constinit std::atomic<std::size_t> g_tag_count{1};
constinit thread_local Tag t_current = kUntagged;
constinit thread_local ThreadCounters* t_counters = nullptr;
constinit thread_local bool t_exiting = false;
constinit std::atomic<bool> g_hooks_used{false};

// The list of live threads' counter blocks. A spin lock rather than std::mutex so
// that nothing here can allocate through operator new.
constinit std::atomic_flag g_list_lock = ATOMIC_FLAG_INIT;
constinit ThreadCounters* g_list = nullptr;

struct ListLock {
  ListLock() noexcept {
    while (g_list_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~ListLock() { g_list_lock.clear(std::memory_order_release); }
};

void raise_peak(GlobalTag& g, std::int64_t live) noexcept { store_max(g.peak, live); }

void flush(Tag tag, TagCounters& c) noexcept {
  std::int64_t pending = c.pending_live.load(std::memory_order_relaxed);
  if (pending == 0) return;
  c.pending_live.store(0, std::memory_order_relaxed);
  GlobalTag& g = g_tags[tag];
  raise_peak(g, g.live.fetch_add(pending, std::memory_order_relaxed) + pending);
}

void retire(ThreadCounters* tc) noexcept {
  {
    ListLock lock;
    if (tc->prev != nullptr) tc->prev->next = tc->next;
    if (tc->next != nullptr) tc->next->prev = tc->prev;
    if (g_list == tc) g_list = tc->next;
  }
  for (std::size_t t = 0; t < kMaxTags; ++t) {
    TagCounters& c = tc->tags[t];
    flush(static_cast<Tag>(t), c);
    TagCounters& r = g_retired.tags[t];
    auto add = [](Relaxed& to, const Relaxed& from) {
      std::uint64_t v = from.load(std::memory_order_relaxed);
      if (v != 0) to.fetch_add(v, std::memory_order_relaxed);
    };
    add(r.allocations, c.allocations);
    add(r.frees, c.frees);
    add(r.allocated, c.allocated);
    for (std::size_t b = 0; b < kBuckets; ++b) add(r.histogram[b], c.histogram[b]);
  }
  tc->~ThreadCounters();
  std::free(tc);
}

struct ThreadExit {
  ThreadCounters* counters = nullptr;
  ~ThreadExit() {
    t_exiting = true;
    t_counters = nullptr;
    if (counters != nullptr) retire(counters);
  }
};

// The calling thread's block, created on first use; nullptr while the thread exits
// (its late allocations are then counted in g_retired directly).
ThreadCounters* thread_counters() noexcept {
  ThreadCounters* tc = t_counters;
  if (tc != nullptr || t_exiting) return tc;
  void* raw = std::calloc(1, sizeof(ThreadCounters));  // not operator new: we are inside it
  if (raw == nullptr) return nullptr;
  tc = new (raw) ThreadCounters();
  {
    ListLock lock;
    tc->next = g_list;
    if (g_list != nullptr) g_list->prev = tc;
    g_list = tc;
  }
  t_counters = tc;
  static thread_local ThreadExit exit_hook;
  exit_hook.counters = tc;
  return tc;
}

void charge(Tag tag, std::size_t size) noexcept {
  ThreadCounters* tc = thread_counters();
  auto n = static_cast<std::int64_t>(size);
  if (tc == nullptr) {
    TagCounters& r = g_retired.tags[tag];
    r.allocations.fetch_add(1, std::memory_order_relaxed);
    r.allocated.fetch_add(size, std::memory_order_relaxed);
    r.histogram[bucket_of(size)].fetch_add(1, std::memory_order_relaxed);
    raise_peak(g_tags[tag], g_tags[tag].live.fetch_add(n, std::memory_order_relaxed) + n);
    return;
  }
  TagCounters& c = tc->tags[tag];
  bump(c.allocations);
  bump(c.allocated, size);
  bump(c.histogram[bucket_of(size)]);
  std::int64_t pending = c.pending_live.load(std::memory_order_relaxed) + n;
  c.pending_live.store(pending, std::memory_order_relaxed);
  if (pending >= kFlushBytes || size >= kLargeBytes) flush(tag, c);
}

void credit(Tag tag, std::size_t size) noexcept {
  ThreadCounters* tc = thread_counters();
  auto n = static_cast<std::int64_t>(size);
  if (tc == nullptr) {
    g_retired.tags[tag].frees.fetch_add(1, std::memory_order_relaxed);
    g_tags[tag].live.fetch_sub(n, std::memory_order_relaxed);
    return;
  }
  TagCounters& c = tc->tags[tag];
  bump(c.frees);
  std::int64_t pending = c.pending_live.load(std::memory_order_relaxed) - n;
  c.pending_live.store(pending, std::memory_order_relaxed);
  if (pending <= -kFlushBytes || size >= kLargeBytes) flush(tag, c);
}

// Live bytes of a tag: the global total plus what threads have not flushed.
std::int64_t live_of(Tag tag) noexcept {
  std::int64_t live = g_tags[tag].live.load(std::memory_order_relaxed);
  ListLock lock;
  for (ThreadCounters* tc = g_list; tc != nullptr; tc = tc->next) {
    live += tc->tags[tag].pending_live.load(std::memory_order_relaxed);
  }
  return live;
}

struct Names {
  std::mutex mutex;
  std::array<std::string, kMaxTags> names;
};

Names& names() {
  static Names* n = [] {
    auto* created = new Names;
    created->names[kUntagged] = "untagged";
    return created;
  }();  // leaked on purpose: tags outlive every static destructor that allocates
  return *n;
}

// Every block carries a 16-byte header just before the user pointer: its size, its
// tag and the distance back to what malloc returned (16, or the alignment).
struct alignas(16) Header {
  std::size_t size;
  std::uint32_t tag;
  std::uint32_t offset;
};
static_assert(sizeof(Header) == 16);

void* allocate(std::size_t size, std::size_t alignment) noexcept {
  std::size_t offset = alignment <= alignof(Header) ? sizeof(Header) : alignment;
  if (size > SIZE_MAX - 2 * offset) return nullptr;
  void* base = nullptr;
  if (alignment <= alignof(std::max_align_t)) {
    base = std::malloc(size + offset);
  } else {
    std::size_t total = (size + offset + alignment - 1) / alignment * alignment;
    base = std::aligned_alloc(alignment, total);
  }
  if (base == nullptr) return nullptr;
  auto* user = static_cast<char*>(base) + offset;
  auto* header = reinterpret_cast<Header*>(user) - 1;
  Tag tag = t_current;
  header->size = size;
  header->tag = tag;
  header->offset = static_cast<std::uint32_t>(offset);
  charge(tag, size);
  return user;
}

void deallocate(void* p) noexcept {
  if (p == nullptr) return;
  auto* header = static_cast<Header*>(p) - 1;
  credit(static_cast<Tag>(header->tag), header->size);
  std::free(static_cast<char*>(p) - header->offset);
}

void* allocate_or_throw(std::size_t size, std::size_t alignment) {
  g_hooks_used.store(true, std::memory_order_relaxed);
  if (size == 0) size = 1;
  for (;;) {
    if (void* p = allocate(size, alignment)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* allocate_nothrow(std::size_t size, std::size_t alignment) noexcept {
  try {
    return allocate_or_throw(size, alignment);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

Tag tag(std::string_view name) {
  Names& n = names();
  std::lock_guard lock(n.mutex);
  std::size_t count = g_tag_count.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < count; ++i) {
    if (n.names[i] == name) return static_cast<Tag>(i);
  }
  if (count == kMaxTags) {
    throw Error(Error::Kind::InvalidArgument,
                "memory tag '" + std::string(name) + "': all " + std::to_string(kMaxTags) + " tags are in use");
  }
  n.names[count] = std::string(name);
  g_tag_count.store(count + 1, std::memory_order_release);
  return static_cast<Tag>(count);
}

std::string tag_name(Tag tag) {
  Names& n = names();
  std::lock_guard lock(n.mutex);
  if (tag >= g_tag_count.load(std::memory_order_acquire)) return "tag" + std::to_string(tag);
  return n.names[tag];
}

std::size_t tag_count() noexcept { return g_tag_count.load(std::memory_order_acquire); }

std::uint64_t bucket_lower_bound(std::size_t bucket) noexcept {
  return bucket == 0 ? 0 : (std::uint64_t{1} << (bucket + 3));
}

std::size_t bucket_of(std::size_t size) noexcept {
  if (size < 16) return 0;
  std::size_t b = static_cast<std::size_t>(63 - __builtin_clzll(size)) - 3;  // 16..31 -> 1
  return b < kBuckets ? b : kBuckets - 1;
}

TagStats stats(Tag tag) {
  TagStats s;
  s.name = tag_name(tag);
  s.live_bytes = live_of(tag);
  auto read = [&](const TagCounters& c) {
    s.allocations += c.allocations.load(std::memory_order_relaxed);
    s.frees += c.frees.load(std::memory_order_relaxed);
    s.allocated_bytes += c.allocated.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < kBuckets; ++i) s.histogram[i] += c.histogram[i].load(std::memory_order_relaxed);
  };
  read(g_retired.tags[tag]);
  {
    ListLock lock;
    for (ThreadCounters* tc = g_list; tc != nullptr; tc = tc->next) read(tc->tags[tag]);
  }
  s.peak_bytes = std::max(g_tags[tag].peak.load(std::memory_order_relaxed), s.live_bytes);
  return s;
}

std::vector<TagStats> all_stats() {
  std::vector<TagStats> out;
  std::size_t count = tag_count();
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(stats(static_cast<Tag>(i)));
  return out;
}

void reset_peak(Tag tag) noexcept { g_tags[tag].peak.store(live_of(tag), std::memory_order_relaxed); }

std::int64_t total_live_bytes() noexcept {
  std::int64_t sum = 0;
  std::size_t count = tag_count();
  for (std::size_t i = 0; i < count; ++i) sum += live_of(static_cast<Tag>(i));
  return sum;
}

Tag current_tag() noexcept { return t_current; }

TagScope::TagScope(Tag tag) noexcept : previous_(t_current) { t_current = tag; }
TagScope::~TagScope() { t_current = previous_; }

bool hooks_active() noexcept { return g_hooks_used.load(std::memory_order_relaxed); }

}  // namespace miso::core::memory

// The replaceable global allocation functions ([new.delete]); all of them route
// through the tagged allocator above.
namespace mm = miso::core::memory;

void* operator new(std::size_t n) { return mm::allocate_or_throw(n, alignof(std::max_align_t)); }
void* operator new[](std::size_t n) { return mm::allocate_or_throw(n, alignof(std::max_align_t)); }
void* operator new(std::size_t n, std::align_val_t a) { return mm::allocate_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) {
  return mm::allocate_or_throw(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return mm::allocate_nothrow(n, alignof(std::max_align_t));
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return mm::allocate_nothrow(n, alignof(std::max_align_t));
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return mm::allocate_nothrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return mm::allocate_nothrow(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { mm::deallocate(p); }
void operator delete[](void* p) noexcept { mm::deallocate(p); }
void operator delete(void* p, std::size_t) noexcept { mm::deallocate(p); }
void operator delete[](void* p, std::size_t) noexcept { mm::deallocate(p); }
void operator delete(void* p, std::align_val_t) noexcept { mm::deallocate(p); }
void operator delete[](void* p, std::align_val_t) noexcept { mm::deallocate(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { mm::deallocate(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { mm::deallocate(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { mm::deallocate(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { mm::deallocate(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { mm::deallocate(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { mm::deallocate(p); }
