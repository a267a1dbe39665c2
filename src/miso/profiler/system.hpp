// Readings of the process and the machine the profiler takes at workload edges and
// at every sampler tick: resident memory, the allocator's heap, CPU time, and a
// description of the machine for the report.
#pragma once

#include <cstdint>
#include <string>

namespace miso::profiler {

struct HeapInfo {
  bool available = false;          // false under sanitizers or another allocator
  std::uint64_t held_bytes = 0;    // obtained from the OS by malloc (arena + mmapped)
  std::uint64_t in_use_bytes = 0;  // handed out to the program
  // (held - in use) / held: the share of the heap held but not used.
  double fragmentation() const noexcept {
    return held_bytes == 0 ? 0.0 : static_cast<double>(held_bytes - in_use_bytes) / static_cast<double>(held_bytes);
  }
};
HeapInfo read_heap();

std::uint64_t rss_bytes();       // resident set size now (0 when unreadable)
std::uint64_t peak_rss_bytes();  // VmHWM
unsigned thread_count();         // threads of this process now (0 when unreadable)
// Starts a new peak-RSS measurement (Linux clear_refs); false when not allowed.
bool reset_peak_rss();

// User + system CPU time of the whole process.
std::uint64_t process_cpu_ns();

struct MachineInfo {
  std::string hostname;
  std::string cpu_model;
  unsigned logical_cpus = 0;
  std::uint64_t memory_bytes = 0;
  std::string kernel;
};
MachineInfo machine_info();

}  // namespace miso::profiler
