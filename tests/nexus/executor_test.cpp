#include "miso/nexus/executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "miso/nexus/task_group.hpp"

namespace miso::nexus {
namespace {

TEST(Executor, RunsTasksOnItsWorkersAndCountsThem) {
  Executor ex(3);
  EXPECT_EQ(ex.worker_count(), 3u);
  EXPECT_EQ(ex.current_worker(), -1);  // the test thread is not a worker
  std::atomic<int> on_worker{0};
  TaskGroup g(ex);
  for (int i = 0; i < 1000; ++i) {
    g.spawn([&] {
      int w = ex.current_worker();
      if (w >= 0 && w < 3) on_worker.fetch_add(1);
    });
  }
  JobStatus s = g.wait();
  EXPECT_EQ(s.tasks_run, 1000u);
  // Tasks run by the helping test thread are not on a worker; the rest are.
  EXPECT_LE(on_worker.load(), 1000);
}

TEST(Executor, StatsAndHelpOne) {
  Executor ex(2);
  {
    TaskGroup g(ex);
    for (int i = 0; i < 5000; ++i) g.spawn([] {});
    g.wait();
  }
  EXPECT_FALSE(ex.help_one());  // nothing queued
  EXPECT_EQ(ex.queued(), 0u);
  // Let the workers flush their counters when they park.
  for (int i = 0; i < 200 && ex.stats().tasks_run == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ExecutorStats s = ex.stats();
  EXPECT_LE(s.tasks_run, 5000u);
  EXPECT_EQ(s.tasks_dropped, 0u);
}

TEST(Executor, DefaultsToHardwareConcurrencyAndHasAGlobalInstance) {
  Executor ex;
  EXPECT_EQ(ex.worker_count(), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_GE(Executor::global().worker_count(), 1u);
  EXPECT_EQ(&Executor::global(), &Executor::global());
}

TEST(Executor, IdleWorkersParkInsteadOfSpinning) {
  Executor ex(2);
  {
    TaskGroup g(ex);
    g.spawn([] {});
    g.wait();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(ex.stats().parks, 0u);
  // A parked executor still wakes for new work.
  TaskGroup g(ex);
  std::atomic<bool> ran{false};
  g.spawn([&] { ran = true; });
  g.wait();
  EXPECT_TRUE(ran.load());
}

}  // namespace
}  // namespace miso::nexus
