#include "miso/mprime/print.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"

namespace miso::mprime {
namespace {

// ---- term order --------------------------------------------------------------

// Degree of a factor in the symbols: x -> 1, x^3 -> 3, (x + y^2)^2 -> 4, sin(x) -> 0.
double total_degree(const Expr& x) {
  switch (x.kind()) {
    case Kind::Symbol: return 1;
    case Kind::Pow:
      if (x.exponent().is_number()) return total_degree(x.base()) * x.exponent().number().get_d();
      if (x.exponent().kind() == Kind::Float) return total_degree(x.base()) * x.exponent().float_value();
      return 0;
    case Kind::Mul: {
      double d = 0;
      for (const Expr& f : x.args()) d += total_degree(f);
      return d;
    }
    case Kind::Add: {
      double d = 0;
      bool first = true;
      for (const Expr& t : x.args()) {
        const double td = total_degree(t);
        d = first ? td : std::max(d, td);
        first = false;
      }
      return d;
    }
    default: return 0;
  }
}

struct TermKey {
  Expr term;
  double degree = 0;
  bool numeric = false;
  std::vector<std::pair<Expr, double>> powers;  // symbol -> exponent, sorted by compare
};

TermKey key_of(const Expr& t) {
  TermKey k;
  k.term = t;
  k.numeric = t.is_numeric();
  k.degree = total_degree(t);
  auto note = [&](const Expr& f) {
    if (f.is_symbol()) {
      k.powers.emplace_back(f, 1.0);
    } else if (f.kind() == Kind::Pow && f.base().is_symbol() && f.exponent().is_number()) {
      k.powers.emplace_back(f.base(), f.exponent().number().get_d());
    }
  };
  if (t.kind() == Kind::Mul) {
    for (const Expr& f : t.args()) note(f);
  } else {
    note(t);
  }
  std::sort(k.powers.begin(), k.powers.end(),
            [](const auto& a, const auto& b) { return compare(a.first, b.first) < 0; });
  return k;
}

// Lexicographic by the exponents of the symbols in `compare` order (x^2 before
// x*y before y^2); 0 when no symbol decides.
int lex_powers(const TermKey& a, const TermKey& b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.powers.size() || j < b.powers.size()) {
    int c = 0;
    if (i == a.powers.size()) {
      c = 1;
    } else if (j == b.powers.size()) {
      c = -1;
    } else {
      c = compare(a.powers[i].first, b.powers[j].first);
    }
    const double da = c <= 0 ? a.powers[i].second : 0.0;
    const double db = c >= 0 ? b.powers[j].second : 0.0;
    if (da != db) return da > db ? -1 : 1;
    if (c <= 0) ++i;
    if (c >= 0) ++j;
  }
  return 0;
}

bool display_before(const TermKey& a, const TermKey& b) {
  if (a.degree != b.degree) return a.degree > b.degree;
  if (const int c = lex_powers(a, b)) return c < 0;
  if (a.numeric != b.numeric) return b.numeric;
  return compare(a.term, b.term) < 0;
}

// ---- shared pieces -----------------------------------------------------------

std::string float_text(double v) {
  std::array<char, 64> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) throw Error(Error::Kind::Internal, "to_string: to_chars failed");
  std::string s(buf.data(), end);
  // A float must read back as a float, so it always shows '.' or an exponent.
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

bool is_negative_number(const Expr& x) {
  if (x.kind() == Kind::Number) return sgn(x.number()) < 0;
  if (x.kind() == Kind::Float) return x.float_value() < 0;
  return false;
}

Expr negated_number(const Expr& x) {
  if (x.kind() == Kind::Float) return real(-x.float_value());
  return rational(mpq_class(-x.number()));
}

bool is_half(const Expr& x) { return x.is_number() && x.number() == mpq_class(1, 2); }

// A product split for display: sign, |numeric coefficient|, the factors with
// positive exponents and, as base^|exponent|, those with negative numeric ones.
struct Product {
  bool negative = false;
  Expr coefficient = Expr(1);  // nonnegative
  std::vector<Expr> numerator;
  std::vector<std::pair<Expr, Expr>> denominator;  // base, positive exponent
};

bool exact_negative_exponent(const Expr& f) {
  return f.kind() == Kind::Pow && f.exponent().is_number() && sgn(f.exponent().number()) < 0;
}

// Display order of the factors of a product: constants (2*pi*x), symbols and
// their powers by name, functions, sums (term by term in display order, so
// (x - 1)*(x + 1)), then the rest; the canonical order is by hash and not
// meant for reading.
int display_group(const Expr& base) {
  switch (base.kind()) {
    case Kind::Constant: return 0;
    case Kind::Symbol: return 1;
    case Kind::Function: return 2;
    case Kind::Add: return 3;
    default: return 4;
  }
}

int display_compare(const Expr& a, const Expr& b) {
  if (a == b) return 0;
  const Expr& ba = a.kind() == Kind::Pow ? a.base() : a;
  const Expr& bb = b.kind() == Kind::Pow ? b.base() : b;
  const int ga = display_group(ba), gb = display_group(bb);
  if (ga != gb) return ga < gb ? -1 : 1;
  int c = 0;
  if (ga == 2) {
    c = ba.function() == bb.function() ? display_compare(ba[0], bb[0]) : (ba.function() < bb.function() ? -1 : 1);
  } else if (ga == 3) {
    const std::vector<Expr> ta = display_order(ba), tb = display_order(bb);
    for (std::size_t i = 0; i < ta.size() && i < tb.size() && c == 0; ++i) {
      const TermKey ka = key_of(ta[i]), kb = key_of(tb[i]);
      if (display_before(ka, kb)) {
        c = -1;
      } else if (display_before(kb, ka)) {
        c = 1;
      } else {
        c = compare(ta[i], tb[i]);
      }
    }
    if (c == 0 && ta.size() != tb.size()) c = ta.size() < tb.size() ? -1 : 1;
  } else {
    c = compare(ba, bb);
  }
  if (c != 0) return c;
  return compare(a.kind() == Kind::Pow ? a.exponent() : Expr(1), b.kind() == Kind::Pow ? b.exponent() : Expr(1));
}

Product split_product(const Expr& x) {
  Product p;
  auto factor = [&](const Expr& f) {
    if (f.is_numeric()) {
      p.negative = is_negative_number(f);
      p.coefficient = p.negative ? negated_number(f) : f;
    } else if (exact_negative_exponent(f)) {
      p.denominator.emplace_back(f.base(), negated_number(f.exponent()));
    } else {
      p.numerator.push_back(f);
    }
  };
  if (x.kind() == Kind::Mul) {
    for (const Expr& f : x.args()) factor(f);
  } else {
    factor(x);
  }
  auto before = [](const Expr& a, const Expr& b) { return display_compare(a, b) < 0; };
  std::stable_sort(p.numerator.begin(), p.numerator.end(), before);
  std::stable_sort(p.denominator.begin(), p.denominator.end(),
                   [&](const auto& a, const auto& b) { return before(a.first, b.first); });
  return p;
}

// ---- plain text --------------------------------------------------------------

// Binding strength of printed text, weakest first: what an operand must have to
// stand without parentheses.
enum Prec : int { kSum = 1, kNegative, kProduct, kPower, kAtom };

struct Text {
  std::string s;
  int prec = kAtom;
};

class PlainWriter {
 public:
  Text write(const Expr& x) {
    switch (x.kind()) {
      case Kind::Number: return number(x.number());
      case Kind::Float: {
        const double v = x.float_value();
        return {float_text(v), v < 0 ? kNegative : kAtom};
      }
      case Kind::Constant: return {constant(x.constant()), kAtom};
      case Kind::Symbol: return {x.name(), kAtom};
      case Kind::Add: return sum(x);
      case Kind::Mul:
      case Kind::Pow: return product(x);
      case Kind::Function:
        return {std::string(function_name(x.function())).append("(").append(write(x[0]).s).append(")"), kAtom};
      case Kind::Derivative: return derivative_text(x);
      case Kind::Integral: return integral_text(x);
      case Kind::Limit: return limit_text(x);
    }
    return {"?", kAtom};
  }

