#include "miso/mprime/series.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mprime/diff.hpp"
#include "miso/mprime/poly.hpp"
#include "miso/mprime/print.hpp"

namespace miso::mprime {
namespace {

// ---- signals inside the expansion ----------------------------------------------

// The expansion needs s = t^(1/factor): a fractional power appeared.
struct NeedRamification {
  long factor;
};
// No Laurent/Puiseux series with logarithmic coefficients exists (essential
// singularity, a branch we cannot follow), or a zero test could not be decided.
struct Unexpandable {};
// Every known coefficient cancelled: more working precision is needed.
struct Shortfall {};

// ---- numbers out of constant coefficients ---------------------------------------

std::optional<double> numeric_value(const Expr& x) {
  switch (x.kind()) {
    case Kind::Number: return x.number().get_d();
    case Kind::Float: return x.float_value();
    case Kind::Constant:
      if (x.constant() == Constant::Pi) return std::numbers::pi;
      if (x.constant() == Constant::E) return std::numbers::e;
      return std::nullopt;
    case Kind::Add:
    case Kind::Mul: {
      double acc = x.is(Kind::Add) ? 0.0 : 1.0;
      for (const Expr& a : x.args()) {
        const auto v = numeric_value(a);
        if (!v) return std::nullopt;
        acc = x.is(Kind::Add) ? acc + *v : acc * *v;
      }
      return std::isfinite(acc) ? std::optional<double>(acc) : std::nullopt;
    }
    case Kind::Pow: {
      const auto b = numeric_value(x.base());
      const auto p = numeric_value(x.exponent());
      if (!b || !p || (*b < 0 && !x.exponent().is_integer()) || (*b == 0 && *p < 0)) return std::nullopt;
      const double v = std::pow(*b, *p);
      return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
    }
    case Kind::Function: {
      const auto a = numeric_value(x[0]);
      if (!a) return std::nullopt;
      double v = 0;
      switch (x.function()) {
        case Function::Sin: v = std::sin(*a); break;
        case Function::Cos: v = std::cos(*a); break;
        case Function::Tan: v = std::tan(*a); break;
        case Function::Exp: v = std::exp(*a); break;
        case Function::Log:
          if (*a <= 0) return std::nullopt;
          v = std::log(*a);
          break;
        case Function::Abs: v = std::fabs(*a); break;
        case Function::Asin:
        case Function::Acos:
          if (std::fabs(*a) > 1) return std::nullopt;
          v = x.function() == Function::Asin ? std::asin(*a) : std::acos(*a);
          break;
        case Function::Atan: v = std::atan(*a); break;
        case Function::Sinh: v = std::sinh(*a); break;
        case Function::Cosh: v = std::cosh(*a); break;
        case Function::Tanh: v = std::tanh(*a); break;
      }
      return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
    }
    default: return std::nullopt;
  }
}

// +1 or -1 for a real constant whose sign is clear, 0 otherwise.
int numeric_sign(const Expr& x) {
  if (x.is_number()) return sgn(x.number());
  const auto v = numeric_value(x);
  if (!v || std::fabs(*v) < 1e-9) return 0;
  return *v > 0 ? 1 : -1;
}

Expr tidy(const Expr& c) { return c.is_numeric() ? c : expand(c); }

// Is the (tidied) coefficient zero? A constant that evaluates to nearly zero
// without being exactly zero cannot be decided here: refuse rather than guess.
bool is_zero_coefficient(const Expr& c) {
  if (c.is_zero()) return true;
  if (c.is_numeric() || contains_float(c)) return false;
  const auto v = numeric_value(c);
  if (v && std::fabs(*v) < 1e-9) throw Unexpandable{};
  return false;
}

bool is_infinite(const Expr& x) { return x.is(Kind::Constant) && x.constant() == Constant::Infinity; }
bool is_minus_infinity(const Expr& x) {
  return x.is(Kind::Mul) && x.size() == 2 && x[0].is_minus_one() && is_infinite(x[1]);
}

// ---- truncated series in s ---------------------------------------------------------

// sum_k c[k] s^(val + k) + O(s^prec), with c.size() == prec - val (or empty when
// nothing below prec is known).
struct Series {
  long val = 0;
  long prec = 0;
  std::vector<Expr> c;

