// Observations read from ECHO-PRIME timelines and branch posteriors: steps
// extracted from hand-made worlds (unmapped nodes skipped, "?" for a missing
// attribute, numbers as their shortest text), unknown values named with node,
// attribute and value; posteriors checked against log_likelihood computed
// directly times the node-probability priors; impossible branches; the data
// files; and the mapping reader's errors with line:column.
#include "miso/bridge/timeline.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../error_of.hpp"
#include "bridge_test_support.hpp"
#include "miso/bridge/hmm.hpp"
#include "miso/core/error.hpp"
#include "miso/echo/format.hpp"

namespace miso::bridge {
namespace {

using testing::contains;
using testing::data_path;

using echo::Attribute;
using echo::BranchId;
using echo::NodeId;
using echo::Value;
using echo::World;

using miso::testing::error_of;

// The umbrella world with the mapping's state names as symbols.
Hmm umbrella() { return testing::umbrella({"rain", "dry"}, {"yes", "no"}); }

// Rain forever, and rain always brings the umbrella: "no" is impossible.
Hmm always_rain() {
  Hmm h;
  h.states = {"rain", "dry"};
  h.symbols = {"yes", "no"};
  h.initial = {1, 0};
  h.transition = {1, 0, 0, 1};
  h.emission = {1, 0, 0, 1};
  return h;
}

Mapping umbrella_mapping() {
  Mapping m;
  m.maps.push_back({"carries", "Umbrella", {{"umbrella", "yes"}, {"none", "no"}}});
  return m;
}

Compile compile_with(const Hmm& hmm) {
  return [&hmm](const std::vector<std::vector<std::string>>& steps) {
    std::vector<std::string> symbols;
    for (const auto& step : steps) symbols.push_back(step.at(0));
    return std::make_pair(hmm.likelihoods(), hmm.observations(symbols));
  };
}

// Appends a node with text attributes; returns its id.
NodeId add(World& w, BranchId b, echo::Tick t, const std::vector<std::pair<std::string, std::string>>& attributes,
           double probability = 1.0, const std::string& name = {}) {
  std::vector<Attribute> attrs;
  for (const auto& [k, v] : attributes) attrs.push_back({w.intern(k), Value::text_of(w.intern(v))});
  echo::NodeSpec spec;
  spec.time = t;
  spec.type = w.intern("day");
  spec.probability = probability;
  spec.attributes = attrs;
  return w.append(b, spec, name);
}

NodeId add_day(World& w, BranchId b, echo::Tick t, const std::string& carries, double probability = 1.0,
               const std::string& name = {}) {
  return add(w, b, t, {{"carries", carries}}, probability, name);
}

// ln P(symbols) under hmm, straight from the chain code.
double direct_log_likelihood(const Hmm& hmm, const std::vector<std::string>& symbols) {
  const std::vector<std::uint32_t> rows = hmm.observations(symbols);
  return log_likelihood(hmm.chain(), hmm.likelihoods(), rows);
}

// ----------------------------------------------------------- observations_of

TEST(BridgeTimeline, ObservationsSkipNodesWithoutMappedAttributes) {
  World w;
  add(w, 0, 0, {}, 1.0, "wake");
  const NodeId d1 = add_day(w, 0, 1, "umbrella", 1.0, "d1");
  add(w, 0, 2, {{"mood", "grumpy"}}, 1.0, "note");
  const NodeId d2 = add_day(w, 0, 3, "none", 1.0, "d2");
  const NodeId d3 = add_day(w, 0, 4, "umbrella");
  const TimelineObservations obs = observations_of(w, w.main(), umbrella_mapping());
  const std::vector<std::vector<std::string>> expected = {{"yes"}, {"no"}, {"yes"}};
  EXPECT_EQ(obs.steps, expected);
  EXPECT_EQ(obs.nodes, (std::vector<NodeId>{d1, d2, d3}));
}

TEST(BridgeTimeline, MissingAttributeIsUnobservedAndNumbersAreShortestText) {
  World w;
  const echo::Symbol carries = w.intern("carries"), temp = w.intern("temp");
  const auto node = [&](std::vector<Attribute> attrs, echo::Tick t) {
    echo::NodeSpec spec;
    spec.time = t;
    spec.attributes = attrs;
    return w.append(0, spec);
  };
  const NodeId a = node({{carries, Value::text_of(w.intern("umbrella"))}, {temp, Value::of(3.5)}}, 0);
  const NodeId b = node({{temp, Value::of(2.0)}}, 1);
  const NodeId c = node({{carries, Value::text_of(w.intern("none"))}}, 2);
  node({{w.intern("other"), Value::of(1)}}, 3);
  const NodeId d = node({{temp, Value::of(-0.1)}, {carries, Value::text_of(w.intern("umbrella"))}}, 4);
  const NodeId e = node({{temp, Value::of(1e21)}}, 5);

  Mapping m = umbrella_mapping();
  m.maps.push_back({"temp", "Temperature", {}});  // identity
  const TimelineObservations obs = observations_of(w, 0, m);
  const std::vector<std::vector<std::string>> expected = {
      {"yes", "3.5"}, {"?", "2"}, {"no", "?"}, {"yes", "-0.1"}, {"?", "1e+21"}};
  EXPECT_EQ(obs.steps, expected);
  EXPECT_EQ(obs.nodes, (std::vector<NodeId>{a, b, c, d, e}));

  // Numbers through a value table: the key is the number's shortest text.
  Mapping numeric;
  numeric.maps.push_back({"temp", "Warm", {{"3.5", "warm"}, {"2", "cold"}, {"-0.1", "cold"}, {"1e+21", "hot"}}});
  const TimelineObservations warm = observations_of(w, 0, numeric);
  EXPECT_EQ(warm.steps, (std::vector<std::vector<std::string>>{{"warm"}, {"cold"}, {"cold"}, {"hot"}}));
  EXPECT_EQ(warm.nodes, (std::vector<NodeId>{a, b, d, e}));
}

TEST(BridgeTimeline, IdentityMappingKeepsTexts) {
  World w;
  add_day(w, 0, 0, "umbrella");
  add_day(w, 0, 1, "none");
  Mapping m;
  m.maps.push_back({"carries", "Umbrella", {}});
  EXPECT_EQ(observations_of(w, 0, m).steps, (std::vector<std::vector<std::string>>{{"umbrella"}, {"none"}}));
}

TEST(BridgeTimeline, AttributeTheWorldNeverMentionsGivesNoSteps) {
  World w;
  add(w, 0, 0, {{"mood", "fine"}});
  const TimelineObservations obs = observations_of(w, 0, umbrella_mapping());
  EXPECT_TRUE(obs.steps.empty());
  EXPECT_TRUE(obs.nodes.empty());
}

TEST(BridgeTimeline, BranchObservationsIncludeTheSharedPrefix) {
  World w;
  const NodeId d1 = add_day(w, 0, 1, "umbrella");
  const NodeId d2 = add_day(w, 0, 2, "umbrella");
  add_day(w, 0, 3, "umbrella");
  const BranchId alt = w.fork(0, d2, "alt");
  const NodeId a3 = add_day(w, alt, 3, "none", 0.5);
  const TimelineObservations obs = observations_of(w, alt, umbrella_mapping());
  EXPECT_EQ(obs.steps, (std::vector<std::vector<std::string>>{{"yes"}, {"yes"}, {"no"}}));
  EXPECT_EQ(obs.nodes, (std::vector<NodeId>{d1, d2, a3}));
}

TEST(BridgeTimeline, UnknownValueNamesNodeAttributeAndValue) {
  World w;
  add_day(w, 0, 1, "umbrella", 1.0, "monday");
  add_day(w, 0, 2, "parasol", 1.0, "tuesday");
  const std::string msg = error_of([&] { observations_of(w, 0, umbrella_mapping()); }, Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(msg, "'tuesday'")) << msg;
  EXPECT_TRUE(contains(msg, "'carries'")) << msg;
  EXPECT_TRUE(contains(msg, "'parasol'")) << msg;
  EXPECT_TRUE(contains(msg, "'umbrella', 'none'")) << msg;

  // An unnamed node is named by its id; a number by its shortest text.
  World u;
  echo::NodeSpec spec;
  spec.time = 0;
  const std::vector<Attribute> attrs = {{u.intern("carries"), Value::of(2.0)}};
  spec.attributes = attrs;
  const NodeId id = u.append(0, spec);
  const std::string msg2 = error_of([&] { observations_of(u, 0, umbrella_mapping()); }, Error::Kind::InvalidArgument);
  std::string quoted = u.node_name(id);  // appended, not "'" + name: GCC 12's -Wrestrict misfires on that
  quoted.insert(quoted.begin(), '\'');
  quoted.push_back('\'');
  EXPECT_TRUE(contains(msg2, quoted)) << msg2;
  EXPECT_TRUE(contains(msg2, "value '2'")) << msg2;
}

TEST(BridgeTimeline, UnknownBranchIsAnError) {
  World w;
  add_day(w, 0, 1, "umbrella");
  error_of([&] { observations_of(w, 7, umbrella_mapping()); }, Error::Kind::InvalidArgument);
}

// ----------------------------------------------------------- branch_posteriors

TEST(BridgeTimeline, PosteriorsMatchDirectLikelihoodsAndPriors) {
  World w;
  add(w, 0, 0, {}, 1.0, "wake");
  add_day(w, 0, 1, "umbrella");
  const NodeId d2 = add_day(w, 0, 2, "umbrella");
  add_day(w, 0, 3, "umbrella");
  add_day(w, 0, 4, "umbrella");
  const BranchId dry = w.fork(0, d2, "dry");
  add_day(w, dry, 3, "none", 0.4);
  add_day(w, dry, 4, "none", 0.5);
  const BranchId mixed = w.fork(0, d2, "mixed");
  add_day(w, mixed, 3, "none", 0.9);
  add_day(w, mixed, 4, "umbrella");

  const Hmm hmm = umbrella();
  const std::vector<BranchBelief> beliefs =
      branch_posteriors(w, {0, dry, mixed}, hmm.chain(), umbrella_mapping(), compile_with(hmm));
  ASSERT_EQ(beliefs.size(), 3u);

  const double ll_main = direct_log_likelihood(hmm, {"yes", "yes", "yes", "yes"});
  const double ll_dry = direct_log_likelihood(hmm, {"yes", "yes", "no", "no"});
  const double ll_mixed = direct_log_likelihood(hmm, {"yes", "yes", "no", "yes"});
  const double w_main = std::exp(ll_main), w_dry = 0.4 * 0.5 * std::exp(ll_dry), w_mixed = 0.9 * std::exp(ll_mixed);
  const double total = w_main + w_dry + w_mixed;

  EXPECT_EQ(beliefs[0].branch, 0u);
  EXPECT_EQ(beliefs[1].branch, dry);
  EXPECT_EQ(beliefs[2].branch, mixed);
  EXPECT_NEAR(beliefs[0].log_likelihood, ll_main, 1e-12);
  EXPECT_NEAR(beliefs[1].log_likelihood, ll_dry, 1e-12);
  EXPECT_NEAR(beliefs[2].log_likelihood, ll_mixed, 1e-12);
  EXPECT_DOUBLE_EQ(beliefs[0].log_prior, 0.0);
  EXPECT_NEAR(beliefs[1].log_prior, std::log(0.4 * 0.5), 1e-12);
  EXPECT_NEAR(beliefs[2].log_prior, std::log(0.9), 1e-12);
  EXPECT_NEAR(beliefs[0].posterior, w_main / total, 1e-12);
  EXPECT_NEAR(beliefs[1].posterior, w_dry / total, 1e-12);
  EXPECT_NEAR(beliefs[2].posterior, w_mixed / total, 1e-12);
  EXPECT_NEAR(beliefs[0].posterior + beliefs[1].posterior + beliefs[2].posterior, 1.0, 1e-12);

  // A subset is normalised over itself.
  const std::vector<BranchBelief> two =
      branch_posteriors(w, {mixed, dry}, hmm.chain(), umbrella_mapping(), compile_with(hmm));
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NEAR(two[0].posterior, w_mixed / (w_mixed + w_dry), 1e-12);
  EXPECT_NEAR(two[1].posterior, w_dry / (w_mixed + w_dry), 1e-12);
}

TEST(BridgeTimeline, NodeProbabilitiesActAsPriors) {
  // Equal observations on both branches: the posteriors are the priors, normalised.
  World w;
  const NodeId d1 = add_day(w, 0, 1, "umbrella");
  const BranchId a = w.fork(0, d1, "a");
  add_day(w, a, 2, "none", 0.3);
  add_day(w, a, 3, "umbrella", 0.5);
  const BranchId b = w.fork(0, d1, "b");
  add_day(w, b, 2, "none", 0.6);
  add_day(w, b, 3, "umbrella", 1.0);
  // A branch of a branch: its prior counts what it shares with a after main.
  const BranchId c = w.fork(a, w.timeline(a)[1].id, "c");
  add_day(w, c, 3, "umbrella", 0.2);

  const Hmm hmm = umbrella();
  const std::vector<BranchBelief> beliefs =
      branch_posteriors(w, {a, b, c}, hmm.chain(), umbrella_mapping(), compile_with(hmm));
  const double pa = 0.3 * 0.5, pb = 0.6, pc = 0.3 * 0.2;
  EXPECT_NEAR(beliefs[0].log_prior, std::log(pa), 1e-12);
  EXPECT_NEAR(beliefs[2].log_prior, std::log(pc), 1e-12);
  EXPECT_NEAR(beliefs[0].log_likelihood, beliefs[1].log_likelihood, 1e-12);
  EXPECT_NEAR(beliefs[0].posterior, pa / (pa + pb + pc), 1e-12);
  EXPECT_NEAR(beliefs[1].posterior, pb / (pa + pb + pc), 1e-12);
  EXPECT_NEAR(beliefs[2].posterior, pc / (pa + pb + pc), 1e-12);

  // Main's own nodes count 1, whatever their probability field says.
  World v;
  add_day(v, 0, 1, "umbrella", 0.1);
  const std::vector<BranchBelief> only_main =
      branch_posteriors(v, {0}, hmm.chain(), umbrella_mapping(), compile_with(hmm));
  EXPECT_DOUBLE_EQ(only_main[0].log_prior, 0.0);
  EXPECT_DOUBLE_EQ(only_main[0].posterior, 1.0);
}

TEST(BridgeTimeline, ImpossibleObservationsGetPosteriorZero) {
  World w;
  const NodeId d1 = add_day(w, 0, 1, "umbrella");
  add_day(w, 0, 2, "umbrella");
  const BranchId bad = w.fork(0, d1, "bad");
  add_day(w, bad, 2, "none", 0.99);
  const Hmm hmm = always_rain();
  const std::vector<BranchBelief> beliefs =
      branch_posteriors(w, {bad, 0}, hmm.chain(), umbrella_mapping(), compile_with(hmm));
  EXPECT_EQ(beliefs[0].posterior, 0.0);
  EXPECT_TRUE(std::isinf(beliefs[0].log_likelihood) && beliefs[0].log_likelihood < 0);
  EXPECT_EQ(beliefs[1].posterior, 1.0);
  EXPECT_NEAR(beliefs[1].log_likelihood, 0.0, 1e-12);

  // A prior of zero too.
  const BranchId never = w.fork(0, d1, "never");
  add_day(w, never, 2, "umbrella", 0.0);
  const std::vector<BranchBelief> with_never =
      branch_posteriors(w, {never, 0}, hmm.chain(), umbrella_mapping(), compile_with(hmm));
  EXPECT_EQ(with_never[0].posterior, 0.0);
  EXPECT_EQ(with_never[1].posterior, 1.0);

  const std::string msg = error_of(
      [&] {
        branch_posteriors(w, {bad, never}, hmm.chain(), umbrella_mapping(), compile_with(hmm));
      },
      Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(msg, "every branch is impossible")) << msg;
  EXPECT_TRUE(contains(msg, "'bad'") && contains(msg, "'never'")) << msg;
}

TEST(BridgeTimeline, InputErrorsAreNotTakenForImpossibility) {
  World w;
  add_day(w, 0, 1, "umbrella");
  const Hmm hmm = umbrella();
  const Compile out_of_range = [&hmm](const std::vector<std::vector<std::string>>& steps) {
    return std::make_pair(hmm.likelihoods(), std::vector<std::uint32_t>(steps.size(), 99));
  };
  std::string msg = error_of([&] { branch_posteriors(w, {0}, hmm.chain(), umbrella_mapping(), out_of_range); },
                             Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(msg, "branch 'main'") && contains(msg, "row 99")) << msg;

  const Compile wrong_width = [](const std::vector<std::vector<std::string>>& steps) {
    Likelihoods l;
    l.states = 3;
    l.rows.assign(3, 1.0);
    return std::make_pair(l, std::vector<std::uint32_t>(steps.size(), 0));
  };
  msg = error_of([&] { branch_posteriors(w, {0}, hmm.chain(), umbrella_mapping(), wrong_width); },
                 Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(msg, "3 entries")) << msg;

  msg = error_of([&] { branch_posteriors(w, {}, hmm.chain(), umbrella_mapping(), compile_with(hmm)); },
                 Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(msg, "no branches")) << msg;

  // Errors of compile itself (an unknown symbol) pass through.
  Mapping identity;
  identity.maps.push_back({"carries", "Umbrella", {}});
  msg = error_of([&] { branch_posteriors(w, {0}, hmm.chain(), identity, compile_with(hmm)); },
                 Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(msg, "unknown symbol 'umbrella'")) << msg;
}

TEST(BridgeTimeline, LongBranchesStayFiniteAndNormalised) {
  // ln P of a few thousand days is far below the smallest double's log: the
  // softmax must subtract the maximum.
  World w;
  const NodeId start = add_day(w, 0, 0, "umbrella");
  const BranchId alt = w.fork(0, start, "alt");
  for (int t = 1; t <= 3000; ++t) {
    add_day(w, 0, t, t % 3 == 0 ? "none" : "umbrella");
    add_day(w, alt, t, t % 2 == 0 ? "none" : "umbrella", t == 1 ? 0.5 : 1.0);
  }
  const Hmm hmm = umbrella();
  const std::vector<BranchBelief> beliefs =
      branch_posteriors(w, {0, alt}, hmm.chain(), umbrella_mapping(), compile_with(hmm));
  EXPECT_LT(beliefs[0].log_likelihood, -800);
  const double diff = (beliefs[1].log_prior + beliefs[1].log_likelihood) - beliefs[0].log_likelihood;
  EXPECT_NEAR(beliefs[1].posterior, 1.0 / (1.0 + std::exp(-diff)), 1e-12);
  EXPECT_NEAR(beliefs[0].posterior + beliefs[1].posterior, 1.0, 1e-12);
  EXPECT_TRUE(std::isfinite(beliefs[0].posterior) && std::isfinite(beliefs[1].posterior));
}

// ----------------------------------------------------------- data files

TEST(BridgeTimeline, DataFilesGivePosteriorsSummingToOne) {
  const World w = echo::load_world(data_path("umbrella_days.json"));
  const Mapping m = load_mapping(data_path("umbrella_mapping.json"));
  ASSERT_EQ(m.maps.size(), 1u);
  EXPECT_EQ(m.maps[0].attribute, "carries");
  EXPECT_EQ(m.maps[0].variable, "Umbrella");
  EXPECT_EQ(m.maps[0].values, (std::vector<std::pair<std::string, std::string>>{{"umbrella", "yes"}, {"none", "no"}}));

  const auto dry = w.find_branch("dry_spell"), showers = w.find_branch("showers");
  ASSERT_TRUE(dry && showers);
  EXPECT_EQ(observations_of(w, 0, m).steps,
            (std::vector<std::vector<std::string>>{{"yes"}, {"yes"}, {"yes"}, {"no"}, {"yes"}}));
  EXPECT_EQ(observations_of(w, *dry, m).steps,
            (std::vector<std::vector<std::string>>{{"yes"}, {"yes"}, {"no"}, {"no"}, {"no"}}));
  EXPECT_EQ(observations_of(w, *showers, m).steps,
            (std::vector<std::vector<std::string>>{{"yes"}, {"yes"}, {"yes"}, {"yes"}, {"yes"}}));

  const Hmm hmm = umbrella();
  const std::vector<BranchBelief> beliefs =
      branch_posteriors(w, {0, *dry, *showers}, hmm.chain(), m, compile_with(hmm));
  const double w0 = std::exp(direct_log_likelihood(hmm, {"yes", "yes", "yes", "no", "yes"}));
  const double w1 = 0.6 * 0.8 * 0.9 * std::exp(direct_log_likelihood(hmm, {"yes", "yes", "no", "no", "no"}));
  const double w2 = 0.5 * 0.7 * std::exp(direct_log_likelihood(hmm, {"yes", "yes", "yes", "yes", "yes"}));
  const double total = w0 + w1 + w2;
  EXPECT_NEAR(beliefs[0].posterior, w0 / total, 1e-12);
  EXPECT_NEAR(beliefs[1].posterior, w1 / total, 1e-12);
  EXPECT_NEAR(beliefs[2].posterior, w2 / total, 1e-12);
  EXPECT_NEAR(beliefs[0].posterior + beliefs[1].posterior + beliefs[2].posterior, 1.0, 1e-12);
}

// ----------------------------------------------------------- the mapping reader

TEST(BridgeTimeline, ParseMappingReadsEntriesInOrder) {
  const Mapping m = parse_mapping(
      R"({"mapping": [{"attribute": "carries", "variable": "Umbrella", "values": {"umbrella": "yes", "none": "no"}},
                      {"variable": "Temp", "attribute": "temp"}]})");
  ASSERT_EQ(m.maps.size(), 2u);
  EXPECT_EQ(m.maps[0].attribute, "carries");
  EXPECT_EQ(m.maps[0].values.size(), 2u);
  EXPECT_EQ(m.maps[1].attribute, "temp");
  EXPECT_EQ(m.maps[1].variable, "Temp");
  EXPECT_TRUE(m.maps[1].values.empty());
}

