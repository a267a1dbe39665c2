// The `bridge` module of M-CODE: QL-ECHO-Bridge models (hidden Markov models and dynamic
// Bayesian networks compiled to a hidden chain) with filtering, smoothing, Viterbi and
// prediction over observation lists, and beliefs over the branches of an echo world.
//
// A model handle holds a std::shared_ptr<const Model>: the model and its compiled chain
// are immutable once built, so worker VMs share them (clone copies the pointer).
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "miso/bridge/chain.hpp"
#include "miso/bridge/dbn.hpp"
#include "miso/bridge/decide.hpp"
#include "miso/bridge/hmm.hpp"
#include "miso/bridge/timeline.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/core/json_text.hpp"
#include "miso/echo/timeline.hpp"
#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/qlogik/decision.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::mcode {

namespace {

// One model: an HMM or a DBN (exactly one is set) and the chain it compiles to.
struct Model {
  std::shared_ptr<const bridge::Hmm> hmm;
  std::shared_ptr<const bridge::Dbn> dbn;
  bridge::Chain chain;

  // Likelihood rows and row indices for steps of observations (one name per observed variable).
  std::pair<bridge::Likelihoods, std::vector<std::uint32_t>> compile(
      const std::vector<std::vector<std::string>>& steps) const {
    if (hmm) {
      std::vector<std::string> symbols;
      for (std::size_t t = 0; t < steps.size(); ++t) {
        if (steps[t].size() != 1)
          throw Error(Error::Kind::InvalidArgument, "step " + std::to_string(t) + " has " +
                                                        std::to_string(steps[t].size()) + " observations, expected 1");
        symbols.push_back(steps[t][0]);
      }
      return {hmm->likelihoods(), hmm->observations(symbols)};
    }
    bridge::Dbn::Observed o = dbn->observe(steps);
    return {std::move(o.likelihoods), std::move(o.steps)};
  }
  bridge::Compile compiler() const {
    return [this](const std::vector<std::vector<std::string>>& steps) { return compile(steps); };
  }
};
using ModelPtr = std::shared_ptr<const Model>;

extern const HandleType kHmmHandle;
extern const HandleType kDbnHandle;

std::string display_model(const void* data) {
  const Model& m = **static_cast<const ModelPtr*>(data);
  return std::string(m.hmm ? "<hmm (" : "<dbn (") + std::to_string(m.chain.size()) + " hidden states)>";
}

const Model& model_of(NativeCallContext& context, Args args) {
  if (!args.empty() && args[0].is_handle() && args[0].as_handle()->is(kDbnHandle))
    return **args[0].as_handle()->data_as<ModelPtr>();
  return *arg_handle<ModelPtr>(context, args, 0, kHmmHandle, "receiver");
}

Value wrap(NativeCallContext& context, Model m) {
  const HandleType& type = m.hmm ? kHmmHandle : kDbnHandle;
  std::size_t bytes = m.chain.transition.size() * sizeof(double) + 256;
  return make_handle(context.heap(), type, ModelPtr(std::make_shared<Model>(std::move(m))), bytes);
}

Value wrap_hmm(NativeCallContext& context, bridge::Hmm hmm) {
  Model m;
  guarded(context, [&] {
    hmm.validate();
    m.chain = hmm.chain();
    return 0;
  });
  m.hmm = std::make_shared<bridge::Hmm>(std::move(hmm));
  return wrap(context, std::move(m));
}

// A matrix given as a list of rows (lists of numbers) or as one flat list.
std::vector<double> matrix_field(NativeCallContext& context, Map* spec, const char* key) {
  Value v = spec->get(context.heap().string_value(key));
  std::string what = std::string("hmm.") + key;
  if (v.is_empty() || !v.is_list())
    argument_error(context, what.c_str(), "a list of numbers or of rows", v.is_empty() ? Value() : v);
  std::vector<double> out;
  for (Value item : v.as_list()->items()) {
    if (item.is_number()) {
      out.push_back(item.to_double());
    } else if (item.is_list()) {
      for (Value x : item.as_list()->items()) {
        if (!x.is_number()) argument_error(context, what.c_str(), "a list of numbers or of rows", x);
        out.push_back(x.to_double());
      }
    } else {
      argument_error(context, what.c_str(), "a list of numbers or of rows", item);
    }
  }
  return out;
}

std::vector<std::string> names_field(NativeCallContext& context, Map* spec, const char* key) {
  Value v = spec->get(context.heap().string_value(key));
  std::string what = std::string("hmm.") + key;
  if (v.is_empty() || !v.is_list())
    argument_error(context, what.c_str(), "a list of strings", v.is_empty() ? Value() : v);
  std::vector<std::string> out;
  for (Value item : v.as_list()->items()) {
    if (!item.is_string()) argument_error(context, what.c_str(), "a list of strings", item);
    out.emplace_back(item.as_string()->view());
  }
  return out;
}

// bridge.hmm({"states", "symbols", "initial", "transition", "emission"})
Value bridge_hmm(NativeCallContext& context, Args args) {
  Map* spec = arg_map(context, args, 0, "spec");
  bridge::Hmm hmm;
  hmm.states = names_field(context, spec, "states");
  hmm.symbols = names_field(context, spec, "symbols");
  hmm.initial = matrix_field(context, spec, "initial");
  hmm.transition = matrix_field(context, spec, "transition");
  hmm.emission = matrix_field(context, spec, "emission");
  return wrap_hmm(context, std::move(hmm));
}

Value bridge_parse_hmm(NativeCallContext& context, Args args) {
  std::string_view text = arg_string(context, args, 0, "json");
  return wrap_hmm(context, guarded(context, [&] { return bridge::parse_hmm_json(text, "<text>"); }));
}

Value bridge_load_hmm(NativeCallContext& context, Args args) {
  auto path = context.vm.checked_path(arg_string(context, args, 0, "path"));
  return wrap_hmm(context, guarded(context, [&] { return bridge::load_hmm(path); }));
}

Value wrap_dbn(NativeCallContext& context, bridge::Dbn dbn) {
  Model m;
  m.chain = guarded(context, [&] { return dbn.chain(); });
  m.dbn = std::make_shared<bridge::Dbn>(std::move(dbn));
  return wrap(context, std::move(m));
}

// bridge.dbn(prior_network, transition_network, observed)
Value bridge_dbn(NativeCallContext& context, Args args) {
  const auto& prior = arg_handle<std::shared_ptr<const qlogik::Network>>(context, args, 0, kNetworkHandle, "prior");
  const auto& step = arg_handle<std::shared_ptr<const qlogik::Network>>(context, args, 1, kNetworkHandle, "transition");
  std::vector<std::string> observed = arg_string_list(context, args, 2, "observed");
  return wrap_dbn(context, guarded(context, [&] { return bridge::Dbn(*prior, *step, observed); }));
}

Value bridge_load_dbn(NativeCallContext& context, Args args) {
  std::filesystem::path path = context.vm.checked_path(arg_string(context, args, 0, "path"));
  // The networks the JSON names (paths relative to it) are files too: each must pass the
  // allow-list, or a script could read any file through a DBN description. Malformed JSON
  // is left to the engine, which reports it with its position.
  std::vector<std::string> referenced;
  try {
    std::string text = core::read_file(path);
    core::OrderedJson root = core::JsonText(text, path.string()).parse();
    if (root.is_object() && root.contains("dbn") && root["dbn"].is_object())
      for (const char* f : {"prior", "transition"}) {
        const auto& j = root["dbn"][f];
        if (j.is_string() && j.get<std::string>().find_first_of("{<\n") == std::string::npos)
          referenced.push_back((path.parent_path() / j.get<std::string>()).string());
      }
  } catch (const std::exception&) {
  }
  for (const std::string& file : referenced) context.vm.checked_path(file);
  return wrap_dbn(context, guarded(context, [&] { return bridge::load_dbn(path); }));
}

// Observations: a list with, per step, a name (one observed variable) or a list of names.
std::vector<std::vector<std::string>> steps_arg(NativeCallContext& context, Args args, std::size_t i) {
  List* list = arg_list(context, args, i, "observations");
  std::vector<std::vector<std::string>> steps;
  steps.reserve(list->size());
  for (Value item : list->items()) {
    if (item.is_string()) {
      steps.push_back({std::string(item.as_string()->view())});
    } else if (item.is_list()) {
      std::vector<std::string> step;
      for (Value x : item.as_list()->items()) {
        if (!x.is_string()) argument_error(context, "observations", "a list of names or of lists of names", x);
        step.emplace_back(x.as_string()->view());
      }
      steps.push_back(std::move(step));
    } else {
      argument_error(context, "observations", "a list of names or of lists of names", item);
    }
  }
  return steps;
}

Value belief_value(Heap& heap, const bridge::Chain& chain, std::span<const double> p) {
  Map* m = heap.map(chain.size());
  for (std::size_t s = 0; s < chain.size(); ++s) m->set(heap, heap.string_value(chain.states[s]), Value::number(p[s]));
  return Value::object(m);
}

Value beliefs_result(Heap& heap, const bridge::Chain& chain, double log_likelihood, const std::vector<double>& rows) {
  std::size_t n = chain.size();
  List* beliefs = heap.list(n == 0 ? 0 : rows.size() / n);
  for (std::size_t t = 0; n > 0 && t < rows.size() / n; ++t)
    beliefs->push(heap, belief_value(heap, chain, std::span<const double>(rows.data() + t * n, n)));
  Map* out = heap.map(2);
  out->set(heap, heap.string_value("log_likelihood"), Value::number(log_likelihood));
  out->set(heap, heap.string_value("beliefs"), Value::object(beliefs));
  return Value::object(out);
}

Value model_filter(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  auto steps = steps_arg(context, args, 1);
  bridge::FilterResult r = guarded(context, [&] {
    auto [likelihoods, obs] = m.compile(steps);
    return bridge::filter(m.chain, likelihoods, obs);
  });
  return beliefs_result(context.heap(), m.chain, r.log_likelihood, r.filtered);
}

Value model_smooth(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  auto steps = steps_arg(context, args, 1);
  bridge::SmoothResult r = guarded(context, [&] {
    auto [likelihoods, obs] = m.compile(steps);
    return bridge::smooth(m.chain, likelihoods, obs);
  });
  return beliefs_result(context.heap(), m.chain, r.log_likelihood, r.smoothed);
}

Value model_viterbi(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  auto steps = steps_arg(context, args, 1);
  bridge::ViterbiResult r = guarded(context, [&] {
    auto [likelihoods, obs] = m.compile(steps);
    return bridge::viterbi(m.chain, likelihoods, obs);
  });
  Heap& heap = context.heap();
  List* path = heap.list(r.path.size());
  for (std::uint32_t s : r.path) path->push(heap, heap.string_value(m.chain.states[s]));
  Map* out = heap.map(2);
  out->set(heap, heap.string_value("path"), Value::object(path));
  out->set(heap, heap.string_value("log_probability"), Value::number(r.log_probability));
  return Value::object(out);
}

Value model_log_likelihood(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  auto steps = steps_arg(context, args, 1);
  return Value::number(guarded(context, [&] {
    auto [likelihoods, obs] = m.compile(steps);
    return bridge::log_likelihood(m.chain, likelihoods, obs);
  }));
}

// predict(observations, k): P(X_{T+k} | o_1..o_T).
Value model_predict(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  auto steps = steps_arg(context, args, 1);
  std::int64_t k = arg_int(context, args, 2, "k");
  if (k < 0 || k > 1000000) context.error(context.name() + ": k must be in [0, 1000000], got " + std::to_string(k));
  std::vector<double> p = guarded(context, [&] {
    auto [likelihoods, obs] = m.compile(steps);
    bridge::Filter f(m.chain, likelihoods);
    for (std::uint32_t o : obs) f.step(o);
    return f.predict(static_cast<std::size_t>(k));
  });
  return belief_value(context.heap(), m.chain, p);
}

Value model_states(NativeCallContext& context, Args args) {
  return make_string_list(context.heap(), model_of(context, args).chain.states);
}

Value model_observed(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  if (m.hmm) return make_string_list(context.heap(), m.hmm->symbols);
  return make_string_list(context.heap(), m.dbn->observed());
}

Value model_initial(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  return belief_value(context.heap(), m.chain, m.chain.initial);
}

Value model_to_json(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  if (!m.hmm) context.error(context.name() + ": only an hmm has a JSON form");
  return make_string(context.heap(), bridge::to_json(*m.hmm));
}

// A mapping: a list of {"attribute", "variable", "values": {value: state}} maps, or JSON text.
bridge::Mapping mapping_arg(NativeCallContext& context, Args args, std::size_t i) {
  if (i < args.size() && args[i].is_string()) {
    std::string_view text = args[i].as_string()->view();
    return guarded(context, [&] { return bridge::parse_mapping(text, "<mapping>"); });
  }
  List* list = arg_list(context, args, i, "mapping");
  bridge::Mapping mapping;
  Heap& heap = context.heap();
  for (Value item : list->items()) {
    if (!item.is_map()) argument_error(context, "a mapping entry", "a map", item);
    Map* m = item.as_map();
    bridge::AttributeMap am;
    Value attribute = m->get(heap.string_value("attribute"));
    Value variable = m->get(heap.string_value("variable"));
    if (attribute.is_empty() || !attribute.is_string())
      argument_error(context, "mapping.attribute", "a string", attribute.is_empty() ? Value() : attribute);
    if (variable.is_empty() || !variable.is_string())
      argument_error(context, "mapping.variable", "a string", variable.is_empty() ? Value() : variable);
    am.attribute = std::string(attribute.as_string()->view());
    am.variable = std::string(variable.as_string()->view());
    Value values = m->get(heap.string_value("values"));
    if (!values.is_empty() && !values.is_nil()) {
      if (!values.is_map()) argument_error(context, "mapping.values", "a map of strings", values);
      values.as_map()->for_each([&](Value k, Value v) {
        if (!k.is_string() || !v.is_string()) argument_error(context, "mapping.values", "a map of strings", v);
        am.values.emplace_back(std::string(k.as_string()->view()), std::string(v.as_string()->view()));
      });
    }
    mapping.maps.push_back(std::move(am));
  }
  return mapping;
}

// The branches named in a list (nil: all of them).
std::vector<echo::BranchId> branches_arg(NativeCallContext& context, Args args, std::size_t i, const echo::World& w) {
  std::vector<echo::BranchId> out;
  if (!has_arg(args, i)) {
    for (echo::BranchId b = 0; b < w.branch_count(); ++b) out.push_back(b);
    return out;
  }
  for (const std::string& name : arg_string_list(context, args, i, "branches")) {
    auto b = w.find_branch(name);
    if (!b) context.error(context.name() + ": unknown branch '" + name + "'");
    out.push_back(*b);
  }
  return out;
}

// branch_posteriors(world, mapping, [branches]) -> [{"branch", "posterior", "log_likelihood", "log_prior"}]
Value model_branch_posteriors(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  const echo::World& w = *arg_handle<std::shared_ptr<echo::World>>(context, args, 1, kWorldHandle, "world");
  bridge::Mapping mapping = mapping_arg(context, args, 2);
  std::vector<echo::BranchId> branches = branches_arg(context, args, 3, w);
  std::vector<bridge::BranchBelief> beliefs =
      guarded(context, [&] { return bridge::branch_posteriors(w, branches, m.chain, mapping, m.compiler()); });
  Heap& heap = context.heap();
  List* out = heap.list(beliefs.size());
  for (const bridge::BranchBelief& b : beliefs) {
    Map* e = heap.map(4);
    e->set(heap, heap.string_value("branch"), heap.string_value(w.branch_name(b.branch)));
    e->set(heap, heap.string_value("posterior"), Value::number(b.posterior));
    e->set(heap, heap.string_value("log_likelihood"), Value::number(b.log_likelihood));
    e->set(heap, heap.string_value("log_prior"), Value::number(b.log_prior));
    out->push(heap, Value::object(e));
  }
  return Value::object(out);
}

// decide(world, mapping, diagram, [branches], [hidden_name]) -> [{"branch", "expected_utility", "belief"}]
Value model_decide(NativeCallContext& context, Args args) {
  const Model& m = model_of(context, args);
  const echo::World& w = *arg_handle<std::shared_ptr<echo::World>>(context, args, 1, kWorldHandle, "world");
  bridge::Mapping mapping = mapping_arg(context, args, 2);
  const qlogik::InfluenceDiagram& d =
      *arg_handle<std::shared_ptr<const qlogik::InfluenceDiagram>>(context, args, 3, kDiagramHandle, "diagram");
  std::vector<echo::BranchId> branches = branches_arg(context, args, 4, w);
  std::string hidden_name = has_arg(args, 5) ? std::string(arg_string(context, args, 5, "hidden_name")) : "State";
  std::vector<bridge::BranchDecision> decisions = guarded(context, [&] {
    bridge::HiddenStates hidden =
        m.hmm ? bridge::hmm_hidden_states(m.chain, hidden_name) : bridge::dbn_hidden_states(m.chain);
    return bridge::branch_decisions(w, branches, m.chain, hidden, mapping, m.compiler(), d);
  });
  Heap& heap = context.heap();
  List* out = heap.list(decisions.size());
  for (const bridge::BranchDecision& bd : decisions) {
    Map* e = heap.map(3);
    e->set(heap, heap.string_value("branch"), heap.string_value(w.branch_name(bd.branch)));
    e->set(heap, heap.string_value("expected_utility"), Value::number(bd.expected_utility));
    e->set(heap, heap.string_value("belief"), belief_value(heap, m.chain, bd.belief));
    out->push(heap, Value::object(e));
  }
  return Value::object(out);
}

const NativeBinding kFunctions[] = {
    {"hmm", bridge_hmm, 1, "hmm({states, symbols, initial, transition, emission}): a hidden Markov model"},
    {"parse_hmm", bridge_parse_hmm, 1, "parse_hmm(json): an HMM from {\"hmm\": {...}} text"},
    {"load_hmm", bridge_load_hmm, 1, "load_hmm(path): an HMM from a JSON file"},
    {"dbn", bridge_dbn, 3, "dbn(prior, transition, observed): a two-slice DBN over qlogik networks"},
    {"load_dbn", bridge_load_dbn, 1, "load_dbn(path): a DBN from {\"dbn\": {...}} JSON"},
};

const NativeBinding kModelMethods[] = {
    {"states", model_states, 0, "the hidden (joint) state names"},
    {"observed", model_observed, 0, "HMM: the symbols; DBN: the observed variables"},
    {"initial", model_initial, 0, "the initial distribution {state: p}"},
    {"filter", model_filter, 1, "filter(obs): {log_likelihood, beliefs: [{state: p}] per step}"},
    {"smooth", model_smooth, 1, "smooth(obs): forward-backward beliefs per step"},
    {"viterbi", model_viterbi, 1, "viterbi(obs): {path, log_probability}"},
    {"log_likelihood", model_log_likelihood, 1, "log_likelihood(obs): ln P(obs)"},
    {"predict", model_predict, 2, "predict(obs, k): P(state k steps after the last)"},
    {"branch_posteriors", model_branch_posteriors, -1, "branch_posteriors(world, mapping, [branches])"},
    {"decide", model_decide, -1, "decide(world, mapping, diagram, [branches], [hidden_name])"},
    {"to_json", model_to_json, 0, "HMM only: the JSON form"},
};

const HandleType kHmmHandle{"hmm",   finalize_as<ModelPtr>, nullptr,           kModelMethods,
                            nullptr, display_model,         clone_as<ModelPtr>};
const HandleType kDbnHandle{"dbn",   finalize_as<ModelPtr>, nullptr,           kModelMethods,
                            nullptr, display_model,         clone_as<ModelPtr>};

}  // namespace

void install_bridge_module(Vm& vm) { vm.define_module("bridge", kFunctions); }

}  // namespace miso::mcode
