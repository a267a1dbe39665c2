// Exact chain inference (chain.hpp) against the textbook umbrella world, brute
// force over all hidden paths, variable elimination on the unrolled network
// (Q-Logik), and a naive forward-backward that keeps every message.
#include "miso/bridge/chain.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../error_of.hpp"
#include "miso/core/error.hpp"
#include "miso/qlogik/inference.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::bridge {
namespace {

using Observations = std::vector<std::uint32_t>;

// The message of the Error(InvalidArgument) `f` throws.
std::string error_of(const std::function<void()>& f) {
  return miso::testing::error_of(f, Error::Kind::InvalidArgument);
}

#define EXPECT_ERROR_CONTAINS(statement, text)                                  \
  EXPECT_NE(error_of([&] { (void)(statement); }).find(text), std::string::npos) \
      << "expected \"" << (text) << "\" in: " << error_of([&] { (void)(statement); })

// A model: the chain and an emission matrix E (S x K, rows sum to 1) whose
// columns are the likelihood rows, so it unrolls into a Bayesian network too.
struct Model {
  Chain chain;
  std::vector<double> emission;  // S x K
  Likelihoods likelihoods;
  std::size_t symbols = 0;
};

// The umbrella world (Russell & Norvig): rain/dry, symbols umbrella/none.
Model umbrella() {
  Model m;
  m.chain.states = {"rain", "dry"};
  m.chain.initial = {0.5, 0.5};
  m.chain.transition = {0.7, 0.3, 0.3, 0.7};
  m.emission = {0.9, 0.1, 0.2, 0.8};
  m.symbols = 2;
  m.likelihoods.states = 2;
  m.likelihoods.rows = {0.9, 0.2, 0.1, 0.8};
  return m;
}

std::vector<double> random_distribution(std::mt19937_64& rng, std::size_t n, double zero_chance) {
  std::uniform_real_distribution<double> u(0.05, 1.0);
  std::bernoulli_distribution zero(zero_chance);
  std::vector<double> p(n);
  double sum = 0;
  for (auto& x : p) {
    x = zero(rng) ? 0.0 : u(rng);
    sum += x;
  }
  if (sum == 0) {
    p[rng() % n] = 1;
    sum = 1;
  }
  for (auto& x : p) x /= sum;
  return p;
}

// Random dense chain; transitions are sometimes zero (impossible paths), the
// emission never, so every observation sequence has positive probability.
Model random_model(std::mt19937_64& rng, std::size_t states, std::size_t symbols, double zero_chance = 0.2) {
  Model m;
  for (std::size_t s = 0; s < states; ++s) {
    std::string name = "s";  // not "s" + to_string: GCC 12 -Wrestrict false positive
    name += std::to_string(s);
    m.chain.states.push_back(name);
  }
  m.chain.initial = random_distribution(rng, states, 0);
  for (std::size_t s = 0; s < states; ++s) {
    auto row = random_distribution(rng, states, zero_chance);
    m.chain.transition.insert(m.chain.transition.end(), row.begin(), row.end());
  }
  for (std::size_t s = 0; s < states; ++s) {
    auto row = random_distribution(rng, symbols, 0);
    m.emission.insert(m.emission.end(), row.begin(), row.end());
  }
  m.symbols = symbols;
  m.likelihoods.states = states;
  m.likelihoods.rows.resize(symbols * states);
  for (std::size_t k = 0; k < symbols; ++k) {
    for (std::size_t s = 0; s < states; ++s) m.likelihoods.rows[k * states + s] = m.emission[s * symbols + k];
  }
  return m;
}

Observations random_observations(std::mt19937_64& rng, std::size_t steps, std::size_t symbols) {
  Observations o(steps);
  for (auto& x : o) x = static_cast<std::uint32_t>(rng() % symbols);
  return o;
}

// ---- brute force: every hidden path of a prefix ----

struct Brute {
  double probability = 0;           // P(o_1..o_n)
  std::vector<double> marginals;    // n x S: P(X_t | o_1..o_n)
  std::vector<std::uint32_t> best;  // argmax path (the first found on ties)
  double best_probability = -1;
};

Brute brute_force(const Model& m, const Observations& obs, std::size_t n) {
  const std::size_t S = m.chain.size();
  Brute b;
  b.marginals.assign(n * S, 0.0);
  std::vector<std::uint32_t> path(n, 0);
  std::size_t total = 1;
  for (std::size_t t = 0; t < n; ++t) total *= S;
  for (std::size_t code = 0; code < total; ++code) {
    std::size_t c = code;
    for (std::size_t t = n; t-- > 0;) {
      path[t] = static_cast<std::uint32_t>(c % S);
      c /= S;
    }
    double p = 1;
    for (std::size_t t = 0; t < n; ++t) {
      p *= t == 0 ? m.chain.initial[path[0]] : m.chain.transition[path[t - 1] * S + path[t]];
      p *= m.likelihoods.rows[obs[t] * S + path[t]];
    }
    b.probability += p;
    for (std::size_t t = 0; t < n; ++t) b.marginals[t * S + path[t]] += p;
    if (p > b.best_probability) {
      b.best_probability = p;
      b.best = path;
    }
  }
  for (auto& x : b.marginals) x /= b.probability;
  return b;
}

// ---- naive forward-backward keeping all messages ----

std::vector<double> naive_smooth(const Model& m, const Observations& obs) {
  const std::size_t S = m.chain.size(), T = obs.size();
  std::vector<double> alpha(T * S), beta(T * S, 1.0), out(T * S);
  for (std::size_t t = 0; t < T; ++t) {
    double sum = 0;
    for (std::size_t j = 0; j < S; ++j) {
      double p = 0;
      if (t == 0) {
        p = m.chain.initial[j];
      } else {
        for (std::size_t i = 0; i < S; ++i) p += alpha[(t - 1) * S + i] * m.chain.transition[i * S + j];
      }
      alpha[t * S + j] = p * m.likelihoods.rows[obs[t] * S + j];
      sum += alpha[t * S + j];
    }
    for (std::size_t j = 0; j < S; ++j) alpha[t * S + j] /= sum;
  }
  for (std::size_t t = T - 1; t-- > 0;) {
    double sum = 0;
    for (std::size_t i = 0; i < S; ++i) {
      double p = 0;
      for (std::size_t j = 0; j < S; ++j) {
        p += m.chain.transition[i * S + j] * m.likelihoods.rows[obs[t + 1] * S + j] * beta[(t + 1) * S + j];
      }
      beta[t * S + i] = p;
      sum += p;
    }
    for (std::size_t i = 0; i < S; ++i) beta[t * S + i] /= sum;
  }
  for (std::size_t t = 0; t < T; ++t) {
    double sum = 0;
    for (std::size_t s = 0; s < S; ++s) sum += out[t * S + s] = alpha[t * S + s] * beta[t * S + s];
    for (std::size_t s = 0; s < S; ++s) out[t * S + s] /= sum;
  }
  return out;
}

void expect_all_near(const std::vector<double>& a, const std::vector<double>& b, double tolerance,
                     const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tolerance) << what << " entry " << i;
}

