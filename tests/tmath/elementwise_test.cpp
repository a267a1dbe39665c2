#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "miso/core/error.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {
namespace {

// Element `linear` (row-major over `shape`) of t broadcast to `shape`, as double.
double broadcast_at(const Tensor& t, const Shape& shape, std::int64_t linear) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = linear % shape[d];
    linear /= shape[d];
  }
  std::vector<std::int64_t> own(t.shape().size());
  std::size_t lead = shape.size() - own.size();
  for (std::size_t d = 0; d < own.size(); ++d) own[d] = t.shape()[d] == 1 ? 0 : idx[d + lead];
  return t.at(own);
}

// Rounds a double the way storing it in `dtype` does.
double stored(double v, DType dtype) {
  return visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    return convert<double>(convert<S>(v));
  });
}

double tolerance(DType dtype) {
  switch (dtype) {
    case DType::F16: return 2e-3;
    case DType::BF16: return 1.6e-2;
    case DType::F32: return 2e-6;
    default: return 1e-12;
  }
}

double reference(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Pow: return std::pow(a, b);
    case BinaryOp::Maximum: return std::max(a, b);
    case BinaryOp::Minimum: return std::min(a, b);
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
  }
  return 0;
}

void expect_binary_matches(BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = binary(op, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
  ASSERT_EQ(out.shape(), shape);
  ASSERT_EQ(out.dtype(), result_dtype(op, a.dtype(), b.dtype()));
  std::vector<double> got = out.to_vector<double>();
  for (std::int64_t i = 0; i < numel_of(shape); ++i) {
    double want = reference(op, broadcast_at(a, shape, i), broadcast_at(b, shape, i));
    if (!is_floating(out.dtype()) && out.dtype() != DType::Bool && op != BinaryOp::Pow)
      want = stored(want, out.dtype());
    double tol = tolerance(out.dtype()) * std::max(1.0, std::abs(want));
    ASSERT_NEAR(got[static_cast<std::size_t>(i)], want, tol)
        << op_name(op) << " " << name(a.dtype()) << "," << name(b.dtype()) << " at " << i;
  }
}

constexpr BinaryOp kAllBinary[] = {BinaryOp::Add,     BinaryOp::Sub,     BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow,
                                   BinaryOp::Maximum, BinaryOp::Minimum, BinaryOp::Eq,  BinaryOp::Ne,  BinaryOp::Lt,
                                   BinaryOp::Le,      BinaryOp::Gt,      BinaryOp::Ge};

TEST(Elementwise, BinaryOpsMatchReferenceForEveryFloatDtype) {
  Generator g(5);
  for (DType dt : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
    Tensor a = rand_uniform({3, 5}, g, 0.5, 2.0, dt);
    Tensor b = rand_uniform({3, 5}, g, 0.5, 2.0, dt);
    for (BinaryOp op : kAllBinary) expect_binary_matches(op, a, b);
    expect_binary_matches(BinaryOp::Eq, a, a);  // equal elements compare equal
  }
}

TEST(Elementwise, IntegerAndBoolArithmetic) {
  Tensor a = from_values({-7, -1, 0, 3, 9, 100}, {6}, DType::I32);
  Tensor b = from_values({2, 3, 5, -2, 4, 7}, {6}, DType::I64);
  for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Maximum, BinaryOp::Minimum,
                      BinaryOp::Lt, BinaryOp::Ge}) {
    expect_binary_matches(op, a, b);
  }
  EXPECT_EQ(add(a, b).dtype(), DType::I64);
  EXPECT_EQ(div(a, b).dtype(), DType::F32);  // true division
  Tensor p = pow(from_values({2, 3, -2, 1, 5}, {5}, DType::I64), from_values({10, 3, 3, -4, -1}, {5}, DType::I64));
  EXPECT_EQ(p.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1024, 27, -8, 1, 0}));
  Tensor t = from_values({1, 0, 1}, {3}, DType::Bool);
  Tensor sum = add(t, t);
  EXPECT_EQ(sum.dtype(), DType::I32);
  EXPECT_EQ(sum.to_vector<std::int32_t>(), (std::vector<std::int32_t>{2, 0, 2}));
  // Integer overflow wraps (no undefined behaviour).
  Tensor big = full({1}, 2147483647.0, DType::I32);
  EXPECT_EQ(add(big, ones({1}, DType::I32)).to_vector<std::int32_t>()[0], -2147483647 - 1);
}

