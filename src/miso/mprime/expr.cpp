#include "miso/mprime/expr.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "miso/core/error.hpp"

namespace miso::mprime {

// ---- nodes and the intern table ----------------------------------------------

struct Node {
  std::atomic<std::uint32_t> refs{1};
  // Symbols, constants and small integers live forever: every expression holds
  // them, and counting their references from several threads would make their
  // cache lines bounce between cores on every copy.
  bool immortal = false;
  Kind kind = Kind::Number;
  std::uint8_t tag = 0;  // Constant, Function or Direction
  std::uint64_t hash = 0;
  std::vector<Expr> args;
  std::variant<std::monostate, mpq_class, double, std::string> payload;
};

namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  // splitmix64 finaliser over a running combination: deterministic, well spread.
  std::uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t hash_mpz(std::uint64_t h, mpz_srcptr z) {
  h = mix(h, static_cast<std::uint64_t>(mpz_sgn(z) + 1));
  const std::size_t n = mpz_size(z);
  for (std::size_t i = 0; i < n; ++i) h = mix(h, mpz_getlimbn(z, static_cast<mp_size_t>(i)));
  return h;
}

std::uint64_t hash_string(std::uint64_t h, std::string_view s) {
  std::uint64_t f = 1469598103934665603ULL;
  for (unsigned char c : s) f = (f ^ c) * 1099511628211ULL;
  return mix(h, f);
}

// What a node would be, for looking it up before creating it.
struct Key {
  Kind kind = Kind::Number;
  std::uint8_t tag = 0;
  std::span<const Expr> args{};
  const mpq_class* number = nullptr;
  double flt = 0;
  std::string_view name;
  std::uint64_t hash = 0;
  std::vector<Expr>* owned = nullptr;  // `args` may be moved from here into a new node
  bool immortal = false;               // a new node is never freed
};

std::uint64_t hash_key(const Key& k) {
  std::uint64_t h = mix(static_cast<std::uint64_t>(k.kind) * 31 + 7, k.tag);
  switch (k.kind) {
    case Kind::Number:
      h = hash_mpz(h, k.number->get_num_mpz_t());
      h = hash_mpz(h, k.number->get_den_mpz_t());
      break;
    case Kind::Float: h = mix(h, std::bit_cast<std::uint64_t>(k.flt)); break;
    case Kind::Symbol: h = hash_string(h, k.name); break;
    default: break;
  }
  for (const Expr& a : k.args) h = mix(h, a.hash());
  return h;
}

bool same(const Node* n, const Key& k) {
  if (n->hash != k.hash || n->kind != k.kind || n->tag != k.tag || n->args.size() != k.args.size()) return false;
  for (std::size_t i = 0; i < k.args.size(); ++i)
    if (!(n->args[i] == k.args[i])) return false;
  switch (k.kind) {
    case Kind::Number: return std::get<mpq_class>(n->payload) == *k.number;
    case Kind::Float:
      return std::bit_cast<std::uint64_t>(std::get<double>(n->payload)) == std::bit_cast<std::uint64_t>(k.flt);
    case Kind::Symbol: return std::get<std::string>(n->payload) == k.name;
    default: return true;
  }
}

// One shard's set of nodes: open addressing with linear probing over (hash,
// node) slots, so a lookup rarely touches a node that does not match and an
// insert allocates nothing (a node-based set allocates per entry). Deletion
// shifts the following entries back, so there are no tombstones.
class NodeTable {
 public:
  Node* find(const Key& k) const noexcept {
    if (slots_.empty()) return nullptr;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = k.hash & mask; slots_[i].node != nullptr; i = (i + 1) & mask) {
      if (slots_[i].hash == k.hash && same(slots_[i].node, k)) return slots_[i].node;
    }
    return nullptr;
  }
  void insert(Node* n) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    place(n->hash, n);
    ++size_;
  }
  void erase(const Node* n) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = n->hash & mask;
    while (slots_[i].node != n) i = (i + 1) & mask;
    slots_[i] = Slot{};
    for (std::size_t j = (i + 1) & mask; slots_[j].node != nullptr; j = (j + 1) & mask) {
      const std::size_t home = slots_[j].hash & mask;
      // The entry at j may move into the hole at i unless its home lies
      // cyclically in (i, j].
      const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        slots_[j] = Slot{};
        i = j;
      }
    }
    --size_;
  }
  std::size_t size() const noexcept { return size_; }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    Node* node = nullptr;
  };
  void place(std::uint64_t hash, Node* n) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    while (slots_[i].node != nullptr) i = (i + 1) & mask;
    slots_[i] = Slot{hash, n};
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    for (const Slot& s : old)
      if (s.node != nullptr) place(s.hash, s.node);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

// Sharded so that threads building expressions rarely meet on one lock.
struct Shard {
  std::mutex mutex;
  NodeTable nodes;
};
constexpr std::size_t kShards = 64;

Shard* shards() {
  // Never destroyed: static Exprs may outlive any destruction order.
  static Shard* table = new Shard[kShards];
  return table;
}
Shard& shard_of(std::uint64_t hash) { return shards()[(hash >> 58) % kShards]; }

Expr intern(Key k) {
  k.hash = hash_key(k);
  Shard& s = shard_of(k.hash);
  std::lock_guard lock(s.mutex);
  if (Node* found = s.nodes.find(k)) {
    if (!found->immortal) found->refs.fetch_add(1, std::memory_order_relaxed);
    return Expr(found);
  }
  auto* n = new Node;
  n->immortal = k.immortal;
  n->kind = k.kind;
  n->tag = k.tag;
  n->hash = k.hash;
  if (k.owned != nullptr) {
    n->args = std::move(*k.owned);
  } else {
    n->args.assign(k.args.begin(), k.args.end());
  }
  switch (k.kind) {
    case Kind::Number: n->payload = *k.number; break;
    case Kind::Float: n->payload = k.flt; break;
    case Kind::Symbol: n->payload = std::string(k.name); break;
    default: break;
  }
  s.nodes.insert(n);
  return Expr(n);
}

void retain(Node* n) noexcept {
  if (!n->immortal) n->refs.fetch_add(1, std::memory_order_relaxed);
}

void release(Node* n) noexcept {
  if (n->immortal) return;
  // Counts above one drop without the lock; the last reference is dropped under
  // the shard's lock, where a concurrent lookup could otherwise revive the node.
  std::uint32_t c = n->refs.load(std::memory_order_relaxed);
  while (c > 1) {
    if (n->refs.compare_exchange_weak(c, c - 1, std::memory_order_acq_rel)) return;
  }
  Shard& s = shard_of(n->hash);
  {
    std::lock_guard lock(s.mutex);
    if (n->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    s.nodes.erase(n);
  }
  delete n;  // outside the lock: releasing the children may take this shard again
}

Expr make(Kind kind, std::span<const Expr> args, std::uint8_t tag = 0) {
  Key k;
  k.kind = kind;
  k.tag = tag;
  k.args = args;
  return intern(k);
}
// The same, moving the operands into the node when it is new (saves a
// reference-count round trip per operand).
Expr make_owned(Kind kind, std::vector<Expr>&& args) {
  Key k;
  k.kind = kind;
  k.args = args;
  k.owned = &args;
  return intern(k);
}

const Expr& cached(long v) {
  static const Expr zero = integer(0), one = integer(1), minus_one = integer(-1), two = integer(2);
  switch (v) {
    case 0: return zero;
    case 1: return one;
    case -1: return minus_one;
    default: return two;
  }
}

}  // namespace

