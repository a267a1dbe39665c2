#include "miso/echo/paradox.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"

namespace miso::echo {

const char* to_string(Paradox::Kind kind) noexcept {
  switch (kind) {
    case Paradox::Kind::InconsistentConstraints: return "inconsistent_constraints";
    case Paradox::Kind::CausalLoop: return "causal_loop";
    case Paradox::Kind::Contradiction: return "contradiction";
  }
  return "?";
}

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

std::string fmt_cost(double c) {
  std::ostringstream o;
  o << c;
  return o.str();
}

std::string bound_text(Tick v) {
  if (v <= kNegInf) return "-inf";
  if (v >= kPosInf) return "inf";
  return std::to_string(v);
}

// What one constraint of a branch's temporal network stands for.
struct Origin {
  enum class Kind : std::uint8_t { FixedTime, Constraint, Link };
  Kind kind = Kind::Constraint;
  std::size_t index = 0;  // World constraint or link index; FixedTime: unused
  NodeId node = kNoNode;  // FixedTime: the node
};

// The temporal network of one branch over the nodes that constraints or links
// mention, built up incrementally.
struct Network {
  Stn stn;
  std::vector<NodeId> point_node{kNoNode};  // point -> node; the origin stands for no node
  std::unordered_map<NodeId, PointId> node_point;
  std::vector<Origin> origin;  // per Stn constraint
  // Nodes whose fixed time is set aside (resolution builds networks without
  // some facts); null: every fixed time counts.
  const std::set<NodeId>* unfixed = nullptr;

  // The point of node id (which is on the branch), created on first use with
  // its fixed time.
  PointId point(const World& world, NodeId id) {
    auto it = node_point.find(id);
    if (it != node_point.end()) return it->second;
    const PointId p = stn.add_point();
    point_node.push_back(id);
    node_point.emplace(id, p);
    const NodeView v = world.node(id);
    if (!v.free() && (unfixed == nullptr || unfixed->count(id) == 0)) {
      stn.fix(p, v.time, kFactWeight);
      origin.push_back({Origin::Kind::FixedTime, 0, id});
    }
    return p;
  }
  void add_constraint(const World& world, std::size_t i, Tick lo, Tick hi) {
    const TemporalConstraint& c = world.constraints()[i];
    const PointId a = point(world, c.from), b = point(world, c.to);
    stn.add({a, b, lo, hi, c.weight});
    origin.push_back({Origin::Kind::Constraint, i, kNoNode});
  }
  void add_link(const World& world, std::size_t i) {
    const CausalLink& l = world.links()[i];
    const PointId a = point(world, l.cause), b = point(world, l.effect);
    stn.add({a, b, 0, kPosInf, kFactWeight});
    origin.push_back({Origin::Kind::Link, i, kNoNode});
  }
};

bool on_branch(const Timeline& t, NodeId id) { return t.find(id).has_value(); }

// A paradox from the Stn constraint indices of a negative cycle.
Paradox cycle_paradox(const World& world, const Network& net, const std::vector<std::size_t>& cycle) {
  Paradox p;
  std::set<NodeId> nodes;
  std::ostringstream parts;
  bool first = true;
  for (std::size_t k : cycle) {
    const Origin& o = net.origin[k];
    if (!first) parts << "; ";
    first = false;
    switch (o.kind) {
      case Origin::Kind::FixedTime:
        nodes.insert(o.node);
        parts << world.node_name(o.node) << " fixed at " << world.node(o.node).time;
        break;
      case Origin::Kind::Constraint: {
        const TemporalConstraint& c = world.constraints()[o.index];
        p.constraints.push_back(o.index);
        nodes.insert(c.from);
        nodes.insert(c.to);
        parts << "constraint " << o.index << " (" << bound_text(c.lo) << " <= t(" << world.node_name(c.to) << ") - t("
              << world.node_name(c.from) << ") <= " << bound_text(c.hi) << ")";
        break;
      }
      case Origin::Kind::Link: {
        const CausalLink& l = world.links()[o.index];
        p.links.push_back(o.index);
        nodes.insert(l.cause);
        nodes.insert(l.effect);
        parts << "link " << o.index << " (" << world.node_name(l.cause) << " causes " << world.node_name(l.effect)
              << ")";
        break;
      }
    }
  }
  std::sort(p.constraints.begin(), p.constraints.end());
  std::sort(p.links.begin(), p.links.end());
  p.nodes.assign(nodes.begin(), nodes.end());
  if (!p.links.empty()) {
    p.kind = Paradox::Kind::CausalLoop;
    p.message = "an effect would precede its cause: " + parts.str() + " cannot all hold";
  } else {
    p.kind = Paradox::Kind::InconsistentConstraints;
    p.message = "inconsistent constraints: " + parts.str() + " cannot all hold";
  }
  return p;
}

// Every independent negative cycle of the network: find one, set aside its
// cheapest member, repeat; then restore.
std::vector<Paradox> temporal_paradoxes(const World& world, Network& net) {
  std::vector<Paradox> out;
  if (net.stn.consistent()) return out;
  std::vector<std::size_t> disabled;
  while (!net.stn.consistent()) {
    std::vector<std::size_t> cycle = net.stn.conflict();
    if (cycle.empty()) break;
    out.push_back(cycle_paradox(world, net, cycle));
    // The cheapest member goes; among equals a constraint before a link before
    // a fixed time (a node's time is shared by every cycle through it).
    auto rank = [&](std::size_t k) {
      const Origin::Kind kind = net.origin[k].kind;
      const int order = kind == Origin::Kind::Constraint ? 0 : kind == Origin::Kind::Link ? 1 : 2;
      return std::make_tuple(net.stn.constraints()[k].weight, order, k);
    };
    std::size_t cheapest = cycle.front();
    for (std::size_t k : cycle) {
      if (rank(k) < rank(cheapest)) cheapest = k;
    }
    net.stn.set_enabled(cheapest, false);
    disabled.push_back(cheapest);
  }
  for (std::size_t k : disabled) net.stn.set_enabled(k, true);
  return out;
}

// Fluent bookkeeping of one branch: the state before the current tick and the
// effects seen at the current tick.
struct FluentScan {
  std::unordered_map<Symbol, bool> state;
  Tick tick = kFree;
  struct Pending {
    Symbol fluent;
    Effect effect;
    NodeId node;
  };
  std::vector<Pending> pending;
  std::unordered_set<Symbol> reported;  // contradictions at the current tick, reported once

