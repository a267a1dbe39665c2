#include "miso/mprime/evaluate.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <random>
#include <vector>

#include "../error_of.hpp"
#include "miso/mprime/print.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::mprime {
namespace {

using miso::testing::error_of;

const Expr x = symbol("x");
const Expr y = symbol("y");

TEST(Evaluate, KnownValues) {
  EXPECT_NEAR(evaluate(sin(pi() / 6)), 0.5, 1e-15);
  EXPECT_NEAR(evaluate(exp(log(symbol("t"))), {{"t", 3.0}}), 3.0, 1e-15);
  EXPECT_NEAR(evaluate(4 * atan(Expr(1))), std::numbers::pi, 1e-15);
  EXPECT_NEAR(evaluate(sqrt(1 + pow(x, 2)), {{"x", 0.75}}), 1.25, 1e-15);
  EXPECT_NEAR(evaluate(pow(cosh(x), 2) - pow(sinh(x), 2), {{"x", 0.7}}), 1.0, 1e-14);
  EXPECT_NEAR(evaluate(e()), std::numbers::e, 0);
  EXPECT_DOUBLE_EQ(evaluate(rational(1, 3)), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(evaluate(real(2.5) * x, {{"x", 2.0}}), 5.0);
}

TEST(Evaluate, NestedAndShared) {
  // The shared subexpression sin(x)+y occurs many times: a memo keeps this linear.
  Expr s = sin(x) + y;
  Expr f = s;
  for (int i = 0; i < 40; ++i) f = f * s + s;
  const double sv = std::sin(0.1) + 0.2;
  double expected = sv;
  for (int i = 0; i < 40; ++i) expected = expected * sv + sv;
  EXPECT_NEAR(evaluate(f, {{"x", 0.1}, {"y", 0.2}}), expected, 1e-12 * std::fabs(expected));
  EXPECT_NEAR(evaluate(exp(sin(cos(x)) / (1 + pow(y, 2))), {{"x", 1.0}, {"y", 2.0}}),
              std::exp(std::sin(std::cos(1.0)) / 5.0), 1e-15);
}

TEST(Evaluate, Errors) {
  EXPECT_NE(error_of([] { evaluate(x + y, {{"x", 1.0}}); }).find("'y'"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate(log(x), {{"x", -1.0}}); }).find("not a real number"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate(sqrt(x), {{"x", -1.0}}); }).find("not a real number"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate(asin(x), {{"x", 2.0}}); }).find("[-1, 1]"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate(1 / x, {{"x", 0.0}}); }).find("division by zero"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate(imaginary_unit() + 1); }).find("imaginary"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate(infinity()); }).find("infinity"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate(derivative(sin(x), x), {{"x", 1.0}}); }).find("derivative"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate(integral(x, x, 0, 1)); }).find("integral"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate(exp(x), {{"x", 1000.0}}); }).find("not finite"), std::string::npos);
}

TEST(EvaluateDigits, Constants) {
  EXPECT_EQ(evaluate_digits(pi(), {}, 50), "3.1415926535897932384626433832795028841971693993751");
  EXPECT_EQ(evaluate_digits(e(), {}, 50), "2.7182818284590452353602874713526624977572470937000");
  EXPECT_EQ(evaluate_digits(sqrt(Expr(2)), {}, 50), "1.4142135623730950488016887242096980785696718753769");
  EXPECT_EQ(evaluate_digits(rational(1, 3), {}, 30), "0.333333333333333333333333333333");
  EXPECT_EQ(evaluate_digits(-rational(1, 3), {}, 5), "-0.33333");
  EXPECT_EQ(evaluate_digits(exp(Expr(100)), {}, 30), "2.68811714181613544841262555158e+43");
  EXPECT_EQ(evaluate_digits(rational(1, 1000), {}, 3), "0.00100");
  EXPECT_EQ(evaluate_digits(Expr(0), {}, 10), "0");
  EXPECT_EQ(evaluate_digits(Expr(12), {}, 2), "12");
}

TEST(EvaluateDigits, CancellationNeedsMorePrecision) {
  // exp(40) + 1 - exp(40) is 1, but only with 60+ bits to spare.
  Expr big = exp(Expr(40));
  Expr f = add({big, Expr(1), mul({Expr(-1), exp(symbol("a"))})});
  EXPECT_EQ(evaluate_digits(f, {{"a", 40.0}}, 20), "1.0000000000000000000");
  EXPECT_EQ(evaluate_digits(sin(x), {{"x", 0.5}}, 17), "0.47942553860420300");
}

