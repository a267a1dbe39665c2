// Element types of T-Mathematics tensors, the 16-bit float formats, and the
// promotion rules of mixed-dtype operations.
//
// Promotion (documented in docs/tmath.md): bool < i32 < i64 < f16, bf16 < f32 < f64.
// Two integer types give the wider one; an integer and a float give the float;
// f16 with bf16 gives f32 (neither holds the other); otherwise the wider float.
// f16 and bf16 are storage formats: arithmetic on them runs in f32.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace miso::tmath {

enum class DType : std::uint8_t { F32, F64, F16, BF16, I32, I64, Bool };
inline constexpr int kDTypeCount = 7;

std::size_t size_of(DType t) noexcept;
std::string_view name(DType t) noexcept;  // "f32", "bf16", ...
// Parses a name as printed by name(); throws Error(InvalidArgument) naming it.
DType parse_dtype(std::string_view text);
bool is_floating(DType t) noexcept;
bool is_integer(DType t) noexcept;  // i32, i64 (not bool)
DType promote(DType a, DType b) noexcept;
// The type arithmetic runs in: f32 for f16/bf16/f32, f64, i32/i64 as they are,
// and i32 for bool.
DType compute_type(DType t) noexcept;

// IEEE 754 binary16, stored as bits. Conversions round to nearest even and keep
// infinities, NaNs and subnormals.
struct Half {
  std::uint16_t bits = 0;
};
// bfloat16: the upper half of an f32. Conversion from f32 rounds to nearest even.
struct BFloat16 {
  std::uint16_t bits = 0;
};

inline float half_to_float(Half h) noexcept {
  // After M. Maratyszcza's FP16 library: scale the exponent with float
  // arithmetic instead of branching on subnormals.
  const std::uint32_t w = static_cast<std::uint32_t>(h.bits) << 16;
  const std::uint32_t sign = w & 0x80000000u;
  const std::uint32_t two_w = w + w;
  const float normalized = std::bit_cast<float>((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
  const float denormalized = std::bit_cast<float>((two_w >> 17) | (126u << 23)) - 0.5f;
  const std::uint32_t result = sign | (two_w < (1u << 27) ? std::bit_cast<std::uint32_t>(denormalized)
                                                          : std::bit_cast<std::uint32_t>(normalized));
  return std::bit_cast<float>(result);
}

inline Half float_to_half(float f) noexcept {
  float base = (__builtin_fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
  const std::uint32_t w = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t shl1_w = w + w;
  const std::uint32_t sign = w & 0x80000000u;
  std::uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = std::bit_cast<float>((bias >> 1) + 0x07800000u) + base;
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(base);
  const std::uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
  const std::uint32_t mantissa_bits = bits & 0x00000FFFu;
  const std::uint32_t nonsign = exp_bits + mantissa_bits;
  return Half{static_cast<std::uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign))};
}

inline float bf16_to_float(BFloat16 b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b.bits) << 16);
}

inline BFloat16 float_to_bf16(float f) noexcept {
  std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return BFloat16{static_cast<std::uint16_t>((u >> 16) | 0x0040u)};  // quiet NaN
  u += 0x7FFFu + ((u >> 16) & 1u);
  return BFloat16{static_cast<std::uint16_t>(u >> 16)};
}

// The dtype of a C++ element type (visit_dtype below goes the other way).
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::F32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::F64;
}
template <>
constexpr DType dtype_of<Half>() {
  return DType::F16;
}
template <>
constexpr DType dtype_of<BFloat16>() {
  return DType::BF16;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::I32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::I64;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::Bool;
}

// Calls f(std::type_identity<T>{}) with T the storage type of `t`.
template <typename F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::F32: return f(std::type_identity<float>{});
    case DType::F64: return f(std::type_identity<double>{});
    case DType::F16: return f(std::type_identity<Half>{});
    case DType::BF16: return f(std::type_identity<BFloat16>{});
    case DType::I32: return f(std::type_identity<std::int32_t>{});
    case DType::I64: return f(std::type_identity<std::int64_t>{});
    case DType::Bool: break;
  }
  return f(std::type_identity<bool>{});
}

// Element conversions between storage and compute types.
template <typename To, typename From>
inline To convert(From v) noexcept {
  if constexpr (std::is_same_v<From, Half>) {
    return convert<To>(half_to_float(v));
  } else if constexpr (std::is_same_v<From, BFloat16>) {
    return convert<To>(bf16_to_float(v));
  } else if constexpr (std::is_same_v<To, Half>) {
    return float_to_half(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    return float_to_bf16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From{};
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace miso::tmath
