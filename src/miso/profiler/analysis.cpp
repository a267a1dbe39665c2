#include "miso/profiler/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace miso::profiler {

CpuTimeline::CpuTimeline(const std::map<int, std::vector<CpuSample>>& sampled,
                         const std::vector<ThreadSnapshot>& threads)
    : samples_(sampled) {
  for (const ThreadSnapshot& t : threads) {
    add(t.tid, {t.start_tick, t.start_cpu_ns});
    if (t.end_tick != 0) add(t.tid, {t.end_tick, t.end_cpu_ns});
  }
  for (auto& [tid, s] : samples_) {
    std::sort(s.begin(), s.end(), [](const CpuSample& a, const CpuSample& b) { return a.tick < b.tick; });
  }
}

void CpuTimeline::add(int tid, CpuSample sample) {
  auto& s = samples_[tid];
  auto it =
      std::upper_bound(s.begin(), s.end(), sample.tick, [](std::uint64_t t, const CpuSample& c) { return t < c.tick; });
  s.insert(it, sample);
}

double CpuTimeline::cpu_at(const std::vector<CpuSample>& s, std::uint64_t tick) const {
  if (tick <= s.front().tick) return static_cast<double>(s.front().cpu_ns);
  if (tick >= s.back().tick) return static_cast<double>(s.back().cpu_ns);
  auto hi = std::upper_bound(s.begin(), s.end(), tick, [](std::uint64_t t, const CpuSample& c) { return t < c.tick; });
  auto lo = hi - 1;
  double f = static_cast<double>(tick - lo->tick) / static_cast<double>(hi->tick - lo->tick);
  return static_cast<double>(lo->cpu_ns) + f * (static_cast<double>(hi->cpu_ns) - static_cast<double>(lo->cpu_ns));
}

double CpuTimeline::cpu_ns_between(int tid, std::uint64_t from, std::uint64_t to, double ns_per_tick) const {
  auto it = samples_.find(tid);
  if (it == samples_.end() || it->second.empty() || to <= from) return 0.0;
  double cpu = cpu_at(it->second, to) - cpu_at(it->second, from);
  double wall = static_cast<double>(to - from) * ns_per_tick;
  return std::clamp(cpu, 0.0, wall);
}

std::string component_of(const std::string& span_name) { return span_name.substr(0, span_name.find('.')); }

