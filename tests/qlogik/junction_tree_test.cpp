// The junction tree against enumeration (small networks), against variable
// elimination (the standard networks), and its structure.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

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

void expect_matches_enumeration(const JunctionTree& jt, const Network& net, const Evidence& e, double tol) {
  const Enumeration ref = enumerate(net, e);
  const Posterior p = jt.query(e);
  EXPECT_NEAR(p.p_evidence, ref.p_evidence, tol);
  EXPECT_EQ(p.impossible(), ref.p_evidence == 0);
  if (ref.p_evidence > 0) {
    EXPECT_NEAR(p.log_p_evidence, std::log(ref.p_evidence), 1e-10);
  }
  ASSERT_EQ(p.marginals.size(), net.size());
  for (std::size_t v = 0; v < net.size(); ++v) EXPECT_TRUE(near(p.marginals[v], ref.marginals[v], tol)) << "v" << v;
}

TEST(JunctionTree, MatchesEnumerationOnAsia) {
  const Network net = asia();
  for (OrderHeuristic h : kHeuristics) {
    const JunctionTree jt(net, h);
    for (const char* e : {"", "dysp=yes", "xray=yes, smoke=no", "asia=yes, dysp=no, bronc=yes", "either=no, lung=yes",
                          "tub=yes, either=no"}) {
      SCOPED_TRACE(e);
      expect_matches_enumeration(jt, net, parse_evidence(net, e), 1e-12);
    }
  }
}

TEST(JunctionTree, MatchesEnumerationOnRandomNetworks) {
  std::mt19937_64 rng(31337);
  int impossible = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const Network net = random_network(rng, 3 + trial % 8, 3, 3, trial % 2 == 0 ? 0.3 : 0.0);
    const JunctionTree jt(net, kHeuristics[trial % 3]);
    for (int q = 0; q < 3; ++q) {
      const Evidence e = random_evidence(rng, net, q + trial % 2);
      SCOPED_TRACE(::testing::Message() << "trial " << trial << ", query " << q);
      expect_matches_enumeration(jt, net, e, 1e-12);
      impossible += enumerate(net, e).p_evidence == 0;
    }
  }
  EXPECT_GT(impossible, 0) << "the trials should include impossible evidence";
}

// Two components and an isolated variable: the tree joins them by empty separators.
TEST(JunctionTree, HandlesDisconnectedNetworks) {
  std::mt19937_64 rng(8);
  Network net("parts");
  const Network a = random_network(rng, 4, 2, 3), b = random_network(rng, 4, 2, 3);
  for (const Network* part : {&a, &b}) {
    const auto base = static_cast<VarId>(net.size());
    for (std::size_t v = 0; v < part->size(); ++v) {
      net.add_variable(inference_testing::numbered("p", net.size()), part->variable(static_cast<VarId>(v)).states);
    }
    for (std::size_t v = 0; v < part->size(); ++v) {
      std::vector<VarId> parents = part->parents(static_cast<VarId>(v));
      for (VarId& p : parents) p += base;
      net.set_cpt(base + static_cast<VarId>(v), parents, part->cpt(static_cast<VarId>(v)).table);
    }
  }
  net.add_variable("alone", {"x", "y", "z"});
  const JunctionTree jt(net);
  EXPECT_GE(jt.size(), 3u);
  for (int q = 0; q < 5; ++q) expect_matches_enumeration(jt, net, random_evidence(rng, net, q), 1e-12);
}

