#include "miso/profiler/thread_registry.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "thread_snapshots.hpp"

namespace miso::profiler {
namespace {

using miso::testing::find_thread;

TEST(ThreadRegistry, ManyEventsSpanSeveralBlocks) {
  std::uint64_t from = now_ticks();
  const std::uint32_t n = 3 * detail::kBlockEvents + 17;
  for (std::uint32_t i = 0; i < n; ++i) {
    MISO_PROFILE_SCOPE("test.many");
  }
  std::uint64_t to = now_ticks();
  const ThreadSnapshot* me = nullptr;
  auto threads = snapshot_threads(from, to);
  me = find_thread(threads, current_tid());
  ASSERT_NE(me, nullptr);
  EXPECT_EQ(me->events.size(), n);
  EXPECT_GT(buffer_bytes(), 3 * sizeof(detail::Block));
}

TEST(ThreadRegistry, ThreadsHaveOwnBuffersAndNames) {
  std::uint64_t from = now_ticks();
  int worker_tid = 0;
  std::thread t([&] {
    set_thread_name("test.worker");
    worker_tid = current_tid();
    MISO_PROFILE_SCOPE("test.on_worker");
  });
  t.join();
  std::uint64_t to = now_ticks();
  auto threads = snapshot_threads(from, to);
  const ThreadSnapshot* w = find_thread(threads, worker_tid);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->name, "test.worker");
  ASSERT_EQ(w->events.size(), 1u);
  EXPECT_STREQ(w->events[0].site->name, "test.on_worker");
  EXPECT_NE(w->end_tick, 0u);  // marked as exited
  EXPECT_GE(w->end_tick, w->start_tick);
  bool listed = false;
  for (const ThreadClock& c : thread_clocks()) {
    if (c.tid == worker_tid) {
      listed = true;
      EXPECT_FALSE(c.alive);
    }
  }
  EXPECT_TRUE(listed);
}

TEST(ThreadRegistry, DiscardDropsEventsAndReusesTheirMemory) {
  std::uint64_t from = now_ticks();
  for (std::uint32_t i = 0; i < 2 * detail::kBlockEvents; ++i) {
    MISO_PROFILE_SCOPE("test.discarded");
  }
  std::uint64_t held = buffer_bytes();
  discard_thread_events();
  { MISO_PROFILE_SCOPE("test.kept"); }
  for (std::uint32_t i = 0; i + 1 < 2 * detail::kBlockEvents; ++i) {  // fills exactly two blocks
    MISO_PROFILE_SCOPE("test.again");
  }
  EXPECT_EQ(buffer_bytes(), held);  // the discarded blocks were reused, none allocated
  auto threads = snapshot_threads(from, now_ticks());
  const ThreadSnapshot* me = find_thread(threads, current_tid());
  ASSERT_NE(me, nullptr);
  ASSERT_EQ(me->events.size(), 2u * detail::kBlockEvents);
  EXPECT_STREQ(me->events[0].site->name, "test.kept");
  register_thread();  // already registered: no effect
  EXPECT_EQ(buffer_bytes(), held);
}

}  // namespace
}  // namespace miso::profiler
