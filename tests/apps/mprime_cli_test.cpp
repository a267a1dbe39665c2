// `miso mprime ...` as a user runs it, on the inputs the issue lists: each
// command's JSON result is read back and checked for its meaning (the text of a
// result is checked by value at points or against the known answer).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "../profiler/test_dir.hpp"
#include "cli_run.hpp"

namespace {

using miso::testing::CliRun;
using miso::testing::miso;
using nlohmann::json;
using MprimeCli = miso::testing::TempDirTest;

json run_json(const std::string& args, const std::filesystem::path& dir) {
  CliRun r = miso("mprime " + args + " --json", dir);
  EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
  if (r.code != 0) return json::object();
  return json::parse(r.out);
}

std::string result(const std::string& args, const std::filesystem::path& dir) {
  const json j = run_json(args, dir);
  return j.contains("result") ? j["result"].get<std::string>() : std::string("<none>");
}

double value(const std::string& args, const std::filesystem::path& dir) {
  const json j = run_json(args, dir);
  return j.contains("value") ? j["value"].get<double>() : std::nan("");
}

TEST_F(MprimeCli, DerivativesAsWritten) {
  EXPECT_EQ(result("simplify 'd/dx(sin(x))'", dir_), "cos(x)");
  EXPECT_EQ(result("simplify 'd^2/dx^2(x^3 + 2*x^2 + x)'", dir_), "6*x + 4");
  EXPECT_EQ(result("diff 'x^3 + 2*x^2 + x' --order 2", dir_), "6*x + 4");
  EXPECT_EQ(result("diff 'x*y^2' --var y", dir_), "2*x*y");
}

TEST_F(MprimeCli, IntegralsLimitsAndRoots) {
  EXPECT_EQ(result("simplify '∫(x^2)dx'", dir_), "x^3/3");
  EXPECT_EQ(result("integrate 'x^2' --from 0 --to 3", dir_), "9");
  EXPECT_EQ(result("simplify 'lim(x→0)(sin(x)/x)'", dir_), "1");
  EXPECT_EQ(result("limit '(1 + 1/x)^x' --at x=oo", dir_), "e");
  // √(a^2 + b^2) at a = 3, b = 4.
  EXPECT_DOUBLE_EQ(value("eval '√(a^2 + b^2)' --at a=3,b=4", dir_), 5.0);
}

TEST_F(MprimeCli, SolvesTheIssuesSystems) {
  json j = run_json("solve '2*x + 3*y = 7; x - y = 1'", dir_);
  ASSERT_EQ(j["solutions"].size(), 1u);
  EXPECT_EQ(j["solutions"][0]["x"], "2");
  EXPECT_EQ(j["solutions"][0]["y"], "1");
  j = run_json("solve 'x^2 + y^2 = 25; x + y = 7'", dir_);
  ASSERT_EQ(j["solutions"].size(), 2u);
  std::set<std::pair<std::string, std::string>> got;
  for (const auto& s : j["solutions"]) got.insert({s["x"].get<std::string>(), s["y"].get<std::string>()});
  EXPECT_EQ(got, (std::set<std::pair<std::string, std::string>>{{"3", "4"}, {"4", "3"}}));
}

TEST_F(MprimeCli, ExpandFactorSeriesLatex) {
  EXPECT_EQ(result("expand '(x + 1)^2'", dir_), "x^2 + 2*x + 1");
  EXPECT_EQ(result("factor 'x^2 - 1'", dir_), "(x - 1)*(x + 1)");
  EXPECT_EQ(result("series 'exp(x)' --order 3", dir_), "x^2/2 + x + 1");
  EXPECT_EQ(result("latex 'sqrt(x)/2'", dir_), "\\frac{\\sqrt{x}}{2}");
}

TEST_F(MprimeCli, EvalToManyDigits) {
  CliRun r = miso("mprime eval pi --digits 30", dir_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "3.14159265358979323846264338328\n");
}

TEST_F(MprimeCli, MalformedInputShowsACaret) {
  CliRun r = miso("mprime simplify '2*x*)'", dir_);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("2*x*)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("^"), std::string::npos) << r.err;
  r = miso("mprime diff 'x*y'", dir_);  // which variable?
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--var"), std::string::npos) << r.err;
  r = miso("mprime eval 'x + 1'", dir_);  // unbound symbol
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("x"), std::string::npos) << r.err;
}

}  // namespace
