// MPRIME expressions: immutable, hash-consed nodes of a DAG.
//
// Every expression is interned in one global table, so two structurally equal
// expressions are the same node: equality is a pointer compare, hashing is a
// cached field, and a repeated subexpression is stored once. Constructors put
// sums and products in canonical form (numbers folded, like terms and like
// factors collected, operands sorted by `compare`) and apply the identities
// that are always valid (x+0, 1*x, x^1, x^0 = 1, sin(0) = 0, log(exp(x)) only
// where always true, ...). Nothing that can make an expression bigger (expand)
// or that needs a search (factor, trigonometric rewriting) happens here; those
// are the operations of poly.hpp and simplify.hpp.
//
// Numbers are exact rationals (GMP) unless a decimal literal or `evalf` made
// them floats (`Float`, a double). The constants are pi, e, the imaginary unit
// i (needed by roots of polynomials) and infinity (for limits and bounds).
#pragma once

#include <gmpxx.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace miso::mprime {

// Order here is the first key of `compare`: numbers sort before constants,
// symbols, then compound expressions.
enum class Kind : std::uint8_t {
  Number,      // exact rational (integer when the denominator is 1)
  Float,       // double
  Constant,    // pi, e, i, infinity
  Symbol,      // a named variable
  Pow,         // args: base, exponent
  Mul,         // args: >= 2 factors, numeric coefficient (if not 1) first
  Add,         // args: >= 2 terms, numeric term (if not 0) first
  Function,    // one argument; which function is `function()`
  Derivative,  // unevaluated d^n/dx^n f; args: f, x, n (a positive Number)
  Integral,    // unevaluated; args: f, x            or  f, x, lower, upper
  Limit,       // unevaluated; args: f, x, point; direction is `direction()`
};

enum class Constant : std::uint8_t { Pi, E, I, Infinity };

// Functions of one argument. sqrt is not here: sqrt(x) is x^(1/2).
enum class Function : std::uint8_t {
  Sin,
  Cos,
  Tan,
  Exp,
  Log,
  Abs,
  Asin,
  Acos,
  Atan,
  Sinh,
  Cosh,
  Tanh,
};
inline constexpr int kFunctionCount = 12;
std::string_view function_name(Function f);  // "sin", "cos", ...

// Side from which a limit is taken.
enum class Direction : std::uint8_t { Both, Plus, Minus };

struct Node;

