// Acting on beliefs: the expected utility of a decision on each branch of a
// timeline, and ECHO-PRIME's paradox resolutions ranked by belief
// (docs/bridge.md).
//
// Decisions: an influence diagram (Q-Logik decision.hpp) whose chance
// variables include the model's hidden variables by name (for an HMM, one
// chance variable named by `hidden_name` whose states are the HMM's states).
// For each branch, the belief in the hidden state at the branch's last step
// (filtering over its observations) replaces those variables' CPTs as their
// (joint, then marginal) prior; the diagram is then solved: the branch's
// maximum expected utility and policy.
//
// Resolutions: ECHO-PRIME's fork proposals for a branch with paradoxes give
// one alternative per node left out; each alternative is a branch of a copy of
// the world (echo::apply), and their posterior probabilities given the
// observations (branch_posteriors over the alternatives only) rank them.
#pragma once

#include <string>
#include <vector>

#include "miso/bridge/chain.hpp"
#include "miso/bridge/timeline.hpp"
#include "miso/echo/paradox.hpp"
#include "miso/echo/timeline.hpp"
#include "miso/qlogik/decision.hpp"

namespace miso::bridge {

struct BranchDecision {
  echo::BranchId branch = 0;
  std::vector<double> belief;   // P(hidden state | the branch's observations) at its last step (chain states)
  double expected_utility = 0;  // the diagram's maximum expected utility with that belief
  std::vector<qlogik::DecisionRule> policy;
};

// `hidden`: for each chain state, the hidden variables' states by name
// ({"Rain": "yes"} for the state "Rain=yes"; an HMM's single variable
// `name` -> the state's name). Error(InvalidArgument) when the diagram lacks a
// hidden variable or its states differ.
using HiddenStates = std::vector<std::vector<std::pair<std::string, std::string>>>;
std::vector<BranchDecision> branch_decisions(const echo::World& world, const std::vector<echo::BranchId>& branches,
                                             const Chain& chain, const HiddenStates& hidden, const Mapping& mapping,
                                             const Compile& compile, const qlogik::InfluenceDiagram& diagram);

// The hidden states of an HMM's chain (one variable named `name`) and of a
// DBN's ("A=a,B=b" names split into pairs).
HiddenStates hmm_hidden_states(const Chain& chain, const std::string& name);
HiddenStates dbn_hidden_states(const Chain& chain);

struct RankedAlternative {
  std::string description;  // the fork proposal's description
  echo::NodeId left_out = echo::kNoNode;
  std::string left_out_name;
  double posterior = 0;  // among the alternatives of that proposal
  double log_likelihood = 0;
};
struct RankedResolution {
  echo::Paradox::Kind kind = echo::Paradox::Kind::Contradiction;
  std::string paradox;                          // the paradox's message
  std::vector<RankedAlternative> alternatives;  // most probable first
};
// For each fork proposal of branch b (echo::propose), its alternatives ranked.
std::vector<RankedResolution> rank_resolutions(const echo::World& world, echo::BranchId b, const Chain& chain,
                                               const Mapping& mapping, const Compile& compile);

}  // namespace miso::bridge
