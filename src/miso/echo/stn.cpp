#include "miso/echo/stn.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <utility>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"

namespace miso::echo {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

// Edge 2*i is constraint i's upper bound (from -> to, weight hi), edge 2*i+1
// its lower bound (to -> from, weight -lo). A bound at or beyond kPosInf /
// kNegInf is absent: it has no edge.
using EdgeId = std::size_t;
constexpr EdgeId kNoEdge = std::numeric_limits<EdgeId>::max();
// "No path" inside the shortest-path routines (never returned as a bound).
constexpr Tick kUnreached = std::numeric_limits<Tick>::max();

// Saturating arithmetic: huge bounds must not overflow (UB) on long paths.
Tick sat_add(Tick a, Tick b) {
  Tick r = 0;
  if (__builtin_add_overflow(a, b, &r))
    return a > 0 ? std::numeric_limits<Tick>::max() : std::numeric_limits<Tick>::min();
  return r;
}
Tick sat_sub(Tick a, Tick b) {
  Tick r = 0;
  if (__builtin_sub_overflow(a, b, &r))
    return a >= 0 ? std::numeric_limits<Tick>::max() : std::numeric_limits<Tick>::min();
  return r;
}
// A bound as the caller sees it: unbounded sides are kPosInf / kNegInf.
Tick clamp_bound(Tick d) { return std::clamp(d, kNegInf, kPosInf); }

bool has_hi(const StnConstraint& c) { return c.hi < kPosInf; }
bool has_lo(const StnConstraint& c) { return c.lo > kNegInf; }

std::string list_indices(const std::vector<std::size_t>& v) {
  std::string s;
  for (std::size_t i : v) s.append(s.empty() ? "" : ", ").append(std::to_string(i));
  return s;
}

}  // namespace

struct Stn::Impl {
  std::vector<StnConstraint> cons;
  EchoVector<char> on;                     // per constraint: enabled
  EchoVector<EchoVector<EdgeId>> out, in;  // per point: edges leaving / entering it
  EchoVector<Tick> pot;                    // a feasible potential (a schedule) while ok
  EchoVector<EdgeId> pred;                 // per point: last relaxed edge (incremental repair)
  EchoVector<char> queued;                 // per point: in the repair queue (all 0 between repairs)
  std::size_t edge_count = 0;              // edges in out / in (enabled or not)
  bool ok = true;
  std::vector<std::size_t> conflict;  // sorted constraint indices of one negative cycle when !ok
  // While !ok: the enabled constraints `pot` may not satisfy, in the order they
  // came (the one whose repair found the cycle first). pot satisfies every other
  // enabled constraint as long as pot_valid, so breaking the cycle only needs
  // these repaired, not a recomputation from scratch.
  std::vector<std::size_t> pending;
  bool pot_valid = true;
  struct Undo {
    PointId point;
    Tick pot;
    EdgeId pred;
  };
  std::vector<Undo> undo;  // the current repair's changes, rolled back when it finds a cycle

  std::size_t n() const { return pot.size(); }
  PointId src(EdgeId e) const { return e % 2 == 0 ? cons[e / 2].from : cons[e / 2].to; }
  PointId dst(EdgeId e) const { return e % 2 == 0 ? cons[e / 2].to : cons[e / 2].from; }
  Tick weight(EdgeId e) const { return e % 2 == 0 ? cons[e / 2].hi : -cons[e / 2].lo; }

  template <typename F>
  void for_each_edge(const EchoVector<char>& active, F&& f) const {
    for (std::size_t i = 0; i < cons.size(); ++i) {
      if (!active[i]) continue;
      if (has_hi(cons[i])) f(2 * i);
      if (has_lo(cons[i])) f(2 * i + 1);
    }
  }

  void check_point(PointId p, const char* what) const {
    if (p >= n()) {
      fail(std::string("stn: ") + what + ": unknown point " + std::to_string(p) + " (the network has " +
           std::to_string(n()) + " points)");
    }
  }
  void check_consistent(const std::string& what) const {
    if (!ok)
      fail("stn: " + what + ": the network is inconsistent (conflicting constraints " + list_indices(conflict) + ")");
  }

