// The `nexus` module of M-CODE: data-parallel script work on MISO's nexus executor.
//
// A VM heap is single-threaded (heap.hpp), so parallelism comes from isolation: each
// worker task owns a child Vm (the caller's VmOptions: same budgets, allow-list, engine
// modules) into which the function, the globals its code may read and the worker's share
// of the items are deep-copied (transfer.hpp) on the calling thread before any task
// starts. The tasks then touch only their own child VM; after all of them finished the
// calling thread copies the results back in element order. The caller's heap is never
// touched while workers run, so there is nothing to lock and nothing for TSan to see.
//
// Consequences scripts can observe (docs/mcode.md, "nexus"): workers see copies, so
// assignments to globals or captured variables and mutations of lists passed in do not
// reach the caller; print() output of the workers is buffered per element and appended
// to the caller's output in element order; the first failing element (lowest index)
// becomes an M-CODE error in the caller naming the index and the worker's message.
#include <atomic>
#include <cstddef>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/mcode/transfer.hpp"
#include "miso/nexus/executor.hpp"
#include "miso/nexus/task_group.hpp"
#include "miso/profiler/span.hpp"

namespace miso::mcode {
namespace {

constexpr std::size_t kNoFailure = std::numeric_limits<std::size_t>::max();

// One worker task: a child VM and the elements it runs (indices i with i % workers == w).
struct WorkerJob {
  // Declaration order is destruction order reversed: the roots go before their VM, the
  // VM before the stream it prints to.
  std::ostringstream out;
  std::unique_ptr<Vm> vm;
  std::unique_ptr<RootedVector> roots;  // [f, item 0, item 1, ..., result 0, result 1, ...]
  std::vector<std::size_t> indices;     // element index of each item, increasing
  std::vector<std::string> outputs;     // what each element printed
  std::size_t done = 0;                 // items run (results pushed when kept)
  std::size_t failed_at = kNoFailure;   // element index of this worker's failure
  std::string error;
};

unsigned default_workers() { return std::max(1u, nexus::Executor::global().concurrency()); }

unsigned workers_option(NativeCallContext& context, Args args, std::size_t i) {
  if (!has_arg(args, i)) return default_workers();
  Map* options = arg_map(context, args, i, "options");
  Value w = options->get(context.heap().string_value("workers"));
  if (w.is_empty() || w.is_nil()) return default_workers();
  if (!w.is_int() || w.as_int() < 1 || w.as_int() > 1024)
    context.error(context.name() + ": options.workers must be an int in [1, 1024], got " + to_repr_string(w));
  return static_cast<unsigned>(w.as_int());
}

void run_job(WorkerJob& job, std::atomic<std::size_t>& first_failure, bool keep_results) {
  MISO_PROFILE_SCOPE("mcode.nexus.worker");
  std::vector<Value>& roots = job.roots->values();
  const std::size_t count = job.indices.size();
  job.outputs.resize(count);
  for (std::size_t k = 0; k < count; ++k) {
    std::size_t index = job.indices[k];
    // An element after a known failure is not needed (the lowest failing index wins,
    // and this worker's earlier elements all ran, so skipping keeps that deterministic).
    if (index > first_failure.load(std::memory_order_relaxed)) break;
    Value f = roots[0];
    Value item = roots[1 + k];
    try {
      Value result = job.vm->call(f, std::span<const Value>(&item, 1));
      if (keep_results) roots.push_back(result);
    } catch (const ScriptError& e) {
      job.error = e.error_message();
      // The worker's top level did not catch it, but the caller still can: drop the prefix.
      constexpr std::string_view kUncaught = "uncaught exception: ";
      if (job.error.starts_with(kUncaught)) job.error.erase(0, kUncaught.size());
      if (!e.trace().empty()) job.error.append(" (in the worker at ").append(e.trace().front()).append(")");
    } catch (const std::exception& e) {
      job.error = e.what();
    }
    job.outputs[k] = job.out.str();
    job.out.str("");
    if (!job.error.empty()) {
      job.failed_at = index;
      std::size_t seen = first_failure.load(std::memory_order_relaxed);
      while (index < seen && !first_failure.compare_exchange_weak(seen, index, std::memory_order_relaxed)) {
      }
      break;
    }
    ++job.done;
  }
}

// Runs f over items on `workers` child VMs. Returns the results as a list in the
// caller's heap (nil when !keep_results). Raises the lowest failing element's error.
Value parallel_run(NativeCallContext& context, Value f, const std::vector<Value>& items, unsigned workers,
                   bool keep_results) {
  MISO_PROFILE_SCOPE("mcode.nexus.parallel_run");
  Vm& vm = context.vm;
  const std::size_t n = items.size();
  if (n == 0) return keep_results ? Value::object(vm.heap().list()) : Value();
  const std::size_t w_count = std::min<std::size_t>(workers, n);

  std::vector<std::unique_ptr<WorkerJob>> jobs;
  try {
    // Copying in happens here, on the caller's thread, before any task runs.
    VmOptions child_options = vm.options();
    child_options.engine_modules = true;
    for (std::size_t w = 0; w < w_count; ++w) {
      auto job = std::make_unique<WorkerJob>();
      child_options.output = &job->out;
      job->vm = std::make_unique<Vm>(child_options);
      job->roots = std::make_unique<RootedVector>(job->vm->heap());
      Transfer transfer(job->vm->heap());
      job->roots->values().push_back(transfer(f));
      for (std::size_t i = w; i < n; i += w_count) {
        job->indices.push_back(i);
        try {
          job->roots->values().push_back(transfer(items[i]));
        } catch (const TransferError& e) {
          throw TransferError("element " + std::to_string(i) + ": " + e.what());
        }
      }
      copy_referenced_globals(vm, *job->vm, transfer);
      jobs.push_back(std::move(job));
    }
  } catch (const miso::Error& e) {
    context.error(context.name() + ": " + e.what());
  }

  std::atomic<std::size_t> first_failure{kNoFailure};
  try {
    nexus::TaskGroup group(nexus::Executor::global());
    for (auto& job : jobs) {
      WorkerJob* j = job.get();
      group.spawn([j, &first_failure, keep_results] { run_job(*j, first_failure, keep_results); });
    }
    group.wait();  // rethrows only what run_job could not catch (out of host memory)
  } catch (const std::exception& e) {
    context.error(context.name() + ": a worker failed: " + e.what());
  }

  // Output in element order, up to and including a failing element.
  const std::size_t failed = first_failure.load();
  const std::size_t last = failed == kNoFailure ? n : failed + 1;
  std::ostream& out = vm.output();
  for (std::size_t i = 0; i < last; ++i) {
    const WorkerJob& job = *jobs[i % w_count];
    std::size_t k = i / w_count;
    if (k < job.outputs.size()) out << job.outputs[k];
  }
  if (failed != kNoFailure) {
    const WorkerJob& job = *jobs[failed % w_count];
    context.error(context.name() + ": element " + std::to_string(failed) + " failed: " + job.error);
  }
  if (!keep_results) return Value();

  // Copying back, again on the caller's thread; the workers are done.
  List* results = vm.heap().list(n);
  results->resize(vm.heap(), n);
  for (std::size_t w = 0; w < w_count; ++w) {
    WorkerJob& job = *jobs[w];
    Transfer transfer(vm.heap());
    const std::vector<Value>& roots = job.roots->values();
    const std::size_t base = 1 + job.indices.size();
    for (std::size_t k = 0; k < job.indices.size(); ++k) {
      try {
        Value copy = transfer(roots[base + k]);
        results->set(job.indices[k], copy);
        vm.heap().write_barrier(results, copy);
      } catch (const miso::Error& e) {
        context.error(context.name() + ": result of element " + std::to_string(job.indices[k]) + ": " + e.what());
      }
    }
  }
  return Value::object(results);
}

// nexus.parallel_map(f, xs, options?)
Value nexus_parallel_map(NativeCallContext& context, Args args) {
  if (args.size() < 2 || args.size() > 3)
    context.error("nexus.parallel_map() expects 2 or 3 arguments (f, xs, options), got " + std::to_string(args.size()));
  Value f = arg_callable(context, args, 0, "f");
  List* xs = arg_list(context, args, 1, "xs");
  unsigned workers = workers_option(context, args, 2);
  std::vector<Value> items(xs->items().begin(), xs->items().end());
  return parallel_run(context, f, items, workers, true);
}

// nexus.parallel_for(n, f, options?)
Value nexus_parallel_for(NativeCallContext& context, Args args) {
  if (args.size() < 2 || args.size() > 3)
    context.error("nexus.parallel_for() expects 2 or 3 arguments (n, f, options), got " + std::to_string(args.size()));
  std::int64_t n = arg_int(context, args, 0, "n");
  if (n < 0) context.error("nexus.parallel_for: n must be >= 0, got " + std::to_string(n));
  if (n > (std::int64_t{1} << 24))
    context.error("nexus.parallel_for: n must be at most 2^24, got " + std::to_string(n));
  Value f = arg_callable(context, args, 1, "f");
  unsigned workers = workers_option(context, args, 2);
  std::vector<Value> items;
  items.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) items.push_back(Value::small_int(i));
  return parallel_run(context, f, items, workers, false);
}

// nexus.map_reduce(f, xs, combine, init, options?): combine(acc, f(x)) left to right
// in the caller (deterministic order), the maps in parallel.
Value nexus_map_reduce(NativeCallContext& context, Args args) {
  if (args.size() < 4 || args.size() > 5)
    context.error("nexus.map_reduce() expects 4 or 5 arguments (f, xs, combine, init, options), got " +
                  std::to_string(args.size()));
  Value f = arg_callable(context, args, 0, "f");
  List* xs = arg_list(context, args, 1, "xs");
  Value combine = arg_callable(context, args, 2, "combine");
  unsigned workers = workers_option(context, args, 4);
  std::vector<Value> items(xs->items().begin(), xs->items().end());
  Heap& heap = context.heap();
  // combine runs script code (a safepoint): keep everything it must not lose rooted.
  Rooted keep_combine(heap, combine);
  Rooted acc(heap, args[3]);
  Rooted mapped(heap, parallel_run(context, f, items, workers, true));
  for (std::size_t i = 0; i < mapped->as_list()->size(); ++i) {
    Value pair[2] = {acc.get(), mapped->as_list()->at(i)};
    acc.set(context.vm.call(keep_combine.get(), pair));
  }
  return acc.get();
}

Value nexus_workers(NativeCallContext&, Args) { return Value::small_int(default_workers()); }

const NativeBinding kNexusFunctions[] = {
    {"parallel_map", nexus_parallel_map, -1,
     "nexus.parallel_map(f, xs, options?): [f(x) for x in xs] on worker VMs in parallel; options {workers: n}"},
    {"parallel_for", nexus_parallel_for, -1,
     "nexus.parallel_for(n, f, options?): f(i) for i in 0..n-1 on worker VMs in parallel; returns nil"},
    {"map_reduce", nexus_map_reduce, -1,
     "nexus.map_reduce(f, xs, combine, init, options?): combine(acc, f(x)) left to right, maps in parallel"},
    {"workers", nexus_workers, 0, "nexus.workers(): threads of the executor (the default worker count)"},
};

}  // namespace

void install_nexus_module(Vm& vm) { vm.define_module("nexus", kNexusFunctions); }

}  // namespace miso::mcode
