// Differentiation: derivatives of any order, partial derivatives, gradient and
// Jacobian. Each distinct node of the DAG is differentiated once, so shared
// subexpressions cost once however often they occur.
#pragma once

#include <vector>

#include "miso/mprime/expr.hpp"

namespace miso::mprime {

// d^order f / d var^order. `var` must be a symbol (miso::Error otherwise);
// order >= 0 (order 0 returns f).
Expr diff(const Expr& f, const Expr& var, long order = 1);
std::vector<Expr> gradient(const Expr& f, const std::vector<Expr>& vars);
// J[i][j] = d fs[i] / d vars[j]
std::vector<std::vector<Expr>> jacobian(const std::vector<Expr>& fs, const std::vector<Expr>& vars);

}  // namespace miso::mprime