// ---- Expr basics -------------------------------------------------------------

Expr::Expr() : Expr(cached(0)) {}
Expr::Expr(long value) : node_(nullptr) { *this = integer(value); }
Expr::Expr(const Expr& other) noexcept : node_(other.node_) {
  if (node_) retain(node_);
}
Expr& Expr::operator=(const Expr& other) noexcept {
  if (other.node_) retain(other.node_);
  if (node_) release(node_);
  node_ = other.node_;
  return *this;
}
Expr& Expr::operator=(Expr&& other) noexcept {
  if (this != &other) {
    if (node_) release(node_);
    node_ = std::exchange(other.node_, nullptr);
  }
  return *this;
}
Expr::~Expr() {
  if (node_) release(node_);
}

Kind Expr::kind() const noexcept { return node_->kind; }
bool Expr::is_integer() const noexcept {
  return kind() == Kind::Number && mpz_cmp_ui(number().get_den_mpz_t(), 1) == 0;
}
bool Expr::is_zero() const noexcept {
  return (kind() == Kind::Number && sgn(number()) == 0) || (kind() == Kind::Float && float_value() == 0.0);
}
bool Expr::is_one() const noexcept {
  return (kind() == Kind::Number && number() == 1) || (kind() == Kind::Float && float_value() == 1.0);
}
bool Expr::is_minus_one() const noexcept {
  return (kind() == Kind::Number && number() == -1) || (kind() == Kind::Float && float_value() == -1.0);
}
const mpq_class& Expr::number() const noexcept {
  assert(kind() == Kind::Number);
  return *std::get_if<mpq_class>(&node_->payload);
}
double Expr::float_value() const noexcept {
  assert(kind() == Kind::Float);
  return *std::get_if<double>(&node_->payload);
}
Constant Expr::constant() const noexcept { return static_cast<Constant>(node_->tag); }
const std::string& Expr::name() const noexcept {
  assert(kind() == Kind::Symbol);
  return *std::get_if<std::string>(&node_->payload);
}
Function Expr::function() const noexcept { return static_cast<Function>(node_->tag); }
Direction Expr::direction() const noexcept { return static_cast<Direction>(node_->tag); }
std::span<const Expr> Expr::args() const noexcept { return node_->args; }
std::uint64_t Expr::hash() const noexcept { return node_->hash; }

std::size_t Expr::dag_size() const {
  std::unordered_set<const Node*> seen;
  std::vector<const Expr*> stack{this};
  while (!stack.empty()) {
    const Expr* e = stack.back();
    stack.pop_back();
    if (!seen.insert(e->id()).second) continue;
    for (const Expr& a : e->args()) stack.push_back(&a);
  }
  return seen.size();
}

double Expr::tree_size() const {
  std::unordered_map<const Node*, double> memo;
  auto rec = [&](auto&& self, const Expr& e) -> double {
    if (auto it = memo.find(e.id()); it != memo.end()) return it->second;
    double s = 1;
    for (const Expr& a : e.args()) s += self(self, a);
    memo.emplace(e.id(), s);
    return s;
  };
  return rec(rec, *this);
}

std::size_t interned_count() {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards()[i].mutex);
    n += shards()[i].nodes.size();
  }
  return n;
}

std::string_view function_name(Function f) {
  static constexpr std::string_view names[kFunctionCount] = {"sin",  "cos",  "tan",  "exp",  "log",  "abs",
                                                             "asin", "acos", "atan", "sinh", "cosh", "tanh"};
  return names[static_cast<int>(f)];
}

// ---- order -------------------------------------------------------------------

namespace {

int sign_of(int c) { return (c > 0) - (c < 0); }

int compare_spans(std::span<const Expr> a, std::span<const Expr> b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (int c = compare(a[i], b[i])) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

}  // namespace

int compare(const Expr& a, const Expr& b) {
  if (a == b) return 0;
  if (a.kind() != b.kind()) return a.kind() < b.kind() ? -1 : 1;
  switch (a.kind()) {
    case Kind::Number: return sign_of(cmp(a.number(), b.number()));
    case Kind::Float: {
      const double x = a.float_value(), y = b.float_value();
      if (x != y) return x < y ? -1 : 1;
      return std::bit_cast<std::uint64_t>(x) < std::bit_cast<std::uint64_t>(y) ? -1 : 1;  // 0.0 vs -0.0
    }
    case Kind::Constant: return a.constant() < b.constant() ? -1 : 1;
    case Kind::Symbol: return sign_of(a.name().compare(b.name()));
    case Kind::Pow:
      // Bases first, so that powers of one symbol sort together by exponent.
      if (int c = compare(a.base(), b.base())) return c;
      return compare(a.exponent(), b.exponent());
    case Kind::Function:
      if (a.function() != b.function()) return a.function() < b.function() ? -1 : 1;
      break;
    case Kind::Limit:
      if (a.direction() != b.direction()) return a.direction() < b.direction() ? -1 : 1;
      break;
    default: break;
  }
  // Compound operands order by their content hash (the same in every run), so
  // comparing two deep expressions costs O(1), not a walk down both; equal
  // hashes of different nodes fall back to the structure.
  if (a.hash() != b.hash()) return a.hash() < b.hash() ? -1 : 1;
  return compare_spans(a.args(), b.args());
}

// ---- atoms -------------------------------------------------------------------

namespace {
Expr make_constant(Constant c) {
  Key k;
  k.kind = Kind::Constant;
  k.tag = static_cast<std::uint8_t>(c);
  k.immortal = true;
  return intern(k);
}
}  // namespace

namespace {
Expr intern_number(const mpq_class& value, bool immortal = false) {
  Key k;
  k.kind = Kind::Number;
  k.number = &value;
  k.immortal = immortal;
  return intern(k);
}
// Small integers (exponents, most coefficients) are looked up without the
// intern table: one node each, made once.
constexpr long kSmallMin = -64, kSmallMax = 1024;
const Expr* small_integers() {
  static const std::vector<Expr>* table = [] {
    auto* t = new std::vector<Expr>;  // never destroyed, like the intern table
    t->reserve(kSmallMax - kSmallMin + 1);
    for (long v = kSmallMin; v <= kSmallMax; ++v) t->push_back(intern_number(mpq_class(v), true));
    return t;
  }();
  return table->data();
}
}  // namespace

Expr integer(long value) {
  if (value >= kSmallMin && value <= kSmallMax) return small_integers()[value - kSmallMin];
  return intern_number(mpq_class(value));
}
Expr integer(const mpz_class& value) { return rational(mpq_class(value)); }
Expr rational(long num, long den) {
  if (den == 0) throw Error(Error::Kind::InvalidArgument, "rational number with denominator zero");
  mpq_class q(num, den);
  q.canonicalize();
  return rational(q);
}
Expr rational(const mpq_class& value) {
  if (mpz_cmp_ui(value.get_den_mpz_t(), 1) == 0 && mpz_fits_slong_p(value.get_num_mpz_t())) {
    const long v = mpz_get_si(value.get_num_mpz_t());
    if (v >= kSmallMin && v <= kSmallMax) return small_integers()[v - kSmallMin];
  }
  return intern_number(value);
}
Expr real(double value) {
  if (!std::isfinite(value))
    throw Error(Error::Kind::InvalidArgument, "floating-point value is not finite (" + std::to_string(value) + ")");
  Key k;
  k.kind = Kind::Float;
  k.flt = value == 0.0 ? 0.0 : value;  // one zero
  return intern(k);
}
Expr symbol(std::string_view name) {
  if (name.empty()) throw Error(Error::Kind::InvalidArgument, "symbol with an empty name");
  Key k;
  k.kind = Kind::Symbol;
  k.immortal = true;
  k.name = name;
  return intern(k);
}
Expr pi() {
  static const Expr c = make_constant(Constant::Pi);
  return c;
}
Expr e() {
  static const Expr c = make_constant(Constant::E);
  return c;
}
Expr imaginary_unit() {
  static const Expr c = make_constant(Constant::I);
  return c;
}
Expr infinity() {
  static const Expr c = make_constant(Constant::Infinity);
  return c;
}

// ---- numeric coefficients ----------------------------------------------------

namespace {

// A running numeric value: exact until a Float joins it.
struct Coef {
  bool is_float = false;
  mpq_class q = 0;
  double f = 0;

