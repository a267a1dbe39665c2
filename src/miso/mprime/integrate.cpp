#include "miso/mprime/integrate.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <functional>
#include <numbers>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mprime/diff.hpp"
#include "miso/mprime/poly.hpp"
#include "miso/mprime/print.hpp"
#include "miso/mprime/series.hpp"

namespace miso::mprime {
namespace {

// Conventions (docs/mprime.md copies this block).
//
// * No constant of integration. ∫ 1/u du = log(u), as in SymPy and GiNaC: an
//   antiderivative on u > 0 and, with the principal complex logarithm, on u < 0
//   up to the constant i*pi. Definite integrals replace log(w) by log(|w|) in the
//   antiderivative before taking F(b) - F(a), which is exact once the integrand
//   is known to be continuous on [a, b].
// * Table, with u = a*x + b linear in x (a != 0, both free of x), each entry divided by a:
//     u^n -> u^(n+1)/(n+1) (n a number, n != -1)    u^-1 -> log(u)
//     c^u -> c^u/log(c) (c free of x)                 exp(u) -> exp(u)
//     sin(u) -> -cos(u)      cos(u) -> sin(u)         tan(u) -> -log(cos(u))
//     sinh(u) -> cosh(u)     cosh(u) -> sinh(u)       tanh(u) -> log(cosh(u))
//     log(u) -> u*log(u) - u                          abs(u) -> u*abs(u)/2
//     asin(u) -> u*asin(u) + sqrt(1-u^2)              acos(u) -> u*acos(u) - sqrt(1-u^2)
//     atan(u) -> u*atan(u) - log(1+u^2)/2
//     cos(u)^-2 -> tan(u)    sin(u)^-2 -> -cos(u)/sin(u)
//     cosh(u)^-2 -> tanh(u)  sinh(u)^-2 -> -cosh(u)/sinh(u)
//     sin(u)^n, cos(u)^n, tan(u)^n (n >= 2) and sin(u)^m*cos(u)^n (m, n >= 1):
//       the reduction formulas
//     exp(u)*sin(v), exp(u)*cos(v) (u, v linear): the closed forms
//       e^u (a sin v - b cos v)/(a^2+b^2), e^u (a cos v + b sin v)/(a^2+b^2)
//     (A x^2 + B x + C)^(-1/2) -> asin(...) (A < 0) or log(sqrt(A)(x+h) + sqrt(p))/sqrt(A)
//     (A x^2 + B x + C)^(1/2)  -> (x+h) sqrt(p)/2 + k/2 ∫ p^(-1/2), h = B/2A, k = C - B^2/4A
// * Rational functions with rational coefficients: apart(), then polynomial terms,
//   c/(x-r)^k, and (p x + q)/(A x^2 + B x + C)^k by log, atan (or the log form
//   when the quadratic has irrational real roots) and the reduction formula in k.
// * Otherwise: expansion, derivative-divides substitution, integration by parts
//   (polynomial * exp/sin/cos/sinh/cosh/c^x tabularly, polynomial or x^r times
//   log^n/atan/asin/acos). Every result is checked by differentiating it
//   numerically at complex sample points; a result that fails comes back as the
//   unevaluated Integral.

using Complex = std::complex<double>;
using Maybe = std::optional<Expr>;
using MaybeComplex = std::optional<Complex>;

constexpr int kMaxDepth = 6;
constexpr int kMaxAttempts = 150;
constexpr int kMaxCandidates = 24;

bool is_rational_number(const Expr& e) { return e.is_number(); }

// ---- numeric evaluation (complex, principal branches) -------------------------

double parameter_value(const std::string& name, int sample) {
  std::uint64_t h = 1469598103934665603ULL;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return 0.6 + static_cast<double>(h % 97) / 97.0 + 0.11 * sample;
}

class Numeric {
 public:
  Numeric(Expr var, Complex value, int sample) : var_(std::move(var)), value_(value), sample_(sample) {}
  MaybeComplex operator()(const Expr& e) {
    auto it = memo_.find(e.id());
    if (it != memo_.end()) return it->second;
    MaybeComplex v = compute(e);
    if (v && (!std::isfinite(v->real()) || !std::isfinite(v->imag()))) v.reset();
    memo_.emplace(e.id(), v);
    return v;
  }

 private:
  MaybeComplex compute(const Expr& e) {
    switch (e.kind()) {
      case Kind::Number: return Complex(e.number().get_d(), 0.0);
      case Kind::Float: return Complex(e.float_value(), 0.0);
      case Kind::Constant:
        switch (e.constant()) {
          case Constant::Pi: return Complex(std::numbers::pi, 0.0);
          case Constant::E: return Complex(std::numbers::e, 0.0);
          case Constant::I: return Complex(0.0, 1.0);
          case Constant::Infinity: return std::nullopt;
        }
        return std::nullopt;
      case Kind::Symbol:
        if (e == var_) return value_;
        return Complex(parameter_value(e.name(), sample_), 0.0);
      case Kind::Add: {
        Complex s = 0.0;
        for (const Expr& a : e.args()) {
          auto v = (*this)(a);
          if (!v) return std::nullopt;
          s += *v;
        }
        return s;
      }
      case Kind::Mul: {
        Complex p = 1.0;
        for (const Expr& a : e.args()) {
          auto v = (*this)(a);
          if (!v) return std::nullopt;
          p *= *v;
        }
        return p;
      }
      case Kind::Pow: return power(e);
      case Kind::Function: return function(e);
      default: return std::nullopt;
    }
  }

  MaybeComplex power(const Expr& e) {
    auto b = (*this)(e.base());
    if (!b) return std::nullopt;
    const Expr& ex = e.exponent();
    if (ex.is_integer() && ex.number() <= 256 && ex.number() >= -256) {
      long n = ex.number().get_num().get_si();
      if (n < 0 && *b == Complex(0.0, 0.0)) return std::nullopt;
      Complex r = 1.0;
      Complex f = n < 0 ? 1.0 / *b : *b;
      for (long k = n < 0 ? -n : n; k > 0; k >>= 1) {
        if (k & 1) r *= f;
        f *= f;
      }
      return r;
    }
    auto p = (*this)(ex);
    if (!p) return std::nullopt;
    if (*b == Complex(0.0, 0.0)) {
      if (p->real() > 0) return Complex(0.0, 0.0);
      return std::nullopt;
    }
    return std::pow(*b, *p);
  }

