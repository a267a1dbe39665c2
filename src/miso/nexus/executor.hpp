// NEXUS-OS: MISO's task scheduler. An Executor owns a fixed set of worker threads,
// each with one lock-free work-stealing deque per priority level. Workers run
// their own newest task first, steal the oldest from others when idle, take work
// submitted from outside through a small injection queue, and park on a condition
// variable after a short spin instead of busy-waiting.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "miso/nexus/task.hpp"
#include "miso/nexus/work_stealing_deque.hpp"
#include "miso/profiler/metric.hpp"
#include "miso/profiler/mutex.hpp"

namespace miso::nexus {

struct ExecutorStats {
  std::uint64_t tasks_run = 0;
  std::uint64_t steals = 0;
  std::uint64_t parks = 0;
  std::uint64_t tasks_dropped = 0;  // cancelled or past their deadline
};

class Executor {
 public:
  // workers = 0: one per hardware thread.
  explicit Executor(unsigned workers = 0);
  ~Executor();  // lets queued tasks finish, then joins the workers
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // The process-wide executor the components share (hardware concurrency workers).
  static Executor& global();

  unsigned worker_count() const noexcept { return static_cast<unsigned>(workers_.size()); }
  // Index of the calling thread among this executor's workers, or -1.
  int current_worker() const noexcept;
  ExecutorStats stats() const;
  std::size_t queued() const noexcept;  // approximate

  // Schedules a prepared task (TaskGroup does this; most code never calls it).
  void submit(Task* task);
  // Runs one queued task on the calling thread if there is one (helping). Returns
  // whether it ran or dropped a task. Without `may_steal` only the calling
  // worker's own newest tasks are taken, which keeps nested helping shallow.
  bool help_one(bool may_steal = true);

  struct Worker;  // defined in executor.cpp

 private:
  friend class TaskGroup;

  void worker_loop(Worker& self);
  Task* find_task(Worker* self);
  Task* take(Task* task);
  Task* steal_from_others(Worker* self, int priority);
  Task* pop_injected(int priority);
  void execute(Task* task, Worker* self);
  void finish(Task* task, Worker* self);
  void wake_one();
  void park(Worker& self);
  void flush_counters(Worker& self);

  std::vector<std::unique_ptr<Worker>> workers_;
  mutable profiler::Mutex inject_mutex_{"nexus.inject"};
  std::deque<Task*> injected_[kPriorityLevels];
  std::atomic<std::size_t> injected_count_{0};

  profiler::Mutex park_mutex_{"nexus.park"};
  std::condition_variable_any park_cv_;
  std::atomic<int> sleepers_{0};
  std::atomic<std::uint64_t> wake_epoch_{0};
  std::atomic<bool> stopping_{false};

  // Queued tasks of the rare priorities, so a search for work probes other workers'
  // high and background deques only when there can be something in them.
  std::atomic<std::int64_t> queued_at_[kPriorityLevels] = {};
  std::atomic<std::uint64_t> dropped_{0};
  profiler::Metric& tasks_metric_;
  profiler::Metric& steals_metric_;
  profiler::Metric& depth_gauge_;
};

}  // namespace miso::nexus
