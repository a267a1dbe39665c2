#include "miso/qlogik/factor.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "miso/core/error.hpp"

namespace miso::qlogik {
namespace {

// A factor as a map from the full assignment of its (sorted) scope to a value:
// the reference the table operations are checked against.
using Reference = std::map<std::vector<std::int64_t>, double>;

Reference as_map(const Factor& f) {
  Reference m;
  for (std::int64_t i = 0; i < f.size(); ++i) m[f.states_at(i)] = f.values()[static_cast<std::size_t>(i)];
  return m;
}

// Value of f at the states `global` gives to every variable id.
double value_at(const Factor& f, const std::map<VarId, std::int64_t>& global) {
  std::vector<std::int64_t> s;
  for (VarId v : f.vars()) s.push_back(global.at(v));
  return as_map(f).at(s);
}

Factor random_factor(std::mt19937_64& rng, const std::vector<VarId>& vars, const std::vector<std::int64_t>& cards) {
  std::int64_t n = 1;
  for (auto c : cards) n *= c;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> values(static_cast<std::size_t>(n));
  for (double& v : values) v = u(rng);
  return Factor(vars, cards, values);
}

// Every assignment of `vars` with `cards`.
std::vector<std::map<VarId, std::int64_t>> all_assignments(const std::vector<VarId>& vars,
                                                           const std::vector<std::int64_t>& cards) {
  std::vector<std::map<VarId, std::int64_t>> out{{}};
  for (std::size_t d = 0; d < vars.size(); ++d) {
    std::vector<std::map<VarId, std::int64_t>> next;
    for (const auto& a : out) {
      for (std::int64_t s = 0; s < cards[d]; ++s) {
        auto b = a;
        b[vars[d]] = s;
        next.push_back(b);
      }
    }
    out = next;
  }
  return out;
}

TEST(Factor, ConstructorSortsTheScopeAndPermutesValues) {
  // Given over (B=3 states, A=2 states) with A fastest: value = 10*b + a.
  Factor f({7, 2}, {3, 2}, {0, 1, 10, 11, 20, 21});
  EXPECT_EQ(f.vars(), (std::vector<VarId>{2, 7}));
  EXPECT_EQ(f.cards(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.strides(), (std::vector<std::int64_t>{3, 1}));
  // Stored with var 2 (A) slowest: index = a*3 + b.
  EXPECT_EQ(f.values(), (Table{0, 10, 20, 1, 11, 21}));
  std::vector<int> assignment(8, 0);
  assignment[2] = 1;
  assignment[7] = 2;
  EXPECT_EQ(f.at(assignment), 21);
  EXPECT_EQ(f.card_of(7), 3);
  EXPECT_EQ(f.position(5), -1);
  EXPECT_THROW(Factor({1, 1}, {2, 2}, {1, 2, 3, 4}), Error);
  EXPECT_THROW(Factor({1}, {2}, {1, 2, 3}), Error);
}

TEST(Factor, FromCptMatchesJointProbabilityFactors) {
  Network net("n");
  VarId a = net.add_variable("A", {"x", "y"});
  VarId b = net.add_variable("B", {"p", "q", "r"});
  net.set_cpt(b, {a}, {0.1, 0.2, 0.7, 0.5, 0.25, 0.25});
  Factor f = Factor::from_cpt(net, b);
  EXPECT_EQ(f.vars(), (std::vector<VarId>{a, b}));
  EXPECT_DOUBLE_EQ(f.at({1, 2}), 0.25);
  EXPECT_DOUBLE_EQ(f.at({0, 2}), 0.7);
  Factor prior = Factor::from_cpt(net, a);
  EXPECT_DOUBLE_EQ(prior.total(), 1.0);
}

TEST(Factor, ProductMatchesPointwiseReferenceOnRandomScopes) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<VarId> all{0, 1, 2, 3, 4};
    std::vector<std::int64_t> card{2, 3, 2, 4, 3};
    std::vector<VarId> va, vb;
    std::vector<std::int64_t> ca, cb;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (rng() % 2) {
        va.push_back(all[i]);
        ca.push_back(card[i]);
      }
      if (rng() % 2) {
        vb.push_back(all[i]);
        cb.push_back(card[i]);
      }
    }
    Factor a = random_factor(rng, va, ca), b = random_factor(rng, vb, cb);
    Factor p = a.product(b);
    for (const auto& g : all_assignments(p.vars(), p.cards())) {
      EXPECT_DOUBLE_EQ(value_at(p, g), value_at(a, g) * value_at(b, g));
    }
    // multiply_in with a sub-scope gives the same as product.
    if (!vb.empty()) {
      Factor big = a.product(b);
      Factor sub = random_factor(rng, {big.vars()[0]}, {big.cards()[0]});
      Factor expect = big.product(sub);
      big.multiply_in(sub);
      EXPECT_EQ(big.values(), expect.values());
      big.divide_in(sub);
      for (std::size_t i = 0; i < big.values().size(); ++i) {
        EXPECT_NEAR(big.values()[i], p.values()[i], 1e-12 * p.values()[i]);
      }
    }
  }
}

