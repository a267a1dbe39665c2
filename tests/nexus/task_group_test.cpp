#include "miso/nexus/task_group.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace miso::nexus {
namespace {

long fib(TaskGroup& unused, int n, Executor& ex) {
  (void)unused;
  if (n < 2) return n;
  long a = 0, b = 0;
  TaskGroup g(ex);
  g.spawn([&] { a = fib(g, n - 1, ex); });
  b = fib(g, n - 2, ex);
  g.wait();
  return a + b;
}

TEST(TaskGroup, MillionsOfTasks) {
  Executor ex(2);
  std::atomic<long> sum{0};
  TaskGroup g(ex);
  for (int i = 0; i < 2'000'000; ++i) g.spawn([&sum, i] { sum.fetch_add(i % 7, std::memory_order_relaxed); });
  JobStatus s = g.wait();
  EXPECT_EQ(s.tasks_run, 2'000'000u);
  long expected = 0;
  for (int i = 0; i < 2'000'000; ++i) expected += i % 7;
  EXPECT_EQ(sum.load(), expected);
}

TEST(TaskGroup, NestedForkJoinComputesFib) {
  Executor ex(2);
  TaskGroup root(ex);
  EXPECT_EQ(fib(root, 22, ex), 17711);
}

TEST(TaskGroup, ExceptionIsRethrownOthersCancelledExecutorReusable) {
  Executor ex(2);
  TaskGroup g(ex);
  std::atomic<int> ran{0};
  g.spawn([] { throw std::runtime_error("task failed: bad block 7"); });
  for (int i = 0; i < 1000; ++i) {
    g.spawn([&] {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      ran.fetch_add(1);
    });
  }
  try {
    g.wait();
    FAIL() << "expected the task's exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "task failed: bad block 7");
  }
  EXPECT_LT(ran.load(), 1000);  // the rest of the job was cancelled
  // The same group and executor keep working.
  std::atomic<int> after{0};
  for (int i = 0; i < 100; ++i) g.spawn([&] { after.fetch_add(1); });
  JobStatus s = g.wait();
  EXPECT_EQ(after.load(), 100);
  EXPECT_EQ(s.tasks_run, 100u);
  EXPECT_FALSE(s.cancelled);
}

TEST(TaskGroup, RunAndWaitRunsOnTheCallerAndWaitsForWhatItSpawns) {
  Executor ex(2);
  TaskGroup g(ex);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> children{0};
  std::thread::id ran_on;
  JobStatus s = g.run_and_wait([&] {
    ran_on = std::this_thread::get_id();
    for (int i = 0; i < 500; ++i) g.spawn([&] { children.fetch_add(1); });
  });
  EXPECT_EQ(ran_on, caller);
  EXPECT_EQ(children.load(), 500);
  EXPECT_EQ(s.tasks_run, 501u);  // f counts as one of the job's tasks

  // An exception from f is rethrown like a task's, and cancels its children.
  EXPECT_THROW(g.run_and_wait([&] {
    for (int i = 0; i < 100; ++i) g.spawn([] {});
    throw std::runtime_error("f failed");
  }),
               std::runtime_error);

  // A cancelled job drops f.
  g.cancel();
  bool ran = false;
  s = g.run_and_wait([&] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_EQ(s.tasks_dropped, 1u);
  EXPECT_TRUE(s.cancelled);
}

TEST(TaskGroup, RunAndWaitOfABudgetedJobCountsAgainstTheBudget) {
  Executor ex(3);
  JobOptions o;
  o.max_workers = 1;
  TaskGroup g(ex, o);
  std::atomic<int> running{0}, most{0};
  auto body = [&] {
    int now = running.fetch_add(1) + 1;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    running.fetch_sub(1);
  };
  JobStatus s = g.run_and_wait([&] {
    for (int i = 0; i < 20; ++i) g.spawn(body);
    body();
  });
  EXPECT_EQ(s.tasks_run, 21u);
  EXPECT_EQ(most.load(), 1);
}

TEST(TaskGroup, CancelDropsTasksNotYetStarted) {
  Executor ex(1);
  TaskGroup g(ex);
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  g.spawn([&] {
    while (!release) std::this_thread::yield();
    ran.fetch_add(1);
  });
  for (int i = 0; i < 100; ++i) g.spawn([&] { ran.fetch_add(1); });
  // The single worker may be busy with the first task, or this thread may help;
  // either way, what has not started when we cancel is dropped.
  g.cancel();
  EXPECT_TRUE(g.cancelled());
  release = true;
  JobStatus s = g.wait();
  EXPECT_TRUE(s.cancelled);
  EXPECT_EQ(s.tasks_run + s.tasks_dropped, 101u);
  EXPECT_EQ(static_cast<std::uint64_t>(ran.load()), s.tasks_run);
  EXPECT_GT(s.tasks_dropped, 0u);
}

TEST(TaskGroup, DeadlineDropsPendingTasksAndIsReported) {
  Executor ex(1);
  JobOptions o;
  o.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  TaskGroup g(ex, o);
  std::atomic<int> ran{0};
  for (int i = 0; i < 200; ++i) {
    g.spawn([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ran.fetch_add(1);
    });
  }
  JobStatus s = g.wait();
  EXPECT_TRUE(s.deadline_exceeded);
  EXPECT_GT(s.tasks_dropped, 0u);
  EXPECT_EQ(s.tasks_run + s.tasks_dropped, 200u);
  EXPECT_EQ(static_cast<std::uint64_t>(ran.load()), s.tasks_run);
}

TEST(TaskGroup, BudgetLimitsConcurrentWorkers) {
  Executor ex(2);
  JobOptions o;
  o.max_workers = 1;
  TaskGroup g(ex, o);
  std::atomic<int> running{0}, max_running{0};
  for (int i = 0; i < 300; ++i) {
    g.spawn([&] {
      int now = running.fetch_add(1) + 1;
      int seen = max_running.load();
      while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      running.fetch_sub(1);
    });
  }
  JobStatus s = g.wait();
  EXPECT_EQ(s.tasks_run, 300u);
  EXPECT_EQ(max_running.load(), 1);
}

TEST(TaskGroup, HighPriorityRunsBeforeBackground) {
  Executor ex(1);
  std::atomic<bool> gate{false};
  TaskGroup blocker(ex);
  blocker.spawn([&] {
    while (!gate) std::this_thread::yield();
  });
  while (ex.queued() != 0) std::this_thread::yield();  // the worker holds the blocker
  std::mutex m;
  std::vector<char> order;
  JobOptions high, low;
  high.priority = Priority::High;
  low.priority = Priority::Background;
  TaskGroup bg(ex, low), hi(ex, high);
  for (int i = 0; i < 5; ++i)
    bg.spawn([&] {
      std::lock_guard l(m);
      order.push_back('b');
    });
  for (int i = 0; i < 5; ++i)
    hi.spawn([&] {
      std::lock_guard l(m);
      order.push_back('h');
    });
  gate = true;
  // Let the single worker run everything, so the order is the scheduler's alone.
  for (;;) {
    {
      std::lock_guard l(m);
      if (order.size() == 10) break;
    }
    std::this_thread::yield();
  }
  blocker.wait();
  hi.wait();
  bg.wait();
  ASSERT_EQ(order.size(), 10u);
  EXPECT_EQ(std::string(order.begin(), order.end()), "hhhhhbbbbb");
}

TEST(TaskGroup, DestructorCancelsAndWaits) {
  Executor ex(2);
  std::atomic<int> ran{0};
  {
    TaskGroup g(ex);
    for (int i = 0; i < 1000; ++i) g.spawn([&] { ran.fetch_add(1); });
  }  // no wait(): the destructor must not leave tasks pointing at a dead group
  EXPECT_LE(ran.load(), 1000);
  TaskGroup g(ex);
  EXPECT_EQ(&g.executor(), &ex);
  EXPECT_EQ(g.options().priority, Priority::Normal);
}

}  // namespace
}  // namespace miso::nexus