TEST(Elementwise, MixedDtypesPromote) {
  Generator g(9);
  Tensor h = rand_uniform({4}, g, 0, 1, DType::F16);
  Tensor bf = rand_uniform({4}, g, 0, 1, DType::BF16);
  Tensor i = from_values({1, 2, 3, 4}, {4}, DType::I32);
  EXPECT_EQ(add(h, bf).dtype(), DType::F32);
  EXPECT_EQ(mul(i, h).dtype(), DType::F16);
  EXPECT_EQ(sub(h, zeros({4}, DType::F64)).dtype(), DType::F64);
  expect_binary_matches(BinaryOp::Add, h, bf);
  expect_binary_matches(BinaryOp::Mul, i, h);
}

TEST(Elementwise, BroadcastingAndNonContiguousOperands) {
  Generator g(3);
  Tensor a = rand_normal({4, 1, 3}, g);
  Tensor b = rand_normal({5, 3}, g);
  expect_binary_matches(BinaryOp::Add, a, b);
  expect_binary_matches(BinaryOp::Mul, rand_normal({3}, g), rand_normal({2, 4, 3}, g));
  expect_binary_matches(BinaryOp::Sub, scalar(1.5), b);
  Tensor m = rand_normal({6, 8}, g, 0, 1, DType::F64);
  expect_binary_matches(BinaryOp::Sub, m.t(), m.slice(0, 0, 6).t());
  expect_binary_matches(BinaryOp::Maximum, m.slice(1, 1, 8, 3), m.slice(1, 0, 6, 2));
  expect_binary_matches(BinaryOp::Add, m.t().slice(0, 0, 8, 2), m.select(0, 2).slice(0, 0, 6).unsqueeze(0));
  // Large enough to run in parallel, with a broadcast row.
  Tensor big = rand_uniform({300, 257}, g);
  Tensor row = rand_uniform({257}, g);
  Tensor out = add(big, row);
  std::vector<float> o = out.to_vector<float>(), bv = big.to_vector<float>(), rv = row.to_vector<float>();
  for (std::size_t k = 0; k < o.size(); ++k) ASSERT_EQ(o[k], bv[k] + rv[k % 257]);
}

TEST(Elementwise, ShapeErrorsNameBothShapesAndTheOperation) {
  try {
    (void)mul(zeros({2, 3}), zeros({3, 2}));
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("mul"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[3, 2]"), std::string::npos) << m;
  }
  EXPECT_THROW((void)add(Tensor(), zeros({1})), Error);
  EXPECT_THROW((void)exp(Tensor()), Error);
}

double unary_reference(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return std::abs(x);
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Sigmoid: return 1 / (1 + std::exp(-x));
    case UnaryOp::Relu: return x > 0 ? x : 0;
    case UnaryOp::Gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case UnaryOp::Erf: return std::erf(x);
    case UnaryOp::Sin: return std::sin(x);
    case UnaryOp::Cos: return std::cos(x);
    case UnaryOp::Tan: return std::tan(x);
    case UnaryOp::Asin: return std::asin(x);
    case UnaryOp::Acos: return std::acos(x);
    case UnaryOp::Atan: return std::atan(x);
  }
  return 0;
}

