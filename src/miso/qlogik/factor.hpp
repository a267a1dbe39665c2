// Factors: non-negative functions over a set of discrete variables, stored as
// contiguous tables. The building block of every inference algorithm here.
//
// Layout: the scope is kept sorted by variable id, the LAST variable varying
// fastest (row-major); strides are precomputed. Operations walk tables with an
// odometer over the output and per-operand strides (stride 0 for a variable an
// operand lacks), so no index is recomputed from scratch per entry. Products
// with large outputs run in parallel through NEXUS-OS. Tables are allocated
// under the memory tag "qlogik".
#pragma once

#include <cstdint>
#include <vector>

#include "miso/core/memory.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::qlogik {

// The memory tag of Q-Logik's tables ("qlogik").
struct QlogikTag {
  static core::memory::Tag tag();
};
// A factor's table: charged to the qlogik tag wherever it is copied or grown.
using Table = std::vector<double, core::memory::TaggedAllocator<double, QlogikTag>>;

class Factor {
 public:
  // The constant 1 over no variables.
  Factor();
  // A factor over `vars` (any order, distinct) with cardinalities `cards` and
  // `values` laid out row-major in the GIVEN order; stored sorted by id.
  Factor(const std::vector<VarId>& vars, const std::vector<std::int64_t>& cards, const std::vector<double>& values);
  // A factor over `vars` (sorted internally) with every entry `value`.
  static Factor filled(const std::vector<VarId>& vars, const std::vector<std::int64_t>& cards, double value);
  // The CPT of v as a factor over {v} ∪ parents(v).
  static Factor from_cpt(const Network& net, VarId v);
  // The indicator of v = state (1 there, 0 elsewhere) over {v}.
  static Factor indicator(VarId v, std::int64_t card, std::int64_t state);

  const std::vector<VarId>& vars() const noexcept { return vars_; }
  const std::vector<std::int64_t>& cards() const noexcept { return cards_; }
  const std::vector<std::int64_t>& strides() const noexcept { return strides_; }
  const Table& values() const noexcept { return values_; }
  Table& values() noexcept { return values_; }
  std::int64_t size() const noexcept { return static_cast<std::int64_t>(values_.size()); }
  bool contains(VarId v) const noexcept;
  // Position of v in vars(), or -1.
  int position(VarId v) const noexcept;
  std::int64_t card_of(VarId v) const;

  // The entry at the states a full network assignment gives to this scope.
  double at(const std::vector<int>& assignment) const;

  // this * other over the union of the scopes.
  Factor product(const Factor& other) const;
  // this *= other, where other's scope is a subset of this scope.
  void multiply_in(const Factor& other);
  // this /= other (subset scope), with 0/0 = 0 (the junction-tree convention).
  void divide_in(const Factor& other);
  // Sums (or maximises) out every variable not in `keep`.
  Factor marginal(const std::vector<VarId>& keep) const;
  Factor max_marginal(const std::vector<VarId>& keep) const;
  Factor sum_out(VarId v) const;
  Factor max_out(VarId v) const;
  // Drops the observed variables of the scope, keeping the slice at their states.
  Factor reduce(const Evidence& evidence) const;
  // Sets to 0 every entry that disagrees with the evidence; the scope stays.
  void apply_evidence(const Evidence& evidence);

  double total() const noexcept;
  // Divides by total() and returns it; an all-zero factor is left as it is.
  double normalize() noexcept;
  // Flat index of the largest entry (the first one on ties).
  std::int64_t argmax() const noexcept;
  // The state of each scope variable at flat index i (scope order).
  std::vector<std::int64_t> states_at(std::int64_t i) const;

 private:
  void set_scope(std::vector<VarId> vars, std::vector<std::int64_t> cards);
  Factor reduce_to(const std::vector<VarId>& keep, bool use_max) const;
  // this = op(this, other) entry by entry, other's scope a subset of this one.
  template <typename Op>
  void combine_in(const Factor& other, const char* what, Op op);

  std::vector<VarId> vars_;
  std::vector<std::int64_t> cards_;
  std::vector<std::int64_t> strides_;
  Table values_;
};

// Entries of the factor tables (values) that inference allocated and still
// holds, as counted by the memory tag "qlogik".
std::int64_t live_factor_bytes();

}  // namespace miso::qlogik
