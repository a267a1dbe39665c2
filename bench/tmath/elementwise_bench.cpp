// T-Mathematics elementwise work against its peers, in one binary: the fused
// chain y = gelu(a*x + b) * c over 10^8 f32 (lazy MISO, eager MISO, Eigen's
// fused single-threaded expression built for this CPU in eigen_peers.cpp, NumPy through python3 when present), a
// plain copy of the same bytes (the memory-bandwidth bound), a full sum, softmax
// and layer norm rows per second, and attention at sequence lengths 1024-4096.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "eigen_peers.hpp"
#include "miso/nexus/parallel.hpp"
#include "miso/tmath/lazy.hpp"
#include "miso/tmath/ops.hpp"

namespace {

using miso::tmath::Lazy;
using miso::tmath::Tensor;

constexpr std::int64_t kN = 100'000'000;
constexpr double kA = 1.25, kB = 0.5, kC = 0.75;

const Tensor& input() {
  static Tensor x = [] {
    miso::tmath::Generator g(1);
    return miso::tmath::rand_uniform({kN}, g, -3, 3);
  }();
  return x;
}

void bytes(benchmark::State& state, std::int64_t n) {
  state.SetBytesProcessed(state.iterations() * n * 8);  // one f32 read and one written per element
}

void BM_Copy_SingleThread(benchmark::State& state) {
  const float* x = input().data<float>();
  Tensor y = Tensor::empty({kN});
  float* out = y.data<float>();
  for (auto _ : state) {
    std::memcpy(out, x, static_cast<std::size_t>(kN) * sizeof(float));
    benchmark::ClobberMemory();
  }
  bytes(state, kN);
}
BENCHMARK(BM_Copy_SingleThread)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Copy_AllCores(benchmark::State& state) {
  const float* x = input().data<float>();
  Tensor y = Tensor::empty({kN});
  float* out = y.data<float>();
  for (auto _ : state) {
    miso::nexus::parallel_for(0, static_cast<std::size_t>(kN), [&](std::size_t b, std::size_t e) {
      std::memcpy(out + b, x + b, (e - b) * sizeof(float));
    });
    benchmark::ClobberMemory();
  }
  bytes(state, kN);
}
BENCHMARK(BM_Copy_AllCores)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Miso_LazyGeluChain(benchmark::State& state) {
  Lazy x(input());
  for (auto _ : state) {
    Tensor y = (miso::tmath::gelu(x * kA + kB) * kC).eval();
    benchmark::DoNotOptimize(y.raw_data());
  }
  bytes(state, kN);
}
BENCHMARK(BM_Miso_LazyGeluChain)->Unit(benchmark::kMillisecond)->UseRealTime();

// A chain with little arithmetic per byte: the engine's own overhead against
// the copy (achieved bandwidth of fused elementwise work).
void BM_Miso_LazyAffineChain(benchmark::State& state) {
  Lazy x(input());
  for (auto _ : state) {
    Tensor y = (miso::tmath::maximum(x * kA + kB, miso::tmath::constant(0.0)) * kC).eval();
    benchmark::DoNotOptimize(y.raw_data());
  }
  bytes(state, kN);
}
BENCHMARK(BM_Miso_LazyAffineChain)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same chains over 2^16 elements that stay in the caches: the engine's
// compute cost per element, apart from memory bandwidth.
constexpr std::int64_t kSmall = 1 << 16;

void elements(benchmark::State& state, std::int64_t n) {
  state.counters["elements/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate);
}

void BM_Miso_LazyGeluChain_InCache(benchmark::State& state) {
  Lazy x(input().slice(0, 0, kSmall).contiguous());
  for (auto _ : state) {
    Tensor y = (miso::tmath::gelu(x * kA + kB) * kC).eval();
    benchmark::DoNotOptimize(y.raw_data());
  }
  elements(state, kSmall);
}
BENCHMARK(BM_Miso_LazyGeluChain_InCache)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Miso_LazyAffineChain_InCache(benchmark::State& state) {
  Lazy x(input().slice(0, 0, kSmall).contiguous());
  for (auto _ : state) {
    Tensor y = (miso::tmath::maximum(x * kA + kB, miso::tmath::constant(0.0)) * kC).eval();
    benchmark::DoNotOptimize(y.raw_data());
  }
  elements(state, kSmall);
}
BENCHMARK(BM_Miso_LazyAffineChain_InCache)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Eigen_GeluChain_InCache(benchmark::State& state) {
  const float* x = input().data<float>();
  Tensor y = Tensor::empty({kSmall});
  for (auto _ : state) {
    miso::bench::eigen_gelu_chain(x, y.data<float>(), kSmall, kA, kB, kC);
    benchmark::DoNotOptimize(y.raw_data());
  }
  elements(state, kSmall);
}
BENCHMARK(BM_Eigen_GeluChain_InCache)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Eigen_AffineChain_InCache(benchmark::State& state) {
  const float* x = input().data<float>();
  Tensor y = Tensor::empty({kSmall});
  for (auto _ : state) {
    miso::bench::eigen_affine_chain(x, y.data<float>(), kSmall, kA, kB, kC);
    benchmark::DoNotOptimize(y.raw_data());
  }
  elements(state, kSmall);
}
BENCHMARK(BM_Eigen_AffineChain_InCache)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Miso_EagerGeluChain(benchmark::State& state) {
  const Tensor& x = input();
  for (auto _ : state) {
    Tensor y = miso::tmath::gelu(x * kA + kB) * kC;
    benchmark::DoNotOptimize(y.raw_data());
  }
  bytes(state, kN);
}
BENCHMARK(BM_Miso_EagerGeluChain)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Eigen_GeluChain(benchmark::State& state) {
  const float* x = input().data<float>();
  Tensor y = Tensor::empty({kN});
  for (auto _ : state) {
    miso::bench::eigen_gelu_chain(x, y.data<float>(), kN, kA, kB, kC);
    benchmark::DoNotOptimize(y.raw_data());
  }
  state.SetLabel(miso::bench::eigen_simd());
  bytes(state, kN);
}
BENCHMARK(BM_Eigen_GeluChain)->Unit(benchmark::kMillisecond)->UseRealTime();

// NumPy in a python3 process, timed there (the array is made there too).
void BM_Numpy_GeluChain(benchmark::State& state) {
  // The first python3 that has NumPy (a pyenv python3 on PATH may lack it).
  static const std::string python =
      std::system("python3 -c 'import numpy' >/dev/null 2>&1") == 0 ? "python3" : "/usr/bin/python3";
  const std::string script =
      python +
      " -c \"import time, math, numpy as np\n"
      "x = np.random.default_rng(1).uniform(-3, 3, 100000000).astype(np.float32)\n"
      "def erf(v):\n"
      " try:\n  from scipy.special import erf as e\n  return e(v)\n except Exception:\n  pass\n"
      " s = np.sign(v); a = np.abs(v); t = np.float32(1) / (np.float32(1) + np.float32(0.3275911) * a)\n"
      " p = ((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t + np.float32(1.421413741)) * t"
      " - np.float32(0.284496736)) * t + np.float32(0.254829592)) * t\n"
      " return s * (np.float32(1) - p * np.exp(-a * a))\n"
      "t = time.perf_counter()\n"
      "z = x * np.float32(1.25) + np.float32(0.5)\n"
      "y = np.float32(0.5) * z * (np.float32(1) + erf(z * np.float32(0.70710678))) * np.float32(0.75)\n"
      "print(time.perf_counter() - t)\" 2>/dev/null";
  for (auto _ : state) {
    FILE* p = popen(script.c_str(), "r");
    double seconds = -1;
    if (p != nullptr) {
      if (std::fscanf(p, "%lf", &seconds) != 1) seconds = -1;
      pclose(p);
    }
    if (seconds < 0) {
      state.SkipWithError("python3 with NumPy is not available");
      break;
    }
    state.SetIterationTime(seconds);
  }
  bytes(state, kN);
}
BENCHMARK(BM_Numpy_GeluChain)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);

void BM_Miso_SumAll(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(miso::tmath::sum(input()).item());
  state.SetBytesProcessed(state.iterations() * kN * 4);
}
BENCHMARK(BM_Miso_SumAll)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Miso_LazySumAll(benchmark::State& state) {
  Lazy x(input());
  for (auto _ : state) benchmark::DoNotOptimize(miso::tmath::sum(x).eval().item());
  state.SetBytesProcessed(state.iterations() * kN * 4);
}
BENCHMARK(BM_Miso_LazySumAll)->Unit(benchmark::kMillisecond)->UseRealTime();

// Sums over the leading and the trailing axis of a [10^4, 10^4] view.
void BM_Miso_SumAxis(benchmark::State& state) {
  Tensor x = input().reshape({10000, 10000});
  const std::int64_t axis = state.range(0);
  for (auto _ : state) benchmark::DoNotOptimize(miso::tmath::sum(x, {axis}).raw_data());
  state.SetBytesProcessed(state.iterations() * kN * 4);
}
BENCHMARK(BM_Miso_SumAxis)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Eigen_SumAll(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(miso::bench::eigen_sum(input().data<float>(), kN));
  state.SetBytesProcessed(state.iterations() * kN * 4);
}
BENCHMARK(BM_Eigen_SumAll)->Unit(benchmark::kMillisecond)->UseRealTime();

void rows_per_second(benchmark::State& state, std::int64_t rows) {
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * rows), benchmark::Counter::kIsRate);
}

