#include "miso/tmath/workload.hpp"

#include <cmath>

#include "miso/core/hash.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/profiler/span.hpp"
#include "miso/tmath/lazy.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {

namespace {
constexpr const char* kName = "tmath.transformer_block";
constexpr const char* kKind = "float32";
}  // namespace

BlockShape block_shape_for(profiler::DataSize size) noexcept {
  // About 24 activation-sized tensors live during a pass, plus 12 * model^2 weights.
  BlockShape s;
  switch (size) {
    case profiler::DataSize::Small: s = {1, 64, 64, 4}; break;
    case profiler::DataSize::Medium: s = {32, 256, 256, 4}; break;
    default: s = {160, 256, 512, 8}; break;
  }
  return s;
}

BlockWeights make_block_weights(const BlockShape& s, std::uint64_t seed, DType dtype) {
  Generator g(seed ^ 0x5EEDull);
  const double scale = 1.0 / std::sqrt(static_cast<double>(s.model));
  BlockWeights w;
  w.ln_w = rand_uniform({s.model}, g, 0.5, 1.5, dtype);
  w.ln_b = rand_uniform({s.model}, g, -0.1, 0.1, dtype);
  w.w_qkv = rand_normal({s.model, 3 * s.model}, g, 0, scale, dtype);
  w.w_out = rand_normal({s.model, s.model}, g, 0, scale, dtype);
  w.rms_w = rand_uniform({s.model}, g, 0.5, 1.5, dtype);
  w.w_up = rand_normal({s.model, 4 * s.model}, g, 0, scale, dtype);
  w.w_down = rand_normal({4 * s.model, s.model}, g, 0, 0.5 * scale, dtype);
  return w;
}

Tensor transformer_block(const Tensor& x, const BlockWeights& w, const BlockShape& s) {
  MISO_PROFILE_SCOPE("tmath.transformer_block");
  const std::int64_t head = s.model / s.heads;
  Tensor h = layer_norm(x, w.ln_w, w.ln_b);
  Tensor qkv = matmul(h, w.w_qkv);  // [B, T, 3M]
  auto split_heads = [&](std::int64_t part) {
    return qkv.slice(-1, part * s.model, (part + 1) * s.model).reshape({s.batch, s.seq, s.heads, head}).transpose(1, 2);
  };
  Tensor att = scaled_dot_product_attention(split_heads(0), split_heads(1), split_heads(2), true);  // [B, H, T, hd]
  Tensor merged = att.transpose(1, 2).reshape({s.batch, s.seq, s.model});
  Tensor x1 = x + matmul(merged, w.w_out);
  Tensor up = gelu(matmul(rms_norm(x1, w.rms_w), w.w_up));
  return x1 + matmul(up, w.w_down);
}

void TransformerBlockWorkload::prepare(const profiler::WorkloadContext& ctx) {
  MISO_PROFILE_SCOPE("tmath.transformer_block.prepare");
  shape_ = block_shape_for(ctx.size);
  const auto n = static_cast<std::size_t>(shape_.batch * shape_.seq * shape_.model);
  if (ctx.data_dir.empty()) {
    seed_ = ctx.seed;
    Generator g(seed_);
    input_ = rand_normal({static_cast<std::int64_t>(n)}, g).to_vector<float>();
  } else {
    input_ = profiler::read_data_array<float>(profiler::input_file(ctx.data_dir, kName, ctx.size), kKind, seed_);
    if (input_.size() != n) {
      throw Error(Error::Kind::Format, std::string(kName) + ": the input holds " + std::to_string(input_.size()) +
                                           " values, the " + std::string(profiler::to_string(ctx.size)) +
                                           " block needs " + std::to_string(n));
    }
  }
}

void TransformerBlockWorkload::run(const profiler::WorkloadContext&) {
  Tensor x = from_vector(input_, {shape_.batch, shape_.seq, shape_.model});
  BlockWeights w = make_block_weights(shape_, seed_, DType::F32);
  result_ = transformer_block(x, w, shape_);
  // A fused chain over the result: the mean over rows of sum(gelu(0.5 y + 0.1) * y).
  Lazy y(result_);
  row_stat_ = mean(sum(gelu(y * 0.5 + 0.1) * y, {-1})).eval().item();
}

profiler::CheckResult TransformerBlockWorkload::check() const {
  if (!result_.defined()) return {false, "the block did not run"};
  std::vector<double> in(input_.begin(), input_.end());
  Tensor x = from_vector(in, {shape_.batch, shape_.seq, shape_.model});
  BlockWeights w = make_block_weights(shape_, seed_, DType::F64);
  Tensor ref = transformer_block(x, w, shape_);
  std::vector<float> got = result_.to_vector<float>();
  std::vector<double> want = ref.to_vector<double>();
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  // f32 with f32 accumulation over the model width: a few 1e-5 of the scale.
  const double tolerance = 1e-4 * std::max(1.0, scale);
  if (!(worst <= tolerance)) {
    return {false, "f32 block differs from the f64 reference by " + std::to_string(worst) + " (tolerance " +
                       std::to_string(tolerance) + ")"};
  }
  Tensor y64 = ref;
  double stat_ref = mean(sum(gelu(y64 * 0.5 + 0.1) * y64, {-1})).item();
  if (!(std::abs(stat_ref - row_stat_) <= 1e-3 * std::max(1.0, std::abs(stat_ref)))) {
    return {false, "fused chain gave " + std::to_string(row_stat_) + ", the f64 reference " + std::to_string(stat_ref)};
  }
  return {true, std::to_string(shape_.batch) + "x" + std::to_string(shape_.seq) + "x" + std::to_string(shape_.model) +
                    " block within " + std::to_string(worst) + " of the f64 reference; fused chain agrees"};
}

std::vector<std::filesystem::path> TransformerBlockWorkload::save_input(const profiler::WorkloadContext& ctx,
                                                                        const std::filesystem::path& dir) const {
  auto path = profiler::input_file(dir, kName, ctx.size);
  profiler::write_data_file(path, kKind, seed_, std::as_bytes(std::span(input_)));
  return {path};
}

void register_workloads(profiler::WorkloadRegistry& registry) {
  registry.add({kName, "tmath",
                "transformer block forward pass (layer norm, attention, GELU MLP) plus fused chains, checked in f64",
                [] { return std::make_unique<TransformerBlockWorkload>(); }});
}

}  // namespace miso::tmath
