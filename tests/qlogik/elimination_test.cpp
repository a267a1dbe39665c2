// Triangulation, variable elimination, MPE and MAP against brute-force
// enumeration (enumerate.hpp) on small networks, and hand-computed values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <utility>

#include "inference_test_support.hpp"
#include "miso/core/error.hpp"
#include "miso/qlogik/enumerate.hpp"
#include "miso/qlogik/inference.hpp"

namespace miso::qlogik {
namespace {

using inference_testing::asia;
using inference_testing::near;
using inference_testing::near_relative;
using inference_testing::random_evidence;
using inference_testing::random_network;

constexpr OrderHeuristic kHeuristics[] = {OrderHeuristic::MinFill, OrderHeuristic::WeightedMinFill,
                                          OrderHeuristic::MinDegree};

using Edges = std::set<std::pair<VarId, VarId>>;

Edges edges_of(const std::vector<std::vector<VarId>>& cliques) {
  Edges out;
  for (const auto& c : cliques) {
    for (VarId a : c) {
      for (VarId b : c) {
        if (a < b) out.emplace(a, b);
      }
    }
  }
  return out;
}

// Edges the triangulation added (all variables eliminated).
std::size_t fill_in(const std::vector<std::vector<VarId>>& scopes, const Triangulation& t) {
  const Edges before = edges_of(scopes), after = edges_of(t.cliques);
  return after.size() - before.size();
}

// The order is perfect for the filled graph and each clique is exactly the
// variable with its later neighbours there; every original edge is kept.
void expect_consistent(const std::vector<std::vector<VarId>>& scopes, const Triangulation& t) {
  const Edges filled = edges_of(t.cliques);
  for (const auto& e : edges_of(scopes)) EXPECT_TRUE(filled.count(e)) << e.first << "-" << e.second;
  std::vector<int> pos(1000, -1);
  for (std::size_t i = 0; i < t.order.size(); ++i) pos[static_cast<std::size_t>(t.order[i])] = static_cast<int>(i);
  ASSERT_EQ(t.order.size(), t.cliques.size());
  for (std::size_t i = 0; i < t.order.size(); ++i) {
    const VarId v = t.order[i];
    const auto& c = t.cliques[i];
    EXPECT_TRUE(std::is_sorted(c.begin(), c.end()));
    std::vector<VarId> later{v};
    for (const auto& [a, b] : filled) {
      if (a == v && pos[static_cast<std::size_t>(b)] > static_cast<int>(i)) later.push_back(b);
      if (b == v && pos[static_cast<std::size_t>(a)] > static_cast<int>(i)) later.push_back(a);
    }
    std::sort(later.begin(), later.end());
    EXPECT_EQ(c, later) << "clique of variable " << v;
  }
}

std::vector<std::int64_t> cards_of(const Network& net) {
  std::vector<std::int64_t> cards;
  for (std::size_t v = 0; v < net.size(); ++v) cards.push_back(net.cardinality(static_cast<VarId>(v)));
  return cards;
}

TEST(Triangulate, OrdersArePermutationsAndCliquesAreConsistent) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    const Network net = random_network(rng, 12 + trial, 3, 4);
    const auto scopes = families(net);
    std::vector<VarId> all(net.size());
    for (std::size_t v = 0; v < net.size(); ++v) all[v] = static_cast<VarId>(v);
    for (OrderHeuristic h : kHeuristics) {
      const Triangulation t = triangulate(scopes, cards_of(net), {all}, h);
      std::vector<VarId> sorted = t.order;
      std::sort(sorted.begin(), sorted.end());
      EXPECT_EQ(sorted, all);
      expect_consistent(scopes, t);
    }
  }
}

