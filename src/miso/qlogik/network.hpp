// Discrete Bayesian networks: named variables with named states and one
// conditional probability table (CPT) per variable.
//
// Layout of a CPT: P(child | parents) as a dense row-major table over
// (parents in declared order..., child), the child's state varying fastest. Row
// r is one configuration of the parents (the first parent varies slowest), and
// holds card(child) probabilities. This is the order BIF and XMLBIF list them
// in, and the order Factor (factor.hpp) uses, so a CPT becomes a factor without
// reshuffling.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace miso::qlogik {

using VarId = std::int32_t;

struct Variable {
  std::string name;
  std::vector<std::string> states;
  // Free-form properties (BIF `property` lines, XMLBIF <PROPERTY>), kept for round trips.
  std::vector<std::string> properties;
};

struct Cpt {
  std::vector<VarId> parents;  // declared order
  std::vector<double> table;   // rows(parents) * card(child), child fastest
};

class Network {
 public:
  Network() = default;
  explicit Network(std::string name) : name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  std::vector<std::string>& properties() noexcept { return properties_; }
  const std::vector<std::string>& properties() const noexcept { return properties_; }

  // Adds a variable; its CPT is uniform with no parents until set_cpt. Throws
  // Error(InvalidArgument) for a repeated name, repeated state names, or fewer
  // than one state.
  VarId add_variable(std::string name, std::vector<std::string> states);
  Variable& variable(VarId v);
  const Variable& variable(VarId v) const;
  std::size_t size() const noexcept { return vars_.size(); }
  std::int64_t cardinality(VarId v) const { return static_cast<std::int64_t>(variable(v).states.size()); }

  // The id of `name`, or -1.
  VarId find(std::string_view name) const noexcept;
  // The id of `name`; throws Error(InvalidArgument) naming it when absent.
  VarId id(std::string_view name) const;
  // The index of `state` among v's states; throws naming the variable and the state.
  int state_index(VarId v, std::string_view state) const;

  // Sets P(child | parents). The table's size must be rows * card(child); the
  // parents must be distinct variables other than the child. Checks shape only;
  // validate() checks the numbers and the graph.
  void set_cpt(VarId child, std::vector<VarId> parents, std::vector<double> table);
  const Cpt& cpt(VarId v) const;
  const std::vector<VarId>& parents(VarId v) const { return cpt(v).parents; }
  std::vector<VarId> children(VarId v) const;

  // Number of parent configurations of v's CPT.
  std::int64_t rows(VarId v) const;

  // Parents before children; throws Error(InvalidArgument) naming a cycle when
  // the graph has one.
  std::vector<VarId> topological_order() const;

  // Throws Error(InvalidArgument) for the first problem found: a cycle, a
  // negative or non-finite probability, a row that does not sum to 1 within
  // `tolerance` (naming the variable and the row's parent states).
  void validate(double tolerance = 1e-6) const;

  // P(x) for a full assignment (one state index per variable).
  double joint_probability(const std::vector<int>& assignment) const;

  // "A=a, B=b" of a row of v's CPT: the parent states of row r.
  std::string describe_row(VarId v, std::int64_t r) const;

 private:
  std::string name_ = "network";
  std::vector<std::string> properties_;
  std::vector<Variable> vars_;
  std::vector<Cpt> cpts_;
  std::unordered_map<std::string, VarId> index_;
};

// Observed states: evidence[v] is v's state index, or -1 when v is unobserved.
// Sized to the network.
using Evidence = std::vector<int>;

Evidence no_evidence(const Network& net);
// Parses "A=a,B=b" (spaces around names allowed) against the network; errors
// name the variable or state that is unknown, or a variable given twice.
Evidence parse_evidence(const Network& net, std::string_view text);
// Parses "A,B,C" into variable ids; errors name an unknown variable.
std::vector<VarId> parse_variables(const Network& net, std::string_view text);

}  // namespace miso::qlogik
