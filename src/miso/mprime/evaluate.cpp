#include "miso/mprime/evaluate.hpp"

#include <mpfr.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <unordered_map>
#include <utility>

#include "miso/core/error.hpp"
#include "miso/mprime/print.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::mprime {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

[[noreturn]] void fail_unevaluated(const char* where, const Expr& x) {
  const char* what = x.is(Kind::Derivative) ? "derivative" : x.is(Kind::Integral) ? "integral" : "limit";
  fail(std::string(where)
           .append(": the unevaluated ")
           .append(what)
           .append(" ")
           .append(to_string(x))
           .append(" has no numeric value (simplify it first)"));
}

[[noreturn]] void fail_constant(const char* where, Constant c) {
  fail(std::string(where).append(c == Constant::I ? ": the imaginary unit i is not a real number"
                                                  : ": infinity is not a finite number"));
}

[[noreturn]] void fail_not_real(const char* where, const Expr& x, const char* why) {
  fail(std::string(where).append(": ").append(to_string(x)).append(" is not a real number (").append(why).append(")"));
}

double apply_real(Function f, double v) {
  switch (f) {
    case Function::Sin: return std::sin(v);
    case Function::Cos: return std::cos(v);
    case Function::Tan: return std::tan(v);
    case Function::Exp: return std::exp(v);
    case Function::Log: return std::log(v);
    case Function::Abs: return std::fabs(v);
    case Function::Asin: return std::asin(v);
    case Function::Acos: return std::acos(v);
    case Function::Atan: return std::atan(v);
    case Function::Sinh: return std::sinh(v);
    case Function::Cosh: return std::cosh(v);
    case Function::Tanh: return std::tanh(v);
  }
  return v;
}

// Why f(v) has no real value, or nullptr when it has one.
const char* domain_problem(Function f, double v) {
  if (f == Function::Log && v < 0) return "logarithm of a negative number";
  if (f == Function::Log && v == 0) return "logarithm of zero";
  if ((f == Function::Asin || f == Function::Acos) && std::fabs(v) > 1) return "argument outside [-1, 1]";
  return nullptr;
}

// ---- double evaluation ---------------------------------------------------------

class DoubleEvaluator {
 public:
  explicit DoubleEvaluator(const Values& at) : at_(at) {}

  double operator()(const Expr& x) {
    auto it = memo_.find(x);
    if (it != memo_.end()) return it->second;
    double v = compute(x);
    if (!std::isfinite(v)) fail_not_real("evaluate", x, "not finite at the given values");
    memo_.emplace(x, v);
    return v;
  }

 private:
  double compute(const Expr& x) {
    switch (x.kind()) {
      case Kind::Number: return x.number().get_d();
      case Kind::Float: return x.float_value();
      case Kind::Constant:
        if (x.constant() == Constant::Pi) return std::numbers::pi;
        if (x.constant() == Constant::E) return std::numbers::e;
        fail_constant("evaluate", x.constant());
      case Kind::Symbol: {
        auto it = at_.find(x.name());
        if (it == at_.end()) fail(std::string("evaluate: symbol '").append(x.name()).append("' has no value"));
        return it->second;
      }
      case Kind::Add: {
        double s = 0;
        for (const Expr& t : x.args()) s += (*this)(t);
        return s;
      }
      case Kind::Mul: {
        double p = 1;
        for (const Expr& f : x.args()) p *= (*this)(f);
        return p;
      }
      case Kind::Pow: return power(x);
      case Kind::Function: {
        double v = (*this)(x[0]);
        if (const char* why = domain_problem(x.function(), v)) fail_not_real("evaluate", x, why);
        return apply_real(x.function(), v);
      }
      case Kind::Derivative:
      case Kind::Integral:
      case Kind::Limit: fail_unevaluated("evaluate", x);
    }
    return 0;
  }

  double power(const Expr& x) {
    if (x.base().is(Kind::Constant) && x.base().constant() == Constant::E) return std::exp((*this)(x.exponent()));
    double b = (*this)(x.base());
    if (x.exponent().is_integer()) {
      if (b == 0 && sgn(x.exponent().number()) < 0) fail_not_real("evaluate", x, "division by zero");
      return std::pow(b, x.exponent().number().get_d());
    }
    double p = (*this)(x.exponent());
    if (b < 0 && p != std::floor(p)) fail_not_real("evaluate", x, "non-integer power of a negative number");
    if (b == 0 && p < 0) fail_not_real("evaluate", x, "division by zero");
    if (x.exponent() == rational(1, 2)) return std::sqrt(b);
    return std::pow(b, p);
  }