  static Coef of(const Expr& n) {
    Coef c;
    if (n.kind() == Kind::Float) {
      c.is_float = true;
      c.f = n.float_value();
    } else {
      c.q = n.number();
    }
    return c;
  }
  static Coef one() {
    Coef c;
    c.q = 1;
    return c;
  }
  void to_float() {
    if (!is_float) {
      is_float = true;
      f = q.get_d();
    }
  }
  void add(const Expr& n) {
    if (n.kind() == Kind::Number && !is_float) {
      q += n.number();
    } else {
      add(of(n));
    }
  }
  void mul(const Expr& n) {
    if (n.kind() == Kind::Number && !is_float) {
      q *= n.number();
    } else {
      mul(of(n));
    }
  }
  void add(const Coef& o) {
    if (is_float || o.is_float) {
      to_float();
      f += o.is_float ? o.f : o.q.get_d();
    } else {
      q += o.q;
    }
  }
  void mul(const Coef& o) {
    if (is_float || o.is_float) {
      to_float();
      f *= o.is_float ? o.f : o.q.get_d();
    } else {
      q *= o.q;
    }
  }
  bool zero() const { return is_float ? f == 0.0 : sgn(q) == 0; }
  bool one_exact() const { return !is_float && q == 1; }
  bool negative() const { return is_float ? f < 0 : sgn(q) < 0; }
  Expr expr() const { return is_float ? real(f) : rational(q); }
};

bool is_infinity(const Expr& x) { return x.kind() == Kind::Constant && x.constant() == Constant::Infinity; }
bool is_i(const Expr& x) { return x.kind() == Kind::Constant && x.constant() == Constant::I; }

// Term = coefficient * rest, without building `rest` as a node.
struct TermView {
  const Expr* coef = nullptr;  // null: coefficient 1
  std::span<const Expr> rest;
};
TermView view_term(const Expr& t) {
  if (t.kind() == Kind::Mul) {
    if (t[0].is_numeric()) return {&t[0], t.args().subspan(1)};
    return {nullptr, t.args()};
  }
  return {nullptr, std::span<const Expr>(&t, 1)};
}

std::uint64_t hash_span(std::span<const Expr> s) {
  std::uint64_t h = 0x51ed27;
  for (const Expr& e : s) h = mix(h, e.hash());
  return h;
}
bool equal_spans(std::span<const Expr> a, std::span<const Expr> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i])) return false;
  return true;
}

// The product coef * rest as a node (rest already a canonical factor list).
Expr make_term(const Coef& c, std::span<const Expr> rest) {
  if (c.one_exact()) {
    if (rest.size() == 1) return rest[0];
    return make(Kind::Mul, rest);
  }
  std::vector<Expr> f;
  f.reserve(rest.size() + 1);
  f.push_back(c.expr());
  f.insert(f.end(), rest.begin(), rest.end());
  return make(Kind::Mul, f);
}

void flatten_into(std::vector<Expr>& out, std::vector<Expr>&& in, Kind kind) {
  for (Expr& x : in) {
    if (x.kind() == kind) {
      out.insert(out.end(), x.args().begin(), x.args().end());
    } else {
      out.push_back(std::move(x));
    }
  }
}

}  // namespace

// ---- add ---------------------------------------------------------------------

namespace {

// Sorts non-numeric terms with distinct rests into canonical order and makes
// the sum (with the numeric term first, if any). Splits are computed once and
// indices sorted, so the views into `terms` stay valid.
Expr finish_sum(std::vector<Expr>&& terms, const Expr* constant) {
  // The order of terms is by the hash of their rest (content-based, so the same
  // in every run), then by `compare`: sums of thousands of terms sort on one
  // integer key. Printing shows terms by degree (print.hpp), not in this order.
  struct Keyed {
    std::uint64_t hash;
    TermView view;
  };
  std::vector<Keyed> keys;
  keys.reserve(terms.size());
  for (const Expr& t : terms) {
    const TermView v = view_term(t);
    keys.push_back({hash_span(v.rest), v});
  }
  std::vector<std::uint32_t> order(terms.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::uint32_t i, std::uint32_t j) {
    const Keyed &a = keys[i], &b = keys[j];
    if (a.hash != b.hash) return a.hash < b.hash;
    if (int c = compare_spans(a.view.rest, b.view.rest)) return c < 0;
    return compare(a.view.coef ? *a.view.coef : cached(1), b.view.coef ? *b.view.coef : cached(1)) < 0;
  });
  std::vector<Expr> out;
  out.reserve(terms.size() + 1);
  if (constant) out.push_back(*constant);
  for (std::uint32_t i : order) out.push_back(std::move(terms[i]));
  if (out.empty()) return cached(0);
  if (out.size() == 1) return out[0];
  return make_owned(Kind::Add, std::move(out));
}

