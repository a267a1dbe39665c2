#include "miso/mprime/solve.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "../error_of.hpp"
#include "miso/mprime/parse.hpp"
#include "miso/mprime/poly.hpp"

namespace miso::mprime {
namespace {

using Complex = std::complex<double>;
using Values = std::map<std::string, double>;

const Expr x = symbol("x");
const Expr y = symbol("y");
const Expr z = symbol("z");
const Expr a = symbol("a");
const Expr b = symbol("b");
const Expr c = symbol("c");

Equation eq(const Expr& lhs, const Expr& rhs) { return Equation{lhs, rhs}; }

// Complex value of an expression (principal branches), independent of the
// solver's own evaluator so that the checks are not circular.
Complex value_of(const Expr& e, const Values& at = {}) {
  switch (e.kind()) {
    case Kind::Number: return e.number().get_d();
    case Kind::Float: return e.float_value();
    case Kind::Constant:
      switch (e.constant()) {
        case Constant::Pi: return M_PI;
        case Constant::E: return M_E;
        case Constant::I: return Complex(0, 1);
        default: break;
      }
      break;
    case Kind::Symbol: return at.at(e.name());
    case Kind::Add: {
      Complex s = 0;
      for (const Expr& t : e.args()) s += value_of(t, at);
      return s;
    }
    case Kind::Mul: {
      Complex p = 1;
      for (const Expr& f : e.args()) p *= value_of(f, at);
      return p;
    }
    case Kind::Pow: {
      Complex base = value_of(e.base(), at);
      if (e.exponent().is_integer()) return std::pow(base, static_cast<int>(e.exponent().number().get_d()));
      return std::pow(base, value_of(e.exponent(), at));
    }
    case Kind::Function: {
      Complex v = value_of(e[0], at);
      switch (e.function()) {
        case Function::Sin: return std::sin(v);
        case Function::Cos: return std::cos(v);
        case Function::Tan: return std::tan(v);
        case Function::Exp: return std::exp(v);
        case Function::Log: return std::log(v);
        case Function::Asin: return std::asin(v);
        case Function::Acos: return std::acos(v);
        case Function::Atan: return std::atan(v);
        default: break;
      }
      break;
    }
    default: break;
  }
  ADD_FAILURE() << "cannot evaluate a node of kind " << static_cast<int>(e.kind());
  return 0;
}

bool exact_zero(const Expr& e) { return cancel(expand(e)).is_zero(); }

// |f| at the point, relative to the size of f's terms there.
double residual(const Expr& f, const Values& at = {}) {
  double scale = 1;
  if (f.is(Kind::Add)) {
    for (const Expr& t : f.args()) scale += std::abs(value_of(t, at));
  }
  return std::abs(value_of(f, at)) / scale;
}

Expr value_in(const Solution& s, const Expr& unknown) {
  for (const auto& [k, v] : s) {
    if (k == unknown) return v;
  }
  ADD_FAILURE() << "unknown " << unknown.name() << " not solved";
  return Expr();
}

// Every solution makes every equation hold, exactly when it can be checked
// exactly, else numerically with the parameters at `at`.
void expect_all_satisfy(const std::vector<Equation>& equations, const std::vector<Solution>& solutions,
                        const Values& at = {}) {
  for (const Solution& s : solutions) {
    for (const Equation& e : equations) {
      Expr d = substitute(e.difference(), s);
      if (!contains_float(d) && exact_zero(d)) continue;
      EXPECT_LT(residual(expand(d), at), 1e-9);
    }
  }
}

void expect_roots_satisfy(const Expr& f, const std::vector<Expr>& roots, const Values& at = {}) {
  for (const Expr& r : roots) {
    Expr d = substitute(f, x, r);
    if (!contains_float(d) && exact_zero(d)) continue;
    EXPECT_LT(residual(d, at), 1e-9);
  }
}

TEST(SolveLinear, TwoByTwo) {
  std::vector<Equation> system = {eq(2 * x + 3 * y, 7), eq(x - y, 1)};
  std::vector<Solution> s = solve(system);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].size(), 2u);
  EXPECT_EQ(s[0][0].first, x);
  EXPECT_EQ(s[0][0].second, Expr(2));
  EXPECT_EQ(s[0][1].first, y);
  EXPECT_EQ(s[0][1].second, Expr(1));
}

