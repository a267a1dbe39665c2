// Internal: the block kernels of the elementwise operations, shared by eager
// (elementwise.cpp) and lazy (lazy.cpp) evaluation. Each applies one operation
// to n values of the compute type C in contiguous arrays.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "miso/tmath/ops.hpp"
#include "miso/tmath/vector_math.hpp"

namespace miso::tmath::detail {

inline bool is_float_function(UnaryOp op) noexcept {
  return op != UnaryOp::Neg && op != UnaryOp::Abs && op != UnaryOp::Relu;
}

template <typename C>
inline C wrap_add(C a, C b) noexcept {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) + static_cast<std::make_unsigned_t<C>>(b));
  } else {
    return a + b;
  }
}
template <typename C>
inline C wrap_sub(C a, C b) noexcept {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) - static_cast<std::make_unsigned_t<C>>(b));
  } else {
    return a - b;
  }
}
template <typename C>
inline C wrap_mul(C a, C b) noexcept {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) * static_cast<std::make_unsigned_t<C>>(b));
  } else {
    return a * b;
  }
}

// Integer power by squaring; a negative exponent gives 0 except for bases 1 and -1.
template <typename C>
inline C int_pow(C base, C exponent) noexcept {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exponent % 2 == 0) ? 1 : -1;
    return 0;
  }
  C result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    exponent >>= 1;
  }
  return result;
}

// One operand repeated: index it like an array (the loops then broadcast it
// from a register instead of reading a filled buffer).
template <typename C>
struct Splat {
  C value;
  C operator[](std::int64_t) const noexcept { return value; }
};

// o[i] = a[i] op b[i]; A and B are `const C*` or Splat<C>.
template <typename C, typename A, typename B>
inline void binary_apply(BinaryOp op, A a, B b, C* o, std::int64_t n) {
  switch (op) {
    case BinaryOp::Add:
      for (std::int64_t i = 0; i < n; ++i) o[i] = wrap_add(a[i], b[i]);
      break;
    case BinaryOp::Sub:
      for (std::int64_t i = 0; i < n; ++i) o[i] = wrap_sub(a[i], b[i]);
      break;
    case BinaryOp::Mul:
      for (std::int64_t i = 0; i < n; ++i) o[i] = wrap_mul(a[i], b[i]);
      break;
    case BinaryOp::Div:
      if constexpr (std::is_floating_point_v<C>) {
        for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] / b[i];
      }
      break;
    case BinaryOp::Pow:
      if constexpr (std::is_floating_point_v<C>) {
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::pow(a[i], b[i]);
      } else {
        for (std::int64_t i = 0; i < n; ++i) o[i] = int_pow(a[i], b[i]);
      }
      break;
    case BinaryOp::Maximum:  // NaN wins, as in NumPy
      for (std::int64_t i = 0; i < n; ++i) o[i] = (a[i] > b[i] || a[i] != a[i]) ? a[i] : b[i];
      break;
    case BinaryOp::Minimum:
      for (std::int64_t i = 0; i < n; ++i) o[i] = (a[i] < b[i] || a[i] != a[i]) ? a[i] : b[i];
      break;
    case BinaryOp::Eq:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] == b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Ne:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] != b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Lt:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] < b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Le:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] <= b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Gt:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] > b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Ge:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] >= b[i] ? C(1) : C(0);
      break;
  }
}

template <typename C>
inline void binary_block(BinaryOp op, const C* a, const C* b, C* o, std::int64_t n) {
  binary_apply<C>(op, a, b, o, n);
}