  static std::vector<std::size_t> cycle_constraints(const std::vector<EdgeId>& edges) {
    std::vector<std::size_t> c;
    c.reserve(edges.size());
    for (EdgeId e : edges) c.push_back(e / 2);
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
    return c;
  }

  // A cycle among the predecessor edges, if any; such a cycle is always
  // negative (each of its edges was tight or better when it was recorded).
  std::vector<EdgeId> pred_cycle(const EchoVector<EdgeId>& preds) const {
    std::vector<std::size_t> stamp(n(), 0);
    for (std::size_t start = 0; start < n(); ++start) {
      if (stamp[start] != 0) continue;
      std::size_t x = start;
      while (stamp[x] == 0 && preds[x] != kNoEdge) {
        stamp[x] = start + 1;
        x = src(preds[x]);
      }
      if (stamp[x] == start + 1) {  // back on this walk: x lies on a cycle
        std::vector<EdgeId> cycle;
        std::size_t y = x;
        do {
          cycle.push_back(preds[y]);
          y = src(preds[y]);
        } while (y != x);
        return cycle;
      }
      stamp[x] = start + 1;
    }
    return {};
  }

  // Bellman–Ford from a virtual source joined to every point with weight 0,
  // over the constraints marked in `active`. True when consistent (then
  // *potential, if given, is a feasible potential); false otherwise (then
  // *cycle, if given, gets the constraints of one simple negative cycle).
  bool bellman_ford(const EchoVector<char>& active, EchoVector<Tick>* potential,
                    std::vector<std::size_t>* cycle) const {
    EchoVector<Tick> dist(n(), 0);
    EchoVector<EdgeId> preds(n(), kNoEdge);
    for (std::size_t pass = 1;; ++pass) {
      // Every power-of-two pass (and from pass n on), look for a cycle among the
      // predecessor edges: a negative cycle shows there long before the n-th
      // pass, which on a large network is the difference between milliseconds
      // and minutes.
      if (pass >= n() || (pass >= 4 && (pass & (pass - 1)) == 0)) {
        std::vector<EdgeId> edges = pred_cycle(preds);
        if (!edges.empty()) {
          if (cycle != nullptr) *cycle = cycle_constraints(edges);
          return false;
        }
      }
      bool changed = false;
      for_each_edge(active, [&](EdgeId e) {
        const PointId u = src(e), v = dst(e);
        const Tick nd = sat_add(dist[u], weight(e));
        if (nd < dist[v]) {
          dist[v] = nd;
          preds[v] = e;
          changed = true;
        }
      });
      if (!changed) {
        if (potential != nullptr) *potential = std::move(dist);
        return true;
      }
      // Without a negative cycle n - 1 passes settle everything; past that the
      // predecessor graph must eventually close a (negative) cycle (checked at
      // the top of the next pass).
    }
  }

  void recompute() {
    conflict.clear();
    ok = bellman_ford(on, &pot, &conflict);
    pot_valid = ok;  // an inconsistent network leaves no feasible potential to resume from
    pending.clear();
    std::fill(pred.begin(), pred.end(), kNoEdge);
  }

  // Constraint i enabled (or added): repaired into the potential, which
  // satisfies every enabled constraint but the pending ones. A constraint whose
  // repair closes a negative cycle is rolled back and waits in `pending`; the
  // first such cycle is the reported conflict. So an inconsistent network keeps
  // its potential for everything else, and breaking the cycle later only
  // repairs what waits.
  void enable(std::size_t i) {
    if (!pot_valid) {  // after a failed recomputation: only a new one can tell
      pending.push_back(i);
      return;
    }
    std::vector<std::size_t> cycle;
    switch (propagate_constraint(i, &cycle)) {
      case Repair::Done: return;
      case Repair::Fallback: recompute(); return;
      case Repair::Cycle:
        pending.push_back(i);
        if (ok) {
          ok = false;
          conflict = std::move(cycle);
        }
        return;
    }
  }

  // A member of the reported cycle was disabled: repair the pending
  // constraints again; the first that still closes a cycle reports it.
  void resume() {
    if (!pot_valid) {
      recompute();
      return;
    }
    ok = true;
    conflict.clear();
    std::vector<std::size_t> todo = std::move(pending);
    pending.clear();
    for (std::size_t k : todo) {
      if (on[k]) enable(k);
      if (!pot_valid) return;  // a fallback recomputation took over
    }
  }