  MaybeComplex function(const Expr& e) {
    auto a = (*this)(e[0]);
    if (!a) return std::nullopt;
    Complex z = *a;
    switch (e.function()) {
      case Function::Sin: return std::sin(z);
      case Function::Cos: return std::cos(z);
      case Function::Tan: return std::tan(z);
      case Function::Exp: return std::exp(z);
      case Function::Log:
        if (z == Complex(0.0, 0.0)) return std::nullopt;
        return std::log(z);
      case Function::Abs: return Complex(std::abs(z), 0.0);
      case Function::Asin: return std::asin(z);
      case Function::Acos: return std::acos(z);
      case Function::Atan: return std::atan(z);
      case Function::Sinh: return std::sinh(z);
      case Function::Cosh: return std::cosh(z);
      case Function::Tanh: return std::tanh(z);
    }
    return std::nullopt;
  }

  Expr var_;
  Complex value_;
  int sample_;
  std::unordered_map<const Node*, MaybeComplex> memo_;
};

MaybeComplex numeric_at(const Expr& e, const Expr& var, Complex at, int sample = 0) {
  return Numeric(var, at, sample)(e);
}

bool contains_kind(const Expr& e, Kind k) {
  if (e.kind() == k) return true;
  return std::any_of(e.args().begin(), e.args().end(), [k](const Expr& a) { return contains_kind(a, k); });
}

bool contains_function(const Expr& e, Function f) {
  if (e.is(Kind::Function) && e.function() == f) return true;
  return std::any_of(e.args().begin(), e.args().end(), [f](const Expr& a) { return contains_function(a, f); });
}

bool contains_imaginary(const Expr& e) {
  if (e.is(Kind::Constant) && e.constant() == Constant::I) return true;
  return std::any_of(e.args().begin(), e.args().end(), contains_imaginary);
}

bool contains_infinity(const Expr& e) {
  if (e.is(Kind::Constant) && e.constant() == Constant::Infinity) return true;
  return std::any_of(e.args().begin(), e.args().end(), contains_infinity);
}

// Checks F' = f numerically: F' by diff, both sides evaluated at sample points,
// complex ones where F and f are analytic (no abs), so that branch cuts along the
// real axis do not matter.
bool derivative_matches(const Expr& F, const Expr& f, const Expr& x) {
  static const double kReal[] = {0.31, 0.77, 1.43, 2.26, -0.58, -1.37, 3.1, 0.052, -2.6, 1.9};
  const bool real_only = contains_function(F, Function::Abs) || contains_function(f, Function::Abs);
  Expr dF;
  try {
    dF = diff(F, x);
  } catch (const Error&) {
    return false;
  }
  int checked = 0;
  for (int i = 0; i < 10; ++i) {
    const Complex at(kReal[i], real_only ? 0.0 : 0.09 + 0.013 * i);
    auto fv = numeric_at(f, x, at, i);
    if (!fv) continue;
    auto dv = numeric_at(dF, x, at, i);
    if (!dv || std::abs(*dv - *fv) > 1e-8 * (1.0 + std::abs(*fv))) return false;
    ++checked;
  }
  return checked >= 3;
}

// exp(a)*exp(b) -> exp(a+b) in every product (valid everywhere), so that
// quotients such as exp(x)/exp(x) cancel.
Expr merge_exps(const Expr& e) {
  return map_bottom_up(e, [](const Expr& n) {
    if (!n.is(Kind::Mul)) return n;
    std::vector<Expr> rest;
    std::vector<Expr> exponents;
    for (const Expr& f : n.args()) {
      if (f.is(Kind::Function) && f.function() == Function::Exp) {
        exponents.push_back(f[0]);
      } else {
        rest.push_back(f);
      }
    }
    if (exponents.size() < 2) return n;
    rest.push_back(exp(add(exponents)));
    return mul(rest);
  });
}

// ---- structure of expressions in x -----------------------------------------------

std::vector<Expr> factors_of(const Expr& e) {
  if (e.is(Kind::Mul)) return {e.args().begin(), e.args().end()};
  return {e};
}

std::vector<Expr> terms_of(const Expr& e) {
  if (e.is(Kind::Add)) return {e.args().begin(), e.args().end()};
  return {e};
}

// Coefficients of an expanded polynomial in x (a sum of c*x^k), lowest first.
std::optional<std::vector<Expr>> expanded_coefficients(const Expr& e, const Expr& x) {
  std::vector<Expr> out;
  for (const Expr& term : terms_of(e)) {
    long k = 0;
    std::vector<Expr> rest;
    for (const Expr& f : factors_of(term)) {
      if (!depends_on(f, x)) {
        rest.push_back(f);
      } else if (f == x) {
        k += 1;
      } else if (f.is(Kind::Pow) && f.base() == x && f.exponent().is_integer() && f.exponent().number() > 0 &&
                 f.exponent().number() < 1000) {
        k += f.exponent().number().get_num().get_si();
      } else {
        return std::nullopt;
      }
    }
    if (out.size() <= static_cast<std::size_t>(k)) out.resize(static_cast<std::size_t>(k) + 1, Expr(0));
    out[static_cast<std::size_t>(k)] += mul(rest);
  }
  while (!out.empty() && out.back().is_zero()) out.pop_back();
  return out;
}

// Coefficients of e as a polynomial in x, expanding if needed.
std::optional<std::vector<Expr>> polynomial_coefficients(const Expr& e, const Expr& x) {
  if (auto c = expanded_coefficients(e, x)) return c;
  try {
    Expr ex = expand(e);
    if (ex != e) return expanded_coefficients(ex, x);
  } catch (const Error&) {
  }
  return std::nullopt;
}

struct Linear {
  Expr slope;
  Expr offset;
};

// u = slope*x + offset with slope != 0 free of x.
std::optional<Linear> linear_in(const Expr& u, const Expr& x) {
  auto c = polynomial_coefficients(u, x);
  if (!c || c->size() != 2) return std::nullopt;
  return Linear{(*c)[1], (*c)[0]};
}

bool all_rational(const std::vector<Expr>& cs) { return std::all_of(cs.begin(), cs.end(), is_rational_number); }

// A polynomial in x (any coefficients free of x), unexpanded allowed.
bool is_polynomial_in(const Expr& e, const Expr& x) {
  if (!depends_on(e, x) || e == x) return true;
  switch (e.kind()) {
    case Kind::Add:
    case Kind::Mul:
      return std::all_of(e.args().begin(), e.args().end(), [&](const Expr& a) { return is_polynomial_in(a, x); });
    case Kind::Pow: return e.exponent().is_integer() && e.exponent().number() > 0 && is_polynomial_in(e.base(), x);
    default: return false;
  }
}

// A rational function of x with rational numbers as its only other atoms.
bool is_rational_function(const Expr& e, const Expr& x) {
  switch (e.kind()) {
    case Kind::Number: return true;
    case Kind::Symbol: return e == x;
    case Kind::Add:
    case Kind::Mul:
      return std::all_of(e.args().begin(), e.args().end(), [&](const Expr& a) { return is_rational_function(a, x); });
    case Kind::Pow: return e.exponent().is_integer() && is_rational_function(e.base(), x);
    default: return false;
  }
}

Expr half() { return rational(1, 2); }

// ---- the integrator ---------------------------------------------------------------

class Integrator {
 public:
  Integrator(Expr var, int* attempts) : x_(std::move(var)), attempts_(attempts) {}

