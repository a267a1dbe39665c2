#include "miso/profiler/mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
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
  LockReading r = m.reading();
  EXPECT_EQ(r.name, "test.lock.plain");
  EXPECT_EQ(r.acquisitions, 11u);
  EXPECT_EQ(r.contended, 0u);
  EXPECT_EQ(r.wait_ticks, 0u);
}

TEST(Mutex, ForcedContentionRecordsWaitAndSpan) {
  Mutex m("test.lock.forced");
  std::uint64_t from = now_ticks();
  m.lock();  // held while the other thread tries
  int waiter_tid = 0;
  std::atomic<bool> about_to_lock{false};
  std::thread waiter([&] {
    waiter_tid = current_tid();
    EXPECT_FALSE(m.try_lock());
    about_to_lock = true;
    m.lock();
    m.unlock();
  });
  while (!about_to_lock) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the waiter blocks meanwhile
  m.unlock();
  waiter.join();
  std::uint64_t to = now_ticks();

  LockReading s = m.reading();
  EXPECT_EQ(s.contended, 1u);
  EXPECT_EQ(s.acquisitions, 2u);
  EXPECT_GT(s.wait_ticks, 0u);
  EXPECT_EQ(s.max_wait_ticks, s.wait_ticks);
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

TEST(Mutex, SameNameSumsLiveAndDestroyedMutexes) {
  {
    Mutex gone("test.lock.shared");
    for (int i = 0; i < 3; ++i) std::lock_guard lock(gone);
  }
  Mutex a("test.lock.shared"), b("test.lock.shared");
  { std::lock_guard lock(a); }
  { std::lock_guard lock(b); }
  EXPECT_EQ(read_lock("test.lock.shared").acquisitions, 5u);
  EXPECT_EQ(a.name(), "test.lock.shared");
}

TEST(Mutex, WorksWithConditionVariables) {
  Mutex a("test.lock.cv");
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
  EXPECT_GE(a.reading().acquisitions, 2u);
}

}  // namespace
}  // namespace miso::profiler