// Open-addressing index from a term's rest to its group (no allocation per
// entry, unlike a node-based map).
class RestIndex {
 public:
  explicit RestIndex(std::size_t n) {
    std::size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    slots_.assign(cap, kEmpty);
    hashes_.resize(cap);
  }
  // The group of `rest`, or kEmpty after reserving the slot for `next_group`.
  template <typename RestOf>
  std::size_t find_or_insert(std::span<const Expr> rest, std::size_t next_group, const RestOf& rest_of) {
    const std::uint64_t h = hash_span(rest);
    std::size_t i = h & (slots_.size() - 1);
    while (slots_[i] != kEmpty) {
      if (hashes_[i] == h && equal_spans(rest_of(slots_[i]), rest)) return slots_[i];
      i = (i + 1) & (slots_.size() - 1);
    }
    slots_[i] = next_group;
    hashes_[i] = h;
    return kEmpty;
  }
  static constexpr std::size_t kEmpty = ~std::size_t{0};

 private:
  std::vector<std::size_t> slots_;
  std::vector<std::uint64_t> hashes_;
};

}  // namespace

Expr add(std::vector<Expr> terms) {
  if (terms.size() == 1) return terms[0];
  std::vector<Expr> flat;
  flat.reserve(terms.size());
  flatten_into(flat, std::move(terms), Kind::Add);

  Coef constant;
  bool pos_inf = false, neg_inf = false;
  struct Group {
    std::span<const Expr> rest;
    Coef coef;
    const Expr* original;  // the term itself while nothing was merged into it
    bool merged = false;
  };
  std::vector<Group> groups;
  groups.reserve(flat.size());
  RestIndex index(flat.size());
  auto rest_of = [&](std::size_t g) { return groups[g].rest; };

  for (const Expr& t : flat) {
    if (t.is_numeric()) {
      constant.add(t);
      continue;
    }
    const TermView v = view_term(t);
    if (v.rest.size() == 1 && is_infinity(v.rest[0])) {
      const Coef c = v.coef ? Coef::of(*v.coef) : Coef::one();
      (c.negative() ? neg_inf : pos_inf) = true;
      continue;
    }
    const std::size_t g = index.find_or_insert(v.rest, groups.size(), rest_of);
    if (g == RestIndex::kEmpty) {
      groups.push_back({v.rest, v.coef ? Coef::of(*v.coef) : Coef::one(), &t});
    } else {
      if (v.coef) {
        groups[g].coef.add(*v.coef);
      } else {
        groups[g].coef.add(Coef::one());
      }
      groups[g].merged = true;
    }
  }
  if (pos_inf && neg_inf) throw Error(Error::Kind::InvalidArgument, "undefined sum: oo - oo (infinity minus infinity)");
  if (pos_inf) return infinity();
  if (neg_inf) return make(Kind::Mul, std::vector<Expr>{cached(-1), infinity()});

  std::vector<Expr> out;
  out.reserve(groups.size());
  for (Group& g : groups) {
    if (g.coef.zero()) continue;
    out.push_back(g.merged ? make_term(g.coef, g.rest) : *g.original);
  }
  if (constant.zero()) {
    if (out.empty()) return constant.is_float ? real(0.0) : cached(0);
    return finish_sum(std::move(out), nullptr);
  }
  const Expr c = constant.expr();
  return finish_sum(std::move(out), &c);
}

Expr add_canonical(std::vector<Expr> terms) {
  if (terms.empty()) return cached(0);
  Expr constant;
  bool has_constant = false;
  std::vector<Expr> rest;
  rest.reserve(terms.size());
  for (Expr& t : terms) {
    assert(t.kind() != Kind::Add && !t.is_zero());
    if (t.is_numeric()) {
      assert(!has_constant);
      constant = std::move(t);
      has_constant = true;
    } else {
      rest.push_back(std::move(t));
    }
  }
  return finish_sum(std::move(rest), has_constant ? &constant : nullptr);
}

// ---- mul ---------------------------------------------------------------------

namespace {

bool factor_less(const Expr& a, const Expr& b) {
  const Expr& ba = a.kind() == Kind::Pow ? a.args()[0] : a;
  const Expr& bb = b.kind() == Kind::Pow ? b.args()[0] : b;
  if (int c = compare(ba, bb)) return c < 0;
  return compare(a.kind() == Kind::Pow ? a.args()[1] : cached(1), b.kind() == Kind::Pow ? b.args()[1] : cached(1)) < 0;
}

void sort_factors(std::vector<Expr>& factors) {
  if (factors.size() < 2) return;
  if (factors.size() <= 8) {  // the common case: insertion sort, no allocation
    for (std::size_t i = 1; i < factors.size(); ++i)
      for (std::size_t j = i; j > 0 && factor_less(factors[j], factors[j - 1]); --j)
        std::swap(factors[j], factors[j - 1]);
    return;
  }
  const std::size_t n = factors.size();
  std::vector<std::pair<const Expr*, const Expr*>> keys(n);  // base, exponent
  for (std::size_t i = 0; i < n; ++i) {
    const Expr& f = factors[i];
    keys[i] = f.kind() == Kind::Pow ? std::make_pair(&f.args()[0], &f.args()[1]) : std::make_pair(&f, &cached(1));
  }
  std::vector<std::uint32_t> order(n);
  for (std::uint32_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::uint32_t i, std::uint32_t j) {
    if (int c = compare(*keys[i].first, *keys[j].first)) return c < 0;
    return compare(*keys[i].second, *keys[j].second) < 0;
  });
  std::vector<Expr> sorted;
  sorted.reserve(n);
  for (std::uint32_t i : order) sorted.push_back(factors[i]);
  factors.swap(sorted);
}

}  // namespace

namespace {

// The common product: exact numbers and factors with pairwise distinct bases
// (the parser's terms, the poly converter's monomials). Nothing to collect, so
// fold the numbers, sort, and intern; anything else goes the general way.
std::optional<Expr> mul_simple(const std::vector<Expr>& factors) {
  constexpr std::size_t kMax = 12;
  std::array<const Expr*, kMax> items{};
  std::size_t n = 0;
  // Numbers: one is used as it is; only a second one costs rational arithmetic
  // (and -1 times c is a negation, the parser's and operator-'s common case).
  const Expr* number = nullptr;
  mpq_class folded;
  bool have_folded = false;
  auto take = [&](const Expr& e) {
    if (e.kind() == Kind::Number) {
      if (number == nullptr && !have_folded) {
        number = &e;
      } else {
        const mpq_class& q = have_folded ? folded : number->number();
        if (e.is_minus_one()) {
          folded = -q;
        } else if (q == -1) {
          folded = -e.number();
        } else {
          folded = q * e.number();
        }
        have_folded = true;
        number = nullptr;
      }
      return true;
    }
    if (e.kind() == Kind::Float || is_infinity(e) || n == kMax) return false;
    const Expr& base = e.kind() == Kind::Pow ? e.args()[0] : e;
    for (std::size_t i = 0; i < n; ++i) {
      const Expr& other = items[i]->kind() == Kind::Pow ? items[i]->args()[0] : *items[i];
      if (other == base) return false;
    }
    items[n++] = &e;
    return true;
  };
  for (const Expr& f : factors) {
    if (f.kind() == Kind::Mul) {
      for (const Expr& a : f.args())
        if (!take(a)) return std::nullopt;
    } else if (!take(f)) {
      return std::nullopt;
    }
  }
  Expr coefficient = have_folded ? rational(folded) : (number ? *number : cached(1));
  if (coefficient.is_zero()) return cached(0);
  if (n == 0) return coefficient;
  const bool unit = coefficient.is_one();
  if (n == 1) {
    if (unit) return *items[0];
    if (items[0]->kind() == Kind::Add) return std::nullopt;  // distributes
  }
  for (std::size_t i = 1; i < n; ++i)
    for (std::size_t j = i; j > 0 && factor_less(*items[j], *items[j - 1]); --j) std::swap(items[j], items[j - 1]);
  std::vector<Expr> out;
  out.reserve(n + 1);
  if (!unit) out.push_back(std::move(coefficient));
  for (std::size_t i = 0; i < n; ++i) out.push_back(*items[i]);
  return make_owned(Kind::Mul, std::move(out));
}

}  // namespace

