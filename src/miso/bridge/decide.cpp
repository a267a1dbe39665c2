// Acting on beliefs (decide.hpp): per-branch decisions from the filtered
// belief, and ECHO-PRIME's fork proposals ranked by branch posterior.
//
// The belief over the chain's joint states becomes a joint distribution over
// the diagram's hidden variables (chain states mapping to the same
// configuration add up), which is written into the diagram by the chain rule:
// the first hidden variable gets its marginal, each later one its distribution
// given the earlier ones. Hidden variables then have only hidden parents, and
// earlier ones only, so the replacement cannot create a cycle.
#include "miso/bridge/decide.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"

namespace miso::bridge {
namespace {

[[noreturn]] void fail(const std::string& message) {
  throw Error(Error::Kind::InvalidArgument, "branch_decisions: " + message);
}

// The hidden variables as diagram ids, and each chain state's configuration
// as a mixed-radix index over them (the first variable slowest).
struct HiddenLayout {
  std::vector<qlogik::VarId> vars;
  std::vector<std::size_t> cards;
  std::vector<std::size_t> config;  // per chain state
  std::size_t joint_size = 1;
};

HiddenLayout layout_of(const Chain& chain, const HiddenStates& hidden, const qlogik::InfluenceDiagram& diagram) {
  if (hidden.size() != chain.size()) {
    fail("the hidden states list " + std::to_string(hidden.size()) + " entries for a chain of " +
         std::to_string(chain.size()) + " states");
  }
  HiddenLayout out;
  if (hidden.empty()) return out;
  const auto& first = hidden.front();
  if (first.empty()) fail("chain state '" + chain.states[0] + "' names no hidden variable");
  for (const auto& [name, state] : first) {
    const qlogik::VarId v = diagram.find(name);
    if (v < 0) fail("the influence diagram has no variable '" + name + "' (a hidden variable of the chain)");
    if (diagram.is_decision(v)) fail("hidden variable '" + name + "' is a decision in the influence diagram");
    if (std::find(out.vars.begin(), out.vars.end(), v) != out.vars.end()) {
      fail("hidden variable '" + name + "' is named twice");
    }
    out.vars.push_back(v);
    out.cards.push_back(diagram.variable(v).states.size());
    out.joint_size *= out.cards.back();
  }
  out.config.resize(chain.size());
  for (std::size_t s = 0; s < hidden.size(); ++s) {
    if (hidden[s].size() != out.vars.size()) {
      fail("chain state '" + chain.states[s] + "' names " + std::to_string(hidden[s].size()) +
           " hidden variables, not " + std::to_string(out.vars.size()));
    }
    std::size_t index = 0;
    for (std::size_t i = 0; i < out.vars.size(); ++i) {
      const auto& [name, state] = hidden[s][i];
      const qlogik::DiagramVariable& var = diagram.variable(out.vars[i]);
      if (name != var.name) {
        fail("chain state '" + chain.states[s] + "' names hidden variable '" + name + "' where '" + var.name +
             "' was expected");
      }
      const auto it = std::find(var.states.begin(), var.states.end(), state);
      if (it == var.states.end()) {
        std::string known;
        for (const std::string& k : var.states) known += (known.empty() ? "'" : ", '") + k + "'";
        fail("variable '" + name + "' of the influence diagram has no state '" + state + "' (chain state '" +
             chain.states[s] + "'; its states: " + known + ")");
      }
      index = index * out.cards[i] + static_cast<std::size_t>(it - var.states.begin());
    }
    out.config[s] = index;
  }
  return out;
}

// The belief at the last step of branch b's observations (the initial
// distribution when it has none).
std::vector<double> last_belief(const echo::World& world, echo::BranchId b, const Chain& chain, const Mapping& mapping,
                                const Compile& compile) {
  const TimelineObservations observed = observations_of(world, b, mapping);
  try {
    const auto [likelihoods, rows] = compile(observed.steps);
    if (rows.empty()) return chain.initial;
    const FilterResult f = filter(chain, likelihoods, rows);
    const std::size_t n = chain.size();
    return std::vector<double>(f.filtered.end() - static_cast<std::ptrdiff_t>(n), f.filtered.end());
  } catch (const Error& e) {
    if (e.kind() != Error::Kind::InvalidArgument) throw;
    // Impossible observations (or a broken compile): say on which branch.
    fail("branch '" + world.branch_name(b) + "': " + e.what());
  }
}

// Writes the joint over the hidden variables into d by the chain rule.
void set_hidden_cpts(qlogik::InfluenceDiagram& d, const HiddenLayout& layout, std::span<const double> belief) {
  std::vector<double> joint(layout.joint_size, 0.0);
  for (std::size_t s = 0; s < belief.size(); ++s) joint[layout.config[s]] += belief[s];
  // marginal[k]: P(H_1..H_k) with H_1 slowest, i.e. the joint with the later
  // variables summed out; the table of H_k is that, each row normalised.
  std::vector<double> marginal = joint;
  std::size_t size = layout.joint_size;
  for (std::size_t k = layout.vars.size(); k-- > 0;) {
    const std::size_t card = layout.cards[k];
    std::vector<double> table = marginal;
    for (std::size_t row = 0; row < size / card; ++row) {
      double total = 0;
      for (std::size_t x = 0; x < card; ++x) total += table[row * card + x];
      for (std::size_t x = 0; x < card; ++x) {
        // A configuration of probability zero: any row will do; uniform.
        table[row * card + x] = total > 0 ? table[row * card + x] / total : 1.0 / static_cast<double>(card);
      }
    }
    d.set_cpt(layout.vars[k], std::vector<qlogik::VarId>(layout.vars.begin(), layout.vars.begin() + k),
              std::move(table));
    // Sum H_k out for the next (earlier) variable.
    std::vector<double> next(size / card, 0.0);
    for (std::size_t i = 0; i < size; ++i) next[i / card] += marginal[i];
    marginal = std::move(next);
    size /= card;
  }
}

}  // namespace

std::vector<BranchDecision> branch_decisions(const echo::World& world, const std::vector<echo::BranchId>& branches,
                                             const Chain& chain, const HiddenStates& hidden, const Mapping& mapping,
                                             const Compile& compile, const qlogik::InfluenceDiagram& diagram) {
  MISO_PROFILE_SCOPE("bridge.branch_decisions");
  chain.validate();
  const HiddenLayout layout = layout_of(chain, hidden, diagram);
  std::vector<BranchDecision> out;
  out.reserve(branches.size());
  for (const echo::BranchId b : branches) {
    BranchDecision decision;
    decision.branch = b;
    decision.belief = last_belief(world, b, chain, mapping, compile);
    qlogik::InfluenceDiagram d = diagram;
    set_hidden_cpts(d, layout, decision.belief);
    qlogik::Solution solution = qlogik::solve(d);
    decision.expected_utility = solution.expected_utility;
    decision.policy = std::move(solution.policy);
    out.push_back(std::move(decision));
  }
  return out;
}

HiddenStates hmm_hidden_states(const Chain& chain, const std::string& name) {
  HiddenStates out;
  out.reserve(chain.size());
  for (const std::string& state : chain.states) out.push_back({{name, state}});
  return out;
}

HiddenStates dbn_hidden_states(const Chain& chain) {
  HiddenStates out;
  out.reserve(chain.size());
  for (const std::string& state : chain.states) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::string_view rest = state;
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string_view part = rest.substr(0, comma);
      const std::size_t eq = part.find('=');
      if (eq == std::string_view::npos || eq == 0 || eq + 1 == part.size()) {
        throw Error(Error::Kind::InvalidArgument, "dbn_hidden_states: chain state '" + state + "': '" +
                                                      std::string(part) + "' is not of the form Variable=state");
      }
      pairs.emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    out.push_back(std::move(pairs));
  }
  return out;
}