  const Values& at_;
  std::unordered_map<Expr, double, ExprHash> memo_;
};

// ---- MPFR evaluation -----------------------------------------------------------

class Big {
 public:
  explicit Big(mpfr_prec_t prec) { mpfr_init2(v_, prec); }
  ~Big() { mpfr_clear(v_); }
  Big(const Big&) = delete;
  Big& operator=(const Big&) = delete;
  mpfr_ptr get() noexcept { return v_; }

 private:
  mpfr_t v_;
};

class BigEvaluator {
 public:
  BigEvaluator(const Values& at, mpfr_prec_t prec) : at_(at), prec_(prec) {}

  mpfr_ptr operator()(const Expr& x) {
    auto it = memo_.find(x);
    if (it != memo_.end()) return it->second->get();
    auto v = std::make_unique<Big>(prec_);
    compute(x, v->get());
    if (!mpfr_number_p(v->get())) fail_not_real("evaluate_digits", x, "not finite at the given values");
    mpfr_ptr p = v->get();
    memo_.emplace(x, std::move(v));
    return p;
  }

 private:
  void compute(const Expr& x, mpfr_ptr out) {
    switch (x.kind()) {
      case Kind::Number: mpfr_set_q(out, x.number().get_mpq_t(), MPFR_RNDN); return;
      case Kind::Float: mpfr_set_d(out, x.float_value(), MPFR_RNDN); return;
      case Kind::Constant:
        if (x.constant() == Constant::Pi) {
          mpfr_const_pi(out, MPFR_RNDN);
        } else if (x.constant() == Constant::E) {
          mpfr_set_ui(out, 1, MPFR_RNDN);
          mpfr_exp(out, out, MPFR_RNDN);
        } else {
          fail_constant("evaluate_digits", x.constant());
        }
        return;
      case Kind::Symbol: {
        auto it = at_.find(x.name());
        if (it == at_.end()) fail(std::string("evaluate_digits: symbol '").append(x.name()).append("' has no value"));
        mpfr_set_d(out, it->second, MPFR_RNDN);
        return;
      }
      case Kind::Add:
        mpfr_set_ui(out, 0, MPFR_RNDN);
        for (const Expr& t : x.args()) mpfr_add(out, out, (*this)(t), MPFR_RNDN);
        return;
      case Kind::Mul:
        mpfr_set_ui(out, 1, MPFR_RNDN);
        for (const Expr& f : x.args()) mpfr_mul(out, out, (*this)(f), MPFR_RNDN);
        return;
      case Kind::Pow: power(x, out); return;
      case Kind::Function: function(x, out); return;
      case Kind::Derivative:
      case Kind::Integral:
      case Kind::Limit: fail_unevaluated("evaluate_digits", x);
    }
  }

  void power(const Expr& x, mpfr_ptr out) {
    mpfr_ptr b = (*this)(x.base());
    if (x.exponent().is_integer()) {
      if (mpfr_zero_p(b) && sgn(x.exponent().number()) < 0) fail_not_real("evaluate_digits", x, "division by zero");
      mpfr_pow_z(out, b, x.exponent().number().get_num_mpz_t(), MPFR_RNDN);
      return;
    }
    mpfr_ptr p = (*this)(x.exponent());
    if (mpfr_sgn(b) < 0 && !mpfr_integer_p(p)) {
      fail_not_real("evaluate_digits", x, "non-integer power of a negative number");
    }
    if (mpfr_zero_p(b) && mpfr_sgn(p) < 0) fail_not_real("evaluate_digits", x, "division by zero");
    if (x.exponent() == rational(1, 2)) {
      mpfr_sqrt(out, b, MPFR_RNDN);
    } else {
      mpfr_pow(out, b, p, MPFR_RNDN);
    }
  }

