#include "miso/qlogik/network.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "miso/core/error.hpp"

namespace miso::qlogik {

namespace {
[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = s.find(sep, start);
    parts.push_back(trim(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start)));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}
}  // namespace

VarId Network::add_variable(std::string name, std::vector<std::string> states) {
  if (name.empty()) fail("network '" + name_ + "': a variable needs a name");
  if (index_.count(name) != 0) fail("network '" + name_ + "': variable '" + name + "' declared twice");
  if (states.empty()) fail("variable '" + name + "': needs at least one state");
  for (std::size_t i = 0; i < states.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (states[i] == states[j]) fail("variable '" + name + "': state '" + states[i] + "' listed twice");
    }
  }
  const auto id = static_cast<VarId>(vars_.size());
  index_.emplace(name, id);
  const std::size_t card = states.size();
  vars_.push_back(Variable{std::move(name), std::move(states), {}});
  cpts_.push_back(Cpt{{}, std::vector<double>(card, 1.0 / static_cast<double>(card))});
  return id;
}

Variable& Network::variable(VarId v) {
  if (v < 0 || static_cast<std::size_t>(v) >= vars_.size()) fail("network: no variable with id " + std::to_string(v));
  return vars_[static_cast<std::size_t>(v)];
}

const Variable& Network::variable(VarId v) const {
  if (v < 0 || static_cast<std::size_t>(v) >= vars_.size()) fail("network: no variable with id " + std::to_string(v));
  return vars_[static_cast<std::size_t>(v)];
}

VarId Network::find(std::string_view name) const noexcept {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? -1 : it->second;
}

VarId Network::id(std::string_view name) const {
  VarId v = find(name);
  if (v < 0) fail("network '" + name_ + "': no variable named '" + std::string(name) + "'");
  return v;
}

int Network::state_index(VarId v, std::string_view state) const {
  const Variable& var = variable(v);
  for (std::size_t i = 0; i < var.states.size(); ++i) {
    if (var.states[i] == state) return static_cast<int>(i);
  }
  std::string known;
  for (const std::string& s : var.states) known.append(known.empty() ? "" : ", ").append(s);
  fail("variable '" + var.name + "' has no state '" + std::string(state) + "' (states: " + known + ")");
}

void Network::set_cpt(VarId child, std::vector<VarId> parents, std::vector<double> table) {
  const Variable& c = variable(child);
  std::int64_t rows = 1;
  for (std::size_t i = 0; i < parents.size(); ++i) {
    VarId p = parents[i];
    const Variable& pv = variable(p);
    if (p == child) fail("variable '" + c.name + "' cannot be its own parent");
    for (std::size_t j = 0; j < i; ++j) {
      if (parents[j] == p) fail("variable '" + c.name + "': parent '" + pv.name + "' listed twice");
    }
    rows *= static_cast<std::int64_t>(pv.states.size());
  }
  const std::int64_t want = rows * static_cast<std::int64_t>(c.states.size());
  if (static_cast<std::int64_t>(table.size()) != want) {
    fail("variable '" + c.name + "': probability table has " + std::to_string(table.size()) + " entries, expected " +
         std::to_string(want) + " (" + std::to_string(rows) + " parent configurations x " +
         std::to_string(c.states.size()) + " states)");
  }
  cpts_[static_cast<std::size_t>(child)] = Cpt{std::move(parents), std::move(table)};
}

const Cpt& Network::cpt(VarId v) const {
  (void)variable(v);
  return cpts_[static_cast<std::size_t>(v)];
}

std::vector<VarId> Network::children(VarId v) const {
  (void)variable(v);
  std::vector<VarId> out;
  for (std::size_t c = 0; c < cpts_.size(); ++c) {
    const auto& ps = cpts_[c].parents;
    if (std::find(ps.begin(), ps.end(), v) != ps.end()) out.push_back(static_cast<VarId>(c));
  }
  return out;
}

std::int64_t Network::rows(VarId v) const {
  std::int64_t r = 1;
  for (VarId p : cpt(v).parents) r *= cardinality(p);
  return r;
}