TEST(Factor, LargeProductsInParallelEqualTheSerialDefinition) {
  std::mt19937_64 rng(7);
  // 2^18 output entries: above the parallel threshold.
  Factor a = random_factor(rng, {0, 1, 2}, {64, 64, 8});
  Factor b = random_factor(rng, {2, 3}, {8, 64});
  Factor p = a.product(b);
  ASSERT_EQ(p.size(), 64 * 64 * 8 * 64);
  for (int k = 0; k < 2000; ++k) {
    std::int64_t i = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(p.size()));
    auto s = p.states_at(i);
    double expect = a.values()[static_cast<std::size_t>(s[0] * 512 + s[1] * 8 + s[2])] *
                    b.values()[static_cast<std::size_t>(s[2] * 64 + s[3])];
    ASSERT_EQ(p.values()[static_cast<std::size_t>(i)], expect);
  }
}

TEST(Factor, MarginalsSumAndMaxOverTheDroppedVariables) {
  std::mt19937_64 rng(3);
  Factor f = random_factor(rng, {1, 4, 6}, {3, 2, 4});
  Factor m = f.marginal({6, 1});
  Factor mx = f.max_marginal({4});
  EXPECT_EQ(m.vars(), (std::vector<VarId>{1, 6}));
  for (const auto& g : all_assignments({1, 6}, {3, 4})) {
    double s = 0;
    for (std::int64_t x = 0; x < 2; ++x) {
      auto h = g;
      h[4] = x;
      s += value_at(f, h);
    }
    EXPECT_NEAR(value_at(m, g), s, 1e-15);
  }
  for (std::int64_t x = 0; x < 2; ++x) {
    double best = 0;
    for (const auto& g : all_assignments({1, 6}, {3, 4})) {
      auto h = g;
      h[4] = x;
      best = std::max(best, value_at(f, h));
    }
    EXPECT_EQ(mx.values()[static_cast<std::size_t>(x)], best);
  }
  EXPECT_EQ(f.sum_out(4).values(), f.marginal({1, 6}).values());
  EXPECT_EQ(f.max_out(1).values(), f.max_marginal({4, 6}).values());
  EXPECT_NEAR(f.marginal({}).values()[0], f.total(), 1e-12);
}

TEST(Factor, ReduceAndApplyEvidenceAgree) {
  std::mt19937_64 rng(5);
  Factor f = random_factor(rng, {0, 2, 3}, {2, 3, 2});
  Evidence ev{-1, -1, 2, -1};
  Factor r = f.reduce(ev);
  EXPECT_EQ(r.vars(), (std::vector<VarId>{0, 3}));
  Factor z = f;
  z.apply_evidence(ev);
  EXPECT_EQ(z.vars(), f.vars());
  for (const auto& g : all_assignments({0, 2, 3}, {2, 3, 2})) {
    if (g.at(2) == 2) {
      EXPECT_EQ(value_at(z, g), value_at(f, g));
      EXPECT_EQ(value_at(r, g), value_at(f, g));
    } else {
      EXPECT_EQ(value_at(z, g), 0.0);
    }
  }
  EXPECT_NEAR(z.total(), r.total(), 1e-12);
}

TEST(Factor, NormalizeArgmaxAndIndicator) {
  Factor f({3}, {4}, {1, 5, 2, 2});
  EXPECT_EQ(f.argmax(), 1);
  EXPECT_DOUBLE_EQ(f.normalize(), 10.0);
  EXPECT_DOUBLE_EQ(f.values()[1], 0.5);
  Factor zero = Factor::filled({3}, {4}, 0.0);
  EXPECT_EQ(zero.normalize(), 0.0);
  EXPECT_EQ(zero.values(), Table(4, 0.0));
  Factor ind = Factor::indicator(2, 3, 1);
  EXPECT_EQ(ind.values(), (Table{0, 1, 0}));
  EXPECT_THROW(Factor::indicator(2, 3, 3), Error);
  Factor unit;
  EXPECT_EQ(unit.size(), 1);
  EXPECT_EQ(unit.product(f).values(), f.values());
}

TEST(Factor, MismatchedCardinalitiesAreErrors) {
  Factor a({1}, {2}, {1, 2});
  Factor b({1}, {3}, {1, 2, 3});
  EXPECT_THROW((void)a.product(b), Error);
  EXPECT_THROW(a.multiply_in(b), Error);
  Factor c({2}, {2}, {1, 2});
  EXPECT_THROW(a.multiply_in(c), Error);
}

TEST(Factor, TablesAreChargedToTheQlogikTag) {
  const std::int64_t before = live_factor_bytes();
  {
    Factor big = Factor::filled({0, 1}, {256, 256}, 1.0);
    EXPECT_GE(live_factor_bytes() - before, 256 * 256 * static_cast<std::int64_t>(sizeof(double)));
  }
  EXPECT_LE(live_factor_bytes(), before + 1024);
}

}  // namespace
}  // namespace miso::qlogik
