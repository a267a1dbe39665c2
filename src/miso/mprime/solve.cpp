#include "miso/mprime/solve.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mprime/poly.hpp"
#include "miso/mprime/print.hpp"

namespace miso::mprime {
namespace {

using Complex = std::complex<long double>;

// Thrown inside the solver when an equation is beyond it; the public entry
// points turn it into a miso::Error that quotes the equation.
struct Unsolvable {
  std::string why;
};

// ---- numeric evaluation (complex, principal branches) ---------------------------

// Complex values of expressions, with symbols bound to given values. Used to
// order roots, to pick signs, and to check solutions that contain floats,
// radicals or free parameters.
class NumericEvaluator {
 public:
  NumericEvaluator() = default;
  explicit NumericEvaluator(std::unordered_map<const Node*, Complex> symbols) : symbols_(std::move(symbols)) {}

  std::optional<Complex> value(const Expr& x) {
    auto it = memo_.find(x.id());
    if (it != memo_.end()) return it->second;
    std::optional<Complex> v = compute(x);
    if (v && !(std::isfinite(v->real()) && std::isfinite(v->imag()))) v.reset();
    memo_.emplace(x.id(), v);
    return v;
  }

  // The magnitude of the terms that cancel in x: rounding errors scale with it,
  // not with |x| (which is 0 at a root).
  long double scale(const Expr& x) {
    switch (x.kind()) {
      case Kind::Add: {
        long double s = 0;
        for (const Expr& t : x.args()) s += scale(t);
        return s;
      }
      case Kind::Mul: {
        long double s = 1;
        for (const Expr& f : x.args()) s *= scale(f);
        return s;
      }
      case Kind::Pow:
        if (x.exponent().is_integer() && x.exponent().number() > 0 && x.exponent().number() < 64) {
          return std::pow(scale(x.base()), static_cast<int>(x.exponent().number().get_d()));
        }
        break;
      default: break;
    }
    std::optional<Complex> v = value(x);
    return v ? std::abs(*v) : std::numeric_limits<long double>::infinity();
  }

 private:
  static Complex integer_power(Complex b, long n) {
    if (n < 0) return Complex(1) / integer_power(b, -n);
    Complex r(1);
    while (n > 0) {
      if (n & 1) r *= b;
      b *= b;
      n >>= 1;
    }
    return r;
  }

  std::optional<Complex> power(const Expr& x) {
    std::optional<Complex> b = value(x.base());
    if (!b) return std::nullopt;
    const Expr& ex = x.exponent();
    if (ex.is_integer() && mpz_fits_slong_p(ex.number().get_num_mpz_t())) {
      long n = ex.number().get_num().get_si();
      if (n < 0 && *b == Complex(0)) return std::nullopt;
      return integer_power(*b, n);
    }
    std::optional<Complex> e = value(ex);
    if (!e) return std::nullopt;
    if (*b == Complex(0)) {
      if (e->real() > 0) return Complex(0);
      return std::nullopt;
    }
    return std::pow(*b, *e);
  }

  std::optional<Complex> function(const Expr& x) {
    std::optional<Complex> a = value(x[0]);
    if (!a) return std::nullopt;
    const Complex z = *a;
    switch (x.function()) {
      case Function::Sin: return std::sin(z);
      case Function::Cos: return std::cos(z);
      case Function::Tan: return std::tan(z);
      case Function::Exp: return std::exp(z);
      case Function::Log:
        if (z == Complex(0)) return std::nullopt;
        return std::log(z);
      case Function::Abs: return Complex(std::abs(z));
      case Function::Asin: return std::asin(z);
      case Function::Acos: return std::acos(z);
      case Function::Atan: return std::atan(z);
      case Function::Sinh: return std::sinh(z);
      case Function::Cosh: return std::cosh(z);
      case Function::Tanh: return std::tanh(z);
    }
    return std::nullopt;
  }

  std::optional<Complex> compute(const Expr& x) {
    switch (x.kind()) {
      case Kind::Number: return Complex(static_cast<long double>(x.number().get_d()));
      case Kind::Float: return Complex(static_cast<long double>(x.float_value()));
      case Kind::Constant:
        switch (x.constant()) {
          case Constant::Pi: return Complex(std::acos(-1.0L));
          case Constant::E: return Complex(std::exp(1.0L));
          case Constant::I: return Complex(0, 1);
          case Constant::Infinity: return std::nullopt;
        }
        return std::nullopt;
      case Kind::Symbol: {
        auto it = symbols_.find(x.id());
        if (it == symbols_.end()) return std::nullopt;
        return it->second;
      }
      case Kind::Add: {
        Complex s(0);
        for (const Expr& t : x.args()) {
          std::optional<Complex> v = value(t);
          if (!v) return std::nullopt;
          s += *v;
        }
        return s;
      }
      case Kind::Mul: {
        Complex p(1);
        for (const Expr& f : x.args()) {
          std::optional<Complex> v = value(f);
          if (!v) return std::nullopt;
          p *= *v;
        }
        return p;
      }
      case Kind::Pow: return power(x);
      case Kind::Function: return function(x);
      default: return std::nullopt;
    }
  }

