#include "miso/qlogik/decision.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <sstream>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/core/json_text.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/factor.hpp"

namespace miso::qlogik {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

std::string number(double x) {
  std::ostringstream os;
  os.precision(17);
  os << x;
  return os.str();
}

// Whether items[i] equals an earlier item.
template <typename T>
bool repeats_earlier(const std::vector<T>& items, std::size_t i) {
  const auto end = items.begin() + static_cast<std::ptrdiff_t>(i);
  return std::find(items.begin(), end, items[i]) != end;
}

const char* kind_name(NodeKind kind) { return kind == NodeKind::Decision ? "decision" : "chance variable"; }

}  // namespace

// ------------------------------------------------------------------ the model

void InfluenceDiagram::check_new_name(const std::string& name) const {
  if (name.empty()) fail("influence diagram '" + name_ + "': a node needs a name");
  if (index_.count(name) != 0) fail("influence diagram '" + name_ + "': the name '" + name + "' is used twice");
}

const DiagramVariable& InfluenceDiagram::variable(VarId v) const {
  if (v < 0 || static_cast<std::size_t>(v) >= vars_.size()) {
    fail("influence diagram '" + name_ + "': no variable with id " + std::to_string(v));
  }
  return vars_[static_cast<std::size_t>(v)];
}

const DiagramVariable& InfluenceDiagram::variable_of_kind(VarId v, NodeKind kind, const char* what) const {
  const DiagramVariable& var = variable(v);
  if (var.kind != kind) fail(std::string(what) + ": '" + var.name + "' is not a " + kind_name(kind));
  return var;
}

VarId InfluenceDiagram::find(std::string_view name) const noexcept {
  auto it = index_.find(std::string(name));
  return it == index_.end() || it->second < 0 ? -1 : it->second;
}

VarId InfluenceDiagram::id(std::string_view name) const {
  VarId v = find(name);
  if (v < 0)
    fail("influence diagram '" + name_ + "': no chance or decision variable named '" + std::string(name) + "'");
  return v;
}

std::size_t InfluenceDiagram::decision_index(VarId v) const {
  (void)variable_of_kind(v, NodeKind::Decision, "decision_index");
  return static_cast<std::size_t>(std::find(decisions_.begin(), decisions_.end(), v) - decisions_.begin());
}

// Throws unless `parents` are distinct existing variables other than `self`;
// returns their number of configurations.
std::int64_t InfluenceDiagram::check_parents(const std::string& who, VarId self,
                                             const std::vector<VarId>& parents) const {
  std::int64_t rows = 1;
  for (std::size_t i = 0; i < parents.size(); ++i) {
    const DiagramVariable& p = variable(parents[i]);
    if (parents[i] == self) fail(who + " cannot depend on itself");
    if (repeats_earlier(parents, i)) fail(who + ": '" + p.name + "' is listed twice");
    // A cap far above any storable table, which keeps rows * card(child) from overflowing.
    constexpr std::int64_t kMaxRows = std::int64_t{1} << 40;
    const auto card = static_cast<std::int64_t>(p.states.size());
    if (rows > kMaxRows / card) fail(who + ": more than 2^40 parent configurations");
    rows *= card;
  }
  return rows;
}

// "A=a, B=b": the parent states of configuration r (the first parent slowest).
std::string InfluenceDiagram::describe(const std::vector<VarId>& parents, std::int64_t r) const {
  if (parents.empty()) return "no parents";
  std::string out;
  for (std::size_t i = parents.size(); i-- > 0;) {
    const DiagramVariable& p = variable(parents[i]);
    const auto card = static_cast<std::int64_t>(p.states.size());
    out.insert(0, (i == 0 ? "" : ", ") + p.name + "=" + p.states[static_cast<std::size_t>(r % card)]);
    r /= card;
  }
  return out;
}

VarId InfluenceDiagram::add_variable(std::string name, NodeKind kind, std::vector<std::string> states) {
  check_new_name(name);
  const std::string who = std::string(kind_name(kind)) + " '" + name + "'";
  if (states.empty()) fail(who + ": needs at least one " + (kind == NodeKind::Decision ? "option" : "state"));
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (repeats_earlier(states, i)) fail(who + ": '" + states[i] + "' is listed twice");
  }
  const auto v = static_cast<VarId>(vars_.size());
  index_.emplace(name, v);
  vars_.push_back(DiagramVariable{std::move(name), kind, std::move(states), {}, {}});
  (kind == NodeKind::Decision ? decisions_ : chance_).push_back(v);
  return v;
}

