// Internal: the strided n-ary loop every elementwise kernel runs on, and the
// block-wise load/convert/store helpers. Not part of the public API.
//
// A loop over an output shape with N operands (each with byte strides already
// broadcast to that shape) is first coalesced: size-1 dimensions are dropped and
// neighbouring dimensions that are contiguous for every operand are merged, so a
// contiguous tensor of any rank becomes one run. for_runs then visits the linear
// index range [begin, end) as runs along the innermost dimension; kernels work
// on runs through small blocks of the compute type (f32, f64, i32 or i64), which
// keeps every dtype combination down to one conversion in and one out.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "miso/tmath/dtype.hpp"
#include "miso/tmath/tensor.hpp"

namespace miso::tmath::detail {

// Error(InvalidArgument) with `message`: what every operation throws for bad arguments.
[[noreturn]] inline void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

inline constexpr std::int64_t kBlock = 1024;         // elements per block of a kernel's buffers
inline constexpr std::int64_t kMinParallel = 32768;  // fewer elements run on one thread

template <int N>
struct Loop {
  Shape shape;                                       // coalesced
  std::array<std::vector<std::int64_t>, N> strides;  // bytes, per operand
  std::array<std::byte*, N> base{};
  std::int64_t numel = 1;
};

// Byte strides of `t` broadcast to `shape` (t's shape must broadcast to it).
std::vector<std::int64_t> broadcast_byte_strides(const Tensor& t, const Shape& shape);

// Drops the size-1 dimensions of `shape` and merges neighbours that are
// contiguous for every operand; strides[0..operands) (bytes, broadcast to
// `shape`) are rewritten to match. Returns the coalesced shape.
Shape coalesce(const Shape& shape, std::vector<std::int64_t>* strides, std::size_t operands);

template <int N>
Loop<N> make_loop(const Shape& shape, const std::array<const Tensor*, N>& operands) {
  Loop<N> loop;
  for (int k = 0; k < N; ++k) loop.strides[k] = broadcast_byte_strides(*operands[k], shape);
  loop.shape = coalesce(shape, loop.strides.data(), N);
  for (int k = 0; k < N; ++k) loop.base[k] = static_cast<std::byte*>(operands[k]->raw_data());
  loop.numel = numel_of(shape);
  return loop;
}

// A loop like Loop<N> with a number of operands known at run time (the lazy
// kernels have one per input).
struct DynLoop {
  Shape shape;
  std::vector<std::vector<std::int64_t>> strides;
  std::vector<std::byte*> base;
};

inline DynLoop make_dyn_loop(const Shape& shape, const std::vector<const Tensor*>& operands) {
  DynLoop loop;
  for (const Tensor* t : operands) {
    loop.strides.push_back(broadcast_byte_strides(*t, shape));
    loop.base.push_back(static_cast<std::byte*>(t->raw_data()));
  }
  loop.shape = coalesce(shape, loop.strides.data(), operands.size());
  return loop;
}

// The walk every strided loop shares: sets ptrs[k] and inner[k] (the byte
// stride along the run) for each operand and calls fn(n, first) for the
// consecutive runs along the innermost dimension that cover the linear indices
// [begin, end), `first` being a run's first linear index. P is std::byte* or
// const std::byte*.
template <typename P, typename Fn>
void walk_runs(const Shape& shape, const std::vector<std::int64_t>* strides, const P* base, std::size_t operands,
               std::int64_t begin, std::int64_t end, P* ptrs, std::int64_t* inner, Fn&& fn) {
  if (begin >= end) return;
  const std::size_t nd = shape.size();
  if (nd == 0) {
    for (std::size_t k = 0; k < operands; ++k) {
      ptrs[k] = base[k];
      inner[k] = 0;
    }
    fn(end - begin, begin);
    return;
  }
  for (std::size_t k = 0; k < operands; ++k) inner[k] = strides[k][nd - 1];
  std::array<std::int64_t, 8> small{};
  std::vector<std::int64_t> big;
  std::int64_t* idx = small.data();
  if (nd > small.size()) {
    big.assign(nd, 0);
    idx = big.data();
  }
  std::int64_t rem = begin;
  for (std::size_t d = nd; d-- > 0;) {
    idx[d] = rem % shape[d];
    rem /= shape[d];
  }
  const std::int64_t row = shape[nd - 1];
  while (begin < end) {
    for (std::size_t k = 0; k < operands; ++k) {
      std::int64_t off = 0;
      for (std::size_t d = 0; d < nd; ++d) off += idx[d] * strides[k][d];
      ptrs[k] = base[k] + off;
    }
    const std::int64_t n = std::min(row - idx[nd - 1], end - begin);
    fn(n, begin);
    begin += n;
    idx[nd - 1] += n;
    for (std::size_t d = nd - 1; d > 0 && idx[d] == shape[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

// fn(std::array<std::byte*, N> ptrs, std::array<std::int64_t, N> inner_byte_strides, std::int64_t n)
// for consecutive runs covering the linear indices [begin, end).
template <int N, typename Fn>
void for_runs(const Loop<N>& loop, std::int64_t begin, std::int64_t end, Fn&& fn) {
  std::array<std::byte*, N> ptrs{};
  std::array<std::int64_t, N> inner{};
  walk_runs(loop.shape, loop.strides.data(), loop.base.data(), N, begin, end, ptrs.data(), inner.data(),
            [&](std::int64_t n, std::int64_t) { fn(ptrs, inner, n); });
}

// The same for a DynLoop; ptrs and inner (one entry per operand) are the
// caller's, so a kernel's inner loop allocates nothing.
template <typename Fn>
void dyn_runs(const DynLoop& loop, std::int64_t begin, std::int64_t end, std::vector<std::byte*>& ptrs,
              std::vector<std::int64_t>& inner, Fn&& fn) {
  walk_runs(loop.shape, loop.strides.data(), loop.base.data(), loop.base.size(), begin, end, ptrs.data(), inner.data(),
            [&](std::int64_t n, std::int64_t) { fn(ptrs, inner, n); });
}

// Runs body(begin, end) over [0, numel) on the executor when large enough.
void parallel_range(std::int64_t numel, std::int64_t min_chunk,
                    const std::function<void(std::int64_t, std::int64_t)>& body);

// n elements of dtype `dt` at p (byte stride `stride`) as C. Returns p itself
// when no conversion or gathering is needed, else fills buf.
template <typename C>
const C* load(const std::byte* p, DType dt, std::int64_t stride, std::int64_t n, C* buf) {
  if (dt == dtype_of<C>() && stride == static_cast<std::int64_t>(sizeof(C))) return reinterpret_cast<const C*>(p);
  visit_dtype(dt, [&](auto tag) {
    using S = typename decltype(tag)::type;
    if (stride == 0) {
      S v;
      std::memcpy(&v, p, sizeof(S));
      C c = convert<C>(v);
      for (std::int64_t i = 0; i < n; ++i) buf[i] = c;
    } else if (stride == static_cast<std::int64_t>(sizeof(S))) {
      const S* s = reinterpret_cast<const S*>(p);
      for (std::int64_t i = 0; i < n; ++i) buf[i] = convert<C>(s[i]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) {
        S v;
        std::memcpy(&v, p + i * stride, sizeof(S));
        buf[i] = convert<C>(v);
      }
    }
  });
  return buf;
}

// Where a kernel should write n results of type C bound for p: p itself when
// it has that type and is contiguous, else buf (then call store()).
template <typename C>
C* output_slot(std::byte* p, DType dt, std::int64_t stride, C* buf) {
  if (dt == dtype_of<C>() && stride == static_cast<std::int64_t>(sizeof(C))) return reinterpret_cast<C*>(p);
  return buf;
}

template <typename C>
void store(std::byte* p, DType dt, std::int64_t stride, std::int64_t n, const C* values) {
  if (reinterpret_cast<const std::byte*>(values) == p) return;  // written in place
  if (dt == dtype_of<C>() && stride == static_cast<std::int64_t>(sizeof(C))) {
    std::memcpy(p, values, static_cast<std::size_t>(n) * sizeof(C));
    return;
  }
  visit_dtype(dt, [&](auto tag) {
    using S = typename decltype(tag)::type;
    if (stride == static_cast<std::int64_t>(sizeof(S))) {
      S* d = reinterpret_cast<S*>(p);
      for (std::int64_t i = 0; i < n; ++i) d[i] = convert<S>(values[i]);
    } else {
      for (std::int64_t i = 0; i < n; ++i) {
        S v = convert<S>(values[i]);
        std::memcpy(p + i * stride, &v, sizeof(S));
      }
    }
  });
}

// Calls f(std::type_identity<C>{}) for the compute type C of dtype t (float,
// double, int32_t or int64_t).
template <typename F>
decltype(auto) visit_compute(DType t, F&& f) {
  switch (compute_type(t)) {
    case DType::F64: return f(std::type_identity<double>{});
    case DType::I32: return f(std::type_identity<std::int32_t>{});
    case DType::I64: return f(std::type_identity<std::int64_t>{});
    default: break;
  }
  return f(std::type_identity<float>{});
}

}  // namespace miso::tmath::detail
