// Internal: the instruction-set-independent driver of vmath::map, included by
// vector_math_avx2.cpp and vector_math_avx512.cpp, each with its own Isa:
//   using V;  kLanes;  static V load(const float*);  static void store(float*, V);
//   static void stream(float*, V) (non-temporal where aligned);
//   static V broadcast(float);  template <Step::Op op> static V op(V a, V b);
//   static V exp(V), log(V), tanh(V), erf(V), sigmoid(V), gelu(V).
// Eight vectors at a time: each step's operation is chosen once per eight
// vectors (a switch per vector per step costs more than the arithmetic), and
// the eight stay in registers from the load to the store.
#pragma once

#include <cstdint>
#include <cstring>

#include <immintrin.h>

#include "miso/tmath/vector_math.hpp"

namespace miso::tmath::vmath::detail {

template <typename Isa>
struct MapKernel {
  using V = typename Isa::V;
  static constexpr int kGroup = 8;
  static constexpr std::int64_t kBlock = std::int64_t{Isa::kLanes} * kGroup;

  template <Step::Op op>
  static void each(V* v, const Step& s) noexcept {
    const V c = Isa::broadcast(s.c);
    for (int j = 0; j < kGroup; ++j) {
      v[j] = s.constant_first ? Isa::template op<op>(c, v[j]) : Isa::template op<op>(v[j], c);
    }
  }

  static void steps_on(const Step* steps, int count, V* v) noexcept {
    for (int k = 0; k < count; ++k) {
      switch (steps[k].op) {
        case Step::Op::Add: each<Step::Op::Add>(v, steps[k]); break;
        case Step::Op::Sub: each<Step::Op::Sub>(v, steps[k]); break;
        case Step::Op::Mul: each<Step::Op::Mul>(v, steps[k]); break;
        case Step::Op::Div: each<Step::Op::Div>(v, steps[k]); break;
        case Step::Op::Max: each<Step::Op::Max>(v, steps[k]); break;
        case Step::Op::Min: each<Step::Op::Min>(v, steps[k]); break;
      }
    }
  }

  template <bool Streaming, typename F>
  static void pass(F f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y,
                   std::int64_t n) noexcept {
    auto group = [&](const float* in, float* out) {
      V v[kGroup];
      for (int j = 0; j < kGroup; ++j) v[j] = Isa::load(in + j * Isa::kLanes);
      steps_on(pre, npre, v);
      for (int j = 0; j < kGroup; ++j) v[j] = f(v[j]);
      steps_on(post, npost, v);
      for (int j = 0; j < kGroup; ++j) {
        if constexpr (Streaming) {
          Isa::stream(out + j * Isa::kLanes, v[j]);
        } else {
          Isa::store(out + j * Isa::kLanes, v[j]);
        }
      }
    };
    std::int64_t i = 0;
    for (; i + kBlock <= n; i += kBlock) group(x + i, y + i);
    if (i < n) {  // the tail through a padded buffer
      alignas(64) float tail[kBlock] = {};
      const auto rest = static_cast<std::size_t>(n - i);
      std::memcpy(tail, x + i, rest * sizeof(float));
      group(tail, tail);
      std::memcpy(y + i, tail, rest * sizeof(float));
    }
    if constexpr (Streaming) _mm_sfence();  // the streamed stores are visible before the caller goes on
  }

  template <typename F>
  static void run(F f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y, std::int64_t n,
                  Store store) noexcept {
    if (store == Store::Streaming) {
      pass<true>(f, pre, npre, post, npost, x, y, n);
    } else {
      pass<false>(f, pre, npre, post, npost, x, y, n);
    }
  }

  // Each function goes in as a lambda, not a function pointer, so that it is
  // inlined into the pass (a call per vector costs a third of GELU's time).
  static void map(Fn f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y,
                  std::int64_t n, Store store) noexcept {
    switch (f) {
      case Fn::Identity: return run([](V v) { return v; }, pre, npre, post, npost, x, y, n, store);
      case Fn::Exp: return run([](V v) { return Isa::exp(v); }, pre, npre, post, npost, x, y, n, store);
      case Fn::Log: return run([](V v) { return Isa::log(v); }, pre, npre, post, npost, x, y, n, store);
      case Fn::Tanh: return run([](V v) { return Isa::tanh(v); }, pre, npre, post, npost, x, y, n, store);
      case Fn::Erf: return run([](V v) { return Isa::erf(v); }, pre, npre, post, npost, x, y, n, store);
      case Fn::Sigmoid: return run([](V v) { return Isa::sigmoid(v); }, pre, npre, post, npost, x, y, n, store);
      case Fn::Gelu: return run([](V v) { return Isa::gelu(v); }, pre, npre, post, npost, x, y, n, store);
    }
  }
};

}  // namespace miso::tmath::vmath::detail