  Maybe run(const Expr& f, int depth) {
    if (!depends_on(f, x_)) return f * x_;
    if (depth > kMaxDepth || ++*attempts_ > kMaxAttempts) return std::nullopt;
    auto it = memo_.find(f);
    if (it != memo_.end()) return it->second;
    memo_.emplace(f, std::nullopt);  // an integral that needs itself fails here
    Maybe r = attempt(f, depth);
    memo_[f] = r;
    return r;
  }

 private:
  Maybe attempt(const Expr& f, int depth) {
    if (f == x_) return pow(x_, 2) / 2;
    if (f.is(Kind::Add)) {
      if (auto r = by_terms(terms_of(f), depth)) return r;
    }
    if (f.is(Kind::Mul)) {
      std::vector<Expr> constant;
      std::vector<Expr> varying;
      for (const Expr& a : f.args()) (depends_on(a, x_) ? varying : constant).push_back(a);
      if (!constant.empty()) {
        auto r = run(mul(varying), depth);
        if (!r) return std::nullopt;
        return mul(constant) * *r;
      }
    }
    if (auto r = table(f, depth)) return r;
    if (is_rational_function(f, x_)) {
      if (auto r = partial_fractions(f, depth)) return r;
    }
    if (auto r = expanded(f, depth)) return r;
    if (auto r = checked(substitution(f, depth), f)) return r;
    if (auto r = checked(parts(f, depth), f)) return r;
    return std::nullopt;
  }

  Maybe checked(const Maybe& r, const Expr& f) const {
    if (r && derivative_matches(*r, f, x_)) return r;
    return std::nullopt;
  }

  Maybe by_terms(const std::vector<Expr>& terms, int depth) {
    std::vector<Expr> out;
    for (const Expr& t : terms) {
      auto r = run(t, depth + 1);
      if (!r) return std::nullopt;
      out.push_back(*r);
    }
    return add(out);
  }

  Maybe expanded(const Expr& f, int depth) {
    if (!f.is(Kind::Mul) && !f.is(Kind::Pow)) return std::nullopt;
    Expr e;
    try {
      e = expand(f);
    } catch (const Error&) {
      return std::nullopt;
    }
    if (e == f) return std::nullopt;
    return run(e, depth + 1);
  }

  // ---- table -------------------------------------------------------------------

  Maybe table(const Expr& f, int depth) {
    if (auto r = polynomial_times_sqrt(f)) return r;
    if (f.is(Kind::Function)) return function_of_linear(f);
    if (f.is(Kind::Pow)) return power(f, depth);
    if (f.is(Kind::Mul) && f.size() == 2) {
      if (auto r = exp_trig(f[0], f[1])) return r;
      if (auto r = exp_trig(f[1], f[0])) return r;
      if (auto r = sin_cos_product(f, depth)) return r;
      if (auto r = product_to_sum(f[0], f[1], depth)) return r;
    }
    return std::nullopt;
  }

  Maybe function_of_linear(const Expr& f) {
    const Expr& u = f[0];
    auto lin = linear_in(u, x_);
    if (!lin) return std::nullopt;
    Expr F;
    switch (f.function()) {
      case Function::Sin: F = -cos(u); break;
      case Function::Cos: F = sin(u); break;
      case Function::Tan: F = -log(cos(u)); break;
      case Function::Exp: F = exp(u); break;
      case Function::Log: F = u * log(u) - u; break;
      case Function::Abs: F = u * abs(u) / 2; break;
      case Function::Asin: F = u * asin(u) + sqrt(1 - pow(u, 2)); break;
      case Function::Acos: F = u * acos(u) - sqrt(1 - pow(u, 2)); break;
      case Function::Atan: F = u * atan(u) - log(1 + pow(u, 2)) / 2; break;
      case Function::Sinh: F = cosh(u); break;
      case Function::Cosh: F = sinh(u); break;
      case Function::Tanh: F = log(cosh(u)); break;
    }
    return F / lin->slope;
  }

  Maybe power(const Expr& f, int depth) {
    const Expr& b = f.base();
    const Expr& n = f.exponent();
    if (!depends_on(b, x_)) {  // c^u
      auto lin = linear_in(n, x_);
      if (!lin || b.is_one()) return std::nullopt;
      return f / (lin->slope * log(b));
    }
    if (depends_on(n, x_) || !n.is_number()) return std::nullopt;
    if (auto lin = linear_in(b, x_)) {
      if (n.is_minus_one()) return log(b) / lin->slope;
      return pow(b, n + 1) / ((n + 1) * lin->slope);
    }
    if (b.is(Kind::Function) && n.is_integer()) return trig_power(b, n.number().get_num().get_si(), depth);
    if (n == half() || n == -half()) return sqrt_quadratic(b, n);
    return std::nullopt;
  }

  // sin^n, cos^n, tan^n (n >= 2) by reduction; the reciprocal squares.
  Maybe trig_power(const Expr& g, long n, int depth) {
    const Expr& u = g[0];
    auto lin = linear_in(u, x_);
    if (!lin) return std::nullopt;
    const Expr& a = lin->slope;
    const Function fn = g.function();
    if (n == -2) {
      switch (fn) {
        case Function::Cos: return tan(u) / a;
        case Function::Sin: return -cos(u) / (sin(u) * a);
        case Function::Cosh: return tanh(u) / a;
        case Function::Sinh: return -cosh(u) / (sinh(u) * a);
        default: return std::nullopt;
      }
    }
    if (n == -1) {
      switch (fn) {
        case Function::Cos: return log((1 + sin(u)) / cos(u)) / a;
        case Function::Sin: return log((1 - cos(u)) / sin(u)) / a;
        default: return std::nullopt;
      }
    }
    if (n < 2 || n > 64 || (fn != Function::Sin && fn != Function::Cos && fn != Function::Tan)) return std::nullopt;
    Expr N = integer(n);
    Maybe rest = run(pow(g, integer(n - 2)), depth + 1);
    if (!rest) return std::nullopt;
    switch (fn) {
      case Function::Sin: return -pow(sin(u), integer(n - 1)) * cos(u) / (N * a) + (N - 1) / N * *rest;
      case Function::Cos: return pow(cos(u), integer(n - 1)) * sin(u) / (N * a) + (N - 1) / N * *rest;
      case Function::Tan: return pow(tan(u), integer(n - 1)) / ((N - 1) * a) - *rest;
      default: return std::nullopt;
    }
  }

