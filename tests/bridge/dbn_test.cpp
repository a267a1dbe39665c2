// Dynamic Bayesian networks: the umbrella DBN against the umbrella HMM, a DBN
// with two hidden and two observed variables against variable elimination on
// the unrolled network (filtering, smoothing, likelihood, joint states), the
// structure checks and observation errors with their messages, split_steps,
// and the JSON file format with line:column errors.
#include "miso/bridge/dbn.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../error_of.hpp"
#include "bridge_test_support.hpp"
#include "miso/bridge/hmm.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/qlogik/inference.hpp"

namespace miso::bridge {
namespace {

using testing::contains;
using testing::data_path;

using qlogik::Network;
using qlogik::VarId;

using miso::testing::error_of;

// Sets P(child | parents) by names.
void cpt(Network& net, const std::string& child, const std::vector<std::string>& parents, std::vector<double> table) {
  std::vector<VarId> ids;
  for (const auto& p : parents) ids.push_back(net.id(p));
  net.set_cpt(net.id(child), std::move(ids), std::move(table));
}

// ---------------------------------------------------------------- umbrella

Hmm umbrella_hmm() { return testing::umbrella(); }

const std::vector<double> kUmbrellaEmission = {0.9, 0.1, 0.2, 0.8};

Network umbrella_prior() {
  Network net("umbrella_prior");
  net.add_variable("Rain", {"yes", "no"});
  net.add_variable("Umbrella", {"yes", "no"});
  cpt(net, "Rain", {}, {0.5, 0.5});
  cpt(net, "Umbrella", {"Rain"}, kUmbrellaEmission);
  return net;
}

Network umbrella_step() {
  Network net("umbrella_step");
  net.add_variable("Rain@prev", {"yes", "no"});
  net.add_variable("Rain", {"yes", "no"});
  net.add_variable("Umbrella", {"yes", "no"});
  cpt(net, "Rain", {"Rain@prev"}, {0.7, 0.3, 0.3, 0.7});
  cpt(net, "Umbrella", {"Rain"}, kUmbrellaEmission);
  return net;
}

void expect_near_all(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "entry " << i;
}

// The DBN's steps and the HMM's symbols for the same days.
void expect_same_as_hmm(const Dbn& dbn, const Hmm& hmm, const std::vector<std::string>& days) {
  std::vector<std::vector<std::string>> steps;
  std::vector<std::string> symbols;
  for (const auto& d : days) {
    steps.push_back({d});
    symbols.push_back(d == "yes" ? "umbrella" : d == "no" ? "none" : "?");
  }
  const Chain dc = dbn.chain();
  const Dbn::Observed obs = dbn.observe(steps);
  const Chain hc = hmm.chain();
  const Likelihoods hl = hmm.likelihoods();
  const std::vector<std::uint32_t> hs = hmm.observations(symbols);
  const FilterResult df = filter(dc, obs.likelihoods, obs.steps), hf = filter(hc, hl, hs);
  EXPECT_NEAR(df.log_likelihood, hf.log_likelihood, 1e-12);
  expect_near_all(df.filtered, hf.filtered, 1e-12);
  const SmoothResult ds = smooth(dc, obs.likelihoods, obs.steps), hsm = smooth(hc, hl, hs);
  EXPECT_NEAR(ds.log_likelihood, hsm.log_likelihood, 1e-12);
  expect_near_all(ds.smoothed, hsm.smoothed, 1e-12);
}

TEST(BridgeDbn, UmbrellaCompilesToTheUmbrellaHmm) {
  const Dbn dbn(umbrella_prior(), umbrella_step(), {"Umbrella"});
  EXPECT_EQ(dbn.hidden(), (std::vector<std::string>{"Rain"}));
  EXPECT_EQ(dbn.observed(), (std::vector<std::string>{"Umbrella"}));
  const Chain c = dbn.chain();
  EXPECT_EQ(c.states, (std::vector<std::string>{"Rain=yes", "Rain=no"}));
  EXPECT_NO_THROW(c.validate());
  expect_near_all(c.initial, {0.5, 0.5}, 1e-15);
  expect_near_all(c.transition, {0.7, 0.3, 0.3, 0.7}, 1e-15);

  // AIMA's numbers: umbrella on days 1 and 2.
  const auto obs = dbn.observe({{"yes"}, {"yes"}});
  EXPECT_EQ(obs.likelihoods.count(), 1u);
  EXPECT_EQ(obs.steps, (std::vector<std::uint32_t>{0, 0}));
  const FilterResult f = filter(c, obs.likelihoods, obs.steps);
  EXPECT_NEAR(f.filtered[0], 0.818181818181818, 1e-12);
  EXPECT_NEAR(f.filtered[2], 0.883357041251778, 1e-12);
  const SmoothResult s = smooth(c, obs.likelihoods, obs.steps);
  EXPECT_NEAR(s.smoothed[0], 0.883357041251778, 1e-12);
}

TEST(BridgeDbn, UmbrellaMatchesTheHmmOnRandomSequences) {
  const Dbn dbn(umbrella_prior(), umbrella_step(), {"Umbrella"});
  const Hmm hmm = umbrella_hmm();
  std::mt19937 rng(7);
  const std::vector<std::string> values = {"yes", "no", "?"};
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<std::string> days(1 + rng() % 12);
    for (auto& d : days) d = values[rng() % 3];
    SCOPED_TRACE(trial);
    expect_same_as_hmm(dbn, hmm, days);
  }
}

TEST(BridgeDbn, UmbrellaObserveRowsAreEmissionColumns) {
  const Dbn dbn(umbrella_prior(), umbrella_step(), {"Umbrella"});
  const auto obs = dbn.observe({{"no"}, {"?"}, {"no"}, {"yes"}, {"?"}});
  EXPECT_EQ(obs.steps, (std::vector<std::uint32_t>{0, 1, 0, 2, 1}));
  ASSERT_EQ(obs.likelihoods.states, 2u);
  expect_near_all(obs.likelihoods.rows, {0.1, 0.8, 1.0, 1.0, 0.9, 0.2}, 0);
}

// ---------------------------------------------------------------- two hidden, two observed

// Hidden Rain {yes,no} and Season {winter,summer,autumn} (Rain listed first
// though it depends on Season: the hidden order is the slice's, not a
// topological one); observed Umbrella | Rain and Coat | Rain, Season.
Network weather_prior() {
  Network net("weather_prior");
  net.add_variable("Rain", {"yes", "no"});
  net.add_variable("Umbrella", {"yes", "no"});
  net.add_variable("Season", {"winter", "summer", "autumn"});
  net.add_variable("Coat", {"none", "light", "heavy"});
  cpt(net, "Season", {}, {0.3, 0.5, 0.2});
  cpt(net, "Rain", {"Season"}, {0.6, 0.4, 0.2, 0.8, 0.5, 0.5});
  cpt(net, "Umbrella", {"Rain"}, {0.85, 0.15, 0.25, 0.75});
  cpt(net, "Coat", {"Rain", "Season"},
      {0.1, 0.3, 0.6, 0.5, 0.4, 0.1, 0.2, 0.5, 0.3,  // Rain = yes
       0.2, 0.3, 0.5, 0.8, 0.15, 0.05, 0.3, 0.5, 0.2});
  return net;
}

Network weather_step() {
  Network net("weather_step");
  net.add_variable("Season@prev", {"winter", "summer", "autumn"});
  net.add_variable("Rain", {"yes", "no"});
  net.add_variable("Umbrella", {"yes", "no"});
  net.add_variable("Rain@prev", {"yes", "no"});
  net.add_variable("Season", {"winter", "summer", "autumn"});
  net.add_variable("Coat", {"none", "light", "heavy"});
  cpt(net, "Season", {"Season@prev"}, {0.8, 0.15, 0.05, 0.1, 0.7, 0.2, 0.3, 0.1, 0.6});
  cpt(net, "Rain", {"Rain@prev", "Season"},
      {0.75, 0.25, 0.4, 0.6, 0.6, 0.4,  // Rain@prev = yes
       0.35, 0.65, 0.1, 0.9, 0.3, 0.7});
  cpt(net, "Umbrella", {"Rain"}, {0.85, 0.15, 0.25, 0.75});
  cpt(net, "Coat", {"Rain", "Season"},
      {0.1, 0.3, 0.6, 0.5, 0.4, 0.1, 0.2, 0.5, 0.3, 0.2, 0.3, 0.5, 0.8, 0.15, 0.05, 0.3, 0.5, 0.2});
  return net;
}

Dbn weather() { return Dbn(weather_prior(), weather_step(), {"Coat", "Umbrella"}); }

TEST(BridgeDbn, WeatherStatesAndUnrolledStructure) {
  const Dbn dbn = weather();
  EXPECT_EQ(dbn.hidden(), (std::vector<std::string>{"Rain", "Season"}));
  const Chain c = dbn.chain();
  EXPECT_EQ(c.states,
            (std::vector<std::string>{"Rain=yes,Season=winter", "Rain=yes,Season=summer", "Rain=yes,Season=autumn",
                                      "Rain=no,Season=winter", "Rain=no,Season=summer", "Rain=no,Season=autumn"}));
  EXPECT_NO_THROW(c.validate());
  // P(Rain=no, Season=summer) = 0.5 * 0.8; P(yes,winter -> no,autumn) = 0.05 * 0.4.
  EXPECT_NEAR(c.initial[4], 0.4, 1e-15);
  EXPECT_NEAR(c.transition[0 * 6 + 5], 0.05 * 0.4, 1e-15);

  const Network u = dbn.unroll(3);
  EXPECT_EQ(u.size(), 12u);
  EXPECT_NO_THROW(u.validate());
  const auto names = [&](VarId v) {
    std::vector<std::string> out;
    for (VarId p : u.parents(v)) out.push_back(u.variable(p).name);
    return out;
  };
  EXPECT_EQ(names(u.id("Rain#1")), (std::vector<std::string>{"Season#1"}));
  EXPECT_EQ(names(u.id("Rain#3")), (std::vector<std::string>{"Rain#2", "Season#3"}));
  EXPECT_EQ(names(u.id("Season#2")), (std::vector<std::string>{"Season#1"}));
  EXPECT_EQ(names(u.id("Coat#2")), (std::vector<std::string>{"Rain#2", "Season#2"}));
  EXPECT_EQ(u.variable(u.id("Coat#3")).states, (std::vector<std::string>{"none", "light", "heavy"}));
  EXPECT_EQ(dbn.unroll(0).size(), 0u);
}

// ln P(evidence) on the unrolled network by variable elimination.
double ve_log_p(const Network& net, const qlogik::Evidence& e) {
  return qlogik::variable_elimination(net, e, {}).log_p_evidence;
}

// P(joint hidden state at slice `slice` | e) for every joint state, by VE.
std::vector<double> ve_joint(const Network& net, qlogik::Evidence e, std::size_t slice) {
  const double log_e = ve_log_p(net, e);
  const VarId rain = net.id("Rain#" + std::to_string(slice)), season = net.id("Season#" + std::to_string(slice));
  std::vector<double> out;
  for (int r = 0; r < 2; ++r) {
    for (int s = 0; s < 3; ++s) {
      e[static_cast<std::size_t>(rain)] = r;
      e[static_cast<std::size_t>(season)] = s;
      const double l = ve_log_p(net, e);
      out.push_back(std::isinf(l) ? 0.0 : std::exp(l - log_e));
    }
  }
  return out;
}

// Evidence for the first `slices` steps of `steps` on net (unrolled).
qlogik::Evidence evidence(const Network& net, const Dbn& dbn, const std::vector<std::vector<std::string>>& steps,
                          std::size_t slices) {
  qlogik::Evidence e = qlogik::no_evidence(net);
  for (std::size_t t = 0; t < slices; ++t) {
    for (std::size_t i = 0; i < dbn.observed().size(); ++i) {
      if (steps[t][i] == "?") continue;
      const VarId v = net.id(dbn.observed()[i] + "#" + std::to_string(t + 1));
      e[static_cast<std::size_t>(v)] = net.state_index(v, steps[t][i]);
    }
  }
  return e;
}

TEST(BridgeDbn, WeatherMatchesVariableEliminationOnTheUnrolledNetwork) {
  const Dbn dbn = weather();
  const Chain c = dbn.chain();
  std::mt19937 rng(11);
  const std::vector<std::string> coats = {"none", "light", "heavy", "?"}, umbrellas = {"yes", "no", "?"};
  for (std::size_t T = 1; T <= 5; ++T) {
    for (int trial = 0; trial < 3; ++trial) {
      SCOPED_TRACE("T " + std::to_string(T) + ", trial " + std::to_string(trial));
      std::vector<std::vector<std::string>> steps(T);
      for (auto& s : steps) s = {coats[rng() % 4], umbrellas[rng() % 3]};
      const auto obs = dbn.observe(steps);
      const FilterResult f = filter(c, obs.likelihoods, obs.steps);
      const SmoothResult sm = smooth(c, obs.likelihoods, obs.steps);
      const Network full = dbn.unroll(T);
      const qlogik::Evidence all = evidence(full, dbn, steps, T);
      EXPECT_NEAR(f.log_likelihood, ve_log_p(full, all), 1e-9);
      EXPECT_NEAR(sm.log_likelihood, ve_log_p(full, all), 1e-9);
      for (std::size_t t = 0; t < T; ++t) {
        const Network prefix = dbn.unroll(t + 1);
        const std::vector<double> filtered(f.filtered.begin() + static_cast<std::ptrdiff_t>(t * 6),
                                           f.filtered.begin() + static_cast<std::ptrdiff_t>(t * 6 + 6));
        expect_near_all(filtered, ve_joint(prefix, evidence(prefix, dbn, steps, t + 1), t + 1), 1e-9);
        const std::vector<double> smoothed(sm.smoothed.begin() + static_cast<std::ptrdiff_t>(t * 6),
                                           sm.smoothed.begin() + static_cast<std::ptrdiff_t>(t * 6 + 6));
        expect_near_all(smoothed, ve_joint(full, all, t + 1), 1e-9);
      }
    }
  }
}

TEST(BridgeDbn, ObserveRowsAreProductsOfEmissions) {
  const Dbn dbn = weather();
  const auto obs = dbn.observe({{"heavy", "no"}, {"?", "?"}, {"light", "?"}, {"heavy", "no"}});
  EXPECT_EQ(obs.steps, (std::vector<std::uint32_t>{0, 1, 2, 0}));
  ASSERT_EQ(obs.likelihoods.count(), 3u);
  // Row 0, state (Rain=no, Season=summer): P(Coat=heavy | no, summer) * P(Umbrella=no | no).
  EXPECT_NEAR(obs.likelihoods.row(0)[4], 0.05 * 0.75, 1e-15);
  for (double x : obs.likelihoods.row(1)) EXPECT_EQ(x, 1.0);
  EXPECT_NEAR(obs.likelihoods.row(2)[2], 0.5, 1e-15);  // Coat=light | yes, autumn
}

TEST(BridgeDbn, ObserveErrorsNameTheStepAndVariable) {
  const Dbn dbn = weather();
  std::string m = error_of([&] { dbn.observe({{"none", "yes"}, {"none", "maybe"}}); }, Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(m, "step 1")) << m;
  EXPECT_TRUE(contains(m, "'Umbrella'")) << m;
  EXPECT_TRUE(contains(m, "'maybe'")) << m;
  m = error_of([&] { dbn.observe({{"none", "yes"}, {"none", "yes"}, {"none"}}); }, Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(m, "step 2 has 1 values, expected 2")) << m;
  EXPECT_TRUE(contains(m, "Coat, Umbrella")) << m;
  // No steps: no rows.
  EXPECT_TRUE(dbn.observe({}).steps.empty());
}

// ---------------------------------------------------------------- structure errors

std::string structure_error(Network prior, Network step, std::vector<std::string> observed) {
  return error_of([&] { Dbn(std::move(prior), std::move(step), std::move(observed)); }, Error::Kind::InvalidArgument);
}

TEST(BridgeDbn, ParentNeitherPrevNorInSlice) {
  Network step = weather_step();
  step.add_variable("Wind", {"calm", "gale"});
  cpt(step, "Rain", {"Rain@prev", "Wind"}, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5});
  std::string m = structure_error(weather_prior(), step, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m, "parent 'Wind' of 'Rain' is neither a slice variable nor the '@prev' copy")) << m;
  EXPECT_TRUE(contains(m, "transition network 'weather_step'")) << m;

  step = weather_step();
  step.add_variable("Wind@prev", {"calm", "gale"});
  cpt(step, "Season", {"Wind@prev"}, {0.5, 0.3, 0.2, 0.2, 0.3, 0.5});
  m = structure_error(weather_prior(), step, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m, "parent 'Wind@prev' of 'Season' is neither")) << m;

  // A '@prev' copy nobody uses must still copy a slice variable.
  step = weather_step();
  step.add_variable("Wind@prev", {"calm", "gale"});
  m = structure_error(weather_prior(), step, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m, "'Wind@prev' is the '@prev' copy of 'Wind', which is not a slice variable")) << m;
}

