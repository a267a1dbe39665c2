#include "miso/mprime/print.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mprime/parse.hpp"

namespace miso::mprime {
namespace {

const Expr x = symbol("x");
const Expr y = symbol("y");
const Expr z = symbol("z");

Expr P(const char* text) { return parse(text); }

TEST(PrintText, PolynomialsInDescendingDegree) {
  EXPECT_EQ(to_string(Expr(1) + Expr(3) * x + pow(x, Expr(2))), "x^2 + 3*x + 1");
  EXPECT_EQ(to_string(pow(x, Expr(2)) + Expr(2) * x * y + pow(y, Expr(2))), "x^2 + 2*x*y + y^2");
  EXPECT_EQ(to_string(pow(y, Expr(3)) + x), "y^3 + x");
  EXPECT_EQ(to_string(x + Expr(1) + pow(x, Expr(-1))), "x + 1 + 1/x");
  EXPECT_EQ(to_string(sin(x) + Expr(1) + x), "x + sin(x) + 1");
}

TEST(PrintText, SignsAndCoefficients) {
  EXPECT_EQ(to_string(x - y), "x - y");
  EXPECT_EQ(to_string(-x), "-x");
  EXPECT_EQ(to_string(-x + Expr(1)), "-x + 1");
  EXPECT_EQ(to_string(Expr(2) * x), "2*x");
  EXPECT_EQ(to_string(x - Expr(2) * y), "x - 2*y");
  EXPECT_EQ(to_string(x - Expr(1)), "x - 1");
  EXPECT_EQ(to_string(-Expr(2) * x * y), "-2*x*y");
  EXPECT_EQ(to_string(rational(3, 4)), "3/4");
  EXPECT_EQ(to_string(rational(-3, 4)), "-3/4");
  EXPECT_EQ(to_string(rational(3, 4) * x), "3*x/4");
  EXPECT_EQ(to_string(x / Expr(2)), "x/2");
  EXPECT_EQ(to_string(x - y / Expr(2)), "x - y/2");
  EXPECT_EQ(to_string(integer(-7)), "-7");
}

TEST(PrintText, PowersRootsAndQuotients) {
  EXPECT_EQ(to_string(pow(x, Expr(2))), "x^2");
  EXPECT_EQ(to_string(pow(x, Expr(-1))), "1/x");
  EXPECT_EQ(to_string(pow(x, Expr(-2))), "1/x^2");
  EXPECT_EQ(to_string(pow(x, rational(3, 4))), "x^(3/4)");
  EXPECT_EQ(to_string(sqrt(x)), "sqrt(x)");
  EXPECT_EQ(to_string(pow(x, rational(-1, 2))), "1/sqrt(x)");
  EXPECT_EQ(to_string(sqrt(Expr(2))), "sqrt(2)");
  EXPECT_EQ(to_string(x / y), "x/y");
  EXPECT_EQ(to_string(x / (y * z)), "x/(y*z)");
  EXPECT_EQ(to_string(Expr(2) * x / pow(y, Expr(2))), "2*x/y^2");
  EXPECT_EQ(to_string(Expr(1) / (x + Expr(1))), "1/(x + 1)");
  EXPECT_EQ(to_string(Expr(1) / mul({Expr(2), x + Expr(1), y})), "1/(2*y*(x + 1))");
  EXPECT_EQ(to_string(pow(integer(-2), x)), "(-2)^x");
  EXPECT_EQ(to_string(pow(rational(1, 2), x)), "(1/2)^x");
  EXPECT_EQ(to_string(pow(x, -y)), "x^(-y)");
  EXPECT_EQ(to_string(pow(x, y + Expr(1))), "x^(y + 1)");
  EXPECT_EQ(to_string(pow(pow(x, y), z)), "(x^y)^z");
  EXPECT_EQ(to_string(pow(x + Expr(1), Expr(2))), "(x + 1)^2");
  EXPECT_EQ(to_string(pow(sin(x), Expr(2))), "sin(x)^2");
  EXPECT_EQ(to_string(x * (y + Expr(1))), "x*(y + 1)");
}

TEST(PrintText, FloatsAndConstants) {
  EXPECT_EQ(to_string(real(1.5)), "1.5");
  EXPECT_EQ(to_string(real(2.0)), "2.0");
  EXPECT_EQ(to_string(real(0.1)), "0.1");
  EXPECT_EQ(to_string(real(1e-5)), "1e-05");
  EXPECT_EQ(to_string(real(1e300)), "1e+300");
  EXPECT_EQ(to_string(real(-2.5) * x), "-2.5*x");
  EXPECT_EQ(to_string(real(1.0) * x), "1.0*x");
  EXPECT_EQ(to_string(pi()), "pi");
  EXPECT_EQ(to_string(e()), "e");
  EXPECT_EQ(to_string(imaginary_unit()), "i");
  EXPECT_EQ(to_string(infinity()), "oo");
  EXPECT_EQ(to_string(-infinity()), "-oo");
  EXPECT_EQ(to_string(Expr(2) * pi() * x), "2*pi*x");
  EXPECT_EQ(to_string(exp(x)), "exp(x)");
}

TEST(PrintText, UnevaluatedOperations) {
  EXPECT_EQ(to_string(derivative(sin(x), x)), "diff(sin(x), x)");
  EXPECT_EQ(to_string(derivative(pow(x, Expr(3)), x, 2)), "diff(x^3, x, 2)");
  EXPECT_EQ(to_string(integral(pow(x, Expr(2)), x)), "integrate(x^2, x)");
  EXPECT_EQ(to_string(integral(x, x, Expr(0), infinity())), "integrate(x, (x, 0, oo))");
  EXPECT_EQ(to_string(limit(sin(x) / x, x, Expr(0))), "limit(sin(x)/x, x, 0)");
  EXPECT_EQ(to_string(limit(Expr(1) / x, x, Expr(0), Direction::Plus)), "limit(1/x, x, 0, \"+\")");
  EXPECT_EQ(to_string(limit(Expr(1) / x, x, Expr(0), Direction::Minus)), "limit(1/x, x, 0, \"-\")");
}

TEST(PrintText, Equations) { EXPECT_EQ(to_string(Equation{Expr(2) * x + Expr(3) * y, Expr(7)}), "2*x + 3*y = 7"); }

TEST(PrintText, NotationsReadBackInCanonicalForm) {
  EXPECT_EQ(to_string(P("d/dx(sin(x))")), "diff(sin(x), x)");
  EXPECT_EQ(to_string(P("∫_0^1 x^2 dx")), "integrate(x^2, (x, 0, 1))");
  EXPECT_EQ(to_string(P("lim(x→0+)(1/x)")), "limit(1/x, x, 0, \"+\")");
  EXPECT_EQ(to_string(P("√(a^2 + b^2)")), "sqrt(a^2 + b^2)");
  EXPECT_EQ(to_string(P("(a+b)(a-b)")), "(a + b)*(a - b)");
}

TEST(PrintDisplayOrder, DegreeThenLexThenNumbersLast) {
  const Expr s = Expr(5) + x * y + pow(y, Expr(2)) + pow(x, Expr(2)) + x + pi();
  const std::vector<Expr> order = display_order(s);
  ASSERT_EQ(order.size(), 6u);
  EXPECT_EQ(order[0], pow(x, Expr(2)));
  EXPECT_EQ(order[1], x * y);
  EXPECT_EQ(order[2], pow(y, Expr(2)));
  EXPECT_EQ(order[3], x);
  EXPECT_EQ(order[4], pi());
  EXPECT_EQ(order[5], integer(5));
  EXPECT_EQ(display_order(x), std::vector<Expr>{x});
}

// ---- round trips ----------------------------------------------------------------

class RandomExpr {
 public:
  explicit RandomExpr(unsigned seed) : rng_(seed) {}