  void function(const Expr& x, mpfr_ptr out) {
    mpfr_ptr a = (*this)(x[0]);
    if (const char* why = domain_problem(x.function(), mpfr_get_d(a, MPFR_RNDN))) {
      fail_not_real("evaluate_digits", x, why);
    }
    if ((x.function() == Function::Asin || x.function() == Function::Acos) && mpfr_cmpabs_ui(a, 1) > 0) {
      fail_not_real("evaluate_digits", x, "argument outside [-1, 1]");
    }
    switch (x.function()) {
      case Function::Sin: mpfr_sin(out, a, MPFR_RNDN); return;
      case Function::Cos: mpfr_cos(out, a, MPFR_RNDN); return;
      case Function::Tan: mpfr_tan(out, a, MPFR_RNDN); return;
      case Function::Exp: mpfr_exp(out, a, MPFR_RNDN); return;
      case Function::Log: mpfr_log(out, a, MPFR_RNDN); return;
      case Function::Abs: mpfr_abs(out, a, MPFR_RNDN); return;
      case Function::Asin: mpfr_asin(out, a, MPFR_RNDN); return;
      case Function::Acos: mpfr_acos(out, a, MPFR_RNDN); return;
      case Function::Atan: mpfr_atan(out, a, MPFR_RNDN); return;
      case Function::Sinh: mpfr_sinh(out, a, MPFR_RNDN); return;
      case Function::Cosh: mpfr_cosh(out, a, MPFR_RNDN); return;
      case Function::Tanh: mpfr_tanh(out, a, MPFR_RNDN); return;
    }
  }

  const Values& at_;
  mpfr_prec_t prec_;
  std::unordered_map<Expr, std::unique_ptr<Big>, ExprHash> memo_;
};

// The significant digits of a value and its decimal exponent (value = 0.DIGITS * 10^exponent).
struct Decimal {
  bool negative = false;
  std::string digits;
  long exponent = 0;
  bool operator==(const Decimal&) const = default;
};

Decimal to_decimal(mpfr_srcptr v, int digits) {
  Decimal d;
  if (mpfr_zero_p(v)) return d;
  mpfr_exp_t exponent = 0;
  char* text = mpfr_get_str(nullptr, &exponent, 10, static_cast<std::size_t>(digits), v, MPFR_RNDN);
  d.digits = text;
  mpfr_free_str(text);
  if (!d.digits.empty() && d.digits[0] == '-') {
    d.negative = true;
    d.digits.erase(0, 1);
  }
  d.exponent = exponent;
  return d;
}

// Positional notation where it stays short (0.00123, 31415.9), scientific otherwise.
std::string format_decimal(const Decimal& d) {
  if (d.digits.empty()) return "0";
  std::string out = d.negative ? "-" : "";
  const auto n = static_cast<long>(d.digits.size());
  if (d.exponent > 0 && d.exponent <= n) {
    out.append(d.digits, 0, static_cast<std::size_t>(d.exponent));
    if (d.exponent < n) out.append(".").append(d.digits, static_cast<std::size_t>(d.exponent));
  } else if (d.exponent <= 0 && d.exponent > -5) {
    out.append("0.").append(static_cast<std::size_t>(-d.exponent), '0').append(d.digits);
  } else {
    out.append(d.digits, 0, 1);
    if (n > 1) out.append(".").append(d.digits, 1);
    out.append("e").append(d.exponent - 1 >= 0 ? "+" : "").append(std::to_string(d.exponent - 1));
  }
  return out;
}

// ---- compilation ---------------------------------------------------------------

enum class Op : std::uint8_t { Const, Var, Add, Sub, Mul, Div, Neg, Sqrt, Pow, Apply };

struct Instr {
  Op op = Op::Const;
  Function f = Function::Sin;  // Apply
  int a = 0;                   // operand register, or the variable's index for Var
  int b = 0;
  double value = 0;  // Const
};

}  // namespace

struct Compiled::Program {
  std::vector<Expr> vars;
  std::vector<Instr> code;  // instruction r writes register r
  int result = 0;
};

namespace {

// Lowers an expression DAG to straight-line code, one instruction per distinct
// value; integer powers become multiplications, divisions are gathered so a
// product with negative powers costs one division.
class Lowering {
 public:
  Lowering(std::vector<Instr>& code, const std::vector<Expr>& vars) : code_(code) {
    for (std::size_t i = 0; i < vars.size(); ++i) {
      if (!vars[i].is_symbol()) fail("Compiled: variable " + to_string(vars[i]) + " is not a symbol");
      var_index_.emplace(vars[i].id(), static_cast<int>(i));
    }
  }

  int operator()(const Expr& x) {
    auto it = memo_.find(x);
    if (it != memo_.end()) return it->second;
    int r = lower(x);
    memo_.emplace(x, r);
    return r;
  }

 private:
  int emit(Instr in) {
    code_.push_back(in);
    return static_cast<int>(code_.size()) - 1;
  }
  int constant(double v) {
    auto it = constants_.find(v);
    if (it != constants_.end()) return it->second;
    int r = emit({Op::Const, Function::Sin, 0, 0, v});
    constants_.emplace(v, r);
    return r;
  }
  int binary(Op op, int a, int b) { return emit({op, Function::Sin, a, b, 0}); }

