// Fork–join on an Executor. A TaskGroup is a job: spawn tasks into it, wait for
// all of them (a waiting worker runs queued tasks meanwhile; a thread outside the
// pool takes the executor's caller slot and does the same, or sleeps while the
// workers run the job when the slot is taken or nothing is left to run). A job has a
// priority, an optional deadline after which its tasks that have not started are
// dropped, and an optional budget: the most workers it may occupy at once. The
// first exception a task throws cancels the rest and is rethrown by wait().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "miso/nexus/executor.hpp"

namespace miso::nexus {

namespace detail {
// Bumped (and waited on) when a job with a sleeping outside waiter finishes.
extern constinit std::atomic<std::uint32_t> g_group_done;
}  // namespace detail

struct JobOptions {
  Priority priority = Priority::Normal;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  unsigned max_workers = 0;  // 0: no budget
};

struct JobStatus {
  std::uint64_t tasks_run = 0;
  std::uint64_t tasks_dropped = 0;  // not run: cancelled, failed job or past the deadline
  bool cancelled = false;
  bool deadline_exceeded = false;
};

class TaskGroup {
 public:
  explicit TaskGroup(Executor& executor = Executor::global(), JobOptions options = {});
  // Cancels what has not started and waits for the rest; never throws.
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  template <typename F>
  void spawn(F&& f) {
    Task* t = allocate_task();
    t->emplace(std::forward<F>(f));
    spawn_task(t);
  }

  // Schedules a task prepared by the caller (a persistent one, see task.hpp).
  void spawn_task(Task* t) {
    t->group = this;
    t->priority = options_.priority;
    pending_.fetch_add(1, std::memory_order_relaxed);
    executor_.submit(t);
  }

  // Waits until every spawned task ran or was dropped; on a worker, helping.
  // Rethrows the first exception a task threw. The group can be reused after.
  JobStatus wait();
  // Runs f as one of the job's tasks on the calling thread, then waits. From
  // outside the pool f runs in the caller slot, so what it spawns lands in that
  // slot's own deque instead of the injection queue (a job with a worker budget
  // spawns f instead, so it counts against the budget).
  template <typename F>
  JobStatus run_and_wait(F&& f) {
    if (budget_ != nullptr) {
      spawn(std::forward<F>(f));
      return wait();
    }
    auto call = [](void* fn) { (*static_cast<std::remove_reference_t<F>*>(fn))(); };
    return wait_after(call, static_cast<void*>(std::addressof(f)));
  }
  // Tasks that have not started are dropped; running ones finish.
  void cancel() noexcept;
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }

  Executor& executor() noexcept { return executor_; }
  const JobOptions& options() const noexcept { return options_; }

 private:
  friend class Executor;
  bool should_drop() noexcept;
  void fail(std::exception_ptr e) noexcept;
  void wait_quietly() noexcept;
  JobStatus wait_after(void (*first)(void*), void* context);

  Executor& executor_;
  JobOptions options_;
  // Tasks spawned and not yet finished, plus kSleepingWaiter while a thread outside
  // the pool sleeps in wait(). The finishing task touches nothing of the group
  // after its decrement (the waiter may return and destroy it at once): it learns
  // of a sleeper from the value its decrement returned and wakes it through a
  // process-wide counter, so only then does a task pay for a system call.
  static constexpr std::uint64_t kSleepingWaiter = std::uint64_t{1} << 63;
  std::atomic<std::uint64_t> pending_{0};
  std::atomic<std::uint64_t> run_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> deadline_passed_{false};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;  // written once by the first failing task
  // Budget: tasks picked while the job already occupies max_workers wait here and
  // are run by the next of its tasks to finish. Only budgeted jobs have one, so a
  // plain group allocates nothing.
  struct Budget {
    profiler::Mutex mutex{"nexus.budget"};
    unsigned running = 0;
    std::deque<Task*> deferred;
  };
  std::unique_ptr<Budget> budget_;
};

}  // namespace miso::nexus
