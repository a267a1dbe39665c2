#include "miso/mprime/poly.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <vector>

#include "../error_of.hpp"
#include "miso/mprime/print.hpp"

namespace miso::mprime {

namespace {

::testing::AssertionResult same(const Expr& got, const Expr& want) {
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << to_string(got) << "\n want " << to_string(want);
}
#define EXPECT_SAME(got, want) EXPECT_TRUE(same(got, want))

::testing::AssertionResult same(const std::pair<Expr, Expr>& got, const std::pair<Expr, Expr>& want) {
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got (" << to_string(got.first) << ", " << to_string(got.second)
                                       << ")\n want (" << to_string(want.first) << ", " << to_string(want.second)
                                       << ")";
}

using miso::testing::error_of;

const Expr x = symbol("x"), y = symbol("y"), z = symbol("z"), a = symbol("a"), b = symbol("b");

Expr p(const Expr& base, long k) { return pow(base, integer(k)); }

// Substitutes random rationals for x, y, z.
Substitution random_point(std::mt19937& rng) {
  std::uniform_int_distribution<long> num(-20, 20), den(1, 7);
  Substitution s;
  for (const Expr& v : {x, y, z}) s.emplace_back(v, rational(num(rng), den(rng)));
  return s;
}

// Both sides equal as exact numbers at several random points (points where a
// side divides by zero are skipped).
void expect_same_function(const Expr& lhs, const Expr& rhs) {
  std::mt19937 rng(12345);
  int checked = 0;
  for (int i = 0; i < 8; ++i) {
    Substitution s = random_point(rng);
    Expr l, r;
    try {
      l = substitute(lhs, s);
      r = substitute(rhs, s);
    } catch (const Error&) {
      continue;
    }
    ASSERT_TRUE(l.is_number()) << to_string(l);
    EXPECT_TRUE(l == r) << "at x=" << to_string(s[0].second) << " y=" << to_string(s[1].second)
                        << " z=" << to_string(s[2].second) << "\n lhs " << to_string(lhs) << "\n rhs "
                        << to_string(rhs);
    ++checked;
  }
  EXPECT_GT(checked, 4);
}

// Random small polynomial in x, y, z with integer coefficients.
Expr random_poly(std::mt19937& rng, int terms, int max_degree) {
  std::uniform_int_distribution<long> coef(-5, 5), deg(0, max_degree);
  std::vector<Expr> out;
  for (int i = 0; i < terms; ++i) out.push_back(integer(coef(rng)) * p(x, deg(rng)) * p(y, deg(rng)) * p(z, deg(rng)));
  return add(out);
}

// ---- expand --------------------------------------------------------------------

TEST(PolyExpand, KnownProducts) {
  EXPECT_SAME(expand(p(x + 1, 2) * (x - 1)), p(x, 3) + p(x, 2) - x - 1);
  EXPECT_SAME(expand((x + y) * (x - y)), p(x, 2) - p(y, 2));
  EXPECT_SAME(expand(p(x / 2 + 1, 2)), p(x, 2) / 4 + x + 1);
  EXPECT_SAME(expand(integer(7)), integer(7));
  EXPECT_SAME(expand(x), x);
}

TEST(PolyExpand, FourVariablePowerHas56TermsAndMultinomialCoefficients) {
  const Expr e = expand(p(x + y + z + 1, 5));
  ASSERT_TRUE(e.is(Kind::Add));
  EXPECT_EQ(e.size(), 56u);
  // 5!/(2! 1! 2!) = 30
  const Expr term = 30 * p(x, 2) * y * p(z, 2);
  EXPECT_NE(std::find(e.args().begin(), e.args().end(), term), e.args().end());
  EXPECT_SAME(coefficients(coefficients(coefficients(e, x)[2], y)[1], z)[2], integer(30));
}

TEST(PolyExpand, GoesInsideFunctionsAndExponents) {
  EXPECT_SAME(expand(sin(p(x + 1, 2))), sin(p(x, 2) + 2 * x + 1));
  EXPECT_SAME(expand(exp(x * (y + 1))), exp(x * y + x));
  EXPECT_SAME(expand(sin(x) * (sin(x) + 1)), p(sin(x), 2) + sin(x));
}

TEST(PolyExpand, NegativePowersOfSumsStayButTheirBasesExpand) {
  EXPECT_SAME(expand(p(x + 1, -2)), p(x + 1, -2));
  EXPECT_SAME(expand(pow(x * (x + 1), integer(-1))), p(x, -1) * p(x + 1, -1));
  EXPECT_SAME(expand(pow(p(x + 1, 2) - 1, integer(-1))), pow(p(x, 2) + 2 * x, integer(-1)));
  EXPECT_SAME(expand((x + 2) / (x + 1)), x / (x + 1) + 2 / (x + 1));
  EXPECT_SAME(expand(x * (1 / x + 1)), x + 1);
  EXPECT_SAME(expand(p(x + 1 / x, 2)), p(x, 2) + 2 + p(x, -2));
}

TEST(PolyExpand, FractionalPowersRecombine) {
  EXPECT_SAME(expand(p(sqrt(x) + 1, 2)), x + 2 * sqrt(x) + 1);
  EXPECT_SAME(expand((sqrt(x) + 1) * (sqrt(x) - 1)), x - 1);
  EXPECT_SAME(expand(p(pow(x, rational(1, 3)) + 1, 3)),
              x + 3 * pow(x, rational(2, 3)) + 3 * pow(x, rational(1, 3)) + 1);
}

TEST(PolyExpand, FloatsAreCarriedThrough) {
  EXPECT_SAME(expand(p(real(2.5) * x + 1, 2)), real(6.25) * p(x, 2) + real(5.0) * x + 1);
}

TEST(PolyExpand, SharedSubexpressionsAndSymbolicExponents) {
  const Expr s = p(x + y, 3);
  EXPECT_SAME(expand(s * (s + 1) - s * s - s), integer(0));
  EXPECT_SAME(expand(pow(x, y) * (pow(x, y) + 1)), pow(x, 2 * y) + pow(x, y));
}

TEST(PolyExpand, AgreesWithTheUnexpandedFormAtRandomPoints) {
  std::mt19937 rng(7);
  for (int i = 0; i < 6; ++i) {
    const Expr e = p(random_poly(rng, 3, 2), 3) * (random_poly(rng, 2, 2) + 1) - random_poly(rng, 4, 3) / 3;
    const Expr ex = expand(e);
    expect_same_function(ex, e);
    EXPECT_SAME(expand(ex), ex);  // idempotent
  }
}

// ---- collect, coefficients, degree --------------------------------------------

TEST(PolyCollect, GroupsByPowersOfTheVariable) {
  EXPECT_SAME(collect(a * x + b * x + 3, x), (a + b) * x + 3);
  EXPECT_SAME(collect(p(x + a, 2), x), p(x, 2) + 2 * a * x + p(a, 2));
  EXPECT_SAME(collect(a * sin(x) + sin(x) + x, x), (a + 1) * sin(x) + x);
}

TEST(PolyCoefficients, LowestDegreeFirstWithOtherSymbols) {
  const std::vector<Expr> c = coefficients(p(x + 1, 2) * y, x);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_SAME(c[0], y);
  EXPECT_SAME(c[1], 2 * y);
  EXPECT_SAME(c[2], y);
  EXPECT_SAME(from_coefficients(c, x), expand(p(x + 1, 2) * y));
  EXPECT_TRUE(coefficients(3 * p(x, 2) + x * sin(y), x) == (std::vector<Expr>{0, sin(y), 3}));
  EXPECT_TRUE(coefficients(integer(0), x).empty());
}

TEST(PolyDegree, KnownDegrees) {
  EXPECT_EQ(degree(p(x + 1, 5) * y, x), 5);
  EXPECT_EQ(degree(p(x + 1, 5) * y, y), 1);
  EXPECT_EQ(degree(integer(4), x), 0);
  EXPECT_EQ(degree(integer(0), x), -1);
  EXPECT_EQ(degree(x * (1 / x + x), x), 2);
}

TEST(PolyCoefficients, NonPolynomialInputNamesTheCulprit) {
  EXPECT_NE(error_of([] { coefficients(sin(x) + x, x); }).find("sin(x)"), std::string::npos);
  EXPECT_NE(error_of([] { degree(1 / x + x, x); }).find("not a polynomial in x"), std::string::npos);
  EXPECT_NE(error_of([] { degree(sqrt(x), x); }).find("not a polynomial"), std::string::npos);
}

// ---- factor ----------------------------------------------------------------------

TEST(PolyFactor, TextbookFactorisations) {
  EXPECT_SAME(factor(p(x, 2) - 1), (x - 1) * (x + 1));
  EXPECT_SAME(factor(2 * p(x, 2) + 4 * x + 2), 2 * p(x + 1, 2));
  EXPECT_SAME(factor(p(x, 4) - p(y, 4)), (x - y) * (x + y) * (p(x, 2) + p(y, 2)));
  EXPECT_SAME(factor(6 * p(x, 2) * y + 3 * x * p(y, 2)), 3 * x * y * (2 * x + y));
  // A number times a single sum distributes, so the expected products are built with mul().
  EXPECT_SAME(factor(p(x, 2) / 2 - rational(1, 2)), mul({rational(1, 2), x - 1, x + 1}));
  EXPECT_SAME(factor(2 * x + 2), 2 * x + 2);
  EXPECT_SAME(factor(p(x, 3) - 1), (x - 1) * (p(x, 2) + x + 1));
}

TEST(PolyFactor, RationalFunctionsFactorNumeratorAndDenominator) {
  EXPECT_SAME(factor((p(x, 2) - 1) / (p(x, 2) + 2 * x + 1)), (x - 1) / (x + 1));
  EXPECT_SAME(factor(1 / (p(x, 2) - 4)), 1 / ((x - 2) * (x + 2)));
}

TEST(PolyFactor, FactorListHasUnitAndMultiplicities) {
  const Factorization f = factor_list(expand(-3 * p(x - 1, 3) * (x + 2)));
  EXPECT_SAME(f.unit, integer(-3));
  ASSERT_EQ(f.factors.size(), 2u);
  for (const auto& [base, k] : f.factors) {
    if (base == x - 1) {
      EXPECT_EQ(k, 3);
    } else {
      EXPECT_SAME(base, x + 2);
      EXPECT_EQ(k, 1);
    }
  }
  EXPECT_SAME(factor_list(integer(5)).unit, integer(5));
  EXPECT_TRUE(factor_list(integer(5)).factors.empty());
}

TEST(PolyFactor, ProductOfFactorsIsTheInputAtRandom) {
  std::mt19937 rng(11);
  for (int i = 0; i < 5; ++i) {
    const Expr e = expand(random_poly(rng, 3, 2) * p(random_poly(rng, 2, 1), 2));
    EXPECT_SAME(expand(factor(e)), e);
  }
}

// ---- gcd, lcm, divide, resultant --------------------------------------------------

TEST(PolyGcd, RecoversTheCommonFactor) {
  const Expr g = x + y + 1;
  EXPECT_SAME(gcd(expand(g * (x - y)), expand(g * (p(x, 2) + y + 3))), g);
  EXPECT_SAME(gcd(p(x, 2) - 1, p(x, 2) - 2 * x + 1), x - 1);
  EXPECT_SAME(gcd(2 * x + 2, 4 * x + 4), x + 1);
  EXPECT_SAME(gcd(integer(0), integer(0)), integer(0));
  EXPECT_SAME(gcd(x, integer(0)), x);
  std::mt19937 rng(3);
  for (int i = 0; i < 4; ++i) {
    const Expr common = p(x, 2) + y * z + i;
    const Expr u = random_poly(rng, 3, 2), v = random_poly(rng, 3, 2);
    const Expr gu = expand(common * u), gv = expand(common * v);
    const Expr found = gcd(gu, gv);
    // u and v may share a factor too, so check that the gcd divides both and
    // that the common factor divides it.
    EXPECT_SAME(fraction(gu / found).second, integer(1));
    EXPECT_SAME(fraction(gv / found).second, integer(1));
    EXPECT_SAME(fraction(found / common).second, integer(1));
  }
}

TEST(PolyGcd, LcmIsTheProductOverTheGcd) {
  EXPECT_SAME(lcm(p(x, 2) - 1, x - 1), p(x, 2) - 1);
  EXPECT_SAME(lcm(x, y), x * y);
  EXPECT_SAME(lcm(integer(0), x), integer(0));
}

TEST(PolyDivide, QuotientAndRemainderSatisfyTheDivisionIdentity) {
  const Expr num = p(x, 3) + 2 * x + y, den = p(x, 2) + 1;
  auto [q, r] = divide(num, den, x);
  EXPECT_SAME(q, x);
  EXPECT_SAME(r, x + y);
  std::mt19937 rng(5);
  for (int i = 0; i < 6; ++i) {
    const Expr f = random_poly(rng, 5, 3), g = 3 * p(x, 2) + y * x - 1;
    auto [qq, rr] = divide(f, g, x);
    EXPECT_SAME(expand(qq * g + rr), expand(f));
    EXPECT_LT(degree(rr, x), 2);
  }
  EXPECT_SAME(divide(p(x, 2) - 1, integer(2), x), std::make_pair(p(x, 2) / 2 - rational(1, 2), integer(0)));
}

TEST(PolyDivide, RejectsZeroAndSymbolicLeadingCoefficients) {
  EXPECT_NE(error_of([] { divide(x, integer(0), x); }).find("zero"), std::string::npos);
  EXPECT_NE(error_of([] { divide(p(x, 2), y * x + 1, x); }).find("leading coefficient y"), std::string::npos);
  EXPECT_NE(error_of([] { divide(sin(x), x + 1, x); }).find("sin(x)"), std::string::npos);
}

TEST(PolyResultant, KnownValues) {
  EXPECT_SAME(resultant(p(x, 2) - 2, x - y, x), p(y, 2) - 2);
  EXPECT_SAME(resultant(p(x, 2) + 1, p(x, 2) - 1, x), integer(4));
  EXPECT_SAME(resultant(x - 1, x - 1, x), integer(0));
  // Eliminating x from x + y = 3, x - y = 1 leaves a multiple of y - 1.
  EXPECT_SAME(factor(resultant(x + y - 3, x - y - 1, x)), -2 * (y - 1));
}

// ---- together, cancel, fraction, apart ------------------------------------------

TEST(PolyTogether, OneDenominator) {
  EXPECT_SAME(together(1 / x + 1 / y), (x + y) / (x * y));
  EXPECT_SAME(together(x / 2 + y / 3), (3 * x + 2 * y) / 6);
  EXPECT_SAME(together(1 / (x + 1) + 1 / (x - 1)), 2 * x / ((x + 1) * (x - 1)));
  EXPECT_SAME(together(1 / (1 + 1 / x)), x / (x + 1));
  EXPECT_SAME(together(x + y), x + y);
}

TEST(PolyCancel, LowestTerms) {
  EXPECT_SAME(cancel((p(x, 2) - 1) / (x - 1)), x + 1);
  EXPECT_SAME(cancel(x / (p(x, 2) + x)), 1 / (x + 1));
  EXPECT_SAME(cancel((p(x, 2) - 1) / (2 * x - 2)), x / 2 + rational(1, 2));
  EXPECT_SAME(cancel((p(x, 2) - p(y, 2)) / (y - x)), -x - y);
  EXPECT_SAME(cancel(1 / x + 1 / y), (x + y) / (x * y));
  EXPECT_SAME(cancel(integer(3)), integer(3));
}

TEST(PolyFraction, CoprimeNumeratorAndDenominator) {
  EXPECT_SAME(fraction(1 / x + 1 / y), std::make_pair(x + y, x * y));
  EXPECT_SAME(fraction((p(x, 2) - 1) / (p(x, 2) + x)), std::make_pair(x - 1, x));
  EXPECT_SAME(fraction(x + 1), std::make_pair(x + 1, integer(1)));
  EXPECT_SAME(fraction(x / 2), std::make_pair(x, integer(2)));
}

TEST(PolyApart, KnownDecompositions) {
  EXPECT_SAME(apart(1 / (p(x, 2) - 1), x), rational(1, 2) / (x - 1) - rational(1, 2) / (x + 1));
  EXPECT_SAME(apart((p(x, 3) + 1) / (p(x, 2) + x), x), x - 1 + 1 / x);
  EXPECT_SAME(apart(1 / (x * (p(x, 2) + 1)), x), 1 / x - x / (p(x, 2) + 1));
  EXPECT_SAME(apart(1 / p(x + 1, 2), x), p(x + 1, -2));
  EXPECT_SAME(apart(x / p(x + 1, 2), x), 1 / (x + 1) - p(x + 1, -2));
  EXPECT_SAME(apart(p(x, 2) + 1, x), p(x, 2) + 1);
}

TEST(PolyApart, TogetherUndoesApart) {
  const std::vector<Expr> cases = {
      (p(x, 4) + 3 * x - 2) / (p(x - 1, 3) * (p(x, 2) + x + 1)),
      (2 * x + 5) / (p(x, 2) * p(p(x, 2) + 2, 2) * (3 * x + 1)),
      rational(1, 3) / (p(x, 3) - 8),
      (p(x, 5) - x) / (p(x, 2) - 2),
  };
  for (const Expr& f : cases) {
    const Expr parts = apart(f, x);
    EXPECT_SAME(cancel(together(parts)), cancel(f)) << to_string(parts);
    expect_same_function(parts, f);
  }
}

TEST(PolyApart, RejectsOtherSymbolsAndFunctions) {
  EXPECT_NE(error_of([] { apart(1 / (x + y), x); }).find("y"), std::string::npos);
  EXPECT_NE(error_of([] { apart(sin(x) / (x + 1), x); }).find("sin(x)"), std::string::npos);
}

TEST(PolyIdentities, RationalFunctionOperationsPreserveValues) {
  std::mt19937 rng(21);
  for (int i = 0; i < 5; ++i) {
    const Expr f = random_poly(rng, 3, 2) / (random_poly(rng, 2, 1) + 7) + (x - y) / p(z + 2, 2) -
                   p(random_poly(rng, 2, 1) + 1, 2) * (x + 1) / (p(x, 2) + 1);
    expect_same_function(expand(f), f);
    expect_same_function(together(f), f);
    expect_same_function(cancel(f), f);
    expect_same_function(factor(f), f);
    auto [n, d] = fraction(f);
    expect_same_function(n / d, f);
  }
}

TEST(PolyErrors, NonPolynomialPartsAreNamed) {
  EXPECT_NE(error_of([] { apart(exp(x) / x, x); }).find("exp(x)"), std::string::npos);
  EXPECT_NE(error_of([] { resultant(sin(x), x, x); }).find("sin(x)"), std::string::npos);
  EXPECT_NE(error_of([] { coefficients(pow(x, y), x); }).find("x^y"), std::string::npos);
}

}  // namespace
}  // namespace miso::mprime
