// Acting on beliefs: per-branch decisions on the umbrella diagram checked
// against the filter's last row and the hand-computed best action; two hidden
// variables (DBN-style state names) against a brute-force sum over the joint;
// errors for missing variables, mismatched states and impossible branches;
// and fork proposals ranked by posterior, checked against branch_posteriors
// on a manually applied copy of the world.
#include "miso/bridge/decide.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../error_of.hpp"
#include "bridge_test_support.hpp"
#include "miso/bridge/hmm.hpp"
#include "miso/core/error.hpp"

namespace miso::bridge {
namespace {

using testing::contains;
using testing::data_path;

using echo::Attribute;
using echo::BranchId;
using echo::NodeId;
using echo::Value;
using echo::World;

std::string error_of(const std::function<void()>& f) {
  return miso::testing::error_of(f, Error::Kind::InvalidArgument);
}

// The umbrella world with the diagram's Rain states as its states.
Hmm umbrella() { return testing::umbrella({"yes", "no"}, {"umbrella", "none"}); }

Mapping carries_mapping() {
  Mapping m;
  m.maps.push_back({"carries", "Umbrella", {}});  // identity: the values are the symbols
  return m;
}

Compile compile_with(const Hmm& hmm) {
  return [&hmm](const std::vector<std::vector<std::string>>& steps) {
    std::vector<std::string> symbols;
    for (const auto& step : steps) symbols.push_back(step.at(0));
    return std::make_pair(hmm.likelihoods(), hmm.observations(symbols));
  };
}

NodeId add_day(World& w, BranchId b, echo::Tick t, const std::string& carries, const std::string& name = {},
               const std::vector<echo::FluentEffect>& effects = {}) {
  std::vector<Attribute> attrs;
  if (!carries.empty()) attrs.push_back({w.intern("carries"), Value::text_of(w.intern(carries))});
  echo::NodeSpec spec;
  spec.time = t;
  spec.type = w.intern("day");
  spec.attributes = attrs;
  spec.effects = effects;
  return w.append(b, spec, name);
}

// The last row of filter() over the symbols (the initial distribution for none).
std::vector<double> filtered_last(const Hmm& hmm, const std::vector<std::string>& symbols) {
  if (symbols.empty()) return hmm.initial;
  const Chain chain = hmm.chain();
  const FilterResult f = filter(chain, hmm.likelihoods(), hmm.observations(symbols));
  return {f.filtered.end() - static_cast<std::ptrdiff_t>(chain.size()), f.filtered.end()};
}

// The umbrella utilities: take 70 / 20, leave 0 / 100 (rain / dry).
struct Best {
  double utility;
  int option;  // 0 take, 1 leave
};
Best best_action(double p_rain) {
  const double take = 70 * p_rain + 20 * (1 - p_rain);
  const double leave = 100 * (1 - p_rain);
  return take >= leave ? Best{take, 0} : Best{leave, 1};
}

// main: umbrella, umbrella; "dry": forks after day 1, then none, none; "quiet"
// forks before anything is observed.
struct TwoBranches {
  World w;
  BranchId dry = 0, quiet = 0;
  TwoBranches() {
    const NodeId start = add_day(w, 0, 0, "", "start");
    const NodeId d1 = add_day(w, 0, 1, "umbrella", "d1");
    add_day(w, 0, 2, "umbrella", "d2");
    dry = w.fork(0, d1, "dry");
    add_day(w, dry, 2, "none");
    add_day(w, dry, 3, "none");
    quiet = w.fork(0, start, "quiet");
  }
};

// ------------------------------------------------------------ branch_decisions

TEST(BridgeDecide, UmbrellaBeliefAndBestActionPerBranch) {
  const Hmm hmm = umbrella();
  const Chain chain = hmm.chain();
  const qlogik::InfluenceDiagram diagram = qlogik::load_influence_diagram(data_path("umbrella_decision.json"));
  TwoBranches t;
  const std::vector<BranchDecision> out = branch_decisions(
      t.w, {0, t.dry, t.quiet}, chain, hmm_hidden_states(chain, "Rain"), carries_mapping(), compile_with(hmm), diagram);
  ASSERT_EQ(out.size(), 3u);
  const std::vector<std::vector<std::string>> symbols = {{"umbrella", "umbrella"}, {"umbrella", "none", "none"}, {}};
  const std::vector<int> expected_option = {0, 1, 1};  // rain likely: take; dry likely or 50/50 (50 > 45): leave
  for (std::size_t i = 0; i < out.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out[i].branch, (std::vector<BranchId>{0, t.dry, t.quiet})[i]);
    const std::vector<double> belief = filtered_last(hmm, symbols[i]);
    ASSERT_EQ(out[i].belief.size(), 2u);
    EXPECT_NEAR(out[i].belief[0], belief[0], 1e-12);
    EXPECT_NEAR(out[i].belief[1], belief[1], 1e-12);
    const Best best = best_action(belief[0]);
    EXPECT_NEAR(out[i].expected_utility, best.utility, 1e-9);
    ASSERT_EQ(out[i].policy.size(), 1u);
    EXPECT_EQ(out[i].policy[0].decision, "TakeUmbrella");
    EXPECT_TRUE(out[i].policy[0].observed.empty());
    ASSERT_EQ(out[i].policy[0].choice.size(), 1u);
    EXPECT_EQ(out[i].policy[0].choice[0], best.option);
    EXPECT_EQ(out[i].policy[0].choice[0], expected_option[i]);
  }
  // Known values: P(rain | umbrella, umbrella) = 0.883 (AIMA).
  EXPECT_NEAR(out[0].belief[0], 0.8834, 1e-4);
}

TEST(BridgeDecide, DiagramStateOrderNeedNotMatchTheChain) {
  // Rain listed as {no, yes}: the belief must land on the states by name.
  qlogik::InfluenceDiagram d;
  const qlogik::VarId rain = d.add_chance("Rain", {"no", "yes"});
  const qlogik::VarId act = d.add_decision("TakeUmbrella", {"take", "leave"});
  d.add_utility("Comfort", {rain, act}, {20, 100, 70, 0});
  const Hmm hmm = umbrella();
  const Chain chain = hmm.chain();
  TwoBranches t;
  const auto out = branch_decisions(t.w, {0, t.dry}, chain, hmm_hidden_states(chain, "Rain"), carries_mapping(),
                                    compile_with(hmm), d);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0].expected_utility, best_action(out[0].belief[0]).utility, 1e-9);
  EXPECT_NEAR(out[1].expected_utility, best_action(out[1].belief[0]).utility, 1e-9);
  EXPECT_EQ(out[0].policy[0].choice[0], 0);
  EXPECT_EQ(out[1].policy[0].choice[0], 1);
}

