// `miso qlogik ...` as a user runs it, on the sprinkler network shipped in
// data/qlogik (hand-checkable numbers) and, when ../shared is there, on asia.
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
using QlogikCli = miso::testing::TempDirTest;

const std::string kSprinkler = std::string(MISO_SOURCE_DIR) + "/data/qlogik/sprinkler.bif";
const std::string kOil = std::string(MISO_SOURCE_DIR) + "/data/qlogik/oil_wildcatter.json";
const std::string kAsia = std::string(MISO_SOURCE_DIR) + "/../shared/data/bnlearn/asia.bif";

// P(Rain | WetGrass = true) in the textbook sprinkler network, by enumeration
// over Cloudy and Sprinkler: 0.4581 / 0.6471.
constexpr double kRainGivenWet = 0.4581 / 0.6471;

TEST_F(QlogikCli, InfoCountsTheNetwork) {
  CliRun r = miso("qlogik info " + kSprinkler + " --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["variables"], 4);
  EXPECT_EQ(j["arcs"], 4);
  EXPECT_EQ(j["parameters"], 1 + 2 + 2 + 4);
  EXPECT_GE(j["junction_tree"]["cliques"].get<int>(), 2);
}

TEST_F(QlogikCli, QueryPrintsPosteriorsAndEvidenceProbability) {
  for (const char* method : {"jt", "ve", "enumerate"}) {
    CliRun r =
        miso("qlogik query " + kSprinkler + " --evidence WetGrass=true --query Rain --json --method " + method, dir_);
    ASSERT_EQ(r.code, 0) << method << ": " << r.err;
    json j = json::parse(r.out);
    EXPECT_NEAR(j["p_evidence"].get<double>(), 0.6471, 1e-4) << method;
    EXPECT_NEAR(j["marginals"]["Rain"]["true"].get<double>(), kRainGivenWet, 1e-4) << method;
    EXPECT_NEAR(j["marginals"]["Rain"]["true"].get<double>() + j["marginals"]["Rain"]["false"].get<double>(), 1.0,
                1e-12);
    EXPECT_EQ(j["marginals"].size(), 1u);
  }
  // Sampling methods agree within their reported error.
  for (const char* method : {"lw", "gibbs"}) {
    CliRun r = miso(
        "qlogik query " + kSprinkler + " -e WetGrass=true -q Rain --samples 200000 --json -m " + std::string(method),
        dir_);
    ASSERT_EQ(r.code, 0) << method << ": " << r.err;
    json j = json::parse(r.out);
    const double p = j["marginals"]["Rain"]["true"].get<double>();
    const double se = j["standard_error"]["Rain"]["true"].get<double>();
    EXPECT_GT(se, 0) << method;
    EXPECT_LE(std::abs(p - kRainGivenWet), 5 * se + 1e-3) << method;
  }
  CliRun text = miso("qlogik query " + kSprinkler + " -e WetGrass=true -q Rain", dir_);
  ASSERT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("P(evidence) = 0.6471"), std::string::npos) << text.out;
}

