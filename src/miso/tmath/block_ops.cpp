#include "miso/tmath/block_ops.hpp"

namespace miso::tmath::detail {

__attribute__((target_clones("avx512f", "avx2", "default"))) void binary_block_f32(BinaryOp op, const float* a,
                                                                                   const float* b, float* o,
                                                                                   std::int64_t n) {
  binary_block<float>(op, a, b, o, n);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void binary_scalar_rhs_f32(BinaryOp op, const float* a,
                                                                                        float b, float* o,
                                                                                        std::int64_t n) {
  binary_apply<float>(op, a, Splat<float>{b}, o, n);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void binary_scalar_lhs_f32(BinaryOp op, float a,
                                                                                        const float* b, float* o,
                                                                                        std::int64_t n) {
  binary_apply<float>(op, Splat<float>{a}, b, o, n);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void unary_block_f32(UnaryOp op, const float* a, float* o,
                                                                                  std::int64_t n) {
  unary_block<float>(op, a, o, n);
}

}  // namespace miso::tmath::detail
