// Simplification: carry out unevaluated operations (d/dx, ∫, lim) and rewrite
// with rules that are always valid, keeping the smallest form found.
#pragma once

#include "miso/mprime/expr.hpp"

namespace miso::mprime {

// Carries out every Derivative, Integral and Limit node (innermost first); an
// integral or limit that cannot be done stays unevaluated.
Expr evaluate_operations(const Expr& x);

// Trigonometric rules valid everywhere: sin^2 + cos^2 = 1, cosh^2 - sinh^2 = 1,
// tan = sin/cos where that shortens, sin(-x) = -sin(x), cos(-x) = cos(x), ...
Expr trigsimp(const Expr& x);
// exp/log rules valid everywhere: exp(a)*exp(b) = exp(a+b), exp(a)^n = exp(n*a),
// exp(n*log(x)) = x^n, log(exp(x)) = x for real x; log(a*b) is not split
// (not valid for negative a, b).
Expr expsimp(const Expr& x);

// evaluate_operations, then cancel of rational parts, trigsimp and expsimp;
// returns the candidate with the fewest nodes (the input if nothing is smaller).
Expr simplify(const Expr& x);

}  // namespace miso::mprime
