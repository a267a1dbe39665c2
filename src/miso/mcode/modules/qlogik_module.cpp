// The `qlogik` module of M-CODE: Bayesian networks (load/parse BIF and XMLBIF, exact and
// approximate queries, explanations, forward sampling) and decision networks (influence
// diagrams: maximum expected utility, policies, value of information).
//
// Handles share the engine objects immutably (std::shared_ptr<const ...>): a network is
// never changed after loading, so cloning a handle for a worker VM is a pointer copy, and
// bridge.dbn can keep the networks it is given.
#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/qlogik/approximate.hpp"
#include "miso/qlogik/decision.hpp"
#include "miso/qlogik/format.hpp"
#include "miso/qlogik/inference.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::mcode {

using NetworkPtr = std::shared_ptr<const qlogik::Network>;
using DiagramPtr = std::shared_ptr<const qlogik::InfluenceDiagram>;

namespace {

// Rough engine memory of a network (its CPTs), charged to the VM's budget.
std::size_t network_bytes(const qlogik::Network& net) {
  std::size_t bytes = sizeof(qlogik::Network);
  for (qlogik::VarId v = 0; v < static_cast<qlogik::VarId>(net.size()); ++v)
    bytes += net.cpt(v).table.size() * sizeof(double) + 64;
  return bytes;
}

std::string display_network(const void* data) {
  const auto& net = **static_cast<const NetworkPtr*>(data);
  return "<network " + net.name() + " (" + std::to_string(net.size()) + " variables)>";
}

std::string display_diagram(const void* data) {
  const auto& d = **static_cast<const DiagramPtr*>(data);
  return "<decision_network " + d.name() + " (" + std::to_string(d.size()) + " variables, " +
         std::to_string(d.utilities().size()) + " utilities)>";
}

const qlogik::Network& net_of(NativeCallContext& context, Args args) {
  return *arg_handle<NetworkPtr>(context, args, 0, kNetworkHandle, "receiver");
}

// {"A": "yes", ...} (values strings) against the network; nil means no evidence.
qlogik::Evidence evidence_arg(NativeCallContext& context, Args args, std::size_t i, const qlogik::Network& net) {
  qlogik::Evidence ev = qlogik::no_evidence(net);
  if (!has_arg(args, i)) return ev;
  Map* map = arg_map(context, args, i, "evidence");
  map->for_each([&](Value key, Value value) {
    if (!key.is_string()) argument_error(context, "an evidence key", "a variable name (string)", key);
    if (!value.is_string()) argument_error(context, "an evidence value", "a state name (string)", value);
    qlogik::VarId v = net.find(key.as_string()->view());
    if (v < 0) context.error(context.name() + ": unknown variable '" + std::string(key.as_string()->view()) + "'");
    const auto& states = net.variable(v).states;
    auto it = std::find(states.begin(), states.end(), value.as_string()->view());
    if (it == states.end())
      context.error(context.name() + ": variable '" + net.variable(v).name + "' has no state '" +
                    std::string(value.as_string()->view()) + "'");
    ev[static_cast<std::size_t>(v)] = static_cast<int>(it - states.begin());
  });
  return ev;
}

qlogik::VarId variable_arg(NativeCallContext& context, Args args, std::size_t i, const qlogik::Network& net) {
  std::string_view name = arg_string(context, args, i, "variable");
  qlogik::VarId v = net.find(name);
  if (v < 0) context.error(context.name() + ": unknown variable '" + std::string(name) + "'");
  return v;
}

std::vector<qlogik::VarId> variables_arg(NativeCallContext& context, Args args, std::size_t i,
                                         const qlogik::Network& net) {
  std::vector<qlogik::VarId> out;
  if (!has_arg(args, i)) {
    for (qlogik::VarId v = 0; v < static_cast<qlogik::VarId>(net.size()); ++v) out.push_back(v);
    return out;
  }
  for (const std::string& name : arg_string_list(context, args, i, "targets")) {
    qlogik::VarId v = net.find(name);
    if (v < 0) context.error(context.name() + ": unknown variable '" + name + "'");
    out.push_back(v);
  }
  return out;
}

// {state: probability} of one variable.
Value distribution(Heap& heap, const qlogik::Network& net, qlogik::VarId v, const std::vector<double>& p) {
  const auto& states = net.variable(v).states;
  Map* m = heap.map(states.size());
  for (std::size_t s = 0; s < states.size(); ++s)
    m->set(heap, heap.string_value(states[s]), Value::number(s < p.size() ? p[s] : 0.0));
  return Value::object(m);
}

// An int option of an options map, or `fallback` when absent.
std::int64_t int_option(NativeCallContext& context, Map* options, const char* key, std::int64_t fallback) {
  Value v = options->get(context.heap().string_value(key));
  if (v.is_empty() || v.is_nil()) return fallback;
  if (!v.is_int() || v.as_int() < 0) argument_error(context, key, "a non-negative int", v);
  return v.as_int();
}

// --- module functions ---

Value wrap_network(NativeCallContext& context, qlogik::Network net) {
  std::size_t bytes = network_bytes(net);
  return make_handle(context.heap(), kNetworkHandle, NetworkPtr(std::make_shared<qlogik::Network>(std::move(net))),
                     bytes);
}

Value qlogik_load(NativeCallContext& context, Args args) {
  std::string_view path = arg_string(context, args, 0, "path");
  std::string checked = context.vm.checked_path(path).string();
  return wrap_network(context, guarded(context, [&] { return qlogik::load_network(checked); }));
}

Value qlogik_parse(NativeCallContext& context, Args args) {
  std::string_view text = arg_string(context, args, 0, "text");
  std::string format = has_arg(args, 1) ? std::string(arg_string(context, args, 1, "format")) : "bif";
  if (format != "bif" && format != "xmlbif")
    context.error(context.name() + ": format must be \"bif\" or \"xmlbif\", got \"" + format + "\"");
  return wrap_network(context, guarded(context, [&] {
                        return format == "bif" ? qlogik::read_bif(text, "<text>") : qlogik::read_xmlbif(text, "<text>");
                      }));
}

Value wrap_diagram(NativeCallContext& context, qlogik::InfluenceDiagram d) {
  return make_handle(context.heap(), kDiagramHandle,
                     DiagramPtr(std::make_shared<qlogik::InfluenceDiagram>(std::move(d))),
                     sizeof(qlogik::InfluenceDiagram));
}

Value qlogik_load_decision(NativeCallContext& context, Args args) {
  std::string_view path = arg_string(context, args, 0, "path");
  std::string checked = context.vm.checked_path(path).string();
  return wrap_diagram(context, guarded(context, [&] { return qlogik::load_influence_diagram(checked); }));
}

Value qlogik_parse_decision(NativeCallContext& context, Args args) {
  std::string_view text = arg_string(context, args, 0, "text");
  return wrap_diagram(context, guarded(context, [&] { return qlogik::read_influence_diagram(text, "<text>"); }));
}

// --- network methods ---

Value net_name(NativeCallContext& context, Args args) {
  return make_string(context.heap(), net_of(context, args).name());
}

Value net_len(NativeCallContext& context, Args args) {
  return context.heap().integer(static_cast<std::int64_t>(net_of(context, args).size()));
}

Value net_variables(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  List* out = context.heap().list(net.size());
  for (qlogik::VarId v = 0; v < static_cast<qlogik::VarId>(net.size()); ++v)
    out->push(context.heap(), context.heap().string_value(net.variable(v).name));
  return Value::object(out);
}

Value net_states(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  return make_string_list(context.heap(), net.variable(variable_arg(context, args, 1, net)).states);
}

Value net_parents(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  List* out = context.heap().list();
  for (qlogik::VarId p : net.parents(variable_arg(context, args, 1, net)))
    out->push(context.heap(), context.heap().string_value(net.variable(p).name));
  return Value::object(out);
}

Value net_children(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  List* out = context.heap().list();
  for (qlogik::VarId c : net.children(variable_arg(context, args, 1, net)))
    out->push(context.heap(), context.heap().string_value(net.variable(c).name));
  return Value::object(out);
}

// The CPT as a flat list in the engine's layout (parents slowest, the child fastest).
Value net_cpt(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  return make_number_list(context.heap(), net.cpt(variable_arg(context, args, 1, net)).table);
}

// query(evidence, [targets], [options]) -> {target: {state: p}}
Value net_query(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  qlogik::Evidence ev = evidence_arg(context, args, 1, net);
  std::vector<qlogik::VarId> targets = variables_arg(context, args, 2, net);
  std::string method = "exact";
  std::int64_t samples = 100000, seed = 1;
  if (has_arg(args, 3)) {
    Map* options = arg_map(context, args, 3, "options");
    Value m = options->get(context.heap().string_value("method"));
    if (!m.is_empty() && !m.is_nil()) {
      if (!m.is_string()) argument_error(context, "method", "a string", m);
      method = std::string(m.as_string()->view());
    }
    samples = int_option(context, options, "samples", samples);
    seed = int_option(context, options, "seed", seed);
  }
  if (samples > 100000000) context.error(context.name() + ": samples must be at most 100000000");
  std::vector<std::vector<double>> marginals = guarded(context, [&]() -> std::vector<std::vector<double>> {
    if (method == "exact") {
      if (!has_arg(args, 2)) return qlogik::JunctionTree(net).query(ev).marginals;
      return qlogik::variable_elimination(net, ev, targets).marginals;
    }
    qlogik::SamplingOptions so;
    so.samples = static_cast<std::uint64_t>(samples);
    so.seed = static_cast<std::uint64_t>(seed);
    if (method == "sampling" || method == "likelihood_weighting")
      return qlogik::likelihood_weighting(net, ev, so).marginals;
    if (method == "gibbs") return qlogik::gibbs_sampling(net, ev, so).marginals;
    if (method == "bp") return qlogik::loopy_belief_propagation(net, ev).marginals;
    throw miso::Error(miso::Error::Kind::InvalidArgument,
                      "method must be \"exact\", \"sampling\", \"gibbs\" or \"bp\", got \"" + method + "\"");
  });
  Heap& heap = context.heap();
  Map* out = heap.map(targets.size());
  for (qlogik::VarId v : targets)
    out->set(heap, heap.string_value(net.variable(v).name),
             distribution(heap, net, v, marginals[static_cast<std::size_t>(v)]));
  return Value::object(out);
}

Value net_probability(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  qlogik::Evidence ev = evidence_arg(context, args, 1, net);
  return Value::number(guarded(context, [&] { return qlogik::variable_elimination(net, ev, {}).p_evidence; }));
}

Value explanation_value(Heap& heap, const qlogik::Network& net, const qlogik::Explanation& e) {
  Map* assignment = heap.map();
  for (std::size_t v = 0; v < e.assignment.size(); ++v)
    if (e.assignment[v] >= 0)
      assignment->set(
          heap, heap.string_value(net.variable(static_cast<qlogik::VarId>(v)).name),
          heap.string_value(
              net.variable(static_cast<qlogik::VarId>(v)).states[static_cast<std::size_t>(e.assignment[v])]));
  Map* out = heap.map(3);
  out->set(heap, heap.string_value("assignment"), Value::object(assignment));
  out->set(heap, heap.string_value("probability"), Value::number(e.probability));
  out->set(heap, heap.string_value("p_evidence"), Value::number(e.p_evidence));
  return Value::object(out);
}

Value net_mpe(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  qlogik::Evidence ev = evidence_arg(context, args, 1, net);
  return explanation_value(context.heap(), net,
                           guarded(context, [&] { return qlogik::most_probable_explanation(net, ev); }));
}

Value net_map(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  qlogik::Evidence ev = evidence_arg(context, args, 1, net);
  if (!has_arg(args, 2)) argument_error(context, "variables", "a list of strings", Value());
  std::vector<qlogik::VarId> vars = variables_arg(context, args, 2, net);
  return explanation_value(context.heap(), net,
                           guarded(context, [&] { return qlogik::maximum_a_posteriori(net, ev, vars); }));
}

// Splits one CSV line (RFC 4180 quoting, as sample_csv writes it).
std::vector<std::string> csv_cells(std::string_view line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else if (c != '\r') {
      cells.back().push_back(c);
    }
  }
  return cells;
}