  // exp(u) * sin(v) or exp(u) * cos(v), u and v linear.
  Maybe exp_trig(const Expr& e, const Expr& t) const {
    if (!e.is(Kind::Function) || e.function() != Function::Exp || !t.is(Kind::Function)) return std::nullopt;
    if (t.function() != Function::Sin && t.function() != Function::Cos) return std::nullopt;
    auto lu = linear_in(e[0], x_);
    auto lv = linear_in(t[0], x_);
    if (!lu || !lv) return std::nullopt;
    const Expr& a = lu->slope;
    const Expr& b = lv->slope;
    const Expr& v = t[0];
    Expr den = pow(a, 2) + pow(b, 2);
    if (t.function() == Function::Sin) return e * (a * sin(v) - b * cos(v)) / den;
    return e * (a * cos(v) + b * sin(v)) / den;
  }

  // sin(u)*cos(v), sin(u)*sin(v), cos(u)*cos(v) with different linear u, v.
  Maybe product_to_sum(const Expr& p, const Expr& q, int depth) {
    auto trig = [](const Expr& e) {
      return e.is(Kind::Function) && (e.function() == Function::Sin || e.function() == Function::Cos);
    };
    if (!trig(p) || !trig(q) || p[0] == q[0] || !linear_in(p[0], x_) || !linear_in(q[0], x_)) return std::nullopt;
    const Expr& u = p[0];
    const Expr& v = q[0];
    Expr sum;
    if (p.function() == Function::Sin && q.function() == Function::Cos) {
      sum = (sin(u + v) + sin(u - v)) / 2;
    } else if (p.function() == Function::Cos && q.function() == Function::Sin) {
      sum = (sin(u + v) - sin(u - v)) / 2;
    } else if (p.function() == Function::Sin) {
      sum = (cos(u - v) - cos(u + v)) / 2;
    } else {
      sum = (cos(u - v) + cos(u + v)) / 2;
    }
    return run(sum, depth + 1);
  }

  // sin(u)^m * cos(u)^n with m, n >= 1.
  Maybe sin_cos_product(const Expr& f, int depth) {
    auto [b0, e0] = split_power(f[0]);
    auto [b1, e1] = split_power(f[1]);
    if (!b0.is(Kind::Function) || !b1.is(Kind::Function) || b0[0] != b1[0]) return std::nullopt;
    if (b0.function() == Function::Cos && b1.function() == Function::Sin) {
      std::swap(b0, b1);
      std::swap(e0, e1);
    }
    if (b0.function() != Function::Sin || b1.function() != Function::Cos) return std::nullopt;
    if (!e0.is_integer() || !e1.is_integer() || e0.number() < 1 || e1.number() < 1) return std::nullopt;
    if (e0.number() > 64 || e1.number() > 64) return std::nullopt;
    const Expr& u = b0[0];
    auto lin = linear_in(u, x_);
    if (!lin) return std::nullopt;
    const Expr& a = lin->slope;
    const Expr& m = e0;
    const Expr& n = e1;
    if (m.is_one()) return -pow(cos(u), n + 1) / ((n + 1) * a);
    if (n.is_one()) return pow(sin(u), m + 1) / ((m + 1) * a);
    Maybe rest = run(pow(sin(u), m - 2) * pow(cos(u), n), depth + 1);
    if (!rest) return std::nullopt;
    return -pow(sin(u), m - 1) * pow(cos(u), n + 1) / ((m + n) * a) + (m - 1) / (m + n) * *rest;
  }

  // (A x^2 + B x + C)^(+-1/2) with rational A, B, C.
  Maybe sqrt_quadratic(const Expr& p, const Expr& n) {
    auto c = polynomial_coefficients(p, x_);
    if (!c || c->size() != 3 || !all_rational(*c)) return std::nullopt;
    const Expr& A = (*c)[2];
    const Expr& B = (*c)[1];
    const Expr& C = (*c)[0];
    Expr h = B / (2 * A);
    Expr k = C - pow(B, 2) / (4 * A);
    Expr y = x_ + h;
    Expr inverse;
    if (A.number() < 0) {
      if (k.number() <= 0) return std::nullopt;
      Expr alpha = -A;
      inverse = asin(sqrt(alpha / k) * y) / sqrt(alpha);
    } else {
      inverse = log(sqrt(A) * y + sqrt(p)) / sqrt(A);
    }
    if (n == -half()) return inverse;
    return y * sqrt(p) / 2 + k / 2 * inverse;
  }

  // P(x) * p^(m/2) with p = A x^2 + B x + C and P rational, m odd >= -1: written as
  // sum c_k J_k, J_k = ∫ x^k / sqrt(p), by A k J_k = x^(k-1) sqrt(p)
  // - B (k - 1/2) J_(k-1) - C (k - 1) J_(k-2) (differentiate x^(k-1) sqrt(p)).
  Maybe polynomial_times_sqrt(const Expr& f) {
    if (!f.is(Kind::Mul) && !f.is(Kind::Pow)) return std::nullopt;
    std::vector<Expr> polynomial;
    std::optional<std::pair<Expr, Expr>> root;
    for (const Expr& a : factors_of(f)) {
      const bool half_power = a.is(Kind::Pow) && a.exponent().is_number() && a.exponent().number().get_den() == 2;
      if (half_power && depends_on(a.base(), x_) && !root) {
        root.emplace(a.base(), a.exponent());
      } else if (is_polynomial_in(a, x_)) {
        polynomial.push_back(a);
      } else {
        return std::nullopt;
      }
    }
    if (!root) return std::nullopt;
    const auto& [p, r] = *root;
    const mpq_class lift = r.number() + mpq_class(1, 2);
    if (lift < 0 || lift > 8) return std::nullopt;
    auto pc = polynomial_coefficients(p, x_);
    if (!pc || pc->size() != 3 || !all_rational(*pc)) return std::nullopt;
    Expr numerator;
    try {
      numerator = expand(mul(polynomial) * pow(p, rational(lift)));
    } catch (const Error&) {
      return std::nullopt;
    }
    auto nc = polynomial_coefficients(numerator, x_);
    if (!nc || !all_rational(*nc) || nc->size() > 40) return std::nullopt;
    Maybe j0 = sqrt_quadratic(p, -half());
    if (!j0) return std::nullopt;
    const Expr& A = (*pc)[2];
    const Expr& B = (*pc)[1];
    const Expr& C = (*pc)[0];
    std::vector<Expr> J{*j0};
    for (std::size_t k = 1; k < nc->size(); ++k) {
      const Expr K = integer(static_cast<long>(k));
      Expr next = pow(x_, K - 1) * sqrt(p) - B * (K - half()) * J[k - 1];
      if (k >= 2) next -= C * (K - 1) * J[k - 2];
      J.push_back(next / (A * K));
    }
    std::vector<Expr> out;
    for (std::size_t k = 0; k < nc->size(); ++k) out.push_back((*nc)[k] * J[k]);
    return add(out);
  }

