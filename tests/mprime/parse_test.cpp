#include "miso/mprime/parse.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "../error_of.hpp"
#include "miso/core/error.hpp"

namespace miso::mprime {
namespace {

using miso::testing::error_of;

const Expr x = symbol("x");
const Expr y = symbol("y");
const Expr a = symbol("a");
const Expr b = symbol("b");

std::string parse_error(std::string_view text) {
  return error_of([&] { parse(text); }, Error::Kind::Format);
}

TEST(ParseNumbers, IntegersAreExactAndUnbounded) {
  EXPECT_EQ(parse("42"), integer(42));
  EXPECT_EQ(parse("007"), integer(7));
  const std::string big = "123456789012345678901234567890123456789";
  EXPECT_EQ(parse(big), integer(mpz_class(big)));
  EXPECT_EQ(parse("3/4"), rational(3, 4));
  EXPECT_EQ(parse("-3/4"), rational(-3, 4));
}

TEST(ParseNumbers, DecimalsAreFloats) {
  EXPECT_EQ(parse("1.5"), real(1.5));
  EXPECT_EQ(parse("2e-3"), real(2e-3));
  EXPECT_EQ(parse("2E+3"), real(2000.0));
  EXPECT_EQ(parse(".25"), real(0.25));
  EXPECT_EQ(parse("0.1"), real(0.1));
  EXPECT_EQ(parse("1e-05"), real(1e-5));
}

TEST(ParseNumbers, LetterEAfterDigitsIsEulersNumberUnlessDigitsFollow) {
  EXPECT_EQ(parse("2e"), integer(2) * e());
  EXPECT_EQ(parse("2e5"), real(2e5));
  EXPECT_EQ(parse("2ex"), integer(2) * symbol("ex"));
}

TEST(ParseOperators, PrecedenceAndAssociativity) {
  EXPECT_EQ(parse("1 + 2*3"), integer(7));
  EXPECT_EQ(parse("(1 + 2)*3"), integer(9));
  EXPECT_EQ(parse("2^3^2"), integer(512));
  EXPECT_EQ(parse("2**3"), integer(8));
  EXPECT_EQ(parse("-2^2"), integer(-4));
  EXPECT_EQ(parse("2^-1"), rational(1, 2));
  EXPECT_EQ(parse("8/4/2"), integer(1));
  EXPECT_EQ(parse("x - y - 1"), x - y - Expr(1));
  EXPECT_EQ(parse("-x^2"), -pow(x, Expr(2)));
  EXPECT_EQ(parse("x^-2"), pow(x, Expr(-2)));
  EXPECT_EQ(parse("x^y^2"), pow(x, pow(y, Expr(2))));
  EXPECT_EQ(parse("--x"), x);
  EXPECT_EQ(parse("+x"), x);
  EXPECT_EQ(parse("x*-y"), -(x * y));
  EXPECT_EQ(parse("x/y"), x / y);
  EXPECT_EQ(parse("1/x"), pow(x, Expr(-1)));
  EXPECT_EQ(parse("[x + 1]*{y}"), (x + Expr(1)) * y);
}

TEST(ParseOperators, UnicodeOperators) {
  EXPECT_EQ(parse("x × y"), x * y);
  EXPECT_EQ(parse("x · y"), x * y);
  EXPECT_EQ(parse("x ÷ y"), x / y);
  EXPECT_EQ(parse("x − y"), x - y);
  EXPECT_EQ(parse("x²"), pow(x, Expr(2)));
  EXPECT_EQ(parse("x⁻¹"), pow(x, Expr(-1)));
  EXPECT_EQ(parse("(x + 1)³"), pow(x + Expr(1), Expr(3)));
}

TEST(ParseImplicit, JuxtapositionMultiplies) {
  EXPECT_EQ(parse("2x"), Expr(2) * x);
  EXPECT_EQ(parse("2x^2"), Expr(2) * pow(x, Expr(2)));
  EXPECT_EQ(parse("2(x + 1)"), Expr(2) * (x + Expr(1)));
  EXPECT_EQ(parse("(a + b)(a - b)"), (a + b) * (a - b));
  EXPECT_EQ(parse("x y"), x * y);
  EXPECT_EQ(parse("3sin(x)"), Expr(3) * sin(x));
  EXPECT_EQ(parse("x(y + 1)"), x * (y + Expr(1)));
  EXPECT_EQ(parse("2πx"), Expr(2) * pi() * x);
  EXPECT_EQ(parse("2√x"), Expr(2) * sqrt(x));
  EXPECT_EQ(parse("1/2x"), x / Expr(2));  // left to right, like SymPy
  EXPECT_EQ(parse("xy"), symbol("xy"));   // one name, not x*y
  EXPECT_EQ(parse("x2"), symbol("x2"));
}

TEST(ParseNames, SymbolsAndConstants) {
  EXPECT_EQ(parse("x_1"), symbol("x_1"));
  EXPECT_EQ(parse("θ"), symbol("θ"));
  EXPECT_EQ(parse("αβ + γ"), symbol("αβ") + symbol("γ"));
  EXPECT_EQ(parse("pi"), pi());
  EXPECT_EQ(parse("π"), pi());
  EXPECT_EQ(parse("e"), e());
  EXPECT_EQ(parse("i"), imaginary_unit());
  EXPECT_EQ(parse("i^2"), integer(-1));
  for (const char* inf : {"oo", "∞", "inf", "infinity"}) EXPECT_EQ(parse(inf), infinity()) << inf;
  EXPECT_EQ(parse("-∞"), -infinity());
}

TEST(ParseFunctions, NamesAndAliases) {
  EXPECT_EQ(parse("sin(x)"), sin(x));
  EXPECT_EQ(parse("cos(x) + tan(x)"), cos(x) + tan(x));
  EXPECT_EQ(parse("exp(x)"), exp(x));
  EXPECT_EQ(parse("ln(x)"), log(x));
  EXPECT_EQ(parse("log(x)"), log(x));
  EXPECT_EQ(parse("abs(x)"), abs(x));
  EXPECT_EQ(parse("arcsin(x)"), asin(x));
  EXPECT_EQ(parse("arccos(x) + acos(y)"), acos(x) + acos(y));
  EXPECT_EQ(parse("atan(x)"), atan(x));
  EXPECT_EQ(parse("sinh(x)*cosh(x)/tanh(x)"), sinh(x) * cosh(x) / tanh(x));
  EXPECT_EQ(parse("sqrt(x)"), sqrt(x));
  EXPECT_EQ(parse("cbrt(x)"), pow(x, rational(1, 3)));
  EXPECT_EQ(parse("log(x, 2)"), log(x) / log(Expr(2)));
  EXPECT_EQ(parse("e^x"), exp(x));
}

TEST(ParseFunctions, RadicalsAbsoluteValuesAndPowersOfFunctions) {
  EXPECT_EQ(parse("√x"), sqrt(x));
  EXPECT_EQ(parse("√2"), sqrt(Expr(2)));
  EXPECT_EQ(parse("√(a^2 + b^2)"), sqrt(pow(a, Expr(2)) + pow(b, Expr(2))));
  EXPECT_EQ(parse("∛x"), pow(x, rational(1, 3)));
  EXPECT_EQ(parse("|x|"), abs(x));
  EXPECT_EQ(parse("|x - 1| + |y|"), abs(x - Expr(1)) + abs(y));
  EXPECT_EQ(parse("|x||y|"), abs(x) * abs(y));
  EXPECT_EQ(parse("||x| - 2|"), abs(abs(x) - Expr(2)));
  EXPECT_EQ(parse("sin^2(x)"), pow(sin(x), Expr(2)));
  EXPECT_EQ(parse("sin²(x)"), pow(sin(x), Expr(2)));
  EXPECT_EQ(parse("sin^-1(x)"), asin(x));
  EXPECT_EQ(parse("sin(x)^2"), pow(sin(x), Expr(2)));
}

TEST(ParseFunctions, ArgumentsWithoutParentheses) {
  EXPECT_EQ(parse("sin x"), sin(x));
  EXPECT_EQ(parse("sin x^2"), sin(pow(x, Expr(2))));
  EXPECT_EQ(parse("sin 2x"), sin(Expr(2) * x));
  EXPECT_EQ(parse("sin x cos x"), sin(x) * cos(x));
  EXPECT_EQ(parse("ln x + 1"), log(x) + Expr(1));
}

TEST(ParseCalculus, LeibnizDerivatives) {
  EXPECT_EQ(parse("d/dx(sin(x))"), derivative(sin(x), x));
  EXPECT_EQ(parse("d/dx sin(x)"), derivative(sin(x), x));
  EXPECT_EQ(parse("d/dx x^2 + 1"), derivative(pow(x, Expr(2)), x) + Expr(1));
  const Expr cubic = pow(x, Expr(3)) + Expr(2) * pow(x, Expr(2)) + x;
  EXPECT_EQ(parse("d^2/dx^2(x^3 + 2*x^2 + x)"), derivative(cubic, x, 2));
  EXPECT_EQ(parse("d²/dx²(x^3 + 2*x^2 + x)"), derivative(cubic, x, 2));
  EXPECT_EQ(parse("d/dθ(sin(θ))"), derivative(sin(symbol("θ")), symbol("θ")));
  EXPECT_EQ(parse("2 d/dy(x y)"), Expr(2) * derivative(x * y, y));
  EXPECT_EQ(parse("d/2"), symbol("d") / Expr(2));  // d alone is a symbol
}

TEST(ParseCalculus, PartialDerivatives) {
  EXPECT_EQ(parse("∂/∂x(x*y)"), derivative(x * y, x));
  EXPECT_EQ(parse("∂^2/∂x^2(x^3*y)"), derivative(pow(x, Expr(3)) * y, x, 2));
  EXPECT_EQ(parse("∂²/∂x∂y(x^2*y^2)"), derivative(derivative(pow(x, Expr(2)) * pow(y, Expr(2)), y), x));
}

TEST(ParseCalculus, DiffCalls) {
  EXPECT_EQ(parse("diff(x^2, x)"), derivative(pow(x, Expr(2)), x));
  EXPECT_EQ(parse("diff(x^5, x, 3)"), derivative(pow(x, Expr(5)), x, 3));
  EXPECT_EQ(parse("diff(x*y, x, y)"), derivative(derivative(x * y, x), y));
  EXPECT_EQ(parse("Derivative(sin(x), x)"), derivative(sin(x), x));
}

TEST(ParseCalculus, Integrals) {
  const Expr x2 = pow(x, Expr(2));
  EXPECT_EQ(parse("∫(x^2)dx"), integral(x2, x));
  EXPECT_EQ(parse("∫ x^2 dx"), integral(x2, x));
  EXPECT_EQ(parse("∫x^2dx"), integral(x2, x));
  EXPECT_EQ(parse("∫ x + 1 dx"), integral(x + Expr(1), x));
  EXPECT_EQ(parse("∫ sin(x) dx + 1"), integral(sin(x), x) + Expr(1));
  EXPECT_EQ(parse("∫ 1/x dx"), integral(pow(x, Expr(-1)), x));
  EXPECT_EQ(parse("∫ dx"), integral(Expr(1), x));
  EXPECT_EQ(parse("∫_0^1 x^2 dx"), integral(x2, x, Expr(0), Expr(1)));
  EXPECT_EQ(parse("∫_a^b(x^2)dx"), integral(x2, x, a, b));
  EXPECT_EQ(parse("∫_{a}^{b} x^2 dx"), integral(x2, x, a, b));
  EXPECT_EQ(parse("∫_{-1}^{2x} t dt"), integral(symbol("t"), symbol("t"), Expr(-1), Expr(2) * x));
  EXPECT_EQ(parse("∫_0^∞ exp(-x) dx"), integral(exp(-x), x, Expr(0), infinity()));
  EXPECT_EQ(parse("∫_-1^1 x dx"), integral(x, x, Expr(-1), Expr(1)));
  EXPECT_EQ(parse("∫ 2 delta dx"), integral(Expr(2) * symbol("delta"), x));
  EXPECT_EQ(parse("∫∫ x y dy dx"), integral(integral(x * y, y), x));
  EXPECT_EQ(parse("(∫ x dx)^2"), pow(integral(x, x), Expr(2)));
  EXPECT_EQ(parse("integrate(x^2, x)"), integral(x2, x));
  EXPECT_EQ(parse("integrate(x^2, x, 0, 1)"), integral(x2, x, Expr(0), Expr(1)));
  EXPECT_EQ(parse("integrate(x^2, (x, 0, 1))"), integral(x2, x, Expr(0), Expr(1)));
}

TEST(ParseCalculus, Limits) {
  const Expr f = sin(x) / x;
  EXPECT_EQ(parse("lim(x→0)(sin(x)/x)"), limit(f, x, Expr(0)));
  EXPECT_EQ(parse("lim(x->0) sin(x)/x"), limit(f, x, Expr(0)));
  EXPECT_EQ(parse("lim_{x→0} sin(x)/x"), limit(f, x, Expr(0)));
  EXPECT_EQ(parse("lim(x→0+)(1/x)"), limit(pow(x, Expr(-1)), x, Expr(0), Direction::Plus));
  EXPECT_EQ(parse("lim(x→0-)(1/x)"), limit(pow(x, Expr(-1)), x, Expr(0), Direction::Minus));
  EXPECT_EQ(parse("lim(x→0^+)(1/x)"), limit(pow(x, Expr(-1)), x, Expr(0), Direction::Plus));
  EXPECT_EQ(parse("lim(x→a+1)(x)"), limit(x, x, a + Expr(1)));
  EXPECT_EQ(parse("lim(x→∞)(1/x)"), limit(pow(x, Expr(-1)), x, infinity()));
  EXPECT_EQ(parse("lim(x->-oo)(exp(x))"), limit(exp(x), x, -infinity()));
  EXPECT_EQ(parse("limit(sin(x)/x, x, 0)"), limit(f, x, Expr(0)));
  EXPECT_EQ(parse("limit(1/x, x, 0, \"+\")"), limit(pow(x, Expr(-1)), x, Expr(0), Direction::Plus));
  EXPECT_EQ(parse("limit(1/x, x, 0, '-')"), limit(pow(x, Expr(-1)), x, Expr(0), Direction::Minus));
  EXPECT_EQ(parse("limit(1/x, x, 0, \"+-\")"), limit(pow(x, Expr(-1)), x, Expr(0)));
}

TEST(ParseStatement, SingleExpressions) {
  const Statement s = parse_statement("x + 1");
  ASSERT_EQ(s.expressions.size(), 1u);
  EXPECT_FALSE(s.is_system());
  EXPECT_EQ(s.expressions[0], x + Expr(1));
  const Statement two = parse_statement("x; y;");
  ASSERT_EQ(two.expressions.size(), 2u);
  EXPECT_EQ(two.expressions[1], y);
}

TEST(ParseStatement, LinearAndPolynomialSystems) {
  const Statement s = parse_statement("2*x + 3*y = 7; x - y = 1");
  ASSERT_TRUE(s.is_system());
  ASSERT_EQ(s.equations.size(), 2u);
  EXPECT_EQ(s.equations[0].lhs, Expr(2) * x + Expr(3) * y);
  EXPECT_EQ(s.equations[0].rhs, integer(7));
  EXPECT_EQ(s.equations[1].difference(), x - y - Expr(1));

  const Statement circle = parse_statement("x^2 + y^2 = 25\nx + y = 7");
  ASSERT_EQ(circle.equations.size(), 2u);
  EXPECT_EQ(circle.equations[1].lhs, x + y);
  EXPECT_EQ(circle.equations[0].rhs, integer(25));
}

TEST(ParseStatement, MixedInputReadsPlainExpressionsAsEqualToZero) {
  const Statement s = parse_statement("x + y = 2; x - y");
  ASSERT_EQ(s.equations.size(), 2u);
  EXPECT_TRUE(s.expressions.empty());
  EXPECT_EQ(s.equations[1].lhs, x - y);
  EXPECT_EQ(s.equations[1].rhs, integer(0));
}

TEST(ParseStatement, ContinuationAcrossLinesInsideAnOperation) {
  const Statement s = parse_statement("x +\n y = 1");
  ASSERT_EQ(s.equations.size(), 1u);
  EXPECT_EQ(s.equations[0].lhs, x + y);
}

TEST(ParseErrors, CaretUnderTheOffendingPosition) {
  EXPECT_EQ(parse_error("2*x*)"),
            "parse error at column 5: expected an expression after '*', found ')'\n"
            "  2*x*)\n"
            "      ^");
  EXPECT_EQ(caret_message("2*x*)", 4, "expected an expression after '*'"),
            "parse error at column 5: expected an expression after '*'\n  2*x*)\n      ^");
}

TEST(ParseErrors, ColumnsCountCodePoints) {
  const std::string msg = parse_error("√π + ∞ @");
  EXPECT_NE(msg.find("column 8"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected character '@'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\n  √π + ∞ @\n         ^"), std::string::npos) << msg;
}

TEST(ParseErrors, MultilineInputNamesTheLine) {
  const std::string msg = error_of([] { parse_statement("x = 1\ny = )"); });
  EXPECT_NE(msg.find("line 2, column 5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\n  y = )\n      ^"), std::string::npos) << msg;
}

TEST(ParseErrors, MalformedInputs) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"", "empty input"},
      {"   ", "empty input"},
      {"(x + 1", "expected ')' to close the '(' at column 1"},
      {"x + 1)", "unbalanced ')'"},
      {"2**", "expected an expression after '**'"},
      {"x $ y", "unexpected character '$'"},
      {"2 3", "expected an operator before '3'"},
      {"x = 1", "an equation is not an expression"},
      {"x; y", "unexpected ';'"},
      {"d/dx", "expected an expression to differentiate after 'd/dx'"},
      {"∂/∂x", "expected an expression to differentiate after '∂/∂x'"},
      {"d/dx + 1", "expected an expression to differentiate"},
      {"d^2/dx^3(x)", "differ"},
      {"d/dpi(x)", "expected a variable"},
      {"lim(x)(x)", "expected '→' or '->'"},
      {"lim(x→)(x)", "expected the point"},
      {"lim x→0 x", "expected '(' after 'lim'"},
      {"lim(x→0)", "expected an expression to take the limit of after 'lim(x→0)'"},
      {"∫ x^2", "expected the differential"},
      {"∫_0 x dx", "expected '^' and the upper bound"},
      {"sin", "expected an argument after 'sin'"},
      {"sin()", "expected an argument for 'sin'"},
      {"sin(x, y)", "takes one argument"},
      {"diff(x)", "at least one variable"},
      {"diff(x, 2)", "variable of differentiation"},
      {"integrate(x, x, 1)", "integrate(f, x, a, b)"},
      {"limit(x, x)", "limit(f, x, a)"},
      {"limit(x, x, 0, \"up\")", "the direction of a limit"},
      {"1/0", "division by zero"},
      {"0^-1", "division by zero"},
      {"log(0)", "log(0)"},
      {"2^2^2^2^2^2", "power too large"},
      {"\"abc", "unterminated string"},
      {"x\xff", "invalid UTF-8 byte"},
      {"1e999", "number out of range"},
      {"x^", "expected an expression after '^'"},
      {"()", "expected an expression inside '()'"},
      {"|x", "expected '|' to close"},
      {"x\ny", "unexpected 'y' after the expression"},
  };
  for (const Case& c : cases) {
    const std::string msg = parse_error(c.text);
    EXPECT_NE(msg.find(c.says), std::string::npos) << "input: " << c.text << "\nmessage: " << msg;
    EXPECT_EQ(msg.rfind("parse error at ", 0), 0u) << msg;
  }
  EXPECT_NE(error_of([] { parse_statement("; ;"); }).find("empty input"), std::string::npos);
  EXPECT_NE(error_of([] { parse_statement("x = 1 = 2"); }).find("one equation has one '='"), std::string::npos);
}

TEST(ParseErrors, DeepNestingIsAnErrorNotAStackOverflow) {
  const std::string deep = std::string(100000, '(') + "x" + std::string(100000, ')');
  EXPECT_NE(parse_error(deep).find("nested too deeply"), std::string::npos);
  EXPECT_NE(parse_error("2*" + std::string(100000, '-') + "x").find("nested too deeply"), std::string::npos);
  EXPECT_EQ(parse(std::string(100000, '-') + "x"), x);  // a sign run is a loop, not recursion
  EXPECT_NE(parse_error("x" + std::string(5000, '^')).find("expected an expression"), std::string::npos);
  std::string tower = "x";
  for (int k = 0; k < 2000; ++k) tower += "^x";
  EXPECT_NE(parse_error(tower).find("nested too deeply"), std::string::npos);
  // Moderate nesting is fine.
  EXPECT_EQ(parse(std::string(200, '(') + "x" + std::string(200, ')')), x);
}

TEST(ParseErrors, LongLinesShowAWindowAroundTheCaret) {
  const std::string text = std::string(300, 'x') + " $";
  const std::string msg = parse_error(text);
  EXPECT_NE(msg.find("column 302"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 300u);
}

// Whatever the bytes, parse either returns or throws miso::Error.
void parse_or_error(const std::string& text) {
  try {
    (void)parse_statement(text);
  } catch (const Error&) {
  }
  try {
    (void)parse(text);
  } catch (const Error&) {
  }
}

TEST(ParseFuzz, RandomBytesNeverCrash) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 40);
  for (int k = 0; k < 3000; ++k) {
    std::string s;
    const int n = length(rng);
    for (int j = 0; j < n; ++j) s += static_cast<char>(byte(rng));
    parse_or_error(s);
  }
}

