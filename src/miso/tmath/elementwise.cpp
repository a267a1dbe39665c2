// Elementwise operations: one strided loop (kernels.hpp), one block kernel per
// compute type with a switch on the operation per block of 1024 elements.
#include <cmath>
#include <type_traits>

#include "miso/profiler/span.hpp"
#include "miso/tmath/kernels.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

void require_defined(const Tensor& t, const char* op) {
  if (!t.defined()) fail(std::string(op) + ": an operand is an undefined tensor");
}

bool is_comparison(BinaryOp op) noexcept { return op >= BinaryOp::Eq; }

// The type an operation computes in.
DType compute_dtype(BinaryOp op, DType a, DType b) noexcept {
  DType p = promote(a, b);
  if ((op == BinaryOp::Div || op == BinaryOp::Pow) && !is_floating(p)) {
    return op == BinaryOp::Div ? DType::F32 : compute_type(p);
  }
  return compute_type(p);
}

bool is_float_function(UnaryOp op) noexcept {
  return op != UnaryOp::Neg && op != UnaryOp::Abs && op != UnaryOp::Relu;
}

template <typename C>
C wrap_add(C a, C b) noexcept {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) + static_cast<std::make_unsigned_t<C>>(b));
  } else {
    return a + b;
  }
}
template <typename C>
C wrap_sub(C a, C b) noexcept {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) - static_cast<std::make_unsigned_t<C>>(b));
  } else {
    return a - b;
  }
}
template <typename C>
C wrap_mul(C a, C b) noexcept {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) * static_cast<std::make_unsigned_t<C>>(b));
  } else {
    return a * b;
  }
}

// Integer power by squaring; a negative exponent gives 0 except for bases 1 and -1.
template <typename C>
C int_pow(C base, C exponent) noexcept {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exponent % 2 == 0) ? 1 : -1;
    return 0;
  }
  C result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    exponent >>= 1;
  }
  return result;
}

template <typename C>
void binary_block(BinaryOp op, const C* a, const C* b, C* o, std::int64_t n) {
  switch (op) {
    case BinaryOp::Add:
      for (std::int64_t i = 0; i < n; ++i) o[i] = wrap_add(a[i], b[i]);
      break;
    case BinaryOp::Sub:
      for (std::int64_t i = 0; i < n; ++i) o[i] = wrap_sub(a[i], b[i]);
      break;
    case BinaryOp::Mul:
      for (std::int64_t i = 0; i < n; ++i) o[i] = wrap_mul(a[i], b[i]);
      break;
    case BinaryOp::Div:
      if constexpr (std::is_floating_point_v<C>) {
        for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] / b[i];
      }
      break;
    case BinaryOp::Pow:
      if constexpr (std::is_floating_point_v<C>) {
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::pow(a[i], b[i]);
      } else {
        for (std::int64_t i = 0; i < n; ++i) o[i] = int_pow(a[i], b[i]);
      }
      break;
    case BinaryOp::Maximum:  // NaN wins, as in NumPy
      for (std::int64_t i = 0; i < n; ++i) o[i] = (a[i] > b[i] || a[i] != a[i]) ? a[i] : b[i];
      break;
    case BinaryOp::Minimum:
      for (std::int64_t i = 0; i < n; ++i) o[i] = (a[i] < b[i] || a[i] != a[i]) ? a[i] : b[i];
      break;
    case BinaryOp::Eq:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] == b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Ne:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] != b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Lt:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] < b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Le:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] <= b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Gt:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] > b[i] ? C(1) : C(0);
      break;
    case BinaryOp::Ge:
      for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] >= b[i] ? C(1) : C(0);
      break;
  }
}