  // ---- rational functions -----------------------------------------------------

  Maybe partial_fractions(const Expr& f, int depth) {
    Expr parts_sum;
    try {
      parts_sum = apart(f, x_);
    } catch (const Error&) {
      return std::nullopt;
    }
    std::vector<Expr> out;
    for (const Expr& t : terms_of(parts_sum)) {
      Maybe r = quadratic_term(t);
      if (!r && t != f) r = run(t, depth + 1);
      if (!r) return std::nullopt;
      out.push_back(*r);
    }
    return add(out);
  }

  // (p x + q) / (A x^2 + B x + C)^k with rational coefficients.
  Maybe quadratic_term(const Expr& t) {
    auto [num, den] = numerator_denominator(t);
    Expr scale = 1;
    Expr D;
    long k = 0;
    for (const Expr& g : factors_of(den)) {
      if (!depends_on(g, x_)) {
        scale *= g;
        continue;
      }
      if (k != 0) return std::nullopt;
      auto [b, e] = split_power(g);
      if (!e.is_integer() || e.number() < 1 || e.number() > 64) return std::nullopt;
      D = b;
      k = e.number().get_num().get_si();
    }
    if (k == 0) return std::nullopt;
    auto dc = polynomial_coefficients(D, x_);
    auto nc = polynomial_coefficients(num, x_);
    if (!dc || !nc || dc->size() != 3 || nc->size() > 2 || !all_rational(*dc) || !all_rational(*nc))
      return std::nullopt;
    const Expr A = (*dc)[2];
    const Expr B = (*dc)[1];
    const Expr C = (*dc)[0];
    const Expr p = nc->size() > 1 ? (*nc)[1] : Expr(0);
    const Expr q = nc->empty() ? Expr(0) : (*nc)[0];
    const Expr delta = 4 * A * C - pow(B, 2);
    if (delta.is_zero()) return std::nullopt;
    if (delta.number() < 0 && k > 1) return std::nullopt;
    // p x + q = p/(2A) * D' + (q - p B/(2A))
    Expr log_part = p / (2 * A) * (k == 1 ? log(D) : pow(D, integer(1 - k)) / integer(1 - k));
    Expr rest = q - p * B / (2 * A);
    Expr z = 2 * A * x_ + B;
    Expr I;
    if (delta.number() > 0) {
      I = 2 / sqrt(delta) * atan(z / sqrt(delta));
    } else {
      Expr s = sqrt(-delta);
      I = log((z - s) / (z + s)) / s;
    }
    for (long j = 2; j <= k; ++j) {
      Expr J = integer(j);
      I = z / ((J - 1) * delta * pow(D, J - 1)) + (2 * J - 3) * 2 * A / ((J - 1) * delta) * I;
    }
    return (log_part + rest * I) / scale;
  }

  // ---- derivative-divides substitution -----------------------------------------

  void candidates(const Expr& e, std::vector<Expr>& out, std::unordered_set<const Node*>& seen) const {
    if (!depends_on(e, x_) || e == x_ || !seen.insert(e.id()).second) return;
    for (const Expr& a : e.args()) candidates(a, out, seen);
    if (e.is(Kind::Function) || e.is(Kind::Pow) || e.is(Kind::Add)) out.push_back(e);
  }

  Maybe substitution(const Expr& f, int depth) {
    std::vector<Expr> us;
    std::unordered_set<const Node*> seen;
    seen.insert(f.id());
    for (const Expr& a : f.args()) candidates(a, us, seen);
    std::reverse(us.begin(), us.end());  // larger subexpressions first
    if (us.size() > static_cast<std::size_t>(kMaxCandidates)) us.resize(kMaxCandidates);
    const Expr t = symbol(std::string("_integrate_t").append(std::to_string(depth)));
    for (const Expr& u : us) {
      if (auto r = substitute_with(f, u, t, depth)) return r;
    }
    return std::nullopt;
  }

  Maybe substitute_with(const Expr& f, const Expr& u, const Expr& t, int depth) {
    Expr du;
    try {
      du = diff(u, x_);
    } catch (const Error&) {
      return std::nullopt;
    }
    if (du.is_zero()) return std::nullopt;
    auto g = in_terms_of(merge_exps(f / du), u, t);
    if (!g) return std::nullopt;
    int* attempts = attempts_;
    Integrator inner(t, attempts);
    Maybe G = inner.run(*g, depth + 1);
    if (!G || contains_kind(*G, Kind::Integral)) return std::nullopt;
    Expr F = substitute(*G, t, u);
    if (!derivative_matches(F, f, x_)) return std::nullopt;
    return F;
  }

  // q with u replaced by t, if that removes x.
  Maybe in_terms_of(const Expr& q, const Expr& u, const Expr& t) const {
    Expr g = substitute(q, u, t);
    if (!depends_on(g, x_)) return g;
    try {
      if (auto lin = linear_in(u, x_)) {  // x = (t - offset)/slope
        g = expand(substitute(g, x_, (t - lin->offset) / lin->slope));
        if (!depends_on(g, x_)) return g;
        return std::nullopt;
      }
      Expr c = cancel(q);
      g = substitute(c, u, t);
      if (!depends_on(g, x_)) return g;
      // u = c x^n: x = (t/c)^(1/n); wrong branches are caught by the check.
      auto [coef, rest] = split_coefficient(u);
      auto [b, n] = split_power(rest);
      if (b == x_ && n.is_number() && !n.is_zero()) {
        g = substitute(c, x_, pow(t / coef, 1 / n));
        if (!depends_on(g, x_)) return g;
      }
    } catch (const Error&) {
    }
    return std::nullopt;
  }

