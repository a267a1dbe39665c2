// Compiled with -mavx2 -mfma; reached only when the CPU has them.
#include <immintrin.h>
#include <sleef.h>

#include <cstdint>

#include <cstring>

#include "miso/tmath/vector_math.hpp"
#include "miso/tmath/vector_math_map.hpp"

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

// The vector operations vmath::map is built from (vector_math_map.hpp).
struct Avx2 {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V load(const float* p) noexcept { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) noexcept { _mm256_storeu_ps(p, v); }
  static void stream(float* p, V v) noexcept {
    if ((reinterpret_cast<std::uintptr_t>(p) & 31) == 0) {
      _mm256_stream_ps(p, v);
    } else {
      _mm256_storeu_ps(p, v);
    }
  }
  static V broadcast(float c) noexcept { return _mm256_set1_ps(c); }
  template <Step::Op o>
  static V op(V a, V b) noexcept {
    if constexpr (o == Step::Op::Add) return _mm256_add_ps(a, b);
    if constexpr (o == Step::Op::Sub) return _mm256_sub_ps(a, b);
    if constexpr (o == Step::Op::Mul) return _mm256_mul_ps(a, b);
    if constexpr (o == Step::Op::Div) return _mm256_div_ps(a, b);
    if constexpr (o == Step::Op::Max) {
      return _mm256_blendv_ps(b, a, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q)));
    }
    if constexpr (o == Step::Op::Min) {
      return _mm256_blendv_ps(b, a, _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q)));
    }
  }
  static V exp(V v) noexcept { return Sleef_expf8_u10avx2(v); }
  static V log(V v) noexcept { return Sleef_logf8_u10avx2(v); }
  static V tanh(V v) noexcept { return Sleef_tanhf8_u10avx2(v); }
  static V erf(V v) noexcept { return Sleef_erff8_u10avx2(v); }
  static V sigmoid(V v) noexcept { return sigmoid_of(v); }
  static V gelu(V v) noexcept { return gelu_of(v); }
};

void v_map(Fn f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y, std::int64_t n,
           Store store) noexcept {
  MapKernel<Avx2>::map(f, pre, npre, post, npost, x, y, n, store);
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