TEST(BridgeDecide, ReplacesParentsOfTheHiddenVariable) {
  // Rain had a parent (Season) in the diagram; the belief replaces that CPT.
  qlogik::InfluenceDiagram d;
  const qlogik::VarId season = d.add_chance("Season", {"wet", "dry"}, {}, {0.9, 0.1});
  const qlogik::VarId rain = d.add_chance("Rain", {"yes", "no"}, {season}, {0.99, 0.01, 0.01, 0.99});
  const qlogik::VarId act = d.add_decision("TakeUmbrella", {"take", "leave"});
  d.add_utility("Comfort", {rain, act}, {70, 0, 20, 100});
  const Hmm hmm = umbrella();
  const Chain chain = hmm.chain();
  TwoBranches t;
  const auto out =
      branch_decisions(t.w, {t.dry}, chain, hmm_hidden_states(chain, "Rain"), carries_mapping(), compile_with(hmm), d);
  ASSERT_EQ(out.size(), 1u);
  const std::vector<double> belief = filtered_last(hmm, {"umbrella", "none", "none"});
  EXPECT_NEAR(out[0].expected_utility, best_action(belief[0]).utility, 1e-9);
  EXPECT_EQ(out[0].policy[0].choice[0], 1);
  // The caller's diagram is untouched.
  EXPECT_EQ(d.variable(rain).parents, std::vector<qlogik::VarId>{season});
}

