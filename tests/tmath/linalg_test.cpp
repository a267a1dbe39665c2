#include <gtest/gtest.h>

#include <cstdlib>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/tmath/linalg.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {
namespace {

// The product computed in double by a plain triple loop, with the sum of the
// magnitudes |a_ik * b_kj| of each element (the scale of its rounding error).
struct Reference {
  Shape shape;
  std::vector<double> value, magnitude;
  std::int64_t k = 0;
};

Shape batch_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

Reference reference(const Tensor& a, const Tensor& b) {
  const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  const std::int64_t m = a2.size(-2), k = a2.size(-1), n = b2.size(-1);
  const Shape batch = broadcast_shapes(batch_of(a2), batch_of(b2), "reference");
  Shape as = batch, bs = batch;
  as.insert(as.end(), {m, k});
  bs.insert(bs.end(), {k, n});
  const std::vector<double> av = a2.to(DType::F64).expand(as).to_vector<double>();
  const std::vector<double> bv = b2.to(DType::F64).expand(bs).to_vector<double>();
  Reference r;
  r.k = k;
  const std::int64_t count = numel_of(batch);
  for (std::int64_t l = 0; l < count; ++l) {
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0, mag = 0;
        for (std::int64_t q = 0; q < k; ++q) {
          const double x = av[static_cast<std::size_t>((l * m + i) * k + q)];
          const double y = bv[static_cast<std::size_t>((l * k + q) * n + j)];
          sum += x * y;
          mag += std::fabs(x * y);
        }
        r.value.push_back(sum);
        r.magnitude.push_back(mag);
      }
    }
  }
  r.shape = batch;
  if (a.dim() > 1) r.shape.push_back(m);
  if (b.dim() > 1) r.shape.push_back(n);
  return r;
}

// Unit roundoff of accumulation and of the stored result per dtype.
double accumulate_u(DType t) { return t == DType::F64 ? 0x1p-53 : 0x1p-24; }
double output_u(DType t) {
  switch (t) {
    case DType::F16: return 0x1p-11;
    case DType::BF16: return 0x1p-8;
    case DType::F64: return 0x1p-53;
    default: return 0x1p-24;
  }
}

void expect_matches(const Tensor& a, const Tensor& b, const std::string& what) {
  SCOPED_TRACE(what + ": " + to_string(a.shape()) + " @ " + to_string(b.shape()));
  const Tensor got = matmul(a, b);
  const Reference ref = reference(a, b);
  DType expected = promote(a.dtype(), b.dtype());
  if (expected == DType::Bool) expected = DType::I64;
  EXPECT_EQ(got.dtype(), expected);
  ASSERT_EQ(got.shape(), ref.shape);
  ASSERT_TRUE(got.is_contiguous());
  const std::vector<double> g = got.to_vector<double>();
  ASSERT_EQ(g.size(), ref.value.size());
  const bool exact = !is_floating(expected);
  const double scale = 2.0 * static_cast<double>(ref.k) * accumulate_u(expected) + 2.0 * output_u(expected);
  int failures = 0;
  for (std::size_t i = 0; i < g.size() && failures < 5; ++i) {
    if (exact) {
      if (g[i] != ref.value[i]) ++failures;
      EXPECT_EQ(g[i], ref.value[i]) << "element " << i;
    } else {
      const double tol = scale * ref.magnitude[i] + 1e-30;
      if (std::fabs(g[i] - ref.value[i]) > tol) ++failures;
      EXPECT_NEAR(g[i], ref.value[i], tol) << "element " << i;
    }
  }
}

enum class Layout { Contiguous, Transposed, Strided };

// A random operand of `shape` laid out as asked: a transposed view, or a view
// with strides > 1 in both of its last two dimensions (offset by one row).
Tensor operand(const Shape& shape, Layout layout, Generator& gen, DType dtype) {
  auto fill = [&](const Shape& s) {
    if (is_floating(dtype)) return rand_normal(s, gen, 0.0, 1.0, dtype);
    return rand_uniform(s, gen, -50.0, 50.0, DType::F64).to(dtype);
  };
  if (shape.size() < 2 || layout == Layout::Contiguous) return fill(shape);
  const std::size_t d = shape.size();
  if (layout == Layout::Transposed) {
    Shape s = shape;
    std::swap(s[d - 1], s[d - 2]);
    return fill(s).t();
  }
  Shape s = shape;
  s[d - 1] = 2 * shape[d - 1] + 1;
  s[d - 2] = 3 * shape[d - 2] + 1;
  return fill(s).slice(-1, 1, 1 + 2 * shape[d - 1], 2).slice(-2, 1, 1 + 3 * shape[d - 2], 3);
}