  Expr at(long k) const { return k < val || k >= prec ? Expr(0) : c[static_cast<std::size_t>(k - val)]; }
};

Series make_series(long val, long prec, std::vector<Expr> c) {
  Series s{val, prec, std::move(c)};
  if (s.prec <= s.val) {
    s.val = s.prec;
    s.c.clear();
  }
  return s;
}

// Removes leading zero coefficients, so that c[0] (if any) is the leading term.
Series& strip(Series& s) {
  std::size_t k = 0;
  while (k < s.c.size() && is_zero_coefficient(s.c[k])) ++k;
  s.c.erase(s.c.begin(), s.c.begin() + static_cast<std::ptrdiff_t>(k));
  s.val += static_cast<long>(k);
  return s;
}

Series constant_series(const Expr& value, long cap) {
  if (value.is_zero()) return make_series(cap, cap, {});
  std::vector<Expr> c(static_cast<std::size_t>(std::max(cap, 1L)), Expr(0));
  c[0] = value;
  return make_series(0, std::max(cap, 1L), std::move(c));
}

Series plus(const Series& a, const Series& b) {
  const long val = std::min(a.val, b.val);
  const long prec = std::min(a.prec, b.prec);
  std::vector<Expr> c;
  for (long k = val; k < prec; ++k) c.push_back(tidy(a.at(k) + b.at(k)));
  Series s = make_series(val, prec, std::move(c));
  return strip(s);
}

Series scale(const Series& a, const Expr& factor) {
  std::vector<Expr> c;
  c.reserve(a.c.size());
  for (const Expr& x : a.c) c.push_back(tidy(factor * x));
  Series s = make_series(a.val, a.prec, std::move(c));
  return strip(s);
}

Series shift(Series a, long by) {
  a.val += by;
  a.prec += by;
  return a;
}

Series times(const Series& a, const Series& b) {
  const long val = a.val + b.val;
  const long prec = std::min(a.val + b.prec, b.val + a.prec);
  std::vector<Expr> c;
  for (long k = 0; k < prec - val; ++k) {
    std::vector<Expr> terms;
    for (long i = 0; i <= k; ++i) {
      const auto ui = static_cast<std::size_t>(i);
      const auto uj = static_cast<std::size_t>(k - i);
      if (ui < a.c.size() && uj < b.c.size() && !a.c[ui].is_zero() && !b.c[uj].is_zero()) {
        terms.push_back(a.c[ui] * b.c[uj]);
      }
    }
    c.push_back(tidy(add(std::move(terms))));
  }
  Series s = make_series(val, prec, std::move(c));
  return strip(s);
}

Series inverse(Series a) {
  strip(a);
  if (a.c.empty()) throw Shortfall{};
  const std::size_t n = a.c.size();
  const Expr inv0 = tidy(pow(a.c[0], Expr(-1)));
  std::vector<Expr> b{inv0};
  for (std::size_t k = 1; k < n; ++k) {
    std::vector<Expr> terms;
    for (std::size_t j = 1; j <= k; ++j) {
      if (!a.c[j].is_zero() && !b[k - j].is_zero()) terms.push_back(a.c[j] * b[k - j]);
    }
    b.push_back(tidy(-inv0 * add(std::move(terms))));
  }
  return make_series(-a.val, -a.val + static_cast<long>(n), std::move(b));
}

Series power_integer(const Series& a, long n, long cap) {
  if (n < 0) return power_integer(inverse(a), -n, cap);
  Series result = constant_series(Expr(1), cap);
  Series base = a;
  bool first = true;
  while (n > 0) {
    if (n & 1) {
      result = first ? base : times(result, base);
      first = false;
    }
    n >>= 1;
    if (n > 0) base = times(base, base);
  }
  return result;
}

// (c0 s^v (1 + w))^e = c0^e s^(e v) (1 + w)^e, the last by J. C. P. Miller's
// recurrence: P_k = 1/k sum_j ((e + 1) j - k) w_j P_(k-j).
Series power_general(Series a, const Expr& e) {
  strip(a);
  if (a.c.empty()) throw Shortfall{};
  long new_val = 0;
  if (a.val != 0) {
    if (!e.is_number()) throw Unexpandable{};
    const mpq_class q = e.number() * a.val;
    if (q.get_den() != 1) throw NeedRamification{q.get_den().get_si()};
    new_val = q.get_num().get_si();
  }
  const std::size_t n = a.c.size();
  const Expr inv0 = tidy(pow(a.c[0], Expr(-1)));
  std::vector<Expr> w(n);
  for (std::size_t j = 1; j < n; ++j) w[j] = tidy(a.c[j] * inv0);
  std::vector<Expr> p{Expr(1)};
  for (std::size_t k = 1; k < n; ++k) {
    std::vector<Expr> terms;
    for (std::size_t j = 1; j <= k; ++j) {
      if (w[j].is_zero() || p[k - j].is_zero()) continue;
      const Expr factor = (e + Expr(1)) * Expr(static_cast<long>(j)) - Expr(static_cast<long>(k));
      terms.push_back(factor * w[j] * p[k - j]);
    }
    p.push_back(tidy(add(std::move(terms)) / Expr(static_cast<long>(k))));
  }
  const Expr lead = pow(a.c[0], e);
  Series s = make_series(new_val, new_val + static_cast<long>(n), std::move(p));
  return scale(s, lead);
}

Series derivative_of(const Series& a) {
  std::vector<Expr> c;
  for (long k = a.val; k < a.prec; ++k) {
    if (k == a.val && k == 0) continue;
    c.push_back(tidy(Expr(k) * a.at(k)));
  }
  const long val = a.val == 0 ? 0 : a.val - 1;
  Series s = make_series(val, a.prec - 1, std::move(c));
  return strip(s);
}

// Antiderivative with the given constant term; needs no s^-1 term.
Series integral_of(Series a, const Expr& constant) {
  strip(a);
  if (a.val < 0) throw Unexpandable{};
  std::vector<Expr> c{constant};
  for (long k = 0; k < a.prec; ++k) c.push_back(tidy(a.at(k) / Expr(k + 1)));
  return make_series(0, a.prec + 1, std::move(c));
}

// The part of order >= 1 of a series without negative powers, and its constant term.
std::pair<Expr, std::vector<Expr>> split_constant(Series a) {
  strip(a);
  if (!a.c.empty() && a.val < 0) throw Unexpandable{};
  if (a.prec <= 0) throw Shortfall{};
  std::vector<Expr> w(static_cast<std::size_t>(a.prec), Expr(0));
  for (long k = 1; k < a.prec; ++k) w[static_cast<std::size_t>(k)] = a.at(k);
  return {a.at(0), std::move(w)};
}

// exp(w) for w without constant term: E' = w' E.
std::vector<Expr> exp_of(const std::vector<Expr>& w) {
  std::vector<Expr> e{Expr(1)};
  for (std::size_t k = 1; k < w.size(); ++k) {
    std::vector<Expr> terms;
    for (std::size_t j = 1; j <= k; ++j) {
      if (!w[j].is_zero() && !e[k - j].is_zero()) terms.push_back(Expr(static_cast<long>(j)) * w[j] * e[k - j]);
    }
    e.push_back(tidy(add(std::move(terms)) / Expr(static_cast<long>(k))));
  }
  return e;
}

// sin/cos (sigma = -1) or sinh/cosh (sigma = +1) of w without constant term:
// S' = w' C, C' = sigma w' S.
std::pair<std::vector<Expr>, std::vector<Expr>> sin_cos_of(const std::vector<Expr>& w, int sigma) {
  std::vector<Expr> s{Expr(0)};
  std::vector<Expr> c{Expr(1)};
  for (std::size_t k = 1; k < w.size(); ++k) {
    std::vector<Expr> st;
    std::vector<Expr> ct;
    for (std::size_t j = 1; j <= k; ++j) {
      if (w[j].is_zero()) continue;
      const Expr jw = Expr(static_cast<long>(j)) * w[j];
      if (!c[k - j].is_zero()) st.push_back(jw * c[k - j]);
      if (!s[k - j].is_zero()) ct.push_back(jw * s[k - j]);
    }
    const Expr inv_k = rational(1, static_cast<long>(k));
    s.push_back(tidy(inv_k * add(std::move(st))));
    c.push_back(tidy(Expr(sigma) * inv_k * add(std::move(ct))));
  }
  return {std::move(s), std::move(c)};
}

Series from_vector(std::vector<Expr> c) {
  const long n = static_cast<long>(c.size());
  Series s = make_series(0, n, std::move(c));
  return strip(s);
}

// ---- expansion of an expression ------------------------------------------------

// Where the expansion variable s > 0 (s -> 0) sits: x = point + sign s^d, or
// x = sign / s^d at infinity.
struct Chart {
  Expr var;
  Expr point;  // finite point; unused at infinity
  bool at_infinity = false;
  int sign = 1;
  long ramification = 1;   // d
  bool one_sided = false;  // s is known to be positive (limits, expansions at infinity)
};

class Expander {
 public:
  Expander(const Chart& chart, long cap, Expr s, Expr log_s)
      : chart_(chart), cap_(cap), s_(std::move(s)), log_s_(std::move(log_s)) {}