  // ---- integration by parts -----------------------------------------------------

  static bool is_cyclic(const Expr& g, const Expr& x) {
    if (g.is(Kind::Function)) {
      switch (g.function()) {
        case Function::Exp:
        case Function::Sin:
        case Function::Cos:
        case Function::Sinh:
        case Function::Cosh: return linear_in(g[0], x).has_value();
        default: return false;
      }
    }
    if (g.is(Kind::Pow)) return !depends_on(g.base(), x) && linear_in(g.exponent(), x).has_value();
    if (g.is(Kind::Mul) && g.size() == 2) return is_cyclic(g[0], x) && is_cyclic(g[1], x);
    return false;
  }

  static bool is_inverse_like(const Expr& h, const Expr& x) {
    auto [b, n] = split_power(h);
    if (!b.is(Kind::Function) || !linear_in(b[0], x)) return false;
    if (b.function() == Function::Log) return n.is_integer() && n.number() >= 1 && n.number() <= 16;
    if (!n.is_one()) return false;
    return b.function() == Function::Atan || b.function() == Function::Asin || b.function() == Function::Acos;
  }

  // x^r (r rational, != -1) or a polynomial.
  bool is_algebraic_factor(const Expr& e) const {
    if (is_polynomial_in(e, x_)) return true;
    return e.is(Kind::Pow) && e.base() == x_ && e.exponent().is_number() && !e.exponent().is_minus_one();
  }

  Maybe parts(const Expr& f, int depth) {
    std::vector<Expr> algebraic;
    std::vector<Expr> other;
    for (const Expr& a : factors_of(f)) (is_algebraic_factor(a) ? algebraic : other).push_back(a);
    if (other.size() != 1 && !(other.size() == 2 && is_cyclic(mul(other), x_))) return std::nullopt;
    Expr P = mul(algebraic);
    Expr g = mul(other);
    if (is_cyclic(g, x_) && is_polynomial_in(P, x_) && !P.is_one()) return tabular(P, g, depth);
    if (other.size() == 1 && is_inverse_like(g, x_)) return by_parts(P, g, depth);
    return std::nullopt;
  }

  // ∫ P g = P G1 - P' G2 + P'' G3 - ..., Gk the k-th antiderivative of g.
  Maybe tabular(const Expr& P, const Expr& g, int depth) {
    std::vector<Expr> out;
    Expr Pk = P;
    Expr Gk = g;
    for (int k = 0; k < 64 && !Pk.is_zero(); ++k) {
      Maybe next = run(Gk, depth + 1);
      if (!next) return std::nullopt;
      Gk = expand(*next);
      out.push_back((k % 2 == 0 ? Pk : -Pk) * Gk);
      Pk = expand(diff(Pk, x_));
    }
    if (!Pk.is_zero()) return std::nullopt;
    return add(out);
  }

  // ∫ P h = h ∫P - ∫ (∫P) h'.
  Maybe by_parts(const Expr& P, const Expr& h, int depth) {
    Maybe Q = run(P, depth + 1);
    if (!Q) return std::nullopt;
    Expr dh = diff(h, x_);
    Maybe rest = run(expand(*Q * dh), depth + 1);
    if (!rest) return std::nullopt;
    return h * *Q - *rest;
  }