// ---- umbrella world ----

TEST(BridgeChain, UmbrellaTextbookValues) {
  const Model m = umbrella();
  const Observations u = {0, 0};  // umbrella on days 1 and 2
  const FilterResult f = filter(m.chain, m.likelihoods, u);
  ASSERT_EQ(f.filtered.size(), 4u);
  EXPECT_NEAR(f.filtered[0], 0.818, 1e-3);
  EXPECT_NEAR(f.filtered[2], 0.883, 1e-3);
  // Exact: P(r1 | u1) = 0.45 / 0.55 = 9/11; P(r2 | u1, u2) = 6.21 / 7.03 = 621/703.
  EXPECT_NEAR(f.filtered[0], 9.0 / 11.0, 1e-12);
  EXPECT_NEAR(f.filtered[1], 2.0 / 11.0, 1e-12);
  EXPECT_NEAR(f.filtered[2], 621.0 / 703.0, 1e-12);
  // P(u1, u2) = 0.5 * (0.9 * 0.69 + 0.2 * 0.41) = 0.3515.
  EXPECT_NEAR(f.log_likelihood, std::log(0.3515), 1e-12);

  const SmoothResult s = smooth(m.chain, m.likelihoods, u);
  ASSERT_EQ(s.smoothed.size(), 4u);
  EXPECT_NEAR(s.smoothed[0], 0.883, 1e-3);
  // alpha_1 = (9, 2)/11, beta_1 = (0.69, 0.41): (6.21, 0.82) normalised.
  EXPECT_NEAR(s.smoothed[0], 621.0 / 703.0, 1e-12);
  EXPECT_NEAR(s.smoothed[2], 621.0 / 703.0, 1e-12);  // the last step: smoothed = filtered
  EXPECT_NEAR(s.log_likelihood, std::log(0.3515), 1e-12);
  EXPECT_NEAR(log_likelihood(m.chain, m.likelihoods, u), std::log(0.3515), 1e-12);

  const ViterbiResult v = viterbi(m.chain, m.likelihoods, u);
  EXPECT_EQ(v.path, (std::vector<std::uint32_t>{0, 0}));
  EXPECT_NEAR(v.log_probability, std::log(0.5 * 0.9 * 0.7 * 0.9), 1e-12);

  // Umbrella, umbrella, none, umbrella, umbrella (R&N's five days): the most
  // likely sequence is rain, rain, dry, rain, rain.
  const Observations five = {0, 0, 1, 0, 0};
  EXPECT_EQ(viterbi(m.chain, m.likelihoods, five).path, (std::vector<std::uint32_t>{0, 0, 1, 0, 0}));
}