TEST(SolveLinear, ThreeByThreeWithRationalAnswer) {
  // x = 1/2, y = -1/3, z = 2
  std::vector<Equation> system = {eq(x + 2 * y + 3 * z, rational(35, 6)), eq(2 * x - y + z, rational(10, 3)),
                                  eq(3 * x + y - 2 * z, rational(-17, 6))};
  std::vector<Solution> s = solve(system);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(value_in(s[0], x), rational(1, 2));
  EXPECT_EQ(value_in(s[0], y), rational(-1, 3));
  EXPECT_EQ(value_in(s[0], z), Expr(2));
}

TEST(SolveLinear, UnknownsGivenInAnotherOrder) {
  std::vector<Solution> s = solve({eq(2 * x + 3 * y, 7), eq(x - y, 1)}, {y, x});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0][0], std::make_pair(y, Expr(1)));
  EXPECT_EQ(s[0][1], std::make_pair(x, Expr(2)));
}

TEST(SolveLinear, UnderdeterminedGivesPivotsInTermsOfFreeUnknowns) {
  std::vector<Equation> system = {eq(x + y + z, 1), eq(x - y, 3)};
  std::vector<Solution> s = solve(system);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].size(), 2u);  // z is free
  EXPECT_TRUE(exact_zero(value_in(s[0], x) - (2 - z / 2)));
  EXPECT_TRUE(exact_zero(value_in(s[0], y) - (-1 - z / 2)));
  expect_all_satisfy(system, s);
}

TEST(SolveLinear, InconsistentHasNoSolution) {
  EXPECT_TRUE(solve({eq(x + y, 1), eq(2 * x + 2 * y, 3)}).empty());
  EXPECT_TRUE(solve({eq(x + y, 1), eq(x - y, 0), eq(x, 5)}).empty());
}

TEST(SolveLinear, RedundantEquationsAreHarmless) {
  std::vector<Solution> s = solve({eq(x + y, 2), eq(2 * x + 2 * y, 4), eq(x - y, 0)});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(value_in(s[0], x), Expr(1));
  EXPECT_EQ(value_in(s[0], y), Expr(1));
}

TEST(SolveLinear, SymbolicCoefficients) {
  std::vector<Solution> s = solve({eq(a * x + b, 0)}, {x});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(exact_zero(value_in(s[0], x) + b / a));

  std::vector<Equation> system = {eq(a * x + y, 1), eq(x - y, b)};
  std::vector<Solution> t = solve(system, {x, y});
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(exact_zero(value_in(t[0], x) - (1 + b) / (a + 1)));
  EXPECT_TRUE(exact_zero(value_in(t[0], y) - (1 - a * b) / (a + 1)));
}

TEST(SolveLinear, LargerIntegerSystemMatchesKnownSolution) {
  // Unknowns w0..w4 with the solution w_i = i - 2; a fixed invertible matrix.
  std::vector<Expr> w;
  for (int i = 0; i < 5; ++i) w.push_back(symbol(std::string("w").append(std::to_string(i))));
  const int m[5][5] = {{2, 1, 0, 3, -1}, {1, -1, 4, 0, 2}, {0, 3, 1, -2, 1}, {5, 0, -1, 1, 1}, {1, 1, 1, 1, 1}};
  std::vector<Equation> system;
  for (const auto& row : m) {
    Expr lhs = 0;
    long rhs = 0;
    for (int j = 0; j < 5; ++j) {
      lhs += row[j] * w[j];
      rhs += row[j] * (j - 2);
    }
    system.push_back(eq(lhs, rhs));
  }
  std::vector<Solution> s = solve(system, w);
  ASSERT_EQ(s.size(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(value_in(s[0], w[i]), Expr(i - 2));
}

TEST(SolveLinear, RandomSystemsRecoverTheirSolution) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> entry(-5, 5);
  const std::vector<Expr> u = {x, y, z, a};
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<Expr> expected;
    for (std::size_t j = 0; j < u.size(); ++j) expected.push_back(rational(entry(rng), 1 + std::abs(entry(rng))));
    std::vector<Equation> system;
    for (std::size_t i = 0; i < u.size(); ++i) {
      Expr lhs = 0;
      Expr rhs = 0;
      for (std::size_t j = 0; j < u.size(); ++j) {
        const int k = entry(rng);
        lhs += k * u[j];
        rhs += k * expected[j];
      }
      system.push_back(eq(lhs, rhs));
    }
    std::vector<Solution> s = solve(system, u);
    ASSERT_EQ(s.size(), 1u);
    if (s[0].size() == u.size()) {
      for (std::size_t j = 0; j < u.size(); ++j) EXPECT_EQ(s[0][j].second, expected[j]);
    }
    expect_all_satisfy(system, s);
  }
}

