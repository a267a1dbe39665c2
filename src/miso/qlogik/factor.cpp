#include "miso/qlogik/factor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "miso/core/error.hpp"
#include "miso/core/memory.hpp"
#include "miso/nexus/parallel.hpp"

namespace miso::qlogik {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

// Outputs at least this large are computed in parallel.
constexpr std::int64_t kParallelEntries = std::int64_t{1} << 16;

// Walks the flat indices [begin, end) of a table with cardinalities `cards`
// (row-major), keeping the matching offsets of two operands whose strides along
// each dimension are sa and sb; calls fn(i, ia, ib) per entry. The innermost
// dimension is a tight loop.
template <typename Fn>
void walk2(const std::vector<std::int64_t>& cards, const std::vector<std::int64_t>& sa,
           const std::vector<std::int64_t>& sb, std::int64_t begin, std::int64_t end, Fn&& fn) {
  const std::size_t nd = cards.size();
  if (nd == 0) {
    if (begin < end) fn(std::int64_t{0}, std::int64_t{0}, std::int64_t{0});
    return;
  }
  std::vector<std::int64_t> idx(nd);
  std::int64_t ia = 0, ib = 0;
  {
    std::int64_t r = begin;
    for (std::size_t d = nd; d-- > 0;) {
      idx[d] = r % cards[d];
      r /= cards[d];
      ia += idx[d] * sa[d];
      ib += idx[d] * sb[d];
    }
  }
  const std::int64_t inner = cards[nd - 1], ia_step = sa[nd - 1], ib_step = sb[nd - 1];
  std::int64_t i = begin;
  while (i < end) {
    const std::int64_t run = std::min(inner - idx[nd - 1], end - i);
    for (std::int64_t k = 0; k < run; ++k) fn(i + k, ia + k * ia_step, ib + k * ib_step);
    i += run;
    ia += run * ia_step;
    ib += run * ib_step;
    idx[nd - 1] += run;
    // Carry into the outer dimensions.
    for (std::size_t d = nd - 1; d > 0 && idx[d] == cards[d]; --d) {
      ia -= cards[d] * sa[d];
      ib -= cards[d] * sb[d];
      idx[d] = 0;
      ++idx[d - 1];
      ia += sa[d - 1];
      ib += sb[d - 1];
    }
  }
}

template <typename Body>
void maybe_parallel(std::int64_t n, const Body& body) {
  if (n >= kParallelEntries) {
    nexus::parallel_for(0, static_cast<std::size_t>(n), [&](std::size_t b, std::size_t e) {
      body(static_cast<std::int64_t>(b), static_cast<std::int64_t>(e));
    });
  } else {
    body(0, n);
  }
}

// Strides of `f` along the dimensions of a scope `vars` (0 where f lacks the variable).
std::vector<std::int64_t> strides_in(const Factor& f, const std::vector<VarId>& vars) {
  std::vector<std::int64_t> s(vars.size(), 0);
  for (std::size_t d = 0; d < vars.size(); ++d) {
    int p = f.position(vars[d]);
    if (p >= 0) s[d] = f.strides()[static_cast<std::size_t>(p)];
  }
  return s;
}

}  // namespace

core::memory::Tag QlogikTag::tag() {
  static const core::memory::Tag tag = core::memory::tag("qlogik");
  return tag;
}

Factor::Factor() : values_{1.0} {}

void Factor::set_scope(std::vector<VarId> vars, std::vector<std::int64_t> cards) {
  vars_ = std::move(vars);
  cards_ = std::move(cards);
  strides_.assign(vars_.size(), 1);
  std::int64_t size = 1;
  for (std::size_t d = vars_.size(); d-- > 0;) {
    if (cards_[d] <= 0) fail("factor: variable " + std::to_string(vars_[d]) + " has no states");
    strides_[d] = size;
    size *= cards_[d];
  }
  values_.assign(static_cast<std::size_t>(size), 0.0);
}

Factor Factor::filled(const std::vector<VarId>& vars, const std::vector<std::int64_t>& cards, double value) {
  if (vars.size() != cards.size())
    fail("factor: " + std::to_string(vars.size()) + " variables but " + std::to_string(cards.size()) +
         " cardinalities");
  std::vector<std::size_t> order(vars.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return vars[a] < vars[b]; });
  std::vector<VarId> sv;
  std::vector<std::int64_t> sc;
  for (std::size_t k : order) {
    if (!sv.empty() && sv.back() == vars[k]) fail("factor: variable " + std::to_string(vars[k]) + " repeated");
    sv.push_back(vars[k]);
    sc.push_back(cards[k]);
  }
  Factor f;
  f.set_scope(std::move(sv), std::move(sc));
  std::fill(f.values_.begin(), f.values_.end(), value);
  return f;
}

