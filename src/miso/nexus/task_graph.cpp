#include "miso/nexus/task_graph.hpp"

#include <algorithm>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"

namespace miso::nexus {

TaskGraph::Node TaskGraph::add(std::string name, std::function<void()> work) {
  nodes_.push_back({std::move(name), std::move(work), {}, 0});
  validated_ = false;
  return nodes_.size() - 1;
}

void TaskGraph::precede(Node before, Node after) {
  if (before >= nodes_.size() || after >= nodes_.size()) {
    throw Error(Error::Kind::InvalidArgument, "task graph: unknown task index " +
                                                  std::to_string(std::max(before, after)) + " (graph has " +
                                                  std::to_string(nodes_.size()) + " tasks)");
  }
  if (before == after) {
    throw Error(Error::Kind::InvalidArgument, "task graph: task '" + nodes_[before].name + "' cannot precede itself");
  }
  nodes_[before].successors.push_back(after);
  ++nodes_[after].predecessors;
  ++edge_count_;
  validated_ = false;
}

void TaskGraph::validate() {
  // Kahn's algorithm; what it cannot order lies on or behind a cycle.
  std::vector<std::uint32_t> indegree(nodes_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) indegree[i] = nodes_[i].predecessors;
  std::vector<Node> ready;
  for (Node i = 0; i < nodes_.size(); ++i) {
    if (indegree[i] == 0) ready.push_back(i);
  }
  std::size_t ordered = 0;
  while (!ready.empty()) {
    Node n = ready.back();
    ready.pop_back();
    ++ordered;
    for (Node s : nodes_[n].successors) {
      if (--indegree[s] == 0) ready.push_back(s);
    }
  }
  if (ordered == nodes_.size()) {
    validated_ = true;
    return;
  }
  // Every task left unordered has an unordered predecessor: walking predecessors
  // must come back to a task already seen, and the walk between is a cycle.
  std::vector<Node> predecessor(nodes_.size(), nodes_.size());
  for (Node i = 0; i < nodes_.size(); ++i) {
    if (indegree[i] == 0) continue;
    for (Node s : nodes_[i].successors) {
      if (indegree[s] != 0) predecessor[s] = i;
    }
  }
  Node n = 0;
  while (indegree[n] == 0) ++n;
  std::vector<int> seen_at(nodes_.size(), -1);
  std::vector<Node> walk;
  while (seen_at[n] < 0) {
    seen_at[n] = static_cast<int>(walk.size());
    walk.push_back(n);
    n = predecessor[n];
  }
  std::vector<Node> loop(walk.begin() + seen_at[n], walk.end());
  std::reverse(loop.begin(), loop.end());  // the walk went backwards
  std::string cycle;
  for (Node c : loop) cycle += "'" + nodes_[c].name + "' -> ";
  cycle += "'" + nodes_[loop.front()].name + "'";
  throw Error(Error::Kind::InvalidArgument, "task graph has a cycle: " + cycle);
}

void TaskGraph::schedule(TaskGroup& group, Node n) { group.spawn_task(&tasks_[n]); }

void TaskGraph::node_done(Node n) {
  for (Node s : nodes_[n].successors) {
    if (remaining_[s].fetch_sub(1, std::memory_order_acq_rel) == 1) schedule(*group_, s);
  }
}

JobStatus TaskGraph::run(Executor& executor, JobOptions options) {
  MISO_PROFILE_SCOPE("nexus.graph.run");
  if (!validated_) validate();
  if (remaining_size_ != nodes_.size()) {  // reused across runs: fresh memory costs page faults
    remaining_ = std::make_unique<std::atomic<std::uint32_t>[]>(nodes_.size());
    remaining_size_ = nodes_.size();
    tasks_ = std::vector<Task>(nodes_.size());
    for (Node i = 0; i < nodes_.size(); ++i) {
      make_persistent(tasks_[i], [this, i] {
        nodes_[i].work();
        node_done(i);
      });
    }
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    remaining_[i].store(nodes_[i].predecessors, std::memory_order_relaxed);
  TaskGroup group(executor, options);
  group_ = &group;
  for (Node i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].predecessors == 0) schedule(group, i);
  }
  JobStatus status = group.wait();
  group_ = nullptr;
  return status;
}

}  // namespace miso::nexus
