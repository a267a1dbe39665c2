// Power series and limits.
//
// series(f, x, a, n) is the Taylor (or Laurent, where f has a pole at a) expansion
// of f about x = a with every term of order below n in (x - a): the truncation
// O((x-a)^n) is implied, not part of the returned expression. Expansion is by
// series arithmetic on truncated coefficient lists (products, quotients,
// compositions with the known series of exp, log, sin, ...), not by repeated
// differentiation. a may be infinity (expansion in 1/x).
//
// limit(f, x, a, dir) is found from the leading term of the series, at finite
// points and at +-infinity, two-sided or one-sided. Where it cannot decide it
// returns the unevaluated Limit; where the one-sided limits differ it throws
// miso::Error saying both.
#pragma once

#include "miso/mprime/expr.hpp"

namespace miso::mprime {

Expr series(const Expr& f, const Expr& var, const Expr& point, long order);
Expr compute_limit(const Expr& f, const Expr& var, const Expr& point, Direction dir = Direction::Both);

}  // namespace miso::mprime