TEST(BridgeDbn, MissingVariables) {
  Network step("weather_step");
  step.add_variable("Rain", {"yes", "no"});
  step.add_variable("Umbrella", {"yes", "no"});
  step.add_variable("Season", {"winter", "summer", "autumn"});
  cpt(step, "Umbrella", {"Rain"}, {0.85, 0.15, 0.25, 0.75});
  std::string m = structure_error(weather_prior(), step, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m, "slice variable 'Coat' of the prior network 'weather_prior' is missing from the transition"))
      << m;

  Network extra = weather_step();
  extra.add_variable("Sun", {"up", "down"});
  m = structure_error(weather_prior(), extra, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m, "variable 'Sun' of the transition network 'weather_step' is missing from the prior")) << m;

  m = structure_error(weather_prior(), weather_step(), {"Coat", "Hat"});
  EXPECT_TRUE(contains(m, "observed variable 'Hat' is not a slice variable")) << m;
  m = structure_error(weather_prior(), weather_step(), {"Coat", "Coat"});
  EXPECT_TRUE(contains(m, "'Coat' is listed twice")) << m;
  m = structure_error(umbrella_prior(), umbrella_step(), {"Umbrella", "Rain"});
  EXPECT_TRUE(contains(m, "at least one hidden variable")) << m;
}