  std::unordered_map<const Node*, Complex> symbols_;
  std::unordered_map<const Node*, std::optional<Complex>> memo_;
};

// Values for free symbols that are unlikely to be special (zero, one, a pole):
// an identity in the symbols holds there, an accident almost never does.
std::unordered_map<const Node*, Complex> generic_values(const std::vector<Expr>& symbols) {
  std::unordered_map<const Node*, Complex> values;
  long double k = 0;
  for (const Expr& s : symbols) {
    values.emplace(s.id(), Complex(0.7183L + 0.4142L * k + 0.05L * std::sqrt(k + 2), 0));
    k += 1;
  }
  return values;
}

bool is_real_value(const Complex& z) { return std::abs(z.imag()) <= 1e-12L * (1 + std::abs(z)); }

// ---- exact normal forms and the zero test ---------------------------------------

// cancel() where it applies; expressions it cannot take (floats, for
// instance) are kept as they are, since normalising is only an optimisation.
Expr normal(const Expr& x) {
  if (x.is_numeric() || x.is_symbol()) return x;
  try {
    return cancel(x);
  } catch (const Error&) {
    return x;
  }
}

Expr numerator_of(const Expr& x) {
  if (x.is_numeric() || x.is_symbol()) return x;
  try {
    return fraction(x).first;
  } catch (const Error&) {
    return x;
  }
}

// True when x is zero: exactly after cancel (twice, since radicals such as
// sqrt(2)^2 fold only when converted back), else numerically, relative to the
// size of the terms, with generic values for free symbols.
bool vanishes(const Expr& x) {
  if (x.is_zero()) return true;
  if (!contains_float(x)) {
    Expr c = normal(x);
    if (c.is_zero() || normal(c).is_zero()) return true;
  }
  NumericEvaluator eval(generic_values(free_symbols(x)));
  std::optional<Complex> v = eval.value(x);
  if (!v) return false;
  return std::abs(*v) <= 1e-9L * eval.scale(x);
}

// Exactly when the values have no floats and cancel shows a zero; else
// numerically with the unknowns bound to the values (free parameters at
// generic values), relative to the size of the equation's terms there
// (substituting floats first would fold the terms and lose that size). A
// substitution that divides by zero is no solution.
bool satisfies(const Expr& difference, const Substitution& solution) {
  bool floats = std::any_of(solution.begin(), solution.end(), [](const auto& kv) { return contains_float(kv.second); });
  if (!floats) {
    try {
      Expr d = substitute(difference, solution);
      if (d.is_zero()) return true;
      if (!contains_float(d)) {
        Expr c = normal(d);
        if (c.is_zero() || normal(c).is_zero()) return true;
      }
    } catch (const Error&) {
      return false;
    }
  }
  std::vector<Expr> parameters = free_symbols(difference);
  for (const auto& [unknown, value] : solution) {
    for (const Expr& p : free_symbols(value)) parameters.push_back(p);
  }
  std::sort(parameters.begin(), parameters.end(), ExprLess{});
  parameters.erase(std::unique(parameters.begin(), parameters.end()), parameters.end());
  std::unordered_map<const Node*, Complex> bindings = generic_values(parameters);
  NumericEvaluator at_parameters(bindings);
  for (const auto& [unknown, value] : solution) {
    std::optional<Complex> v = at_parameters.value(value);
    if (!v) return false;
    bindings[unknown.id()] = *v;
  }
  NumericEvaluator eval(bindings);
  std::optional<Complex> v = eval.value(difference);
  return v && std::abs(*v) <= 1e-9L * eval.scale(difference);
}

// ---- exact radicals of rationals ------------------------------------------------

// k * sqrt(c) with k rational and c a square-free positive integer.
struct Radical {
  mpq_class k;
  mpz_class c;
};

// n = s^2 * c with c square-free (trial division by small primes; a large
// cofactor is kept whole unless it is itself a square).
std::pair<mpz_class, mpz_class> square_part(mpz_class n) {
  mpz_class s = 1;
  mpz_class c = 1;
  for (unsigned long p = 2; p < 20000 && p * p <= n; p += (p == 2 ? 1 : 2)) {
    int count = 0;
    while (mpz_divisible_ui_p(n.get_mpz_t(), p) != 0) {
      mpz_divexact_ui(n.get_mpz_t(), n.get_mpz_t(), p);
      ++count;
    }
    for (int i = 0; i + 1 < count; i += 2) s *= p;
    if (count % 2 == 1) c *= p;
  }
  if (mpz_perfect_square_p(n.get_mpz_t()) != 0) {
    mpz_class r;
    mpz_sqrt(r.get_mpz_t(), n.get_mpz_t());
    s *= r;
  } else {
    c *= n;
  }
  return {s, c};
}

Radical radical_of(const mpq_class& q) {  // sqrt(q), q >= 0
  if (q == 0) return {0, 1};
  mpz_class n = q.get_num() * q.get_den();
  auto [s, c] = square_part(n);
  mpq_class k(s, q.get_den());
  k.canonicalize();
  return {k, c};
}

Expr radical_expr(const Radical& r) {
  if (r.c == 1 || r.k == 0) return rational(r.k);
  return rational(r.k) * sqrt(integer(r.c));
}

Expr sqrt_rational(const mpq_class& q) {
  if (q < 0) return imaginary_unit() * radical_expr(radical_of(-q));
  return radical_expr(radical_of(q));
}

std::optional<mpq_class> rational_sqrt(const mpq_class& q) {
  if (q < 0) return std::nullopt;
  Radical r = radical_of(q);
  if (r.c != 1) return std::nullopt;
  return r.k;
}

// Sign of a + b*sqrt(c), exactly.
int sign_of(const mpq_class& a, const mpq_class& b, const mpz_class& c) {
  int sa = sgn(a);
  int sb = sgn(b);
  if (sb == 0 || sa == sb) return sa != 0 ? sa : sb;
  if (sa == 0) return sb;
  mpq_class diff = a * a - b * b * mpq_class(c);
  return sgn(diff) * sa;
}

// sqrt(a + b*sqrt(c)), denested when a^2 - b^2*c is a rational square
// (sqrt(5 + 2*sqrt(6)) = sqrt(2) + sqrt(3)), times i when the radicand is negative.
Expr sqrt_quadratic_surd(const mpq_class& a, const mpq_class& b, const mpz_class& c) {
  if (b == 0 || c == 1) return sqrt_rational(a + b * mpq_class(c == 1 ? 1 : 0));
  if (sign_of(a, b, c) < 0) return imaginary_unit() * sqrt_quadratic_surd(-a, -b, c);
  if (a == 0) return sqrt_rational(b) * pow(integer(c), rational(1, 4));
  if (std::optional<mpq_class> d = rational_sqrt(a * a - b * b * mpq_class(c))) {
    mpq_class x = (a + *d) / 2;
    mpq_class y = (a - *d) / 2;
    Expr second = sqrt_rational(y);
    return sqrt_rational(x) + (b > 0 ? second : -second);
  }
  return sqrt(rational(a) + rational(b) * sqrt(integer(c)));
}

// Real cube root of a rational, exact when it is a cube.
Expr cbrt_rational(const mpq_class& q) {
  if (q == 0) return Expr(0);
  if (q < 0) return -cbrt_rational(-q);
  mpz_class n;
  mpz_class d;
  bool exact = mpz_root(n.get_mpz_t(), q.get_num_mpz_t(), 3) != 0 && mpz_root(d.get_mpz_t(), q.get_den_mpz_t(), 3) != 0;
  if (exact) return rational(mpq_class(n, d));
  return pow(rational(q), rational(1, 3));
}

// Real cube root of a + b*sqrt(c) (the principal cube root of a negative
// number is not real, so the sign is taken out first).
Expr cbrt_real(const mpq_class& a, const mpq_class& b, const mpz_class& c) {
  if (b == 0 || c == 1) return cbrt_rational(a + (c == 1 ? b : mpq_class(0)));
  if (sign_of(a, b, c) < 0) return -cbrt_real(-a, -b, c);
  return pow(rational(a) + rational(b) * sqrt(integer(c)), rational(1, 3));
}

// ---- univariate polynomials over Q ----------------------------------------------

using RationalPoly = std::vector<mpq_class>;  // lowest degree first

// Coefficients of p(y + h).
RationalPoly taylor_shift(const RationalPoly& p, const mpq_class& h) {
  RationalPoly out(p.size(), mpq_class(0));
  for (std::size_t i = p.size(); i-- > 0;) {
    // out = out * (y + h) + p[i]
    for (std::size_t j = out.size() - 1; j > 0; --j) out[j] = out[j - 1] + out[j] * h;
    out[0] = out[0] * h + p[i];
  }
  return out;
}

RationalPoly monic(RationalPoly p) {
  mpq_class lead = p.back();
  for (mpq_class& c : p) c /= lead;
  return p;
}

// ---- numeric roots (Aberth–Ehrlich, then Newton) --------------------------------

std::pair<Complex, Complex> horner(const std::vector<Complex>& c, Complex z) {
  Complex p = c.back();
  Complex dp(0);
  for (std::size_t i = c.size() - 1; i-- > 0;) {
    dp = dp * z + p;
    p = p * z + c[i];
  }
  return {p, dp};
}

std::vector<Complex> aberth_roots(std::vector<Complex> c) {
  const std::size_t n = c.size() - 1;
  const Complex lead = c.back();
  for (Complex& a : c) a /= lead;
  // Fujiwara's bound on the moduli of the roots sets the starting circle.
  long double radius = 0;
  for (std::size_t k = 1; k <= n; ++k) {
    long double a = std::abs(c[n - k]);
    if (a > 0) radius = std::max(radius, std::pow(a, 1.0L / static_cast<long double>(k)));
  }
  radius = std::max(2 * radius, 1e-3L);
  std::vector<Complex> z(n);
  const long double pi2 = 2 * std::acos(-1.0L);
  for (std::size_t k = 0; k < n; ++k) {
    long double angle = pi2 * static_cast<long double>(k) / static_cast<long double>(n) + 0.4L;
    z[k] = std::polar(radius * 0.5L, angle);
  }
  for (int iter = 0; iter < 2000; ++iter) {
    bool converged = true;
    for (std::size_t k = 0; k < n; ++k) {
      auto [p, dp] = horner(c, z[k]);
      if (p == Complex(0)) continue;
      if (dp == Complex(0)) {  // a critical point: step off it
        z[k] += std::polar(1e-6L * (1 + std::abs(z[k])), 0.7L);
        converged = false;
        continue;
      }
      Complex w = p / dp;
      Complex s(0);
      for (std::size_t j = 0; j < n; ++j) {
        if (j != k) s += Complex(1) / (z[k] - z[j]);
      }
      Complex step = w / (Complex(1) - w * s);
      z[k] -= step;
      if (std::abs(step) > 1e-17L * (1 + std::abs(z[k]))) converged = false;
    }
    if (converged) break;
  }
  for (Complex& r : z) {
    for (int i = 0; i < 3; ++i) {
      auto [p, dp] = horner(c, r);
      if (dp == Complex(0)) break;
      r -= p / dp;
    }
  }
  return z;
}

// Floats for the roots of a polynomial with numeric coefficients; roots of a
// real polynomial with a negligible imaginary part are taken as real and
// polished on the real line.
std::vector<Expr> numeric_roots(const std::vector<Complex>& c) {
  bool real_poly = std::all_of(c.begin(), c.end(), [](const Complex& a) { return a.imag() == 0; });
  std::vector<Expr> out;
  for (Complex z : aberth_roots(c)) {
    if (real_poly && std::abs(z.imag()) <= 1e-9L * (1 + std::abs(z))) {
      z = Complex(z.real(), 0);
      for (int i = 0; i < 3; ++i) {
        auto [p, dp] = horner(c, z);
        if (dp == Complex(0)) break;
        z = Complex((z - p / dp).real(), 0);
      }
      out.push_back(real(static_cast<double>(z.real())));
    } else {
      out.push_back(real(static_cast<double>(z.real())) + real(static_cast<double>(z.imag())) * imaginary_unit());
    }
  }
  return out;
}

// ---- exact formulas ------------------------------------------------------------

std::vector<Expr> quadratic_rational(const RationalPoly& p) {
  const mpq_class& c = p[0];
  const mpq_class& b = p[1];
  const mpq_class& a = p[2];
  Expr centre = rational(mpq_class(-b / (2 * a)));
  Expr half_width = rational(mpq_class(1 / (2 * a))) * sqrt_rational(b * b - 4 * a * c);
  return {centre - half_width, centre + half_width};
}

// Irreducible cubic: three real roots by the trigonometric method (casus
// irreducibilis, where Cardano needs complex cube roots), else Cardano with
// real cube roots.
std::vector<Expr> cubic_rational(const RationalPoly& poly) {
  RationalPoly m = monic(poly);
  mpq_class h = -m[2] / 3;
  RationalPoly t = taylor_shift(m, h);  // t^3 + p t + q
  const mpq_class p = t[1];
  const mpq_class q = t[0];
  mpq_class discriminant = -(4 * p * p * p + 27 * q * q);
  Expr shift = rational(h);
  std::vector<Expr> roots;
  if (discriminant > 0) {
    Expr amplitude = 2 * radical_expr(radical_of(-p / 3));
    Radical r = radical_of(-3 / p);
    Expr arg = rational(mpq_class(3 * q / (2 * p) * r.k)) * (r.c == 1 ? Expr(1) : sqrt(integer(r.c)));
    Expr theta = acos(arg) / 3;
    for (long k = 0; k < 3; ++k) {
      roots.push_back(shift + amplitude * cos(theta - rational(2 * k, 3) * pi()));
    }
    return roots;
  }
  Radical s = radical_of(q * q / 4 + p * p * p / 27);
  mpq_class a = -q / 2;
  Expr u = cbrt_real(a, s.k, s.c);
  Expr v = cbrt_real(a, -s.k, s.c);
  Expr real_part = -(u + v) / 2;
  Expr imag_part = sqrt(Expr(3)) / 2 * (u - v) * imaginary_unit();
  return {shift + u + v, shift + real_part - imag_part, shift + real_part + imag_part};
}

std::optional<mpq_class> positive_rational_root(const RationalPoly& p, const Expr& var) {
  std::vector<Expr> cs;
  for (const mpq_class& c : p) cs.push_back(rational(c));
  Factorization f = factor_list(from_coefficients(cs, var));
  for (const auto& [factor, multiplicity] : f.factors) {
    std::vector<Expr> fc = coefficients(factor, var);
    if (fc.size() != 2 || !fc[0].is_number() || !fc[1].is_number()) continue;
    mpq_class root = -fc[0].number() / fc[1].number();
    if (root > 0) return root;
  }
  return std::nullopt;
}

// Irreducible quartic: biquadratic directly, else Ferrari when the resolvent
// cubic has a positive rational root (the roots are then nested square roots
// over Q); nullopt where the exact form would need cube roots, which are left
// to the numeric solver.
std::optional<std::vector<Expr>> quartic_rational(const RationalPoly& poly, const Expr& var) {
  RationalPoly mono = monic(poly);
  mpq_class h = -mono[3] / 4;
  RationalPoly t = taylor_shift(mono, h);  // y^4 + p y^2 + q y + r
  const mpq_class p = t[2];
  const mpq_class q = t[1];
  const mpq_class r = t[0];
  Expr shift = rational(h);
  std::vector<Expr> roots;
  mpq_class d = p * p - 4 * r;
  if (q == 0 && d > 0) {
    Radical s = radical_of(d);
    for (int sign : {-1, 1}) {
      Expr y = sqrt_quadratic_surd(-p / 2, sign * s.k / 2, s.c);
      roots.push_back(shift - y);
      roots.push_back(shift + y);
    }
    return roots;
  }
  if (q == 0 && d < 0) {
    // y^2 = (-p ± i*sqrt(-d))/2 has modulus sqrt(r); its square roots are
    // ±(u ± i*v) with u, v = sqrt((sqrt(r) ∓ p/2)/2).
    Radical root_r = radical_of(r);
    Expr u = sqrt_quadratic_surd(-p / 4, root_r.k / 2, root_r.c);
    Expr v = sqrt_quadratic_surd(p / 4, root_r.k / 2, root_r.c);
    for (int su : {-1, 1}) {
      for (int sv : {-1, 1}) roots.push_back(shift + su * u + sv * v * imaginary_unit());
    }
    return roots;
  }
  RationalPoly resolvent = {-q * q, 2 * p * p - 8 * r, 8 * p, mpq_class(8)};
  std::optional<mpq_class> m = positive_rational_root(resolvent, var);
  if (!m) return std::nullopt;
  Radical s = radical_of(2 * *m);  // S = sqrt(2m)
  Expr big_s = radical_expr(s);
  mpq_class a = -2 * *m - 2 * p;
  mpq_class b = q / *m * s.k;
  for (int sign : {1, -1}) {
    Expr inner = sqrt_quadratic_surd(a, -sign * b, s.c);
    Expr centre = sign * big_s / 2;
    roots.push_back(shift + centre - inner / 2);
    roots.push_back(shift + centre + inner / 2);
  }
  return roots;
}

// ---- roots of one polynomial in one unknown ----------------------------------

bool all_rational(const std::vector<Expr>& cs) {
  return std::all_of(cs.begin(), cs.end(), [](const Expr& c) { return c.is_number(); });
}

std::optional<std::vector<Complex>> numeric_coefficients(const std::vector<Expr>& cs) {
  NumericEvaluator eval;
  std::vector<Complex> out;
  for (const Expr& c : cs) {
    std::optional<Complex> v = eval.value(c);
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

std::vector<Expr> quadratic_symbolic(const std::vector<Expr>& cs) {
  const Expr& c = cs[0];
  const Expr& b = cs[1];
  const Expr& a = cs[2];
  Expr disc = normal(b * b - 4 * a * c);
  Expr root = disc.is_number() ? sqrt_rational(disc.number()) : sqrt(disc);
  return {(-b - root) / (2 * a), (-b + root) / (2 * a)};
}

// Roots of an irreducible (or, with float coefficients, any) polynomial given
// by its coefficients.
std::vector<Expr> roots_of_factor(const std::vector<Expr>& cs, const Expr& var) {
  const std::size_t degree = cs.size() - 1;
  if (degree == 1) return {normal(-cs[0] / cs[1])};
  bool floats = std::any_of(cs.begin(), cs.end(), [](const Expr& c) { return contains_float(c); });
  if (all_rational(cs) && degree <= 4) {
    RationalPoly p;
    for (const Expr& c : cs) p.push_back(c.number());
    if (degree == 2) return quadratic_rational(p);
    if (degree == 3) return cubic_rational(p);
    if (std::optional<std::vector<Expr>> roots = quartic_rational(p, var)) return *roots;
  }
  if (degree == 2 && !floats) return quadratic_symbolic(cs);
  if (std::optional<std::vector<Complex>> numeric = numeric_coefficients(cs)) {
    return numeric_roots(*numeric);
  }
  if (degree == 2) return quadratic_symbolic(cs);
  throw Unsolvable{std::string("no formula for a polynomial of degree ")
                       .append(std::to_string(degree))
                       .append(" with symbolic coefficients")};
}

// Real roots by value, then complex roots by real and imaginary part; roots
// that are not numbers (they contain parameters) keep the order found. Equal
// roots reached by different routes are listed once.
void order_roots(std::vector<Expr>& roots) {
  struct Keyed {
    Expr root;
    std::optional<Complex> value;
  };
  NumericEvaluator eval;
  std::vector<Keyed> keyed;
  for (const Expr& r : roots) keyed.push_back({r, eval.value(r)});
  std::stable_sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (!a.value || !b.value) return a.value.has_value() && !b.value.has_value();
    bool ra = is_real_value(*a.value);
    bool rb = is_real_value(*b.value);
    if (ra != rb) return ra;
    if (a.value->real() != b.value->real()) return a.value->real() < b.value->real();
    return a.value->imag() < b.value->imag();
  });
  roots.clear();
  std::vector<std::optional<Complex>> kept;
  for (const Keyed& k : keyed) {
    bool duplicate = false;
    for (std::size_t i = 0; i < roots.size() && !duplicate; ++i) {
      duplicate = roots[i] == k.root ||
                  (k.value && kept[i] && std::abs(*k.value - *kept[i]) <= 1e-12L * (1 + std::abs(*k.value)));
    }
    if (!duplicate) {
      roots.push_back(k.root);
      kept.push_back(k.value);
    }
  }
}

std::optional<std::vector<Expr>> polynomial_coefficients(const Expr& p, const Expr& var) {
  try {
    return coefficients(p, var);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::vector<Expr> polynomial_roots(const Expr& p, const Expr& var, const std::vector<Expr>& cs) {
  if (cs.size() <= 1) {
    if (cs.empty() || cs[0].is_zero()) throw Unsolvable{"every value is a solution"};
    return {};
  }
  std::vector<std::pair<Expr, long>> factors;
  if (contains_float(p)) {
    factors.emplace_back(p, 1);
  } else {
    try {
      factors = factor_list(p).factors;
    } catch (const Error&) {
      factors = {{p, 1}};
    }
  }
  std::vector<Expr> roots;
  for (const auto& [factor, multiplicity] : factors) {
    if (!depends_on(factor, var)) continue;
    std::vector<Expr> fc = coefficients(factor, var);
    for (Expr& r : roots_of_factor(fc, var)) roots.push_back(std::move(r));
  }
  return roots;
}

// ---- equations that invert simply -----------------------------------------------

// The largest subexpressions of f that depend on var and are not polynomial
// in it (function applications, fractional or variable powers); `bare` tells
// whether var also occurs outside them.
void collect_kernels(const Expr& f, const Expr& var, std::vector<Expr>& kernels, bool& bare) {
  if (!depends_on(f, var)) return;
  if (f == var) {
    bare = true;
    return;
  }
  bool polynomial_node =
      f.is(Kind::Add) || f.is(Kind::Mul) || (f.is(Kind::Pow) && f.exponent().is_integer() && f.exponent().number() > 0);
  if (polynomial_node) {
    for (const Expr& a : f.args()) collect_kernels(a, var, kernels, bare);
    return;
  }
  if (std::find(kernels.begin(), kernels.end(), f) == kernels.end()) kernels.push_back(f);
}

std::vector<Expr> roots_of(const Expr& f, const Expr& var);

// Values of the argument of `kernel` where kernel = value (principal branches).
std::vector<Expr> invert(const Expr& kernel, const Expr& value, const Expr& var) {
  std::vector<Expr> inner_values;
  Expr inner;
  if (kernel.is(Kind::Function)) {
    inner = kernel[0];
    const Expr& c = value;
    switch (kernel.function()) {
      case Function::Exp:
        if (c.is_zero()) return {};
        inner_values = {log(c)};
        break;
      case Function::Log: inner_values = {exp(c)}; break;
      case Function::Sin: inner_values = {asin(c)}; break;
      case Function::Cos: inner_values = {acos(c)}; break;
      case Function::Tan: inner_values = {atan(c)}; break;
      case Function::Asin: inner_values = {sin(c)}; break;
      case Function::Acos: inner_values = {cos(c)}; break;
      case Function::Atan: inner_values = {tan(c)}; break;
      case Function::Sinh: inner_values = {log(c + sqrt(c * c + 1))}; break;
      case Function::Cosh: inner_values = {log(c + sqrt(c * c - 1))}; break;
      case Function::Tanh: inner_values = {log((1 + c) / (1 - c)) / 2}; break;
      case Function::Abs: inner_values = {c, -c}; break;
    }
  } else if (kernel.is(Kind::Pow) && !depends_on(kernel.exponent(), var)) {
    inner = kernel.base();
    Expr root = pow(value, 1 / kernel.exponent());
    inner_values = {root};
    // x^(2/3) = c also has the negative real solution.
    const Expr& ex = kernel.exponent();
    if (ex.is_number() && mpz_even_p(ex.number().get_num_mpz_t()) != 0) inner_values.push_back(-root);
  } else if (kernel.is(Kind::Pow) && !depends_on(kernel.base(), var)) {
    inner = kernel.exponent();
    if (value.is_zero()) return {};
    inner_values = {log(value) / log(kernel.base())};
  } else {
    throw Unsolvable{std::string("cannot invert ").append(to_string(kernel))};
  }
  std::vector<Expr> out;
  for (const Expr& v : inner_values) {
    for (Expr& r : roots_of(inner - v, var)) out.push_back(std::move(r));
  }
  return out;
}

// A change of variable t = kernel that makes f a polynomial (or rational
// function) in t.
struct KernelChange {
  Expr kernel;
  Expr in_t;
};

mpz_class common_denominator(const std::vector<mpq_class>& ratios) {
  mpz_class d = 1;
  for (const mpq_class& r : ratios) mpz_lcm(d.get_mpz_t(), d.get_mpz_t(), r.get_den_mpz_t());
  return d;
}

// Kernels that are powers of one kernel: exp(r_i*A) with rational r_i are
// powers of exp(A/d) (exp(2x) = exp(x)^2, which the constructors write as
// exp(2*x)); B^(r_i) and var itself (B = var) are powers of B^(1/d).
std::optional<KernelChange> power_kernel(const std::vector<Expr>& kernels, bool bare, const Expr& f, const Expr& var,
                                         const Expr& t) {
  bool all_exp = std::all_of(kernels.begin(), kernels.end(),
                             [](const Expr& k) { return k.is(Kind::Function) && k.function() == Function::Exp; });
  const Expr base = kernels[0].is(Kind::Pow) ? kernels[0].base() : Expr();
  bool all_pow = std::all_of(kernels.begin(), kernels.end(), [&](const Expr& k) {
    return k.is(Kind::Pow) && k.base() == base && k.exponent().is_number();
  });
  // var itself is (B - b0)/b1 when the common base B = b1*var + b0 is linear.
  std::optional<std::vector<Expr>> linear_base;
  if (all_pow && bare) {
    linear_base = polynomial_coefficients(base, var);
    if (linear_base && linear_base->size() != 2) linear_base.reset();
  }
  if (!(all_exp && !bare) && !(all_pow && (!bare || linear_base))) return std::nullopt;
  std::vector<mpq_class> ratios;
  for (const Expr& k : kernels) {
    Expr r = all_exp ? normal(k[0] / kernels[0][0]) : k.exponent();
    if (!r.is_number()) return std::nullopt;
    ratios.push_back(r.number());
  }
  if (bare) ratios.emplace_back(1);
  const mpz_class d = common_denominator(ratios);
  Substitution rules;
  for (std::size_t i = 0; i < kernels.size(); ++i) {
    rules.emplace_back(kernels[i], pow(t, integer(mpz_class(ratios[i] * d))));
  }
  Expr in_t = substitute(f, rules);
  if (bare) in_t = substitute(in_t, var, (pow(t, integer(d)) - (*linear_base)[0]) / (*linear_base)[1]);
  Expr kernel = all_exp ? exp(kernels[0][0] / integer(d)) : pow(base, rational(mpq_class(1, d)));
  return KernelChange{kernel, in_t};
}

std::optional<KernelChange> change_of_variable(const Expr& f, const Expr& var, const Expr& t) {
  std::vector<Expr> kernels;
  bool bare = false;
  collect_kernels(f, var, kernels, bare);
  if (kernels.empty()) return std::nullopt;
  if (kernels.size() == 1 && !bare) return KernelChange{kernels[0], substitute(f, kernels[0], t)};
  return power_kernel(kernels, bare, f, var, t);
}

// f(var) = 0 where var occurs only inside one non-polynomial kernel k (or
// kernels that are powers of one): solve in t = k, then k = t by inverting k.
std::vector<Expr> kernel_roots(const Expr& f, const Expr& var) {
  const Expr t = symbol("_solve_kernel");
  std::optional<KernelChange> change = change_of_variable(f, var, t);
  if (!change || depends_on(change->in_t, var)) {
    throw Unsolvable{std::string("the unknown occurs in more than one non-polynomial part")};
  }
  std::vector<Expr> candidates;
  for (const Expr& value : roots_of(change->in_t, t)) {
    for (Expr& r : invert(change->kernel, value, var)) candidates.push_back(std::move(r));
  }
  return candidates;
}

// Every root of f(var) = 0 the solver can find; candidates that do not make f
// vanish (extraneous roots of the inversions, poles) are dropped.
std::vector<Expr> roots_of(const Expr& f, const Expr& var) {
  Expr num = numerator_of(f);
  std::vector<Expr> candidates;
  bool checked = false;
  if (std::optional<std::vector<Expr>> cs = polynomial_coefficients(num, var)) {
    candidates = polynomial_roots(num, var, *cs);
    checked = num == f;
  } else if (num.is(Kind::Mul)) {
    for (const Expr& factor : num.args()) {
      if (!depends_on(factor, var)) continue;
      for (Expr& r : roots_of(factor, var)) candidates.push_back(std::move(r));
    }
  } else {
    candidates = kernel_roots(num, var);
  }
  std::vector<Expr> roots;
  for (Expr& r : candidates) {
    if (checked || satisfies(f, {{var, r}})) roots.push_back(std::move(r));
  }
  order_roots(roots);
  return roots;
}

// ---- linear systems (Bareiss) ---------------------------------------------------

// Coefficients of the unknowns and the constant term of a linear equation, or
// nullopt if it is not linear in them.
std::optional<std::vector<Expr>> linear_row(const Expr& difference, const std::vector<Expr>& unknowns) {
  Expr num;
  Expr den;
  try {
    std::tie(num, den) = fraction(difference);
  } catch (const Error&) {
    return std::nullopt;
  }
  for (const Expr& u : unknowns) {
    if (depends_on(den, u)) return std::nullopt;
  }
  std::vector<Expr> row;
  Expr rest = num;
  for (const Expr& u : unknowns) {
    std::optional<std::vector<Expr>> cs = polynomial_coefficients(rest, u);
    if (!cs || cs->size() > 2) return std::nullopt;
    Expr coefficient = cs->size() == 2 ? (*cs)[1] : Expr(0);
    for (const Expr& w : unknowns) {
      if (depends_on(coefficient, w)) return std::nullopt;
    }
    row.push_back(coefficient);
    rest = cs->empty() ? Expr(0) : (*cs)[0];
  }
  for (const Expr& w : unknowns) {
    if (depends_on(rest, w)) return std::nullopt;
  }
  row.push_back(-rest);
  return row;
}

using Matrix = std::vector<std::vector<Expr>>;

// Fraction-free elimination to row echelon form: every update divides exactly
// by the previous pivot, so integer (polynomial) entries stay integral and
// small. Returns the pivot column of each pivot row.
std::vector<std::size_t> bareiss(Matrix& m, std::size_t columns) {
  std::vector<std::size_t> pivots;
  Expr previous = 1;
  std::size_t r = 0;
  for (std::size_t c = 0; c < columns && r < m.size(); ++c) {
    std::size_t p = r;
    while (p < m.size() && m[p][c].is_zero()) ++p;
    if (p == m.size()) continue;
    std::swap(m[p], m[r]);
    for (std::size_t i = r + 1; i < m.size(); ++i) {
      for (std::size_t j = c + 1; j < m[i].size(); ++j) {
        m[i][j] = normal((m[r][c] * m[i][j] - m[i][c] * m[r][j]) / previous);
      }
      m[i][c] = 0;
    }
    previous = m[r][c];
    pivots.push_back(c);
    ++r;
  }
  return pivots;
}

std::vector<Solution> solve_linear(Matrix m, const std::vector<Expr>& unknowns) {
  const std::size_t n = unknowns.size();
  std::vector<std::size_t> pivots = bareiss(m, n);
  for (std::size_t i = pivots.size(); i < m.size(); ++i) {
    if (!m[i][n].is_zero()) return {};
  }
  std::vector<Expr> value(unknowns);  // free unknowns stand for themselves
  for (std::size_t k = pivots.size(); k-- > 0;) {
    const std::size_t c = pivots[k];
    Expr rhs = m[k][n];
    for (std::size_t j = c + 1; j < n; ++j) rhs -= m[k][j] * value[j];
    value[c] = normal(rhs / m[k][c]);
  }
  Solution solution;
  for (std::size_t c = 0; c < n; ++c) {
    if (std::find(pivots.begin(), pivots.end(), c) != pivots.end()) {
      solution.emplace_back(unknowns[c], value[c]);
    }
  }
  return {solution};
}

// ---- polynomial systems ---------------------------------------------------------

bool polynomial_in(const Expr& x, const std::vector<Expr>& unknowns, std::size_t from = 0) {
  if (from == unknowns.size()) return true;
  std::optional<std::vector<Expr>> cs = polynomial_coefficients(x, unknowns[from]);
  if (!cs) return false;
  return std::all_of(cs->begin(), cs->end(), [&](const Expr& c) { return polynomial_in(c, unknowns, from + 1); });
}

bool depends_on_any(const Expr& x, const std::vector<Expr>& unknowns) {
  return std::any_of(unknowns.begin(), unknowns.end(), [&](const Expr& u) { return depends_on(x, u); });
}

std::vector<Expr> without(std::vector<Expr> unknowns, const Expr& u) {
  unknowns.erase(std::find(unknowns.begin(), unknowns.end(), u));
  return unknowns;
}

std::vector<Solution> solve_polynomials(std::vector<Expr> polys, const std::vector<Expr>& unknowns);

// An equation linear in some unknown with a coefficient free of the unknowns
// eliminates that unknown by substitution, which is cheaper than resultants.
// Of several such, the one whose value has the lowest degree, then the fewest
// nodes (y = x^3 and x = y^2: the latter), since the value is evaluated at
// every solution of the rest.
std::optional<std::vector<Solution>> by_linear_substitution(const std::vector<Expr>& polys,
                                                            const std::vector<Expr>& unknowns) {
  std::optional<std::size_t> best_poly;
  Expr best_unknown;
  Expr best_value;
  std::pair<long, double> best_cost;
  for (std::size_t i = 0; i < polys.size(); ++i) {
    for (const Expr& u : unknowns) {
      if (!depends_on(polys[i], u)) continue;
      std::vector<Expr> cs = coefficients(polys[i], u);
      if (cs.size() != 2 || depends_on_any(cs[1], unknowns)) continue;
      Expr value = normal(-cs[0] / cs[1]);
      long max_degree = 0;
      for (const Expr& w : unknowns) {
        if (depends_on(value, w)) max_degree = std::max(max_degree, degree(value, w));
      }
      std::pair<long, double> cost(max_degree, value.tree_size());
      if (!best_poly || cost < best_cost) {
        best_cost = cost;
        best_poly = i;
        best_unknown = u;
        best_value = value;
      }
    }
  }
  if (!best_poly) return std::nullopt;
  std::vector<Expr> rest;
  for (std::size_t j = 0; j < polys.size(); ++j) {
    if (j != *best_poly) rest.push_back(numerator_of(substitute(polys[j], best_unknown, best_value)));
  }
  std::vector<Solution> out;
  for (Solution s : solve_polynomials(rest, without(unknowns, best_unknown))) {
    Substitution partial(s.begin(), s.end());
    s.emplace_back(best_unknown, normal(substitute(best_value, partial)));
    out.push_back(std::move(s));
  }
  return out;
}

// Eliminates the unknown of lowest degree by resultants with the equation of
// lowest degree in it, solves the rest, and finds that unknown back from each
// partial solution (roots of one equation, kept where all others vanish).
std::vector<Solution> by_resultants(const std::vector<Expr>& polys, const std::vector<Expr>& unknowns) {
  Expr v;
  std::size_t pivot = 0;
  long best = -1;
  for (const Expr& u : unknowns) {
    for (std::size_t i = 0; i < polys.size(); ++i) {
      long d = depends_on(polys[i], u) ? degree(polys[i], u) : -1;
      if (d > 0 && (best < 0 || d < best)) {
        best = d;
        v = u;
        pivot = i;
      }
    }
  }
  if (best < 0) return solve_polynomials({}, unknowns);
  std::vector<Expr> eliminated;
  std::vector<Expr> with_v;
  for (std::size_t i = 0; i < polys.size(); ++i) {
    if (!depends_on(polys[i], v)) {
      eliminated.push_back(polys[i]);
      continue;
    }
    with_v.push_back(polys[i]);
    if (i == pivot) continue;
    Expr r = normal(resultant(polys[pivot], polys[i], v));
    if (r.is_zero()) throw Unsolvable{"the equations have a common factor: infinitely many solutions"};
    eliminated.push_back(r);
  }
  std::vector<Solution> out;
  for (const Solution& s : solve_polynomials(eliminated, without(unknowns, v))) {
    Substitution partial(s.begin(), s.end());
    std::optional<std::vector<Expr>> roots;
    for (const Expr& p : with_v) {
      Expr reduced = numerator_of(substitute(p, partial));
      if (vanishes(reduced)) continue;
      roots = roots_of(reduced, v);
      break;
    }
    if (!roots) throw Unsolvable{"infinitely many solutions"};
    for (const Expr& r : *roots) {
      Substitution full = partial;
      full.emplace_back(v, r);
      bool ok = std::all_of(with_v.begin(), with_v.end(), [&](const Expr& p) { return satisfies(p, full); });
      if (ok) out.push_back(full);
    }
  }
  return out;
}

std::vector<Solution> solve_polynomials(std::vector<Expr> polys, const std::vector<Expr>& unknowns) {
  std::vector<Expr> live;
  for (Expr& p : polys) {
    p = normal(p);
    if (p.is_zero()) continue;
    if (!depends_on_any(p, unknowns)) return {};  // a nonzero constant: inconsistent
    live.push_back(p);
  }
  if (live.empty()) return {Solution{}};
  if (std::optional<std::vector<Solution>> s = by_linear_substitution(live, unknowns)) return *s;
  return by_resultants(live, unknowns);
}

// ---- ordering and checking solutions --------------------------------------------

Solution in_order(const Solution& s, const std::vector<Expr>& unknowns) {
  Solution out;
  for (const Expr& u : unknowns) {
    for (const auto& [k, v] : s) {
      if (k == u) out.emplace_back(k, v);
    }
  }
  return out;
}

// Solutions by the values of their unknowns (real ones first), each once.
void order_solutions(std::vector<Solution>& solutions) {
  NumericEvaluator eval;
  auto values = [&](const Solution& s) {
    std::vector<Complex> out;
    for (const auto& [k, v] : s) {
      std::optional<Complex> x = eval.value(v);
      if (!x) return std::optional<std::vector<Complex>>();
      out.push_back(*x);
    }
    return std::optional<std::vector<Complex>>(out);
  };
  std::vector<std::vector<Complex>> keys;
  for (const Solution& s : solutions) {
    std::optional<std::vector<Complex>> k = values(s);
    if (!k) return;  // parametric solutions keep the order found
    keys.push_back(*k);
  }
  std::vector<std::size_t> order(solutions.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto all_real = [](const std::vector<Complex>& k) { return std::all_of(k.begin(), k.end(), is_real_value); };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (all_real(keys[a]) != all_real(keys[b])) return all_real(keys[a]);
    for (std::size_t i = 0; i < keys[a].size(); ++i) {
      if (keys[a][i].real() != keys[b][i].real()) return keys[a][i].real() < keys[b][i].real();
      if (keys[a][i].imag() != keys[b][i].imag()) return keys[a][i].imag() < keys[b][i].imag();
    }
    return false;
  });
  std::vector<Solution> sorted;
  std::vector<std::size_t> kept;
  for (std::size_t i : order) {
    bool duplicate = std::any_of(kept.begin(), kept.end(), [&](std::size_t j) {
      if (keys[i].size() != keys[j].size()) return false;
      for (std::size_t c = 0; c < keys[i].size(); ++c) {
        if (std::abs(keys[i][c] - keys[j][c]) > 1e-12L * (1 + std::abs(keys[i][c]))) return false;
      }
      return true;
    });
    if (!duplicate) {
      sorted.push_back(solutions[i]);
      kept.push_back(i);
    }
  }
  solutions = std::move(sorted);
}

std::string describe(const std::vector<Equation>& equations) {
  std::string text;
  for (const Equation& eq : equations) {
    if (!text.empty()) text += "; ";
    text += to_string(eq);
  }
  return text;
}

[[noreturn]] void fail(const std::string& what, const std::string& why) {
  throw Error(Error::Kind::InvalidArgument, std::string("solve: cannot solve ").append(what).append(": ").append(why));
}

std::vector<Solution> solve_single_unknown(const std::vector<Equation>& equations, const Expr& u) {
  std::vector<Expr> differences;
  for (const Equation& eq : equations) differences.push_back(eq.difference());
  auto first = std::find_if(differences.begin(), differences.end(), [&](const Expr& d) { return depends_on(d, u); });
  if (first == differences.end()) {
    bool consistent = std::all_of(differences.begin(), differences.end(), vanishes);
    return consistent ? std::vector<Solution>{Solution{}} : std::vector<Solution>{};
  }
  std::vector<Expr> roots;
  const Equation& eq = equations[static_cast<std::size_t>(first - differences.begin())];
  try {
    roots = roots_of(*first, u);
  } catch (const Unsolvable& e) {
    fail(to_string(eq).append(" for ").append(u.name()), e.why);
  }
  std::vector<Solution> out;
  for (const Expr& r : roots) {
    Solution s = {{u, r}};
    bool ok = std::all_of(differences.begin(), differences.end(), [&](const Expr& d) { return satisfies(d, s); });
    if (ok) out.push_back(s);
  }
  return out;
}

std::vector<Expr> default_unknowns(const std::vector<Equation>& equations) {
  std::vector<Expr> all;
  for (const Equation& eq : equations) {
    for (const Expr& s : free_symbols(eq.difference())) all.push_back(s);
  }
  std::sort(all.begin(), all.end(), ExprLess{});
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

}  // namespace

std::vector<Solution> solve(const std::vector<Equation>& equations, std::vector<Expr> unknowns) {
  if (equations.empty()) throw Error(Error::Kind::InvalidArgument, "solve: no equations given");
  if (unknowns.empty()) unknowns = default_unknowns(equations);
  for (const Expr& u : unknowns) {
    if (!u.is_symbol()) {
      throw Error(Error::Kind::InvalidArgument,
                  std::string("solve: the unknown ").append(to_string(u)).append(" is not a symbol"));
    }
  }
  if (unknowns.empty()) {
    bool consistent =
        std::all_of(equations.begin(), equations.end(), [](const Equation& eq) { return vanishes(eq.difference()); });
    return consistent ? std::vector<Solution>{Solution{}} : std::vector<Solution>{};
  }
  Matrix rows;
  for (const Equation& eq : equations) {
    std::optional<std::vector<Expr>> row = linear_row(eq.difference(), unknowns);
    if (!row) break;
    rows.push_back(std::move(*row));
  }
  if (rows.size() == equations.size()) return solve_linear(std::move(rows), unknowns);
  std::vector<Solution> found;
  if (unknowns.size() == 1) {
    found = solve_single_unknown(equations, unknowns[0]);
  } else {
    std::vector<Expr> polys;
    for (const Equation& eq : equations) {
      Expr num = numerator_of(eq.difference());
      if (!polynomial_in(num, unknowns)) fail(to_string(eq), "it is not polynomial in the unknowns");
      polys.push_back(num);
    }
    try {
      found = solve_polynomials(polys, unknowns);
    } catch (const Unsolvable& e) {
      fail(describe(equations), e.why);
    }
  }
  std::vector<Solution> out;
  for (const Solution& s : found) {
    bool ok = std::all_of(equations.begin(), equations.end(),
                          [&](const Equation& eq) { return satisfies(eq.difference(), s); });
    if (ok) out.push_back(in_order(s, unknowns));
  }
  order_solutions(out);
  return out;
}

std::vector<Expr> solve_for(const Expr& f, const Expr& var) {
  if (!var.is_symbol()) {
    throw Error(Error::Kind::InvalidArgument,
                std::string("solve: the unknown ").append(to_string(var)).append(" is not a symbol"));
  }
  try {
    return roots_of(f, var);
  } catch (const Unsolvable& e) {
    fail(to_string(f).append(" = 0 for ").append(var.name()), e.why);
  }
}

}  // namespace miso::mprime
