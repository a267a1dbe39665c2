// QL-ECHO-Bridge chain inference on random dense chains (seeded), steps per
// second (items/s) at 2, 10, 100 and 1000 states:
//   FilterStep    Filter::step, the streaming forward pass
//   SmoothEach    smooth_each (forward pass + checkpointed backward pass)
//   Viterbi       viterbi (log-space max-product with back-pointers)
// and SmoothMemory: smooth_each over 10^7 steps at S = 2 with a callback that
// keeps nothing, reporting checkpoint_bytes, the forward messages the
// algorithm holds (ceil(T / ceil(sqrt T)) checkpoints plus one segment's
// recomputed messages, S doubles each).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "miso/bridge/chain.hpp"

namespace {

using namespace miso::bridge;

constexpr std::size_t kSymbols = 8;

struct Model {
  Chain chain;
  Likelihoods likelihoods;
};

std::vector<double> random_row(std::mt19937_64& rng, std::size_t n) {
  std::uniform_real_distribution<double> u(0.01, 1.0);
  std::vector<double> row(n);
  double sum = 0;
  for (auto& x : row) sum += x = u(rng);
  for (auto& x : row) x /= sum;
  return row;
}

Model random_model(std::size_t states) {
  std::mt19937_64 rng(42 + states);
  Model m;
  for (std::size_t s = 0; s < states; ++s) {
    std::string name = "s";  // not "s" + to_string: GCC 12 -Wrestrict false positive
    name += std::to_string(s);
    m.chain.states.push_back(name);
  }
  m.chain.initial = random_row(rng, states);
  for (std::size_t s = 0; s < states; ++s) {
    const auto row = random_row(rng, states);
    m.chain.transition.insert(m.chain.transition.end(), row.begin(), row.end());
  }
  m.likelihoods.states = states;
  std::uniform_real_distribution<double> u(0.01, 1.0);
  m.likelihoods.rows.resize(kSymbols * states);
  for (auto& x : m.likelihoods.rows) x = u(rng);
  return m;
}

std::vector<std::uint32_t> random_observations(std::size_t steps) {
  std::mt19937_64 rng(7);
  std::vector<std::uint32_t> o(steps);
  for (auto& x : o) x = static_cast<std::uint32_t>(rng() % kSymbols);
  return o;
}

// About 2 * 10^8 multiply-adds per run (~0.1-0.3 s), at least 100 steps.
std::size_t steps_for(std::size_t states) {
  const std::size_t steps = 200'000'000 / (states * states + 16 * states);
  return steps < 100 ? 100 : steps;
}

void BM_FilterStep(benchmark::State& state) {
  const auto states = static_cast<std::size_t>(state.range(0));
  const Model m = random_model(states);
  const auto obs = random_observations(steps_for(states));
  for (auto _ : state) {
    Filter f(m.chain, m.likelihoods);
    for (std::uint32_t k : obs) f.step(k);
    benchmark::DoNotOptimize(f.log_likelihood());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(obs.size()));
}
BENCHMARK(BM_FilterStep)->Arg(2)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_SmoothEach(benchmark::State& state) {
  const auto states = static_cast<std::size_t>(state.range(0));
  const Model m = random_model(states);
  const auto obs = random_observations(steps_for(states) / 2);  // about twice the forward work
  for (auto _ : state) {
    double first = 0;
    const double ll =
        smooth_each(m.chain, m.likelihoods, obs, [&](std::size_t, std::span<const double> p) { first += p[0]; });
    benchmark::DoNotOptimize(ll);
    benchmark::DoNotOptimize(first);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(obs.size()));
}
BENCHMARK(BM_SmoothEach)->Arg(2)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_Viterbi(benchmark::State& state) {
  const auto states = static_cast<std::size_t>(state.range(0));
  const Model m = random_model(states);
  const auto obs = random_observations(steps_for(states) / 2);
  for (auto _ : state) {
    const ViterbiResult v = viterbi(m.chain, m.likelihoods, obs);
    benchmark::DoNotOptimize(v.log_probability);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(obs.size()));
}
BENCHMARK(BM_Viterbi)->Arg(2)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_SmoothMemory(benchmark::State& state) {
  constexpr std::size_t kStates = 2, kSteps = 10'000'000;
  const Model m = random_model(kStates);
  const auto obs = random_observations(kSteps);
  for (auto _ : state) {
    const double ll = smooth_each(m.chain, m.likelihoods, obs, [](std::size_t, std::span<const double>) {});
    benchmark::DoNotOptimize(ll);
  }
  // The buffers smooth_each allocates for forward messages (chain.hpp).
  auto segment = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(kSteps))));
  const std::size_t checkpoints = (kSteps + segment - 1) / segment;
  state.counters["checkpoint_bytes"] = static_cast<double>((checkpoints + segment) * kStates * sizeof(double));
  state.counters["naive_bytes"] = static_cast<double>(2 * kSteps * kStates * sizeof(double));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kSteps));
}
BENCHMARK(BM_SmoothMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
