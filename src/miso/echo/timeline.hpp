// ECHO-PRIME's model: time nodes on timelines, branches that share their common
// prefix, causal links and temporal constraints between nodes (docs/echo.md).
//
// A World owns everything: the symbol table (event types, attribute keys,
// fluents and text values are interned once), the node names read from files,
// the branches, the causal links and the constraints. A Timeline is a
// persistent sequence of nodes: chunks of nodes held by shared pointers, so a
// fork shares every full chunk of the prefix and copies at most one partial
// chunk; appends go to a chunk only this timeline holds.
//
// Time: integer ticks (Tick); the unit is the World's (`unit()`, "ms" unless a
// file says otherwise). A node whose time is kFree is symbolic: only the
// constraints place it. Timed nodes are appended in nondecreasing time order;
// a free node may come anywhere and takes, for ordering, the time of the timed
// node before it (its key), so time-range lookups are binary searches.
//
// Fluents (event calculus): a node initiates or terminates fluents, or requires
// one to hold. holds(f, t) is true when the last node at or before t that
// initiates or terminates f initiates it. A requirement is checked against the
// state just before the node's time (effects at earlier ticks only).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "miso/core/memory.hpp"

namespace miso::echo {

class TriggerEngine;

using Tick = std::int64_t;
inline constexpr Tick kFree = std::numeric_limits<Tick>::min();  // a symbolic time
using NodeId = std::uint64_t;                                    // unique in a World, increasing with appends
inline constexpr NodeId kNoNode = ~NodeId{0};
using Symbol = std::uint32_t;  // an interned string of the World
using BranchId = std::uint32_t;

// The memory tag of ECHO-PRIME ("echo"): node chunks and indexes are charged to it.
struct EchoTag {
  static core::memory::Tag tag();
};
template <typename T>
using EchoVector = std::vector<T, core::memory::TaggedAllocator<T, EchoTag>>;

// An attribute value: a number or an interned text.
struct Value {
  enum class Kind : std::uint8_t { Number, Text };
  Kind kind = Kind::Number;
  double number = 0;
  Symbol text = 0;
  static Value of(double v) { return {Kind::Number, v, 0}; }
  static Value text_of(Symbol s) { return {Kind::Text, 0, s}; }
  friend bool operator==(const Value&, const Value&) = default;
};
struct Attribute {
  Symbol key = 0;
  Value value;
  friend bool operator==(const Attribute&, const Attribute&) = default;
};

enum class Effect : std::uint8_t { Initiates, Terminates, Requires };
struct FluentEffect {
  Symbol fluent = 0;
  Effect effect = Effect::Initiates;
  friend bool operator==(const FluentEffect&, const FluentEffect&) = default;
};

// What append() takes. Spans are copied into the timeline.
struct NodeSpec {
  Tick time = kFree;
  Symbol type = 0;
  double probability = 1.0;  // in [0, 1]
  std::span<const Attribute> attributes;
  std::span<const FluentEffect> effects;
};

// A node as stored; the spans point into the timeline's chunk and stay valid
// while any timeline holding that chunk lives.
struct NodeView {
  NodeId id = kNoNode;
  Tick time = kFree;
  Tick key = 0;  // time, or for a free node the key of the node before it (0 at the start)
  Symbol type = 0;
  double probability = 1.0;
  std::span<const Attribute> attributes;
  std::span<const FluentEffect> effects;
  bool free() const noexcept { return time == kFree; }
  // The attribute `key`, if present.
  std::optional<Value> attribute(Symbol key) const noexcept;
};

class Timeline {
 public:
  static constexpr std::size_t kChunk = 1024;  // nodes per chunk

  Timeline();
  // Cheap: shares every chunk (the copy is a fork at the end).
  Timeline(const Timeline&) = default;
  Timeline& operator=(const Timeline&) = default;
  Timeline(Timeline&&) noexcept = default;
  Timeline& operator=(Timeline&&) noexcept = default;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  NodeView operator[](std::size_t position) const;  // position < size()
  NodeView back() const;

  // Appends a node with the given id (larger than every id on the timeline;
  // World::append hands them out). Throws Error(InvalidArgument) when a timed
  // node is earlier than the last timed node (naming both times), when the
  // probability is outside [0, 1], or when id does not increase. Amortised O(1)
  // plus the spans' length; copies the last chunk first if it is shared.
  void append(NodeId id, const NodeSpec& spec);

  // The position of node `id`, if it is on this timeline: O(log n) while ids
  // increase along the timeline (always, except after a merge interleaved two
  // suffixes: then each chunk's id range is checked, then its nodes).
  std::optional<std::size_t> find(NodeId id) const;
  // Positions [first, last) of the nodes with lo <= key <= hi: O(log n).
  std::pair<std::size_t, std::size_t> range(Tick lo, Tick hi) const;

  // A timeline holding positions [0, position] of this one (the prefix up to
  // and including that node; position == npos gives an empty timeline),
  // sharing the chunks: O(1) plus a copy of at most one partial chunk.
  static constexpr std::size_t npos = ~std::size_t{0};
  Timeline prefix(std::size_t position) const;

