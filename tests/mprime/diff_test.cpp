#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "../error_of.hpp"
#include "miso/mprime/diff.hpp"

namespace miso::mprime {
namespace {

const Expr x = symbol("x");
const Expr y = symbol("y");

// f at x = v, computed by folding Floats (expr.cpp folds functions of Floats).
double value_at(const Expr& f, double v) {
  const Expr r = substitute(f, x, real(v));
  if (r.is(Kind::Float)) return r.float_value();
  if (r.is_number()) return r.number().get_d();
  ADD_FAILURE() << "did not fold to a number";
  return NAN;
}

// Random expressions in x whose values stay moderate on [-1, 1].
Expr random_expr(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, depth <= 0 ? 1 : 12);
  std::uniform_int_distribution<int> small(-3, 3);
  auto sub = [&] { return random_expr(rng, depth - 1); };
  switch (pick(rng)) {
    case 0: return x;
    case 1: return Expr(small(rng)) + rational(1, 2) * x;
    case 2: return sub() + sub();
    case 3: return sub() * sub();
    case 4: return pow(sub(), Expr(2 + small(rng) % 2));
    case 5: return sin(sub());
    case 6: return cos(sub());
    case 7: return exp(sin(sub()));
    case 8: return log(Expr(1) + pow(sub(), Expr(2)));
    case 9: return atan(sub()) * tanh(sub());
    case 10: return sub() / (Expr(2) + cos(sub()));
    case 11: return sqrt(Expr(1) + pow(sub(), Expr(2))) + sinh(sin(sub()));
    default: return pow(Expr(2) + sin(sub()), cos(x));  // symbolic exponent
  }
}

TEST(DiffKnown, TextbookDerivatives) {
  EXPECT_EQ(diff(sin(x), x), cos(x));
  EXPECT_EQ(diff(cos(x), x), -sin(x));
  EXPECT_EQ(diff(pow(x, Expr(3)) + Expr(2) * pow(x, Expr(2)) + x, x, 2), Expr(6) * x + Expr(4));
  EXPECT_EQ(diff(sin(pow(x, Expr(2))), x), Expr(2) * x * cos(pow(x, Expr(2))));
  EXPECT_EQ(diff(x * exp(x), x), exp(x) + x * exp(x));
  EXPECT_EQ(diff(log(x), x), pow(x, Expr(-1)));
  EXPECT_EQ(diff(exp(Expr(3) * x), x), Expr(3) * exp(Expr(3) * x));
  EXPECT_EQ(diff(pow(Expr(2), x), x), pow(Expr(2), x) * log(Expr(2)));
  EXPECT_EQ(diff(x * y, y), x);
  EXPECT_EQ(diff(pow(x, Expr(5)), x, 5), Expr(120));
  EXPECT_EQ(diff(pow(x, Expr(5)), x, 6), Expr(0));
  EXPECT_EQ(diff(sin(x), x, 0), sin(x));
  EXPECT_EQ(diff(Expr(7), x), Expr(0));
  EXPECT_EQ(diff(pi() * y, x), Expr(0));
  EXPECT_EQ(diff(real(2.5) * x, x), real(2.5));
  EXPECT_EQ(diff(abs(x), x), x / abs(x));
  EXPECT_EQ(diff(atan(x), x), pow(Expr(1) + pow(x, Expr(2)), Expr(-1)));
}

TEST(DiffKnown, UnevaluatedOperations) {
  const Expr f = symbol("f");
  const Expr dsin = derivative(sin(x) * f, x);
  EXPECT_EQ(diff(dsin, x), derivative(sin(x) * f, x, 2));
  EXPECT_EQ(diff(dsin, y), Expr(0));
  EXPECT_EQ(diff(dsin, f), derivative(dsin, f));
  EXPECT_EQ(diff(integral(sin(x) * y, x), x), sin(x) * y);
  EXPECT_EQ(diff(integral(sin(x) * y, x), y), integral(sin(x), x));
  const Expr t = symbol("t");
  // d/dx of the integral from 0 to x^2 of sin(t) dt is sin(x^2) 2x.
  EXPECT_EQ(diff(integral(sin(t), t, Expr(0), pow(x, Expr(2))), x), Expr(2) * x * sin(pow(x, Expr(2))));
  EXPECT_EQ(diff(integral(sin(t), t, Expr(0), Expr(1)), x), Expr(0));
}

TEST(DiffNumeric, RandomExpressionsAgreeWithFiniteDifferences) {
  std::mt19937 rng(20240611);
  std::uniform_real_distribution<double> point(-0.9, 0.9);
  int checked = 0;
  for (int trial = 0; trial < 150; ++trial) {
    const Expr f = random_expr(rng, 4);
    const Expr df = diff(f, x);
    for (int k = 0; k < 3; ++k) {
      const double v = point(rng);
      const double h = 1e-5;
      const double numeric = (value_at(f, v + h) - value_at(f, v - h)) / (2 * h);
      const double symbolic = value_at(df, v);
      if (!std::isfinite(numeric) || !std::isfinite(symbolic)) continue;
      EXPECT_NEAR(symbolic, numeric, 1e-5 * (1 + std::fabs(numeric))) << "trial " << trial << " at " << v;
      ++checked;
    }
  }
  EXPECT_GT(checked, 300);
}

TEST(DiffNumeric, SecondDerivativeAgreesWithFiniteDifferences) {
  std::mt19937 rng(77);
  std::uniform_real_distribution<double> point(-0.9, 0.9);
  for (int trial = 0; trial < 40; ++trial) {
    const Expr f = random_expr(rng, 3);
    const Expr d2 = diff(f, x, 2);
    const double v = point(rng);
    const double h = 1e-4;
    const double numeric = (value_at(f, v + h) - 2 * value_at(f, v) + value_at(f, v - h)) / (h * h);
    EXPECT_NEAR(value_at(d2, v), numeric, 2e-3 * (1 + std::fabs(numeric))) << "trial " << trial;
  }
}

TEST(DiffSharing, DeeplyNestedSharedExpressionStaysSmall) {
  Expr f = x;
  for (int k = 0; k < 30; ++k) f = f * f + sin(f);
  EXPECT_GT(f.tree_size(), 1e9);  // as a tree it is exponential
  const Expr df = diff(f, x);
  EXPECT_LT(df.dag_size(), 30u * 40u);  // linear in the depth
  Expr g = x;
  for (int k = 0; k < 3; ++k) g = g * g + sin(g);
  const Expr dg = diff(g, x);
  const double v = 0.3;
  const double h = 1e-6;
  EXPECT_NEAR(value_at(dg, v), (value_at(g, v + h) - value_at(g, v - h)) / (2 * h), 1e-5);
}

TEST(DiffGradient, GradientAndJacobian) {
  const Expr f = pow(x, Expr(2)) * y + sin(y);
  const std::vector<Expr> grad = gradient(f, {x, y});
  ASSERT_EQ(grad.size(), 2u);
  EXPECT_EQ(grad[0], Expr(2) * x * y);
  EXPECT_EQ(grad[1], pow(x, Expr(2)) + cos(y));

  const auto jac = jacobian({x * y, x + y, exp(x)}, {x, y});
  ASSERT_EQ(jac.size(), 3u);
  for (const auto& row : jac) EXPECT_EQ(row.size(), 2u);
  EXPECT_EQ(jac[0][0], y);
  EXPECT_EQ(jac[0][1], x);
  EXPECT_EQ(jac[1][0], Expr(1));
  EXPECT_EQ(jac[1][1], Expr(1));
  EXPECT_EQ(jac[2][0], exp(x));
  EXPECT_EQ(jac[2][1], Expr(0));
  EXPECT_TRUE(gradient(f, {}).empty());
}

TEST(DiffErrors, BadVariableOrOrder) {
  using miso::testing::error_of;
  EXPECT_NE(error_of([] { diff(x, x + Expr(1)); }, Error::Kind::InvalidArgument).find("symbol"), std::string::npos);
  EXPECT_NE(error_of([] { diff(x, x, -1); }, Error::Kind::InvalidArgument).find("-1"), std::string::npos);
  error_of([] { gradient(x, {x, Expr(2)}); }, Error::Kind::InvalidArgument);
  error_of([] { jacobian({x}, {sin(x)}); }, Error::Kind::InvalidArgument);
}

}  // namespace
}  // namespace miso::mprime