TEST(SolvePolynomial, RandomIntegerRootsAreFoundExactly) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> root(-9, 9);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<int> roots;
    Expr p = 1;
    for (int k = 0; k < 4; ++k) {
      roots.push_back(root(rng));
      p *= x - roots.back();
    }
    std::sort(roots.begin(), roots.end());
    roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
    std::vector<Expr> found = solve_for(expand(3 * p), x);
    ASSERT_EQ(found.size(), roots.size());
    for (std::size_t k = 0; k < roots.size(); ++k) EXPECT_EQ(found[k], Expr(roots[k]));
  }
}

TEST(SolvePolynomial, QuadraticRationalRoots) {
  std::vector<Expr> r = solve_for(x * x - 5 * x + 6, x);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], Expr(2));
  EXPECT_EQ(r[1], Expr(3));
}

TEST(SolvePolynomial, QuadraticIrrationalRoots) {
  std::vector<Expr> r = solve_for(x * x - 8, x);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], -2 * sqrt(Expr(2)));
  EXPECT_EQ(r[1], 2 * sqrt(Expr(2)));
  std::vector<Expr> g = solve_for(x * x - x - 1, x);  // the golden ratio and its conjugate
  ASSERT_EQ(g.size(), 2u);
  EXPECT_NEAR(value_of(g[1]).real(), (1 + std::sqrt(5.0)) / 2, 1e-14);
  expect_roots_satisfy(x * x - x - 1, g);
}

TEST(SolvePolynomial, QuadraticComplexRoots) {
  const Expr i = imaginary_unit();
  std::vector<Expr> r = solve_for(x * x + 2 * x + 5, x);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], -1 - 2 * i);
  EXPECT_EQ(r[1], -1 + 2 * i);
  expect_roots_satisfy(x * x + 2 * x + 5, r);
}

TEST(SolvePolynomial, RepeatedRootsListedOnce) {
  std::vector<Expr> r = solve_for(pow(x - 1, 3) * pow(x + 2, 2), x);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], Expr(-2));
  EXPECT_EQ(r[1], Expr(1));
}

TEST(SolvePolynomial, CubicWithThreeRealRoots) {
  const Expr f = pow(x, 3) - 3 * x + 1;
  std::vector<Expr> r = solve_for(f, x);
  ASSERT_EQ(r.size(), 3u);
  const double expected[] = {-1.8793852415718169, 0.34729635533386066, 1.5320888862379562};
  for (int k = 0; k < 3; ++k) {
    EXPECT_FALSE(contains_float(r[k]));
    Complex v = value_of(r[k]);
    EXPECT_NEAR(v.real(), expected[k], 1e-12);
    EXPECT_NEAR(v.imag(), 0, 1e-12);
  }
  expect_roots_satisfy(f, r);
}

TEST(SolvePolynomial, CubicWithOneRealRoot) {
  const Expr f = pow(x, 3) + x + 1;
  std::vector<Expr> r = solve_for(f, x);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_NEAR(value_of(r[0]).real(), -0.6823278038280193, 1e-12);
  EXPECT_NEAR(value_of(r[0]).imag(), 0, 1e-12);
  EXPECT_GT(std::abs(value_of(r[1]).imag()), 0.1);
  expect_roots_satisfy(f, r);

  std::vector<Expr> cube = solve_for(pow(x, 3) - 2, x);
  ASSERT_EQ(cube.size(), 3u);
  EXPECT_EQ(cube[0], pow(Expr(2), rational(1, 3)));
  expect_roots_satisfy(pow(x, 3) - 2, cube);
}

TEST(SolvePolynomial, RealRootsBeforeComplexOnes) {
  std::vector<Expr> r = solve_for(pow(x, 3) - 1, x);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], Expr(1));
  EXPECT_LT(value_of(r[1]).imag(), 0);
  EXPECT_GT(value_of(r[2]).imag(), 0);
}

