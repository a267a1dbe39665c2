// Internal: the instruction-set-independent driver of vmath::map, included by
// vector_math_avx2.cpp and vector_math_avx512.cpp, each with its own Isa:
//   using V;  kLanes;  static V load(const float*);  static void store(float*, V);
//   static V broadcast(float);  template <Step::Op op> static V op(V a, V b);
//   static V exp(V), log(V), tanh(V), erf(V), sigmoid(V), gelu(V).
// Eight vectors at a time: each step's operation is chosen once per eight
// vectors (a switch per vector per step costs more than the arithmetic), and
// the eight stay in registers from the load to the store.
#pragma once

#include <cstdint>
#include <cstring>

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

  template <typename F>
  static void run(F f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y,
                  std::int64_t n) noexcept {
    auto group = [&](const float* in, float* out) {
      V v[kGroup];
      for (int j = 0; j < kGroup; ++j) v[j] = Isa::load(in + j * Isa::kLanes);
      steps_on(pre, npre, v);
      for (int j = 0; j < kGroup; ++j) v[j] = f(v[j]);
      steps_on(post, npost, v);
      for (int j = 0; j < kGroup; ++j) Isa::store(out + j * Isa::kLanes, v[j]);
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
  }

  static void map(Fn f, const Step* pre, int npre, const Step* post, int npost, const float* x, float* y,
                  std::int64_t n) noexcept {
    switch (f) {
      case Fn::Identity: return run([](V v) { return v; }, pre, npre, post, npost, x, y, n);
      case Fn::Exp: return run(Isa::exp, pre, npre, post, npost, x, y, n);
      case Fn::Log: return run(Isa::log, pre, npre, post, npost, x, y, n);
      case Fn::Tanh: return run(Isa::tanh, pre, npre, post, npost, x, y, n);
      case Fn::Erf: return run(Isa::erf, pre, npre, post, npost, x, y, n);
      case Fn::Sigmoid: return run(Isa::sigmoid, pre, npre, post, npost, x, y, n);
      case Fn::Gelu: return run(Isa::gelu, pre, npre, post, npost, x, y, n);
    }
  }
};

}  // namespace miso::tmath::vmath::detail
