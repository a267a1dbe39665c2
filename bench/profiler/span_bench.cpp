// What a span, a counter, an instrumented lock and an accounted allocation cost,
// next to what people would otherwise write: a hand-rolled span of two
// steady_clock readings pushed into a mutex-guarded vector, std::mutex, and
// malloc/free without accounting. Reported as time per operation (per_op).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "miso/profiler/metric.hpp"
#include "miso/profiler/mutex.hpp"
#include "miso/profiler/span.hpp"
#include "miso/profiler/thread_registry.hpp"

namespace {

constexpr int kBatch = 1000;

void per_op(benchmark::State& state) {
  state.counters["per_op"] = benchmark::Counter(static_cast<double>(state.iterations()) * kBatch,
                                                benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Loop_Empty(benchmark::State& state) {
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) benchmark::DoNotOptimize(i);
  }
  per_op(state);
}
BENCHMARK(BM_Loop_Empty);

void BM_Span_Enabled(benchmark::State& state) {
  miso::profiler::set_enabled(true);
  std::int64_t batches = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      MISO_PROFILE_SCOPE("bench.span");
      benchmark::DoNotOptimize(i);
    }
    if (++batches % 1000 == 0) miso::profiler::discard_thread_events();  // bound memory
  }
  miso::profiler::discard_thread_events();
  per_op(state);
}
BENCHMARK(BM_Span_Enabled);

void BM_Span_Disabled(benchmark::State& state) {
  miso::profiler::set_enabled(false);
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      MISO_PROFILE_SCOPE("bench.span");
      benchmark::DoNotOptimize(i);
    }
  }
  miso::profiler::set_enabled(true);
  per_op(state);
}
BENCHMARK(BM_Span_Disabled);

// Peer: the span people write by hand.
struct NaiveEvent {
  const char* name;
  std::chrono::steady_clock::time_point start, end;
};
std::mutex g_naive_mutex;
std::vector<NaiveEvent> g_naive_events;

void BM_Peer_HandRolledSpan(benchmark::State& state) {
  std::int64_t batches = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      auto start = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(i);
      auto end = std::chrono::steady_clock::now();
      std::lock_guard lock(g_naive_mutex);
      g_naive_events.push_back({"bench.span", start, end});
    }
    if (++batches % 1000 == 0) g_naive_events.clear();
  }
  g_naive_events.clear();
  g_naive_events.shrink_to_fit();
  per_op(state);
}
BENCHMARK(BM_Peer_HandRolledSpan);

void BM_Counter_Add(benchmark::State& state) {
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) MISO_PROFILE_COUNT("bench.counter", 1);
  }
  per_op(state);
}
BENCHMARK(BM_Counter_Add);

void BM_Mutex_Instrumented(benchmark::State& state) {
  static miso::profiler::Mutex m("bench.mutex");
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      std::lock_guard lock(m);
      benchmark::DoNotOptimize(i);
    }
  }
  per_op(state);
}
BENCHMARK(BM_Mutex_Instrumented);

void BM_Peer_StdMutex(benchmark::State& state) {
  static std::mutex m;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      std::lock_guard lock(m);
      benchmark::DoNotOptimize(i);
    }
  }
  per_op(state);
}
BENCHMARK(BM_Peer_StdMutex);

void BM_NewDelete_Accounted(benchmark::State& state) {
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      auto* p = new char[64];
      benchmark::DoNotOptimize(p);
      delete[] p;
    }
  }
  per_op(state);
}
BENCHMARK(BM_NewDelete_Accounted);

void BM_Peer_MallocFree(benchmark::State& state) {
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      void* p = std::malloc(64);
      benchmark::DoNotOptimize(p);
      std::free(p);
    }
  }
  per_op(state);
}
BENCHMARK(BM_Peer_MallocFree);

}  // namespace

BENCHMARK_MAIN();