std::vector<double> InfluenceDiagram::checked_cpt(VarId child, const std::vector<VarId>& parents,
                                                  std::vector<double> table) const {
  const DiagramVariable& c = vars_[static_cast<std::size_t>(child)];
  const std::string who = "chance variable '" + c.name + "'";
  const std::int64_t rows = check_parents(who, child, parents);
  const auto card = static_cast<std::int64_t>(c.states.size());
  if (table.empty()) table.assign(static_cast<std::size_t>(rows * card), 1.0 / static_cast<double>(card));
  if (static_cast<std::int64_t>(table.size()) != rows * card) {
    fail(who + ": the table has " + std::to_string(table.size()) + " entries, expected " + std::to_string(rows * card) +
         " (" + std::to_string(rows) + " parent configurations x " + std::to_string(card) + " states)");
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (std::int64_t s = 0; s < card; ++s) {
      const double p = table[static_cast<std::size_t>(r * card + s)];
      if (!std::isfinite(p) || p < 0) {
        fail(who + ", row " + std::to_string(r) + " (" + describe(parents, r) + "): probability " + number(p) +
             " of state '" + c.states[static_cast<std::size_t>(s)] + "' is not a finite non-negative number");
      }
      sum += p;
    }
    if (std::abs(sum - 1.0) > kTolerance) {
      fail(who + ", row " + std::to_string(r) + " (" + describe(parents, r) + "): probabilities sum to " + number(sum) +
           ", not 1");
    }
  }
  return table;
}

VarId InfluenceDiagram::add_chance(std::string name, std::vector<std::string> states, std::vector<VarId> parents,
                                   std::vector<double> table) {
  const VarId v = add_variable(std::move(name), NodeKind::Chance, std::move(states));
  try {
    set_cpt(v, std::move(parents), std::move(table));
  } catch (...) {
    // Leave the diagram as it was.
    index_.erase(vars_.back().name);
    vars_.pop_back();
    chance_.pop_back();
    throw;
  }
  return v;
}

void InfluenceDiagram::set_cpt(VarId chance, std::vector<VarId> parents, std::vector<double> table) {
  (void)variable_of_kind(chance, NodeKind::Chance, "set_cpt");
  std::vector<double> checked = checked_cpt(chance, parents, std::move(table));
  DiagramVariable& c = vars_[static_cast<std::size_t>(chance)];
  c.parents = std::move(parents);
  c.table = std::move(checked);
}

VarId InfluenceDiagram::add_decision(std::string name, std::vector<std::string> options, std::vector<VarId> observes) {
  const VarId v = add_variable(std::move(name), NodeKind::Decision, std::move(options));
  try {
    set_observes(v, std::move(observes));
  } catch (...) {
    index_.erase(vars_.back().name);
    vars_.pop_back();
    decisions_.pop_back();
    throw;
  }
  return v;
}

void InfluenceDiagram::set_observes(VarId decision, std::vector<VarId> observes) {
  const DiagramVariable& d = variable_of_kind(decision, NodeKind::Decision, "set_observes");
  (void)check_parents("decision '" + d.name + "'", decision, observes);
  vars_[static_cast<std::size_t>(decision)].parents = std::move(observes);
}

std::size_t InfluenceDiagram::add_utility(std::string name, std::vector<VarId> parents, std::vector<double> table) {
  check_new_name(name);
  const std::size_t i = utilities_.size();
  index_.emplace(name, -1 - static_cast<VarId>(i));
  utilities_.push_back(UtilityNode{std::move(name), {}, {}});
  try {
    set_utility(i, std::move(parents), std::move(table));
  } catch (...) {
    index_.erase(utilities_.back().name);
    utilities_.pop_back();
    throw;
  }
  return i;
}

void InfluenceDiagram::set_utility(std::size_t i, std::vector<VarId> parents, std::vector<double> table) {
  if (i >= utilities_.size()) fail("set_utility: no utility node " + std::to_string(i));
  UtilityNode& u = utilities_[i];
  const std::string who = "utility '" + u.name + "'";
  const std::int64_t rows = check_parents(who, -1, parents);
  if (table.empty()) table.assign(static_cast<std::size_t>(rows), 0.0);
  if (static_cast<std::int64_t>(table.size()) != rows) {
    fail(who + ": the table has " + std::to_string(table.size()) + " entries, expected " + std::to_string(rows) +
         " (one per parent configuration)");
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    if (!std::isfinite(table[static_cast<std::size_t>(r)])) {
      fail(who + ", entry " + std::to_string(r) + " (" + describe(parents, r) + "): utility " +
           number(table[static_cast<std::size_t>(r)]) + " is not finite");
    }
  }
  u.parents = std::move(parents);
  u.table = std::move(table);
}