TEST(SolvePolynomial, BiquadraticQuarticDenests) {
  const Expr f = pow(x, 4) - 10 * pow(x, 2) + 1;  // roots ±sqrt(2) ± sqrt(3)
  std::vector<Expr> r = solve_for(f, x);
  ASSERT_EQ(r.size(), 4u);
  const double s2 = std::sqrt(2.0);
  const double s3 = std::sqrt(3.0);
  const double expected[] = {-s2 - s3, s2 - s3, s3 - s2, s2 + s3};
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(value_of(r[k]).real(), expected[k], 1e-12);
  EXPECT_EQ(r[3], sqrt(Expr(2)) + sqrt(Expr(3)));
  expect_roots_satisfy(f, r);
}

TEST(SolvePolynomial, QuarticsByFerrariAndNumerically) {
  const Expr ferrari = pow(x, 4) + 4 * x - 1;  // resolvent cubic has the root m = 1
  std::vector<Expr> r = solve_for(ferrari, x);
  ASSERT_EQ(r.size(), 4u);
  for (const Expr& root : r) EXPECT_FALSE(contains_float(root));
  EXPECT_NEAR(value_of(r[0]).imag(), 0, 1e-12);
  EXPECT_NEAR(value_of(r[1]).imag(), 0, 1e-12);
  EXPECT_GT(std::abs(value_of(r[2]).imag()), 0.1);
  expect_roots_satisfy(ferrari, r);

  const Expr x4_plus_1 = pow(x, 4) + 1;
  std::vector<Expr> unit = solve_for(x4_plus_1, x);
  ASSERT_EQ(unit.size(), 4u);
  for (const Expr& root : unit) EXPECT_NEAR(std::abs(value_of(root)), 1, 1e-12);
  expect_roots_satisfy(x4_plus_1, unit);

  const Expr complex_biquadratic = pow(x, 4) + 2 * x * x + 2;  // x^2 = -1 ± i
  std::vector<Expr> cb = solve_for(complex_biquadratic, x);
  ASSERT_EQ(cb.size(), 4u);
  for (const Expr& root : cb) EXPECT_FALSE(contains_float(root));
  expect_roots_satisfy(complex_biquadratic, cb);

  const Expr other = pow(x, 4) + x + 1;  // no rational resolvent root: numeric
  std::vector<Expr> n = solve_for(other, x);
  ASSERT_EQ(n.size(), 4u);
  expect_roots_satisfy(other, n);
}

TEST(SolvePolynomial, QuinticNumericRoots) {
  const Expr f = pow(x, 5) - x - 1;
  std::vector<Expr> r = solve_for(f, x);
  ASSERT_EQ(r.size(), 5u);
  ASSERT_TRUE(r[0].is(Kind::Float));
  EXPECT_NEAR(r[0].float_value(), 1.1673039782614187, 1e-13);
  for (std::size_t k = 1; k < r.size(); ++k) EXPECT_GT(std::abs(value_of(r[k]).imag()), 0.1);
  expect_roots_satisfy(f, r);
}

TEST(SolvePolynomial, NumericRootsThroughSolveKeepTheRealRoot) {
  std::vector<Equation> quintic = {eq(pow(x, 5) - x, 1)};
  std::vector<Solution> s = solve(quintic);
  ASSERT_EQ(s.size(), 5u);
  ASSERT_TRUE(value_in(s[0], x).is(Kind::Float));
  EXPECT_NEAR(value_in(s[0], x).float_value(), 1.1673039782614187, 1e-13);
  expect_all_satisfy(quintic, s);
}

TEST(SolvePolynomial, HighDegreeWithRationalFactors) {
  // (x - 3) * (x^2 + 1) * (x^6 - 2): a rational root, complex roots, and a sextic.
  const Expr f = expand((x - 3) * (x * x + 1) * (pow(x, 6) - 2));
  std::vector<Expr> r = solve_for(f, x);
  ASSERT_EQ(r.size(), 9u);
  EXPECT_NEAR(value_of(r[0]).real(), -std::pow(2.0, 1.0 / 6), 1e-12);
  EXPECT_NEAR(value_of(r[1]).real(), std::pow(2.0, 1.0 / 6), 1e-12);
  EXPECT_EQ(r[2], Expr(3));
  expect_roots_satisfy(f, r);
}