TEST(ParseFuzz, RandomTokenSoupNeverCrashes) {
  const std::vector<std::string> tokens = {
      "x",   "y",     "2", "0", "1.5", "e",  "i",  "pi",  "π",    "oo",  "∞",   "+",     "-",    "*",         "/",
      "^",   "**",    "(", ")", "[",   "]",  "{",  "}",   "|",    ",",   ";",   "=",     "\n",   " ",         "sin",
      "log", "sqrt",  "√", "∫", "_",   "dx", "dy", "d",   "d/dx", "∂",   "lim", "limit", "diff", "integrate", "→",
      "->",  "\"+\"", "²", "⁻", "9^9", "0^", "2e", "1e5", ".",    "abs", "exp", "−",     "×",    "∛",         "delta"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, tokens.size() - 1);
  std::uniform_int_distribution<int> length(1, 14);
  int parsed = 0;
  for (int k = 0; k < 5000; ++k) {
    std::string s;
    const int n = length(rng);
    for (int j = 0; j < n; ++j) s += tokens[pick(rng)];
    try {
      (void)parse_statement(s);
      ++parsed;
    } catch (const Error& err) {
      EXPECT_EQ(std::string(err.what()).rfind("parse error at ", 0), 0u) << s << "\n" << err.what();
    }
  }
  EXPECT_GT(parsed, 100);  // the soup is not all errors
}

}  // namespace
}  // namespace miso::mprime
