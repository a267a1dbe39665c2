// Reductions: sum, mean, max, min, var, argmax over any set of axes.
//
// The input is seen as two nested index spaces: the kept axes (one output
// element each, in row-major order) and the reduced axes (the "inner" space,
// reduced in row-major order). Both are coalesced strided loops (kernels.hpp),
// so a reduction over the innermost contiguous axes becomes one tight run per
// output.
//
// Determinism: each output's inner range is cut into fixed chunks of kChunk
// elements; a chunk is reduced by one thread in a fixed order, and chunk results
// are combined left to right. Work is spread over outputs when a chunk covers
// the whole inner range, else over (output, chunk) pairs, so the result depends
// on the shape and strides of the input only, never on the thread count.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "miso/nexus/executor.hpp"
#include "miso/profiler/span.hpp"
#include "miso/tmath/kernels.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {

namespace {

using detail::fail;

void require_defined(const Tensor& t, const char* op) {
  if (!t.defined()) fail(std::string(op) + ": the operand is an undefined tensor");
}

constexpr std::int64_t kChunk = std::int64_t{1} << 16;  // inner elements per unit of work
constexpr int kLanes = 8;                               // independent accumulators of a run

template <typename S>
constexpr bool kIsFloat = std::is_floating_point_v<S> || std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>;

// The type max/min/argmax compare in: float for the 16-bit floats, i32 for bool.
template <typename S>
using ValueOf = std::conditional_t<std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>, float,
                                   std::conditional_t<std::is_same_v<S, bool>, std::int32_t, S>>;

template <typename S>
S load_at(const std::byte* p) {
  S v;
  std::memcpy(&v, p, sizeof(S));
  return v;
}

struct Plan {
  Shape out_shape;
  std::int64_t outputs = 1;  // product of the kept sizes
  std::int64_t count = 1;    // product of the reduced sizes
  detail::Loop<1> outer;     // kept axes; byte strides of the input
  detail::Loop<1> inner;     // reduced axes; byte strides of the input
  const std::byte* base = nullptr;
};

Plan make_plan(const Tensor& a, const std::vector<std::int64_t>& axes, bool keepdims, const char* op) {
  const std::int64_t nd = a.dim();
  std::vector<bool> reduced(static_cast<std::size_t>(nd), axes.empty());
  for (std::int64_t axis : axes) {
    if (axis < -nd || axis >= nd) {
      fail(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for shape " + to_string(a.shape()));
    }
    auto d = static_cast<std::size_t>(axis < 0 ? axis + nd : axis);
    if (reduced[d]) {
      fail(std::string(op) + ": axis " + std::to_string(axis) + " is repeated in " + to_string(axes) + " for shape " +
           to_string(a.shape()));
    }
    reduced[d] = true;
  }
  Plan plan;
  Shape outer_shape, outer_strides, inner_shape, inner_strides;
  for (std::size_t d = 0; d < reduced.size(); ++d) {
    if (reduced[d]) {
      inner_shape.push_back(a.shape()[d]);
      inner_strides.push_back(a.strides()[d]);
      if (keepdims) plan.out_shape.push_back(1);
    } else {
      outer_shape.push_back(a.shape()[d]);
      outer_strides.push_back(a.strides()[d]);
      plan.out_shape.push_back(a.shape()[d]);
    }
  }
  Tensor outer_view(a.storage(), outer_shape, outer_strides, a.offset(), a.dtype());
  Tensor inner_view(a.storage(), inner_shape, inner_strides, a.offset(), a.dtype());
  plan.outer = detail::make_loop<1>(outer_shape, {&outer_view});
  plan.inner = detail::make_loop<1>(inner_shape, {&inner_view});
  plan.outputs = numel_of(outer_shape);
  plan.count = numel_of(inner_shape);
  plan.base = static_cast<const std::byte*>(a.raw_data());
  return plan;
}

// fn(p, byte_stride, n, first_index) for consecutive runs covering the inner
// linear indices [begin, end), the inner space starting at `base`.
template <typename Fn>
void inner_runs(const detail::Loop<1>& loop, const std::byte* base, std::int64_t begin, std::int64_t end, Fn&& fn) {
  const std::byte* ptr = nullptr;
  std::int64_t stride = 0;
  detail::walk_runs(loop.shape, loop.strides.data(), &base, 1, begin, end, &ptr, &stride,
                    [&](std::int64_t n, std::int64_t first) { fn(ptr, stride, n, first); });
}

// Byte offset of output `o` (row-major over the kept axes) in the input.
std::int64_t outer_offset(const detail::Loop<1>& loop, std::int64_t o) {
  std::int64_t off = 0;
  for (std::size_t d = loop.shape.size(); d-- > 0;) {
    off += (o % loop.shape[d]) * loop.strides[0][d];
    o /= loop.shape[d];
  }
  return off;
}

// The reduction driver. init(o) -> State for output o; run(State&, p, stride,
// n, first_index) folds a run in; combine(State& earlier, const State& later);
// finish(o, const State&) writes output o.
template <typename State, typename Init, typename Run, typename Combine, typename Finish>
void reduce_plan(const Plan& plan, const Init& init, const Run& run, const Combine& combine, const Finish& finish) {
  const std::int64_t outputs = plan.outputs, count = plan.count;
  if (outputs == 0) return;
  const std::int64_t chunks = count <= kChunk ? 1 : (count + kChunk - 1) / kChunk;
  if (chunks == 1) {
    const std::int64_t min_outputs = std::max<std::int64_t>(1, detail::kMinParallel / std::max<std::int64_t>(count, 1));
    detail::parallel_range(outputs, min_outputs, [&](std::int64_t begin, std::int64_t end) {
      std::int64_t o = begin;
      detail::for_runs<1>(plan.outer, begin, end, [&](auto ptrs, auto inner, std::int64_t n) {
        for (std::int64_t i = 0; i < n; ++i, ++o) {
          State s = init(o);
          inner_runs(plan.inner, ptrs[0] + i * inner[0], 0, count,
                     [&](const std::byte* p, std::int64_t stride, std::int64_t len, std::int64_t first) {
                       run(s, p, stride, len, first);
                     });
          finish(o, s);
        }
      });
    });
    return;
  }
  const std::int64_t units = outputs * chunks;
  std::vector<State> partial(static_cast<std::size_t>(units));
  detail::parallel_range(units, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t u = begin; u < end; ++u) {
      const std::int64_t o = u / chunks, c = u % chunks;
      State s = init(o);
      inner_runs(plan.inner, plan.base + outer_offset(plan.outer, o), c * kChunk, std::min(count, (c + 1) * kChunk),
                 [&](const std::byte* p, std::int64_t stride, std::int64_t len, std::int64_t first) {
                   run(s, p, stride, len, first);
                 });
      partial[static_cast<std::size_t>(u)] = s;
    }
  });
  for (std::int64_t o = 0; o < outputs; ++o) {
    State s = partial[static_cast<std::size_t>(o * chunks)];
    for (std::int64_t c = 1; c < chunks; ++c) combine(s, partial[static_cast<std::size_t>(o * chunks + c)]);
    finish(o, s);
  }
}

