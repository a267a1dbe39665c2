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

using Row = std::vector<double>;
using RowFn = std::function<Row(const Row&)>;

// Applies fn to every row along `axis` of the logical elements of a.
std::vector<double> along_axis(const Tensor& a, std::int64_t axis, const RowFn& fn) {
  const Shape& shape = a.shape();
  if (axis < 0) axis += a.dim();
  const auto ax = static_cast<std::size_t>(axis);
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < ax; ++d) outer *= shape[d];
  for (std::size_t d = ax + 1; d < shape.size(); ++d) inner *= shape[d];
  const std::int64_t len = shape[ax];
  std::vector<double> v = a.to_vector<double>();
  std::vector<double> out(v.size());
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t i = 0; i < inner; ++i) {
      Row row(static_cast<std::size_t>(len));
      for (std::int64_t k = 0; k < len; ++k)
        row[static_cast<std::size_t>(k)] = v[static_cast<std::size_t>((o * len + k) * inner + i)];
      Row r = fn(row);
      for (std::int64_t k = 0; k < len; ++k)
        out[static_cast<std::size_t>((o * len + k) * inner + i)] = r[static_cast<std::size_t>(k)];
    }
  }
  return out;
}

Row softmax_ref(const Row& x) {
  double m = -std::numeric_limits<double>::infinity();
  for (double v : x) m = std::max(m, v);
  double s = 0;
  for (double v : x) s += std::exp(v - m);
  Row y;
  for (double v : x) y.push_back(std::exp(v - m) / s);
  return y;
}

Row log_softmax_ref(const Row& x) {
  double m = -std::numeric_limits<double>::infinity();
  for (double v : x) m = std::max(m, v);
  double s = 0;
  for (double v : x) s += std::exp(v - m);
  Row y;
  for (double v : x) y.push_back(v - m - std::log(s));
  return y;
}

Row norm_ref(const Row& x, const Row& w, const Row& b, double eps, bool rms) {
  const double n = static_cast<double>(x.size());
  double m = 0;
  if (!rms) {
    for (double v : x) m += v;
    m /= n;
  }
  double q = 0;
  for (double v : x) q += (v - m) * (v - m);
  const double r = 1.0 / std::sqrt(q / n + eps);
  Row y;
  for (std::size_t i = 0; i < x.size(); ++i) {
    double v = (x[i] - m) * r;
    if (!w.empty()) v *= w[i];
    if (!b.empty()) v += b[i];
    y.push_back(v);
  }
  return y;
}

double tolerance(DType dtype) {
  switch (dtype) {
    case DType::F16: return 2e-3;
    case DType::BF16: return 1.6e-2;
    case DType::F32: return 2e-5;
    default: return 1e-11;
  }
}

void expect_close(const Tensor& got, const std::vector<double>& want, const Shape& shape, DType dtype) {
  ASSERT_EQ(got.shape(), shape);
  ASSERT_EQ(got.dtype(), dtype);
  ASSERT_TRUE(got.is_contiguous());
  std::vector<double> g = got.to_vector<double>();
  ASSERT_EQ(g.size(), want.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    EXPECT_NEAR(g[i], want[i], tolerance(dtype) * std::max(1.0, std::abs(want[i]))) << "element " << i;
  }
}

DType float_result(DType t) { return is_floating(t) ? t : DType::F32; }

Tensor random_input(const Shape& shape, DType dtype, std::uint64_t seed) {
  Generator gen(seed);
  if (is_integer(dtype)) return rand_uniform(shape, gen, -6.0, 6.0, DType::F64).to(dtype);
  return rand_normal(shape, gen, 0.5, 2.0, dtype);
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

constexpr DType kDtypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32};
const std::vector<Shape> kShapes = {{5}, {3, 4}, {2, 3, 4}, {2, 1, 7}};

TEST(Softmax, MatchesReferenceForEveryAxisAndDtype) {
  std::uint64_t seed = 1;
  for (DType dt : kDtypes) {
    for (const Shape& shape : kShapes) {
      Tensor a = random_input(shape, dt, seed++);
      for (std::int64_t axis = -a.dim(); axis < a.dim(); ++axis) {
        SCOPED_TRACE(std::string(name(dt)) + " " + to_string(shape) + " axis " + std::to_string(axis));
        expect_close(softmax(a, axis), along_axis(a, axis, softmax_ref), shape, float_result(dt));
      }
    }
  }
}

