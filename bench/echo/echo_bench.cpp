// ECHO-PRIME benchmarks:
//  - append throughput of a timeline, bare and through ten simple triggers
//    (goal: >= 10 million nodes/s with ten triggers);
//  - the minimal network of a random sparse STN: Johnson's method (ours)
//    against Floyd–Warshall in the same binary;
//  - one added constraint: the incremental check against a full re-check by
//    Bellman–Ford over the whole network;
//  - memory per node of a long timeline and per branch of a forked one (the
//    "echo" memory tag's live bytes).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "miso/core/hash.hpp"
#include "miso/core/memory.hpp"
#include "miso/echo/stn.hpp"
#include "miso/echo/timeline.hpp"
#include "miso/echo/trigger.hpp"

namespace {

using namespace miso::echo;

std::int64_t echo_live_bytes() { return miso::core::memory::stats(EchoTag::tag()).live_bytes; }

// n nodes of 8 types, times increasing by 0..3, one numeric attribute.
struct Stream {
  std::vector<NodeSpec> specs;
  std::vector<Attribute> attrs;
};
Stream make_stream(World& w, std::size_t n) {
  Stream s;
  miso::core::SplitMix64 rng(7);
  std::vector<Symbol> types;
  for (int k = 0; k < 8; ++k) types.push_back(w.intern(std::string("type").append(std::to_string(k))));
  const Symbol value = w.intern("value");
  s.attrs.resize(n);
  s.specs.resize(n);
  Tick t = 0;
  for (std::size_t i = 0; i < n; ++i) {
    t += static_cast<Tick>(rng.next() % 4);
    s.attrs[i] = {value, Value::of(rng.next_double())};
    s.specs[i].time = t;
    s.specs[i].type = types[rng.next() % 8];
    s.specs[i].attributes = std::span<const Attribute>(&s.attrs[i], 1);
  }
  return s;
}

// Ten triggers over the eight types. rare: each also requires value > 0.999
// on the completing node, so that they match as often but seldom fire (alerts
// as a monitoring system has them); else about 0.4 firings per node.
void ten_triggers(World& w, TriggerEngine& e, bool rare) {
  auto ty = [&](int k) { return w.intern(std::string("type").append(std::to_string(k))); };
  auto add = [&](Pattern::Kind kind, std::vector<Symbol> types, Tick window, std::uint32_t count = 1) {
    Trigger t;
    t.name = std::string("t").append(std::to_string(e.triggers().size()));
    t.pattern = {kind, std::move(types), window, count};
    if (rare) t.conditions.push_back({w.intern("value"), Comparison::Op::Gt, Value::of(0.999)});
    e.add(std::move(t));
  };
  add(Pattern::Kind::Sequence, {ty(0), ty(1)}, 4);
  add(Pattern::Kind::Sequence, {ty(2), ty(3), ty(4)}, 12);
  add(Pattern::Kind::Count, {ty(5)}, 6, 3);
  add(Pattern::Kind::Absence, {ty(6), ty(7)}, 10);
  add(Pattern::Kind::Conjunction, {ty(1), ty(3)}, 3);
  add(Pattern::Kind::Sequence, {ty(4), ty(0)}, 2);
  add(Pattern::Kind::Count, {ty(2)}, 3, 2);
  add(Pattern::Kind::Sequence, {ty(5), ty(5)}, 1);
  add(Pattern::Kind::Conjunction, {ty(0), ty(6)}, 2);
  add(Pattern::Kind::Sequence, {ty(7)}, 0);
}

constexpr std::size_t kStream = 1'000'000;

// The world of an iteration is built and destroyed while the timer is paused:
// only the appends are timed (not freeing the previous iteration's million nodes).
void BM_Append(benchmark::State& state) {
  std::unique_ptr<World> w;
  std::unique_ptr<Stream> s;
  for (auto _ : state) {
    state.PauseTiming();
    s.reset();
    w.reset();
    w = std::make_unique<World>();
    s = std::make_unique<Stream>(make_stream(*w, kStream));
    state.ResumeTiming();
    for (const NodeSpec& spec : s->specs) w->append(w->main(), spec);
    benchmark::DoNotOptimize(w->timeline(w->main()).size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kStream));
}
BENCHMARK(BM_Append)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AppendTenTriggers(benchmark::State& state, bool rare) {
  std::size_t firings = 0;
  std::unique_ptr<World> w;
  std::unique_ptr<Stream> s;
  std::unique_ptr<TriggerEngine> e;
  for (auto _ : state) {
    state.PauseTiming();
    e.reset();
    s.reset();
    w.reset();
    w = std::make_unique<World>();
    s = std::make_unique<Stream>(make_stream(*w, kStream));
    e = std::make_unique<TriggerEngine>(*w);
    ten_triggers(*w, *e, rare);
    state.ResumeTiming();
    for (const NodeSpec& spec : s->specs) e->append(w->main(), spec);
    firings = e->firings().size();
    benchmark::DoNotOptimize(firings);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kStream));
  state.counters["firings"] = static_cast<double>(firings);
}
BENCHMARK_CAPTURE(BM_AppendTenTriggers, frequent_firings, false)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_AppendTenTriggers, rare_firings, true)->Unit(benchmark::kMillisecond)->UseRealTime();