  enum class Repair { Done, Cycle, Fallback };

  // Adds edge e (already in the graph) to the potential and repairs it from
  // e's head only (queue-based label correcting). A negative cycle through e
  // shows when the repair lowers e's tail: its constraints go to *cycle and the
  // potential is rolled back. Fallback: the relaxation budget ran out (only
  // saturated, absurdly large bounds get there); the caller recomputes.
  Repair propagate(EdgeId e, std::vector<std::size_t>* cycle) {
    const PointId u = src(e), v = dst(e);
    const Tick start = sat_add(pot[u], weight(e));
    if (start >= pot[v]) return Repair::Done;
    if (u == v) {  // a negative self-loop: lo > 0 or hi < 0 on one point
      *cycle = {e / 2};
      return Repair::Cycle;
    }
    undo.clear();
    undo.push_back({v, pot[v], pred[v]});
    pot[v] = start;
    pred[v] = e;
    std::queue<PointId> queue;
    // queued: scratch kept all zero between repairs, so a repair costs what it moves.
    auto drain = [&] {
      for (; !queue.empty(); queue.pop()) queued[queue.front()] = 0;
    };
    auto rollback = [&] {
      for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
        pot[it->point] = it->pot;
        pred[it->point] = it->pred;
      }
    };
    queue.push(v);
    queued[v] = 1;
    const std::size_t budget = (n() + 1) * (edge_count + 1);
    std::size_t relaxations = 0;
    while (!queue.empty()) {
      const PointId x = queue.front();
      queue.pop();
      queued[x] = 0;
      for (EdgeId f : out[x]) {
        if (!on[f / 2]) continue;
        const PointId y = dst(f);
        const Tick nd = sat_add(pot[x], weight(f));
        if (nd >= pot[y]) continue;
        if (++relaxations > budget) {
          drain();
          return Repair::Fallback;
        }
        if (y == u) {
          undo.push_back({u, pot[u], pred[u]});
          pred[u] = f;
          drain();
          const bool traced = trace_from(u, cycle);
          rollback();
          return traced ? Repair::Cycle : Repair::Fallback;
        }
        undo.push_back({y, pot[y], pred[y]});
        pred[y] = f;
        pot[y] = nd;
        if (!queued[y]) {
          queued[y] = 1;
          queue.push(y);
        }
      }
    }
    return Repair::Done;
  }

  // The repair reached the new edge's tail u: the predecessor edges from u
  // lead back through the lowered points to the new edge, closing the cycle.
  // False if they do not (which cannot happen; the caller then recomputes).
  bool trace_from(PointId u, std::vector<std::size_t>* cycle) const {
    std::vector<EdgeId> edges;
    PointId x = u;
    do {
      if (pred[x] == kNoEdge || edges.size() > n()) return false;
      edges.push_back(pred[x]);
      x = src(pred[x]);
    } while (x != u);
    *cycle = cycle_constraints(edges);
    return true;
  }

  // Propagates constraint i's edges one at a time: a simple negative cycle
  // never uses both edges of one constraint (together they weigh hi - lo >= 0).
  Repair propagate_constraint(std::size_t i, std::vector<std::size_t>* cycle) {
    if (has_hi(cons[i])) {
      const Repair r = propagate(2 * i, cycle);
      if (r != Repair::Done) return r;
    }
    if (has_lo(cons[i])) return propagate(2 * i + 1, cycle);
    return Repair::Done;
  }

  // A point with no edge yet can take any value: set it so that constraint
  // c, its first, holds at once (no repair, no shift of everything else; an
  // STN built point by point with fixed times then costs O(1) per constraint).
  void place_fresh(const StnConstraint& c) {
    if (!pot_valid || c.from == c.to || (!has_hi(c) && !has_lo(c))) return;
    auto fresh = [&](PointId p) { return p != kOrigin && out[p].empty() && in[p].empty(); };
    const Tick step = has_hi(c) ? c.hi : c.lo;
    if (fresh(c.to)) {
      pot[c.to] = sat_add(pot[c.from], step);
    } else if (fresh(c.from)) {
      pot[c.from] = sat_sub(pot[c.to], step);
    }
  }

  void add_edges(std::size_t i) {
    const StnConstraint& c = cons[i];
    if (has_hi(c)) {
      out[c.from].push_back(2 * i);
      in[c.to].push_back(2 * i);
      ++edge_count;
    }
    if (has_lo(c)) {
      out[c.to].push_back(2 * i + 1);
      in[c.from].push_back(2 * i + 1);
      ++edge_count;
    }
  }

  // Shortest paths over enabled edges, reweighted by the potential so
  // Dijkstra applies. init: a starting label per point (kUnreached: none).
  // Forward: dist(y) = min(init(y), dist(x) + w(x -> y)); reverse:
  // dist(x) = min(init(x), w(x -> y) + dist(y)) (distances to the sources).
  std::vector<Tick> dijkstra(const std::vector<Tick>& init, bool reverse) const {
    // Reduced label: forward r = dist - pot, reverse r = dist + pot; reduced
    // edge weights w + pot(x) - pot(y) are >= 0 for a feasible potential.
    std::vector<Tick> r(n(), kUnreached);
    std::vector<char> done(n(), 0);
    using Item = std::pair<Tick, PointId>;
    std::priority_queue<Item, std::vector<Item>, std::greater<>> heap;
    for (PointId p = 0; p < n(); ++p) {
      if (init[p] == kUnreached) continue;
      r[p] = reverse ? sat_add(init[p], pot[p]) : sat_sub(init[p], pot[p]);
      heap.emplace(r[p], p);
    }
    while (!heap.empty()) {
      const auto [d, x] = heap.top();
      heap.pop();
      if (done[x] || d != r[x]) continue;
      done[x] = 1;
      for (EdgeId e : reverse ? in[x] : out[x]) {
        if (!on[e / 2]) continue;
        const PointId a = src(e), b = dst(e);
        const Tick reduced = sat_add(weight(e), sat_sub(pot[a], pot[b]));
        const PointId y = reverse ? a : b;
        const Tick nd = sat_add(d, std::max<Tick>(reduced, 0));
        if (nd < r[y]) {
          r[y] = nd;
          heap.emplace(nd, y);
        }
      }
    }
    for (PointId p = 0; p < n(); ++p) {
      if (r[p] != kUnreached) r[p] = reverse ? sat_sub(r[p], pot[p]) : sat_add(r[p], pot[p]);
    }
    return r;
  }

  std::vector<Tick> from_point(PointId s) const {
    std::vector<Tick> init(n(), kUnreached);
    init[s] = 0;
    return dijkstra(init, false);
  }
  std::vector<Tick> to_point(PointId t) const {
    std::vector<Tick> init(n(), kUnreached);
    init[t] = 0;
    return dijkstra(init, true);
  }
};

