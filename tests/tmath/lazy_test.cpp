#include "miso/tmath/lazy.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "miso/core/error.hpp"

namespace miso::tmath {
namespace {

// The same formula for eager tensors and lazy graphs.
template <typename T>
T chain(const T& x, const T& y) {
  return gelu(x * 1.5 + y) * 0.25 - exp(-abs(y)) / (1.0 + x * x);
}

void expect_equal(const Tensor& a, const Tensor& b, double tol = 0) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.dtype(), b.dtype());
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (std::size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i])) {
      ASSERT_TRUE(std::isnan(vb[i])) << i;
      continue;
    }
    ASSERT_NEAR(va[i], vb[i], tol * std::max(1.0, std::abs(vb[i]))) << i;
  }
}

TEST(Lazy, ElementwiseChainEqualsEagerBitForBit) {
  Generator g(1);
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = rand_normal({37, 29}, g, 0, 1, dt);
    Tensor y = rand_normal({29}, g, 0, 1, dt);  // broadcast
    Lazy lx(x), ly(y);
    Lazy f = chain(lx, ly);
    EXPECT_EQ(f.shape(), (Shape{37, 29}));
    EXPECT_EQ(f.dtype(), dt);
    expect_equal(f.eval(), chain(x, y));
  }
}

// Chains of constant operations around a function are fused into one pass
// (vmath::map) in f32 kernels; the results stay those of eager evaluation.
TEST(Lazy, FusedConstantChainsEqualEagerBitForBit) {
  Generator g(9);
  Tensor x = rand_normal({3000}, g, 0, 3);
  Tensor y = rand_normal({3000}, g);
  Lazy lx(x), ly(y);
  auto check = [&](const Lazy& lazy, const Tensor& eager) { expect_equal(lazy.eval(), eager); };
  check(gelu(lx * 1.25 + 0.5) * 0.75, gelu(x * 1.25 + 0.5) * 0.75);
  check(maximum(lx * 1.25 + 0.5, constant(0.0)) * 0.75, maximum(x * 1.25 + 0.5, full({}, 0.0)) * 0.75);
  check(2.0 - exp(lx / 4.0) / 3.0, 2.0 - exp(x / 4.0) / 3.0);  // constants first and second
  check(tanh(minimum(lx, constant(1.5)) - 1.0) + ly, tanh(minimum(x, full({}, 1.5)) - 1.0) + y);
  // A value used twice ends a chain: both uses see it.
  Lazy shared = lx * 2.0 + 1.0;
  check(sigmoid(shared) * shared, sigmoid(x * 2.0 + 1.0) * (x * 2.0 + 1.0));
  // Two functions in a row: two fused kernels, one after the other.
  check(log(exp(lx * 0.5) + 1.0) * 2.0, log(exp(x * 0.5) + 1.0) * 2.0);
  // Fused reductions over a fused chain.
  check(sum(erf(lx * 0.7 - 0.1) * 3.0, {0}), sum(erf(x * 0.7 - 0.1) * 3.0, {0}));
}

TEST(Lazy, NonContiguousInputsAndLargeParallelRuns) {
  Generator g(2);
  Tensor base = rand_uniform({300, 700}, g, -2, 2);
  Tensor x = base.t();                      // [700, 300], transposed
  Tensor y = base.slice(1, 0, 600, 2).t();  // [300, 300] with a step... shape [300, 300] after t
  Tensor xs = x.slice(0, 0, 300);           // [300, 300]
  expect_equal(chain(Lazy(xs), Lazy(y)).eval(), chain(xs, y));
  Tensor big = rand_uniform({1 << 18}, g, -1, 1);
  expect_equal((relu(Lazy(big)) * 2.0 + 1.0).eval(), relu(big) * 2.0 + 1.0);
}

// Results of 64 MiB and more are written with streaming stores: straight from
// a fused pass when it is the last kernel, else through a streaming copy.
TEST(Lazy, ResultsLargerThanTheCachesStreamTheSameValues) {
  Generator g(4);
  Tensor x = rand_uniform({(1 << 24) + 3}, g, -3, 3);  // 64 MiB and an unaligned tail
  Tensor y = rand_uniform({(1 << 24) + 3}, g, -1, 1);
  expect_equal((gelu(Lazy(x) * 0.5 + 0.25) * 2.0).eval(), gelu(x * 0.5 + 0.25) * 2.0);
  expect_equal((Lazy(x) * 0.5 + Lazy(y)).eval(), x * 0.5 + y);  // ends in a binary operation
}

TEST(Lazy, MixedDtypesFollowEagerPromotion) {
  Generator g(3);
  Tensor i = from_values({1, 2, 3, 4}, {4}, DType::I32);
  Tensor f = rand_uniform({4}, g, 0, 1, DType::F64);
  expect_equal((Lazy(i) * 3.0 + Lazy(i)).eval(), i * 3.0 + i);  // integers stay integers
  expect_equal((Lazy(i) / 2.0).eval(), i / 2.0);
  expect_equal((Lazy(i) + Lazy(f)).eval(), i + f);
  expect_equal(where(gt(Lazy(f), constant(0.5, DType::F64)), Lazy(f), Lazy(i)).eval(),
               where(gt(f, scalar(0.5, DType::F64)), f, i));
  // f16 inputs: the kernel keeps intermediates in f32; eager rounds each to f16.
  Tensor h = rand_uniform({64}, g, -1, 1, DType::F16);
  Tensor fused = chain(Lazy(h), Lazy(h)).eval();
  EXPECT_EQ(fused.dtype(), DType::F16);
  Tensor exact = chain(h.to(DType::F64), h.to(DType::F64)).to(DType::F16);
  expect_equal(fused, exact, 1e-3);  // within one f16 rounding of the exact result
}

