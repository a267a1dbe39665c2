// Neural-network building blocks: softmax, log_softmax, layer_norm, rms_norm.
//
// Each works row by row along one axis: a row is loaded into a buffer of the
// compute type (f32, or f64 for f64 inputs), transformed, and stored into the
// contiguous result. Row statistics (sums of exponentials, means, variances)
// accumulate in double. f16/bf16 inputs compute in f32 and return their dtype;
// integer and bool inputs are converted and give f32 (as the float functions of
// ops.hpp do).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "miso/profiler/span.hpp"
#include "miso/tmath/kernels.hpp"
#include "miso/tmath/ops.hpp"
#include "miso/tmath/vector_math.hpp"

namespace miso::tmath {

namespace {

using detail::fail;

void require_defined(const Tensor& t, const char* op) {
  if (!t.defined()) fail(std::string(op) + ": the input is an undefined tensor");
}

DType float_result(DType t) { return is_floating(t) ? t : DType::F32; }

std::int64_t check_axis(const Tensor& a, std::int64_t axis, const char* op) {
  const std::int64_t nd = a.dim();
  if (axis < -nd || axis >= nd) {
    fail(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for shape " + to_string(a.shape()));
  }
  return axis < 0 ? axis + nd : axis;
}

// fn(const C* x, C* y, n) for every row along `axis` of `in`, with y the same
// row of `out` (same shape as `in`).
template <typename C, typename Fn>
void for_rows(const Tensor& in, const Tensor& out, std::int64_t axis, const Fn& fn) {
  const auto ax = static_cast<std::size_t>(axis);
  const std::int64_t len = in.shape()[ax];
  if (len == 0 || in.numel() == 0) return;
  Shape shape, in_strides, out_strides;
  for (std::size_t d = 0; d < in.shape().size(); ++d) {
    if (d == ax) continue;
    shape.push_back(in.shape()[d]);
    in_strides.push_back(in.strides()[d]);
    out_strides.push_back(out.strides()[d]);
  }
  Tensor in_rows(in.storage(), shape, in_strides, in.offset(), in.dtype());
  Tensor out_rows(out.storage(), shape, out_strides, out.offset(), out.dtype());
  auto loop = detail::make_loop<2>(shape, {&out_rows, &in_rows});
  const DType it = in.dtype(), ot = out.dtype();
  const std::int64_t is = in.strides()[ax] * static_cast<std::int64_t>(size_of(it));
  const std::int64_t os = out.strides()[ax] * static_cast<std::int64_t>(size_of(ot));
  const std::int64_t min_rows = std::max<std::int64_t>(1, detail::kMinParallel / len);
  detail::parallel_range(loop.numel, min_rows, [&](std::int64_t begin, std::int64_t end) {
    std::vector<C> xbuf(static_cast<std::size_t>(len)), ybuf(static_cast<std::size_t>(len));
    detail::for_runs<2>(loop, begin, end, [&](auto ptrs, auto inner, std::int64_t n) {
      for (std::int64_t r = 0; r < n; ++r) {
        const C* x = detail::load<C>(ptrs[1] + r * inner[1], it, is, len, xbuf.data());
        std::byte* dst = ptrs[0] + r * inner[0];
        C* y = detail::output_slot<C>(dst, ot, os, ybuf.data());
        fn(x, y, len);
        detail::store<C>(dst, ot, os, len, y);
      }
    });
  });
}

// Row statistics in eight independent lanes, so the loops vectorise (and the
// summation order is fixed).
constexpr int kLanes = 8;

template <typename C>
C row_max(const C* x, std::int64_t n) {
  constexpr int kWide = 64;  // lanes in memory: this max loop vectorises, a register-carried one does not
  C lanes[kWide];
  for (C& l : lanes) l = -std::numeric_limits<C>::infinity();
  std::int64_t i = 0;
  for (; i + kWide <= n; i += kWide) {
    for (int j = 0; j < kWide; ++j) lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  }
  for (; i < n; ++i) lanes[0] = x[i] > lanes[0] ? x[i] : lanes[0];
  C m = lanes[0];
  for (int j = 1; j < kWide; ++j) m = lanes[j] > m ? lanes[j] : m;
  return m;
}

// Sum of x (kSquares: of (x - center)^2) in double.
template <bool kSquares, typename C>
double row_sum(const C* x, std::int64_t n, double center = 0.0) {
  auto term = [center](C v) {
    if constexpr (kSquares) {
      const double d = static_cast<double>(v) - center;
      return d * d;
    } else {
      return static_cast<double>(v);
    }
  };
  double lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lanes[j] += term(x[i + j]);
  }
  for (; i < n; ++i) lanes[0] += term(x[i]);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

Tensor softmax_impl(const Tensor& a, std::int64_t axis, bool log, const char* op) {
  require_defined(a, op);
  // A zero-dimensional tensor is one row of one element.
  const Tensor x = a.dim() == 0 ? a.reshape({1}) : a;
  const std::int64_t ax = check_axis(x, axis, op);
  Tensor out = Tensor::empty(x.shape(), float_result(a.dtype()));
  detail::visit_compute(out.dtype(), [&](auto tag) {
    using C = typename decltype(tag)::type;
    if constexpr (std::is_floating_point_v<C>) {
      for_rows<C>(x, out, ax, [&](const C* in, C* y, std::int64_t n) {
        // Subtracting the row maximum keeps exp() from overflowing. A row that
        // holds NaN, or +inf, or only -inf gives NaN (as PyTorch).
        const C m = row_max(in, n);
        for (std::int64_t i = 0; i < n; ++i) y[i] = in[i] - m;
        if constexpr (std::is_same_v<C, float>) {
          vmath::exp(y, y, n);
        } else {
          for (std::int64_t i = 0; i < n; ++i) y[i] = std::exp(y[i]);
        }
        const double total = row_sum<false>(y, n);
        if (log) {
          const C shift = static_cast<C>(std::log(total));
          for (std::int64_t i = 0; i < n; ++i) y[i] = (in[i] - m) - shift;
        } else {
          const C scale = static_cast<C>(1.0 / total);
          for (std::int64_t i = 0; i < n; ++i) y[i] *= scale;
        }
      });
    }
  });
  return a.dim() == 0 ? out.reshape({}) : out;
}

// A weight or bias must be undefined or of shape [len].
void check_param(const Tensor& p, const Tensor& x, const char* what, const char* op) {
  if (!p.defined()) return;
  const std::int64_t len = x.shape().back();
  if (p.dim() != 1 || p.shape()[0] != len) {
    fail(std::string(op) + ": " + what + " of shape " + to_string(p.shape()) + " does not match the last dimension (" +
         std::to_string(len) + ") of input shape " + to_string(x.shape()));
  }
}

template <typename C>
std::vector<C> param_values(const Tensor& p) {
  if (!p.defined()) return {};
  return p.to_vector<C>();
}

enum class Norm { Layer, Rms };

Tensor norm_impl(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Norm kind, const char* op) {
  require_defined(x, op);
  if (x.dim() == 0) fail(std::string(op) + ": the input must have at least one dimension, got shape []");
  check_param(weight, x, "weight", op);
  check_param(bias, x, "bias", op);
  Tensor out = Tensor::empty(x.shape(), float_result(x.dtype()));
  detail::visit_compute(out.dtype(), [&](auto tag) {
    using C = typename decltype(tag)::type;
    if constexpr (std::is_floating_point_v<C>) {
      const std::vector<C> w = param_values<C>(weight);
      const std::vector<C> b = param_values<C>(bias);
      for_rows<C>(x, out, x.dim() - 1, [&](const C* in, C* y, std::int64_t n) {
        const double count = static_cast<double>(n);
        const double center = kind == Norm::Layer ? row_sum<false>(in, n) / count : 0.0;
        const double sq = row_sum<true>(in, n, center);
        const C c = static_cast<C>(center);
        const C scale = static_cast<C>(1.0 / std::sqrt(sq / count + eps));
        for (std::int64_t i = 0; i < n; ++i) y[i] = (in[i] - c) * scale;
        if (!w.empty()) {
          for (std::int64_t i = 0; i < n; ++i) y[i] *= w[static_cast<std::size_t>(i)];
        }
        if (!b.empty()) {
          for (std::int64_t i = 0; i < n; ++i) y[i] += b[static_cast<std::size_t>(i)];
        }
      });
    }
  });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& a, std::int64_t axis) {
  MISO_PROFILE_SCOPE("tmath.softmax");
  return softmax_impl(a, axis, false, "softmax");
}

Tensor log_softmax(const Tensor& a, std::int64_t axis) {
  MISO_PROFILE_SCOPE("tmath.log_softmax");
  return softmax_impl(a, axis, true, "log_softmax");
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  MISO_PROFILE_SCOPE("tmath.layer_norm");
  return norm_impl(x, weight, bias, eps, Norm::Layer, "layer_norm");
}

// y = x / sqrt(mean(x^2) + eps) * weight; an undefined weight means none.
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  MISO_PROFILE_SCOPE("tmath.rms_norm");
  return norm_impl(x, weight, Tensor(), eps, Norm::Rms, "rms_norm");
}

}  // namespace miso::tmath