// --- run kernels ---------------------------------------------------------------------
double tree8(const double* acc) {
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Sum in double of n elements of S; with `center`, of (x - center)^2.
template <typename S, bool kSquares>
double sum_run(const std::byte* p, std::int64_t stride, std::int64_t n, double center) {
  auto term = [center](double x) {
    if constexpr (kSquares) {
      const double d = x - center;
      return d * d;
    } else {
      return x;
    }
  };
  double acc[kLanes] = {};
  if (stride == static_cast<std::int64_t>(sizeof(S))) {
    const S* s = reinterpret_cast<const S*>(p);
    std::int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      for (int j = 0; j < kLanes; ++j) acc[j] += term(convert<double>(s[i + j]));
    }
    for (int j = 0; i < n; ++i, ++j) acc[j] += term(convert<double>(s[i]));
  } else {
    for (std::int64_t i = 0; i < n; ++i) acc[i % kLanes] += term(convert<double>(load_at<S>(p + i * stride)));
  }
  return tree8(acc);
}

// Wrapping integer sum (two's complement, as NumPy's int64 accumulation).
template <typename S>
std::uint64_t int_sum_run(const std::byte* p, std::int64_t stride, std::int64_t n) {
  std::uint64_t acc[kLanes] = {};
  auto u = [](S v) { return static_cast<std::uint64_t>(static_cast<std::int64_t>(v)); };
  if (stride == static_cast<std::int64_t>(sizeof(S))) {
    const S* s = reinterpret_cast<const S*>(p);
    std::int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      for (int j = 0; j < kLanes; ++j) acc[j] += u(s[i + j]);
    }
    for (; i < n; ++i) acc[0] += u(s[i]);
  } else {
    for (std::int64_t i = 0; i < n; ++i) acc[0] += u(load_at<S>(p + i * stride));
  }
  std::uint64_t total = 0;
  for (std::uint64_t a : acc) total += a;
  return total;
}