TEST_F(QlogikCli, ImpossibleEvidenceIsReportedNotNan) {
  // Wet grass has probability 0 with neither rain nor sprinkler.
  CliRun r = miso("qlogik query " + kSprinkler + " -e Rain=false,Sprinkler=false,WetGrass=true --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("nan"), std::string::npos);
  json j = json::parse(r.out);
  EXPECT_EQ(j["p_evidence"].get<double>(), 0.0);
  EXPECT_TRUE(j["impossible_evidence"].get<bool>());
}

TEST_F(QlogikCli, MapGivesTheMostProbableExplanation) {
  CliRun r = miso("qlogik map " + kSprinkler + " -e WetGrass=true --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["kind"], "mpe");
  EXPECT_EQ(j["assignment"].size(), 3u);
  const double joint = j["joint_probability"].get<double>();
  EXPECT_GT(joint, 0);
  EXPECT_NEAR(j["posterior_probability"].get<double>(), joint / 0.6471, 1e-4);
  CliRun m = miso("qlogik map " + kSprinkler + " -e WetGrass=true --variables Rain --json", dir_);
  ASSERT_EQ(m.code, 0) << m.err;
  json k = json::parse(m.out);
  EXPECT_EQ(k["kind"], "map");
  EXPECT_EQ(k["assignment"]["Rain"], "true");  // 0.708 > 0.292
  EXPECT_NEAR(k["posterior_probability"].get<double>(), kRainGivenWet, 1e-4);
}

TEST_F(QlogikCli, SampleLearnAndConvertRoundTrip) {
  const std::string csv = (dir_ / "obs.csv").string();
  CliRun s = miso("qlogik sample " + kSprinkler + " -n 50000 --seed 3 --out " + csv, dir_);
  ASSERT_EQ(s.code, 0) << s.err;
  std::ifstream in(csv);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header.find("Cloudy"), 0u) << header;
  const std::string learned = (dir_ / "learned.xml").string();
  CliRun l = miso("qlogik learn " + kSprinkler + " --data " + csv + " --out " + learned + " --json", dir_);
  ASSERT_EQ(l.code, 0) << l.err;
  EXPECT_EQ(json::parse(l.out)["rows"], 50000);
  // The learned network answers close to the generating one.
  CliRun q = miso("qlogik query " + learned + " -e WetGrass=true -q Rain --json", dir_);
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_NEAR(json::parse(q.out)["marginals"]["Rain"]["true"].get<double>(), kRainGivenWet, 0.02);
  const std::string bif = (dir_ / "back.bif").string();
  ASSERT_EQ(miso("qlogik convert " + learned + " " + bif, dir_).code, 0);
  CliRun q2 = miso("qlogik query " + bif + " -e WetGrass=true -q Rain --json", dir_);
  ASSERT_EQ(q2.code, 0) << q2.err;
  EXPECT_EQ(json::parse(q2.out)["marginals"], json::parse(q.out)["marginals"]);
}

TEST_F(QlogikCli, DecideSolvesTheOilWildcatter) {
  CliRun r = miso("qlogik decide " + kOil + " --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_GT(j["expected_utility"].get<double>(), 0);
  EXPECT_EQ(j["policy"].size(), 2u);
}

TEST_F(QlogikCli, BadInputGivesOneLineErrors) {
  struct Case {
    std::string args;
    int code;
    const char* needle;
  };
  const std::string bad = (dir_ / "bad.bif").string();
  {
    std::ofstream f(bad);
    f << "network n {}\nvariable A { type discrete [ 2 ] { a, b } }\n";  // missing ';' after the states
  }
  for (const Case& c : std::vector<Case>{
           {"qlogik query " + kSprinkler + " -e Snow=yes", 2, "Snow"},
           {"qlogik query " + kSprinkler + " -e Rain=maybe", 2, "maybe"},
           {"qlogik query " + kSprinkler + " -q Nope", 2, "Nope"},
           {"qlogik query " + kSprinkler + " -m magic", 2, "magic"},
           {"qlogik info " + (dir_ / "absent.bif").string(), 3, "absent.bif"},
           {"qlogik info " + bad, 3, "bad.bif:2:"},
       }) {
    CliRun r = miso(c.args, dir_);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.err;
    EXPECT_EQ(miso::testing::lines(r.err), 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.args << "\n" << r.err;
  }
}

TEST_F(QlogikCli, AsiaFromTheSharedNetworks) {
  if (!std::filesystem::exists(kAsia)) GTEST_SKIP() << kAsia << " is absent (../shared not beside the project)";
  CliRun r = miso("qlogik query " + kAsia + " -e asia=yes,xray=yes -q lung --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  const double p = j["marginals"]["lung"]["yes"].get<double>();
  CliRun e = miso("qlogik query " + kAsia + " -e asia=yes,xray=yes -q lung --json -m enumerate", dir_);
  EXPECT_NEAR(p, json::parse(e.out)["marginals"]["lung"]["yes"].get<double>(), 1e-12);
}

}  // namespace