TEST(BridgeDbn, StatesThatDiffer) {
  Network step("umbrella_step");
  step.add_variable("Rain@prev", {"yes", "no"});
  step.add_variable("Rain", {"wet", "dry"});
  step.add_variable("Umbrella", {"yes", "no"});
  cpt(step, "Rain", {"Rain@prev"}, {0.7, 0.3, 0.3, 0.7});
  cpt(step, "Umbrella", {"Rain"}, kUmbrellaEmission);
  std::string m = structure_error(umbrella_prior(), step, {"Umbrella"});
  EXPECT_TRUE(contains(m, "slice variable 'Rain' has states {yes, no} in the prior network")) << m;
  EXPECT_TRUE(contains(m, "but {wet, dry} in the transition network")) << m;

  Network prev("umbrella_step");
  prev.add_variable("Rain@prev", {"yes", "no", "drizzle"});
  prev.add_variable("Rain", {"yes", "no"});
  prev.add_variable("Umbrella", {"yes", "no"});
  cpt(prev, "Rain", {"Rain@prev"}, {0.7, 0.3, 0.3, 0.7, 0.5, 0.5});
  cpt(prev, "Umbrella", {"Rain"}, kUmbrellaEmission);
  m = structure_error(umbrella_prior(), prev, {"Umbrella"});
  EXPECT_TRUE(contains(m, "'Rain@prev' has states {yes, no, drizzle} but 'Rain' has {yes, no}")) << m;
}