  Expr x_;
  int* attempts_;
  std::unordered_map<Expr, Maybe, ExprHash> memo_;
};

void require_symbol(const Expr& var, const char* where) {
  if (!var.is_symbol()) {
    throw Error(
        Error::Kind::InvalidArgument,
        std::string(where).append(": the variable of integration must be a symbol, got ").append(to_string(var)));
  }
}

Maybe antiderivative(const Expr& f, const Expr& x) {
  int attempts = 0;
  Integrator integrator(x, &attempts);
  Maybe F;
  try {
    F = integrator.run(f, 0);
  } catch (const Error&) {
    return std::nullopt;  // a step hit an operation it may not do (0^-1 ...): no result
  }
  if (!F || contains_kind(*F, Kind::Integral)) return std::nullopt;
  if (!derivative_matches(*F, f, x)) return std::nullopt;
  return F;
}

// ---- definite integrals ---------------------------------------------------------

using Poly = std::vector<mpq_class>;

void trim(Poly& p) {
  while (!p.empty() && p.back() == 0) p.pop_back();
}

Poly remainder(Poly a, const Poly& b) {
  while (a.size() >= b.size() && !a.empty()) {
    mpq_class c = a.back() / b.back();
    const std::size_t shift = a.size() - b.size();
    for (std::size_t i = 0; i < b.size(); ++i) a[shift + i] -= c * b[i];
    a.pop_back();
    trim(a);
  }
  return a;
}

int sign_at(const Poly& p, const std::optional<mpq_class>& at, int infinite_side) {
  if (p.empty()) return 0;
  if (!at) {
    int s = sgn(p.back());
    return (infinite_side < 0 && (p.size() - 1) % 2 == 1) ? -s : s;
  }
  mpq_class v = 0;
  for (auto it = p.rbegin(); it != p.rend(); ++it) v = v * *at + *it;
  return sgn(v);
}

// Number of distinct real roots of p in (lo, hi], by a Sturm sequence. A missing
// bound is -infinity (lo) or +infinity (hi).
int sturm_count(Poly p, const std::optional<mpq_class>& lo, const std::optional<mpq_class>& hi) {
  trim(p);
  if (p.size() < 2) return 0;
  std::vector<Poly> seq{p};
  Poly d;
  for (std::size_t i = 1; i < p.size(); ++i) d.push_back(p[i] * static_cast<long>(i));
  seq.push_back(d);
  while (seq.back().size() > 1) {
    Poly r = remainder(seq[seq.size() - 2], seq.back());
    for (auto& c : r) c = -c;
    if (r.empty()) break;
    seq.push_back(r);
  }
  auto variations = [&](const std::optional<mpq_class>& at, int side) {
    int count = 0;
    int last = 0;
    for (const Poly& s : seq) {
      int v = sign_at(s, at, side);
      if (v == 0) continue;
      if (last != 0 && v != last) ++count;
      last = v;
    }
    return count;
  };
  return variations(lo, -1) - variations(hi, +1);
}

struct Interval {
  double lo;  // may be -inf
  double hi;  // may be +inf
  std::optional<mpq_class> lo_q;
  std::optional<mpq_class> hi_q;
};

// Sample points strictly inside the interval (infinite ends mapped by tan).
std::vector<double> interior_samples(const Interval& iv, int count) {
  std::vector<double> out;
  const double a = std::isinf(iv.lo) ? -(std::numbers::pi / 2) : (std::isinf(iv.hi) ? std::atan(iv.lo) : iv.lo);
  const double b = std::isinf(iv.hi) ? (std::numbers::pi / 2) : (std::isinf(iv.lo) ? std::atan(iv.hi) : iv.hi);
  const bool mapped = std::isinf(iv.lo) || std::isinf(iv.hi);
  for (int i = 1; i < count; ++i) {
    double s = a + (b - a) * (static_cast<double>(i) + 0.1234 * std::sin(i)) / count;
    out.push_back(mapped ? std::tan(s) : s);
  }
  return out;
}

enum class Need { NonZero, Positive };

// Does g (free of other symbols) keep away from zero (or stay positive) inside the interval?
bool keeps(const Expr& g, const Expr& x, const Interval& iv, Need need) {
  auto c = polynomial_coefficients(g, x);
  if (c && all_rational(*c)) {
    Poly p;
    for (const Expr& e : *c) p.push_back(e.number());
    if (sturm_count(p, iv.lo_q, iv.hi_q) - (iv.hi_q && sign_at(p, iv.hi_q, 1) == 0 ? 1 : 0) > 0) return false;
    if (need == Need::NonZero) return true;
  }
  double last = 0;
  for (double s : interior_samples(iv, 400)) {
    auto v = numeric_at(g, x, Complex(s, 0.0));
    if (!v || std::abs(v->imag()) > 1e-12 * (1 + std::abs(v->real()))) return false;
    const double r = v->real();
    if (need == Need::Positive ? r <= 0 : std::abs(r) < 1e-12) return false;
    if (last != 0 && (r > 0) != (last > 0)) return false;
    last = r;
  }
  return true;
}

// The integrand is continuous and real inside the interval (its ends may be singular).
bool regular_inside(const Expr& f, const Expr& x, const Interval& iv) {
  if (!depends_on(f, x)) return true;
  for (const Expr& a : f.args()) {
    if (!regular_inside(a, x, iv)) return false;
  }
  if (f.is(Kind::Pow)) {
    const Expr& n = f.exponent();
    if (n.is_integer()) return n.number() >= 0 || keeps(f.base(), x, iv, Need::NonZero);
    return keeps(f.base(), x, iv, Need::Positive);
  }
  if (f.is(Kind::Function)) {
    switch (f.function()) {
      case Function::Log: return keeps(f[0], x, iv, Need::Positive);
      case Function::Tan: return keeps(cos(f[0]), x, iv, Need::NonZero);
      case Function::Asin:
      case Function::Acos: return keeps(1 - pow(f[0], 2), x, iv, Need::Positive);
      default: return true;
    }
  }
  return f.is(Kind::Add) || f.is(Kind::Mul) || f.is(Kind::Symbol);
}

// Nothing in f can be singular or leave the reals (for symbolic bounds).
bool everywhere_regular(const Expr& f, const Expr& x) {
  if (!depends_on(f, x)) return true;
  for (const Expr& a : f.args()) {
    if (!everywhere_regular(a, x)) return false;
  }
  switch (f.kind()) {
    case Kind::Symbol:
    case Kind::Add:
    case Kind::Mul: return true;
    case Kind::Pow:
      return (f.exponent().is_integer() && f.exponent().number() >= 0) ||
             (!depends_on(f.base(), x) && f.base().is_number() && f.base().number() > 0);
    case Kind::Function:
      switch (f.function()) {
        case Function::Sin:
        case Function::Cos:
        case Function::Exp:
        case Function::Atan:
        case Function::Sinh:
        case Function::Cosh:
        case Function::Tanh:
        case Function::Abs: return true;
        default: return false;
      }
    default: return false;
  }
}

Expr logs_of_abs(const Expr& F, const Expr& x) {
  return map_bottom_up(F, [&x](const Expr& e) {
    if (e.is(Kind::Function) && e.function() == Function::Log && depends_on(e[0], x) &&
        !(e[0].is(Kind::Function) && e[0].function() == Function::Abs) && !contains_imaginary(e[0])) {
      return log(abs(e[0]));
    }
    return e;
  });
}

std::optional<double> real_value(const Expr& e) {
  auto v = numeric_at(e, symbol("_integrate_unused"), Complex(0.0, 0.0));
  if (!v || std::abs(v->imag()) > 1e-9 * (1 + std::abs(v->real()))) return std::nullopt;
  return v->real();
}

bool is_infinite_bound(const Expr& b) { return contains_infinity(b); }

// A product c * w^r * log(w)^k (or log|w|) with w linear, w(a) = 0 and r > 0,
// the rest finite at a: it tends to 0 at a.
bool vanishes_at(const Expr& term, const Expr& x, const Expr& a) {
  auto zero_at = [&](const Expr& w) {
    try {
      return linear_in(w, x).has_value() && substitute(w, x, a).is_zero();
    } catch (const Error&) {
      return false;
    }
  };
  mpq_class order = 0;
  for (const Expr& g : factors_of(term)) {
    if (!depends_on(g, x)) continue;
    auto [b, e] = split_power(g);
    if (zero_at(b) && e.is_number()) {
      order += e.number();
      continue;
    }
    if (b.is(Kind::Function) && b.function() == Function::Log && e.is_integer() && e.number() > 0) {
      const Expr& w = b[0].is(Kind::Function) && b[0].function() == Function::Abs ? b[0][0] : b[0];
      if (zero_at(w)) continue;
    }
    try {
      if (!real_value(substitute(g, x, a))) return false;
    } catch (const Error&) {
      return false;
    }
  }
  return order > 0;
}

Maybe limit_of(const Expr& G, const Expr& x, const Expr& bound, Direction dir) {
  Expr L;
  try {
    L = compute_limit(G, x, bound, dir);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (contains_kind(L, Kind::Limit) || contains_kind(L, Kind::Integral)) return std::nullopt;
  if (!contains_infinity(L) && !real_value(L)) return std::nullopt;
  return L;
}

Maybe substituted(const Expr& G, const Expr& x, const Expr& bound) {
  try {
    Expr v = substitute(G, x, bound);
    if (!contains_infinity(v) && real_value(v)) return v;
  } catch (const Error&) {
  }
  return std::nullopt;
}

Maybe value_at_bound(const Expr& G, const Expr& x, const Expr& bound, Direction dir) {
  if (is_infinite_bound(bound)) return limit_of(G, x, bound, dir);
  if (Maybe v = substituted(G, x, bound)) return v;
  if (Maybe v = limit_of(G, x, bound, dir)) return v;
  std::vector<Expr> out;  // term by term, each finite
  for (const Expr& term : terms_of(G)) {
    if (Maybe v = substituted(term, x, bound)) {
      out.push_back(*v);
    } else if (!vanishes_at(term, x, bound)) {
      Maybe L = limit_of(term, x, bound, dir);
      if (!L || contains_infinity(*L)) return std::nullopt;
      out.push_back(*L);
    }
  }
  return add(out);
}

double simpson(const std::function<double(double)>& f, double a, double b, double fa, double fm, double fb,
               double whole, double tol, int depth) {
  const double m = (a + b) / 2;
  const double lm = (a + m) / 2;
  const double rm = (m + b) / 2;
  const double flm = f(lm);
  const double frm = f(rm);
  const double left = (m - a) / 6 * (fa + 4 * flm + fm);
  const double right = (b - m) / 6 * (fm + 4 * frm + fb);
  if (depth <= 0 || std::abs(left + right - whole) <= 15 * tol) return left + right + (left + right - whole) / 15;
  return simpson(f, a, m, fa, flm, fm, left, tol / 2, depth - 1) +
         simpson(f, m, b, fm, frm, fb, right, tol / 2, depth - 1);
}

// Numeric ∫_a^b f for a continuous f on a finite interval; nullopt if f fails somewhere.
std::optional<double> quadrature(const Expr& f, const Expr& x, double a, double b) {
  bool ok = true;
  auto value = [&](double t) {
    auto v = numeric_at(f, x, Complex(t, 0.0));
    if (!v) {
      ok = false;
      return 0.0;
    }
    return v->real();
  };
  const double fa = value(a);
  const double fm = value((a + b) / 2);
  const double fb = value(b);
  const double whole = (b - a) / 6 * (fa + 4 * fm + fb);
  const double r = simpson(value, a, b, fa, fm, fb, whole, 1e-11 * std::max(1.0, std::abs(b - a)), 40);
  if (!ok) return std::nullopt;
  return r;
}

std::optional<mpq_class> exact_bound(const Expr& b) {
  if (b.is_number()) return b.number();
  if (auto v = real_value(b)) return mpq_class(*v);
  return std::nullopt;
}

std::optional<double> bound_double(const Expr& b) {
  if (b.is(Kind::Constant) && b.constant() == Constant::Infinity) return HUGE_VAL;
  if (is_infinite_bound(b)) {
    auto [c, rest] = split_coefficient(b);
    if (rest.is(Kind::Constant) && rest.constant() == Constant::Infinity && c.is_numeric()) {
      auto s = real_value(c);
      if (s && *s != 0) return *s > 0 ? HUGE_VAL : -HUGE_VAL;
    }
    return std::nullopt;
  }
  return real_value(b);
}

Maybe definite(const Expr& f, const Expr& x, const Expr& lower, const Expr& upper) {
  Maybe F = antiderivative(f, x);
  if (!F) return std::nullopt;
  auto lo = bound_double(lower);
  auto hi = bound_double(upper);
  const bool numeric_bounds = lo && hi && free_symbols(lower).empty() && free_symbols(upper).empty();
  if (!numeric_bounds) {
    if (!everywhere_regular(f, x) || is_infinite_bound(lower) || is_infinite_bound(upper)) return std::nullopt;
    return substitute(*F, x, upper) - substitute(*F, x, lower);
  }
  if (*lo > *hi) {
    Maybe r = definite(f, x, upper, lower);
    if (!r) return std::nullopt;
    return -*r;
  }
  if (free_symbols(f).size() > 1) {
    if (!everywhere_regular(f, x)) return std::nullopt;
  }
  Interval iv{*lo, *hi, std::isinf(*lo) ? std::nullopt : exact_bound(lower),
              std::isinf(*hi) ? std::nullopt : exact_bound(upper)};
  if (!regular_inside(f, x, iv)) return std::nullopt;
  const Expr G = logs_of_abs(*F, x);
  for (double s : interior_samples(iv, 64)) {
    auto v = numeric_at(G, x, Complex(s, 0.0));
    if (!v || std::abs(v->imag()) > 1e-9 * (1 + std::abs(v->real()))) return std::nullopt;
  }
  Maybe Fa = value_at_bound(G, x, lower, Direction::Plus);
  Maybe Fb = value_at_bound(G, x, upper, Direction::Minus);
  if (!Fa || !Fb) return std::nullopt;
  const bool inf_a = contains_infinity(*Fa);
  const bool inf_b = contains_infinity(*Fb);
  if (inf_a && inf_b) return std::nullopt;
  if (inf_a) return -*Fa;
  if (inf_b) return *Fb;
  Expr result = *Fb - *Fa;
  auto exact = real_value(result);
  if (!exact) return std::nullopt;
  const bool finite_ends = !std::isinf(*lo) && !std::isinf(*hi);
  if (finite_ends && numeric_at(f, x, Complex(*lo, 0.0)) && numeric_at(f, x, Complex(*hi, 0.0)) &&
      free_symbols(f).size() <= 1) {
    auto q = quadrature(f, x, *lo, *hi);
    if (!q || std::abs(*q - *exact) > 1e-6 * (1 + std::abs(*exact))) return std::nullopt;
  }
  return result;
}

}  // namespace

Expr integrate(const Expr& f, const Expr& var) {
  require_symbol(var, "integrate");
  if (Maybe F = antiderivative(f, var)) return *F;
  return integral(f, var);
}

Expr integrate(const Expr& f, const Expr& var, const Expr& lower, const Expr& upper) {
  require_symbol(var, "integrate");
  if (depends_on(lower, var) || depends_on(upper, var)) {
    throw Error(
        Error::Kind::InvalidArgument,
        std::string("integrate: the bounds must not contain the variable of integration ").append(to_string(var)));
  }
  if (lower == upper) return Expr(0);
  Maybe r;
  try {
    r = definite(f, var, lower, upper);
  } catch (const Error&) {
    r.reset();
  }
  if (r) return *r;
  return integral(f, var, lower, upper);
}

}  // namespace miso::mprime
