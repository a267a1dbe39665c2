#include "miso/profiler/profile_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>
#include <map>
#include <ostream>
#include <system_error>

#include <unistd.h>

#include <fmt/format.h>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/core/memory.hpp"
#include "miso/profiler/analysis.hpp"
#include "miso/profiler/chrome_trace.hpp"
#include "miso/profiler/gpu.hpp"
#include "miso/profiler/html_report.hpp"
#include "miso/profiler/io.hpp"
#include "miso/profiler/mutex.hpp"
#include "miso/profiler/perf_counters.hpp"
#include "miso/profiler/sampler.hpp"
#include "miso/profiler/system.hpp"

namespace miso::profiler {

namespace {

using json = nlohmann::json;

// Everything read at a workload's edges; the difference of two is its cost.
struct Edge {
  std::uint64_t tick = 0;
  std::uint64_t process_cpu_ns = 0;
  ProcessIo io;
  std::vector<CounterValue> counters;
  std::vector<LockReading> locks;
  std::vector<IoReading> io_sites;
  core::memory::TagStats memory;
};

Edge read_edge(const PerfCounters& perf, core::memory::Tag tag) {
  // The readings allocate; they are the profiler's, not the measured component's.
  core::memory::TagScope untagged(core::memory::kUntagged);
  Edge e;
  e.process_cpu_ns = process_cpu_ns();
  e.io = read_process_io();
  e.counters = perf.read();
  e.locks = read_lock_stats();
  e.io_sites = read_io_sites();
  e.memory = core::memory::stats(tag);
  e.tick = now_ticks();
  return e;
}

json counters_json(const std::vector<CounterValue>& values) {
  json hw = json::object();
  for (const CounterValue& v : values) {
    if (v.available) {
      hw[v.name] = {{"available", true}, {"value", v.value}, {"user_only", v.user_only}};
    } else {
      hw[v.name] = {{"available", false}, {"reason", v.reason}};
    }
  }
  return hw;
}

json process_io_json(const ProcessIo& io) {
  if (!io.available) return {{"available", false}, {"reason", "/proc/self/io is not readable"}};
  return {{"available", true},
          {"read_bytes", io.read_chars},
          {"write_bytes", io.write_chars},
          {"read_calls", io.read_calls},
          {"write_calls", io.write_calls},
          {"storage_read_bytes", io.storage_read},
          {"storage_write_bytes", io.storage_write}};
}

json spans_json(const std::vector<SpanStats>& spans) {
  json out = json::array();
  for (const SpanStats& s : spans) {
    out.push_back({{"name", s.name},
                   {"component", s.component},
                   {"count", s.count},
                   {"total_ns", s.total_ns},
                   {"self_ns", s.self_ns},
                   {"cpu_ns", s.cpu_ns},
                   {"min_ns", s.min_ns},
                   {"median_ns", s.median_ns},
                   {"p99_ns", s.p99_ns},
                   {"max_ns", s.max_ns}});
  }
  return out;
}

json histogram_json(const std::array<std::uint64_t, core::memory::kBuckets>& h) {
  json out = json::array();
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (h[i] != 0) out.push_back({{"min_bytes", core::memory::bucket_lower_bound(i)}, {"count", h[i]}});
  }
  return out;
}

json locks_delta_json(const std::vector<LockReading>& later, const std::vector<LockReading>& earlier, double npt) {
  json out = json::array();
  for (const LockReading& l : later) {
    LockReading base{};
    for (const LockReading& e : earlier) {
      if (e.name == l.name) base = e;
    }
    std::uint64_t acq = l.acquisitions - base.acquisitions;
    if (acq == 0) continue;
    out.push_back({{"name", l.name},
                   {"acquisitions", acq},
                   {"contended", l.contended - base.contended},
                   {"wait_ns", static_cast<double>(l.wait_ticks - base.wait_ticks) * npt}});
  }
  return out;
}

json io_sites_delta_json(const std::vector<IoReading>& later, const std::vector<IoReading>& earlier, double npt) {
  json out = json::array();
  for (const IoReading& r : later) {
    IoReading base{r.name, r.direction, 0, 0, 0, 0};
    for (const IoReading& e : earlier) {
      if (e.name == r.name && e.direction == r.direction) base = e;
    }
    std::uint64_t ops = r.operations - base.operations;
    if (ops == 0) continue;
    double ns = static_cast<double>(r.ticks - base.ticks) * npt;
    std::uint64_t bytes = r.bytes - base.bytes;
    out.push_back({{"name", r.name},
                   {"direction", to_string(r.direction)},
                   {"operations", ops},
                   {"bytes", bytes},
                   {"time_ns", ns},
                   {"bytes_per_second", ns > 0 ? static_cast<double>(bytes) / (ns * 1e-9) : 0.0}});
  }
  return out;
}

// Peak of a series within [from, to] ticks, or -1 when it has no sample there.
double series_peak(const std::vector<Series>& series, const std::string& name, std::uint64_t from, std::uint64_t to) {
  double peak = -1;
  for (const Series& s : series) {
    if (s.name != name) continue;
    for (std::size_t i = 0; i < s.ticks.size(); ++i) {
      if (s.ticks[i] >= from && s.ticks[i] <= to) peak = std::max(peak, s.values[i]);
    }
  }
  return peak;
}

// Least-squares growth of a series within [from, to] ticks, per second; 0 with
// fewer than two samples there.
double series_slope(const std::vector<Series>& series, const std::string& name, std::uint64_t from, std::uint64_t to,
                    double ns_per_tick) {
  std::vector<double> t, v;
  for (const Series& s : series) {
    if (s.name != name) continue;
    for (std::size_t i = 0; i < s.ticks.size(); ++i) {
      if (s.ticks[i] < from || s.ticks[i] > to) continue;
      t.push_back(static_cast<double>(s.ticks[i] - from) * ns_per_tick * 1e-9);
      v.push_back(s.values[i]);
    }
  }
  return linear_slope(t, v);
}

std::string iso_time_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Removes the scratch folder however the run ends.
struct ScratchDir {
  std::filesystem::path path;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// For repeated runs: each span's run-to-run spread of its total time, so that compare
// can tell a change from noise.
void add_run_spread(json& spans, const std::vector<ThreadSnapshot>& threads, double npt,
                    const std::vector<TickWindow>& runs) {
  std::map<std::string, std::vector<double>> totals;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    for (const SpanStats& s : aggregate_spans(threads, npt, runs[r].from, runs[r].to)) {
      auto& v = totals[s.name];
      v.resize(runs.size(), 0.0);
      v[r] = s.total_ns;
    }
  }
  for (json& s : spans) s["run_spread"] = relative_spread(totals[s["name"].get<std::string>()]);
}

struct Window {
  std::string name, component, size;
  std::uint64_t from, to;
  json entry;
  std::vector<TickWindow> runs;  // every repetition's run phase
};

// One repetition of a workload: prepare, run under measurement, check. `step` is called
// before each phase and when done (progress, and where a cancelled run stops).
Window measure_once(const WorkloadInfo& info, const WorkloadContext& ctx, core::memory::Tag tag,
                    const PerfCounters& perf, bool rss_peak_resettable,
                    const std::function<void(const std::string&)>& say, const std::function<void(const char*)>& step) {
  const SpanSite& site = intern_site(info.name);  // the run phase, as one span
  json phases;
  Edge before, after;
  CheckResult check;
  std::uint64_t input_bytes = 0;
  double rss_peak = -1;
  {
    core::memory::TagScope tag_scope(tag);
    step("prepare");
    std::unique_ptr<Workload> w = info.make();
    say("preparing");
    std::uint64_t p0 = now_ticks();
    w->prepare(ctx);
    std::uint64_t p1 = now_ticks();
    input_bytes = w->input_bytes();
    step("run");
    say(fmt::format("running on {}", format_bytes(static_cast<double>(input_bytes))));
    if (rss_peak_resettable) reset_peak_rss();
    core::memory::reset_peak(tag);
    before = read_edge(perf, tag);
    {
      Scope span(site);
      w->run(ctx);
    }
    after = read_edge(perf, tag);
    if (rss_peak_resettable) rss_peak = static_cast<double>(peak_rss_bytes());
    step("check");
    check = w->check();
    std::uint64_t c1 = now_ticks();
    phases = {{"prepare_ticks", p1 - p0}, {"check_ticks", c1 - after.tick}};
    say(check.passed ? "ok" : "CHECK FAILED: " + check.detail);
    step("done");
  }
  Window win{info.name, info.component, to_string(ctx.size), before.tick, after.tick, json::object(), {}};
  win.entry = {{"name", info.name},
               {"component", info.component},
               {"description", info.description},
               {"size", to_string(ctx.size)},
               {"input_bytes", input_bytes},
               {"process_cpu_ns", after.process_cpu_ns - before.process_cpu_ns},
               {"check", {{"passed", check.passed}, {"detail", check.detail}}},
               {"phases", phases},
               {"io", process_io_json(after.io - before.io)},
               {"counters", counters_json(difference(after.counters, before.counters))},
               {"memory",
                {{"tag", info.component},
                 {"peak_bytes", after.memory.peak_bytes},
                 {"run_peak_extra_bytes", after.memory.peak_bytes - before.memory.live_bytes},
                 {"live_at_start_bytes", before.memory.live_bytes},
                 {"allocated_bytes", after.memory.allocated_bytes - before.memory.allocated_bytes},
                 {"allocations", after.memory.allocations - before.memory.allocations},
                 {"frees", after.memory.frees - before.memory.frees},
                 {"live_growth_bytes", after.memory.live_bytes - before.memory.live_bytes},
                 {"rss_peak_bytes", rss_peak}}}};
  std::array<std::uint64_t, core::memory::kBuckets> hist{};
  for (std::size_t i = 0; i < hist.size(); ++i) hist[i] = after.memory.histogram[i] - before.memory.histogram[i];
  win.entry["memory"]["histogram"] = histogram_json(hist);
  // Lock waits and I/O sites inside the run phase (ticks; converted below).
  win.entry["locks"] = locks_delta_json(after.locks, before.locks, 1.0);
  win.entry["io_sites"] = io_sites_delta_json(after.io_sites, before.io_sites, 1.0);
  return win;
}

// Tick to nanosecond conversion for one run, and times relative to its start.
struct Timebase {
  double ns_per_tick;
  std::uint64_t origin;
  double ns(std::uint64_t ticks) const { return static_cast<double>(ticks) * ns_per_tick; }
  double rel(std::uint64_t tick) const { return tick >= origin ? ns(tick - origin) : -ns(origin - tick); }
};

json config_json(const ProfileOptions& options, const std::vector<const WorkloadInfo*>& selected) {
  json sizes = json::array();
  for (DataSize s : options.sizes) sizes.push_back(to_string(s));
  json comps = json::array();
  for (const WorkloadInfo* w : selected) {
    if (std::find(comps.begin(), comps.end(), w->component) == comps.end()) comps.push_back(w->component);
  }
  return {{"sizes", sizes},
          {"components", comps},
          {"seed", options.seed},
          {"repeat", options.repeat},
          {"data_dir", options.data_dir.string()},
          {"sample_period_ns", std::chrono::nanoseconds(options.sample_period).count()}};
}

// A workload entry: what measure_once recorded (in ticks) completed with times in
// ns, spans and thread use inside its run windows, and memory growth.
json workload_json(Window& w, const std::vector<ThreadSnapshot>& threads, const CpuTimeline& cpu,
                   const Sampler& sampler, const Timebase& tb) {
  json e = std::move(w.entry);
  e["phases"] = {{"prepare_ns", tb.ns(e["phases"]["prepare_ticks"].get<std::uint64_t>())},
                 {"run_ns", tb.ns(w.to - w.from)},
                 {"check_ns", tb.ns(e["phases"]["check_ticks"].get<std::uint64_t>())}};
  json rep_wall = json::array();
  for (const json& t : e["repetitions"]["wall_ticks"]) rep_wall.push_back(tb.ns(t.get<std::uint64_t>()));
  e["repetitions"].erase("wall_ticks");
  e["repetitions"]["wall_ns"] = rep_wall;
  e["start_ns"] = tb.rel(w.from);
  double wall = tb.ns(w.to - w.from);
  double cpu_ns = e["process_cpu_ns"].get<double>();
  e["wall_ns"] = wall;
  e["cpu_ns"] = cpu_ns;
  e["cpu_load"] = wall > 0 ? cpu_ns / wall : 0.0;
  e.erase("process_cpu_ns");
  for (json& l : e["locks"]) l["wait_ns"] = l["wait_ns"].get<double>() * tb.ns_per_tick;
  for (json& io : e["io_sites"]) {
    double t_ns = io["time_ns"].get<double>() * tb.ns_per_tick;
    io["time_ns"] = t_ns;
    io["bytes_per_second"] = t_ns > 0 ? io["bytes"].get<double>() / (t_ns * 1e-9) : 0.0;
  }
  e["spans"] = spans_json(aggregate_spans(threads, tb.ns_per_tick, w.runs, &cpu));
  if (w.runs.size() > 1) add_run_spread(e["spans"], threads, tb.ns_per_tick, w.runs);
  if (e["memory"]["rss_peak_bytes"].get<double>() < 0) {
    e["memory"]["rss_peak_bytes"] = series_peak(sampler.series(), "memory.rss", w.from, w.to);
  }
  e["memory"]["live_growth_bytes_per_second"] =
      series_slope(sampler.series(), "memory.live." + w.component, w.from, w.to, tb.ns_per_tick);
  return e;
}

// Per component: self and CPU time of its spans, and its memory tag's totals.
json components_json(const std::vector<SpanStats>& spans, const json& workloads) {
  json components = json::object();
  auto entry = [&](const std::string& name) -> json& {
    json& c = components[name];
    if (c.is_null()) c = {{"name", name}, {"self_ns", 0.0}, {"cpu_ns", 0.0}, {"spans", 0}};
    return c;
  };
  for (const SpanStats& s : spans) {
    json& c = entry(s.component);
    c["self_ns"] = c["self_ns"].get<double>() + s.self_ns;
    c["cpu_ns"] = c["cpu_ns"].get<double>() + s.cpu_ns;
    c["spans"] = c["spans"].get<std::uint64_t>() + s.count;
  }
  // A tag's peak is reset before each workload: its peak over the run is the
  // largest of its workloads' peaks and what it reached since.
  std::map<std::string, std::int64_t> run_peak;
  for (const json& e : workloads) {
    std::int64_t& p = run_peak[e["component"].get<std::string>()];
    p = std::max(p, e["memory"]["peak_bytes"].get<std::int64_t>());
  }
  for (const core::memory::TagStats& t : core::memory::all_stats()) {
    entry(t.name)["memory"] = {{"live_bytes", t.live_bytes},
                               {"peak_bytes", std::max(t.peak_bytes, run_peak[t.name])},
                               {"allocated_bytes", t.allocated_bytes},
                               {"allocations", t.allocations},
                               {"histogram", histogram_json(t.histogram)}};
  }
  json list = json::array();
  for (auto& [name, c] : components.items()) list.push_back(c);
  return list;
}

json threads_json(const std::vector<ThreadSnapshot>& threads, const CpuTimeline& cpu, const Timebase& tb,
                  std::uint64_t end) {
  json list = json::array();
  for (const ThreadUsage& u : thread_usage(threads, cpu, tb.ns_per_tick, tb.origin, end)) {
    list.push_back({{"tid", u.tid},
                    {"name", u.name},
                    {"lifetime_ns", u.lifetime_ns},
                    {"busy_ns", u.busy_ns},
                    {"idle_ns", u.idle_ns},
                    {"utilization", u.lifetime_ns > 0 ? u.busy_ns / u.lifetime_ns : 0.0},
                    {"spans", u.spans}});
  }
  return list;
}

json process_memory_json() {
  HeapInfo heap = read_heap();
  json fragmentation =
      heap.available
          ? json{{"available", true},
                 {"value", heap.fragmentation()},
                 {"heap_held_bytes", heap.held_bytes},
                 {"heap_in_use_bytes", heap.in_use_bytes}}
          : json{{"available", false}, {"reason", "mallinfo2 is not meaningful in this build (sanitizer allocator)"}};
  return {{"accounting", core::memory::hooks_active() ? "operator new/delete hooks" : "unavailable"},
          {"peak_rss_bytes", peak_rss_bytes()},
          {"rss_bytes", rss_bytes()},
          {"fragmentation", fragmentation},
          {"profiler_buffer_bytes", buffer_bytes()}};
}

// Every sampled series with times relative to the start of the run, plus each
// thread's CPU share per sampling interval (for the thread chart).
json series_json(const Sampler& sampler, const Timebase& tb) {
  json series = json::array();
  for (const Series& s : sampler.series()) {
    json t = json::array(), v = json::array();
    bool ticks_unit = s.unit == "ticks";
    for (std::size_t i = 0; i < s.ticks.size(); ++i) {
      t.push_back(tb.rel(s.ticks[i]));
      v.push_back(ticks_unit ? s.values[i] * tb.ns_per_tick : s.values[i]);
    }
    series.push_back({{"name", s.name},
                      {"unit", ticks_unit ? "ns" : s.unit},
                      {"kind", to_string(s.kind)},
                      {"t_ns", t},
                      {"values", v}});
  }
  for (const auto& [tid, samples] : sampler.thread_cpu()) {
    json t = json::array(), v = json::array();
    for (std::size_t i = 1; i < samples.size(); ++i) {
      double wall = tb.ns(samples[i].tick - samples[i - 1].tick);
      if (wall <= 0) continue;
      t.push_back(tb.rel(samples[i].tick));
      v.push_back(std::clamp(static_cast<double>(samples[i].cpu_ns - samples[i - 1].cpu_ns) / wall, 0.0, 1.0));
    }
    series.push_back({{"name", "thread." + std::to_string(tid) + ".utilization"},
                      {"unit", "ratio"},
                      {"kind", "gauge"},
                      {"t_ns", t},
                      {"values", v}});
  }
  return series;
}

// The GPU monitor's devices (if any) and what GPU backends recorded.
json gpu_json(const Sampler& sampler, std::uint64_t from, std::uint64_t to) {
  GpuActivity g = read_gpu_activity();
  json transfers = json::object();
  for (int i = 0; i < 3; ++i) {
    transfers[to_string(static_cast<GpuTransfer>(i))] = {
        {"count", g.transfers[i]}, {"bytes", g.transfer_bytes[i]}, {"time_ns", g.transfer_ns[i]}};
  }
  GpuMonitor* monitor = gpu_monitor();
  json gpu = {{"available", monitor != nullptr},
              {"monitor", monitor != nullptr ? monitor->backend() : ""},
              {"reason", monitor != nullptr ? "" : gpu_unavailable_reason()},
              {"transfers", transfers},
              {"waits", {{"count", g.waits}, {"time_ns", g.wait_ns}}},
              {"kernels", {{"count", g.kernels}, {"time_ns", g.kernel_ns}}}};
  if (monitor != nullptr) {
    json devices = json::array();
    for (const GpuDeviceSample& d : monitor->sample()) {
      std::string base = "gpu." + std::to_string(d.index);
      devices.push_back({{"index", d.index},
                         {"name", d.name},
                         {"memory_total_bytes", d.memory_total_bytes},
                         {"peak_utilization_pct", series_peak(sampler.series(), base + ".utilization", from, to)},
                         {"peak_memory_used_bytes", series_peak(sampler.series(), base + ".memory_used", from, to)}});
    }
    gpu["devices"] = devices;
  }
  return gpu;
}

// Growth exponents of time and peak memory against input size, per workload.
json scaling_json(const std::vector<const WorkloadInfo*>& selected, const json& workloads) {
  json scaling = json::array();
  for (const WorkloadInfo* info : selected) {
    std::vector<double> x, t, mem;
    json sizes_run = json::array();
    for (const json& e : workloads) {
      if (e["name"] != info->name) continue;
      sizes_run.push_back(e["size"]);
      x.push_back(e["input_bytes"].get<double>());
      t.push_back(e["wall_ns"].get<double>());
      mem.push_back(std::max(1.0, e["memory"]["peak_bytes"].get<double>()));
    }
    double te = growth_exponent(x, t), me = growth_exponent(x, mem);
    scaling.push_back({{"workload", info->name},
                       {"sizes", sizes_run},
                       {"input_bytes", x},
                       {"wall_ns", t},
                       {"peak_bytes", mem},
                       {"time_exponent", std::isnan(te) ? json(nullptr) : json(te)},
                       {"memory_exponent", std::isnan(me) ? json(nullptr) : json(me)}});
  }
  return scaling;
}

// Temporary names inside the report folder, removed unless renamed into place.
struct StagedFiles {
  std::vector<std::filesystem::path> paths;
  ~StagedFiles() {
    for (const auto& p : paths) {
      std::error_code ec;
      std::filesystem::remove(p, ec);
    }
  }
};

// Writes the three report files whole or not at all: each goes to a temporary name
// first; only when all are complete are they renamed into place, report.json last and
// after any old report.json was removed, so report.json never stands beside a missing or
// stale trace.json or index.html. Renames are not interrupted by a cancel request.
void write_report_folder(const nlohmann::json& report, const std::filesystem::path& dir,
                         const std::function<void(const std::filesystem::path&)>& write_trace) {
  const std::string suffix = ".tmp-" + std::to_string(::getpid());
  StagedFiles staged;
  const std::filesystem::path trace = dir / (".trace.json" + suffix);
  const std::filesystem::path html = dir / (".index.html" + suffix);
  const std::filesystem::path json_file = dir / (".report.json" + suffix);
  staged.paths = {trace, html, json_file};
  write_trace(trace);
  core::write_file_atomic(html, render_html_report(report));
  core::write_file_atomic(json_file, report.dump(1));
  const auto move = [&](const std::filesystem::path& from, const char* name) {
    std::error_code ec;
    std::filesystem::rename(from, dir / name, ec);
    if (ec) throw Error(Error::Kind::Io, "cannot write '" + (dir / name).string() + "': " + ec.message());
  };
  std::error_code ec;
  std::filesystem::remove(dir / "report.json", ec);
  if (ec) throw Error(Error::Kind::Io, "cannot replace '" + (dir / "report.json").string() + "': " + ec.message());
  move(trace, "trace.json");
  move(html, "index.html");
  move(json_file, "report.json");
}

}  // namespace