template <typename S, bool kMax>
struct Extreme {
  using V = ValueOf<S>;
  static constexpr V identity() {
    if constexpr (std::is_floating_point_v<V>) {
      return kMax ? -std::numeric_limits<V>::infinity() : std::numeric_limits<V>::infinity();
    } else {
      return kMax ? std::numeric_limits<V>::lowest() : std::numeric_limits<V>::max();
    }
  }
  static V pick(V a, V b) {
    if constexpr (kMax) {
      return b > a ? b : a;
    } else {
      return b < a ? b : a;
    }
  }
  V value = identity();
  bool nan = false;

  void run(const std::byte* p, std::int64_t stride, std::int64_t n) {
    // Wide lanes kept in memory: the compiler vectorises the lane loop (it does
    // not vectorise a register-carried max under strict IEEE semantics).
    constexpr int kWide = 64;
    V lanes[kWide];
    int nan_lanes[kWide] = {};
    for (V& l : lanes) l = identity();
    std::int64_t i = 0;
    if (stride == static_cast<std::int64_t>(sizeof(S))) {
      const S* s = reinterpret_cast<const S*>(p);
      for (; i + kWide <= n; i += kWide) {
        for (int j = 0; j < kWide; ++j) lanes[j] = pick(lanes[j], convert<V>(s[i + j]));
        if constexpr (std::is_floating_point_v<V>) {
          for (int j = 0; j < kWide; ++j) {
            const V x = convert<V>(s[i + j]);
            nan_lanes[j] |= static_cast<int>(x != x);
          }
        }
      }
    }
    for (; i < n; ++i) {
      const V x = convert<V>(load_at<S>(p + i * stride));
      if constexpr (std::is_floating_point_v<V>) nan_lanes[0] |= static_cast<int>(x != x);
      lanes[0] = pick(lanes[0], x);
    }
    int any_nan = 0;
    for (int j = 0; j < kWide; ++j) {
      value = pick(value, lanes[j]);
      any_nan |= nan_lanes[j];
    }
    nan = nan || any_nan != 0;
  }
  void combine(const Extreme& later) {
    value = pick(value, later.value);
    nan = nan || later.nan;
  }
  S result() const {
    if constexpr (std::is_floating_point_v<V>) {
      if (nan) return convert<S>(std::numeric_limits<V>::quiet_NaN());
    }
    return convert<S>(value);
  }
};

// First maximum; the first NaN wins (NumPy).
template <typename S>
struct ArgMax {
  using V = ValueOf<S>;
  V value{};
  std::int64_t index = -1;
  bool nan = false;

  void run(const std::byte* p, std::int64_t stride, std::int64_t n, std::int64_t first) {
    if (nan) return;
    for (std::int64_t i = 0; i < n; ++i) {
      const V x = convert<V>(load_at<S>(p + i * stride));
      if constexpr (std::is_floating_point_v<V>) {
        if (x != x) {
          nan = true;
          index = first + i;
          return;
        }
      }
      if (index < 0 || x > value) {
        value = x;
        index = first + i;
      }
    }
  }
  void combine(const ArgMax& later) {
    if (nan || later.index < 0) return;
    if (later.nan || index < 0 || later.value > value) *this = later;
  }
};