std::vector<VarId> InfluenceDiagram::observed(VarId decision) const {
  const std::size_t k = decision_index(decision);
  std::vector<VarId> out;
  std::vector<char> seen(vars_.size(), 0);
  auto add = [&](VarId v) {
    if (!seen[static_cast<std::size_t>(v)]) {
      seen[static_cast<std::size_t>(v)] = 1;
      out.push_back(v);
    }
  };
  for (std::size_t j = 0; j <= k; ++j) {
    for (VarId v : vars_[static_cast<std::size_t>(decisions_[j])].parents) add(v);
    if (j < k) add(decisions_[j]);
  }
  return out;
}

std::optional<GraphProblem> InfluenceDiagram::graph_problem() const {
  const std::size_t n = vars_.size();
  auto name = [&](VarId v) -> const std::string& { return vars_[static_cast<std::size_t>(v)].name; };
  // Kahn's algorithm; what it cannot order contains a cycle.
  std::vector<std::vector<VarId>> children(n);
  std::vector<std::size_t> pending(n);
  std::vector<VarId> ready;
  for (std::size_t v = 0; v < n; ++v) {
    pending[v] = vars_[v].parents.size();
    for (VarId p : vars_[v].parents) children[static_cast<std::size_t>(p)].push_back(static_cast<VarId>(v));
    if (pending[v] == 0) ready.push_back(static_cast<VarId>(v));
  }
  std::size_t ordered = 0;
  while (!ready.empty()) {
    VarId v = ready.back();
    ready.pop_back();
    ++ordered;
    for (VarId c : children[static_cast<std::size_t>(v)]) {
      if (--pending[static_cast<std::size_t>(c)] == 0) ready.push_back(c);
    }
  }
  if (ordered < n) {
    // Every unordered variable has an unordered parent: walk up until one repeats.
    VarId v = static_cast<VarId>(std::find_if(pending.begin(), pending.end(), [](std::size_t c) { return c > 0; }) -
                                 pending.begin());
    std::vector<VarId> walk;
    while (std::find(walk.begin(), walk.end(), v) == walk.end()) {
      walk.push_back(v);
      const auto& ps = vars_[static_cast<std::size_t>(v)].parents;
      v = *std::find_if(ps.begin(), ps.end(), [&](VarId p) { return pending[static_cast<std::size_t>(p)] > 0; });
    }
    // From v, walk goes child to parent back to v; print it parent to child.
    std::string cycle = name(v);
    for (auto it = std::find(walk.begin(), walk.end(), v) + 1; it != walk.end(); ++it) {
      cycle.insert(0, name(*it) + " -> ");
    }
    cycle.insert(0, name(v) + " -> ");
    return GraphProblem{v, "the graph has a cycle: " + cycle};
  }
  // No decision may be an ancestor of an earlier one.
  for (std::size_t j = 0; j < decisions_.size(); ++j) {
    // via[a] = the child through which ancestor a of decision j was reached.
    std::vector<VarId> via(n, -2);
    via[static_cast<std::size_t>(decisions_[j])] = -1;
    std::vector<VarId> stack{decisions_[j]};
    while (!stack.empty()) {
      VarId v = stack.back();
      stack.pop_back();
      for (VarId p : vars_[static_cast<std::size_t>(v)].parents) {
        if (via[static_cast<std::size_t>(p)] == -2) {
          via[static_cast<std::size_t>(p)] = v;
          stack.push_back(p);
        }
      }
    }
    for (std::size_t k = j + 1; k < decisions_.size(); ++k) {
      if (via[static_cast<std::size_t>(decisions_[k])] == -2) continue;
      std::string path = name(decisions_[k]);
      for (VarId v = via[static_cast<std::size_t>(decisions_[k])]; v >= 0; v = via[static_cast<std::size_t>(v)]) {
        path += " -> " + name(v);
      }
      return GraphProblem{decisions_[j], "decision '" + name(decisions_[j]) + "' comes before '" + name(decisions_[k]) +
                                             "' in the decision order but depends on it (" + path +
                                             "); decisions must be listed in the order they are taken"};
    }
  }
  return std::nullopt;
}

void InfluenceDiagram::validate() const {
  if (auto problem = graph_problem()) fail("influence diagram '" + name_ + "': " + problem->message);
}

// ------------------------------------------------------------------ JSON

namespace {

using json = nlohmann::json;

// Reads one document; every error names the source and the JSON path.
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail_at(const std::string& path, const std::string& what) const {
    throw Error(Error::Kind::Format, source_ + ": " + path + ": " + what);
  }

