#include "miso/echo/workload.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>

#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"
#include "miso/echo/paradox.hpp"
#include "miso/echo/stn.hpp"
#include "miso/echo/trigger.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/profiler/span.hpp"

namespace miso::echo {

namespace {

constexpr const char* kName = "echo.stream";
constexpr const char* kKind = "events";      // at most 8 characters (data_file.hpp)
constexpr std::uint64_t kBytesPerNode = 40;  // a node record of the binary format, roughly
constexpr int kTypes = 8;
constexpr int kFluents = 4;
constexpr std::uint64_t kToggleEvery = 500;  // a fluent toggles every 500th node...
constexpr std::uint64_t kRequireAt = 250;    // ...and is required 250 nodes later
constexpr std::uint64_t kConstraintEvery = 37;
constexpr std::uint64_t kLinkEvery = 300;
constexpr std::uint64_t kFreeEvery = 1000;

std::uint64_t nodes_for(profiler::DataSize size) { return profiler::target_bytes(size) / kBytesPerNode; }

// Planted paradoxes of each kind: one, plus one per million nodes.
std::uint64_t plants_for(std::uint64_t nodes) { return 1 + nodes / 1'000'000; }

}  // namespace

StreamPlan generate_stream(std::uint64_t nodes, std::uint64_t seed) {
  MISO_PROFILE_SCOPE("echo.generate");
  if (nodes < 2000)
    throw Error(Error::Kind::InvalidArgument, "echo stream: at least 2000 nodes, got " + std::to_string(nodes));
  core::SplitMix64 rng(seed);
  StreamPlan plan;
  plan.events.resize(nodes);
  // Planted positions: in distinct thousand-node blocks away from the regular
  // fluent and constraint sites.
  const std::uint64_t plants = plants_for(nodes);
  const std::uint64_t blocks = nodes / 1000;
  std::set<std::uint64_t> used;
  auto pick_block = [&] {
    for (;;) {
      const std::uint64_t b = 1 + rng.next() % (blocks - 1);
      if (used.insert(b).second) return b;
    }
  };
  std::vector<std::uint64_t> cycle_at, causal_at, contra_at;
  for (std::uint64_t k = 0; k < plants && used.size() + 3 < blocks - 1; ++k) {
    cycle_at.push_back(pick_block() * 1000 + 600);
    causal_at.push_back(pick_block() * 1000 + 700);
    contra_at.push_back(pick_block() * 1000 + 800);
  }
  std::set<std::uint64_t> cycle_set(cycle_at.begin(), cycle_at.end());
  std::set<std::uint64_t> contra_set(contra_at.begin(), contra_at.end());

  Tick t = 0;
  std::uint64_t i = 0;
  while (i < nodes) {
    if (cycle_set.count(i) != 0 && i + 3 <= nodes) {  // three free nodes in an impossible cycle
      for (int k = 0; k < 3; ++k)
        plan.events[i + static_cast<std::uint64_t>(k)] = StreamEvent{kFree, 7, 0.5f, -1, Effect::Initiates};
      plan.planted_cycles.push_back(i);
      plan.constraints.push_back({i, i + 1, 5, 10});
      plan.constraints.push_back({i + 1, i + 2, 5, 10});
      plan.constraints.push_back({i, i + 2, 0, 8});
      i += 3;
      continue;
    }
    if (contra_set.count(i) != 0 && i + 2 <= nodes) {  // one tick, one fluent, both ways
      t += 1;
      const auto f = static_cast<std::int16_t>(kFluents + plan.planted_contradiction.size());
      plan.events[i] = StreamEvent{t, 6, 0.5f, f, Effect::Initiates};
      plan.events[i + 1] = StreamEvent{t, 6, 0.5f, f, Effect::Terminates};
      plan.planted_contradiction.push_back(i);
      i += 2;
      continue;
    }
    t += static_cast<Tick>(rng.next() % 4);  // 0..3 ticks: equal times happen
    StreamEvent e;
    e.time = (i % kFreeEvery == 500) ? kFree : t;
    e.type = static_cast<std::uint8_t>(rng.next() % kTypes);
    e.value = static_cast<float>(rng.next_double());
    plan.events[i] = e;
    ++i;
  }
  // Fluents toggle on a schedule the generator tracks, so requirements hold.
  bool on[kFluents] = {};
  for (std::uint64_t j = kToggleEvery; j + kRequireAt < nodes; j += kToggleEvery) {
    StreamEvent& e = plan.events[j];
    if (e.time == kFree || e.fluent >= 0 || j % kFreeEvery == 500) continue;
    const auto f = static_cast<int>((j / kToggleEvery) % kFluents);
    e.fluent = static_cast<std::int16_t>(f);
    e.effect = on[f] ? Effect::Terminates : Effect::Initiates;
    on[f] = !on[f];
    // A requirement later on a fluent that is on then (if any).
    StreamEvent& r = plan.events[j + kRequireAt];
    for (int g = 0; g < kFluents; ++g) {
      if (on[g] && r.time != kFree && r.fluent < 0) {
        r.fluent = static_cast<std::int16_t>(g);
        r.effect = Effect::Requires;
        break;
      }
    }
  }
  auto timed = [&](std::uint64_t j) { return plan.events[j].time != kFree; };
  auto planted_site = [&](std::uint64_t j) { return j % 1000 >= 600; };
  // Constraints between timed nodes, satisfied by their times with some slack.
  for (std::uint64_t j = 0; j + kConstraintEvery < nodes; j += kConstraintEvery) {
    const std::uint64_t k = j + kConstraintEvery;
    if (!timed(j) || !timed(k) || planted_site(j) || planted_site(k)) continue;
    const Tick gap = plan.events[k].time - plan.events[j].time;
    plan.constraints.push_back(
        {j, k, gap - static_cast<Tick>(rng.next() % 5), gap + static_cast<Tick>(rng.next() % 5)});
  }
  // Each free node lies between the timed nodes around it.
  for (std::uint64_t j = 500; j + 1 < nodes; j += kFreeEvery) {
    if (plan.events[j].time != kFree || planted_site(j) || !timed(j - 1) || !timed(j + 1)) continue;
    plan.constraints.push_back({j - 1, j, 0, kPosInf});
    plan.constraints.push_back({j, j + 1, 0, kPosInf});
  }
  // Causes come first: links to a node a few places later.
  for (std::uint64_t j = 0; j + 5 < nodes; j += kLinkEvery) {
    if (!timed(j) || !timed(j + 5) || planted_site(j) || planted_site(j + 5)) continue;
    plan.links.push_back({j, j + 5});
  }
  for (std::uint64_t c : causal_at) {  // an effect fixed before its cause
    std::uint64_t a = c, b = c + 20;
    while (b < nodes && (!timed(a) || !timed(b) || plan.events[b].time <= plan.events[a].time)) ++b;
    if (b >= nodes || !timed(a)) continue;
    plan.planted_causal.push_back(plan.links.size());
    plan.links.push_back({b, a});
  }
  // Three what-if branches late in the stream.
  for (int k = 1; k <= 3; ++k) {
    std::uint64_t at = nodes - nodes / (4 * static_cast<std::uint64_t>(k)) - 1;
    while (at > 0 && !timed(at)) --at;
    plan.forks.push_back(at);
  }
  return plan;
}

namespace {

// Serialisation of a plan into one byte string (trivially copyable arrays).
template <typename T>
void put(std::string& out, const std::vector<T>& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  const std::uint64_t n = v.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(reinterpret_cast<const char*>(v.data()), n * sizeof(T));
}
template <typename T>
void get(std::span<const std::byte>& in, std::vector<T>& v) {
  std::uint64_t n = 0;
  auto need = [&](std::size_t bytes) {
    if (in.size() < bytes) throw Error(Error::Kind::Format, std::string(kName) + ": saved stream is truncated");
  };
  need(sizeof n);
  std::memcpy(&n, in.data(), sizeof n);
  in = in.subspan(sizeof n);
  if (n > in.size() / sizeof(T)) throw Error(Error::Kind::Format, std::string(kName) + ": saved stream is truncated");
  v.resize(n);
  std::memcpy(v.data(), in.data(), n * sizeof(T));
  in = in.subspan(n * sizeof(T));
}

std::string serialise(const StreamPlan& p) {
  std::string out;
  put(out, p.events);
  put(out, p.constraints);
  put(out, p.links);
  put(out, p.forks);
  put(out, p.planted_cycles);
  put(out, p.planted_causal);
  put(out, p.planted_contradiction);
  return out;
}

StreamPlan deserialise(std::span<const std::byte> in) {
  StreamPlan p;
  get(in, p.events);
  get(in, p.constraints);
  get(in, p.links);
  get(in, p.forks);
  get(in, p.planted_cycles);
  get(in, p.planted_causal);
  get(in, p.planted_contradiction);
  const std::uint64_t n = p.events.size();
  for (const auto& c : p.constraints) {
    if (c.a >= n || c.b >= n) throw Error(Error::Kind::Format, std::string(kName) + ": constraint out of range");
  }
  for (const auto& c : p.links) {
    if (c.a >= n || c.b >= n) throw Error(Error::Kind::Format, std::string(kName) + ": link out of range");
  }
  for (std::uint64_t f : p.forks) {
    if (f >= n) throw Error(Error::Kind::Format, std::string(kName) + ": fork out of range");
  }
  // What run() indexes with: planted sites, event types and fluents.
  auto bad = [&](const char* what) {
    throw Error(Error::Kind::Format, std::string(kName) + ": " + what + " out of range");
  };
  for (std::uint64_t c : p.planted_cycles) {
    if (c + 2 >= n) bad("planted cycle");
  }
  for (std::uint64_t k : p.planted_causal) {
    if (k >= p.links.size()) bad("planted causal link");
  }
  for (std::uint64_t c : p.planted_contradiction) {
    if (c + 1 >= n) bad("planted contradiction");
  }
  const auto fluents = static_cast<std::int64_t>(kFluents + p.planted_contradiction.size());
  for (const StreamEvent& e : p.events) {
    if (e.type >= kTypes || e.fluent >= fluents) bad("event");
  }
  return p;
}

// The ten triggers of the workload.
std::vector<Trigger> stream_triggers(World& w, const std::vector<Symbol>& types) {
  std::vector<Trigger> ts;
  auto add = [&](std::string name, Pattern::Kind kind, std::vector<int> ty, Tick window, std::uint32_t count = 1) {
    Trigger t;
    t.name = std::move(name);
    t.pattern.kind = kind;
    for (int k : ty) t.pattern.types.push_back(types[static_cast<std::size_t>(k)]);
    t.pattern.window = window;
    t.pattern.count = count;
    t.action.kind = Action::Kind::Alert;
    ts.push_back(std::move(t));
  };
  add("seq01", Pattern::Kind::Sequence, {0, 1}, 4);
  add("seq234", Pattern::Kind::Sequence, {2, 3, 4}, 12);
  add("count5", Pattern::Kind::Count, {5}, 6, 3);
  add("absent67", Pattern::Kind::Absence, {6, 7}, 10);
  add("both13", Pattern::Kind::Conjunction, {1, 3}, 3);
  add("seq40", Pattern::Kind::Sequence, {4, 0}, 2);
  add("count2", Pattern::Kind::Count, {2}, 3, 2);
  add("seq55", Pattern::Kind::Sequence, {5, 5}, 1);
  add("both06", Pattern::Kind::Conjunction, {0, 6}, 2);
  add("hot1", Pattern::Kind::Sequence, {1}, 0);
  Comparison hot;
  hot.key = w.intern("value");
  hot.op = Comparison::Op::Gt;
  hot.value = Value::of(0.99);
  ts.back().conditions.push_back(hot);
  return ts;
}

}  // namespace

void StreamWorkload::prepare(const profiler::WorkloadContext& ctx) {
  seed_ = ctx.seed;
  if (!ctx.data_dir.empty()) {
    profiler::DataFile f = profiler::read_data_file(profiler::input_file(ctx.data_dir, kName, ctx.size), kKind);
    seed_ = f.seed;
    plan_ = deserialise(std::span<const std::byte>(f.payload.data(), f.payload.size()));
  } else {
    plan_ = generate_stream(nodes_for(ctx.size), seed_);
  }
  bytes_ = plan_.events.size() * kBytesPerNode;
}

void StreamWorkload::run(const profiler::WorkloadContext& /*ctx*/) {
  MISO_PROFILE_SCOPE("echo.stream");
  World w;
  std::vector<Symbol> types, fluents;
  for (int k = 0; k < kTypes; ++k) types.push_back(w.intern(std::string("type").append(std::to_string(k))));
  const std::size_t planted_fluents = plan_.planted_contradiction.size();
  for (std::size_t k = 0; k < kFluents + planted_fluents; ++k)
    fluents.push_back(w.intern(std::string("fluent").append(std::to_string(k))));
  const Symbol value_key = w.intern("value");
  TriggerEngine engine(w);
  for (Trigger& t : stream_triggers(w, types)) engine.add(std::move(t));

  std::vector<NodeId> ids(plan_.events.size());
  std::size_t firings = 0, hot_fired = 0;
  auto count_firings = [&] {
    firings += engine.firings().size();
    for (const Firing& f : engine.firings()) hot_fired += f.trigger == 9 ? 1 : 0;
    engine.clear_firings();
  };
  std::size_t next_fork = 0;
  std::vector<std::uint64_t> forks = plan_.forks;
  std::sort(forks.begin(), forks.end());
  std::vector<BranchId> branches;
  {
    MISO_PROFILE_SCOPE("echo.stream.append");
    Attribute attr;
    attr.key = value_key;
    FluentEffect fx;
    for (std::size_t i = 0; i < plan_.events.size(); ++i) {
      const StreamEvent& e = plan_.events[i];
      attr.value = Value::of(e.value);
      NodeSpec spec;
      spec.time = e.time;
      spec.type = types[e.type];
      spec.attributes = std::span<const Attribute>(&attr, 1);
      if (e.fluent >= 0) {
        fx.fluent = fluents[static_cast<std::size_t>(e.fluent)];
        fx.effect = e.effect;
        spec.effects = std::span<const FluentEffect>(&fx, 1);
      }
      ids[i] = engine.append(w.main(), spec);
      if ((i & 0xFFFF) == 0xFFFF) count_firings();                 // firings are counted, not kept
      while (next_fork < forks.size() && forks[next_fork] == i) {  // a what-if branch with ten nodes of its own
        const BranchId b = w.fork(w.main(), ids[i], std::string("whatif").append(std::to_string(next_fork + 1)));
        Tick t = e.time;
        for (int k = 0; k < 10; ++k) {
          NodeSpec s;
          s.time = ++t;
          s.type = types[static_cast<std::size_t>(k % kTypes)];
          w.append(b, s);
        }
        branches.push_back(b);
        ++next_fork;
      }
    }
  }
  count_firings();
  Checker checker(w);
  {
    MISO_PROFILE_SCOPE("echo.stream.constraints");
    for (const auto& c : plan_.constraints) {
      TemporalConstraint tc;
      tc.from = ids[c.a];
      tc.to = ids[c.b];
      tc.lo = c.lo;
      tc.hi = c.hi;
      w.add_constraint(std::move(tc));
    }
    for (const auto& l : plan_.links) w.add_link({ids[l.a], ids[l.b]});
  }
  const CheckReport report = checker.update();

  // The planted paradoxes, as the checker should report them.
  std::set<std::tuple<int, std::vector<NodeId>>> expected;
  for (std::uint64_t c : plan_.planted_cycles) {
    expected.insert({static_cast<int>(Paradox::Kind::InconsistentConstraints), {ids[c], ids[c + 1], ids[c + 2]}});
  }
  for (std::uint64_t k : plan_.planted_causal) {
    const auto& l = plan_.links[k];
    expected.insert(
        {static_cast<int>(Paradox::Kind::CausalLoop), {std::min(ids[l.a], ids[l.b]), std::max(ids[l.a], ids[l.b])}});
  }
  for (std::uint64_t c : plan_.planted_contradiction) {
    expected.insert({static_cast<int>(Paradox::Kind::Contradiction), {ids[c], ids[c + 1]}});
  }
  std::set<std::tuple<int, std::vector<NodeId>>> found;
  for (const Paradox& p : report.paradoxes) found.insert({static_cast<int>(p.kind), p.nodes});

  std::string detail;
  bool ok = found == expected;
  if (!ok) {
    detail = "found " + std::to_string(found.size()) + " paradoxes, planted " + std::to_string(expected.size());
    for (const Paradox& p : report.paradoxes) {
      if (expected.count({static_cast<int>(p.kind), p.nodes}) == 0) {
        detail += "; unexpected: " + p.message;
        break;
      }
    }
  }
  // The firings of "hot1" (a type-1 node with value > 0.99) are known from the plan.
  std::size_t hot_expected = 0;
  for (const StreamEvent& e : plan_.events) hot_expected += (e.type == 1 && e.value > 0.99f) ? 1 : 0;
  if (ok && hot_fired != hot_expected) {
    ok = false;
    detail = "trigger hot1 fired " + std::to_string(hot_fired) + " times, expected " + std::to_string(hot_expected);
  }
  // Resolve the constraint cycles by dropping one member each; then the main
  // branch without the planted causal links must have a schedule that
  // satisfies every constraint, link and fixed time on it.
  std::size_t checked = 0;
  if (ok) {
    MISO_PROFILE_SCOPE("echo.stream.resolve");
    for (const Paradox& p : report.paradoxes) {
      if (p.kind == Paradox::Kind::InconsistentConstraints) w.drop_constraint(p.constraints.back());
    }
    std::set<std::size_t> planted_links(plan_.planted_causal.begin(), plan_.planted_causal.end());
    Stn stn;
    std::unordered_map<NodeId, PointId> point;
    auto point_of = [&](NodeId id) {
      auto it = point.find(id);
      if (it != point.end()) return it->second;
      const PointId p = stn.add_point();
      point.emplace(id, p);
      const NodeView v = w.node(id);
      if (!v.free()) stn.fix(p, v.time);
      return p;
    };
    for (const TemporalConstraint& c : w.constraints()) {
      if (c.lo <= kNegInf && c.hi >= kPosInf) continue;  // dropped
      stn.add({point_of(c.from), point_of(c.to), c.lo, c.hi, c.weight});
    }
    for (std::size_t k = 0; k < w.links().size(); ++k) {
      if (planted_links.count(k) == 0)
        stn.add({point_of(w.links()[k].cause), point_of(w.links()[k].effect), 0, kPosInf, 1});
    }
    if (!stn.consistent()) {
      ok = false;
      detail = "the main branch stays inconsistent after resolving the planted paradoxes";
    } else {
      const std::vector<Tick> times = stn.schedule();
      for (const StnConstraint& c : stn.constraints()) {
        const Tick d = times[c.to] - times[c.from];
        if ((c.lo > kNegInf && d < c.lo) || (c.hi < kPosInf && d > c.hi)) {
          ok = false;
          detail = "the schedule violates a constraint";
          break;
        }
        ++checked;
      }
    }
  }
  if (ok) {
    detail = "found exactly the " + std::to_string(expected.size()) + " planted paradoxes among " +
             std::to_string(plan_.events.size()) + " nodes, " + std::to_string(plan_.constraints.size()) +
             " constraints, " + std::to_string(plan_.links.size()) + " links, " + std::to_string(w.branch_count()) +
             " branches; " + std::to_string(firings) +
             " trigger firings (hot1 as expected: " + std::to_string(hot_fired) + "); the schedule satisfies all " +
             std::to_string(checked) + " constraints after resolution";
  }
  result_ = {ok, detail};
}

profiler::CheckResult StreamWorkload::check() const { return result_; }

std::vector<std::filesystem::path> StreamWorkload::save_input(const profiler::WorkloadContext& ctx,
                                                              const std::filesystem::path& dir) const {
  auto path = profiler::input_file(dir, kName, ctx.size);
  const std::string bytes = serialise(plan_);
  profiler::write_data_file(path, kKind, seed_, std::as_bytes(std::span(bytes.data(), bytes.size())));
  return {path};
}

void register_workloads(profiler::WorkloadRegistry& registry) {
  registry.add({kName, "echo",
                "append a generated event stream through ten triggers, with fluents, constraints, causal links, "
                "branches and planted paradoxes; check incrementally and schedule",
                [] { return std::make_unique<StreamWorkload>(); }});
}

}  // namespace miso::echo
