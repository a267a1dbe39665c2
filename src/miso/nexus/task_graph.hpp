// Task graphs: named tasks with dependencies, checked for cycles before they run,
// run on an Executor as often as wanted (the graph keeps its structure; only the
// per-run counters are reset).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "miso/nexus/task_group.hpp"

namespace miso::nexus {

class TaskGraph {
 public:
  using Node = std::size_t;

  TaskGraph() = default;
  // A moved graph rebuilds its per-node tasks on the next run (they point at it).
  TaskGraph(TaskGraph&& other) noexcept
      : nodes_(std::move(other.nodes_)), edge_count_(other.edge_count_), validated_(other.validated_) {}
  TaskGraph& operator=(TaskGraph&& other) noexcept {
    nodes_ = std::move(other.nodes_);
    edge_count_ = other.edge_count_;
    validated_ = other.validated_;
    remaining_size_ = 0;
    return *this;
  }
  TaskGraph(const TaskGraph&) = delete;
  TaskGraph& operator=(const TaskGraph&) = delete;

  Node add(std::string name, std::function<void()> work);
  // `before` must finish before `after` starts. Throws Error(InvalidArgument) for
  // an unknown node or a task that would precede itself.
  void precede(Node before, Node after);

  // Throws Error(InvalidArgument) naming the tasks of a cycle ("a -> b -> a").
  // run() calls it whenever the graph changed since the last check.
  void validate();

  // Runs every task once, respecting the dependencies; waits; rethrows the first
  // exception (the tasks after a failed one do not run).
  JobStatus run(Executor& executor = Executor::global(), JobOptions options = {});

  std::size_t size() const noexcept { return nodes_.size(); }
  std::size_t edges() const noexcept { return edge_count_; }
  const std::string& name(Node n) const { return nodes_.at(n).name; }

 private:
  struct NodeData {
    std::string name;
    std::function<void()> work;
    std::vector<Node> successors;
    std::uint32_t predecessors = 0;
  };
  void schedule(TaskGroup& group, Node n);
  void node_done(Node n);

  std::vector<NodeData> nodes_;
  std::size_t edge_count_ = 0;
  bool validated_ = true;
  std::unique_ptr<std::atomic<std::uint32_t>[]> remaining_;  // per run, reset each time
  std::size_t remaining_size_ = 0;
  // One task per node, made once and reused by every run: a run allocates nothing.
  std::vector<Task> tasks_;
  TaskGroup* group_ = nullptr;  // the running job
};

}  // namespace miso::nexus