TEST(BridgeDecide, TwoHiddenVariablesMatchBruteForce) {
  // A 4-state chain named as a DBN's joint states; the diagram declares B
  // before A, with A's states reversed, and a utility over A, B and the decision.
  Hmm hmm;
  hmm.states = {"A=x,B=u", "A=x,B=v", "A=y,B=u", "A=y,B=v"};
  hmm.symbols = {"umbrella", "none"};
  hmm.initial = {0.1, 0.2, 0.3, 0.4};
  hmm.transition = {0.5,  0.2,  0.2,  0.1,   //
                    0.1,  0.6,  0.1,  0.2,   //
                    0.25, 0.25, 0.25, 0.25,  //
                    0.05, 0.15, 0.3,  0.5};
  hmm.emission = {0.9, 0.1, 0.6, 0.4, 0.3, 0.7, 0.15, 0.85};
  const Chain chain = hmm.chain();
  const HiddenStates hidden = dbn_hidden_states(chain);
  ASSERT_EQ(hidden.size(), 4u);
  EXPECT_EQ(hidden[1], (std::vector<std::pair<std::string, std::string>>{{"A", "x"}, {"B", "v"}}));

  qlogik::InfluenceDiagram d;
  const qlogik::VarId b = d.add_chance("B", {"u", "v"}, {}, {0.5, 0.5});
  const qlogik::VarId a = d.add_chance("A", {"y", "x"}, {b}, {0.3, 0.7, 0.6, 0.4});
  const qlogik::VarId act = d.add_decision("D", {"d0", "d1", "d2"});
  // U(A, B, D), A slowest in the diagram's A order {y, x}.
  const std::vector<double> u = {5, -3, 8,   //  y u
                                 1, 9,  0,   //  y v
                                 7, 2,  -4,  //  x u
                                 0, 3,  6};  //  x v
  d.add_utility("U", {a, b, act}, u);

  TwoBranches t;
  const auto out = branch_decisions(t.w, {0, t.dry, t.quiet}, chain, hidden, carries_mapping(), compile_with(hmm), d);
  const std::vector<std::vector<std::string>> symbols = {{"umbrella", "umbrella"}, {"umbrella", "none", "none"}, {}};
  ASSERT_EQ(out.size(), 3u);
  for (std::size_t i = 0; i < out.size(); ++i) {
    SCOPED_TRACE(i);
    const std::vector<double> belief = filtered_last(hmm, symbols[i]);
    for (std::size_t s = 0; s < 4; ++s) EXPECT_NEAR(out[i].belief[s], belief[s], 1e-12);
    // Chain state s = (A index in {x, y}) * 2 + (B index); the diagram's A index is reversed.
    double best = -1e300;
    int best_option = -1;
    for (int option = 0; option < 3; ++option) {
      double eu = 0;
      for (std::size_t s = 0; s < 4; ++s) {
        const std::size_t a_diagram = 1 - s / 2, b_index = s % 2;
        eu += belief[s] * u[(a_diagram * 2 + b_index) * 3 + static_cast<std::size_t>(option)];
      }
      if (eu > best) {
        best = eu;
        best_option = option;
      }
    }
    EXPECT_NEAR(out[i].expected_utility, best, 1e-9);
    ASSERT_EQ(out[i].policy.size(), 1u);
    EXPECT_EQ(out[i].policy[0].choice.at(0), best_option);
  }
}