// sample(n, [seed]) -> [{var: state}, ...] by forward sampling.
Value net_sample(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  std::int64_t n = arg_int(context, args, 1, "n");
  if (n < 0 || n > 1000000) context.error(context.name() + ": n must be in [0, 1000000], got " + std::to_string(n));
  std::int64_t seed = has_arg(args, 2) ? arg_int(context, args, 2, "seed") : 1;
  std::ostringstream csv;
  guarded(context, [&] {
    qlogik::sample_csv(net, static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(seed), csv);
    return 0;
  });
  // State names never hold line breaks in practice; a quoted one would, so split carefully.
  std::string text = csv.str();
  std::vector<std::string> lines;
  {
    std::string current;
    bool quoted = false;
    for (char c : text) {
      if (c == '"') quoted = !quoted;
      if (c == '\n' && !quoted) {
        lines.push_back(std::move(current));
        current.clear();
      } else {
        current.push_back(c);
      }
    }
    if (!current.empty()) lines.push_back(std::move(current));
  }
  Heap& heap = context.heap();
  std::vector<Value> names;
  for (qlogik::VarId v = 0; v < static_cast<qlogik::VarId>(net.size()); ++v)
    names.push_back(heap.string_value(net.variable(v).name));
  List* out = heap.list(static_cast<std::size_t>(n));
  for (std::size_t r = 1; r < lines.size(); ++r) {
    std::vector<std::string> cells = csv_cells(lines[r]);
    Map* row = heap.map(names.size());
    for (std::size_t c = 0; c < names.size() && c < cells.size(); ++c)
      row->set(heap, names[c], heap.string_value(cells[c]));
    out->push(heap, Value::object(row));
  }
  return Value::object(out);
}

