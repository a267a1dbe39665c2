#include "miso/tmath/vector_math.hpp"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

namespace miso::tmath::vmath {
namespace {

// Distance in units in the last place between two floats (of the same sign or zero).
double ulp_distance(float got, double exact) {
  if (std::isnan(exact)) return std::isnan(got) ? 0 : 1e9;
  if (std::isinf(exact)) return got == static_cast<float>(exact) ? 0 : 1e9;
  float rounded = static_cast<float>(exact);
  if (got == rounded) return 0;
  // The ulp of the exact value (in float), below FLT_MIN the subnormal spacing.
  int e = 0;
  std::frexp(std::max(std::abs(exact), static_cast<double>(FLT_MIN)), &e);
  double ulp = std::ldexp(1.0, e - 24);
  return std::abs(static_cast<double>(got) - exact) / ulp;
}

struct Case {
  const char* name;
  void (*f)(const float*, float*, std::int64_t) noexcept;
  std::function<double(double)> exact;
  float lo, hi;
  double max_ulp;  // the bound stated in docs/tmath.md
};

double worst_ulp(const Case& c, std::int64_t n) {
  std::vector<float> x(static_cast<std::size_t>(n)), y(x.size());
  for (std::int64_t i = 0; i < n; ++i) {
    x[static_cast<std::size_t>(i)] = c.lo + (c.hi - c.lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  }
  c.f(x.data(), y.data(), n);
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, ulp_distance(y[i], c.exact(x[i])));
  return worst;
}

std::vector<Case> cases() {
  return {
      {"exp", vmath::exp, [](double v) { return std::exp(v); }, -87, 88, 1.0},
      {"log", vmath::log, [](double v) { return std::log(v); }, 1e-30f, 1e30f, 1.0},
      {"tanh", vmath::tanh, [](double v) { return std::tanh(v); }, -9, 9, 2.5},  // glibc tanhf: 2.1
      {"erf", vmath::erf, [](double v) { return std::erf(v); }, -4, 4, 1.0},
      {"sigmoid", vmath::sigmoid, [](double v) { return 1 / (1 + std::exp(-v)); }, -30, 30, 3.0},
      // gelu: rounding x/sqrt(2) to f32 is amplified by the slope of erfc in the negative tail.
      {"gelu", vmath::gelu, [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); }, -3, 8, 14.0},
      {"gelu_core", vmath::gelu, [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); }, -1, 8, 7.0},
  };
}

class VectorMath : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (static_cast<int>(GetParam()) > static_cast<int>(best_isa())) GTEST_SKIP() << "CPU lacks " << name(GetParam());
    set_isa(GetParam());
  }
  void TearDown() override { set_isa(best_isa()); }
};

TEST_P(VectorMath, MaximumUlpErrorWithinTheStatedBound) {
  ASSERT_EQ(active_isa(), GetParam());
  for (const Case& c : cases()) {
    double worst = worst_ulp(c, 200003);  // odd length: exercises the vector tail
    EXPECT_LE(worst, c.max_ulp) << c.name << " on " << name(GetParam());
    RecordProperty(std::string(c.name) + "_max_ulp", std::to_string(worst));
    std::printf("%s %s max ulp %.2f\n", name(GetParam()), c.name, worst);
  }
}

TEST_P(VectorMath, SpecialValuesAndEveryTailLength) {
  const float inf = INFINITY;
  float x[] = {0.0f, -0.0f, inf, -inf, NAN, 100.0f, -100.0f};
  float y[7];
  vmath::exp(x, y, 7);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[2], inf);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_TRUE(std::isnan(y[4]));
  EXPECT_EQ(y[5], inf);
  vmath::sigmoid(x, y, 7);
  EXPECT_EQ(y[0], 0.5f);
  EXPECT_EQ(y[5], 1.0f);
  EXPECT_EQ(y[6], 0.0f);
  vmath::gelu(x, y, 7);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[5], 100.0f);
  EXPECT_EQ(y[6], -0.0f);
  vmath::log(x, y, 2);
  EXPECT_EQ(y[0], -inf);
  // Every length up to two vectors, in place, leaves what lies beyond n alone.
  for (std::int64_t n = 0; n <= 33; ++n) {
    std::vector<float> v(40, 0.5f);
    vmath::tanh(v.data(), v.data(), n);
    for (std::int64_t i = 0; i < 40; ++i) {
      ASSERT_FLOAT_EQ(v[static_cast<std::size_t>(i)], i < n ? std::tanh(0.5f) : 0.5f) << n << " " << i;
    }
  }
}

TEST_P(VectorMath, StreamCopyCopiesEveryAlignmentAndLength) {
  std::vector<float> src(300), dst(300);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i) * 0.5f + 1.0f;
  for (std::size_t offset = 0; offset < 17; ++offset) {
    for (std::int64_t n : {0, 1, 7, 16, 17, 63, 64, 65, 200}) {
      std::fill(dst.begin(), dst.end(), -1.0f);
      stream_copy(dst.data() + offset, src.data() + 3, n);
      for (std::size_t i = 0; i < dst.size(); ++i) {
        bool inside = i >= offset && i < offset + static_cast<std::size_t>(n);
        ASSERT_EQ(dst[i], inside ? src[i - offset + 3] : -1.0f) << offset << " " << n << " " << i;
      }
    }
  }
}