  std::string at_least(const Expr& x, int prec) {
    Text t = write(x);
    if (t.prec >= prec) return std::move(t.s);
    return std::string("(").append(t.s).append(")");
  }

 private:
  static std::string constant(Constant c) {
    switch (c) {
      case Constant::Pi: return "pi";
      case Constant::E: return "e";
      case Constant::I: return "i";
      case Constant::Infinity: return "oo";
    }
    return "?";
  }

  static Text number(const mpq_class& q) {
    Text t{q.get_str(10), kAtom};
    if (q.get_den() != 1) t.prec = kProduct;
    if (sgn(q) < 0) t.prec = kNegative;
    return t;
  }

  // A negative term prints with a leading '-', which becomes the operator.
  Text sum(const Expr& x) {
    std::string out;
    bool first = true;
    for (const Expr& t : display_order(x)) {
      const std::string s = write(t).s;
      if (!first) out.append(!s.empty() && s[0] == '-' ? " - " : " + ");
      out.append(first || s.empty() || s[0] != '-' ? std::string_view(s) : std::string_view(s).substr(1));
      first = false;
    }
    return {out, kSum};
  }

  // base^exponent with a positive exponent.
  std::string power(const Expr& base, const Expr& exponent) {
    if (exponent.is_one()) return at_least(base, kAtom);
    if (is_half(exponent)) return std::string("sqrt(").append(write(base).s).append(")");
    std::string out = at_least(base, kAtom);
    out.append("^").append(at_least(exponent, kAtom));
    return out;
  }

