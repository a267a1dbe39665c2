#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class Op { Sum, Mean, Max, Min, Var, Var1, ArgMax };

const char* op_label(Op op) {
  switch (op) {
    case Op::Sum: return "sum";
    case Op::Mean: return "mean";
    case Op::Max: return "max";
    case Op::Min: return "min";
    case Op::Var: return "var";
    case Op::Var1: return "var(ddof=1)";
    case Op::ArgMax: return "argmax";
  }
  return "?";
}

// Random test data of any dtype: floats normal, integers in [-50, 50), bool about half true.
Tensor random_tensor(const Shape& shape, DType dtype, std::uint64_t seed) {
  Generator gen(seed);
  if (dtype == DType::Bool) return gt(rand_uniform(shape, gen), scalar(0.5));
  if (is_integer(dtype)) return rand_uniform(shape, gen, -50.0, 50.0, DType::F64).to(dtype);
  return rand_normal(shape, gen, 0.5, 2.0, dtype);
}

// Normalised, sorted-by-use set of reduced dims (empty axes = all).
std::vector<bool> reduced_dims(const Shape& shape, const std::vector<std::int64_t>& axes) {
  const auto nd = static_cast<std::int64_t>(shape.size());
  std::vector<bool> red(shape.size(), axes.empty());
  for (std::int64_t a : axes) red[static_cast<std::size_t>(a < 0 ? a + nd : a)] = true;
  return red;
}

// The values of each output element's reduction, in row-major order of the
// reduced dims, computed from the logical elements of `a`.
std::vector<std::vector<double>> groups_of(const Tensor& a, const std::vector<std::int64_t>& axes) {
  const Shape& shape = a.shape();
  std::vector<bool> red = reduced_dims(shape, axes);
  std::int64_t outputs = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (!red[d]) outputs *= shape[d];
  }
  std::vector<std::vector<double>> groups(static_cast<std::size_t>(outputs));
  std::vector<double> v = a.to_vector<double>();
  std::vector<std::int64_t> idx(shape.size(), 0);
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::int64_t rem = static_cast<std::int64_t>(i);
    for (std::size_t d = shape.size(); d-- > 0;) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
    }
    std::int64_t o = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (!red[d]) o = o * shape[d] + idx[d];
    }
    groups[static_cast<std::size_t>(o)].push_back(v[i]);
  }
  return groups;
}

