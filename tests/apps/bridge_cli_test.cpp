// `miso bridge ...` as a user runs it, on the umbrella world (Russell & Norvig)
// shipped in data/bridge, with values computed by hand in the test.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../profiler/test_dir.hpp"
#include "cli_run.hpp"

namespace {

using miso::testing::CliRun;
using miso::testing::miso;
using nlohmann::json;
using BridgeCli = miso::testing::TempDirTest;

const std::string kUmbrella = std::string(MISO_SOURCE_DIR) + "/data/bridge/umbrella.json";

// Rain prior 0.5, stays with 0.7, umbrella with 0.9 in rain and 0.2 when dry.
struct Umbrella {
  // P(rain_1 | u1) and P(rain_2 | u1, u2).
  double f1 = 0.5 * 0.9 / (0.5 * 0.9 + 0.5 * 0.2);
  double predicted = f1 * 0.7 + (1 - f1) * 0.3;
  double f2 = predicted * 0.9 / (predicted * 0.9 + (1 - predicted) * 0.2);
  double log_likelihood = std::log((0.5 * 0.9 + 0.5 * 0.2) * (predicted * 0.9 + (1 - predicted) * 0.2));
};

TEST_F(BridgeCli, FilterMatchesTheTextbook) {
  CliRun r = miso("bridge filter " + kUmbrella + " --observations umbrella,umbrella --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  const Umbrella u;
  ASSERT_EQ(j["filtered"].size(), 2u);
  EXPECT_NEAR(j["filtered"][0]["rain"].get<double>(), u.f1, 1e-12);
  EXPECT_NEAR(j["filtered"][1]["rain"].get<double>(), u.f2, 1e-12);
  EXPECT_NEAR(j["filtered"][1]["dry"].get<double>(), 1 - u.f2, 1e-12);
  EXPECT_NEAR(j["log_likelihood"].get<double>(), u.log_likelihood, 1e-12);
  EXPECT_NEAR(u.f1, 0.818, 1e-3);  // the book's rounded figures
  EXPECT_NEAR(u.f2, 0.883, 1e-3);
}

TEST_F(BridgeCli, SmoothAndViterbi) {
  CliRun r = miso("bridge smooth " + kUmbrella + " --observations umbrella,umbrella --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  const Umbrella u;
  // By symmetry of this model, P(rain_1 | u1, u2) = P(rain_2 | u1, u2) = the filtered value at step 2.
  EXPECT_NEAR(j["smoothed"][0]["rain"].get<double>(), u.f2, 1e-12);
  EXPECT_NEAR(j["smoothed"][1]["rain"].get<double>(), u.f2, 1e-12);
  EXPECT_NEAR(j["log_likelihood"].get<double>(), u.log_likelihood, 1e-12);
  r = miso("bridge viterbi " + kUmbrella + " --observations umbrella,umbrella,none,umbrella,umbrella --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["path"], json::array({"rain", "rain", "dry", "rain", "rain"}));
  EXPECT_LT(j["log_probability"].get<double>(), 0);
  // Text forms.
  r = miso("bridge viterbi " + kUmbrella + " --observations umbrella,?,none", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("log-probability"), std::string::npos);
  r = miso("bridge filter " + kUmbrella + " --observations umbrella", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("0.818182"), std::string::npos) << r.out;
}

// The umbrella world as a two-slice DBN gives the HMM's numbers.
TEST_F(BridgeCli, DbnMatchesTheHmm) {
  const std::string dbn = std::string(MISO_SOURCE_DIR) + "/data/bridge/umbrella_dbn.json";
  CliRun r = miso("bridge filter " + dbn + " --observations yes,yes --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  const Umbrella u;
  ASSERT_EQ(j["filtered"].size(), 2u);
  EXPECT_NEAR(j["filtered"][1]["Rain=yes"].get<double>(), u.f2, 1e-12) << r.out;
  EXPECT_NEAR(j["log_likelihood"].get<double>(), u.log_likelihood, 1e-12);
  r = miso("bridge viterbi " + dbn + " --observations yes,yes,no,yes,yes --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["path"], json::array({"Rain=yes", "Rain=yes", "Rain=no", "Rain=yes", "Rain=yes"}));
}

// Observations read from an ECHO-PRIME timeline, and the belief in each branch.
TEST_F(BridgeCli, TimelineAndBranches) {
  const std::string data = std::string(MISO_SOURCE_DIR) + "/data/bridge/";
  const std::string dbn_args =
      data + "umbrella_dbn.json " + data + "umbrella_days.json --mapping " + data + "umbrella_mapping.json";
  CliRun r = miso("bridge filter " + dbn_args + " --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_GE(j["filtered"].size(), 2u);
  r = miso("bridge branches " + dbn_args + " --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  ASSERT_GE(j["branches"].size(), 2u);
  double total = 0;
  for (const json& b : j["branches"]) total += b["posterior"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-12);
  // Acting on each branch's belief: the umbrella decision (take: 70 rain / 20 dry; leave: 0 / 100).
  r = miso("bridge branches " + dbn_args + " --decide " + data + "umbrella_decision.json --rank --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  for (const json& b : j["branches"]) {
    if (b["posterior"].get<double>() == 0) continue;
    ASSERT_TRUE(b.contains("expected_utility")) << b.dump();
    const double eu = b["expected_utility"].get<double>();
    EXPECT_GE(eu, 20.0);  // at worst the better of two actions under any belief
    EXPECT_LE(eu, 100.0);
    ASSERT_EQ(b["policy"]["TakeUmbrella"].size(), 1u);
  }
  EXPECT_TRUE(j["resolutions"].empty());  // the days timeline has no paradox
  r = miso("bridge filter " + dbn_args + " --branch nope", dir_);
  EXPECT_EQ(r.code, 2);
  r = miso("bridge filter " + data + "umbrella_dbn.json " + data + "umbrella_days.json", dir_);  // no --mapping
  EXPECT_EQ(r.code, 2);
}

TEST_F(BridgeCli, BadInputIsAClearError) {
  CliRun r = miso("bridge filter " + kUmbrella + " --observations umbrella,snow", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("snow"), std::string::npos) << r.err;
  const auto bad = dir_ / "bad.json";
  std::ofstream(bad) << R"({"hmm": {"states": ["a"], "symbols": ["x"], "initial": [1], "transition": [[0.5]],
                            "emission": [[1]]}})";
  r = miso("bridge filter " + bad.string() + " --observations x", dir_);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("transition"), std::string::npos) << r.err;
  r = miso("bridge filter " + (dir_ / "missing.json").string() + " --observations x", dir_);
  EXPECT_EQ(r.code, 3);
  r = miso("bridge filter " + kUmbrella, dir_);  // neither observations nor a timeline
  EXPECT_EQ(r.code, 2);
}

}  // namespace