  // Runs fn; an Error from the model becomes an Error(Format) at `path`.
  template <typename Fn>
  auto at(const std::string& path, Fn&& fn) const {
    try {
      return fn();
    } catch (const Error& e) {
      fail_at(path, e.what());
    }
  }

  // j must be an object with no keys but `keys`.
  void object(const json& j, const std::string& path, std::initializer_list<std::string_view> keys) const {
    if (!j.is_object()) fail_at(path, "expected an object, found " + std::string(j.type_name()));
    for (const auto& item : j.items()) {
      if (std::find(keys.begin(), keys.end(), item.key()) == keys.end()) {
        std::string known;
        for (std::string_view k : keys) known.append(known.empty() ? "" : ", ").append(k);
        fail_at(path, "unknown key '" + item.key() + "' (expected " + known + ")");
      }
    }
  }

  const json& required(const json& obj, const std::string& path, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail_at(path, std::string("missing key '") + key + "'");
    return *it;
  }

  // obj[key], or an empty array when absent.
  const json& list(const json& obj, const std::string& path, const char* key) const {
    static const json empty = json::array();
    auto it = obj.find(key);
    if (it == obj.end()) return empty;
    if (!it->is_array()) fail_at(path + "." + key, "expected an array, found " + std::string(it->type_name()));
    return *it;
  }

  std::string string(const json& j, const std::string& path) const {
    if (!j.is_string()) fail_at(path, "expected a string, found " + std::string(j.type_name()));
    return j.get<std::string>();
  }

  std::vector<std::string> strings(const json& j, const std::string& path) const {
    if (!j.is_array()) fail_at(path, "expected an array of strings, found " + std::string(j.type_name()));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < j.size(); ++i) out.push_back(string(j[i], path + "[" + std::to_string(i) + "]"));
    return out;
  }

  std::vector<double> numbers(const json& j, const std::string& path) const {
    if (!j.is_array()) fail_at(path, "expected an array of numbers, found " + std::string(j.type_name()));
    std::vector<double> out;
    out.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_number()) {
        fail_at(path + "[" + std::to_string(i) + "]", "expected a number, found " + std::string(j[i].type_name()));
      }
      out.push_back(j[i].get<double>());
    }
    return out;
  }

  // Variable names to ids: each must name a chance or decision variable other
  // than `self`, once.
  std::vector<VarId> variables(const InfluenceDiagram& d, const json& j, const std::string& path, VarId self) const {
    std::vector<VarId> out;
    const std::vector<std::string> names = strings(j, path);
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string at_i = path + "[" + std::to_string(i) + "]";
      const VarId v = d.find(names[i]);
      if (v < 0) {
        const auto& us = d.utilities();
        const bool utility =
            std::any_of(us.begin(), us.end(), [&](const UtilityNode& u) { return u.name == names[i]; });
        fail_at(at_i, "'" + names[i] + "' " +
                          (utility ? "is a utility node; only chance and decision variables can be parents"
                                   : "is not a chance or decision variable of the diagram"));
      }
      if (v == self) fail_at(at_i, "'" + names[i] + "' refers to itself");
      if (std::find(out.begin(), out.end(), v) != out.end()) fail_at(at_i, "'" + names[i] + "' is listed twice");
      out.push_back(v);
    }
    return out;
  }

 private:
  const std::string& source_;
};

std::string index_path(const char* array, std::size_t i) {
  return std::string("influence_diagram.") + array + "[" + std::to_string(i) + "]";
}

// Where variable v came from in a file read (or written) in the diagram's order.
std::string path_of(const InfluenceDiagram& d, VarId v) {
  if (d.is_decision(v)) return index_path("decisions", d.decision_index(v));
  const auto& cs = d.chance_variables();
  return index_path("chance", static_cast<std::size_t>(std::find(cs.begin(), cs.end(), v) - cs.begin()));
}

json parse(std::string_view text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    const auto [line, column] = core::json_error_position(text, e.byte);
    throw Error(Error::Kind::Format, located(source, line, column, "invalid JSON: " + core::json_error_text(e.what())));
  } catch (const json::exception& e) {  // e.g. a number out of the range of double
    throw Error(Error::Kind::Format, source + ": invalid JSON: " + e.what());
  }
}

}  // namespace