  Text product(const Expr& x) {
    const Product p = split_product(x);
    std::vector<std::string> num;
    std::vector<std::string> den;
    const bool exact = p.coefficient.is_number();
    if (exact) {
      const mpq_class& q = p.coefficient.number();
      if (q.get_num() != 1) num.push_back(q.get_num().get_str(10));
    } else {
      num.push_back(float_text(p.coefficient.float_value()));
    }
    for (const Expr& f : p.numerator) {
      num.push_back(f.kind() == Kind::Pow ? power(f.base(), f.exponent()) : at_least(f, kPower));
    }
    for (const auto& [base, exponent] : p.denominator) den.push_back(power(base, exponent));
    const bool numeric_den = exact && p.coefficient.number().get_den() != 1;

    std::string out = p.negative ? "-" : "";
    int prec = p.negative ? kNegative : kAtom;
    if (num.empty()) num.emplace_back("1");
    if (num.size() > 1) prec = std::min(prec, int{kProduct});
    for (std::size_t k = 0; k < num.size(); ++k) {
      if (k > 0) out.append("*");
      out.append(num[k]);
    }
    if (num.size() == 1 && p.numerator.size() == 1 && p.denominator.empty() && !numeric_den &&
        p.numerator[0].kind() == Kind::Pow && !is_half(p.numerator[0].exponent())) {
      prec = std::min(prec, int{kPower});
    }
    if (!den.empty() || numeric_den) {
      prec = std::min(prec, int{kProduct});
      const std::string q = numeric_den ? p.coefficient.number().get_den().get_str(10) : std::string();
      // 2*(x + 1) would read back distributed, so 1/(2*(x + 1)) is written 1/2/(x + 1).
      const bool lone_sum =
          den.size() == 1 && p.denominator[0].first.kind() == Kind::Add && p.denominator[0].second.is_one();
      if (numeric_den && den.empty()) {
        out.append("/").append(q);
      } else if (numeric_den && lone_sum) {
        out.append("/").append(q).append("/").append(den[0]);
      } else if (!numeric_den && den.size() == 1) {
        out.append("/").append(den[0]);
      } else {
        out.append("/(");
        if (numeric_den) out.append(q).append("*");
        for (std::size_t k = 0; k < den.size(); ++k) {
          if (k > 0) out.append("*");
          out.append(den[k]);
        }
        out.append(")");
      }
    }
    return {out, prec};
  }

  Text derivative_text(const Expr& x) {
    std::string out = "diff(";
    out.append(write(x[0]).s).append(", ").append(write(x[1]).s);
    if (!x[2].is_one()) out.append(", ").append(write(x[2]).s);
    return {out.append(")"), kAtom};
  }

