#include "miso/mprime/expr.hpp"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "../error_of.hpp"

namespace miso::mprime {
namespace {

using miso::testing::error_of;

const Expr x = symbol("x"), y = symbol("y"), z = symbol("z");

TEST(ExprIntern, StructurallyEqualExpressionsAreOneNode) {
  const Expr a = pow(x + y, 2) * sin(z);
  const Expr b = sin(z) * pow(y + x, 2);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(symbol("x"), x);
  EXPECT_FALSE(symbol("x") == symbol("X"));
  EXPECT_EQ(rational(2, 4), rational(1, 2));
  EXPECT_EQ(integer(mpz_class("123456789012345678901234567890")), integer(mpz_class("123456789012345678901234567890")));
}

TEST(ExprIntern, SharedSubexpressionsAreStoredOnce) {
  Expr f = x;
  for (int i = 0; i < 40; ++i) f = f * f + sin(f);
  // A tree of 2^40 nodes is a DAG of a few per level.
  EXPECT_GT(f.tree_size(), 1e12);
  EXPECT_LT(f.dag_size(), 40u * 8u);
}

TEST(ExprIntern, NodesAreFreedWhenTheLastReferenceGoes) {
  // Small integers and symbols are made once and kept.
  const Expr tmp = symbol("tmp_sym");
  (void)integer(1);
  const std::size_t before = interned_count();
  {
    Expr big = 0;
    for (int i = 0; i < 200; ++i) big = big + pow(tmp, i) * integer(i + 100000);
    EXPECT_GT(interned_count(), before + 200);
  }
  EXPECT_EQ(interned_count(), before);
}

TEST(ExprIntern, ThreadsBuildingTheSameExpressionsAgree) {
  std::vector<std::uint64_t> hashes(4);
  std::vector<const void*> ids(4);
  std::vector<Expr> keep(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Expr s = 0;
      for (int round = 0; round < 50; ++round) {
        Expr part = 0;
        for (int i = 0; i < 40; ++i) part = part + pow(x + integer(i), 2) * y;
        s = part;  // earlier parts die while other threads look them up
      }
      keep[t] = s;
      hashes[t] = s.hash();
      ids[t] = s.id();
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 1; t < 4; ++t) {
    EXPECT_EQ(hashes[t], hashes[0]);
    EXPECT_EQ(ids[t], ids[0]);
  }
}

TEST(ExprCanonical, SumsCollectLikeTerms) {
  EXPECT_EQ(x + x, 2 * x);
  EXPECT_EQ(x - x, Expr(0));
  EXPECT_EQ(2 * x * y + 3 * y * x, 5 * x * y);
  EXPECT_EQ((x + 1) + (2 - x), Expr(3));
  EXPECT_EQ(x + y, y + x);
  EXPECT_EQ(add({x, y, z}), add({z, x, y}));
  const Expr s = 3 + x + y;
  ASSERT_EQ(s.kind(), Kind::Add);
  EXPECT_EQ(s[0], Expr(3));  // the number comes first
}

TEST(ExprCanonical, ProductsCollectPowers) {
  EXPECT_EQ(x * x, pow(x, 2));
  EXPECT_EQ(x * pow(x, -1), Expr(1));
  EXPECT_EQ(pow(x, 2) * pow(x, 3), pow(x, 5));
  EXPECT_EQ(pow(x, y) * pow(x, z), pow(x, y + z));
  EXPECT_EQ(x * 0, Expr(0));
  EXPECT_EQ(x * 1, x);
  EXPECT_EQ(2 * x * 3, 6 * x);
  const Expr p = 6 * x * y;
  ASSERT_EQ(p.kind(), Kind::Mul);
  EXPECT_EQ(p[0], Expr(6));
}

TEST(ExprCanonical, NumbersTimesSumsDistribute) {
  EXPECT_EQ(2 * (x + 1), 2 * x + 2);
  EXPECT_EQ(-(x - y), y - x);
  EXPECT_EQ(x - (y - z), x - y + z);
}

TEST(ExprCanonical, PowersOfNumbersAreExact) {
  EXPECT_EQ(pow(Expr(2), Expr(10)), Expr(1024));
  EXPECT_EQ(pow(Expr(2), Expr(-2)), rational(1, 4));
  EXPECT_EQ(pow(rational(4, 9), rational(1, 2)), rational(2, 3));
  EXPECT_EQ(sqrt(Expr(16)), Expr(4));
  EXPECT_EQ(pow(Expr(8), rational(2, 3)), Expr(4));
  EXPECT_EQ(sqrt(Expr(2)) * sqrt(Expr(2)), Expr(2));
  EXPECT_EQ(pow(Expr(2), rational(3, 2)), 2 * sqrt(Expr(2)));
  EXPECT_EQ(sqrt(Expr(-4)), 2 * imaginary_unit());
  EXPECT_EQ(imaginary_unit() * imaginary_unit(), Expr(-1));
  EXPECT_EQ(pow(imaginary_unit(), 7), -imaginary_unit());
  EXPECT_EQ(pow(Expr(3), Expr(0)), Expr(1));
  EXPECT_NE(error_of([] { (void)pow(Expr(0), Expr(-1)); }).find("division by zero"), std::string::npos);
  EXPECT_NE(error_of([] { (void)(x / 0); }).find("division by zero"), std::string::npos);
  EXPECT_NE(error_of([] { (void)pow(Expr(3), integer(mpz_class("100000000000"))); }).find("too large"),
            std::string::npos);
}

TEST(ExprCanonical, PowersOfPowersAndProducts) {
  EXPECT_EQ(pow(pow(x, 2), 3), pow(x, 6));
  EXPECT_EQ(pow(sqrt(x), 2), x);
  // (x^2)^(1/2) is |x|, not x: it must stay.
  EXPECT_EQ(pow(pow(x, 2), rational(1, 2)).kind(), Kind::Pow);
  EXPECT_EQ(pow(2 * x * y, 2), 4 * pow(x, 2) * pow(y, 2));
  EXPECT_EQ(pow(x, 0), Expr(1));
  EXPECT_EQ(pow(x, 1), x);
  EXPECT_EQ(pow(Expr(1), x), Expr(1));
  EXPECT_EQ(pow(e(), x), exp(x));
  EXPECT_EQ(pow(exp(x), 3), exp(3 * x));
}

TEST(ExprCanonical, FloatsFoldAndStayFloats) {
  EXPECT_EQ(real(1.5) + real(2.5), real(4.0));
  EXPECT_EQ(real(0.5) * x + rational(1, 2) * x, real(1.0) * x);
  EXPECT_EQ(sin(real(0.5)), real(std::sin(0.5)));
  EXPECT_EQ(pow(real(2.0), rational(1, 2)), real(std::sqrt(2.0)));
  EXPECT_EQ(log(real(-1.0)).kind(), Kind::Function);  // not a real number: kept
  EXPECT_NE(error_of([] { (void)real(std::nan("")); }).find("not finite"), std::string::npos);
}

TEST(ExprFunctions, KnownValuesAndSymmetries) {
  EXPECT_EQ(sin(Expr(0)), Expr(0));
  EXPECT_EQ(cos(Expr(0)), Expr(1));
  EXPECT_EQ(exp(Expr(0)), Expr(1));
  EXPECT_EQ(exp(Expr(1)), e());
  EXPECT_EQ(log(Expr(1)), Expr(0));
  EXPECT_EQ(log(e()), Expr(1));
  EXPECT_EQ(log(exp(x)), x);
  EXPECT_EQ(exp(log(x)), x);
  EXPECT_EQ(sin(pi()), Expr(0));
  EXPECT_EQ(cos(pi()), Expr(-1));
  EXPECT_EQ(sin(pi() / 6), rational(1, 2));
  EXPECT_EQ(cos(pi() / 3), rational(1, 2));
  EXPECT_EQ(sin(pi() / 4), sqrt(Expr(2)) / 2);
  EXPECT_EQ(cos(7 * pi() / 6), -sqrt(Expr(3)) / 2);
  EXPECT_EQ(tan(pi() / 4), Expr(1));
  EXPECT_EQ(tan(pi() / 2).kind(), Kind::Function);  // undefined: kept
  EXPECT_EQ(sin(-x), -sin(x));
  EXPECT_EQ(cos(-x), cos(x));
  EXPECT_EQ(sin(y - x), -sin(x - y));
  EXPECT_EQ(abs(Expr(-3)), Expr(3));
  EXPECT_EQ(abs(abs(x)), abs(x));
  EXPECT_EQ(atan(Expr(1)), pi() / 4);
  EXPECT_EQ(atan(infinity()), pi() / 2);
  EXPECT_EQ(asin(rational(1, 2)), pi() / 6);
  EXPECT_EQ(asin(-sqrt(Expr(2)) / 2), -pi() / 4);
  EXPECT_EQ(acos(rational(-1, 2)), 2 * pi() / 3);
  EXPECT_EQ(acos(sqrt(Expr(3)) / 2), pi() / 6);
  EXPECT_EQ(atan(sqrt(Expr(3))), pi() / 3);
  EXPECT_EQ(atan(-sqrt(Expr(3)) / 3), -pi() / 6);
  EXPECT_EQ(asin(rational(1, 3)).kind(), Kind::Function);
  EXPECT_NE(error_of([] { (void)log(Expr(0)); }).find("log(0)"), std::string::npos);
  EXPECT_EQ(function_name(Function::Tanh), "tanh");
}

TEST(ExprInfinity, ArithmeticThatIsDefined) {
  EXPECT_EQ(infinity() + 5, infinity());
  EXPECT_EQ(2 * infinity(), infinity());
  EXPECT_EQ(-infinity() - 3, -infinity());
  EXPECT_EQ(pow(infinity(), -1), Expr(0));
  EXPECT_EQ(exp(infinity()), infinity());
  EXPECT_NE(error_of([] { (void)(infinity() - infinity()); }).find("undefined"), std::string::npos);
  EXPECT_NE(error_of([] { (void)(Expr(0) * infinity()); }).find("undefined"), std::string::npos);
}

TEST(ExprOrder, CompareIsATotalOrderConsistentWithEquality) {
  std::vector<Expr> v = {x,
                         y,
                         Expr(3),
                         rational(-1, 2),
                         real(0.25),
                         pi(),
                         e(),
                         sin(x),
                         pow(x, 2),
                         x * y,
                         x + y,
                         cos(y),
                         derivative(sin(x), x),
                         integral(x, x),
                         limit(x, x, Expr(0))};
  for (const Expr& a : v) {
    EXPECT_EQ(compare(a, a), 0);
    for (const Expr& b : v) {
      EXPECT_EQ(compare(a, b), -compare(b, a));
      if (!(a == b)) {
        EXPECT_NE(compare(a, b), 0);
      }
      for (const Expr& c : v) {
        if (compare(a, b) < 0 && compare(b, c) < 0) {
          EXPECT_LT(compare(a, c), 0);
        }
      }
    }
  }
  EXPECT_LT(compare(Expr(1), x), 0);  // numbers first
}

TEST(ExprDecompose, CoefficientPowerNumeratorDenominator) {
  EXPECT_EQ(split_coefficient(3 * x * y), std::make_pair(Expr(3), x * y));
  EXPECT_EQ(split_coefficient(x), std::make_pair(Expr(1), x));
  EXPECT_EQ(split_power(pow(x, 3)), std::make_pair(x, Expr(3)));
  EXPECT_EQ(split_power(x), std::make_pair(x, Expr(1)));
  const auto [n, d] = numerator_denominator(2 * x * pow(y, -2) / 3);
  EXPECT_EQ(n, 2 * x);
  EXPECT_EQ(d, 3 * pow(y, 2));
}

TEST(ExprQueries, DependsFreeSymbolsPolynomial) {
  const Expr f = sin(x) * y + 3;
  EXPECT_TRUE(depends_on(f, x));
  EXPECT_FALSE(depends_on(f, z));
  EXPECT_EQ(free_symbols(f), (std::vector<Expr>{x, y}));
  const std::vector<Expr> vars{x};
  EXPECT_TRUE(is_polynomial(pow(x, 3) * y + sin(y), vars));
  EXPECT_FALSE(is_polynomial(sin(x), vars));
  EXPECT_FALSE(is_polynomial(pow(x, -1), vars));
  EXPECT_TRUE(contains_float(x + real(0.5)));
  EXPECT_FALSE(contains_float(x + rational(1, 2)));
}

TEST(ExprRewrite, SubstituteIsSimultaneousAndRecanonicalises) {
  EXPECT_EQ(substitute(x + y, {{x, y}, {y, x}}), x + y);
  EXPECT_EQ(substitute(x * y, {{x, Expr(2)}, {y, Expr(3)}}), Expr(6));
  EXPECT_EQ(substitute(sin(x) + x, x, Expr(0)), Expr(0));
  EXPECT_EQ(substitute(pow(x, 2) + x, x, y + 1), pow(y + 1, 2) + y + 1);
  EXPECT_EQ(map_bottom_up(x + sin(x), [](const Expr& n) { return n == x ? Expr(0) : n; }), Expr(0));
}

TEST(ExprOperations, UnevaluatedNodesKeepTheirParts) {
  const Expr d = derivative(sin(x), x, 2);
  ASSERT_EQ(d.kind(), Kind::Derivative);
  EXPECT_EQ(d[0], sin(x));
  EXPECT_EQ(d[2], Expr(2));
  EXPECT_EQ(derivative(sin(x), x, 0), sin(x));
  const Expr l = limit(sin(x) / x, x, Expr(0), Direction::Plus);
  EXPECT_EQ(l.direction(), Direction::Plus);
  EXPECT_NE(l, limit(sin(x) / x, x, Expr(0), Direction::Minus));
  EXPECT_EQ(integral(x, x, Expr(0), Expr(1)).size(), 4u);
  EXPECT_NE(error_of([] { (void)derivative(x, Expr(2)); }).find("symbol"), std::string::npos);
  EXPECT_NE(error_of([] { (void)derivative(x, x, -1); }).find("order"), std::string::npos);
  EXPECT_NE(error_of([] { (void)rational(1, 0); }).find("denominator zero"), std::string::npos);
}

TEST(ExprProperties, RingLawsOnRandomPolynomials) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> coef(-5, 5), pick(0, 2), deg(0, 3);
  const Expr vars[] = {x, y, z};
  auto random_poly = [&] {
    std::vector<Expr> terms;
    for (int t = 0; t < 4; ++t) terms.push_back(coef(rng) * pow(vars[pick(rng)], deg(rng)) * vars[pick(rng)]);
    return add(std::move(terms));
  };
  for (int i = 0; i < 50; ++i) {
    const Expr a = random_poly(), b = random_poly(), c = random_poly();
    EXPECT_EQ(a + b, b + a);
    EXPECT_EQ((a + b) + c, a + (b + c));
    EXPECT_EQ(a * b, b * a);
    EXPECT_EQ(a - a, Expr(0));
    EXPECT_EQ(a + 0, a);
  }
}

}  // namespace
}  // namespace miso::mprime
