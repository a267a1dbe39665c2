// Per-component memory accounting. MISO replaces the global operator new/delete;
// every allocation is charged to the memory tag active on the allocating thread
// (a TagScope sets it) and credited back to the same tag when freed, wherever that
// happens. Each thread counts in its own block of counters (no locked instruction
// per allocation); readers sum them. Peaks are exact for blocks of 4 KiB and more,
// and to within 64 KiB of smaller blocks per thread.
// The profiler reads these counters; components only open tag scopes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace miso::core::memory {

using Tag = std::uint8_t;
inline constexpr std::size_t kMaxTags = 64;
inline constexpr Tag kUntagged = 0;  // allocations made outside every tag scope
// Size classes: bucket i holds sizes in [2^(i+3), 2^(i+4)), bucket 0 also holds 0..15,
// the last bucket everything from 2^(kBuckets+2) up.
inline constexpr std::size_t kBuckets = 28;

// Finds or creates the tag of that name ("tmath", "echo", ...). Thread-safe; cold path.
// Throws Error(InvalidArgument) when all kMaxTags tags are taken.
Tag tag(std::string_view name);
std::string tag_name(Tag tag);
std::size_t tag_count() noexcept;

// Lower bound of the sizes counted in a histogram bucket.
std::uint64_t bucket_lower_bound(std::size_t bucket) noexcept;
std::size_t bucket_of(std::size_t size) noexcept;

struct TagStats {
  std::string name;
  std::int64_t live_bytes = 0;  // allocated and not yet freed (frees are credited
                                // to the allocating tag, so this never goes negative)
  std::int64_t peak_bytes = 0;  // highest live_bytes since start or reset_peak
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  std::uint64_t allocated_bytes = 0;                // cumulative
  std::array<std::uint64_t, kBuckets> histogram{};  // allocations per size class
};

TagStats stats(Tag tag);
std::vector<TagStats> all_stats();  // one entry per created tag, index = tag
// Starts a new peak measurement: peak := live.
void reset_peak(Tag tag) noexcept;
// Live bytes of all tags together.
std::int64_t total_live_bytes() noexcept;

Tag current_tag() noexcept;

// Charges allocations of this thread to `tag` until destroyed, then restores the
// previous tag. Nests.
class TagScope {
 public:
  explicit TagScope(Tag tag) noexcept;
  ~TagScope();
  TagScope(const TagScope&) = delete;
  TagScope& operator=(const TagScope&) = delete;

 private:
  Tag previous_;
};

// True when the global operator new of this program is MISO's (it always is when
// miso_core is linked; the flag exists so reports can say so rather than assume).
bool hooks_active() noexcept;

// A standard allocator that charges its blocks to a fixed tag whatever scope the
// allocating thread is in: for containers whose copies and growth happen far
// from the component's code (a factor table copied by a caller, say).
// TagOf is a type with `static Tag tag()`.
template <typename T, typename TagOf>
struct TaggedAllocator {
  using value_type = T;
  TaggedAllocator() noexcept = default;
  template <typename U>
  TaggedAllocator(const TaggedAllocator<U, TagOf>&) noexcept {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) {
    TagScope scope(TagOf::tag());
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { ::operator delete(p, n * sizeof(T)); }
  template <typename U>
  struct rebind {
    using other = TaggedAllocator<U, TagOf>;
  };
  friend bool operator==(const TaggedAllocator&, const TaggedAllocator&) noexcept { return true; }
};

}  // namespace miso::core::memory
