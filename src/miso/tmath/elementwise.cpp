// Elementwise operations: one strided loop (kernels.hpp), one block kernel per
// compute type with a switch on the operation per block of 1024 elements.
#include <cmath>
#include <type_traits>

#include "miso/profiler/span.hpp"
#include "miso/tmath/block_ops.hpp"
#include "miso/tmath/kernels.hpp"
#include "miso/tmath/ops.hpp"
#include "miso/tmath/vector_math.hpp"

namespace miso::tmath {

namespace {

using detail::is_float_function;

using detail::fail;

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

Tensor scalar_like(double v, const Tensor& t) { return scalar(v, scalar_operand_dtype(v, t.dtype())); }

}  // namespace

DType scalar_operand_dtype(double value, DType other) noexcept {
  if (!is_floating(other) && value != std::trunc(value)) return DType::F32;
  if (other == DType::Bool) return DType::I32;
  return other;
}

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
          detail::apply_binary<C>(op, x, y, o, m);
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
          detail::apply_unary<C>(op, x, o, m);
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
