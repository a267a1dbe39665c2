// `miso qlogik ...`: Bayesian and decision networks from the command line.
//   info FILE                      the network's size and its junction tree
//   query FILE [--evidence A=a,B=b] [--query C,D] [--method M]
//                                  posterior marginals and P(evidence)
//   map FILE [--evidence ...] [--variables A,B]
//                                  most probable explanation (or MAP over some variables)
//   sample FILE -n N --out CSV     forward samples
//   learn FILE --data CSV --out FILE [--prior P]
//                                  CPTs of FILE's structure learned from data
//   convert IN OUT                 BIF <-> XMLBIF
//   decide FILE.json [--vpi VAR --before DECISION]
//                                  the policy of maximum expected utility
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/core/error.hpp"
#include "miso/omega/api.hpp"
#include "miso/qlogik/approximate.hpp"
#include "miso/qlogik/decision.hpp"
#include "miso/qlogik/enumerate.hpp"
#include "miso/qlogik/format.hpp"
#include "miso/qlogik/inference.hpp"
#include "miso/qlogik/learning.hpp"

namespace miso::app {

namespace {

using qlogik::Evidence;
using qlogik::Network;
using qlogik::VarId;

struct QlogikOptions {
  std::string file;
  std::string evidence;
  std::string query;
  std::string variables;
  std::string method = "jt";
  std::uint64_t samples = 100000;
  std::uint64_t seed = 1;
  std::string out;
  std::string data;
  std::string prior = "ml";
  double alpha = 1.0;
  std::string second;  // convert's OUT
  std::string vpi, before;
  bool json = false;
};

[[noreturn]] void usage(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

int run_info(const QlogikOptions& o) {
  Network net = qlogik::load_network(o.file);
  std::int64_t arcs = 0, parameters = 0, max_parents = 0, max_states = 0;
  for (std::size_t v = 0; v < net.size(); ++v) {
    const auto id = static_cast<VarId>(v);
    arcs += static_cast<std::int64_t>(net.parents(id).size());
    max_parents = std::max<std::int64_t>(max_parents, static_cast<std::int64_t>(net.parents(id).size()));
    max_states = std::max(max_states, net.cardinality(id));
    parameters += (net.cardinality(id) - 1) * net.rows(id);
  }
  nlohmann::json info = {{"name", net.name()},       {"variables", net.size()},    {"arcs", arcs},
                         {"parameters", parameters}, {"max_parents", max_parents}, {"max_states", max_states}};
  std::string jt_text;
  try {
    qlogik::JunctionTree jt(net);
    auto s = jt.stats();
    info["junction_tree"] = {{"cliques", s.cliques},
                             {"max_clique_variables", s.max_clique_variables},
                             {"max_clique_entries", s.max_clique_entries},
                             {"total_entries", s.total_entries},
                             {"treewidth", s.treewidth}};
    jt_text = fmt::format("{} cliques, treewidth {}, largest clique {} entries, {} entries in all", s.cliques,
                          s.treewidth, s.max_clique_entries, s.total_entries);
  } catch (const Error& e) {
    info["junction_tree"] = {{"error", e.what()}};
    jt_text = std::string("not compiled: ") + e.what();
  }
  if (o.json) {
    std::cout << info.dump(2) << "\n";
  } else {
    std::cout << fmt::format("network        {}\n", net.name()) << fmt::format("variables      {}\n", net.size())
              << fmt::format("arcs           {}\n", arcs) << fmt::format("parameters     {}\n", parameters)
              << fmt::format("max parents    {}\n", max_parents) << fmt::format("max states     {}\n", max_states)
              << fmt::format("junction tree  {}\n", jt_text);
  }
  return kExitOk;
}

int run_query(const QlogikOptions& o) {
  Network net = qlogik::load_network(o.file);
  omega::QlogikQuery q;
  q.evidence = qlogik::parse_evidence(net, o.evidence);
  q.query = qlogik::parse_variables(net, o.query);
  q.method = o.method;
  q.samples = o.samples;
  q.seed = o.seed;
  const omega::QlogikAnswer m = omega::qlogik_query(net, q);
  if (o.json) {
    std::cout << omega::to_json(net, m).dump(2) << "\n";
    return kExitOk;
  }
  if (m.p_evidence_known) {
    std::cout << fmt::format("P(evidence) = {:.10g}\n", m.p_evidence);
  }
  if (m.impossible) {
    std::cout << "the evidence has probability zero: no posterior exists\n";
    return kExitOk;
  }
  for (VarId v : m.query) {
    const auto& var = net.variable(v);
    std::cout << var.name << "\n";
    for (std::size_t s = 0; s < var.states.size(); ++s) {
      std::cout << fmt::format("  {:<24} {:.8f}", var.states[s], m.p[static_cast<std::size_t>(v)][s]);
      if (!m.error.empty()) std::cout << fmt::format("  ± {:.2g}", m.error[static_cast<std::size_t>(v)][s]);
      std::cout << "\n";
    }
  }
  if (!m.details.empty()) std::cout << m.details.dump() << "\n";
  return kExitOk;
}

int run_map(const QlogikOptions& o) {
  Network net = qlogik::load_network(o.file);
  Evidence ev = qlogik::parse_evidence(net, o.evidence);
  std::vector<VarId> vars = qlogik::parse_variables(net, o.variables);
  const bool mpe = vars.empty();
  qlogik::Explanation x =
      mpe ? qlogik::most_probable_explanation(net, ev) : qlogik::maximum_a_posteriori(net, ev, vars);
  if (mpe) {
    for (std::size_t v = 0; v < net.size(); ++v) {
      if (ev[v] < 0) vars.push_back(static_cast<VarId>(v));
    }
  }
  const bool impossible = x.p_evidence == 0;
  const double posterior = impossible ? 0.0 : x.probability / x.p_evidence;
  if (o.json) {
    nlohmann::json assignment = nlohmann::json::object();
    if (!impossible) {
      for (VarId v : vars) {
        assignment[net.variable(v).name] =
            net.variable(v).states[static_cast<std::size_t>(x.assignment[static_cast<std::size_t>(v)])];
      }
    }
    nlohmann::json out = {{"kind", mpe ? "mpe" : "map"},
                          {"assignment", assignment},
                          {"joint_probability", x.probability},
                          {"p_evidence", x.p_evidence},
                          {"posterior_probability", posterior}};
    if (impossible) out["impossible_evidence"] = true;
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (impossible) {
    std::cout << "the evidence has probability zero: no explanation exists\n";
    return kExitOk;
  }
  std::cout << (mpe ? "most probable explanation\n" : "maximum a posteriori assignment\n");
  for (VarId v : vars) {
    std::cout << fmt::format(
        "  {:<24} {}\n", net.variable(v).name,
        net.variable(v).states[static_cast<std::size_t>(x.assignment[static_cast<std::size_t>(v)])]);
  }
  std::cout << fmt::format("P(assignment, evidence) = {:.10g}\nP(assignment | evidence) = {:.10g}\n", x.probability,
                           posterior);
  return kExitOk;
}

int run_sample(const QlogikOptions& o) {
  Network net = qlogik::load_network(o.file);
  if (o.out.empty() || o.out == "-") {
    qlogik::sample_csv(net, o.samples, o.seed, std::cout);
    return kExitOk;
  }
  const std::string tmp = o.out + ".partial";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw Error(Error::Kind::Io, "cannot write '" + tmp + "': " + system_error_text(errno));
    qlogik::sample_csv(net, o.samples, o.seed, f);
    f.flush();
    if (!f) throw Error(Error::Kind::Io, "writing '" + tmp + "' failed");
  }
  if (std::rename(tmp.c_str(), o.out.c_str()) != 0) {
    throw Error(Error::Kind::Io, "cannot rename '" + tmp + "' to '" + o.out + "': " + system_error_text(errno));
  }
  if (o.json) {
    std::cout << nlohmann::json({{"samples", o.samples}, {"seed", o.seed}, {"out", o.out}}).dump(2) << "\n";
  } else {
    std::cout << fmt::format("wrote {} samples of {} to {}\n", o.samples, net.name(), o.out);
  }
  return kExitOk;
}

int run_learn(const QlogikOptions& o) {
  Network structure = qlogik::load_network(o.file);
  qlogik::LearningOptions lo;
  if (o.prior == "ml") {
    lo.prior = qlogik::Prior::MaximumLikelihood;
  } else if (o.prior == "dirichlet") {
    lo.prior = qlogik::Prior::Dirichlet;
    lo.pseudo_count = o.alpha;
  } else if (o.prior == "bdeu") {
    lo.prior = qlogik::Prior::BDeu;
    lo.equivalent_sample_size = o.alpha;
  } else {
    usage("qlogik learn: unknown --prior '" + o.prior + "' (ml, dirichlet, bdeu)");
  }
  qlogik::LearningStats stats;
  Network learned = qlogik::learn_parameters_file(structure, o.data, lo, &stats);
  if (!o.out.empty()) qlogik::save_network(learned, o.out);
  nlohmann::json out = {
      {"rows", stats.rows},
      {"bytes", stats.bytes},
      {"seconds", stats.seconds},
      {"mb_per_second", stats.seconds > 0 ? static_cast<double>(stats.bytes) / 1e6 / stats.seconds : 0.0},
      {"out", o.out}};
  if (o.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << fmt::format("learned {} CPTs from {} rows ({:.1f} MB/s){}\n", learned.size(), stats.rows,
                             out["mb_per_second"].get<double>(), o.out.empty() ? "" : " into " + o.out);
    if (o.out.empty()) std::cout << qlogik::write_bif(learned);
  }
  return kExitOk;
}

int run_convert(const QlogikOptions& o) {
  Network net = qlogik::load_network(o.file);
  qlogik::save_network(net, o.second);
  if (!o.json) std::cout << fmt::format("wrote {} ({} variables) to {}\n", net.name(), net.size(), o.second);
  return kExitOk;
}

int run_decide(const QlogikOptions& o) {
  qlogik::InfluenceDiagram d = qlogik::load_influence_diagram(o.file);
  qlogik::Solution s = qlogik::solve(d);
  nlohmann::json out;
  out["expected_utility"] = s.expected_utility;
  nlohmann::json policy = nlohmann::json::array();
  for (const auto& rule : s.policy) {
    policy.push_back({{"decision", rule.decision}, {"observed", rule.observed}, {"choice", rule.choice}});
  }
  out["policy"] = policy;
  if (!o.vpi.empty()) {
    if (o.before.empty()) usage("qlogik decide: --vpi needs --before DECISION");
    out["value_of_perfect_information"] = {
        {"variable", o.vpi}, {"before", o.before}, {"value", qlogik::value_of_perfect_information(d, o.vpi, o.before)}};
  }
  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << fmt::format("maximum expected utility = {:.10g}\n", s.expected_utility);
  for (const auto& rule : s.policy) {
    std::cout << "decision " << rule.decision;
    if (!rule.observed.empty()) {
      std::cout << " given";
      for (const auto& name : rule.observed) std::cout << " " << name;
    }
    std::cout << ": option index per configuration " << nlohmann::json(rule.choice).dump() << "\n";
  }
  if (out.contains("value_of_perfect_information")) {
    std::cout << fmt::format("value of perfect information about {} before {} = {:.10g}\n", o.vpi, o.before,
                             out["value_of_perfect_information"]["value"].get<double>());
  }
  return kExitOk;
}

}  // namespace

void add_qlogik_commands(CLI::App& app, Action& action) {
  CLI::App* q = app.add_subcommand("qlogik", "Q-Logik: Bayesian and decision networks");
  q->require_subcommand(1);
  auto o = std::make_shared<QlogikOptions>();
  auto json_flag = [o](CLI::App* c) { c->add_flag("--json", o->json, "Print one JSON document on stdout"); };
  auto evidence = [o](CLI::App* c) {
    c->add_option("--evidence,-e", o->evidence, "Observed states: VAR=state,VAR=state");
  };

  CLI::App* info = q->add_subcommand("info", "Size of a network (BIF or XMLBIF) and of its junction tree");
  info->add_option("FILE", o->file, "Network file")->required();
  json_flag(info);
  info->callback([o, &action] { action = [o] { return run_info(*o); }; });

  CLI::App* query = q->add_subcommand("query", "Posterior marginals and P(evidence)");
  query->add_option("FILE", o->file, "Network file")->required();
  evidence(query);
  query->add_option("--query,-q", o->query, "Variables to print: VAR,VAR (default: every unobserved one)");
  query->add_option("--method,-m", o->method, "jt (junction tree), ve, enumerate, lw, gibbs or bp")
      ->capture_default_str();
  query->add_option("--samples", o->samples, "Samples for lw and gibbs")->capture_default_str();
  query->add_option("--seed", o->seed, "Seed for lw and gibbs")->capture_default_str();
  json_flag(query);
  query->callback([o, &action] { action = [o] { return run_query(*o); }; });

  CLI::App* map = q->add_subcommand("map", "Most probable explanation, or MAP over --variables");
  map->add_option("FILE", o->file, "Network file")->required();
  evidence(map);
  map->add_option("--variables", o->variables, "MAP variables VAR,VAR (default: MPE over every unobserved one)");
  json_flag(map);
  map->callback([o, &action] { action = [o] { return run_map(*o); }; });

  CLI::App* sample = q->add_subcommand("sample", "Forward samples as CSV (header of variable names)");
  sample->add_option("FILE", o->file, "Network file")->required();
  sample->add_option("-n,--samples", o->samples, "Number of samples")->required();
  sample->add_option("--out,-o", o->out, "CSV file to write (default: stdout)");
  sample->add_option("--seed", o->seed, "Seed")->capture_default_str();
  json_flag(sample);
  sample->callback([o, &action] { action = [o] { return run_sample(*o); }; });

  CLI::App* learn = q->add_subcommand("learn", "Learn the CPTs of FILE's structure from a CSV of observations");
  learn->add_option("FILE", o->file, "Network file giving the structure")->required();
  learn->add_option("--data,-d", o->data, "CSV of observations")->required();
  learn->add_option("--out,-o", o->out, "Where to write the learned network (.bif or .xml)");
  learn->add_option("--prior", o->prior, "ml, dirichlet or bdeu")->capture_default_str();
  learn->add_option("--alpha", o->alpha, "Dirichlet pseudo-count or BDeu equivalent sample size")
      ->capture_default_str();
  json_flag(learn);
  learn->callback([o, &action] { action = [o] { return run_learn(*o); }; });

  CLI::App* convert = q->add_subcommand("convert", "Convert between BIF and XMLBIF (by file extension)");
  convert->add_option("IN", o->file, "Network file")->required();
  convert->add_option("OUT", o->second, "Output file (.bif, .xml or .xmlbif)")->required();
  convert->callback([o, &action] { action = [o] { return run_convert(*o); }; });

  CLI::App* decide = q->add_subcommand("decide", "Maximum expected utility policy of an influence diagram (JSON)");
  decide->add_option("FILE", o->file, "Influence diagram file")->required();
  decide->add_option("--vpi", o->vpi, "Also the value of perfect information about this chance variable");
  decide->add_option("--before", o->before, "... observed before this decision");
  json_flag(decide);
  decide->callback([o, &action] { action = [o] { return run_decide(*o); }; });
}

}  // namespace miso::app
