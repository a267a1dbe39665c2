// Dynamic Bayesian networks in two-slice form, compiled to a Chain (dbn.hpp).
//
// Every CPT the chain needs is read through a Lookup: for each parent, where its
// state comes from (the previous or the current joint hidden state, and which
// hidden variable), so building the S x S transition is a product of table
// reads with no name lookups in the loops. The structure checks in the
// constructor guarantee every parent a Lookup meets is a hidden variable.
#include "miso/bridge/dbn.hpp"

#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/core/json_text.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/format.hpp"

namespace miso::bridge {
namespace {

using qlogik::Network;
using qlogik::VarId;

constexpr std::string_view kPrev = "@prev";
constexpr std::size_t kMaxJointStates = std::size_t{1} << 16;

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

std::string named(std::string_view name) { return "'" + std::string(name) + "'"; }

bool is_prev(std::string_view name) {
  return name.size() > kPrev.size() && name.substr(name.size() - kPrev.size()) == kPrev;
}
std::string_view prev_base(std::string_view name) { return name.substr(0, name.size() - kPrev.size()); }

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Index of `name` in `names`, or -1.
int index_of(const std::vector<std::string>& names, std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// The joint hidden state s decomposed: the first hidden variable varies slowest.
struct Joint {
  std::vector<std::size_t> cards;
  std::size_t size = 1;
  void decode(std::size_t s, std::vector<int>& out) const {
    for (std::size_t i = cards.size(); i-- > 0;) {
      out[i] = static_cast<int>(s % cards[i]);
      s /= cards[i];
    }
  }
};

// Reads P(var = value | parents) with each parent's state taken from the
// previous (from_prev) or current decoded joint state.
struct Lookup {
  struct Slot {
    bool from_prev = false;
    std::size_t hidden = 0;
    std::size_t stride = 1;
  };
  const std::vector<double>* table = nullptr;
  std::size_t card = 0;
  std::vector<Slot> slots;

  double operator()(const std::vector<int>& prev, const std::vector<int>& cur, int value) const {
    std::size_t row = 0;
    for (const Slot& slot : slots) {
      row += static_cast<std::size_t>(slot.from_prev ? prev[slot.hidden] : cur[slot.hidden]) * slot.stride;
    }
    return (*table)[row * card + static_cast<std::size_t>(value)];
  }
};

// The Lookup of variable `name` in `net`; parents are hidden variables, of the
// current slice or (named "X@prev") of the previous one.
Lookup make_lookup(const Network& net, std::string_view name, const std::vector<std::string>& hidden) {
  const VarId v = net.id(name);
  Lookup lookup;
  lookup.table = &net.cpt(v).table;
  lookup.card = static_cast<std::size_t>(net.cardinality(v));
  const auto& parents = net.parents(v);
  lookup.slots.resize(parents.size());
  std::size_t stride = 1;
  for (std::size_t i = parents.size(); i-- > 0;) {
    const std::string& pname = net.variable(parents[i]).name;
    Lookup::Slot& slot = lookup.slots[i];
    slot.from_prev = is_prev(pname);
    const int h = index_of(hidden, slot.from_prev ? prev_base(pname) : std::string_view(pname));
    if (h < 0) throw Error(Error::Kind::Internal, "dbn: parent " + named(pname) + " is not hidden");
    slot.hidden = static_cast<std::size_t>(h);
    slot.stride = stride;
    stride *= static_cast<std::size_t>(net.cardinality(parents[i]));
  }
  return lookup;
}

void normalise(double* p, std::size_t n) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += p[i];
  if (sum > 0) {
    for (std::size_t i = 0; i < n; ++i) p[i] /= sum;
  }
}

std::string trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Dbn::Dbn(Network prior, Network transition, std::vector<std::string> observed)
    : prior_(std::move(prior)), transition_(std::move(transition)), observed_(std::move(observed)) {
  MISO_PROFILE_SCOPE("bridge.dbn");
  const std::string pn = "prior network " + named(prior_.name());
  const std::string tn = "transition network " + named(transition_.name());
  // Numbers and cycles first, so the structure below is over well-formed CPTs.
  try {
    prior_.validate();
  } catch (const Error& e) {
    fail("dbn: " + pn + ": " + e.what());
  }
  try {
    transition_.validate();
  } catch (const Error& e) {
    fail("dbn: " + tn + ": " + e.what());
  }
  if (prior_.size() == 0) fail("dbn: " + pn + " has no variables");

  // The slice: the prior's variables, each also in the transition with the same states.
  for (VarId v = 0; v < static_cast<VarId>(prior_.size()); ++v) {
    const auto& var = prior_.variable(v);
    if (is_prev(var.name)) {
      fail("dbn: " + pn + ": variable " + named(var.name) + " is a '@prev' copy (the prior is the first slice alone)");
    }
    const VarId t = transition_.find(var.name);
    if (t < 0) fail("dbn: slice variable " + named(var.name) + " of the " + pn + " is missing from the " + tn);
    if (transition_.variable(t).states != var.states) {
      fail("dbn: slice variable " + named(var.name) + " has states {" + join(var.states) + "} in the " + pn + " but {" +
           join(transition_.variable(t).states) + "} in the " + tn);
    }
  }
  // Every parent in the transition is a slice variable or the '@prev' copy of one.
  for (VarId v = 0; v < static_cast<VarId>(transition_.size()); ++v) {
    const auto& var = transition_.variable(v);
    if (is_prev(var.name) || prior_.find(var.name) < 0) continue;
    for (VarId p : transition_.parents(v)) {
      const std::string& pname = transition_.variable(p).name;
      if (prior_.find(pname) >= 0) continue;
      if (is_prev(pname) && prior_.find(prev_base(pname)) >= 0) continue;
      fail("dbn: " + tn + ": parent " + named(pname) + " of " + named(var.name) +
           " is neither a slice variable nor the '@prev' copy of one");
    }
  }
  // The '@prev' copies: of slice variables, with their states, as roots.
  for (VarId v = 0; v < static_cast<VarId>(transition_.size()); ++v) {
    const auto& var = transition_.variable(v);
    if (!is_prev(var.name)) {
      if (prior_.find(var.name) < 0) {
        fail("dbn: variable " + named(var.name) + " of the " + tn + " is missing from the " + pn +
             " (and is not a '@prev' copy)");
      }
      continue;
    }
    const VarId base = prior_.find(prev_base(var.name));
    if (base < 0) {
      fail("dbn: " + tn + ": " + named(var.name) + " is the '@prev' copy of " + named(prev_base(var.name)) +
           ", which is not a slice variable");
    }
    if (prior_.variable(base).states != var.states) {
      fail("dbn: " + tn + ": " + named(var.name) + " has states {" + join(var.states) + "} but " +
           named(prior_.variable(base).name) + " has {" + join(prior_.variable(base).states) + "}");
    }
    if (!transition_.parents(v).empty()) {
      fail("dbn: " + tn + ": the '@prev' copy " + named(var.name) + " must be a root (it has parents)");
    }
  }

  // Observed and hidden variables.
  for (std::size_t i = 0; i < observed_.size(); ++i) {
    if (prior_.find(observed_[i]) < 0) {
      fail("dbn: observed variable " + named(observed_[i]) + " is not a slice variable of the " + pn);
    }
    if (index_of(observed_, observed_[i]) != static_cast<int>(i)) {
      fail("dbn: observed variable " + named(observed_[i]) + " is listed twice");
    }
  }
  for (VarId v = 0; v < static_cast<VarId>(prior_.size()); ++v) {
    if (index_of(observed_, prior_.variable(v).name) < 0) hidden_.push_back(prior_.variable(v).name);
  }
  if (hidden_.empty()) fail("dbn: every slice variable is observed; a DBN needs at least one hidden variable");
  std::size_t joint = 1;
  for (const auto& h : hidden_) {
    joint *= static_cast<std::size_t>(prior_.cardinality(prior_.id(h)));
    if (joint > kMaxJointStates) {
      fail("dbn: the hidden variables {" + join(hidden_) + "} have more than 2^16 joint states");
    }
  }

  const auto is_observed = [&](std::string_view name) { return index_of(observed_, name) >= 0; };
  for (const Network* net : {&prior_, &transition_}) {
    const std::string& where = net == &prior_ ? pn : tn;
    for (const auto& name : hidden_) {
      for (VarId p : net->parents(net->id(name))) {
        const std::string& pname = net->variable(p).name;
        const std::string_view base = is_prev(pname) ? prev_base(pname) : std::string_view(pname);
        if (is_observed(base)) {
          fail("dbn: " + where + ": hidden variable " + named(name) + " has the observed parent " + named(pname) +
               " (observed variables must be leaves)");
        }
      }
    }
    for (const auto& name : observed_) {
      for (VarId p : net->parents(net->id(name))) {
        const std::string& pname = net->variable(p).name;
        if (is_prev(pname) || is_observed(pname)) {
          fail("dbn: " + where + ": observed variable " + named(name) + " has the parent " + named(pname) +
               ", which is not a hidden variable of its slice");
        }
      }
    }
  }
  // The emission model is one CPT: the same parents (by name, in order) and numbers.
  for (const auto& name : observed_) {
    const VarId a = prior_.id(name), b = transition_.id(name);
    std::vector<std::string> pa, pb;
    for (VarId p : prior_.parents(a)) pa.push_back(prior_.variable(p).name);
    for (VarId p : transition_.parents(b)) pb.push_back(transition_.variable(p).name);
    if (pa != pb) {
      fail("dbn: observed variable " + named(name) + " has parents (" + join(pa) + ") in the " + pn + " but (" +
           join(pb) + ") in the " + tn + " (its emission CPT must be the same in both)");
    }
    const auto& ta = prior_.cpt(a).table;
    const auto& tb = transition_.cpt(b).table;
    for (std::size_t i = 0; i < ta.size(); ++i) {
      if (std::abs(ta[i] - tb[i]) > 1e-12) {
        const auto card = static_cast<std::size_t>(prior_.cardinality(a));
        fail("dbn: observed variable " + named(name) + ": its emission CPT differs between the networks at row " +
             std::to_string(i / card) + " (" + prior_.describe_row(a, static_cast<std::int64_t>(i / card)) +
             "), state " + named(prior_.variable(a).states[i % card]));
      }
    }
  }
}

Chain Dbn::chain() const {
  MISO_PROFILE_SCOPE("bridge.dbn.chain");
  Joint joint;
  for (const auto& h : hidden_) joint.cards.push_back(static_cast<std::size_t>(prior_.cardinality(prior_.id(h))));
  joint.size = 1;
  for (std::size_t c : joint.cards) joint.size *= c;
  const std::size_t n = hidden_.size(), states = joint.size;

  std::vector<Lookup> first, step;
  for (const auto& h : hidden_) {
    first.push_back(make_lookup(prior_, h, hidden_));
    step.push_back(make_lookup(transition_, h, hidden_));
  }

  Chain chain;
  chain.states.reserve(states);
  std::vector<int> a(n), b(n);
  for (std::size_t s = 0; s < states; ++s) {
    joint.decode(s, a);
    std::string name;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& var = prior_.variable(prior_.id(hidden_[i]));
      name += (i == 0 ? "" : ",") + var.name + "=" + var.states[static_cast<std::size_t>(a[i])];
    }
    chain.states.push_back(std::move(name));
  }
  // Observed variables are leaves whose rows sum to 1, so summing them out of
  // the first slice leaves the product of the hidden variables' CPTs.
  chain.initial.assign(states, 1.0);
  for (std::size_t s = 0; s < states; ++s) {
    joint.decode(s, a);
    for (std::size_t i = 0; i < n; ++i) chain.initial[s] *= first[i](a, a, a[i]);
  }
  normalise(chain.initial.data(), states);  // CPT rows sum to 1 within 1e-6, the chain wants 1e-9
  chain.transition.assign(states * states, 1.0);
  for (std::size_t s = 0; s < states; ++s) {
    joint.decode(s, a);
    double* row = chain.transition.data() + s * states;
    for (std::size_t t = 0; t < states; ++t) {
      joint.decode(t, b);
      for (std::size_t i = 0; i < n; ++i) row[t] *= step[i](a, b, b[i]);
    }
    normalise(row, states);
  }
  return chain;
}

Dbn::Observed Dbn::observe(const std::vector<std::vector<std::string>>& observations) const {
  MISO_PROFILE_SCOPE("bridge.dbn.observe");
  std::vector<VarId> ids;
  for (const auto& o : observed_) ids.push_back(prior_.id(o));
  Observed out;
  std::map<std::vector<int>, std::uint32_t> rows;
  std::vector<std::vector<int>> patterns;
  out.steps.reserve(observations.size());
  for (std::size_t t = 0; t < observations.size(); ++t) {
    const auto& step = observations[t];
    if (step.size() != observed_.size()) {
      fail("dbn: observation at step " + std::to_string(t) + " has " + std::to_string(step.size()) +
           " values, expected " + std::to_string(observed_.size()) + " (one per observed variable: " + join(observed_) +
           ")");
    }
    std::vector<int> pattern(step.size(), -1);
    for (std::size_t i = 0; i < step.size(); ++i) {
      if (step[i] == "?") continue;
      const auto& var = prior_.variable(ids[i]);
      pattern[i] = index_of(var.states, step[i]);
      if (pattern[i] < 0) {
        fail("dbn: observation at step " + std::to_string(t) + ": variable " + named(var.name) + " has no state " +
             named(step[i]) + " (states: " + join(var.states) + ", or ? for not observed)");
      }
    }
    const auto [it, added] = rows.emplace(pattern, static_cast<std::uint32_t>(patterns.size()));
    if (added) patterns.push_back(pattern);
    out.steps.push_back(it->second);
  }

  Joint joint;
  for (const auto& h : hidden_) joint.cards.push_back(static_cast<std::size_t>(prior_.cardinality(prior_.id(h))));
  for (std::size_t c : joint.cards) joint.size *= c;
  std::vector<Lookup> emission;
  for (const auto& o : observed_) emission.push_back(make_lookup(prior_, o, hidden_));
  out.likelihoods.states = joint.size;
  out.likelihoods.rows.assign(patterns.size() * joint.size, 1.0);
  std::vector<int> a(hidden_.size());
  for (std::size_t s = 0; s < joint.size; ++s) {
    joint.decode(s, a);
    for (std::size_t k = 0; k < patterns.size(); ++k) {
      double& l = out.likelihoods.rows[k * joint.size + s];
      for (std::size_t i = 0; i < observed_.size(); ++i) {
        if (patterns[k][i] >= 0) l *= emission[i](a, a, patterns[k][i]);
      }
    }
  }
  return out;
}

Network Dbn::unroll(std::size_t slices) const {
  MISO_PROFILE_SCOPE("bridge.dbn.unroll");
  Network net(prior_.name() + "_unrolled_" + std::to_string(slices));
  const auto slice_name = [](const std::string& v, std::size_t t) { return v + "#" + std::to_string(t); };
  for (std::size_t t = 1; t <= slices; ++t) {
    for (VarId v = 0; v < static_cast<VarId>(prior_.size()); ++v) {
      const auto& var = prior_.variable(v);
      net.add_variable(slice_name(var.name, t), var.states);
    }
  }
  for (std::size_t t = 1; t <= slices; ++t) {
    const Network& source = t == 1 ? prior_ : transition_;
    for (VarId v = 0; v < static_cast<VarId>(prior_.size()); ++v) {
      const std::string& name = prior_.variable(v).name;
      const VarId sv = source.id(name);
      std::vector<VarId> parents;
      for (VarId p : source.parents(sv)) {
        const std::string& pname = source.variable(p).name;
        parents.push_back(is_prev(pname) ? net.id(slice_name(std::string(prev_base(pname)), t - 1))
                                         : net.id(slice_name(pname, t)));
      }
      net.set_cpt(net.id(slice_name(name, t)), std::move(parents), source.cpt(sv).table);
    }
  }
  return net;
}

Dbn load_dbn(const std::filesystem::path& path) {
  MISO_PROFILE_SCOPE("bridge.load_dbn");
  using core::json_key;
  const std::string text = core::read_file(path);
  const core::JsonText json(text, path.string());
  const core::OrderedJson root = json.parse(core::JsonText::RepeatedKey::WithPath);
  const auto kind = [](const core::OrderedJson& j) { return std::string(j.type_name()); };
  if (!root.is_object()) json.fail({}, "expected an object {\"dbn\": {...}}, found " + kind(root));
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() != "dbn")
      json.fail_key({json_key(it.key())}, "unknown key \"" + it.key() + "\" (the file must be {\"dbn\": {...}})");
  }
  if (!root.contains("dbn")) json.fail({}, "missing \"dbn\" (the file must be {\"dbn\": {...}})");
  const auto& d = root["dbn"];
  const core::JsonPath at_dbn{json_key("dbn")};
  if (!d.is_object()) json.fail(at_dbn, "dbn: expected an object, found " + kind(d));
  for (auto it = d.begin(); it != d.end(); ++it) {
    if (it.key() != "prior" && it.key() != "transition" && it.key() != "observed") {
      json.fail_key({json_key("dbn"), json_key(it.key())},
                    "dbn: unknown key \"" + it.key() + "\" (expected prior, transition, observed)");
    }
  }
  for (const char* f : {"prior", "transition", "observed"}) {
    if (!d.contains(f)) json.fail(at_dbn, std::string("dbn: missing \"") + f + "\"");
  }
  // A network is a path relative to this file, or its BIF/XMLBIF text inline
  // (told apart by the braces or angle brackets no sensible file name has).
  const auto network = [&](const char* f) {
    const core::JsonPath at{json_key("dbn"), json_key(f)};
    const auto& j = d[f];
    if (!j.is_string()) json.fail(at, std::string("dbn.") + f + ": expected a file name or BIF text, found " + kind(j));
    const std::string value = j.get<std::string>();
    if (value.empty()) json.fail(at, std::string("dbn.") + f + ": empty file name");
    const std::string source = path.string() + " (dbn." + f + ")";
    if (value.find_first_of("{<\n") != std::string::npos) {
      const std::string body = trim(value);
      return body.front() == '<' ? qlogik::read_xmlbif(body, source) : qlogik::read_bif(body, source);
    }
    return qlogik::load_network((path.parent_path() / value).string());
  };
  Network prior = network("prior");
  Network transition = network("transition");
  const core::JsonPath at_observed{json_key("dbn"), json_key("observed")};
  const auto& o = d["observed"];
  if (!o.is_array()) json.fail(at_observed, "dbn.observed: expected a list of variable names, found " + kind(o));
  std::vector<std::string> observed;
  for (std::size_t i = 0; i < o.size(); ++i) {
    if (!o[i].is_string()) {
      json.fail({json_key("dbn"), json_key("observed"), core::json_item(i)},
                "dbn.observed[" + std::to_string(i) + "]: a variable name must be a text, found " + kind(o[i]));
    }
    observed.push_back(o[i].get<std::string>());
  }
  try {
    return Dbn(std::move(prior), std::move(transition), std::move(observed));
  } catch (const Error& e) {
    throw Error(Error::Kind::Format, path.string() + ": " + e.what());
  }
}

