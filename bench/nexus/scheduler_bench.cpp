// NEXUS-OS against oneTBB, the same four workloads written against each in one
// binary: task overhead (fib with a spawn per call), scheduling overhead on a
// loop (parallel_for over 10^4, 10^6 and 10^8 floats), a wide graph of 10^6 tiny
// tasks, and stealing quality on an unbalanced tree. Compare BM_Nexus_X with
// BM_Tbb_X (real time; `make bench` reports the median of 5 runs, interleaved in
// random order so that drifts of a shared machine fall on both alike).
#include <benchmark/benchmark.h>
#include <tbb/blocked_range.h>
#include <tbb/flow_graph.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <atomic>
#include <thread>
#include <vector>

#include "miso/nexus/parallel.hpp"
#include "miso/nexus/task_graph.hpp"

namespace {

using miso::nexus::Executor;
using miso::nexus::TaskGroup;

unsigned threads() { return std::max(1u, std::thread::hardware_concurrency()); }

Executor& executor() {
  static Executor ex(threads());
  return ex;
}

tbb::task_arena& arena() {
  static tbb::task_arena a(static_cast<int>(threads()));
  return a;
}

// --- fib(30), a spawn per call ---------------------------------------------------
long nexus_fib(int n) {
  if (n < 2) return n;
  long a = 0;
  TaskGroup g(executor());
  g.spawn([&a, n] { a = nexus_fib(n - 1); });
  long b = nexus_fib(n - 2);
  g.wait();
  return a + b;
}

long tbb_fib(int n) {
  if (n < 2) return n;
  long a = 0;
  tbb::task_group g;
  g.run([&a, n] { a = tbb_fib(n - 1); });
  long b = tbb_fib(n - 2);
  g.wait();
  return a + b;
}

void BM_Nexus_Fib30(benchmark::State& state) {
  for (auto _ : state) {
    long r = 0;
    TaskGroup g(executor());
    g.spawn([&r] { r = nexus_fib(30); });
    g.wait();
    if (r != 832040) state.SkipWithError("wrong fib");
  }
}
BENCHMARK(BM_Nexus_Fib30)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Tbb_Fib30(benchmark::State& state) {
  for (auto _ : state) {
    long r = 0;
    arena().execute([&r] { r = tbb_fib(30); });
    if (r != 832040) state.SkipWithError("wrong fib");
  }
}
BENCHMARK(BM_Tbb_Fib30)->Unit(benchmark::kMillisecond)->UseRealTime();

// --- parallel_for over 10^8 floats -------------------------------------------------
constexpr std::size_t kFloats = 100'000'000;

std::vector<float>& floats() {
  static std::vector<float> v(kFloats, 1.0f);
  return v;
}

void BM_Nexus_ParallelFor(benchmark::State& state) {
  float* x = floats().data();
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    miso::nexus::parallel_for(
        0, n,
        [x](std::size_t b, std::size_t e) {
          for (std::size_t i = b; i < e; ++i) x[i] = x[i] * 0.5f + 1.0f;
        },
        0, executor());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * sizeof(float) * 2));
}
BENCHMARK(BM_Nexus_ParallelFor)->Unit(benchmark::kMicrosecond)->UseRealTime()->Arg(10000)->Arg(1000000)->Arg(kFloats);

void BM_Tbb_ParallelFor(benchmark::State& state) {
  float* x = floats().data();
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    arena().execute([x, n] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n), [x](const tbb::blocked_range<std::size_t>& r) {
        for (std::size_t i = r.begin(); i < r.end(); ++i) x[i] = x[i] * 0.5f + 1.0f;
      });
    });
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * sizeof(float) * 2));
}
BENCHMARK(BM_Tbb_ParallelFor)->Unit(benchmark::kMicrosecond)->UseRealTime()->Arg(10000)->Arg(1000000)->Arg(kFloats);

// --- a wide graph: source -> 10^6 tiny tasks -> sink (built once, run repeatedly) ---
constexpr int kWide = 1'000'000;

void BM_Nexus_WideDag1e6(benchmark::State& state) {
  std::atomic<long> sum{0};
  miso::nexus::TaskGraph g;
  auto source = g.add("source", [] {});
  auto sink = g.add("sink", [] {});
  for (int i = 0; i < kWide; ++i) {
    auto n = g.add("leaf", [&sum] { sum.fetch_add(1, std::memory_order_relaxed); });
    g.precede(source, n);
    g.precede(n, sink);
  }
  g.run(executor());  // the first run makes the per-node tasks (TBB makes its nodes above)
  for (auto _ : state) g.run(executor());
  if (sum.load() != static_cast<long>(state.iterations() + 1) * kWide) state.SkipWithError("lost tasks");
}
BENCHMARK(BM_Nexus_WideDag1e6)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Tbb_WideDag1e6(benchmark::State& state) {
  std::atomic<long> sum{0};
  arena().execute([&] {
    tbb::flow::graph g;
    tbb::flow::broadcast_node<tbb::flow::continue_msg> source(g);
    tbb::flow::continue_node<tbb::flow::continue_msg> sink(g, [](const tbb::flow::continue_msg&) {});
    std::vector<std::unique_ptr<tbb::flow::continue_node<tbb::flow::continue_msg>>> leaves;
    leaves.reserve(kWide);
    for (int i = 0; i < kWide; ++i) {
      leaves.push_back(std::make_unique<tbb::flow::continue_node<tbb::flow::continue_msg>>(
          g, [&sum](const tbb::flow::continue_msg&) { sum.fetch_add(1, std::memory_order_relaxed); }));
      tbb::flow::make_edge(source, *leaves.back());
      tbb::flow::make_edge(*leaves.back(), sink);
    }
    for (auto _ : state) {
      source.try_put(tbb::flow::continue_msg());
      g.wait_for_all();
    }
  });
  if (sum.load() != static_cast<long>(state.iterations()) * kWide) state.SkipWithError("lost tasks");
}
BENCHMARK(BM_Tbb_WideDag1e6)->Unit(benchmark::kMillisecond)->UseRealTime();

// --- an unbalanced tree: node(d) spawns node(d-1) and does node(d-4) itself --------
void leaf_work() {
  volatile double x = 1.0;
  for (int i = 0; i < 200; ++i) x = x * 1.0000001 + 0.5;
}

void nexus_tree(int d) {
  if (d <= 0) {
    leaf_work();
    return;
  }
  TaskGroup g(executor());
  g.spawn([d] { nexus_tree(d - 1); });
  nexus_tree(d - 4);
  g.wait();
}

void tbb_tree(int d) {
  if (d <= 0) {
    leaf_work();
    return;
  }
  tbb::task_group g;
  g.run([d] { tbb_tree(d - 1); });
  tbb_tree(d - 4);
  g.wait();
}

constexpr int kTreeDepth = 40;

void BM_Nexus_UnbalancedTree(benchmark::State& state) {
  for (auto _ : state) {
    TaskGroup g(executor());
    g.spawn([] { nexus_tree(kTreeDepth); });
    g.wait();
  }
}
BENCHMARK(BM_Nexus_UnbalancedTree)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Tbb_UnbalancedTree(benchmark::State& state) {
  for (auto _ : state) arena().execute([] { tbb_tree(kTreeDepth); });
}
BENCHMARK(BM_Tbb_UnbalancedTree)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
