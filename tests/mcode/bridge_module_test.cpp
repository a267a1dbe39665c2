#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "miso/bridge/chain.hpp"
#include "miso/bridge/dbn.hpp"
#include "miso/bridge/decide.hpp"
#include "miso/bridge/hmm.hpp"
#include "miso/bridge/timeline.hpp"
#include "miso/echo/format.hpp"
#include "miso/mcode/value.hpp"
#include "miso/mcode/vm.hpp"
#include "miso/qlogik/decision.hpp"
#include "miso/qlogik/format.hpp"
#include "script_test_util.hpp"

namespace miso::mcode {
namespace {

using test_util::error_of;
using test_util::with_access;

const std::string kData = std::string(MISO_DATA_DIR) + "/bridge";

const char* kUmbrella = R"(let h = bridge.hmm({"states": ["rain", "dry"], "symbols": ["umbrella", "none"],
  "initial": [0.5, 0.5], "transition": [[0.7, 0.3], [0.3, 0.7]], "emission": [[0.9, 0.1], [0.2, 0.8]]})
)";

TEST(BridgeModule, HmmMatchesEngine) {
  bridge::Hmm hmm = bridge::load_hmm(kData + "/umbrella.json");
  std::vector<std::string> symbols = {"umbrella", "umbrella", "none", "?", "umbrella"};
  auto obs = hmm.observations(symbols);
  bridge::FilterResult f = bridge::filter(hmm.chain(), hmm.likelihoods(), obs);
  bridge::SmoothResult s = bridge::smooth(hmm.chain(), hmm.likelihoods(), obs);
  bridge::ViterbiResult v = bridge::viterbi(hmm.chain(), hmm.likelihoods(), obs);
  std::string path;
  for (std::uint32_t st : v.path) path += std::string(path.empty() ? "" : ", ") + "\"" + hmm.states[st] + "\"";
  std::string source = std::string(kUmbrella) +
                       "let o = [\"umbrella\", \"umbrella\", \"none\", \"?\", \"umbrella\"]\n"
                       "let f = h.filter(o)\nlet s = h.smooth(o)\nlet v = h.viterbi(o)\n"
                       "print(len(f.beliefs), f.log_likelihood == " +
                       format_double(f.log_likelihood) +
                       ", h.log_likelihood(o) == f.log_likelihood)\n"
                       "print(f.beliefs[1].rain == " +
                       format_double(f.filtered[2]) + ", s.beliefs[0].dry == " + format_double(s.smoothed[1]) +
                       ")\n"
                       "print(v.path, v.log_probability == " +
                       format_double(v.log_probability) +
                       ")\n"
                       "print(h.states(), h.observed(), h)\n"
                       "let p = h.predict([\"umbrella\"], 1)\nprint(abs(p.rain - (0.818181818181818 * 0.7 + "
                       "0.181818181818182 * 0.3)) < 1e-12)\n";
  EXPECT_EQ(run_to_string(source),
            "5 true true\ntrue true\n[" + path +
                "] true\n[\"rain\", \"dry\"] [\"umbrella\", \"none\"] <hmm (2 hidden states)>\ntrue\n");
  // The JSON form round-trips through the engine.
  EXPECT_EQ(run_to_string(std::string(kUmbrella) + "print(bridge.parse_hmm(h.to_json()).to_json() == h.to_json())"),
            "true\n");
}

TEST(BridgeModule, DbnMatchesHmm) {
  std::string source =
      "let prior = qlogik.load(\"" + kData + "/umbrella_prior.bif\")\nlet step = qlogik.load(\"" + kData +
      "/umbrella_step.bif\")\n"
      "let d = bridge.dbn(prior, step, [\"Umbrella\"])\n" +
      kUmbrella +
      "let o = [\"yes\", \"yes\", \"no\"]\n"
      "let fd = d.filter(o)\nlet fh = h.filter([\"umbrella\", \"umbrella\", \"none\"])\n"
      "print(d.states(), d.observed())\n"
      "print(abs(fd.beliefs[2][\"Rain=yes\"] - fh.beliefs[2].rain) < 1e-12, abs(fd.log_likelihood - "
      "fh.log_likelihood) < 1e-12)\n"
      "print(d.viterbi([[\"yes\"], [\"no\"]]).path)\n"
      "let d2 = bridge.load_dbn(\"" +
      kData +
      "/umbrella_dbn.json\")\n"
      "print(d2.smooth(o).beliefs[0] == nil, abs(d2.smooth(o).log_likelihood - fd.log_likelihood) < 1e-12)\n";
  EXPECT_EQ(run_to_string(source, with_access({kData})),
            "[\"Rain=yes\", \"Rain=no\"] [\"Umbrella\"]\ntrue true\n[\"Rain=yes\", \"Rain=no\"]\nfalse true\n");
}

TEST(BridgeModule, BranchPosteriorsMatchEngine) {
  bridge::Hmm hmm = bridge::load_hmm(kData + "/umbrella.json");
  echo::World world = echo::load_world(kData + "/umbrella_days.json");
  bridge::Mapping mapping = bridge::load_mapping(kData + "/umbrella_mapping.json");
  bridge::Compile compile = [&](const std::vector<std::vector<std::string>>& steps) {
    std::vector<std::string> names;
    for (const auto& s : steps) names.push_back(s[0]);
    return std::make_pair(hmm.likelihoods(), hmm.observations(names));
  };
  // The mapping names HMM symbols here (umbrella/none), not the DBN's yes/no.
  mapping.maps[0].values.clear();
  std::vector<echo::BranchId> all = {0, 1, 2};
  auto beliefs = bridge::branch_posteriors(world, all, hmm.chain(), mapping, compile);
  std::string source = "let h = bridge.load_hmm(\"" + kData + "/umbrella.json\")\nlet w = echo.load(\"" + kData +
                       "/umbrella_days.json\")\n"
                       "let bs = h.branch_posteriors(w, [{\"attribute\": \"carries\", \"variable\": \"Umbrella\"}])\n"
                       "for b in bs { print(b.branch, b.posterior) }\n"
                       "let two = h.branch_posteriors(w, [{\"attribute\": \"carries\", \"variable\": \"Umbrella\"}], "
                       "[\"main\", \"showers\"])\n"
                       "print(len(two), two[1].branch)\n";
  std::string expected;
  for (const auto& b : beliefs) expected += world.branch_name(b.branch) + " " + format_double(b.posterior) + "\n";
  EXPECT_EQ(run_to_string(source, with_access({kData})), expected + "2 showers\n");
}