  // The first position where a and b hold different nodes (== min(sizes) when
  // one is a prefix of the other). Shared chunks are skipped whole.
  static std::size_t first_divergence(const Timeline& a, const Timeline& b);

  // Fluent state. holds: see the file comment; O(chunks) with per-chunk fluent
  // summaries, not a scan of every node.
  bool holds(Symbol fluent, Tick t) const;
  // Every fluent that holds at t, sorted.
  std::vector<Symbol> state_at(Tick t) const;

  // Number of distinct chunk blocks this timeline holds and how many of them it
  // shares with `other` (for memory reports and tests).
  std::size_t chunk_count() const noexcept;
  std::size_t shared_chunks(const Timeline& other) const noexcept;

  struct Chunk;  // defined in timeline.cpp

 private:
  std::vector<std::shared_ptr<const Chunk>> chunks_;  // all full but the last
  std::shared_ptr<Chunk> tail_;                       // the last chunk when this timeline owns it alone
  std::size_t size_ = 0;
  Tick last_time_ = std::numeric_limits<Tick>::min();
  Tick last_key_ = 0;
  NodeId max_id_ = 0;
  bool ids_sorted_ = true;
  friend class World;  // merge builds interleaved timelines
};

// A cause -> effect link: the effect may not come before the cause.
struct CausalLink {
  NodeId cause = kNoNode;
  NodeId effect = kNoNode;
};

// lo <= t(to) - t(from) <= hi between two nodes (kFree-free: use kNegInf/kPosInf
// for an open side); weight is the cost of relaxing it.
inline constexpr Tick kNegInf = std::numeric_limits<Tick>::min() / 4;
inline constexpr Tick kPosInf = std::numeric_limits<Tick>::max() / 4;
struct TemporalConstraint {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Tick lo = kNegInf;
  Tick hi = kPosInf;
  double weight = 1.0;
  std::string label;  // where it came from ("constraint 3", "allen a overlaps b", ...) for messages
};

class World {
 public:
  World();

  // Symbols.
  Symbol intern(std::string_view text);
  const std::string& text(Symbol s) const;  // s must come from intern()
  std::optional<Symbol> lookup(std::string_view text) const;

  const std::string& unit() const noexcept { return unit_; }
  void set_unit(std::string unit);  // one of "ns", "us", "ms", "s", "ticks"; else Error(InvalidArgument)

  // Branches. Branch 0 ("main") exists from the start.
  BranchId main() const noexcept { return 0; }
  std::size_t branch_count() const noexcept;
  const std::string& branch_name(BranchId b) const;
  std::optional<BranchId> find_branch(std::string_view name) const;
  const Timeline& timeline(BranchId b) const;  // Error(InvalidArgument) for an unknown branch
  BranchId parent(BranchId b) const;           // main's parent is main
  // Appends to branch b; returns the new node's id. name: optional external id
  // ("" for none), unique in the world (Error naming it when taken).
  NodeId append(BranchId b, const NodeSpec& spec, std::string_view name = {});
  // A new branch holding b's nodes up to and including node `at` (which must be
  // on b), sharing them. Error when the name is taken or `at` is not on b.
  BranchId fork(BranchId b, NodeId at, std::string name);
  // Comparing branches: the first position where they differ, and the fluents
  // whose value differs at time t.
  std::size_t first_divergence(BranchId a, BranchId b) const;
  std::vector<Symbol> differing_fluents(BranchId a, BranchId b, Tick t) const;
  // Merges branch `from` back into `into`: into's timeline becomes the common
  // prefix followed by both suffixes interleaved by key (into's first on ties).
  // Where consistent only: returns false and changes nothing when the merged
  // timeline would have a fluent initiated and terminated at the same tick, or
  // a node whose required fluent does not hold, that neither branch had alone.
  bool merge(BranchId from, BranchId into);

  // Node names.
  std::optional<NodeId> find_node(std::string_view name) const;
  std::string node_name(NodeId id) const;  // the external name, else "#<id>"
  // The branch a node was appended to (it is on every branch forked after it).
  BranchId home(NodeId id) const;
  // The node itself, from its home branch.
  NodeView node(NodeId id) const;

  // Causal links and constraints (indices are stable: the i-th added is i).
  std::size_t add_link(CausalLink link);             // both nodes must exist
  std::size_t add_constraint(TemporalConstraint c);  // lo <= hi, both nodes exist
  const std::vector<CausalLink>& links() const noexcept { return links_; }
  const std::vector<TemporalConstraint>& constraints() const noexcept { return constraints_; }
  // Replaces constraint i's bounds (resolution relaxes them); weight unchanged.
  void set_bounds(std::size_t i, Tick lo, Tick hi);
  // Removes constraint i by making it unbounded (indices stay stable).
  void drop_constraint(std::size_t i);

  NodeId node_count() const noexcept { return next_id_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::string unit_ = "ms";
  std::vector<CausalLink> links_;
  std::vector<TemporalConstraint> constraints_;
  NodeId next_id_ = 0;

  // append(), returning the new node's view too (TriggerEngine's hot path: it
  // saves looking the branch up again).
  NodeView append_view(BranchId b, const NodeSpec& spec, std::string_view name);
  friend class TriggerEngine;
};

}  // namespace miso::echo
