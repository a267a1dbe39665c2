// The profiler's clock. Spans read raw ticks (the invariant TSC on x86-64, else
// steady_clock nanoseconds) and convert to nanoseconds only when a report is made,
// so taking a timestamp costs one instruction on the hot path.
#pragma once

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace miso::profiler {

namespace detail {
extern constinit bool g_use_tsc;
}  // namespace detail

std::uint64_t steady_ns() noexcept;
// Reads a POSIX clock (CLOCK_MONOTONIC, a thread's CPU clock, ...) in nanoseconds;
// false when the clock cannot be read (a thread that has exited).
bool read_clock_ns(int clock_id, std::uint64_t& ns) noexcept;
// CPU time the calling thread has used.
std::uint64_t thread_cpu_ns() noexcept;

inline std::uint64_t now_ticks() noexcept {
#if defined(__x86_64__)
  if (detail::g_use_tsc) [[likely]]
    return __rdtsc();
#endif
  return steady_ns();
}

// Chooses the tick source once; called by everything that starts measuring.
void init_clock() noexcept;
// Nanoseconds per tick, calibrated against steady_clock over the longest interval
// seen so far (at least 20 ms: the first call may wait that long).
double ns_per_tick();
// "tsc" or "steady_clock".
const char* clock_source() noexcept;

}  // namespace miso::profiler
