// Dynamic Bayesian networks in two-slice form (2-TBN) over Q-Logik variables,
// compiled to the Chain of chain.hpp (docs/bridge.md).
//
// A Dbn is two Q-Logik networks over the same slice variables:
//  - `prior`: the first slice, P(X_1) (its own CPTs, within the slice);
//  - `transition`: the slice variables plus, for each variable V of the
//    previous slice it needs, a copy named "V@prev" (a root: its CPT is
//    ignored). Every slice variable's CPT there is P(V_t | parents), the
//    parents being "@prev" copies and/or slice variables of the same slice.
// Some slice variables are observed (`observed`); the others are hidden. An
// observed variable's parents must be hidden variables of its own slice, and
// its CPT must be the same in both networks (the emission model). The
// joint states of the hidden variables (their product, at most 2^16) are the
// chain's states, named "A=a,B=b" in the hidden variables' order, the first
// varying slowest. An observation is one state (or "?": not observed) per
// observed variable.
//
// File format (JSON; the networks are Q-Logik BIF or XMLBIF files, paths
// relative to the JSON file, or BIF text inline):
//   {"dbn": {"prior": "umbrella_prior.bif", "transition": "umbrella_step.bif",
//            "observed": ["Umbrella"]}}
// An HMM (hmm.hpp) is the special case of one hidden and one observed variable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "miso/bridge/chain.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::bridge {

class Dbn {
 public:
  // Checks the structure above; Error(InvalidArgument) naming the variable
  // and network at fault (a parent that is neither "@prev" nor in the slice, a
  // slice variable missing from one network, states that differ between the
  // networks, an observed variable with a non-hidden parent, emission CPTs
  // that differ, a joint hidden space over 2^16 states).
  Dbn(qlogik::Network prior, qlogik::Network transition, std::vector<std::string> observed);

  const qlogik::Network& prior() const noexcept { return prior_; }
  const qlogik::Network& transition() const noexcept { return transition_; }
  const std::vector<std::string>& hidden() const noexcept { return hidden_; }      // slice order
  const std::vector<std::string>& observed() const noexcept { return observed_; }  // as given

  // The chain over the joint hidden states: initial = the prior's marginal,
  // transition[s][s'] = product of the hidden variables' CPTs.
  Chain chain() const;
  // One likelihood row per distinct observation in `observations` (each a
  // state name or "?" per observed variable, in observed() order), and the
  // row index of each step. Error naming the step and variable for an unknown
  // state or a wrong count.
  struct Observed {
    Likelihoods likelihoods;
    std::vector<std::uint32_t> steps;
  };
  Observed observe(const std::vector<std::vector<std::string>>& observations) const;

  // The network of T slices unrolled (variables "V#1".."V#T"), for checking
  // against exact inference in Q-Logik.
  qlogik::Network unroll(std::size_t slices) const;

 private:
  qlogik::Network prior_, transition_;
  std::vector<std::string> hidden_, observed_;
};

// {"dbn": {...}} as above; Error(Format) with file:line:column for malformed
// JSON, the networks' own errors for malformed BIF/XMLBIF.
Dbn load_dbn(const std::filesystem::path& path);

// "a,b;c,d;?,e" -> one list per step (';' between steps, ',' between observed
// variables). For a single observed variable, "a,b,c" (no ';') means three steps.
std::vector<std::vector<std::string>> split_steps(std::string_view text, std::size_t observed_variables);

}  // namespace miso::bridge