InfluenceDiagram read_influence_diagram(std::string_view json_text, const std::string& source) {
  const json root = parse(json_text, source);
  const Reader r(source);
  r.object(root, "(top level)", {"influence_diagram"});
  const json& top = r.required(root, "(top level)", "influence_diagram");
  const std::string base = "influence_diagram";
  r.object(top, base, {"name", "chance", "decisions", "utilities"});
  InfluenceDiagram d;
  if (auto it = top.find("name"); it != top.end()) d.set_name(r.string(*it, base + ".name"));
  const json& chance = r.list(top, base, "chance");
  const json& decisions = r.list(top, base, "decisions");
  const json& utilities = r.list(top, base, "utilities");

  // Declare every node first, so that parents may be listed in any order.
  for (std::size_t i = 0; i < chance.size(); ++i) {
    const std::string path = index_path("chance", i);
    const json& c = chance[i];
    r.object(c, path, {"name", "states", "parents", "table"});
    std::string name = r.string(r.required(c, path, "name"), path + ".name");
    std::vector<std::string> states = r.strings(r.required(c, path, "states"), path + ".states");
    r.at(path, [&] { return d.add_chance(std::move(name), std::move(states)); });
  }
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const std::string path = index_path("decisions", i);
    const json& c = decisions[i];
    r.object(c, path, {"name", "options", "observes"});
    std::string name = r.string(r.required(c, path, "name"), path + ".name");
    std::vector<std::string> options = r.strings(r.required(c, path, "options"), path + ".options");
    r.at(path, [&] { return d.add_decision(std::move(name), std::move(options)); });
  }
  for (std::size_t i = 0; i < utilities.size(); ++i) {
    const std::string path = index_path("utilities", i);
    const json& u = utilities[i];
    r.object(u, path, {"name", "parents", "table"});
    std::string name = r.string(r.required(u, path, "name"), path + ".name");
    r.at(path, [&] { return d.add_utility(std::move(name)); });
  }
  static const json none = json::array();
  for (std::size_t i = 0; i < chance.size(); ++i) {
    const std::string path = index_path("chance", i);
    const VarId v = d.chance_variables()[i];
    std::vector<VarId> parents = r.variables(d, chance[i].value("parents", none), path + ".parents", v);
    std::vector<double> table = r.numbers(r.required(chance[i], path, "table"), path + ".table");
    r.at(path + ".table", [&] { d.set_cpt(v, std::move(parents), std::move(table)); });
  }
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const std::string path = index_path("decisions", i);
    const VarId v = d.decisions()[i];
    std::vector<VarId> observes = r.variables(d, decisions[i].value("observes", none), path + ".observes", v);
    r.at(path + ".observes", [&] { d.set_observes(v, std::move(observes)); });
  }
  for (std::size_t i = 0; i < utilities.size(); ++i) {
    const std::string path = index_path("utilities", i);
    const std::vector<VarId> parents = r.variables(d, utilities[i].value("parents", none), path + ".parents", -1);
    std::vector<double> table = r.numbers(r.required(utilities[i], path, "table"), path + ".table");
    r.at(path + ".table", [&] { d.set_utility(i, parents, std::move(table)); });
  }
  if (auto problem = d.graph_problem()) r.fail_at(path_of(d, problem->node), problem->message);
  return d;
}

InfluenceDiagram load_influence_diagram(const std::string& path) {
  return read_influence_diagram(core::read_file(path), path);
}

std::string write_influence_diagram(const InfluenceDiagram& d) {
  using ojson = nlohmann::ordered_json;
  auto dump = [](const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); };
  auto names = [&](const std::vector<VarId>& ids) {
    ojson a = ojson::array();
    for (VarId v : ids) a.push_back(d.variable(v).name);
    return a;
  };
  std::string out = "{\n  \"influence_diagram\": {\n    \"name\": " + dump(d.name());
  auto section = [&](const char* key, const std::vector<ojson>& nodes) {
    out += ",\n    \"" + std::string(key) + "\": [";
    for (std::size_t i = 0; i < nodes.size(); ++i) out += (i == 0 ? "\n      " : ",\n      ") + dump(nodes[i]);
    out += nodes.empty() ? "]" : "\n    ]";
  };
  std::vector<ojson> nodes;
  for (VarId v : d.chance_variables()) {
    const DiagramVariable& c = d.variable(v);
    nodes.push_back(ojson{{"name", c.name}, {"states", c.states}, {"parents", names(c.parents)}, {"table", c.table}});
  }
  section("chance", nodes);
  nodes.clear();
  for (VarId v : d.decisions()) {
    const DiagramVariable& c = d.variable(v);
    nodes.push_back(ojson{{"name", c.name}, {"options", c.states}, {"observes", names(c.parents)}});
  }
  section("decisions", nodes);
  nodes.clear();
  for (const UtilityNode& u : d.utilities()) {
    nodes.push_back(ojson{{"name", u.name}, {"parents", names(u.parents)}, {"table", u.table}});
  }
  section("utilities", nodes);
  return out + "\n  }\n}\n";
}

// ------------------------------------------------------------------ solving

