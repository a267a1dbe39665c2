// Observations from ECHO-PRIME timelines, and the probability of branches
// (docs/bridge.md).
//
// A Mapping says which node attributes are observations of which observed
// variable: each node of a branch that carries at least one mapped attribute
// is one step; its attribute values (texts, or numbers written as their
// shortest text) map to the variable's states through `values` (identity
// when empty); a mapped attribute the node lacks is "?" (not observed).
// JSON form:
//   {"mapping": [{"attribute": "carries", "variable": "Umbrella",
//                 "values": {"umbrella": "yes", "none": "no"}}]}
//
// Branch probabilities: for branches b of a world, P(b | observations) is
// proportional to prior(b) * P(observations on b), with P(observations on b)
// from filtering the branch's whole timeline and prior(b) the product of the
// probabilities of the nodes after the fork point (the node's `probability`
// field; 1 for main's own nodes), so alternatives that share a prefix differ
// only by what they add.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "miso/bridge/chain.hpp"
#include "miso/echo/timeline.hpp"

namespace miso::bridge {

struct AttributeMap {
  std::string attribute;
  std::string variable;
  std::vector<std::pair<std::string, std::string>> values;  // attribute value -> state
};
struct Mapping {
  std::vector<AttributeMap> maps;  // one per observed variable, in the model's observed() order
};
Mapping parse_mapping(std::string_view json, const std::string& source = "<json>");
Mapping load_mapping(const std::filesystem::path& path);

// The observation of each step of branch b: one state name (or "?") per entry
// of mapping.maps, for each node carrying a mapped attribute, and the node ids.
struct TimelineObservations {
  std::vector<std::vector<std::string>> steps;
  std::vector<echo::NodeId> nodes;
};
TimelineObservations observations_of(const echo::World& world, echo::BranchId b, const Mapping& mapping);

struct BranchBelief {
  echo::BranchId branch = 0;
  double log_likelihood = 0;  // ln P(observations on the branch)
  double log_prior = 0;       // ln prior(b)
  double posterior = 0;       // P(b | observations), summing to 1 over the branches given
};
// `compile` turns a branch's observations into likelihood rows for the chain
// (a Dbn's observe or an Hmm's likelihoods). Branches whose observations are
// impossible get posterior 0; if all are, Error(InvalidArgument).
using Compile = std::function<std::pair<Likelihoods, std::vector<std::uint32_t>>(
    const std::vector<std::vector<std::string>>& steps)>;
std::vector<BranchBelief> branch_posteriors(const echo::World& world, const std::vector<echo::BranchId>& branches,
                                            const Chain& chain, const Mapping& mapping, const Compile& compile);

}  // namespace miso::bridge
