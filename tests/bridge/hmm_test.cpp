// Hidden Markov models: the umbrella file's exact values, exact JSON round
// trips of random models, the likelihood layout entry by entry, observation
// names to rows, and the JSON reader's errors, each checked for the field it
// names and the line:column it points at.
#include "miso/bridge/hmm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../error_of.hpp"
#include "bridge_test_support.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"

namespace miso::bridge {
namespace {

using testing::contains;
using testing::data_path;

using miso::testing::error_of;

Hmm umbrella() { return testing::umbrella(); }

void expect_same(const Hmm& a, const Hmm& b) {
  EXPECT_EQ(a.states, b.states);
  EXPECT_EQ(a.symbols, b.symbols);
  EXPECT_EQ(a.initial, b.initial);  // exact: vector<double> ==
  EXPECT_EQ(a.transition, b.transition);
  EXPECT_EQ(a.emission, b.emission);
}

// ---------------------------------------------------------------- the umbrella file

TEST(BridgeHmm, UmbrellaFileLoadsWithExactValues) {
  const Hmm h = load_hmm(data_path("umbrella.json"));
  expect_same(h, umbrella());
  EXPECT_NO_THROW(h.validate());
}

TEST(BridgeHmm, UmbrellaFileIsTheMinimalFormToJsonWrites) {
  EXPECT_EQ(to_json(umbrella()), core::read_file(data_path("umbrella.json")));
}

TEST(BridgeHmm, IntegersAreProbabilities) {
  const Hmm h = parse_hmm_json(
      R"({"hmm": {"states": ["a", "b"], "symbols": ["x"], "initial": [1, 0],
                  "transition": [[0, 1], [1, 0]], "emission": [[1], [1.0]]}})");
  EXPECT_EQ(h.initial, (std::vector<double>{1, 0}));
  EXPECT_EQ(h.transition, (std::vector<double>{0, 1, 1, 0}));
  EXPECT_EQ(h.emission, (std::vector<double>{1, 1}));
}

TEST(BridgeHmm, RowSumsWithinTheToleranceAreAccepted) {
  Hmm h = umbrella();
  h.transition = {0.7 + 5e-10, 0.3, 0.3, 0.7 - 5e-10};
  EXPECT_NO_THROW(h.validate());
  EXPECT_NO_THROW(parse_hmm_json(to_json(h)));
  h.transition[0] = 0.7 + 2e-9;
  EXPECT_TRUE(contains(error_of([&] { h.validate(); }, Error::Kind::InvalidArgument), "hmm.transition[0]: row sums"));
}

// ---------------------------------------------------------------- random round trips

// A random row summing to 1 within a few ulps: sometimes one 1, sometimes zeros and tiny values.
std::vector<double> random_row(std::mt19937_64& rng, std::size_t n) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> row(n);
  const int style = static_cast<int>(rng() % 4);
  if (style == 0) {
    row[rng() % n] = 1.0;
    return row;
  }
  double sum = 0;
  for (double& x : row) {
    x = u(rng);
    if (style == 1 && rng() % 3 == 0) x = 0;
    if (style == 2 && rng() % 3 == 0) x = 1e-300 * u(rng);
    sum += x;
  }
  if (sum == 0) {
    row[0] = 1.0;
    return row;
  }
  for (double& x : row) x /= sum;
  return row;
}

std::string random_name(std::mt19937_64& rng, const std::string& prefix, std::size_t i) {
  // Names that need escaping in JSON, and non-ASCII ones.
  static const std::vector<std::string> extras = {
      "", "\"q\"", "back\\slash", "tab\there", "\xC3\xA9t\xC3\xA9", "\xE6\x97\xA5", "a,b", " spaced "};
  return prefix + std::to_string(i) + extras[rng() % extras.size()];
}

Hmm random_hmm(std::mt19937_64& rng) {
  const std::size_t s_count = 1 + rng() % 6, o_count = 1 + rng() % 6;
  Hmm h;
  for (std::size_t s = 0; s < s_count; ++s) h.states.push_back(random_name(rng, "s", s));
  for (std::size_t o = 0; o < o_count; ++o) h.symbols.push_back(random_name(rng, "o", o));
  h.initial = random_row(rng, s_count);
  for (std::size_t s = 0; s < s_count; ++s) {
    const std::vector<double> t = random_row(rng, s_count), e = random_row(rng, o_count);
    h.transition.insert(h.transition.end(), t.begin(), t.end());
    h.emission.insert(h.emission.end(), e.begin(), e.end());
  }
  return h;
}

