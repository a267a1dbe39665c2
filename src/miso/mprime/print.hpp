// Writing expressions back as text. `to_string` gives plain text that `parse`
// reads back to the same expression (the same interned node) and that SymPy
// reads with convert_xor: ^ for powers, the function names of expr.hpp,
// sqrt(x) for x^(1/2), exact rationals as 3/4, floats with enough digits to
// round-trip, unevaluated operations as diff(f, x, n), integrate(f, x),
// limit(f, x, a[, "+"|"-"]) (definite integrals as integrate(f, (x, a, b)),
// the form SymPy reads). Terms of a sum are shown by descending degree
// (x^2 + 3*x + 1), minus signs where a coefficient is negative (x - y).
//
// `to_latex` gives LaTeX for display: \frac, \sqrt, \sin, \int, \lim, \infty.
#pragma once

#include <string>

#include "miso/mprime/expr.hpp"
#include "miso/mprime/parse.hpp"

namespace miso::mprime {

std::string to_string(const Expr& x);
std::string to_string(const Equation& eq);  // "lhs = rhs"
std::string to_latex(const Expr& x);
std::string to_latex(const Equation& eq);

// The order in which `to_string` shows the terms of a sum (descending total
// degree, then `compare`), for other printers that want the same order.
std::vector<Expr> display_order(const Expr& sum);

}  // namespace miso::mprime
