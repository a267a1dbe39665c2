// Simple temporal networks (Dechter, Meiri, Pearl 1991): time points and
// constraints lo <= t(to) - t(from) <= hi, as a distance graph with an edge
// from -> to of weight hi and to -> from of weight -lo. The network is
// consistent exactly when that graph has no negative cycle; the shortest
// distances d(x, y) are the tightest bounds t(y) - t(x) <= d(x, y) implied by
// all constraints (the minimal network).
//
// Point 0 is the origin (time 0): a fixed time t for point p is the constraint
// origin -> p in [t, t]. Earliest(p) = -d(p, 0), latest(p) = d(0, p).
//
// Algorithms (docs/echo.md):
//  - consistency, earliest/latest, a schedule: one single-source pass from the
//    origin over potentials kept incrementally. add() keeps a feasible
//    potential (a schedule) and repairs it from the new edge only (the
//    incremental Bellman–Ford of Cesta & Oddi / Ramalingam–Reps style): an
//    added constraint costs time in what it moves, not in the network's size.
//  - a negative cycle, when there is one, traced through predecessor edges:
//    its constraints are a minimal conflicting set (dropping any one of them
//    breaks that cycle).
//  - the minimal network: Johnson's method (potentials, then Dijkstra from
//    every point on the reweighted sparse graph), O(n m log n); Floyd–Warshall
//    O(n^3) is kept as the baseline and test oracle.
//  - least-cost relaxation: the cheapest set of constraints (by weight) whose
//    removal leaves the network consistent: exact by branch and bound over the
//    negative cycles found for small conflict sets, greedy (cheapest per cycle,
//    then redundant drops undone) beyond a limit; says which it used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "miso/echo/timeline.hpp"  // Tick, kNegInf, kPosInf

namespace miso::echo {

using PointId = std::uint32_t;
inline constexpr PointId kOrigin = 0;

struct StnConstraint {
  PointId from = kOrigin;
  PointId to = kOrigin;
  Tick lo = kNegInf;  // kNegInf: no lower bound
  Tick hi = kPosInf;  // kPosInf: no upper bound
  double weight = 1.0;
};

// All-pairs tightest bounds: at(x, y) = d(x, y), kPosInf when unbounded.
struct MinimalNetwork {
  std::size_t points = 0;
  std::vector<Tick> d;  // row-major points x points
  Tick at(PointId x, PointId y) const { return d[static_cast<std::size_t>(x) * points + y]; }
};

struct Relaxation {
  std::vector<std::size_t> dropped;  // constraint indices, sorted
  double cost = 0;                   // the sum of their weights
  bool exact = true;                 // false when the greedy method was used
};

class Stn {
 public:
  Stn();  // the origin only

  PointId add_point();
  std::size_t point_count() const noexcept;

  // Adds a constraint (lo <= hi, both points exist, else Error(InvalidArgument))
  // and returns its index. Keeps the network's consistency state up to date
  // incrementally; returns the index even when the network becomes
  // inconsistent (consistent() then says false and conflict() why).
  std::size_t add(const StnConstraint& c);
  // Fixes point p at time t (a constraint from the origin).
  std::size_t fix(PointId p, Tick t, double weight = 1.0);
  const std::vector<StnConstraint>& constraints() const noexcept;
  // Disables / re-enables constraint i (indices stay stable); the state is
  // recomputed from the edges that i touched.
  void set_enabled(std::size_t i, bool enabled);
  bool enabled(std::size_t i) const;

  bool consistent() const noexcept;
  // The constraints of one negative cycle (sorted indices), empty when consistent.
  std::vector<std::size_t> conflict() const;

  // Tightest bounds on each point's time relative to the origin (nullopt:
  // unbounded on that side). Error(InvalidArgument) when inconsistent.
  std::optional<Tick> earliest(PointId p) const;
  std::optional<Tick> latest(PointId p) const;
  // A time per point satisfying every enabled constraint (the earliest times
  // where bounded below; points not connected to the origin get 0 shifted
  // consistently). Error when inconsistent.
  std::vector<Tick> schedule() const;

  // The minimal network by Johnson's method / by Floyd–Warshall (baseline).
  // Error when inconsistent.
  MinimalNetwork minimal() const;
  MinimalNetwork minimal_floyd_warshall() const;

  // The least-cost relaxation (see the file comment); exact when the
  // conflict search stays within `exact_limit` cycles.
  Relaxation cheapest_relaxation(std::size_t exact_limit = 16) const;

  // From scratch: consistency by Bellman–Ford over all edges (the baseline the
  // incremental add() is measured against).
  bool check_from_scratch() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Allen's thirteen interval relations between intervals [start, end] of two
// events with durations, translated into point constraints (strict order is
// a gap of at least one tick).
enum class Allen : std::uint8_t {
  Before,
  After,
  Meets,
  MetBy,
  Overlaps,
  OverlappedBy,
  Starts,
  StartedBy,
  During,
  Contains,
  Finishes,
  FinishedBy,
  Equals
};
const char* to_string(Allen r) noexcept;
std::optional<Allen> parse_allen(std::string_view text);  // "before", "met_by", ... (to_string's names)

struct Interval {
  PointId start = kOrigin;
  PointId end = kOrigin;
};
// The point constraints of `a r b` (weight on each).
std::vector<StnConstraint> allen_constraints(const Interval& a, Allen r, const Interval& b, double weight = 1.0);

}  // namespace miso::echo