  Series operator()(const Expr& f) {
    if (auto it = memo_.find(f.id()); it != memo_.end()) return it->second.second;
    Series result = expand_node(f);
    memo_.emplace(f.id(), std::make_pair(f, result));
    return result;
  }

 private:
  Series expand_node(const Expr& f) {
    if (!depends_on(f, chart_.var)) return constant_series(f, cap_);
    switch (f.kind()) {
      case Kind::Symbol: return variable();
      case Kind::Add: {
        Series sum = (*this)(f[0]);
        for (std::size_t i = 1; i < f.size(); ++i) sum = plus(sum, (*this)(f[i]));
        return sum;
      }
      case Kind::Mul: {
        Series product = (*this)(f[0]);
        for (std::size_t i = 1; i < f.size(); ++i) product = times(product, (*this)(f[i]));
        return product;
      }
      case Kind::Pow: return power(f.base(), f.exponent());
      case Kind::Function: return function(f.function(), (*this)(f[0]));
      default: throw Unexpandable{};  // unevaluated d/dx, integral or limit
    }
  }

  Series variable() const {
    const long d = chart_.ramification;
    if (chart_.at_infinity) {
      std::vector<Expr> c(static_cast<std::size_t>(cap_ + d), Expr(0));
      c[0] = Expr(chart_.sign);
      return make_series(-d, cap_, std::move(c));
    }
    std::vector<Expr> c(static_cast<std::size_t>(std::max(cap_, d + 1)), Expr(0));
    c[0] = chart_.point;
    c[static_cast<std::size_t>(d)] = Expr(chart_.sign);
    const auto size = static_cast<long>(c.size());
    Series s = make_series(0, size, std::move(c));
    return strip(s);
  }

