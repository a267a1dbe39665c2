#include "miso/profiler/clock.hpp"

#include <time.h>

#include <mutex>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace miso::profiler {

namespace detail {
constinit bool g_use_tsc = false;
}

namespace {

struct Calibration {
  std::mutex mutex;
  std::uint64_t tick0 = 0;
  std::uint64_t ns0 = 0;
  double ns_per_tick = 1.0;
  std::uint64_t calibrated_over_ns = 0;
};

Calibration& calibration() {
  static Calibration c;
  return c;
}

bool invariant_tsc() noexcept {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0x80000000, nullptr) < 0x80000007) return false;
  __cpuid(0x80000007, eax, ebx, ecx, edx);
  return (edx & (1u << 8)) != 0;  // "TscInvariant": constant rate, runs in all states
#else
  return false;
#endif
}

// Take the pair of readings close together so the pairing error stays small.
void paired_reading(std::uint64_t& tick, std::uint64_t& ns) noexcept {
  std::uint64_t best_gap = ~std::uint64_t{0};
  for (int i = 0; i < 5; ++i) {
    std::uint64_t a = steady_ns();
    std::uint64_t t = now_ticks();
    std::uint64_t b = steady_ns();
    if (b - a < best_gap) {
      best_gap = b - a;
      tick = t;
      ns = a + (b - a) / 2;
    }
  }
}

const bool g_clock_ready = (init_clock(), true);

}  // namespace

bool read_clock_ns(int clock_id, std::uint64_t& ns) noexcept {
  timespec ts{};
  if (clock_gettime(static_cast<clockid_t>(clock_id), &ts) != 0) return false;
  ns = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
  return true;
}

std::uint64_t steady_ns() noexcept {
  std::uint64_t ns = 0;
  read_clock_ns(CLOCK_MONOTONIC, ns);
  return ns;
}

std::uint64_t thread_cpu_ns() noexcept {
  std::uint64_t ns = 0;
  read_clock_ns(CLOCK_THREAD_CPUTIME_ID, ns);
  return ns;
}

void init_clock() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
    detail::g_use_tsc = invariant_tsc();
    Calibration& c = calibration();
    paired_reading(c.tick0, c.ns0);
  });
}

double ns_per_tick() {
  init_clock();
  if (!detail::g_use_tsc) return 1.0;
  Calibration& c = calibration();
  std::lock_guard lock(c.mutex);
  std::uint64_t tick = 0, ns = 0;
  paired_reading(tick, ns);
  while (ns - c.ns0 < 20'000'000) paired_reading(tick, ns);
  std::uint64_t span = ns - c.ns0;
  if (span > c.calibrated_over_ns) {  // a longer interval gives a better estimate
    c.ns_per_tick = static_cast<double>(span) / static_cast<double>(tick - c.tick0);
    c.calibrated_over_ns = span;
  }
  return c.ns_per_tick;
}

const char* clock_source() noexcept { return detail::g_use_tsc ? "tsc" : "steady_clock"; }

}  // namespace miso::profiler
