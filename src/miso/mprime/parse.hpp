// Reading mathematics as people type it: infix text with + - * / ^ **,
// implicit multiplication (2x, 2(x+1), (a+b)(a-b), x y), the functions of
// expr.hpp, sqrt and √, d/dx(f), d^n/dx^n(f), ∫(f)dx and ∫_a^b(f)dx (also
// integrate(f, x[, a, b])), lim(x→a)(f) with -> or →, a+ / a- for one-sided
// limits (also limit(f, x, a[, "+"|"-"])), diff(f, x[, n]), ∞ / oo / inf,
// pi / π, e, i, equations with =, systems separated by ; (or newlines).
//
// Errors throw miso::Error whose message quotes the text with a caret line under
// the offending position, e.g.
//   parse error at column 5: expected an expression after '*'
//     2*x*)
//         ^
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "miso/mprime/expr.hpp"

namespace miso::mprime {

struct Equation {
  Expr lhs;
  Expr rhs;
  Expr difference() const { return lhs - rhs; }  // lhs - rhs, zero at a solution
};

// One input line: either a single expression or one or more equations.
struct Statement {
  std::vector<Expr> expressions;  // `a; b` without `=`: several expressions
  std::vector<Equation> equations;
  bool is_system() const { return !equations.empty(); }
};

// Parses one expression (no `=`, no `;`). Throws miso::Error with a caret.
Expr parse(std::string_view text);
// Parses expressions and/or equations separated by `;`. An input mixing
// equations and plain expressions is read as equations `expr = 0`.
Statement parse_statement(std::string_view text);

// Formats the caret message used by every parse error (exposed for the CLI
// and other front ends that report positions in the same style).
std::string caret_message(std::string_view text, std::size_t byte_offset, std::string_view what);

}  // namespace miso::mprime