std::vector<RankedResolution> rank_resolutions(const echo::World& world, echo::BranchId b, const Chain& chain,
                                               const Mapping& mapping, const Compile& compile) {
  MISO_PROFILE_SCOPE("bridge.rank_resolutions");
  const std::vector<echo::Resolution> proposals = echo::propose(world, b);
  std::vector<RankedResolution> out;
  std::optional<echo::CheckReport> report;  // only when there is a fork to match
  for (const echo::Resolution& r : proposals) {
    if (r.kind != echo::Resolution::Kind::Fork) continue;  // a relaxation creates no alternatives
    if (!report) report = echo::check(world);
    RankedResolution ranked;
    ranked.paradox = r.description;
    // The paradox it resolves: the one on b whose nodes are the alternatives.
    std::vector<echo::NodeId> nodes = r.alternatives;
    std::sort(nodes.begin(), nodes.end());
    for (const echo::Paradox& p : report->paradoxes) {
      if (p.nodes == nodes && std::find(p.branches.begin(), p.branches.end(), b) != p.branches.end()) {
        ranked.kind = p.kind;
        ranked.paradox = p.message;
        break;
      }
    }
    echo::World copy = world;  // copy-on-write: the caller's world is left as it is
    const std::vector<echo::BranchId> made = echo::apply(copy, r);
    const std::vector<BranchBelief> beliefs = branch_posteriors(copy, made, chain, mapping, compile);
    for (std::size_t i = 0; i < made.size(); ++i) {
      RankedAlternative alt;
      alt.description = r.description;
      alt.left_out = r.alternatives[i];
      alt.left_out_name = world.node_name(alt.left_out);
      alt.posterior = beliefs[i].posterior;
      alt.log_likelihood = beliefs[i].log_likelihood;
      ranked.alternatives.push_back(std::move(alt));
    }
    std::stable_sort(ranked.alternatives.begin(), ranked.alternatives.end(),
                     [](const RankedAlternative& a, const RankedAlternative& c) { return a.posterior > c.posterior; });
    out.push_back(std::move(ranked));
  }
  return out;
}

}  // namespace miso::bridge
