// The `profiler` module of M-CODE: script code measured with MISO's own profiler, so
// script spans land in the same per-thread buffers, reports and Chrome traces as the
// engines' spans (a profiler.scope inside a nexus.parallel_map worker shows up on that
// worker's thread).
//
//   profiler.scope(name, fn)      fn() inside a span `name`; returns fn's result
//   profiler.counter(name, n?)    adds n (default 1) to a counter metric; returns its value
//   profiler.gauge(name, n)       sets a gauge metric
//   profiler.now()                monotonic milliseconds (float), for timing
//   profiler.report()             {span name: {count, total_ms, self_ms, min_ms,
//                                 median_ms, max_ms}} of spans ended since this VM started
#include <cstdint>
#include <string>

#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/profiler/analysis.hpp"
#include "miso/profiler/clock.hpp"
#include "miso/profiler/metric.hpp"
#include "miso/profiler/span.hpp"
#include "miso/profiler/thread_registry.hpp"

namespace miso::mcode {
namespace {

Value profiler_scope(NativeCallContext& context, Args args) {
  std::string_view name = arg_string(context, args, 0, "name");
  if (name.empty()) context.error("profiler.scope: name must not be empty");
  Value fn = arg_callable(context, args, 1, "fn");
  const profiler::SpanSite& site = profiler::intern_site(name);
  // RAII: the span ends when fn returns and when it raises (the M-CODE exception keeps
  // unwinding through this native to the script's handler).
  profiler::Scope scope(site);
  return context.vm.call(fn, {});
}

Value profiler_counter(NativeCallContext& context, Args args) {
  if (args.empty() || args.size() > 2)
    context.error("profiler.counter() expects 1 or 2 arguments (name, n), got " + std::to_string(args.size()));
  std::string_view name = arg_string(context, args, 0, "name");
  std::int64_t delta = has_arg(args, 1) ? arg_int(context, args, 1, "n") : 1;
  if (delta < 0) context.error("profiler.counter: n must be >= 0 (counters only grow), got " + std::to_string(delta));
  try {
    profiler::Metric& metric = profiler::counter(name);
    metric.add(delta);
    return context.heap().integer(metric.value());
  } catch (const miso::Error& e) {
    context.error(context.name() + ": " + e.what());
  }
}

Value profiler_gauge(NativeCallContext& context, Args args) {
  std::string_view name = arg_string(context, args, 0, "name");
  std::int64_t value = arg_int(context, args, 1, "n");
  try {
    profiler::gauge(name).set(value);
  } catch (const miso::Error& e) {
    context.error(context.name() + ": " + e.what());
  }
  return Value();
}

Value profiler_now(NativeCallContext&, Args) { return Value::number(static_cast<double>(profiler::steady_ns()) / 1e6); }

// The report covers spans that ended since the module was installed in this VM: the
// start tick rides in the native's traced `bound` slot, invisible to scripts.
Value profiler_report(NativeCallContext& context, Args) {
  const Value start = context.native != nullptr ? context.native->bound : Value();
  const std::uint64_t from = start.is_int() ? static_cast<std::uint64_t>(start.as_int()) : 0;
  const std::uint64_t to = profiler::now_ticks();
  const double ns_per_tick = profiler::ns_per_tick();
  std::vector<profiler::SpanStats> stats;
  try {
    stats = profiler::aggregate_spans(profiler::snapshot_threads(from, to), ns_per_tick, from, to);
  } catch (const miso::Error& e) {
    context.error(context.name() + ": " + e.what());
  }
  Heap& heap = context.heap();
  Map* report = heap.map(stats.size());
  for (const profiler::SpanStats& s : stats) {
    Map* entry = heap.map(6);
    entry->set(heap, heap.string_value("count"), heap.integer(static_cast<std::int64_t>(s.count)));
    entry->set(heap, heap.string_value("total_ms"), Value::number(s.total_ns / 1e6));
    entry->set(heap, heap.string_value("self_ms"), Value::number(s.self_ns / 1e6));
    entry->set(heap, heap.string_value("min_ms"), Value::number(s.min_ns / 1e6));
    entry->set(heap, heap.string_value("median_ms"), Value::number(s.median_ns / 1e6));
    entry->set(heap, heap.string_value("max_ms"), Value::number(s.max_ns / 1e6));
    report->set(heap, heap.string_value(s.name), Value::object(entry));
  }
  return Value::object(report);
}

const NativeBinding kProfilerFunctions[] = {
    {"scope", profiler_scope, 2, "profiler.scope(name, fn): calls fn() inside a profiler span; returns its result"},
    {"counter", profiler_counter, -1, "profiler.counter(name, n?): adds n (default 1) to a counter; returns it"},
    {"gauge", profiler_gauge, 2, "profiler.gauge(name, n): sets a gauge to the int n"},
    {"now", profiler_now, 0, "profiler.now(): monotonic time in milliseconds (float)"},
    {"report", profiler_report, 0,
     "profiler.report(): {span: {count, total_ms, self_ms, min_ms, median_ms, max_ms}} since this VM started"},
};

}  // namespace

void install_profiler_module(Vm& vm) {
  profiler::init_clock();
  Map* module = vm.define_module("profiler", kProfilerFunctions);
  Value report = module->get(vm.heap().string_value("report"));
  if (report.is_native())
    report.as_native()->bound = vm.heap().integer(static_cast<std::int64_t>(profiler::now_ticks()));
}

}  // namespace miso::mcode
