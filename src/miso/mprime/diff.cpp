#include "miso/mprime/diff.hpp"

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"

namespace miso::mprime {
namespace {

void require_symbol(const Expr& var, const char* where) {
  if (!var.is_symbol()) {
    throw Error(Error::Kind::InvalidArgument,
                std::string(where).append(": the variable of differentiation must be a symbol"));
  }
}

// Every distinct node of the DAG in an order where operands come before the
// nodes that use them. Iterative, so that deep expressions cannot overflow the
// call stack.
std::vector<Expr> postorder(const Expr& root, std::unordered_map<const Node*, Expr>& known) {
  std::vector<Expr> order;
  std::unordered_map<const Node*, bool> seen;
  std::vector<std::pair<Expr, std::size_t>> stack;
  stack.emplace_back(root, 0);
  seen.emplace(root.id(), true);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    const auto args = node.args();
    if (next < args.size()) {
      const Expr child = args[next++];
      if (!known.contains(child.id()) && seen.emplace(child.id(), true).second) {
        stack.emplace_back(child, 0);
      }
      continue;
    }
    order.push_back(node);
    stack.pop_back();
  }
  return order;
}

// Differentiates with respect to one symbol, remembering the derivative of every
// node seen so that repeated and shared subexpressions cost once (also across
// the several expressions of a Jacobian column).
class Differentiator {
 public:
  explicit Differentiator(Expr var) : var_(std::move(var)) {}

  Expr operator()(const Expr& f) {
    if (auto it = memo_.find(f.id()); it != memo_.end()) {
      return it->second;
    }
    for (const Expr& node : postorder(f, memo_)) {
      if (!memo_.contains(node.id())) {
        memo_.emplace(node.id(), rule(node));
      }
    }
    return memo_.at(f.id());
  }

 private:
  const Expr& d(const Expr& operand) const { return memo_.at(operand.id()); }

  Expr rule(const Expr& f) const {
    switch (f.kind()) {
      case Kind::Number:
      case Kind::Float:
      case Kind::Constant: return Expr(0);
      case Kind::Symbol: return f == var_ ? Expr(1) : Expr(0);
      case Kind::Add: return sum_rule(f);
      case Kind::Mul: return product_rule(f);
      case Kind::Pow: return power_rule(f);
      case Kind::Function: return chain_rule(f);
      case Kind::Derivative: return derivative_rule(f);
      case Kind::Integral: return integral_rule(f);
      case Kind::Limit: break;
    }
    return depends_on(f, var_) ? derivative(f, var_) : Expr(0);
  }

  Expr sum_rule(const Expr& f) const {
    std::vector<Expr> terms;
    terms.reserve(f.size());
    for (const Expr& term : f.args()) {
      if (const Expr& dt = d(term); !dt.is_zero()) {
        terms.push_back(dt);
      }
    }
    return add(std::move(terms));
  }

  // (f1 f2 ... fn)' = sum_i f1 ... fi' ... fn
  static Expr product_rule_terms(std::span<const Expr> factors, const std::vector<Expr>& derivs) {
    std::vector<Expr> terms;
    for (std::size_t i = 0; i < factors.size(); ++i) {
      if (derivs[i].is_zero()) {
        continue;
      }
      std::vector<Expr> product;
      product.reserve(factors.size());
      for (std::size_t j = 0; j < factors.size(); ++j) {
        product.push_back(j == i ? derivs[i] : factors[j]);
      }
      terms.push_back(mul(std::move(product)));
    }
    return add(std::move(terms));
  }

  Expr product_rule(const Expr& f) const {
    std::vector<Expr> derivs;
    derivs.reserve(f.size());
    for (const Expr& factor : f.args()) {
      derivs.push_back(d(factor));
    }
    return product_rule_terms(f.args(), derivs);
  }

  Expr power_rule(const Expr& f) const {
    const Expr& u = f.base();
    const Expr& v = f.exponent();
    const Expr& du = d(u);
    const Expr& dv = d(v);
    if (dv.is_zero()) {
      if (du.is_zero()) {
        return Expr(0);
      }
      return mul({v, pow(u, v - Expr(1)), du});
    }
    if (du.is_zero()) {
      return mul({f, log(u), dv});
    }
    // d(u^v) = u^v (v' log u + v u'/u)
    return f * (dv * log(u) + v * du / u);
  }

