// Influence diagrams: the oil wildcatter and umbrella examples against values
// computed by hand, solve() against brute-force enumeration of every
// deterministic policy on random diagrams, the JSON format's errors and round
// trips, and the model's own checks.
#include "miso/qlogik/decision.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../error_of.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"

namespace miso::qlogik {
namespace {

std::string data_path(const std::string& file) { return std::string(MISO_SOURCE_DIR) + "/data/qlogik/" + file; }

// The message of the Error `fn` throws (failing the test unless it throws one of `kind`).
template <typename F>
std::string error_of(F&& f, Error::Kind kind = Error::Kind::InvalidArgument) {
  return miso::testing::error_of(std::forward<F>(f), kind);
}

// prefix + i (written so, as GCC 12's -Wrestrict misfires on "literal" + std::to_string at -O3).
std::string numbered(const char* prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> names_of(const InfluenceDiagram& d, const std::vector<VarId>& ids) {
  std::vector<std::string> out;
  for (VarId v : ids) out.push_back(d.variable(v).name);
  return out;
}

// ---------------------------------------------------------------- brute force

// Every joint assignment of a small diagram, with what a policy needs to score it.
class BruteForce {
 public:
  explicit BruteForce(const InfluenceDiagram& d) : d_(d) {
    const std::size_t n = d.size();
    std::vector<int> x(n, 0);
    while (true) {
      Assignment a;
      a.x = x;
      a.weight = 1;
      for (VarId v : d.chance_variables()) a.weight *= cpt_entry(v, x);
      for (const UtilityNode& u : d.utilities()) {
        a.utility += u.table[static_cast<std::size_t>(config(u.parents, x))];
      }
      for (VarId dec : d.decisions()) a.configs.push_back(config(d.observed(dec), x));
      assignments_.push_back(std::move(a));
      std::size_t i = n;
      while (i-- > 0 && ++x[i] == d.cardinality(static_cast<VarId>(i))) x[i] = 0;
      if (i == static_cast<std::size_t>(-1)) break;
    }
  }

  // Configuration index of `vars` (the first slowest) in assignment x.
  std::int64_t config(const std::vector<VarId>& vars, const std::vector<int>& x) const {
    std::int64_t c = 0;
    for (VarId v : vars) c = c * d_.cardinality(v) + x[static_cast<std::size_t>(v)];
    return c;
  }

  double cpt_entry(VarId v, const std::vector<int>& x) const {
    const DiagramVariable& c = d_.variable(v);
    return c.table[static_cast<std::size_t>(config(c.parents, x) * d_.cardinality(v) + x[static_cast<std::size_t>(v)])];
  }

  // Expected utility of a policy given as one choice table per decision (time
  // order), each over observed(decision).
  double expected_utility(const std::vector<std::vector<int>>& choices) const {
    double eu = 0;
    for (const Assignment& a : assignments_) {
      bool follows = true;
      for (std::size_t k = 0; k < choices.size() && follows; ++k) {
        follows =
            a.x[static_cast<std::size_t>(d_.decisions()[k])] == choices[k][static_cast<std::size_t>(a.configs[k])];
      }
      if (follows) eu += a.weight * a.utility;
    }
    return eu;
  }

  // P(the chance variables among observed(decision k) take their values in
  // configuration c | the decisions in c): the decisions not in c are fixed to
  // option 0, which cannot matter since none is an ancestor of what k observes.
  double probability_of_config(std::size_t k, std::int64_t c) const {
    const VarId dec = d_.decisions()[k];
    const std::vector<VarId> obs = d_.observed(dec);
    double p = 0;
    for (const Assignment& a : assignments_) {
      if (a.configs[k] != c) continue;
      bool fixed = true;
      for (VarId other : d_.decisions()) {
        if (std::find(obs.begin(), obs.end(), other) == obs.end() && a.x[static_cast<std::size_t>(other)] != 0) {
          fixed = false;
        }
      }
      if (fixed) p += a.weight;
    }
    return p;
  }

  std::size_t size() const { return assignments_.size(); }

 private:
  struct Assignment {
    std::vector<int> x;
    double weight = 0;                  // product of the CPT entries
    double utility = 0;                 // sum of the utilities
    std::vector<std::int64_t> configs;  // per decision: the configuration of what it observes
  };
  const InfluenceDiagram& d_;
  std::vector<Assignment> assignments_;
};

// Table sizes of the rules of every decision (configurations of observed(dec)).
std::vector<std::int64_t> rule_sizes(const InfluenceDiagram& d) {
  std::vector<std::int64_t> sizes;
  for (VarId dec : d.decisions()) {
    std::int64_t m = 1;
    for (VarId v : d.observed(dec)) m *= d.cardinality(v);
    sizes.push_back(m);
  }
  return sizes;
}

double policy_count(const InfluenceDiagram& d) {
  double count = 1;
  const auto sizes = rule_sizes(d);
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    count *= std::pow(static_cast<double>(d.cardinality(d.decisions()[k])), static_cast<double>(sizes[k]));
  }
  return count;
}

// The best expected utility over every deterministic policy.
double best_by_enumeration(const InfluenceDiagram& d) {
  const BruteForce brute(d);
  const auto sizes = rule_sizes(d);
  std::vector<std::vector<int>> choices;
  for (std::int64_t m : sizes) choices.emplace_back(static_cast<std::size_t>(m), 0);
  double best = -std::numeric_limits<double>::infinity();
  while (true) {
    best = std::max(best, brute.expected_utility(choices));
    // Next policy: an odometer over every entry of every rule.
    std::size_t k = choices.size();
    bool carried = true;
    while (carried && k-- > 0) {
      const int options = static_cast<int>(d.cardinality(d.decisions()[k]));
      std::size_t i = choices[k].size();
      while (carried && i-- > 0) {
        carried = ++choices[k][i] == options;
        if (carried) choices[k][i] = 0;
      }
    }
    if (carried) break;
  }
  return best;
}

std::vector<std::vector<int>> choices_of(const Solution& s) {
  std::vector<std::vector<int>> out;
  for (const DecisionRule& r : s.policy) out.push_back(r.choice);
  return out;
}

// A random diagram that brute force can handle: nodes created in a random
// interleaving of chance variables and decisions, each depending only on
// earlier nodes (so the graph is acyclic and consistent with the order); CPTs
// with some zeros, so that some rule configurations cannot occur; utilities of
// both signs, some constant.
InfluenceDiagram random_diagram(std::mt19937& rng) {
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto chance_of = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  while (true) {
    InfluenceDiagram d("random");
    const int nc = uniform(2, 4), nd = uniform(1, 3);
    std::vector<bool> is_decision(static_cast<std::size_t>(nc), false);
    is_decision.resize(static_cast<std::size_t>(nc + nd), true);
    std::shuffle(is_decision.begin(), is_decision.end(), rng);
    int c = 0, k = 0;
    for (bool decision : is_decision) {
      const auto earlier = static_cast<VarId>(d.size());
      std::vector<VarId> parents;
      for (VarId v = 0; v < earlier; ++v) {
        if (parents.size() < 3 && chance_of(decision ? 0.5 : 0.4)) parents.push_back(v);
      }
      std::shuffle(parents.begin(), parents.end(), rng);
      const int card = uniform(2, 3);
      std::vector<std::string> states;
      for (int s = 0; s < card; ++s) states.push_back(numbered("s", s));
      if (decision) {
        d.add_decision(numbered("D", k++), states, parents);
        continue;
      }
      std::int64_t rows = 1;
      for (VarId p : parents) rows *= d.cardinality(p);
      std::vector<double> table;
      for (std::int64_t r = 0; r < rows; ++r) {
        std::vector<double> row(static_cast<std::size_t>(card));
        double sum = 0;
        for (double& p : row) {
          p = chance_of(0.25) ? 0.0 : std::uniform_real_distribution<double>(0.05, 1.0)(rng);
          sum += p;
        }
        if (sum == 0) {
          row[0] = 1;
          sum = 1;
        }
        for (double p : row) table.push_back(p / sum);
      }
      d.add_chance(numbered("C", c++), states, parents, table);
    }
    const int nu = uniform(1, 3);
    for (int u = 0; u < nu; ++u) {
      std::vector<VarId> parents;
      for (VarId v = 0; v < static_cast<VarId>(d.size()); ++v) {
        if (parents.size() < 3 && chance_of(0.35)) parents.push_back(v);
      }
      std::shuffle(parents.begin(), parents.end(), rng);
      std::int64_t rows = 1;
      for (VarId p : parents) rows *= d.cardinality(p);
      std::vector<double> table;
      for (std::int64_t r = 0; r < rows; ++r) table.push_back(std::uniform_real_distribution<double>(-100, 100)(rng));
      d.add_utility(numbered("U", u), parents, table);
    }
    if (policy_count(d) <= 2048) return d;
  }
}

// ---------------------------------------------------------------- oil wildcatter
//
// Raiffa (1968), also in Jensen & Nielsen (2007). By hand, with the joint
// P(Oil, TestResult | Test=yes) (rows dry, wet, soaking):
//   no_structure   .05 .09 .10 -> P .24, drilling gives -3.5 + 4.5 + 20 = 21.0   -> drill
//   open_structure .15 .12 .08 -> P .35, drilling gives -10.5 + 6 + 16 = 11.5   -> drill
//   closed_struct. .30 .09 .02 -> P .41, drilling gives -21 + 4.5 + 4 = -12.5   -> do not drill
// so testing is worth 21 + 11.5 + 0 - 10 = 22.5; not testing, drilling gives
// .5(-70) + .3(50) + .2(200) = 20 > 0. MEU = 22.5: test, then drill unless the
// structure is closed. Knowing Oil before drilling: .3(50) + .2(200) = 55, so
// the value of that information is 55 - 22.5 = 32.5.

class DecisionOil : public ::testing::Test {
 protected:
  void SetUp() override { d = load_influence_diagram(data_path("oil_wildcatter.json")); }
  InfluenceDiagram d;
};

TEST_F(DecisionOil, FileDescribesTheDiagram) {
  EXPECT_EQ(d.name(), "oil_wildcatter");
  EXPECT_EQ(names_of(d, d.chance_variables()), (std::vector<std::string>{"Oil", "TestResult"}));
  EXPECT_EQ(names_of(d, d.decisions()), (std::vector<std::string>{"Test", "Drill"}));
  ASSERT_EQ(d.utilities().size(), 2u);
  EXPECT_EQ(d.utilities()[1].table, (std::vector<double>{-10, 0}));
  EXPECT_EQ(names_of(d, d.variable(d.id("TestResult")).parents), (std::vector<std::string>{"Oil", "Test"}));
  EXPECT_EQ(names_of(d, d.observed(d.id("Drill"))), (std::vector<std::string>{"Test", "TestResult"}));
  EXPECT_TRUE(d.observed(d.id("Test")).empty());
}

TEST_F(DecisionOil, MaximumExpectedUtilityAndPolicyMatchTheHandComputation) {
  const Solution s = solve(d);
  EXPECT_NEAR(s.expected_utility, 22.5, 1e-12);
  ASSERT_EQ(s.policy.size(), 2u);
  EXPECT_EQ(s.policy[0].decision, "Test");
  EXPECT_TRUE(s.policy[0].observed.empty());
  EXPECT_EQ(s.policy[0].choice, (std::vector<int>{0}));  // test
  EXPECT_EQ(s.policy[1].decision, "Drill");
  EXPECT_EQ(s.policy[1].observed, (std::vector<std::string>{"Test", "TestResult"}));
  // Test=yes: drill on no/open structure, not on closed; "none" cannot occur
  // after a test (first option). Test=no: only "none" occurs, and drilling (20) beats 0.
  EXPECT_EQ(s.policy[1].choice, (std::vector<int>{0, 0, 1, 0, 0, 0, 0, 0}));
  EXPECT_NEAR(expected_utility(d, s.policy), 22.5, 1e-12);
}

TEST_F(DecisionOil, ImpossibleConfigurationsTakeTheFirstOption) {
  // The same problem with drilling's cost (20) as a utility of its own: where
  // TestResult cannot occur, "no" would save the cost, but the rule is defined
  // as the first option there; the MEU is unchanged.
  InfluenceDiagram split = d;
  split.set_utility(0, {split.id("Drill"), split.id("Oil")}, {-50, 70, 220, 0, 0, 0});
  split.add_utility("DrillCost", {split.id("Drill")}, {-20, 0});
  const Solution s = solve(split);
  EXPECT_NEAR(s.expected_utility, 22.5, 1e-12);
  EXPECT_EQ(s.policy[1].choice, (std::vector<int>{0, 0, 1, 0, 0, 0, 0, 0}));
}

TEST_F(DecisionOil, ExpectedUtilityOfGivenPolicies) {
  const std::string test = "Test", drill = "Drill";
  // No test, always drill: 20. Test, always drill: 20 - 10. Never drill: 0 or -10.
  EXPECT_NEAR(expected_utility(d, {{test, {}, {1}}, {drill, {"Test", "TestResult"}, std::vector<int>(8, 0)}}), 20,
              1e-12);
  EXPECT_NEAR(expected_utility(d, {{drill, {}, {0}}, {test, {}, {0}}}), 10, 1e-12);  // rules in any order
  EXPECT_NEAR(expected_utility(d, {{test, {}, {1}}, {drill, {}, {1}}}), 0, 1e-12);
  EXPECT_NEAR(expected_utility(d, {{test, {}, {0}}, {drill, {}, {1}}}), -10, 1e-12);
  // The optimal rule on a subset of what Drill may observe, in another order.
  EXPECT_NEAR(expected_utility(d, {{test, {}, {0}}, {drill, {"TestResult"}, {0, 0, 1, 0}}}), 22.5, 1e-12);
  // Drilling on a closed structure only: -12.5 - 10.
  EXPECT_NEAR(expected_utility(d, {{test, {}, {0}}, {drill, {"TestResult"}, {1, 1, 0, 1}}}), -22.5, 1e-12);
}

TEST_F(DecisionOil, BadPoliciesAreRejected) {
  const std::vector<int> all8(8, 0);
  EXPECT_TRUE(contains(error_of([&] { expected_utility(d, {{"Test", {}, {0}}}); }), "no rule for decision 'Drill'"));
  EXPECT_TRUE(contains(error_of([&] {
                         expected_utility(d, {{"Test", {}, {0}}, {"Test", {}, {0}}});
                       }),
                       "two rules for decision 'Test'"));
  EXPECT_TRUE(contains(error_of([&] { expected_utility(d, {{"Oil", {}, {0}}}); }), "'Oil' is not a decision"));
  EXPECT_TRUE(contains(error_of([&] {
                         expected_utility(d, {{"Test", {}, {0}}, {"Drill", {"Oil"}, {0, 0, 0}}});
                       }),
                       "'Oil' is not known when 'Drill' is taken"));
  EXPECT_TRUE(contains(error_of([&] {
                         expected_utility(d, {{"Test", {"Drill"}, {0, 0}}, {"Drill", {}, {0}}});
                       }),
                       "'Drill' is not known when 'Test' is taken"));
  EXPECT_TRUE(contains(error_of([&] {
                         expected_utility(d, {{"Test", {}, {0}}, {"Drill", {"TestResult"}, {0}}});
                       }),
                       "1 choices, expected 4"));
  EXPECT_TRUE(contains(error_of([&] {
                         expected_utility(d, {{"Test", {}, {2}}, {"Drill", {}, {0}}});
                       }),
                       "choice 0 is 2, not an option index (0..1)"));
  EXPECT_TRUE(contains(error_of([&] {
                         expected_utility(d, {{"Test", {}, {0}}, {"Drill", {"Nope"}, {0}}});
                       }),
                       "no chance or decision variable named 'Nope'"));
}

TEST_F(DecisionOil, ValueOfPerfectInformation) {
  EXPECT_NEAR(value_of_perfect_information(d, "Oil", "Drill"), 32.5, 1e-12);
  // Known at the first decision, Oil is known at the second too: again 55.
  EXPECT_NEAR(value_of_perfect_information(d, "Oil", "Test"), 32.5, 1e-12);
  EXPECT_EQ(value_of_perfect_information(d, "TestResult", "Drill"), 0.0);
  // TestResult depends on Test, so Test cannot see it.
  EXPECT_TRUE(contains(error_of([&] { value_of_perfect_information(d, "TestResult", "Test"); }),
                       "'TestResult' cannot be observed before 'Test'"));
  EXPECT_TRUE(contains(error_of([&] { value_of_perfect_information(d, "Test", "Drill"); }), "is a decision"));
  EXPECT_TRUE(contains(error_of([&] { value_of_perfect_information(d, "Oil", "TestResult"); }), "is not a decision"));
  EXPECT_TRUE(contains(error_of([&] { value_of_perfect_information(d, "Gold", "Drill"); }), "'Gold'"));
}

// ---------------------------------------------------------------- umbrella
//
// P(Weather) = (.7 sunny, .3 rainy); P(Forecast | Weather) sunny: (.7, .2, .1),
// rainy: (.15, .25, .6) over (sunny, cloudy, rainy); utility (take, leave):
// sunny (20, 100), rainy (70, 0). Joint P(Weather, Forecast):
//   forecast sunny  .49 .045: take 9.8 + 3.15 = 12.95, leave 49  -> leave
//   forecast cloudy .14 .075: take 2.8 + 5.25 = 8.05,  leave 14  -> leave
//   forecast rainy  .07 .18 : take 1.4 + 12.6 = 14,    leave 7   -> take
// MEU = 49 + 14 + 14 = 77. Knowing the weather: .7(100) + .3(70) = 91, VPI 14.
TEST(DecisionUmbrella, MatchesTheHandComputation) {
  const InfluenceDiagram d = load_influence_diagram(data_path("umbrella.json"));
  const Solution s = solve(d);
  EXPECT_NEAR(s.expected_utility, 77, 1e-12);
  ASSERT_EQ(s.policy.size(), 1u);
  EXPECT_EQ(s.policy[0].observed, (std::vector<std::string>{"Forecast"}));
  EXPECT_EQ(s.policy[0].choice, (std::vector<int>{1, 1, 0}));
  EXPECT_NEAR(value_of_perfect_information(d, "Weather", "Umbrella"), 14, 1e-12);
  EXPECT_EQ(value_of_perfect_information(d, "Forecast", "Umbrella"), 0.0);
  // Always taking the umbrella: .7(20) + .3(70) = 35.
  EXPECT_NEAR(expected_utility(d, {{"Umbrella", {}, {0}}}), 35, 1e-12);
  EXPECT_LT(expected_utility(d, {{"Umbrella", {"Forecast"}, {0, 0, 1}}}), s.expected_utility);
}

// ---------------------------------------------------------------- random diagrams

TEST(DecisionRandom, SolveMatchesTheBestOfEveryPolicy) {
  std::mt19937 rng(20240607);
  int impossible_configs = 0, two_decisions = 0;
  for (int trial = 0; trial < 100; ++trial) {
    const InfluenceDiagram d = random_diagram(rng);
    SCOPED_TRACE("trial " + std::to_string(trial) + "\n" + write_influence_diagram(d));
    two_decisions += d.decisions().size() >= 2;
    const Solution s = solve(d);
    const BruteForce brute(d);
    EXPECT_NEAR(s.expected_utility, best_by_enumeration(d), 1e-9);
    EXPECT_NEAR(brute.expected_utility(choices_of(s)), s.expected_utility, 1e-9);
    EXPECT_NEAR(expected_utility(d, s.policy), s.expected_utility, 1e-9);
    ASSERT_EQ(s.policy.size(), d.decisions().size());
    for (std::size_t k = 0; k < s.policy.size(); ++k) {
      const VarId dec = d.decisions()[k];
      EXPECT_EQ(s.policy[k].decision, d.variable(dec).name);
      EXPECT_EQ(s.policy[k].observed, names_of(d, d.observed(dec)));
      for (std::size_t c = 0; c < s.policy[k].choice.size(); ++c) {
        if (brute.probability_of_config(k, static_cast<std::int64_t>(c)) == 0) {
          ++impossible_configs;
          EXPECT_EQ(s.policy[k].choice[c], 0) << "decision " << k << ", configuration " << c;
        }
      }
    }
    // A random policy: expected_utility against brute force, and below the MEU.
    std::vector<DecisionRule> random_policy = s.policy;
    for (DecisionRule& r : random_policy) {
      const auto options = static_cast<int>(d.cardinality(d.id(r.decision)));
      for (int& choice : r.choice) choice = std::uniform_int_distribution<int>(0, options - 1)(rng);
    }
    const double eu = expected_utility(d, random_policy);
    EXPECT_NEAR(eu, brute.expected_utility(choices_of(Solution{0, random_policy})), 1e-9);
    EXPECT_LE(eu, s.expected_utility + 1e-9);
  }
  // The properties were exercised, not vacuous.
  EXPECT_GT(impossible_configs, 0);
  EXPECT_GT(two_decisions, 20);
}

TEST(DecisionRandom, ValueOfPerfectInformationMatchesEnumeration) {
  std::mt19937 rng(77);
  int checked = 0, observed = 0, refused = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const InfluenceDiagram d = random_diagram(rng);
    const double meu = best_by_enumeration(d);
    for (VarId x : d.chance_variables()) {
      for (VarId dec : d.decisions()) {
        const std::string& xn = d.variable(x).name;
        const std::string& dn = d.variable(dec).name;
        SCOPED_TRACE(xn + " before " + dn + "\n" + write_influence_diagram(d));
        const auto known = d.observed(dec);
        if (std::find(known.begin(), known.end(), x) != known.end()) {
          EXPECT_EQ(value_of_perfect_information(d, xn, dn), 0.0);
          ++observed;
          continue;
        }
        InfluenceDiagram informed = d;
        std::vector<VarId> observes = d.variable(dec).parents;
        observes.push_back(x);
        informed.set_observes(dec, observes);
        if (informed.graph_problem()) {
          EXPECT_TRUE(contains(error_of([&] { value_of_perfect_information(d, xn, dn); }), "cannot be observed"));
          ++refused;
          continue;
        }
        const double vpi = value_of_perfect_information(d, xn, dn);
        EXPECT_GE(vpi, -1e-9);
        if (policy_count(informed) <= 4096) {
          EXPECT_NEAR(vpi, best_by_enumeration(informed) - meu, 1e-9);
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 20);
  EXPECT_GT(observed, 0);
  EXPECT_GT(refused, 0);
}

TEST(DecisionRandom, WriteThenReadGivesTheSameDiagram) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    const InfluenceDiagram d = random_diagram(rng);
    const std::string text = write_influence_diagram(d);
    const InfluenceDiagram back = read_influence_diagram(text, "round-trip");
    EXPECT_EQ(write_influence_diagram(back), text);
    ASSERT_EQ(back.size(), d.size());
    // Same ids only when chance variables came first; compare by name.
    for (VarId v = 0; v < static_cast<VarId>(d.size()); ++v) {
      const DiagramVariable& a = d.variable(v);
      const DiagramVariable& b = back.variable(back.id(a.name));
      EXPECT_EQ(a.kind, b.kind);
      EXPECT_EQ(a.states, b.states);
      EXPECT_EQ(names_of(d, a.parents), names_of(back, b.parents));
      EXPECT_EQ(a.table, b.table);  // exact: doubles are written to round-trip
    }
    ASSERT_EQ(back.utilities().size(), d.utilities().size());
    for (std::size_t u = 0; u < d.utilities().size(); ++u) {
      EXPECT_EQ(names_of(d, d.utilities()[u].parents), names_of(back, back.utilities()[u].parents));
      EXPECT_EQ(d.utilities()[u].table, back.utilities()[u].table);
    }
    EXPECT_EQ(solve(back).expected_utility, solve(d).expected_utility);
  }
}

// ---------------------------------------------------------------- the file format

TEST(DecisionFormat, OilRoundTrip) {
  const InfluenceDiagram d = load_influence_diagram(data_path("oil_wildcatter.json"));
  const std::string text = write_influence_diagram(d);
  EXPECT_TRUE(contains(text, R"({"name":"Oil","states":["dry","wet","soaking"],"parents":[],"table":[0.5,0.3,0.2]})"))
      << text;
  const InfluenceDiagram back = read_influence_diagram(text);
  EXPECT_EQ(write_influence_diagram(back), text);
  EXPECT_EQ(solve(back).expected_utility, solve(d).expected_utility);
  // Names that need escaping survive too.
  InfluenceDiagram odd("quote\" and \\ and é");
  const VarId a = odd.add_chance("A \"x\"", {"s,1", "s\n2"});
  odd.add_decision("D/1", {"yes"}, {a});
  odd.add_utility("U", {a}, {1e-300, -1.5e300});
  const std::string odd_text = write_influence_diagram(odd);
  EXPECT_EQ(write_influence_diagram(read_influence_diagram(odd_text)), odd_text);
  EXPECT_EQ(read_influence_diagram(odd_text).name(), odd.name());
}

TEST(DecisionFormat, OptionalKeysMayBeLeftOut) {
  const InfluenceDiagram d = read_influence_diagram(R"({"influence_diagram": {
      "decisions": [{"name": "Go", "options": ["a", "b"]}],
      "utilities": [{"name": "U", "parents": ["Go"], "table": [1, 3]}]}})");
  EXPECT_EQ(d.name(), "influence_diagram");
  EXPECT_TRUE(d.chance_variables().empty());
  const Solution s = solve(d);
  EXPECT_EQ(s.expected_utility, 3);
  EXPECT_EQ(s.policy[0].choice, (std::vector<int>{1}));
}

