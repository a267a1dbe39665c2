// Solving equations and systems exactly.
//
// - Linear systems in the unknowns (coefficients may contain other symbols): exact
//   fraction-free (Bareiss) elimination; underdetermined systems give the pivot
//   unknowns in terms of the free ones; inconsistent systems have no solution.
// - One polynomial equation in one unknown: rational roots and square-free
//   factorisation first, then exact formulas up to degree 4 (quadratic, Cardano,
//   Ferrari) where the roots are expressible, numeric roots (Floats, complex as
//   a + b*i) otherwise. Roots are listed once each, real before complex.
// - Polynomial systems: elimination by resultants down to one unknown, solved,
//   back-substituted and checked.
// - Equations that are not polynomial but invert simply (exp(x) = 2, sin(x) = 1/2
//   principal value, sqrt(x) = 3) are handled by inverting the outer function.
// An equation set it cannot handle throws miso::Error saying which equation.
#pragma once

#include <vector>

#include "miso/mprime/expr.hpp"
#include "miso/mprime/parse.hpp"

namespace miso::mprime {

// One solution: a value for each solved unknown, in the order of `unknowns`.
using Solution = std::vector<std::pair<Expr, Expr>>;

// Solves the equations for `unknowns` (all free symbols, sorted, when empty).
// Returns every solution found; empty if there is none.
std::vector<Solution> solve(const std::vector<Equation>& equations, std::vector<Expr> unknowns = {});
// Roots of polynomial (or simply invertible) f(var) = 0, each once.
std::vector<Expr> solve_for(const Expr& f, const Expr& var);

}  // namespace miso::mprime