TEST(BridgeHmm, RandomModelsRoundTripExactly) {
  std::mt19937_64 rng(20240611);
  for (int trial = 0; trial < 300; ++trial) {
    const Hmm h = random_hmm(rng);
    ASSERT_NO_THROW(h.validate()) << "trial " << trial;
    const std::string text = to_json(h);
    const Hmm back = parse_hmm_json(text, "round.json");
    expect_same(back, h);
    EXPECT_EQ(to_json(back), text);  // and the text is stable
  }
}

// ---------------------------------------------------------------- chain and likelihoods

TEST(BridgeHmm, ChainCopiesStatesInitialAndTransition) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const Hmm h = random_hmm(rng);
    const Chain c = h.chain();
    EXPECT_EQ(c.states, h.states);
    EXPECT_EQ(c.initial, h.initial);
    EXPECT_EQ(c.transition, h.transition);
    EXPECT_EQ(c.size(), h.states.size());
  }
}

TEST(BridgeHmm, LikelihoodRowsAreEmissionColumnsThenOnes) {
  const Likelihoods u = umbrella().likelihoods();
  EXPECT_EQ(u.states, 2u);
  EXPECT_EQ(u.count(), 3u);
  EXPECT_EQ(u.rows, (std::vector<double>{0.9, 0.2, 0.1, 0.8, 1.0, 1.0}));

  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    const Hmm h = random_hmm(rng);
    const std::size_t s_count = h.states.size(), o_count = h.symbols.size();
    const Likelihoods l = h.likelihoods();
    ASSERT_EQ(l.states, s_count);
    ASSERT_EQ(l.count(), o_count + 1);
    ASSERT_EQ(l.rows.size(), (o_count + 1) * s_count);
    for (std::uint32_t k = 0; k <= o_count; ++k) {
      const auto row = l.row(k);
      ASSERT_EQ(row.size(), s_count);
      for (std::size_t s = 0; s < s_count; ++s) {
        const double want = k < o_count ? h.emission[s * o_count + k] : 1.0;
        EXPECT_EQ(row[s], want) << "symbol " << k << " state " << s;
        EXPECT_EQ(l.rows[k * s_count + s], want);
      }
    }
  }
}

TEST(BridgeHmm, ChainAndLikelihoodsRefuseAnInvalidModel) {
  Hmm h = umbrella();
  h.emission.pop_back();
  EXPECT_TRUE(contains(error_of([&] { (void)h.likelihoods(); }, Error::Kind::InvalidArgument), "hmm.emission"));
  h = umbrella();
  h.transition[1] = 0.5;
  EXPECT_TRUE(contains(error_of([&] { (void)h.chain(); }, Error::Kind::InvalidArgument),
                       "hmm.transition[0]: row sums to 1.2, not 1"));
}

// ---------------------------------------------------------------- observations

TEST(BridgeHmm, ObservationsMapNamesToRows) {
  const Hmm h = umbrella();
  EXPECT_EQ(h.observations({"umbrella", "?", "none", "umbrella"}), (std::vector<std::uint32_t>{0, 2, 1, 0}));
  EXPECT_TRUE(h.observations({}).empty());
  EXPECT_EQ(h.observations({"?", "?"}), (std::vector<std::uint32_t>{2, 2}));
}

TEST(BridgeHmm, UnknownObservationIsNamedWithItsPosition) {
  const Hmm h = umbrella();
  const std::string m = error_of(
      [&] {
        (void)h.observations({"umbrella", "none", "parasol"});
      },
      Error::Kind::InvalidArgument);
  EXPECT_TRUE(contains(m, "observation 3")) << m;
  EXPECT_TRUE(contains(m, "'parasol'")) << m;
  EXPECT_TRUE(contains(m, "'umbrella'")) << m;
  EXPECT_TRUE(contains(m, "'none'")) << m;
  EXPECT_TRUE(contains(m, "'?'")) << m;
  // Names are matched exactly: no trimming, no case folding.
  EXPECT_TRUE(contains(error_of([&] { (void)h.observations({"Umbrella"}); }, Error::Kind::InvalidArgument),
                       "observation 1: unknown symbol 'Umbrella'"));
  EXPECT_TRUE(contains(error_of(
                           [&] {
                             (void)h.observations({"none", " none"});
                           },
                           Error::Kind::InvalidArgument),
                       "observation 2: unknown symbol ' none'"));
}

