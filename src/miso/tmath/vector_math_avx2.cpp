// Compiled with -mavx2 -mfma; reached only when the CPU has them.
#include <immintrin.h>
#include <sleef.h>

#include <cstdint>

#include <cstring>

#include "miso/tmath/vector_math.hpp"

namespace miso::tmath::vmath::detail {

namespace {

template <typename F>
inline void apply(const float* x, float* y, std::int64_t n, F f) noexcept {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float tail[8] = {};
    const auto rest = static_cast<std::size_t>(n - i);
    std::memcpy(tail, x + i, rest * sizeof(float));
    _mm256_store_ps(tail, f(_mm256_load_ps(tail)));
    std::memcpy(y + i, tail, rest * sizeof(float));
  }
}

void v_exp(const float* x, float* y, std::int64_t n) noexcept {
  apply(x, y, n, [](__m256 v) { return Sleef_expf8_u10avx2(v); });
}
void v_log(const float* x, float* y, std::int64_t n) noexcept {
  apply(x, y, n, [](__m256 v) { return Sleef_logf8_u10avx2(v); });
}
void v_tanh(const float* x, float* y, std::int64_t n) noexcept {
  apply(x, y, n, [](__m256 v) { return Sleef_tanhf8_u10avx2(v); });
}
void v_erf(const float* x, float* y, std::int64_t n) noexcept {
  apply(x, y, n, [](__m256 v) { return Sleef_erff8_u10avx2(v); });
}
inline __m256 sigmoid_of(__m256 v) noexcept {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_setzero_ps(), v));
  return _mm256_div_ps(one, _mm256_add_ps(one, e));
}
void v_sigmoid(const float* x, float* y, std::int64_t n) noexcept { apply(x, y, n, sigmoid_of); }
// GELU as x/2 * erfc(-x/sqrt(2)) with erfc from Numerical Recipes' erfcc
// (Chebyshev fit, relative error below 1.2e-7 everywhere, so there is no
// cancellation for negative x): a division, an exp and nine FMAs instead of
// SLEEF's erfc, several times slower.
inline __m256 erfc_nr(__m256 z) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.5f), a, one));
  __m256 p = _mm256_set1_ps(0.17087277f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
  const __m256 arg = _mm256_fnmadd_ps(a, a, p);  // -a^2 + p
  const __m256 r = _mm256_mul_ps(t, Sleef_expf8_u10avx2(arg));
  const __m256 negative = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ);
  return _mm256_blendv_ps(r, _mm256_sub_ps(_mm256_set1_ps(2.0f), r), negative);
}

inline __m256 gelu_of(__m256 v) noexcept {
  __m256 c = erfc_nr(_mm256_mul_ps(v, _mm256_set1_ps(-0.70710678118654752f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), c);
}
void v_gelu(const float* x, float* y, std::int64_t n) noexcept { apply(x, y, n, gelu_of); }

[[gnu::always_inline]] inline __m256 step(__m256 x, const Step s) noexcept {
  const __m256 c = _mm256_set1_ps(s.c);
  const __m256 a = s.constant_first ? c : x, b = s.constant_first ? x : c;
  switch (s.op) {
    case Step::Op::Add: return _mm256_add_ps(a, b);
    case Step::Op::Sub: return _mm256_sub_ps(a, b);
    case Step::Op::Mul: return _mm256_mul_ps(a, b);
    case Step::Op::Div: return _mm256_div_ps(a, b);
    case Step::Op::Max:
      return _mm256_blendv_ps(b, a, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q)));
    case Step::Op::Min:
      return _mm256_blendv_ps(b, a, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q)));
  }
  return x;
}

// Eight vectors at a time: each step's operation is chosen once per eight
// vectors (a switch per vector per step costs more than the arithmetic) and
// the eight stay in registers from the load to the store.
constexpr int kLanes = 8;
constexpr int kGroup = 8;

