#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "approximate_test_support.hpp"
#include "miso/core/error.hpp"
#include "miso/qlogik/approximate.hpp"
#include "miso/qlogik/enumerate.hpp"

namespace miso::qlogik {
namespace {

double max_error(const std::vector<std::vector<double>>& got, const std::vector<std::vector<double>>& exact) {
  double worst = 0;
  EXPECT_EQ(got.size(), exact.size());
  for (std::size_t v = 0; v < std::min(got.size(), exact.size()); ++v) {
    EXPECT_EQ(got[v].size(), exact[v].size());
    for (std::size_t s = 0; s < std::min(got[v].size(), exact[v].size()); ++s) {
      worst = std::max(worst, std::abs(got[v][s] - exact[v][s]));
    }
  }
  return worst;
}

// Without evidence every message from a child's factor to a parent is uniform
// (each CPT row sums to 1), so BP's fixed point is the forward propagation that
// treats the parents of each variable as independent:
// q(v) = sum over parent states of P(v | pa) * prod q(parent).
std::vector<std::vector<double>> independent_parent_propagation(const Network& net) {
  std::vector<std::vector<double>> q(net.size());
  for (VarId v : net.topological_order()) {
    const auto& parents = net.parents(v);
    const auto card = static_cast<std::size_t>(net.cardinality(v));
    auto& out = q[static_cast<std::size_t>(v)];
    out.assign(card, 0.0);
    for (std::int64_t r = 0; r < net.rows(v); ++r) {
      double w = 1;
      std::int64_t rest = r;
      for (std::size_t i = parents.size(); i-- > 0;) {
        const std::int64_t c = net.cardinality(parents[i]);
        w *= q[static_cast<std::size_t>(parents[i])][static_cast<std::size_t>(rest % c)];
        rest /= c;
      }
      for (std::size_t s = 0; s < card; ++s) out[s] += w * net.cpt(v).table[static_cast<std::size_t>(r) * card + s];
    }
  }
  return q;
}

TEST(BeliefPropagation, WithoutEvidenceTreatsParentsAsIndependent) {
  std::mt19937_64 rng(34);
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(::testing::Message() << "network " << i);
    const Network net = approximate_testing::random_network(rng, 12, 3, 3);
    const BeliefPropagationResult got = loopy_belief_propagation(net, no_evidence(net), {200, 1e-13, 0});
    EXPECT_TRUE(got.converged);
    EXPECT_LE(max_error(got.marginals, independent_parent_propagation(net)), 1e-9);
  }
}

TEST(BeliefPropagation, Alarm) {
  MISO_STANDARD_NETWORK_OR_SKIP(net, "alarm");
  const BeliefPropagationResult plain = loopy_belief_propagation(*net, no_evidence(*net), {200, 1e-13, 0});
  EXPECT_TRUE(plain.converged);
  // alarm's rows sum to 1 only to about 1e-6, so the children's messages are nearly uniform.
  EXPECT_LE(max_error(plain.marginals, independent_parent_propagation(*net)), 1e-7);
  // With evidence: converged, distributions, the evidence as indicators.
  const Evidence ev = parse_evidence(*net, "HRBP=HIGH, BP=LOW, CO=LOW");
  const BeliefPropagationResult got = loopy_belief_propagation(*net, ev);
  EXPECT_TRUE(got.converged);
  EXPECT_LT(got.iterations, 100);
  for (std::size_t v = 0; v < net->size(); ++v) {
    double sum = 0;
    for (std::size_t s = 0; s < got.marginals[v].size(); ++s) {
      sum += got.marginals[v][s];
      if (ev[v] >= 0) {
        EXPECT_EQ(got.marginals[v][s], static_cast<int>(s) == ev[v] ? 1.0 : 0.0);
      }
    }
    EXPECT_NEAR(sum, 1.0, 1e-12);
  }
}

TEST(BeliefPropagation, ExactOnRandomPolytrees) {
  std::mt19937_64 rng(31);
  for (int i = 0; i < 12; ++i) {
    SCOPED_TRACE(::testing::Message() << "polytree " << i);
    const int n = 6 + i % 6;
    const Network net = approximate_testing::random_polytree(rng, n, 3, i % 3 == 0 ? 0.2 : 0.0);
    Evidence ev = approximate_testing::random_evidence(rng, net, i % 4);
    const Enumeration exact = enumerate(net, ev);
    if (exact.p_evidence == 0) ev = no_evidence(net);
    const BeliefPropagationResult got = loopy_belief_propagation(net, ev);
    EXPECT_TRUE(got.converged);
    EXPECT_LE(got.max_change, 1e-9);
    // Flooding needs about one iteration per edge of the longest path, plus one to see no change.
    EXPECT_LE(got.iterations, n + 2);
    EXPECT_LE(max_error(got.marginals, enumerate(net, ev).marginals), 1e-9);
  }
}

TEST(BeliefPropagation, ExactOnAWidePolytreeUpdatedInParallel) {
  // 14 roots -> hub -> 2 leaves: the hub's CPT has 2^15 entries, enough for
  // the updates to run in parallel.
  std::mt19937_64 rng(35);
  Network net("wide");
  std::vector<VarId> roots;
  for (std::size_t i = 0; i < 14; ++i) {
    roots.push_back(net.add_variable(approximate_testing::numbered("r", i), {"f", "t"}));
    net.set_cpt(roots.back(), {}, approximate_testing::random_row(rng, 2, 0.0));
  }
  const VarId hub = net.add_variable("hub", {"f", "t"});
  std::vector<double> table;
  for (int r = 0; r < 1 << 14; ++r) {
    const auto row = approximate_testing::random_row(rng, 2, 0.0);
    table.insert(table.end(), row.begin(), row.end());
  }
  net.set_cpt(hub, roots, table);
  for (const char* leaf : {"x", "y"}) {
    const VarId v = net.add_variable(leaf, {"f", "t"});
    net.set_cpt(v, {hub}, {0.9, 0.1, 0.2, 0.8});
  }
  const Evidence ev = parse_evidence(net, "x=t, r3=f");
  const BeliefPropagationResult got = loopy_belief_propagation(net, ev);
  EXPECT_TRUE(got.converged);
  EXPECT_LE(max_error(got.marginals, enumerate(net, ev).marginals), 1e-9);
}

TEST(BeliefPropagation, DampingKeepsTheFixedPoint) {
  std::mt19937_64 rng(32);
  const Network net = approximate_testing::random_polytree(rng, 10, 3);
  const Evidence ev = approximate_testing::random_evidence(rng, net, 2);
  const BeliefPropagationResult plain = loopy_belief_propagation(net, ev);
  const BeliefPropagationResult damped = loopy_belief_propagation(net, ev, {500, 1e-12, 0.5});
  EXPECT_TRUE(damped.converged);
  EXPECT_GT(damped.iterations, plain.iterations);
  EXPECT_LE(max_error(damped.marginals, enumerate(net, ev).marginals), 1e-9);
}

TEST(BeliefPropagation, CloseOnLoopyNetworks) {
  // asia has the loop smoke - lung - either - dysp - bronc - smoke; the
  // sprinkler the loop Cloudy - Sprinkler - WetGrass - Rain - Cloudy.
  struct Case {
    Network net;
    const char* evidence;
    double tolerance;
  };
  // The bounds are a little above the errors of this implementation (0.0033,
  // 0.016, 0.076): loopy BP's error on these graphs, not a sampling error.
  const Case cases[] = {{approximate_testing::asia(), "", 0.01},
                        {approximate_testing::asia(), "xray=yes, dysp=yes", 0.05},
                        {approximate_testing::sprinkler(), "WetGrass=true", 0.1}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.net.name() + " | " + c.evidence);
    const Evidence ev = parse_evidence(c.net, c.evidence);
    const BeliefPropagationResult got = loopy_belief_propagation(c.net, ev);
    EXPECT_TRUE(got.converged);
    EXPECT_GT(got.iterations, 1);
    EXPECT_LE(max_error(got.marginals, enumerate(c.net, ev).marginals), c.tolerance);
  }
}

