#include "eigen_peers.hpp"

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

namespace miso::bench {

void eigen_gelu_chain(const float* x, float* y, std::int64_t n, float a, float b, float c) {
  Eigen::Map<const Eigen::ArrayXf> in(x, n);
  Eigen::Map<Eigen::ArrayXf> out(y, n);
  const float inv_sqrt2 = 0.70710678118654752f;
  auto z = in * a + b;
  out = (0.5f * z * (1.0f + (z * inv_sqrt2).erf())) * c;
}

void eigen_affine_chain(const float* x, float* y, std::int64_t n, float a, float b, float c) {
  Eigen::Map<const Eigen::ArrayXf> in(x, n);
  Eigen::Map<Eigen::ArrayXf> out(y, n);
  out = (in * a + b).max(0.0f) * c;
}

float eigen_sum(const float* x, std::int64_t n) { return Eigen::Map<const Eigen::ArrayXf>(x, n).sum(); }

const char* eigen_simd() { return Eigen::SimdInstructionSetsInUse(); }

}  // namespace miso::bench