inline void steps_on(const Step* steps, int count, __m256* v) noexcept {
  for (int k = 0; k < count; ++k) {
    const Step& s = steps[k];
    // One switch for the group; step() is then inlined with a known op.
    switch (s.op) {
      case Step::Op::Add:
        for (int j = 0; j < kGroup; ++j) v[j] = step(v[j], {Step::Op::Add, s.constant_first, s.c});
        break;
      case Step::Op::Sub:
        for (int j = 0; j < kGroup; ++j) v[j] = step(v[j], {Step::Op::Sub, s.constant_first, s.c});
        break;
      case Step::Op::Mul:
        for (int j = 0; j < kGroup; ++j) v[j] = step(v[j], {Step::Op::Mul, s.constant_first, s.c});
        break;
      case Step::Op::Div:
        for (int j = 0; j < kGroup; ++j) v[j] = step(v[j], {Step::Op::Div, s.constant_first, s.c});
        break;
      case Step::Op::Max:
        for (int j = 0; j < kGroup; ++j) v[j] = step(v[j], {Step::Op::Max, s.constant_first, s.c});
        break;
      case Step::Op::Min:
        for (int j = 0; j < kGroup; ++j) v[j] = step(v[j], {Step::Op::Min, s.constant_first, s.c});
        break;
    }
  }
}

template <typename F>
void map_with(F f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y,
              std::int64_t n) noexcept {
  constexpr std::int64_t kBlock = kLanes * kGroup;
  auto group = [&](const float* in, float* out) {
    __m256 v[kGroup];
    for (int j = 0; j < kGroup; ++j) v[j] = _mm256_loadu_ps(in + j * kLanes);
    steps_on(pre, npre, v);
    for (int j = 0; j < kGroup; ++j) v[j] = f(v[j]);
    steps_on(post, npost, v);
    for (int j = 0; j < kGroup; ++j) _mm256_storeu_ps(out + j * kLanes, v[j]);
  };
  std::int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) group(x + i, y + i);
  if (i < n) {  // the tail through a padded buffer
    alignas(64) float tail[kBlock] = {};
    const auto rest = static_cast<std::size_t>(n - i);
    std::memcpy(tail, x + i, rest * sizeof(float));
    group(tail, tail);
    std::memcpy(y + i, tail, rest * sizeof(float));
  }
}

void v_map(Fn f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y,
           std::int64_t n) noexcept {
  switch (f) {
    case Fn::Identity: return map_with([](__m256 v) { return v; }, pre, npre, post, npost, x, y, n);
    case Fn::Exp: return map_with([](__m256 v) { return Sleef_expf8_u10avx2(v); }, pre, npre, post, npost, x, y, n);
    case Fn::Log: return map_with([](__m256 v) { return Sleef_logf8_u10avx2(v); }, pre, npre, post, npost, x, y, n);
    case Fn::Tanh: return map_with([](__m256 v) { return Sleef_tanhf8_u10avx2(v); }, pre, npre, post, npost, x, y, n);
    case Fn::Erf: return map_with([](__m256 v) { return Sleef_erff8_u10avx2(v); }, pre, npre, post, npost, x, y, n);
    case Fn::Sigmoid: return map_with(sigmoid_of, pre, npre, post, npost, x, y, n);
    case Fn::Gelu: return map_with(gelu_of, pre, npre, post, npost, x, y, n);
  }
}

void v_stream_copy(float* dst, const float* src, std::int64_t n) noexcept {
  std::int64_t i = 0;
  // Scalar stores up to the first aligned address, then streaming vectors.
  while (i < n && (reinterpret_cast<std::uintptr_t>(dst + i) % 32) != 0) {
    dst[i] = src[i];
    ++i;
  }
  for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = src[i];
  _mm_sfence();
}

}  // namespace

const Kernels& avx2_kernels() noexcept {
  static const Kernels k{v_exp, v_log, v_tanh, v_erf, v_sigmoid, v_gelu, v_stream_copy, v_map};
  return k;
}

}  // namespace miso::tmath::vmath::detail
