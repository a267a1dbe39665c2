#include "miso/mprime/poly.hpp"

#include <flint/flint.h>
#include <flint/fmpq.h>
#include <flint/fmpq_mpoly.h>
#include <flint/fmpq_mpoly_factor.h>
#include <flint/fmpq_poly.h>
#include <flint/fmpz.h>
#include <flint/fmpz_mpoly.h>
#include <flint/fmpz_poly.h>
#include <flint/fmpz_poly_factor.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mprime/print.hpp"

namespace miso::mprime {
namespace {

Error poly_error(const std::string& message) { return Error(Error::Kind::InvalidArgument, message); }

Expr sum_of(std::vector<Expr> terms) {
  if (terms.empty()) return integer(0);
  if (terms.size() == 1) return std::move(terms.front());
  return add(std::move(terms));
}

Expr product_of(std::vector<Expr> factors) {
  if (factors.empty()) return integer(1);
  if (factors.size() == 1) return std::move(factors.front());
  return mul(std::move(factors));
}

// ---- RAII over FLINT ---------------------------------------------------------

// Lexicographic order with generator 0 most significant: `divide` relies on it
// (the leading monomial of a divisor is var^deg when its leading coefficient
// in var is a number), and it makes every normalisation deterministic.
class Ring {
 public:
  explicit Ring(slong nvars) { fmpq_mpoly_ctx_init(q_, std::max<slong>(nvars, 1), ORD_LEX); }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() { fmpq_mpoly_ctx_clear(q_); }
  const fmpq_mpoly_ctx_struct* q() const { return q_; }
  const fmpz_mpoly_ctx_struct* z() const { return q_->zctx; }

 private:
  fmpq_mpoly_ctx_t q_;
};

class ZPoly {
 public:
  explicit ZPoly(const Ring& r) : r_(&r) { fmpz_mpoly_init(p_, r.z()); }
  ZPoly(const ZPoly& o) : r_(o.r_) {
    fmpz_mpoly_init(p_, r_->z());
    fmpz_mpoly_set(p_, o.p_, r_->z());
  }
  ZPoly(ZPoly&& o) noexcept : r_(o.r_) {
    fmpz_mpoly_init(p_, r_->z());
    fmpz_mpoly_swap(p_, o.p_, r_->z());
  }
  ZPoly& operator=(const ZPoly&) = delete;
  ZPoly& operator=(ZPoly&& o) noexcept {
    fmpz_mpoly_swap(p_, o.p_, r_->z());
    return *this;
  }
  ~ZPoly() { fmpz_mpoly_clear(p_, r_->z()); }

  void set_number(const mpq_class& value) {
    fmpz_t c;
    fmpz_init(c);
    fmpz_set_mpz(c, value.get_num_mpz_t());
    fmpz_mpoly_set_fmpz(p_, c, r_->z());
    fmpz_clear(c);
  }
  void set_gen(slong i) { fmpz_mpoly_gen(p_, i, r_->z()); }
  void add(const ZPoly& b) { fmpz_mpoly_add(p_, p_, b.p_, r_->z()); }
  void mul(const ZPoly& b) { fmpz_mpoly_mul(p_, p_, b.p_, r_->z()); }
  bool pow(ulong k) { return fmpz_mpoly_pow_ui(p_, p_, k, r_->z()) != 0; }

  const fmpz_mpoly_struct* raw() const { return p_; }
  const fmpq* content() const { return nullptr; }

 private:
  const Ring* r_;
  fmpz_mpoly_t p_;
};

class QPoly {
 public:
  explicit QPoly(const Ring& r) : r_(&r) { fmpq_mpoly_init(p_, r.q()); }
  QPoly(const QPoly& o) : r_(o.r_) {
    fmpq_mpoly_init(p_, r_->q());
    fmpq_mpoly_set(p_, o.p_, r_->q());
  }
  QPoly(QPoly&& o) noexcept : r_(o.r_) {
    fmpq_mpoly_init(p_, r_->q());
    fmpq_mpoly_swap(p_, o.p_, r_->q());
  }
  QPoly& operator=(const QPoly&) = delete;
  QPoly& operator=(QPoly&& o) noexcept {
    fmpq_mpoly_swap(p_, o.p_, r_->q());
    return *this;
  }
  ~QPoly() { fmpq_mpoly_clear(p_, r_->q()); }

  void set_number(const mpq_class& value) {
    fmpq_t c;
    fmpq_init(c);
    fmpq_set_mpq(c, value.get_mpq_t());
    fmpq_mpoly_set_fmpq(p_, c, r_->q());
    fmpq_clear(c);
  }
  void set_gen(slong i) { fmpq_mpoly_gen(p_, i, r_->q()); }
  void add(const QPoly& b) { fmpq_mpoly_add(p_, p_, b.p_, r_->q()); }
  void mul(const QPoly& b) { fmpq_mpoly_mul(p_, p_, b.p_, r_->q()); }
  bool pow(ulong k) { return fmpq_mpoly_pow_ui(p_, p_, k, r_->q()) != 0; }