std::vector<std::vector<std::string>> split_steps(std::string_view text, std::size_t observed_variables) {
  MISO_PROFILE_SCOPE("bridge.split_steps");
  if (observed_variables == 0) fail("split_steps: there are no observed variables to split observations for");
  std::vector<std::vector<std::string>> steps;
  if (trim(text).empty()) return steps;
  const auto split = [](std::string_view s, char sep) {
    std::vector<std::string> parts;
    std::size_t begin = 0;
    while (true) {
      const std::size_t at = s.find(sep, begin);
      parts.push_back(trim(s.substr(begin, at == std::string_view::npos ? std::string_view::npos : at - begin)));
      if (at == std::string_view::npos) break;
      begin = at + 1;
    }
    return parts;
  };
  if (observed_variables == 1 && text.find(';') == std::string_view::npos) {
    for (auto& v : split(text, ',')) steps.push_back({std::move(v)});
  } else {
    for (const auto& s : split(text, ';')) steps.push_back(split(s, ','));
  }
  for (std::size_t t = 0; t < steps.size(); ++t) {
    if (steps[t].size() != observed_variables) {
      fail("observations: step " + std::to_string(t) + " has " + std::to_string(steps[t].size()) +
           " values, expected " + std::to_string(observed_variables) + " (',' between variables, ';' between steps)");
    }
    for (std::size_t i = 0; i < steps[t].size(); ++i) {
      if (steps[t][i].empty()) {
        fail("observations: step " + std::to_string(t) + ", value " + std::to_string(i) +
             " is empty (write ? for not observed)");
      }
    }
  }
  return steps;
}

}  // namespace miso::bridge