  void close_tick() {
    // A fluent both initiated and terminated at one tick holds afterwards only
    // if initiated last (in timeline order); the contradiction is reported.
    for (const Pending& e : pending) state[e.fluent] = e.effect == Effect::Initiates;
    pending.clear();
    reported.clear();
  }

  void read(const World& world, const NodeView& v, std::vector<Paradox>& out) {
    if (v.free()) return;
    if (v.time != tick) {
      close_tick();
      tick = v.time;
    }
    for (const FluentEffect& e : v.effects) {
      if (e.effect == Effect::Requires) {
        auto it = state.find(e.fluent);
        if (it == state.end() || !it->second) {
          Paradox p;
          p.kind = Paradox::Kind::Contradiction;
          p.fluent = e.fluent;
          p.nodes = {v.id};
          p.message = "node " + world.node_name(v.id) + " requires fluent '" + world.text(e.fluent) +
                      "', which does not hold before tick " + std::to_string(v.time);
          out.push_back(std::move(p));
        }
        continue;
      }
      for (const Pending& q : pending) {
        if (q.fluent != e.fluent || q.effect == e.effect || reported.count(e.fluent) != 0) continue;
        Paradox p;
        p.kind = Paradox::Kind::Contradiction;
        p.fluent = e.fluent;
        const NodeId init = e.effect == Effect::Initiates ? v.id : q.node;
        const NodeId term = e.effect == Effect::Initiates ? q.node : v.id;
        p.nodes = {std::min(init, term), std::max(init, term)};
        p.message = "fluent '" + world.text(e.fluent) + "' is initiated by " + world.node_name(init) +
                    " and terminated by " + world.node_name(term) + " at the same tick " + std::to_string(v.time);
        out.push_back(std::move(p));
        reported.insert(e.fluent);
        break;
      }
      pending.push_back({e.fluent, e.effect, v.id});
    }
  }
};

struct BranchState {
  Network net;
  FluentScan scan;
  std::size_t nodes_read = 0;
  NodeId last_read = kNoNode;
  std::size_t constraints_read = 0;
  std::size_t links_read = 0;
  std::vector<Paradox> contradictions;
  std::vector<Paradox> loops;                                                        // cycles of causal links
  std::unordered_map<NodeId, std::vector<std::pair<NodeId, std::size_t>>> link_out;  // cause -> (effect, link)
};

// A path of links from `from` to `to` on the branch (link indices), if any.
bool link_path(const BranchState& s, NodeId from, NodeId to, std::vector<std::size_t>& path,
               std::unordered_set<NodeId>& seen) {
  if (from == to) return true;
  if (!seen.insert(from).second) return false;
  auto it = s.link_out.find(from);
  if (it == s.link_out.end()) return false;
  for (const auto& [next, link] : it->second) {
    path.push_back(link);
    if (link_path(s, next, to, path, seen)) return true;
    path.pop_back();
  }
  return false;
}

}  // namespace