  const fmpz_mpoly_struct* raw() const { return p_->zpoly; }
  const fmpq* content() const { return p_->content; }
  fmpq_mpoly_struct* get() { return p_; }
  const fmpq_mpoly_struct* get() const { return p_; }
  const Ring& ring() const { return *r_; }
  bool is_zero() const { return fmpq_mpoly_is_zero(p_, r_->q()) != 0; }
  bool is_constant() const { return fmpq_mpoly_is_fmpq(p_, r_->q()) != 0; }
  bool is_one() const { return fmpq_mpoly_is_one(p_, r_->q()) != 0; }
  slong degree(slong var) const { return fmpq_mpoly_degree_si(p_, var, r_->q()); }

 private:
  const Ring* r_;
  fmpq_mpoly_t p_;
};

class QUPoly {
 public:
  QUPoly() { fmpq_poly_init(p_); }
  QUPoly(const QUPoly&) = delete;
  QUPoly& operator=(const QUPoly&) = delete;
  ~QUPoly() { fmpq_poly_clear(p_); }
  fmpq_poly_struct* get() { return p_; }
  const fmpq_poly_struct* get() const { return p_; }
  slong degree() const { return fmpq_poly_degree(p_); }

 private:
  fmpq_poly_t p_;
};

mpq_class to_mpq(const fmpq* q) {
  mpq_class out;
  fmpq_get_mpq(out.get_mpq_t(), q);
  return out;
}

Expr integer_of(const fmpz* c) {
  if (fmpz_fits_si(c)) return integer(static_cast<long>(fmpz_get_si(c)));
  mpz_class m;
  fmpz_get_mpz(m.get_mpz_t(), c);
  return integer(m);
}

// ---- Expr -> FLINT -----------------------------------------------------------

// Reads expressions as polynomials. A first pass (`scan`) finds the generators
// and counts how often each node is reached, a second (`build`) converts each
// node once, keeping only the polynomials of shared nodes for reuse.
class Converter {
 public:
  // `main`, if given, becomes generator 0 (the main variable).
  explicit Converter(const Expr* main = nullptr) {
    if (main != nullptr) {
      gens_.push_back(*main);
      gen_index_.emplace(main->id(), 0);
      has_main_ = true;
    }
  }

  void scan(const Expr& e) {
    auto [it, fresh] = info_.try_emplace(e.id());
    ++it->second.uses;
    if (!fresh) return;
    NodeInfo& node = it->second;
    switch (e.kind()) {
      case Kind::Number:
        node.shape = Shape::Number;
        if (!e.is_integer()) rational_ = true;
        return;
      case Kind::Add:
      case Kind::Mul:
        node.shape = e.is(Kind::Add) ? Shape::Sum : Shape::Product;
        for (const Expr& a : e.args()) scan(a);
        return;
      case Kind::Pow: scan_power(e, node); return;
      case Kind::Function: {
        Expr g = apply(e.function(), expand(e[0]));
        if (g.is(Kind::Function)) {
          make_atom(node, g, 1);
        } else {
          replace(node, g);
        }
        return;
      }
      default:  // symbols, constants, floats, unevaluated operations
        make_atom(node, e, 1);
        return;
    }
  }

  // Orders the generators (main variable first, the rest by `compare`) and
  // creates the ring; call after every scan and before any build.
  void finish() {
    auto first = gens_.begin() + (has_main_ ? 1 : 0);
    std::sort(first, gens_.end(), ExprLess{});
    gen_index_.clear();
    for (std::size_t i = 0; i < gens_.size(); ++i) gen_index_[gens_[i].id()] = static_cast<slong>(i);
    ring_ = std::make_unique<Ring>(static_cast<slong>(gens_.size()));
  }

  template <typename P>
  P build(const Expr& e) {
    NodeInfo& node = info_.at(e.id());
    auto& cache = memo<P>();
    if (auto found = cache.find(e.id()); found != cache.end()) {
      if (--node.uses > 0) return P(found->second);
      P last(std::move(found->second));
      cache.erase(found);
      return last;
    }
    P p = compute<P>(e, node);
    if (--node.uses > 0) cache.emplace(e.id(), P(p));
    return p;
  }

  bool rational() const { return rational_; }
  const std::vector<Expr>& gens() const { return gens_; }
  const Ring& ring() const { return *ring_; }
  std::unique_ptr<Ring> release_ring() { return std::move(ring_); }

  // Two generators with the same base (x and x^-1, x and x^(1/2)) mean the
  // expression may simplify once expanded, which the polynomial view misses.
  bool generators_interact() const {
    std::unordered_map<const Node*, int> bases;
    for (const Expr& g : gens_) {
      if (++bases[split_power(g).first.id()] > 1) return true;
    }
    return false;
  }

 private:
  enum class Shape : std::uint8_t { Number, Sum, Product, Power, Atom, Replaced };
  struct NodeInfo {
    Shape shape = Shape::Number;
    int uses = 0;
    ulong exp = 1;  // Power: the exponent; Atom: the power of the generator
    Expr other;     // Atom: the generator; Replaced: the replacement
  };