Value net_to_bif(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  return make_string(context.heap(), guarded(context, [&] { return qlogik::write_bif(net); }));
}

Value net_to_xmlbif(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  return make_string(context.heap(), guarded(context, [&] { return qlogik::write_xmlbif(net); }));
}

Value net_save(NativeCallContext& context, Args args) {
  const qlogik::Network& net = net_of(context, args);
  std::string checked = context.vm.checked_path(arg_string(context, args, 1, "path")).string();
  guarded(context, [&] {
    qlogik::save_network(net, checked);
    return 0;
  });
  return Value();
}

// --- decision network methods ---

const qlogik::InfluenceDiagram& diagram_of(NativeCallContext& context, Args args) {
  return *arg_handle<DiagramPtr>(context, args, 0, kDiagramHandle, "receiver");
}

// solve() -> {"expected_utility": u, "policy": [{"decision", "observed", "rules": [{"when": {..}, "choose": o}]}]}
Value diagram_solve(NativeCallContext& context, Args args) {
  const qlogik::InfluenceDiagram& d = diagram_of(context, args);
  qlogik::Solution s = guarded(context, [&] { return qlogik::solve(d); });
  Heap& heap = context.heap();
  List* policy = heap.list(s.policy.size());
  for (const qlogik::DecisionRule& rule : s.policy) {
    const auto& options = d.variable(d.id(rule.decision)).states;
    std::vector<qlogik::VarId> observed;
    for (const std::string& name : rule.observed) observed.push_back(d.id(name));
    List* rules = heap.list(rule.choice.size());
    for (std::size_t config = 0; config < rule.choice.size(); ++config) {
      // Decode the configuration: the first observed variable slowest.
      Map* when = heap.map(observed.size());
      std::size_t rest = config;
      std::vector<std::size_t> digits(observed.size());
      for (std::size_t k = observed.size(); k-- > 0;) {
        std::size_t card = static_cast<std::size_t>(d.cardinality(observed[k]));
        digits[k] = rest % card;
        rest /= card;
      }
      for (std::size_t k = 0; k < observed.size(); ++k)
        when->set(heap, heap.string_value(rule.observed[k]),
                  heap.string_value(d.variable(observed[k]).states[digits[k]]));
      Map* entry = heap.map(2);
      entry->set(heap, heap.string_value("when"), Value::object(when));
      entry->set(heap, heap.string_value("choose"),
                 heap.string_value(options[static_cast<std::size_t>(rule.choice[config])]));
      rules->push(heap, Value::object(entry));
    }
    Map* r = heap.map(3);
    r->set(heap, heap.string_value("decision"), heap.string_value(rule.decision));
    r->set(heap, heap.string_value("observed"), make_string_list(heap, rule.observed));
    r->set(heap, heap.string_value("rules"), Value::object(rules));
    policy->push(heap, Value::object(r));
  }
  Map* out = heap.map(2);
  out->set(heap, heap.string_value("expected_utility"), Value::number(s.expected_utility));
  out->set(heap, heap.string_value("policy"), Value::object(policy));
  return Value::object(out);
}

