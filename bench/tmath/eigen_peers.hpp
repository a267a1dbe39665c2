// The Eigen 3 peers of the elementwise benchmarks, in their own translation
// unit: it is compiled for the build machine's instruction set (-march=native),
// as an Eigen user tuning for speed would build it, while the rest of the
// benchmark stays portable.
#pragma once

#include <cstdint>

namespace miso::bench {

// y = gelu(a*x + b) * c with erf from Eigen's SpecialFunctions, one fused pass.
void eigen_gelu_chain(const float* x, float* y, std::int64_t n, float a, float b, float c);
// y = max(a*x + b, 0) * c.
void eigen_affine_chain(const float* x, float* y, std::int64_t n, float a, float b, float c);
float eigen_sum(const float* x, std::int64_t n);
// The instruction sets Eigen was compiled for (e.g. "AVX512F, AVX2, FMA").
const char* eigen_simd();

}  // namespace miso::bench