// Each case edits a valid document (the oil wildcatter) and names the source,
// the JSON path and what is wrong.
TEST(DecisionFormat, MalformedFilesNameThePathAndTheProblem) {
  const std::string path = data_path("oil_wildcatter.json");
  const nlohmann::json oil = nlohmann::json::parse(core::read_file(path));
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> edit;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"unknown parent",
       [](auto& j) { j["influence_diagram"]["chance"][1]["parents"][0] = "Oli"; },
       {"influence_diagram.chance[1].parents[0]: 'Oli' is not a chance or decision variable"}},
      {"table length",
       [](auto& j) { j["influence_diagram"]["chance"][1]["table"].erase(0); },
       {"influence_diagram.chance[1].table: ", "has 23 entries, expected 24 (6 parent configurations x 4 states)"}},
      {"row sum",
       [](auto& j) { j["influence_diagram"]["chance"][0]["table"][2] = 0.3; },
       {"influence_diagram.chance[0].table: ", "row 0 (no parents): probabilities sum to 1.1"}},
      {"negative",
       [](auto& j) { j["influence_diagram"]["chance"][1]["table"][4] = -0.5; },
       {"influence_diagram.chance[1].table: ", "row 1 (Oil=dry, Test=no)", "-0.5", "'no_structure'"}},
      {"duplicate name",
       [](auto& j) { j["influence_diagram"]["decisions"][1]["name"] = "Oil"; },
       {"influence_diagram.decisions[1]: ", "the name 'Oil' is used twice"}},
      {"utility named like a variable",
       [](auto& j) { j["influence_diagram"]["utilities"][0]["name"] = "Test"; },
       {"influence_diagram.utilities[0]: ", "'Test' is used twice"}},
      {"decision order",
       [](auto& j) { std::swap(j["influence_diagram"]["decisions"][0], j["influence_diagram"]["decisions"][1]); },
       {"influence_diagram.decisions[0]: decision 'Drill' comes before 'Test'", "(Test -> TestResult -> Drill)"}},
      {"cycle",
       [](auto& j) {
         j["influence_diagram"]["chance"][0]["parents"] = {"TestResult"};
         j["influence_diagram"]["chance"][0]["table"] = std::vector<double>(12, 1.0 / 3);
       },
       {"influence_diagram.chance[", "the graph has a cycle: ", "Oil -> TestResult", "TestResult -> Oil"}},
      {"decision observes itself",
       [](auto& j) { j["influence_diagram"]["decisions"][1]["observes"][0] = "Drill"; },
       {"influence_diagram.decisions[1].observes[0]: 'Drill' refers to itself"}},
      {"parent listed twice",
       [](auto& j) {
         j["influence_diagram"]["utilities"][0]["parents"] = {"Drill", "Drill"};
       },
       {"influence_diagram.utilities[0].parents[1]: 'Drill' is listed twice"}},
      {"utility as a parent",
       [](auto& j) { j["influence_diagram"]["utilities"][0]["parents"][1] = "TestCost"; },
       {"influence_diagram.utilities[0].parents[1]: 'TestCost' is a utility node"}},
      {"utility table",
       [](auto& j) {
         j["influence_diagram"]["utilities"][1]["table"] = {1, 2, 3};
       },
       {"influence_diagram.utilities[1].table: ", "has 3 entries, expected 2"}},
      {"unknown key",
       [](auto& j) { j["influence_diagram"]["chance"][0]["parent"] = nlohmann::json::array(); },
       {"influence_diagram.chance[0]: unknown key 'parent' (expected name, states, parents, table)"}},
      {"missing table",
       [](auto& j) { j["influence_diagram"]["chance"][0].erase("table"); },
       {"influence_diagram.chance[0]: missing key 'table'"}},
      {"not a number",
       [](auto& j) { j["influence_diagram"]["chance"][0]["table"][1] = "0.3"; },
       {"influence_diagram.chance[0].table[1]: expected a number, found string"}},
      {"states not strings",
       [](auto& j) { j["influence_diagram"]["chance"][0]["states"] = "dry"; },
       {"influence_diagram.chance[0].states: expected an array of strings, found string"}},
      {"no options",
       [](auto& j) { j["influence_diagram"]["decisions"][0]["options"] = nlohmann::json::array(); },
       {"influence_diagram.decisions[0]: ", "needs at least one option"}},
      {"repeated state",
       [](auto& j) { j["influence_diagram"]["chance"][0]["states"][2] = "dry"; },
       {"influence_diagram.chance[0]: ", "'dry' is listed twice"}},
      {"section not an array",
       [](auto& j) { j["influence_diagram"]["decisions"] = nlohmann::json::object(); },
       {"influence_diagram.decisions: expected an array, found object"}},
      {"wrong top level",
       [](auto& j) {
         j = nlohmann::json{{"diagram", j["influence_diagram"]}};
       },
       {"(top level): unknown key 'diagram'"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    nlohmann::json j = oil;
    c.edit(j);
    const std::string message = error_of([&] { read_influence_diagram(j.dump(), "bad.json"); }, Error::Kind::Format);
    EXPECT_TRUE(contains(message, "bad.json: ")) << message;
    for (const std::string& part : c.expected) EXPECT_TRUE(contains(message, part)) << message;
  }
  // Syntax errors point at the line and column.
  const std::string syntax =
      error_of([] { read_influence_diagram("{\n  \"influence_diagram\": {\n    \"name\": oil\n", "bad.json"); },
               Error::Kind::Format);
  EXPECT_TRUE(contains(syntax, "bad.json:3:13: invalid JSON")) << syntax;
  const std::string overflow = error_of(
      [] {
        read_influence_diagram(R"({"influence_diagram": {"utilities": [{"name": "U", "table": [1e400]}]}})",
                               "big.json");
      },
      Error::Kind::Format);
  EXPECT_TRUE(contains(overflow, "big.json: invalid JSON: ")) << overflow;
  EXPECT_TRUE(contains(overflow, "1e400")) << overflow;
  const std::string io = error_of([] { load_influence_diagram("/nonexistent/diagram.json"); }, Error::Kind::Io);
  EXPECT_TRUE(contains(io, "/nonexistent/diagram.json")) << io;
}