namespace {

// The state of an elimination: the expected utility is the sum (over chance
// variables) or max (over decisions), in the elimination order, over the
// variables not yet eliminated of ∏ probs · Σ utils.
struct Potentials {
  std::vector<Factor> probs;
  std::vector<Factor> utils;
};

Factor table_factor(const InfluenceDiagram& d, const std::vector<VarId>& vars, const std::vector<double>& table) {
  std::vector<std::int64_t> cards;
  for (VarId v : vars) cards.push_back(d.cardinality(v));
  return Factor(vars, cards, table);
}

// The CPTs and the utility tables; the decisions have no potentials yet.
Potentials initial_potentials(const InfluenceDiagram& d) {
  Potentials p;
  for (VarId v : d.chance_variables()) {
    const DiagramVariable& c = d.variable(v);
    std::vector<VarId> vars = c.parents;
    vars.push_back(v);
    p.probs.push_back(table_factor(d, vars, c.table));
  }
  for (const UtilityNode& u : d.utilities()) p.utils.push_back(table_factor(d, u.parents, u.table));
  return p;
}

// Removes the factors that mention v from `from` and returns them.
std::vector<Factor> take_mentioning(std::vector<Factor>& from, VarId v) {
  auto split = std::stable_partition(from.begin(), from.end(), [v](const Factor& f) { return !f.contains(v); });
  std::vector<Factor> taken(std::make_move_iterator(split), std::make_move_iterator(from.end()));
  from.erase(split, from.end());
  return taken;
}

Factor product_of(const std::vector<Factor>& fs) {
  if (fs.empty()) return Factor();
  Factor out = fs[0];
  for (std::size_t i = 1; i < fs.size(); ++i) out = out.product(fs[i]);
  return out;
}

// The sum of utility factors over the union of their scopes (0 when there are none).
Factor sum_of(const std::vector<Factor>& fs) {
  if (fs.size() == 1) return fs[0];
  std::vector<std::pair<VarId, std::int64_t>> scope;
  for (const Factor& f : fs) {
    for (std::size_t i = 0; i < f.vars().size(); ++i) scope.emplace_back(f.vars()[i], f.cards()[i]);
  }
  std::sort(scope.begin(), scope.end());
  scope.erase(std::unique(scope.begin(), scope.end()), scope.end());
  std::vector<VarId> vars;
  std::vector<std::int64_t> cards;
  for (const auto& [v, c] : scope) {
    vars.push_back(v);
    cards.push_back(c);
  }
  Factor sum = Factor::filled(vars, cards, 0.0);
  const Factor ones = Factor::filled(vars, cards, 1.0);
  for (const Factor& f : fs) {
    // f spread over the union: the same scope, hence the same layout, as sum.
    const Factor spread = ones.product(f);
    for (std::size_t i = 0; i < sum.values().size(); ++i) sum.values()[i] += spread.values()[i];
  }
  return sum;
}

// Sums chance variable x out: (φ, ψ) -> (Σx φ, Σx φψ / Σx φ) over the pairs that mention x.
void sum_out(Potentials& p, VarId x) {
  std::vector<Factor> phis = take_mentioning(p.probs, x);
  if (phis.empty()) throw Error(Error::Kind::Internal, "decision: no probability potential mentions the variable");
  const Factor phi = product_of(phis);
  Factor marginal = phi.sum_out(x);
  std::vector<Factor> psis = take_mentioning(p.utils, x);
  if (!psis.empty()) {
    Factor expected = phi.product(sum_of(psis)).sum_out(x);
    expected.divide_in(marginal);  // 0/0 = 0: the configuration cannot occur
    p.utils.push_back(std::move(expected));
  }
  p.probs.push_back(std::move(marginal));
}

// Maximises decision dec out: the probability potentials do not depend on it
// where their product is non-zero (no decision influences what was observed
// before it), so dropping it is max_dec; the utilities become max_dec Σψ.
// Returns Σψ over the utilities that mention dec, for the rule.
Factor max_out(Potentials& p, VarId dec) {
  std::vector<Factor> phis = take_mentioning(p.probs, dec);
  if (!phis.empty()) p.probs.push_back(product_of(phis).max_out(dec));
  std::vector<Factor> psis = take_mentioning(p.utils, dec);
  Factor u = sum_of(psis);
  if (!psis.empty()) p.utils.push_back(u.max_out(dec));
  return u;
}

// The block variable whose elimination multiplies the smallest table (ties: the first).
std::size_t cheapest(const Potentials& p, const std::vector<VarId>& block) {
  std::size_t best = 0;
  double best_size = std::numeric_limits<double>::infinity();
  std::vector<std::pair<VarId, std::int64_t>> scope;
  for (std::size_t b = 0; b < block.size(); ++b) {
    scope.clear();
    for (const auto* fs : {&p.probs, &p.utils}) {
      for (const Factor& f : *fs) {
        if (!f.contains(block[b])) continue;
        for (std::size_t i = 0; i < f.vars().size(); ++i) scope.emplace_back(f.vars()[i], f.cards()[i]);
      }
    }
    std::sort(scope.begin(), scope.end());
    scope.erase(std::unique(scope.begin(), scope.end()), scope.end());
    double size = 1;
    for (const auto& [v, c] : scope) size *= static_cast<double>(c);
    if (size < best_size) {
      best_size = size;
      best = b;
    }
  }
  return best;
}

void sum_out_all(Potentials& p, std::vector<VarId> block) {
  while (!block.empty()) {
    const std::size_t b = cheapest(p, block);
    const VarId x = block[b];
    block.erase(block.begin() + static_cast<std::ptrdiff_t>(b));
    sum_out(p, x);
  }
}

// ∏ probs · Σ utils once every variable is eliminated.
double final_value(const Potentials& p) {
  const Factor phi = product_of(p.probs), psi = sum_of(p.utils);
  if (!phi.vars().empty() || !psi.vars().empty()) {
    throw Error(Error::Kind::Internal, "decision: a variable was left uneliminated");
  }
  return phi.values()[0] * psi.values()[0];
}

std::int64_t stride_of(const Factor& f, VarId v) {
  const int i = f.position(v);
  return i < 0 ? 0 : f.strides()[static_cast<std::size_t>(i)];
}

// dec's rule over observed(dec): the option maximising u (over a subset of
// observed(dec) and dec), or the first option where the configuration has
// probability w = 0 (w over a subset of observed(dec)).
DecisionRule best_rule(const InfluenceDiagram& d, VarId dec, const Factor& u, const Factor& w) {
  const std::vector<VarId> obs = d.observed(dec);
  for (const Factor* f : {&u, &w}) {
    for (VarId v : f->vars()) {
      if (v != dec && std::find(obs.begin(), obs.end(), v) == obs.end()) {
        throw Error(Error::Kind::Internal, "decision: a potential of '" + d.variable(dec).name + "' mentions '" +
                                               d.variable(v).name + "', which it does not observe");
      }
    }
  }
  DecisionRule rule{d.variable(dec).name, {}, {}};
  std::vector<std::int64_t> cards, su, sw;
  std::int64_t configs = 1;
  for (VarId v : obs) {
    rule.observed.push_back(d.variable(v).name);
    cards.push_back(d.cardinality(v));
    su.push_back(stride_of(u, v));
    sw.push_back(stride_of(w, v));
    configs *= cards.back();
  }
  const std::int64_t options = d.cardinality(dec), step = stride_of(u, dec);
  const double* uv = u.values().data();
  rule.choice.assign(static_cast<std::size_t>(configs), 0);
  std::vector<std::int64_t> idx(obs.size(), 0);
  std::int64_t iu = 0, iw = 0;
  for (std::int64_t c = 0; c < configs; ++c) {
    if (w.values()[static_cast<std::size_t>(iw)] > 0) {
      std::int64_t best = 0;
      for (std::int64_t k = 1; k < options; ++k) {
        if (uv[iu + k * step] > uv[iu + best * step]) best = k;
      }
      rule.choice[static_cast<std::size_t>(c)] = static_cast<int>(best);
    }
    for (std::size_t i = obs.size(); i-- > 0;) {  // next configuration, the last variable fastest
      iu += su[i];
      iw += sw[i];
      if (++idx[i] < cards[i]) break;
      iu -= cards[i] * su[i];
      iw -= cards[i] * sw[i];
      idx[i] = 0;
    }
  }
  return rule;
}

// P(dec | observed) of a rule: 1 at the chosen option.
Factor rule_factor(const InfluenceDiagram& d, VarId dec, const DecisionRule& rule) {
  const std::string who = "policy for decision '" + rule.decision + "'";
  const std::vector<VarId> admissible = d.observed(dec);
  std::vector<VarId> vars;
  std::int64_t configs = 1;
  for (const std::string& name : rule.observed) {
    const VarId v = d.find(name);
    if (v < 0) fail(who + ": no chance or decision variable named '" + name + "'");
    if (std::find(admissible.begin(), admissible.end(), v) == admissible.end()) {
      fail(who + ": '" + name + "' is not known when '" + rule.decision + "' is taken");
    }
    if (std::find(vars.begin(), vars.end(), v) != vars.end()) fail(who + ": '" + name + "' is listed twice");
    vars.push_back(v);
    configs *= d.cardinality(v);
  }
  if (static_cast<std::int64_t>(rule.choice.size()) != configs) {
    fail(who + ": " + std::to_string(rule.choice.size()) + " choices, expected " + std::to_string(configs) +
         " (one per configuration of the observed variables)");
  }
  const std::int64_t options = d.cardinality(dec);
  std::vector<double> table(static_cast<std::size_t>(configs * options), 0.0);
  for (std::int64_t c = 0; c < configs; ++c) {
    const int choice = rule.choice[static_cast<std::size_t>(c)];
    if (choice < 0 || choice >= options) {
      fail(who + ": choice " + std::to_string(c) + " is " + std::to_string(choice) + ", not an option index (0.." +
           std::to_string(options - 1) + ")");
    }
    table[static_cast<std::size_t>(c * options + choice)] = 1.0;
  }
  vars.push_back(dec);
  return table_factor(d, vars, table);
}

}  // namespace