TEST(SolvePolynomial, SymbolicQuadratic) {
  const Expr f = x * x + b * x + c;
  std::vector<Expr> r = solve_for(f, x);
  ASSERT_EQ(r.size(), 2u);
  expect_roots_satisfy(f, r, {{"b", 1.5}, {"c", -2.25}});
  expect_roots_satisfy(f, r, {{"b", 0.5}, {"c", 3.0}});
  // x^2 - a^2 factors over Q(a): no square roots needed.
  std::vector<Expr> d = solve_for(x * x - a * a, x);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE((d[0] == a && d[1] == -a) || (d[0] == -a && d[1] == a));
}

TEST(SolvePolynomial, FloatCoefficientsGiveFloats) {
  std::vector<Expr> r = solve_for(x * x - real(2.0), x);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NEAR(value_of(r[0]).real(), -std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(value_of(r[1]).real(), std::sqrt(2.0), 1e-12);
}

TEST(SolvePolynomial, RationalFunctionsDropPoles) {
  std::vector<Expr> r = solve_for((x * x - 1) / (x - 1), x);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], Expr(-1));
  std::vector<Solution> s = solve({eq(x / (x - 1), 2)});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(value_in(s[0], x), Expr(2));
  EXPECT_TRUE(solve_for(1 / x, x).empty());
}

TEST(SolveInvert, ExpLogAndPowers) {
  std::vector<Expr> r = solve_for(exp(x) - 2, x);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], log(Expr(2)));

  std::vector<Solution> s = solve({eq(sqrt(x), 3)});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(value_in(s[0], x), Expr(9));
  EXPECT_TRUE(solve({eq(sqrt(x), -3)}).empty());  // extraneous root dropped

  std::vector<Expr> l = solve_for(log(x + 1) - 2, x);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_NEAR(value_of(l[0]).real(), std::exp(2.0) - 1, 1e-12);

  std::vector<Expr> p = solve_for(pow(Expr(2), x) - 8, x);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NEAR(value_of(p[0]).real(), 3, 1e-12);

  std::vector<Expr> e2 = solve_for(exp(2 * x + 1) - 5, x);
  ASSERT_EQ(e2.size(), 1u);
  EXPECT_NEAR(value_of(e2[0]).real(), (std::log(5.0) - 1) / 2, 1e-12);
}

TEST(SolveInvert, TrigonometricPrincipalValuesAndKernels) {
  std::vector<Expr> r = solve_for(sin(x) - rational(1, 2), x);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NEAR(value_of(r[0]).real(), M_PI / 6, 1e-12);

  // A quadratic in exp(x): exp(x) = 1 or exp(x) = 2.
  std::vector<Expr> q = solve_for(pow(exp(x), 2) - 3 * exp(x) + 2, x);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_NEAR(value_of(q[0]).real(), 0, 1e-12);
  EXPECT_NEAR(value_of(q[1]).real(), std::log(2.0), 1e-12);

  // x^(1/2) and x are powers of t = x^(1/2): t^2 + t - 6 = 0, t = 2 (t = -3 is extraneous).
  std::vector<Expr> w = solve_for(sqrt(x) + x - 6, x);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], Expr(4));

  std::vector<Expr> v = solve_for(sqrt(x + 1) - (x - 1), x);  // x = 0 is extraneous
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], Expr(3));

  std::vector<Expr> p = solve_for(x * exp(x), x);  // x = 0; exp(x) is never 0
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], Expr(0));
}

TEST(SolveSystem, CircleAndLine) {
  std::vector<Equation> system = {eq(x * x + y * y, 25), eq(x + y, 7)};
  std::vector<Solution> s = solve(system);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(value_in(s[0], x), Expr(3));
  EXPECT_EQ(value_in(s[0], y), Expr(4));
  EXPECT_EQ(value_in(s[1], x), Expr(4));
  EXPECT_EQ(value_in(s[1], y), Expr(3));
}

