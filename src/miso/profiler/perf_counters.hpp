// Hardware and kernel event counters through perf_event_open: cycles, instructions,
// cache misses (when the kernel exposes a PMU) and software events (context
// switches, page faults, migrations). A counter that cannot be opened is reported
// as unavailable with the kernel's reason, never as zero.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace miso::profiler {

struct CounterValue {
  std::string name;  // "cycles", "instructions", "cache_misses", "context_switches", ...
  bool hardware = false;
  bool available = false;
  std::string reason;  // why unavailable
  std::uint64_t value = 0;
  bool user_only = false;  // kernel-mode events excluded (not permitted here)
};

// Counts for this process and the threads it creates after open (inherit): threads
// that are still running when read are counted once they exit.
class PerfCounters {
 public:
  PerfCounters();
  ~PerfCounters();
  PerfCounters(const PerfCounters&) = delete;
  PerfCounters& operator=(const PerfCounters&) = delete;

  std::vector<CounterValue> read() const;

 private:
  struct Slot {
    std::string name;
    bool hardware;
    int fd;
    std::string reason;
    bool user_only;
  };
  std::vector<Slot> slots_;
};

// later - earlier, per counter (unavailable stays unavailable).
std::vector<CounterValue> difference(const std::vector<CounterValue>& later, const std::vector<CounterValue>& earlier);

}  // namespace miso::profiler