  Text integral_text(const Expr& x) {
    std::string out = "integrate(";
    out.append(write(x[0]).s).append(", ").append(write(x[1]).s);
    // integrate(f, (x, a, b)) is the form SymPy reads; integrate(f, x, a, b)
    // would mean integrating over x, then a, then b there.
    if (x.size() == 4) {
      out = "integrate(";
      out.append(write(x[0]).s).append(", (").append(write(x[1]).s).append(", ").append(write(x[2]).s);
      return {out.append(", ").append(write(x[3]).s).append("))"), kAtom};
    }
    return {out.append(")"), kAtom};
  }

  Text limit_text(const Expr& x) {
    std::string out = "limit(";
    out.append(write(x[0]).s).append(", ").append(write(x[1]).s).append(", ").append(write(x[2]).s);
    if (x.direction() == Direction::Plus) out.append(", \"+\"");
    if (x.direction() == Direction::Minus) out.append(", \"-\"");
    return {out.append(")"), kAtom};
  }
};

// ---- LaTeX -------------------------------------------------------------------

struct GreekName {
  std::string_view utf8;
  std::string_view word;
};

constexpr GreekName kGreek[] = {
    {"α", "alpha"}, {"β", "beta"},   {"γ", "gamma"}, {"δ", "delta"},    {"ε", "epsilon"}, {"ζ", "zeta"},
    {"η", "eta"},   {"θ", "theta"},  {"ι", "iota"},  {"κ", "kappa"},    {"λ", "lambda"},  {"μ", "mu"},
    {"ν", "nu"},    {"ξ", "xi"},     {"ρ", "rho"},   {"σ", "sigma"},    {"τ", "tau"},     {"υ", "upsilon"},
    {"φ", "phi"},   {"χ", "chi"},    {"ψ", "psi"},   {"ω", "omega"},    {"Γ", "Gamma"},   {"Δ", "Delta"},
    {"Θ", "Theta"}, {"Λ", "Lambda"}, {"Ξ", "Xi"},    {"Π", "Pi"},       {"Σ", "Sigma"},   {"Υ", "Upsilon"},
    {"Φ", "Phi"},   {"Ψ", "Psi"},    {"Ω", "Omega"}, {"ϑ", "vartheta"}, {"ϕ", "phi"},     {"ϵ", "epsilon"},
};

// x -> x, theta -> \theta, θ -> \theta, x_1 -> x_{1}, θ₀-style names pass through.
std::string latex_name_part(std::string_view s) {
  for (const auto& g : kGreek) {
    if (s == g.utf8 || s == g.word) return std::string("\\").append(g.word);
  }
  // Greek letters inside a longer name.
  std::string out;
  std::size_t k = 0;
  while (k < s.size()) {
    bool matched = false;
    for (const auto& g : kGreek) {
      if (s.substr(k, g.utf8.size()) == g.utf8) {
        out.append("\\").append(g.word).append(" ");
        k += g.utf8.size();
        matched = true;
        break;
      }
    }
    if (!matched) out += s[k++];
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > 1 && out.find('\\') == std::string::npos) return std::string("\\mathrm{").append(out).append("}");
  return out;
}

std::string latex_symbol(std::string_view name) {
  const std::size_t bar = name.find('_');
  if (bar == std::string_view::npos || bar == 0 || bar + 1 == name.size()) return latex_name_part(name);
  return latex_name_part(name.substr(0, bar)).append("_{").append(latex_symbol(name.substr(bar + 1))).append("}");
}

std::string_view latex_function(Function f) {
  switch (f) {
    case Function::Sin: return "\\sin";
    case Function::Cos: return "\\cos";
    case Function::Tan: return "\\tan";
    case Function::Exp: return "\\exp";
    case Function::Log: return "\\log";
    case Function::Abs: return "";
    case Function::Asin: return "\\arcsin";
    case Function::Acos: return "\\arccos";
    case Function::Atan: return "\\arctan";
    case Function::Sinh: return "\\sinh";
    case Function::Cosh: return "\\cosh";
    case Function::Tanh: return "\\tanh";
  }
  return "";
}

class LatexWriter {
 public:
  Text write(const Expr& x) {
    switch (x.kind()) {
      case Kind::Number: return number(x.number());
      case Kind::Float: return floating(x.float_value());
      case Kind::Constant: return {constant(x.constant()), kAtom};
      case Kind::Symbol: return {latex_symbol(x.name()), kAtom};
      case Kind::Add: return sum(x);
      case Kind::Mul:
      case Kind::Pow: return product(x);
      case Kind::Function: return function(x);
      case Kind::Derivative: return derivative_text(x);
      case Kind::Integral: return integral_text(x);
      case Kind::Limit: return limit_text(x);
    }
    return {"?", kAtom};
  }

