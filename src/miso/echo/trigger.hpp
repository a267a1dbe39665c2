// Triggers: "when a pattern of events occurs within a time window and a
// condition on attributes holds, then emit a node / fork a branch / raise an
// alert", evaluated incrementally as nodes arrive on a branch — each node
// touches only the triggers that watch its event type, in O(1) amortised per
// trigger, never a rescan of the timeline.
//
// Patterns over event types (windows in ticks, on node keys):
//   Sequence     types[0], then types[1], ..., each after the previous, the
//                last within `window` of the first (earliest-start matching:
//                a partial match is kept per first event still inside the window)
//   Conjunction  every type in `types`, any order, all within `window`
//   Count        at least `count` events of types[0] within `window` (sliding)
//   Absence      types[0] occurs and no types[1] follows within `window`:
//                fires once the window has passed (a later node's key, or
//                advance_to(t), shows that it has)
// A condition applies to the node that completes the match (for Absence: the
// types[0] node): every comparison must hold.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "miso/echo/timeline.hpp"

namespace miso::echo {

struct Comparison {
  enum class Op : std::uint8_t { Eq, Ne, Lt, Le, Gt, Ge, Exists };
  Symbol key = 0;
  Op op = Op::Exists;
  Value value;  // numbers compare numerically; texts by Eq/Ne only
};

struct Pattern {
  enum class Kind : std::uint8_t { Sequence, Conjunction, Count, Absence };
  Kind kind = Kind::Sequence;
  std::vector<Symbol> types;
  Tick window = 0;
  std::uint32_t count = 1;  // Count only
};

struct Action {
  enum class Kind : std::uint8_t { Emit, Fork, Alert };
  Kind kind = Kind::Alert;
  // Emit: a node of this type at the completing node's key + delay on the same
  // branch (after the completing node; the emitted node is itself seen by the
  // triggers). Fork: a branch named "<trigger>/<n>" forked at the completing node.
  Symbol type = 0;
  Tick delay = 0;
  std::string message;  // Alert (and the emitted node's "message" attribute)
};

struct Trigger {
  std::string name;
  Pattern pattern;
  std::vector<Comparison> conditions;
  // Optional extra condition in code.
  std::function<bool(const NodeView&)> predicate;
  // Optional named condition (condition.hpp), e.g. "example_c.above", resolved by add();
  // it must hold too (after the predicate).
  std::string condition;
  Action action;
};

// One firing.
struct Firing {
  std::size_t trigger = 0;      // index in the engine
  BranchId branch = 0;          // where it matched
  std::vector<NodeId> matched;  // the nodes of the match, in pattern order
  NodeId produced = kNoNode;    // Emit: the new node
  BranchId forked = 0;          // Fork: the new branch
  Tick at = 0;                  // key of the completing node (Absence: the deadline)
};

class TriggerEngine {
 public:
  explicit TriggerEngine(World& world);

  // Adds a trigger; Error(InvalidArgument) naming it when malformed (no types,
  // negative window, Count with count 0, Absence without two types, a condition
  // name that is not registered).
  std::size_t add(Trigger t);
  const std::vector<Trigger>& triggers() const noexcept;

  // Appends through the engine: world.append(b, spec), then the triggers
  // watching spec.type are advanced (and Absence deadlines before the node's
  // key are fired). Returns the id of the appended node. Firings accumulate.
  NodeId append(BranchId b, const NodeSpec& spec, std::string_view name = {});
  // Lets time pass on branch b without a node: fires Absence deadlines <= t.
  void advance_to(BranchId b, Tick t);

  const std::vector<Firing>& firings() const noexcept;
  void clear_firings();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace miso::echo