TEST(BeliefPropagation, ReportsNonConvergence) {
  const Network net = approximate_testing::asia();
  const Evidence ev = parse_evidence(net, "xray=yes");
  const BeliefPropagationResult got = loopy_belief_propagation(net, ev, {1, 1e-9, 0.0});
  EXPECT_FALSE(got.converged);
  EXPECT_EQ(got.iterations, 1);
  EXPECT_GT(got.max_change, 1e-9);
  // The marginals are still distributions.
  for (const auto& m : got.marginals) EXPECT_NEAR(m[0] + m[1], 1.0, 1e-12);
}

TEST(BeliefPropagation, ObservedVariablesAndImpossibleEvidence) {
  std::mt19937_64 rng(33);
  const Network net = approximate_testing::random_polytree(rng, 8, 3);
  Evidence ev = no_evidence(net);
  ev[3] = 1;
  const BeliefPropagationResult got = loopy_belief_propagation(net, ev);
  for (std::size_t s = 0; s < got.marginals[3].size(); ++s) EXPECT_EQ(got.marginals[3][s], s == 1 ? 1.0 : 0.0);

  // B never takes state "b1": observing it is impossible, and every marginal is all zero.
  Network chain("chain");
  const VarId a = chain.add_variable("A", {"a0", "a1"});
  const VarId b = chain.add_variable("B", {"b0", "b1"});
  chain.set_cpt(a, {}, {0.3, 0.7});
  chain.set_cpt(b, {a}, {1.0, 0.0, 1.0, 0.0});
  const BeliefPropagationResult none = loopy_belief_propagation(chain, parse_evidence(chain, "B=b1"));
  EXPECT_EQ(none.marginals, enumerate(chain, parse_evidence(chain, "B=b1")).marginals);
  EXPECT_EQ(none.marginals[0], (std::vector<double>{0.0, 0.0}));
}

TEST(BeliefPropagation, RejectsBadInput) {
  const Network net = approximate_testing::sprinkler();
  auto expect_invalid = [&](const Evidence& ev, const BeliefPropagationOptions& options, const std::string& needle) {
    try {
      loopy_belief_propagation(net, ev, options);
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_invalid(no_evidence(net), {0, 1e-9, 0}, "max_iterations");
  expect_invalid(no_evidence(net), {10, -1, 0}, "tolerance");
  expect_invalid(no_evidence(net), {10, NAN, 0}, "tolerance");
  expect_invalid(no_evidence(net), {10, 1e-9, 1.0}, "damping");
  expect_invalid(Evidence{0}, {}, "evidence");
  expect_invalid(Evidence{0, 0, 5, 0}, {}, "Rain");
}

}  // namespace
}  // namespace miso::qlogik
