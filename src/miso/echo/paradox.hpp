// Paradoxes: states of a branch that cannot all be true, found with the
// smallest cause and a way out (docs/echo.md).
//
// What a branch asserts: the times of its timed nodes, the World constraints
// and causal links whose nodes are both on it (a causal link says the effect
// does not come before its cause: t(effect) - t(cause) >= 0), and its fluent
// effects. Three kinds of paradox:
//  - inconsistent_constraints: a negative cycle of the temporal network built
//    from those; reported as its constraints (World indices), the nodes whose
//    fixed times take part, and the arithmetic of the cycle. Each reported
//    set is minimal: without any one of its members that cycle is gone.
//    Several independent cycles give several paradoxes (after one is found,
//    its cheapest member is set aside and the search goes on).
//  - causal_loop: a cycle of causal links (an event among its own causes), or
//    a negative cycle that goes through a causal link (an effect fixed or
//    constrained before its cause), reported as the links and nodes.
//  - contradiction: a fluent initiated and terminated at the same tick, or a
//    node requiring a fluent that does not hold just before its tick. Only
//    timed nodes take part (free nodes have no tick to hold at).
//
// A paradox found on a shared prefix is reported once, for the first branch
// (lowest id) where it occurs, with every branch it affects.
//
// Checker is incremental: it keeps per branch a temporal network over the
// nodes that constraints or links mention, the fluent state at the end of the
// timeline and how far it has read; update() reads only what was added since
// (new nodes, constraints, links, branches), so a consistent stream costs time
// in the change, not in the history.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "miso/echo/stn.hpp"
#include "miso/echo/timeline.hpp"

namespace miso::echo {

struct Paradox {
  enum class Kind : std::uint8_t { InconsistentConstraints, CausalLoop, Contradiction };
  Kind kind = Kind::InconsistentConstraints;
  std::vector<BranchId> branches;        // every branch it affects, the first is where it was found
  std::vector<std::size_t> constraints;  // World constraint indices, sorted
  std::vector<std::size_t> links;        // World causal link indices, sorted
  std::vector<NodeId> nodes;             // the nodes involved (fixed times, link ends, effects), sorted
  Symbol fluent = 0;                     // contradiction: the fluent
  std::string message;                   // one line, names nodes by their names
};
const char* to_string(Paradox::Kind kind) noexcept;  // "inconsistent_constraints", "causal_loop", "contradiction"

struct CheckReport {
  bool consistent() const noexcept { return paradoxes.empty(); }
  std::vector<Paradox> paradoxes;
};

class Checker {
 public:
  explicit Checker(const World& world);
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // Reads what the world gained since the last call and returns the paradoxes
  // of the whole world as they stand now.
  const CheckReport& update();
  const CheckReport& report() const noexcept;

  // The temporal network of branch b as of the last update, and which node
  // each of its points stands for (the origin: kNoNode).
  const Stn& network(BranchId b) const;
  const std::vector<NodeId>& points(BranchId b) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot check of the whole world.
CheckReport check(const World& world);

// A way out of the paradoxes of one branch.
struct Resolution {
  enum class Kind : std::uint8_t { Relax, Fork };
  Kind kind = Kind::Relax;
  BranchId branch = 0;
  double cost = 0;  // Relax: the weights of the constraints changed
  // Relax: constraint i gets bounds [lo, hi] (a widened interval, the nearest
  // one the rest of the network allows; kNegInf/kPosInf when it must go).
  struct Change {
    std::size_t constraint = 0;
    Tick lo = kNegInf, hi = kPosInf;
  };
  std::vector<Change> changes;
  // Fork: per alternative, the node it leaves out (one alternative per node
  // of the paradox: without that node, the paradox's assertions no longer
  // all apply on the branch).
  std::vector<NodeId> alternatives;
  bool exact = true;  // Relax: the least-cost set was proven optimal
  std::string description;
};

// Proposals for branch b (empty when it has no paradox): the least-cost
// relaxation of its constraints when one exists that touches constraints only
// (fixed times and causal links are facts: weight kFactWeight in the search,
// never changed), then a fork per paradox that constraints alone cannot fix
// (or, for a single paradox, as the alternative to relaxing).
inline constexpr double kFactWeight = 1e9;
std::vector<Resolution> propose(const World& world, BranchId b);

// Applies a proposal. Relax sets the constraints' bounds. Fork creates one
// branch per alternative, named "<branch>/alt<k>", forked at the node before
// the left-out one and replaying the nodes after it (as new, unnamed nodes,
// with the constraints and links among them copied). Returns the branches
// created (none for Relax).
std::vector<BranchId> apply(World& world, const Resolution& r);

}  // namespace miso::echo
