// Compiled with -mavx512f -mavx512dq -mfma; reached only when the CPU has them.
// GCC 12 flags the deliberately undefined pass-through operand inside its own
// AVX-512 intrinsics (_mm512_undefined_ps) as (maybe-)uninitialized: a false alarm.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <sleef.h>

#include <cstdint>

#include "miso/tmath/vector_math.hpp"
#include "miso/tmath/vector_math_map.hpp"

namespace miso::tmath::vmath::detail {

namespace {

template <typename F>
inline void apply(const float* x, float* y, std::int64_t n, F f) noexcept {
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, f(_mm512_loadu_ps(x + i)));
  if (i < n) {
    auto m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, m, f(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

void v_exp(const float* x, float* y, std::int64_t n) noexcept {
  apply(x, y, n, [](__m512 v) { return Sleef_expf16_u10avx512f(v); });
}
void v_log(const float* x, float* y, std::int64_t n) noexcept {
  apply(x, y, n, [](__m512 v) { return Sleef_logf16_u10avx512f(v); });
}
void v_tanh(const float* x, float* y, std::int64_t n) noexcept {
  apply(x, y, n, [](__m512 v) { return Sleef_tanhf16_u10avx512f(v); });
}
void v_erf(const float* x, float* y, std::int64_t n) noexcept {
  apply(x, y, n, [](__m512 v) { return Sleef_erff16_u10avx512f(v); });
}
inline __m512 sigmoid_of(__m512 v) noexcept {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_setzero_ps(), v));
  return _mm512_div_ps(one, _mm512_add_ps(one, e));
}
void v_sigmoid(const float* x, float* y, std::int64_t n) noexcept { apply(x, y, n, sigmoid_of); }
// GELU as x/2 * erfc(-x/sqrt(2)) with erfc from Numerical Recipes' erfcc
// (Chebyshev fit, relative error below 1.2e-7 everywhere, so there is no
// cancellation for negative x): a division, an exp and nine FMAs instead of
// SLEEF's erfc, several times slower.
// exp for the erfc below, on arguments at most 0 (-a^2 + P(t) <= 1e-7): Cody–Waite
// reduction by ln 2, a degree-6 polynomial on |r| <= ln(2)/2 (fitted at the
// Chebyshev nodes: relative error 2e-8 with its f32 coefficients), and scalef
// for 2^n, which handles underflow to zero. Inlined, it costs a third of a
// library call.
inline __m512 exp_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(0.0013941108f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.008375126f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.04166635f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.16666415f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// erfc(z)/2. The constant term of Numerical Recipes' polynomial carries the
// halving (-1.26551223 - ln 2), which saves a multiplication.
inline __m512 half_erfc_nr(__m512 z) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 a = _mm512_andnot_ps(_mm512_set1_ps(-0.0f), z);
  const __m512 d = _mm512_fmadd_ps(_mm512_set1_ps(0.5f), a, one);
  __m512 t = _mm512_rcp14_ps(d);  // 14 bits, then one Newton step: about 23
  t = _mm512_mul_ps(t, _mm512_fnmadd_ps(d, t, _mm512_set1_ps(2.0f)));
  __m512 p = _mm512_set1_ps(0.17087277f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.82215223f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.95865941f));  // -1.26551223 - ln 2
  const __m512 arg = _mm512_fnmadd_ps(a, a, p);             // -a^2 + p
  const __m512 r = _mm512_mul_ps(t, exp_nonpositive(arg));
  const __mmask16 negative = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_mask_sub_ps(r, negative, one, r);
}

inline __m512 gelu_of(__m512 v) noexcept {
  return _mm512_mul_ps(v, half_erfc_nr(_mm512_mul_ps(v, _mm512_set1_ps(-0.70710678118654752f))));
}
void v_gelu(const float* x, float* y, std::int64_t n) noexcept { apply(x, y, n, gelu_of); }

// The vector operations vmath::map is built from (vector_math_map.hpp).
struct Avx512 {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V load(const float* p) noexcept { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) noexcept { _mm512_storeu_ps(p, v); }
  static void stream(float* p, V v) noexcept {
    if ((reinterpret_cast<std::uintptr_t>(p) & 63) == 0) {
      _mm512_stream_ps(p, v);
    } else {
      _mm512_storeu_ps(p, v);
    }
  }
  static V broadcast(float c) noexcept { return _mm512_set1_ps(c); }
  template <Step::Op o>
  static V op(V a, V b) noexcept {
    if constexpr (o == Step::Op::Add) return _mm512_add_ps(a, b);
    if constexpr (o == Step::Op::Sub) return _mm512_sub_ps(a, b);
    if constexpr (o == Step::Op::Mul) return _mm512_mul_ps(a, b);
    if constexpr (o == Step::Op::Div) return _mm512_div_ps(a, b);
    if constexpr (o == Step::Op::Max) {
      return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ) | _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), b, a);
    }
    if constexpr (o == Step::Op::Min) {
      return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ) | _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), b, a);
    }
  }
  static V exp(V v) noexcept { return Sleef_expf16_u10avx512f(v); }
  static V log(V v) noexcept { return Sleef_logf16_u10avx512f(v); }
  static V tanh(V v) noexcept { return Sleef_tanhf16_u10avx512f(v); }
  static V erf(V v) noexcept { return Sleef_erff16_u10avx512f(v); }
  static V sigmoid(V v) noexcept { return sigmoid_of(v); }
  static V gelu(V v) noexcept { return gelu_of(v); }
};

void v_map(Fn f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y, std::int64_t n,
           Store store) noexcept {
  MapKernel<Avx512>::map(f, pre, npre, post, npost, x, y, n, store);
}

void v_stream_copy(float* dst, const float* src, std::int64_t n) noexcept {
  std::int64_t i = 0;
  // Scalar stores up to the first aligned address, then streaming vectors.
  while (i < n && (reinterpret_cast<std::uintptr_t>(dst + i) % 64) != 0) {
    dst[i] = src[i];
    ++i;
  }
  for (; i + 16 <= n; i += 16) _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = src[i];
  _mm_sfence();
}

}  // namespace

const Kernels& avx512_kernels() noexcept {
  static const Kernels k{v_exp, v_log, v_tanh, v_erf, v_sigmoid, v_gelu, v_stream_copy, v_map};
  return k;
}

}  // namespace miso::tmath::vmath::detail