// A clique tree: one root, every clique reaches it; the cliques holding any
// variable form a connected subtree (running intersection); every family fits in
// a clique; no clique lies inside another; the stats add up.
void expect_junction_tree(const JunctionTree& jt, const Network& net) {
  const std::size_t m = jt.size();
  int roots = 0;
  for (std::size_t i = 0; i < m; ++i) {
    roots += jt.parent(i) < 0;
    std::size_t steps = 0;
    for (int c = static_cast<int>(i); jt.parent(static_cast<std::size_t>(c)) >= 0 && steps <= m; ++steps) {
      c = jt.parent(static_cast<std::size_t>(c));
    }
    EXPECT_LE(steps, m) << "clique " << i << " does not reach the root";
  }
  EXPECT_EQ(roots, m > 0 ? 1 : 0);
  auto has = [&](std::size_t i, VarId v) {
    const auto& c = jt.clique(i);
    return std::binary_search(c.begin(), c.end(), v);
  };
  for (std::size_t v = 0; v < net.size(); ++v) {
    const auto var = static_cast<VarId>(v);
    int holding = 0, linked = 0;
    for (std::size_t i = 0; i < m; ++i) {
      if (!has(i, var)) continue;
      ++holding;
      if (jt.parent(i) >= 0 && has(static_cast<std::size_t>(jt.parent(i)), var)) ++linked;
    }
    EXPECT_EQ(holding - linked, 1) << "the cliques holding variable " << v << " are not a subtree";
  }
  for (const auto& family : families(net)) {
    bool found = false;
    for (std::size_t i = 0; i < m && !found; ++i) {
      const auto& c = jt.clique(i);
      found = std::includes(c.begin(), c.end(), family.begin(), family.end());
    }
    EXPECT_TRUE(found);
  }
  JunctionTree::Stats want;
  want.cliques = m;
  for (std::size_t i = 0; i < m; ++i) {
    const auto& c = jt.clique(i);
    std::int64_t entries = 1;
    for (VarId v : c) entries *= net.cardinality(v);
    want.total_entries += entries;
    want.max_clique_entries = std::max(want.max_clique_entries, entries);
    want.max_clique_variables = std::max(want.max_clique_variables, c.size());
    for (std::size_t j = 0; j < m; ++j) {
      const auto& d = jt.clique(j);
      if (i != j) {
        EXPECT_FALSE(std::includes(d.begin(), d.end(), c.begin(), c.end())) << i << " inside " << j;
      }
    }
  }
  const JunctionTree::Stats s = jt.stats();
  EXPECT_EQ(s.cliques, want.cliques);
  EXPECT_EQ(s.total_entries, want.total_entries);
  EXPECT_EQ(s.max_clique_entries, want.max_clique_entries);
  EXPECT_EQ(s.max_clique_variables, want.max_clique_variables);
  EXPECT_EQ(s.treewidth, static_cast<int>(want.max_clique_variables) - 1);
}

TEST(JunctionTree, IsAProperCliqueTree) {
  expect_junction_tree(JunctionTree(asia()), asia());
  std::mt19937_64 rng(4);
  for (int trial = 0; trial < 30; ++trial) {
    const Network net = random_network(rng, 10 + trial, 4, 3);
    expect_junction_tree(JunctionTree(net, kHeuristics[trial % 3]), net);
  }
}

TEST(JunctionTree, AsiaHasSixCliquesOfTreewidthTwo) {
  // Moral asia plus one fill edge (smoke-lung-either-bronc cycle): cliques
  // {asia,tub} {tub,lung,either} {lung,either,bronc} {smoke,lung,bronc}
  // {either,bronc,dysp} {either,xray} under min-fill.
  const JunctionTree::Stats s = JunctionTree(asia(), OrderHeuristic::MinFill).stats();
  EXPECT_EQ(s.cliques, 6u);
  EXPECT_EQ(s.treewidth, 2);
  EXPECT_EQ(s.max_clique_entries, 8);
  EXPECT_EQ(s.total_entries, 4 + 8 + 8 + 8 + 8 + 4);
}

TEST(JunctionTree, WorkspacesAreReusable) {
  std::mt19937_64 rng(12);
  const Network net = random_network(rng, 30, 3, 3, 0.2);
  const JunctionTree jt(net);
  JunctionTree::Workspace ws;
  for (int q = 0; q < 10; ++q) {
    const Evidence e = random_evidence(rng, net, q % 5);
    const Posterior fresh = jt.query(e), reused = jt.query(e, ws);
    EXPECT_EQ(fresh.log_p_evidence, reused.log_p_evidence);
    EXPECT_EQ(fresh.marginals, reused.marginals);
  }
}

