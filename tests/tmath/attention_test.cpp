#include <gtest/gtest.h>

#include <cmath>

#include "miso/core/error.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {
namespace {

// Straightforward attention in double for one batch entry: q [L, D], k [S, D], v [S, E].
std::vector<double> reference(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                              std::int64_t L, std::int64_t S, std::int64_t D, std::int64_t E, bool causal,
                              double scale) {
  std::vector<double> out(static_cast<std::size_t>(L * E), 0.0);
  for (std::int64_t i = 0; i < L; ++i) {
    std::vector<double> s(static_cast<std::size_t>(S), -INFINITY);
    double m = -INFINITY;
    for (std::int64_t j = 0; j < S; ++j) {
      if (causal && j > i) continue;
      double d = 0;
      for (std::int64_t x = 0; x < D; ++x)
        d += q[static_cast<std::size_t>(i * D + x)] * k[static_cast<std::size_t>(j * D + x)];
      s[static_cast<std::size_t>(j)] = d * scale;
      m = std::max(m, d * scale);
    }
    double z = 0;
    for (double& x : s) z += (x = std::exp(x - m));
    for (std::int64_t j = 0; j < S; ++j) {
      for (std::int64_t e = 0; e < E; ++e) {
        out[static_cast<std::size_t>(i * E + e)] +=
            s[static_cast<std::size_t>(j)] / z * v[static_cast<std::size_t>(j * E + e)];
      }
    }
  }
  return out;
}

void check(const Shape& qs, const Shape& ks, const Shape& vs, bool causal, DType dtype, double tol, double scale = 0) {
  Generator g(static_cast<std::uint64_t>(qs.back() * 131 + ks[ks.size() - 2]));
  Tensor q = rand_normal(qs, g, 0, 1, dtype), k = rand_normal(ks, g, 0, 1, dtype), v = rand_normal(vs, g, 0, 1, dtype);
  Tensor out = scaled_dot_product_attention(q, k, v, causal, scale);
  const std::int64_t L = qs[qs.size() - 2], D = qs.back(), S = ks[ks.size() - 2], E = vs.back();
  Shape batch = broadcast_shapes(Shape(qs.begin(), qs.end() - 2), Shape(ks.begin(), ks.end() - 2), "t");
  batch = broadcast_shapes(batch, Shape(vs.begin(), vs.end() - 2), "t");
  Shape expect_shape = batch;
  expect_shape.push_back(L);
  expect_shape.push_back(E);
  ASSERT_EQ(out.shape(), expect_shape);
  ASSERT_EQ(out.dtype(), dtype);
  const double sc = scale != 0 ? scale : 1 / std::sqrt(static_cast<double>(D));
  auto with = [](Shape s, std::int64_t a, std::int64_t b) {
    s.push_back(a);
    s.push_back(b);
    return s;
  };
  Tensor qe = q.expand(with(batch, L, D)).reshape({-1, L, D});
  Tensor ke = k.expand(with(batch, S, D)).reshape({-1, S, D});
  Tensor ve = v.expand(with(batch, S, E)).reshape({-1, S, E});
  Tensor oe = out.reshape({-1, L, E});
  for (std::int64_t b = 0; b < numel_of(batch); ++b) {
    auto want = reference(qe.select(0, b).to_vector<double>(), ke.select(0, b).to_vector<double>(),
                          ve.select(0, b).to_vector<double>(), L, S, D, E, causal, sc);
    auto got = oe.select(0, b).to_vector<double>();
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << "batch " << b << " at " << i;
  }
}

TEST(Attention, MatchesReferenceWithAndWithoutCausalMask) {
  for (bool causal : {false, true}) {
    check({1, 7, 16}, {1, 7, 16}, {1, 7, 16}, causal, DType::F32, 1e-5);
    check({2, 70, 33}, {2, 150, 33}, {2, 150, 9}, causal, DType::F32, 1e-5);  // blocks with tails, L != S, E != D
    check({3, 150, 8}, {3, 40, 8}, {3, 40, 8}, causal, DType::F64, 1e-12);    // L > S
  }
}

TEST(Attention, BroadcastsBatchDimensionsAndTakesAScale) {
  check({2, 3, 5, 4}, {3, 6, 4}, {1, 6, 4}, true, DType::F32, 1e-5);
  check({4, 4}, {2, 9, 4}, {9, 2}, false, DType::F64, 1e-12, 0.7);
}

TEST(Attention, HalfPrecisionComputesInF32) {
  check({2, 40, 16}, {2, 40, 16}, {2, 40, 16}, true, DType::BF16, 3e-2);
  check({2, 40, 16}, {2, 40, 16}, {2, 40, 16}, false, DType::F16, 4e-3);
}

TEST(Attention, ErrorsNameTheShapes) {
  try {
    (void)scaled_dot_product_attention(zeros({2, 4, 8}), zeros({2, 5, 7}), zeros({2, 5, 8}));
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("[2, 4, 8]"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 5, 7]"), std::string::npos) << m;
  }
  EXPECT_THROW((void)scaled_dot_product_attention(zeros({4, 8}), zeros({5, 8}), zeros({6, 8})), Error);
  EXPECT_THROW((void)scaled_dot_product_attention(zeros({8}), zeros({5, 8}), zeros({5, 8})), Error);
  EXPECT_THROW((void)scaled_dot_product_attention(zeros({2, 4, 8}), zeros({3, 5, 8}), zeros({3, 5, 8})), Error);
  EXPECT_THROW((void)scaled_dot_product_attention(zeros({4, 8}, DType::I32), zeros({5, 8}, DType::I32),
                                                  zeros({5, 8}, DType::I32)),
               Error);
}

}  // namespace
}  // namespace miso::tmath
