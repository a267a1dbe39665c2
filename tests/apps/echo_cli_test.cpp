// `miso echo ...` as a user runs it: on timelines written by the tests (the
// minimal form of the issue) and on the examples shipped in data/echo.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "../profiler/test_dir.hpp"
#include "cli_run.hpp"

namespace {

using miso::testing::CliRun;
using miso::testing::miso;
using nlohmann::json;
using EchoCli = miso::testing::TempDirTest;

const std::string kData = std::string(MISO_SOURCE_DIR) + "/data/echo/";

std::string write(const std::filesystem::path& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

// a at 0, b free with 5..10 after a, c at 20 with b..c in 0..12: b in [8, 10].
const char* kPlan = R"({"nodes": [{"id": "a", "time": 0}, {"id": "b"}, {"id": "c", "time": 20}],
  "constraints": [{"from": "a", "to": "b", "min": 5, "max": 10},
                  {"from": "b", "to": "c", "min": 0, "max": 12}]})";

// The same plus a constraint that cannot hold with the others.
const char* kClash = R"({"nodes": [{"id": "a", "time": 0}, {"id": "b"}, {"id": "c", "time": 20}],
  "constraints": [{"from": "a", "to": "b", "min": 5, "max": 10},
                  {"from": "b", "to": "c", "min": 0, "max": 12},
                  {"from": "a", "to": "b", "min": 12, "weight": 0.5}]})";

TEST_F(EchoCli, ScheduleGivesTightestBoundsAndASchedule) {
  CliRun r = miso("echo schedule " + write(dir_, "plan.json", kPlan) + " --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["consistent"], true);
  EXPECT_EQ(j["earliest"]["a"], 0);
  EXPECT_EQ(j["latest"]["a"], 0);
  EXPECT_EQ(j["earliest"]["b"], 8);
  EXPECT_EQ(j["latest"]["b"], 10);
  EXPECT_EQ(j["earliest"]["c"], 20);
  const int b = j["schedule"]["b"].get<int>();
  EXPECT_GE(b, 8);
  EXPECT_LE(b, 10);
  EXPECT_EQ(j["schedule"]["c"], 20);
  // Text form: one line per node.
  r = miso("echo schedule " + write(dir_, "plan.json", kPlan), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("b"), std::string::npos);
}

TEST_F(EchoCli, UnboundedSidesAreNull) {
  CliRun r = miso("echo schedule " +
                      write(dir_, "open.json",
                            R"({"nodes": [{"id": "a", "time": 3}, {"id": "b"}],
                                "constraints": [{"from": "a", "to": "b", "min": 2}]})") +
                      " --json",
                  dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["earliest"]["b"], 5);
  EXPECT_TRUE(j["latest"]["b"].is_null());
}

TEST_F(EchoCli, CheckExplainsAndExitsOne) {
  CliRun ok = miso("echo check " + write(dir_, "plan.json", kPlan) + " --json", dir_);
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(json::parse(ok.out)["consistent"], true);
  CliRun r = miso("echo check " + write(dir_, "clash.json", kClash) + " --json", dir_);
  ASSERT_EQ(r.code, 1) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["consistent"], false);
  ASSERT_EQ(j["paradoxes"].size(), 1u);
  const json& p = j["paradoxes"][0];
  EXPECT_EQ(p["kind"], "inconsistent_constraints");
  // Constraint 2 (b at least 12 after a) against 0 (at most 10): with c's fixed
  // time, 1 is not needed for the clash.
  EXPECT_EQ(p["constraints"], json::array({0, 2}));
  EXPECT_FALSE(p["message"].get<std::string>().empty());
  CliRun text = miso("echo check " + write(dir_, "clash.json", kClash), dir_);
  EXPECT_EQ(text.code, 1);
  EXPECT_NE(text.out.find("inconsistent_constraints"), std::string::npos) << text.out;
}

TEST_F(EchoCli, ResolveRelaxesTheCheapestConstraint) {
  const std::string in = write(dir_, "clash.json", kClash);
  const std::string out = (dir_ / "fixed.json").string();
  CliRun r = miso("echo resolve " + in + " --out " + out + " --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["paradoxes_left"], 0);
  ASSERT_EQ(j["applied"].size(), 1u);
  CliRun again = miso("echo check " + out + " --json", dir_);
  EXPECT_EQ(again.code, 0) << again.out << again.err;
  // The cheap constraint (weight 0.5) was widened to what the others allow: min 10.
  json fixed = json::parse(std::ifstream(out));
  EXPECT_EQ(fixed["constraints"][2]["min"], 10);
}

TEST_F(EchoCli, QueryReportsFluentsAndNodes) {
  const char* text = R"({"echo": 1, "nodes": [
      {"id": "open", "time": 1, "type": "door", "initiates": ["door_open"]},
      {"id": "enter", "time": 4, "type": "person", "requires": ["door_open"], "initiates": ["inside"]},
      {"id": "close", "time": 6, "type": "door", "terminates": ["door_open"]}]})";
  const std::string file = write(dir_, "house.json", text);
  CliRun r = miso("echo query " + file + " --at 5 --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["holds"], json::array({"door_open", "inside"}));
  r = miso("echo query " + file + " --at 6 --json", dir_);
  j = json::parse(r.out);
  EXPECT_EQ(j["holds"], json::array({"inside"}));
  EXPECT_EQ(j["nodes"], json::array({"close"}));
  r = miso("echo query " + file + " --at 0 --until 5 --json", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["nodes"], json::array({"open", "enter"}));
  r = miso("echo query " + file + " --at 5 --until 4", dir_);
  EXPECT_EQ(r.code, 2);
  r = miso("echo query " + file + " --at 6 --branch nope", dir_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("nope"), std::string::npos);
}

TEST_F(EchoCli, ShippedExamples) {
  CliRun ok = miso("echo check " + kData + "minimal.json", dir_);
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  CliRun meeting = miso("echo check " + kData + "meeting.json", dir_);
  EXPECT_EQ(meeting.code, 0) << meeting.out << meeting.err;
  CliRun r = miso("echo check " + kData + "paradox.json --json", dir_);
  ASSERT_EQ(r.code, 1) << r.err;
  json j = json::parse(r.out);
  std::set<std::string> kinds;
  for (const json& p : j["paradoxes"]) kinds.insert(p["kind"].get<std::string>());
  EXPECT_EQ(kinds, (std::set<std::string>{"inconsistent_constraints", "causal_loop", "contradiction"}));
}

TEST_F(EchoCli, BadInputIsAClearError) {
  CliRun r = miso("echo check " + write(dir_, "bad.json", R"({"nodes": [{"id": "a", "time": "soon"}]})"), dir_);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
  r = miso("echo check " + (dir_ / "missing.json").string(), dir_);
  EXPECT_EQ(r.code, 3);
  r = miso("echo check " + write(dir_, "x.txt", "{}"), dir_);
  EXPECT_EQ(r.code, 2) << r.err;
  r = miso("echo query " + write(dir_, "plan.json", kPlan), dir_);  // --at missing
  EXPECT_EQ(r.code, 2);
}

}  // namespace