ProfileResult run_profile(const WorkloadRegistry& registry, const ProfileOptions& options) {
  if (options.sizes.empty()) throw Error(Error::Kind::InvalidArgument, "no data-set size given");
  if (options.repeat == 0) throw Error(Error::Kind::InvalidArgument, "repeat must be at least 1");
  std::vector<const WorkloadInfo*> selected = registry.select(options.components);
  if (selected.empty()) throw Error(Error::Kind::InvalidArgument, "no workload selected");
  core::ensure_writable_directory(options.out_dir);
  if (!options.data_dir.empty() && !std::filesystem::is_directory(options.data_dir)) {
    throw Error(Error::Kind::Io, "data folder '" + options.data_dir.string() + "' does not exist");
  }
  ScratchDir scratch{options.out_dir / (".scratch-" + std::to_string(::getpid()))};
  std::filesystem::create_directories(scratch.path);

  init_clock();
  register_thread();
  set_thread_name("main");
  PerfCounters perf;
  Sampler sampler(options.sample_period);
  ProcessIo io_start = read_process_io();
  std::vector<CounterValue> counters_start = perf.read();
  std::vector<LockReading> locks_start = read_lock_stats();
  std::vector<IoReading> io_sites_start = read_io_sites();
  std::uint64_t cpu_start = process_cpu_ns();
  bool rss_peak_resettable = reset_peak_rss();
  sampler.start();
  const std::uint64_t origin = now_ticks();

  std::vector<Window> windows;
  bool checks_passed = true;
  std::size_t total = selected.size() * options.sizes.size(), index = 0;
  auto wall_start = std::chrono::steady_clock::now();

  const auto cancelled = [&] { return options.cancel != nullptr && options.cancel->load(); };
  for (DataSize size : options.sizes) {
    for (const WorkloadInfo* info : selected) {
      if (cancelled()) throw ProfileCancelled();
      ++index;
      WorkloadContext ctx{size, options.seed, options.data_dir, scratch.path, options.threads};
      core::memory::Tag tag = core::memory::tag(info->component);
      auto say = [&](const std::string& what) {
        if (options.progress == nullptr) return;
        double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        *options.progress << fmt::format("[{}/{}] {} ({}) {} [{:.2f} s]\n", index, total, info->name,
                                         to_string(ctx.size), what, elapsed)
                          << std::flush;
      };
      std::vector<Window> reps;
      for (unsigned rep = 0; rep < options.repeat; ++rep) {
        std::string of = options.repeat > 1 ? fmt::format(" (repetition {}/{})", rep + 1, options.repeat) : "";
        const auto step = [&](const char* phase) {
          // Cancellation is honoured between phases: a phase in progress runs to its end.
          if (cancelled()) throw ProfileCancelled();
          if (options.on_progress) options.on_progress(ProfileProgress{info->name, size, phase, index - 1, total});
        };
        reps.push_back(measure_once(
            *info, ctx, tag, perf, rss_peak_resettable, [&](const std::string& what) { say(what + of); }, step));
      }
      // Report the repetition with the median run time; keep every repetition's times
      // so readers (and compare) can see the spread.
      std::vector<std::size_t> order(reps.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(),
                [&](std::size_t a, std::size_t b) { return reps[a].to - reps[a].from < reps[b].to - reps[b].from; });
      Window chosen = reps[order[order.size() / 2]];
      for (const Window& r : reps) chosen.runs.push_back({r.from, r.to});
      json wall = json::array(), cpu = json::array();
      for (const Window& r : reps) {
        wall.push_back(r.to - r.from);
        cpu.push_back(r.entry["process_cpu_ns"]);
        if (!r.entry["check"]["passed"].get<bool>()) chosen.entry["check"] = r.entry["check"];
      }
      chosen.entry["repetitions"] = {{"count", reps.size()}, {"wall_ticks", wall}, {"cpu_ns", cpu}};
      checks_passed = checks_passed && chosen.entry["check"]["passed"].get<bool>();
      windows.push_back(std::move(chosen));
    }
  }

  const std::uint64_t end = now_ticks();
  sampler.stop();
  Timebase tb{ns_per_tick(), origin};
  std::vector<ThreadSnapshot> threads = snapshot_threads(origin, end);
  CpuTimeline cpu(sampler.thread_cpu(), threads);
  MachineInfo m = machine_info();

  json report;
  report["schema"] = "miso-profile-report";
  report["version"] = kReportVersion;
  report["created"] = iso_time_now();
  report["machine"] = {{"hostname", m.hostname},
                       {"cpu_model", m.cpu_model},
                       {"logical_cpus", m.logical_cpus},
                       {"memory_bytes", m.memory_bytes},
                       {"kernel", m.kernel}};
  report["config"] = config_json(options, selected);
  report["clock"] = {{"source", clock_source()}, {"ns_per_tick", tb.ns_per_tick}};
  report["duration_ns"] = tb.ns(end - origin);

  json workloads = json::array();
  for (Window& w : windows) workloads.push_back(workload_json(w, threads, cpu, sampler, tb));
  report["workloads"] = workloads;

  std::vector<SpanStats> spans = aggregate_spans(threads, tb.ns_per_tick, origin, end, &cpu);
  report["spans"] = spans_json(spans);
  report["components"] = components_json(spans, report["workloads"]);
  report["threads"] = threads_json(threads, cpu, tb, end);

  std::vector<LockReading> locks_end = read_lock_stats();
  json locks = locks_delta_json(locks_end, locks_start, tb.ns_per_tick);
  for (json& l : locks) {
    for (const LockReading& r : locks_end) {
      if (r.name == l["name"]) l["max_wait_ns"] = tb.ns(r.max_wait_ticks);
    }
  }
  report["locks"] = locks;
  report["io"] = {{"process", process_io_json(read_process_io() - io_start)},
                  {"sites", io_sites_delta_json(read_io_sites(), io_sites_start, tb.ns_per_tick)}};
  report["counters"] = counters_json(difference(perf.read(), counters_start));
  std::uint64_t cpu_total = process_cpu_ns() - cpu_start;
  double duration = tb.ns(end - origin);
  report["cpu"] = {{"process_cpu_ns", cpu_total},
                   {"average_load", duration > 0 ? static_cast<double>(cpu_total) / duration : 0.0},
                   {"logical_cpus", m.logical_cpus}};
  report["memory"] = process_memory_json();
  report["series"] = series_json(sampler, tb);
  report["gpu"] = gpu_json(sampler, origin, end);
  report["scaling"] = options.sizes.size() > 1 ? scaling_json(selected, report["workloads"]) : json::array();
  std::uint64_t span_events = 0;
  for (const ThreadSnapshot& t : threads) span_events += t.events.size();
  report["profiler"] = {
      {"samples", sampler.samples_taken()}, {"sampler_cpu_ns", sampler.own_cpu_ns()}, {"span_events", span_events}};
  report["checks_passed"] = checks_passed;

  if (cancelled()) throw ProfileCancelled();
  write_report_folder(report, options.out_dir, [&](const std::filesystem::path& path) {
    write_chrome_trace(path, threads, sampler.series(), tb.ns_per_tick, origin);
  });
  return {std::move(report), options.out_dir, checks_passed};
}

void write_report_files(const nlohmann::json& report, const std::filesystem::path& dir) {
  // index.html first: report.json is what readers look for, so it appears last.
  core::write_file_atomic(dir / "index.html", render_html_report(report));
  core::write_file_atomic(dir / "report.json", report.dump(1));
}

}  // namespace miso::profiler