  void scan_power(const Expr& e, NodeInfo& node) {
    const Expr& exponent = e.exponent();
    if (!exponent.is_number()) {
      Expr g = pow(expand(e.base()), expand(exponent));
      if (g == e || (g.is(Kind::Pow) && !g.exponent().is_number())) {
        make_atom(node, g, 1);
      } else {
        replace(node, g);
      }
      return;
    }
    const mpq_class& r = exponent.number();
    if (r.get_den() == 1 && r.get_num() > 0 && r.get_num().fits_ulong_p()) {
      node.shape = Shape::Power;
      node.exp = r.get_num().get_ui();
      scan(e.base());
      return;
    }
    // base^(p/q) = (base^(±1/q))^|p| holds for every integer p, so the
    // generator is base^(±1/q) and powers of it multiply as monomials.
    mpz_class p = abs(r.get_num());
    if (!p.fits_ulong_p()) {
      make_atom(node, e, 1);
      return;
    }
    Expr base = expand(e.base());
    Expr unit = pow(base, mprime::rational(mpq_class(mpz_class(sgn(r.get_num())), r.get_den())));
    if (unit.is(Kind::Pow) && unit.base() == base) {
      make_atom(node, unit, p.get_ui());
      return;
    }
    Expr g = pow(unit, integer(p));
    if (g == e) {
      make_atom(node, e, 1);
    } else {
      replace(node, g);
    }
  }

  void make_atom(NodeInfo& node, const Expr& g, ulong k) {
    node.shape = Shape::Atom;
    node.other = g;
    node.exp = k;
    if (gen_index_.emplace(g.id(), static_cast<slong>(gens_.size())).second) gens_.push_back(g);
  }

  void replace(NodeInfo& node, const Expr& g) {
    node.shape = Shape::Replaced;
    node.other = g;
    scan(g);
  }

  template <typename P>
  std::unordered_map<const Node*, P>& memo() {
    if constexpr (std::is_same_v<P, ZPoly>) {
      return zmemo_;
    } else {
      return qmemo_;
    }
  }

  template <typename P>
  P compute(const Expr& e, const NodeInfo& node) {
    P p(*ring_);
    switch (node.shape) {
      case Shape::Number: p.set_number(e.number()); return p;
      case Shape::Sum:
      case Shape::Product: return combine<P>(e, node.shape == Shape::Product);
      case Shape::Power: p = build<P>(e.base()); break;
      case Shape::Atom: p.set_gen(gen_index_.at(node.other.id())); break;
      case Shape::Replaced: return build<P>(node.other);
    }
    if (node.exp != 1 && !p.pow(node.exp)) {
      throw poly_error(std::string("expand: exponent too large in ").append(to_string(e)));
    }
    return p;
  }

  // Pairwise (balanced) sums and products: n operands cost O(n log n) merges
  // instead of the O(n^2) of adding them one by one.
  template <typename P>
  P combine(const Expr& e, bool product) {
    std::vector<P> parts;
    parts.reserve(e.size());
    for (const Expr& a : e.args()) parts.push_back(build<P>(a));
    while (parts.size() > 1) {
      std::size_t half = (parts.size() + 1) / 2;
      for (std::size_t i = 0; i + half < parts.size(); ++i) {
        if (product) {
          parts[i].mul(parts[i + half]);
        } else {
          parts[i].add(parts[i + half]);
        }
      }
      parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(half), parts.end());
    }
    return std::move(parts.front());
  }

  std::unordered_map<const Node*, NodeInfo> info_;
  std::vector<Expr> gens_;
  std::unordered_map<const Node*, slong> gen_index_;
  bool has_main_ = false;
  bool rational_ = false;
  std::unique_ptr<Ring> ring_;
  std::unordered_map<const Node*, ZPoly> zmemo_;
  std::unordered_map<const Node*, QPoly> qmemo_;
};

// ---- FLINT -> Expr -----------------------------------------------------------

// Writes the terms of a polynomial as expressions: coefficient times powers of
// the generators, the powers cached since every term reuses them.
class TermWriter {
 public:
  TermWriter(const std::vector<Expr>& gens, const fmpz_mpoly_struct* z, const fmpz_mpoly_ctx_struct* ctx,
             const fmpq* content)
      : gens_(gens), z_(z), ctx_(ctx), content_(content), exps_(gens.size() + 1), powers_(gens.size()) {
    if (content_ != nullptr && fmpz_is_one(fmpq_denref(content_))) {
      integer_content_ = fmpz_is_one(fmpq_numref(content_)) ? nullptr : fmpq_numref(content_);
      content_ = nullptr;
      scaled_ = integer_content_ != nullptr;
    }
    // Products of powers of symbols and (non-exp) function values with
    // pairwise distinct bases are canonical as written, so terms can skip the
    // collecting constructors (the FLINT result's monomials are distinct).
    trusted_ = true;
    for (std::size_t v = 0; v < gens.size() && trusted_; ++v) {
      const Expr& g = gens[v];
      trusted_ = g.is_symbol() || (g.is(Kind::Function) && g.function() != Function::Exp);
      for (std::size_t w = 0; w < v && trusted_; ++w) trusted_ = !(gens[w] == g);
    }
  }

