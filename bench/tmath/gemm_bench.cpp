// GEMM throughput of square products: miso matmul f32 against cblas_sgemm on
// the same buffers, and miso bf16 (AVX512-BF16 kernel where the CPU has it, and
// the portable f32 path, and the automatic choice between them) against f32. Counter GFLOPS = 2 n^3 per iteration,
// shown as a rate (flop/s, printed with an SI prefix: 150G/s is 150 GFLOP/s).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdint>
#include <string>

#include "miso/tmath/linalg.hpp"
#include "miso/tmath/ops.hpp"

namespace {

using miso::tmath::DType;
using miso::tmath::Tensor;

void set_flops(benchmark::State& state, std::int64_t n) {
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * static_cast<double>(n) * static_cast<double>(n) *
                                                    static_cast<double>(n) * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}

void operands(std::int64_t n, DType dtype, Tensor& a, Tensor& b) {
  miso::tmath::Generator gen(1);
  a = miso::tmath::rand_normal({n, n}, gen, 0.0, 1.0, dtype);
  b = miso::tmath::rand_normal({n, n}, gen, 0.0, 1.0, dtype);
}

void BM_MisoMatmul(benchmark::State& state, DType dtype, miso::tmath::Bf16Kernel kernel) {
  const std::int64_t n = state.range(0);
  if (kernel == miso::tmath::Bf16Kernel::Avx512 && !miso::tmath::bf16_dot_available()) {
    state.SkipWithError("no AVX512-BF16 on this CPU");
    return;
  }
  miso::tmath::set_bf16_kernel(kernel);
  Tensor a, b;
  operands(n, dtype, a, b);
  for (auto _ : state) {
    Tensor c = miso::tmath::matmul(a, b);
    benchmark::DoNotOptimize(c.raw_data());
  }
  miso::tmath::set_bf16_kernel(miso::tmath::Bf16Kernel::Auto);
  set_flops(state, n);
}

void BM_CblasSgemm(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  Tensor a, b;
  operands(n, DType::F32, a, b);
  Tensor c = Tensor::empty({n, n}, DType::F32);
  const auto ni = static_cast<blasint>(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a.data<float>(), ni, b.data<float>(), ni,
                0.0f, c.data<float>(), ni);
    benchmark::DoNotOptimize(c.raw_data());
  }
  set_flops(state, n);
}

void sizes(benchmark::internal::Benchmark* b) { b->Unit(benchmark::kMillisecond)->UseRealTime(); }

}  // namespace

BENCHMARK(BM_CblasSgemm)->Apply(sizes)->Arg(256)->Arg(1024);
BENCHMARK(BM_CblasSgemm)->Apply(sizes)->Arg(4096)->Iterations(1);
BENCHMARK_CAPTURE(BM_MisoMatmul, f32, DType::F32, miso::tmath::Bf16Kernel::Auto)->Apply(sizes)->Arg(256)->Arg(1024);
BENCHMARK_CAPTURE(BM_MisoMatmul, f32, DType::F32, miso::tmath::Bf16Kernel::Auto)
    ->Apply(sizes)
    ->Arg(4096)
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_MisoMatmul, bf16_auto, DType::BF16, miso::tmath::Bf16Kernel::Auto)
    ->Apply(sizes)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024);
BENCHMARK_CAPTURE(BM_MisoMatmul, bf16_auto, DType::BF16, miso::tmath::Bf16Kernel::Auto)
    ->Apply(sizes)
    ->Arg(4096)
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_MisoMatmul, bf16_avx512, DType::BF16, miso::tmath::Bf16Kernel::Avx512)
    ->Apply(sizes)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024);
BENCHMARK_CAPTURE(BM_MisoMatmul, bf16_avx512, DType::BF16, miso::tmath::Bf16Kernel::Avx512)
    ->Apply(sizes)
    ->Arg(4096)
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_MisoMatmul, bf16_portable, DType::BF16, miso::tmath::Bf16Kernel::Portable)
    ->Apply(sizes)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024);
BENCHMARK_CAPTURE(BM_MisoMatmul, bf16_portable, DType::BF16, miso::tmath::Bf16Kernel::Portable)
    ->Apply(sizes)
    ->Arg(4096)
    ->Iterations(1);

int main(int argc, char** argv) {
  // What the dispatch decides on, in the report's context.
  benchmark::AddCustomContext("openblas_core", miso::tmath::blas_core());
  benchmark::AddCustomContext("bf16_dot_speed", std::to_string(miso::tmath::bf16_dot_speed()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