Expr mul(std::vector<Expr> factors) {
  if (factors.size() == 1) return factors[0];
  if (factors.size() <= 8) {
    if (auto simple = mul_simple(factors)) return *simple;
  }
  std::vector<Expr> flat;
  flat.reserve(factors.size() + 4);
  flatten_into(flat, std::move(factors), Kind::Mul);

  Coef coef = Coef::one();
  bool has_infinity = false;
  struct Group {
    const Expr* base;
    std::vector<Expr> exponents;  // empty: the original factor's exponent alone
    const Expr* original;
  };
  std::vector<Group> groups;
  groups.reserve(flat.size());
  std::unordered_map<const Node*, std::size_t> index;  // only for long products
  const bool use_index = flat.size() > 16;

  for (const Expr& f : flat) {
    if (f.is_numeric()) {
      coef.mul(f);
      continue;
    }
    if (is_infinity(f)) {
      has_infinity = true;
      continue;
    }
    const Expr* base = f.kind() == Kind::Pow ? &f.args()[0] : &f;
    std::size_t g = groups.size();
    if (use_index) {
      g = index.emplace(base->id(), groups.size()).first->second;
    } else {
      for (std::size_t i = 0; i < groups.size(); ++i) {
        if (*groups[i].base == *base) {
          g = i;
          break;
        }
      }
    }
    if (g == groups.size()) {
      groups.push_back({base, {}, &f});
    } else {
      Group& grp = groups[g];
      if (grp.exponents.empty()) grp.exponents.push_back(split_power(*grp.original).second);
      grp.exponents.push_back(split_power(f).second);
      grp.original = nullptr;
    }
  }
  if (has_infinity) {
    if (coef.zero()) throw Error(Error::Kind::InvalidArgument, "undefined product: 0 * oo");
    // Signs of the other factors are unknown, so only a numeric product folds.
    if (groups.empty()) {
      return coef.negative() ? make(Kind::Mul, std::vector<Expr>{cached(-1), infinity()}) : infinity();
    }
    static const Expr inf = infinity();
    groups.push_back({&inf, {}, &inf});
  }
  if (coef.zero()) return coef.is_float ? real(0.0) : cached(0);

  std::vector<Expr> out;
  out.reserve(groups.size() + 1);
  bool recombine = false;  // pow() gave a product with new numeric factors
  for (Group& g : groups) {
    Expr p = g.original ? *g.original : pow(*g.base, add(std::move(g.exponents)));
    if (p.is_numeric()) {
      coef.mul(p);
    } else if (p.kind() == Kind::Mul) {
      for (const Expr& a : p.args()) {
        if (a.is_numeric()) {
          coef.mul(a);
        } else {
          out.push_back(a);
          recombine = true;
        }
      }
    } else {
      out.push_back(std::move(p));
    }
  }
  if (recombine) {
    out.push_back(coef.expr());
    return mul(std::move(out));
  }
  if (coef.zero()) return coef.is_float ? real(0.0) : cached(0);
  if (out.empty()) return coef.expr();
  if (out.size() == 1) {
    if (coef.one_exact()) return out[0];
    // A number times a sum distributes (2*(x + 1) -> 2*x + 2), so that
    // differences of sums cancel and -(a - b) is b - a.
    if (out[0].kind() == Kind::Add) {
      std::vector<Expr> terms;
      terms.reserve(out[0].size());
      const Expr c = coef.expr();
      for (const Expr& t : out[0].args()) terms.push_back(mul({c, t}));
      return add(std::move(terms));
    }
  }
  sort_factors(out);
  if (!coef.one_exact()) out.insert(out.begin(), coef.expr());
  return make_owned(Kind::Mul, std::move(out));
}

Expr mul_canonical(std::vector<Expr> factors) {
  assert(!factors.empty());
  if (factors.size() == 1) return factors[0];
  const std::size_t first = factors[0].is_numeric() ? 1 : 0;
  if (factors.size() - first <= 8) {
    for (std::size_t i = first + 1; i < factors.size(); ++i)
      for (std::size_t j = i; j > first && factor_less(factors[j], factors[j - 1]); --j)
        std::swap(factors[j], factors[j - 1]);
    return make_owned(Kind::Mul, std::move(factors));
  }
  std::vector<Expr> rest(factors.begin() + static_cast<std::ptrdiff_t>(first), factors.end());
  sort_factors(rest);
  if (first) rest.insert(rest.begin(), factors[0]);
  return make_owned(Kind::Mul, std::move(rest));
}

// ---- pow ---------------------------------------------------------------------