TEST(BridgeTimeline, MalformedMappingsNameLineAndColumn) {
  const auto msg = [](const std::string& text) {
    return error_of([&] { parse_mapping(text, "m.json"); }, Error::Kind::Format);
  };
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {"[1]", "m.json:1:1: expected an object"},
      {"{\"mapping\": [], \"extra\": 1}", "m.json:1:17: unknown key \"extra\""},
      {"{}", "m.json:1:1: missing \"mapping\""},
      {"{\"mapping\": 5}", "m.json:1:13: mapping: expected a list, found a number"},
      {"{\"mapping\": []}", "m.json:1:13: mapping: the list must map at least one attribute"},
      {"{\"mapping\": [\"carries\"]}", "m.json:1:14: mapping[0]: expected an object"},
      {"{\"mapping\": [\n  {\"attribute\": \"a\", \"variable\": \"V\", \"value\": {}}]}",
       "m.json:2:39: mapping[0]: unknown key \"value\""},
      {"{\"mapping\": [\n  {\"variable\": \"V\"}]}", "m.json:2:3: mapping[0]: missing \"attribute\""},
      {"{\"mapping\": [{\"attribute\": \"a\"}]}", "m.json:1:14: mapping[0]: missing \"variable\""},
      {"{\"mapping\": [{\"attribute\": 3, \"variable\": \"V\"}]}",
       "m.json:1:28: mapping[0]: \"attribute\" must be a text, found a number"},
      {"{\"mapping\": [{\"attribute\": \"a\", \"variable\": \"\"}]}",
       "m.json:1:45: mapping[0]: \"variable\" must not be empty"},
      {"{\"mapping\": [{\"attribute\": \"a\", \"variable\": \"V\", \"values\": [\"x\"]}]}",
       "m.json:1:60: mapping[0]: \"values\" must be an object"},
      {"{\"mapping\": [{\"attribute\": \"a\", \"variable\": \"V\",\n \"values\": {\"x\": \"s\", \"y\": 1}}]}",
       "m.json:2:28: mapping[0]: values[\"y\"] must be a state name (a text), found a number"},
      {"{\"mapping\": [{\"attribute\": \"a\", \"variable\": \"V\",\n \"values\": {\"x\": \"\"}}]}",
       "m.json:2:18: mapping[0]: values[\"x\"]: a state name must not be empty"},
      {"{\"mapping\": [{\"attribute\": \"a\", \"variable\": \"V\"},\n {\"attribute\": \"a\", \"variable\": \"W\"}]}",
       "m.json:2:16: mapping[1]: attribute \"a\" is already mapped by mapping[0]"},
      {"{\"mapping\": [{\"attribute\": \"a\", \"variable\": \"V\"},\n {\"attribute\": \"b\", \"variable\": \"V\"}]}",
       "m.json:2:33: mapping[1]: variable \"V\" is already mapped by mapping[0]"},
      {"{\"mapping\": [{\"attribute\": \"a\", \"attribute\": \"b\", \"variable\": \"V\"}]}", "m.json:1:33: "},
      {"{\"mapping\": [{\"attribute\": \"a\",}]}", "m.json:1:32: invalid JSON"},
  };
  for (const Case& c : cases) {
    const std::string m = msg(c.text);
    EXPECT_TRUE(contains(m, c.expected)) << "text: " << c.text << "\nmessage: " << m << "\nexpected: " << c.expected;
  }
}

TEST(BridgeTimeline, LoadMappingOfAMissingFileIsAnIoError) {
  const std::string msg = error_of([] { load_mapping(data_path("no_such_mapping.json")); }, Error::Kind::Io);
  EXPECT_TRUE(contains(msg, "no_such_mapping.json")) << msg;
}

}  // namespace
}  // namespace miso::bridge
