// Vectorised f32 transcendental functions for the elementwise kernels: SLEEF's
// AVX-512 and AVX2 versions (1.0 ulp) for exp, log, tanh, erf and sigmoid, our
// own faster kernel for gelu, chosen once at run time by what the CPU
// supports, with a portable scalar fallback (the C library).
// Measured maximum errors per function are stated in docs/tmath.md and checked
// by tests/tmath/vector_math_test.cpp.
#pragma once

#include <cstdint>

namespace miso::tmath::vmath {

enum class Isa : std::uint8_t { Scalar, Avx2, Avx512 };

const char* name(Isa isa) noexcept;
Isa best_isa() noexcept;    // what this CPU supports
Isa active_isa() noexcept;  // what the kernels use now
// For tests and benchmarks: use `isa` (clamped to what the CPU supports).
void set_isa(Isa isa) noexcept;

// y[i] = f(x[i]) for i < n; x and y may be the same array.
void exp(const float* x, float* y, std::int64_t n) noexcept;
void log(const float* x, float* y, std::int64_t n) noexcept;
void tanh(const float* x, float* y, std::int64_t n) noexcept;
void erf(const float* x, float* y, std::int64_t n) noexcept;
void sigmoid(const float* x, float* y, std::int64_t n) noexcept;  // 1 / (1 + exp(-x))
void gelu(const float* x, float* y, std::int64_t n) noexcept;     // x/2 * erfc(-x/sqrt(2))

// dst[i] = src[i] for i < n with non-temporal (streaming) stores where dst is
// 64-byte aligned: the stores bypass the cache and skip the read-for-ownership,
// so writing a large result costs one pass over memory instead of two. Ends
// with a store fence. For results far larger than the caches.
void stream_copy(float* dst, const float* src, std::int64_t n) noexcept;

namespace detail {
// One table of kernels per instruction set.
struct Kernels {
  void (*exp)(const float*, float*, std::int64_t) noexcept;
  void (*log)(const float*, float*, std::int64_t) noexcept;
  void (*tanh)(const float*, float*, std::int64_t) noexcept;
  void (*erf)(const float*, float*, std::int64_t) noexcept;
  void (*sigmoid)(const float*, float*, std::int64_t) noexcept;
  void (*gelu)(const float*, float*, std::int64_t) noexcept;
  void (*stream_copy)(float*, const float*, std::int64_t) noexcept;
};
const Kernels& scalar_kernels() noexcept;
const Kernels& avx2_kernels() noexcept;    // call only where the CPU has AVX2 and FMA
const Kernels& avx512_kernels() noexcept;  // call only where the CPU has AVX-512F
}  // namespace detail

}  // namespace miso::tmath::vmath