void require_nonempty(const Plan& plan, const Tensor& a, const std::vector<std::int64_t>& axes, const char* op) {
  if (plan.count == 0) {
    fail(std::string(op) + ": the reduction over axes " + (axes.empty() ? std::string("(all)") : to_string(axes)) +
         " of shape " + to_string(a.shape()) + " is empty and has no identity");
  }
}

// Reductions whose kept axes are the innermost ones and contiguous (over axis 0
// of a matrix, over the batch of [B, N] ...) would walk every output with the
// reduced stride in the generic driver. Instead, blocks of adjacent outputs
// fold whole rows in input order: loads are sequential and the per-column
// updates vectorise. Blocks split over the executor; each output still sees its
// terms in row-major order of the reduced axes, so the result is the same for
// any thread count.
//
// Calls block(first, width, for_rows) for each block of outputs [first,
// first + width); for_rows(f) calls f(const S* row) for every row of the block.
// Returns false (and calls nothing) when the layout does not fit.
template <typename S>
bool column_layout(const Plan& plan) {
  return plan.outer.shape.size() == 1 && plan.outer.strides[0][0] == static_cast<std::int64_t>(sizeof(S)) &&
         plan.count >= 2 && plan.outputs >= 16;
}

template <typename S, typename Block>
bool column_blocks(const Plan& plan, const Block& block) {
  if (!column_layout<S>(plan)) return false;
  const std::int64_t outputs = plan.outputs, count = plan.count;
  // Wide blocks read long contiguous stretches of each row (prefetch-friendly);
  // at most 8192 columns so per-column state stays in L2; enough blocks for the slots.
  const auto slots = static_cast<std::int64_t>(nexus::Executor::global().concurrency());
  const std::int64_t columns = std::clamp<std::int64_t>((outputs + 2 * slots - 1) / (2 * slots), 512, 8192);
  const std::int64_t blocks = (outputs + columns - 1) / columns;
  const std::int64_t min_blocks =
      std::max<std::int64_t>(1, detail::kMinParallel / std::max<std::int64_t>(1, columns * count));
  detail::parallel_range(blocks, min_blocks, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      const std::int64_t first = b * columns, width = std::min(columns, outputs - first);
      auto for_rows = [&](auto&& f) {
        inner_runs(plan.inner, plan.base + first * static_cast<std::int64_t>(sizeof(S)), 0, count,
                   [&](const std::byte* p, std::int64_t stride, std::int64_t len, std::int64_t) {
                     for (std::int64_t r = 0; r < len; ++r) f(reinterpret_cast<const S*>(p + r * stride));
                   });
      };
      block(first, width, for_rows);
    }
  });
  return true;
}

// max/min over column blocks: per-column values and NaN flags.
template <typename S, bool kMax>
bool column_extremes(const Plan& plan, S* dst) {
  using E = Extreme<S, kMax>;
  using V = typename E::V;
  return column_blocks<S>(plan, [&](std::int64_t first, std::int64_t width, const auto& for_rows) {
    std::vector<V> value(static_cast<std::size_t>(width), E::identity());
    std::vector<int> nan(static_cast<std::size_t>(width), 0);
    for_rows([&](const S* row) {
      for (std::int64_t j = 0; j < width; ++j) {
        const V x = convert<V>(row[j]);
        if constexpr (std::is_floating_point_v<V>) nan[static_cast<std::size_t>(j)] |= static_cast<int>(x != x);
        value[static_cast<std::size_t>(j)] = E::pick(value[static_cast<std::size_t>(j)], x);
      }
    });
    for (std::int64_t j = 0; j < width; ++j) {
      E e;
      e.value = value[static_cast<std::size_t>(j)];
      e.nan = nan[static_cast<std::size_t>(j)] != 0;
      dst[first + j] = e.result();
    }
  });
}

// acc[j] += row[j] in double, compiled for AVX-512, AVX2 and baseline x86-64.
__attribute__((target_clones("avx512f", "avx2", "default"))) void add_row_f32(double* acc, const float* row,
                                                                              std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) acc[j] += static_cast<double>(row[j]);
}

