#include "miso/mprime/simplify.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mprime/evaluate.hpp"

namespace miso::mprime {
namespace {

const Expr x = symbol("x");
const Expr y = symbol("y");

TEST(SimplifyTrig, PythagoreanIdentities) {
  EXPECT_EQ(trigsimp(pow(sin(x), 2) + pow(cos(x), 2)), Expr(1));
  EXPECT_EQ(trigsimp(3 * y * pow(sin(x), 2) + 3 * y * pow(cos(x), 2) + x), 3 * y + x);
  EXPECT_EQ(trigsimp(1 - pow(sin(x), 2)), pow(cos(x), 2));
  EXPECT_EQ(trigsimp(2 * y - 2 * y * pow(cos(x + 1), 2)), 2 * y * pow(sin(x + 1), 2));
  EXPECT_EQ(trigsimp(pow(cosh(x), 2) - pow(sinh(x), 2)), Expr(1));
  EXPECT_EQ(trigsimp(pow(sinh(x), 2) + 1), pow(cosh(x), 2));
  // Nested inside other expressions, and several pairs in one sum.
  EXPECT_EQ(trigsimp(exp(pow(sin(y), 2) + pow(cos(y), 2) + x)), exp(1 + x));
  EXPECT_EQ(trigsimp(pow(sin(x), 2) + pow(cos(x), 2) + pow(sin(y), 2) + pow(cos(y), 2)), Expr(2));
  // Different arguments do not pair.
  Expr mixed = pow(sin(x), 2) + pow(cos(y), 2);
  EXPECT_EQ(trigsimp(mixed), mixed);
}

TEST(SimplifyTrig, QuotientsAndDoubleAngle) {
  EXPECT_EQ(trigsimp(sin(x) / cos(x)), tan(x));
  EXPECT_EQ(trigsimp(pow(sin(x), 3) / pow(cos(x), 2)), pow(tan(x), 2) * sin(x));
  EXPECT_EQ(trigsimp(2 * sin(x) * cos(x)), sin(2 * x));
}

TEST(SimplifyExp, Rules) {
  EXPECT_EQ(expsimp(exp(x) * exp(y)), exp(x + y));
  EXPECT_EQ(expsimp(exp(x) * exp(-x) * y), y);
  EXPECT_EQ(expsimp(exp(2 * log(x))), pow(x, 2));
  EXPECT_EQ(expsimp(exp(y - 3 * log(x))), exp(y) * pow(x, -3));
  EXPECT_EQ(expsimp(log(exp(x + y))), x + y);
  EXPECT_EQ(expsimp(pow(exp(x), rational(1, 2))), exp(x / 2));
  // log of a product is not split (wrong for negative factors).
  Expr l = log(x * y);
  EXPECT_EQ(expsimp(l), l);
}

TEST(Simplify, KnownResults) {
  EXPECT_EQ(simplify(pow(sin(x), 2) + pow(cos(x), 2)), Expr(1));
  EXPECT_EQ(simplify((pow(x, 2) - 1) / (x - 1)), x + 1);
  EXPECT_EQ(simplify(derivative(sin(x), x)), cos(x));
  EXPECT_EQ(simplify(exp(x) * exp(y)), exp(x + y));
  EXPECT_EQ(simplify(x + y), x + y);
}

TEST(Simplify, EvaluateOperations) {
  EXPECT_EQ(evaluate_operations(derivative(pow(x, 3), x, 2)), 6 * x);
  EXPECT_EQ(evaluate_operations(y + derivative(derivative(sin(x) * y, x), y)), y + cos(x));
}

TEST(Simplify, NeverThrowsOnAwkwardInput) {
  const std::vector<Expr> inputs = {
      real(0.5) * x + pow(sin(x), 2) + pow(cos(x), 2),
      pow(x, real(1.5)) / (x - real(2.0)),
      abs(x) + imaginary_unit() * y,
      sqrt(x + 1) / (sqrt(x + 1) + 1),
      pow(x, y) * exp(x * log(y)),
  };
  for (const Expr& f : inputs) {
    EXPECT_NO_THROW(simplify(f));
  }
}

Expr random_expr(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, depth <= 0 ? 2 : 11);
  switch (pick(rng)) {
    case 0: return x;
    case 1: return y;
    case 2: return Expr(static_cast<long>(rng() % 5) - 2);
    case 3: return random_expr(rng, depth - 1) + random_expr(rng, depth - 1);
    case 4: return random_expr(rng, depth - 1) * random_expr(rng, depth - 1);
    case 5: return random_expr(rng, depth - 1) / (3 + pow(random_expr(rng, depth - 1), 2));
    case 6: return pow(random_expr(rng, depth - 1), 2);
    case 7: return pow(sin(random_expr(rng, depth - 1)), 2) + pow(cos(random_expr(rng, depth - 1)), 2);
    case 8: return exp(random_expr(rng, depth - 1) / 4) * exp(x / 4);
    case 9: return (pow(x, 2) - pow(y, 2)) / (x + y + 0 * random_expr(rng, depth - 1));
    case 10: return sin(random_expr(rng, depth - 1)) / cos(y / 4);
    default: return 1 - pow(cos(random_expr(rng, depth - 1)), 2);
  }
}

TEST(Simplify, PreservesValues) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> point(-1.2, 1.2);
  for (int trial = 0; trial < 60; ++trial) {
    Expr f = random_expr(rng, 3);
    Expr g = simplify(f);
    EXPECT_LE(g.tree_size(), f.tree_size());
    for (int k = 0; k < 4; ++k) {
      Values at{{"x", point(rng)}, {"y", point(rng) + 2.5}};  // keeps x + y away from 0
      double a = evaluate(f, at);
      double b = evaluate(g, at);
      EXPECT_NEAR(a, b, 1e-9 * (1 + std::fabs(a))) << "trial " << trial;
    }
  }
}

TEST(Simplify, Idempotent) {
  const std::vector<Expr> inputs = {
      pow(sin(x), 2) + pow(cos(x), 2) + x, (pow(x, 2) - 1) / (x - 1), exp(x) * exp(y) * pow(sin(y), 2),
      pow(x + 1, 2) - pow(x, 2),           derivative(x * sin(x), x),
  };
  for (const Expr& f : inputs) {
    Expr once = simplify(f);
    EXPECT_EQ(simplify(once), once);
  }
}

}  // namespace
}  // namespace miso::mprime