  bool trusted() const { return trusted_; }

  slong length() const { return z_->length; }

  // Exponents of term i, readable through exponent(var) afterwards.
  void load(slong i) {
    if (z_->bits > FLINT_BITS && fmpz_mpoly_term_exp_fits_ui(z_, i, ctx_) == 0) {
      throw poly_error("polynomial exponent too large to write back");
    }
    fmpz_mpoly_get_term_exp_ui(exps_.data(), z_, i, ctx_);
  }
  ulong exponent(std::size_t var) const { return exps_[var]; }

  // Term i (after load(i)) without the generator `skip` (or all if out of range).
  Expr term(slong i, std::size_t skip = static_cast<std::size_t>(-1)) {
    std::vector<Expr> factors;
    factors.reserve(gens_.size() + 1);
    Expr c = coefficient(i);
    if (!c.is_one()) factors.push_back(std::move(c));
    for (std::size_t v = 0; v < gens_.size(); ++v) {
      if (exps_[v] != 0 && v != skip) factors.push_back(power(v, exps_[v]));
    }
    if (trusted_ && factors.size() > 1) return mul_canonical(std::move(factors));
    return product_of(std::move(factors));
  }

 private:
  Expr coefficient(slong i) {
    const fmpz* c = z_->coeffs + i;
    if (content_ == nullptr && !scaled_) return integer_of(c);
    if (content_ == nullptr) {
      fmpz_t t;
      fmpz_init(t);
      fmpz_mul(t, c, integer_content_);
      Expr out = integer_of(t);
      fmpz_clear(t);
      return out;
    }
    fmpq_t t;
    fmpq_init(t);
    fmpq_mul_fmpz(t, content_, c);
    Expr out = rational(to_mpq(t));
    fmpq_clear(t);
    return out;
  }

  Expr power(std::size_t v, ulong k) {
    static constexpr ulong kCached = 256;
    if (k >= kCached) return pow(gens_[v], integer(mpz_class(k)));
    std::vector<Expr>& cache = powers_[v];
    if (cache.size() <= k) cache.resize(k + 1, Expr());
    if (cache[k].is_zero()) cache[k] = k == 1 ? gens_[v] : pow(gens_[v], integer(static_cast<long>(k)));
    return cache[k];
  }

  const std::vector<Expr>& gens_;
  const fmpz_mpoly_struct* z_;
  const fmpz_mpoly_ctx_struct* ctx_;
  const fmpq* content_;
  const fmpz* integer_content_ = nullptr;
  bool scaled_ = false;
  bool trusted_ = false;
  std::vector<ulong> exps_;
  std::vector<std::vector<Expr>> powers_;
};

Expr to_expr(const std::vector<Expr>& gens, const fmpz_mpoly_struct* z, const fmpz_mpoly_ctx_struct* ctx,
             const fmpq* content) {
  TermWriter writer(gens, z, ctx, content);
  std::vector<Expr> terms;
  terms.reserve(static_cast<std::size_t>(writer.length()));
  for (slong i = 0; i < writer.length(); ++i) {
    writer.load(i);
    terms.push_back(writer.term(i));
  }
  if (writer.trusted() && terms.size() > 1) return add_canonical(std::move(terms));
  return sum_of(std::move(terms));
}

Expr to_expr(const std::vector<Expr>& gens, const QPoly& p) {
  return to_expr(gens, p.raw(), p.ring().z(), p.content());
}

// ---- polynomials of several expressions in one ring ---------------------------

struct Polys {
  std::vector<Expr> gens;
  std::unique_ptr<Ring> ring;  // declared before polys: outlives them
  std::vector<QPoly> polys;
  bool has_main = false;

