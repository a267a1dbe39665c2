// Decision networks (influence diagrams): a Bayesian network of chance
// variables, plus decision variables whose states are options, plus utility
// nodes whose sum is the total utility. solve() finds the policy of maximum
// expected utility (MEU).
//
// Model.
//  - Chance variable: states, parents (chance or decision variables) and a CPT
//    laid out as in network.hpp (the child fastest, the first parent slowest).
//  - Decision variable: options, and the variables observed just before it is
//    taken (its informational parents).
//  - Utility node: parents (chance or decision variables) and one real utility
//    per parent configuration (first parent slowest); any sign.
// Decisions are totally ordered by the order they are added (the file order).
// No-forgetting: a decision also knows everything every earlier decision
// observed, and the earlier decisions themselves; observed() is that closure,
// in time order (for each decision in turn: what it observes that is new, then
// the decision itself). The graph must be acyclic and consistent with the
// order: no decision may be an ancestor of an earlier one (it could not then be
// taken later).
//
// Solution. Variable elimination on (probability, utility) potential pairs
// (Jensen, Jensen & Dittmer 1994; Jensen & Nielsen, "Bayesian Networks and
// Decision Graphs", 2007), in the reverse of the partial order
//   I0 < D1 < I1 < ... < Dn < In
// where Ik holds the chance variables first observed by decision k+1 and In
// the never observed ones. Summing out a chance variable X from the pairs that
// mention it gives (Σx φ, Σx φ·ψ / Σx φ) (0/0 = 0); maximising out a decision
// D gives (max_D φ, max_D ψ), recording the argmax as D's rule (φ does not
// depend on D where it is non-zero: no decision influences what was observed
// before it). Within a block, the chance variable whose elimination builds the
// smallest table goes first. The cost is exponential in the largest table met,
// as for exact Bayesian inference, and rules are tables over the whole
// no-forgetting closure.
//
// Zero probability. A rule configuration that cannot occur (probability 0 given
// the earlier decisions in it) gets the first option. Ties between options go
// to the first of them.
//
// File format (JSON), read by read_influence_diagram, written by
// write_influence_diagram:
//   {"influence_diagram": {
//     "name": "oil",                                   (optional)
//     "chance": [{"name": "Oil", "states": ["dry", "wet", "soaking"],
//                 "parents": [], "table": [0.5, 0.3, 0.2]}, ...],
//     "decisions": [{"name": "Test", "options": ["yes", "no"], "observes": []},
//                   {"name": "Drill", "options": ["yes", "no"], "observes": ["Result"]}],
//     "utilities": [{"name": "Cost", "parents": ["Test"], "table": [-10, 0]}, ...]}}
// "name", "parents" and "observes" may be left out (none), and so may the three
// lists (empty); tables may not. Decisions are in time order. Names are unique
// over all three kinds; parents may be declared after their children.
// Unknown keys are errors (they are usually typos). Errors are Error(Format)
// "<source>: <JSON path>: <what>", e.g.
//   "oil.json: influence_diagram.chance[1].table: ... has 5 entries, expected 8 ...".
// See docs/qlogik-decisions.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "miso/qlogik/network.hpp"

namespace miso::qlogik {

enum class NodeKind { Chance, Decision };

// A chance or decision variable; both share one id space (VarId, in the order added).
struct DiagramVariable {
  std::string name;
  NodeKind kind = NodeKind::Chance;
  std::vector<std::string> states;  // the options, for a decision
  std::vector<VarId> parents;       // CPT parents (chance) or observed variables (decision), declared order
  std::vector<double> table;        // the CPT (chance); empty for a decision
};

struct UtilityNode {
  std::string name;
  std::vector<VarId> parents;  // declared order, the first slowest in the table
  std::vector<double> table;   // one utility per parent configuration
};

struct GraphProblem {
  VarId node;           // where it was found: on the cycle, or the earlier decision
  std::string message;  // what is wrong, naming the variables
};

class InfluenceDiagram {
 public:
  // Probability rows must sum to 1 within this.
  static constexpr double kTolerance = 1e-6;

  InfluenceDiagram() = default;
  explicit InfluenceDiagram(std::string name) : name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // Adds a chance variable and sets its CPT (see set_cpt; an empty table means
  // uniform rows). The add_* functions leave the diagram as it was when they throw.
  VarId add_chance(std::string name, std::vector<std::string> states, std::vector<VarId> parents = {},
                   std::vector<double> table = {});
  // Adds the next decision in time order, with its options and what it observes
  // (see set_observes).
  VarId add_decision(std::string name, std::vector<std::string> options, std::vector<VarId> observes = {});
  // Adds a utility node and sets its table (see set_utility); returns its index
  // in utilities(). An empty table is all zeros.
  std::size_t add_utility(std::string name, std::vector<VarId> parents = {}, std::vector<double> table = {});

