#include "miso/tmath/custom_kernel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "../error_of.hpp"
#include "miso/core/error.hpp"
#include "miso/tmath/lazy.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {
namespace {

using miso::testing::error_of;

// softplus(x) = log(1 + e^x), with an f32 variant that counts its calls.
std::shared_ptr<CustomKernel> softplus_kernel(std::atomic<int>* f32_calls = nullptr) {
  auto k = std::make_shared<CustomKernel>();
  k->name = "test.softplus";
  k->arity = 1;
  k->f64 = [](const double* a, const double*, double* out, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = std::log1p(std::exp(a[i]));
  };
  if (f32_calls != nullptr) {
    k->f32 = [f32_calls](const float* a, const float*, float* out, std::int64_t n) {
      f32_calls->fetch_add(1);
      for (std::int64_t i = 0; i < n; ++i) out[i] = std::log1p(std::exp(a[i]));
    };
  }
  return k;
}

// hypot(a, b): arity 2, f64 only.
std::shared_ptr<CustomKernel> hypot_kernel() {
  auto k = std::make_shared<CustomKernel>();
  k->name = "test.hypot";
  k->arity = 2;
  k->f64 = [](const double* a, const double* b, double* out, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = std::hypot(a[i], b[i]);
  };
  return k;
}

void expect_equal(const Tensor& a, const Tensor& b, double tol = 0) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.dtype(), b.dtype());
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (std::size_t i = 0; i < va.size(); ++i) ASSERT_NEAR(va[i], vb[i], tol * std::max(1.0, std::abs(vb[i]))) << i;
}

TEST(CustomKernel, EagerEqualsReferenceInF64AndF32) {
  auto k = softplus_kernel();
  Generator g(1);
  Tensor x = rand_normal({33, 70}, g, 0, 2, DType::F64);  // more than two 1024-element blocks
  Tensor y = apply_kernel(*k, x);
  EXPECT_EQ(y.dtype(), DType::F64);
  std::vector<double> vx = x.to_vector<double>(), vy = y.to_vector<double>();
  for (std::size_t i = 0; i < vx.size(); ++i) ASSERT_EQ(vy[i], std::log1p(std::exp(vx[i]))) << i;

  // f32 without an f32 function: computed in f64, rounded once to f32.
  Tensor xf = x.to(DType::F32);
  Tensor yf = apply_kernel(*k, xf);
  EXPECT_EQ(yf.dtype(), DType::F32);
  std::vector<float> vxf = xf.to_vector<float>(), vyf = yf.to_vector<float>();
  for (std::size_t i = 0; i < vxf.size(); ++i) {
    ASSERT_EQ(vyf[i], static_cast<float>(std::log1p(std::exp(static_cast<double>(vxf[i]))))) << i;
  }
}

TEST(CustomKernel, F32FunctionIsUsedForF32AndF16ButNotF64) {
  std::atomic<int> calls{0};
  auto k = softplus_kernel(&calls);
  Tensor x = from_values({-1, 0, 0.5, 3}, {4}, DType::F32);
  Tensor y = apply_kernel(*k, x);
  EXPECT_GT(calls.load(), 0);
  EXPECT_NEAR(y.to_vector<double>()[1], std::log(2.0), 1e-6);
  calls = 0;
  Tensor h = apply_kernel(*k, x.to(DType::F16));
  EXPECT_EQ(h.dtype(), DType::F16);  // computed in f32, stored as f16
  EXPECT_GT(calls.load(), 0);
  expect_equal(h.to(DType::F32), y, 1e-3);
  calls = 0;
  Tensor bf = apply_kernel(*k, x.to(DType::BF16));
  EXPECT_EQ(bf.dtype(), DType::BF16);
  expect_equal(bf.to(DType::F32), y, 1e-2);
  calls = 0;
  apply_kernel(*k, x.to(DType::F64));
  EXPECT_EQ(calls.load(), 0);
}