  Expr expr(const QPoly& p) const { return to_expr(gens, p); }
  QPoly make() const { return QPoly(*ring); }
};

Polys convert_once(const std::vector<Expr>& exprs, const Expr* main, bool* interact) {
  Converter conv(main);
  for (const Expr& e : exprs) conv.scan(e);
  if (interact != nullptr) *interact = conv.generators_interact();
  conv.finish();
  Polys out;
  out.gens = conv.gens();
  out.has_main = main != nullptr;
  std::vector<QPoly> polys;
  polys.reserve(exprs.size());
  for (const Expr& e : exprs) polys.push_back(conv.build<QPoly>(e));
  out.ring = conv.release_ring();
  out.polys = std::move(polys);
  return out;
}

// `main`, if given, becomes generator 0.
Polys convert(std::vector<Expr> exprs, const Expr* main = nullptr) {
  bool interact = false;
  Polys out = convert_once(exprs, main, &interact);
  if (!interact) return out;
  for (Expr& e : exprs) e = expand(e);
  out.polys.clear();
  return convert_once(exprs, main, nullptr);
}

// Throws unless every generator other than the main variable is free of it.
void require_polynomial_in(const Polys& p, const Expr& var, const char* operation) {
  for (std::size_t i = 1; i < p.gens.size(); ++i) {
    if (depends_on(p.gens[i], var)) {
      throw poly_error(std::string(operation)
                           .append(": not a polynomial in ")
                           .append(to_string(var))
                           .append(" because of ")
                           .append(to_string(p.gens[i])));
    }
  }
}

Polys convert_in(std::vector<Expr> exprs, const Expr& var, const char* operation) {
  Polys p = convert(std::move(exprs), &var);
  require_polynomial_in(p, var, operation);
  return p;
}

// ---- univariate helpers (apart) ------------------------------------------------

Expr from_upoly(const fmpq_poly_struct* p, const Expr& var) {
  std::vector<Expr> terms;
  mpq_class c;
  for (slong k = 0; k <= fmpq_poly_degree(p); ++k) {
    fmpq_poly_get_coeff_mpq(c.get_mpq_t(), p, k);
    if (c != 0) terms.push_back(mul({rational(c), pow(var, integer(static_cast<long>(k)))}));
  }
  return sum_of(std::move(terms));
}

Expr from_zpoly(const fmpz_poly_struct* p, const Expr& var) {
  std::vector<Expr> terms;
  for (slong k = 0; k <= fmpz_poly_degree(p); ++k) {
    const fmpz* c = p->coeffs + k;
    if (!fmpz_is_zero(c)) terms.push_back(mul({integer_of(c), pow(var, integer(static_cast<long>(k)))}));
  }
  return sum_of(std::move(terms));
}

void to_upoly(const Polys& p, const QPoly& q, fmpq_poly_struct* out) {
  fmpq_mpoly_get_fmpq_poly(out, q.get(), 0, p.ring->q());
}

// ---- together ------------------------------------------------------------------

struct DenominatorFactor {
  Expr base;
  Expr exponent;  // positive
};

// Denominator d = number * product of base^exponent, as factors keyed by base.
std::vector<DenominatorFactor> denominator_factors(const Expr& d, mpz_class& number) {
  auto [c, rest] = split_coefficient(d);
  number = 1;
  std::vector<DenominatorFactor> out;
  if (c.is_number() && c.is_integer()) {
    number = abs(c.number().get_num());
  } else if (!c.is_one()) {
    out.push_back({c, integer(1)});
  }
  auto add_factor = [&](const Expr& f) {
    auto [b, k] = split_power(f);
    if (k.is_number()) {
      out.push_back({b, k});
    } else {
      out.push_back({f, integer(1)});
    }
  };
  if (rest.is(Kind::Mul)) {
    for (const Expr& f : rest.args()) add_factor(f);
  } else if (!rest.is_one()) {
    add_factor(rest);
  }
  return out;
}

Expr combine_fractions(const std::vector<Expr>& terms) {
  std::vector<std::pair<Expr, std::vector<DenominatorFactor>>> parts;
  std::vector<mpz_class> numbers;
  mpz_class common = 1;
  std::vector<DenominatorFactor> lcm;  // each base once, largest exponent
  for (const Expr& t : terms) {
    auto [n, d] = numerator_denominator(t);
    mpz_class number;
    auto factors = denominator_factors(d, number);
    mpz_lcm(common.get_mpz_t(), common.get_mpz_t(), number.get_mpz_t());
    for (const DenominatorFactor& f : factors) {
      auto same = std::find_if(lcm.begin(), lcm.end(), [&](const DenominatorFactor& g) { return g.base == f.base; });
      if (same == lcm.end()) {
        lcm.push_back(f);
      } else if (same->exponent.number() < f.exponent.number()) {
        same->exponent = f.exponent;
      }
    }
    parts.emplace_back(n, std::move(factors));
    numbers.push_back(number);
  }
  if (lcm.empty() && common == 1) return sum_of(terms);
  std::vector<Expr> numerators;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::vector<Expr> cofactor{parts[i].first, integer(mpz_class(common / numbers[i]))};
    for (const DenominatorFactor& f : lcm) {
      Expr have = integer(0);
      for (const DenominatorFactor& g : parts[i].second) {
        if (g.base == f.base) have = g.exponent;
      }
      cofactor.push_back(pow(f.base, f.exponent - have));
    }
    numerators.push_back(mul(std::move(cofactor)));
  }
  std::vector<Expr> out{sum_of(std::move(numerators)), rational(mpq_class(mpz_class(1), common))};
  for (const DenominatorFactor& f : lcm) out.push_back(pow(f.base, -f.exponent));
  return mul(std::move(out));
}

Expr together_of(const Expr& x, std::unordered_map<const Node*, Expr>& memo) {
  if (auto found = memo.find(x.id()); found != memo.end()) return found->second;
  Expr out = x;
  switch (x.kind()) {
    case Kind::Add:
    case Kind::Mul: {
      std::vector<Expr> args;
      args.reserve(x.size());
      for (const Expr& a : x.args()) args.push_back(together_of(a, memo));
      out = x.is(Kind::Add) ? combine_fractions(args) : mul(std::move(args));
      break;
    }
    case Kind::Pow: out = pow(together_of(x.base(), memo), x.exponent()); break;
    default: break;
  }
  memo.emplace(x.id(), out);
  return out;
}

