#include "miso/profiler/mutex.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <thread>

#include "miso/profiler/thread_registry.hpp"

namespace miso::profiler {
namespace {

TEST(Mutex, UncontendedAcquisitionsAreCounted) {
  Mutex m("test.lock.plain");
  for (int i = 0; i < 10; ++i) {
    std::lock_guard lock(m);
  }
  EXPECT_TRUE(m.try_lock());
  m.unlock();
  EXPECT_EQ(m.stats().acquisitions.load(), 11u);
  EXPECT_EQ(m.stats().contended.load(), 0u);
  EXPECT_EQ(m.stats().wait_ticks.load(), 0u);
}

TEST(Mutex, ForcedContentionRecordsWaitAndSpan) {
  Mutex m("test.lock.forced");
  std::uint64_t from = now_ticks();
  m.lock();  // held while the other thread tries
  int waiter_tid = 0;
  std::thread waiter([&] {
    waiter_tid = current_tid();
    EXPECT_FALSE(m.try_lock());
    m.lock();
    m.unlock();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  m.unlock();
  waiter.join();
  std::uint64_t to = now_ticks();

  const LockStats& s = m.stats();
  EXPECT_EQ(s.contended.load(), 1u);
  EXPECT_EQ(s.acquisitions.load(), 2u);
  EXPECT_GT(s.wait_ticks.load(), 0u);
  EXPECT_EQ(s.max_wait_ticks.load(), s.wait_ticks.load());
  bool found = false;
  for (const LockReading& r : read_lock_stats()) {
    if (r.name == "test.lock.forced") {
      found = true;
      EXPECT_EQ(r.contended, 1u);
    }
  }
  EXPECT_TRUE(found);
  bool span = false;
  for (const ThreadSnapshot& t : snapshot_threads(from, to)) {
    if (t.tid != waiter_tid) continue;
    for (const ThreadSpanEvent& e : t.events) span = span || std::string(e.site->name) == "test.lock.forced.wait";
  }
  EXPECT_TRUE(span);
}

TEST(Mutex, SameNameSharesStatsAndWorksWithConditionVariables) {
  Mutex a("test.lock.shared"), b("test.lock.shared");
  EXPECT_EQ(&a.stats(), &b.stats());
  EXPECT_EQ(&lock_stats("test.lock.shared"), &a.stats());
  std::condition_variable_any cv;
  bool ready = false;
  std::thread t([&] {
    std::lock_guard lock(a);
    ready = true;
    cv.notify_one();
  });
  {
    std::unique_lock lock(a);
    cv.wait(lock, [&] { return ready; });
  }
  t.join();
  EXPECT_TRUE(ready);
}

}  // namespace
}  // namespace miso::profiler
