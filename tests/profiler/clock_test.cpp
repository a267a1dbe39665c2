#include "miso/profiler/clock.hpp"

#include <gtest/gtest.h>

#include <time.h>

#include <chrono>
#include <string>
#include <thread>

namespace miso::profiler {
namespace {

// A tick reading and a steady_clock reading taken close together (retrying when the
// thread was interrupted between them, as happens on a loaded machine).
void paired(std::uint64_t& tick, std::uint64_t& ns) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::uint64_t a = steady_ns();
    tick = now_ticks();
    std::uint64_t b = steady_ns();
    ns = a + (b - a) / 2;
    if (b - a < 20'000) return;  // within 20 us
  }
}

TEST(Clock, TicksAreMonotonicAndCalibrated) {
  init_clock();
  std::string source = clock_source();
  EXPECT_TRUE(source == "tsc" || source == "steady_clock");
  std::uint64_t a = 0, s0 = 0, b = 0, s1 = 0;
  paired(a, s0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  paired(b, s1);
  ASSERT_GT(b, a);
  double npt = ns_per_tick();
  ASSERT_GT(npt, 0);
  double measured = static_cast<double>(b - a) * npt;
  double reference = static_cast<double>(s1 - s0);
  // The two clocks agree on a 100 ms interval to within 1%.
  EXPECT_NEAR(measured / reference, 1.0, 0.01);
}

TEST(Clock, ReadsPosixClocksAndThreadCpuTime) {
  std::uint64_t ns = 0;
  EXPECT_TRUE(read_clock_ns(CLOCK_MONOTONIC, ns));
  EXPECT_GT(ns, 0u);
  std::uint64_t untouched = 12345;
  EXPECT_FALSE(read_clock_ns(-1000, untouched));  // no such clock
  EXPECT_EQ(untouched, 12345u);
  std::uint64_t cpu0 = thread_cpu_ns();
  volatile double x = 0;
  while (thread_cpu_ns() == cpu0) {
    for (int i = 0; i < 10000; ++i) x = x + i;
  }
  EXPECT_GT(thread_cpu_ns(), cpu0);
}

}  // namespace
}  // namespace miso::profiler