Factor::Factor(const std::vector<VarId>& vars, const std::vector<std::int64_t>& cards,
               const std::vector<double>& values) {
  *this = filled(vars, cards, 0.0);
  if (static_cast<std::int64_t>(values.size()) != size()) {
    fail("factor: " + std::to_string(values.size()) + " values for a table of " + std::to_string(size()));
  }
  // Strides of the given (unsorted) layout, expressed along the sorted dimensions.
  std::vector<std::int64_t> given(vars.size());
  std::int64_t s = 1;
  for (std::size_t d = vars.size(); d-- > 0;) {
    given[d] = s;
    s *= cards[d];
  }
  std::vector<std::int64_t> src(vars_.size());
  for (std::size_t d = 0; d < vars_.size(); ++d) {
    auto k = static_cast<std::size_t>(std::find(vars.begin(), vars.end(), vars_[d]) - vars.begin());
    src[d] = given[k];
  }
  std::vector<std::int64_t> zero(vars_.size(), 0);
  walk2(cards_, src, zero, 0, size(), [&](std::int64_t i, std::int64_t ia, std::int64_t) {
    values_[static_cast<std::size_t>(i)] = values[static_cast<std::size_t>(ia)];
  });
}

Factor Factor::from_cpt(const Network& net, VarId v) {
  const Cpt& c = net.cpt(v);
  std::vector<VarId> vars = c.parents;
  vars.push_back(v);
  std::vector<std::int64_t> cards;
  for (VarId u : vars) cards.push_back(net.cardinality(u));
  return Factor(vars, cards, c.table);
}

Factor Factor::indicator(VarId v, std::int64_t card, std::int64_t state) {
  if (state < 0 || state >= card) fail("factor: state " + std::to_string(state) + " out of range");
  Factor f = filled({v}, {card}, 0.0);
  f.values_[static_cast<std::size_t>(state)] = 1.0;
  return f;
}

bool Factor::contains(VarId v) const noexcept { return position(v) >= 0; }

int Factor::position(VarId v) const noexcept {
  auto it = std::lower_bound(vars_.begin(), vars_.end(), v);
  return it != vars_.end() && *it == v ? static_cast<int>(it - vars_.begin()) : -1;
}

std::int64_t Factor::card_of(VarId v) const {
  int p = position(v);
  if (p < 0) fail("factor: variable " + std::to_string(v) + " is not in the scope");
  return cards_[static_cast<std::size_t>(p)];
}

double Factor::at(const std::vector<int>& assignment) const {
  std::int64_t i = 0;
  for (std::size_t d = 0; d < vars_.size(); ++d) {
    auto v = static_cast<std::size_t>(vars_[d]);
    if (v >= assignment.size() || assignment[v] < 0 || assignment[v] >= cards_[d]) {
      fail("factor: the assignment gives no valid state to variable " + std::to_string(vars_[d]));
    }
    i += assignment[v] * strides_[d];
  }
  return values_[static_cast<std::size_t>(i)];
}

Factor Factor::product(const Factor& other) const {
  std::vector<VarId> vars;
  std::vector<std::int64_t> cards;
  std::size_t i = 0, j = 0;
  while (i < vars_.size() || j < other.vars_.size()) {
    if (j == other.vars_.size() || (i < vars_.size() && vars_[i] < other.vars_[j])) {
      vars.push_back(vars_[i]);
      cards.push_back(cards_[i++]);
    } else if (i == vars_.size() || other.vars_[j] < vars_[i]) {
      vars.push_back(other.vars_[j]);
      cards.push_back(other.cards_[j++]);
    } else {
      if (cards_[i] != other.cards_[j]) {
        fail("factor product: variable " + std::to_string(vars_[i]) + " has " + std::to_string(cards_[i]) +
             " states in one factor and " + std::to_string(other.cards_[j]) + " in the other");
      }
      vars.push_back(vars_[i]);
      cards.push_back(cards_[i]);
      ++i;
      ++j;
    }
  }
  Factor out;
  out.set_scope(std::move(vars), std::move(cards));
  const auto sa = strides_in(*this, out.vars_), sb = strides_in(other, out.vars_);
  const double* a = values_.data();
  const double* b = other.values_.data();
  double* o = out.values_.data();
  maybe_parallel(out.size(), [&](std::int64_t begin, std::int64_t end) {
    walk2(out.cards_, sa, sb, begin, end,
          [&](std::int64_t k, std::int64_t ia, std::int64_t ib) { o[k] = a[ia] * b[ib]; });
  });
  return out;
}

template <typename Op>
void Factor::combine_in(const Factor& other, const char* what, Op op) {
  for (std::size_t d = 0; d < other.vars_.size(); ++d) {
    int p = position(other.vars_[d]);
    if (p < 0)
      fail(std::string("factor ") + what + ": variable " + std::to_string(other.vars_[d]) + " is not in the scope");
    if (cards_[static_cast<std::size_t>(p)] != other.cards_[d]) {
      fail(std::string("factor ") + what + ": variable " + std::to_string(other.vars_[d]) + " has " +
           std::to_string(cards_[static_cast<std::size_t>(p)]) + " states here and " + std::to_string(other.cards_[d]) +
           " in the other factor");
    }
  }
  const auto sb = strides_in(other, vars_);
  const std::vector<std::int64_t> zero(vars_.size(), 0);
  const double* b = other.values_.data();
  double* o = values_.data();
  maybe_parallel(size(), [&](std::int64_t begin, std::int64_t end) {
    walk2(cards_, zero, sb, begin, end, [&](std::int64_t k, std::int64_t, std::int64_t ib) { o[k] = op(o[k], b[ib]); });
  });
}