// ---- brute force ----

TEST(BridgeChain, MatchesBruteForceOnRandomChains) {
  std::mt19937_64 rng(20240611);
  for (std::size_t S = 2; S <= 4; ++S) {
    for (std::size_t T = 1; T <= 7; ++T) {
      for (int trial = 0; trial < 3; ++trial) {
        const Model m = random_model(rng, S, 3);
        const Observations obs = random_observations(rng, T, 3);
        const std::string what = "S=" + std::to_string(S) + " T=" + std::to_string(T);
        const Brute full = brute_force(m, obs, T);

        const FilterResult f = filter(m.chain, m.likelihoods, obs);
        EXPECT_NEAR(f.log_likelihood, std::log(full.probability), 1e-9) << what;
        for (std::size_t t = 0; t < T; ++t) {
          const Brute prefix = brute_force(m, obs, t + 1);
          for (std::size_t s = 0; s < S; ++s) {
            EXPECT_NEAR(f.filtered[t * S + s], prefix.marginals[t * S + s], 1e-9) << what << " t=" << t;
          }
        }

        const SmoothResult sm = smooth(m.chain, m.likelihoods, obs);
        EXPECT_NEAR(sm.log_likelihood, std::log(full.probability), 1e-9) << what;
        expect_all_near(sm.smoothed, full.marginals, 1e-9, what);
        EXPECT_NEAR(log_likelihood(m.chain, m.likelihoods, obs), std::log(full.probability), 1e-9) << what;

        const ViterbiResult v = viterbi(m.chain, m.likelihoods, obs);
        EXPECT_EQ(v.path, full.best) << what;
        EXPECT_NEAR(v.log_probability, std::log(full.best_probability), 1e-9) << what;
      }
    }
  }
}

TEST(BridgeChain, ViterbiAvoidsImpossibleTransitionsAndBreaksTiesLow) {
  // State 0 emits the observation best, but 0 -> 0 is impossible.
  Chain chain;
  chain.states = {"a", "b"};
  chain.initial = {0.5, 0.5};
  chain.transition = {0.0, 1.0, 0.5, 0.5};
  Likelihoods l;
  l.states = 2;
  l.rows = {0.9, 0.1};
  const ViterbiResult v = viterbi(chain, l, Observations{0, 0, 0});
  EXPECT_EQ(v.path, (std::vector<std::uint32_t>{0, 1, 0}));
  EXPECT_NEAR(v.log_probability, std::log(0.5 * 0.9 * 1.0 * 0.1 * 0.5 * 0.9), 1e-12);

  // Everything symmetric: every path ties, the lowest states win.
  Chain flat;
  flat.states = {"a", "b", "c"};
  flat.initial = {1.0 / 3, 1.0 / 3, 1.0 / 3};
  flat.transition.assign(9, 1.0 / 3);
  Likelihoods ones;
  ones.states = 3;
  ones.rows = {1, 1, 1};
  const ViterbiResult tie = viterbi(flat, ones, Observations{0, 0, 0, 0});
  EXPECT_EQ(tie.path, (std::vector<std::uint32_t>{0, 0, 0, 0}));
  EXPECT_NEAR(tie.log_probability, 4 * std::log(1.0 / 3), 1e-12);
}