TEST(BridgeDbn, ObservedParentsMustBeHiddenOfTheSlice) {
  // Coat | Umbrella (observed) in both networks.
  Network prior = weather_prior(), step = weather_step();
  cpt(prior, "Coat", {"Umbrella"}, {0.2, 0.3, 0.5, 0.6, 0.3, 0.1});
  cpt(step, "Coat", {"Umbrella"}, {0.2, 0.3, 0.5, 0.6, 0.3, 0.1});
  std::string m = structure_error(prior, step, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m,
                       "prior network 'weather_prior': observed variable 'Coat' has the parent 'Umbrella', which "
                       "is not a hidden variable of its slice"))
      << m;

  // Umbrella | Rain@prev in the transition.
  step = weather_step();
  cpt(step, "Umbrella", {"Rain@prev"}, {0.85, 0.15, 0.25, 0.75});
  m = structure_error(weather_prior(), step, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m, "observed variable 'Umbrella' has the parent 'Rain@prev'")) << m;

  // A hidden variable with an observed parent.
  step = weather_step();
  step.add_variable("Umbrella@prev", {"yes", "no"});
  cpt(step, "Rain", {"Umbrella@prev"}, {0.5, 0.5, 0.5, 0.5});
  m = structure_error(weather_prior(), step, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m, "hidden variable 'Rain' has the observed parent 'Umbrella@prev'")) << m;
}