struct Checker::Impl {
  const World& world;
  std::vector<std::unique_ptr<BranchState>> branches;
  std::vector<std::vector<std::pair<Tick, Tick>>> bounds_seen;  // per branch: the bounds read per constraint
  CheckReport report;

  explicit Impl(const World& w) : world(w) {}

  void read_branch(BranchId b, BranchState& s) {
    const Timeline& t = world.timeline(b);
    // A merge rewrites a timeline: start over when what was read is gone.
    if (s.nodes_read > t.size() || (s.nodes_read > 0 && t[s.nodes_read - 1].id != s.last_read)) {
      s = BranchState{};
    }
    for (std::size_t i = s.nodes_read; i < t.size(); ++i) s.scan.read(world, t[i], s.contradictions);
    s.nodes_read = t.size();
    if (!t.empty()) s.last_read = t.back().id;
    const auto& cs = world.constraints();
    for (std::size_t i = s.constraints_read; i < cs.size(); ++i) {
      if (on_branch(t, cs[i].from) && on_branch(t, cs[i].to)) s.net.add_constraint(world, i, cs[i].lo, cs[i].hi);
    }
    s.constraints_read = cs.size();
    const auto& ls = world.links();
    for (std::size_t i = s.links_read; i < ls.size(); ++i) {
      const CausalLink& l = ls[i];
      if (!on_branch(t, l.cause) || !on_branch(t, l.effect)) continue;
      // A link closing a cycle of links: the effect is among its own causes.
      std::vector<std::size_t> path;
      std::unordered_set<NodeId> seen;
      if (link_path(s, l.effect, l.cause, path, seen)) {
        path.push_back(i);
        Paradox p;
        p.kind = Paradox::Kind::CausalLoop;
        std::set<NodeId> nodes;
        std::string chain;
        for (std::size_t k : path) {
          nodes.insert(ls[k].cause);
          nodes.insert(ls[k].effect);
          chain += world.node_name(ls[k].cause) + " -> ";
        }
        chain += world.node_name(l.effect);
        p.links = path;
        std::sort(p.links.begin(), p.links.end());
        p.nodes.assign(nodes.begin(), nodes.end());
        p.message = "causal loop: " + chain + " (an event among its own causes)";
        s.loops.push_back(std::move(p));
      }
      s.link_out[l.cause].emplace_back(l.effect, i);
      s.net.add_link(world, i);
    }
    s.links_read = ls.size();
  }

  // Constraints whose bounds changed since read (a resolution was applied):
  // the branch's network is rebuilt.
  bool bounds_changed(BranchId b) {
    auto& seen = bounds_seen[b];
    const auto& cs = world.constraints();
    bool changed = false;
    for (std::size_t i = 0; i < seen.size() && i < cs.size(); ++i) {
      changed = changed || seen[i] != std::make_pair(cs[i].lo, cs[i].hi);
    }
    seen.resize(cs.size());
    for (std::size_t i = 0; i < cs.size(); ++i) seen[i] = {cs[i].lo, cs[i].hi};
    return changed;
  }

  void update() {
    MISO_PROFILE_SCOPE("echo.check");
    while (branches.size() < world.branch_count()) {
      branches.push_back(std::make_unique<BranchState>());
      bounds_seen.emplace_back();
    }
    using Key = std::tuple<int, std::vector<std::size_t>, std::vector<std::size_t>, std::vector<NodeId>, Symbol>;
    std::map<Key, std::size_t> index;
    report.paradoxes.clear();
    for (BranchId b = 0; b < branches.size(); ++b) {
      BranchState& s = *branches[b];
      if (bounds_changed(b)) s = BranchState{};
      read_branch(b, s);
      std::vector<Paradox> found = temporal_paradoxes(world, s.net);
      found.insert(found.end(), s.loops.begin(), s.loops.end());
      found.insert(found.end(), s.contradictions.begin(), s.contradictions.end());
      for (Paradox& p : found) {
        Key key{static_cast<int>(p.kind), p.constraints, p.links, p.nodes, p.fluent};
        auto [it, fresh] = index.emplace(key, report.paradoxes.size());
        if (fresh) {
          p.branches = {b};
          report.paradoxes.push_back(std::move(p));
        } else {
          report.paradoxes[it->second].branches.push_back(b);
        }
      }
    }
  }
};

Checker::Checker(const World& world) : impl_(std::make_unique<Impl>(world)) {}
Checker::~Checker() = default;