// p/q in lowest terms as content * zn / zd with zn, zd primitive integer
// polynomials (FLINT keeps the leading coefficient of each positive).
struct Reduced {
  Polys polys;  // polys[0] = zn, polys[1] = zd, both with content 1
  mpq_class content;
};

Reduced reduce_fraction(const Expr& x) {
  Expr t = together(x);
  auto [n, d] = numerator_denominator(t);
  Reduced out{convert({n, d}), 0};
  QPoly& num = out.polys.polys[0];
  QPoly& den = out.polys.polys[1];
  if (den.is_zero()) throw poly_error(std::string("division by zero in ").append(to_string(x)));
  if (num.is_zero()) {
    den.set_number(1);
    return out;
  }
  QPoly g = out.polys.make();
  QPoly nbar = out.polys.make();
  QPoly dbar = out.polys.make();
  const fmpq_mpoly_ctx_struct* ctx = out.polys.ring->q();
  if (fmpq_mpoly_gcd_cofactors(g.get(), nbar.get(), dbar.get(), num.get(), den.get(), ctx) == 0) {
    throw poly_error(std::string("cancel: polynomial gcd failed for ").append(to_string(x)));
  }
  mpq_class cn = to_mpq(nbar.get()->content);
  mpq_class cd = to_mpq(dbar.get()->content);
  out.content = cn / cd;
  fmpq_one(nbar.get()->content);
  fmpq_one(dbar.get()->content);
  num = std::move(nbar);
  den = std::move(dbar);
  return out;
}

// ---- apart -----------------------------------------------------------------------

Expr apart_fraction(const fmpq_poly_struct* num, const fmpq_poly_struct* den, const Expr& var) {
  QUPoly quotient;
  QUPoly rem;
  fmpq_poly_divrem(quotient.get(), rem.get(), num, den);
  std::vector<Expr> terms{from_upoly(quotient.get(), var)};
  if (fmpq_poly_is_zero(rem.get())) return sum_of(std::move(terms));

  // den = (lead / denominator) * prod f_i^e_i with f_i primitive integer polynomials.
  fmpz_poly_t integral;
  fmpz_poly_init(integral);
  fmpq_poly_get_numerator(integral, den);
  fmpz_poly_factor_t fac;
  fmpz_poly_factor_init(fac);
  fmpz_poly_factor(fac, integral);
  fmpq_t scale;  // rem / den = (rem * scale) / prod
  fmpq_init(scale);
  fmpq_set_fmpz_frac(scale, fmpq_poly_denref(den), &fac->c);
  QUPoly r;
  fmpq_poly_scalar_mul_fmpq(r.get(), rem.get(), scale);

  std::vector<std::unique_ptr<QUPoly>> factors;  // f_i
  std::vector<std::unique_ptr<QUPoly>> powers;   // f_i^e_i
  for (slong i = 0; i < fac->num; ++i) {
    factors.push_back(std::make_unique<QUPoly>());
    fmpq_poly_set_fmpz_poly(factors.back()->get(), fac->p + i);
    powers.push_back(std::make_unique<QUPoly>());
    fmpq_poly_pow(powers.back()->get(), factors.back()->get(), static_cast<ulong>(fac->exp[i]));
  }
  for (std::size_t i = 0; i < factors.size(); ++i) {
    QUPoly others;  // product of the other prime powers
    fmpq_poly_one(others.get());
    for (std::size_t j = 0; j < powers.size(); ++j) {
      if (j != i) fmpq_poly_mul(others.get(), others.get(), powers[j]->get());
    }
    // r / prod = sum A_i / P_i with A_i = r * others^-1 mod P_i.
    QUPoly g, s, t, a;
    fmpq_poly_xgcd(g.get(), s.get(), t.get(), others.get(), powers[i]->get());
    fmpq_poly_mul(a.get(), r.get(), s.get());
    fmpq_poly_rem(a.get(), a.get(), powers[i]->get());
    Expr base = from_zpoly(fac->p + i, var);
    // A_i / f^e = sum_j c_j / f^j with deg c_j < deg f (f-adic digits of A_i).
    for (slong j = fac->exp[i]; j >= 1 && !fmpq_poly_is_zero(a.get()); --j) {
      QUPoly q, digit;
      fmpq_poly_divrem(q.get(), digit.get(), a.get(), factors[i]->get());
      if (!fmpq_poly_is_zero(digit.get())) {
        terms.push_back(mul({from_upoly(digit.get(), var), pow(base, integer(-j))}));
      }
      fmpq_poly_swap(a.get(), q.get());
    }
  }
  fmpq_clear(scale);
  fmpz_poly_factor_clear(fac);
  fmpz_poly_clear(integral);
  return sum_of(std::move(terms));
}

}  // namespace

// ---- public API ------------------------------------------------------------------

