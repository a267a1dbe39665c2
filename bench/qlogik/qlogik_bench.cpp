// Q-Logik on the bnlearn networks (read from ../shared/data/bnlearn or
// $MISO_BNLEARN_DIR; missing files are skipped with a message), one benchmark
// family per measure and network:
//   JT_Compile        junction-tree compilation
//   JT_Query/0, /5    all marginals with 0 and 5 random evidence variables
//   VE_Marginal/5     one marginal by variable elimination, 5 evidence variables
//   Enumerate/5       all marginals by brute force (tiny networks only): the
//                     baseline; there is no packaged peer (libDAI, pgmpy) here
//   Sample            forward sampling to CSV (samples/s)
//   LikelihoodWeighting   samples/s with 5 evidence variables
//   Learn             ML parameter learning from an in-memory CSV (MB/s)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "miso/qlogik/approximate.hpp"
#include "miso/qlogik/enumerate.hpp"
#include "miso/qlogik/format.hpp"
#include "miso/qlogik/inference.hpp"
#include "miso/qlogik/learning.hpp"

#ifndef MISO_DEFAULT_BNLEARN_DIR
#define MISO_DEFAULT_BNLEARN_DIR "../shared/data/bnlearn"
#endif

namespace {

using namespace miso::qlogik;

std::filesystem::path bnlearn_dir() {
  if (const char* env = std::getenv("MISO_BNLEARN_DIR"); env != nullptr && *env != '\0') return env;
  return MISO_DEFAULT_BNLEARN_DIR;
}

// 64 evidence sets of `count` random variables, seeded, at the states of a
// forward sample: possible by construction, with no inference needed to check.
std::vector<Evidence> evidence_sets(const Network& net, std::size_t count) {
  std::mt19937_64 rng(count * 7919 + net.size());
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const std::vector<VarId> order = net.topological_order();
  std::vector<Evidence> sets;
  std::vector<int> x(net.size());
  while (sets.size() < 64) {
    for (VarId v : order) {
      std::int64_t row = 0;
      for (VarId p : net.parents(v)) row = row * net.cardinality(p) + x[static_cast<std::size_t>(p)];
      const std::int64_t card = net.cardinality(v);
      double r = u(rng);
      int s = 0;
      for (; s + 1 < card; ++s) {
        r -= net.cpt(v).table[static_cast<std::size_t>(row * card + s)];
        if (r < 0) break;
      }
      x[static_cast<std::size_t>(v)] = s;
    }
    Evidence ev = no_evidence(net);
    for (std::size_t k = 0; k < count; ++k) {
      auto v = static_cast<std::size_t>(rng() % net.size());
      ev[v] = x[v];
    }
    sets.push_back(ev);
  }
  return sets;
}

struct Loaded {
  std::string name;
  std::shared_ptr<Network> net;
  bool compiled = false;
  std::shared_ptr<JunctionTree> jt;  // null when too large to compile
  std::string jt_error;
  // The junction tree, compiled on first use (only benchmarks that run pay for it).
  const JunctionTree* tree() {
    if (!compiled) {
      compiled = true;
      try {
        jt = std::make_shared<JunctionTree>(*net);
      } catch (const std::exception& e) {
        jt_error = e.what();
      }
    }
    return jt.get();
  }
};

void register_network(const std::string& name) {
  const auto path = bnlearn_dir() / (name + ".bif");
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "bench_qlogik: %s not found, skipping %s (set MISO_BNLEARN_DIR)\n", path.c_str(),
                 name.c_str());
    return;
  }
  auto l = std::make_shared<Loaded>();
  l->name = name;
  l->net = std::make_shared<Network>(load_network(path.string()));

  benchmark::RegisterBenchmark(("ReadBif/" + name).c_str(), [path](benchmark::State& state) {
    const std::string text = [&] {
      std::ifstream f(path, std::ios::binary);
      std::ostringstream s;
      s << f.rdbuf();
      return s.str();
    }();
    for (auto _ : state) benchmark::DoNotOptimize(read_bif(text, path.string()).size());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  })->Unit(benchmark::kMillisecond);

  benchmark::RegisterBenchmark(("JT_Compile/" + name).c_str(), [l](benchmark::State& state) {
    if (l->tree() == nullptr) return state.SkipWithError(l->jt_error.c_str());
    for (auto _ : state) benchmark::DoNotOptimize(JunctionTree(*l->net));
    auto s = l->jt->stats();
    state.counters["treewidth"] = s.treewidth;
    state.counters["entries"] = static_cast<double>(s.total_entries);
  })->Unit(benchmark::kMillisecond);

  for (int count : {0, 5}) {
    benchmark::RegisterBenchmark(("JT_Query/" + name + "/" + std::to_string(count)).c_str(),
                                 [l, count](benchmark::State& state) {
                                   if (l->tree() == nullptr) return state.SkipWithError(l->jt_error.c_str());
                                   auto sets = evidence_sets(*l->net, static_cast<std::size_t>(count));
                                   JunctionTree::Workspace ws;
                                   std::size_t i = 0;
                                   for (auto _ : state) {
                                     auto post = l->jt->query(sets[i++ % sets.size()], ws);
                                     benchmark::DoNotOptimize(post.marginals.data());
                                   }
                                   state.counters["queries/s"] = benchmark::Counter(
                                       static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
                                 })
        ->Unit(benchmark::kMicrosecond);
  }

  benchmark::RegisterBenchmark(("VE_Marginal/" + name + "/5").c_str(), [l](benchmark::State& state) {
    auto sets = evidence_sets(*l->net, 5);
    std::mt19937_64 rng(11);
    std::size_t i = 0;
    for (auto _ : state) {
      const Evidence& ev = sets[i++ % sets.size()];
      auto v = static_cast<VarId>(rng() % l->net->size());
      benchmark::DoNotOptimize(variable_elimination(*l->net, ev, {v}).p_evidence);
    }
  })->Unit(benchmark::kMicrosecond);

  if (l->net->size() <= 12) {
    benchmark::RegisterBenchmark(("Enumerate/" + name + "/5").c_str(), [l](benchmark::State& state) {
      auto sets = evidence_sets(*l->net, 5);
      std::size_t i = 0;
      for (auto _ : state) benchmark::DoNotOptimize(enumerate(*l->net, sets[i++ % sets.size()]).p_evidence);
    })->Unit(benchmark::kMicrosecond);
  }

  benchmark::RegisterBenchmark(("Sample/" + name).c_str(), [l](benchmark::State& state) {
    constexpr std::uint64_t kSamples = 20000;
    std::uint64_t seed = 1;
    for (auto _ : state) {
      std::ostringstream out;
      sample_csv(*l->net, kSamples, seed++, out);
      benchmark::DoNotOptimize(out.tellp());
    }
    state.counters["samples/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * kSamples), benchmark::Counter::kIsRate);
  })->Unit(benchmark::kMillisecond);

  benchmark::RegisterBenchmark(("LikelihoodWeighting/" + name + "/5").c_str(), [l](benchmark::State& state) {
    auto sets = evidence_sets(*l->net, 5);
    SamplingOptions o;
    o.samples = 20000;
    std::size_t i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(likelihood_weighting(*l->net, sets[i++ % sets.size()], o).p_evidence);
    state.counters["samples/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * o.samples), benchmark::Counter::kIsRate);
  })->Unit(benchmark::kMillisecond);

  benchmark::RegisterBenchmark(("Learn/" + name).c_str(), [l](benchmark::State& state) {
    std::ostringstream out;
    sample_csv(*l->net, 20000, 3, out);
    const std::string csv = out.str();
    for (auto _ : state) {
      std::istringstream in(csv);
      benchmark::DoNotOptimize(learn_parameters(*l->net, in).size());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * csv.size()));
  })->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  for (const char* name : {"asia", "cancer", "sachs", "child", "insurance", "alarm", "water", "hailfinder", "hepar2",
                           "win95pts", "andes", "barley", "pathfinder", "pigs", "munin1", "link"}) {
    try {
      register_network(name);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_qlogik: %s: %s\n", name, e.what());
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