  int lower(const Expr& x) {
    switch (x.kind()) {
      case Kind::Number: return constant(x.number().get_d());
      case Kind::Float: return constant(x.float_value());
      case Kind::Constant:
        if (x.constant() == Constant::Pi) return constant(std::numbers::pi);
        if (x.constant() == Constant::E) return constant(std::numbers::e);
        fail_constant("Compiled", x.constant());
      case Kind::Symbol: {
        auto it = var_index_.find(x.id());
        if (it == var_index_.end()) {
          fail(std::string("Compiled: symbol '").append(x.name()).append("' is not one of the variables"));
        }
        return emit({Op::Var, Function::Sin, it->second, 0, 0});
      }
      case Kind::Add: return sum(x);
      case Kind::Mul: return product(x);
      case Kind::Pow: return power(x.base(), x.exponent());
      case Kind::Function: return emit({Op::Apply, x.function(), (*this)(x[0]), 0, 0});
      case Kind::Derivative:
      case Kind::Integral:
      case Kind::Limit: fail_unevaluated("Compiled", x);
    }
    return 0;
  }

  // Terms with a negative coefficient are subtracted rather than negated.
  // A positive term goes first, so no negation is needed unless all are negative.
  int sum(const Expr& x) {
    std::vector<std::pair<bool, Expr>> terms;
    for (const Expr& t : x.args()) {
      const Expr c = split_coefficient(t).first;
      const bool negative = c.is_number() ? sgn(c.number()) < 0 : c.float_value() < 0;
      terms.emplace_back(negative, negative ? -t : t);
    }
    std::stable_partition(terms.begin(), terms.end(), [](const auto& t) { return !t.first; });
    int acc = (*this)(terms[0].second);
    if (terms[0].first) acc = emit({Op::Neg, Function::Sin, acc, 0, 0});
    for (std::size_t i = 1; i < terms.size(); ++i) {
      acc = binary(terms[i].first ? Op::Sub : Op::Add, acc, (*this)(terms[i].second));
    }
    return acc;
  }

  int product(const Expr& x) {
    int num = -1;
    int den = -1;
    auto times = [&](int& acc, int r) { acc = acc < 0 ? r : binary(Op::Mul, acc, r); };
    for (const Expr& f : x.args()) {
      auto [base, exponent] = split_power(f);
      const bool inverse = exponent.is_number() && sgn(exponent.number()) < 0;
      if (inverse) {
        times(den, power(base, -exponent));
      } else {
        times(num, (*this)(f));
      }
    }
    if (den < 0) return num;
    return binary(Op::Div, num < 0 ? constant(1) : num, den);
  }

  int power(const Expr& base, const Expr& exponent) {
    if (base.is(Kind::Constant) && base.constant() == Constant::E) {
      return emit({Op::Apply, Function::Exp, (*this)(exponent), 0, 0});
    }
    if (!exponent.is_number()) return binary(Op::Pow, (*this)(base), (*this)(exponent));
    const mpq_class& q = exponent.number();
    if (sgn(q) < 0) return binary(Op::Div, constant(1), power(base, rational(mpq_class(-q))));
    if (q == 1) return (*this)(base);
    if (q.get_den() == 1 && q.get_num().fits_slong_p()) return integer_power((*this)(base), q.get_num().get_si());
    if (q.get_den() == 2 && q.get_num().fits_slong_p()) {
      int root = emit({Op::Sqrt, Function::Sin, (*this)(base), 0, 0});
      return integer_power(root, q.get_num().get_si());
    }
    return binary(Op::Pow, (*this)(base), constant(q.get_d()));
  }

  // Repeated squaring: x^3 = (x*x)*x, x^8 = ((x*x)^2)^2.
  int integer_power(int r, long n) {
    int acc = -1;
    int square = r;
    while (n > 0) {
      if ((n & 1) != 0) acc = acc < 0 ? square : binary(Op::Mul, acc, square);
      n >>= 1;
      if (n > 0) square = binary(Op::Mul, square, square);
    }
    return acc;
  }