// x (id 0) joins y and z, each in its own K4: chordal, so min-fill eliminates
// simplicial variables and adds nothing, while min-degree takes x first (degree
// 2, the others 3 or more) and joins y and z.
TEST(Triangulate, MinFillAddsNoFillWhereMinDegreeDoes) {
  const std::vector<std::vector<VarId>> scopes = {{0, 1}, {0, 2}, {1, 3, 4, 5}, {2, 6, 7, 8}};
  const std::vector<std::int64_t> cards(9, 2);
  const std::vector<VarId> all = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const Triangulation fill = triangulate(scopes, cards, {all}, OrderHeuristic::MinFill);
  const Triangulation degree = triangulate(scopes, cards, {all}, OrderHeuristic::MinDegree);
  EXPECT_EQ(fill_in(scopes, fill), 0u);
  EXPECT_EQ(degree.order.front(), 0);
  EXPECT_EQ(fill_in(scopes, degree), 1u);
  EXPECT_EQ(fill_in(scopes, triangulate(scopes, cards, {all}, OrderHeuristic::WeightedMinFill)), 0u);
}

// A filled graph is chordal: min-fill must find an order without fill on it.
TEST(Triangulate, MinFillIsPerfectOnChordalGraphs) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    const Network net = random_network(rng, 25, 3, 3);
    std::vector<VarId> all(net.size());
    for (std::size_t v = 0; v < net.size(); ++v) all[v] = static_cast<VarId>(v);
    std::shuffle(all.begin(), all.end(), rng);
    const auto chordal = triangulate(families(net), cards_of(net), {all}, OrderHeuristic::MinDegree).cliques;
    for (OrderHeuristic h : {OrderHeuristic::MinFill, OrderHeuristic::WeightedMinFill}) {
      EXPECT_EQ(fill_in(chordal, triangulate(chordal, cards_of(net), {all}, h)), 0u);
    }
  }
}

// In the 4-cycle a-b-c-d with card(a) = 10, eliminating a or c adds b-d
// (weight 2*2), b or d adds a-c (10*2). Weighted min-fill ties a with c and
// takes c, whose clique has 8 states to a's 40; min-fill ties all four and
// takes c by the same rule; min-degree too.
TEST(Triangulate, TiesGoToTheSmallerClique) {
  const std::vector<std::vector<VarId>> cycle = {{0, 1}, {1, 2}, {2, 3}, {0, 3}};
  const std::vector<std::int64_t> cards = {10, 2, 2, 2};
  for (OrderHeuristic h : kHeuristics) {
    const Triangulation t = triangulate(cycle, cards, {{0, 1, 2, 3}}, h);
    EXPECT_EQ(t.order.front(), 2);
    const Edges filled = edges_of(t.cliques);
    EXPECT_TRUE(filled.count({1, 3}));
    EXPECT_FALSE(filled.count({0, 2}));
  }
}

// K3,3 of binary variables (ids 0-5: each elimination adds 3 edges of weight
// 4) beside a 4-cycle of 10-state variables (6-9: 1 edge of weight 100).
// Min-fill counts edges and starts in the cycle; weighted min-fill in K3,3.
TEST(Triangulate, WeightedMinFillWeighsEdgesByStates) {
  std::vector<std::vector<VarId>> scopes = {{6, 7}, {7, 8}, {8, 9}, {6, 9}};
  for (VarId a : {0, 1, 2}) {
    for (VarId b : {3, 4, 5}) scopes.push_back({a, b});
  }
  const std::vector<std::int64_t> cards = {2, 2, 2, 2, 2, 2, 10, 10, 10, 10};
  const std::vector<VarId> all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_EQ(triangulate(scopes, cards, {all}, OrderHeuristic::MinFill).order.front(), 6);
  EXPECT_EQ(triangulate(scopes, cards, {all}, OrderHeuristic::WeightedMinFill).order.front(), 0);
}

