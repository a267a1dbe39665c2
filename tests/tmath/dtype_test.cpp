#include "miso/tmath/dtype.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"

namespace miso::tmath {
namespace {

TEST(DType, SizesNamesAndParsing) {
  EXPECT_EQ(size_of(DType::F32), 4u);
  EXPECT_EQ(size_of(DType::F64), 8u);
  EXPECT_EQ(size_of(DType::F16), 2u);
  EXPECT_EQ(size_of(DType::BF16), 2u);
  EXPECT_EQ(size_of(DType::I32), 4u);
  EXPECT_EQ(size_of(DType::I64), 8u);
  EXPECT_EQ(size_of(DType::Bool), 1u);
  for (int i = 0; i < kDTypeCount; ++i) {
    auto t = static_cast<DType>(i);
    EXPECT_EQ(parse_dtype(name(t)), t);
  }
  try {
    (void)parse_dtype("f8");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'f8'"), std::string::npos);
  }
  EXPECT_TRUE(is_floating(DType::BF16));
  EXPECT_FALSE(is_floating(DType::I64));
  EXPECT_TRUE(is_integer(DType::I32));
  EXPECT_FALSE(is_integer(DType::Bool));
}

TEST(DType, PromotionRules) {
  EXPECT_EQ(promote(DType::Bool, DType::I32), DType::I32);
  EXPECT_EQ(promote(DType::I32, DType::I64), DType::I64);
  EXPECT_EQ(promote(DType::I64, DType::F16), DType::F16);
  EXPECT_EQ(promote(DType::F16, DType::BF16), DType::F32);
  EXPECT_EQ(promote(DType::BF16, DType::F16), DType::F32);
  EXPECT_EQ(promote(DType::BF16, DType::F32), DType::F32);
  EXPECT_EQ(promote(DType::F32, DType::F64), DType::F64);
  EXPECT_EQ(promote(DType::I32, DType::F32), DType::F32);
  for (int i = 0; i < kDTypeCount; ++i) {
    for (int j = 0; j < kDTypeCount; ++j) {
      auto a = static_cast<DType>(i), b = static_cast<DType>(j);
      EXPECT_EQ(promote(a, b), promote(b, a));  // symmetric
    }
    EXPECT_EQ(promote(static_cast<DType>(i), static_cast<DType>(i)), static_cast<DType>(i));
  }
  EXPECT_EQ(compute_type(DType::F16), DType::F32);
  EXPECT_EQ(compute_type(DType::BF16), DType::F32);
  EXPECT_EQ(compute_type(DType::Bool), DType::I32);
  EXPECT_EQ(compute_type(DType::I64), DType::I64);
}

// Reference conversion through the compiler's own _Float16 (IEEE binary16, round to nearest even).
TEST(Half, EveryHalfRoundTripsThroughFloatExactly) {
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    Half h{static_cast<std::uint16_t>(bits)};
    float f = half_to_float(h);
    _Float16 ref;
    std::uint16_t b16 = static_cast<std::uint16_t>(bits);
    std::memcpy(&ref, &b16, 2);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(static_cast<float>(ref))) << bits;
      ASSERT_TRUE(std::isnan(half_to_float(float_to_half(f))));
      continue;
    }
    ASSERT_EQ(f, static_cast<float>(ref)) << bits;
    ASSERT_EQ(float_to_half(f).bits, h.bits) << bits;
  }
}

TEST(Half, FloatToHalfRoundsLikeTheCompiler) {
  core::SplitMix64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    auto u = static_cast<std::uint32_t>(rng.next());
    float f;
    std::memcpy(&f, &u, 4);
    if (std::isnan(f)) continue;
    _Float16 ref = static_cast<_Float16>(f);
    std::uint16_t rb;
    std::memcpy(&rb, &ref, 2);
    ASSERT_EQ(float_to_half(f).bits, rb) << f;
  }
  EXPECT_EQ(half_to_float(float_to_half(65520.0f)), std::numeric_limits<float>::infinity());  // rounds up to inf
  EXPECT_EQ(half_to_float(float_to_half(65504.0f)), 65504.0f);
  EXPECT_EQ(half_to_float(float_to_half(5.9604645e-8f)), 5.9604645e-8f);  // smallest subnormal
}

TEST(BFloat16, RoundsToNearestEvenAndKeepsSpecials) {
  EXPECT_EQ(float_to_bf16(1.0f).bits, 0x3F80);
  EXPECT_EQ(bf16_to_float(BFloat16{0x3F80}), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 0x1.0p-8f)), 1.0f);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (1 + 2^-6).
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 3 * 0x1.0p-8f)), 1.0f + 0x1.0p-6f);
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 0x1.0p-8f + 0x1.0p-12f)), 1.0f + 0x1.0p-7f);  // above half: up
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(bf16_to_float(float_to_bf16(std::numeric_limits<float>::infinity())),
            std::numeric_limits<float>::infinity());
  EXPECT_EQ(bf16_to_float(float_to_bf16(-0.0f)), 0.0f);
  EXPECT_TRUE(std::signbit(bf16_to_float(float_to_bf16(-0.0f))));
  // Every bf16 value survives a round trip through float.
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    BFloat16 b{static_cast<std::uint16_t>(bits)};
    float f = bf16_to_float(b);
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_bf16(f).bits, b.bits) << bits;
  }
  // Relative error of a rounding is at most half an ulp: 2^-8 of the value.
  core::SplitMix64 rng(11);
  for (int i = 0; i < 10000; ++i) {
    float f = static_cast<float>((rng.next_double() - 0.5) * 1e6);
    float r = bf16_to_float(float_to_bf16(f));
    ASSERT_LE(std::abs(r - f), std::abs(f) * 0x1.0p-8f) << f;
  }
}

TEST(DType, ConvertAndVisit) {
  EXPECT_EQ(convert<float>(Half{0x3C00}), 1.0f);
  EXPECT_EQ(convert<Half>(2.0).bits, 0x4000);
  EXPECT_EQ(convert<BFloat16>(1.0f).bits, 0x3F80);
  EXPECT_TRUE(convert<bool>(0.5));
  EXPECT_FALSE(convert<bool>(0));
  EXPECT_EQ(convert<std::int32_t>(3.9), 3);
  for (int i = 0; i < kDTypeCount; ++i) {
    auto t = static_cast<DType>(i);
    std::size_t seen = visit_dtype(t, [](auto tag) { return sizeof(typename decltype(tag)::type); });
    EXPECT_EQ(seen, size_of(t));
    DType back = visit_dtype(t, [](auto tag) { return dtype_of<typename decltype(tag)::type>(); });
    EXPECT_EQ(back, t);
  }
}

}  // namespace
}  // namespace miso::tmath