  Expr make(int depth) {
    if (depth <= 0) return leaf();
    switch (pick(12)) {
      case 0:
      case 1: return add({make(depth - 1), make(depth - 1), make(depth - 2)});
      case 2:
      case 3: return mul({make(depth - 1), make(depth - 1)});
      case 4: return pow(make(depth - 1), small_exponent());
      case 5: return pow(make(depth - 1), make(depth - 2));
      case 6: return apply(static_cast<Function>(pick(kFunctionCount)), make(depth - 1));
      case 7: return -make(depth - 1);
      case 8: return make(depth - 1) / nonzero(depth - 1);
      case 9: {
        switch (pick(4)) {
          case 0: return derivative(make(depth - 1), var(), 1 + pick(3));
          case 1: return integral(make(depth - 1), var());
          case 2: return integral(make(depth - 1), var(), make(depth - 2), make(depth - 2));
          default: return limit(make(depth - 1), var(), make(depth - 2), static_cast<Direction>(pick(3)));
        }
      }
      default: return leaf();
    }
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  Expr var() {
    static const char* names[] = {"x", "y", "z", "t", "θ", "x_1", "alpha"};
    return symbol(names[pick(7)]);
  }

  Expr small_exponent() {
    switch (pick(5)) {
      case 0: return integer(pick(5) + 2);
      case 1: return integer(-1 - pick(3));
      case 2: return rational(pick(2) == 0 ? 1 : -1, 2);
      case 3: return rational(pick(7) - 3, pick(3) + 3);
      default: return real(0.5 + pick(4));
    }
  }

  Expr nonzero(int depth) {
    Expr d = make(depth);
    return d.is_zero() ? var() : d;
  }

  Expr leaf() {
    switch (pick(10)) {
      case 0:
      case 1:
      case 2:
      case 3: return var();
      case 4: return integer(pick(21) - 10);
      case 5: return rational(pick(19) - 9, pick(6) + 2);
      case 6: {
        const double v = std::uniform_real_distribution<double>(-1e3, 1e3)(rng_);
        return real(pick(3) == 0 ? v * 1e-12 : v);
      }
      case 7: {
        switch (pick(4)) {
          case 0: return pi();
          case 1: return e();
          case 2: return imaginary_unit();
          default: return infinity();
        }
      }
      case 8: return integer(mpz_class("123456789012345678901234567890"));
      default: return var();
    }
  }

  std::mt19937 rng_;
};

TEST(PrintRoundTrip, RandomExpressionsReadBackToTheSameNode) {
  RandomExpr gen(12345);
  int checked = 0;
  for (int k = 0; k < 1500; ++k) {
    Expr e0;
    try {
      e0 = gen.make(1 + k % 5);
    } catch (const Error&) {
      continue;  // oo - oo, 0*oo, log(0) and the like
    }
    const std::string text = to_string(e0);
    Expr back;
    try {
      back = parse(text);
    } catch (const Error& err) {
      ADD_FAILURE() << "cannot read back " << text << "\n" << err.what();
      continue;
    }
    EXPECT_EQ(back, e0) << text << "\nread back as " << to_string(back);
    ++checked;
  }
  EXPECT_GT(checked, 1000);
}

TEST(PrintRoundTrip, HandPickedEdgeCases) {
  const std::vector<Expr> cases = {
      rational(1, 2) / (x + Expr(1)),
      Expr(2) * (x + Expr(1)) / y,
      rational(-1, 2) * pow(x + Expr(1), Expr(-1)),
      pow(integer(-2), rational(1, 3)),
      Expr(1) / pow(integer(-2), rational(1, 3)),
      pow(integer(2), rational(-1, 2)),
      pow(x, real(-1.5)),
      pow(real(1.5), x),
      real(-0.0),
      real(5e-324),
      real(1.7976931348623157e308),
      real(123456789.0) * x,
      -infinity() * x,
      pow(x * y, rational(1, 3)),
      Expr(1) / pow(x * y, rational(1, 3)),
      pow(imaginary_unit(), x),
      Expr(3) * imaginary_unit() + Expr(1),
      pow(exp(x), y),
      pow(sqrt(x), y),
      derivative(Expr(2) * x - y, x, 7),
      limit(x, x, -infinity(), Direction::Minus),
      integral(Expr(1) / x, x, Expr(1), e()),
  };
  for (const Expr& c : cases) {
    const std::string text = to_string(c);
    EXPECT_EQ(parse(text), c) << text;
  }
}

// ---- LaTeX ---------------------------------------------------------------------

TEST(PrintLatex, KnownForms) {
  EXPECT_EQ(to_latex(pow(x, Expr(2)) + Expr(3) * x + Expr(1)), "x^{2} + 3 x + 1");
  EXPECT_EQ(to_latex(x - y), "x - y");
  EXPECT_EQ(to_latex(rational(3, 4)), "\\frac{3}{4}");
  EXPECT_EQ(to_latex(rational(-3, 4)), "-\\frac{3}{4}");
  EXPECT_EQ(to_latex(x / y), "\\frac{x}{y}");
  EXPECT_EQ(to_latex(pow(x, Expr(-1))), "\\frac{1}{x}");
  EXPECT_EQ(to_latex(Expr(1) / (x + Expr(1))), "\\frac{1}{x + 1}");
  EXPECT_EQ(to_latex(rational(3, 4) * x), "\\frac{3 x}{4}");
  EXPECT_EQ(to_latex(sqrt(x)), "\\sqrt{x}");
  EXPECT_EQ(to_latex(pow(x, rational(1, 3))), "\\sqrt[3]{x}");
  EXPECT_EQ(to_latex(pow(x, rational(3, 2))), "x^{\\frac{3}{2}}");
  EXPECT_EQ(to_latex(pow(x + Expr(1), Expr(2))), "\\left(x + 1\\right)^{2}");
  EXPECT_EQ(to_latex(Expr(2) * sqrt(Expr(2))), "2 \\sqrt{2}");
  EXPECT_EQ(to_latex(Expr(3) * pow(integer(2), x)), "3 \\cdot 2^{x}");
  EXPECT_EQ(to_latex(sin(x)), "\\sin\\left(x\\right)");
  EXPECT_EQ(to_latex(pow(sin(x), Expr(2))), "\\sin^{2}\\left(x\\right)");
  EXPECT_EQ(to_latex(asin(x)), "\\arcsin\\left(x\\right)");
  EXPECT_EQ(to_latex(abs(x)), "\\left|x\\right|");
  EXPECT_EQ(to_latex(exp(x)), "e^{x}");
  EXPECT_EQ(to_latex(Expr(2) * pi()), "2 \\pi");
  EXPECT_EQ(to_latex(e()), "e");
  EXPECT_EQ(to_latex(imaginary_unit()), "i");
  EXPECT_EQ(to_latex(infinity()), "\\infty");
  EXPECT_EQ(to_latex(real(1.5e-5)), "1.5 \\cdot 10^{-5}");
  EXPECT_EQ(to_latex(symbol("theta")), "\\theta");
  EXPECT_EQ(to_latex(symbol("θ")), "\\theta");
  EXPECT_EQ(to_latex(symbol("x_1")), "x_{1}");
}

TEST(PrintLatex, CalculusNotation) {
  EXPECT_EQ(to_latex(derivative(sin(x), x)), "\\frac{d}{dx} \\sin\\left(x\\right)");
  EXPECT_EQ(to_latex(derivative(pow(x, Expr(3)) + x, x, 2)), "\\frac{d^{2}}{dx^{2}} \\left(x^{3} + x\\right)");
  EXPECT_EQ(to_latex(integral(pow(x, Expr(2)), x)), "\\int x^{2}\\,dx");
  EXPECT_EQ(to_latex(integral(x, x, Expr(0), Expr(1))), "\\int_{0}^{1} x\\,dx");
  EXPECT_EQ(to_latex(limit(sin(x) / x, x, Expr(0))), "\\lim_{x \\to 0} \\frac{\\sin\\left(x\\right)}{x}");
  EXPECT_EQ(to_latex(limit(Expr(1) / x, x, Expr(0), Direction::Plus)), "\\lim_{x \\to 0^{+}} \\frac{1}{x}");
  EXPECT_EQ(to_latex(limit(exp(-x), x, infinity())), "\\lim_{x \\to \\infty} e^{-x}");
  EXPECT_EQ(to_latex(Equation{x + y, Expr(7)}), "x + y = 7");
}

}  // namespace
}  // namespace miso::mprime