namespace {

// Exact b^e for rational b and integer e, refusing results beyond ~64 Mbit.
Expr rational_power(const mpq_class& b, long e) {
  const double bits = std::abs(static_cast<double>(e)) *
                      static_cast<double>(mpz_sizeinbase(b.get_num_mpz_t(), 2) + mpz_sizeinbase(b.get_den_mpz_t(), 2));
  if (bits > 64.0 * 1024 * 1024)
    throw Error(Error::Kind::InvalidArgument,
                "number too large: a power with about " + std::to_string(static_cast<long>(bits)) + " bits");
  mpz_class num, den;
  const unsigned long n = static_cast<unsigned long>(e < 0 ? -e : e);
  mpz_pow_ui(num.get_mpz_t(), b.get_num_mpz_t(), n);
  mpz_pow_ui(den.get_mpz_t(), b.get_den_mpz_t(), n);
  mpq_class r = e < 0 ? mpq_class(den, num) : mpq_class(num, den);
  r.canonicalize();
  return rational(r);
}

// Exact q-th root of a nonnegative rational, if it is one.
bool exact_root(const mpq_class& b, unsigned long q, mpq_class& out) {
  mpz_class rn, rd;
  if (!mpz_root(rn.get_mpz_t(), b.get_num_mpz_t(), q)) return false;
  if (!mpz_root(rd.get_mpz_t(), b.get_den_mpz_t(), q)) return false;
  out = mpq_class(rn, rd);
  out.canonicalize();
  return true;
}

Expr number_power(const Expr& b, const Expr& e) {
  if (b.kind() == Kind::Float || e.kind() == Kind::Float) {
    const double x = b.kind() == Kind::Float ? b.float_value() : b.number().get_d();
    const double y = e.kind() == Kind::Float ? e.float_value() : e.number().get_d();
    if (x < 0 && !(e.is_integer() || (e.kind() == Kind::Float && y == std::floor(y))))
      return make(Kind::Pow, std::vector<Expr>{b, e});
    if (x == 0 && y < 0) throw Error(Error::Kind::InvalidArgument, "division by zero: 0 raised to a negative power");
    return real(std::pow(x, y));
  }
  const mpq_class& q = b.number();
  const mpq_class& x = e.number();
  if (sgn(q) == 0) {
    if (sgn(x) < 0) throw Error(Error::Kind::InvalidArgument, "division by zero: 0 raised to a negative power");
    return cached(0);
  }
  if (e.is_integer()) {
    if (!x.get_num().fits_slong_p()) throw Error(Error::Kind::InvalidArgument, "exponent too large for an exact power");
    return rational_power(q, x.get_num().get_si());
  }
  // Rational exponent p/r: split off the integer part, then try an exact root.
  mpz_class p = x.get_num(), r = x.get_den();
  if (!r.fits_ulong_p() || !p.fits_slong_p()) return make(Kind::Pow, std::vector<Expr>{b, e});
  mpz_class whole;
  mpz_fdiv_q(whole.get_mpz_t(), p.get_mpz_t(), r.get_mpz_t());  // floor
  mpq_class frac = x - mpq_class(whole);
  if (sgn(q) < 0) {
    // (-b)^(1/2) = i * b^(1/2); other roots of negatives stay as they are.
    if (r == 2) {
      Expr positive = pow(rational(-q), e);
      return mul({positive, pow(imaginary_unit(), integer(p))});
    }
    return make(Kind::Pow, std::vector<Expr>{b, e});
  }
  mpq_class root;
  const unsigned long rr = r.get_ui();
  if (exact_root(q, rr, root)) return rational_power(root, p.get_si());
  Expr fractional = make(Kind::Pow, std::vector<Expr>{b, rational(frac)});
  if (whole == 0) return fractional;
  Expr w = rational_power(q, whole.get_si());
  return make(Kind::Mul, std::vector<Expr>{w, fractional});
}

}  // namespace

Expr pow(const Expr& b, const Expr& x) {
  if (x.is_zero()) return x.kind() == Kind::Float || b.kind() == Kind::Float ? real(1.0) : cached(1);
  if (x.is_one() && x.kind() == Kind::Number) return b;
  if (b.is_one() && b.kind() == Kind::Number) return cached(1);
  if (b.is_numeric() && x.is_numeric()) return number_power(b, x);
  if (b.is_zero() && b.kind() == Kind::Number) {
    // 0^x for symbolic x stays; 0^oo = 0.
    if (is_infinity(x)) return cached(0);
    return make(Kind::Pow, std::vector<Expr>{b, x});
  }
  if (is_i(b) && x.is_integer()) {
    mpz_class r;
    mpz_fdiv_r_ui(r.get_mpz_t(), x.number().get_num_mpz_t(), 4);
    switch (r.get_ui()) {
      case 0: return cached(1);
      case 1: return imaginary_unit();
      case 2: return cached(-1);
      default: return make(Kind::Mul, std::vector<Expr>{cached(-1), imaginary_unit()});
    }
  }
  if (is_infinity(b) && x.is_numeric()) {
    const bool positive = x.kind() == Kind::Float ? x.float_value() > 0 : sgn(x.number()) > 0;
    return positive ? infinity() : cached(0);
  }
  if (b.kind() == Kind::Constant && b.constant() == Constant::E) return exp(x);
  if (b.kind() == Kind::Pow && x.is_integer()) return pow(b.base(), mul({b.exponent(), x}));
  if (b.kind() == Kind::Mul && x.is_integer()) {
    std::vector<Expr> f;
    f.reserve(b.size());
    for (const Expr& a : b.args()) f.push_back(pow(a, x));
    return mul(std::move(f));
  }
  if (b.kind() == Kind::Function && b.function() == Function::Exp && x.is_integer()) return exp(mul({b[0], x}));
  return make(Kind::Pow, std::vector<Expr>{b, x});
}

Expr sqrt(const Expr& x) { return pow(x, rational(1, 2)); }

// ---- functions -----------------------------------------------------------------

