// `miso bridge ...`: beliefs over time from the command line.
//   filter MODEL [TIMELINE]     P(state_t | o_1..o_t) per step and ln P(o_1..o_T)
//   smooth MODEL [TIMELINE]     P(state_t | o_1..o_T) per step (forward-backward)
//   viterbi MODEL [TIMELINE]    the most likely sequence of states
//   branches MODEL TIMELINE     the posterior probability of each branch
// MODEL: a hidden Markov model or a two-slice DBN in JSON (docs/bridge.md).
// TIMELINE: an ECHO-PRIME file read through --mapping (which node attributes
// observe which variables), on --branch (default main); or, instead,
// --observations o1,o2,... ("?" = not observed; for a DBN with several observed
// variables, steps separated by ';').
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/bridge/chain.hpp"
#include "miso/bridge/dbn.hpp"
#include "miso/bridge/decide.hpp"
#include "miso/bridge/hmm.hpp"
#include "miso/bridge/timeline.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/echo/format.hpp"
#include "miso/qlogik/decision.hpp"

namespace miso::app {

namespace {

struct BridgeOptions {
  std::string model;
  std::string timeline;
  std::string mapping;
  std::string branch = "main";
  std::string observations;
  std::string decide;  // branches: an influence diagram to act on each branch's belief
  bool rank = false;   // branches: rank the resolutions of ECHO-PRIME's paradoxes by belief
  bool json = false;
};

[[noreturn]] void usage(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

// A model of either kind, as a chain and a way to turn observed steps (one
// state or symbol per observed variable) into likelihood rows.
struct Model {
  bridge::Chain chain;
  std::size_t observed = 1;  // observed variables per step
  bridge::Compile compile;
  bridge::HiddenStates hidden;  // each chain state as (variable, state) pairs, for decisions
};

Model load_model(const std::string& path) {
  Model m;
  const std::string text = core::read_file(path);
  if (text.find("\"dbn\"") != std::string::npos) {
    auto dbn = std::make_shared<bridge::Dbn>(bridge::load_dbn(path));
    m.chain = dbn->chain();
    m.observed = dbn->observed().size();
    m.hidden = bridge::dbn_hidden_states(m.chain);
    m.compile = [dbn](const std::vector<std::vector<std::string>>& steps) {
      bridge::Dbn::Observed o = dbn->observe(steps);
      return std::make_pair(std::move(o.likelihoods), std::move(o.steps));
    };
    return m;
  }
  auto hmm = std::make_shared<bridge::Hmm>(bridge::parse_hmm_json(text, path));
  m.chain = hmm->chain();
  m.hidden = bridge::hmm_hidden_states(m.chain, "State");  // an HMM's hidden variable is called State
  m.compile = [hmm](const std::vector<std::vector<std::string>>& steps) {
    std::vector<std::string> symbols;
    for (const auto& step : steps) symbols.push_back(step.empty() ? "?" : step.front());
    return std::make_pair(hmm->likelihoods(), hmm->observations(symbols));
  };
  return m;
}

struct Loaded {
  Model model;
  std::vector<std::vector<std::string>> steps;  // what was observed, per step
  std::vector<std::string> labels;              // a label per step (the node, or the observation)
  bridge::Likelihoods likelihoods;
  std::vector<std::uint32_t> observations;
};

Loaded load(const BridgeOptions& o) {
  Loaded l;
  l.model = load_model(o.model);
  if (!o.timeline.empty()) {
    if (!o.observations.empty()) usage("bridge: give either TIMELINE or --observations, not both");
    if (o.mapping.empty()) usage("bridge: a TIMELINE needs --mapping (which attributes observe which variables)");
    const echo::World world = echo::load_world(o.timeline);
    const auto b = world.find_branch(o.branch);
    if (!b) usage("bridge: no branch named '" + o.branch + "' in " + o.timeline);
    const bridge::TimelineObservations t = bridge::observations_of(world, *b, bridge::load_mapping(o.mapping));
    l.steps = t.steps;
    for (echo::NodeId n : t.nodes) l.labels.push_back(world.node_name(n));
  } else {
    if (o.observations.empty()) usage("bridge: give a TIMELINE (with --mapping) or --observations");
    l.steps = bridge::split_steps(o.observations, l.model.observed);
    for (const auto& step : l.steps) {
      std::string label;
      for (const std::string& v : step) label += (label.empty() ? "" : ",") + v;
      l.labels.push_back(label);
    }
  }
  auto [likelihoods, observations] = l.model.compile(l.steps);
  l.likelihoods = std::move(likelihoods);
  l.observations = std::move(observations);
  return l;
}

// One {state: p} object per step of a T x S table.
nlohmann::json per_step(const bridge::Chain& chain, const std::vector<double>& table) {
  nlohmann::json steps = nlohmann::json::array();
  const std::size_t s = chain.size();
  for (std::size_t t = 0; s != 0 && t < table.size() / s; ++t) {
    nlohmann::json step = nlohmann::json::object();
    for (std::size_t i = 0; i < s; ++i) step[chain.states[i]] = table[t * s + i];
    steps.push_back(std::move(step));
  }
  return steps;
}

void print_table(const Loaded& l, const std::vector<double>& table, double log_likelihood) {
  std::string header = fmt::format("{:>6} {:<12}", "step", "observed");
  for (const std::string& s : l.model.chain.states) header += fmt::format(" {:>12}", s);
  std::cout << header << "\n";
  const std::size_t n = l.model.chain.size();
  for (std::size_t t = 0; t < l.observations.size(); ++t) {
    std::string line = fmt::format("{:>6} {:<12}", t + 1, l.labels[t]);
    for (std::size_t i = 0; i < n; ++i) line += fmt::format(" {:>12.6f}", table[t * n + i]);
    std::cout << line << "\n";
  }
  std::cout << fmt::format("log-likelihood {:.10g}\n", log_likelihood);
}

int run_filter(const BridgeOptions& o, bool smoothing) {
  const Loaded l = load(o);
  double log_likelihood = 0;
  std::vector<double> table;
  if (smoothing) {
    bridge::SmoothResult r = bridge::smooth(l.model.chain, l.likelihoods, l.observations);
    log_likelihood = r.log_likelihood;
    table = std::move(r.smoothed);
  } else {
    bridge::FilterResult r = bridge::filter(l.model.chain, l.likelihoods, l.observations);
    log_likelihood = r.log_likelihood;
    table = std::move(r.filtered);
  }
  if (o.json) {
    std::cout << nlohmann::json({{"log_likelihood", log_likelihood},
                                 {smoothing ? "smoothed" : "filtered", per_step(l.model.chain, table)}})
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  print_table(l, table, log_likelihood);
  return kExitOk;
}

int run_viterbi(const BridgeOptions& o) {
  const Loaded l = load(o);
  const bridge::ViterbiResult r = bridge::viterbi(l.model.chain, l.likelihoods, l.observations);
  std::vector<std::string> path;
  for (std::uint32_t s : r.path) path.push_back(l.model.chain.states[s]);
  if (o.json) {
    std::cout << nlohmann::json({{"path", path}, {"log_probability", r.log_probability}}).dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{}\nlog-probability {:.10g}\n", fmt::join(path, " "), r.log_probability);
  return kExitOk;
}

int run_branches(const BridgeOptions& o) {
  if (o.timeline.empty() || o.mapping.empty()) usage("bridge branches: needs MODEL, TIMELINE and --mapping");
  const Model model = load_model(o.model);
  const echo::World world = echo::load_world(o.timeline);
  const bridge::Mapping mapping = bridge::load_mapping(o.mapping);
  std::vector<echo::BranchId> all;
  for (echo::BranchId b = 0; b < world.branch_count(); ++b) all.push_back(b);
  const std::vector<bridge::BranchBelief> beliefs =
      bridge::branch_posteriors(world, all, model.chain, mapping, model.compile);
  std::vector<bridge::BranchDecision> decisions;
  qlogik::InfluenceDiagram diagram;
  if (!o.decide.empty()) {
    diagram = qlogik::load_influence_diagram(o.decide);
    std::vector<echo::BranchId> possible;
    for (const bridge::BranchBelief& b : beliefs) {
      if (b.posterior > 0) possible.push_back(b.branch);
    }
    decisions = bridge::branch_decisions(world, possible, model.chain, model.hidden, mapping, model.compile, diagram);
  }
  std::vector<bridge::RankedResolution> ranked;
  if (o.rank) {
    for (echo::BranchId b : all) {
      for (bridge::RankedResolution& r : bridge::rank_resolutions(world, b, model.chain, mapping, model.compile)) {
        ranked.push_back(std::move(r));
      }
    }
  }
  auto decision_of = [&](echo::BranchId b) -> const bridge::BranchDecision* {
    for (const bridge::BranchDecision& d : decisions) {
      if (d.branch == b) return &d;
    }
    return nullptr;
  };
  // A rule's chosen options by name, one per configuration of what the decision observes.
  auto options = [&](const qlogik::DecisionRule& r) {
    std::vector<std::string> names;
    const auto& states = diagram.variable(diagram.id(r.decision)).states;
    for (int c : r.choice) names.push_back(states[static_cast<std::size_t>(c)]);
    return names;
  };
  auto policy_text = [&](const bridge::BranchDecision& d) {
    std::string text;
    for (const qlogik::DecisionRule& r : d.policy) {
      text += (text.empty() ? "" : "; ") + r.decision + ": " + fmt::format("{}", fmt::join(options(r), "/"));
    }
    return text;
  };
  if (o.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const bridge::BranchBelief& b : beliefs) {
      nlohmann::json item = {{"branch", world.branch_name(b.branch)},
                             {"posterior", b.posterior},
                             {"log_likelihood", std::isfinite(b.log_likelihood) ? nlohmann::json(b.log_likelihood)
                                                                                : nlohmann::json(nullptr)},
                             {"log_prior", b.log_prior}};
      if (const bridge::BranchDecision* d = decision_of(b.branch)) {
        item["expected_utility"] = d->expected_utility;
        nlohmann::json policy = nlohmann::json::object();
        for (const qlogik::DecisionRule& r : d->policy) policy[r.decision] = options(r);
        item["policy"] = policy;
      }
      list.push_back(std::move(item));
    }
    nlohmann::json out = {{"branches", list}};
    if (o.rank) {
      nlohmann::json rs = nlohmann::json::array();
      for (const bridge::RankedResolution& r : ranked) {
        nlohmann::json alts = nlohmann::json::array();
        for (const bridge::RankedAlternative& a : r.alternatives) {
          alts.push_back({{"without", a.left_out_name}, {"posterior", a.posterior}});
        }
        rs.push_back({{"kind", echo::to_string(r.kind)}, {"paradox", r.paradox}, {"alternatives", alts}});
      }
      out["resolutions"] = rs;
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:<24} {:>12} {:>16} {:>12}{}\n", "branch", "posterior", "log-likelihood", "log-prior",
                           decisions.empty() ? "" : "   expected utility, policy");
  for (const bridge::BranchBelief& b : beliefs) {
    std::string tail;
    if (const bridge::BranchDecision* d = decision_of(b.branch)) {
      tail = fmt::format("   {:.6g}, {}", d->expected_utility, policy_text(*d));
    }
    std::cout << fmt::format("{:<24} {:>12.6f} {:>16.6f} {:>12.6f}{}\n", world.branch_name(b.branch), b.posterior,
                             b.log_likelihood, b.log_prior, tail);
  }
  for (const bridge::RankedResolution& r : ranked) {
    std::cout << fmt::format("\n[{}] {}\n", echo::to_string(r.kind), r.paradox);
    for (const bridge::RankedAlternative& a : r.alternatives) {
      std::cout << fmt::format("  without {:<20} posterior {:.6f}\n", a.left_out_name, a.posterior);
    }
  }
  return kExitOk;
}

}  // namespace

void add_bridge_commands(CLI::App& app, Action& action) {
  auto o = std::make_shared<BridgeOptions>();
  CLI::App* b = app.add_subcommand("bridge", "QL-ECHO-Bridge: beliefs over time (HMMs and dynamic Bayesian networks)");
  b->require_subcommand(1);
  auto common = [o](CLI::App* c) {
    c->add_option("MODEL", o->model, "Hidden Markov model or two-slice DBN (JSON, docs/bridge.md)")->required();
    c->add_option("TIMELINE", o->timeline, "ECHO-PRIME timeline (.json or .echo), read through --mapping");
    c->add_option("--mapping", o->mapping, "Which node attributes observe which variables (JSON)");
    c->add_flag("--json", o->json, "Print one JSON document on stdout");
  };
  auto sequence = [o, common](CLI::App* c) {
    common(c);
    c->add_option("--branch", o->branch, "The timeline's branch (default main)");
    c->add_option("--observations", o->observations,
                  "Instead of a TIMELINE: observations, comma-separated ('?': not observed; ';' between steps "
                  "when several variables are observed)");
  };
  CLI::App* filter = b->add_subcommand("filter", "Belief in each state after each observation, and the log-likelihood");
  sequence(filter);
  filter->callback([o, &action] { action = [o] { return run_filter(*o, false); }; });
  CLI::App* smooth = b->add_subcommand("smooth", "Belief in each state at each step given all observations");
  sequence(smooth);
  smooth->callback([o, &action] { action = [o] { return run_filter(*o, true); }; });
  CLI::App* viterbi = b->add_subcommand("viterbi", "The most likely sequence of states");
  sequence(viterbi);
  viterbi->callback([o, &action] { action = [o] { return run_viterbi(*o); }; });
  CLI::App* branches = b->add_subcommand("branches", "Posterior probability of each branch of a timeline");
  common(branches);
  branches->add_option(
      "--decide", o->decide,
      "Influence diagram (Q-Logik JSON) to act on each branch's final belief: expected utility, policy");
  branches->add_flag("--rank", o->rank, "Rank the alternatives of ECHO-PRIME's fork resolutions by posterior");
  branches->callback([o, &action] { action = [o] { return run_branches(*o); }; });
}

}  // namespace miso::app