TEST(BridgeDbn, EmissionCptsMustMatch) {
  Network step = umbrella_step();
  cpt(step, "Umbrella", {"Rain"}, {0.9, 0.1, 0.3, 0.7});
  std::string m = structure_error(umbrella_prior(), step, {"Umbrella"});
  EXPECT_TRUE(contains(m, "observed variable 'Umbrella': its emission CPT differs between the networks at row 1")) << m;
  EXPECT_TRUE(contains(m, "Rain=no")) << m;

  Network prior = weather_prior(), step2 = weather_step();
  cpt(step2, "Umbrella", {}, {0.5, 0.5});
  m = structure_error(prior, step2, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m, "observed variable 'Umbrella' has parents (Rain) in the prior network")) << m;
}

TEST(BridgeDbn, OtherStructureErrors) {
  // A '@prev' copy with parents.
  Network step = weather_step();
  cpt(step, "Season@prev", {"Rain@prev"}, {0.5, 0.3, 0.2, 0.2, 0.3, 0.5});
  std::string m = structure_error(weather_prior(), step, {"Coat", "Umbrella"});
  EXPECT_TRUE(contains(m, "'Season@prev' must be a root")) << m;

  // A bad CPT row.
  Network prior = umbrella_prior();
  cpt(prior, "Rain", {}, {0.5, 0.6});
  m = structure_error(prior, umbrella_step(), {"Umbrella"});
  EXPECT_TRUE(contains(m, "prior network 'umbrella_prior'")) << m;

  // More than 2^16 joint hidden states: 17 binary variables.
  Network big_prior("big"), big_step("big_step");
  for (int i = 0; i < 17; ++i) {
    std::string name = "H";  // not "H" + to_string(i): GCC 12 warns falsely (-Wrestrict) on that
    name += std::to_string(i);
    big_prior.add_variable(name, {"a", "b"});
    big_step.add_variable(name, {"a", "b"});
  }
  m = structure_error(big_prior, big_step, {});
  EXPECT_TRUE(contains(m, "more than 2^16 joint states")) << m;
}