TEST(CustomKernel, IntegerInputsAreConvertedAndGiveF32) {
  auto k = hypot_kernel();
  Tensor a = from_values({3, 5, 8}, {3}, DType::I32);
  Tensor b = from_values({4, 12, 15}, {3}, DType::I64);
  Tensor c = apply_kernel(*k, a, b);
  EXPECT_EQ(c.dtype(), DType::F32);
  EXPECT_EQ(c.to_vector<double>(), (std::vector<double>{5, 13, 17}));
  Tensor flags = from_values({1, 0}, {2}, DType::Bool);
  EXPECT_EQ(apply_kernel(*k, flags, flags).to_vector<double>(),
            (std::vector<double>{static_cast<float>(std::sqrt(2.0)), 0}));
  // Mixed float dtypes promote as tmath's binary operations do.
  EXPECT_EQ(apply_kernel(*k, a, from_values({4, 12, 15}, {3}, DType::F64)).dtype(), DType::F64);
  EXPECT_EQ(custom_result_dtype(DType::F16, DType::BF16), DType::F32);
}

TEST(CustomKernel, BinaryKernelsBroadcast) {
  auto k = hypot_kernel();
  Tensor a = from_values({3, 6, 9}, {3, 1}, DType::F64);
  Tensor b = from_values({4, 8}, {2}, DType::F64);
  Tensor c = apply_kernel(*k, a, b);
  ASSERT_EQ(c.shape(), (Shape{3, 2}));
  std::vector<double> v = c.to_vector<double>();
  std::vector<double> want{5,  std::hypot(3.0, 8.0), std::hypot(6.0, 4.0),
                           10, std::hypot(9.0, 4.0), std::hypot(9.0, 8.0)};
  EXPECT_EQ(v, want);
  // A non-contiguous operand and a scalar.
  Tensor t = from_values({3, 6, 9, 12, 15, 18}, {2, 3}, DType::F64).t();  // [3, 2]
  expect_equal(apply_kernel(*k, t, scalar(4, DType::F64)),
               from_values({5, std::hypot(12.0, 4.0), std::hypot(6.0, 4.0), std::hypot(15.0, 4.0), std::hypot(9.0, 4.0),
                            std::hypot(18.0, 4.0)},
                           {3, 2}, DType::F64));
  EXPECT_NE(error_of([&] {
              apply_kernel(*k, a, from_values({1, 2}, {2, 1}, DType::F64));
            }).find("test.hypot"),
            std::string::npos);
}

TEST(CustomKernel, LazyFusedWithOtherOpsEqualsEager) {
  auto sp = softplus_kernel();
  auto hy = hypot_kernel();
  Generator g(5);
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = rand_normal({41, 50}, g, 0, 1, dt);
    Tensor y = rand_normal({50}, g, 0, 1, dt);
    Lazy lx(x), ly(y);
    // exp(x) * k(y) + 1, and a binary kernel between two computed values, in one kernel.
    Lazy f = exp(lx) * custom(sp, ly) + 1.0;
    expect_equal(f.eval(), exp(x) * apply_kernel(*sp, y) + 1.0);
    Lazy h = custom(hy, lx * 2.0, tanh(ly)) - lx;
    expect_equal(h.eval(), apply_kernel(*hy, x * 2.0, tanh(y)) - x);
    // A fused reduction over a custom kernel, and a kernel applied to a reduction.
    expect_equal(sum(custom(sp, lx), {1}).eval(), sum(apply_kernel(*sp, x), {1}), 1e-6);
    expect_equal(custom(sp, max(lx, {0})).eval(), apply_kernel(*sp, max(x, {0})));
    // The same kernel twice on one value (its register is not reused by either call).
    Lazy twice = custom(sp, custom(sp, lx)) * custom(sp, lx);
    Tensor once = apply_kernel(*sp, x);
    expect_equal(twice.eval(), apply_kernel(*sp, once) * once);
  }
  // Large enough to run on several threads.
  Tensor big = rand_uniform({1 << 18}, g, -4, 4, DType::F32);
  expect_equal((custom(sp, Lazy(big)) * 0.5).eval(), apply_kernel(*sp, big) * 0.5);
}