Stn::Stn() : impl_(std::make_shared<Impl>()) {
  impl_->out.resize(1);
  impl_->in.resize(1);
  impl_->pot.assign(1, 0);
  impl_->pred.assign(1, kNoEdge);
  impl_->queued.assign(1, 0);
}

// Copies share the state until one of them changes (copy on write).
namespace {
template <typename ImplT>
ImplT& writable(std::shared_ptr<ImplT>& p) {
  if (p.use_count() > 1) p = std::make_shared<ImplT>(*p);
  return *p;
}
}  // namespace

PointId Stn::add_point() {
  Impl& s = writable(impl_);
  if (s.n() >= std::numeric_limits<PointId>::max()) fail("stn: too many points");
  s.out.emplace_back();
  s.in.emplace_back();
  s.pot.push_back(0);  // an unconstrained point: any time is feasible
  s.pred.push_back(kNoEdge);
  s.queued.push_back(0);
  return static_cast<PointId>(s.n() - 1);
}

std::size_t Stn::point_count() const noexcept { return impl_->n(); }

std::size_t Stn::add(const StnConstraint& c) {
  const Impl& r = *impl_;
  auto where = [&] {
    return "stn: constraint " + std::to_string(r.cons.size()) + " (" + std::to_string(c.from) + " -> " +
           std::to_string(c.to) + ")";
  };
  if (c.from >= r.n() || c.to >= r.n()) {
    fail(where() + ": unknown point " + std::to_string(c.from >= r.n() ? c.from : c.to) + " (the network has " +
         std::to_string(r.n()) + " points)");
  }
  if (c.lo > c.hi) fail(where() + ": lower bound " + std::to_string(c.lo) + " > upper bound " + std::to_string(c.hi));
  if (c.lo >= kPosInf) fail(where() + ": the lower bound must be below kPosInf");
  if (c.hi <= kNegInf) fail(where() + ": the upper bound must be above kNegInf");
  if (!(c.weight >= 0) || !std::isfinite(c.weight)) {
    fail(where() + ": the weight must be finite and >= 0, got " + std::to_string(c.weight));
  }
  Impl& s = writable(impl_);
  const std::size_t i = s.cons.size();
  s.cons.push_back(c);
  s.on.push_back(1);
  s.place_fresh(c);
  s.add_edges(i);
  // Once inconsistent, a new constraint cannot help: the conflict stays valid,
  // and the constraint waits until it is broken.
  s.enable(i);
  return i;
}

