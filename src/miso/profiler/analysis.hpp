// Turning raw events and samples into the numbers a report shows: per-span
// statistics with self time and CPU time, per-thread busy and idle time, and the
// growth exponent of a cost against input size.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "miso/profiler/sampler.hpp"
#include "miso/profiler/thread_registry.hpp"

namespace miso::profiler {

// CPU clocks of threads over time, for interpolation. Built from the sampler's
// per-thread samples plus each thread's registration and exit readings.
class CpuTimeline {
 public:
  CpuTimeline() = default;
  CpuTimeline(const std::map<int, std::vector<CpuSample>>& sampled, const std::vector<ThreadSnapshot>& threads);
  void add(int tid, CpuSample sample);
  // CPU time the thread used between two ticks: linear interpolation between the
  // samples around each end, clamped to [0, wall].
  double cpu_ns_between(int tid, std::uint64_t from, std::uint64_t to, double ns_per_tick) const;
  bool has(int tid) const { return samples_.count(tid) != 0; }

 private:
  double cpu_at(const std::vector<CpuSample>& s, std::uint64_t tick) const;
  std::map<int, std::vector<CpuSample>> samples_;
};

struct SpanStats {
  std::string name;
  std::string component;  // text before the first '.'
  std::uint64_t count = 0;
  double total_ns = 0;  // sum of wall durations
  double self_ns = 0;   // total minus time in directly nested spans
  double cpu_ns = 0;    // estimated from the CpuTimeline; 0 without one
  double min_ns = 0;
  double median_ns = 0;
  double p99_ns = 0;
  double max_ns = 0;
};

// Statistics per span name over the events that lie in [from, to] ticks, sorted
// by total time, largest first.
std::vector<SpanStats> aggregate_spans(const std::vector<ThreadSnapshot>& threads, double ns_per_tick,
                                       std::uint64_t from, std::uint64_t to, const CpuTimeline* cpu = nullptr);

struct TickWindow {
  std::uint64_t from;
  std::uint64_t to;
};
// The same over the events inside any of several windows (repeated runs of one
// workload): count and min/median/p99/max over all events; total, self and CPU
// time as means per window.
std::vector<SpanStats> aggregate_spans(const std::vector<ThreadSnapshot>& threads, double ns_per_tick,
                                       const std::vector<TickWindow>& windows, const CpuTimeline* cpu = nullptr);

std::string component_of(const std::string& span_name);

struct ThreadUsage {
  int tid = 0;
  std::string name;
  double lifetime_ns = 0;  // inside the window
  double busy_ns = 0;      // CPU time inside the window
  double idle_ns = 0;      // lifetime - busy
  std::uint64_t spans = 0;
};
std::vector<ThreadUsage> thread_usage(const std::vector<ThreadSnapshot>& threads, const CpuTimeline& cpu,
                                      double ns_per_tick, std::uint64_t from, std::uint64_t to);

// Nearest-rank percentile of unsorted values (q in [0, 1]); reorders `values`.
double percentile(std::vector<double>& values, double q);

// Least-squares slope of log(y) against log(x): cost ~ size^exponent. NaN when
// fewer than two points have x, y > 0 and distinct x.
double growth_exponent(const std::vector<double>& x, const std::vector<double>& y);

// Relative spread (max - min) / median: how much repeated measurements disagree.
// 0 for fewer than two values or a zero median.
double relative_spread(std::vector<double> values);

// Least-squares slope of y against x (units of y per unit of x); 0 for < 2 points.
double linear_slope(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace miso::profiler
