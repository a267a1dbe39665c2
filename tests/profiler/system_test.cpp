#include "miso/profiler/system.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace miso::profiler {
namespace {

TEST(System, ResidentMemoryGrowsWhenPagesAreTouched) {
  std::uint64_t before = rss_bytes();
  ASSERT_GT(before, 0u);
  constexpr std::size_t kBytes = 64 << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);
  std::uint64_t after = rss_bytes();
  EXPECT_GE(after, before + kBytes / 2);
  EXPECT_GE(peak_rss_bytes(), after / 2);
  EXPECT_EQ(block[kBytes - 1], 1);
}

TEST(System, PeakRssResetsWherePermitted) {
  {
    auto block = std::make_unique<char[]>(32 << 20);
    std::memset(block.get(), 1, 32 << 20);
  }
  EXPECT_GE(peak_rss_bytes(), rss_bytes());
  if (!reset_peak_rss()) GTEST_SKIP() << "clear_refs is not writable here";
  // After a reset the peak starts again from what is resident now.
  EXPECT_LE(peak_rss_bytes(), rss_bytes() + (4 << 20));
}

TEST(System, ThreadCountFollowsThreadsStartedAndJoined) {
  const unsigned before = thread_count();
  ASSERT_GT(before, 0u);
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return release; });
    });
  EXPECT_EQ(thread_count(), before + 3);
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(thread_count(), before);
}

TEST(System, HeapAndCpuReadings) {
  HeapInfo heap = read_heap();
  if (heap.available) {
    EXPECT_GE(heap.held_bytes, heap.in_use_bytes);
    EXPECT_GE(heap.fragmentation(), 0.0);
    EXPECT_LE(heap.fragmentation(), 1.0);
  }
  HeapInfo none;
  EXPECT_EQ(none.fragmentation(), 0.0);
  HeapInfo half{true, 200, 150};
  EXPECT_DOUBLE_EQ(half.fragmentation(), 0.25);

  // CPU time may advance in scheduler ticks: spin until it does (bounded).
  std::uint64_t cpu0 = process_cpu_ns();
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  volatile double x = 0;
  while (process_cpu_ns() == cpu0 && std::chrono::steady_clock::now() < give_up) {
    for (int i = 0; i < 100'000; ++i) x = x + i * 0.5;
  }
  EXPECT_GT(process_cpu_ns(), cpu0);
}

TEST(System, MachineInfoDescribesThisMachine) {
  MachineInfo m = machine_info();
  EXPECT_GT(m.logical_cpus, 0u);
  EXPECT_GT(m.memory_bytes, 0u);
  EXPECT_FALSE(m.kernel.empty());
  EXPECT_FALSE(m.hostname.empty());
}

}  // namespace
}  // namespace miso::profiler