std::size_t Stn::fix(PointId p, Tick t, double weight) { return add(StnConstraint{kOrigin, p, t, t, weight}); }

const std::vector<StnConstraint>& Stn::constraints() const noexcept { return impl_->cons; }

void Stn::set_enabled(std::size_t i, bool enabled) {
  if (i >= impl_->cons.size()) {
    fail("stn: set_enabled: no constraint " + std::to_string(i) + " (the network has " +
         std::to_string(impl_->cons.size()) + ")");
  }
  if ((impl_->on[i] != 0) == enabled) return;
  Impl& s = writable(impl_);
  s.on[i] = enabled ? 1 : 0;
  if (enabled) {
    // Consistent: repair from i's edges. Inconsistent: the conflict stays.
    s.enable(i);
  } else if (!s.ok) {
    s.pending.erase(std::remove(s.pending.begin(), s.pending.end(), i), s.pending.end());
    if (std::binary_search(s.conflict.begin(), s.conflict.end(), i)) {
      // The known cycle is broken; another may remain among what is pending.
      MISO_PROFILE_SCOPE("echo.stn.recheck");
      s.resume();
    }
  }
  // Disabling while consistent keeps the potential feasible: nothing to do.
}

bool Stn::enabled(std::size_t i) const {
  if (i >= impl_->cons.size()) {
    fail("stn: enabled: no constraint " + std::to_string(i) + " (the network has " +
         std::to_string(impl_->cons.size()) + ")");
  }
  return impl_->on[i] != 0;
}

bool Stn::consistent() const noexcept { return impl_->ok; }

std::vector<std::size_t> Stn::conflict() const { return impl_->ok ? std::vector<std::size_t>{} : impl_->conflict; }

std::optional<Tick> Stn::earliest(PointId p) const {
  const Impl& s = *impl_;
  s.check_point(p, "earliest");
  s.check_consistent("earliest(" + std::to_string(p) + ")");
  const Tick d = s.to_point(kOrigin)[p];  // d(p, origin)
  if (d == kUnreached || d >= kPosInf) return std::nullopt;
  return clamp_bound(-d);
}

std::optional<Tick> Stn::latest(PointId p) const {
  const Impl& s = *impl_;
  s.check_point(p, "latest");
  s.check_consistent("latest(" + std::to_string(p) + ")");
  const Tick d = s.from_point(kOrigin)[p];  // d(origin, p)
  if (d == kUnreached || d >= kPosInf) return std::nullopt;
  return clamp_bound(d);
}

std::vector<Tick> Stn::schedule() const {
  MISO_PROFILE_SCOPE("echo.stn.schedule");
  const Impl& s = *impl_;
  s.check_consistent("schedule");
  // Points bounded below take their earliest time -d(p, 0); the others (no
  // path back to the origin, so no edge into the bounded ones) start at 0 and
  // are pulled down by their upper bounds: shortest distances from a virtual
  // source with those labels satisfy every edge and keep the earliest times.
  std::vector<Tick> init = s.to_point(kOrigin);
  for (Tick& t : init) t = t == kUnreached ? 0 : -t;
  return s.dijkstra(init, false);
}