namespace {

bool odd_function(Function f) {
  switch (f) {
    case Function::Sin:
    case Function::Tan:
    case Function::Asin:
    case Function::Atan:
    case Function::Sinh:
    case Function::Tanh: return true;
    default: return false;
  }
}
bool even_function(Function f) { return f == Function::Cos || f == Function::Cosh || f == Function::Abs; }

// Does x print with a leading minus (negative coefficient on its first term)?
bool looks_negative(const Expr& x) {
  if (x.kind() == Kind::Number) return sgn(x.number()) < 0;
  if (x.kind() == Kind::Float) return x.float_value() < 0;
  if (x.kind() == Kind::Mul) return x[0].is_numeric() && looks_negative(x[0]);
  if (x.kind() == Kind::Add) {
    for (const Expr& t : x.args())
      if (!t.is_numeric()) return looks_negative(t);
  }
  return false;
}

std::optional<double> float_function(Function f, double v) {
  double r = 0;
  switch (f) {
    case Function::Sin: r = std::sin(v); break;
    case Function::Cos: r = std::cos(v); break;
    case Function::Tan: r = std::tan(v); break;
    case Function::Exp: r = std::exp(v); break;
    case Function::Log:
      if (v <= 0) return std::nullopt;
      r = std::log(v);
      break;
    case Function::Abs: r = std::fabs(v); break;
    case Function::Asin:
      if (v < -1 || v > 1) return std::nullopt;
      r = std::asin(v);
      break;
    case Function::Acos:
      if (v < -1 || v > 1) return std::nullopt;
      r = std::acos(v);
      break;
    case Function::Atan: r = std::atan(v); break;
    case Function::Sinh: r = std::sinh(v); break;
    case Function::Cosh: r = std::cosh(v); break;
    case Function::Tanh: r = std::tanh(v); break;
  }
  if (!std::isfinite(r)) return std::nullopt;
  return r;
}

// sin/cos/tan at rational multiples of pi with denominator 1, 2, 3, 4 or 6.
std::optional<Expr> trig_at_pi_multiple(Function f, const Expr& arg) {
  if (f != Function::Sin && f != Function::Cos && f != Function::Tan) return std::nullopt;
  mpq_class k;
  if (arg.kind() == Kind::Constant && arg.constant() == Constant::Pi) {
    k = 1;
  } else if (arg.kind() == Kind::Mul && arg.size() == 2 && arg[0].is_number() && arg[1] == pi()) {
    k = arg[0].number();
  } else {
    return std::nullopt;
  }
  // Reduce k mod 2 into [0, 2) and express as n/12.
  mpq_class twelve = k * 12;
  if (twelve.get_den() != 1) return std::nullopt;
  mpz_class n;
  mpz_fdiv_r_ui(n.get_mpz_t(), twelve.get_num_mpz_t(), 24);
  const long m = n.get_si();                          // angle = m * pi / 12
  if (m % 2 != 0 && m % 3 != 0) return std::nullopt;  // only multiples of pi/6 and pi/4
  const Expr half = rational(1, 2);
  // sin at t twelfths of pi, for t a multiple of 2 or 3.
  auto sin_at = [&](long t) -> Expr {
    long u = ((t % 24) + 24) % 24;
    Expr sign = cached(1);
    if (u >= 12) {
      u -= 12;
      sign = cached(-1);
    }
    if (u > 6) u = 12 - u;
    Expr v;
    switch (u) {
      case 0: v = cached(0); break;
      case 2: v = half; break;
      case 3: v = mul({half, sqrt(integer(2))}); break;
      case 4: v = mul({half, sqrt(integer(3))}); break;
      default: v = cached(1); break;  // u == 6
    }
    return mul({sign, v});
  };
  if (f == Function::Sin) return sin_at(m);
  if (f == Function::Cos) return sin_at(m + 6);
  Expr c = sin_at(m + 6);
  if (c.is_zero()) return std::nullopt;  // tan(pi/2) is undefined: keep unevaluated
  return mul({sin_at(m), pow(c, cached(-1))});
}

// asin/acos/atan at the sines and tangents of pi/6, pi/4, pi/3 (and their
// negatives: acos(-v) = pi - acos(v); asin and atan are odd, handled by the caller).
std::optional<Expr> inverse_trig_special(Function f, const Expr& x) {
  if (f != Function::Asin && f != Function::Acos && f != Function::Atan) return std::nullopt;
  static const std::vector<std::pair<Expr, long>> sines = {
      {rational(1, 2), 6}, {mul({rational(1, 2), sqrt(integer(2))}), 4}, {mul({rational(1, 2), sqrt(integer(3))}), 3}};
  static const std::vector<std::pair<Expr, long>> tangents = {{mul({rational(1, 3), sqrt(integer(3))}), 6},
                                                              {sqrt(integer(3)), 3}};
  if (f == Function::Acos && looks_negative(x)) {
    if (auto v = inverse_trig_special(f, mul({cached(-1), x}))) return add({pi(), mul({cached(-1), *v})});
    return std::nullopt;
  }
  for (const auto& [value, denominator] : f == Function::Atan ? tangents : sines) {
    if (!(value == x)) continue;
    const Expr angle = mul({rational(1, denominator), pi()});  // asin(v) / atan(v)
    if (f == Function::Acos) return add({mul({rational(1, 2), pi()}), mul({cached(-1), angle})});
    return angle;
  }
  return std::nullopt;
}

}  // namespace

Expr apply(Function f, const Expr& x) {
  if (is_infinity(x)) {
    if (f == Function::Exp || f == Function::Log || f == Function::Sinh || f == Function::Cosh || f == Function::Abs)
      return infinity();
    if (f == Function::Atan) return mul({rational(1, 2), pi()});
    if (f == Function::Tanh) return cached(1);
  }
  if (x.kind() == Kind::Float) {
    if (auto v = float_function(f, x.float_value())) return real(*v);
  }
  if (x.is_zero() && x.kind() == Kind::Number) {
    switch (f) {
      case Function::Cos:
      case Function::Exp:
      case Function::Cosh: return cached(1);
      case Function::Acos: return mul({rational(1, 2), pi()});
      case Function::Log: throw Error(Error::Kind::InvalidArgument, "log(0) is undefined");
      default: return cached(0);  // sin tan abs asin atan sinh tanh
    }
  }
  if (x.is_one() && x.kind() == Kind::Number) {
    switch (f) {
      case Function::Log: return cached(0);
      case Function::Exp: return e();
      case Function::Abs: return cached(1);
      case Function::Asin: return mul({rational(1, 2), pi()});
      case Function::Acos: return cached(0);
      case Function::Atan: return mul({rational(1, 4), pi()});
      default: break;
    }
  }
  if (f == Function::Abs) {
    if (x.kind() == Kind::Number) return rational(mpq_class(::abs(x.number())));
    if (x.kind() == Kind::Constant && x.constant() != Constant::I) return x;
    if (x.kind() == Kind::Function &&
        (x.function() == Function::Abs || x.function() == Function::Exp || x.function() == Function::Cosh))
      return x;
  }
  if (f == Function::Log && x.kind() == Kind::Constant && x.constant() == Constant::E) return cached(1);
  if (f == Function::Log && x.kind() == Kind::Function && x.function() == Function::Exp) return x[0];
  if (f == Function::Exp && x.kind() == Kind::Function && x.function() == Function::Log) return x[0];
  if (auto v = trig_at_pi_multiple(f, x)) return *v;
  if (auto v = inverse_trig_special(f, x)) return *v;
  if (looks_negative(x)) {
    if (odd_function(f)) return mul({cached(-1), apply(f, mul({cached(-1), x}))});
    if (even_function(f)) return apply(f, mul({cached(-1), x}));
  }
  return make(Kind::Function, std::span<const Expr>(&x, 1), static_cast<std::uint8_t>(f));
}

// ---- unevaluated operations ----------------------------------------------------

namespace {
void require_symbol(const Expr& var, const char* what) {
  if (!var.is_symbol())
    throw Error(Error::Kind::InvalidArgument, std::string(what).append(": the variable must be a symbol"));
}
}  // namespace

Expr derivative(const Expr& f, const Expr& var, long order) {
  require_symbol(var, "derivative");
  if (order < 0) throw Error(Error::Kind::InvalidArgument, "derivative: the order must be >= 0");
  if (order == 0) return f;
  return make(Kind::Derivative, std::vector<Expr>{f, var, integer(order)});
}
Expr integral(const Expr& f, const Expr& var) {
  require_symbol(var, "integral");
  return make(Kind::Integral, std::vector<Expr>{f, var});
}
Expr integral(const Expr& f, const Expr& var, const Expr& lower, const Expr& upper) {
  require_symbol(var, "integral");
  return make(Kind::Integral, std::vector<Expr>{f, var, lower, upper});
}
Expr limit(const Expr& f, const Expr& var, const Expr& point, Direction dir) {
  require_symbol(var, "limit");
  return make(Kind::Limit, std::vector<Expr>{f, var, point}, static_cast<std::uint8_t>(dir));
}