TEST(BridgeDecide, ObservedHiddenVariableGivesAPolicyPerState) {
  // The decision sees Rain: the MEU is the belief-weighted best per state.
  qlogik::InfluenceDiagram d;
  const qlogik::VarId rain = d.add_chance("Rain", {"yes", "no"});
  const qlogik::VarId act = d.add_decision("TakeUmbrella", {"take", "leave"}, {rain});
  d.add_utility("Comfort", {rain, act}, {70, 0, 20, 100});
  const Hmm hmm = umbrella();
  const Chain chain = hmm.chain();
  TwoBranches t;
  const auto out =
      branch_decisions(t.w, {0}, chain, hmm_hidden_states(chain, "Rain"), carries_mapping(), compile_with(hmm), d);
  const std::vector<double> belief = filtered_last(hmm, {"umbrella", "umbrella"});
  EXPECT_NEAR(out[0].expected_utility, 70 * belief[0] + 100 * belief[1], 1e-9);
  EXPECT_EQ(out[0].policy[0].observed, std::vector<std::string>{"Rain"});
  EXPECT_EQ(out[0].policy[0].choice, (std::vector<int>{0, 1}));
}

TEST(BridgeDecide, Errors) {
  const Hmm hmm = umbrella();
  const Chain chain = hmm.chain();
  const qlogik::InfluenceDiagram diagram = qlogik::load_influence_diagram(data_path("umbrella_decision.json"));
  TwoBranches t;
  const Mapping mapping = carries_mapping();
  const Compile compile = compile_with(hmm);

  // States that the diagram's Rain lacks.
  Hmm renamed = hmm;
  renamed.states = {"rain", "dry"};
  const Chain renamed_chain = renamed.chain();
  std::string m = error_of([&] {
    branch_decisions(t.w, {0}, renamed_chain, hmm_hidden_states(renamed_chain, "Rain"), mapping, compile, diagram);
  });
  EXPECT_TRUE(contains(m, "'Rain'") && contains(m, "'rain'")) << m;

  // A variable the diagram lacks, and a decision named as hidden.
  m = error_of(
      [&] { branch_decisions(t.w, {0}, chain, hmm_hidden_states(chain, "Weather"), mapping, compile, diagram); });
  EXPECT_TRUE(contains(m, "'Weather'")) << m;
  m = error_of(
      [&] { branch_decisions(t.w, {0}, chain, hmm_hidden_states(chain, "TakeUmbrella"), mapping, compile, diagram); });
  EXPECT_TRUE(contains(m, "'TakeUmbrella'") && contains(m, "decision")) << m;

  // Wrong number of hidden entries.
  HiddenStates short_hidden = hmm_hidden_states(chain, "Rain");
  short_hidden.pop_back();
  m = error_of([&] { branch_decisions(t.w, {0}, chain, short_hidden, mapping, compile, diagram); });
  EXPECT_TRUE(contains(m, "2 states")) << m;

  // Impossible observations: it always rains and rain always brings the umbrella.
  Hmm always = hmm;
  always.initial = {1, 0};
  always.transition = {1, 0, 0, 1};
  always.emission = {1, 0, 0, 1};
  const Chain always_chain = always.chain();
  const Compile always_compile = compile_with(always);
  const auto ok = branch_decisions(t.w, {0}, always_chain, hmm_hidden_states(always_chain, "Rain"), mapping,
                                   always_compile, diagram);
  EXPECT_NEAR(ok[0].expected_utility, 70, 1e-9);
  m = error_of([&] {
    branch_decisions(t.w, {0, t.dry}, always_chain, hmm_hidden_states(always_chain, "Rain"), mapping, always_compile,
                     diagram);
  });
  EXPECT_TRUE(contains(m, "'dry'")) << m;

  // Malformed DBN state names.
  Chain odd = chain;
  odd.states = {"A=x", "A"};
  m = error_of([&] { dbn_hidden_states(odd); });
  EXPECT_TRUE(contains(m, "'A'")) << m;
  odd.states = {"A=x,=y", "A=z"};
  m = error_of([&] { dbn_hidden_states(odd); });
  EXPECT_TRUE(contains(m, "'A=x,=y'")) << m;
}

// ------------------------------------------------------------- rank_resolutions