// Sums over column blocks, in double.
template <typename S>
bool column_sums(const Plan& plan, std::vector<double>& sums) {
  if (!column_layout<S>(plan)) return false;
  sums.assign(static_cast<std::size_t>(plan.outputs), 0.0);
  return column_blocks<S>(plan, [&](std::int64_t first, std::int64_t width, const auto& for_rows) {
    double* acc = sums.data() + first;
    for_rows([&](const S* row) {
      if constexpr (std::is_same_v<S, float>) {
        add_row_f32(acc, row, width);
      } else {
        for (std::int64_t j = 0; j < width; ++j) acc[j] += convert<double>(row[j]);
      }
    });
  });
}

Tensor extreme(const Tensor& a, const std::vector<std::int64_t>& axes, bool keepdims, bool is_max) {
  const char* op = is_max ? "max" : "min";
  require_defined(a, op);
  Plan plan = make_plan(a, axes, keepdims, op);
  if (plan.count == 0) require_nonempty(plan, a, axes, op);
  Tensor out = Tensor::empty(plan.out_shape, a.dtype());
  visit_dtype(a.dtype(), [&](auto tag) {
    using S = typename decltype(tag)::type;
    S* dst = out.data<S>();
    auto go = [&](auto kind) {
      using E = Extreme<S, decltype(kind)::value>;
      if (column_extremes<S, decltype(kind)::value>(plan, dst)) return;
      reduce_plan<E>(
          plan, [](std::int64_t) { return E{}; },
          [](E& s, const std::byte* p, std::int64_t stride, std::int64_t n, std::int64_t) { s.run(p, stride, n); },
          [](E& s, const E& later) { s.combine(later); }, [&](std::int64_t o, const E& s) { dst[o] = s.result(); });
    };
    if (is_max) {
      go(std::true_type{});
    } else {
      go(std::false_type{});
    }
  });
  return out;
}

// Per-output means (double) of the plan, for mean and var.
std::vector<double> plan_means(const Plan& plan, DType dtype) {
  std::vector<double> means(static_cast<std::size_t>(plan.outputs));
  const double count = static_cast<double>(plan.count);
  visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    if constexpr (kIsFloat<S>) {
      std::vector<double> sums;
      if (column_sums<S>(plan, sums)) {
        for (std::size_t o = 0; o < sums.size(); ++o) means[o] = sums[o] / count;
        return;
      }
    }
    reduce_plan<double>(
        plan, [](std::int64_t) { return 0.0; },
        [](double& s, const std::byte* p, std::int64_t stride, std::int64_t n, std::int64_t) {
          s += sum_run<S, false>(p, stride, n, 0.0);
        },
        [](double& s, const double& later) { s += later; },
        [&](std::int64_t o, const double& s) {
          means[static_cast<std::size_t>(o)] = plan.count == 0 ? std::numeric_limits<double>::quiet_NaN() : s / count;
        });
  });
  return means;
}

// Writes double results into a new tensor of `dtype`.
Tensor from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype) {
  Tensor out = Tensor::empty(shape, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S* dst = out.data<S>();
    for (std::size_t i = 0; i < values.size(); ++i) dst[i] = convert<S>(values[i]);
  });
  return out;
}

DType float_result(DType t) { return is_floating(t) ? t : DType::F32; }

}  // namespace

Tensor sum(const Tensor& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  MISO_PROFILE_SCOPE("tmath.sum");
  require_defined(a, "sum");
  Plan plan = make_plan(a, axes, keepdims, "sum");
  const DType out_dtype = is_floating(a.dtype()) ? a.dtype() : DType::I64;
  Tensor out = Tensor::empty(plan.out_shape, out_dtype);
  visit_dtype(a.dtype(), [&](auto tag) {
    using S = typename decltype(tag)::type;
    if constexpr (kIsFloat<S>) {
      S* dst = out.data<S>();
      std::vector<double> sums;
      if (column_sums<S>(plan, sums)) {
        for (std::size_t o = 0; o < sums.size(); ++o) dst[o] = convert<S>(sums[o]);
        return;
      }
      reduce_plan<double>(
          plan, [](std::int64_t) { return 0.0; },
          [](double& s, const std::byte* p, std::int64_t stride, std::int64_t n, std::int64_t) {
            s += sum_run<S, false>(p, stride, n, 0.0);
          },
          [](double& s, const double& later) { s += later; },
          [&](std::int64_t o, const double& s) { dst[o] = convert<S>(s); });
    } else {
      std::int64_t* dst = out.data<std::int64_t>();
      reduce_plan<std::uint64_t>(
          plan, [](std::int64_t) { return std::uint64_t{0}; },
          [](std::uint64_t& s, const std::byte* p, std::int64_t stride, std::int64_t n, std::int64_t) {
            s += int_sum_run<S>(p, stride, n);
          },
          [](std::uint64_t& s, const std::uint64_t& later) { s += later; },
          [&](std::int64_t o, const std::uint64_t& s) { dst[o] = static_cast<std::int64_t>(s); });
    }
  });
  return out;
}