TEST(Triangulate, StagesComeInOrderAndOthersStay) {
  const Network net = asia();
  const std::vector<VarId> first = {7, 0, 3}, second = {5, 1};
  const Triangulation t = triangulate(families(net), cards_of(net), {first, second}, OrderHeuristic::MinFill);
  ASSERT_EQ(t.order.size(), 5u);
  EXPECT_EQ(std::set<VarId>(t.order.begin(), t.order.begin() + 3), std::set<VarId>(first.begin(), first.end()));
  EXPECT_EQ(std::set<VarId>(t.order.begin() + 3, t.order.end()), std::set<VarId>(second.begin(), second.end()));
}

TEST(Triangulate, RejectsBadInput) {
  const std::vector<std::int64_t> cards = {2, 2};
  EXPECT_THROW(triangulate({{0, 2}}, cards, {{0}}, OrderHeuristic::MinFill), Error);
  EXPECT_THROW(triangulate({{0, 1}}, cards, {{0, 0}}, OrderHeuristic::MinFill), Error);
  EXPECT_THROW(triangulate({{0, 1}}, cards, {{0}, {0}}, OrderHeuristic::MinFill), Error);
  EXPECT_THROW(triangulate({{0, 1}}, cards, {{-1}}, OrderHeuristic::MinFill), Error);
  EXPECT_THROW(triangulate({{0, 1}}, {2, 0}, {{0}}, OrderHeuristic::MinFill), Error);
}

TEST(EliminationOrder, IsAPermutationOfTheRequestedVariables) {
  const Network net = asia();
  const std::vector<VarId> some = {6, 2, 4, 0};
  for (OrderHeuristic h : kHeuristics) {
    std::vector<VarId> order = elimination_order(net, some, h);
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, (std::vector<VarId>{0, 2, 4, 6}));
  }
  EXPECT_TRUE(elimination_order(net, {}).empty());
  EXPECT_THROW(elimination_order(net, {0, 8}), Error);
  EXPECT_THROW(elimination_order(net, {1, 1}), Error);
}

// Asia's moral graph has one chordless cycle, smoke-lung-either-bronc, so one
// fill edge; asia and xray are simplicial with the smallest cliques (2 states^2).
TEST(EliminationOrder, EliminatesSimplicialVariablesFirst) {
  const Network net = asia();
  std::vector<VarId> all(net.size());
  for (std::size_t v = 0; v < net.size(); ++v) all[v] = static_cast<VarId>(v);
  const std::vector<VarId> order = elimination_order(net, all, OrderHeuristic::MinFill);
  // asia (neighbour tub only) is simplicial with the smallest clique: first.
  EXPECT_EQ(order.front(), net.id("asia"));
  EXPECT_EQ(fill_in(families(net), triangulate(families(net), cards_of(net), {all}, OrderHeuristic::MinFill)), 1u);
}

void expect_matches_enumeration(const Network& net, const Evidence& e, OrderHeuristic h, double tol) {
  const Enumeration ref = enumerate(net, e);
  std::vector<VarId> all(net.size());
  for (std::size_t v = 0; v < net.size(); ++v) all[v] = static_cast<VarId>(v);
  const Posterior ve = variable_elimination(net, e, all, h);
  EXPECT_NEAR(ve.p_evidence, ref.p_evidence, tol);
  EXPECT_EQ(ve.impossible(), ref.p_evidence == 0);
  if (ref.p_evidence > 0) {
    EXPECT_NEAR(ve.log_p_evidence, std::log(ref.p_evidence), 1e-10);
  }
  for (std::size_t v = 0; v < net.size(); ++v) EXPECT_TRUE(near(ve.marginals[v], ref.marginals[v], tol)) << "v" << v;
}

TEST(VariableElimination, MatchesEnumerationOnAsia) {
  const Network net = asia();
  for (const char* e : {"", "dysp=yes", "xray=yes, smoke=no", "asia=yes, dysp=no, bronc=yes", "either=no, lung=yes",
                        "tub=yes, either=no"}) {
    SCOPED_TRACE(e);
    for (OrderHeuristic h : kHeuristics) expect_matches_enumeration(net, parse_evidence(net, e), h, 1e-12);
  }
}

