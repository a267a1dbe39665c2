#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "approximate_test_support.hpp"
#include "miso/core/error.hpp"
#include "miso/qlogik/approximate.hpp"
#include "miso/qlogik/enumerate.hpp"
#include "miso/qlogik/inference.hpp"

namespace miso::qlogik {
namespace {

using approximate_testing::asia;
using approximate_testing::sprinkler;

// Debug + sanitizer builds run about 20 times slower: fewer samples there, with
// tolerances taken from the reported standard errors either way.
#ifdef NDEBUG
constexpr std::uint64_t kSamples = 200000;
#else
constexpr std::uint64_t kSamples = 40000;
#endif

// Every entry within 5 reported standard errors (plus 1e-3) of the exact value;
// observed variables exactly the indicator with standard error 0.
void expect_close(const Network& net, const Evidence& evidence, const ApproximatePosterior& got,
                  const std::vector<std::vector<double>>& exact) {
  ASSERT_EQ(got.marginals.size(), net.size());
  ASSERT_EQ(got.standard_error.size(), net.size());
  for (std::size_t v = 0; v < net.size(); ++v) {
    const auto& name = net.variable(static_cast<VarId>(v)).name;
    ASSERT_EQ(got.marginals[v].size(), exact[v].size()) << name;
    ASSERT_EQ(got.standard_error[v].size(), exact[v].size()) << name;
    for (std::size_t s = 0; s < got.marginals[v].size(); ++s) {
      const double se = got.standard_error[v][s];
      if (evidence[v] >= 0) {
        EXPECT_EQ(got.marginals[v][s], static_cast<int>(s) == evidence[v] ? 1.0 : 0.0) << name;
        EXPECT_EQ(se, 0.0) << name;
      } else {
        EXPECT_TRUE(std::isfinite(se)) << name;
        EXPECT_NEAR(got.marginals[v][s], exact[v][s], 5 * se + 1e-3) << name << " state " << s;
      }
    }
  }
}

// LW's P(e): the mean weight; its standard error is about p / sqrt(ESS).
void expect_p_evidence(const ApproximatePosterior& got, double exact) {
  ASSERT_GT(got.effective_samples, 0);
  EXPECT_NEAR(got.p_evidence, exact, 5 * got.p_evidence / std::sqrt(got.effective_samples));
}

TEST(LikelihoodWeighting, MatchesEnumerationOnAsiaWithEvidenceOnLeaves) {
  const Network net = asia();
  const Evidence ev = parse_evidence(net, "xray=yes, dysp=yes");
  const Enumeration exact = enumerate(net, ev);
  const ApproximatePosterior got = likelihood_weighting(net, ev, {kSamples, 7});
  expect_close(net, ev, got, exact.marginals);
  expect_p_evidence(got, exact.p_evidence);
  EXPECT_EQ(got.samples, kSamples);
  // Weights vary, so fewer effective samples than drawn, but not hopelessly few.
  EXPECT_LT(got.effective_samples, static_cast<double>(kSamples));
  EXPECT_GT(got.effective_samples, 0.05 * static_cast<double>(kSamples));
  EXPECT_GT(got.standard_error[static_cast<std::size_t>(net.id("lung"))][0], 0);
}

TEST(LikelihoodWeighting, WithoutEvidenceStandardErrorsAreBinomial) {
  const Network net = sprinkler();
  const std::uint64_t n = kSamples / 4;
  const ApproximatePosterior got = likelihood_weighting(net, no_evidence(net), {n, 3});
  const Enumeration exact = enumerate(net, no_evidence(net));
  expect_close(net, no_evidence(net), got, exact.marginals);
  EXPECT_EQ(got.p_evidence, 1.0);
  EXPECT_DOUBLE_EQ(got.effective_samples, static_cast<double>(n));
  for (std::size_t v = 0; v < net.size(); ++v) {
    for (std::size_t s = 0; s < 2; ++s) {
      const double p = got.marginals[v][s];
      EXPECT_NEAR(got.standard_error[v][s], std::sqrt(p * (1 - p) / static_cast<double>(n)), 1e-12);
    }
  }
}

TEST(LikelihoodWeighting, MatchesEnumerationOnRandomNetworks) {
  std::mt19937_64 rng(11);
  int checked = 0;
  while (checked < 6) {
    // DAGs with some zero probabilities, and polytrees whose ids are not a topological order.
    const Network net = checked % 2 == 0 ? approximate_testing::random_network(rng, 9, 3, 3, 0.1)
                                         : approximate_testing::random_polytree(rng, 9, 3, 0.1);
    const Evidence ev = approximate_testing::random_evidence(rng, net, 3);
    const Enumeration exact = enumerate(net, ev);
    if (exact.p_evidence < 1e-3) continue;  // too rare for a fixed budget
    SCOPED_TRACE(::testing::Message() << "network " << checked);
    const ApproximatePosterior got = likelihood_weighting(net, ev, {kSamples / 4, rng()});
    expect_close(net, ev, got, exact.marginals);
    expect_p_evidence(got, exact.p_evidence);
    ++checked;
  }
}

TEST(LikelihoodWeighting, MatchesTheJunctionTreeOnAlarm) {
  MISO_STANDARD_NETWORK_OR_SKIP(net, "alarm");
  const Evidence ev = parse_evidence(*net, "HRBP=HIGH, BP=LOW, CO=LOW");
  const Posterior exact = JunctionTree(*net).query(ev);
  const ApproximatePosterior got = likelihood_weighting(*net, ev, {kSamples, 8});
  expect_close(*net, ev, got, exact.marginals);
  expect_p_evidence(got, exact.p_evidence);
}

TEST(LikelihoodWeighting, SameSeedSameResultOtherSeedOtherResult) {
  const Network net = asia();
  const Evidence ev = parse_evidence(net, "dysp=no");
  const SamplingOptions options{3 * kSampleChunk + 17, 5};  // several chunks, the last one partial
  const ApproximatePosterior a = likelihood_weighting(net, ev, options);
  const ApproximatePosterior b = likelihood_weighting(net, ev, options);
  EXPECT_EQ(a.marginals, b.marginals);
  EXPECT_EQ(a.standard_error, b.standard_error);
  EXPECT_EQ(a.p_evidence, b.p_evidence);
  SamplingOptions other = options;
  other.seed = 6;
  EXPECT_NE(likelihood_weighting(net, ev, other).marginals, a.marginals);
}

TEST(LikelihoodWeighting, ImpossibleEvidenceGivesZeroWithInfiniteError) {
  const Network net = asia();
  const Evidence ev = parse_evidence(net, "tub=yes, either=no");
  ASSERT_EQ(enumerate(net, ev).p_evidence, 0.0);
  const ApproximatePosterior got = likelihood_weighting(net, ev, {1000, 1});
  EXPECT_EQ(got.p_evidence, 0.0);
  EXPECT_EQ(got.effective_samples, 0.0);
  for (std::size_t v = 0; v < net.size(); ++v) {
    for (std::size_t s = 0; s < 2; ++s) {
      EXPECT_EQ(got.marginals[v][s], 0.0);
      EXPECT_TRUE(std::isinf(got.standard_error[v][s]));
    }
  }
}

TEST(LikelihoodWeighting, RejectsBadInput) {
  const Network net = asia();
  auto expect_invalid = [](auto&& call, const std::string& needle) {
    try {
      call();
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_invalid([&] { likelihood_weighting(net, Evidence(3, -1)); }, "evidence");
  Evidence bad = no_evidence(net);
  bad[2] = 2;
  expect_invalid([&] { likelihood_weighting(net, bad); }, "smoke");
  expect_invalid([&] { likelihood_weighting(net, no_evidence(net), {0, 1}); }, "samples");
  expect_invalid([&] { gibbs_sampling(net, no_evidence(net), {0, 1}); }, "samples");
  expect_invalid([&] { gibbs_sampling(net, no_evidence(net), {10, 1, 0, 0}); }, "thin");
  expect_invalid([&] { gibbs_sampling(net, bad); }, "smoke");
  Network broken = asia();
  broken.set_cpt(broken.id("xray"), {broken.id("either")}, {0.5, 0.6, 0.05, 0.95});
  expect_invalid([&] { likelihood_weighting(broken, no_evidence(broken), {10, 1}); }, "xray");
  expect_invalid([&] { gibbs_sampling(broken, no_evidence(broken), {10, 1}); }, "xray");
  std::ostringstream sink;
  expect_invalid([&] { sample_csv(broken, 10, 1, sink); }, "xray");
  Network cyclic = asia();
  cyclic.set_cpt(cyclic.id("asia"), {cyclic.id("dysp")}, {0.5, 0.5, 0.5, 0.5});
  expect_invalid([&] { likelihood_weighting(cyclic, no_evidence(cyclic), {10, 1}); }, "cycle");
}

// asia with a noisy OR for `either`: single-site Gibbs cannot leave
// lung = tub = either = no under asia's deterministic OR (see approximate.hpp).
Network soft_asia() {
  Network net = asia();
  net.set_cpt(net.id("either"), {net.id("lung"), net.id("tub")}, {0.99, 0.01, 0.97, 0.03, 0.95, 0.05, 0.02, 0.98});
  return net;
}

TEST(GibbsSampling, MatchesEnumerationOnSoftAsia) {
  const Network net = soft_asia();
  const Evidence ev = parse_evidence(net, "xray=yes, dysp=yes, smoke=no");
  const ApproximatePosterior got = gibbs_sampling(net, ev, {kSamples / 2, 3, 500});
  expect_close(net, ev, got, enumerate(net, ev).marginals);
  EXPECT_TRUE(std::isnan(got.p_evidence));
  EXPECT_EQ(got.samples, kSamples / 2);
  EXPECT_GT(got.effective_samples, 0);
}

TEST(GibbsSampling, MatchesEnumerationOnRandomNetworks) {
  std::mt19937_64 rng(12);
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(::testing::Message() << "network " << i);
    // No zeros, so every chain mixes; polytrees have ids that are not a topological order.
    const Network net =
        i < 3 ? approximate_testing::random_network(rng, 9, 3, 3) : approximate_testing::random_polytree(rng, 9, 3);
    const Evidence ev = approximate_testing::random_evidence(rng, net, 3);
    const ApproximatePosterior got = gibbs_sampling(net, ev, {kSamples / 4, rng(), 200, i % 2 == 0 ? 1u : 3u});
    expect_close(net, ev, got, enumerate(net, ev).marginals);
  }
}

TEST(GibbsSampling, LargeMarkovBlanketIsSampledFromTheCpts) {
  // A 24-state hub with 14 binary children, 2 observed: its conditional over
  // the 12 unobserved children has 24 * 2^12 > kGibbsTableLimit entries, so it
  // is computed at each step rather than tabulated.
  std::mt19937_64 rng(13);
  Network net("hub");
  std::vector<std::string> states;
  for (int s = 0; s < 24; ++s) states.push_back(approximate_testing::numbered("h", static_cast<std::size_t>(s)));
  const VarId hub = net.add_variable("hub", states);
  net.set_cpt(hub, {}, approximate_testing::random_row(rng, 24, 0.0));
  for (int c = 0; c < 14; ++c) {
    const VarId child =
        net.add_variable(approximate_testing::numbered("c", static_cast<std::size_t>(c)), {"off", "on"});
    std::vector<double> table;
    for (int s = 0; s < 24; ++s) {
      const auto row = approximate_testing::random_row(rng, 2, 0.0);
      table.insert(table.end(), row.begin(), row.end());
    }
    net.set_cpt(child, {hub}, table);
  }
  static_assert(24 * (std::int64_t{1} << 12) > kGibbsTableLimit);
  const Evidence ev = parse_evidence(net, "c0=on, c1=off");
  const ApproximatePosterior got = gibbs_sampling(net, ev, {kSamples / 8, 4, 200});
  expect_close(net, ev, got, enumerate(net, ev).marginals);
}

TEST(GibbsSampling, SameSeedSameResult) {
  const Network net = sprinkler();
  const Evidence ev = parse_evidence(net, "WetGrass=true");
  const SamplingOptions options{5003, 9, 100, 2};  // chains of unequal length
  const ApproximatePosterior a = gibbs_sampling(net, ev, options);
  EXPECT_EQ(a.marginals, gibbs_sampling(net, ev, options).marginals);
  EXPECT_EQ(a.standard_error, gibbs_sampling(net, ev, options).standard_error);
  SamplingOptions other = options;
  other.seed = 10;
  EXPECT_NE(gibbs_sampling(net, ev, other).marginals, a.marginals);
}

TEST(GibbsSampling, ImpossibleEvidenceIsAnError) {
  const Network net = asia();
  try {
    gibbs_sampling(net, parse_evidence(net, "tub=yes, either=no"), {100, 1});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("consistent with the evidence"), std::string::npos) << e.what();
  }
}

TEST(GibbsSampling, EverythingObservedGivesTheIndicators) {
  const Network net = sprinkler();
  const Evidence ev = parse_evidence(net, "Cloudy=true, Sprinkler=false, Rain=true, WetGrass=true");
  const ApproximatePosterior got = gibbs_sampling(net, ev, {50, 1, 10});
  expect_close(net, ev, got, enumerate(net, ev).marginals);
}

// Over many seeds, the spread of an estimate matches the standard error the
// sampler reports (a ratio near 1; a wrong formula, or batch means ignoring
// autocorrelation, would be off by a large factor).
TEST(ApproximateInference, ReportedStandardErrorsMatchTheSpreadOverSeeds) {
  const Network net = soft_asia();
  const Evidence ev = parse_evidence(net, "xray=yes");
  const auto lung = static_cast<std::size_t>(net.id("lung"));
  for (bool gibbs : {false, true}) {
    SCOPED_TRACE(gibbs ? "gibbs" : "likelihood weighting");
    const int runs = 30;
    double sum = 0, sum2 = 0, se = 0;
    for (int r = 0; r < runs; ++r) {
      const SamplingOptions options{kSamples / 20, 100 + static_cast<std::uint64_t>(r), 200};
      const ApproximatePosterior got =
          gibbs ? gibbs_sampling(net, ev, options) : likelihood_weighting(net, ev, options);
      const double p = got.marginals[lung][0];
      sum += p;
      sum2 += p * p;
      se += got.standard_error[lung][0] / runs;
    }
    const double spread = std::sqrt((sum2 - sum * sum / runs) / (runs - 1));
    EXPECT_GT(spread / se, 0.5);
    EXPECT_LT(spread / se, 2.0);
  }
}

TEST(SampleCsv, HeaderAndOneRowPerSample) {
  const Network net = asia();
  std::ostringstream out;
  sample_csv(net, 1234, 1, out);
  std::size_t rows = 0;
  const auto header = approximate_testing::for_each_sample(net, out.str(), [&](const std::vector<int>& x) {
    ++rows;
    // either = lung OR tub holds in every row: zero-probability states are never drawn.
    ASSERT_GT(net.joint_probability(x), 0) << "row " << rows;
  });
  EXPECT_EQ(rows, 1234u);
  EXPECT_EQ(header, (std::vector<std::string>{"asia", "tub", "smoke", "lung", "bronc", "either", "xray", "dysp"}));
  std::ostringstream none;
  sample_csv(net, 0, 1, none);
  EXPECT_EQ(none.str(), "asia,tub,smoke,lung,bronc,either,xray,dysp\n");
}

TEST(SampleCsv, FrequenciesMatchTheJointDistribution) {
  const Network net = sprinkler();
  const std::uint64_t n = kSamples / 2;
  std::ostringstream out;
  sample_csv(net, n, 21, out);
  std::map<std::vector<int>, std::uint64_t> counts;
  std::uint64_t rows = 0;
  approximate_testing::for_each_sample(net, out.str(), [&](const std::vector<int>& x) {
    ++counts[x];
    ++rows;
  });
  ASSERT_EQ(rows, n);
  // Every one of the 16 joint states, including those never drawn.
  for (int code = 0; code < 16; ++code) {
    const std::vector<int> x = {code >> 3 & 1, code >> 2 & 1, code >> 1 & 1, code & 1};
    const double p = net.joint_probability(x);
    const double freq = static_cast<double>(counts[x]) / static_cast<double>(n);
    EXPECT_NEAR(freq, p, 5 * std::sqrt(p * (1 - p) / static_cast<double>(n)) + 1e-4) << "state " << code;
  }
}

TEST(SampleCsv, DeterministicAndPrefixOfLongerRuns) {
  const Network net = asia();
  auto run = [&](std::uint64_t n, std::uint64_t seed) {
    std::ostringstream out;
    sample_csv(net, n, seed, out);
    return out.str();
  };
  const std::string shorter = run(2 * kSampleChunk + 5, 4);
  const std::string longer = run(5 * kSampleChunk, 4);
  EXPECT_EQ(shorter, run(2 * kSampleChunk + 5, 4));
  ASSERT_LT(shorter.size(), longer.size());
  EXPECT_EQ(longer.substr(0, shorter.size()), shorter);
  EXPECT_NE(run(2 * kSampleChunk + 5, 5), shorter);
}

TEST(SampleCsv, QuotesNamesThatNeedIt) {
  Network net("quoting");
  const VarId a = net.add_variable("a,b", {"say \"hi\"", "plain"});
  net.set_cpt(a, {}, {1.0, 0.0});
  const VarId b = net.add_variable("c", {"x"});
  (void)b;
  std::ostringstream out;
  sample_csv(net, 2, 1, out);
  EXPECT_EQ(out.str(), "\"a,b\",c\n\"say \"\"hi\"\"\",x\n\"say \"\"hi\"\"\",x\n");
}

}  // namespace
}  // namespace miso::qlogik