TEST(BridgeHmm, SplitObservations) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_observations("umbrella,none,?"), (V{"umbrella", "none", "?"}));
  EXPECT_EQ(split_observations(" umbrella ,\tnone , ? "), (V{"umbrella", "none", "?"}));
  EXPECT_EQ(split_observations("a b, c"), (V{"a b", "c"}));  // inner spaces are kept
  EXPECT_EQ(split_observations("one"), (V{"one"}));
  EXPECT_EQ(split_observations(""), V{});
  EXPECT_EQ(split_observations("   "), V{});
  const std::vector<std::pair<const char*, const char*>> bad = {
      {"a,,b", "observation 2 is empty"},  {"a,b,", "observation 3 is empty"}, {",a", "observation 1 is empty"},
      {"a, ,b", "observation 2 is empty"}, {",", "observation 1 is empty"},    {"x,y,z,  ,w", "observation 4 is empty"},
  };
  for (const auto& [text, want] : bad) {
    const std::string m = error_of([&] { (void)split_observations(text); }, Error::Kind::InvalidArgument);
    EXPECT_TRUE(contains(m, want)) << text << " -> " << m;
  }
  // Split then map: the whole path from a command line to rows.
  EXPECT_EQ(umbrella().observations(split_observations("umbrella, umbrella, ?, none")),
            (std::vector<std::uint32_t>{0, 0, 2, 1}));
}

// ---------------------------------------------------------------- validate

TEST(BridgeHmm, ValidateNamesTheField) {
  struct Case {
    void (*edit)(Hmm&);
    const char* want;
  };
  const std::vector<Case> cases = {
      {[](Hmm& h) { h.states.clear(); }, "hmm.states: there must be at least one state"},
      {[](Hmm& h) { h.symbols.clear(); }, "hmm.symbols: there must be at least one symbol"},
      {[](Hmm& h) { h.states[1].clear(); }, "hmm.states[1]: a name must not be empty"},
      {[](Hmm& h) { h.symbols[1] = "umbrella"; }, "hmm.symbols[1]: duplicate name 'umbrella' (also hmm.symbols[0])"},
      {[](Hmm& h) { h.symbols[0].assign(1, '?'); }, "hmm.symbols[0]: '?' is reserved"},
      {[](Hmm& h) { h.initial.push_back(0); }, "hmm.initial: has 3 entries, expected 2"},
      {[](Hmm& h) { h.transition.pop_back(); }, "hmm.transition: has 3 entries, expected 4"},
      {[](Hmm& h) {
         h.emission = {1, 1};
       },
       "hmm.emission: has 2 entries, expected 4"},
      {[](Hmm& h) {
         h.initial = {1.5, -0.5};
       },
       "hmm.initial[1]: a probability must be >= 0, found -0.5"},
      {[](Hmm& h) { h.transition[2] = std::numeric_limits<double>::quiet_NaN(); },
       "hmm.transition[1][0]: a probability must be finite"},
      {[](Hmm& h) { h.emission[3] = std::numeric_limits<double>::infinity(); },
       "hmm.emission[1][1]: a probability must be finite, found inf"},
      {[](Hmm& h) {
         h.transition = {0.7, 0.3, 0.5, 0.7};
       },
       "hmm.transition[1]: row sums to 1.2, not 1"},
      {[](Hmm& h) {
         h.emission = {0.9, 0.1, 0.5, 0.25};
       },
       "hmm.emission[1]: row sums to 0.75, not 1"},
      {[](Hmm& h) {
         h.initial = {0.5, 0.4};
       },
       "hmm.initial: sums to 0.9, not 1"},
  };
  for (const Case& c : cases) {
    Hmm h = umbrella();
    c.edit(h);
    const std::string m = error_of([&] { h.validate(); }, Error::Kind::InvalidArgument);
    EXPECT_TRUE(contains(m, c.want)) << m;
    // to_json refuses what validate refuses.
    EXPECT_TRUE(contains(error_of([&] { (void)to_json(h); }, Error::Kind::InvalidArgument), c.want));
  }
}