// ---------------------------------------------------------------- the model

TEST(DecisionModel, BuildsAndChecksNodes) {
  InfluenceDiagram d("m");
  const VarId a = d.add_chance("A", {"a0", "a1", "a2"});
  EXPECT_EQ(d.variable(a).table, (std::vector<double>{1.0 / 3, 1.0 / 3, 1.0 / 3}));  // uniform by default
  const VarId d0 = d.add_decision("D0", {"x", "y"}, {a});
  const VarId b = d.add_chance("B", {"b0", "b1"}, {d0}, {0.25, 0.75, 1, 0});
  const VarId d1 = d.add_decision("D1", {"x", "y"}, {b});
  const VarId c = d.add_chance("C", {"c0", "c1"}, {a, d1}, {});
  const VarId d2 = d.add_decision("D2", {"p", "q"}, {c, a});
  const std::size_t u = d.add_utility("U", {d2});
  EXPECT_EQ(d.utilities()[u].table, (std::vector<double>{0, 0}));
  EXPECT_EQ(d.size(), 6u);
  EXPECT_EQ(d.find("D1"), d1);
  EXPECT_EQ(d.find("U"), -1);
  EXPECT_TRUE(d.is_decision(d1));
  EXPECT_FALSE(d.is_decision(b));
  EXPECT_EQ(d.cardinality(a), 3);
  EXPECT_EQ(d.decision_index(d2), 2u);
  EXPECT_EQ(d.chance_variables(), (std::vector<VarId>{a, b, c}));
  EXPECT_EQ(d.decisions(), (std::vector<VarId>{d0, d1, d2}));
  // No-forgetting, in time order: what each decision adds, then the decision.
  EXPECT_EQ(d.observed(d2), (std::vector<VarId>{a, d0, b, d1, c}));
  EXPECT_EQ(d.observed(d1), (std::vector<VarId>{a, d0, b}));
  EXPECT_FALSE(d.graph_problem().has_value());

  auto rejects = [&](auto fn, const std::string& part) {
    const std::size_t size = d.size(), utilities = d.utilities().size();
    const std::string message = error_of(fn);
    EXPECT_TRUE(contains(message, part)) << message;
    EXPECT_EQ(d.size(), size);  // a failed add leaves the diagram as it was
    EXPECT_EQ(d.utilities().size(), utilities);
  };
  rejects([&] { d.add_chance("A", {"t"}); }, "the name 'A' is used twice");
  rejects([&] { d.add_utility("D0"); }, "the name 'D0' is used twice");
  rejects([&] { d.add_chance("", {"t"}); }, "needs a name");
  rejects([&] { d.add_chance("E", {}); }, "needs at least one state");
  rejects([&] { d.add_chance("E", {"t", "f"}, {a}, {0.5, 0.5}); }, "has 2 entries, expected 6");
  rejects([&] { d.add_chance("E", {"t", "f"}, {a, a}); }, "'A' is listed twice");
  rejects([&] { d.add_chance("E", {"t", "f"}, {99}); }, "no variable with id 99");
  rejects([&] { d.add_chance("E", {"t", "f"}, {}, {0.5, std::nan("")}); }, "not a finite non-negative number");
  rejects([&] { d.add_decision("E", {"t", "f"}, {a, b, a}); }, "'A' is listed twice");
  rejects([&] { d.add_utility("V", {a}, {1, 2}); }, "has 2 entries, expected 3");
  rejects([&] { d.add_utility("V", {}, {INFINITY}); }, "is not finite");
  rejects([&] { d.set_cpt(b, {b}, {}); }, "cannot depend on itself");
  rejects([&] { d.set_cpt(d0, {}, {}); }, "'D0' is not a chance variable");
  rejects([&] { d.set_observes(a, {}); }, "'A' is not a decision");
  rejects([&] { d.set_utility(7, {}, {}); }, "no utility node 7");
  rejects([&] { d.decision_index(a); }, "'A' is not a decision");
  rejects([&] { d.id("Nope"); }, "no chance or decision variable named 'Nope'");
  // A failed set leaves the node as it was.
  EXPECT_EQ(d.variable(b).table, (std::vector<double>{0.25, 0.75, 1, 0}));
  EXPECT_EQ(d.find("E"), -1);
  EXPECT_EQ(d.find("V"), -1);
}