Value diagram_expected_utility(NativeCallContext& context, Args args) {
  return Value::number(guarded(context, [&] { return qlogik::solve(diagram_of(context, args)).expected_utility; }));
}

Value diagram_best_decision(NativeCallContext& context, Args args) {
  // The first decision's option when it observes nothing (else its rule for the first configuration).
  const qlogik::InfluenceDiagram& d = diagram_of(context, args);
  qlogik::Solution s = guarded(context, [&] { return qlogik::solve(d); });
  if (s.policy.empty()) return Value();
  const qlogik::DecisionRule& rule = s.policy.front();
  return make_string(context.heap(),
                     d.variable(d.id(rule.decision)).states[static_cast<std::size_t>(rule.choice.front())]);
}

Value diagram_voi(NativeCallContext& context, Args args) {
  const qlogik::InfluenceDiagram& d = diagram_of(context, args);
  std::string chance(arg_string(context, args, 1, "chance"));
  std::string decision(arg_string(context, args, 2, "decision"));
  return Value::number(guarded(context, [&] { return qlogik::value_of_perfect_information(d, chance, decision); }));
}

Value diagram_variables(NativeCallContext& context, Args args) {
  const qlogik::InfluenceDiagram& d = diagram_of(context, args);
  List* out = context.heap().list(d.size());
  for (qlogik::VarId v = 0; v < static_cast<qlogik::VarId>(d.size()); ++v)
    out->push(context.heap(), context.heap().string_value(d.variable(v).name));
  return Value::object(out);
}