TEST(CustomKernel, PlansAreCachedByKernelNameAndNodesKeepKernelsAlive) {
  clear_plan_cache();
  Tensor x = from_values({1, 2, 3}, {3}, DType::F64);
  auto add_one = std::make_shared<CustomKernel>();
  add_one->name = "test.add_one";
  add_one->f64 = [](const double* a, const double*, double* out, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = a[i] + 1;
  };
  auto twice = std::make_shared<CustomKernel>(*add_one);
  twice->name = "test.twice";
  twice->f64 = [](const double* a, const double*, double* out, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = 2 * a[i];
  };
  EXPECT_EQ(custom(add_one, Lazy(x)).eval().to_vector<double>(), (std::vector<double>{2, 3, 4}));
  EXPECT_EQ(custom(twice, Lazy(x)).eval().to_vector<double>(), (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(plan_cache_stats().misses, 2u);  // a different kernel is a different plan
  EXPECT_EQ(custom(twice, Lazy(x)).eval().to_vector<double>(), (std::vector<double>{2, 4, 6}));
  EXPECT_EQ(plan_cache_stats().hits, 1u);

  // The graph holds the kernel: dropping every other reference does not break it.
  register_kernel(add_one);
  Lazy graph = custom(find_kernel("test.add_one"), Lazy(x)) * 3.0;
  EXPECT_TRUE(unregister_kernel("test.add_one"));
  std::weak_ptr<CustomKernel> weak = add_one;
  add_one.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(graph.eval().to_vector<double>(), (std::vector<double>{6, 9, 12}));
  graph = Lazy(x);
  EXPECT_TRUE(weak.expired());
}

TEST(CustomKernel, RegistryRegistersFindsAndUnregisters) {
  register_kernel(softplus_kernel());
  register_kernel(hypot_kernel());
  EXPECT_NE(find_kernel("test.softplus"), nullptr);
  EXPECT_EQ(find_kernel("test.nope"), nullptr);
  std::vector<std::string> names = kernel_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "test.hypot"), names.end());
  EXPECT_EQ(apply_kernel("test.hypot", scalar(3, DType::F64), scalar(4, DType::F64)).item(), 5.0);
  EXPECT_EQ(apply_kernel("test.softplus", scalar(0, DType::F64)).item(), std::log(2.0));

  EXPECT_NE(error_of([] { register_kernel(softplus_kernel()); }, Error::Kind::InvalidArgument)
                .find("kernel 'test.softplus' is already registered"),
            std::string::npos);
  std::string unknown = error_of([] { apply_kernel("test.nope", scalar(1)); });
  EXPECT_NE(unknown.find("unknown custom kernel 'test.nope'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("test.hypot"), std::string::npos) << unknown;
  EXPECT_NE(error_of([] { apply_kernel("test.hypot", scalar(1)); }).find("'test.hypot' takes 2 operands, got 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { apply_kernel("test.softplus", scalar(1), scalar(2)); }).find("takes 1 operand, got 2"),
            std::string::npos);

  auto bad = std::make_shared<CustomKernel>();
  bad->name = "test.bad";
  bad->arity = 3;
  bad->f64 = [](const double*, const double*, double*, std::int64_t) {};
  EXPECT_NE(error_of([&] { register_kernel(bad); }).find("arity 3"), std::string::npos);
  bad->arity = 1;
  bad->f64 = nullptr;
  EXPECT_NE(error_of([&] { register_kernel(bad); }).find("no f64 function"), std::string::npos);
  bad->name.clear();
  EXPECT_NE(error_of([&] { register_kernel(bad); }).find("needs a name"), std::string::npos);
  EXPECT_NE(error_of([] { register_kernel(nullptr); }).find("null kernel"), std::string::npos);

  EXPECT_TRUE(unregister_kernel("test.softplus"));
  EXPECT_FALSE(unregister_kernel("test.softplus"));
  EXPECT_TRUE(unregister_kernel("test.hypot"));
  EXPECT_EQ(find_kernel("test.hypot"), nullptr);
}

TEST(CustomKernel, ErrorsThrownByAKernelReachTheCaller) {
  auto k = std::make_shared<CustomKernel>();
  k->name = "test.fails";
  k->f64 = [](const double*, const double*, double*, std::int64_t) {
    throw Error(Error::Kind::Format, "test.fails: refused");
  };
  Tensor big = zeros({1 << 17}, DType::F64);  // several threads
  EXPECT_EQ(error_of([&] { apply_kernel(*k, big); }, Error::Kind::Format), "test.fails: refused");
  EXPECT_EQ(error_of([&] { (custom(k, Lazy(big)) + 1.0).eval(); }), "test.fails: refused");
}

TEST(CustomKernel, RegistryIsSafeFromSeveralThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> found{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &found] {
      for (int i = 0; i < 200; ++i) {
        auto k = hypot_kernel();
        k->name = "test.thread" + std::to_string(t);
        register_kernel(k);
        if (find_kernel(k->name) != nullptr) ++found;
        kernel_names();
        unregister_kernel(k->name);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(found.load(), 800);
}

}  // namespace
}  // namespace miso::tmath
