// Scaled dot-product attention as one blocked pass (the FlashAttention scheme on
// the CPU): for a block of queries, key blocks are visited in turn with a
// running row maximum and normaliser, so the [L, S] score matrix never exists in
// memory; the work splits over (batch, query block) on NEXUS-OS. f32 inside;
// f16/bf16 are converted in and out, f64 is computed in f64.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "miso/nexus/parallel.hpp"
#include "miso/profiler/span.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

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

// q [B, L, D], k [B, S, D], v [B, S, E], out [B, L, E]; all contiguous T.
template <typename T>
void attention_kernel(const T* q, const T* k, const T* v, T* out, std::int64_t batches, std::int64_t L, std::int64_t S,
                      std::int64_t D, std::int64_t E, bool causal, T scale) {
  const std::int64_t qblocks = (L + kQueryBlock - 1) / kQueryBlock;
  nexus::parallel_for(
      0, static_cast<std::size_t>(batches * qblocks),
      [&](std::size_t w0, std::size_t w1) {
        std::vector<T> scores(static_cast<std::size_t>(kQueryBlock * kKeyBlock));
        std::vector<T> row_max(kQueryBlock), row_sum(kQueryBlock);
        std::vector<T> acc(static_cast<std::size_t>(kQueryBlock * E));
        for (std::size_t w = w0; w < w1; ++w) {
          const std::int64_t b = static_cast<std::int64_t>(w) / qblocks;
          const std::int64_t i0 = (static_cast<std::int64_t>(w) % qblocks) * kQueryBlock;
          const std::int64_t i1 = std::min(L, i0 + kQueryBlock);
          const std::int64_t rows = i1 - i0;
          std::fill(row_max.begin(), row_max.end(), -std::numeric_limits<T>::infinity());
          std::fill(row_sum.begin(), row_sum.end(), T(0));
          std::fill(acc.begin(), acc.end(), T(0));
          const T* qb = q + (b * L + i0) * D;
          const T* kb = k + b * S * D;
          const T* vb = v + b * S * E;
          const std::int64_t key_end = causal ? std::min(S, i1) : S;  // key j <= query i
          for (std::int64_t j0 = 0; j0 < key_end; j0 += kKeyBlock) {
            const std::int64_t j1 = std::min(key_end, j0 + kKeyBlock);
            for (std::int64_t r = 0; r < rows; ++r) {
              T* s = scores.data() + r * kKeyBlock;
              const std::int64_t last = causal ? std::min(j1, i0 + r + 1) : j1;
              T m = row_max[static_cast<std::size_t>(r)];
              for (std::int64_t j = j0; j < last; ++j) {
                s[j - j0] = scale * dot(qb + r * D, kb + j * D, D);
                m = std::max(m, s[j - j0]);
              }
              if (last <= j0) continue;  // every key of this block is masked for this row
              const T old = row_max[static_cast<std::size_t>(r)];
              const T correction = old == -std::numeric_limits<T>::infinity() ? T(0) : std::exp(old - m);
              T* a = acc.data() + r * E;
              for (std::int64_t e = 0; e < E; ++e) a[e] *= correction;
              T sum = row_sum[static_cast<std::size_t>(r)] * correction;
              for (std::int64_t j = j0; j < last; ++j) {
                const T p = std::exp(s[j - j0] - m);
                sum += p;
                const T* vj = vb + j * E;
                for (std::int64_t e = 0; e < E; ++e) a[e] += p * vj[e];
              }
              row_max[static_cast<std::size_t>(r)] = m;
              row_sum[static_cast<std::size_t>(r)] = sum;
            }
          }
          for (std::int64_t r = 0; r < rows; ++r) {
            T* o = out + (b * L + i0 + r) * E;
            const T* a = acc.data() + r * E;
            const T z = row_sum[static_cast<std::size_t>(r)];
            // A query with no visible key (causal with L > S) gets NaN, as in PyTorch.
            for (std::int64_t e = 0; e < E; ++e) o[e] = z > 0 ? a[e] / z : std::numeric_limits<T>::quiet_NaN();
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
  if (!is_floating(out_dtype)) fail("attention: q, k and v must be floating point, got " + std::string(name(out_dtype)));
  const DType work = out_dtype == DType::F64 ? DType::F64 : DType::F32;
  Tensor qc = q.expand(with(batch, L, D)).to(work).contiguous();
  Tensor kc = k.expand(with(batch, S, D)).to(work).contiguous();
  Tensor vc = v.expand(with(batch, S, E)).to(work).contiguous();
  Tensor out = Tensor::empty(with(batch, L, E), work);
  const double s = scale != 0.0 ? scale : 1.0 / std::sqrt(static_cast<double>(D));
  if (work == DType::F64) {
    attention_kernel<double>(qc.data<double>(), kc.data<double>(), vc.data<double>(), out.data<double>(), B, L, S, D, E,
                             causal, s);
  } else {
    attention_kernel<float>(qc.data<float>(), kc.data<float>(), vc.data<float>(), out.data<float>(), B, L, S, D, E,
                            causal, static_cast<float>(s));
  }
  return out.to(out_dtype);
}

}  // namespace miso::tmath
