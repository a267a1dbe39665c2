#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../error_of.hpp"
#include "miso/mprime/poly.hpp"
#include "miso/mprime/series.hpp"

namespace miso::mprime {
namespace {

using miso::testing::error_of;

const Expr x = symbol("x");
const Expr a = symbol("a");

Expr X(long k) { return pow(x, Expr(k)); }
Expr q(long n, long d) { return rational(n, d); }
Expr minus_infinity() { return -infinity(); }

double value_at(const Expr& f, double v) {
  const Expr r = substitute(f, x, real(v));
  if (r.is(Kind::Float)) return r.float_value();
  if (r.is_number()) return r.number().get_d();
  ADD_FAILURE() << "did not fold to a number";
  return NAN;
}

TEST(SeriesKnown, RequiredExpansions) {
  EXPECT_EQ(series(sin(x) / x, x, Expr(0), 6), Expr(1) - q(1, 6) * X(2) + q(1, 120) * X(4));
  EXPECT_EQ(series(exp(x), x, Expr(0), 4), Expr(1) + x + q(1, 2) * X(2) + q(1, 6) * X(3));
  EXPECT_EQ(series(Expr(1) / (Expr(1) - x), x, Expr(0), 5), Expr(1) + x + X(2) + X(3) + X(4));
  EXPECT_EQ(series(Expr(1) / sin(x), x, Expr(0), 4), X(-1) + q(1, 6) * x + q(7, 360) * X(3));
  EXPECT_EQ(series(log(Expr(1) + x), x, Expr(0), 4), x - q(1, 2) * X(2) + q(1, 3) * X(3));
  const Expr t = x - Expr(1);
  EXPECT_EQ(series(log(x), x, Expr(1), 4), t - q(1, 2) * pow(t, Expr(2)) + q(1, 3) * pow(t, Expr(3)));
  EXPECT_EQ(series(Expr(1) / (x + Expr(1)), x, infinity(), 4), X(-1) - X(-2) + X(-3));
}

TEST(SeriesKnown, ElementaryFunctions) {
  EXPECT_EQ(series(tan(x), x, Expr(0), 8), x + q(1, 3) * X(3) + q(2, 15) * X(5) + q(17, 315) * X(7));
  EXPECT_EQ(series(atan(x), x, Expr(0), 6), x - q(1, 3) * X(3) + q(1, 5) * X(5));
  EXPECT_EQ(series(asin(x), x, Expr(0), 6), x + q(1, 6) * X(3) + q(3, 40) * X(5));
  EXPECT_EQ(series(acos(x), x, Expr(0), 4), pi() / Expr(2) - x - q(1, 6) * X(3));
  EXPECT_EQ(series(tanh(x), x, Expr(0), 6), x - q(1, 3) * X(3) + q(2, 15) * X(5));
  EXPECT_EQ(series(cosh(x), x, Expr(0), 5), Expr(1) + q(1, 2) * X(2) + q(1, 24) * X(4));
  EXPECT_EQ(series(sinh(x), x, Expr(0), 4), x + q(1, 6) * X(3));
  EXPECT_EQ(series(cos(x), x, Expr(0), 5), Expr(1) - q(1, 2) * X(2) + q(1, 24) * X(4));
  EXPECT_EQ(series(sqrt(Expr(1) + x), x, Expr(0), 4), Expr(1) + q(1, 2) * x - q(1, 8) * X(2) + q(1, 16) * X(3));
  EXPECT_EQ(series(exp(sin(x)), x, Expr(0), 5), Expr(1) + x + q(1, 2) * X(2) - q(1, 8) * X(4));
  EXPECT_EQ(series(pow(Expr(1) + x, Expr(-2)), x, Expr(0), 3), Expr(1) - Expr(2) * x + Expr(3) * X(2));
  EXPECT_EQ(series(pow(Expr(2), x), x, Expr(0), 2), Expr(1) + log(Expr(2)) * x);
  EXPECT_EQ(series(Expr(1) / (X(2) * (Expr(1) - x)), x, Expr(0), 1), X(-2) + X(-1) + Expr(1));
  EXPECT_EQ(series(Expr(1) / (X(2) * (Expr(1) - x)), x, Expr(0), 0), X(-2) + X(-1));
  EXPECT_EQ(series(exp(x), x, Expr(0), 0), Expr(0));
  EXPECT_EQ(series(abs(x - Expr(2)), x, Expr(0), 3), Expr(2) - x);
}

TEST(SeriesKnown, AboutOtherPoints) {
  const Expr t = x - pi() / Expr(2);
  // sin about pi/2: 1 - t^2/2
  EXPECT_EQ(series(sin(x), x, pi() / Expr(2), 3), Expr(1) - q(1, 2) * pow(t, Expr(2)));
  // tan has a pole at pi/2: -1/t + t/3
  EXPECT_EQ(series(tan(x), x, pi() / Expr(2), 2), -pow(t, Expr(-1)) + q(1, 3) * t);
  // exp about 2: e^2 (1 + (x-2))
  const Expr u = x - Expr(2);
  EXPECT_EQ(series(exp(x), x, Expr(2), 2), exp(Expr(2)) + exp(Expr(2)) * u);
  // at -infinity x/(x - 1) = 1 + 1/x + 1/x^2 + ...
  EXPECT_EQ(series(x / (x - Expr(1)), x, minus_infinity(), 3), Expr(1) + X(-1) + X(-2));
  EXPECT_EQ(series(atan(x), x, infinity(), 4), pi() / Expr(2) - X(-1) + q(1, 3) * X(-3));
  EXPECT_EQ(series(cos(x) / sin(x), x, Expr(0), 4), X(-1) - q(1, 3) * x - q(1, 45) * X(3));
}

TEST(SeriesKnown, SymbolicCoefficientsAndPuiseux) {
  EXPECT_EQ(expand(series(exp(a * x), x, Expr(0), 3)), expand(Expr(1) + a * x + q(1, 2) * pow(a, Expr(2)) * X(2)));
  EXPECT_EQ(expand(series(Expr(1) / (Expr(1) - a * x), x, Expr(0), 3)),
            expand(Expr(1) + a * x + pow(a, Expr(2)) * X(2)));
  // sqrt(x + x^2) = x^(1/2) + x^(3/2)/2 - ...
  EXPECT_EQ(series(sqrt(x + X(2)), x, Expr(0), 2), pow(x, q(1, 2)) + q(1, 2) * pow(x, q(3, 2)));
  // x^x = 1 + x log(x) + ...
  EXPECT_EQ(series(pow(x, x), x, Expr(0), 2), Expr(1) + x * log(x));
  EXPECT_EQ(series(log(x), x, Expr(0), 3), log(x));
  // asin(1 - x) = pi/2 - sqrt(2) x^(1/2) - sqrt(2)/12 x^(3/2) - ...
  EXPECT_EQ(series(asin(Expr(1) - x), x, Expr(0), 2),
            pi() / Expr(2) - sqrt(Expr(2)) * sqrt(x) - q(1, 12) * sqrt(Expr(2)) * pow(x, q(3, 2)));
}

TEST(SeriesProperty, PolynomialsAreTheirOwnSeries) {
  std::mt19937 rng(4242);
  std::uniform_int_distribution<int> coef(-9, 9);
  std::uniform_int_distribution<int> deg(0, 6);
  for (int trial = 0; trial < 40; ++trial) {
    Expr p = Expr(coef(rng));
    const int factors = 1 + trial % 3;
    long total = 0;
    for (int f = 0; f < factors; ++f) {
      const int d = deg(rng);
      total += d;
      std::vector<Expr> terms;
      for (int k = 0; k <= d; ++k) terms.push_back(Expr(coef(rng)) * pow(x, Expr(k)) * (k == 1 ? a : Expr(1)));
      p = p * add(std::move(terms));
    }
    const Expr expanded = expand(p);
    EXPECT_EQ(series(p, x, Expr(0), total + 1), expanded) << "trial " << trial;
  }
}

TEST(SeriesProperty, TruncationErrorShrinksLikeTheOrder) {
  // |f(h) - series(h)| = O(h^n): halving h divides the error by about 2^n.
  const std::vector<Expr> fs = {exp(sin(x)), log(Expr(1) + x) / (Expr(1) + X(2)), atan(x) * cosh(x),
                                sqrt(Expr(1) + tan(x)), asin(x / Expr(2)) + tanh(x)};
  for (const Expr& f : fs) {
    const long n = 5;
    const Expr s = series(f, x, Expr(0), n);
    const double e1 = std::fabs(value_at(f, 0.02) - value_at(s, 0.02));
    const double e2 = std::fabs(value_at(f, 0.01) - value_at(s, 0.01));
    EXPECT_LT(e1, 1e-7);
    if (e1 > 1e-15) {
      EXPECT_GT(e1 / e2, 20.0);  // 2^5 = 32 ideally
    }
  }
}

TEST(SeriesErrors, BadArguments) {
  EXPECT_NE(error_of([] { series(sin(x), x, Expr(0), -1); }, Error::Kind::InvalidArgument).find("-1"),
            std::string::npos);
  error_of([] { series(sin(x), x * Expr(2), Expr(0), 3); }, Error::Kind::InvalidArgument);
  error_of([] { series(sin(x), x, x, 3); }, Error::Kind::InvalidArgument);
  EXPECT_NE(error_of([] { series(exp(Expr(1) / x), x, Expr(0), 3); }).find("cannot expand"), std::string::npos);
}

TEST(LimitKnown, RequiredLimits) {
  EXPECT_EQ(compute_limit(sin(x) / x, x, Expr(0)), Expr(1));
  EXPECT_EQ(compute_limit((Expr(1) - cos(x)) / X(2), x, Expr(0)), q(1, 2));
  EXPECT_EQ(compute_limit(pow(Expr(1) + Expr(1) / x, x), x, infinity()), e());
  EXPECT_EQ(compute_limit(Expr(1) / x, x, Expr(0), Direction::Plus), infinity());
  EXPECT_EQ(compute_limit(Expr(1) / x, x, Expr(0), Direction::Minus), minus_infinity());
  EXPECT_EQ(compute_limit((Expr(3) * X(2) + Expr(1)) / (X(2) - Expr(5)), x, infinity()), Expr(3));
  EXPECT_EQ(compute_limit(x * log(x), x, Expr(0), Direction::Plus), Expr(0));
  EXPECT_EQ(compute_limit((X(2) - Expr(4)) / (x - Expr(2)), x, Expr(2)), Expr(4));
  EXPECT_EQ(compute_limit(x * exp(-x), x, infinity()), Expr(0));
}

TEST(LimitKnown, TwoSidedLimitThatDoesNotExist) {
  const std::string message = error_of([] { compute_limit(Expr(1) / x, x, Expr(0)); }, Error::Kind::InvalidArgument);
  EXPECT_NE(message.find("does not exist: -oo from the left, oo from the right"), std::string::npos) << message;
  const std::string jump = error_of([] { compute_limit(abs(x) / x, x, Expr(0)); });
  EXPECT_NE(jump.find("-1 from the left, 1 from the right"), std::string::npos) << jump;
}

TEST(LimitKnown, MoreLimits) {
  EXPECT_EQ(compute_limit(Expr(1) / X(2), x, Expr(0)), infinity());
  EXPECT_EQ(compute_limit(exp(x), x, infinity()), infinity());
  EXPECT_EQ(compute_limit(exp(x), x, minus_infinity()), Expr(0));
  EXPECT_EQ(compute_limit(log(x) / x, x, infinity()), Expr(0));
  EXPECT_EQ(compute_limit(X(3) * exp(-x), x, infinity()), Expr(0));
  EXPECT_EQ(compute_limit(exp(x) / X(5), x, infinity()), infinity());
  EXPECT_EQ(compute_limit(atan(x), x, infinity()), pi() / Expr(2));
  EXPECT_EQ(compute_limit(pow(x, x), x, Expr(0), Direction::Plus), Expr(1));
  EXPECT_EQ(compute_limit(log(x), x, Expr(0), Direction::Plus), minus_infinity());
  EXPECT_EQ(compute_limit(sqrt(X(2) + x) - x, x, infinity()), q(1, 2));
  EXPECT_EQ(compute_limit(x * sin(Expr(1) / x), x, infinity()), Expr(1));
  EXPECT_EQ(compute_limit((exp(x) - Expr(1)) / x, x, Expr(0)), Expr(1));
  EXPECT_EQ(compute_limit(tan(x) / x, x, Expr(0)), Expr(1));
  EXPECT_EQ(compute_limit(a * x + Expr(2), x, Expr(0)), Expr(2));
  EXPECT_EQ(compute_limit(sin(a), x, Expr(0)), sin(a));
  EXPECT_EQ(compute_limit(cos(x), x, pi()), Expr(-1));
}

TEST(LimitKnown, ExponentialsLogarithmsAndOneSidedJumps) {
  EXPECT_EQ(compute_limit(pow(Expr(1) + a / x, x), x, infinity()), exp(a));
  EXPECT_EQ(compute_limit(pow(x, Expr(1) / x), x, infinity()), Expr(1));
  EXPECT_EQ(compute_limit(exp(Expr(-1) / X(2)), x, Expr(0)), Expr(0));
  EXPECT_EQ(compute_limit(log(log(x)) / x, x, infinity()), Expr(0));
  EXPECT_EQ(compute_limit(pow(Expr(2), x) / X(3), x, infinity()), infinity());
  EXPECT_EQ(compute_limit(X(2) * exp(x), x, minus_infinity()), Expr(0));
  EXPECT_EQ(compute_limit(log(x) * log(x) / x, x, Expr(0), Direction::Plus), infinity());
  EXPECT_EQ(compute_limit(atan(Expr(1) / x), x, Expr(0), Direction::Minus), -pi() / Expr(2));
  EXPECT_EQ(compute_limit((sin(x) - x) / X(3), x, Expr(0)), q(-1, 6));
  EXPECT_NE(error_of([] { compute_limit(exp(Expr(1) / x), x, Expr(0)); }).find("0 from the left, oo from the right"),
            std::string::npos);
  EXPECT_NE(error_of([] { compute_limit(tan(x), x, pi() / Expr(2)); }).find("oo from the left, -oo from the right"),
            std::string::npos);
}

TEST(LimitProperty, ContinuousRationalFunctionsTakeTheirValue) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> coef(-5, 5);
  for (int trial = 0; trial < 30; ++trial) {
    Expr p = Expr(coef(rng));
    Expr r = Expr(coef(rng));
    for (int k = 1; k <= 3; ++k) {
      p = p + Expr(coef(rng)) * X(k);
      r = r + Expr(coef(rng)) * X(k);
    }
    const Expr point = Expr(coef(rng));
    const Expr den_value = substitute(r, x, point);
    if (den_value.is_zero()) continue;
    EXPECT_EQ(compute_limit(p / r, x, point), substitute(p, x, point) / den_value) << "trial " << trial;
  }
}

TEST(LimitKnown, UndecidedLimitsStayUnevaluated) {
  EXPECT_EQ(compute_limit(sin(x), x, infinity()), limit(sin(x), x, infinity()));
  EXPECT_EQ(compute_limit(sin(Expr(1) / x), x, Expr(0)), limit(sin(Expr(1) / x), x, Expr(0)));
}

TEST(LimitErrors, BadArguments) {
  error_of([] { compute_limit(x, Expr(1), Expr(0)); }, Error::Kind::InvalidArgument);
  error_of([] { compute_limit(x, x, x + Expr(1)); }, Error::Kind::InvalidArgument);
}

}  // namespace
}  // namespace miso::mprime
