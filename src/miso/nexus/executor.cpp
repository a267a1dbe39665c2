#include "miso/nexus/executor.hpp"

#include <algorithm>
#include <chrono>

#include "miso/nexus/task_group.hpp"
#include "miso/profiler/thread_registry.hpp"

namespace miso::nexus {

namespace {

constexpr int kSpinRounds = 64;             // searches before a worker parks
constexpr std::uint64_t kFlushEvery = 256;  // tasks between counter flushes

struct Xorshift {
  std::uint32_t state;
  std::uint32_t next() noexcept {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
};

}  // namespace

struct Executor::Worker {
  Executor* owner = nullptr;
  unsigned index = 0;
  WorkStealingDeque<Task*> deques[kPriorityLevels];
  std::thread thread;
  Xorshift rng{0};
  unsigned last_victim = 0;
  // Counted locally, flushed to the shared counters every kFlushEvery tasks.
  std::uint64_t run = 0, steals = 0, parks = 0;
  std::uint64_t unflushed_run = 0, unflushed_steals = 0;
  std::atomic<std::uint64_t> total_run{0}, total_steals{0}, total_parks{0};
};

namespace {
thread_local Executor::Worker* t_worker = nullptr;
}

Executor::Executor(unsigned concurrency)
    : tasks_metric_(profiler::counter("nexus.tasks_run")),
      steals_metric_(profiler::counter("nexus.steals")),
      depth_gauge_(profiler::gauge("nexus.queue_depth")) {
  if (concurrency == 0) concurrency = std::max(1u, std::thread::hardware_concurrency());
  thread_count_ = concurrency >= 2 ? concurrency - 1 : 1;
  workers_.reserve(concurrency);
  for (unsigned i = 0; i < concurrency; ++i) {
    auto w = std::make_unique<Worker>();
    w->owner = this;
    w->index = i;
    w->rng.state = 0x9E3779B9u * (i + 1);
    workers_.push_back(std::move(w));
  }
  for (unsigned i = 0; i < thread_count_; ++i) {
    Worker* raw = workers_[i].get();
    raw->thread = std::thread([this, raw] { worker_loop(*raw); });
  }
}

Executor::~Executor() {
  stopping_.store(true, std::memory_order_seq_cst);
  {
    std::lock_guard lock(park_mutex_);
    wake_epoch_.fetch_add(1, std::memory_order_seq_cst);
  }
  park_cv_.notify_all();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

Executor& Executor::global() {
  static Executor executor;
  return executor;
}

int Executor::current_worker() const noexcept {
  Worker* w = t_worker;
  return w != nullptr && w->owner == this ? static_cast<int>(w->index) : -1;
}

bool Executor::local_queue_empty(Priority priority) const noexcept {
  Worker* w = t_worker;
  return w == nullptr || w->owner != this || w->deques[static_cast<int>(priority)].empty();
}

ExecutorStats Executor::stats() const {
  ExecutorStats s;
  for (const auto& w : workers_) {
    s.tasks_run += w->total_run.load(std::memory_order_relaxed);
    s.steals += w->total_steals.load(std::memory_order_relaxed);
    s.parks += w->total_parks.load(std::memory_order_relaxed);
  }
  s.tasks_dropped = dropped_.load(std::memory_order_relaxed);
  return s;
}

std::size_t Executor::queued() const noexcept {
  std::size_t n = injected_count_.load(std::memory_order_relaxed);
  for (const auto& w : workers_) {
    for (const auto& d : w->deques) n += d.size();
  }
  return n;
}

void Executor::submit(Task* task) {
  Worker* w = t_worker;
  int p = static_cast<int>(task->priority);
  if (task->priority != Priority::Normal) queued_at_[p].fetch_add(1, std::memory_order_relaxed);
  if (w != nullptr && w->owner == this) {
    w->deques[p].push(task);
  } else {
    std::lock_guard lock(inject_mutex_);
    injected_[p].push_back(task);
    injected_count_.fetch_add(1, std::memory_order_relaxed);
  }
  // Dekker with park(): either a parking worker sees this task in its last search,
  // or we see it counted among the sleepers and wake it. ThreadSanitizer does not
  // model fences; its build orders through a read-modify-write of the counter.
#if defined(MISO_TSAN)
  int sleeping = sleepers_.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
  int sleeping = sleepers_.load(std::memory_order_relaxed);
#endif
  if (sleeping > 0) wake_one();
}

void Executor::wake_one() {
  {
    std::lock_guard lock(park_mutex_);
    wake_epoch_.fetch_add(1, std::memory_order_relaxed);
  }
  park_cv_.notify_one();
}

Task* Executor::pop_injected(int priority) {
  if (injected_count_.load(std::memory_order_relaxed) == 0) return nullptr;
  std::lock_guard lock(inject_mutex_);
  if (injected_[priority].empty()) return nullptr;
  Task* t = injected_[priority].front();
  injected_[priority].pop_front();
  injected_count_.fetch_sub(1, std::memory_order_relaxed);
  return t;
}

Task* Executor::steal_from_others(Worker* self, int priority) {
  const unsigned n = concurrency();
  if (n == 0) return nullptr;
  // Start with the last victim that had work, then go round from a random one.
  unsigned start = self != nullptr ? self->last_victim : 0;
  if (self != nullptr && start == self->index) start = self->rng.next() % n;
  for (unsigned k = 0; k < n; ++k) {
    unsigned v = (start + k) % n;
    if (self != nullptr && v == self->index) continue;
    if (auto t = workers_[v]->deques[priority].steal()) {
      if (self != nullptr) {
        self->last_victim = v;
        ++self->steals;
        ++self->unflushed_steals;
      }
      return *t;
    }
  }
  return nullptr;
}

Task* Executor::take(Task* task) {
  if (task != nullptr && task->priority != Priority::Normal) {
    queued_at_[static_cast<int>(task->priority)].fetch_sub(1, std::memory_order_relaxed);
  }
  return task;
}

Task* Executor::find_task(Worker* self) {
  for (int p = 0; p < kPriorityLevels; ++p) {
    if (self != nullptr) {
      if (auto t = self->deques[p].pop()) return take(*t);
    }
    // Normal work is everywhere; the other levels are probed only when queued.
    if (p != static_cast<int>(Priority::Normal) && queued_at_[p].load(std::memory_order_relaxed) <= 0) continue;
    if (Task* t = steal_from_others(self, p)) return take(t);
    if (Task* t = pop_injected(p)) return take(t);
  }
  return nullptr;
}

bool Executor::help_one(bool may_steal) {
  Worker* w = t_worker != nullptr && t_worker->owner == this ? t_worker : nullptr;
  Task* t = nullptr;
  if (may_steal) {
    t = find_task(w);
  } else if (w != nullptr) {
    for (int p = 0; p < kPriorityLevels && t == nullptr; ++p) {
      if (auto own = w->deques[p].pop()) t = take(*own);
    }
  }
  if (t == nullptr) return false;
  execute(t, w);
  return true;
}

void Executor::execute(Task* task, Worker* self) {
  // `has_slot`: the task already holds one of its budgeted job's worker slots
  // (handed over by the job's previous task).
  bool has_slot = false;
  while (task != nullptr) {
    TaskGroup* g = task->group;
    TaskGroup::Budget* budget = g->budget_.get();
    if (budget != nullptr && !has_slot) {
      std::lock_guard lock(budget->mutex);
      if (budget->running >= g->options_.max_workers) {
        budget->deferred.push_back(task);  // run later by the job's next finishing task
        return;
      }
      ++budget->running;
    }
    if (g->should_drop()) {
      task->destroy(*task);
      g->dropped_.fetch_add(1, std::memory_order_relaxed);
      dropped_.fetch_add(1, std::memory_order_relaxed);
    } else {
      try {
        task->invoke(*task);
      } catch (...) {
        g->fail(std::current_exception());
      }
      g->run_.fetch_add(1, std::memory_order_relaxed);
      if (self != nullptr) {
        ++self->run;
        if (++self->unflushed_run >= kFlushEvery) flush_counters(*self);
      }
    }
    Task* next = nullptr;
    if (budget != nullptr) {  // hand our slot to a deferred task of the job, or give it back
      std::lock_guard lock(budget->mutex);
      if (!budget->deferred.empty()) {
        next = budget->deferred.front();
        budget->deferred.pop_front();
      } else {
        --budget->running;
      }
    }
    finish(task, self);
    task = next;
    has_slot = true;
  }
}

void Executor::finish(Task* task, Worker*) {
  TaskGroup* g = task->group;
  if (task->recycle) free_task(task);
  std::uint64_t before = g->pending_.fetch_sub(1, std::memory_order_seq_cst);
  // From here on `g` may be gone: a waiter that sees the count reach zero returns.
  if (before == (TaskGroup::kSleepingWaiter | 1)) {
    detail::g_group_done.fetch_add(1, std::memory_order_seq_cst);
    detail::g_group_done.notify_all();
  }
}

void Executor::flush_counters(Worker& self) {
  tasks_metric_.add(static_cast<std::int64_t>(self.unflushed_run));
  steals_metric_.add(static_cast<std::int64_t>(self.unflushed_steals));
  self.total_run.store(self.run, std::memory_order_relaxed);
  self.total_steals.store(self.steals, std::memory_order_relaxed);
  self.total_parks.store(self.parks, std::memory_order_relaxed);
  self.unflushed_run = 0;
  self.unflushed_steals = 0;
  depth_gauge_.set(static_cast<std::int64_t>(queued()));
}

bool Executor::enter_caller_slot(Worker*& previous) noexcept {
  if (!has_caller_slot() || caller_slot_taken_.load(std::memory_order_relaxed)) return false;
  if (caller_slot_taken_.exchange(true, std::memory_order_acquire)) return false;
  previous = t_worker;
  t_worker = workers_.back().get();
  return true;
}

void Executor::leave_caller_slot(Worker* previous) noexcept {
  // Tasks left in the slot's deques (spawned by other jobs' tasks it ran) stay
  // there for the workers to steal; the next holder owns them.
  flush_counters(*workers_.back());
  t_worker = previous;
  caller_slot_taken_.store(false, std::memory_order_release);
}

void Executor::park(Worker& self) {
  flush_counters(self);
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  std::uint64_t epoch = wake_epoch_.load(std::memory_order_seq_cst);
  Task* t = find_task(&self);  // the last search, after announcing ourselves
  if (t != nullptr) {
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    execute(t, &self);
    return;
  }
  self.total_parks.store(++self.parks, std::memory_order_relaxed);
  depth_gauge_.set(static_cast<std::int64_t>(queued()));  // what is left as we go idle
  {
    std::unique_lock lock(park_mutex_);
    park_cv_.wait(lock, [&] {
      return wake_epoch_.load(std::memory_order_relaxed) != epoch || stopping_.load(std::memory_order_relaxed);
    });
  }
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
}

void Executor::worker_loop(Worker& self) {
  t_worker = &self;
  profiler::set_thread_name("nexus.worker." + std::to_string(self.index));
  for (;;) {
    Task* t = nullptr;
    for (int round = 0; round < kSpinRounds && t == nullptr; ++round) {
      t = find_task(&self);
      if (t == nullptr && round == 0 && self.unflushed_run != 0) flush_counters(self);  // going idle
      if (t == nullptr && round > 8) std::this_thread::yield();
    }
    if (t != nullptr) {
      execute(t, &self);
      continue;
    }
    if (stopping_.load(std::memory_order_acquire) && queued() == 0) break;
    park(self);
  }
  flush_counters(self);
  t_worker = nullptr;
}

}  // namespace miso::nexus