TEST(DecisionModel, GraphProblemsAreFoundAndRefusedBySolve) {
  InfluenceDiagram d("g");
  const VarId first = d.add_decision("First", {"x", "y"});
  const VarId r = d.add_chance("R", {"t", "f"});
  const VarId second = d.add_decision("Second", {"x", "y"});
  d.add_utility("U", {first, r}, {1, 2, 3, 4});
  EXPECT_FALSE(d.graph_problem().has_value());
  d.set_cpt(r, {second}, {0.5, 0.5, 0.1, 0.9});
  d.set_observes(first, {r});  // First would see the result of the later decision
  const auto problem = d.graph_problem();
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->node, first);
  EXPECT_TRUE(contains(problem->message, "(Second -> R -> First)")) << problem->message;
  EXPECT_TRUE(contains(error_of([&] { solve(d); }), "decision 'First' comes before 'Second'"));
  EXPECT_TRUE(contains(error_of([&] { expected_utility(d, {}); }), "comes before"));
  d.set_observes(first, {});
  d.set_observes(second, {r});  // R -> Second -> R
  const std::string message = error_of([&] { d.validate(); });
  EXPECT_TRUE(contains(message, "influence diagram 'g': the graph has a cycle: ")) << message;
  EXPECT_TRUE(contains(message, "R -> Second -> R") || contains(message, "Second -> R -> Second")) << message;
}

TEST(DecisionModel, DiagramWithoutDecisionsIsAnExpectation) {
  // No decisions: the MEU is the expected utility, computed by hand here.
  InfluenceDiagram d("plain");
  const VarId a = d.add_chance("A", {"0", "1"}, {}, {0.2, 0.8});
  const VarId b = d.add_chance("B", {"0", "1", "2"}, {a}, {0.1, 0.2, 0.7, 0.5, 0.25, 0.25});
  d.add_utility("U", {b, a}, {1, -2, 3, 4, -5, 6});
  d.add_utility("K", {}, {10});
  const double expected = 0.2 * (0.1 * 1 + 0.2 * 3 + 0.7 * -5) + 0.8 * (0.5 * -2 + 0.25 * 4 + 0.25 * 6) + 10;
  const Solution s = solve(d);
  EXPECT_NEAR(s.expected_utility, expected, 1e-12);
  EXPECT_TRUE(s.policy.empty());
  EXPECT_NEAR(expected_utility(d, {}), expected, 1e-12);
}

}  // namespace
}  // namespace miso::qlogik