MinimalNetwork Stn::minimal() const {
  MISO_PROFILE_SCOPE("echo.stn.minimal");
  const Impl& s = *impl_;
  s.check_consistent("minimal");
  const std::size_t n = s.n();
  // Johnson: the enabled edges once, as compressed rows with their weights
  // reduced by the potential (w + pot(x) - pot(y) >= 0), then Dijkstra from
  // every point over them with buffers reused across sources.
  std::vector<std::uint32_t> start(n + 1, 0);
  s.for_each_edge(s.on, [&](EdgeId e) { ++start[s.src(e) + 1]; });
  for (std::size_t x = 0; x < n; ++x) start[x + 1] += start[x];
  std::vector<PointId> target(start[n]);
  std::vector<Tick> reduced(start[n]);
  {
    std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
    s.for_each_edge(s.on, [&](EdgeId e) {
      const PointId a = s.src(e), b = s.dst(e);
      const std::uint32_t k = fill[a]++;
      target[k] = b;
      reduced[k] = std::max<Tick>(sat_add(s.weight(e), sat_sub(s.pot[a], s.pot[b])), 0);
    });
  }
  MinimalNetwork m;
  m.points = n;
  m.d.assign(n * n, kPosInf);
  std::vector<Tick> r(n);
  using Item = std::pair<Tick, PointId>;
  std::vector<Item> heap;
  heap.reserve(start[n] + 1);
  const auto later = std::greater<>();
  for (PointId x = 0; x < n; ++x) {
    std::fill(r.begin(), r.end(), kUnreached);
    r[x] = 0;
    heap.clear();
    heap.emplace_back(0, x);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), later);
      const auto [d, y] = heap.back();
      heap.pop_back();
      if (d != r[y]) continue;  // a stale entry
      for (std::uint32_t k = start[y]; k < start[y + 1]; ++k) {
        const Tick nd = sat_add(d, reduced[k]);
        const PointId z = target[k];
        if (nd < r[z]) {
          r[z] = nd;
          heap.emplace_back(nd, z);
          std::push_heap(heap.begin(), heap.end(), later);
        }
      }
    }
    Tick* row = m.d.data() + static_cast<std::size_t>(x) * n;
    for (PointId y = 0; y < n; ++y) {
      if (r[y] != kUnreached) row[y] = clamp_bound(sat_add(sat_sub(r[y], s.pot[x]), s.pot[y]));
    }
  }
  return m;
}

MinimalNetwork Stn::minimal_floyd_warshall() const {
  MISO_PROFILE_SCOPE("echo.stn.minimal_floyd_warshall");
  const Impl& s = *impl_;
  s.check_consistent("minimal_floyd_warshall");
  const std::size_t n = s.n();
  std::vector<Tick> d(n * n, kUnreached);
  for (std::size_t x = 0; x < n; ++x) d[x * n + x] = 0;
  s.for_each_edge(s.on, [&](EdgeId e) {
    Tick& cell = d[static_cast<std::size_t>(s.src(e)) * n + s.dst(e)];
    cell = std::min(cell, s.weight(e));
  });
  for (std::size_t k = 0; k < n; ++k) {
    for (std::size_t x = 0; x < n; ++x) {
      const Tick xk = d[x * n + k];
      if (xk == kUnreached) continue;
      for (std::size_t y = 0; y < n; ++y) {
        const Tick ky = d[k * n + y];
        if (ky == kUnreached) continue;
        d[x * n + y] = std::min(d[x * n + y], sat_add(xk, ky));
      }
    }
  }
  MinimalNetwork m;
  m.points = n;
  m.d.resize(n * n);
  for (std::size_t i = 0; i < n * n; ++i) m.d[i] = d[i] == kUnreached ? kPosInf : clamp_bound(d[i]);
  return m;
}

namespace {

// Minimum-weight hitting set of `cycles` by branch and bound: branch on the
// members of the unhit cycle with the fewest candidates (k-th branch forbids
// the first k - 1, so no set is visited twice); bound by a packing of disjoint
// unhit cycles (each needs its own member). nullopt past `node_budget` nodes.
class HittingSet {
 public:
  HittingSet(const std::vector<std::vector<std::size_t>>& cycles, const std::vector<double>& weight)
      : cycles_(cycles), weight_(weight), chosen_(weight.size(), 0), forbidden_(weight.size(), 0) {}

  std::optional<std::vector<std::size_t>> solve(std::size_t node_budget) {
    budget_ = node_budget;
    search(0);
    if (aborted_ || best_cost_ == kNone) return std::nullopt;
    return best_;
  }