// Cliques of 4^9 = 262144 entries take the parallel paths (marginalising and
// scaling over 65536 entries and more), checked against variable elimination.
TEST(JunctionTree, LargeCliquesMatchVariableElimination) {
  std::mt19937_64 rng(3);
  Network net("wide");
  auto add = [&](const std::string& name, const std::vector<VarId>& parents) {
    const VarId v = net.add_variable(name, {"a", "b", "c", "d"});
    std::int64_t rows = 1;
    for (VarId p : parents) rows *= net.cardinality(p);
    std::vector<double> table(static_cast<std::size_t>(rows * 4));
    std::uniform_real_distribution<double> unit(0.1, 1);
    for (std::int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int s = 0; s < 4; ++s) sum += table[static_cast<std::size_t>(r * 4 + s)] = unit(rng);
      for (int s = 0; s < 4; ++s) table[static_cast<std::size_t>(r * 4 + s)] /= sum;
    }
    net.set_cpt(v, parents, table);
    return v;
  };
  std::vector<VarId> ps, qs;
  for (int i = 0; i < 8; ++i) ps.push_back(add(inference_testing::numbered("p", static_cast<std::size_t>(i)), {}));
  const VarId c1 = add("c1", ps);
  for (int i = 0; i < 7; ++i) qs.push_back(add(inference_testing::numbered("q", static_cast<std::size_t>(i)), {}));
  qs.push_back(c1);
  const VarId c2 = add("c2", qs);
  const JunctionTree jt(net);
  EXPECT_EQ(jt.stats().max_clique_entries, 262144);
  EXPECT_EQ(jt.stats().cliques, 2u);
  for (const char* text : {"", "c2=b, p3=c", "c1=d, q0=a, p7=b"}) {
    SCOPED_TRACE(text);
    const Evidence e = parse_evidence(net, text);
    const Posterior p = jt.query(e);
    const Posterior ve = variable_elimination(net, e, {ps[0], ps[5], c1, qs[2], c2});
    EXPECT_TRUE(near_relative(p.p_evidence, ve.p_evidence, 1e-12));
    for (VarId v : {ps[0], ps[5], c1, qs[2], c2}) {
      EXPECT_TRUE(near(p.marginals[static_cast<std::size_t>(v)], ve.marginals[static_cast<std::size_t>(v)], 1e-12));
    }
  }
}

TEST(JunctionTree, LogEvidenceSurvivesUnderflow) {
  const int n = 600, k = 300;
  const Network net = inference_testing::chain(n, 0.9);
  Evidence e(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) e[static_cast<std::size_t>(i)] = i == k ? -1 : i % 2;
  const Posterior p = JunctionTree(net).query(e);
  EXPECT_FALSE(p.impossible());
  EXPECT_EQ(p.p_evidence, 0.0);
  EXPECT_TRUE(near_relative(p.log_p_evidence, std::log(0.5) + (n - 3) * std::log(0.1) + std::log(0.82), 1e-12));
  EXPECT_TRUE(near(p.marginals[static_cast<std::size_t>(k)], {0.01 / 0.82, 0.81 / 0.82}, 1e-14));
  EXPECT_TRUE(near(p.marginals[0], {1, 0}, 0));
}

TEST(JunctionTree, EnforcesTheEntryLimit) {
  const Network net = asia();
  const std::int64_t total = JunctionTree(net).stats().total_entries;
  EXPECT_NO_THROW(JunctionTree(net, OrderHeuristic::WeightedMinFill, total));
  try {
    JunctionTree jt(net, OrderHeuristic::WeightedMinFill, total - 1);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), Error::Kind::InvalidArgument);
    EXPECT_NE(std::string(err.what()).find("'asia'"), std::string::npos) << err.what();
  }
}

TEST(JunctionTree, RejectsBadInput) {
  const Network net = asia();
  const JunctionTree jt(net);
  EXPECT_THROW(jt.query(Evidence(3, -1)), Error);
  Evidence e = no_evidence(net);
  e[1] = 2;
  try {
    jt.query(e);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), Error::Kind::InvalidArgument);
    EXPECT_NE(std::string(err.what()).find("'tub' state 2"), std::string::npos) << err.what();
  }
  e[1] = -2;
  EXPECT_THROW(jt.query(e), Error);
  Network cyclic("cyclic");
  const VarId a = cyclic.add_variable("a", {"0", "1"}), b = cyclic.add_variable("b", {"0", "1"});
  cyclic.set_cpt(a, {b}, {0.5, 0.5, 0.5, 0.5});
  cyclic.set_cpt(b, {a}, {0.5, 0.5, 0.5, 0.5});
  EXPECT_THROW(JunctionTree{cyclic}, Error);
}