const CheckReport& Checker::update() {
  impl_->update();
  return impl_->report;
}
const CheckReport& Checker::report() const noexcept { return impl_->report; }

const Stn& Checker::network(BranchId b) const {
  if (b >= impl_->branches.size()) fail("echo check: no branch " + std::to_string(b) + " has been read yet");
  return impl_->branches[b]->net.stn;
}
const std::vector<NodeId>& Checker::points(BranchId b) const {
  if (b >= impl_->branches.size()) fail("echo check: no branch " + std::to_string(b) + " has been read yet");
  return impl_->branches[b]->net.point_node;
}

CheckReport check(const World& world) {
  Checker c(world);
  return c.update();
}

// --- resolution ---------------------------------------------------------------------------

namespace {

// What a network for resolution leaves out: constraints (World indices),
// links (World indices) and nodes whose fixed time is not asserted.
struct Leave {
  std::set<std::size_t> constraints, links;
  std::set<NodeId> fixed;
};

// The network of branch b with constraint bounds overridden where given.
Network branch_network(const World& world, BranchId b, const std::map<std::size_t, std::pair<Tick, Tick>>& bounds,
                       const Leave& leave) {
  Network net;
  net.unfixed = &leave.fixed;
  const Timeline& t = world.timeline(b);
  const auto& cs = world.constraints();
  for (std::size_t i = 0; i < cs.size(); ++i) {
    if (leave.constraints.count(i) != 0 || !on_branch(t, cs[i].from) || !on_branch(t, cs[i].to)) continue;
    auto it = bounds.find(i);
    net.add_constraint(world, i, it == bounds.end() ? cs[i].lo : it->second.first,
                       it == bounds.end() ? cs[i].hi : it->second.second);
  }
  for (std::size_t i = 0; i < world.links().size(); ++i) {
    const CausalLink& l = world.links()[i];
    if (leave.links.count(i) == 0 && on_branch(t, l.cause) && on_branch(t, l.effect)) net.add_link(world, i);
  }
  net.unfixed = nullptr;  // `leave` may not outlive the network
  return net;
}

}  // namespace

std::vector<Resolution> propose(const World& world, BranchId b) {
  MISO_PROFILE_SCOPE("echo.propose");
  (void)world.timeline(b);  // Error(InvalidArgument) for an unknown branch
  std::vector<Resolution> out;
  const CheckReport report = check(world);
  std::vector<const Paradox*> here;
  for (const Paradox& p : report.paradoxes) {
    if (std::find(p.branches.begin(), p.branches.end(), b) != p.branches.end()) here.push_back(&p);
  }
  if (here.empty()) return out;

  // Relaxation of the constraints: the least-cost set over the whole network,
  // facts weighing kFactWeight. Its constraint members are widened; conflicts
  // among facts alone (an effect fixed before its cause) are left to forks.
  const bool temporal =
      std::any_of(here.begin(), here.end(), [](const Paradox* p) { return p->kind != Paradox::Kind::Contradiction; });
  if (temporal) {
    Network net = branch_network(world, b, {}, {});
    const Relaxation r = net.stn.cheapest_relaxation();
    std::vector<std::size_t> dropped;  // World constraint indices
    Leave facts;                       // the facts the relaxation would drop: set aside, not changed
    double cost = 0;
    for (std::size_t k : r.dropped) {
      const Origin& o = net.origin[k];
      if (o.kind == Origin::Kind::Constraint) {
        dropped.push_back(o.index);
        cost += world.constraints()[o.index].weight;
      } else if (o.kind == Origin::Kind::Link) {
        facts.links.insert(o.index);
      } else {
        facts.fixed.insert(o.node);
      }
    }
    if (!dropped.empty()) {
      Resolution res;
      res.kind = Resolution::Kind::Relax;
      res.branch = b;
      res.cost = cost;
      res.exact = r.exact;
      // Widen each dropped constraint, one at a time, to the nearest bounds the
      // rest allows: [lo, hi] grows just enough to meet [-d(to, from), d(from, to)].
      std::map<std::size_t, std::pair<Tick, Tick>> bounds;
      std::set<std::size_t> later(dropped.begin(), dropped.end());
      std::ostringstream text;
      text << "relax";
      for (std::size_t i : dropped) {
        later.erase(i);
        Leave leave = facts;
        leave.constraints = later;
        leave.constraints.insert(i);
        Network rest = branch_network(world, b, bounds, leave);
        const TemporalConstraint& c = world.constraints()[i];
        Tick lo = c.lo, hi = c.hi;
        if (rest.stn.consistent() && rest.node_point.count(c.from) != 0 && rest.node_point.count(c.to) != 0) {
          const MinimalNetwork m = rest.stn.minimal();
          const PointId pf = rest.node_point.at(c.from), pt = rest.node_point.at(c.to);
          const Tick up = m.at(pf, pt), down = m.at(pt, pf);  // t(to) - t(from) in [-down, up]
          if (down < kPosInf && hi < -down) hi = -down;
          if (up < kPosInf && lo > up) lo = up;
        } else if (!rest.stn.consistent()) {
          lo = kNegInf;
          hi = kPosInf;
        }
        bounds[i] = {lo, hi};
        res.changes.push_back({i, lo, hi});
        text << " constraint " << i << " to [" << bound_text(lo) << ", " << bound_text(hi) << "]";
      }
      res.description = text.str() + " (cost " + fmt_cost(cost) + (res.exact ? ", least" : ", greedy") + ")";
      if (!facts.links.empty() || !facts.fixed.empty()) {
        res.description += "; conflicts among fixed times and causal links remain for a fork";
      }
      out.push_back(std::move(res));
    }
  }

  // Forks: one per paradox, each alternative without one of its nodes.
  for (const Paradox* p : here) {
    Resolution res;
    res.kind = Resolution::Kind::Fork;
    res.branch = b;
    res.alternatives = p->nodes;
    std::string names;
    for (NodeId n : p->nodes) names += (names.empty() ? "" : ", ") + world.node_name(n);
    res.description = std::string("fork one alternative without each of ") + names + " (" + to_string(p->kind) + ")";
    out.push_back(std::move(res));
  }
  return out;
}