void Factor::multiply_in(const Factor& other) {
  combine_in(other, "multiply_in", [](double x, double y) { return x * y; });
}

void Factor::divide_in(const Factor& other) {
  combine_in(other, "divide_in", [](double x, double y) { return y == 0.0 ? 0.0 : x / y; });
}

Factor Factor::reduce_to(const std::vector<VarId>& keep, bool use_max) const {
  std::vector<VarId> vars;
  std::vector<std::int64_t> cards;
  for (std::size_t d = 0; d < vars_.size(); ++d) {
    if (std::find(keep.begin(), keep.end(), vars_[d]) != keep.end()) {
      vars.push_back(vars_[d]);
      cards.push_back(cards_[d]);
    }
  }
  Factor out;
  out.set_scope(std::move(vars), std::move(cards));
  // Below every entry, negative ones included (decision.cpp maximises utilities).
  if (use_max) std::fill(out.values_.begin(), out.values_.end(), -std::numeric_limits<double>::infinity());
  const auto so = strides_in(out, vars_);
  const std::vector<std::int64_t> zero(vars_.size(), 0);
  const double* a = values_.data();
  double* o = out.values_.data();
  if (use_max) {
    walk2(cards_, so, zero, 0, size(),
          [&](std::int64_t k, std::int64_t io, std::int64_t) { o[io] = std::max(o[io], a[k]); });
  } else {
    walk2(cards_, so, zero, 0, size(), [&](std::int64_t k, std::int64_t io, std::int64_t) { o[io] += a[k]; });
  }
  return out;
}

Factor Factor::marginal(const std::vector<VarId>& keep) const { return reduce_to(keep, false); }
Factor Factor::max_marginal(const std::vector<VarId>& keep) const { return reduce_to(keep, true); }

Factor Factor::sum_out(VarId v) const {
  std::vector<VarId> keep;
  for (VarId u : vars_) {
    if (u != v) keep.push_back(u);
  }
  return reduce_to(keep, false);
}

Factor Factor::max_out(VarId v) const {
  std::vector<VarId> keep;
  for (VarId u : vars_) {
    if (u != v) keep.push_back(u);
  }
  return reduce_to(keep, true);
}

Factor Factor::reduce(const Evidence& evidence) const {
  std::vector<VarId> vars;
  std::vector<std::int64_t> cards;
  std::int64_t base = 0;
  std::vector<std::int64_t> src;
  for (std::size_t d = 0; d < vars_.size(); ++d) {
    auto v = static_cast<std::size_t>(vars_[d]);
    int s = v < evidence.size() ? evidence[v] : -1;
    if (s >= 0) {
      if (s >= cards_[d]) fail("factor reduce: state " + std::to_string(s) + " out of range");
      base += s * strides_[d];
    } else {
      vars.push_back(vars_[d]);
      cards.push_back(cards_[d]);
      src.push_back(strides_[d]);
    }
  }
  Factor out;
  out.set_scope(std::move(vars), std::move(cards));
  const std::vector<std::int64_t> zero(out.vars_.size(), 0);
  const double* a = values_.data() + base;
  double* o = out.values_.data();
  walk2(out.cards_, src, zero, 0, out.size(), [&](std::int64_t k, std::int64_t ia, std::int64_t) { o[k] = a[ia]; });
  return out;
}

void Factor::apply_evidence(const Evidence& evidence) {
  for (std::size_t d = 0; d < vars_.size(); ++d) {
    auto v = static_cast<std::size_t>(vars_[d]);
    int s = v < evidence.size() ? evidence[v] : -1;
    if (s < 0) continue;
    // Zero every slice of dimension d other than s.
    const std::int64_t outer = size() / (cards_[d] * strides_[d]);
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t c = 0; c < cards_[d]; ++c) {
        if (c == s) continue;
        double* p = values_.data() + o * cards_[d] * strides_[d] + c * strides_[d];
        std::fill(p, p + strides_[d], 0.0);
      }
    }
  }
}

double Factor::total() const noexcept {
  double s = 0;
  for (double v : values_) s += v;
  return s;
}

double Factor::normalize() noexcept {
  double s = total();
  if (s > 0) {
    const double inv = 1.0 / s;
    for (double& v : values_) v *= inv;
  }
  return s;
}

std::int64_t Factor::argmax() const noexcept {
  return static_cast<std::int64_t>(std::max_element(values_.begin(), values_.end()) - values_.begin());
}

std::vector<std::int64_t> Factor::states_at(std::int64_t i) const {
  std::vector<std::int64_t> s(vars_.size());
  for (std::size_t d = vars_.size(); d-- > 0;) {
    s[d] = i % cards_[d];
    i /= cards_[d];
  }
  return s;
}

std::int64_t live_factor_bytes() { return core::memory::stats(QlogikTag::tag()).live_bytes; }

}  // namespace miso::qlogik