Expr expand(const Expr& x) {
  switch (x.kind()) {
    case Kind::Number:
    case Kind::Float:
    case Kind::Symbol:
    case Kind::Constant: return x;
    default: break;
  }
  Converter conv;
  conv.scan(x);
  conv.finish();
  if (conv.rational()) {
    QPoly p = conv.build<QPoly>(x);
    return to_expr(conv.gens(), p.raw(), conv.ring().z(), p.content());
  }
  ZPoly p = conv.build<ZPoly>(x);
  return to_expr(conv.gens(), p.raw(), conv.ring().z(), nullptr);
}

Expr collect(const Expr& x, const Expr& var) {
  Expr e = expand(x);
  std::vector<Expr> terms =
      e.is(Kind::Add) ? std::vector<Expr>(e.args().begin(), e.args().end()) : std::vector<Expr>{e};
  std::vector<Expr> keys;
  std::unordered_map<const Node*, std::vector<Expr>> groups;
  for (const Expr& t : terms) {
    std::vector<Expr> dependent;
    std::vector<Expr> independent;
    for (const Expr& f : t.is(Kind::Mul) ? t.args() : std::span<const Expr>(&t, 1)) {
      (depends_on(f, var) ? dependent : independent).push_back(f);
    }
    Expr key = product_of(std::move(dependent));
    auto [it, fresh] = groups.try_emplace(key.id());
    if (fresh) keys.push_back(key);
    it->second.push_back(product_of(std::move(independent)));
  }
  std::vector<Expr> out;
  out.reserve(keys.size());
  for (const Expr& k : keys) out.push_back(mul({sum_of(std::move(groups[k.id()])), k}));
  return sum_of(std::move(out));
}

std::vector<Expr> coefficients(const Expr& x, const Expr& var) {
  Polys p = convert_in({x}, var, "coefficients");
  const QPoly& q = p.polys[0];
  if (q.is_zero()) return {};
  slong deg = q.degree(0);
  std::vector<std::vector<Expr>> buckets(static_cast<std::size_t>(deg) + 1);
  TermWriter writer(p.gens, q.raw(), p.ring->z(), q.content());
  for (slong i = 0; i < writer.length(); ++i) {
    writer.load(i);
    buckets[writer.exponent(0)].push_back(writer.term(i, 0));
  }
  std::vector<Expr> out;
  out.reserve(buckets.size());
  for (auto& b : buckets) out.push_back(sum_of(std::move(b)));
  return out;
}

Expr from_coefficients(const std::vector<Expr>& coefficients, const Expr& var) {
  std::vector<Expr> terms;
  terms.reserve(coefficients.size());
  for (std::size_t k = 0; k < coefficients.size(); ++k) {
    terms.push_back(mul({coefficients[k], pow(var, integer(static_cast<long>(k)))}));
  }
  return sum_of(std::move(terms));
}

long degree(const Expr& x, const Expr& var) {
  Polys p = convert_in({x}, var, "degree");
  return p.polys[0].is_zero() ? -1 : static_cast<long>(p.polys[0].degree(0));
}

Factorization factor_list(const Expr& polynomial) {
  Polys p = convert({polynomial});
  const QPoly& a = p.polys[0];
  if (a.is_constant()) {
    fmpq_t c;
    fmpq_init(c);
    fmpq_mpoly_get_fmpq(c, a.get(), p.ring->q());
    Factorization out{rational(to_mpq(c)), {}};
    fmpq_clear(c);
    return out;
  }
  fmpq_mpoly_factor_t f;
  fmpq_mpoly_factor_init(f, p.ring->q());
  if (fmpq_mpoly_factor(f, a.get(), p.ring->q()) == 0 || fmpq_mpoly_factor_make_integral(f, p.ring->q()) == 0) {
    fmpq_mpoly_factor_clear(f, p.ring->q());
    throw poly_error(std::string("factor: FLINT could not factor ").append(to_string(polynomial)));
  }
  Factorization out{rational(to_mpq(f->constant)), {}};
  for (slong i = 0; i < f->num; ++i) {
    Expr base = to_expr(p.gens, f->poly[i].zpoly, p.ring->z(), f->poly[i].content);
    out.factors.emplace_back(base, fmpz_get_si(f->exp + i));
  }
  fmpq_mpoly_factor_clear(f, p.ring->q());
  return out;
}

Expr factor(const Expr& x) {
  if (x.is_numeric() || x.is_symbol()) return x;
  Reduced r = reduce_fraction(x);
  Expr num = r.polys.expr(r.polys.polys[0]);
  Expr den = r.polys.expr(r.polys.polys[1]);
  Factorization fn = factor_list(num);
  std::vector<Expr> factors{mul({rational(r.content), fn.unit})};
  for (auto& [f, k] : fn.factors) factors.push_back(pow(f, integer(k)));
  if (!den.is_one()) {
    Factorization fd = factor_list(den);
    factors.push_back(pow(fd.unit, integer(-1)));
    for (auto& [f, k] : fd.factors) factors.push_back(pow(f, integer(-k)));
  }
  return mul(std::move(factors));
}

