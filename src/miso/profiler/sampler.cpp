#include "miso/profiler/sampler.hpp"

#include "miso/core/memory.hpp"
#include "miso/profiler/gpu.hpp"
#include "miso/profiler/io.hpp"
#include "miso/profiler/system.hpp"
#include "miso/profiler/thread_registry.hpp"

namespace miso::profiler {

Sampler::Sampler(std::chrono::microseconds period) : period_(period) { init_clock(); }

Sampler::~Sampler() { stop(); }

void Sampler::start() {
  if (running_) return;
  stopping_ = false;
  running_ = true;
  sample_now();
  thread_ = std::thread([this] { loop(); });
}

void Sampler::stop() {
  if (!running_) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  running_ = false;
  sample_now();
}

void Sampler::loop() {
  std::unique_lock lock(mutex_);
  auto next = std::chrono::steady_clock::now() + period_;
  while (!wake_.wait_until(lock, next, [this] { return stopping_; })) {
    lock.unlock();
    sample_now();
    lock.lock();
    next += period_;
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + period_;  // fell behind: skip, do not burst
  }
  own_cpu_ns_ = thread_cpu_ns();
}

void Sampler::append(const std::string& name, const std::string& unit, MetricKind kind, std::uint64_t tick,
                     double value) {
  auto [it, inserted] = index_.try_emplace(name, series_.size());
  if (inserted) series_.push_back(Series{name, unit, kind, {}, {}});
  Series& s = series_[it->second];
  s.ticks.push_back(tick);
  s.values.push_back(value);
}

void Sampler::sample_now() {
  core::memory::TagScope untagged(core::memory::kUntagged);
  std::uint64_t tick = now_ticks();
  ++samples_;

  for (const ThreadClock& c : thread_clocks()) {
    if (!c.alive) continue;
    std::uint64_t cpu = 0;
    if (read_clock_ns(c.clock_id, cpu)) thread_cpu_[c.tid].push_back({tick, cpu});
  }

  for (const Metric* m : all_metrics()) {
    append(m->name(), m->unit(), m->kind(), tick, static_cast<double>(m->value()));
  }

  append("memory.rss", "bytes", MetricKind::Gauge, tick, static_cast<double>(rss_bytes()));
  HeapInfo heap = read_heap();
  if (heap.available) {
    append("memory.heap_held", "bytes", MetricKind::Gauge, tick, static_cast<double>(heap.held_bytes));
    append("memory.fragmentation", "ratio", MetricKind::Gauge, tick, heap.fragmentation());
  }
  if (core::memory::hooks_active()) {
    append("memory.live", "bytes", MetricKind::Gauge, tick, static_cast<double>(core::memory::total_live_bytes()));
    for (const core::memory::TagStats& t : core::memory::all_stats()) {
      append("memory.live." + t.name, "bytes", MetricKind::Gauge, tick, static_cast<double>(t.live_bytes));
    }
  }

  ProcessIo io = read_process_io();
  if (io.available) {
    append("io.read_chars", "bytes", MetricKind::Counter, tick, static_cast<double>(io.read_chars));
    append("io.write_chars", "bytes", MetricKind::Counter, tick, static_cast<double>(io.write_chars));
    append("io.storage_read", "bytes", MetricKind::Counter, tick, static_cast<double>(io.storage_read));
    append("io.storage_write", "bytes", MetricKind::Counter, tick, static_cast<double>(io.storage_write));
  }
  append("cpu.process", "ns", MetricKind::Counter, tick, static_cast<double>(process_cpu_ns()));

  if (GpuMonitor* gpu = gpu_monitor()) {
    for (const GpuDeviceSample& d : gpu->sample()) {
      std::string base = "gpu." + std::to_string(d.index);
      append(base + ".utilization", "pct", MetricKind::Gauge, tick, d.utilization_pct);
      append(base + ".memory_utilization", "pct", MetricKind::Gauge, tick, d.memory_utilization_pct);
      append(base + ".memory_used", "bytes", MetricKind::Gauge, tick, static_cast<double>(d.memory_used_bytes));
    }
  }
}

}  // namespace miso::profiler
