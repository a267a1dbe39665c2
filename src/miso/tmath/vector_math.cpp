#include "miso/tmath/vector_math.hpp"

#include <atomic>
#include <cmath>
#include <cstring>

namespace miso::tmath::vmath {

namespace detail {
namespace {
void s_exp(const float* x, float* y, std::int64_t n) noexcept {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
void s_log(const float* x, float* y, std::int64_t n) noexcept {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::log(x[i]);
}
void s_tanh(const float* x, float* y, std::int64_t n) noexcept {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
void s_erf(const float* x, float* y, std::int64_t n) noexcept {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::erf(x[i]);
}
void s_sigmoid(const float* x, float* y, std::int64_t n) noexcept {
  for (std::int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}
void s_gelu(const float* x, float* y, std::int64_t n) noexcept {
  for (std::int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * std::erfc(-x[i] * 0.70710678118654752f);
}
void s_stream_copy(float* dst, const float* src, std::int64_t n) noexcept {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
}
void s_map(Fn f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y, std::int64_t n,
           Store /*plain stores either way*/) noexcept {
  for (std::int64_t i = 0; i < n; ++i) {
    float v = x[i];
    for (int k = 0; k < npre; ++k) v = apply_step(pre[k], v);
    switch (f) {
      case Fn::Identity: break;
      case Fn::Exp: s_exp(&v, &v, 1); break;
      case Fn::Log: s_log(&v, &v, 1); break;
      case Fn::Tanh: s_tanh(&v, &v, 1); break;
      case Fn::Erf: s_erf(&v, &v, 1); break;
      case Fn::Sigmoid: s_sigmoid(&v, &v, 1); break;
      case Fn::Gelu: s_gelu(&v, &v, 1); break;
    }
    for (int k = 0; k < npost; ++k) v = apply_step(post[k], v);
    y[i] = v;
  }
}
}  // namespace

const Kernels& scalar_kernels() noexcept {
  static const Kernels k{s_exp, s_log, s_tanh, s_erf, s_sigmoid, s_gelu, s_stream_copy, s_map};
  return k;
}
}  // namespace detail

namespace {
const detail::Kernels& kernels_for(Isa isa) noexcept {
  switch (isa) {
    case Isa::Avx512: return detail::avx512_kernels();
    case Isa::Avx2: return detail::avx2_kernels();
    case Isa::Scalar: break;
  }
  return detail::scalar_kernels();
}

std::atomic<Isa>& chosen() noexcept {
  static std::atomic<Isa> isa{best_isa()};
  return isa;
}

const detail::Kernels& active() noexcept { return kernels_for(chosen().load(std::memory_order_relaxed)); }
}  // namespace

const char* name(Isa isa) noexcept {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    case Isa::Scalar: break;
  }
  return "scalar";
}

Isa best_isa() noexcept {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
  return Isa::Scalar;
}

Isa active_isa() noexcept { return chosen().load(std::memory_order_relaxed); }

void set_isa(Isa isa) noexcept {
  Isa best = best_isa();
  if (static_cast<int>(isa) > static_cast<int>(best)) isa = best;
  chosen().store(isa, std::memory_order_relaxed);
}

void exp(const float* x, float* y, std::int64_t n) noexcept { active().exp(x, y, n); }
void log(const float* x, float* y, std::int64_t n) noexcept { active().log(x, y, n); }
void tanh(const float* x, float* y, std::int64_t n) noexcept { active().tanh(x, y, n); }
void erf(const float* x, float* y, std::int64_t n) noexcept { active().erf(x, y, n); }
void sigmoid(const float* x, float* y, std::int64_t n) noexcept { active().sigmoid(x, y, n); }
void gelu(const float* x, float* y, std::int64_t n) noexcept { active().gelu(x, y, n); }
void stream_copy(float* dst, const float* src, std::int64_t n) noexcept { active().stream_copy(dst, src, n); }
void map(Fn f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y, std::int64_t n,
         Store store) noexcept {
  active().map(f, pre, npre, post, npost, x, y, n, store);
}

}  // namespace miso::tmath::vmath
