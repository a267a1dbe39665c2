// Compiled with -mavx512f -mavx512dq -mfma; reached only when the CPU has them.
#include <immintrin.h>
#include <sleef.h>

#include "miso/tmath/vector_math.hpp"

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
void v_sigmoid(const float* x, float* y, std::int64_t n) noexcept {
  const __m512 one = _mm512_set1_ps(1.0f);
  apply(x, y, n, [one](__m512 v) {
    __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_setzero_ps(), v));
    return _mm512_div_ps(one, _mm512_add_ps(one, e));
  });
}
void v_gelu(const float* x, float* y, std::int64_t n) noexcept {
  const __m512 neg_inv_sqrt2 = _mm512_set1_ps(-0.70710678118654752f);
  const __m512 half = _mm512_set1_ps(0.5f);
  apply(x, y, n, [=](__m512 v) {
    __m512 c = Sleef_erfcf16_u15avx512f(_mm512_mul_ps(v, neg_inv_sqrt2));
    return _mm512_mul_ps(_mm512_mul_ps(half, v), c);
  });
}

}  // namespace

const Kernels& avx512_kernels() noexcept {
  static const Kernels k{v_exp, v_log, v_tanh, v_erf, v_sigmoid, v_gelu};
  return k;
}

}  // namespace miso::tmath::vmath::detail