// ---------------------------------------------------------------- malformed JSON

// The umbrella model as the file writes it; cases edit it.
constexpr const char* kGood = R"({
  "hmm": {
    "states": ["rain", "dry"],
    "symbols": ["umbrella", "none"],
    "initial": [0.5, 0.5],
    "transition": [
      [0.7, 0.3],
      [0.3, 0.7]
    ],
    "emission": [
      [0.9, 0.1],
      [0.2, 0.8]
    ]
  }
})";

std::string replaced(const std::string& from, const std::string& to) {
  std::string text = kGood;
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// line:column of the '`' in `marked` (the test's oracle for where the error points).
std::string marked_position(const std::string& marked) {
  const std::size_t at = marked.find('`');
  int line = 1, column = 1;
  for (std::size_t i = 0; i < at; ++i) {
    if (marked[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

std::string unmarked(std::string marked) {
  marked.erase(marked.find('`'), 1);
  return marked;
}

TEST(BridgeHmm, MalformedJsonNamesTheFieldAndThePosition) {
  struct Case {
    std::string marked;  // the text, with '`' where the error must point
    std::string want;    // the message after "bad.json:L:C: "
  };
  const std::vector<Case> cases = {
      // wrapper
      {"`[1, 2]", "expected an object {\"hmm\": {...}}, found a list"},
      {"  `{}", "missing \"hmm\""},
      {"{\n  `\"model\": {}\n}", "unknown key \"model\" (the file must be {\"hmm\": {...}})"},
      {replaced("\n  }\n}", "\n  },\n  `\"version\": 1\n}"), "unknown key \"version\""},
      {"{\"hmm\": `[]}", "hmm: expected an object, found a list"},
      {"{\"hmm\": `\"umbrella\"}", "hmm: expected an object, found a text"},
      // fields present and known
      {R"({"hmm": `{"states": ["a"], "symbols": ["x"],
  "initial": [1], "transition": [[1]]}})",
       "hmm: missing \"emission\""},
      {replaced("    \"initial\"", "    `\"prior\": [1, 0],\n    \"initial\""),
       "hmm: unknown key \"prior\" (expected states, symbols, initial, transition, emission)"},
      // names
      {replaced("[\"rain\", \"dry\"]", "`\"rain\""), "hmm.states: expected a list of names, found a text"},
      {replaced("[\"rain\", \"dry\"]", "[\"rain\", `3]"), "hmm.states[1]: a name must be a text, found a number"},
      {replaced("[\"rain\", \"dry\"]", "`[]"), "hmm.states: there must be at least one state"},
      {replaced("[\"umbrella\", \"none\"]", "`[]"), "hmm.symbols: there must be at least one symbol"},
      {replaced("[\"rain\", \"dry\"]", "[\"rain\", `\"\"]"), "hmm.states[1]: a name must not be empty"},
      {replaced("[\"rain\", \"dry\"]", "[\"rain\", `\"rain\"]"),
       "hmm.states[1]: duplicate name 'rain' (also hmm.states[0])"},
      {replaced("[\"umbrella\", \"none\"]", "[\"none\", `\"none\"]"),
       "hmm.symbols[1]: duplicate name 'none' (also hmm.symbols[0])"},
      {replaced("[\"umbrella\", \"none\"]", "[\"umbrella\", `\"?\"]"), "hmm.symbols[1]: '?' is reserved"},
      // lengths
      {replaced("[0.5, 0.5]", "`[1]"), "hmm.initial: has 1 entries, expected 2 (one per state)"},
      {replaced("\"initial\": [0.5, 0.5]", "\"initial\": `{\"rain\": 0.5}"),
       "hmm.initial: expected a list of numbers, found an object"},
      {replaced("[\n      [0.7, 0.3],\n      [0.3, 0.7]\n    ]", "`[\n      [1, 0]\n    ]"),
       "hmm.transition: has 1 rows, expected 2 (one per state)"},
      {replaced("[0.9, 0.1]", "`[0.9, 0.05, 0.05]"), "hmm.emission[0]: has 3 entries, expected 2 (one per symbol)"},
      {replaced("[0.3, 0.7]", "`0.3"), "hmm.transition[1]: expected a list of numbers, found a number"},
      // values
      {replaced("[0.7, 0.3]", "[0.7, `\"0.3\"]"), "hmm.transition[0][1]: a probability must be a number, found a text"},
      {replaced("[0.2, 0.8]", "[`null, 0.8]"), "hmm.emission[1][0]: a probability must be a number, found null"},
      {replaced("[0.5, 0.5]", "[0.5, `true]"), "hmm.initial[1]: a probability must be a number, found a boolean"},
      {replaced("[0.5, 0.5]", "[`-0.5, 1.5]"), "hmm.initial[0]: a probability must be >= 0, found -0.5"},
      {replaced("[0.9, 0.1]", "[1.1, `-0.1]"), "hmm.emission[0][1]: a probability must be >= 0, found -0.1"},
      {replaced("[0.5, 0.5]", "`[0.5, 0.4]"), "hmm.initial: sums to 0.9, not 1"},
      {replaced("[0.3, 0.7]", "`[0.5, 0.7]"), "hmm.transition[1]: row sums to 1.2, not 1"},
      {replaced("[0.2, 0.8]", "`[0, 0]"), "hmm.emission[1]: row sums to 0, not 1"},
      // syntax
      {replaced("[0.7, 0.3]", "[0.7 0.`3]"), "invalid JSON: syntax error while parsing array"},
      {replaced("[0.3, 0.7]", "[0.3, 0.7,`]"), "invalid JSON: syntax error while parsing value"},
      {"`", "invalid JSON: syntax error while parsing value - unexpected end of input"},
      {"{\"hmm\": {\"states\": [\"a\"]`", "invalid JSON"},
      {std::string(kGood) + "\n`x", "invalid JSON"},
      {replaced("[0.5, 0.5]", "[0.5, 1e40`0]"), "invalid JSON: number overflow parsing '1e400'"},
  };
  int checked = 0;
  for (const Case& c : cases) {
    const std::string text = unmarked(c.marked);
    const std::string m = error_of([&] { (void)parse_hmm_json(text, "bad.json"); }, Error::Kind::Format);
    const std::string want = "bad.json:" + marked_position(c.marked) + ": " + c.want;
    EXPECT_EQ(m.substr(0, want.size()), want) << "text:\n" << text << "\nmessage: " << m;
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(BridgeHmm, RepeatedKeyPointsAtTheSecond) {
  const std::string text =
      replaced("    \"initial\"", "    \"states\": [\"x\"],\n    \"initial\"");  // line 5, after two states lines
  const std::string m = error_of([&] { (void)parse_hmm_json(text, "dup.json"); }, Error::Kind::Format);
  EXPECT_EQ(m, "dup.json:5:5: hmm.states: key \"states\" appears twice in one object") << m;
}

TEST(BridgeHmm, MissingCommaPointsAtTheNextToken) {
  const std::string text = replaced("\"dry\"],", "\"dry\"]");
  const std::string m = error_of([&] { (void)parse_hmm_json(text, "c.json"); }, Error::Kind::Format);
  // The next line's key is where nlohmann notices (after reading the whole string).
  EXPECT_TRUE(contains(m, "c.json:4:")) << m;
  EXPECT_TRUE(contains(m, "invalid JSON: syntax error while parsing object")) << m;
}

TEST(BridgeHmm, DefaultSourceNameIsJson) {
  const std::string m = error_of([] { (void)parse_hmm_json("[]"); }, Error::Kind::Format);
  EXPECT_EQ(m.rfind("<json>:1:1: ", 0), 0u) << m;
}

// ---------------------------------------------------------------- files

TEST(BridgeHmm, LoadHmmOfAMissingFileIsAnIoErrorNamingThePath) {
  const std::string path = data_path("no_such_model.json");
  const std::string m = error_of([&] { (void)load_hmm(path); }, Error::Kind::Io);
  EXPECT_TRUE(contains(m, path)) << m;
}

TEST(BridgeHmm, LoadHmmLocatesErrorsInTheFile) {
  const std::filesystem::path path = std::filesystem::path(::testing::TempDir()) / "miso_bridge_hmm_bad.json";
  core::write_file_atomic(path, replaced("[0.3, 0.7]", "[0.3, -0.7]"));
  const std::string m = error_of([&] { (void)load_hmm(path); }, Error::Kind::Format);
  EXPECT_EQ(m.rfind(path.string() + ":8:13: hmm.transition[1][1]: a probability must be >= 0", 0), 0u) << m;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace miso::bridge