TEST(VariableElimination, MatchesEnumerationOnRandomNetworks) {
  std::mt19937_64 rng(2024);
  int impossible = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const Network net = random_network(rng, 4 + trial % 6, 3, 3, trial % 2 == 0 ? 0.3 : 0.0);
    const Evidence e = random_evidence(rng, net, trial % 4);
    SCOPED_TRACE(trial);
    expect_matches_enumeration(net, e, kHeuristics[trial % 3], 1e-12);
    impossible += enumerate(net, e).p_evidence == 0;
  }
  EXPECT_GT(impossible, 0) << "the trials should include impossible evidence";
}

TEST(VariableElimination, ComputesOnlyTheQueryAndPrunesBarrenVariables) {
  Network net = asia();
  // xray and dysp are barren for a query on smoke given lung: a NaN there
  // would poison any computation that used them.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  net.set_cpt(net.id("xray"), {net.id("either")}, {nan, nan, nan, nan});
  const Posterior p = variable_elimination(net, parse_evidence(net, "lung=yes"), {net.id("smoke"), net.id("lung")});
  EXPECT_NEAR(p.p_evidence, 0.055, 1e-15);
  EXPECT_TRUE(near(p.marginals[static_cast<std::size_t>(net.id("smoke"))], {0.05 / 0.055, 0.005 / 0.055}, 1e-14));
  EXPECT_TRUE(near(p.marginals[static_cast<std::size_t>(net.id("lung"))], {1, 0}, 0));
  for (const char* other : {"asia", "tub", "bronc", "either", "xray", "dysp"}) {
    EXPECT_TRUE(p.marginals[static_cast<std::size_t>(net.id(other))].empty()) << other;
  }
  // An empty query gives P(e) alone.
  const Posterior pe = variable_elimination(net, parse_evidence(net, "smoke=yes, lung=no"), {});
  EXPECT_NEAR(pe.p_evidence, 0.5 * 0.9, 1e-15);
}

// P(e) = 0.5 * 0.1^(n-3) * 0.82 for alternating evidence on all but x300 of a
// 600-chain: about e^-1378, far below the smallest double.
TEST(VariableElimination, LogEvidenceSurvivesUnderflow) {
  const int n = 600, k = 300;
  const Network net = inference_testing::chain(n, 0.9);
  Evidence e(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) e[static_cast<std::size_t>(i)] = i == k ? -1 : i % 2;
  const Posterior p = variable_elimination(net, e, {k});
  EXPECT_FALSE(p.impossible());
  EXPECT_EQ(p.p_evidence, 0.0);  // underflows
  EXPECT_TRUE(near_relative(p.log_p_evidence, std::log(0.5) + (n - 3) * std::log(0.1) + std::log(0.82), 1e-12));
  // x299 = 1 = x301, so x300 = 1 has 0.81, x300 = 0 has 0.01.
  EXPECT_TRUE(near(p.marginals[static_cast<std::size_t>(k)], {0.01 / 0.82, 0.81 / 0.82}, 1e-14));
}

TEST(VariableElimination, RejectsBadInput) {
  const Network net = asia();
  EXPECT_THROW(variable_elimination(net, Evidence(7, -1), {0}), Error);
  Evidence e = no_evidence(net);
  e[3] = 2;
  try {
    variable_elimination(net, e, {0});
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), Error::Kind::InvalidArgument);
    EXPECT_NE(std::string(err.what()).find("'lung' state 2"), std::string::npos) << err.what();
  }
  e[3] = -5;
  EXPECT_THROW(variable_elimination(net, e, {0}), Error);
  EXPECT_THROW(variable_elimination(net, no_evidence(net), {8}), Error);
  EXPECT_THROW(variable_elimination(net, no_evidence(net), {2, 2}), Error);
  Network cyclic("cyclic");
  const VarId a = cyclic.add_variable("a", {"0", "1"}), b = cyclic.add_variable("b", {"0", "1"});
  cyclic.set_cpt(a, {b}, {0.5, 0.5, 0.5, 0.5});
  cyclic.set_cpt(b, {a}, {0.5, 0.5, 0.5, 0.5});
  EXPECT_THROW(variable_elimination(cyclic, no_evidence(cyclic), {a}), Error);
  EXPECT_THROW(most_probable_explanation(cyclic, no_evidence(cyclic)), Error);
}