  std::string at_least(const Expr& x, int prec) {
    Text t = write(x);
    if (t.prec >= prec) return std::move(t.s);
    return std::string("\\left(").append(t.s).append("\\right)");
  }

 private:
  static std::string constant(Constant c) {
    switch (c) {
      case Constant::Pi: return "\\pi";
      case Constant::E: return "e";
      case Constant::I: return "i";
      case Constant::Infinity: return "\\infty";
    }
    return "?";
  }

  static Text number(const mpq_class& q) {
    const bool negative = sgn(q) < 0;
    const mpz_class n = abs(q.get_num());
    std::string s = negative ? "-" : "";
    if (q.get_den() == 1) {
      s.append(n.get_str(10));
    } else {
      s.append("\\frac{").append(n.get_str(10)).append("}{").append(q.get_den().get_str(10)).append("}");
    }
    return {s, negative ? kNegative : kAtom};
  }

  static Text floating(double v) {
    std::string s = float_text(v);
    const std::size_t e = s.find('e');
    if (e != std::string::npos) {
      const std::string exponent = std::to_string(std::stoi(s.substr(e + 1)));
      s = s.substr(0, e).append(" \\cdot 10^{").append(exponent).append("}");
      return {s, v < 0 ? kNegative : kProduct};
    }
    return {s, v < 0 ? kNegative : kAtom};
  }

  // A negative term prints with a leading '-', which becomes the operator.
  Text sum(const Expr& x) {
    std::string out;
    bool first = true;
    for (const Expr& t : display_order(x)) {
      const std::string s = write(t).s;
      if (!first) out.append(!s.empty() && s[0] == '-' ? " - " : " + ");
      out.append(first || s.empty() || s[0] != '-' ? std::string_view(s) : std::string_view(s).substr(1));
      first = false;
    }
    return {out, kSum};
  }

  // base^exponent with a positive exponent.
  std::string power(const Expr& base, const Expr& exponent) {
    if (exponent.is_one()) return at_least(base, kAtom);
    if (is_half(exponent)) return std::string("\\sqrt{").append(write(base).s).append("}");
    if (exponent.is_number() && exponent.number().get_num() == 1 && exponent.number().get_den() <= 100) {
      return std::string("\\sqrt[")
          .append(exponent.number().get_den().get_str(10))
          .append("]{")
          .append(write(base).s)
          .append("}");
    }
    // \sin^{2}\left(x\right) rather than \left(\sin\left(x\right)\right)^{2}.
    if (base.kind() == Kind::Function && base.function() != Function::Abs && base.function() != Function::Exp &&
        exponent.is_integer()) {
      return std::string(latex_function(base.function()))
          .append("^{")
          .append(write(exponent).s)
          .append("}\\left(")
          .append(write(base[0]).s)
          .append("\\right)");
    }
    return at_least(base, kAtom).append("^{").append(write(exponent).s).append("}");
  }

