#include "miso/echo/timeline.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"

namespace miso::echo {

core::memory::Tag EchoTag::tag() {
  static const auto t = core::memory::tag("echo");
  return t;
}

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

// Nodes with more attributes or effects than this are refused (keeps the
// per-chunk offsets in 32 bits whatever the nodes hold, and the counts in 21 bits).
constexpr std::size_t kMaxSpan = std::size_t{1} << 20;

// Append-only storage in 8-byte units whose elements never move: block k holds
// offsets [kFirst * (2^k - 1), kFirst * (2^(k+1) - 1)), so an offset maps to its
// block with one bit_width, and a span handed out stays valid while the arena
// lives (NodeView spans point here). A node's attributes and then its effects
// are stored together, so one offset finds both. A node that does not fit in
// the rest of the current block starts the next block that can hold it.
class Arena {
 public:
  using Unit = std::uint64_t;
  using Alloc = core::memory::TaggedAllocator<Unit, EchoTag>;

  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    for (int k = 0; k < kBlocks; ++k) {
      if (blocks_[k] != nullptr) Alloc{}.deallocate(blocks_[k], static_cast<std::size_t>(block_size(k)));
    }
  }

  // Room for n units (n > 0): returns its offset; write it through at(offset).
  std::uint32_t reserve(std::uint64_t n) {
    if (n <= left_) {
      const std::uint32_t at = end_;
      end_ += static_cast<std::uint32_t>(n);
      left_ -= n;
      return at;
    }
    return reserve_slow(n);
  }
  Unit* at(std::uint32_t offset) noexcept {
    const int k = block_of(offset);
    return blocks_[k] + (offset - block_begin(k));
  }
  const Unit* at(std::uint32_t offset) const noexcept {
    const int k = block_of(offset);
    return blocks_[k] + (offset - block_begin(k));
  }

 private:
  // 136 * (1 + 2 + 4 + 8 + 16) = 4216 >= 4096: a full chunk of nodes with one
  // attribute each (4 units) fits in the first five blocks, with little to spare.
  static constexpr std::uint64_t kFirst = 136;
  static constexpr int kBlocks = 24;  // about 2^31 units per chunk at most
  static int block_of(std::uint64_t offset) noexcept { return std::bit_width(offset / kFirst + 1) - 1; }
  static std::uint64_t block_begin(int k) noexcept { return kFirst * ((std::uint64_t{1} << k) - 1); }
  static std::uint64_t block_size(int k) noexcept { return kFirst << k; }
  static std::uint64_t block_end(int k) noexcept { return block_begin(k) + block_size(k); }

  [[gnu::noinline]] std::uint32_t reserve_slow(std::uint64_t n) {
    int k = block_of(end_);
    if (blocks_[k] != nullptr) ++k;  // end_'s block is in use and too full: move on
    while (k < kBlocks && block_size(k) < n) ++k;
    if (k >= kBlocks) fail("timeline chunk: attribute/effect storage exhausted");
    if (blocks_[k] == nullptr) blocks_[k] = Alloc{}.allocate(static_cast<std::size_t>(block_size(k)));
    end_ = static_cast<std::uint32_t>(block_begin(k));
    left_ = block_size(k);
    return reserve(n);
  }

  std::array<Unit*, kBlocks> blocks_{};
  std::uint32_t end_ = 0;   // the next free offset
  std::uint64_t left_ = 0;  // units left in end_'s block
};

constexpr std::uint64_t kAttributeUnits = sizeof(Attribute) / sizeof(Arena::Unit);
constexpr std::uint64_t kEffectUnits = sizeof(FluentEffect) / sizeof(Arena::Unit);
static_assert(sizeof(Attribute) % sizeof(Arena::Unit) == 0 && alignof(Attribute) <= alignof(Arena::Unit));
static_assert(sizeof(FluentEffect) % sizeof(Arena::Unit) == 0 && alignof(FluentEffect) <= alignof(Arena::Unit));
static_assert(std::is_trivially_copyable_v<Attribute> && std::is_trivially_copyable_v<FluentEffect>);

}  // namespace

// A node as stored: 40 bytes; attributes and effects live in the chunk's arena.
struct NodeRecord {
  NodeId id;
  Tick key;
  double probability;
  Symbol type;
  std::uint32_t extra;  // arena offset of the attributes, then the effects
  std::uint64_t attr_count : 21;
  std::uint64_t effect_count : 21;
  std::uint64_t free : 1;
};
static_assert(sizeof(NodeRecord) == 40);

struct FluentLast {
  Symbol fluent;
  bool initiated;  // the last Initiates/Terminates of the fluent in the chunk
};

