// The sampler: a background thread that, every period, reads every counter and
// gauge, the process's memory (RSS, heap, live bytes per memory tag), I/O and CPU
// totals, each known thread's CPU clock and the GPU monitor, and appends them to
// series over time. Per-thread CPU samples are what give spans their CPU time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "miso/profiler/metric.hpp"

namespace miso::profiler {

struct Series {
  std::string name;
  std::string unit;  // "bytes", "ns", "ratio", "pct", "" (a count)
  MetricKind kind = MetricKind::Gauge;
  std::vector<std::uint64_t> ticks;
  std::vector<double> values;
};

struct CpuSample {
  std::uint64_t tick;
  std::uint64_t cpu_ns;
};

class Sampler {
 public:
  explicit Sampler(std::chrono::microseconds period = std::chrono::milliseconds(5));
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  void start();
  void stop();  // takes a last sample, then joins
  // One sample now, from the calling thread (start and stop call it too).
  void sample_now();

  // Read after stop() (or between sample_now calls on a stopped sampler).
  const std::vector<Series>& series() const noexcept { return series_; }
  const std::map<int, std::vector<CpuSample>>& thread_cpu() const noexcept { return thread_cpu_; }
  std::uint64_t samples_taken() const noexcept { return samples_; }
  // CPU time the sampler thread itself used: the profiler's cost of sampling.
  std::uint64_t own_cpu_ns() const noexcept { return own_cpu_ns_; }
  std::chrono::microseconds period() const noexcept { return period_; }

 private:
  void loop();
  void append(const std::string& name, const std::string& unit, MetricKind kind, std::uint64_t tick, double value);

  std::chrono::microseconds period_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool running_ = false;
  std::vector<Series> series_;
  std::map<std::string, std::size_t> index_;
  std::map<int, std::vector<CpuSample>> thread_cpu_;
  std::uint64_t samples_ = 0;
  std::uint64_t own_cpu_ns_ = 0;
};

}  // namespace miso::profiler