// ---- against variable elimination on the unrolled network ----

TEST(BridgeChain, MatchesVariableEliminationOnUnrolledNetwork) {
  std::mt19937_64 rng(7);
  for (std::size_t T : {3u, 6u}) {
    for (std::size_t S : {2u, 3u}) {
      const Model m = random_model(rng, S, 4);
      const Observations obs = random_observations(rng, T, 4);
      qlogik::Network net("unrolled");
      std::vector<std::string> state_names = m.chain.states, symbol_names;
      for (std::size_t k = 0; k < m.symbols; ++k) symbol_names.push_back("o" + std::to_string(k));
      std::vector<qlogik::VarId> x(T), o(T);
      for (std::size_t t = 0; t < T; ++t) {
        x[t] = net.add_variable("X" + std::to_string(t + 1), state_names);
        o[t] = net.add_variable("O" + std::to_string(t + 1), symbol_names);
      }
      for (std::size_t t = 0; t < T; ++t) {
        if (t == 0) {
          net.set_cpt(x[0], {}, m.chain.initial);
        } else {
          net.set_cpt(x[t], {x[t - 1]}, m.chain.transition);  // row = from state, child fastest
        }
        net.set_cpt(o[t], {x[t]}, m.emission);
      }
      net.validate();

      const FilterResult f = filter(m.chain, m.likelihoods, obs);
      const SmoothResult sm = smooth(m.chain, m.likelihoods, obs);
      qlogik::Evidence all = qlogik::no_evidence(net);
      for (std::size_t t = 0; t < T; ++t) all[static_cast<std::size_t>(o[t])] = static_cast<int>(obs[t]);
      const std::string what = "T=" + std::to_string(T) + " S=" + std::to_string(S);

      for (std::size_t t = 0; t < T; ++t) {
        qlogik::Evidence upto = qlogik::no_evidence(net);
        for (std::size_t u = 0; u <= t; ++u) upto[static_cast<std::size_t>(o[u])] = static_cast<int>(obs[u]);
        const qlogik::Posterior filtered = qlogik::variable_elimination(net, upto, {x[t]});
        const qlogik::Posterior smoothed = qlogik::variable_elimination(net, all, {x[t]});
        for (std::size_t s = 0; s < S; ++s) {
          EXPECT_NEAR(f.filtered[t * S + s], filtered.marginals[static_cast<std::size_t>(x[t])][s], 1e-9)
              << what << " t=" << t;
          EXPECT_NEAR(sm.smoothed[t * S + s], smoothed.marginals[static_cast<std::size_t>(x[t])][s], 1e-9)
              << what << " t=" << t;
        }
        if (t + 1 == T) {
          EXPECT_NEAR(f.log_likelihood, smoothed.log_p_evidence, 1e-9) << what;
        }
      }
    }
  }
}

// ---- long sequences and the checkpoint segments ----

TEST(BridgeChain, LongSequenceMatchesNaiveForwardBackward) {
  std::mt19937_64 rng(99);
  const Model m = random_model(rng, 3, 4, 0.1);
  // 20000 (not a square: segments of 142, the last one short), squares and
  // their neighbours, and the shortest lengths.
  for (std::size_t T : {20000u, 1u, 2u, 3u, 4u, 5u, 48u, 49u, 50u, 1000u}) {
    const Observations obs = random_observations(rng, T, 4);
    const SmoothResult sm = smooth(m.chain, m.likelihoods, obs);
    const FilterResult f = filter(m.chain, m.likelihoods, obs);
    EXPECT_TRUE(std::isfinite(sm.log_likelihood)) << T;
    EXPECT_NEAR(sm.log_likelihood, f.log_likelihood, 1e-9 * std::max(1.0, std::abs(f.log_likelihood))) << T;
    expect_all_near(sm.smoothed, naive_smooth(m, obs), 1e-9, "T=" + std::to_string(T));
    // smooth_each reports every step once, backwards.
    std::vector<std::size_t> order;
    smooth_each(m.chain, m.likelihoods, obs, [&](std::size_t t, std::span<const double> p) {
      order.push_back(t);
      EXPECT_EQ(p.size(), 3u);
    });
    ASSERT_EQ(order.size(), T);
    for (std::size_t i = 0; i < T; ++i) EXPECT_EQ(order[i], T - 1 - i);
    // The last step's smoothed belief is the filtered one.
    for (std::size_t s = 0; s < 3; ++s) EXPECT_NEAR(sm.smoothed[(T - 1) * 3 + s], f.filtered[(T - 1) * 3 + s], 1e-12);
  }
}

