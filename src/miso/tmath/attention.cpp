// Scaled dot-product attention as one blocked pass (the FlashAttention scheme on
// the CPU): for a block of queries, key blocks are visited in turn with a
// running row maximum and normaliser, so the [L, S] score matrix never exists in
// memory; the work splits over (batch, query block) on NEXUS-OS. f32 inside;
// f16/bf16 are converted in and out, f64 is computed in f64.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "miso/nexus/parallel.hpp"
#include "miso/profiler/span.hpp"
#include "miso/tmath/kernels.hpp"
#include "miso/tmath/ops.hpp"
#include "miso/tmath/vector_math.hpp"

namespace miso::tmath {

namespace {

using detail::fail;

constexpr std::int64_t kQueryBlock = 32;
constexpr std::int64_t kKeyBlock = 128;

template <typename T>
T dot(const T* a, const T* b, std::int64_t n) {
  // Lane-wise partial sums: the compiler vectorises this without reassociating.
  constexpr int kLanes = 16;
  T acc[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
  }
  T s = 0;
  for (; i < n; ++i) s += a[i] * b[i];
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

struct Problem {
  std::int64_t L, S, D, E;
  bool causal;
};

// One work item: query block `qb` of batch entry `b`. q [B, L, D], k [B, S, D],
// v [B, S, E], out [B, L, E]; all contiguous T. scratch holds kQueryBlock *
// (kKeyBlock + E + 2) values.
template <typename T>
void attend_block(const T* q, const T* k, const T* v, T* out, const Problem& pr, T scale, std::int64_t b,
                  std::int64_t qb, T* scratch) {
  const std::int64_t L = pr.L, S = pr.S, D = pr.D, E = pr.E;
  T* scores = scratch;
  T* acc = scores + kQueryBlock * kKeyBlock;
  T* row_max = acc + kQueryBlock * E;
  T* row_sum = row_max + kQueryBlock;
  const std::int64_t i0 = qb * kQueryBlock;
  const std::int64_t i1 = std::min(L, i0 + kQueryBlock);
  const std::int64_t rows = i1 - i0;
  std::fill(row_max, row_max + kQueryBlock, -std::numeric_limits<T>::infinity());
  std::fill(row_sum, row_sum + kQueryBlock, T(0));
  std::fill(acc, acc + kQueryBlock * E, T(0));
  const T* qp = q + (b * L + i0) * D;
  const T* kp = k + b * S * D;
  const T* vp = v + b * S * E;
  const std::int64_t key_end = pr.causal ? std::min(S, i1) : S;  // key j <= query i
  for (std::int64_t j0 = 0; j0 < key_end; j0 += kKeyBlock) {
    const std::int64_t j1 = std::min(key_end, j0 + kKeyBlock);
    for (std::int64_t r = 0; r < rows; ++r) {
      T* s = scores + r * kKeyBlock;
      const std::int64_t last = pr.causal ? std::min(j1, i0 + r + 1) : j1;
      if (last <= j0) continue;  // every key of this block is masked for this row
      T m = row_max[r];
      for (std::int64_t j = j0; j < last; ++j) {
        s[j - j0] = scale * dot(qp + r * D, kp + j * D, D);
        m = std::max(m, s[j - j0]);
      }
      const std::int64_t count = last - j0;
      for (std::int64_t j = 0; j < count; ++j) s[j] -= m;
      if constexpr (std::is_same_v<T, float>) {
        vmath::exp(s, s, count);
      } else {
        for (std::int64_t j = 0; j < count; ++j) s[j] = std::exp(s[j]);
      }
      const T old = row_max[r];
      const T correction = old == -std::numeric_limits<T>::infinity() ? T(0) : std::exp(old - m);
      T* a = acc + r * E;
      for (std::int64_t e = 0; e < E; ++e) a[e] *= correction;
      T sum = row_sum[r] * correction;
      for (std::int64_t j = j0; j < last; ++j) {
        const T p = s[j - j0];
        sum += p;
        const T* vj = vp + j * E;
        for (std::int64_t e = 0; e < E; ++e) a[e] += p * vj[e];
      }
      row_max[r] = m;
      row_sum[r] = sum;
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    T* o = out + (b * L + i0 + r) * E;
    const T* a = acc + r * E;
    const T z = row_sum[r];
    // A query with no visible key (S = 0) gets NaN, as in PyTorch.
    for (std::int64_t e = 0; e < E; ++e) o[e] = z > 0 ? a[e] / z : std::numeric_limits<T>::quiet_NaN();
  }
}

// The f32 block compiled for AVX-512, AVX2 and baseline x86-64, chosen at load.
__attribute__((target_clones("avx512f", "avx2", "default"))) void attend_block_f32(const float* q, const float* k,
                                                                                   const float* v, float* out,
                                                                                   const Problem& pr, float scale,
                                                                                   std::int64_t b, std::int64_t qb,
                                                                                   float* scratch) {
  attend_block<float>(q, k, v, out, pr, scale, b, qb, scratch);
}

template <typename T>
void attention_kernel(const T* q, const T* k, const T* v, T* out, std::int64_t batches, const Problem& pr, T scale) {
  const std::int64_t qblocks = (pr.L + kQueryBlock - 1) / kQueryBlock;
  nexus::parallel_for(
      0, static_cast<std::size_t>(batches * qblocks),
      [&](std::size_t w0, std::size_t w1) {
        std::vector<T> scratch(static_cast<std::size_t>(kQueryBlock * (kKeyBlock + pr.E + 2)));
        for (std::size_t w = w0; w < w1; ++w) {
          const auto b = static_cast<std::int64_t>(w) / qblocks, qb = static_cast<std::int64_t>(w) % qblocks;
          if constexpr (std::is_same_v<T, float>) {
            attend_block_f32(q, k, v, out, pr, scale, b, qb, scratch.data());
          } else {
            attend_block<T>(q, k, v, out, pr, scale, b, qb, scratch.data());
          }
        }
      },
      1);
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale) {
  MISO_PROFILE_SCOPE("tmath.attention");
  for (const Tensor* t : {&q, &k, &v}) {
    if (!t->defined()) fail("attention: an operand is an undefined tensor");
    if (t->dim() < 2) fail("attention: q, k and v need at least 2 dimensions, got shape " + to_string(t->shape()));
  }
  const std::int64_t L = q.size(-2), D = q.size(-1), S = k.size(-2), E = v.size(-1);
  if (k.size(-1) != D) {
    fail("attention: q " + to_string(q.shape()) + " and k " + to_string(k.shape()) + " differ in the last dimension");
  }
  if (v.size(-2) != S) {
    fail("attention: k " + to_string(k.shape()) + " and v " + to_string(v.shape()) + " differ in sequence length");
  }
  auto batch_of = [](const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); };
  Shape batch = broadcast_shapes(broadcast_shapes(batch_of(q), batch_of(k), "attention"), batch_of(v), "attention");
  const std::int64_t B = numel_of(batch);
  auto with = [&](Shape s, std::int64_t a, std::int64_t b) {
    s.push_back(a);
    s.push_back(b);
    return s;
  };
  const DType out_dtype = promote(promote(q.dtype(), k.dtype()), v.dtype());
  if (!is_floating(out_dtype))
    fail("attention: q, k and v must be floating point, got " + std::string(name(out_dtype)));
  const DType work = out_dtype == DType::F64 ? DType::F64 : DType::F32;
  Tensor qc = q.expand(with(batch, L, D)).to(work).contiguous();
  Tensor kc = k.expand(with(batch, S, D)).to(work).contiguous();
  Tensor vc = v.expand(with(batch, S, E)).to(work).contiguous();
  Tensor out = Tensor::empty(with(batch, L, E), work);
  const double s = scale != 0.0 ? scale : 1.0 / std::sqrt(static_cast<double>(D));
  if (work == DType::F64) {
    attention_kernel<double>(qc.data<double>(), kc.data<double>(), vc.data<double>(), out.data<double>(), B,
                             Problem{L, S, D, E, causal}, s);
  } else {
    attention_kernel<float>(qc.data<float>(), kc.data<float>(), vc.data<float>(), out.data<float>(), B,
                            Problem{L, S, D, E, causal}, static_cast<float>(s));
  }
  return out.to(out_dtype);
}

}  // namespace miso::tmath
