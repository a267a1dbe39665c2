// Counters and gauges: named numbers that components update and the sampler reads
// at every tick, so each becomes a series over time in the report. A counter only
// grows (tasks run, bytes sent); a gauge goes up and down (queue depth, bytes live).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace miso::profiler {

enum class MetricKind { Counter, Gauge };

class Metric {
 public:
  Metric(std::string name, MetricKind kind, std::string unit)
      : name_(std::move(name)), unit_(std::move(unit)), kind_(kind) {}

  void add(std::int64_t delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  // Gauges only (a counter that is set would no longer be monotonic).
  void set(std::int64_t value) noexcept { value_.store(value, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

  const std::string& name() const noexcept { return name_; }
  const std::string& unit() const noexcept { return unit_; }
  MetricKind kind() const noexcept { return kind_; }

 private:
  std::string name_;
  std::string unit_;
  MetricKind kind_;
  alignas(64) std::atomic<std::int64_t> value_{0};
};

// Finds or creates the metric; references stay valid for the life of the program.
// Throws Error(InvalidArgument) when the name exists with the other kind.
Metric& counter(std::string_view name, std::string_view unit = "");
Metric& gauge(std::string_view name, std::string_view unit = "");
std::vector<Metric*> all_metrics();

const char* to_string(MetricKind kind) noexcept;

}  // namespace miso::profiler

// MISO_PROFILE_COUNT("nexus.steals", 1): adds to a counter looked up once per site.
#define MISO_PROFILE_COUNT(name, delta)                                              \
  do {                                                                               \
    static ::miso::profiler::Metric& miso_metric_ = ::miso::profiler::counter(name); \
    miso_metric_.add(delta);                                                         \
  } while (0)

// MISO_PROFILE_GAUGE("nexus.queue_depth", v): sets a gauge looked up once per site.
#define MISO_PROFILE_GAUGE(name, value)                                            \
  do {                                                                             \
    static ::miso::profiler::Metric& miso_metric_ = ::miso::profiler::gauge(name); \
    miso_metric_.set(value);                                                       \
  } while (0)