  // Sets P(chance | parents). The parents are distinct existing variables other
  // than the child; the table has rows * card(child) entries, each finite and
  // non-negative, each row summing to 1 within kTolerance. An empty table means
  // uniform rows.
  void set_cpt(VarId chance, std::vector<VarId> parents, std::vector<double> table);
  // Sets the informational parents of a decision: distinct existing variables,
  // not the decision itself.
  void set_observes(VarId decision, std::vector<VarId> observes);
  // Sets utility node i: distinct existing parents, one finite utility per
  // parent configuration (empty: all zeros).
  void set_utility(std::size_t i, std::vector<VarId> parents, std::vector<double> table);

  // Chance and decision variables together.
  std::size_t size() const noexcept { return vars_.size(); }
  const DiagramVariable& variable(VarId v) const;
  bool is_decision(VarId v) const { return variable(v).kind == NodeKind::Decision; }
  std::int64_t cardinality(VarId v) const { return static_cast<std::int64_t>(variable(v).states.size()); }
  // The id of `name`, or -1 (utility nodes have no id).
  VarId find(std::string_view name) const noexcept;
  // The id of `name`; throws Error(InvalidArgument) naming it when absent.
  VarId id(std::string_view name) const;

  const std::vector<VarId>& chance_variables() const noexcept { return chance_; }  // in the order added
  const std::vector<VarId>& decisions() const noexcept { return decisions_; }      // time order
  const std::vector<UtilityNode>& utilities() const noexcept { return utilities_; }
  // Position of a decision in decisions(); throws when v is not a decision.
  std::size_t decision_index(VarId v) const;

  // What `decision` knows when it is taken: the no-forgetting closure in time order.
  std::vector<VarId> observed(VarId decision) const;

  // The first problem of the graph (the per-node checks are done when nodes are
  // set): a cycle, or a decision that depends on a later one (a later decision
  // is its ancestor). Names the variables involved and the path between them.
  std::optional<GraphProblem> graph_problem() const;
  // Throws Error(InvalidArgument) with graph_problem()'s message, if any.
  void validate() const;

 private:
  VarId add_variable(std::string name, NodeKind kind, std::vector<std::string> states);
  void check_new_name(const std::string& name) const;
  const DiagramVariable& variable_of_kind(VarId v, NodeKind kind, const char* what) const;
  std::int64_t check_parents(const std::string& who, VarId self, const std::vector<VarId>& parents) const;
  std::vector<double> checked_cpt(VarId child, const std::vector<VarId>& parents, std::vector<double> table) const;
  std::string describe(const std::vector<VarId>& parents, std::int64_t row) const;

  std::string name_ = "influence_diagram";
  std::vector<DiagramVariable> vars_;
  std::vector<VarId> chance_;
  std::vector<VarId> decisions_;
  std::vector<UtilityNode> utilities_;
  std::unordered_map<std::string, VarId> index_;  // variables, and utilities as -1 - index
};

// Parses the JSON format above. `source` names the text in error messages.
InfluenceDiagram read_influence_diagram(std::string_view json_text, const std::string& source = "<json>");
// Reads a file (Error(Io) when it cannot be read).
InfluenceDiagram load_influence_diagram(const std::string& path);
// The JSON format above: one node per line, chance variables and decisions in
// the order of chance_variables() and decisions(); doubles written to round-trip
// exactly, so read(write(d)) writes the same text again.
std::string write_influence_diagram(const InfluenceDiagram& d);

// A decision's rule: the option to take for each configuration of `observed`
// (the first observed variable slowest).
struct DecisionRule {
  std::string decision;
  std::vector<std::string> observed;  // names; for solve(), observed(decision)
  std::vector<int> choice;            // option index per configuration of observed
};

struct Solution {
  double expected_utility = 0;       // the MEU
  std::vector<DecisionRule> policy;  // one rule per decision, in time order
};

// The MEU and an optimal policy (see the header comment); validates the diagram first.
Solution solve(const InfluenceDiagram& d);

// The expected utility of following `policy`: one rule per decision (any order,
// matched by name) whose observed variables are among what the decision may
// observe (observed(decision)), in any order. Throws Error(InvalidArgument)
// naming a missing, repeated or unknown decision, an inadmissible observed
// variable, a wrong table size or an option out of range.
double expected_utility(const InfluenceDiagram& d, const std::vector<DecisionRule>& policy);

// Expected value of perfect information: the MEU when `chance` is also observed
// just before `decision`, minus the MEU as it is. Non-negative (up to rounding);
// exactly 0 when `decision` already observes `chance` (no-forgetting included).
// Throws Error(InvalidArgument) when `chance` cannot be observed then (it is a
// descendant of `decision` or of a later decision).
double value_of_perfect_information(const InfluenceDiagram& d, const std::string& chance, const std::string& decision);

}  // namespace miso::qlogik