TEST(BridgeChain, LongSequenceLogLikelihoodStaysFinite) {
  std::mt19937_64 rng(5);
  const Model m = random_model(rng, 4, 6);
  const Observations obs = random_observations(rng, 20000, 6);
  const double ll = log_likelihood(m.chain, m.likelihoods, obs);
  EXPECT_TRUE(std::isfinite(ll));
  EXPECT_LT(ll, -1000.0);  // far below what a product of probabilities could hold in a double
  const ViterbiResult v = viterbi(m.chain, m.likelihoods, obs);
  EXPECT_EQ(v.path.size(), 20000u);
  EXPECT_TRUE(std::isfinite(v.log_probability));
  EXPECT_LE(v.log_probability, ll + 1e-6);  // one path cannot be likelier than all of them
}

TEST(BridgeChain, EmptySequence) {
  const Model m = umbrella();
  const Observations none;
  const FilterResult f = filter(m.chain, m.likelihoods, none);
  EXPECT_EQ(f.log_likelihood, 0.0);
  EXPECT_TRUE(f.filtered.empty());
  const SmoothResult s = smooth(m.chain, m.likelihoods, none);
  EXPECT_EQ(s.log_likelihood, 0.0);
  EXPECT_TRUE(s.smoothed.empty());
  int calls = 0;
  EXPECT_EQ(smooth_each(m.chain, m.likelihoods, none, [&](std::size_t, std::span<const double>) { ++calls; }), 0.0);
  EXPECT_EQ(calls, 0);
  const ViterbiResult v = viterbi(m.chain, m.likelihoods, none);
  EXPECT_TRUE(v.path.empty());
  EXPECT_EQ(v.log_probability, 0.0);
  EXPECT_EQ(log_likelihood(m.chain, m.likelihoods, none), 0.0);
}

// ---- Filter stream and prediction ----

TEST(BridgeChain, FilterStreamEqualsBatch) {
  std::mt19937_64 rng(3);
  const Model m = random_model(rng, 4, 3);
  const Observations obs = random_observations(rng, 300, 3);
  const FilterResult batch = filter(m.chain, m.likelihoods, obs);
  Filter stream(m.chain, m.likelihoods);
  EXPECT_EQ(stream.steps(), 0u);
  EXPECT_EQ(stream.log_likelihood(), 0.0);
  expect_all_near({stream.belief().begin(), stream.belief().end()}, m.chain.initial, 0, "initial belief");
  for (std::size_t t = 0; t < obs.size(); ++t) {
    stream.step(obs[t]);
    ASSERT_EQ(stream.steps(), t + 1);
    for (std::size_t s = 0; s < 4; ++s) EXPECT_NEAR(stream.belief()[s], batch.filtered[t * 4 + s], 1e-12);
  }
  EXPECT_NEAR(stream.log_likelihood(), batch.log_likelihood, 1e-9);
}

std::vector<double> push_naive(const Chain& chain, std::vector<double> v, std::size_t k) {
  const std::size_t S = chain.size();
  for (std::size_t step = 0; step < k; ++step) {
    std::vector<double> next(S, 0.0);
    for (std::size_t i = 0; i < S; ++i) {
      for (std::size_t j = 0; j < S; ++j) next[j] += v[i] * chain.transition[i * S + j];
    }
    v = next;
  }
  return v;
}