Expr gcd(const Expr& a, const Expr& b) {
  Polys p = convert({a, b});
  QPoly g = p.make();
  if (fmpq_mpoly_gcd(g.get(), p.polys[0].get(), p.polys[1].get(), p.ring->q()) == 0) {
    throw poly_error(std::string("gcd: FLINT failed on ").append(to_string(a)).append(" and ").append(to_string(b)));
  }
  return p.expr(g);
}

Expr lcm(const Expr& a, const Expr& b) {
  Polys p = convert({a, b});
  const QPoly& pa = p.polys[0];
  const QPoly& pb = p.polys[1];
  if (pa.is_zero() || pb.is_zero()) return integer(0);
  QPoly g = p.make();
  if (fmpq_mpoly_gcd(g.get(), pa.get(), pb.get(), p.ring->q()) == 0) {
    throw poly_error(std::string("lcm: FLINT failed on ").append(to_string(a)).append(" and ").append(to_string(b)));
  }
  QPoly product = p.make();
  fmpq_mpoly_mul(product.get(), pa.get(), pb.get(), p.ring->q());
  QPoly out = p.make();
  fmpq_mpoly_divides(out.get(), product.get(), g.get(), p.ring->q());
  fmpq_mpoly_make_monic(out.get(), out.get(), p.ring->q());
  return p.expr(out);
}

std::pair<Expr, Expr> divide(const Expr& a, const Expr& b, const Expr& var) {
  Polys p = convert_in({a, b}, var, "divide");
  const QPoly& pa = p.polys[0];
  const QPoly& pb = p.polys[1];
  if (pb.is_zero()) throw poly_error(std::string("divide: division of ").append(to_string(a)).append(" by zero"));
  slong deg = pb.degree(0);
  QPoly lead = p.make();
  slong vars[1] = {0};
  ulong exps[1] = {static_cast<ulong>(deg)};
  fmpq_mpoly_get_coeff_vars_ui(lead.get(), pb.get(), vars, exps, 1, p.ring->q());
  if (!lead.is_constant()) {
    throw poly_error(std::string("divide: the leading coefficient ")
                         .append(to_string(p.expr(lead)))
                         .append(" of the divisor in ")
                         .append(to_string(var))
                         .append(" is not a number"));
  }
  QPoly q = p.make();
  QPoly r = p.make();
  fmpq_mpoly_divrem(q.get(), r.get(), pa.get(), pb.get(), p.ring->q());
  return {p.expr(q), p.expr(r)};
}

Expr resultant(const Expr& a, const Expr& b, const Expr& var) {
  Polys p = convert_in({a, b}, var, "resultant");
  QPoly r = p.make();
  if (fmpq_mpoly_resultant(r.get(), p.polys[0].get(), p.polys[1].get(), 0, p.ring->q()) == 0) {
    throw poly_error(
        std::string("resultant: FLINT failed on ").append(to_string(a)).append(" and ").append(to_string(b)));
  }
  return p.expr(r);
}

Expr together(const Expr& x) {
  std::unordered_map<const Node*, Expr> memo;
  return together_of(x, memo);
}

Expr cancel(const Expr& x) {
  if (x.is_numeric() || x.is_symbol()) return x;
  Reduced r = reduce_fraction(x);
  QPoly& num = r.polys.polys[0];
  if (r.polys.polys[1].is_one()) {
    fmpq_t c;
    fmpq_init(c);
    fmpq_set_mpq(c, r.content.get_mpq_t());
    fmpq_mpoly_scalar_mul_fmpq(num.get(), num.get(), c, r.polys.ring->q());
    fmpq_clear(c);
    return r.polys.expr(num);
  }
  return mul({rational(r.content), r.polys.expr(num), pow(r.polys.expr(r.polys.polys[1]), integer(-1))});
}

std::pair<Expr, Expr> fraction(const Expr& x) {
  Reduced r = reduce_fraction(x);
  const fmpq_mpoly_ctx_struct* ctx = r.polys.ring->q();
  QPoly& num = r.polys.polys[0];
  QPoly& den = r.polys.polys[1];
  fmpz_t k;
  fmpz_init(k);
  fmpz_set_mpz(k, r.content.get_num_mpz_t());
  fmpq_mpoly_scalar_mul_fmpz(num.get(), num.get(), k, ctx);
  fmpz_set_mpz(k, r.content.get_den_mpz_t());
  fmpq_mpoly_scalar_mul_fmpz(den.get(), den.get(), k, ctx);
  fmpz_clear(k);
  return {r.polys.expr(num), r.polys.expr(den)};
}

Expr apart(const Expr& x, const Expr& var) {
  if (!depends_on(x, var)) return x;
  auto [n, d] = fraction(x);
  Polys p = convert_in({n, d}, var, "apart");
  if (p.gens.size() > 1) {
    throw poly_error(std::string("apart: only rational functions of ")
                         .append(to_string(var))
                         .append(" alone are supported, found ")
                         .append(to_string(p.gens[1])));
  }
  QUPoly num, den;
  to_upoly(p, p.polys[0], num.get());
  to_upoly(p, p.polys[1], den.get());
  return apart_fraction(num.get(), den.get(), var);
}

}  // namespace miso::mprime