Solution solve(const InfluenceDiagram& d) {
  MISO_PROFILE_SCOPE("qlogik.decision.solve");
  d.validate();
  const std::vector<VarId>& decisions = d.decisions();
  const std::size_t n = decisions.size();
  // blocks[k]: the chance variables first observed by decision k; blocks[n]: the unobserved ones.
  std::vector<std::size_t> first(d.size(), n);
  for (std::size_t k = n; k-- > 0;) {
    for (VarId v : d.variable(decisions[k]).parents) first[static_cast<std::size_t>(v)] = k;
  }
  std::vector<std::vector<VarId>> blocks(n + 1);
  for (VarId v : d.chance_variables()) blocks[first[static_cast<std::size_t>(v)]].push_back(v);

  Potentials p = initial_potentials(d);
  Solution s;
  s.policy.resize(n);
  for (std::size_t k = n + 1; k-- > 0;) {
    sum_out_all(p, std::move(blocks[k]));
    if (k == 0) break;
    const VarId dec = decisions[k - 1];
    const Factor u = max_out(p, dec);
    // The remaining probability potentials multiply to P(observed chance variables | earlier decisions).
    s.policy[k - 1] = best_rule(d, dec, u, product_of(p.probs));
  }
  s.expected_utility = final_value(p);
  return s;
}