 private:
  static constexpr double kNone = std::numeric_limits<double>::infinity();

  bool hit(const std::vector<std::size_t>& c) const {
    return std::any_of(c.begin(), c.end(), [&](std::size_t e) { return chosen_[e] != 0; });
  }

  void search(double cost) {
    if (aborted_) return;
    if (++nodes_ > budget_) {
      aborted_ = true;
      return;
    }
    const std::vector<std::size_t>* pick = nullptr;
    std::size_t pick_size = 0;
    double bound = 0;
    std::vector<char> used(weight_.size(), 0);
    for (const auto& c : cycles_) {
      if (hit(c)) continue;
      std::size_t allowed = 0;
      double cheapest = kNone;
      bool disjoint = true;
      for (std::size_t e : c) {
        if (forbidden_[e]) continue;
        ++allowed;
        cheapest = std::min(cheapest, weight_[e]);
        if (used[e]) disjoint = false;
      }
      if (allowed == 0) return;  // this cycle can no longer be broken
      if (pick == nullptr || allowed < pick_size) {
        pick = &c;
        pick_size = allowed;
      }
      if (disjoint) {
        bound += cheapest;
        for (std::size_t e : c) used[e] = 1;
      }
    }
    if (pick == nullptr) {  // every cycle hit
      if (cost < best_cost_) {
        best_cost_ = cost;
        best_.clear();
        for (std::size_t e = 0; e < chosen_.size(); ++e) {
          if (chosen_[e]) best_.push_back(e);
        }
      }
      return;
    }
    if (cost + bound >= best_cost_) return;
    std::vector<std::size_t> members;
    for (std::size_t e : *pick) {
      if (!forbidden_[e]) members.push_back(e);
    }
    std::sort(members.begin(), members.end(),
              [&](std::size_t a, std::size_t b) { return weight_[a] != weight_[b] ? weight_[a] < weight_[b] : a < b; });
    std::size_t k = 0;
    for (; k < members.size(); ++k) {
      const std::size_t e = members[k];
      chosen_[e] = 1;
      search(cost + weight_[e]);
      chosen_[e] = 0;
      forbidden_[e] = 1;
      if (aborted_) {
        ++k;
        break;
      }
    }
    for (std::size_t j = 0; j < k; ++j) forbidden_[members[j]] = 0;
  }

  const std::vector<std::vector<std::size_t>>& cycles_;
  const std::vector<double>& weight_;
  std::vector<char> chosen_, forbidden_;
  std::vector<std::size_t> best_;
  double best_cost_ = kNone;
  std::size_t nodes_ = 0, budget_ = 0;
  bool aborted_ = false;
};

constexpr std::size_t kHittingSetNodeBudget = 200000;

}  // namespace

Relaxation Stn::cheapest_relaxation(std::size_t exact_limit) const {
  MISO_PROFILE_SCOPE("echo.stn.cheapest_relaxation");
  const Impl& s = *impl_;
  Relaxation result;
  if (s.ok) return result;
  std::vector<double> weight(s.cons.size());
  for (std::size_t i = 0; i < s.cons.size(); ++i) weight[i] = s.cons[i].weight;
  auto finish = [&](std::vector<std::size_t> dropped, bool exact) {
    std::sort(dropped.begin(), dropped.end());
    result.dropped = std::move(dropped);
    result.cost = 0;
    for (std::size_t i : result.dropped) result.cost += weight[i];
    result.exact = exact;
    return result;
  };

  // Implicit hitting set: the cheapest set breaking every cycle found so far
  // costs at most the optimum; if it also leaves the network consistent it is
  // optimal, else the remaining network yields a new cycle it does not hit.
  std::vector<std::vector<std::size_t>> cycles{s.conflict};
  while (cycles.size() <= exact_limit) {
    std::optional<std::vector<std::size_t>> set = HittingSet(cycles, weight).solve(kHittingSetNodeBudget);
    if (!set) break;
    EchoVector<char> mask = s.on;
    for (std::size_t i : *set) mask[i] = 0;
    std::vector<std::size_t> cycle;
    if (s.bellman_ford(mask, nullptr, &cycle)) return finish(std::move(*set), true);
    cycles.push_back(std::move(cycle));
  }

  // Greedy: drop the cheapest constraint of each cycle until consistent, then
  // restore (most expensive first) every drop the network can do without.
  EchoVector<char> mask = s.on;
  std::vector<std::size_t> dropped;
  std::vector<std::size_t> cycle;
  while (!s.bellman_ford(mask, nullptr, &cycle)) {
    const std::size_t i = *std::min_element(cycle.begin(), cycle.end(), [&](std::size_t a, std::size_t b) {
      return weight[a] != weight[b] ? weight[a] < weight[b] : a < b;
    });
    mask[i] = 0;
    dropped.push_back(i);
  }
  std::stable_sort(dropped.begin(), dropped.end(), [&](std::size_t a, std::size_t b) { return weight[a] > weight[b]; });
  std::vector<std::size_t> kept;
  for (std::size_t i : dropped) {
    mask[i] = 1;
    if (!s.bellman_ford(mask, nullptr, nullptr)) {
      mask[i] = 0;
      kept.push_back(i);
    }
  }
  return finish(std::move(kept), false);
}