Expr rebuild(const Expr& like, std::vector<Expr> args) {
  if (equal_spans(like.args(), args)) return like;
  switch (like.kind()) {
    case Kind::Add: return add(std::move(args));
    case Kind::Mul: return mul(std::move(args));
    case Kind::Pow: return pow(args[0], args[1]);
    case Kind::Function: return apply(like.function(), args[0]);
    case Kind::Derivative: {
      if (!args[1].is_symbol() || !args[2].is_integer()) return make(Kind::Derivative, args);
      return derivative(args[0], args[1], args[2].number().get_num().get_si());
    }
    case Kind::Integral:
      if (!args[1].is_symbol()) return make(Kind::Integral, args);
      return args.size() == 2 ? integral(args[0], args[1]) : integral(args[0], args[1], args[2], args[3]);
    case Kind::Limit:
      if (!args[1].is_symbol()) return make(Kind::Limit, args, static_cast<std::uint8_t>(like.direction()));
      return limit(args[0], args[1], args[2], like.direction());
    default: return like;  // atoms have no operands
  }
}

// ---- operators -----------------------------------------------------------------

Expr operator+(const Expr& a, const Expr& b) { return add({a, b}); }
Expr operator-(const Expr& a, const Expr& b) { return add({a, mul({cached(-1), b})}); }
Expr operator*(const Expr& a, const Expr& b) { return mul({a, b}); }
Expr operator/(const Expr& a, const Expr& b) {
  if (b.is_zero()) throw Error(Error::Kind::InvalidArgument, "division by zero");
  return mul({a, pow(b, cached(-1))});
}
Expr operator-(const Expr& a) { return mul({cached(-1), a}); }

// ---- decomposition -------------------------------------------------------------

std::pair<Expr, Expr> split_coefficient(const Expr& x) {
  if (x.is_numeric()) return {x, cached(1)};
  if (x.kind() == Kind::Mul && x[0].is_numeric()) {
    auto rest = x.args().subspan(1);
    if (rest.size() == 1) return {x[0], rest[0]};
    return {x[0], make(Kind::Mul, rest)};
  }
  return {cached(1), x};
}

std::pair<Expr, Expr> split_power(const Expr& x) {
  if (x.kind() == Kind::Pow) return {x.base(), x.exponent()};
  return {x, cached(1)};
}

std::pair<Expr, Expr> numerator_denominator(const Expr& x) {
  auto negative_exponent = [](const Expr& ex) {
    return (ex.kind() == Kind::Number && sgn(ex.number()) < 0) || (ex.kind() == Kind::Float && ex.float_value() < 0) ||
           (ex.kind() == Kind::Mul && ex[0].is_numeric() && looks_negative(ex[0]));
  };
  std::vector<Expr> num, den;
  auto one = [&](const Expr& f) {
    if (f.kind() == Kind::Number) {
      num.push_back(integer(f.number().get_num()));
      den.push_back(integer(f.number().get_den()));
    } else if (f.kind() == Kind::Pow && negative_exponent(f.exponent())) {
      den.push_back(pow(f.base(), -f.exponent()));
    } else {
      num.push_back(f);
    }
  };
  if (x.kind() == Kind::Mul) {
    for (const Expr& f : x.args()) one(f);
  } else {
    one(x);
  }
  return {mul(std::move(num)), mul(std::move(den))};
}

// ---- queries and rewrites ------------------------------------------------------

namespace {
template <typename Visit>
void visit_dag(const Expr& x, Visit&& visit) {
  std::unordered_set<const Node*> seen;
  std::vector<const Expr*> stack{&x};
  while (!stack.empty()) {
    const Expr* e = stack.back();
    stack.pop_back();
    if (!seen.insert(e->id()).second) continue;
    if (!visit(*e)) return;
    for (const Expr& a : e->args()) stack.push_back(&a);
  }
}
}  // namespace

bool depends_on(const Expr& x, const Expr& var) {
  bool found = false;
  visit_dag(x, [&](const Expr& e) {
    if (e == var) found = true;
    return !found;
  });
  return found;
}

std::vector<Expr> free_symbols(const Expr& x) {
  std::vector<Expr> out;
  visit_dag(x, [&](const Expr& e) {
    if (e.is_symbol()) out.push_back(e);
    return true;
  });
  // Bound variables of unevaluated operations are not free, unless they also
  // occur outside them; keeping them is the conservative answer for callers.
  std::sort(out.begin(), out.end(), ExprLess{});
  return out;
}

bool is_polynomial(const Expr& x, std::span<const Expr> vars) {
  auto is_var = [&](const Expr& e) { return std::find(vars.begin(), vars.end(), e) != vars.end(); };
  auto free_of_vars = [&](const Expr& e) {
    for (const Expr& v : vars)
      if (depends_on(e, v)) return false;
    return true;
  };
  auto rec = [&](auto&& self, const Expr& e) -> bool {
    if (is_var(e) || free_of_vars(e)) return true;
    switch (e.kind()) {
      case Kind::Add:
      case Kind::Mul:
        for (const Expr& a : e.args())
          if (!self(self, a)) return false;
        return true;
      case Kind::Pow: return e.exponent().is_integer() && sgn(e.exponent().number()) > 0 && self(self, e.base());
      default: return false;
    }
  };
  return rec(rec, x);
}

bool contains_float(const Expr& x) {
  bool found = false;
  visit_dag(x, [&](const Expr& e) {
    if (e.kind() == Kind::Float) found = true;
    return !found;
  });
  return found;
}

Expr map_bottom_up(const Expr& x, const std::function<Expr(const Expr&)>& f) {
  std::unordered_map<const Node*, Expr> memo;
  auto rec = [&](auto&& self, const Expr& e) -> Expr {
    if (auto it = memo.find(e.id()); it != memo.end()) return it->second;
    Expr r;
    if (e.args().empty()) {
      r = f(e);
    } else {
      std::vector<Expr> args;
      args.reserve(e.size());
      for (const Expr& a : e.args()) args.push_back(self(self, a));
      r = f(rebuild(e, std::move(args)));
    }
    memo.emplace(e.id(), r);
    return r;
  };
  return rec(rec, x);
}

Expr substitute(const Expr& x, const Substitution& rules) {
  if (rules.empty()) return x;
  std::unordered_map<const Node*, Expr> table;
  for (const auto& [from, to] : rules) table.emplace(from.id(), to);
  std::unordered_map<const Node*, Expr> memo;
  auto rec = [&](auto&& self, const Expr& e) -> Expr {
    if (auto it = table.find(e.id()); it != table.end()) return it->second;
    if (e.args().empty()) return e;
    if (auto it = memo.find(e.id()); it != memo.end()) return it->second;
    std::vector<Expr> args;
    args.reserve(e.size());
    for (const Expr& a : e.args()) args.push_back(self(self, a));
    Expr r = rebuild(e, std::move(args));
    memo.emplace(e.id(), r);
    return r;
  };
  return rec(rec, x);
}

Expr substitute(const Expr& x, const Expr& from, const Expr& to) { return substitute(x, Substitution{{from, to}}); }

}  // namespace miso::mprime