double expected_utility(const InfluenceDiagram& d, const std::vector<DecisionRule>& policy) {
  MISO_PROFILE_SCOPE("qlogik.decision.expected_utility");
  d.validate();
  const std::vector<VarId>& decisions = d.decisions();
  std::vector<const DecisionRule*> rule_of(decisions.size(), nullptr);
  for (const DecisionRule& rule : policy) {
    const VarId v = d.find(rule.decision);
    if (v < 0 || !d.is_decision(v)) fail("policy: '" + rule.decision + "' is not a decision of the diagram");
    const std::size_t k = d.decision_index(v);
    if (rule_of[k] != nullptr) fail("policy: two rules for decision '" + rule.decision + "'");
    rule_of[k] = &rule;
  }
  Potentials p = initial_potentials(d);
  for (std::size_t k = 0; k < decisions.size(); ++k) {
    if (rule_of[k] == nullptr) fail("policy: no rule for decision '" + d.variable(decisions[k]).name + "'");
    p.probs.push_back(rule_factor(d, decisions[k], *rule_of[k]));
  }
  // With every decision fixed by its rule, all variables are summed out, in any order.
  std::vector<VarId> all(d.size());
  std::iota(all.begin(), all.end(), 0);
  sum_out_all(p, std::move(all));
  return final_value(p);
}

double value_of_perfect_information(const InfluenceDiagram& d, const std::string& chance, const std::string& decision) {
  MISO_PROFILE_SCOPE("qlogik.decision.vpi");
  const VarId x = d.id(chance), dec = d.id(decision);
  if (d.is_decision(x)) fail("value_of_perfect_information: '" + chance + "' is a decision, not a chance variable");
  if (!d.is_decision(dec)) fail("value_of_perfect_information: '" + decision + "' is not a decision");
  const std::vector<VarId> known = d.observed(dec);
  if (std::find(known.begin(), known.end(), x) != known.end()) return 0.0;
  InfluenceDiagram informed = d;
  std::vector<VarId> observes = d.variable(dec).parents;
  observes.push_back(x);
  informed.set_observes(dec, std::move(observes));
  if (auto problem = informed.graph_problem()) {
    fail("value_of_perfect_information: '" + chance + "' cannot be observed before '" + decision +
         "': " + problem->message);
  }
  return solve(informed).expected_utility - solve(d).expected_utility;
}

}  // namespace miso::qlogik
