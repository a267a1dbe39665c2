// Numbers out of expressions: double evaluation, evaluation to any precision
// (MPFR), and compilation to T-Mathematics so that one expression is evaluated
// over tensors of millions of points in one fused pass.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "miso/mprime/expr.hpp"
#include "miso/tmath/lazy.hpp"
#include "miso/tmath/tensor.hpp"

namespace miso::mprime {

using Values = std::map<std::string, double, std::less<>>;

// The value of x with the symbols bound by `at`. Throws miso::Error naming the
// symbol if one is unbound, or if the result is not a real number (log(-1),
// an unevaluated integral, ...).
double evaluate(const Expr& x, const Values& at = {});
// The value to `digits` significant decimal digits, computed with MPFR at a
// working precision with guard bits; returned as decimal text ("3.14159...").
std::string evaluate_digits(const Expr& x, const Values& at, int digits);
// Replaces exact numbers and constants by Floats (pi -> 3.141592653589793),
// folding what becomes numeric.
Expr evalf(const Expr& x);

// An expression compiled for repeated numeric evaluation over `vars`.
class Compiled {
 public:
  Compiled(const Expr& x, std::vector<Expr> vars);  // vars: symbols; others must not occur
  ~Compiled();
  Compiled(Compiled&&) noexcept;
  Compiled& operator=(Compiled&&) noexcept;

  const std::vector<Expr>& vars() const noexcept;
  // One point: values in the order of vars().
  double operator()(std::span<const double> values) const;
  // The expression as a T-Mathematics lazy graph over one input per variable
  // (broadcast together); eval() runs it as one fused pass.
  tmath::Lazy lazy(std::span<const tmath::Lazy> inputs) const;
  // lazy(inputs).eval() for tensors of one dtype (f32 or f64).
  tmath::Tensor evaluate(std::span<const tmath::Tensor> inputs) const;

 private:
  struct Program;
  std::unique_ptr<Program> program_;
};

}  // namespace miso::mprime