Shape expected_shape(const Shape& shape, const std::vector<std::int64_t>& axes, bool keepdims) {
  std::vector<bool> red = reduced_dims(shape, axes);
  Shape out;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (!red[d]) {
      out.push_back(shape[d]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  return out;
}

double reference(Op op, const std::vector<double>& g) {
  const double n = static_cast<double>(g.size());
  double s = 0;
  for (double x : g) s += x;
  switch (op) {
    case Op::Sum: return s;
    case Op::Mean: return g.empty() ? kNaN : s / n;
    case Op::Var:
    case Op::Var1: {
      const double ddof = op == Op::Var1 ? 1 : 0;
      const double m = s / n;
      double q = 0;
      for (double x : g) q += (x - m) * (x - m);
      return n - ddof > 0 ? q / (n - ddof) : kNaN;
    }
    case Op::Max:
    case Op::Min: {
      double r = g.at(0);
      for (double x : g) {
        if (std::isnan(x) || std::isnan(r)) {
          r = kNaN;
        } else {
          r = op == Op::Max ? std::max(r, x) : std::min(r, x);
        }
      }
      return r;
    }
    case Op::ArgMax: {
      std::size_t best = 0;
      for (std::size_t i = 0; i < g.size(); ++i) {
        if (std::isnan(g[i])) return static_cast<double>(i);
        if (g[i] > g[best]) best = i;
      }
      return static_cast<double>(best);
    }
  }
  return 0;
}

DType expected_dtype(Op op, DType in) {
  switch (op) {
    case Op::Sum: return is_floating(in) ? in : DType::I64;
    case Op::Mean:
    case Op::Var:
    case Op::Var1: return is_floating(in) ? in : DType::F32;
    case Op::Max:
    case Op::Min: return in;
    case Op::ArgMax: return DType::I64;
  }
  return in;
}

double relative_tolerance(DType dtype) {
  switch (dtype) {
    case DType::F16: return 1e-3;
    case DType::BF16: return 8e-3;
    case DType::F32: return 1e-6;
    case DType::F64: return 1e-12;
    default: return 0;
  }
}

Tensor apply(Op op, const Tensor& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  switch (op) {
    case Op::Sum: return sum(a, axes, keepdims);
    case Op::Mean: return mean(a, axes, keepdims);
    case Op::Max: return max(a, axes, keepdims);
    case Op::Min: return min(a, axes, keepdims);
    case Op::Var: return var(a, axes, keepdims, 0);
    case Op::Var1: return var(a, axes, keepdims, 1);
    case Op::ArgMax: {
      if (axes.empty()) return argmax(a, std::nullopt, keepdims);
      return argmax(a, axes.at(0), keepdims);
    }
  }
  return {};
}

void expect_matches(Op op, const Tensor& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  SCOPED_TRACE(std::string(op_label(op)) + " " + std::string(name(a.dtype())) + " shape " + to_string(a.shape()) +
               " axes " + to_string(axes) + (keepdims ? " keepdims" : ""));
  Tensor out = apply(op, a, axes, keepdims);
  ASSERT_EQ(out.shape(), expected_shape(a.shape(), axes, keepdims));
  ASSERT_EQ(out.dtype(), expected_dtype(op, a.dtype()));
  ASSERT_TRUE(out.is_contiguous());
  std::vector<double> got = out.to_vector<double>();
  std::vector<std::vector<double>> groups = groups_of(a, axes);
  ASSERT_EQ(got.size(), groups.size());
  for (std::size_t o = 0; o < groups.size(); ++o) {
    const double want = reference(op, groups[o]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got[o])) << "output " << o;
      continue;
    }
    double scale = std::abs(want);
    if (op == Op::Sum || op == Op::Mean) {
      for (double x : groups[o]) scale = std::max(scale, std::abs(x));
    }
    const double tol = relative_tolerance(out.dtype()) * std::max(1.0, scale);
    EXPECT_NEAR(got[o], want, tol) << "output " << o;
  }
}

// Every subset of the dims of `shape` as axes lists, some written negative.
std::vector<std::vector<std::int64_t>> all_axis_sets(const Shape& shape) {
  const auto nd = static_cast<std::int64_t>(shape.size());
  std::vector<std::vector<std::int64_t>> sets;
  for (std::int64_t mask = 0; mask < (std::int64_t{1} << nd); ++mask) {
    std::vector<std::int64_t> axes;
    for (std::int64_t d = 0; d < nd; ++d) {
      if (mask & (std::int64_t{1} << d)) axes.push_back(mask % 3 == 0 ? d - nd : d);
    }
    sets.push_back(axes);
  }
  return sets;
}

constexpr DType kAllDtypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::I64, DType::Bool};
const std::vector<Shape> kShapes = {{7}, {3, 4}, {2, 3, 5}, {2, 1, 4, 3}};

TEST(Reduce, SumMeanVarMatchReferenceForEveryDtypeAndAxisSet) {
  std::uint64_t seed = 1;
  for (DType dt : kAllDtypes) {
    for (const Shape& shape : kShapes) {
      Tensor a = random_tensor(shape, dt, seed++);
      for (const auto& axes : all_axis_sets(shape)) {
        for (bool keepdims : {false, true}) {
          for (Op op : {Op::Sum, Op::Mean, Op::Var, Op::Var1}) expect_matches(op, a, axes, keepdims);
        }
      }
    }
  }
}

