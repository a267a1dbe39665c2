// Polynomial algebra on expressions, computed by FLINT.
//
// An expression is read as a polynomial over the rationals whose generators are
// its symbols and its non-polynomial parts (sin(x), x^(1/2), exp(y), 1/(x+1)
// ...), converted to FLINT's fmpz_mpoly / fmpq_mpoly (each shared node
// converted once), operated on there, and converted back into canonical
// expressions. MPRIME writes no polynomial arithmetic of its own: products,
// powers, division, gcd, resultants and factorisation are FLINT's.
#pragma once

#include <utility>
#include <vector>

#include "miso/mprime/expr.hpp"

namespace miso::mprime {

// Distributes products and integer powers of sums everywhere, also inside
// function arguments and exponents: (x+1)^2*(x-1) -> x^3 + x^2 - x - 1.
// Negative powers of sums are kept as they are (their bases expanded).
Expr expand(const Expr& x);

// Groups the terms of expand(x) by powers of `var`: a*x + b*x + c -> (a+b)*x + c.
Expr collect(const Expr& x, const Expr& var);

// Coefficients of x as a polynomial in `var`, lowest degree first (they may
// contain other symbols). Throws miso::Error naming the subexpression if x is
// not polynomial in var.
std::vector<Expr> coefficients(const Expr& x, const Expr& var);
Expr from_coefficients(const std::vector<Expr>& coefficients, const Expr& var);
long degree(const Expr& x, const Expr& var);  // -1 for 0; throws if not polynomial

struct Factorization {
  Expr unit;                                   // rational content with sign
  std::vector<std::pair<Expr, long>> factors;  // irreducible over Q, with multiplicity
};
// Factorisation over the rationals of a polynomial in any number of variables.
Factorization factor_list(const Expr& polynomial);
// factor of a polynomial or a rational function (numerator and denominator
// factored), e.g. x^2 - 1 -> (x - 1)*(x + 1). Non-polynomial parts act as
// generators.
Expr factor(const Expr& x);

// Greatest common divisor / least common multiple of two polynomials, monic
// over Q with a positive leading coefficient (gcd(0, 0) = 0).
Expr gcd(const Expr& a, const Expr& b);
Expr lcm(const Expr& a, const Expr& b);

// Quotient and remainder of a / b as polynomials in `var` (coefficients may
// contain other symbols only if b's leading coefficient is a number).
// Throws miso::Error if b is zero.
std::pair<Expr, Expr> divide(const Expr& a, const Expr& b, const Expr& var);

// Resultant of a and b with respect to var (eliminates var).
Expr resultant(const Expr& a, const Expr& b, const Expr& var);

// Puts a sum of fractions over one denominator: 1/x + 1/y -> (x + y)/(x*y).
Expr together(const Expr& x);
// A rational function in lowest terms p/q with p and q expanded and coprime,
// q with a positive leading coefficient: (x^2-1)/(x-1) -> x + 1.
Expr cancel(const Expr& x);
// Numerator and denominator of together(x), coprime.
std::pair<Expr, Expr> fraction(const Expr& x);

// Partial fractions of a rational function in `var` over Q: polynomial part
// plus sum of c/(linear)^k and (a*var + b)/(irreducible quadratic or higher)^k.
Expr apart(const Expr& x, const Expr& var);

}  // namespace miso::mprime