TEST(JunctionTree, EmptyNetwork) {
  const JunctionTree jt{Network()};
  const Posterior p = jt.query({});
  EXPECT_EQ(p.p_evidence, 1.0);
  EXPECT_TRUE(p.marginals.empty());
  EXPECT_EQ(jt.stats().cliques, 0u);
}

// The standard networks: JT against VE, for evidence sampled from the network
// (possible) and for uniformly random evidence (often impossible in networks
// with zeros). munin1 and link are left out: their trees hold 1.9e8 and 4e7
// entries and take seconds per query.
TEST(JunctionTree, MatchesVariableEliminationOnStandardNetworks) {
  std::vector<std::string> names = {"asia",       "cancer", "earthquake", "survey", "sachs",    "child",
                                    "insurance",  "alarm",  "hailfinder", "hepar2", "win95pts", "andes",
                                    "pathfinder", "pigs",   "water",      "barley"};
#ifndef NDEBUG
  names.resize(names.size() - 2);  // water and barley: 3.7M and 18M clique entries, seconds under sanitizers
#endif
  std::mt19937_64 rng(1);
  int tested = 0;
  for (const std::string& name : names) {
    const Network* file = inference_testing::standard_network(name);
    if (file == nullptr) continue;
    ++tested;
    SCOPED_TRACE(name);
    const auto start = std::chrono::steady_clock::now();
    const Network net = inference_testing::with_normalized_rows(*file);
    const JunctionTree jt(net);
    for (int q = 0; q < 3; ++q) {
      const Evidence e =
          q == 2 ? random_evidence(rng, net, 2) : inference_testing::sampled_evidence(rng, net, 2 + 3 * q);
      const Posterior p = jt.query(e);
      std::vector<VarId> some;
      for (int k = 0; k < 3; ++k) {
        const auto v = static_cast<VarId>(std::uniform_int_distribution<std::size_t>(0, net.size() - 1)(rng));
        if (std::find(some.begin(), some.end(), v) == some.end()) some.push_back(v);
      }
      const Posterior ve = variable_elimination(net, e, some);
      EXPECT_EQ(p.impossible(), ve.impossible());
      if (q < 2) {
        EXPECT_FALSE(p.impossible());
      }
      if (!ve.impossible()) {
        EXPECT_NEAR(p.log_p_evidence, ve.log_p_evidence, 1e-9);
      }
      for (VarId v : some) {
        EXPECT_TRUE(near(p.marginals[static_cast<std::size_t>(v)], ve.marginals[static_cast<std::size_t>(v)], 1e-9))
            << net.variable(v).name;
      }
    }
    std::printf("  %-11s %4zu variables, treewidth %2d, %9lld entries: %.0f ms\n", name.c_str(), net.size(),
                jt.stats().treewidth, static_cast<long long>(jt.stats().total_entries),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  if (tested == 0) GTEST_SKIP() << "the standard networks are absent (" << MISO_SHARED_DATA << "/bnlearn)";
}

// The hand-built asia (inference_test_support.hpp) is bnlearn's asia.bif.
TEST(JunctionTree, HandBuiltAsiaIsTheStandardOne) {
  const Network* net = inference_testing::standard_network("asia");
  if (net == nullptr) GTEST_SKIP() << "asia.bif is absent (" << MISO_SHARED_DATA << "/bnlearn)";
  const Network mine = asia();
  ASSERT_EQ(net->size(), mine.size());
  for (std::size_t v = 0; v < mine.size(); ++v) {
    const auto var = static_cast<VarId>(v);
    EXPECT_EQ(net->variable(var).name, mine.variable(var).name);
    EXPECT_EQ(net->parents(var), mine.parents(var));
    EXPECT_EQ(net->cpt(var).table, mine.cpt(var).table);
  }
}

}  // namespace
}  // namespace miso::qlogik