Value diagram_decisions(NativeCallContext& context, Args args) {
  const qlogik::InfluenceDiagram& d = diagram_of(context, args);
  List* out = context.heap().list();
  for (qlogik::VarId v : d.decisions()) out->push(context.heap(), context.heap().string_value(d.variable(v).name));
  return Value::object(out);
}

Value diagram_states(NativeCallContext& context, Args args) {
  const qlogik::InfluenceDiagram& d = diagram_of(context, args);
  std::string_view name = arg_string(context, args, 1, "variable");
  qlogik::VarId v = d.find(name);
  if (v < 0) context.error(context.name() + ": unknown variable '" + std::string(name) + "'");
  return make_string_list(context.heap(), d.variable(v).states);
}

const NativeBinding kFunctions[] = {
    {"load", qlogik_load, 1, "load(path): a Bayesian network from a .bif / .xmlbif / .xml file"},
    {"parse", qlogik_parse, -1, "parse(text, [format]): a network from BIF (default) or \"xmlbif\" text"},
    {"load_decision", qlogik_load_decision, 1, "load_decision(path): an influence diagram (JSON)"},
    {"parse_decision", qlogik_parse_decision, 1, "parse_decision(json): an influence diagram from JSON text"},
};

const NativeBinding kNetworkMethods[] = {
    {"name", net_name, 0, "the network's name", true},
    {"len", net_len, 0, "number of variables"},
    {"variables", net_variables, 0, "variable names in file order"},
    {"states", net_states, 1, "states(var): the variable's state names"},
    {"parents", net_parents, 1, "parents(var): parent names in CPT order"},
    {"children", net_children, 1, "children(var)"},
    {"cpt", net_cpt, 1, "cpt(var): the CPT as a flat list (parents slowest, child fastest)"},
    {"query", net_query, -1, "query(evidence, [targets], [options]): {target: {state: p}}"},
    {"probability", net_probability, 1, "probability(evidence): P(evidence)"},
    {"mpe", net_mpe, 1, "mpe(evidence): most probable explanation"},
    {"map", net_map, 2, "map(evidence, vars): maximum a posteriori assignment of vars"},
    {"sample", net_sample, -1, "sample(n, [seed]): n forward samples as maps"},
    {"to_bif", net_to_bif, 0, "the network as BIF text"},
    {"to_xmlbif", net_to_xmlbif, 0, "the network as XMLBIF text"},
    {"save", net_save, 1, "save(path): write .bif / .xmlbif / .xml"},
};

const NativeBinding kDiagramMethods[] = {
    {"variables", diagram_variables, 0, "chance and decision variable names"},
    {"decisions", diagram_decisions, 0, "decision names in time order"},
    {"states", diagram_states, 1, "states(var): states or options"},
    {"solve", diagram_solve, 0, "{expected_utility, policy}"},
    {"expected_utility", diagram_expected_utility, 0, "the maximum expected utility"},
    {"best_decision", diagram_best_decision, 0, "the first decision's optimal option (first configuration)"},
    {"value_of_information", diagram_voi, 2, "value_of_information(chance, decision): EVPI"},
};

}  // namespace

const HandleType kNetworkHandle{"network",       finalize_as<NetworkPtr>, nullptr, kNetworkMethods, nullptr,
                                display_network, clone_as<NetworkPtr>};
const HandleType kDiagramHandle{"decision_network", finalize_as<DiagramPtr>, nullptr, kDiagramMethods, nullptr,
                                display_diagram,    clone_as<DiagramPtr>};

void install_qlogik_module(Vm& vm) { vm.define_module("qlogik", kFunctions); }

}  // namespace miso::mcode