TEST(Reduce, MaxMinMatchReferenceForEveryDtypeAndAxisSet) {
  std::uint64_t seed = 100;
  for (DType dt : kAllDtypes) {
    for (const Shape& shape : kShapes) {
      Tensor a = random_tensor(shape, dt, seed++);
      for (const auto& axes : all_axis_sets(shape)) {
        for (bool keepdims : {false, true}) {
          for (Op op : {Op::Max, Op::Min}) expect_matches(op, a, axes, keepdims);
        }
      }
    }
  }
}

TEST(Reduce, ArgMaxMatchesReferenceForEveryAxis) {
  std::uint64_t seed = 200;
  for (DType dt : kAllDtypes) {
    for (const Shape& shape : kShapes) {
      Tensor a = random_tensor(shape, dt, seed++);
      const auto nd = static_cast<std::int64_t>(shape.size());
      for (bool keepdims : {false, true}) {
        expect_matches(Op::ArgMax, a, {}, keepdims);
        for (std::int64_t d = -nd; d < nd; ++d) expect_matches(Op::ArgMax, a, {d}, keepdims);
      }
    }
  }
}

TEST(Reduce, NonContiguousInputsMatchReference) {
  std::uint64_t seed = 300;
  for (DType dt : {DType::F32, DType::F64, DType::BF16, DType::I32}) {
    Tensor base = random_tensor({4, 6, 5}, dt, seed++);
    std::vector<Tensor> views = {
        base.transpose(0, 2),                                 // [5, 6, 4]
        base.permute({1, 2, 0}),                              // [6, 5, 4]
        base.slice(1, 1, 6, 2).slice(2, 0, 5, 3),             // [4, 3, 2]
        base.slice(0, 3, 4).slice(2, 4, 5),                   // [1, 6, 1]
        random_tensor({1, 5}, dt, seed++).expand({3, 4, 5}),  // stride 0
        random_tensor({3, 1}, dt, seed++).expand({3, 6}),     // stride 0 inner
        base.select(1, 2).t(),                                // [5, 4]
    };
    for (const Tensor& v : views) {
      for (const auto& axes : all_axis_sets(v.shape())) {
        for (Op op : {Op::Sum, Op::Mean, Op::Max, Op::Min, Op::Var}) expect_matches(op, v, axes, false);
      }
      expect_matches(Op::ArgMax, v, {}, false);
      for (std::int64_t d = 0; d < v.dim(); ++d) expect_matches(Op::ArgMax, v, {d}, true);
    }
  }
}

TEST(Reduce, LargeReductionsUseChunksAndMatchReference) {
  // More than one chunk of 65536 elements per output, and many small outputs.
  Generator gen(7);
  Tensor a = rand_normal({200003}, gen, 1.0, 1.0, DType::F32);
  for (Op op : {Op::Sum, Op::Mean, Op::Max, Op::Min, Op::Var, Op::ArgMax}) expect_matches(op, a, {}, false);
  Tensor b = rand_normal({3, 70001}, gen, 0.0, 1.0, DType::F64);
  for (Op op : {Op::Sum, Op::Var, Op::Max, Op::ArgMax}) {
    expect_matches(op, b, {1}, false);
    expect_matches(op, b.t(), {0}, true);
  }
  Tensor c = rand_normal({40000, 3}, gen, 0.0, 1.0, DType::F32);
  for (Op op : {Op::Sum, Op::Mean, Op::Min, Op::ArgMax}) expect_matches(op, c, {1}, false);
  expect_matches(Op::Sum, c, {0}, false);
  // Repeated calls give bit-identical results.
  EXPECT_EQ(sum(a).item(), sum(a).item());
  EXPECT_EQ(var(b, {1}).to_vector<double>(), var(b, {1}).to_vector<double>());
}

