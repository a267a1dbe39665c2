#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "miso/mcode/value.hpp"
#include "miso/mcode/vm.hpp"
#include "miso/qlogik/approximate.hpp"
#include "miso/qlogik/decision.hpp"
#include "miso/qlogik/format.hpp"
#include "miso/qlogik/inference.hpp"
#include "script_test_util.hpp"

namespace miso::mcode {
namespace {

using test_util::error_of;
using test_util::program_file;
using test_util::with_access;

const std::string kBnlearn = std::string(MISO_SHARED_DATA) + "/bnlearn";
const std::string kData = MISO_DATA_DIR;

std::string asia_path() { return kBnlearn + "/asia.bif"; }

bool have_asia() { return std::filesystem::exists(asia_path()); }

TEST(QlogikModule, QueryMatchesJunctionTree) {
  if (!have_asia()) GTEST_SKIP() << "no " << asia_path();
  qlogik::Network net = qlogik::load_network(asia_path());
  qlogik::Evidence ev = qlogik::parse_evidence(net, "smoke=yes,xray=yes");
  qlogik::Posterior jt = qlogik::JunctionTree(net).query(ev);
  double lung = jt.marginals[static_cast<std::size_t>(net.id("lung"))][0];
  double bronc_no = jt.marginals[static_cast<std::size_t>(net.id("bronc"))][1];
  std::string source = "let net = qlogik.load(\"" + asia_path() +
                       "\")\n"
                       "let p = net.query({\"smoke\": \"yes\", \"xray\": \"yes\"}, [\"lung\", \"bronc\"])\n"
                       "print(keys(p), keys(p.lung))\n"
                       "print(abs(p.lung.yes - " +
                       format_double(lung) +
                       ") < 1e-12)\n"
                       "print(abs(p.bronc.no - " +
                       format_double(bronc_no) +
                       ") < 1e-12)\n"
                       "print(abs(p.lung.yes + p.lung.no - 1) < 1e-12)\n"
                       "let all = net.query({\"smoke\": \"yes\", \"xray\": \"yes\"})\n"
                       "print(len(all), abs(all.lung.yes - p.lung.yes) < 1e-12, all.smoke.yes)\n"
                       "print(abs(net.probability({\"smoke\": \"yes\", \"xray\": \"yes\"}) - " +
                       format_double(jt.p_evidence) + ") < 1e-12)\n";
  EXPECT_EQ(run_to_string(source, with_access({kBnlearn})),
            "[\"lung\", \"bronc\"] [\"yes\", \"no\"]\ntrue\ntrue\ntrue\n8 true 1.0\ntrue\n");
}

TEST(QlogikModule, StructureAccessors) {
  if (!have_asia()) GTEST_SKIP() << "no " << asia_path();
  std::string source =
      "let net = qlogik.load(\"" + asia_path() +
      "\")\n"
      "print(net.variables())\nprint(net.states(\"dysp\"), net.parents(\"dysp\"), net.children(\"smoke\"))\n"
      "print(net.cpt(\"asia\"), len(net), type(net))\n";
  EXPECT_EQ(run_to_string(source, with_access({kBnlearn})),
            "[\"asia\", \"tub\", \"smoke\", \"lung\", \"bronc\", \"either\", \"xray\", \"dysp\"]\n"
            "[\"yes\", \"no\"] [\"bronc\", \"either\"] [\"lung\", \"bronc\"]\n"
            "[0.01, 0.99] 8 network\n");
}

TEST(QlogikModule, ApproximateMethodsAgreeWithEngine) {
  if (!have_asia()) GTEST_SKIP() << "no " << asia_path();
  qlogik::Network net = qlogik::load_network(asia_path());
  qlogik::Evidence ev = qlogik::parse_evidence(net, "dysp=yes");
  qlogik::SamplingOptions so;
  so.samples = 20000;
  so.seed = 7;
  double lw = qlogik::likelihood_weighting(net, ev, so).marginals[static_cast<std::size_t>(net.id("bronc"))][0];
  double bp = qlogik::loopy_belief_propagation(net, ev).marginals[static_cast<std::size_t>(net.id("bronc"))][0];
  std::string source =
      "let net = qlogik.load(\"" + asia_path() +
      "\")\n"
      "let s = net.query({\"dysp\": \"yes\"}, [\"bronc\"], {\"method\": \"sampling\", \"samples\": 20000, "
      "\"seed\": 7})\n"
      "print(s.bronc.yes == " +
      format_double(lw) +
      ")\n"
      "let b = net.query({\"dysp\": \"yes\"}, [\"bronc\"], {\"method\": \"bp\"})\n"
      "print(b.bronc.yes == " +
      format_double(bp) +
      ")\n"
      "let e = net.query({\"dysp\": \"yes\"}, [\"bronc\"])\n"
      "print(abs(s.bronc.yes - e.bronc.yes) < 0.03)\n";
  EXPECT_EQ(run_to_string(source, with_access({kBnlearn})), "true\ntrue\ntrue\n");
}

TEST(QlogikModule, ExplanationsAndSamples) {
  if (!have_asia()) GTEST_SKIP() << "no " << asia_path();
  qlogik::Network net = qlogik::load_network(asia_path());
  qlogik::Evidence ev = qlogik::parse_evidence(net, "dysp=yes");
  qlogik::Explanation mpe = qlogik::most_probable_explanation(net, ev);
  std::string expected_bronc = net.variable(net.id("bronc")).states[static_cast<std::size_t>(mpe.assignment[4])];
  std::ostringstream csv;
  qlogik::sample_csv(net, 3, 5, csv);
  std::string source = "let net = qlogik.load(\"" + asia_path() +
                       "\")\n"
                       "let m = net.mpe({\"dysp\": \"yes\"})\n"
                       "print(m.assignment.bronc, len(m.assignment), m.probability == " +
                       format_double(mpe.probability) +
                       ")\n"
                       "let mp = net.map({\"dysp\": \"yes\"}, [\"bronc\"])\n"
                       "print(keys(mp.assignment))\n"
                       "let rows = net.sample(3, 5)\n"
                       "print(len(rows), len(rows[0]))\n"
                       "for r in rows { print(r.asia + \",\" + r.tub + \",\" + r.smoke) }\n";
  std::string out = run_to_string(source, with_access({kBnlearn}));
  // The first three columns of the engine's CSV rows (asia, tub, smoke).
  std::istringstream lines(csv.str());
  std::string line, expected = expected_bronc + " 8 true\n[\"bronc\", \"dysp\"]\n3 8\n";
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::size_t cut = 0;
    for (int commas = 0; commas < 3; ++commas) cut = line.find(',', cut) + 1;
    expected += line.substr(0, cut - 1) + "\n";
  }
  EXPECT_EQ(out, expected);
}

TEST(QlogikModule, ParseAndRoundTrip) {
  std::string source =
      "let net = qlogik.parse(\"network n { }\\nvariable A { type discrete [ 2 ] { yes, no }; }\\n"
      "variable B { type discrete [ 2 ] { on, off }; }\\nprobability ( A ) { table 0.3, 0.7; }\\n"
      "probability ( B | A ) { (yes) 0.9, 0.1; (no) 0.2, 0.8; }\\n\")\n"
      "print(net, net.name)\n"
      "let p = net.query({\"A\": \"yes\"}, [\"B\"])\n"
      "print(p.B.on)\n"
      "let again = qlogik.parse(net.to_xmlbif(), \"xmlbif\")\n"
      "print(again.to_bif() == net.to_bif(), again.query({\"B\": \"on\"}, [\"A\"]).A.yes)\n";
  // P(A=yes | B=on) = 0.27 / (0.27 + 0.14)
  EXPECT_EQ(run_to_string(source),
            "<network n (2 variables)> n\n0.9\ntrue " + format_double(0.3 * 0.9 / (0.3 * 0.9 + 0.7 * 0.2)) + "\n");
}

TEST(QlogikModule, DecisionNetworks) {
  std::string path = kData + "/qlogik/oil_wildcatter.json";
  qlogik::InfluenceDiagram d = qlogik::load_influence_diagram(path);
  qlogik::Solution s = qlogik::solve(d);
  std::string source = "let d = qlogik.load_decision(\"" + path +
                       "\")\n"
                       "let s = d.solve()\n"
                       "print(s.expected_utility == " +
                       format_double(s.expected_utility) +
                       ", d.expected_utility() == s.expected_utility)\n"
                       "print(len(s.policy), s.policy[0].decision, d.decisions())\n"
                       "print(d.best_decision())\n";
  std::string first_option =
      d.variable(d.id(s.policy[0].decision)).states[static_cast<std::size_t>(s.policy[0].choice[0])];
  EXPECT_EQ(run_to_string(source, with_access({kData})), "true true\n" + std::to_string(s.policy.size()) + " " +
                                                             s.policy[0].decision + " [\"Test\", \"Drill\"]\n" +
                                                             first_option + "\n");
  std::string voi = "let d = qlogik.load_decision(\"" + path +
                    "\")\nprint(d.value_of_information(\"Oil\", \"Drill\") == " +
                    format_double(qlogik::value_of_perfect_information(d, "Oil", "Drill")) + ")\n";
  EXPECT_EQ(run_to_string(voi, with_access({kData})), "true\n");
}

TEST(QlogikModule, Errors) {
  if (!have_asia()) GTEST_SKIP() << "no " << asia_path();
  VmOptions ok = with_access({kBnlearn});
  std::string load = "let net = qlogik.load(\"" + asia_path() + "\")\n";
  EXPECT_NE(error_of(load + "net.query({\"nope\": \"yes\"})", ok).find("network.query: unknown variable 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of(load + "net.query({\"asia\": \"maybe\"})", ok).find("variable 'asia' has no state 'maybe'"),
            std::string::npos);
  EXPECT_NE(error_of(load + "net.query({\"asia\": \"yes\"}, [\"zzz\"])", ok).find("unknown variable 'zzz'"),
            std::string::npos);
  EXPECT_NE(error_of(load + "net.query(5)", ok).find("network.query: evidence must be a map, got int"),
            std::string::npos);
  EXPECT_NE(error_of(load + "net.query({}, nil, {\"method\": \"magic\"})", ok).find("method must be"),
            std::string::npos);
  EXPECT_NE(error_of(load + "net.states(\"q\")", ok).find("unknown variable 'q'"), std::string::npos);
  EXPECT_NE(error_of(load + "net.sample(-1)", ok).find("n must be in"), std::string::npos);
  // File access outside the allow-list.
  EXPECT_NE(error_of("qlogik.load(\"" + asia_path() + "\")").find(asia_path()), std::string::npos);
  EXPECT_NE(error_of("qlogik.load(5)").find("qlogik.load: path must be a string, got int"), std::string::npos);
  // Malformed text is a catchable error with the engine's position.
  EXPECT_EQ(run_to_string("try { qlogik.parse(\"variable A {\") } catch e { print(e.message) }").substr(0, 20),
            "qlogik.parse: <text>");
  EXPECT_NE(error_of("qlogik.parse(\"x\", \"json\")").find("format must be"), std::string::npos);
  EXPECT_NE(error_of("qlogik.parse_decision(\"{}\")").find("qlogik.parse_decision:"), std::string::npos);
}

TEST(QlogikModule, MissingFileIsCatchable) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "mcode_qlogik_test";
  std::filesystem::create_directories(dir);
  std::string source = "try { qlogik.load(\"" + (dir / "absent.bif").string() + "\") } catch e { print(\"caught\") }";
  EXPECT_EQ(run_to_string(source, with_access({dir})), "caught\n");
  std::filesystem::remove_all(dir);
}

TEST(QlogikModule, BayesProgram) {
  const std::string source = program_file("bayes", "mc");
  const std::string expected = program_file("bayes", "out");
  EXPECT_EQ(run_to_string(source), expected);
}

}  // namespace
}  // namespace miso::mcode