  Series power(const Expr& base, const Expr& exponent) {
    if (depends_on(exponent, chart_.var)) {
      return function(Function::Exp, (*this)(exponent * log(base)));
    }
    const Series b = (*this)(base);
    if (exponent.is_integer() && exponent.number().get_num().fits_slong_p()) {
      return power_integer(b, exponent.number().get_num().get_si(), cap_);
    }
    return power_general(b, exponent);
  }

  Series function(Function fn, const Series& u) {
    switch (fn) {
      case Function::Exp: return exp_series(u);
      case Function::Log: return log_series(u);
      case Function::Sin:
      case Function::Cos:
      case Function::Sinh:
      case Function::Cosh: return trig_series(fn, u);
      case Function::Tan: return times(trig_series(Function::Sin, u), inverse(trig_series(Function::Cos, u)));
      case Function::Tanh: return times(trig_series(Function::Sinh, u), inverse(trig_series(Function::Cosh, u)));
      case Function::Atan: return atan_series(u);
      case Function::Asin: return asin_series(u);
      case Function::Acos: return plus(constant_series(pi() / Expr(2), cap_), scale(asin_series(u), Expr(-1)));
      case Function::Abs: return abs_series(u);
    }
    throw Unexpandable{};
  }

  // exp(alpha log s + beta + w) = e^beta s^alpha exp(w); alpha must be an integer.
  Series exp_series(const Series& u) {
    auto [c0, w] = split_constant(u);
    long alpha = 0;
    Expr beta = c0;
    if (depends_on(c0, log_s_)) {
      const Expr a = diff(c0, log_s_);
      if (depends_on(a, log_s_) || !a.is_number()) throw Unexpandable{};
      if (a.number().get_den() != 1) throw NeedRamification{a.number().get_den().get_si()};
      alpha = a.number().get_num().get_si();
      beta = tidy(c0 - a * log_s_);
    }
    return shift(scale(from_vector(exp_of(w)), exp(beta)), alpha);
  }

  // log(c0 s^v (1 + w)) = log(c0) + v log(s) + log(1 + w); log(1 + w) by g' (1 + w) = w'.
  Series log_series(Series u) {
    strip(u);
    if (u.c.empty()) throw Shortfall{};
    const std::size_t n = u.c.size();
    const Expr inv0 = tidy(pow(u.c[0], Expr(-1)));
    std::vector<Expr> w(n, Expr(0));
    for (std::size_t j = 1; j < n; ++j) w[j] = tidy(u.c[j] * inv0);
    std::vector<Expr> g{tidy(log(u.c[0]) + Expr(u.val) * log_s_)};
    for (std::size_t k = 1; k < n; ++k) {
      std::vector<Expr> terms;
      for (std::size_t j = 1; j < k; ++j) {
        if (!g[j].is_zero() && !w[k - j].is_zero()) terms.push_back(Expr(static_cast<long>(j)) * g[j] * w[k - j]);
      }
      g.push_back(tidy(w[k] - add(std::move(terms)) / Expr(static_cast<long>(k))));
    }
    return from_vector(std::move(g));
  }