// ---------------------------------------------------------------- split_steps

TEST(BridgeDbn, SplitSteps) {
  using Steps = std::vector<std::vector<std::string>>;
  EXPECT_EQ(split_steps("a,b;c,d;?,e", 2), (Steps{{"a", "b"}, {"c", "d"}, {"?", "e"}}));
  EXPECT_EQ(split_steps(" a , b ; c,d ", 2), (Steps{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(split_steps("a,b,c", 1), (Steps{{"a"}, {"b"}, {"c"}}));
  EXPECT_EQ(split_steps("a;?;c", 1), (Steps{{"a"}, {"?"}, {"c"}}));
  EXPECT_EQ(split_steps("x,y,z", 3), (Steps{{"x", "y", "z"}}));
  EXPECT_TRUE(split_steps("  ", 2).empty());

  std::string m = error_of([] { split_steps("a,b;c", 2); }, Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(m, "step 1 has 1 values, expected 2")) << m;
  m = error_of([] { split_steps("a,b;", 2); }, Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(m, "step 1 has 1 values")) << m;
  m = error_of([] { split_steps("a,,c", 1); }, Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(m, "step 1, value 0 is empty")) << m;
  m = error_of([] { split_steps("a, ;c,d", 2); }, Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(m, "step 0, value 1 is empty")) << m;
  m = error_of([] { split_steps("a", 0); }, Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(m, "no observed variables")) << m;
}

// ---------------------------------------------------------------- files

TEST(BridgeDbn, UmbrellaDataFilesMatchTheHmm) {
  const Dbn dbn = load_dbn(data_path("umbrella_dbn.json"));
  EXPECT_EQ(dbn.hidden(), (std::vector<std::string>{"Rain"}));
  EXPECT_EQ(dbn.observed(), (std::vector<std::string>{"Umbrella"}));
  EXPECT_EQ(dbn.prior().name(), "umbrella_prior");
  EXPECT_EQ(dbn.transition().name(), "umbrella_step");
  expect_same_as_hmm(dbn, umbrella_hmm(), {"yes", "yes", "no", "?", "yes", "no", "no"});
  // The same numbers as the HMM file.
  const Chain c = dbn.chain();
  const Chain h = load_hmm(data_path("umbrella.json")).chain();
  expect_near_all(c.initial, h.initial, 0);
  expect_near_all(c.transition, h.transition, 0);
}

class DbnFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("miso_dbn_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::copy_file(data_path("umbrella_prior.bif"), dir_ / "p.bif");
    std::filesystem::copy_file(data_path("umbrella_step.bif"), dir_ / "s.bif");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    const auto path = dir_ / "model.json";
    core::write_file_atomic(path, text);
    return path.string();
  }
  std::string format_error(const std::string& text) {
    const std::string path = write(text);
    return error_of([&] { load_dbn(path); }, Error::Kind::Format);
  }
  std::filesystem::path dir_;
};

TEST_F(DbnFiles, RelativePathsAndInlineBif) {
  EXPECT_EQ(load_dbn(write(R"({"dbn": {"prior": "p.bif", "transition": "s.bif", "observed": ["Umbrella"]}})")).hidden(),
            (std::vector<std::string>{"Rain"}));
  const std::string inline_prior =
      "network inline { }\\nvariable Rain { type discrete [ 2 ] { yes, no }; }\\n"
      "variable Umbrella { type discrete [ 2 ] { yes, no }; }\\n"
      "probability ( Rain ) { table 0.5, 0.5; }\\n"
      "probability ( Umbrella | Rain ) { (yes) 0.9, 0.1; (no) 0.2, 0.8; }";
  const Dbn dbn = load_dbn(
      write(R"({"dbn": {"prior": ")" + inline_prior + R"(", "transition": "s.bif", "observed": ["Umbrella"]}})"));
  EXPECT_EQ(dbn.prior().name(), "inline");
  expect_same_as_hmm(dbn, umbrella_hmm(), {"no", "yes", "?"});
}

TEST_F(DbnFiles, MalformedJsonPointsAtLineAndColumn) {
  std::string m = format_error("{\"dbn\": {\"prior\": }}");
  EXPECT_TRUE(contains(m, "model.json:1:19:")) << m;

  m = format_error(
      "{\"dbn\": {\"prior\": \"p.bif\", \"transition\": \"s.bif\",\n  \"observed\": [\"Umbrella\"],\n"
      "  \"extra\": 1}}");
  EXPECT_TRUE(contains(m, "model.json:3:3:")) << m;
  EXPECT_TRUE(contains(m, "unknown key \"extra\"")) << m;

  m = format_error("{\"dbn\": {\"prior\": \"p.bif\", \"transition\": \"s.bif\",\n  \"observed\": \"Umbrella\"}}");
  EXPECT_TRUE(contains(m, "model.json:2:15:")) << m;
  EXPECT_TRUE(contains(m, "dbn.observed: expected a list")) << m;

  m = format_error("{\"dbn\": {\"prior\": \"p.bif\", \"transition\": \"s.bif\",\n  \"observed\": [\"Umbrella\", 3]}}");
  EXPECT_TRUE(contains(m, "model.json:2:28:")) << m;

  m = format_error("{\"dbn\": {\"prior\": \"p.bif\", \"observed\": []}}");
  EXPECT_TRUE(contains(m, "missing \"transition\"")) << m;

  m = format_error("{\"hmm\": {}}");
  EXPECT_TRUE(contains(m, "model.json:1:2:")) << m;
  EXPECT_TRUE(contains(m, "unknown key \"hmm\"")) << m;

  m = format_error("[1]");
  EXPECT_TRUE(contains(m, "expected an object")) << m;

  m = format_error("{\"dbn\": {\"prior\": 5, \"transition\": \"s.bif\", \"observed\": []}}");
  EXPECT_TRUE(contains(m, "model.json:1:19:")) << m;

  // Structure errors name the file.
  m = format_error(R"({"dbn": {"prior": "p.bif", "transition": "s.bif", "observed": ["Hat"]}})");
  EXPECT_TRUE(contains(m, "model.json: dbn: observed variable 'Hat'")) << m;
}

TEST_F(DbnFiles, NetworkErrorsPropagate) {
  std::string m =
      error_of([&] { load_dbn(write(R"({"dbn": {"prior": "nope.bif", "transition": "s.bif", "observed": []}})")); },
               Error::Kind::Io);
  EXPECT_TRUE(contains(m, "nope.bif")) << m;

  core::write_file_atomic(dir_ / "bad.bif", "network x {}\nvariable A { type discrete [ 2 ] { a b }; }\n");
  m = error_of([&] { load_dbn(write(R"({"dbn": {"prior": "bad.bif", "transition": "s.bif", "observed": []}})")); },
               Error::Kind::Format);
  EXPECT_TRUE(contains(m, "bad.bif:2:")) << m;

  m = error_of([&] { load_dbn(dir_ / "missing.json"); }, Error::Kind::Io);
  EXPECT_TRUE(contains(m, "missing.json")) << m;
}

}  // namespace
}  // namespace miso::bridge