struct Timeline::Chunk {
  EchoVector<NodeRecord> records;
  Arena extra;
  NodeId min_id = kNoNode;
  NodeId max_id = 0;
  bool ids_sorted = true;
  bool has_effects = false;
  // Set when the chunk is full (then it never changes): the last state change
  // of each fluent it touches, sorted by fluent.
  EchoVector<FluentLast> summary;

  std::size_t size() const noexcept { return records.size(); }

  std::span<const Attribute> attributes(const NodeRecord& r) const noexcept {
    if (r.attr_count == 0) return {};
    return {reinterpret_cast<const Attribute*>(extra.at(r.extra)), static_cast<std::size_t>(r.attr_count)};
  }
  std::span<const FluentEffect> effects(const NodeRecord& r) const noexcept {
    if (r.effect_count == 0) return {};
    return {reinterpret_cast<const FluentEffect*>(extra.at(r.extra) + r.attr_count * kAttributeUnits),
            static_cast<std::size_t>(r.effect_count)};
  }

  NodeView view(const NodeRecord& r) const noexcept {
    NodeView v;
    v.id = r.id;
    v.time = r.free ? kFree : r.key;
    v.key = r.key;
    v.type = r.type;
    v.probability = r.probability;
    v.attributes = attributes(r);
    v.effects = effects(r);
    return v;
  }
  NodeView view(std::size_t i) const noexcept { return view(records[i]); }

  // attrs.size(), effs.size() <= kMaxSpan (checked by the callers).
  void push(NodeId id, bool free, Tick key, Symbol type, double probability, std::span<const Attribute> attrs,
            std::span<const FluentEffect> effs) {
    NodeRecord& r = records.emplace_back();
    r.id = id;
    r.key = key;
    r.probability = probability;
    r.type = type;
    r.attr_count = attrs.size();
    r.effect_count = effs.size();
    r.free = free;
    r.extra = 0;
    const std::uint64_t units = attrs.size() * kAttributeUnits + effs.size() * kEffectUnits;
    if (units != 0) {
      r.extra = extra.reserve(units);
      Arena::Unit* to = extra.at(r.extra);
      if (!attrs.empty()) std::memcpy(to, attrs.data(), attrs.size_bytes());
      if (!effs.empty()) {
        std::memcpy(to + attrs.size() * kAttributeUnits, effs.data(), effs.size_bytes());
        has_effects = true;
      }
    }
    if (id < min_id) min_id = id;
    if (id > max_id) {
      max_id = id;
    } else if (records.size() > 1) {
      ids_sorted = false;  // not above every earlier id (while sorted, the largest is the previous one)
    }
  }

  void seal() {
    if (!has_effects) return;  // nothing to summarise
    // Walk backwards so the first entry per fluent after a stable sort is the last change.
    for (std::size_t i = records.size(); i-- > 0;) {
      const auto effs = effects(records[i]);
      for (std::size_t j = effs.size(); j-- > 0;) {
        if (effs[j].effect == Effect::Requires) continue;
        summary.push_back({effs[j].fluent, effs[j].effect == Effect::Initiates});
      }
    }
    std::stable_sort(summary.begin(), summary.end(),
                     [](const FluentLast& a, const FluentLast& b) { return a.fluent < b.fluent; });
    summary.erase(std::unique(summary.begin(), summary.end(),
                              [](const FluentLast& a, const FluentLast& b) { return a.fluent == b.fluent; }),
                  summary.end());
    summary.shrink_to_fit();
  }

  // The last change of `fluent` in a sealed chunk, if any.
  std::optional<bool> last_change(Symbol fluent) const noexcept {
    auto it = std::lower_bound(summary.begin(), summary.end(), fluent,
                               [](const FluentLast& a, Symbol f) { return a.fluent < f; });
    if (it == summary.end() || it->fluent != fluent) return std::nullopt;
    return it->initiated;
  }
};

