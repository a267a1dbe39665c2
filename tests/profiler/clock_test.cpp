#include "miso/profiler/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace miso::profiler {
namespace {

TEST(Clock, TicksAreMonotonicAndCalibrated) {
  init_clock();
  std::string source = clock_source();
  EXPECT_TRUE(source == "tsc" || source == "steady_clock");
  std::uint64_t a = now_ticks();
  std::uint64_t s0 = steady_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  std::uint64_t b = now_ticks();
  std::uint64_t s1 = steady_ns();
  ASSERT_GT(b, a);
  double npt = ns_per_tick();
  ASSERT_GT(npt, 0);
  double measured = static_cast<double>(b - a) * npt;
  double reference = static_cast<double>(s1 - s0);
  // The two clocks agree on a 30 ms interval to within 2%.
  EXPECT_NEAR(measured / reference, 1.0, 0.02);
}

}  // namespace
}  // namespace miso::profiler
