// `miso bridge ...`: beliefs over time from the command line.
//   filter MODEL --observations o1,o2,...    P(state_t | o_1..o_t) per step and ln P(o_1..o_T)
//   smooth MODEL --observations ...          P(state_t | o_1..o_T) per step (forward-backward)
//   viterbi MODEL --observations ...         the most likely state sequence
// MODEL: a hidden Markov model in JSON (docs/bridge.md). "?" in the
// observations stands for a step where nothing was observed.
#include <cmath>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/bridge/chain.hpp"
#include "miso/bridge/hmm.hpp"
#include "miso/core/error.hpp"

namespace miso::app {

namespace {

struct BridgeOptions {
  std::string model;
  std::string observations;
  bool json = false;
};

struct Loaded {
  bridge::Hmm hmm;
  bridge::Chain chain;
  bridge::Likelihoods likelihoods;
  std::vector<std::uint32_t> observations;
};

Loaded load(const BridgeOptions& o) {
  Loaded l;
  l.hmm = bridge::load_hmm(o.model);
  l.chain = l.hmm.chain();
  l.likelihoods = l.hmm.likelihoods();
  l.observations = l.hmm.observations(bridge::split_observations(o.observations));
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

void print_table(const Loaded& l, const std::vector<std::string>& symbols, const std::vector<double>& table,
                 double log_likelihood) {
  std::string header = fmt::format("{:>6} {:<12}", "step", "observed");
  for (const std::string& s : l.chain.states) header += fmt::format(" {:>12}", s);
  std::cout << header << "\n";
  const std::size_t n = l.chain.size();
  for (std::size_t t = 0; t < l.observations.size(); ++t) {
    std::string line = fmt::format("{:>6} {:<12}", t + 1, symbols[t]);
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
    bridge::SmoothResult r = bridge::smooth(l.chain, l.likelihoods, l.observations);
    log_likelihood = r.log_likelihood;
    table = std::move(r.smoothed);
  } else {
    bridge::FilterResult r = bridge::filter(l.chain, l.likelihoods, l.observations);
    log_likelihood = r.log_likelihood;
    table = std::move(r.filtered);
  }
  if (o.json) {
    std::cout << nlohmann::json({{"log_likelihood", log_likelihood},
                                 {smoothing ? "smoothed" : "filtered", per_step(l.chain, table)}})
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  print_table(l, bridge::split_observations(o.observations), table, log_likelihood);
  return kExitOk;
}

int run_viterbi(const BridgeOptions& o) {
  const Loaded l = load(o);
  const bridge::ViterbiResult r = bridge::viterbi(l.chain, l.likelihoods, l.observations);
  std::vector<std::string> path;
  for (std::uint32_t s : r.path) path.push_back(l.chain.states[s]);
  if (o.json) {
    std::cout << nlohmann::json({{"path", path}, {"log_probability", r.log_probability}}).dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("{}\nlog-probability {:.10g}\n", fmt::join(path, " "), r.log_probability);
  return kExitOk;
}

}  // namespace

void add_bridge_commands(CLI::App& app, Action& action) {
  auto o = std::make_shared<BridgeOptions>();
  CLI::App* b = app.add_subcommand("bridge", "QL-ECHO-Bridge: beliefs over time (hidden Markov models)");
  b->require_subcommand(1);
  auto common = [o](CLI::App* c) {
    c->add_option("MODEL", o->model, "Hidden Markov model (JSON, docs/bridge.md)")->required();
    c->add_option("--observations", o->observations, "Observed symbols, comma-separated ('?': nothing observed)")
        ->required();
    c->add_flag("--json", o->json, "Print one JSON document on stdout");
  };
  CLI::App* filter = b->add_subcommand("filter", "Belief in each state after each observation, and the log-likelihood");
  common(filter);
  filter->callback([o, &action] { action = [o] { return run_filter(*o, false); }; });
  CLI::App* smooth = b->add_subcommand("smooth", "Belief in each state at each step given all observations");
  common(smooth);
  smooth->callback([o, &action] { action = [o] { return run_filter(*o, true); }; });
  CLI::App* viterbi = b->add_subcommand("viterbi", "The most likely sequence of states");
  common(viterbi);
  viterbi->callback([o, &action] { action = [o] { return run_viterbi(*o); }; });
}

}  // namespace miso::app