  Text product(const Expr& x) {
    const Product p = split_product(x);
    std::vector<std::string> num;
    std::vector<std::string> den;
    const bool exact = p.coefficient.is_number();
    if (exact) {
      const mpq_class& q = p.coefficient.number();
      if (q.get_num() != 1) num.push_back(q.get_num().get_str(10));
      if (q.get_den() != 1) den.push_back(q.get_den().get_str(10));
    } else {
      num.push_back(floating(p.coefficient.float_value()).s);
    }
    for (const Expr& f : p.numerator) {
      num.push_back(f.kind() == Kind::Pow ? power(f.base(), f.exponent()) : at_least(f, kPower));
    }
    for (const auto& [base, exponent] : p.denominator) {
      // Inside \frac a sum needs no parentheses of its own.
      den.push_back(den.empty() && p.denominator.size() == 1 && !(exact && p.coefficient.number().get_den() != 1) &&
                            exponent.is_one()
                        ? write(base).s
                        : power(base, exponent));
    }
    const std::string top = join(num.empty() ? std::vector<std::string>{"1"} : num);
    std::string out = p.negative ? "-" : "";
    int prec = p.negative ? kNegative : (num.size() > 1 ? kProduct : kAtom);
    if (den.empty()) {
      out.append(top);
      if (!p.negative && num.size() == 1 && p.numerator.size() == 1 && p.numerator[0].kind() == Kind::Pow) {
        prec = kPower;
      }
    } else {
      out.append("\\frac{").append(top).append("}{").append(join(den)).append("}");
      prec = p.negative ? kNegative : kAtom;
    }
    return {out, prec};
  }

  // Factors side by side; \cdot where two numbers would run together.
  static std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      if (k > 0) {
        const char c = parts[k].empty() ? ' ' : parts[k][0];
        out.append((c >= '0' && c <= '9') || c == '-' ? " \\cdot " : " ");
      }
      out.append(parts[k]);
    }
    return out;
  }

  Text function(const Expr& x) {
    const std::string arg = write(x[0]).s;
    if (x.function() == Function::Abs) return {std::string("\\left|").append(arg).append("\\right|"), kAtom};
    if (x.function() == Function::Exp) return {std::string("e^{").append(arg).append("}"), kPower};
    return {std::string(latex_function(x.function())).append("\\left(").append(arg).append("\\right)"), kAtom};
  }

  // The operand of d/dx, \int and \lim: parenthesised unless it is one factor.
  std::string operand(const Expr& f) { return at_least(f, kPower); }

  Text derivative_text(const Expr& x) {
    const std::string var = write(x[1]).s;
    std::string out;
    if (x[2].is_one()) {
      out = std::string("\\frac{d}{d").append(var).append("} ");
    } else {
      const std::string n = write(x[2]).s;
      out = std::string("\\frac{d^{").append(n).append("}}{d").append(var).append("^{").append(n).append("}} ");
    }
    return {out.append(operand(x[0])), kProduct};
  }

  Text integral_text(const Expr& x) {
    std::string out = "\\int";
    if (x.size() == 4) out.append("_{").append(write(x[2]).s).append("}^{").append(write(x[3]).s).append("}");
    out.append(" ").append(operand(x[0])).append("\\,d").append(write(x[1]).s);
    return {out, kProduct};
  }

  Text limit_text(const Expr& x) {
    std::string out = "\\lim_{";
    out.append(write(x[1]).s).append(" \\to ").append(write(x[2]).s);
    if (x.direction() == Direction::Plus) out.append("^{+}");
    if (x.direction() == Direction::Minus) out.append("^{-}");
    out.append("} ").append(operand(x[0]));
    return {out, kProduct};
  }
};

}  // namespace

std::vector<Expr> display_order(const Expr& sum) {
  if (sum.kind() != Kind::Add) return {sum};
  std::vector<TermKey> keys;
  keys.reserve(sum.size());
  for (const Expr& t : sum.args()) keys.push_back(key_of(t));
  std::sort(keys.begin(), keys.end(), display_before);
  std::vector<Expr> out;
  out.reserve(keys.size());
  for (TermKey& k : keys) out.push_back(std::move(k.term));
  return out;
}

std::string to_string(const Expr& x) { return PlainWriter().write(x).s; }

std::string to_string(const Equation& eq) { return to_string(eq.lhs).append(" = ").append(to_string(eq.rhs)); }

std::string to_latex(const Expr& x) { return LatexWriter().write(x).s; }

std::string to_latex(const Equation& eq) { return to_latex(eq.lhs).append(" = ").append(to_latex(eq.rhs)); }

}  // namespace miso::mprime