std::vector<BranchId> apply(World& world, const Resolution& r) {
  MISO_PROFILE_SCOPE("echo.apply");
  if (r.kind == Resolution::Kind::Relax) {
    for (const Resolution::Change& c : r.changes) {
      if (c.constraint >= world.constraints().size())
        fail("echo resolve: no constraint " + std::to_string(c.constraint));
      if (c.lo <= kNegInf && c.hi >= kPosInf) {
        world.drop_constraint(c.constraint);
      } else {
        world.set_bounds(c.constraint, c.lo, c.hi);
      }
    }
    return {};
  }
  std::vector<BranchId> made;
  const std::string base = world.branch_name(r.branch);
  for (NodeId left_out : r.alternatives) {
    const Timeline t = world.timeline(r.branch);  // a cheap copy: the branch may grow below
    const auto pos = t.find(left_out);
    if (!pos) fail("echo resolve: node " + world.node_name(left_out) + " is not on branch " + base);
    std::string name = base + "/alt" + std::to_string(made.size() + 1);
    while (world.find_branch(name)) name += "'";
    const BranchId nb = world.fork(r.branch, *pos == 0 ? kNoNode : t[*pos - 1].id, name);
    // Replay the nodes after the left-out one as new nodes.
    std::unordered_map<NodeId, NodeId> copy;
    for (std::size_t i = *pos + 1; i < t.size(); ++i) {
      const NodeView v = t[i];
      NodeSpec spec{v.time, v.type, v.probability, v.attributes, v.effects};
      // A named node's copy is "<name>@<branch>" (names are unique in a world).
      const std::string original = world.node_name(v.id);
      const std::string copy_name = original.empty() || original[0] == '#' ? std::string() : original + "@" + name;
      copy.emplace(v.id, world.append(nb, spec, world.find_node(copy_name) ? std::string() : copy_name));
    }
    auto mapped = [&](NodeId id, NodeId& out) {
      if (id == left_out) return false;
      auto it = copy.find(id);
      if (it != copy.end()) {
        out = it->second;
        return true;
      }
      out = id;
      return world.timeline(nb).find(id).has_value();
    };
    const std::size_t nc = world.constraints().size(), nl = world.links().size();
    for (std::size_t i = 0; i < nc; ++i) {
      TemporalConstraint c = world.constraints()[i];
      if (copy.count(c.from) == 0 && copy.count(c.to) == 0) continue;  // applies as it is, or not at all
      if (!mapped(c.from, c.from) || !mapped(c.to, c.to)) continue;
      c.label = c.label + " (on " + name + ")";
      world.add_constraint(std::move(c));
    }
    for (std::size_t i = 0; i < nl; ++i) {
      CausalLink l = world.links()[i];
      if (copy.count(l.cause) == 0 && copy.count(l.effect) == 0) continue;
      if (!mapped(l.cause, l.cause) || !mapped(l.effect, l.effect)) continue;
      world.add_link(l);
    }
    made.push_back(nb);
  }
  return made;
}

}  // namespace miso::echo