namespace {

using Chunk = Timeline::Chunk;

std::shared_ptr<Chunk> new_chunk(std::size_t reserve) {
  auto chunk = std::allocate_shared<Chunk>(core::memory::TaggedAllocator<Chunk, EchoTag>{});
  chunk->records.reserve(reserve);
  return chunk;
}

// A private copy of the first `count` nodes of `from` (attributes compacted).
std::shared_ptr<Chunk> copy_chunk(const Chunk& from, std::size_t count, std::size_t reserve) {
  auto chunk = new_chunk(std::max(count, reserve));
  for (std::size_t i = 0; i < count; ++i) {
    const NodeRecord& r = from.records[i];
    chunk->push(r.id, r.free, r.key, r.type, r.probability, from.attributes(r), from.effects(r));
  }
  return chunk;
}

// The part of Timeline::append after validation, shared with World::merge
// (which appends nodes whose ids are not increasing).
[[gnu::noinline]] void new_tail(std::shared_ptr<Chunk>& tail) {
  if (!tail) {
    tail = new_chunk(Timeline::kChunk);
  } else {
    tail = copy_chunk(*tail, tail->size(), Timeline::kChunk);  // copy-on-write of a shared tail
  }
}
[[gnu::noinline]] void seal_tail(std::vector<std::shared_ptr<const Chunk>>& chunks, std::shared_ptr<Chunk>& tail) {
  tail->seal();
  chunks.push_back(std::move(tail));
  tail.reset();
}
inline void append_node(std::vector<std::shared_ptr<const Chunk>>& chunks, std::shared_ptr<Chunk>& tail, NodeId id,
                        bool free, Tick key, const NodeSpec& spec) {
  if (!tail || tail.use_count() != 1) [[unlikely]]
    new_tail(tail);
  tail->push(id, free, key, spec.type, spec.probability, spec.attributes, spec.effects);
  if (tail->size() == Timeline::kChunk) [[unlikely]]
    seal_tail(chunks, tail);
}

std::string id_text(NodeId id) {
  std::string s(1, '#');  // not "#" + to_string(): GCC 12 warns falsely (-Wrestrict) on that
  s += std::to_string(id);
  return s;
}

}  // namespace

std::optional<Value> NodeView::attribute(Symbol k) const noexcept {
  for (const Attribute& a : attributes) {
    if (a.key == k) return a.value;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Timeline

Timeline::Timeline() = default;

NodeView Timeline::operator[](std::size_t position) const {
  const std::size_t c = position / kChunk;
  const Chunk& chunk = c < chunks_.size() ? *chunks_[c] : *tail_;
  return chunk.view(position % kChunk);
}

NodeView Timeline::back() const {
  if (tail_) return tail_->view(tail_->records.back());
  return chunks_.back()->view(chunks_.back()->records.back());
}

namespace {
// Throws the error Timeline::append reports for a node it refuses (kept out of
// line: the hot path only tests).
[[noreturn, gnu::noinline, gnu::cold]] void reject_append(NodeId id, const NodeSpec& spec, std::size_t size,
                                                          NodeId max_id, Tick last_time, Tick last_key) {
  const bool free = spec.time == kFree;
  if (!(spec.probability >= 0.0 && spec.probability <= 1.0)) {
    fail("node " + id_text(id) + ": probability " + std::to_string(spec.probability) + " is outside [0, 1]");
  }
  if (size != 0 && id <= max_id) {
    fail("node " + id_text(id) + ": id does not increase (the timeline already holds node " + id_text(max_id) + ")");
  }
  if (!free && spec.time < last_key) {
    if (last_time == std::numeric_limits<Tick>::min()) {
      fail("node " + id_text(id) + ": time " + std::to_string(spec.time) +
           " is before 0, the key of the free nodes at the start of the timeline");
    }
    fail("node " + id_text(id) + ": time " + std::to_string(spec.time) + " is before the last timed node's time " +
         std::to_string(last_time));
  }
  fail("node " + id_text(id) + ": too many attributes or effects (at most " + std::to_string(kMaxSpan) + ")");
}
}  // namespace

void Timeline::append(NodeId id, const NodeSpec& spec) {
  const bool free = spec.time == kFree;
  // One test for every refusal (the probability test also refuses NaN).
  if (!(spec.probability >= 0.0 && spec.probability <= 1.0) || (size_ != 0 && id <= max_id_) ||
      (!free && spec.time < last_key_) || spec.attributes.size() > kMaxSpan || spec.effects.size() > kMaxSpan)
      [[unlikely]] {
    reject_append(id, spec, size_, max_id_, last_time_, last_key_);
  }
  const Tick key = free ? last_key_ : spec.time;
  append_node(chunks_, tail_, id, free, key, spec);
  ++size_;
  if (!free) last_time_ = spec.time;
  last_key_ = key;
  max_id_ = id;
}

std::optional<std::size_t> Timeline::find(NodeId id) const {
  if (size_ == 0) return std::nullopt;
  const std::size_t n_chunks = chunks_.size() + (tail_ ? 1 : 0);
  auto chunk_at = [&](std::size_t c) -> const Chunk& { return c < chunks_.size() ? *chunks_[c] : *tail_; };
  if (ids_sorted_) {
    // Binary search for the chunk, then inside it.
    std::size_t lo = 0, hi = n_chunks;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (chunk_at(mid).max_id < id) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo == n_chunks) return std::nullopt;
    const Chunk& chunk = chunk_at(lo);
    auto it = std::lower_bound(chunk.records.begin(), chunk.records.end(), id,
                               [](const NodeRecord& r, NodeId v) { return r.id < v; });
    if (it == chunk.records.end() || it->id != id) return std::nullopt;
    return lo * kChunk + static_cast<std::size_t>(it - chunk.records.begin());
  }
  for (std::size_t c = 0; c < n_chunks; ++c) {
    const Chunk& chunk = chunk_at(c);
    if (id < chunk.min_id || id > chunk.max_id) continue;
    if (chunk.ids_sorted) {
      auto it = std::lower_bound(chunk.records.begin(), chunk.records.end(), id,
                                 [](const NodeRecord& r, NodeId v) { return r.id < v; });
      if (it != chunk.records.end() && it->id == id) {
        return c * kChunk + static_cast<std::size_t>(it - chunk.records.begin());
      }
      continue;
    }
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (chunk.records[i].id == id) return c * kChunk + i;
    }
  }
  return std::nullopt;
}