TEST(Mpe, MatchesEnumeration) {
  std::mt19937_64 rng(77);
  for (int trial = 0; trial < 60; ++trial) {
    // Continuous CPTs (no zeros) have no ties, so the assignment is unique.
    const bool zeros = trial % 3 == 0;
    const Network net = random_network(rng, 3 + trial % 7, 3, 3, zeros ? 0.3 : 0.0);
    const Evidence e = random_evidence(rng, net, trial % 3);
    SCOPED_TRACE(trial);
    const Enumeration ref = enumerate(net, e);
    const Explanation x = most_probable_explanation(net, e);
    EXPECT_TRUE(near_relative(x.p_evidence, ref.p_evidence, 1e-12));
    if (ref.p_evidence == 0) {
      EXPECT_EQ(x.probability, 0.0);
      for (std::size_t v = 0; v < net.size(); ++v) EXPECT_EQ(x.assignment[v], e[v]);
      continue;
    }
    EXPECT_TRUE(near_relative(x.probability, ref.mpe_probability, 1e-12));
    EXPECT_TRUE(near_relative(x.probability, net.joint_probability(x.assignment), 1e-12));
    EXPECT_NEAR(x.log_probability, std::log(ref.mpe_probability), 1e-10);
    for (std::size_t v = 0; v < net.size(); ++v) {
      if (e[v] >= 0) {
        EXPECT_EQ(x.assignment[v], e[v]);
      }
    }
    if (!zeros) {
      EXPECT_EQ(x.assignment, ref.mpe);
    }
  }
}

TEST(Mpe, AsiaByHand) {
  const Network net = asia();
  // Without evidence: asia=no, tub=no, either=no, xray=no; smoke, lung, bronc
  // and dysp by the largest product: smoke=no (0.5), lung=no (0.99), bronc=no
  // (0.7), dysp=no (0.9): 0.99*0.99*0.5*0.99*0.7*1*0.95*0.9.
  const Explanation x = most_probable_explanation(net, no_evidence(net));
  EXPECT_EQ(x.assignment, (std::vector<int>{1, 1, 1, 1, 1, 1, 1, 1}));
  EXPECT_NEAR(x.probability, 0.99 * 0.99 * 0.5 * 0.99 * 0.7 * 0.95 * 0.9, 1e-15);
  EXPECT_NEAR(x.p_evidence, 1.0, 1e-15);
}

// On the standard networks, where enumeration is out of reach: the MPE's
// probability is the joint probability of its assignment, which agrees with the
// evidence, and no change of one variable's state improves it.
TEST(Mpe, IsLocallyOptimalOnStandardNetworks) {
  std::mt19937_64 rng(6);
  int tested = 0;
  for (const char* name : {"alarm", "child", "insurance", "hepar2", "win95pts", "hailfinder"}) {
    const Network* net = inference_testing::standard_network(name);
    if (net == nullptr) continue;
    ++tested;
    SCOPED_TRACE(name);
    const Evidence e = inference_testing::sampled_evidence(rng, *net, 4);
    const Explanation x = most_probable_explanation(*net, e);
    ASSERT_GT(x.probability, 0);
    EXPECT_TRUE(near_relative(x.probability, net->joint_probability(x.assignment), 1e-9));
    EXPECT_LE(x.probability, x.p_evidence * (1 + 1e-12));
    std::vector<int> y = x.assignment;
    for (std::size_t v = 0; v < net->size(); ++v) {
      if (e[v] >= 0) {
        EXPECT_EQ(x.assignment[v], e[v]);
        continue;
      }
      for (int s = 0; s < net->cardinality(static_cast<VarId>(v)); ++s) {
        y[v] = s;
        EXPECT_LE(net->joint_probability(y), x.probability * (1 + 1e-12)) << net->variable(static_cast<VarId>(v)).name;
      }
      y[v] = x.assignment[v];
    }
  }
  if (tested == 0) GTEST_SKIP() << "the standard networks are absent (" << MISO_SHARED_DATA << "/bnlearn)";
}

