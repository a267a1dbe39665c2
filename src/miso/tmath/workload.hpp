// T-Mathematics' workload for `miso profile`: "tmath.transformer_block", the
// forward pass of a small pre-norm transformer block (layer norm, QKV
// projection, causal multi-head attention, output projection, residual, RMS
// norm, GELU MLP, residual) over a batch of sequences, followed by lazy fused
// elementwise and reduction chains over the result. Sizes: the activations and
// weights total about 1 MB / 100 MB / 1 GB. The f32 result is checked against
// the same pass computed in f64.
#pragma once

#include <cstdint>
#include <vector>

#include "miso/profiler/workload.hpp"
#include "miso/tmath/tensor.hpp"

namespace miso::tmath {

struct BlockShape {
  std::int64_t batch = 1, seq = 1, model = 1, heads = 1;
};
BlockShape block_shape_for(profiler::DataSize size) noexcept;

// The block's weights, generated from a seed.
struct BlockWeights {
  Tensor ln_w, ln_b, w_qkv, w_out, rms_w, w_up, w_down;
};
BlockWeights make_block_weights(const BlockShape& s, std::uint64_t seed, DType dtype);
// x [batch, seq, model] -> [batch, seq, model].
Tensor transformer_block(const Tensor& x, const BlockWeights& w, const BlockShape& s);

class TransformerBlockWorkload final : public profiler::Workload {
 public:
  void prepare(const profiler::WorkloadContext& ctx) override;
  std::uint64_t input_bytes() const override { return input_.size() * sizeof(float); }
  void run(const profiler::WorkloadContext& ctx) override;
  profiler::CheckResult check() const override;
  std::vector<std::filesystem::path> save_input(const profiler::WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override;

 private:
  BlockShape shape_;
  std::uint64_t seed_ = 0;
  std::vector<float> input_;
  Tensor result_;
  double row_stat_ = 0;  // the fused chain's result
};

void register_workloads(profiler::WorkloadRegistry& registry);

}  // namespace miso::tmath