struct Case {
  Shape a, b;
};

// Shapes covering the 1-D promotions, batch broadcasting and sizes that are
// not multiples of any block.
const std::vector<Case>& cases() {
  static const std::vector<Case> list = {
      {{1, 1}, {1, 1}},
      {{7}, {7}},
      {{5}, {5, 3}},
      {{4, 6}, {6}},
      {{6}, {2, 6, 3}},
      {{2, 3, 6}, {6}},
      {{17, 33}, {33, 65}},
      {{15, 2}, {2, 31}},
      {{29, 1}, {1, 40}},
      {{2, 1, 3, 4}, {5, 4, 2}},
      {{3, 9, 10}, {10, 11}},         // B shared: folded into one product
      {{1, 5, 8}, {4, 8, 3}},         // A shared
      {{128, 8, 16}, {128, 16, 24}},  // a batch of small products (parallel over the batch)
      {{70, 130}, {130, 45}},         // large enough for the parallel blocked path
  };
  return list;
}

void check_dtype(DType dtype) {
  Generator gen(42);
  for (const Case& c : cases()) {
    for (Layout la : {Layout::Contiguous, Layout::Transposed, Layout::Strided}) {
      for (Layout lb : {Layout::Contiguous, Layout::Transposed, Layout::Strided}) {
        if (la != Layout::Contiguous && lb != Layout::Contiguous && la != lb) continue;
        const Tensor a = operand(c.a, la, gen, dtype);
        const Tensor b = operand(c.b, lb, gen, dtype);
        expect_matches(a, b,
                       std::string(name(dtype)) + " layouts " + std::to_string(static_cast<int>(la)) + "/" +
                           std::to_string(static_cast<int>(lb)));
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

TEST(MatmulShapes, OneDimensionalOperandsArePromotedAndRemoved) {
  const Tensor v = from_values({1, 2, 3}, {3});
  const Tensor m = from_values({1, 0, 0, 1, 1, 1}, {3, 2});
  const Tensor dot = matmul(v, v);
  EXPECT_EQ(dot.shape(), Shape{});
  EXPECT_EQ(dot.item(), 14.0);
  const Tensor vm = matmul(v, m);
  EXPECT_EQ(vm.shape(), (Shape{2}));
  EXPECT_EQ(vm.to_vector<float>(), (std::vector<float>{4, 5}));
  const Tensor mv = matmul(m.t(), v);
  EXPECT_EQ(mv.shape(), (Shape{2}));
  EXPECT_EQ(mv.to_vector<float>(), (std::vector<float>{4, 5}));
  EXPECT_EQ(matmul(ones({2, 1, 3, 4}), ones({5, 4, 2})).shape(), (Shape{2, 5, 3, 2}));
  EXPECT_EQ(matmul(ones({4}), ones({2, 4, 5})).shape(), (Shape{2, 5}));
  EXPECT_EQ(matmul(ones({2, 3, 4}), ones({4})).shape(), (Shape{2, 3}));
}

TEST(MatmulShapes, EmptyAndZeroInnerDimension) {
  const Tensor e = matmul(ones({0, 3}), ones({3, 4}));
  EXPECT_EQ(e.shape(), (Shape{0, 4}));
  const Tensor z = matmul(ones({2, 0}, DType::BF16), ones({0, 3}, DType::BF16));
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.dtype(), DType::BF16);
  for (double x : z.to_vector<double>()) EXPECT_EQ(x, 0.0);
  EXPECT_EQ(matmul(ones({0}), ones({0})).item(), 0.0);
}

TEST(MatmulErrors, NameTheOperationAndBothShapes) {
  auto message = [](const Tensor& a, const Tensor& b) -> std::string {
    try {
      matmul(a, b);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
      return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
  };
  const std::string inner = message(ones({2, 3}), ones({4, 5}));
  EXPECT_NE(inner.find("matmul"), std::string::npos) << inner;
  EXPECT_NE(inner.find("[2, 3]"), std::string::npos) << inner;
  EXPECT_NE(inner.find("[4, 5]"), std::string::npos) << inner;
  const std::string batch = message(ones({2, 3, 4}), ones({5, 4, 2}));
  EXPECT_NE(batch.find("matmul"), std::string::npos) << batch;
  EXPECT_NE(batch.find("[2, 3, 4]"), std::string::npos) << batch;
  EXPECT_NE(batch.find("[5, 4, 2]"), std::string::npos) << batch;
  const std::string vec = message(ones({3}), ones({4}));
  EXPECT_NE(vec.find("[3]"), std::string::npos) << vec;
  EXPECT_NE(vec.find("[4]"), std::string::npos) << vec;
  const std::string zero_d = message(scalar(2.0), ones({3}));
  EXPECT_NE(zero_d.find("matmul"), std::string::npos) << zero_d;
  EXPECT_NE(zero_d.find("[]"), std::string::npos) << zero_d;
  EXPECT_NE(zero_d.find("[3]"), std::string::npos) << zero_d;
  EXPECT_THROW(matmul(Tensor(), ones({3})), Error);
}

TEST(MatmulFloat, F32MatchesReference) { check_dtype(DType::F32); }
TEST(MatmulFloat, F64MatchesReference) { check_dtype(DType::F64); }
TEST(MatmulFloat, F16MatchesReference) { check_dtype(DType::F16); }

TEST(MatmulFloat, MixedDtypesPromote) {
  Generator gen(7);
  expect_matches(rand_normal({6, 5}, gen), rand_normal({5, 4}, gen, 0, 1, DType::F64), "f32 x f64");
  expect_matches(rand_normal({6, 5}, gen, 0, 1, DType::F16), rand_normal({5, 4}, gen, 0, 1, DType::BF16), "f16 x bf16");
  expect_matches(operand({6, 5}, Layout::Contiguous, gen, DType::I32), rand_normal({5, 4}, gen), "i32 x f32");
}

// Sets a bf16 kernel for one test and restores Auto afterwards.
class MatmulBf16 : public ::testing::Test {
 protected:
  void TearDown() override { set_bf16_kernel(Bf16Kernel::Auto); }
};

TEST_F(MatmulBf16, PortableMatchesReference) {
  set_bf16_kernel(Bf16Kernel::Portable);
  EXPECT_EQ(bf16_kernel(), Bf16Kernel::Portable);
  check_dtype(DType::BF16);
}

TEST_F(MatmulBf16, Avx512MatchesReference) {
  if (!bf16_dot_available()) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  set_bf16_kernel(Bf16Kernel::Avx512);
  EXPECT_EQ(bf16_kernel(), Bf16Kernel::Avx512);
  check_dtype(DType::BF16);
}

TEST_F(MatmulBf16, KernelsAgree) {
  if (!bf16_dot_available()) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  Generator gen(3);
  const Tensor a = rand_normal({3, 37, 50}, gen, 0, 1, DType::BF16);
  const Tensor b = rand_normal({50, 33}, gen, 0, 1, DType::BF16);
  set_bf16_kernel(Bf16Kernel::Portable);
  const std::vector<double> portable = matmul(a, b).to_vector<double>();
  set_bf16_kernel(Bf16Kernel::Avx512);
  const std::vector<double> avx = matmul(a, b).to_vector<double>();
  ASSERT_EQ(portable.size(), avx.size());
  for (std::size_t i = 0; i < avx.size(); ++i) {
    // Both round one f32 sum; orders differ, so allow a bf16 step or two.
    EXPECT_NEAR(avx[i], portable[i], 0x1p-7 * std::fabs(portable[i]) + 1e-3) << i;
  }
}

TEST_F(MatmulBf16, AutoPicksAvailableKernel) {
  EXPECT_EQ(bf16_kernel(), Bf16Kernel::Auto);
  if (!bf16_dot_available()) {
    EXPECT_THROW(set_bf16_kernel(Bf16Kernel::Avx512), Error);
  }
  Generator gen(5);
  expect_matches(rand_normal({1, 1}, gen, 0, 1, DType::BF16), rand_normal({1, 1}, gen, 0, 1, DType::BF16), "1x1x1");
}

TEST(MatmulBf16Speed, ProbeIsMeasuredOnce) {
  const double speed = bf16_dot_speed();
  if (!bf16_dot_available()) {
    EXPECT_EQ(speed, 0.0);
    return;
  }
  // Every AVX512-BF16 core known runs vdpbf16ps between a quarter and four
  // times the FMA flop rate; the value is kept, not measured again.
  EXPECT_GT(speed, 0.25);
  EXPECT_LT(speed, 4.0);
  EXPECT_EQ(bf16_dot_speed(), speed);
}

TEST_F(MatmulBf16, AutoFollowsTheMeasuredSpeed) {
  if (!bf16_dot_available()) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  auto product = [&](std::int64_t n, std::int64_t k, Bf16Kernel kernel) {
    Generator g(8 + n);
    const Tensor a = rand_normal({n, k}, g, 0, 1, DType::BF16), b = rand_normal({k, n}, g, 0, 1, DType::BF16);
    set_bf16_kernel(kernel);
    Tensor c = matmul(a, b);
    set_bf16_kernel(Bf16Kernel::Auto);
    return c.to_vector<double>();
  };
  // Small products always take the AVX512-BF16 kernel; from 2^29
  // multiply-adds on, the portable path unless the dot instruction is at least
  // as fast as FMA. The two kernels sum in different orders, so their results
  // tell them apart.
  EXPECT_EQ(product(64, 64, Bf16Kernel::Auto), product(64, 64, Bf16Kernel::Avx512));
  const Bf16Kernel large = bf16_dot_speed() >= 1.0 ? Bf16Kernel::Avx512 : Bf16Kernel::Portable;
  const Bf16Kernel other = large == Bf16Kernel::Avx512 ? Bf16Kernel::Portable : Bf16Kernel::Avx512;
  const std::vector<double> automatic = product(1024, 512, Bf16Kernel::Auto);
  EXPECT_EQ(automatic, product(1024, 512, large));
  EXPECT_NE(automatic, product(1024, 512, other));
}

TEST(MatmulInt, I32AndI64AreExact) {
  check_dtype(DType::I32);
  check_dtype(DType::I64);
  Generator gen(9);
  expect_matches(operand({4, 7}, Layout::Contiguous, gen, DType::I32),
                 operand({7, 3}, Layout::Transposed, gen, DType::I64), "i32 x i64");
}

TEST(MatmulInt, BoolCountsInI64) {
  const Tensor a = from_values({1, 0, 1, 1, 1, 1}, {2, 3}, DType::Bool);
  const Tensor b = from_values({1, 1, 1}, {3}, DType::Bool);
  const Tensor c = matmul(a, b);
  EXPECT_EQ(c.dtype(), DType::I64);
  EXPECT_EQ(c.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 3}));
}

TEST(MatmulInt, WrapsInTheResultType) {
  const Tensor a = from_vector<std::int32_t>({65536, 65536}, {2});
  EXPECT_EQ(matmul(a, a).to_vector<std::int32_t>(), (std::vector<std::int32_t>{0}));  // 2^33 wraps to 0
  const Tensor b = from_vector<std::int64_t>({std::int64_t{1} << 62, 3}, {2});
  const Tensor c = from_vector<std::int64_t>({4, 5}, {2});
  EXPECT_EQ(matmul(b, c).to_vector<std::int64_t>(), (std::vector<std::int64_t>{15}));  // 2^64 wraps to 0
}

TEST(Matmul, OpenBlasRunsKernelsForThisCpu) {
  // OpenBLAS 0.3.21 falls back to its SSE3 "Prescott" kernels on CPUs it does
  // not know; matmul re-selects them (linalg.hpp).
  const std::string core = blas_core();
  __builtin_cpu_init();
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_NE(core, "Prescott");
    EXPECT_NE(core, "Core2");
    EXPECT_NE(core, "Nehalem");
  }
  // And the results stay right after the switch.
  Generator g(5);
  Tensor a = rand_normal({67, 45}, g), b = rand_normal({45, 31}, g);
  Tensor c = matmul(a, b);
  std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>(), vc = c.to_vector<float>();
  for (int i = 0; i < 67; ++i) {
    for (int j = 0; j < 31; ++j) {
      double want = 0;
      for (int k = 0; k < 45; ++k)
        want +=
            static_cast<double>(va[static_cast<std::size_t>(i * 45 + k)]) * vb[static_cast<std::size_t>(k * 31 + j)];
      ASSERT_NEAR(vc[static_cast<std::size_t>(i * 31 + j)], want, 1e-4 * (1 + std::abs(want)));
    }
  }
}

}  // namespace
}  // namespace miso::tmath
