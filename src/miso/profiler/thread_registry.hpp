// The threads the profiler knows: every thread that recorded a span or registered
// itself, with its name, Linux thread id, lifetime and span buffer. The collector
// and the sampler read it; nothing on the hot path does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "miso/profiler/span.hpp"

namespace miso::profiler {

// Names the calling thread in reports and traces ("nexus.worker.3"). Registers it.
void set_thread_name(std::string_view name);
// Registers the calling thread so its CPU time is sampled even before its first span.
void register_thread();

struct ThreadSpanEvent {
  const SpanSite* site;
  std::uint64_t start;  // ticks
  std::uint64_t end;
  std::uint32_t depth;
};

struct ThreadSnapshot {
  int tid = 0;
  std::string name;
  std::uint64_t start_tick = 0;  // registration
  std::uint64_t end_tick = 0;    // 0 while the thread runs
  std::uint64_t start_cpu_ns = 0;
  std::uint64_t end_cpu_ns = 0;
  std::vector<ThreadSpanEvent> events;  // in the order they ended
};

// Copies the events of every known thread that ended in [from_tick, to_tick].
std::vector<ThreadSnapshot> snapshot_threads(std::uint64_t from_tick, std::uint64_t to_tick);

struct ThreadClock {
  int tid;
  bool alive;
  int clock_id;  // the thread's CPU-time clock, for clock_gettime
};
std::vector<ThreadClock> thread_clocks();

// Drops the events the calling thread has recorded so far, keeping their memory
// for the events to come (for long-running loops such as benchmarks and servers;
// a report made later lacks the dropped events).
void discard_thread_events();

// Bytes held by span buffers (the profiler's own memory, outside every tag).
std::uint64_t buffer_bytes() noexcept;

int current_tid() noexcept;

}  // namespace miso::profiler