double percentile(std::vector<double>& values, double q) {
  if (values.empty()) return 0.0;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  std::size_t k = rank == 0 ? 0 : rank - 1;
  k = std::min(k, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

std::vector<SpanStats> aggregate_spans(const std::vector<ThreadSnapshot>& threads, double ns_per_tick,
                                       std::uint64_t from, std::uint64_t to, const CpuTimeline* cpu) {
  return aggregate_spans(threads, ns_per_tick, std::vector<TickWindow>{{from, to}}, cpu);
}

std::vector<SpanStats> aggregate_spans(const std::vector<ThreadSnapshot>& threads, double ns_per_tick,
                                       const std::vector<TickWindow>& windows, const CpuTimeline* cpu) {
  auto inside = [&](const ThreadSpanEvent& e) {
    for (const TickWindow& w : windows) {
      if (e.start >= w.from && e.end <= w.to) return true;
    }
    return false;
  };
  struct Accumulator {
    SpanStats stats;
    std::vector<double> durations;
  };
  std::unordered_map<std::string, Accumulator> by_name;
  std::vector<ThreadSpanEvent> events;
  std::vector<std::pair<std::size_t, double>> stack;  // (event index, child time in ticks)

  for (const ThreadSnapshot& t : threads) {
    events.clear();
    for (const ThreadSpanEvent& e : t.events) {
      if (inside(e)) events.push_back(e);
    }
    // Parents before their children: by start, then by depth.
    std::sort(events.begin(), events.end(), [](const ThreadSpanEvent& a, const ThreadSpanEvent& b) {
      return a.start != b.start ? a.start < b.start : a.depth < b.depth;
    });
    std::vector<double> child_ticks(events.size(), 0.0);
    stack.clear();
    for (std::size_t i = 0; i < events.size(); ++i) {
      while (!stack.empty() && events[stack.back().first].depth >= events[i].depth) stack.pop_back();
      if (!stack.empty() && events[stack.back().first].depth + 1 == events[i].depth) {
        child_ticks[stack.back().first] += static_cast<double>(events[i].end - events[i].start);
      }
      stack.push_back({i, 0.0});
    }
    for (std::size_t i = 0; i < events.size(); ++i) {
      const ThreadSpanEvent& e = events[i];
      Accumulator& a = by_name[e.site->name];
      double dur = static_cast<double>(e.end - e.start) * ns_per_tick;
      double self = std::max(0.0, dur - child_ticks[i] * ns_per_tick);
      a.stats.count += 1;
      a.stats.total_ns += dur;
      a.stats.self_ns += self;
      if (cpu != nullptr) a.stats.cpu_ns += cpu->cpu_ns_between(t.tid, e.start, e.end, ns_per_tick);
      a.durations.push_back(dur);
    }
  }

  const double per_window = windows.empty() ? 1.0 : 1.0 / static_cast<double>(windows.size());
  std::vector<SpanStats> out;
  out.reserve(by_name.size());
  for (auto& [name, a] : by_name) {
    a.stats.name = name;
    a.stats.total_ns *= per_window;
    a.stats.self_ns *= per_window;
    a.stats.cpu_ns *= per_window;
    a.stats.component = component_of(name);
    auto [mn, mx] = std::minmax_element(a.durations.begin(), a.durations.end());
    a.stats.min_ns = *mn;
    a.stats.max_ns = *mx;
    a.stats.median_ns = percentile(a.durations, 0.5);
    a.stats.p99_ns = percentile(a.durations, 0.99);
    out.push_back(std::move(a.stats));
  }
  std::sort(out.begin(), out.end(), [](const SpanStats& a, const SpanStats& b) {
    return a.total_ns != b.total_ns ? a.total_ns > b.total_ns : a.name < b.name;
  });
  return out;
}

std::vector<ThreadUsage> thread_usage(const std::vector<ThreadSnapshot>& threads, const CpuTimeline& cpu,
                                      double ns_per_tick, std::uint64_t from, std::uint64_t to) {
  std::vector<ThreadUsage> out;
  for (const ThreadSnapshot& t : threads) {
    std::uint64_t begin = std::max(from, t.start_tick);
    std::uint64_t end = t.end_tick == 0 ? to : std::min(to, t.end_tick);
    if (end <= begin) continue;
    ThreadUsage u;
    u.tid = t.tid;
    u.name = t.name;
    u.lifetime_ns = static_cast<double>(end - begin) * ns_per_tick;
    u.busy_ns = cpu.cpu_ns_between(t.tid, begin, end, ns_per_tick);
    u.idle_ns = u.lifetime_ns - u.busy_ns;
    for (const ThreadSpanEvent& e : t.events) u.spans += (e.start >= begin && e.end <= end) ? 1 : 0;
    out.push_back(std::move(u));
  }
  return out;
}

double growth_exponent(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> lx, ly;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (x[i] > 0 && y[i] > 0) {
      lx.push_back(std::log(x[i]));
      ly.push_back(std::log(y[i]));
    }
  }
  if (lx.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  auto [mn, mx] = std::minmax_element(lx.begin(), lx.end());
  if (*mx - *mn < 1e-12) return std::numeric_limits<double>::quiet_NaN();
  return linear_slope(lx, ly);
}

double relative_spread(std::vector<double> values) {
  if (values.size() < 2) return 0.0;
  std::sort(values.begin(), values.end());
  double median = values[values.size() / 2];
  return median > 0 ? (values.back() - values.front()) / median : 0.0;
}

double linear_slope(const std::vector<double>& x, const std::vector<double>& y) {
  std::size_t n = std::min(x.size(), y.size());
  if (n < 2) return 0.0;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxx == 0 ? 0.0 : sxy / sxx;
}

}  // namespace miso::profiler