  Series trig_series(Function fn, const Series& u) {
    auto [c0, w] = split_constant(u);
    const bool hyperbolic = fn == Function::Sinh || fn == Function::Cosh;
    auto [s, c] = sin_cos_of(w, hyperbolic ? 1 : -1);
    const Series sin_w = from_vector(std::move(s));
    const Series cos_w = from_vector(std::move(c));
    if (c0.is_zero()) return fn == Function::Sin || fn == Function::Sinh ? sin_w : cos_w;
    const Expr sin0 = hyperbolic ? sinh(c0) : sin(c0);
    const Expr cos0 = hyperbolic ? cosh(c0) : cos(c0);
    switch (fn) {
      case Function::Sin:
      case Function::Sinh: return plus(scale(cos_w, sin0), scale(sin_w, cos0));
      case Function::Cos: return plus(scale(cos_w, cos0), scale(sin_w, -sin0));
      default:  // cosh
        return plus(scale(cos_w, cos0), scale(sin_w, sin0));
    }
  }

  // atan(u) = atan(c0) + integral of u'/(1 + u^2); at a pole of u, with s > 0,
  // atan(u) = sign(u) pi/2 - atan(1/u).
  Series atan_series(Series u) {
    strip(u);
    if (!u.c.empty() && u.val < 0) {
      const int sign = numeric_sign(u.c[0]);
      if (!chart_.one_sided || sign == 0) throw Unexpandable{};
      return plus(constant_series(Expr(sign) * pi() / Expr(2), cap_), scale(atan_series(inverse(u)), Expr(-1)));
    }
    const Series one = constant_series(Expr(1), cap_);
    const Series rate = times(derivative_of(u), inverse(plus(one, times(u, u))));
    return integral_of(rate, atan(u.at(0)));
  }

  // asin(u) = asin(c0) + integral of u' (1 - u^2)^(-1/2).
  Series asin_series(Series u) {
    strip(u);
    if (!u.c.empty() && u.val < 0) throw Unexpandable{};
    const Series one = constant_series(Expr(1), cap_);
    const Series root = power_general(plus(one, scale(times(u, u), Expr(-1))), rational(-1, 2));
    return integral_of(times(derivative_of(u), root), asin(u.at(0)));
  }

  // |u| = sign(leading coefficient) u where u keeps its sign near the point.
  Series abs_series(Series u) {
    strip(u);
    if (u.c.empty()) throw Shortfall{};
    if (!chart_.one_sided && (u.val % (2 * chart_.ramification)) != 0) throw Unexpandable{};
    const Expr& lead = u.c[0];
    if (depends_on(lead, log_s_)) throw Unexpandable{};
    const int sign = numeric_sign(lead);
    return scale(u, sign != 0 ? Expr(sign) : abs(lead) / lead);
  }