TEST(BridgeModule, DecideOverBranches) {
  // An HMM whose hidden variable is the diagram's Rain (states yes/no).
  bridge::Hmm hmm = bridge::load_hmm(kData + "/umbrella.json");
  hmm.states = {"yes", "no"};
  echo::World world = echo::load_world(kData + "/umbrella_days.json");
  qlogik::InfluenceDiagram diagram = qlogik::load_influence_diagram(kData + "/umbrella_decision.json");
  bridge::Mapping mapping;
  mapping.maps.push_back({"carries", "Umbrella", {}});
  bridge::Compile compile = [&](const std::vector<std::vector<std::string>>& steps) {
    std::vector<std::string> names;
    for (const auto& s : steps) names.push_back(s[0]);
    return std::make_pair(hmm.likelihoods(), hmm.observations(names));
  };
  auto decisions = bridge::branch_decisions(world, {0, 1, 2}, hmm.chain(),
                                            bridge::hmm_hidden_states(hmm.chain(), "Rain"), mapping, compile, diagram);
  std::string expected;
  for (const auto& d : decisions)
    expected +=
        world.branch_name(d.branch) + " " + format_double(d.expected_utility) + " " + format_double(d.belief[0]) + "\n";
  std::string source =
      "let h = bridge.hmm({\"states\": [\"yes\", \"no\"], \"symbols\": [\"umbrella\", \"none\"], "
      "\"initial\": [0.5, 0.5], \"transition\": [[0.7, 0.3], [0.3, 0.7]], \"emission\": [[0.9, 0.1], "
      "[0.2, 0.8]]})\n"
      "let w = echo.load(\"" +
      kData + "/umbrella_days.json\")\nlet d = qlogik.parse_decision(read_file(\"" + kData +
      "/umbrella_decision.json\"))\n"
      "let m = [{\"attribute\": \"carries\", \"variable\": \"Umbrella\"}]\n"
      "for r in h.decide(w, m, d, nil, \"Rain\") { print(r.branch, r.expected_utility, r.belief.yes) }\n"
      "try { h.decide(w, m, d) } catch e { print(e.message.starts_with(\"hmm.decide: \")) }\n";
  // Without the hidden variable's name the HMM's variable is "State", which the diagram lacks.
  EXPECT_EQ(run_to_string(source, with_access({kData})), expected + "true\n");
}

TEST(BridgeModule, Errors) {
  std::string hmm = kUmbrella;
  EXPECT_NE(error_of(hmm + "h.filter([\"snow\"])").find("hmm.filter:"), std::string::npos);
  EXPECT_NE(error_of(hmm + "h.filter([\"snow\"])").find("snow"), std::string::npos);
  EXPECT_NE(error_of(hmm + "h.filter(3)").find("hmm.filter: observations must be a list, got int"), std::string::npos);
  EXPECT_NE(error_of(hmm + "h.filter([1])").find("observations must be a list of names or of lists of names, got int"),
            std::string::npos);
  EXPECT_NE(error_of(hmm + "h.predict([], -1)").find("k must be in"), std::string::npos);
  EXPECT_NE(
      error_of("bridge.hmm({\"states\": [\"a\"], \"symbols\": [\"x\"], \"initial\": [0.5], \"transition\": [[1]], "
               "\"emission\": [[1]]})")
          .find("bridge.hmm:"),
      std::string::npos);
  EXPECT_NE(error_of("bridge.hmm({\"states\": [\"a\"]})").find("hmm.symbols must be a list of strings, got nil"),
            std::string::npos);
  EXPECT_NE(error_of("bridge.parse_hmm(\"{\")").find("bridge.parse_hmm:"), std::string::npos);
  EXPECT_NE(error_of("bridge.load_hmm(\"" + kData + "/umbrella.json\")").find("umbrella.json"), std::string::npos);
  // A DBN file inside the allow-list naming networks outside it is refused.
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "mcode_bridge_module_test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "d.json") << "{\"dbn\": {\"prior\": \"" << kData << "/umbrella_prior.bif\", \"transition\": \""
                                  << kData << "/umbrella_step.bif\", \"observed\": [\"Umbrella\"]}}";
  }
  std::string outside = error_of("bridge.load_dbn(\"" + (dir / "d.json").string() + "\")", with_access({dir}));
  EXPECT_NE(outside.find("umbrella_prior.bif"), std::string::npos) << outside;
  EXPECT_EQ(run_to_string("print(len(bridge.load_dbn(\"" + (dir / "d.json").string() + "\").states()))",
                          with_access({dir, kData})),
            "2\n");
  std::filesystem::remove_all(dir);
  EXPECT_NE(error_of("bridge.dbn(1, 2, [])").find("bridge.dbn: prior must be network, got int"), std::string::npos);
  EXPECT_NE(error_of(hmm + "h.branch_posteriors(1, [])").find("world must be world, got int"), std::string::npos);
}

}  // namespace
}  // namespace miso::mcode