TEST(BridgeChain, PredictMatchesRepeatedProductsAndConverges) {
  std::mt19937_64 rng(11);
  const Model m = random_model(rng, 3, 2);
  Filter f(m.chain, m.likelihoods);
  expect_all_near(f.predict(0), m.chain.initial, 0, "k=0 before any step");
  expect_all_near(f.predict(2), push_naive(m.chain, m.chain.initial, 2), 1e-12, "k=2 before any step");
  f.step(0);
  f.step(1);
  const std::vector<double> belief(f.belief().begin(), f.belief().end());
  for (std::size_t k : {0u, 1u, 2u, 5u, 50u, 500u}) {
    expect_all_near(f.predict(k), push_naive(m.chain, belief, k), 1e-9, "k=" + std::to_string(k));
  }

  // A slowly mixing chain, far enough ahead that predict squares the matrix.
  Chain slow;
  slow.states = {"a", "b", "c"};
  slow.initial = {1, 0, 0};
  slow.transition = {0.999, 0.001, 0, 0, 0.998, 0.002, 0.0005, 0, 0.9995};
  Likelihoods ones;
  ones.states = 3;
  ones.rows = {1, 1, 1};
  Filter sf(slow, ones);
  for (std::size_t k : {300u, 1000u, 4321u}) {
    expect_all_near(sf.predict(k), push_naive(slow, slow.initial, k), 1e-9, "slow k=" + std::to_string(k));
  }

  // Umbrella chain: stationary (1/2, 1/2); a two-state chain [[1-a, a], [b, 1-b]]
  // converges to (b, a) / (a + b).
  const Model u = umbrella();
  Filter uf(u.chain, u.likelihoods);
  uf.step(0);
  expect_all_near(uf.predict(1000), {0.5, 0.5}, 1e-12, "umbrella stationary");
  Chain two;
  two.states = {"x", "y"};
  two.initial = {1, 0};
  two.transition = {0.9, 0.1, 0.3, 0.7};
  Filter tf(two, u.likelihoods);
  expect_all_near(tf.predict(100000), {0.75, 0.25}, 1e-12, "two-state stationary");
  expect_all_near(tf.predict(std::size_t{1} << 40), {0.75, 0.25}, 1e-12, "two-state stationary, k = 2^40");

  // Periodic: no limit, parity decides (k = 10^12 is only reachable by squaring).
  Chain flip;
  flip.states = {"x", "y"};
  flip.initial = {1, 0};
  flip.transition = {0, 1, 1, 0};
  Filter ff(flip, u.likelihoods);
  expect_all_near(ff.predict(1000000000000u), {1, 0}, 0, "flip even");
  expect_all_near(ff.predict(1000000000001u), {0, 1}, 0, "flip odd");
}

// ---- errors ----

TEST(BridgeChain, ValidateNamesTheProblem) {
  Chain c = umbrella().chain;
  EXPECT_NO_THROW(c.validate());
  Chain empty;
  EXPECT_ERROR_CONTAINS(empty.validate(), "no states");
  Chain bad = c;
  bad.initial = {1.0};
  EXPECT_ERROR_CONTAINS(bad.validate(), "initial has 1 entries for 2 states");
  bad = c;
  bad.transition.pop_back();
  EXPECT_ERROR_CONTAINS(bad.validate(), "transition has 3 entries");
  bad = c;
  bad.initial = {0.6, 0.5};
  EXPECT_ERROR_CONTAINS(bad.validate(), "initial sums to 1.1");
  bad = c;
  bad.transition = {0.7, 0.3, 0.3, 0.8};
  EXPECT_ERROR_CONTAINS(bad.validate(), "transition row 1 ('dry') sums to 1.1");
  bad = c;
  bad.transition = {0.7, 0.3, -0.3, 1.3};
  EXPECT_ERROR_CONTAINS(bad.validate(), "transition[1][0] ('dry' -> 'rain') is -0.3");
  bad = c;
  bad.initial = {std::numeric_limits<double>::quiet_NaN(), 0.5};
  EXPECT_ERROR_CONTAINS(bad.validate(), "initial[0 ('rain')] is nan");
  // Within 1e-9 is accepted.
  bad = c;
  bad.transition = {0.7 + 1e-12, 0.3, 0.3, 0.7};
  EXPECT_NO_THROW(bad.validate());
  // Every entry point validates.
  bad = c;
  bad.transition = {0.7, 0.3, 0.3, 0.8};
  const Likelihoods l = umbrella().likelihoods;
  const Observations obs = {0};
  EXPECT_ERROR_CONTAINS(filter(bad, l, obs), "sums to");
  EXPECT_ERROR_CONTAINS(smooth(bad, l, obs), "sums to");
  EXPECT_ERROR_CONTAINS(viterbi(bad, l, obs), "sums to");
  EXPECT_ERROR_CONTAINS(log_likelihood(bad, l, obs), "sums to");
  EXPECT_ERROR_CONTAINS(Filter(bad, l), "sums to");
}