TEST(Reduce, IntegerSumIsExactInI64AndMeanIsF32) {
  Tensor a = full({4, 3}, 2'000'000'000.0, DType::I32);
  Tensor s = sum(a);
  EXPECT_EQ(s.dtype(), DType::I64);
  EXPECT_EQ(s.to_vector<std::int64_t>(), std::vector<std::int64_t>{24'000'000'000});
  EXPECT_EQ(sum(a, {0}).to_vector<std::int64_t>(), (std::vector<std::int64_t>(3, 8'000'000'000)));
  Tensor m = mean(from_values({1, 2, 3, 4}, {2, 2}, DType::I64), {1});
  EXPECT_EQ(m.dtype(), DType::F32);
  EXPECT_EQ(m.to_vector<float>(), (std::vector<float>{1.5f, 3.5f}));
  Tensor b = from_values({1, 0, 1, 1, 0, 1}, {2, 3}, DType::Bool);
  EXPECT_EQ(sum(b, {1}).to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(max(b, {1}).dtype(), DType::Bool);
  EXPECT_EQ(min(b, {0}).to_vector<double>(), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(max(b, {0}).to_vector<double>(), (std::vector<double>{1, 0, 1}));
  EXPECT_EQ(max(from_values({0, 0, 1, 0}, {2, 2}, DType::Bool), {1}).to_vector<double>(), (std::vector<double>{0, 1}));
  EXPECT_EQ(var(from_values({1, 2, 3, 4}, {4}, DType::I32)).dtype(), DType::F32);
  EXPECT_FLOAT_EQ(var(from_values({1, 2, 3, 4}, {4}, DType::I32), {}, false, 1).to_vector<float>()[0], 5.0f / 3.0f);
}

TEST(Reduce, SixteenBitResultsKeepTheirDtype) {
  Tensor a = from_values({0.5, 0.25, 1.0, 2.0, -1.0, 3.0}, {2, 3}, DType::F16);
  Tensor s = sum(a, {1});
  EXPECT_EQ(s.dtype(), DType::F16);
  EXPECT_EQ(s.to_vector<double>(), (std::vector<double>{1.75, 4.0}));
  Tensor m = mean(a.to(DType::BF16), {0});
  EXPECT_EQ(m.dtype(), DType::BF16);
  EXPECT_EQ(m.to_vector<double>(), (std::vector<double>{1.25, -0.375, 2.0}));
  // f64 accumulation: a running sum in f16 would stall at 2048 (2048 + 1 rounds back).
  EXPECT_EQ(sum(ones({4096}, DType::F16)).item(), 4096.0);
}

TEST(Reduce, NaNPropagatesThroughMaxMinAndWinsArgMax) {
  Tensor a = from_values({1, kNaN, 3, 5, 2, 7, -1, 9, kNaN}, {3, 3}, DType::F32);
  std::vector<double> mx = max(a, {1}).to_vector<double>();
  EXPECT_TRUE(std::isnan(mx[0]));
  EXPECT_EQ(mx[1], 7.0);
  EXPECT_TRUE(std::isnan(mx[2]));
  std::vector<double> mn = min(a, {0}).to_vector<double>();
  EXPECT_EQ(mn[0], -1.0);
  EXPECT_TRUE(std::isnan(mn[1]));
  EXPECT_TRUE(std::isnan(mn[2]));
  EXPECT_EQ(argmax(a, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 2}));
  EXPECT_EQ(argmax(a).item(), 1.0);
  EXPECT_TRUE(std::isnan(sum(a).item()));
  // A NaN far into a chunked reduction.
  Tensor big = zeros({150000}, DType::F64);
  Tensor tail = big.slice(0, 140000, 140001);
  copy_into(tail, scalar(kNaN, DType::F64));
  EXPECT_EQ(argmax(big).item(), 140000.0);
  EXPECT_TRUE(std::isnan(max(big).item()));
}

TEST(Reduce, ArgMaxTakesTheFirstMaximum) {
  Tensor a = from_values({3, 1, 3, 2, 5, 5, 5, 0}, {2, 4}, DType::I32);
  EXPECT_EQ(argmax(a, -1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 0}));
  EXPECT_EQ(argmax(a).item(), 4.0);
  Tensor k = argmax(a, 0, true);
  EXPECT_EQ(k.shape(), (Shape{1, 4}));
  EXPECT_EQ(k.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(argmax(from_values({2, 7, 7, 1, 7}, {5}, DType::F64)).item(), 1.0);
  Tensor all = argmax(a, std::nullopt, true);
  EXPECT_EQ(all.shape(), (Shape{1, 1}));
  EXPECT_EQ(all.dtype(), DType::I64);
  // On a transposed view the flat index is into the view's logical order.
  EXPECT_EQ(argmax(a.t()).item(), 1.0);  // a.t() = [[3,5],[1,5],[3,5],[2,0]]
}

TEST(Reduce, EmptyReductions) {
  Tensor e = zeros({0, 3}, DType::F32);
  EXPECT_EQ(sum(e, {0}).to_vector<double>(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(sum(e).item(), 0.0);
  EXPECT_EQ(sum(zeros({2, 0}, DType::I32), {1}).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 0}));
  std::vector<double> m = mean(e, {0}).to_vector<double>();
  ASSERT_EQ(m.size(), 3u);
  for (double v : m) EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(sum(e, {1}).shape(), (Shape{0}));
  EXPECT_EQ(max(e, {1}).shape(), (Shape{0}));  // nothing is reduced over an empty set
  EXPECT_THROW(max(e, {0}), Error);
  EXPECT_THROW(min(e), Error);
  EXPECT_THROW(argmax(e), Error);
  EXPECT_THROW(argmax(e, 0), Error);
  try {
    max(e, {0});
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), Error::Kind::InvalidArgument);
    EXPECT_NE(std::string(err.what()).find("max"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("[0, 3]"), std::string::npos) << err.what();
  }
  // Fewer elements than ddof.
  EXPECT_TRUE(std::isnan(var(ones({1}), {}, false, 1).item()));
}

TEST(Reduce, ZeroDimensionalTensors) {
  Tensor s = scalar(2.5, DType::F64);
  EXPECT_EQ(sum(s).shape(), Shape{});
  EXPECT_EQ(sum(s).item(), 2.5);
  EXPECT_EQ(max(s, {}, true).item(), 2.5);
  EXPECT_EQ(argmax(s).item(), 0.0);
  EXPECT_EQ(var(s).item(), 0.0);
  EXPECT_THROW(sum(s, {0}), Error);
}

void expect_error_mentions(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no error";
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), Error::Kind::InvalidArgument);
    for (const std::string& p : parts) EXPECT_NE(std::string(err.what()).find(p), std::string::npos) << err.what();
  }
}

TEST(Reduce, BadAxesAreErrorsNamingOpAxisAndShape) {
  Tensor a = zeros({2, 3});
  expect_error_mentions([&] { sum(a, {2}); }, {"sum", "2", "[2, 3]"});
  expect_error_mentions([&] { mean(a, {-3}); }, {"mean", "-3", "[2, 3]"});
  expect_error_mentions([&] { max(a, {0, 5}); }, {"max", "5", "[2, 3]"});
  expect_error_mentions([&] { min(a, {1, -1}); }, {"min", "-1", "[2, 3]"});
  expect_error_mentions([&] { var(a, {0, 0}); }, {"var", "0", "[2, 3]", "repeated"});
  expect_error_mentions([&] { argmax(a, 2); }, {"argmax", "2", "[2, 3]"});
  EXPECT_THROW(sum(Tensor()), Error);
  EXPECT_THROW(argmax(Tensor()), Error);
}

}  // namespace
}  // namespace miso::tmath

namespace miso::tmath {
namespace {

// Kept axes innermost and contiguous: the column-sum path.
TEST(ReduceColumns, SumAndMeanOverLeadingAxesMatchReference) {
  Generator g(77);
  for (DType dt : {DType::F32, DType::F64, DType::BF16}) {
    Tensor x = rand_normal({6, 7, 1030}, g, 0, 1, dt);
    std::vector<double> v = x.to_vector<double>();
    std::vector<double> want(1030, 0.0);
    for (std::size_t i = 0; i < 42; ++i) {
      for (std::size_t j = 0; j < 1030; ++j) want[j] += v[i * 1030 + j];
    }
    const double tol = dt == DType::BF16 ? 2e-2 : dt == DType::F32 ? 1e-5 : 1e-12;
    std::vector<double> s = sum(x, {0, 1}).to_vector<double>();
    std::vector<double> m = mean(x, {1, 0}, true).to_vector<double>();
    ASSERT_EQ(sum(x, {0, 1}).shape(), (Shape{1030}));
    ASSERT_EQ(mean(x, {0, 1}, true).shape(), (Shape{1, 1, 1030}));
    for (std::size_t j = 0; j < 1030; ++j) {
      ASSERT_NEAR(s[j], want[j], tol * std::max(1.0, std::abs(want[j]))) << name(dt) << " " << j;
      ASSERT_NEAR(m[j], want[j] / 42, tol * std::max(1.0, std::abs(want[j] / 42))) << name(dt) << " " << j;
    }
    // Reduced axes with a step (a strided view) take the same path.
    Tensor sliced = x.slice(0, 0, 6, 2);
    std::vector<double> sv = sum(sliced, {0}).to_vector<double>();
    std::vector<double> sref = sum(sliced.contiguous().transpose(0, 2), {2}).t().contiguous().to_vector<double>();
    ASSERT_EQ(sv.size(), sref.size());
    for (std::size_t j = 0; j < sv.size(); ++j) ASSERT_NEAR(sv[j], sref[j], tol * std::max(1.0, std::abs(sref[j])));
  }
  // Large enough to split over the executor; the same result every time.
  Tensor big = rand_uniform({300, 4096}, g);
  std::vector<float> first = sum(big, {0}).to_vector<float>();
  for (int r = 0; r < 3; ++r) ASSERT_EQ(sum(big, {0}).to_vector<float>(), first);
}

}  // namespace
}  // namespace miso::tmath

namespace miso::tmath {
namespace {

TEST(ReduceColumns, MaxMinOverLeadingAxesMatchReferenceAndPropagateNaN) {
  Generator g(78);
  for (DType dt : {DType::F32, DType::F64, DType::BF16, DType::I32}) {
    Tensor x = rand_uniform({5, 9, 700}, g, -100, 100, dt);
    std::vector<double> v = x.to_vector<double>();
    std::vector<double> hi(700, -INFINITY), lo(700, INFINITY);
    for (std::size_t i = 0; i < 45; ++i) {
      for (std::size_t j = 0; j < 700; ++j) {
        hi[j] = std::max(hi[j], v[i * 700 + j]);
        lo[j] = std::min(lo[j], v[i * 700 + j]);
      }
    }
    EXPECT_EQ(max(x, {0, 1}).to_vector<double>(), hi) << name(dt);
    EXPECT_EQ(min(x, {0, 1}).to_vector<double>(), lo) << name(dt);
    EXPECT_EQ(max(x, {0, 1}).dtype(), dt);
  }
  Tensor f = rand_uniform({4, 64}, g);
  copy_into(f.select(0, 2).slice(0, 5, 6), full({1}, NAN));
  std::vector<double> m = max(f, {0}).to_vector<double>();
  std::vector<double> n = min(f, {0}).to_vector<double>();
  for (std::size_t j = 0; j < 64; ++j) {
    EXPECT_EQ(std::isnan(m[j]), j == 5) << j;
    EXPECT_EQ(std::isnan(n[j]), j == 5) << j;
  }
}

}  // namespace
}  // namespace miso::tmath