TEST(Softmax, NonContiguousInputs) {
  Generator gen(11);
  Tensor base = rand_normal({4, 6, 5}, gen, 0.0, 3.0, DType::F32);
  std::vector<Tensor> views = {base.transpose(0, 2), base.slice(1, 0, 6, 2), base.permute({2, 0, 1}),
                               rand_normal({1, 5}, gen).expand({3, 2, 5}), rand_normal({3, 1}, gen).expand({3, 4})};
  for (const Tensor& v : views) {
    for (std::int64_t axis = 0; axis < v.dim(); ++axis) {
      SCOPED_TRACE(to_string(v.shape()) + " axis " + std::to_string(axis));
      expect_close(softmax(v, axis), along_axis(v, axis, softmax_ref), v.shape(), DType::F32);
      expect_close(log_softmax(v, axis), along_axis(v, axis, log_softmax_ref), v.shape(), DType::F32);
    }
  }
  // An axis of stride 0: every row is uniform.
  std::vector<double> u = softmax(rand_normal({3, 1}, gen).expand({3, 4}), 1).to_vector<double>();
  for (double x : u) EXPECT_NEAR(x, 0.25, 1e-7);
}

TEST(Softmax, IsStableForLargeLogitsAndRowsSumToOne) {
  Tensor a = from_values({1000, 1001, 1002, -1000, -1001, -1002}, {2, 3}, DType::F32);
  Tensor s = softmax(a);
  std::vector<double> want = {0.09003057, 0.24472847, 0.66524096, 0.66524096, 0.24472847, 0.09003057};
  std::vector<double> got = s.to_vector<double>();
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6);
  Generator gen(5);
  Tensor b = rand_normal({7, 33}, gen, 0.0, 10.0, DType::F64);
  std::vector<double> row_sums = sum(softmax(b, 1), {1}).to_vector<double>();
  for (double r : row_sums) EXPECT_NEAR(r, 1.0, 1e-12);
  EXPECT_EQ(softmax(scalar(3.0)).shape(), Shape{});
  EXPECT_EQ(softmax(scalar(3.0)).item(), 1.0);
  EXPECT_EQ(softmax(zeros({2, 0}), 1).shape(), (Shape{2, 0}));
}

TEST(Softmax, ErrorsNameTheShape) {
  expect_error_mentions([] { softmax(zeros({2, 3}), 2); }, {"softmax", "2", "[2, 3]"});
  expect_error_mentions([] { softmax(zeros({2, 3}), -3); }, {"softmax", "-3", "[2, 3]"});
  expect_error_mentions([] { log_softmax(zeros({4}), 1); }, {"log_softmax", "[4]"});
  EXPECT_THROW(softmax(Tensor()), Error);
}

TEST(LogSoftmax, MatchesReferenceForEveryAxisAndDtype) {
  std::uint64_t seed = 50;
  for (DType dt : kDtypes) {
    for (const Shape& shape : kShapes) {
      Tensor a = random_input(shape, dt, seed++);
      for (std::int64_t axis = -a.dim(); axis < a.dim(); ++axis) {
        SCOPED_TRACE(std::string(name(dt)) + " " + to_string(shape) + " axis " + std::to_string(axis));
        expect_close(log_softmax(a, axis), along_axis(a, axis, log_softmax_ref), shape, float_result(dt));
      }
    }
  }
}

TEST(LogSoftmax, IsStableForLargeLogits) {
  Tensor a = from_values({0, -1000, 1000, 0}, {2, 2}, DType::F32);
  std::vector<double> got = log_softmax(a).to_vector<double>();
  EXPECT_NEAR(got[0], 0.0, 1e-6);
  EXPECT_NEAR(got[1], -1000.0, 1e-3);
  EXPECT_NEAR(got[2], 0.0, 1e-6);
  EXPECT_NEAR(got[3], -1000.0, 1e-3);
  for (double g : got) EXPECT_TRUE(std::isfinite(g));
}

TEST(LayerNorm, MatchesReferenceWithAndWithoutParameters) {
  std::uint64_t seed = 100;
  for (DType dt : kDtypes) {
    for (const Shape& shape : kShapes) {
      Tensor x = random_input(shape, dt, seed++);
      const std::int64_t n = shape.back();
      Generator gen(seed++);
      Tensor w = rand_normal({n}, gen, 1.0, 0.5, DType::F32);
      Tensor b = rand_normal({n}, gen, 0.0, 0.5, DType::F64);  // a dtype other than x's
      const Row wv = w.to_vector<double>(), bv = b.to_vector<double>();
      for (int mode = 0; mode < 4; ++mode) {
        SCOPED_TRACE(std::string(name(dt)) + " " + to_string(shape) + " mode " + std::to_string(mode));
        Tensor wt = (mode & 1) ? w : Tensor();
        Tensor bt = (mode & 2) ? b : Tensor();
        const Row wr = (mode & 1) ? wv : Row{}, br = (mode & 2) ? bv : Row{};
        const double eps = mode == 3 ? 1e-3 : 1e-5;
        expect_close(layer_norm(x, wt, bt, eps),
                     along_axis(x, -1, [&](const Row& r) { return norm_ref(r, wr, br, eps, false); }), shape,
                     float_result(dt));
      }
    }
  }
}