template <typename C>
inline void unary_block(UnaryOp op, const C* a, C* o, std::int64_t n) {
  if constexpr (std::is_integral_v<C>) {
    switch (op) {
      case UnaryOp::Neg:
        for (std::int64_t i = 0; i < n; ++i) o[i] = wrap_sub(C(0), a[i]);
        break;
      case UnaryOp::Abs:
        for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] < 0 ? wrap_sub(C(0), a[i]) : a[i];
        break;
      case UnaryOp::Relu:
        for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] > 0 ? a[i] : C(0);
        break;
      default: break;  // float functions compute in f32 (compute_dtype)
    }
  } else {
    if constexpr (std::is_same_v<C, float>) {  // the vectorised f32 functions (SLEEF)
      switch (op) {
        case UnaryOp::Exp: return vmath::exp(a, o, n);
        case UnaryOp::Log: return vmath::log(a, o, n);
        case UnaryOp::Tanh: return vmath::tanh(a, o, n);
        case UnaryOp::Erf: return vmath::erf(a, o, n);
        case UnaryOp::Sigmoid: return vmath::sigmoid(a, o, n);
        case UnaryOp::Gelu: return vmath::gelu(a, o, n);
        default: break;
      }
    }
    constexpr C kInvSqrt2 = C(0.70710678118654752440);
    switch (op) {
      case UnaryOp::Neg:
        for (std::int64_t i = 0; i < n; ++i) o[i] = -a[i];
        break;
      case UnaryOp::Abs:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::abs(a[i]);
        break;
      case UnaryOp::Exp:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::exp(a[i]);
        break;
      case UnaryOp::Log:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::log(a[i]);
        break;
      case UnaryOp::Sqrt:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::sqrt(a[i]);
        break;
      case UnaryOp::Tanh:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::tanh(a[i]);
        break;
      case UnaryOp::Sigmoid:
        for (std::int64_t i = 0; i < n; ++i) o[i] = C(1) / (C(1) + std::exp(-a[i]));
        break;
      case UnaryOp::Relu:
        for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] > C(0) ? a[i] : C(0);
        break;
      case UnaryOp::Gelu:
        for (std::int64_t i = 0; i < n; ++i) o[i] = C(0.5) * a[i] * std::erfc(-a[i] * kInvSqrt2);
        break;
      case UnaryOp::Erf:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::erf(a[i]);
        break;
      case UnaryOp::Sin:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::sin(a[i]);
        break;
      case UnaryOp::Cos:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::cos(a[i]);
        break;
      case UnaryOp::Tan:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::tan(a[i]);
        break;
      case UnaryOp::Asin:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::asin(a[i]);
        break;
      case UnaryOp::Acos:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::acos(a[i]);
        break;
      case UnaryOp::Atan:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::atan(a[i]);
        break;
    }
  }
}

// The f32 kernels compiled three times (AVX-512, AVX2, baseline x86-64) and
// chosen by the CPU when the program loads (GCC function multiversioning), so
// the hottest type runs 16 lanes wide while the library stays portable.
void binary_block_f32(BinaryOp op, const float* a, const float* b, float* o, std::int64_t n);
void binary_scalar_rhs_f32(BinaryOp op, const float* a, float b, float* o, std::int64_t n);
void binary_scalar_lhs_f32(BinaryOp op, float a, const float* b, float* o, std::int64_t n);
void unary_block_f32(UnaryOp op, const float* a, float* o, std::int64_t n);

template <typename C>
inline void apply_binary(BinaryOp op, const C* a, const C* b, C* o, std::int64_t n) {
  if constexpr (std::is_same_v<C, float>) {
    binary_block_f32(op, a, b, o, n);
  } else {
    binary_block<C>(op, a, b, o, n);
  }
}

// a op b with b (rhs) or a (lhs) one value.
template <typename C>
inline void apply_binary_rhs(BinaryOp op, const C* a, C b, C* o, std::int64_t n) {
  if constexpr (std::is_same_v<C, float>) {
    binary_scalar_rhs_f32(op, a, b, o, n);
  } else {
    binary_apply<C>(op, a, Splat<C>{b}, o, n);
  }
}

template <typename C>
inline void apply_binary_lhs(BinaryOp op, C a, const C* b, C* o, std::int64_t n) {
  if constexpr (std::is_same_v<C, float>) {
    binary_scalar_lhs_f32(op, a, b, o, n);
  } else {
    binary_apply<C>(op, Splat<C>{a}, b, o, n);
  }
}

template <typename C>
inline void apply_unary(UnaryOp op, const C* a, C* o, std::int64_t n) {
  if constexpr (std::is_same_v<C, float>) {
    unary_block_f32(op, a, o, n);
  } else {
    unary_block<C>(op, a, o, n);
  }
}

}  // namespace miso::tmath::detail