TEST(EvaluateDigits, Errors) {
  EXPECT_NE(error_of([] { evaluate_digits(x, {}, 10); }).find("'x'"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate_digits(log(x), {{"x", -2.0}}, 10); }).find("not a real"), std::string::npos);
  EXPECT_NE(error_of([] { evaluate_digits(pi(), {}, 0); }).find("digits"), std::string::npos);
}

TEST(Evalf, ReplacesExactNumbers) {
  EXPECT_EQ(evalf(pi()), real(std::numbers::pi));
  EXPECT_EQ(evalf(rational(1, 4)), real(0.25));
  EXPECT_EQ(evalf(sin(Expr(1))), real(std::sin(1.0)));
  Expr f = evalf(rational(1, 2) * x + pow(x, 2) + e());
  EXPECT_TRUE(contains_float(f));
  EXPECT_NEAR(evaluate(f, {{"x", 3.0}}), 1.5 + 9 + std::numbers::e, 1e-14);
  // Exact exponents stay exact.
  EXPECT_EQ(evalf(pow(x, 2)), pow(x, 2));
}

// ---- Compiled ------------------------------------------------------------------

// Random expressions in x and y that are defined and moderate everywhere.
Expr random_expr(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, depth <= 0 ? 2 : 14);
  switch (pick(rng)) {
    case 0: return x;
    case 1: return y;
    case 2: return rational(static_cast<long>(rng() % 7) - 3, 1 + static_cast<long>(rng() % 3));
    case 3: return random_expr(rng, depth - 1) + random_expr(rng, depth - 1);
    case 4: return random_expr(rng, depth - 1) - random_expr(rng, depth - 1);
    case 5: return random_expr(rng, depth - 1) * random_expr(rng, depth - 1);
    case 6: return random_expr(rng, depth - 1) / (2 + pow(random_expr(rng, depth - 1), 2));
    case 7: return pow(random_expr(rng, depth - 1), static_cast<long>(rng() % 4) + 2);
    case 8: return sin(random_expr(rng, depth - 1));
    case 9: return cos(random_expr(rng, depth - 1));
    case 10: return exp(sin(random_expr(rng, depth - 1)));
    case 11: return sqrt(1 + pow(random_expr(rng, depth - 1), 2));
    case 12: return atan(random_expr(rng, depth - 1)) + tanh(random_expr(rng, depth - 1));
    case 13: return sinh(sin(random_expr(rng, depth - 1))) * cosh(cos(random_expr(rng, depth - 1)));
    default: return log(1 + pow(random_expr(rng, depth - 1), 2)) + abs(random_expr(rng, depth - 1));
  }
}

TEST(Compiled, AgreesWithEvaluate) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> point(-2.0, 2.0);
  for (int trial = 0; trial < 200; ++trial) {
    Expr f = random_expr(rng, 3);
    Compiled c(f, {x, y});
    for (int k = 0; k < 5; ++k) {
      double xv = point(rng);
      double yv = point(rng);
      double expected = evaluate(f, {{"x", xv}, {"y", yv}});
      double got = c(std::vector<double>{xv, yv});
      EXPECT_NEAR(got, expected, 1e-12 * (1 + std::fabs(expected))) << "trial " << trial << ": " << to_string(f);
    }
  }
}

TEST(Compiled, PowersAndQuotients) {
  Compiled c(pow(x, 3) - 2 * x + pow(x, -2) + pow(x, rational(3, 2)) + pow(x, rational(-1, 2)) + pow(x, y), {x, y});
  const double xv = 1.7;
  const double yv = 0.3;
  EXPECT_NEAR(c(std::vector<double>{xv, yv}),
              xv * xv * xv - 2 * xv + 1 / (xv * xv) + std::pow(xv, 1.5) + 1 / std::sqrt(xv) + std::pow(xv, yv), 1e-13);
  Compiled constant(pi() + 1, {});
  EXPECT_NEAR(constant(std::vector<double>{}), std::numbers::pi + 1, 1e-15);
}