  const Chart& chart_;
  long cap_;
  Expr s_;
  Expr log_s_;
  // Holds the expression too: a node built during the expansion (exp(v log u))
  // must stay alive, or its address could be reused by another node.
  std::unordered_map<const Node*, std::pair<Expr, Series>> memo_;
};

// Names no parser produces, so they cannot meet a user's symbol.
Expr series_variable() { return symbol("s#series"); }
Expr log_series_variable() { return symbol("log(s)#series"); }

// Expands f in the chart to absolute precision `want` (in s), raising the
// working precision and the ramification as needed. The chart's ramification
// may grow (that is why it is passed by reference).
Series expand_in_chart(const Expr& f, Chart& chart, long want) {
  constexpr long kMaxRamification = 24;
  constexpr int kMaxTries = 8;
  long cap = want + 2;
  for (int attempt = 0; attempt < kMaxTries; ++attempt) {
    try {
      Expander expander(chart, cap, series_variable(), log_series_variable());
      Series result = expander(f);
      if (result.prec >= want) return result;
      cap += want - result.prec + 2;
    } catch (const NeedRamification& r) {
      if (chart.ramification * r.factor > kMaxRamification) throw Unexpandable{};
      chart.ramification *= r.factor;
      want *= r.factor;
      cap = want + 2;
    } catch (const Shortfall&) {
      cap += cap / 2 + 2;
    }
  }
  throw Unexpandable{};
}

void require_variable(const Expr& var, const char* where) {
  if (!var.is_symbol()) {
    throw Error(Error::Kind::InvalidArgument,
                std::string(where).append(": the variable must be a symbol, got ").append(to_string(var)));
  }
}

Chart chart_at(const Expr& var, const Expr& point, const char* where) {
  Chart chart;
  chart.var = var;
  if (is_infinite(point) || is_minus_infinity(point)) {
    chart.at_infinity = true;
    chart.sign = is_infinite(point) ? 1 : -1;
    chart.one_sided = true;
  } else {
    if (depends_on(point, var)) {
      throw Error(Error::Kind::InvalidArgument,
                  std::string(where).append(": the point ").append(to_string(point)).append(" contains the variable"));
    }
    chart.point = point;
  }
  return chart;
}

// ---- limits ---------------------------------------------------------------------

// The value of a leading term c s^v as s -> 0+, c a polynomial in log(s); nullopt
// when that cannot be decided.
std::optional<Expr> leading_limit(const Expr& c, long v) {
  const Expr log_s = log_series_variable();
  long m = 0;
  Expr gamma = c;
  if (depends_on(c, log_s)) {
    std::vector<Expr> terms =
        c.is(Kind::Add) ? std::vector<Expr>(c.args().begin(), c.args().end()) : std::vector<Expr>{c};
    std::vector<std::pair<long, Expr>> split;
    for (const Expr& term : terms) {
      long power = 0;
      std::vector<Expr> rest;
      const auto factors =
          term.is(Kind::Mul) ? std::vector<Expr>(term.args().begin(), term.args().end()) : std::vector<Expr>{term};
      for (const Expr& f : factors) {
        auto [b, e] = split_power(f);
        if (b == log_s && e.is_integer() && sgn(e.number()) > 0) {
          power += e.number().get_num().get_si();
        } else if (depends_on(f, log_s)) {
          return std::nullopt;
        } else {
          rest.push_back(f);
        }
      }
      split.emplace_back(power, mul(std::move(rest)));
      m = std::max(m, power);
    }
    for (;; --m) {
      std::vector<Expr> top;
      for (const auto& [p, g] : split)
        if (p == m) top.push_back(g);
      gamma = tidy(add(std::move(top)));
      if (!is_zero_coefficient(gamma) || m == 0) break;
    }
  }
  if (v > 0) return Expr(0);
  if (v == 0 && m == 0) return gamma;
  // log(s) -> -oo, s^v -> +oo for v < 0.
  const int sign = numeric_sign(gamma) * (m % 2 == 0 ? 1 : -1);
  if (sign == 0) return std::nullopt;
  return sign > 0 ? infinity() : -infinity();
}

// Limit as s -> 0+ of f with x = point + sign s (or sign/s at infinity), by the
// leading term of the series; nullopt when the series cannot decide.
std::optional<Expr> limit_by_series(const Expr& f, Chart chart) {
  chart.one_sided = true;
  try {
    for (long want = 3; want <= 27; want += 8) {
      Chart trial = chart;
      Series s = expand_in_chart(f, trial, want * chart.ramification);
      strip(s);
      if (!s.c.empty()) {
        // Only the sign of the order decides (s^v with s = t^(1/d)), not its size.
        return leading_limit(s.c[0], s.val > 0 ? 1 : (s.val < 0 ? -1 : 0));
      }
    }
  } catch (const Unexpandable&) {
  } catch (const NeedRamification&) {
  } catch (const Shortfall&) {
  }
  return std::nullopt;
}

class OneSidedLimit {
 public:
  explicit OneSidedLimit(Chart chart) : chart_(std::move(chart)) {}

  std::optional<Expr> operator()(const Expr& f) {
    if (!depends_on(f, chart_.var)) return f;
    if (budget_-- <= 0) return std::nullopt;
    if (auto by_series = limit_by_series(f, chart_)) return by_series;
    switch (f.kind()) {
      case Kind::Add: return sum(f);
      case Kind::Mul: return product(f);
      case Kind::Pow: return power(f);
      case Kind::Function: return function(f);
      default: return std::nullopt;
    }
  }

 private:
  static bool finite(const Expr& v) { return !is_infinite(v) && !is_minus_infinity(v); }

  // +1 / -1 when f keeps that sign near the point, 0 when unknown.
  int sign_near(const Expr& f) {
    if (f.is(Kind::Function) && (f.function() == Function::Exp || f.function() == Function::Cosh)) return 1;
    if (f.is(Kind::Pow) && f.exponent().is_integer() && mpz_even_p(f.exponent().number().get_num_mpz_t())) return 1;
    try {
      Chart chart = chart_;
      chart.one_sided = true;
      Series s = expand_in_chart(f, chart, 3);
      strip(s);
      if (!s.c.empty() && !depends_on(s.c[0], log_series_variable())) return numeric_sign(s.c[0]);
    } catch (const Unexpandable&) {
    } catch (const NeedRamification&) {
    } catch (const Shortfall&) {
    }
    return 0;
  }