template <typename C>
void unary_block(UnaryOp op, const C* a, C* o, std::int64_t n) {
  if constexpr (std::is_integral_v<C>) {
    switch (op) {
      case UnaryOp::Neg:
        for (std::int64_t i = 0; i < n; ++i) o[i] = wrap_sub(C(0), a[i]);
        break;
      case UnaryOp::Abs:
        for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] < 0 ? wrap_sub(C(0), a[i]) : a[i];
        break;
      case UnaryOp::Relu:
        for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] > 0 ? a[i] : C(0);
        break;
      default: break;  // float functions compute in f32 (compute_dtype)
    }
  } else {
    constexpr C kInvSqrt2 = C(0.70710678118654752440);
    switch (op) {
      case UnaryOp::Neg:
        for (std::int64_t i = 0; i < n; ++i) o[i] = -a[i];
        break;
      case UnaryOp::Abs:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::abs(a[i]);
        break;
      case UnaryOp::Exp:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::exp(a[i]);
        break;
      case UnaryOp::Log:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::log(a[i]);
        break;
      case UnaryOp::Sqrt:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::sqrt(a[i]);
        break;
      case UnaryOp::Tanh:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::tanh(a[i]);
        break;
      case UnaryOp::Sigmoid:
        for (std::int64_t i = 0; i < n; ++i) o[i] = C(1) / (C(1) + std::exp(-a[i]));
        break;
      case UnaryOp::Relu:
        for (std::int64_t i = 0; i < n; ++i) o[i] = a[i] > C(0) ? a[i] : C(0);
        break;
      case UnaryOp::Gelu:
        for (std::int64_t i = 0; i < n; ++i) o[i] = C(0.5) * a[i] * (C(1) + std::erf(a[i] * kInvSqrt2));
        break;
      case UnaryOp::Erf:
        for (std::int64_t i = 0; i < n; ++i) o[i] = std::erf(a[i]);
        break;
    }
  }
}

// A double operand as a scalar tensor next to `t`: of t's dtype unless that
// would lose the value (a fraction next to an integer tensor gives f32).
Tensor scalar_like(double v, const Tensor& t) {
  DType dt = t.dtype();
  if (!is_floating(dt) && v != std::trunc(v)) dt = DType::F32;
  if (dt == DType::Bool) dt = DType::I32;
  return scalar(v, dt);
}

}  // namespace

const char* op_name(BinaryOp op) noexcept {
  static constexpr const char* kNames[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                           "eq",  "ne",  "lt",  "le",  "gt",  "ge"};
  return kNames[static_cast<int>(op)];
}

const char* op_name(UnaryOp op) noexcept {
  static constexpr const char* kNames[] = {"neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "gelu", "erf"};
  return kNames[static_cast<int>(op)];
}

DType result_dtype(BinaryOp op, DType a, DType b) noexcept {
  if (is_comparison(op)) return DType::Bool;
  DType p = promote(a, b);
  if (op == BinaryOp::Div && !is_floating(p)) return DType::F32;
  if (p == DType::Bool) return DType::I32;
  return p;
}

DType result_dtype(UnaryOp op, DType a) noexcept {
  if (is_float_function(op) && !is_floating(a)) return DType::F32;
  if (a == DType::Bool) return DType::I32;
  return a;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  MISO_PROFILE_SCOPE("tmath.binary");
  require_defined(a, op_name(op));
  require_defined(b, op_name(op));
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op_name(op));
  Tensor out = Tensor::empty(shape, result_dtype(op, a.dtype(), b.dtype()));
  auto loop = detail::make_loop<3>(shape, {&out, &a, &b});
  const DType at = a.dtype(), bt = b.dtype(), ot = out.dtype();
  detail::visit_compute(compute_dtype(op, at, bt), [&](auto tag) {
    using C = typename decltype(tag)::type;
    detail::parallel_range(loop.numel, detail::kMinParallel, [&](std::int64_t begin, std::int64_t end) {
      alignas(64) C abuf[detail::kBlock];
      alignas(64) C bbuf[detail::kBlock];
      alignas(64) C obuf[detail::kBlock];
      detail::for_runs<3>(loop, begin, end, [&](auto ptrs, auto inner, std::int64_t n) {
        for (std::int64_t off = 0; off < n; off += detail::kBlock) {
          std::int64_t m = std::min(detail::kBlock, n - off);
          const C* x = detail::load<C>(ptrs[1] + off * inner[1], at, inner[1], m, abuf);
          const C* y = detail::load<C>(ptrs[2] + off * inner[2], bt, inner[2], m, bbuf);
          std::byte* dst = ptrs[0] + off * inner[0];
          C* o = detail::output_slot<C>(dst, ot, inner[0], obuf);
          binary_block<C>(op, x, y, o, m);
          detail::store<C>(dst, ot, inner[0], m, o);
        }
      });
    });
  });
  return out;
}