// MAP on alarm over two variables, against P(m, e) for every m from the
// junction tree.
TEST(Map, MatchesJunctionTreeOnAlarm) {
  const Network* file = inference_testing::standard_network("alarm");
  if (file == nullptr) GTEST_SKIP() << "alarm.bif is absent (" << MISO_SHARED_DATA << "/bnlearn)";
  // MAP prunes barren variables, the junction tree does not: rows must sum to 1.
  const Network normalized = inference_testing::with_normalized_rows(*file);
  const Network* net = &normalized;
  const JunctionTree jt(*net);
  std::mt19937_64 rng(10);
  for (int trial = 0; trial < 3; ++trial) {
    const Evidence e = inference_testing::sampled_evidence(rng, *net, 3);
    std::vector<VarId> vars;
    while (vars.size() < 2) {
      const auto v = static_cast<VarId>(std::uniform_int_distribution<std::size_t>(0, net->size() - 1)(rng));
      if (e[static_cast<std::size_t>(v)] < 0 && std::find(vars.begin(), vars.end(), v) == vars.end()) {
        vars.push_back(v);
      }
    }
    double best = -1;
    Evidence x = e;
    for (int a = 0; a < net->cardinality(vars[0]); ++a) {
      for (int b = 0; b < net->cardinality(vars[1]); ++b) {
        x[static_cast<std::size_t>(vars[0])] = a;
        x[static_cast<std::size_t>(vars[1])] = b;
        best = std::max(best, jt.query(x).p_evidence);
      }
    }
    const Explanation map = maximum_a_posteriori(*net, e, vars);
    EXPECT_TRUE(near_relative(map.probability, best, 1e-9));
    x[static_cast<std::size_t>(vars[0])] = map.assignment[static_cast<std::size_t>(vars[0])];
    x[static_cast<std::size_t>(vars[1])] = map.assignment[static_cast<std::size_t>(vars[1])];
    EXPECT_TRUE(near_relative(jt.query(x).p_evidence, best, 1e-9));
  }
}

// Brute-force MAP: P(m, e) for every assignment m of the MAP variables.
Explanation brute_force_map(const Network& net, const Evidence& e, const std::vector<VarId>& vars) {
  Explanation best;
  Evidence x = e;
  for (VarId v : vars) x[static_cast<std::size_t>(v)] = 0;
  while (true) {
    const double p = enumerate(net, x).p_evidence;
    if (best.assignment.empty() || p > best.probability) {
      best.probability = p;
      best.assignment = x;
    }
    std::size_t k = vars.size();
    while (k > 0) {
      const auto v = static_cast<std::size_t>(vars[k - 1]);
      if (++x[v] < net.cardinality(vars[k - 1])) break;
      x[v] = 0;
      --k;
    }
    if (k == 0) break;
  }
  return best;
}