TEST(Lazy, FusedTrailingReductionsMatchEager) {
  Generator g(4);
  Tensor x = rand_normal({6, 5, 40}, g);
  Lazy lx(x);
  expect_equal(sum(lx * lx, {-1}).eval(), sum(x * x, {-1}), 1e-6);
  expect_equal(mean(exp(lx), {1, 2}, true).eval(), mean(exp(x), {1, 2}, true), 1e-6);
  expect_equal(max(lx, {2}).eval(), max(x, {2}));
  expect_equal(min(lx + 1.0, {}).eval(), min(x + 1.0));
  expect_equal(sum(lx).eval(), sum(x), 1e-5);
  // A reduction over a leading axis takes the eager path.
  expect_equal(sum(lx * 2.0, {0}).eval(), sum(x * 2.0, {0}), 1e-6);
  // Integer sums are exact and i64.
  Tensor ints = from_values({1, 2, 3, 4, 5, 6}, {2, 3}, DType::I32);
  Tensor s = sum(Lazy(ints) * 2.0, {1}).eval();
  EXPECT_EQ(s.dtype(), DType::I64);
  EXPECT_EQ(s.to_vector<std::int64_t>(), (std::vector<std::int64_t>{12, 30}));
}

TEST(Lazy, ReductionsInsideAFormulaGiveASoftmax) {
  Generator g(5);
  Tensor x = rand_normal({8, 33}, g, 0, 3);
  Lazy lx(x);
  Lazy e = exp(lx - max(lx, {-1}, true));
  Tensor soft = (e / sum(e, {-1}, true)).eval();
  std::vector<float> v = soft.to_vector<float>();
  std::vector<float> xv = x.to_vector<float>();
  for (int r = 0; r < 8; ++r) {
    double m = -INFINITY, z = 0;
    for (int c = 0; c < 33; ++c) m = std::max(m, static_cast<double>(xv[static_cast<std::size_t>(r * 33 + c)]));
    for (int c = 0; c < 33; ++c) z += std::exp(xv[static_cast<std::size_t>(r * 33 + c)] - m);
    for (int c = 0; c < 33; ++c) {
      double want = std::exp(xv[static_cast<std::size_t>(r * 33 + c)] - m) / z;
      ASSERT_NEAR(v[static_cast<std::size_t>(r * 33 + c)], want, 1e-6);
    }
  }
}

TEST(Lazy, LargeReductionsAreDeterministic) {
  Generator g(6);
  Tensor x = rand_uniform({1 << 20}, g);
  Tensor a = sum(Lazy(x) * 0.5).eval();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sum(Lazy(x) * 0.5).eval().item(), a.item());
  double ref = 0;
  for (float v : x.to_vector<float>()) ref += 0.5 * static_cast<double>(v);
  EXPECT_NEAR(a.item(), ref, 1e-6 * ref);
}

TEST(Lazy, PlansAreCachedByStructureNotData) {
  clear_plan_cache();
  Generator g(7);
  Tensor x1 = rand_normal({16, 16}, g), y1 = rand_normal({16}, g);
  Tensor x2 = rand_normal({16, 16}, g), y2 = rand_normal({16}, g);
  (void)chain(Lazy(x1), Lazy(y1)).eval();
  PlanCacheStats first = plan_cache_stats();
  EXPECT_EQ(first.misses, 1u);
  EXPECT_EQ(first.plans, 1u);
  Tensor r = chain(Lazy(x2), Lazy(y2)).eval();  // new data, same formula: no compilation
  PlanCacheStats second = plan_cache_stats();
  EXPECT_EQ(second.misses, 1u);
  EXPECT_EQ(second.hits, first.hits + 1);
  expect_equal(r, chain(x2, y2));
  // A different constant is data, not structure.
  (void)(Lazy(x1) * 3.0).eval();
  (void)(Lazy(x1) * 4.0).eval();
  EXPECT_EQ(plan_cache_stats().misses, 2u);
  expect_equal((Lazy(x1) * 4.0).eval(), x1 * 4.0);
  // A different shape is a different plan.
  (void)(Lazy(rand_normal({3}, g)) * 3.0).eval();
  EXPECT_EQ(plan_cache_stats().misses, 3u);
  clear_plan_cache();
  EXPECT_EQ(plan_cache_stats().plans, 0u);
}

TEST(Lazy, ErrorsAtBuildTimeNameTheOperation) {
  try {
    (void)(Lazy(zeros({2, 3})) + Lazy(zeros({4})));
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("add"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
  }
  EXPECT_THROW((void)sum(Lazy(zeros({2, 3})), {0, 0}), Error);
  EXPECT_THROW((void)sum(Lazy(zeros({2, 3})), {2}), Error);
  EXPECT_THROW((void)Lazy(Tensor()), Error);
  EXPECT_THROW((void)max(Lazy(zeros({2, 0})), {1}).eval(), Error);
  EXPECT_TRUE(std::isnan(mean(Lazy(zeros({2, 0})), {1}).eval().at({0})));
}

TEST(Lazy, ConstantsAndSharedSubexpressions) {
  Tensor x = arange(0, 5);
  Lazy lx(x);
  Lazy sq = lx * lx;
  expect_equal((sq + sq * 2.0).eval(), x * x * 3.0);
  expect_equal((constant(2.0) + lx).eval(), x + 2.0);
  expect_equal(constant(7.0, DType::I64).eval(), scalar(7, DType::I64));
  EXPECT_EQ(Lazy(x).eval().storage(), x.storage());  // an input evaluates to itself
}

}  // namespace
}  // namespace miso::tmath