TEST(LayerNorm, NonContiguousInputs) {
  Generator gen(21);
  Tensor base = rand_normal({5, 6, 4}, gen, 2.0, 3.0, DType::F64);
  Tensor w = rand_normal({5}, gen, 1.0, 0.3, DType::F64).slice(0, 0, 5);
  std::vector<Tensor> views = {base.transpose(0, 2).slice(1, 0, 6, 2), base.permute({1, 2, 0}),
                               rand_normal({1, 5}, gen, 0.0, 1.0, DType::F64).expand({3, 5})};
  Tensor strided_w = rand_normal({10}, gen, 1.0, 0.3, DType::F64).slice(0, 0, 10, 2);
  for (const Tensor& v : views) {
    SCOPED_TRACE(to_string(v.shape()));
    const Row wr = strided_w.to_vector<double>();
    expect_close(layer_norm(v, strided_w, Tensor()),
                 along_axis(v, -1, [&](const Row& r) { return norm_ref(r, wr, {}, 1e-5, false); }), v.shape(),
                 DType::F64);
    expect_close(rms_norm(v, w),
                 along_axis(v, -1, [&](const Row& r) { return norm_ref(r, w.to_vector<double>(), {}, 1e-6, true); }),
                 v.shape(), DType::F64);
  }
}

TEST(LayerNorm, ConstantRowsGiveTheBias) {
  Tensor x = full({3, 4}, 7.0);
  Tensor b = from_values({1, 2, 3, 4}, {4});
  std::vector<double> got = layer_norm(x, Tensor(), b).to_vector<double>();
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], static_cast<double>(i % 4 + 1), 1e-6);
}

TEST(LayerNorm, ShapeErrorsNameTheShapes) {
  Tensor x = zeros({2, 4});
  expect_error_mentions([&] { layer_norm(x, zeros({5}), Tensor()); }, {"layer_norm", "weight", "[5]", "[2, 4]"});
  expect_error_mentions([&] { layer_norm(x, Tensor(), zeros({2, 4})); }, {"layer_norm", "bias", "[2, 4]"});
  expect_error_mentions([&] { layer_norm(scalar(1.0), Tensor(), Tensor()); }, {"layer_norm", "[]"});
  EXPECT_THROW(layer_norm(Tensor(), Tensor(), Tensor()), Error);
}

TEST(RmsNorm, MatchesReferenceWithAndWithoutWeight) {
  std::uint64_t seed = 300;
  for (DType dt : kDtypes) {
    for (const Shape& shape : kShapes) {
      Tensor x = random_input(shape, dt, seed++);
      Generator gen(seed++);
      Tensor w = rand_normal({shape.back()}, gen, 1.0, 0.5, dt == DType::F64 ? DType::F64 : DType::BF16);
      const Row wv = w.to_vector<double>();
      for (bool with_weight : {false, true}) {
        SCOPED_TRACE(std::string(name(dt)) + " " + to_string(shape) + (with_weight ? " weight" : ""));
        const Row wr = with_weight ? wv : Row{};
        expect_close(rms_norm(x, with_weight ? w : Tensor()),
                     along_axis(x, -1, [&](const Row& r) { return norm_ref(r, wr, {}, 1e-6, true); }), shape,
                     float_result(dt));
      }
    }
  }
  // eps matters for tiny inputs: x / sqrt(x^2 + eps).
  std::vector<double> got = rms_norm(full({1, 2}, 1e-3, DType::F64), Tensor(), 1e-6).to_vector<double>();
  EXPECT_NEAR(got[0], 1e-3 / std::sqrt(1e-6 + 1e-6), 1e-12);
}

TEST(RmsNorm, ShapeErrorsNameTheShapes) {
  expect_error_mentions([] { rms_norm(zeros({3, 6}), zeros({3})); }, {"rms_norm", "weight", "[3]", "[3, 6]"});
  expect_error_mentions([] { rms_norm(scalar(2.0), Tensor()); }, {"rms_norm", "[]"});
}

}  // namespace
}  // namespace miso::tmath