TEST(Map, MatchesBruteForce) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 50; ++trial) {
    const Network net = random_network(rng, 4 + trial % 5, 3, 3);
    const Evidence e = random_evidence(rng, net, trial % 3);
    std::vector<VarId> vars;
    for (std::size_t v = 0; v < net.size(); ++v) {
      if (e[v] < 0 && vars.size() < 1 + static_cast<std::size_t>(trial % 3)) vars.push_back(static_cast<VarId>(v));
    }
    std::shuffle(vars.begin(), vars.end(), rng);
    SCOPED_TRACE(trial);
    const Explanation ref = brute_force_map(net, e, vars);
    const Explanation x = maximum_a_posteriori(net, e, vars);
    EXPECT_TRUE(near_relative(x.probability, ref.probability, 1e-12));
    EXPECT_TRUE(near_relative(x.p_evidence, enumerate(net, e).p_evidence, 1e-12));
    for (std::size_t v = 0; v < net.size(); ++v) {
      const bool in_map = std::find(vars.begin(), vars.end(), static_cast<VarId>(v)) != vars.end();
      EXPECT_EQ(x.assignment[v], in_map ? ref.assignment[v] : e[v]) << "v" << v;
    }
  }
}

// MAP is not the MPE restricted to the MAP variables: with A -> B, P(A) =
// (0.4, 0.6), P(B | A=0) = (1, 0), P(B | A=1) = (0.5, 0.5), the MPE is
// (A=0, B=0) at 0.4 but MAP over A alone is A=1 at 0.6.
TEST(Map, DiffersFromMpeWhereItShould) {
  Network net("map");
  const VarId a = net.add_variable("A", {"0", "1"}), b = net.add_variable("B", {"0", "1"});
  net.set_cpt(a, {}, {0.4, 0.6});
  net.set_cpt(b, {a}, {1, 0, 0.5, 0.5});
  const Explanation mpe = most_probable_explanation(net, no_evidence(net));
  EXPECT_EQ(mpe.assignment, (std::vector<int>{0, 0}));
  EXPECT_NEAR(mpe.probability, 0.4, 1e-15);
  const Explanation map = maximum_a_posteriori(net, no_evidence(net), {a});
  EXPECT_EQ(map.assignment, (std::vector<int>{1, -1}));
  EXPECT_NEAR(map.probability, 0.6, 1e-15);
  // MAP over every variable is the MPE; over none it is P(e).
  const Explanation all = maximum_a_posteriori(net, parse_evidence(net, "B=0"), {a, b});
  EXPECT_EQ(all.assignment, (std::vector<int>{0, 0}));
  EXPECT_NEAR(all.probability, 0.4, 1e-15);
  const Explanation none = maximum_a_posteriori(net, parse_evidence(net, "B=0"), {});
  EXPECT_NEAR(none.probability, 0.7, 1e-15);
  EXPECT_NEAR(none.p_evidence, 0.7, 1e-15);
}

TEST(Map, ImpossibleEvidenceAndBadInput) {
  const Network net = asia();
  const Evidence e = parse_evidence(net, "tub=yes, either=no");
  const Explanation x = maximum_a_posteriori(net, e, {net.id("smoke")});
  EXPECT_EQ(x.probability, 0.0);
  EXPECT_EQ(x.p_evidence, 0.0);
  EXPECT_EQ(x.log_probability, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(x.assignment[static_cast<std::size_t>(net.id("smoke"))], -1);
  EXPECT_EQ(x.assignment[static_cast<std::size_t>(net.id("tub"))], 0);
  const Explanation m = most_probable_explanation(net, e);
  EXPECT_EQ(m.probability, 0.0);
  EXPECT_EQ(m.assignment[static_cast<std::size_t>(net.id("asia"))], -1);
  EXPECT_THROW(maximum_a_posteriori(net, no_evidence(net), {9}), Error);
  EXPECT_THROW(maximum_a_posteriori(net, no_evidence(net), {1, 1}), Error);
  EXPECT_THROW(maximum_a_posteriori(net, Evidence(2, -1), {1}), Error);
  EXPECT_THROW(most_probable_explanation(net, Evidence(9, -1)), Error);
}

}  // namespace
}  // namespace miso::qlogik