  std::vector<Instr>& code_;
  std::unordered_map<const Node*, int> var_index_;
  // Keyed by Expr, not address: the keys keep temporaries (-t) alive, whose
  // addresses could otherwise be reused by other nodes.
  std::unordered_map<Expr, int, ExprHash> memo_;
  std::unordered_map<double, int> constants_;
};

double run_scalar(const std::vector<Instr>& code, int result, std::span<const double> values, double* regs) {
  for (std::size_t r = 0; r < code.size(); ++r) {
    const Instr& in = code[r];
    const double a = regs[in.a];
    switch (in.op) {
      case Op::Const: regs[r] = in.value; break;
      case Op::Var: regs[r] = values[static_cast<std::size_t>(in.a)]; break;
      case Op::Add: regs[r] = a + regs[in.b]; break;
      case Op::Sub: regs[r] = a - regs[in.b]; break;
      case Op::Mul: regs[r] = a * regs[in.b]; break;
      case Op::Div: regs[r] = a / regs[in.b]; break;
      case Op::Neg: regs[r] = -a; break;
      case Op::Sqrt: regs[r] = std::sqrt(a); break;
      case Op::Pow: regs[r] = std::pow(a, regs[in.b]); break;
      case Op::Apply: regs[r] = apply_real(in.f, a); break;
    }
  }
  return regs[result];
}

tmath::Lazy apply_lazy(Function f, const tmath::Lazy& a, tmath::DType dtype) {
  auto c = [dtype](double v) { return tmath::constant(v, dtype); };
  switch (f) {
    case Function::Exp: return tmath::exp(a);
    case Function::Log: return tmath::log(a);
    case Function::Abs: return tmath::abs(a);
    case Function::Tanh: return tmath::tanh(a);
    case Function::Sin: return tmath::sin(a);
    case Function::Cos: return tmath::cos(a);
    case Function::Tan: return tmath::tan(a);
    case Function::Asin: return tmath::asin(a);
    case Function::Acos: return tmath::acos(a);
    case Function::Atan: return tmath::atan(a);
    case Function::Cosh: {
      // Both exponentials are needed anyway; no cancellation in a sum of positives.
      tmath::Lazy e = tmath::exp(a);
      return (e + c(1) / e) * c(0.5);
    }
    case Function::Sinh: {
      // (e^x - e^-x)/2 cancels near 0; 2t/(1-t^2) with t = tanh(x/2) does not,
      // but loses accuracy as t -> 1.
      tmath::Lazy t = tmath::tanh(a * c(0.5));
      tmath::Lazy small = c(2) * t / (c(1) - t * t);
      tmath::Lazy e = tmath::exp(a);
      tmath::Lazy large = (e - c(1) / e) * c(0.5);
      return tmath::where(tmath::lt(tmath::abs(a), c(1)), small, large);
    }
  }
  return a;  // unreachable: every Function is handled above
}

}  // namespace

// ---- public API ------------------------------------------------------------------

double evaluate(const Expr& x, const Values& at) { return DoubleEvaluator(at)(x); }

std::string evaluate_digits(const Expr& x, const Values& at, int digits) {
  if (digits < 1 || digits > 100000) {
    fail("evaluate_digits: digits must be in 1..100000, got " + std::to_string(digits));
  }
  // Guard bits absorb rounding in the operations; agreement of two precisions
  // catches the cancellation they cannot.
  auto prec = static_cast<mpfr_prec_t>(std::ceil(digits * 3.3219280948873623)) + 32;
  Decimal previous;
  bool have_previous = false;
  for (int attempt = 0; attempt < 8; ++attempt, prec *= 2) {
    BigEvaluator evaluator(at, prec);
    Decimal d = to_decimal(evaluator(x), digits);
    if (have_previous && d == previous) return format_decimal(d);
    previous = std::move(d);
    have_previous = true;
  }
  return format_decimal(previous);
}

Expr evalf(const Expr& x) {
  std::unordered_map<Expr, Expr, ExprHash> memo;
  auto go = [&memo](auto& self, const Expr& e) -> Expr {
    auto it = memo.find(e);
    if (it != memo.end()) return it->second;
    Expr out;
    switch (e.kind()) {
      case Kind::Number: out = real(e.number().get_d()); break;
      case Kind::Float:
      case Kind::Symbol: out = e; break;
      case Kind::Constant:
        out = e.constant() == Constant::Pi  ? real(std::numbers::pi)
              : e.constant() == Constant::E ? real(std::numbers::e)
                                            : e;
        break;
      case Kind::Pow: {
        // Exact exponents stay exact: x^2 is not x^2.0.
        Expr base = self(self, e.base());
        out = pow(base, e.exponent().is_number() && !base.is_numeric() ? e.exponent() : self(self, e.exponent()));
        break;
      }
      case Kind::Derivative: out = rebuild(e, {self(self, e[0]), e[1], e[2]}); break;
      default: {
        std::vector<Expr> args;
        for (const Expr& a : e.args()) args.push_back(a.is_symbol() ? a : self(self, a));
        out = rebuild(e, std::move(args));
      }
    }
    memo.emplace(e, out);
    return out;
  };
  return go(go, x);
}