  std::optional<Expr> sum(const Expr& f) {
    std::vector<Expr> finite_terms;
    int infinities = 0;
    bool plus_inf = false;
    bool minus_inf = false;
    for (const Expr& term : f.args()) {
      auto v = (*this)(term);
      if (!v) return std::nullopt;
      if (is_infinite(*v)) {
        plus_inf = true;
        ++infinities;
      } else if (is_minus_infinity(*v)) {
        minus_inf = true;
        ++infinities;
      } else {
        finite_terms.push_back(*v);
      }
    }
    if (plus_inf && minus_inf) {
      const Expr combined = together(f);
      if (combined != f && !combined.is(Kind::Add)) return (*this)(combined);
      return std::nullopt;
    }
    if (plus_inf) return infinity();
    if (minus_inf) return -infinity();
    return add(std::move(finite_terms));
  }

  std::optional<Expr> product(const Expr& f) {
    auto [num, den] = numerator_denominator(f);
    if (!den.is_one()) return quotient(num, den, 0);
    // A product with factors tending to 0 and to oo: write it as a quotient.
    std::vector<Expr> zeros;
    std::vector<Expr> others;
    bool infinite = false;
    for (const Expr& factor : f.args()) {
      auto v = (*this)(factor);
      if (!v) return std::nullopt;
      infinite = infinite || !finite(*v);
      (v->is_zero() ? zeros : others).push_back(factor);
    }
    if (zeros.empty() || !infinite) return combine_product(f);
    const Expr small = mul(zeros);
    const Expr rest = mul(others);
    if (auto v = quotient(rest, pow(small, Expr(-1)), 0)) return v;
    return quotient(small, pow(rest, Expr(-1)), 0);
  }

  std::optional<Expr> combine_product(const Expr& f) {
    int sign = 1;
    bool infinite = false;
    std::vector<Expr> values;
    for (const Expr& factor : f.args()) {
      auto v = (*this)(factor);
      if (!v) return std::nullopt;
      if (is_infinite(*v)) {
        infinite = true;
      } else if (is_minus_infinity(*v)) {
        infinite = true;
        sign = -sign;
      } else {
        values.push_back(*v);
      }
    }
    const Expr finite_part = mul(std::move(values));
    if (!infinite) return finite_part;
    const int s = numeric_sign(finite_part);
    if (s == 0) return std::nullopt;
    return sign * s > 0 ? infinity() : -infinity();
  }

  // num/den, with L'Hopital's rule for 0/0 and oo/oo (a few rounds at most).
  std::optional<Expr> quotient(const Expr& num, const Expr& den, int round) {
    auto n = (*this)(num);
    auto d = (*this)(den);
    if (!n || !d) return std::nullopt;
    const bool both_zero = n->is_zero() && d->is_zero();
    const bool both_infinite = !finite(*n) && !finite(*d);
    if (both_zero || both_infinite) {
      if (round >= 8) return std::nullopt;
      const Expr dn = diff(num, chart_.var);
      const Expr dd = diff(den, chart_.var);
      if (dd.is_zero()) return std::nullopt;
      if (auto direct = limit_by_series(dn / dd, chart_)) return direct;
      auto [nn, nd] = numerator_denominator(dn / dd);
      return quotient(nn, nd, round + 1);
    }
    if (finite(*d) && !d->is_zero()) {
      if (finite(*n)) return *n / *d;
      const int s = numeric_sign(*d) * (is_infinite(*n) ? 1 : -1);
      if (s == 0) return std::nullopt;
      return s > 0 ? infinity() : -infinity();
    }
    if (!finite(*d)) return Expr(0);  // finite / oo
    // nonzero / 0
    const int s = (finite(*n) ? numeric_sign(*n) : (is_infinite(*n) ? 1 : -1)) * sign_near(den);
    if (s == 0) return std::nullopt;
    return s > 0 ? infinity() : -infinity();
  }

  std::optional<Expr> power(const Expr& f) {
    const Expr& base = f.base();
    const Expr& exponent = f.exponent();
    if (depends_on(exponent, chart_.var)) return (*this)(exp(exponent * log(base)));
    if (!exponent.is_number()) return std::nullopt;
    const int es = sgn(exponent.number());
    if (es < 0) return quotient(Expr(1), pow(base, -exponent), 0);
    auto b = (*this)(base);
    if (!b) return std::nullopt;
    if (is_infinite(*b)) return infinity();
    if (is_minus_infinity(*b)) {
      if (!exponent.is_integer()) return std::nullopt;
      return mpz_even_p(exponent.number().get_num_mpz_t()) ? infinity() : -infinity();
    }
    return pow(*b, exponent);
  }

