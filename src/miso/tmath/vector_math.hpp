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

// One scalar operation of a fused chain, applied in registers: x op c, or
// c op x when constant_first, with the semantics of the elementwise operations
// (Max/Min: a NaN first operand wins, else the larger/smaller, else the second).
struct Step {
  enum class Op : std::uint8_t { Add, Sub, Mul, Div, Max, Min };
  Op op = Op::Add;
  bool constant_first = false;
  float c = 0;
};
enum class Fn : std::uint8_t { Identity, Exp, Log, Tanh, Erf, Sigmoid, Gelu };

// y[i] = post(f(pre(x[i]))) for i < n: the npre steps of `pre` in order, then f,
// then the npost steps of `post`, in one pass: the intermediate values never
// leave the registers. Bit for bit what applying each operation over the array
// in turn gives (no contraction into fused multiply-adds). x and y may be the
// same array.
//
// With Store::Streaming the results go to y with non-temporal stores where y is
// 64-byte aligned (as stream_copy, ending with a store fence): for results far
// larger than the caches, written straight from the registers, so the memory
// traffic overlaps the arithmetic instead of following it.
enum class Store : std::uint8_t { Cached, Streaming };
void map(Fn f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y, std::int64_t n,
         Store store = Store::Cached) noexcept;

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
  void (*map)(Fn, const Step*, int, const Step*, int, const float*, float*, std::int64_t, Store) noexcept;
};
// The scalar semantics of one step (the reference of the vector versions).
inline float apply_step(const Step& s, float x) noexcept {
  const float a = s.constant_first ? s.c : x, b = s.constant_first ? x : s.c;
  switch (s.op) {
    case Step::Op::Add: return a + b;
    case Step::Op::Sub: return a - b;
    case Step::Op::Mul: return a * b;
    case Step::Op::Div: return a / b;
    case Step::Op::Max: return (a > b || a != a) ? a : b;
    case Step::Op::Min: return (a < b || a != a) ? a : b;
  }
  return x;
}
const Kernels& scalar_kernels() noexcept;
const Kernels& avx2_kernels() noexcept;    // call only where the CPU has AVX2 and FMA
const Kernels& avx512_kernels() noexcept;  // call only where the CPU has AVX-512F
}  // namespace detail

}  // namespace miso::tmath::vmath
