// Elementwise operations: one strided loop (kernels.hpp), one block kernel per
// compute type with a switch on the operation per block of 1024 elements.
#include <array>
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
  static constexpr const char* kNames[] = {"neg",  "abs", "exp", "log", "sqrt", "tanh", "sigmoid", "relu",
                                           "gelu", "erf", "sin", "cos", "tan",  "asin", "acos",    "atan"};
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

namespace {

// Runs kernel(in, o, m) over `out` in blocks of up to kBlock elements of the
// compute type C: in[k] holds the m values of operand k (converted or gathered
// into a buffer unless usable in place), o is where the results go (the output
// itself when it has type C and unit stride). Operands broadcast to out's shape.
template <typename C, std::size_t K, typename Kernel>
void blockwise(const Tensor& out, const std::array<const Tensor*, K>& operands, const Kernel& kernel) {
  constexpr int N = static_cast<int>(K) + 1;
  std::array<const Tensor*, K + 1> all{&out};
  std::array<DType, K + 1> dtypes{out.dtype()};
  for (std::size_t k = 0; k < K; ++k) {
    all[k + 1] = operands[k];
    dtypes[k + 1] = operands[k]->dtype();
  }
  auto loop = detail::make_loop<N>(out.shape(), all);
  detail::parallel_range(loop.numel, detail::kMinParallel, [&](std::int64_t begin, std::int64_t end) {
    alignas(64) C buffers[K + 1][detail::kBlock];
    detail::for_runs<N>(loop, begin, end, [&](auto ptrs, auto inner, std::int64_t n) {
      for (std::int64_t off = 0; off < n; off += detail::kBlock) {
        const std::int64_t m = std::min(detail::kBlock, n - off);
        std::array<const C*, K> in{};
        for (std::size_t k = 0; k < K; ++k) {
          in[k] = detail::load<C>(ptrs[k + 1] + off * inner[k + 1], dtypes[k + 1], inner[k + 1], m, buffers[k + 1]);
        }
        std::byte* dst = ptrs[0] + off * inner[0];
        C* o = detail::output_slot<C>(dst, dtypes[0], inner[0], buffers[0]);
        kernel(in, o, m);
        detail::store<C>(dst, dtypes[0], inner[0], m, o);
      }
    });
  });
}

}  // namespace

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  MISO_PROFILE_SCOPE("tmath.binary");
  require_defined(a, op_name(op));
  require_defined(b, op_name(op));
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op_name(op));
  Tensor out = Tensor::empty(shape, result_dtype(op, a.dtype(), b.dtype()));
  detail::visit_compute(compute_dtype(op, a.dtype(), b.dtype()), [&](auto tag) {
    using C = typename decltype(tag)::type;
    blockwise<C, 2>(out, {&a, &b},
                    [op](const auto& in, C* o, std::int64_t m) { detail::apply_binary<C>(op, in[0], in[1], o, m); });
  });
  return out;
}

Tensor unary(UnaryOp op, const Tensor& a) {
  MISO_PROFILE_SCOPE("tmath.unary");
  require_defined(a, op_name(op));
  Tensor out = Tensor::empty(a.shape(), result_dtype(op, a.dtype()));
  const DType ct = is_float_function(op) && !is_floating(a.dtype()) ? DType::F32 : compute_type(a.dtype());
  detail::visit_compute(ct, [&](auto tag) {
    using C = typename decltype(tag)::type;
    blockwise<C, 1>(out, {&a}, [op](const auto& in, C* o, std::int64_t m) { detail::apply_unary<C>(op, in[0], o, m); });
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
  detail::visit_compute(out.dtype(), [&](auto tag) {
    using C = typename decltype(tag)::type;
    blockwise<C, 3>(out, {&cond, &a, &b}, [](const auto& in, C* o, std::int64_t m) {
      for (std::int64_t i = 0; i < m; ++i) o[i] = in[0][i] != C(0) ? in[1][i] : in[2][i];
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
