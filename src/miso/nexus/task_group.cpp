#include "miso/nexus/task_group.hpp"

#include <algorithm>
#include <thread>

#include "miso/profiler/span.hpp"

namespace miso::nexus {

TaskGroup::TaskGroup(Executor& executor, JobOptions options) : executor_(executor), options_(options) {
  if (options_.max_workers > 0) budget_mutex_.emplace("nexus.budget");
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

JobStatus TaskGroup::wait() {
  MISO_PROFILE_SCOPE("nexus.wait");
  const bool on_worker = executor_.current_worker() >= 0;
  int idle = 0;
  for (;;) {
    std::uint64_t left = pending_.load(std::memory_order_acquire);
    if (left == 0) break;
    if (executor_.help_one()) {
      idle = 0;
      continue;
    }
    ++idle;
    if (idle < 32) {
      std::this_thread::yield();
    } else if (!on_worker) {
      // Outside the pool nothing depends on us helping: block until done.
      pending_.wait(left, std::memory_order_acquire);
    } else {
      // A worker must keep looking for tasks (its siblings may need it), slowly.
      std::this_thread::sleep_for(std::chrono::microseconds(std::min(idle, 200)));
    }
  }
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