Tensor mean(const Tensor& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  MISO_PROFILE_SCOPE("tmath.mean");
  require_defined(a, "mean");
  Plan plan = make_plan(a, axes, keepdims, "mean");
  return from_doubles(plan_means(plan, a.dtype()), plan.out_shape, float_result(a.dtype()));
}

// Two passes (mean, then squared deviations) in double. A divisor count - ddof
// of zero or less gives NaN (as PyTorch; NumPy warns and gives inf or NaN).
Tensor var(const Tensor& a, const std::vector<std::int64_t>& axes, bool keepdims, std::int64_t ddof) {
  MISO_PROFILE_SCOPE("tmath.var");
  require_defined(a, "var");
  Plan plan = make_plan(a, axes, keepdims, "var");
  std::vector<double> means = plan_means(plan, a.dtype());
  std::vector<double> result(means.size());
  const double divisor = static_cast<double>(plan.count - ddof);
  visit_dtype(a.dtype(), [&](auto tag) {
    using S = typename decltype(tag)::type;
    struct Dev {
      double center;
      double sum;
    };
    reduce_plan<Dev>(
        plan,
        [&](std::int64_t o) {
          return Dev{means[static_cast<std::size_t>(o)], 0.0};
        },
        [](Dev& s, const std::byte* p, std::int64_t stride, std::int64_t n, std::int64_t) {
          s.sum += sum_run<S, true>(p, stride, n, s.center);
        },
        [](Dev& s, const Dev& later) { s.sum += later.sum; },
        [&](std::int64_t o, const Dev& s) {
          result[static_cast<std::size_t>(o)] =
              divisor > 0 ? s.sum / divisor : std::numeric_limits<double>::quiet_NaN();
        });
  });
  return from_doubles(result, plan.out_shape, float_result(a.dtype()));
}

Tensor max(const Tensor& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  MISO_PROFILE_SCOPE("tmath.max");
  return extreme(a, axes, keepdims, true);
}

Tensor min(const Tensor& a, const std::vector<std::int64_t>& axes, bool keepdims) {
  MISO_PROFILE_SCOPE("tmath.min");
  return extreme(a, axes, keepdims, false);
}

Tensor argmax(const Tensor& a, std::optional<std::int64_t> axis, bool keepdims) {
  MISO_PROFILE_SCOPE("tmath.argmax");
  require_defined(a, "argmax");
  std::vector<std::int64_t> axes;
  if (axis) axes.push_back(*axis);
  Plan plan = make_plan(a, axes, keepdims, "argmax");
  if (plan.count == 0) require_nonempty(plan, a, axes, "argmax");
  Tensor out = Tensor::empty(plan.out_shape, DType::I64);
  std::int64_t* dst = out.data<std::int64_t>();
  visit_dtype(a.dtype(), [&](auto tag) {
    using S = typename decltype(tag)::type;
    using A = ArgMax<S>;
    reduce_plan<A>(
        plan, [](std::int64_t) { return A{}; },
        [](A& s, const std::byte* p, std::int64_t stride, std::int64_t n, std::int64_t first) {
          s.run(p, stride, n, first);
        },
        [](A& s, const A& later) { s.combine(later); }, [&](std::int64_t o, const A& s) { dst[o] = s.index; });
  });
  return out;
}

}  // namespace miso::tmath