  Expr chain_rule(const Expr& f) const {
    const Expr& u = f[0];
    const Expr& du = d(u);
    if (du.is_zero()) {
      return Expr(0);
    }
    return outer_derivative(f) * du;
  }

  // f'(u) for f(u) = `f`.
  static Expr outer_derivative(const Expr& f) {
    const Expr& u = f[0];
    switch (f.function()) {
      case Function::Sin: return cos(u);
      case Function::Cos: return -sin(u);
      case Function::Tan: return Expr(1) + pow(f, Expr(2));
      case Function::Exp: return f;
      case Function::Log: return pow(u, Expr(-1));
      case Function::Abs: return u / f;
      case Function::Asin: return pow(Expr(1) - pow(u, Expr(2)), rational(-1, 2));
      case Function::Acos: return -pow(Expr(1) - pow(u, Expr(2)), rational(-1, 2));
      case Function::Atan: return pow(Expr(1) + pow(u, Expr(2)), Expr(-1));
      case Function::Sinh: return cosh(u);
      case Function::Cosh: return sinh(u);
      case Function::Tanh: return Expr(1) - pow(f, Expr(2));
    }
    throw Error(Error::Kind::Internal, "diff: unknown function");
  }

  // d/dx of an unevaluated d^n f/dx^n: one order more; with respect to another
  // variable the mixed derivative stays unevaluated.
  Expr derivative_rule(const Expr& f) const {
    if (!depends_on(f, var_)) {
      return Expr(0);
    }
    if (f[1] == var_ && f[2].is_integer()) {
      return derivative(f[0], var_, f[2].number().get_num().get_si() + 1);
    }
    return derivative(f, var_);
  }

  Expr integral_rule(const Expr& f) const {
    const Expr& integrand = f[0];
    const Expr& x = f[1];
    if (f.size() == 2) {
      if (x == var_) {
        return integrand;
      }
      // Differentiation under the integral sign.
      const Expr& inner = d(integrand);
      return inner.is_zero() ? Expr(0) : integral(inner, x);
    }
    // Leibniz: d/dv int_a^b g dx = g(b) b' - g(a) a' + int_a^b dg/dv dx, where
    // x is a bound variable (so dg/dv is 0 when v is x itself).
    const Expr& lower = f[2];
    const Expr& upper = f[3];
    std::vector<Expr> terms;
    if (const Expr& db = d(upper); !db.is_zero()) {
      terms.push_back(substitute(integrand, x, upper) * db);
    }
    if (const Expr& da = d(lower); !da.is_zero()) {
      terms.push_back(-(substitute(integrand, x, lower) * da));
    }
    if (x != var_) {
      if (const Expr& inner = d(integrand); !inner.is_zero()) {
        terms.push_back(integral(inner, x, lower, upper));
      }
    }
    return add(std::move(terms));
  }

  Expr var_;
  std::unordered_map<const Node*, Expr> memo_;
};

}  // namespace

Expr diff(const Expr& f, const Expr& var, long order) {
  require_symbol(var, "diff");
  if (order < 0) {
    throw Error(Error::Kind::InvalidArgument,
                std::string("diff: the order of differentiation must be >= 0, got ").append(std::to_string(order)));
  }
  Expr result = f;
  for (long k = 0; k < order && !result.is_zero(); ++k) {
    result = Differentiator(var)(result);
  }
  return result;
}

std::vector<Expr> gradient(const Expr& f, const std::vector<Expr>& vars) {
  std::vector<Expr> result;
  result.reserve(vars.size());
  for (const Expr& var : vars) {
    require_symbol(var, "gradient");
    result.push_back(Differentiator(var)(f));
  }
  return result;
}

std::vector<std::vector<Expr>> jacobian(const std::vector<Expr>& fs, const std::vector<Expr>& vars) {
  std::vector<std::vector<Expr>> result(fs.size(), std::vector<Expr>(vars.size()));
  for (std::size_t j = 0; j < vars.size(); ++j) {
    require_symbol(vars[j], "jacobian");
    Differentiator column(vars[j]);
    for (std::size_t i = 0; i < fs.size(); ++i) {
      result[i][j] = column(fs[i]);
    }
  }
  return result;
}

}  // namespace miso::mprime