void BM_Miso_Softmax(benchmark::State& state) {
  const std::int64_t rows = 16384, cols = state.range(0);
  Tensor x = input().slice(0, 0, rows * cols).reshape({rows, cols});
  for (auto _ : state) benchmark::DoNotOptimize(miso::tmath::softmax(x).raw_data());
  rows_per_second(state, rows);
}
BENCHMARK(BM_Miso_Softmax)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Miso_LayerNorm(benchmark::State& state) {
  const std::int64_t rows = 16384, cols = state.range(0);
  Tensor x = input().slice(0, 0, rows * cols).reshape({rows, cols});
  Tensor w = miso::tmath::ones({cols}), b = miso::tmath::zeros({cols});
  for (auto _ : state) benchmark::DoNotOptimize(miso::tmath::layer_norm(x, w, b).raw_data());
  rows_per_second(state, rows);
}
BENCHMARK(BM_Miso_LayerNorm)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Miso_Attention(benchmark::State& state) {
  const std::int64_t seq = state.range(0), heads = 4, dim = 64;
  miso::tmath::Generator g(3);
  Tensor q = miso::tmath::rand_normal({heads, seq, dim}, g);
  Tensor k = miso::tmath::rand_normal({heads, seq, dim}, g);
  Tensor v = miso::tmath::rand_normal({heads, seq, dim}, g);
  for (auto _ : state) benchmark::DoNotOptimize(miso::tmath::scaled_dot_product_attention(q, k, v, true).raw_data());
  // Causal: about half of 4 * seq^2 * dim flops per head.
  state.counters["GFLOPS"] = benchmark::Counter(static_cast<double>(state.iterations()) * 2.0 * heads * seq * seq * dim,
                                                benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Miso_Attention)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