std::vector<VarId> Network::topological_order() const {
  const std::size_t n = vars_.size();
  std::vector<int> state(n, 0);  // 0 new, 1 on the stack, 2 done
  std::vector<VarId> order;
  order.reserve(n);
  std::vector<VarId> path;
  // Iterative DFS over parents: a variable is emitted after all its parents.
  for (std::size_t start = 0; start < n; ++start) {
    if (state[start] != 0) continue;
    std::vector<std::pair<VarId, std::size_t>> stack{{static_cast<VarId>(start), 0}};
    state[start] = 1;
    while (!stack.empty()) {
      auto& [v, next] = stack.back();
      const auto& ps = cpts_[static_cast<std::size_t>(v)].parents;
      if (next < ps.size()) {
        VarId p = ps[next++];
        if (state[static_cast<std::size_t>(p)] == 1) {
          std::string cycle = vars_[static_cast<std::size_t>(p)].name;
          bool in = false;
          for (const auto& [u, _] : stack) {
            if (u == p) in = true;
            if (in && u != p) cycle = vars_[static_cast<std::size_t>(u)].name + " -> " + cycle;
          }
          cycle = vars_[static_cast<std::size_t>(p)].name + " -> " + cycle;
          fail("network '" + name_ + "' has a cycle: " + cycle);
        }
        if (state[static_cast<std::size_t>(p)] == 0) {
          state[static_cast<std::size_t>(p)] = 1;
          stack.emplace_back(p, 0);
        }
      } else {
        state[static_cast<std::size_t>(v)] = 2;
        order.push_back(v);
        stack.pop_back();
      }
    }
  }
  return order;
}

std::string Network::describe_row(VarId v, std::int64_t r) const {
  const auto& ps = cpt(v).parents;
  if (ps.empty()) return "(no parents)";
  std::vector<std::int64_t> idx(ps.size());
  for (std::size_t i = ps.size(); i-- > 0;) {
    std::int64_t card = cardinality(ps[i]);
    idx[i] = r % card;
    r /= card;
  }
  std::string out;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const Variable& pv = variable(ps[i]);
    out.append(i == 0 ? "" : ", ").append(pv.name).append("=").append(pv.states[static_cast<std::size_t>(idx[i])]);
  }
  return out;
}

void Network::validate(double tolerance) const {
  (void)topological_order();
  for (std::size_t v = 0; v < vars_.size(); ++v) {
    const Cpt& c = cpts_[v];
    const auto card = static_cast<std::int64_t>(vars_[v].states.size());
    const std::int64_t rows = static_cast<std::int64_t>(c.table.size()) / card;
    for (std::int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (std::int64_t s = 0; s < card; ++s) {
        double p = c.table[static_cast<std::size_t>(r * card + s)];
        if (!std::isfinite(p) || p < 0) {
          std::ostringstream os;
          os << "variable '" << vars_[v].name << "', row " << r << " (" << describe_row(static_cast<VarId>(v), r)
             << "): probability " << p << " of state '" << vars_[v].states[static_cast<std::size_t>(s)]
             << "' is not a finite non-negative number";
          fail(os.str());
        }
        sum += p;
      }
      if (std::abs(sum - 1.0) > tolerance) {
        std::ostringstream os;
        os.precision(17);
        os << "variable '" << vars_[v].name << "', row " << r << " (" << describe_row(static_cast<VarId>(v), r)
           << "): probabilities sum to " << sum << ", not 1";
        fail(os.str());
      }
    }
  }
}

double Network::joint_probability(const std::vector<int>& assignment) const {
  if (assignment.size() != vars_.size()) {
    fail("joint_probability: assignment has " + std::to_string(assignment.size()) + " values for " +
         std::to_string(vars_.size()) + " variables");
  }
  for (std::size_t v = 0; v < vars_.size(); ++v) {
    if (assignment[v] < 0 || assignment[v] >= static_cast<int>(vars_[v].states.size())) {
      fail("joint_probability: variable '" + vars_[v].name + "' has no state " + std::to_string(assignment[v]));
    }
  }
  double p = 1.0;
  for (std::size_t v = 0; v < vars_.size(); ++v) {
    const Cpt& c = cpts_[v];
    std::int64_t row = 0;
    for (VarId q : c.parents) row = row * cardinality(q) + assignment[static_cast<std::size_t>(q)];
    p *= c.table[static_cast<std::size_t>(row * static_cast<std::int64_t>(vars_[v].states.size()) + assignment[v])];
  }
  return p;
}

Evidence no_evidence(const Network& net) { return Evidence(net.size(), -1); }

Evidence parse_evidence(const Network& net, std::string_view text) {
  Evidence ev = no_evidence(net);
  if (trim(text).empty()) return ev;
  for (std::string_view item : split(text, ',')) {
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      fail("evidence '" + std::string(item) + "': expected VARIABLE=STATE");
    }
    VarId v = net.id(trim(item.substr(0, eq)));
    int s = net.state_index(v, trim(item.substr(eq + 1)));
    if (ev[static_cast<std::size_t>(v)] >= 0) fail("evidence: variable '" + net.variable(v).name + "' given twice");
    ev[static_cast<std::size_t>(v)] = s;
  }
  return ev;
}

std::vector<VarId> parse_variables(const Network& net, std::string_view text) {
  std::vector<VarId> out;
  if (trim(text).empty()) return out;
  for (std::string_view item : split(text, ',')) out.push_back(net.id(item));
  return out;
}

}  // namespace miso::qlogik