Tensor unary(UnaryOp op, const Tensor& a) {
  MISO_PROFILE_SCOPE("tmath.unary");
  require_defined(a, op_name(op));
  Tensor out = Tensor::empty(a.shape(), result_dtype(op, a.dtype()));
  auto loop = detail::make_loop<2>(a.shape(), {&out, &a});
  const DType at = a.dtype(), ot = out.dtype();
  const DType ct = is_float_function(op) && !is_floating(at) ? DType::F32 : compute_type(at);
  detail::visit_compute(ct, [&](auto tag) {
    using C = typename decltype(tag)::type;
    detail::parallel_range(loop.numel, detail::kMinParallel, [&](std::int64_t begin, std::int64_t end) {
      alignas(64) C abuf[detail::kBlock];
      alignas(64) C obuf[detail::kBlock];
      detail::for_runs<2>(loop, begin, end, [&](auto ptrs, auto inner, std::int64_t n) {
        for (std::int64_t off = 0; off < n; off += detail::kBlock) {
          std::int64_t m = std::min(detail::kBlock, n - off);
          const C* x = detail::load<C>(ptrs[1] + off * inner[1], at, inner[1], m, abuf);
          std::byte* dst = ptrs[0] + off * inner[0];
          C* o = detail::output_slot<C>(dst, ot, inner[0], obuf);
          unary_block<C>(op, x, o, m);
          detail::store<C>(dst, ot, inner[0], m, o);
        }
      });
    });
  });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  MISO_PROFILE_SCOPE("tmath.where");
  require_defined(cond, "where");
  require_defined(a, "where");
  require_defined(b, "where");
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(shape, promote(a.dtype(), b.dtype()));
  auto loop = detail::make_loop<4>(shape, {&out, &cond, &a, &b});
  const DType ct = cond.dtype(), at = a.dtype(), bt = b.dtype(), ot = out.dtype();
  detail::visit_compute(ot, [&](auto tag) {
    using C = typename decltype(tag)::type;
    detail::parallel_range(loop.numel, detail::kMinParallel, [&](std::int64_t begin, std::int64_t end) {
      alignas(64) C cbuf[detail::kBlock];
      alignas(64) C abuf[detail::kBlock];
      alignas(64) C bbuf[detail::kBlock];
      alignas(64) C obuf[detail::kBlock];
      detail::for_runs<4>(loop, begin, end, [&](auto ptrs, auto inner, std::int64_t n) {
        for (std::int64_t off = 0; off < n; off += detail::kBlock) {
          std::int64_t m = std::min(detail::kBlock, n - off);
          const C* c = detail::load<C>(ptrs[1] + off * inner[1], ct, inner[1], m, cbuf);
          const C* x = detail::load<C>(ptrs[2] + off * inner[2], at, inner[2], m, abuf);
          const C* y = detail::load<C>(ptrs[3] + off * inner[3], bt, inner[3], m, bbuf);
          std::byte* dst = ptrs[0] + off * inner[0];
          C* o = detail::output_slot<C>(dst, ot, inner[0], obuf);
          for (std::int64_t i = 0; i < m; ++i) o[i] = c[i] != C(0) ? x[i] : y[i];
          detail::store<C>(dst, ot, inner[0], m, o);
        }
      });
    });
  });
  return out;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

}  // namespace miso::tmath
