#include "miso/nexus/executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "miso/nexus/task_group.hpp"

namespace miso::nexus {
namespace {

TEST(Executor, RunsTasksOnItsWorkersAndCountsThem) {
  Executor ex(3);
  EXPECT_EQ(ex.concurrency(), 3u);
  EXPECT_EQ(ex.worker_count(), 2u);  // and the caller slot
  EXPECT_TRUE(ex.has_caller_slot());
  EXPECT_EQ(ex.current_worker(), -1);  // the test thread is not a worker
  std::atomic<int> on_slot{0};
  std::atomic<int> on_test_thread{0};
  const std::thread::id test_thread = std::this_thread::get_id();
  TaskGroup g(ex);
  for (int i = 0; i < 1000; ++i) {
    g.spawn([&] {
      int w = ex.current_worker();
      if (w >= 0 && w < 3) on_slot.fetch_add(1);
      // Only the caller slot (the last) runs tasks on the waiting test thread.
      if (std::this_thread::get_id() == test_thread) {
        EXPECT_EQ(w, 2);
        on_test_thread.fetch_add(1);
      }
    });
  }
  JobStatus s = g.wait();
  EXPECT_EQ(s.tasks_run, 1000u);
  EXPECT_EQ(on_slot.load(), 1000);     // every task ran in a slot, the caller's included
  EXPECT_EQ(ex.current_worker(), -1);  // the slot is given back after the wait
}

TEST(Executor, ASingleSlotExecutorHasOneWorkerAndNoCallerSlot) {
  Executor ex(1);
  EXPECT_EQ(ex.concurrency(), 1u);
  EXPECT_EQ(ex.worker_count(), 1u);
  EXPECT_FALSE(ex.has_caller_slot());
  std::atomic<int> on_test_thread{0};
  const std::thread::id test_thread = std::this_thread::get_id();
  TaskGroup g(ex);
  for (int i = 0; i < 100; ++i) {
    g.spawn([&] {
      if (std::this_thread::get_id() == test_thread) on_test_thread.fetch_add(1);
    });
  }
  EXPECT_EQ(g.wait().tasks_run, 100u);
  EXPECT_EQ(on_test_thread.load(), 0);  // the waiting thread slept; the worker ran them
}

TEST(Executor, OneOutsideThreadHoldsTheCallerSlotAtATime) {
  Executor ex(2);
  constexpr int kThreads = 4;
  std::atomic<int> in_slot{0};
  std::atomic<int> max_in_slot{0};
  std::atomic<long> sum{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kThreads; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        TaskGroup g(ex);
        for (int i = 0; i < 200; ++i) {
          g.spawn([&] {
            if (ex.current_worker() == 1) {  // the caller slot
              int now = in_slot.fetch_add(1) + 1;
              int seen = max_in_slot.load();
              while (now > seen && !max_in_slot.compare_exchange_weak(seen, now)) {
              }
              in_slot.fetch_sub(1);
            }
            sum.fetch_add(1, std::memory_order_relaxed);
          });
        }
        g.wait();
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(sum.load(), kThreads * 20 * 200);
  EXPECT_LE(max_in_slot.load(), 1);
}

TEST(Executor, LocalQueueEmptySeesTheCallingSlotsOwnQueue) {
  Executor ex(2);
  EXPECT_TRUE(ex.local_queue_empty());  // no slot: nothing of ours to steal
  TaskGroup g(ex);
  // Keep the one worker busy so that nothing we queue below is stolen.
  std::atomic<bool> started{false}, release{false};
  g.spawn([&] {
    started = true;
    while (!release.load()) std::this_thread::yield();
  });
  while (!started.load()) std::this_thread::yield();
  bool ran_own = false;
  g.run_and_wait([&] {
    EXPECT_EQ(ex.current_worker(), 1);  // in the caller slot
    EXPECT_TRUE(ex.local_queue_empty());
    g.spawn([&] { ran_own = true; });
    EXPECT_FALSE(ex.local_queue_empty());               // our own queue holds it
    EXPECT_TRUE(ex.local_queue_empty(Priority::High));  // at normal priority
    EXPECT_TRUE(ex.help_one(false));                    // ours to run
    EXPECT_TRUE(ran_own);
    EXPECT_TRUE(ex.local_queue_empty());
    release = true;
  });
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
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(ex.concurrency(), hw);
  EXPECT_EQ(ex.worker_count(), hw >= 2 ? hw - 1 : 1u);
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
  // The idle worker parks after a short search; give a loaded machine time.
  for (int i = 0; i < 1000 && ex.stats().parks == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
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