TEST(Elementwise, UnaryOpsMatchReference) {
  Generator g(21);
  for (DType dt : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
    Tensor x = rand_uniform({7, 9}, g, -3, 3, dt).t();  // non-contiguous too
    Tensor pos = abs(x) + 0.25;
    Tensor unit = x * (1.0 / 3.0);  // inside [-1, 1] for asin and acos
    for (UnaryOp op : {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Exp, UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Tanh,
                       UnaryOp::Sigmoid, UnaryOp::Relu, UnaryOp::Gelu, UnaryOp::Erf, UnaryOp::Sin, UnaryOp::Cos,
                       UnaryOp::Tan, UnaryOp::Asin, UnaryOp::Acos, UnaryOp::Atan}) {
      const Tensor& in = (op == UnaryOp::Log || op == UnaryOp::Sqrt)    ? pos
                         : (op == UnaryOp::Asin || op == UnaryOp::Acos) ? unit
                                                                        : x;
      Tensor out = unary(op, in);
      ASSERT_EQ(out.dtype(), dt);
      ASSERT_EQ(out.shape(), in.shape());
      std::vector<double> iv = in.to_vector<double>(), ov = out.to_vector<double>();
      for (std::size_t k = 0; k < iv.size(); ++k) {
        double want = unary_reference(op, iv[k]);
        ASSERT_NEAR(ov[k], want, tolerance(dt) * std::max(1.0, std::abs(want))) << op_name(op) << " " << name(dt);
      }
    }
  }
  Tensor ints = from_values({-3, 0, 4}, {3}, DType::I64);
  EXPECT_EQ(neg(ints).to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 0, -4}));
  EXPECT_EQ(abs(ints).dtype(), DType::I64);
  EXPECT_EQ(relu(ints).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 0, 4}));
  Tensor e = exp(ints);
  EXPECT_EQ(e.dtype(), DType::F32);
  EXPECT_NEAR(e.at({2}), std::exp(4.0), 1e-4);
}

TEST(Elementwise, SpecialValues) {
  Tensor x = from_values({NAN, 1.0, INFINITY, -INFINITY}, {4}, DType::F32);
  Tensor m = maximum(x, zeros({4}));
  EXPECT_TRUE(std::isnan(m.at({0})));  // NaN propagates
  EXPECT_EQ(m.at({3}), 0.0);
  EXPECT_EQ(sigmoid(x).at({2}), 1.0);
  EXPECT_EQ(sigmoid(x).at({3}), 0.0);
  EXPECT_EQ(div(ones({1}), zeros({1})).item(), INFINITY);
  EXPECT_EQ(ne(x, x).to_vector<bool>(), (std::vector<bool>{true, false, false, false}));
}

TEST(Elementwise, WhereAndScalarOperators) {
  Tensor c = from_values({1, 0, 1, 0}, {2, 2}, DType::Bool);
  Tensor a = from_values({1, 2, 3, 4}, {2, 2}, DType::I32);
  Tensor b = from_values({10, 20}, {2}, DType::F64);
  Tensor w = where(c, a, b);
  EXPECT_EQ(w.dtype(), DType::F64);
  EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{1, 20, 3, 20}));
  EXPECT_EQ(where(gt(a, scalar(2, DType::I32)), a, zeros({1}, DType::I32)).to_vector<std::int32_t>(),
            (std::vector<std::int32_t>{0, 0, 3, 4}));
  EXPECT_THROW((void)where(zeros({3}), a, b), Error);
  Tensor h = ones({2}, DType::F16);
  EXPECT_EQ((h * 0.5).dtype(), DType::F16);  // a double operand takes the tensor's dtype
  EXPECT_EQ((h * 0.5).at({1}), 0.5);
  EXPECT_EQ((a * 2.0).dtype(), DType::I32);
  EXPECT_EQ((a * 0.5).dtype(), DType::F32);  // a fraction next to integers: f32
  EXPECT_EQ((1.0 - a).to_vector<std::int32_t>(), (std::vector<std::int32_t>{0, -1, -2, -3}));
  EXPECT_EQ((a / 2.0).to_vector<float>(), (std::vector<float>{0.5, 1, 1.5, 2}));
  EXPECT_EQ((2.0 / b).to_vector<double>(), (std::vector<double>{0.2, 0.1}));
  EXPECT_EQ((-b + 1.0).to_vector<double>(), (std::vector<double>{-9, -19}));
  EXPECT_EQ((a + a - a * a).to_vector<std::int32_t>(), (std::vector<std::int32_t>{1, 0, -3, -8}));
  EXPECT_EQ((b * 3.0 + 2.0 * b).to_vector<double>(), (std::vector<double>{50, 100}));
}

}  // namespace
}  // namespace miso::tmath