bool Stn::check_from_scratch() const {
  MISO_PROFILE_SCOPE("echo.stn.check_from_scratch");
  return impl_->bellman_ford(impl_->on, nullptr, nullptr);
}

// ---- Allen's interval algebra ----

namespace {
constexpr const char* kAllenNames[] = {"before",        "after",       "meets",      "met_by", "overlaps",
                                       "overlapped_by", "starts",      "started_by", "during", "contains",
                                       "finishes",      "finished_by", "equals"};
}  // namespace

const char* to_string(Allen r) noexcept {
  const auto i = static_cast<std::size_t>(r);
  return i < std::size(kAllenNames) ? kAllenNames[i] : "unknown";
}

std::optional<Allen> parse_allen(std::string_view text) {
  for (std::size_t i = 0; i < std::size(kAllenNames); ++i) {
    if (text == kAllenNames[i]) return static_cast<Allen>(i);
  }
  return std::nullopt;
}

// With a = [as, ae], b = [bs, be] and x < y meaning y - x >= 1:
//   before       ae < bs                 after         be < as
//   meets        ae = bs                 met_by        be = as
//   overlaps     as < bs, bs < ae, ae < be
//   overlapped_by bs < as, as < be, be < ae
//   starts       as = bs, ae < be        started_by    as = bs, be < ae
//   during       bs < as, ae < be        contains      as < bs, be < ae
//   finishes     bs < as, ae = be        finished_by   as < bs, ae = be
//   equals       as = bs, ae = be
// as <= ae and bs <= be are not added: the caller states its intervals.
std::vector<StnConstraint> allen_constraints(const Interval& a, Allen r, const Interval& b, double weight) {
  // x < y and x = y as constraints on y - x.
  auto less = [&](PointId x, PointId y) { return StnConstraint{x, y, 1, kPosInf, weight}; };
  auto same = [&](PointId x, PointId y) { return StnConstraint{x, y, 0, 0, weight}; };
  switch (r) {
    case Allen::Before: return {less(a.end, b.start)};
    case Allen::After: return {less(b.end, a.start)};
    case Allen::Meets: return {same(a.end, b.start)};
    case Allen::MetBy: return {same(b.end, a.start)};
    case Allen::Overlaps: return {less(a.start, b.start), less(b.start, a.end), less(a.end, b.end)};
    case Allen::OverlappedBy: return {less(b.start, a.start), less(a.start, b.end), less(b.end, a.end)};
    case Allen::Starts: return {same(a.start, b.start), less(a.end, b.end)};
    case Allen::StartedBy: return {same(a.start, b.start), less(b.end, a.end)};
    case Allen::During: return {less(b.start, a.start), less(a.end, b.end)};
    case Allen::Contains: return {less(a.start, b.start), less(b.end, a.end)};
    case Allen::Finishes: return {less(b.start, a.start), same(a.end, b.end)};
    case Allen::FinishedBy: return {less(a.start, b.start), same(a.end, b.end)};
    case Allen::Equals: return {same(a.start, b.start), same(a.end, b.end)};
  }
  fail("allen_constraints: unknown relation " + std::to_string(static_cast<int>(r)));
}

}  // namespace miso::echo
