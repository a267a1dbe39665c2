#include "miso/mprime/simplify.hpp"

#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mprime/diff.hpp"
#include "miso/mprime/integrate.hpp"
#include "miso/mprime/poly.hpp"
#include "miso/mprime/series.hpp"

namespace miso::mprime {
namespace {

bool is_function(const Expr& x, Function f) { return x.is(Kind::Function) && x.function() == f; }

// ---- trigonometric rules ---------------------------------------------------------

// A term of a sum read as coefficient * square * other, where square = f(u)^2.
struct SquareTerm {
  Expr coefficient;
  Function f;
  Expr u;
  Expr other;
};

std::vector<Expr> factors_of(const Expr& x) {
  if (x.is(Kind::Mul)) return {x.args().begin(), x.args().end()};
  if (x.is_one()) return {};
  return {x};
}

// Every way the term holds a squared sin, cos, sinh or cosh.
std::vector<SquareTerm> squares_in(const Expr& term) {
  auto [c, rest] = split_coefficient(term);
  std::vector<Expr> factors = factors_of(rest);
  std::vector<SquareTerm> out;
  for (std::size_t i = 0; i < factors.size(); ++i) {
    const Expr& f = factors[i];
    if (!f.is(Kind::Pow) || !f.exponent().is_integer() || f.exponent().number() != 2) continue;
    const Expr& g = f.base();
    if (!g.is(Kind::Function)) continue;
    const Function fn = g.function();
    if (fn != Function::Sin && fn != Function::Cos && fn != Function::Sinh && fn != Function::Cosh) continue;
    std::vector<Expr> others;
    for (std::size_t j = 0; j < factors.size(); ++j) {
      if (j != i) others.push_back(factors[j]);
    }
    out.push_back({c, fn, g[0], mul(std::move(others))});
  }
  return out;
}

Expr square(Function f, const Expr& u) { return pow(apply(f, u), 2); }

// A rewrite of two terms of a sum: the partner term to look for, and what the pair becomes.
struct PairRule {
  Expr partner;
  Expr replacement;
};

// sin^2 + cos^2 = 1, cosh^2 - sinh^2 = 1, and the forms 1 - sin^2 = cos^2 etc.
std::vector<PairRule> pair_rules(const SquareTerm& s) {
  const Expr& c = s.coefficient;
  const Expr& o = s.other;
  std::vector<PairRule> rules;
  switch (s.f) {
    case Function::Sin:
      rules.push_back({c * o * square(Function::Cos, s.u), c * o});
      rules.push_back({-c * o, -c * o * square(Function::Cos, s.u)});
      break;
    case Function::Cos:
      rules.push_back({c * o * square(Function::Sin, s.u), c * o});
      rules.push_back({-c * o, -c * o * square(Function::Sin, s.u)});
      break;
    case Function::Cosh:
      rules.push_back({-c * o * square(Function::Sinh, s.u), c * o});
      rules.push_back({-c * o, c * o * square(Function::Sinh, s.u)});
      break;
    case Function::Sinh:
      rules.push_back({-c * o * square(Function::Cosh, s.u), -c * o});
      rules.push_back({c * o, c * o * square(Function::Cosh, s.u)});
      break;
    default: break;
  }
  return rules;
}

// One pass over a sum: replaces the first matching pair, if any.
std::optional<Expr> combine_one_pair(const Expr& sum) {
  std::vector<Expr> terms(sum.args().begin(), sum.args().end());
  std::unordered_map<Expr, std::size_t, ExprHash> index;
  for (std::size_t i = 0; i < terms.size(); ++i) index.emplace(terms[i], i);
  for (std::size_t i = 0; i < terms.size(); ++i) {
    for (const SquareTerm& s : squares_in(terms[i])) {
      for (PairRule& rule : pair_rules(s)) {
        auto it = index.find(rule.partner);
        if (it == index.end() || it->second == i) continue;
        const std::size_t j = it->second;
        std::vector<Expr> rest;
        for (std::size_t k = 0; k < terms.size(); ++k) {
          if (k != i && k != j) rest.push_back(terms[k]);
        }
        rest.push_back(std::move(rule.replacement));
        return add(std::move(rest));
      }
    }
  }
  return std::nullopt;
}

Expr trig_sum(Expr x) {
  // Each success removes a term, so this ends.
  while (x.is(Kind::Add)) {
    std::optional<Expr> next = combine_one_pair(x);
    if (!next) break;
    x = *next;
  }
  return x;
}

// sin(u)^a * cos(u)^-b -> tan(u)^min(a,b) * ..., and 2*sin(u)*cos(u) -> sin(2u).
Expr trig_product(const Expr& x) {
  std::vector<Expr> factors(x.args().begin(), x.args().end());
  bool changed = false;
  for (std::size_t i = 0; i < factors.size(); ++i) {
    auto [sb, se] = split_power(factors[i]);
    if (!is_function(sb, Function::Sin) || !se.is_integer() || sgn(se.number()) <= 0) continue;
    for (std::size_t j = 0; j < factors.size(); ++j) {
      auto [cb, ce] = split_power(factors[j]);
      if (!is_function(cb, Function::Cos) || cb[0] != sb[0] || !ce.is_integer() || sgn(ce.number()) >= 0) continue;
      mpq_class k = std::min(se.number(), mpq_class(-ce.number()));
      Expr kk = rational(k);
      factors[i] = pow(sb, rational(mpq_class(se.number() - k)));
      factors[j] = pow(cb, rational(mpq_class(ce.number() + k)));
      factors.push_back(pow(tan(sb[0]), kk));
      changed = true;
      break;
    }
    if (changed) break;
  }
  if (changed) return mul(std::move(factors));
  // 2 sin(u) cos(u) = sin(2u): only with the coefficient 2, where it shortens.
  if (factors.size() == 3 && factors[0].is_number() && ::abs(factors[0].number()) == 2) {
    const Expr& a = factors[1];
    const Expr& b = factors[2];
    const Expr* s = is_function(a, Function::Sin) ? &a : is_function(b, Function::Sin) ? &b : nullptr;
    const Expr* c = is_function(a, Function::Cos) ? &a : is_function(b, Function::Cos) ? &b : nullptr;
    if (s != nullptr && c != nullptr && (*s)[0] == (*c)[0]) {
      Expr r = sin(2 * (*s)[0]);
      return sgn(factors[0].number()) < 0 ? -r : r;
    }
  }
  return x;
}

// ---- exp/log rules ---------------------------------------------------------------

// exp(a) as a, e^a as a, exp(a)^p as p*a (exp(a) > 0 for real a, so any real power is fine).
std::optional<Expr> exponent_of(const Expr& x) {
  if (is_function(x, Function::Exp)) return x[0];
  if (x.is(Kind::Pow) && is_function(x.base(), Function::Exp)) return x.base()[0] * x.exponent();
  return std::nullopt;
}

Expr exp_product(const Expr& x) {
  std::vector<Expr> others;
  std::vector<Expr> exponents;
  for (const Expr& f : x.args()) {
    if (auto a = exponent_of(f)) {
      exponents.push_back(*a);
    } else {
      others.push_back(f);
    }
  }
  if (exponents.size() < 2) return x;
  others.push_back(exp(add(std::move(exponents))));
  return mul(std::move(others));
}

// exp(a + n*log(u)) = exp(a) * u^n for integer n (where the left side is defined).
Expr exp_of_logs(const Expr& x) {
  const Expr& arg = x[0];
  std::vector<Expr> terms =
      arg.is(Kind::Add) ? std::vector<Expr>(arg.args().begin(), arg.args().end()) : std::vector<Expr>{arg};
  std::vector<Expr> kept;
  std::vector<Expr> powers;
  for (const Expr& t : terms) {
    auto [c, rest] = split_coefficient(t);
    if (is_function(rest, Function::Log) && c.is_integer()) {
      powers.push_back(pow(rest[0], c));
    } else {
      kept.push_back(t);
    }
  }
  if (powers.empty()) return x;
  powers.push_back(exp(add(std::move(kept))));
  return mul(std::move(powers));
}

Expr expsimp_node(const Expr& x) {
  if (x.is(Kind::Mul)) return exp_product(x);
  if (x.is(Kind::Pow) && is_function(x.base(), Function::Exp)) return exp(x.base()[0] * x.exponent());
  if (is_function(x, Function::Exp)) return exp_of_logs(x);
  if (is_function(x, Function::Log) && is_function(x[0], Function::Exp)) return x[0][0];
  return x;
}

Expr trigsimp_node(const Expr& x) {
  if (x.is(Kind::Add)) return trig_sum(x);
  if (x.is(Kind::Mul)) return trig_product(x);
  return x;
}

void consider(Expr& best, double& best_size, const Expr& candidate) {
  const double size = candidate.tree_size();
  if (size < best_size) {
    best = candidate;
    best_size = size;
  }
}

}  // namespace

Expr evaluate_operations(const Expr& x) {
  return map_bottom_up(x, [](const Expr& e) -> Expr {
    switch (e.kind()) {
      case Kind::Derivative: return diff(e[0], e[1], e[2].number().get_num().get_si());
      case Kind::Integral: return e.size() == 2 ? integrate(e[0], e[1]) : integrate(e[0], e[1], e[2], e[3]);
      case Kind::Limit: return compute_limit(e[0], e[1], e[2], e.direction());
      default: return e;
    }
  });
}

Expr trigsimp(const Expr& x) { return map_bottom_up(x, trigsimp_node); }

Expr expsimp(const Expr& x) { return map_bottom_up(x, expsimp_node); }

Expr simplify(const Expr& x) {
  const Expr y = evaluate_operations(x);
  // The operations are carried out even where that makes the result longer.
  Expr best = y;
  double best_size = y.tree_size();
  // Each candidate may throw for input its routine does not take (floats,
  // unevaluated integrals, ...): that candidate is simply not offered.
  auto attempt = [&](auto&& make) -> std::optional<Expr> {
    try {
      Expr c = make();
      consider(best, best_size, c);
      return c;
    } catch (const Error&) {
      return std::nullopt;
    }
  };
  const Expr rules = [&] {
    try {
      return trigsimp(expsimp(y));
    } catch (const Error&) {
      return y;
    }
  }();
  consider(best, best_size, rules);
  for (const Expr& base : {y, rules}) {
    attempt([&] { return cancel(base); });
    attempt([&] { return factor(base); });
    if (auto expanded = attempt([&] { return expand(base); })) {
      attempt([&] { return trigsimp(*expanded); });
      if (auto t = attempt([&] { return cancel(trigsimp(*expanded)); })) attempt([&] { return factor(*t); });
    }
  }
  return best;
}

}  // namespace miso::mprime