Compiled::Compiled(const Expr& x, std::vector<Expr> vars) : program_(std::make_unique<Program>()) {
  program_->vars = std::move(vars);
  Lowering lowering(program_->code, program_->vars);
  program_->result = lowering(x);
}

Compiled::~Compiled() = default;
Compiled::Compiled(Compiled&&) noexcept = default;
Compiled& Compiled::operator=(Compiled&&) noexcept = default;

const std::vector<Expr>& Compiled::vars() const noexcept { return program_->vars; }

double Compiled::operator()(std::span<const double> values) const {
  if (values.size() != program_->vars.size()) {
    fail("Compiled: " + std::to_string(values.size()) + " values for " + std::to_string(program_->vars.size()) +
         " variables");
  }
  constexpr std::size_t kStack = 64;
  const std::size_t n = program_->code.size();
  if (n <= kStack) {
    double regs[kStack];
    return run_scalar(program_->code, program_->result, values, regs);
  }
  std::vector<double> regs(n);
  return run_scalar(program_->code, program_->result, values, regs.data());
}

tmath::Lazy Compiled::lazy(std::span<const tmath::Lazy> inputs) const {
  if (inputs.size() != program_->vars.size()) {
    fail("Compiled::lazy: " + std::to_string(inputs.size()) + " inputs for " + std::to_string(program_->vars.size()) +
         " variables");
  }
  tmath::DType dtype = inputs.empty() ? tmath::DType::F64 : tmath::DType::F32;
  for (const tmath::Lazy& in : inputs) {
    if (in.dtype() == tmath::DType::F64) dtype = tmath::DType::F64;
  }
  std::vector<tmath::Lazy> regs;
  regs.reserve(program_->code.size());
  for (const Instr& in : program_->code) {
    auto reg = [&regs](int r) -> const tmath::Lazy& { return regs[static_cast<std::size_t>(r)]; };
    switch (in.op) {
      case Op::Const: regs.push_back(tmath::constant(in.value, dtype)); break;
      case Op::Var: regs.push_back(inputs[static_cast<std::size_t>(in.a)]); break;
      case Op::Add: regs.push_back(reg(in.a) + reg(in.b)); break;
      case Op::Sub: regs.push_back(reg(in.a) - reg(in.b)); break;
      case Op::Mul: regs.push_back(reg(in.a) * reg(in.b)); break;
      case Op::Div: regs.push_back(reg(in.a) / reg(in.b)); break;
      case Op::Neg: regs.push_back(-reg(in.a)); break;
      case Op::Sqrt: regs.push_back(tmath::sqrt(reg(in.a))); break;
      case Op::Pow: regs.push_back(tmath::pow(reg(in.a), reg(in.b))); break;
      case Op::Apply: regs.push_back(apply_lazy(in.f, reg(in.a), dtype)); break;
    }
  }
  return regs[static_cast<std::size_t>(program_->result)];
}

tmath::Tensor Compiled::evaluate(std::span<const tmath::Tensor> inputs) const {
  tmath::Shape shape;
  std::vector<tmath::Lazy> leaves;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const tmath::Tensor& t = inputs[i];
    if (!t.defined() || (t.dtype() != tmath::DType::F32 && t.dtype() != tmath::DType::F64) ||
        t.dtype() != inputs[0].dtype()) {
      fail("Compiled::evaluate: input " + std::to_string(i) +
           " must be an f32 or f64 tensor of the same dtype as the others");
    }
    shape = i == 0 ? t.shape() : tmath::broadcast_shapes(shape, t.shape(), "Compiled::evaluate");
    leaves.emplace_back(t);
  }
  tmath::Tensor out = lazy(leaves).eval();
  // A result that does not depend on every input still has their shape.
  if (out.shape() != shape) out = out.expand(tmath::broadcast_shapes(out.shape(), shape, "Compiled::evaluate"));
  if (!inputs.empty() && out.dtype() != inputs[0].dtype()) out = out.to(inputs[0].dtype());
  return out.contiguous();
}

}  // namespace miso::mprime