template <typename T>
void check_tensor_evaluation(tmath::DType dtype, double tolerance) {
  std::mt19937 rng(11);
  const std::vector<Expr> fs = {
      pow(x, 3) - 2 * x + sin(x),
      exp(-pow(x, 2)) * cos(y) + tanh(x * y),
      sqrt(1 + pow(x, 2)) / (1 + pow(y, 2)) - abs(x - y),
      atan(x) * sinh(y / 3) + cosh(x / 2) - log(2 + sin(y)),
      tan(x / 3) + asin(sin(y) / 2) + acos(cos(x) / 2) + sinh(pow(x, 2) / 1000),
      Expr(3) + y * 0,  // constant: still one value per point
  };
  tmath::Generator gen(5);
  const std::int64_t n = 3000;
  tmath::Tensor xs = tmath::rand_uniform({n}, gen, -3.0, 3.0, dtype);
  tmath::Tensor ys = tmath::rand_uniform({n}, gen, -3.0, 3.0, dtype);
  for (const Expr& f : fs) {
    Compiled c(f, {x, y});
    tmath::Tensor out = c.evaluate(std::vector<tmath::Tensor>{xs, ys});
    ASSERT_EQ(out.dtype(), dtype);
    ASSERT_EQ(out.shape(), tmath::Shape{n});
    std::vector<double> xv = xs.to_vector<double>();
    std::vector<double> yv = ys.to_vector<double>();
    std::vector<double> got = out.to_vector<double>();
    for (std::int64_t i = 0; i < n; ++i) {
      auto k = static_cast<std::size_t>(i);
      double expected = c(std::vector<double>{xv[k], yv[k]});
      ASSERT_NEAR(got[k], expected, tolerance * (1 + std::fabs(expected))) << "at " << xv[k] << ", " << yv[k];
    }
  }
}

TEST(CompiledTensor, F64MatchesScalar) { check_tensor_evaluation<double>(tmath::DType::F64, 1e-13); }
TEST(CompiledTensor, F32MatchesScalar) { check_tensor_evaluation<float>(tmath::DType::F32, 2e-5); }

TEST(CompiledTensor, BroadcastsInputs) {
  Compiled c(x * y + 1, {x, y});
  tmath::Tensor xs = tmath::arange(0, 3, 1, tmath::DType::F64).reshape({3, 1});
  tmath::Tensor ys = tmath::arange(0, 4, 1, tmath::DType::F64);
  tmath::Tensor out = c.evaluate(std::vector<tmath::Tensor>{xs, ys});
  ASSERT_EQ(out.shape(), (tmath::Shape{3, 4}));
  EXPECT_DOUBLE_EQ(out.at({2, 3}), 7.0);
}

TEST(CompiledTensor, LazyGraphComposes) {
  Compiled c(pow(x, 2), {x});
  tmath::Tensor xs = tmath::arange(0, 5, 1, tmath::DType::F64);
  std::vector<tmath::Lazy> in{tmath::Lazy(xs)};
  tmath::Tensor total = tmath::sum(c.lazy(in)).eval();
  EXPECT_DOUBLE_EQ(total.item(), 30.0);
}

TEST(Compiled, Errors) {
  EXPECT_NE(error_of([] { Compiled(x + y, {x}); }).find("'y'"), std::string::npos);
  EXPECT_NE(error_of([] { Compiled(derivative(sin(x), x), {x}); }).find("derivative"), std::string::npos);
  EXPECT_NE(error_of([] { Compiled(x + imaginary_unit(), {x}); }).find("imaginary"), std::string::npos);
  EXPECT_NE(error_of([] { Compiled(x, {x + 1}); }).find("not a symbol"), std::string::npos);
  Compiled c(x + y, {x, y});
  EXPECT_NE(error_of([&] { c(std::vector<double>{1.0}); }).find("1 values for 2"), std::string::npos);
  tmath::Tensor a = tmath::zeros({4}, tmath::DType::F64);
  tmath::Tensor b = tmath::zeros({4}, tmath::DType::F32);
  EXPECT_NE(error_of([&] { c.evaluate(std::vector<tmath::Tensor>{a, b}); }).find("input 1"), std::string::npos);
  EXPECT_FALSE(error_of([&] { c.evaluate(std::vector<tmath::Tensor>{a}); }).empty());
}

}  // namespace
}  // namespace miso::mprime