TEST(SolveSystem, FromParsedText) {
  std::vector<Solution> s = solve(parse_statement("2*x + 3*y = 7; x - y = 1").equations);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], (Solution{{x, Expr(2)}, {y, Expr(1)}}));
  std::vector<Solution> t = solve(parse_statement("x^2 + y^2 = 25; x + y = 7").equations);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0], (Solution{{x, Expr(3)}, {y, Expr(4)}}));
  EXPECT_EQ(t[1], (Solution{{x, Expr(4)}, {y, Expr(3)}}));
}

TEST(SolveSystem, OneNonlinearEquationInTwoUnknownsIsParametric) {
  std::vector<Equation> circle = {eq(x * x + y * y, 25)};
  std::vector<Solution> s = solve(circle);
  ASSERT_EQ(s.size(), 2u);
  for (const Solution& sol : s) {
    ASSERT_EQ(sol.size(), 1u);  // x in terms of the free y
    EXPECT_EQ(sol[0].first, x);
  }
  expect_all_satisfy(circle, s, {{"y", 1.5}});
}

TEST(SolveSystem, ResultantElimination) {
  std::vector<Equation> system = {eq(x * x + y * y, 5), eq(x * y, 2)};
  std::vector<Solution> s = solve(system);
  ASSERT_EQ(s.size(), 4u);
  const int expected[4][2] = {{-2, -1}, {-1, -2}, {1, 2}, {2, 1}};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(value_in(s[k], x), Expr(expected[k][0]));
    EXPECT_EQ(value_in(s[k], y), Expr(expected[k][1]));
  }
  expect_all_satisfy(system, s);
}

TEST(SolveSystem, IrrationalAndComplexIntersections) {
  std::vector<Equation> parabola = {eq(x * x + y * y, 1), eq(y, x * x)};
  std::vector<Solution> s = solve(parabola);
  ASSERT_EQ(s.size(), 4u);  // two real points, two complex ones
  expect_all_satisfy(parabola, s);
  EXPECT_NEAR(value_of(value_in(s[0], y)).real(), (std::sqrt(5.0) - 1) / 2, 1e-12);

  std::vector<Equation> three = {eq(x + y + z, 6), eq(x * y + y * z + z * x, 11), eq(x * y * z, 6)};
  std::vector<Solution> t = solve(three);
  ASSERT_EQ(t.size(), 6u);  // the permutations of 1, 2, 3
  expect_all_satisfy(three, t);
  EXPECT_EQ(value_in(t[0], x), Expr(1));
  EXPECT_EQ(value_in(t[0], y), Expr(2));
  EXPECT_EQ(value_in(t[0], z), Expr(3));
}

TEST(SolveSystem, NonlinearWithoutSolution) { EXPECT_TRUE(solve({eq(x * y, 1), eq(x, 0)}).empty()); }

TEST(SolveSystem, SingleUnknownSeveralEquations) {
  std::vector<Solution> s = solve({eq(x * x, 4), eq(x + 2, 0)});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(value_in(s[0], x), Expr(-2));
}

TEST(SolveErrors, WhatCannotBeSolvedIsSaid) {
  std::string msg = testing::error_of([] { solve_for(x + sin(x), x); }, Error::Kind::InvalidArgument);
  EXPECT_NE(msg.find("cannot solve"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sin(x)"), std::string::npos) << msg;

  msg = testing::error_of([] { solve({eq(x * x + y * y, 1), eq(2 * x * x + 2 * y * y, 2)}); });
  EXPECT_NE(msg.find("infinitely many"), std::string::npos) << msg;

  msg = testing::error_of([] { solve({eq(exp(x) + y, 1), eq(x * y, 3)}); });
  EXPECT_NE(msg.find("not polynomial"), std::string::npos) << msg;

  msg = testing::error_of([] { solve({eq(x, 1)}, {x + 1}); });
  EXPECT_NE(msg.find("not a symbol"), std::string::npos) << msg;

  msg = testing::error_of([] { solve({}); });
  EXPECT_NE(msg.find("no equations"), std::string::npos) << msg;

  msg = testing::error_of([] { solve_for(pow(x, 3) + a * x + 1, x); });
  EXPECT_NE(msg.find("symbolic coefficients"), std::string::npos) << msg;

  msg = testing::error_of([] { solve_for(x - x, x); });
  EXPECT_NE(msg.find("every value"), std::string::npos) << msg;
}

}  // namespace
}  // namespace miso::mprime
