// Private to json.cpp and binary.cpp: how a World is laid out in a file.
//
// Both formats store a branch as (name, parent, fork node) plus the nodes it
// appended itself, and list nodes in "file order": main's nodes, then each
// branch's own nodes, branches in creation order. Loading appends in that
// order, so a branch's parent and fork node always exist when it is forked.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "miso/echo/timeline.hpp"

namespace miso::echo::detail {

struct BranchLayout {
  BranchId id = 0;
  NodeId fork = kNoNode;        // the last shared node (kNoNode: main, or a fork with an empty prefix)
  std::size_t first_own = 0;    // position on the branch's timeline of its first own node
  std::size_t first_index = 0;  // file index of that node
  std::size_t own_count = 0;
};

struct Layout {
  std::vector<BranchLayout> branches;             // by BranchId
  std::vector<NodeId> order;                      // file index -> node id
  std::unordered_map<NodeId, std::size_t> index;  // node id -> file index
};

// Throws Error(InvalidArgument) naming the branch when a timeline holds
// another branch's nodes after its fork point (a merge), which neither format
// can express.
Layout layout_of(const World& world);

// The node's external name, or "" when it has none (node_name gives "#<id>").
std::string external_name(const World& world, NodeId id);

}  // namespace miso::echo::detail
