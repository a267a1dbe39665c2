// Integration. Antiderivatives of polynomials, of rational functions (partial
// fractions: logarithms and arctangents), and of elementary forms through a
// table (docs/mprime.md lists it), linearity, substitution of a linear argument
// (f(a*x+b)), derivative-divides substitution (f(g(x))*g'(x)), and integration
// by parts for polynomial * exp/sin/cos/log/atan. An integral it cannot do comes
// back unevaluated (an Integral node), never wrong.
#pragma once

#include "miso/mprime/expr.hpp"

namespace miso::mprime {

// An antiderivative (without constant), or the unevaluated Integral.
Expr integrate(const Expr& f, const Expr& var);
// The definite integral from lower to upper (either may be +-infinity), by the
// antiderivative and limits at the bounds. If the integrand may be singular
// inside the interval or the antiderivative is not found, the unevaluated
// Integral comes back.
Expr integrate(const Expr& f, const Expr& var, const Expr& lower, const Expr& upper);

}  // namespace miso::mprime