namespace {
// The first position in [0, size) whose key is not less than (or, upper, greater than) t.
template <typename KeyAt>
std::size_t key_bound(std::size_t size, Tick t, bool upper, const KeyAt& key_at) {
  std::size_t lo = 0, hi = size;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const Tick k = key_at(mid);
    if (upper ? k <= t : k < t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}
}  // namespace

std::pair<std::size_t, std::size_t> Timeline::range(Tick lo, Tick hi) const {
  if (lo > hi || size_ == 0) return {0, 0};
  auto key_at = [&](std::size_t p) {
    const std::size_t c = p / kChunk;
    const Chunk& chunk = c < chunks_.size() ? *chunks_[c] : *tail_;
    return chunk.records[p % kChunk].key;
  };
  const std::size_t first = key_bound(size_, lo, false, key_at);
  const std::size_t last = key_bound(size_, hi, true, key_at);
  return {first, std::max(first, last)};
}

Timeline Timeline::prefix(std::size_t position) const {
  Timeline out;
  if (position == npos || size_ == 0) return out;
  if (position >= size_) position = size_ - 1;
  if (position == size_ - 1) return *this;  // the whole timeline: share everything
  const std::size_t count = position + 1;
  const std::size_t full = count / kChunk;
  out.chunks_.assign(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(full));
  const std::size_t rest = count % kChunk;
  if (rest != 0) {
    const Chunk& from = full < chunks_.size() ? *chunks_[full] : *tail_;
    out.tail_ = copy_chunk(from, rest, 0);
  }
  out.size_ = count;
  // Recompute the bookkeeping from the kept nodes.
  out.last_key_ = (*this)[position].key;
  out.last_time_ = std::numeric_limits<Tick>::min();
  for (std::size_t p = count; p-- > 0;) {  // only trailing free nodes are passed over
    const NodeView v = (*this)[p];
    if (!v.free()) {
      out.last_time_ = v.time;
      break;
    }
  }
  if (ids_sorted_) {
    out.max_id_ = (*this)[position].id;
  } else {
    NodeId m = 0;
    for (std::size_t c = 0; c < out.chunks_.size(); ++c) m = std::max(m, out.chunks_[c]->max_id);
    if (out.tail_) m = std::max(m, out.tail_->max_id);
    out.max_id_ = m;
    bool sorted = true;
    for (std::size_t c = 0; c < out.chunks_.size() + (out.tail_ ? 1 : 0) && sorted; ++c) {
      const Chunk& chunk = c < out.chunks_.size() ? *out.chunks_[c] : *out.tail_;
      if (!chunk.ids_sorted) sorted = false;
      if (c > 0) {
        const Chunk& prev = *out.chunks_[c - 1];
        if (prev.records.back().id >= chunk.records.front().id) sorted = false;
      }
    }
    out.ids_sorted_ = sorted;
  }
  return out;
}

std::size_t Timeline::first_divergence(const Timeline& a, const Timeline& b) {
  const std::size_t n = std::min(a.size_, b.size_);
  const std::size_t na = a.chunks_.size() + (a.tail_ ? 1 : 0);
  const std::size_t nb = b.chunks_.size() + (b.tail_ ? 1 : 0);
  auto chunk_of = [](const Timeline& t, std::size_t c) -> const Chunk* {
    return c < t.chunks_.size() ? t.chunks_[c].get() : t.tail_.get();
  };
  for (std::size_t c = 0; c < std::min(na, nb); ++c) {
    const Chunk* ca = chunk_of(a, c);
    const Chunk* cb = chunk_of(b, c);
    if (ca == cb) continue;  // shared: the same nodes
    const std::size_t m = std::min(ca->size(), cb->size());
    for (std::size_t i = 0; i < m; ++i) {
      if (ca->records[i].id != cb->records[i].id) return c * kChunk + i;
    }
    if (m < kChunk) return std::min(n, c * kChunk + m);  // equal full chunks built apart: go on
  }
  return n;
}

namespace {
// Decides fluents from the nodes [0, end) of one chunk, latest first. visit(fluent,
// initiated) returns true to stop.
template <typename Visit>
bool scan_back(const Chunk& chunk, std::size_t end, const Visit& visit) {
  if (end == chunk.size() && chunk.size() == Timeline::kChunk) {
    for (const FluentLast& f : chunk.summary) {
      if (visit(f.fluent, f.initiated)) return true;
    }
    return false;
  }
  for (std::size_t i = end; i-- > 0;) {
    const NodeRecord& r = chunk.records[i];
    if (r.effect_count == 0) continue;
    const auto effs = chunk.effects(r);
    for (std::size_t j = effs.size(); j-- > 0;) {
      if (effs[j].effect == Effect::Requires) continue;
      if (visit(effs[j].fluent, effs[j].effect == Effect::Initiates)) return true;
    }
  }
  return false;
}
}  // namespace

bool Timeline::holds(Symbol fluent, Tick t) const {
  const std::size_t end = range(std::numeric_limits<Tick>::min(), t).second;
  if (end == 0) return false;
  const std::size_t c_last = (end - 1) / kChunk;
  // The chunk holding the last node at or before t: scan its nodes (at most kChunk).
  {
    const Chunk& chunk = c_last < chunks_.size() ? *chunks_[c_last] : *tail_;
    std::optional<bool> result;
    scan_back(chunk, end - c_last * kChunk, [&](Symbol f, bool initiated) {
      if (f != fluent) return false;
      result = initiated;
      return true;
    });
    if (result) return *result;
  }
  // Earlier chunks are full: one summary lookup each.
  for (std::size_t c = c_last; c-- > 0;) {
    if (auto r = chunks_[c]->last_change(fluent)) return *r;
  }
  return false;
}

std::vector<Symbol> Timeline::state_at(Tick t) const {
  const std::size_t end = range(std::numeric_limits<Tick>::min(), t).second;
  std::vector<Symbol> out;
  if (end == 0) return out;
  std::unordered_set<Symbol> decided;
  auto visit = [&](Symbol f, bool initiated) {
    if (decided.insert(f).second && initiated) out.push_back(f);
    return false;
  };
  const std::size_t c_last = (end - 1) / kChunk;
  const Chunk& chunk = c_last < chunks_.size() ? *chunks_[c_last] : *tail_;
  scan_back(chunk, end - c_last * kChunk, visit);
  for (std::size_t c = c_last; c-- > 0;) scan_back(*chunks_[c], kChunk, visit);
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t Timeline::chunk_count() const noexcept { return chunks_.size() + (tail_ ? 1 : 0); }

std::size_t Timeline::shared_chunks(const Timeline& other) const noexcept {
  std::size_t n = 0;
  const std::size_t m = std::min(chunks_.size(), other.chunks_.size());
  for (std::size_t c = 0; c < m; ++c) {
    if (chunks_[c] == other.chunks_[c]) ++n;
  }
  if (tail_ && tail_ == other.tail_) ++n;
  return n;
}

// ---------------------------------------------------------------------------
// World

namespace {
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using NameMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Branch {
  std::string name;
  BranchId parent = 0;
  Timeline timeline;
};

// Branches at stable addresses (timeline() hands out references that a fork
// must not invalidate), indexed in two loads: unlike a deque's, which costs
// more than the rest of an append's bookkeeping.
class BranchList {
 public:
  BranchList() = default;
  BranchList(const BranchList& other) {
    items_.reserve(other.items_.size());
    for (const auto& b : other.items_) items_.push_back(std::make_unique<Branch>(*b));
  }
  BranchList& operator=(const BranchList& other) {
    BranchList copy(other);
    items_.swap(copy.items_);
    return *this;
  }
  BranchList(BranchList&&) noexcept = default;
  BranchList& operator=(BranchList&&) noexcept = default;
  ~BranchList() = default;

  Branch& operator[](std::size_t i) { return *items_[i]; }
  const Branch& operator[](std::size_t i) const { return *items_[i]; }
  std::size_t size() const noexcept { return items_.size(); }
  void push_back(Branch b) { items_.push_back(std::make_unique<Branch>(std::move(b))); }

 private:
  std::vector<std::unique_ptr<Branch>> items_;
};
}  // namespace

struct World::Impl {
  std::deque<std::string> texts;  // a deque: text() hands out references
  NameMap<Symbol> symbols;
  BranchList branches;
  NameMap<BranchId> branch_index;
  // The branch each node was appended to, as runs: (first id, branch) where
  // the branch changes. Streams append to one branch at a time, so this costs
  // a comparison per node and a few entries per branch switch.
  EchoVector<std::pair<NodeId, BranchId>> home_runs;
  NameMap<NodeId> node_index;
  std::unordered_map<NodeId, std::string> node_names;
};

World::World() : impl_(std::make_shared<Impl>()) {
  impl_->texts.emplace_back();  // symbol 0 is the empty text, so a default Symbol is valid
  impl_->symbols.emplace(std::string(), 0);
  impl_->branches.push_back(Branch{"main", 0, Timeline()});
  impl_->branch_index.emplace("main", 0);
}

Symbol World::intern(std::string_view text) {
  if (auto it = impl_->symbols.find(text); it != impl_->symbols.end()) return it->second;
  if (impl_.use_count() != 1) impl_ = std::make_shared<Impl>(*impl_);
  const auto s = static_cast<Symbol>(impl_->texts.size());
  impl_->texts.emplace_back(text);
  impl_->symbols.emplace(std::string(text), s);
  return s;
}

const std::string& World::text(Symbol s) const {
  if (s >= impl_->texts.size()) fail("unknown symbol " + std::to_string(s));
  return impl_->texts[s];
}

std::optional<Symbol> World::lookup(std::string_view text) const {
  if (auto it = impl_->symbols.find(text); it != impl_->symbols.end()) return it->second;
  return std::nullopt;
}

void World::set_unit(std::string unit) {
  static constexpr std::array<std::string_view, 5> kUnits = {"ns", "us", "ms", "s", "ticks"};
  if (std::find(kUnits.begin(), kUnits.end(), unit) == kUnits.end()) {
    fail("unknown time unit '" + unit + "' (expected ns, us, ms, s or ticks)");
  }
  unit_ = std::move(unit);
}

std::size_t World::branch_count() const noexcept { return impl_->branches.size(); }

const std::string& World::branch_name(BranchId b) const {
  if (b >= impl_->branches.size()) fail("unknown branch " + std::to_string(b));
  return impl_->branches[b].name;
}

std::optional<BranchId> World::find_branch(std::string_view name) const {
  if (auto it = impl_->branch_index.find(name); it != impl_->branch_index.end()) return it->second;
  return std::nullopt;
}

const Timeline& World::timeline(BranchId b) const {
  if (b >= impl_->branches.size()) fail("unknown branch " + std::to_string(b));
  return impl_->branches[b].timeline;
}

BranchId World::parent(BranchId b) const {
  if (b >= impl_->branches.size()) fail("unknown branch " + std::to_string(b));
  return impl_->branches[b].parent;
}

NodeId World::append(BranchId b, const NodeSpec& spec, std::string_view name) {
  if (impl_.use_count() != 1) [[unlikely]]
    impl_ = std::make_shared<Impl>(*impl_);
  Impl& im = *impl_;
  if (b >= im.branches.size()) [[unlikely]]
    fail("append: unknown branch " + std::to_string(b));
  const NodeId id = next_id_;
  if (!name.empty()) [[unlikely]] {
    if (auto it = im.node_index.find(name); it != im.node_index.end()) {
      fail("node name '" + std::string(name) + "' is already taken (by node " + id_text(it->second) + ")");
    }
  }
  Timeline& tl = im.branches[b].timeline;
  if (!name.empty()) [[unlikely]] {
    // Same checks as Timeline::append, but naming the node by its external name.
    const std::string who = "node '" + std::string(name) + "'";
    if (!(spec.probability >= 0.0 && spec.probability <= 1.0)) {
      fail(who + ": probability " + std::to_string(spec.probability) + " is outside [0, 1]");
    }
    if (spec.time != kFree && spec.time < tl.last_key_) {
      fail(who + ": time " + std::to_string(spec.time) + " on branch '" + im.branches[b].name +
           "' is before the last timed node's time " +
           std::to_string(tl.last_time_ == std::numeric_limits<Tick>::min() ? tl.last_key_ : tl.last_time_));
    }
  }
  tl.append(id, spec);
  if (im.home_runs.empty() || im.home_runs.back().second != b) [[unlikely]]
    im.home_runs.emplace_back(id, b);
  ++next_id_;
  if (!name.empty()) [[unlikely]] {
    im.node_index.emplace(std::string(name), id);
    im.node_names.emplace(id, std::string(name));
  }
  return id;
}

NodeView World::append_view(BranchId b, const NodeSpec& spec, std::string_view name) {
  append(b, spec, name);
  return impl_->branches[b].timeline.back();
}

BranchId World::fork(BranchId b, NodeId at, std::string name) {
  MISO_PROFILE_SCOPE("echo.fork");
  if (impl_.use_count() != 1) impl_ = std::make_shared<Impl>(*impl_);
  Impl& im = *impl_;
  if (b >= im.branches.size()) fail("fork: unknown branch " + std::to_string(b));
  if (name.empty()) fail("fork of branch '" + im.branches[b].name + "': the new branch needs a name");
  if (im.branch_index.count(name) != 0) fail("fork: branch name '" + name + "' is already taken");
  const Timeline& from = im.branches[b].timeline;
  std::size_t position = Timeline::npos;
  if (at != kNoNode) {
    const auto p = from.find(at);
    if (!p) fail("fork '" + name + "': node " + node_name(at) + " is not on branch '" + im.branches[b].name + "'");
    position = *p;
  }
  Timeline tl = from.prefix(position);
  const auto id = static_cast<BranchId>(im.branches.size());
  im.branches.push_back(Branch{name, b, std::move(tl)});
  im.branch_index.emplace(std::move(name), id);
  return id;
}

std::size_t World::first_divergence(BranchId a, BranchId b) const {
  return Timeline::first_divergence(timeline(a), timeline(b));
}

std::vector<Symbol> World::differing_fluents(BranchId a, BranchId b, Tick t) const {
  MISO_PROFILE_SCOPE("echo.differing_fluents");
  const auto sa = timeline(a).state_at(t);
  const auto sb = timeline(b).state_at(t);
  std::vector<Symbol> out;
  std::set_symmetric_difference(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(out));
  return out;
}

namespace {
// Per (fluent, tick): which sides initiate / terminate it at that tick (timed nodes only).
using Clash = std::pair<Symbol, Tick>;
void collect_changes(const Timeline& tl, std::size_t first, std::size_t last, std::map<Clash, int>& bits, int init_bit,
                     int term_bit) {
  for (std::size_t p = first; p < last; ++p) {
    const NodeView v = tl[p];
    if (v.free()) continue;
    for (const FluentEffect& e : v.effects) {
      if (e.effect == Effect::Initiates) bits[{e.fluent, v.time}] |= init_bit;
      if (e.effect == Effect::Terminates) bits[{e.fluent, v.time}] |= term_bit;
    }
  }
}
}  // namespace

bool World::merge(BranchId from, BranchId into) {
  MISO_PROFILE_SCOPE("echo.merge");
  const Timeline& a = timeline(into);
  const Timeline& b = timeline(from);
  if (from == into) return true;
  const std::size_t common = Timeline::first_divergence(a, b);
  // from's suffix nodes that into does not hold yet (after an earlier merge it
  // holds some of them, and only in its own suffix).
  std::vector<std::size_t> fresh;
  {
    std::unordered_set<NodeId> into_ids;
    for (std::size_t p = common; p < a.size(); ++p) into_ids.insert(a[p].id);
    for (std::size_t p = common; p < b.size(); ++p) {
      if (into_ids.count(b[p].id) == 0) fresh.push_back(p);
    }
  }
  if (fresh.empty()) return true;  // nothing new in `from`
  Timeline merged;
  if (common == a.size()) {
    merged = b;  // into is a prefix of from: take from's nodes, sharing its chunks
  } else {
    merged = a.prefix(common == 0 ? Timeline::npos : common - 1);
    auto push = [&](const NodeView& v) {
      NodeSpec spec{v.time, v.type, v.probability, v.attributes, v.effects};
      append_node(merged.chunks_, merged.tail_, v.id, v.free(), v.key, spec);
      if (merged.size_ != 0 && v.id <= merged.max_id_) merged.ids_sorted_ = false;
      ++merged.size_;
      if (!v.free()) merged.last_time_ = v.time;
      merged.last_key_ = v.key;
      merged.max_id_ = std::max(merged.max_id_, v.id);
    };
    std::size_t i = common, j = 0;
    while (i < a.size() || j < fresh.size()) {
      if (j == fresh.size() || (i < a.size() && a[i].key <= b[fresh[j]].key)) {
        push(a[i++]);
      } else {
        push(b[fresh[j++]]);
      }
    }
  }

  // Same-tick initiate/terminate clashes the merge would create. Only ticks at
  // or after the first suffix key matter (earlier ticks are the common prefix).
  {
    Tick lo = std::numeric_limits<Tick>::max();
    if (common < a.size()) lo = std::min(lo, a[common].key);
    if (common < b.size()) lo = std::min(lo, b[common].key);
    // The prefix's nodes at that key or later (its last nodes, times being nondecreasing).
    const std::size_t prefix_from = a.range(lo, std::numeric_limits<Tick>::max()).first;
    std::map<Clash, int> bits;  // 1/2: prefix initiates/terminates, 4/8: into's suffix, 16/32: from's suffix
    collect_changes(a, std::min(prefix_from, common), common, bits, 1, 2);
    collect_changes(a, common, a.size(), bits, 4, 8);
    collect_changes(b, common, b.size(), bits, 16, 32);
    for (const auto& [clash, m] : bits) {
      const bool in_into = (m & (1 | 4)) && (m & (2 | 8));
      const bool in_from = (m & (1 | 16)) && (m & (2 | 32));
      const bool in_merged = (m & (1 | 4 | 16)) && (m & (2 | 8 | 32));
      if (in_merged && !in_into && !in_from) return false;
    }
  }

  // Requirements of suffix nodes that held on their own branch but not in the merge.
  auto check_requirements = [&](const Timeline& own) {
    for (std::size_t p = common; p < own.size(); ++p) {
      const NodeView v = own[p];
      for (const FluentEffect& e : v.effects) {
        if (e.effect != Effect::Requires) continue;
        const Tick before = v.key == std::numeric_limits<Tick>::min() ? v.key : v.key - 1;
        if (own.holds(e.fluent, before) && !merged.holds(e.fluent, before)) return false;
      }
    }
    return true;
  };
  if (!check_requirements(a) || !check_requirements(b)) return false;

  if (impl_.use_count() != 1) impl_ = std::make_shared<Impl>(*impl_);
  impl_->branches[into].timeline = std::move(merged);
  return true;
}

std::optional<NodeId> World::find_node(std::string_view name) const {
  if (auto it = impl_->node_index.find(name); it != impl_->node_index.end()) return it->second;
  return std::nullopt;
}

std::string World::node_name(NodeId id) const {
  if (auto it = impl_->node_names.find(id); it != impl_->node_names.end()) return it->second;
  return id_text(id);
}

BranchId World::home(NodeId id) const {
  if (id >= next_id_) fail("unknown node " + id_text(id));
  const auto& runs = impl_->home_runs;
  auto it = std::upper_bound(runs.begin(), runs.end(), id,
                             [](NodeId v, const std::pair<NodeId, BranchId>& r) { return v < r.first; });
  return std::prev(it)->second;
}

NodeView World::node(NodeId id) const {
  const Timeline& tl = timeline(home(id));
  const auto p = tl.find(id);
  if (!p) fail("node " + node_name(id) + " is missing from its home branch");  // cannot happen: nodes are never removed
  return tl[*p];
}

std::size_t World::add_link(CausalLink link) {
  const std::size_t i = links_.size();
  if (link.cause >= next_id_) fail("causal link " + std::to_string(i) + ": unknown cause node " + id_text(link.cause));
  if (link.effect >= next_id_) {
    fail("causal link " + std::to_string(i) + ": unknown effect node " + id_text(link.effect));
  }
  links_.push_back(link);
  return i;
}

namespace {
std::string constraint_name(std::size_t i, const std::string& label) {
  std::string s = "constraint " + std::to_string(i);
  if (!label.empty() && label != s) s += " (" + label + ")";
  return s;
}
void check_bounds(const std::string& who, Tick lo, Tick hi) {
  if (lo > hi) fail(who + ": lower bound " + std::to_string(lo) + " is above upper bound " + std::to_string(hi));
}
}  // namespace

std::size_t World::add_constraint(TemporalConstraint c) {
  const std::size_t i = constraints_.size();
  const std::string who = constraint_name(i, c.label);
  if (c.from >= next_id_) fail(who + ": unknown node " + id_text(c.from));
  if (c.to >= next_id_) fail(who + ": unknown node " + id_text(c.to));
  // Bounds beyond the infinities mean "open" (and keep the STN's sums from overflowing).
  c.lo = std::max(c.lo, kNegInf);
  c.hi = std::min(c.hi, kPosInf);
  check_bounds(who, c.lo, c.hi);
  if (!(c.weight >= 0.0)) fail(who + ": weight " + std::to_string(c.weight) + " must be >= 0");
  constraints_.push_back(std::move(c));
  return i;
}

void World::set_bounds(std::size_t i, Tick lo, Tick hi) {
  if (i >= constraints_.size()) fail("set_bounds: no constraint " + std::to_string(i));
  lo = std::max(lo, kNegInf);
  hi = std::min(hi, kPosInf);
  check_bounds(constraint_name(i, constraints_[i].label), lo, hi);
  constraints_[i].lo = lo;
  constraints_[i].hi = hi;
}

void World::drop_constraint(std::size_t i) {
  if (i >= constraints_.size()) fail("drop_constraint: no constraint " + std::to_string(i));
  constraints_[i].lo = kNegInf;
  constraints_[i].hi = kPosInf;
}

}  // namespace miso::echo
