#include "miso/nexus/task_group.hpp"

#include <algorithm>
#include <thread>

namespace miso::nexus {

namespace detail {
constinit std::atomic<std::uint32_t> g_group_done{0};
}  // namespace detail

namespace {

// A waiting thread helps; a helped task may wait and help in turn. Stealing
// unrelated tasks at every level would let that nesting (and the stack) grow
// without bound, so past this depth a waiter only runs its own newest tasks.
constexpr int kMaxStealingDepth = 256;
thread_local int t_wait_depth = 0;

void cpu_relax() noexcept {
  for (int i = 0; i < 16; ++i) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
}

struct Nesting {
  Nesting() noexcept { ++t_wait_depth; }
  ~Nesting() { --t_wait_depth; }
};

}  // namespace

TaskGroup::TaskGroup(Executor& executor, JobOptions options) : executor_(executor), options_(options) {
  if (options_.max_workers > 0) budget_ = std::make_unique<Budget>();
}

TaskGroup::~TaskGroup() {
  if (pending_.load(std::memory_order_acquire) != 0) {
    cancel();
    wait_quietly();
  }
}

bool TaskGroup::should_drop() noexcept {
  if (cancelled_.load(std::memory_order_relaxed)) return true;
  if (options_.deadline && std::chrono::steady_clock::now() > *options_.deadline) {
    deadline_passed_.store(true, std::memory_order_relaxed);
    return true;
  }
  return false;
}

void TaskGroup::fail(std::exception_ptr e) noexcept {
  cancelled_.store(true, std::memory_order_relaxed);
  if (!failed_.exchange(true, std::memory_order_acq_rel)) error_ = std::move(e);
}

void TaskGroup::cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }

void TaskGroup::wait_quietly() noexcept {
  try {
    (void)wait();
  } catch (...) {  // the destructor's wait: the caller never asked for the result
  }
}

JobStatus TaskGroup::wait() { return wait_after(nullptr, nullptr); }

JobStatus TaskGroup::wait_after(void (*first)(void*), void* context) {
  // A worker helps (its siblings may be waiting for the tasks it runs). A thread
  // from outside the pool takes the caller slot if it is free and works as a
  // worker until the job is done or nothing is left for it to do; otherwise (or
  // then) it sleeps until the job's last task wakes it.
  bool on_worker = executor_.current_worker() >= 0;
  Executor::Worker* previous = nullptr;
  bool in_caller_slot = !on_worker && executor_.enter_caller_slot(previous);
  if (first != nullptr) {
    if (should_drop()) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
    } else {
      try {
        first(context);
      } catch (...) {
        fail(std::current_exception());
      }
      run_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  int idle = 0;
  for (;;) {
    std::uint64_t left = pending_.load(std::memory_order_acquire);
    if (left == 0) break;
    bool helped = false;
    if (on_worker || in_caller_slot) {
      Nesting nesting;
      helped = executor_.help_one(t_wait_depth <= kMaxStealingDepth);
    }
    if (helped) {
      idle = 0;
      continue;
    }
    ++idle;
    if (idle < 64) {
      cpu_relax();  // work usually appears within microseconds: no system call yet
    } else if (idle < 96 || ((on_worker || in_caller_slot) && idle < 4096)) {
      // A slot holder keeps looking a while longer: the core is its to use, and
      // the job's last tasks (or new ones to steal) come soon.
      std::this_thread::yield();
    } else if (!on_worker) {
      // Nothing to run: the workers finish the job. Block until it is done.
      if (in_caller_slot) {
        executor_.leave_caller_slot(previous);
        in_caller_slot = false;
      }
      pending_.fetch_or(kSleepingWaiter, std::memory_order_seq_cst);
      for (;;) {
        std::uint32_t epoch = detail::g_group_done.load(std::memory_order_seq_cst);
        if ((pending_.load(std::memory_order_seq_cst) & ~kSleepingWaiter) == 0) break;
        detail::g_group_done.wait(epoch, std::memory_order_seq_cst);
      }
      pending_.fetch_and(~kSleepingWaiter, std::memory_order_relaxed);
    } else {
      // A worker must keep looking for tasks (its siblings may need it); after
      // a long fruitless search, slowly.
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  if (in_caller_slot) executor_.leave_caller_slot(previous);
  JobStatus status{run_.exchange(0, std::memory_order_relaxed), dropped_.exchange(0, std::memory_order_relaxed),
                   cancelled_.exchange(false, std::memory_order_relaxed),
                   deadline_passed_.exchange(false, std::memory_order_relaxed)};
  if (failed_.exchange(false, std::memory_order_acq_rel)) {
    std::exception_ptr e = std::move(error_);
    error_ = nullptr;
    std::rethrow_exception(e);
  }
  return status;
}

}  // namespace miso::nexus
