#include "miso/echo/stn.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../error_of.hpp"
#include "miso/core/error.hpp"

namespace miso::echo {
namespace {

template <typename F>
std::string error_of(F&& f) {
  return miso::testing::error_of(std::forward<F>(f), Error::Kind::InvalidArgument);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---- the brute-force oracle: Floyd–Warshall on the distance graph ----

constexpr Tick kNone = kPosInf;  // no path (small test values never come near it)

struct Oracle {
  bool consistent = true;
  std::size_t n = 0;
  std::vector<Tick> d;  // n x n, kNone when no path
  Tick at(std::size_t x, std::size_t y) const { return d[x * n + y]; }
};

Oracle oracle(std::size_t n, const std::vector<StnConstraint>& cons, const std::vector<bool>& on) {
  Oracle o;
  o.n = n;
  o.d.assign(n * n, kNone);
  for (std::size_t x = 0; x < n; ++x) o.d[x * n + x] = 0;
  auto edge = [&](std::size_t x, std::size_t y, Tick w) { o.d[x * n + y] = std::min(o.d[x * n + y], w); };
  for (std::size_t i = 0; i < cons.size(); ++i) {
    if (!on[i]) continue;
    if (cons[i].hi < kPosInf) edge(cons[i].from, cons[i].to, cons[i].hi);
    if (cons[i].lo > kNegInf) edge(cons[i].to, cons[i].from, -cons[i].lo);
  }
  for (std::size_t k = 0; k < n; ++k) {
    for (std::size_t x = 0; x < n; ++x) {
      for (std::size_t y = 0; y < n; ++y) {
        if (o.at(x, k) != kNone && o.at(k, y) != kNone) o.d[x * n + y] = std::min(o.at(x, y), o.at(x, k) + o.at(k, y));
      }
    }
  }
  for (std::size_t x = 0; x < n; ++x) o.consistent = o.consistent && o.at(x, x) >= 0;
  return o;
}

Oracle oracle_of(const Stn& stn, const std::vector<bool>& on) {
  return oracle(stn.point_count(), stn.constraints(), on);
}

std::vector<bool> enabled_mask(const Stn& stn) {
  std::vector<bool> on(stn.constraints().size());
  for (std::size_t i = 0; i < on.size(); ++i) on[i] = stn.enabled(i);
  return on;
}

bool satisfies(const std::vector<Tick>& t, const StnConstraint& c) {
  const Tick diff = t[c.to] - t[c.from];
  return (c.lo <= kNegInf || diff >= c.lo) && (c.hi >= kPosInf || diff <= c.hi);
}

// A random network: n points, random constraints (some open-ended, some
// fixed times, occasionally on one point), integer weights 1..5.
Stn random_network(std::mt19937& rng, std::size_t n, std::size_t m) {
  Stn stn;
  for (std::size_t p = 1; p < n; ++p) stn.add_point();
  std::uniform_int_distribution<int> point(0, static_cast<int>(n) - 1), value(-15, 25), coin(0, 9), weight(1, 5);
  for (std::size_t i = 0; i < m; ++i) {
    if (coin(rng) == 0) {
      stn.fix(static_cast<PointId>(point(rng)), value(rng), weight(rng));
      continue;
    }
    StnConstraint c;
    c.from = static_cast<PointId>(point(rng));
    c.to = static_cast<PointId>(point(rng));
    if (c.from == c.to && coin(rng) < 7) c.to = static_cast<PointId>((c.to + 1) % n);
    Tick a = value(rng), b = value(rng);
    if (a > b) std::swap(a, b);
    c.lo = coin(rng) < 2 ? kNegInf : a;
    c.hi = coin(rng) < 2 ? kPosInf : b;
    c.weight = weight(rng);
    stn.add(c);
  }
  return stn;
}

// conflict() is a minimal inconsistent set: inconsistent alone, consistent
// without any one of its members.
void expect_minimal_conflict(const Stn& stn) {
  const std::vector<std::size_t> conflict = stn.conflict();
  ASSERT_FALSE(conflict.empty());
  EXPECT_TRUE(std::is_sorted(conflict.begin(), conflict.end()));
  EXPECT_EQ(std::adjacent_find(conflict.begin(), conflict.end()), conflict.end());
  std::vector<bool> only(stn.constraints().size(), false);
  for (std::size_t i : conflict) {
    ASSERT_LT(i, only.size());
    EXPECT_TRUE(stn.enabled(i)) << "constraint " << i;
    only[i] = true;
  }
  EXPECT_FALSE(oracle_of(stn, only).consistent);
  for (std::size_t i : conflict) {
    only[i] = false;
    EXPECT_TRUE(oracle_of(stn, only).consistent) << "constraint " << i << " is not needed in the conflict";
    only[i] = true;
  }
}

// Everything the network reports agrees with the oracle.
void expect_matches_oracle(const Stn& stn) {
  const Oracle o = oracle_of(stn, enabled_mask(stn));
  ASSERT_EQ(stn.consistent(), o.consistent);
  EXPECT_EQ(stn.check_from_scratch(), o.consistent);
  if (!o.consistent) {
    EXPECT_TRUE(contains(error_of([&] { (void)stn.minimal(); }), "inconsistent"));
    EXPECT_FALSE(error_of([&] { (void)stn.minimal_floyd_warshall(); }).empty());
    EXPECT_FALSE(error_of([&] { (void)stn.schedule(); }).empty());
    EXPECT_FALSE(error_of([&] { (void)stn.earliest(0); }).empty());
    EXPECT_FALSE(error_of([&] { (void)stn.latest(0); }).empty());
    expect_minimal_conflict(stn);
    return;
  }
  EXPECT_TRUE(stn.conflict().empty());
  const std::size_t n = stn.point_count();
  const MinimalNetwork johnson = stn.minimal();
  const MinimalNetwork floyd = stn.minimal_floyd_warshall();
  ASSERT_EQ(johnson.points, n);
  ASSERT_EQ(floyd.points, n);
  for (PointId x = 0; x < n; ++x) {
    for (PointId y = 0; y < n; ++y) {
      EXPECT_EQ(johnson.at(x, y), o.at(x, y)) << x << " -> " << y;
      EXPECT_EQ(floyd.at(x, y), o.at(x, y)) << x << " -> " << y;
    }
  }
  const std::vector<Tick> t = stn.schedule();
  ASSERT_EQ(t.size(), n);
  EXPECT_EQ(t[0], 0);
  for (std::size_t i = 0; i < stn.constraints().size(); ++i) {
    if (stn.enabled(i)) {
      EXPECT_TRUE(satisfies(t, stn.constraints()[i])) << "constraint " << i;
    }
  }
  for (PointId p = 0; p < n; ++p) {
    const std::optional<Tick> lo = stn.earliest(p), hi = stn.latest(p);
    if (o.at(p, 0) == kNone) {
      EXPECT_FALSE(lo.has_value());
    } else {
      ASSERT_TRUE(lo.has_value());
      EXPECT_EQ(*lo, -o.at(p, 0));
      EXPECT_EQ(t[p], *lo);  // the schedule takes the earliest time where there is one
    }
    if (o.at(0, p) == kNone) {
      EXPECT_FALSE(hi.has_value());
    } else {
      ASSERT_TRUE(hi.has_value());
      EXPECT_EQ(*hi, o.at(0, p));
      EXPECT_LE(t[p], *hi);
    }
  }
}

// ---- known values ----

TEST(Stn, OriginOnly) {
  Stn stn;
  EXPECT_EQ(stn.point_count(), 1u);
  EXPECT_TRUE(stn.consistent());
  EXPECT_EQ(stn.earliest(kOrigin), 0);
  EXPECT_EQ(stn.latest(kOrigin), 0);
  EXPECT_EQ(stn.schedule(), std::vector<Tick>{0});
  EXPECT_EQ(stn.minimal().at(0, 0), 0);
  EXPECT_TRUE(stn.cheapest_relaxation().dropped.empty());
}

TEST(Stn, ChainBoundsAndMinimalNetwork) {
  // origin -> a in [10, 20], a -> b in [5, 7]: b - origin in [15, 27].
  Stn stn;
  const PointId a = stn.add_point(), b = stn.add_point(), c = stn.add_point();
  EXPECT_EQ(stn.add({kOrigin, a, 10, 20}), 0u);
  EXPECT_EQ(stn.add({a, b, 5, 7}), 1u);
  EXPECT_EQ(stn.add({c, b, 1, kPosInf}), 2u);  // c before b: c bounded above only
  ASSERT_TRUE(stn.consistent());
  EXPECT_EQ(stn.earliest(b), 15);
  EXPECT_EQ(stn.latest(b), 27);
  EXPECT_EQ(stn.earliest(c), std::nullopt);
  EXPECT_EQ(stn.latest(c), 26);
  const MinimalNetwork m = stn.minimal();
  EXPECT_EQ(m.at(a, b), 7);
  EXPECT_EQ(m.at(b, a), -5);
  EXPECT_EQ(m.at(kOrigin, b), 27);
  EXPECT_EQ(m.at(b, kOrigin), -15);
  EXPECT_EQ(m.at(c, kOrigin), kPosInf);
  const std::vector<Tick> t = stn.schedule();
  EXPECT_EQ(t, (std::vector<Tick>{0, 10, 15, 0}));  // c: 0 is below b - 1 = 14
  // Tighten: b at 16 forces a in [10, 11].
  stn.fix(b, 16);
  EXPECT_EQ(stn.latest(a), 11);
  EXPECT_EQ(stn.earliest(a), 10);
  // c at least 5 before the origin pulls its time below 0.
  stn.add({c, kOrigin, 5, kPosInf});
  EXPECT_EQ(stn.schedule()[c], -5);
  expect_matches_oracle(stn);
}

TEST(Stn, ConflictIsTheNegativeCycle) {
  Stn stn;
  const PointId a = stn.add_point(), b = stn.add_point(), c = stn.add_point();
  stn.add({kOrigin, a, 0, 100});  // 0 (not in the cycle)
  stn.add({a, b, 10, 20});        // 1
  stn.add({b, c, 10, 20});        // 2
  EXPECT_TRUE(stn.consistent());
  EXPECT_EQ(stn.add({a, c, 0, 15}), 3u);  // a -> c at most 15, but at least 20 through b
  EXPECT_FALSE(stn.consistent());
  EXPECT_FALSE(stn.check_from_scratch());
  EXPECT_EQ(stn.conflict(), (std::vector<std::size_t>{1, 2, 3}));
  const std::string message = error_of([&] { (void)stn.earliest(a); });
  EXPECT_TRUE(contains(message, "inconsistent")) << message;
  EXPECT_TRUE(contains(message, "1, 2, 3")) << message;
  // More constraints keep it inconsistent; disabling one of the cycle repairs it.
  stn.add({kOrigin, c, 0, 50});
  EXPECT_FALSE(stn.consistent());
  stn.set_enabled(2, false);
  EXPECT_TRUE(stn.consistent());
  EXPECT_FALSE(stn.enabled(2));
  EXPECT_EQ(stn.latest(c), 50);
  stn.set_enabled(2, true);
  EXPECT_FALSE(stn.consistent());
  expect_minimal_conflict(stn);
}

TEST(Stn, SelfLoopConflict) {
  Stn stn;
  const PointId a = stn.add_point();
  stn.add({a, a, -3, 4});  // lo <= 0 <= hi: harmless
  EXPECT_TRUE(stn.consistent());
  stn.add({a, a, 1, 4});  // t(a) - t(a) >= 1: impossible
  EXPECT_FALSE(stn.consistent());
  EXPECT_EQ(stn.conflict(), std::vector<std::size_t>{1});
  stn.set_enabled(1, false);
  EXPECT_TRUE(stn.consistent());
}

TEST(Stn, FixedTimesConflict) {
  Stn stn;
  const PointId a = stn.add_point();
  stn.fix(a, 5);
  stn.fix(a, 5);
  EXPECT_TRUE(stn.consistent());
  EXPECT_EQ(stn.earliest(a), 5);
  EXPECT_EQ(stn.latest(a), 5);
  stn.fix(a, 7, 1.5);
  EXPECT_FALSE(stn.consistent());
  expect_minimal_conflict(stn);
  Relaxation r = stn.cheapest_relaxation();
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.dropped, std::vector<std::size_t>{2});  // the two fixes at 5 would cost 2
  EXPECT_DOUBLE_EQ(r.cost, 1.5);
  stn.fix(a, 7, 1.5);  // now dropping both fixes at 7 costs 3, the two at 5 cost 2
  r = stn.cheapest_relaxation();
  EXPECT_EQ(r.dropped, (std::vector<std::size_t>{0, 1}));
  EXPECT_DOUBLE_EQ(r.cost, 2.0);
}

TEST(Stn, HugeBoundsDoNotOverflow) {
  Stn stn;
  const PointId a = stn.add_point(), b = stn.add_point(), c = stn.add_point();
  const Tick big = kPosInf - 1;
  stn.add({kOrigin, a, -big, big});
  stn.add({a, b, -big, big});
  stn.add({b, c, -big, big});
  stn.add({c, kOrigin, -big, big});
  EXPECT_TRUE(stn.consistent());
  EXPECT_TRUE(stn.check_from_scratch());
  const MinimalNetwork m = stn.minimal();
  EXPECT_EQ(m.at(kOrigin, a), big);
  EXPECT_GE(m.at(kOrigin, c), big);  // saturated: reported as at most unbounded
  EXPECT_LE(m.at(kOrigin, c), kPosInf);
  const std::vector<Tick> t = stn.schedule();
  for (const StnConstraint& con : stn.constraints()) EXPECT_TRUE(satisfies(t, con));
}

TEST(Stn, CopiesAreIndependent) {
  Stn stn;
  const PointId a = stn.add_point();
  stn.add({kOrigin, a, 1, 5});
  Stn copy = stn;
  copy.fix(a, 9);
  EXPECT_FALSE(copy.consistent());
  EXPECT_TRUE(stn.consistent());
  EXPECT_EQ(stn.constraints().size(), 1u);
  EXPECT_EQ(copy.constraints().size(), 2u);
  stn.add_point();
  EXPECT_EQ(copy.point_count(), 2u);
  EXPECT_EQ(stn.point_count(), 3u);
}

// ---- errors ----

TEST(Stn, Errors) {
  Stn stn;
  const PointId a = stn.add_point();
  std::string m = error_of([&] { stn.add({kOrigin, 7, 0, 1}); });
  EXPECT_TRUE(contains(m, "unknown point 7")) << m;
  EXPECT_TRUE(contains(m, "constraint 0")) << m;
  m = error_of([&] { stn.add({kOrigin, a, 5, 3}); });
  EXPECT_TRUE(contains(m, "lower bound 5 > upper bound 3")) << m;
  m = error_of([&] { stn.add({kOrigin, a, 0, 3, -1.0}); });
  EXPECT_TRUE(contains(m, "weight")) << m;
  m = error_of([&] { stn.add({kOrigin, a, kPosInf, kPosInf}); });
  EXPECT_TRUE(contains(m, "lower bound")) << m;
  m = error_of([&] { stn.fix(a, kFree); });
  EXPECT_TRUE(contains(m, "upper bound")) << m;
  m = error_of([&] { stn.fix(3, 1); });
  EXPECT_TRUE(contains(m, "unknown point 3")) << m;
  EXPECT_TRUE(stn.constraints().empty());  // failed adds leave nothing behind
  m = error_of([&] { (void)stn.earliest(2); });
  EXPECT_TRUE(contains(m, "unknown point 2")) << m;
  m = error_of([&] { (void)stn.latest(9); });
  EXPECT_TRUE(contains(m, "unknown point 9")) << m;
  m = error_of([&] { stn.set_enabled(0, false); });
  EXPECT_TRUE(contains(m, "no constraint 0")) << m;
  m = error_of([&] { (void)stn.enabled(4); });
  EXPECT_TRUE(contains(m, "no constraint 4")) << m;
  stn.fix(a, 1);
  stn.fix(a, 2);
  m = error_of([&] { (void)stn.schedule(); });
  EXPECT_TRUE(contains(m, "schedule")) << m;
  EXPECT_TRUE(contains(m, "inconsistent")) << m;
  m = error_of([&] { (void)stn.minimal_floyd_warshall(); });
  EXPECT_TRUE(contains(m, "inconsistent")) << m;
  m = error_of([&] { (void)stn.latest(a); });
  EXPECT_TRUE(contains(m, "latest")) << m;
}

// ---- random networks against the oracle ----

TEST(Stn, RandomNetworksMatchOracle) {
  std::mt19937 rng(20240611);
  int consistent = 0, inconsistent = 0;
  for (int round = 0; round < 200; ++round) {
    const std::size_t n = 2 + static_cast<std::size_t>(round % 11);
    const std::size_t m = static_cast<std::size_t>(rng() % (2 * n + 2));
    const Stn stn = random_network(rng, n, m);
    SCOPED_TRACE("round " + std::to_string(round));
    expect_matches_oracle(stn);
    (stn.consistent() ? consistent : inconsistent) += 1;
  }
  // Both outcomes must be well represented for the test to mean anything.
  EXPECT_GT(consistent, 40);
  EXPECT_GT(inconsistent, 40);
}

TEST(Stn, IncrementalAddAgreesWithFromScratch) {
  std::mt19937 rng(7);
  for (int round = 0; round < 100; ++round) {
    const std::size_t n = 2 + static_cast<std::size_t>(rng() % 10);
    Stn stn;
    for (std::size_t p = 1; p < n; ++p) stn.add_point();
    // Looser random constraints so sequences stay consistent for a while.
    std::uniform_int_distribution<int> point(0, static_cast<int>(n) - 1), value(-10, 30), coin(0, 9);
    for (int step = 0; step < 25; ++step) {
      StnConstraint c{static_cast<PointId>(point(rng)), static_cast<PointId>(point(rng))};
      Tick lo = value(rng), hi = lo + value(rng) + 10;
      c.lo = coin(rng) < 3 ? kNegInf : lo;
      c.hi = coin(rng) < 3 ? kPosInf : hi;
      if (c.from == c.to) continue;
      stn.add(c);
      ASSERT_EQ(stn.consistent(), stn.check_from_scratch()) << "round " << round << " step " << step;
      ASSERT_EQ(stn.consistent(), oracle_of(stn, enabled_mask(stn)).consistent);
      if (!stn.consistent()) {
        expect_minimal_conflict(stn);
        break;
      }
      if (step % 5 == 0) expect_matches_oracle(stn);
    }
  }
}

TEST(Stn, IncrementalAddOnLargerNetworks) {
  // Constraints drawn around a hidden schedule stay consistent; a rare
  // contradicting one makes the network inconsistent and is then disabled.
  std::mt19937 rng(31337);
  for (int round = 0; round < 3; ++round) {
    const std::size_t n = 40;
    Stn stn;
    std::vector<Tick> hidden(n, 0);
    for (std::size_t p = 1; p < n; ++p) {
      stn.add_point();
      hidden[p] = static_cast<Tick>(rng() % 1000);
    }
    int inconsistent = 0;
    for (int step = 0; step < 200; ++step) {
      const auto x = static_cast<PointId>(rng() % n), y = static_cast<PointId>(rng() % n);
      if (x == y) continue;
      const Tick diff = hidden[y] - hidden[x];
      const bool contradict = rng() % 20 == 0;
      const Tick lo = contradict ? diff + 50 : diff - static_cast<Tick>(rng() % 3);
      const Tick hi = contradict ? diff + 60 : diff + static_cast<Tick>(rng() % 3);
      const std::size_t i = stn.add({x, y, lo, rng() % 4 == 0 ? kPosInf : hi});
      ASSERT_EQ(stn.consistent(), stn.check_from_scratch()) << "round " << round << " step " << step;
      if (!stn.consistent()) {
        ++inconsistent;
        if (inconsistent <= 2) expect_minimal_conflict(stn);
        const std::vector<std::size_t> conflict = stn.conflict();
        EXPECT_TRUE(std::binary_search(conflict.begin(), conflict.end(), i));  // the newcomer closed the cycle
        stn.set_enabled(i, false);
        ASSERT_TRUE(stn.consistent());
      }
    }
    EXPECT_GT(inconsistent, 0);
    expect_matches_oracle(stn);
  }
}

TEST(Stn, ToggleConstraints) {
  std::mt19937 rng(99);
  for (int round = 0; round < 60; ++round) {
    const std::size_t n = 3 + static_cast<std::size_t>(rng() % 8);
    Stn stn = random_network(rng, n, n + 4);
    const std::size_t m = stn.constraints().size();
    for (int step = 0; step < 20; ++step) {
      const std::size_t i = rng() % m;
      stn.set_enabled(i, !stn.enabled(i));
      SCOPED_TRACE("round " + std::to_string(round) + " step " + std::to_string(step));
      ASSERT_EQ(stn.consistent(), stn.check_from_scratch());
      if (step % 4 == 0) {
        expect_matches_oracle(stn);
      } else {
        ASSERT_EQ(stn.consistent(), oracle_of(stn, enabled_mask(stn)).consistent);
        if (!stn.consistent()) expect_minimal_conflict(stn);
      }
    }
    // Adding to a network with disabled constraints keeps them out.
    stn.add({kOrigin, static_cast<PointId>(n - 1), -5, 40});
    expect_matches_oracle(stn);
  }
}

// ---- least-cost relaxation ----

// The cheapest set of enabled constraints whose removal makes the network
// consistent, over all subsets.
double brute_force_relaxation(const Stn& stn) {
  const std::vector<bool> base = enabled_mask(stn);
  const std::size_t m = base.size();
  double best = -1;
  for (std::uint32_t mask = 0; mask < (1u << m); ++mask) {
    std::vector<bool> on = base;
    double cost = 0;
    bool valid = true;
    for (std::size_t i = 0; i < m; ++i) {
      if (!(mask >> i & 1u)) continue;
      if (!base[i]) valid = false;
      on[i] = false;
      cost += stn.constraints()[i].weight;
    }
    if (!valid || (best >= 0 && cost >= best)) continue;
    if (oracle_of(stn, on).consistent) best = cost;
  }
  return best;
}

void expect_relaxation_repairs(const Stn& stn, const Relaxation& r) {
  ASSERT_TRUE(std::is_sorted(r.dropped.begin(), r.dropped.end()));
  std::vector<bool> on = enabled_mask(stn);
  double cost = 0;
  for (std::size_t i : r.dropped) {
    EXPECT_TRUE(on[i]) << "dropped " << i << " twice or while disabled";
    on[i] = false;
    cost += stn.constraints()[i].weight;
  }
  EXPECT_DOUBLE_EQ(r.cost, cost);
  EXPECT_TRUE(oracle_of(stn, on).consistent);
  // Every drop is needed: restoring any one alone breaks the network again.
  for (std::size_t i : r.dropped) {
    on[i] = true;
    EXPECT_FALSE(oracle_of(stn, on).consistent) << "dropped " << i << " needlessly";
    on[i] = false;
  }
}

TEST(Stn, RelaxationMatchesBruteForce) {
  std::mt19937 rng(4242);
  int checked = 0;
  for (int round = 0; round < 400 && checked < 80; ++round) {
    const std::size_t n = 3 + static_cast<std::size_t>(rng() % 4);
    Stn stn = random_network(rng, n, 5 + rng() % 6);
    if (stn.consistent()) continue;
    if (rng() % 3 == 0) stn.set_enabled(rng() % stn.constraints().size(), false);
    if (stn.consistent()) continue;
    ++checked;
    SCOPED_TRACE("round " + std::to_string(round));
    const Relaxation exact = stn.cheapest_relaxation();
    EXPECT_TRUE(exact.exact);
    expect_relaxation_repairs(stn, exact);
    EXPECT_DOUBLE_EQ(exact.cost, brute_force_relaxation(stn));
    const Relaxation greedy = stn.cheapest_relaxation(0);
    EXPECT_FALSE(greedy.exact);
    expect_relaxation_repairs(stn, greedy);
    EXPECT_GE(greedy.cost, exact.cost);
    // The relaxation is a query: the network itself is unchanged.
    EXPECT_FALSE(stn.consistent());
  }
  EXPECT_GE(checked, 40);
}

TEST(Stn, RelaxationManyCyclesFallsBackToGreedy) {
  // k independent conflicts (each point fixed twice): k cycles.
  Stn stn;
  for (int k = 0; k < 6; ++k) {
    const PointId p = stn.add_point();
    stn.fix(p, 1, 2.0);
    stn.fix(p, 2, 1.0 + k % 2 * 2.0);
  }
  const Relaxation exact = stn.cheapest_relaxation(16);
  EXPECT_TRUE(exact.exact);
  EXPECT_DOUBLE_EQ(exact.cost, 3 * 1.0 + 3 * 2.0);
  expect_relaxation_repairs(stn, exact);
  const Relaxation greedy = stn.cheapest_relaxation(3);  // needs 6 cycles
  EXPECT_FALSE(greedy.exact);
  expect_relaxation_repairs(stn, greedy);
  EXPECT_DOUBLE_EQ(greedy.cost, exact.cost);  // independent cycles: greedy is optimal too
}

TEST(Stn, ExactBeatsGreedy) {
  // Cycles {0, 1} and {0, 2, 3}: dropping the shared 0 costs 4, greedy takes
  // the cheapest of each cycle, 1 and 3, for 5.
  Stn stn;
  const PointId a = stn.add_point(), b = stn.add_point();
  stn.add({kOrigin, a, 10, 10, 4.0});  // 0
  stn.add({kOrigin, a, 0, 5, 2.0});    // 1
  stn.add({kOrigin, b, 0, 0, 9.0});    // 2
  stn.add({b, a, 0, 3, 3.0});          // 3
  ASSERT_FALSE(stn.consistent());
  const Relaxation exact = stn.cheapest_relaxation();
  EXPECT_TRUE(exact.exact);
  EXPECT_EQ(exact.dropped, std::vector<std::size_t>{0});
  EXPECT_DOUBLE_EQ(exact.cost, 4.0);
  const Relaxation greedy = stn.cheapest_relaxation(0);
  EXPECT_FALSE(greedy.exact);
  expect_relaxation_repairs(stn, greedy);
  EXPECT_EQ(greedy.dropped, (std::vector<std::size_t>{1, 3}));
  EXPECT_DOUBLE_EQ(greedy.cost, 5.0);
}

TEST(Stn, GreedyRestoresNeedlessDrops) {
  // Cycles {x, y} and {y, z, w}: if greedy meets {x, y} first it drops x (the
  // cheapest), then y for the other cycle; x is then needless and comes back.
  Stn stn;
  const PointId a = stn.add_point(), b = stn.add_point();
  stn.add({kOrigin, a, kNegInf, 10, 2.0});  // 0 = y: a <= 10
  stn.add({kOrigin, a, 15, kPosInf, 1.0});  // 1 = x: a >= 15
  stn.add({b, a, 11, kPosInf, 3.0});        // 2 = z: a >= b + 11
  stn.add({kOrigin, b, 0, kPosInf, 10.0});  // 3 = w: b >= 0
  ASSERT_FALSE(stn.consistent());
  for (std::size_t limit : {std::size_t{0}, std::size_t{16}}) {
    const Relaxation r = stn.cheapest_relaxation(limit);
    EXPECT_EQ(r.exact, limit > 0);
    EXPECT_EQ(r.dropped, std::vector<std::size_t>{0});
    EXPECT_DOUBLE_EQ(r.cost, 2.0);
  }
}

// ---- Allen's relations ----

constexpr Allen kAllAllen[] = {Allen::Before,       Allen::After,      Allen::Meets,     Allen::MetBy,  Allen::Overlaps,
                               Allen::OverlappedBy, Allen::Starts,     Allen::StartedBy, Allen::During, Allen::Contains,
                               Allen::Finishes,     Allen::FinishedBy, Allen::Equals};

// The textbook definitions on concrete endpoints.
bool holds(Allen r, Tick as, Tick ae, Tick bs, Tick be) {
  switch (r) {
    case Allen::Before: return ae < bs;
    case Allen::After: return be < as;
    case Allen::Meets: return ae == bs;
    case Allen::MetBy: return be == as;
    case Allen::Overlaps: return as < bs && bs < ae && ae < be;
    case Allen::OverlappedBy: return bs < as && as < be && be < ae;
    case Allen::Starts: return as == bs && ae < be;
    case Allen::StartedBy: return as == bs && be < ae;
    case Allen::During: return bs < as && ae < be;
    case Allen::Contains: return as < bs && be < ae;
    case Allen::Finishes: return bs < as && ae == be;
    case Allen::FinishedBy: return as < bs && ae == be;
    case Allen::Equals: return as == bs && ae == be;
  }
  return false;
}

TEST(Allen, NamesRoundTrip) {
  const std::vector<std::string> names = {"before",        "after",       "meets",      "met_by", "overlaps",
                                          "overlapped_by", "starts",      "started_by", "during", "contains",
                                          "finishes",      "finished_by", "equals"};
  ASSERT_EQ(names.size(), std::size(kAllAllen));
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(to_string(kAllAllen[i]), names[i]);
    EXPECT_EQ(parse_allen(names[i]), kAllAllen[i]);
  }
  EXPECT_EQ(parse_allen("Before"), std::nullopt);
  EXPECT_EQ(parse_allen("metby"), std::nullopt);
  EXPECT_EQ(parse_allen(""), std::nullopt);
  EXPECT_EQ(parse_allen("before "), std::nullopt);
}

TEST(Allen, ConstraintsHoldExactlyWhenTheRelationDoes) {
  // Brute force over small endpoints; the network fixes all four points.
  for (Allen r : kAllAllen) {
    for (Tick as = 0; as <= 3; ++as) {
      for (Tick ae = as; ae <= 3; ++ae) {
        for (Tick bs = 0; bs <= 3; ++bs) {
          for (Tick be = bs; be <= 3; ++be) {
            Stn stn;
            const Interval a{stn.add_point(), stn.add_point()}, b{stn.add_point(), stn.add_point()};
            const std::vector<StnConstraint> cons = allen_constraints(a, r, b, 2.5);
            for (const StnConstraint& c : cons) {
              EXPECT_DOUBLE_EQ(c.weight, 2.5);
              stn.add(c);
            }
            stn.fix(a.start, as);
            stn.fix(a.end, ae);
            stn.fix(b.start, bs);
            stn.fix(b.end, be);
            EXPECT_EQ(stn.consistent(), holds(r, as, ae, bs, be))
                << to_string(r) << " a=[" << as << "," << ae << "] b=[" << bs << "," << be << "]";
          }
        }
      }
    }
  }
}

TEST(Allen, ProperIntervalsHaveExactlyOneRelation) {
  // Jointly exhaustive and pairwise disjoint, checked through the constraints.
  for (Tick as = 0; as <= 5; ++as) {
    for (Tick ae = as + 1; ae <= 5; ++ae) {
      for (Tick bs = 0; bs <= 5; ++bs) {
        for (Tick be = bs + 1; be <= 5; ++be) {
          const std::vector<Tick> t = {0, as, ae, bs, be};
          const Interval a{1, 2}, b{3, 4};
          int count = 0;
          for (Allen r : kAllAllen) {
            const std::vector<StnConstraint> cons = allen_constraints(a, r, b);
            const bool all =
                std::all_of(cons.begin(), cons.end(), [&](const StnConstraint& c) { return satisfies(t, c); });
            count += all ? 1 : 0;
            EXPECT_EQ(all, holds(r, as, ae, bs, be)) << to_string(r);
          }
          EXPECT_EQ(count, 1) << "a=[" << as << "," << ae << "] b=[" << bs << "," << be << "]";
        }
      }
    }
  }
}

TEST(Allen, SymbolicIntervalsGetTightBounds) {
  // a = [0, 10] fixed, a overlaps b, b lasts 5 to 20.
  Stn stn;
  const Interval a{stn.add_point(), stn.add_point()}, b{stn.add_point(), stn.add_point()};
  stn.fix(a.start, 0);
  stn.fix(a.end, 10);
  stn.add({b.start, b.end, 5, 20});
  for (const StnConstraint& c : allen_constraints(a, Allen::Overlaps, b)) stn.add(c);
  ASSERT_TRUE(stn.consistent());
  EXPECT_EQ(stn.earliest(b.start), 1);
  EXPECT_EQ(stn.latest(b.start), 9);
  EXPECT_EQ(stn.earliest(b.end), 11);
  EXPECT_EQ(stn.latest(b.end), 29);
  // a during b as well is impossible (b cannot start before a).
  for (const StnConstraint& c : allen_constraints(a, Allen::During, b)) stn.add(c);
  EXPECT_FALSE(stn.consistent());
  expect_minimal_conflict(stn);
}

}  // namespace
}  // namespace miso::echo