TEST(BridgeChain, BadLikelihoodsAndObservations) {
  const Model m = umbrella();
  Likelihoods wrong = m.likelihoods;
  wrong.states = 3;
  EXPECT_ERROR_CONTAINS(filter(m.chain, wrong, Observations{0}), "likelihoods have 3 entries per row, the chain 2");
  wrong = m.likelihoods;
  wrong.rows.push_back(0.5);
  EXPECT_ERROR_CONTAINS(smooth(m.chain, wrong, Observations{0}), "not a multiple of 2");
  wrong = m.likelihoods;
  wrong.rows[3] = -1;
  EXPECT_ERROR_CONTAINS(viterbi(m.chain, wrong, Observations{0}), "likelihood row 1, state 1 is -1");
  wrong.rows[3] = std::numeric_limits<double>::infinity();
  EXPECT_ERROR_CONTAINS(Filter(m.chain, wrong), "likelihood row 1, state 1 is inf");

  const Observations out_of_range = {0, 1, 2};
  EXPECT_ERROR_CONTAINS(filter(m.chain, m.likelihoods, out_of_range), "observation 2 is likelihood row 2");
  EXPECT_ERROR_CONTAINS(smooth(m.chain, m.likelihoods, out_of_range), "only 2 rows");
  EXPECT_ERROR_CONTAINS(viterbi(m.chain, m.likelihoods, out_of_range), "observation 2 is likelihood row 2");
  EXPECT_ERROR_CONTAINS(log_likelihood(m.chain, m.likelihoods, out_of_range), "observation 2");
  Filter f(m.chain, m.likelihoods);
  f.step(1);
  EXPECT_ERROR_CONTAINS(f.step(7), "step 1 is likelihood row 7");
  EXPECT_EQ(f.steps(), 1u);
}

TEST(BridgeChain, ZeroProbabilityObservationNamesTheStep) {
  // a -> b always, b stays; row 0 only a can emit, row 1 only b.
  Chain chain;
  chain.states = {"a", "b"};
  chain.initial = {1, 0};
  chain.transition = {0, 1, 0, 1};
  Likelihoods l;
  l.states = 2;
  l.rows = {1, 0, 0, 1};
  const Observations obs = {0, 1, 1, 0, 1};
  const std::string expected = "step 3 (likelihood row 0) has probability zero";
  EXPECT_ERROR_CONTAINS(filter(chain, l, obs), expected);
  EXPECT_ERROR_CONTAINS(smooth(chain, l, obs), expected);
  EXPECT_ERROR_CONTAINS(viterbi(chain, l, obs), expected);
  EXPECT_ERROR_CONTAINS(log_likelihood(chain, l, obs), expected);
  EXPECT_ERROR_CONTAINS(filter(chain, l, Observations{1}), "step 0 (likelihood row 1)");
  EXPECT_ERROR_CONTAINS(viterbi(chain, l, Observations{1}), "step 0 (likelihood row 1)");

  // The stream reports the step and keeps its belief.
  Filter f(chain, l);
  f.step(0);
  f.step(1);
  f.step(1);
  const double before = f.log_likelihood();
  EXPECT_ERROR_CONTAINS(f.step(0), expected);
  EXPECT_EQ(f.steps(), 3u);
  EXPECT_EQ(f.log_likelihood(), before);
  EXPECT_EQ(f.belief()[1], 1.0);
  f.step(1);  // still usable
  EXPECT_EQ(f.steps(), 4u);
  EXPECT_EQ(f.log_likelihood(), 0.0);
}

}  // namespace
}  // namespace miso::bridge