// map() against the unfused definition: each step over the whole array in
// turn, the function in between. Bit for bit, for every function, random steps
// (both operand orders, NaN and infinite inputs, constants) and every tail length.
TEST_P(VectorMath, MapEqualsTheStepsAppliedOneAtATime) {
  using Op = Step::Op;
  const Op ops[] = {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Max, Op::Min};
  const Fn fns[] = {Fn::Identity, Fn::Exp, Fn::Log, Fn::Tanh, Fn::Erf, Fn::Sigmoid, Fn::Gelu};
  void (*unfused[])(const float*, float*, std::int64_t) noexcept = {nullptr,    vmath::exp,     vmath::log, vmath::tanh,
                                                                    vmath::erf, vmath::sigmoid, vmath::gelu};
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(state >> 33);
  };
  for (int trial = 0; trial < 200; ++trial) {
    const auto n = static_cast<std::int64_t>(next() % 300);
    std::vector<float> x(static_cast<std::size_t>(n));
    for (float& v : x) v = (static_cast<float>(next() % 20001) - 10000.0f) / 2000.0f;
    if (n > 3) {
      x[0] = NAN;
      x[1] = INFINITY;
      x[2] = -0.0f;
    }
    std::vector<Step> steps(next() % 5);
    for (Step& st : steps) {
      st.op = ops[next() % 6];
      st.constant_first = next() % 2 == 1;
      st.c = next() % 7 == 0 ? NAN : (static_cast<float>(next() % 201) - 100.0f) / 16.0f;
    }
    const int npre = steps.empty() ? 0 : static_cast<int>(next() % (steps.size() + 1));
    const int npost = static_cast<int>(steps.size()) - npre;
    const std::size_t f = next() % 7;
    std::vector<float> want = x;
    for (int k = 0; k < npre; ++k) {
      for (float& v : want) v = detail::apply_step(steps[static_cast<std::size_t>(k)], v);
    }
    if (unfused[f] != nullptr) unfused[f](want.data(), want.data(), n);
    for (int k = npre; k < npre + npost; ++k) {
      for (float& v : want) v = detail::apply_step(steps[static_cast<std::size_t>(k)], v);
    }
    std::vector<float> got(x.size());
    map(fns[f], steps.data(), npre, steps.data() + npre, npost, x.data(), got.data(), n);
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(std::memcmp(&got[i], &want[i], sizeof(float)) == 0 || (std::isnan(got[i]) && std::isnan(want[i])))
          << "trial " << trial << " i " << i << ": " << got[i] << " vs " << want[i];
    }
    // Streaming stores give the same values, at every alignment of the output.
    alignas(64) static float streamed[320 + 16];
    const std::size_t shift = next() % 16;
    map(fns[f], steps.data(), npre, steps.data() + npre, npost, x.data(), streamed + shift, n, Store::Streaming);
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(std::memcmp(&got[i], &streamed[shift + i], sizeof(float)) == 0 ||
                  (std::isnan(got[i]) && std::isnan(streamed[shift + i])))
          << "streamed, trial " << trial << " i " << i;
    }
    map(fns[f], steps.data(), npre, steps.data() + npre, npost, x.data(), x.data(), n);  // in place
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(std::memcmp(&got[i], &x[i], sizeof(float)) == 0 || (std::isnan(got[i]) && std::isnan(x[i])));
    }
  }
}

TEST(VectorMathStep, FollowsTheElementwiseSemantics) {
  using Op = Step::Op;
  EXPECT_EQ(detail::apply_step({Op::Sub, false, 2.0f}, 5.0f), 3.0f);
  EXPECT_EQ(detail::apply_step({Op::Sub, true, 2.0f}, 5.0f), -3.0f);
  EXPECT_EQ(detail::apply_step({Op::Div, true, 1.0f}, 4.0f), 0.25f);
  EXPECT_EQ(detail::apply_step({Op::Max, false, 0.0f}, -1.0f), 0.0f);
  EXPECT_TRUE(std::isnan(detail::apply_step({Op::Max, false, 0.0f}, NAN)));  // NaN wins, as in NumPy
  EXPECT_TRUE(std::isnan(detail::apply_step({Op::Min, true, NAN}, 1.0f)));
  EXPECT_EQ(detail::apply_step({Op::Min, false, 3.0f}, 7.0f), 3.0f);
}

INSTANTIATE_TEST_SUITE_P(EveryIsa, VectorMath, ::testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx512),
                         [](const auto& param_info) { return std::string(name(param_info.param)); });

TEST(VectorMathDispatch, SetIsaClampsToTheCpu) {
  set_isa(Isa::Avx512);
  EXPECT_LE(static_cast<int>(active_isa()), static_cast<int>(best_isa()));
  set_isa(Isa::Scalar);
  EXPECT_EQ(active_isa(), Isa::Scalar);
  set_isa(best_isa());
  EXPECT_STREQ(name(Isa::Avx2), "avx2");
}

}  // namespace
}  // namespace miso::tmath::vmath