// A random consistent sparse network: n points with times drawn at random,
// 4n constraints around the true differences (and the times of a tenth of
// the points fixed), so it is consistent and well connected.
Stn random_network(std::size_t n, std::uint64_t seed, std::vector<Tick>* truth = nullptr) {
  miso::core::SplitMix64 rng(seed);
  Stn stn;
  std::vector<Tick> t(n + 1, 0);
  for (std::size_t i = 1; i <= n; ++i) {
    stn.add_point();
    t[i] = static_cast<Tick>(rng.next() % 100000);
  }
  for (std::size_t k = 0; k < 4 * n; ++k) {
    const auto a = static_cast<PointId>(1 + rng.next() % n), b = static_cast<PointId>(1 + rng.next() % n);
    if (a == b) continue;
    const Tick d = t[b] - t[a];
    stn.add({a, b, d - static_cast<Tick>(rng.next() % 50), d + static_cast<Tick>(rng.next() % 50), 1});
  }
  for (std::size_t i = 1; i <= n; i += 10) stn.fix(static_cast<PointId>(i), t[i]);
  if (truth != nullptr) *truth = t;
  return stn;
}

void BM_MinimalJohnson(benchmark::State& state) {
  const Stn stn = random_network(static_cast<std::size_t>(state.range(0)), 3);
  for (auto _ : state) benchmark::DoNotOptimize(stn.minimal().d.data());
}
BENCHMARK(BM_MinimalJohnson)->Arg(100)->Arg(400)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MinimalFloydWarshall(benchmark::State& state) {
  const Stn stn = random_network(static_cast<std::size_t>(state.range(0)), 3);
  for (auto _ : state) benchmark::DoNotOptimize(stn.minimal_floyd_warshall().d.data());
}
BENCHMARK(BM_MinimalFloydWarshall)->Arg(100)->Arg(400)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

// One constraint more on a network of n points, then its consistency: kept
// incrementally by Stn::add, or recomputed by Bellman–Ford over everything.
void BM_AddConstraint(benchmark::State& state, bool incremental) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<Tick> t;
  Stn stn = random_network(n, 5, &t);
  miso::core::SplitMix64 rng(11);
  for (auto _ : state) {
    const auto a = static_cast<PointId>(1 + rng.next() % n), b = static_cast<PointId>(1 + rng.next() % n);
    const Tick d = t[b] - t[a];
    stn.add({a, b, d - 100, d + 100, 1});
    benchmark::DoNotOptimize(incremental ? stn.consistent() : stn.check_from_scratch());
  }
}
BENCHMARK_CAPTURE(BM_AddConstraint, Incremental, true)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_AddConstraint, FullRecheck, false)
    ->Arg(10000)
    ->Arg(100000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Bytes per node of a long timeline, and per branch of 1000 forks of it (each
// with ten nodes of its own).
void BM_MemoryPerNodeAndBranch(benchmark::State& state) {
  double per_node = 0, per_branch = 0;
  for (auto _ : state) {
    const std::int64_t before = echo_live_bytes();
    World w;
    Stream s = make_stream(w, kStream);
    const std::int64_t stream_bytes = echo_live_bytes() - before;
    const std::int64_t start = echo_live_bytes();
    for (const NodeSpec& spec : s.specs) w.append(w.main(), spec);
    const std::int64_t grown = echo_live_bytes();
    per_node = static_cast<double>(grown - start) / static_cast<double>(kStream);
    const Timeline& main = w.timeline(w.main());
    miso::core::SplitMix64 rng(3);
    for (int b = 0; b < 1000; ++b) {
      const NodeId at = main[rng.next() % main.size()].id;
      const BranchId nb = w.fork(w.main(), at, std::string("b").append(std::to_string(b)));
      Tick t = w.timeline(nb).back().time;
      for (int k = 0; k < 10; ++k) {
        NodeSpec spec = s.specs[static_cast<std::size_t>(k)];
        spec.time = ++t;
        w.append(nb, spec);
      }
    }
    per_branch = static_cast<double>(echo_live_bytes() - grown) / 1000.0;
    benchmark::DoNotOptimize(stream_bytes);
  }
  state.counters["bytes_per_node"] = per_node;
  state.counters["bytes_per_branch"] = per_branch;
}
BENCHMARK(BM_MemoryPerNodeAndBranch)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