  std::optional<Expr> function(const Expr& f) {
    const Function fn = f.function();
    auto a = (*this)(f[0]);
    if (!a) return std::nullopt;
    if (is_infinite(*a) || is_minus_infinity(*a)) {
      const bool plus = is_infinite(*a);
      switch (fn) {
        case Function::Exp: return plus ? infinity() : Expr(0);
        case Function::Log: return plus ? std::optional<Expr>(infinity()) : std::nullopt;
        case Function::Atan: return Expr(plus ? 1 : -1) * pi() / Expr(2);
        case Function::Tanh: return Expr(plus ? 1 : -1);
        case Function::Sinh: return plus ? infinity() : -infinity();
        case Function::Cosh:
        case Function::Abs: return infinity();
        default: return std::nullopt;
      }
    }
    if (fn == Function::Log && a->is_zero()) {
      return sign_near(f[0]) > 0 ? std::optional<Expr>(-infinity()) : std::nullopt;
    }
    const auto v = numeric_value(*a);
    switch (fn) {
      case Function::Log:
        if (!v || *v <= 0) return std::nullopt;
        break;
      case Function::Tan:
        if (!v || std::fabs(std::cos(*v)) < 1e-9) return std::nullopt;
        break;
      case Function::Asin:
      case Function::Acos:
        if (!v || std::fabs(*v) >= 1) return std::nullopt;
        break;
      default: break;
    }
    return apply(fn, *a);
  }

  Chart chart_;
  int budget_ = 256;
};

std::string limit_text(const Expr& v) {
  if (is_infinite(v)) return "oo";
  if (is_minus_infinity(v)) return "-oo";
  return to_string(v);
}

std::optional<Expr> one_sided(const Expr& f, Chart chart) {
  chart.one_sided = true;
  return OneSidedLimit(std::move(chart))(f);
}

}  // namespace

Expr series(const Expr& f, const Expr& var, const Expr& point, long order) {
  require_variable(var, "series");
  if (order < 0) {
    throw Error(Error::Kind::InvalidArgument,
                std::string("series: the order must be >= 0, got ").append(std::to_string(order)));
  }
  Chart chart = chart_at(var, point, "series");
  Series s;
  try {
    s = expand_in_chart(f, chart, order);
  } catch (const Unexpandable&) {
    throw Error(Error::Kind::InvalidArgument, std::string("series: cannot expand ")
                                                  .append(to_string(f))
                                                  .append(" about ")
                                                  .append(to_string(var))
                                                  .append(" = ")
                                                  .append(to_string(point)));
  }
  const long d = chart.ramification;
  // t = x - a (or 1/x, -1/x at infinity) and s = t^(1/d).
  Expr t;
  if (chart.at_infinity) {
    t = Expr(chart.sign) / var;
  } else {
    t = var - chart.point;
  }
  const Expr log_s = log(t) / Expr(d);
  std::vector<Expr> terms;
  for (long k = s.val; k < std::min(s.prec, order * d); ++k) {
    Expr c = s.at(k);
    if (c.is_zero()) continue;
    c = substitute(c, log_series_variable(), log_s);
    Expr term = c * pow(t, rational(k, d));
    if (t.is_symbol()) term = expand(term);
    terms.push_back(term);
  }
  return add(std::move(terms));
}

Expr compute_limit(const Expr& f, const Expr& var, const Expr& point, Direction dir) {
  require_variable(var, "limit");
  Chart chart = chart_at(var, point, "limit");
  if (!depends_on(f, var)) return f;
  if (chart.at_infinity) {
    if (auto v = one_sided(f, chart)) return *v;
    return limit(f, var, point, dir);
  }
  if (dir != Direction::Both) {
    chart.sign = dir == Direction::Plus ? 1 : -1;
    if (auto v = one_sided(f, chart)) return *v;
    return limit(f, var, point, dir);
  }
  Chart left = chart;
  left.sign = -1;
  const auto from_right = one_sided(f, chart);
  const auto from_left = one_sided(f, left);
  if (!from_right || !from_left) return limit(f, var, point, dir);
  if (*from_right == *from_left) return *from_right;
  const bool both_finite = !is_infinite(*from_right) && !is_minus_infinity(*from_right) && !is_infinite(*from_left) &&
                           !is_minus_infinity(*from_left);
  if (both_finite) {
    const Expr gap = tidy(*from_right - *from_left);
    if (gap.is_zero()) return *from_right;
    if (numeric_sign(gap) == 0) return limit(f, var, point, dir);  // cannot tell them apart
  }
  throw Error(Error::Kind::InvalidArgument, std::string("limit of ")
                                                .append(to_string(f))
                                                .append(" at ")
                                                .append(to_string(var))
                                                .append(" = ")
                                                .append(to_string(point))
                                                .append(" does not exist: ")
                                                .append(limit_text(*from_left))
                                                .append(" from the left, ")
                                                .append(limit_text(*from_right))
                                                .append(" from the right"));
}

}  // namespace miso::mprime
