// NEXUS-OS: MISO's task scheduler. An Executor has a fixed number of slots (its
// concurrency), each with one lock-free work-stealing deque per priority level.
// All slots but one are worker threads; the last is the caller slot: a thread
// from outside the pool that waits on a job takes it and works as one of the
// workers until its job is done (as oneTBB's arena reserves a slot for its
// master), so a program's own thread never sits idle beside a full pool nor
// crowds it with one thread too many. Slots run their own newest task first,
// steal the oldest from others when idle, take work submitted from outside
// through a small injection queue, and park on a condition variable after a
// short spin instead of busy-waiting.
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
  // concurrency = 0: one slot per hardware thread. With concurrency n >= 2 there
  // are n - 1 worker threads and the caller slot; with 1, one worker thread.
  explicit Executor(unsigned concurrency = 0);
  ~Executor();  // lets queued tasks finish, then joins the workers
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // The process-wide executor the components share (hardware concurrency).
  static Executor& global();

  // Slots: how many threads at most run this executor's tasks at once.
  unsigned concurrency() const noexcept { return static_cast<unsigned>(workers_.size()); }
  // Worker threads the executor owns (concurrency() - 1 when there is a caller slot).
  unsigned worker_count() const noexcept { return thread_count_; }
  bool has_caller_slot() const noexcept { return thread_count_ < concurrency(); }
  // Slot of the calling thread (a worker, or the thread holding the caller slot), or -1.
  int current_worker() const noexcept;
  // Whether the calling slot's own queue (at `priority`) holds nothing a thief
  // could take; true on a thread without a slot. parallel_for splits on this.
  bool local_queue_empty(Priority priority = Priority::Normal) const noexcept;
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
  // The caller slot, for TaskGroup::wait on a thread outside the pool: enter
  // returns false when there is none or another thread holds it; `previous` is
  // what leave restores (the thread may be a worker of another executor).
  bool enter_caller_slot(Worker*& previous) noexcept;
  void leave_caller_slot(Worker* previous) noexcept;

  std::vector<std::unique_ptr<Worker>> workers_;  // the slots; the last is the caller slot if any
  unsigned thread_count_ = 0;
  std::atomic<bool> caller_slot_taken_{false};
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