// d1, then "open" and "shut" at the same tick (one initiates the fluent, the
// other terminates it: a contradiction), then d4. Leaving "open" out leaves
// the observations umbrella, none, umbrella; leaving "shut" out, umbrella x3.
struct Contradiction {
  World w;
  NodeId open = 0, shut = 0;
  Contradiction() {
    const echo::Symbol door = w.intern("door");
    add_day(w, 0, 1, "umbrella", "d1");
    open = add_day(w, 0, 5, "umbrella", "open", {{door, echo::Effect::Initiates}});
    shut = add_day(w, 0, 5, "none", "shut", {{door, echo::Effect::Terminates}});
    add_day(w, 0, 6, "umbrella", "d4");
  }
};

TEST(BridgeDecide, RankResolutionsMatchesDirectPosteriors) {
  const Hmm hmm = umbrella();
  const Chain chain = hmm.chain();
  Contradiction c;
  const std::size_t branches_before = c.w.branch_count();
  const auto ranked = rank_resolutions(c.w, 0, chain, carries_mapping(), compile_with(hmm));
  EXPECT_EQ(c.w.branch_count(), branches_before);  // the caller's world is not changed
  ASSERT_EQ(ranked.size(), 1u);
  const RankedResolution& r = ranked[0];
  EXPECT_EQ(r.kind, echo::Paradox::Kind::Contradiction);
  const echo::CheckReport report = echo::check(c.w);
  ASSERT_EQ(report.paradoxes.size(), 1u);
  EXPECT_EQ(r.paradox, report.paradoxes[0].message);  // the paradox's message, not the proposal's text
  ASSERT_EQ(r.alternatives.size(), 2u);

  // Posteriors sum to 1 and are ordered.
  EXPECT_NEAR(r.alternatives[0].posterior + r.alternatives[1].posterior, 1.0, 1e-12);
  EXPECT_GE(r.alternatives[0].posterior, r.alternatives[1].posterior);

  // Directly: apply the fork proposal to a copy and compute posteriors.
  const std::vector<echo::Resolution> proposals = echo::propose(c.w, 0);
  const auto fork = std::find_if(proposals.begin(), proposals.end(),
                                 [](const echo::Resolution& p) { return p.kind == echo::Resolution::Kind::Fork; });
  ASSERT_NE(fork, proposals.end());
  World copy = c.w;
  const std::vector<BranchId> made = echo::apply(copy, *fork);
  const auto direct = branch_posteriors(copy, made, chain, carries_mapping(), compile_with(hmm));
  ASSERT_EQ(direct.size(), 2u);
  for (const RankedAlternative& alt : r.alternatives) {
    const auto at = std::find(fork->alternatives.begin(), fork->alternatives.end(), alt.left_out);
    ASSERT_NE(at, fork->alternatives.end());
    const auto& d = direct[static_cast<std::size_t>(at - fork->alternatives.begin())];
    EXPECT_NEAR(alt.posterior, d.posterior, 1e-12);
    EXPECT_NEAR(alt.log_likelihood, d.log_likelihood, 1e-12);
    EXPECT_EQ(alt.description, fork->description);
  }

  // And by hand: the alternatives' likelihoods are those of their symbols (priors are 1).
  const double l_without_open =
      std::exp(log_likelihood(chain, hmm.likelihoods(), hmm.observations({"umbrella", "none", "umbrella"})));
  const double l_without_shut =
      std::exp(log_likelihood(chain, hmm.likelihoods(), hmm.observations({"umbrella", "umbrella", "umbrella"})));
  // Three umbrellas are likelier: leaving "shut" out ranks first.
  EXPECT_EQ(r.alternatives[0].left_out, c.shut);
  EXPECT_EQ(r.alternatives[0].left_out_name, "shut");
  EXPECT_EQ(r.alternatives[1].left_out, c.open);
  EXPECT_EQ(r.alternatives[1].left_out_name, "open");
  EXPECT_NEAR(r.alternatives[0].posterior, l_without_shut / (l_without_shut + l_without_open), 1e-12);
}

TEST(BridgeDecide, RankResolutionsEmptyWithoutParadox) {
  const Hmm hmm = umbrella();
  TwoBranches t;
  EXPECT_TRUE(rank_resolutions(t.w, 0, hmm.chain(), carries_mapping(), compile_with(hmm)).empty());
}

}  // namespace
}  // namespace miso::bridge