class Expr {
 public:
  Expr();                                              // the integer 0
  Expr(long value);                                    // NOLINT(google-explicit-constructor): integers convert
  Expr(int value) : Expr(static_cast<long>(value)) {}  // NOLINT(google-explicit-constructor)
  Expr(const Expr& other) noexcept;
  Expr(Expr&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  Expr& operator=(const Expr& other) noexcept;
  Expr& operator=(Expr&& other) noexcept;
  ~Expr();

  Kind kind() const noexcept;
  bool is(Kind k) const noexcept { return kind() == k; }
  bool is_number() const noexcept { return kind() == Kind::Number; }
  bool is_numeric() const noexcept { return kind() == Kind::Number || kind() == Kind::Float; }
  bool is_integer() const noexcept;  // a Number with denominator 1
  bool is_zero() const noexcept;     // the Number 0 or the Float 0.0
  bool is_one() const noexcept;
  bool is_minus_one() const noexcept;
  bool is_symbol() const noexcept { return kind() == Kind::Symbol; }

  // Payloads; each asserts the kind.
  const mpq_class& number() const noexcept;  // Kind::Number
  double float_value() const noexcept;       // Kind::Float
  Constant constant() const noexcept;        // Kind::Constant
  const std::string& name() const noexcept;  // Kind::Symbol
  Function function() const noexcept;        // Kind::Function
  Direction direction() const noexcept;      // Kind::Limit

  // Operands (empty for atoms).
  std::span<const Expr> args() const noexcept;
  std::size_t size() const noexcept { return args().size(); }
  const Expr& operator[](std::size_t i) const noexcept { return args()[i]; }
  // Pow only: base and exponent.
  const Expr& base() const noexcept { return args()[0]; }
  const Expr& exponent() const noexcept { return args()[1]; }

  // Structural hash, the same in every run (it never depends on addresses).
  std::uint64_t hash() const noexcept;
  // Number of distinct nodes in the DAG (shared subexpressions counted once).
  std::size_t dag_size() const;
  // Number of nodes of the tree (shared subexpressions counted each time).
  double tree_size() const;

  const Node* id() const noexcept { return node_; }
  friend bool operator==(const Expr& a, const Expr& b) noexcept { return a.node_ == b.node_; }

  // For the constructors in expr.cpp only.
  explicit Expr(Node* adopted) noexcept : node_(adopted) {}

 private:
  Node* node_;
};

// Total order used by canonical forms: by kind, then by content. Deterministic
// across runs. Returns <0, 0 or >0.
int compare(const Expr& a, const Expr& b);
struct ExprLess {
  bool operator()(const Expr& a, const Expr& b) const { return compare(a, b) < 0; }
};
struct ExprHash {
  std::size_t operator()(const Expr& e) const noexcept { return e.hash(); }
};

// ---- atoms -------------------------------------------------------------------
Expr integer(long value);
Expr integer(const mpz_class& value);
Expr rational(long num, long den);  // throws miso::Error if den == 0
Expr rational(const mpq_class& value);
Expr real(double value);  // a Float; throws miso::Error if not finite
Expr symbol(std::string_view name);
Expr pi();
Expr e();
Expr imaginary_unit();
Expr infinity();

// ---- canonicalising constructors ---------------------------------------------
Expr add(std::vector<Expr> terms);
Expr mul(std::vector<Expr> factors);
Expr pow(const Expr& base, const Expr& exponent);  // 0^negative throws miso::Error

// Trusted fast paths for code that produces canonical operands itself (the FLINT
// converter): no folding or collecting is done, only sorting and interning.
// mul_canonical: an optional numeric coefficient (not 1) first, then >= 1
// non-numeric factors with pairwise distinct bases. add_canonical: terms that are
// not sums, at most one numeric term (not 0), rests (term without coefficient)
// pairwise distinct. Checked by assertions in debug builds only.
Expr mul_canonical(std::vector<Expr> factors);
Expr add_canonical(std::vector<Expr> terms);
Expr apply(Function f, const Expr& arg);
Expr sqrt(const Expr& x);  // x^(1/2)

inline Expr sin(const Expr& x) { return apply(Function::Sin, x); }
inline Expr cos(const Expr& x) { return apply(Function::Cos, x); }
inline Expr tan(const Expr& x) { return apply(Function::Tan, x); }
inline Expr exp(const Expr& x) { return apply(Function::Exp, x); }
inline Expr log(const Expr& x) { return apply(Function::Log, x); }
inline Expr abs(const Expr& x) { return apply(Function::Abs, x); }
inline Expr asin(const Expr& x) { return apply(Function::Asin, x); }
inline Expr acos(const Expr& x) { return apply(Function::Acos, x); }
inline Expr atan(const Expr& x) { return apply(Function::Atan, x); }
inline Expr sinh(const Expr& x) { return apply(Function::Sinh, x); }
inline Expr cosh(const Expr& x) { return apply(Function::Cosh, x); }
inline Expr tanh(const Expr& x) { return apply(Function::Tanh, x); }

// Unevaluated operations, as the parser reads them (d/dx, ∫, lim). `simplify`
// (simplify.hpp) carries them out.
Expr derivative(const Expr& f, const Expr& var, long order = 1);
Expr integral(const Expr& f, const Expr& var);
Expr integral(const Expr& f, const Expr& var, const Expr& lower, const Expr& upper);
Expr limit(const Expr& f, const Expr& var, const Expr& point, Direction dir = Direction::Both);

// A node of the same kind and payload as `like` with new operands, put back in
// canonical form (used by every bottom-up rewrite).
Expr rebuild(const Expr& like, std::vector<Expr> args);

Expr operator+(const Expr& a, const Expr& b);
Expr operator-(const Expr& a, const Expr& b);
Expr operator*(const Expr& a, const Expr& b);
Expr operator/(const Expr& a, const Expr& b);  // a * b^-1; b == 0 throws miso::Error
Expr operator-(const Expr& a);
inline Expr& operator+=(Expr& a, const Expr& b) { return a = a + b; }
inline Expr& operator-=(Expr& a, const Expr& b) { return a = a - b; }
inline Expr& operator*=(Expr& a, const Expr& b) { return a = a * b; }
inline Expr& operator/=(Expr& a, const Expr& b) { return a = a / b; }

// ---- decomposition -----------------------------------------------------------
// x = coefficient * rest, with the coefficient numeric (3*x*y -> {3, x*y}).
std::pair<Expr, Expr> split_coefficient(const Expr& x);
// x = base ^ exponent (x -> {x, 1} when x is not a power).
std::pair<Expr, Expr> split_power(const Expr& x);
// Numerator and denominator of a product of powers (x*y^-2/3 -> {x, 3*y^2}).
std::pair<Expr, Expr> numerator_denominator(const Expr& x);

// ---- queries and rewrites ----------------------------------------------------
bool depends_on(const Expr& x, const Expr& var);  // does `var` occur in x?
std::vector<Expr> free_symbols(const Expr& x);    // sorted by compare
bool is_polynomial(const Expr& x, std::span<const Expr> vars);
bool contains_float(const Expr& x);

using Substitution = std::vector<std::pair<Expr, Expr>>;
// Replaces every occurrence of each key (any subexpression, usually a symbol)
// by its value, simultaneously, and re-canonicalises.
Expr substitute(const Expr& x, const Substitution& rules);
Expr substitute(const Expr& x, const Expr& from, const Expr& to);

// Applies f to every node bottom-up (children first, each distinct node once)
// and rebuilds; f receives the node with its already-mapped children.
Expr map_bottom_up(const Expr& x, const std::function<Expr(const Expr&)>& f);

// Number of live interned nodes (for tests and the profiler).
std::size_t interned_count();

}  // namespace miso::mprime
