#include "miso/profiler/metric.hpp"

#include <deque>
#include <mutex>

#include "miso/core/error.hpp"
#include "miso/core/memory.hpp"

namespace miso::profiler {

namespace {

struct Metrics {
  std::mutex mutex;
  std::deque<Metric> items;  // deque: references stay valid as it grows
};

Metrics& metrics() {
  static Metrics* m = new Metrics;  // leaked: metrics are used until exit
  return *m;
}

Metric& find_or_create(std::string_view name, MetricKind kind, std::string_view unit) {
  core::memory::TagScope untagged(core::memory::kUntagged);
  Metrics& m = metrics();
  std::lock_guard lock(m.mutex);
  for (Metric& metric : m.items) {
    if (metric.name() == name) {
      if (metric.kind() != kind) {
        throw Error(Error::Kind::InvalidArgument, "metric '" + std::string(name) + "' is a " +
                                                      to_string(metric.kind()) + ", not a " + to_string(kind));
      }
      return metric;
    }
  }
  return m.items.emplace_back(std::string(name), kind, std::string(unit));
}

}  // namespace

Metric& counter(std::string_view name, std::string_view unit) {
  return find_or_create(name, MetricKind::Counter, unit);
}

Metric& gauge(std::string_view name, std::string_view unit) { return find_or_create(name, MetricKind::Gauge, unit); }

std::vector<Metric*> all_metrics() {
  Metrics& m = metrics();
  std::lock_guard lock(m.mutex);
  std::vector<Metric*> out;
  for (Metric& metric : m.items) out.push_back(&metric);
  return out;
}

const char* to_string(MetricKind kind) noexcept { return kind == MetricKind::Counter ? "counter" : "gauge"; }

}  // namespace miso::profiler
