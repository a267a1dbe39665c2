// matmul (NumPy semantics, see linalg.hpp): shape checks and batch planning,
// then one of four back ends: OpenBLAS for f32/f64 (and, through f32, for f16
// and the portable bf16 path), an AVX512-BF16 GEMM of our own for bf16, and
// exact wrapping loops for integers.
//
// The bf16 kernel (Goto-style, without K blocking): A is packed into panels of
// kMR rows and B into panels of kNR columns, both in the "VNNI" pair layout
// vdpbf16ps reads: one 32-bit word holds the bf16 values of two consecutive k
// (the even k in the low half). A micro-kernel keeps a kMR x kNR tile of f32
// accumulators in registers for the whole of K, so the sum is rounded to bf16
// once, at the store. Tiles are grouped into blocks of kBlockRowPanels x
// kBlockColPanels panels and the blocks run on NEXUS-OS; inside a block the B
// panel in use and the block's A panels stay in L2.
#include "miso/tmath/linalg.hpp"

#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "miso/nexus/parallel.hpp"
#include "miso/profiler/span.hpp"
#include "miso/tmath/kernels.hpp"
#include "miso/tmath/memory_pool.hpp"
#include "miso/tmath/ops.hpp"

// OpenBLAS's runtime kernel selection (DYNAMIC_ARCH builds only: weak, so a
// build without it links and the adjustment is skipped).
extern "C" {
char* openblas_get_corename(void) __attribute__((weak));
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));
}

namespace miso::tmath {

namespace {

using detail::fail;

// See linalg.hpp: re-selects OpenBLAS's kernels when it fell back to a generic
// core on a CPU with AVX-512 or AVX2. Runs once, before the first GEMM.
void adjust_blas_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (openblas_get_corename == nullptr || gotoblas_dynamic_init == nullptr || gotoblas_dynamic_quit == nullptr)
      return;
    if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice
    const std::string core = openblas_get_corename();
    static const char* const generic[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Unknown"};
    if (std::find(std::begin(generic), std::end(generic), core) == std::end(generic)) return;
    __builtin_cpu_init();
    const char* wanted = nullptr;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq")) {
      wanted = "SkylakeX";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      wanted = "Haswell";
    }
    if (wanted == nullptr) return;
    ::setenv("OPENBLAS_CORETYPE", wanted, 0);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    ::unsetenv("OPENBLAS_CORETYPE");
  });
}

std::atomic<Bf16Kernel> g_bf16_kernel{Bf16Kernel::Auto};

// Below this many multiply-adds a product runs on the calling thread; at most
// this many per matrix, a batch is spread over threads one matrix at a time
// (OpenBLAS itself stays single-threaded up to 65536 * 4 multiply-adds).
constexpr std::int64_t kMinParallelWork = std::int64_t{1} << 16;
constexpr std::int64_t kSmallMatrixWork = std::int64_t{1} << 18;

// --- batch planning --------------------------------------------------------------

// The matrix products of one matmul: `count` products of M x K by K x N, the
// i-th reading A at a_off[i] and B at b_off[i] (elements from each operand's
// first element) with the given row and column strides, and writing the
// contiguous output from i * M * N.
struct Plan {
  std::int64_t count = 1;
  std::int64_t m = 0, k = 0, n = 0;
  std::vector<std::int64_t> a_off, b_off;
  std::int64_t a_rs = 0, a_cs = 0, b_rs = 0, b_cs = 0;
};

// a2 [..., M, K] and b2 [..., K, N] (1-D operands already promoted) with their
// batch dimensions broadcast to `batch`.
Plan make_plan(const Tensor& a2, const Tensor& b2, const Shape& batch) {
  Plan p;
  p.m = a2.size(-2);
  p.k = a2.size(-1);
  p.n = b2.size(-1);
  Shape as = batch, bs = batch;
  as.push_back(p.m);
  as.push_back(p.k);
  bs.push_back(p.k);
  bs.push_back(p.n);
  const Tensor ae = a2.expand(as), be = b2.expand(bs);
  const std::size_t nb = batch.size();
  p.a_rs = ae.strides()[nb];
  p.a_cs = ae.strides()[nb + 1];
  p.b_rs = be.strides()[nb];
  p.b_cs = be.strides()[nb + 1];
  p.count = numel_of(batch);
  p.a_off.resize(static_cast<std::size_t>(p.count));
  p.b_off.resize(static_cast<std::size_t>(p.count));
  std::vector<std::int64_t> idx(nb, 0);
  std::int64_t ao = 0, bo = 0;
  for (std::int64_t l = 0; l < p.count; ++l) {
    p.a_off[static_cast<std::size_t>(l)] = ao;
    p.b_off[static_cast<std::size_t>(l)] = bo;
    for (std::size_t d = nb; d-- > 0;) {  // odometer over the batch index
      ao += ae.strides()[d];
      bo += be.strides()[d];
      if (++idx[d] < batch[d]) break;
      ao -= ae.strides()[d] * batch[d];
      bo -= be.strides()[d] * batch[d];
      idx[d] = 0;
    }
  }
  return p;
}

// When every product reads the same B and the rows of all A matrices, batch
// after batch, are evenly spaced, the batch is one product of (count * M) x K
// by K x N. Returns the row stride of that folded A, or -1.
std::int64_t folded_row_stride(const Plan& p) {
  if (p.count <= 1) return -1;
  for (std::int64_t bo : p.b_off) {
    if (bo != p.b_off[0]) return -1;
  }
  std::int64_t s = p.a_rs;
  if (p.m == 1) s = p.a_off[1] - p.a_off[0];
  if (s < 0) return -1;
  for (std::size_t l = 0; l < p.a_off.size(); ++l) {
    if (p.a_off[l] != p.a_off[0] + static_cast<std::int64_t>(l) * p.m * s) return -1;
  }
  return s;
}

void fold(Plan& p, std::int64_t row_stride) {
  p.m *= p.count;
  p.a_rs = row_stride;
  p.count = 1;
  p.a_off.resize(1);
  p.b_off.resize(1);
}

// Runs body(lo, hi) over [0, count) items of `work_per_item` multiply-adds:
// on the calling thread when small, else on NEXUS-OS in chunks of about
// kSmallMatrixWork.
template <typename Body>
void for_items(std::int64_t count, std::int64_t work_per_item, const Body& body) {
  const std::int64_t per = std::max<std::int64_t>(1, work_per_item);
  if (count <= 1 || count * per <= kMinParallelWork) {
    if (count > 0) body(std::int64_t{0}, count);
    return;
  }
  const auto grain = static_cast<std::size_t>(std::max<std::int64_t>(1, kSmallMatrixWork / per));
  nexus::parallel_for(
      0, static_cast<std::size_t>(count),
      [&](std::size_t lo, std::size_t hi) { body(static_cast<std::int64_t>(lo), static_cast<std::int64_t>(hi)); },
      grain);
}

// --- OpenBLAS ------------------------------------------------------------------------

struct BlasLayout {
  bool ok = false;
  CBLAS_TRANSPOSE trans = CblasNoTrans;
  std::int64_t ld = 1;
};

// How a rows x cols matrix with strides (rs, cs) can be handed to a row-major
// GEMM as it is: rows contiguous (NoTrans, ld = rs) or columns contiguous
// (Trans, ld = cs). A stride of a dimension of size 1 does not matter.
BlasLayout blas_layout(std::int64_t rows, std::int64_t cols, std::int64_t rs, std::int64_t cs) {
  BlasLayout l;
  const std::int64_t r1 = rows == 1 ? std::max<std::int64_t>(cols, 1) : rs;
  const std::int64_t c1 = cols == 1 ? 1 : cs;
  if (c1 == 1 && r1 >= std::max<std::int64_t>(cols, 1) && r1 <= INT_MAX) {
    l.ok = true;
    l.trans = CblasNoTrans;
    l.ld = r1;
    return l;
  }
  const std::int64_t r2 = rows == 1 ? 1 : rs;
  const std::int64_t c2 = cols == 1 ? std::max<std::int64_t>(rows, 1) : cs;
  if (r2 == 1 && c2 >= std::max<std::int64_t>(rows, 1) && c2 <= INT_MAX) {
    l.ok = true;
    l.trans = CblasTrans;
    l.ld = c2;
  }
  return l;
}

template <typename T>
void gemm_blas(const Plan& p, const T* a, const T* b, T* c) {
  adjust_blas_kernels();
  const BlasLayout la = blas_layout(p.m, p.k, p.a_rs, p.a_cs);
  const BlasLayout lb = blas_layout(p.k, p.n, p.b_rs, p.b_cs);
  if (!la.ok || !lb.ok || p.m > INT_MAX || p.n > INT_MAX || p.k > INT_MAX) {
    fail("matmul: matrices of " + std::to_string(p.m) + " x " + std::to_string(p.k) + " by " + std::to_string(p.k) +
         " x " + std::to_string(p.n) + " are too large for BLAS");
  }
  const auto m = static_cast<blasint>(p.m), n = static_cast<blasint>(p.n), k = static_cast<blasint>(p.k);
  const auto lda = static_cast<blasint>(la.ld), ldb = static_cast<blasint>(lb.ld);
  auto one = [&](std::int64_t l) {
    const T* pa = a + p.a_off[static_cast<std::size_t>(l)];
    const T* pb = b + p.b_off[static_cast<std::size_t>(l)];
    T* pc = c + l * p.m * p.n;
    if constexpr (std::is_same_v<T, float>) {
      cblas_sgemm(CblasRowMajor, la.trans, lb.trans, m, n, k, 1.0f, pa, lda, pb, ldb, 0.0f, pc, n);
    } else {
      cblas_dgemm(CblasRowMajor, la.trans, lb.trans, m, n, k, 1.0, pa, lda, pb, ldb, 0.0, pc, n);
    }
  };
  const std::int64_t work = p.m * p.n * p.k;
  if (p.count > 1 && work <= kSmallMatrixWork) {
    for_items(p.count, work, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t l = lo; l < hi; ++l) one(l);
    });
  } else {
    for (std::int64_t l = 0; l < p.count; ++l) one(l);
  }
}

// f32/f64 operands of dtype T: copies a matrix layout BLAS cannot take, plans,
// folds and multiplies into `out` (contiguous, dtype T).
template <typename T>
void matmul_blas(Tensor a2, Tensor b2, const Shape& batch, const Tensor& out) {
  if (!blas_layout(a2.size(-2), a2.size(-1), a2.strides()[a2.strides().size() - 2], a2.strides().back()).ok) {
    a2 = a2.contiguous();
  }
  if (!blas_layout(b2.size(-2), b2.size(-1), b2.strides()[b2.strides().size() - 2], b2.strides().back()).ok) {
    b2 = b2.contiguous();
  }
  Plan p = make_plan(a2, b2, batch);
  const std::int64_t s = folded_row_stride(p);
  if (s >= 0 && p.count * p.m <= INT_MAX && blas_layout(p.count * p.m, p.k, s, p.a_cs).ok) fold(p, s);
  gemm_blas<T>(p, a2.data<T>(), b2.data<T>(), out.data<T>());
}

// --- integers ------------------------------------------------------------------------

// Exact products and sums in 64 bits, wrapping (unsigned arithmetic, so no
// signed overflow), stored wrapped to T. Rows of all batches run in parallel.
template <typename T>
void gemm_int(const Plan& p, const T* a, const T* b, T* c) {
  const std::int64_t rows = p.count * p.m;
  for_items(rows, p.n * p.k, [&](std::int64_t r0, std::int64_t r1) {
    std::vector<std::uint64_t> acc(static_cast<std::size_t>(p.n));
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t l = r / p.m, i = r % p.m;
      const T* pa = a + p.a_off[static_cast<std::size_t>(l)] + i * p.a_rs;
      const T* pb = b + p.b_off[static_cast<std::size_t>(l)];
      std::fill(acc.begin(), acc.end(), std::uint64_t{0});
      for (std::int64_t kk = 0; kk < p.k; ++kk) {
        const auto av = static_cast<std::uint64_t>(static_cast<std::int64_t>(pa[kk * p.a_cs]));
        if (av == 0) continue;
        const T* brow = pb + kk * p.b_rs;
        if (p.b_cs == 1) {
          for (std::int64_t j = 0; j < p.n; ++j) {
            acc[static_cast<std::size_t>(j)] += av * static_cast<std::uint64_t>(static_cast<std::int64_t>(brow[j]));
          }
        } else {
          for (std::int64_t j = 0; j < p.n; ++j) {
            acc[static_cast<std::size_t>(j)] +=
                av * static_cast<std::uint64_t>(static_cast<std::int64_t>(brow[j * p.b_cs]));
          }
        }
      }
      T* pc = c + r * p.n;
      for (std::int64_t j = 0; j < p.n; ++j) {
        pc[j] = static_cast<T>(static_cast<std::int64_t>(acc[static_cast<std::size_t>(j)]));
      }
    }
  });
}

// --- bf16 on AVX512-BF16 -----------------------------------------------------------------

constexpr int kMR = 14;                      // rows of a register tile
constexpr int kNV = 2;                       // 16-lane vectors across a register tile
constexpr int kNR = 16 * kNV;                // columns of a register tile
constexpr std::int64_t kBlockRowPanels = 4;  // A panels per block (56 rows)
constexpr std::int64_t kBlockColPanels = 8;  // B panels per block (256 columns)

// The micro-kernel: C[R x cols] = A panel x B panel over kp word pairs, where
// a holds kMR words per pair step (rows beyond R unused) and b kNR words.
template <int R>
__attribute__((target("avx512f,avx512bf16,avx512bw,avx512vl"))) void bf16_tile(const std::uint32_t* a,
                                                                               const std::uint32_t* b, std::int64_t kp,
                                                                               std::uint16_t* c, std::int64_t ldc,
                                                                               int cols) {
  __m512 acc[R][kNV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (std::int64_t q = 0; q < kp; ++q) {
    __m512bh bv[kNV];
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) bv[v] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(b + q * kNR + 16 * v));
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512bh av = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[q * kMR + r])));
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
    }
  }
  __mmask16 masks[kNV];
  for (int v = 0; v < kNV; ++v) {
    const int left = std::clamp(cols - 16 * v, 0, 16);
    masks[v] = static_cast<__mmask16>(left == 16 ? 0xFFFFu : (1u << left) - 1u);
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) {
      const __m256bh h = _mm512_cvtneps_pbh(acc[r][v]);
      _mm256_mask_storeu_epi16(c + r * ldc + 16 * v, masks[v], reinterpret_cast<__m256i>(h));
    }
  }
}

using TileFn = void (*)(const std::uint32_t*, const std::uint32_t*, std::int64_t, std::uint16_t*, std::int64_t, int);

template <std::size_t... I>
constexpr std::array<TileFn, sizeof...(I)> make_tiles(std::index_sequence<I...>) {
  return {&bf16_tile<static_cast<int>(I) + 1>...};
}
constexpr std::array<TileFn, kMR> kTiles = make_tiles(std::make_index_sequence<kMR>{});

std::uint32_t pair(std::uint16_t lo, std::uint16_t hi) {
  return static_cast<std::uint32_t>(lo) | (std::uint32_t{hi} << 16);
}

// A bf16 matrix as bits: element (i, j) at p[i * rs + j * cs].
struct Bits {
  const std::uint16_t* p;
  std::int64_t rs, cs;
};

std::uint32_t word_at(const std::uint16_t* p) {
  std::uint32_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Vectors `count` of a matrix whose k runs contiguously (A rows when cs == 1, B
// columns when rs == 1): vector v starts at src + v * step, and the pairs of
// its K values go to dst[q * width + v].
void pack_words(const std::uint16_t* src, std::int64_t step, int count, std::int64_t k, int width, std::uint32_t* dst) {
  const std::int64_t kp = (k + 1) / 2;
  for (int v = 0; v < count; ++v) {
    const std::uint16_t* p = src + v * step;
    for (std::int64_t q = 0; q < k / 2; ++q) dst[q * width + v] = word_at(p + 2 * q);
    if (k % 2 != 0) dst[(kp - 1) * width + v] = pair(p[k - 1], 0);
  }
}

// Rows [i0, i0 + rows) of A, all K, as word pairs: dst[q * kMR + r].
void pack_a(const Bits& a, std::int64_t i0, int rows, std::int64_t k, std::uint32_t* dst) {
  if (a.cs == 1) {
    pack_words(a.p + i0 * a.rs, a.rs, rows, k, kMR, dst);
    return;
  }
  const std::int64_t kp = (k + 1) / 2;
  for (int r = 0; r < rows; ++r) {
    const std::uint16_t* row = a.p + (i0 + r) * a.rs;
    for (std::int64_t q = 0; q < k / 2; ++q) {
      dst[q * kMR + r] = pair(row[2 * q * a.cs], row[(2 * q + 1) * a.cs]);
    }
    if (k % 2 != 0) dst[(kp - 1) * kMR + r] = pair(row[(k - 1) * a.cs], 0);
  }
}

// Two rows of kNR contiguous bf16 interleaved into kNR word pairs.
__attribute__((target("avx512f,avx512bw"))) void interleave_rows(const std::uint16_t* r0, const std::uint16_t* r1,
                                                                 std::uint32_t* dst) {
  static_assert(kNR == 32, "interleave_rows handles 32 columns");
  alignas(64) static constexpr std::array<std::uint16_t, 64> kIndex = [] {
    std::array<std::uint16_t, 64> idx{};
    for (std::uint16_t c = 0; c < 32; ++c) {
      idx[2 * c] = c;
      idx[2 * c + 1] = static_cast<std::uint16_t>(32 + c);
    }
    return idx;
  }();
  const __m512i x0 = _mm512_loadu_si512(r0);
  const __m512i x1 = r1 != nullptr ? _mm512_loadu_si512(r1) : _mm512_setzero_si512();
  const __m512i lo = _mm512_loadu_si512(kIndex.data());
  const __m512i hi = _mm512_loadu_si512(kIndex.data() + 32);
  _mm512_storeu_si512(dst, _mm512_permutex2var_epi16(x0, lo, x1));
  _mm512_storeu_si512(dst + 16, _mm512_permutex2var_epi16(x0, hi, x1));
}

// Columns [j0, j0 + cols) of B, all K, as word pairs: dst[q * kNR + c]; the
// columns past `cols` are zero.
void pack_b(const Bits& b, std::int64_t j0, int cols, std::int64_t k, std::uint32_t* dst) {
  const std::int64_t kp = (k + 1) / 2;
  if (b.rs == 1 && b.cs != 1) {  // columns contiguous: a transposed view
    pack_words(b.p + j0 * b.cs, b.cs, cols, k, kNR, dst);
    for (std::int64_t q = 0; q < kp; ++q) std::fill(dst + q * kNR + cols, dst + (q + 1) * kNR, 0u);
    return;
  }
  for (std::int64_t q = 0; q < kp; ++q) {
    const std::uint16_t* r0 = b.p + 2 * q * b.rs + j0 * b.cs;
    const bool has_odd = 2 * q + 1 < k;
    const std::uint16_t* r1 = r0 + b.rs;
    std::uint32_t* d = dst + q * kNR;
    if (b.cs == 1 && cols == kNR) {
      interleave_rows(r0, has_odd ? r1 : nullptr, d);
      continue;
    }
    for (int c = 0; c < cols; ++c) d[c] = pair(r0[c * b.cs], has_odd ? r1[c * b.cs] : std::uint16_t{0});
    for (int c = cols; c < kNR; ++c) d[c] = 0;
  }
}

// A block of the tensor memory pool, given back when dropped.
class PoolBuffer {
 public:
  PoolBuffer() = default;
  PoolBuffer(const PoolBuffer&) = delete;
  PoolBuffer& operator=(const PoolBuffer&) = delete;
  ~PoolBuffer() { release(); }

  // At least `words` words; the contents are undefined after a growth.
  std::uint32_t* reserve(std::int64_t words, bool& grown) {
    const auto bytes = static_cast<std::size_t>(words) * sizeof(std::uint32_t);
    grown = bytes > bytes_;
    if (grown) {
      release();
      data_ = static_cast<std::uint32_t*>(MemoryPool::global().allocate(bytes));
      bytes_ = bytes;
    }
    return data_;
  }

 private:
  void release() noexcept {
    if (data_ != nullptr) MemoryPool::global().deallocate(data_, bytes_);
    data_ = nullptr;
    bytes_ = 0;
  }
  std::uint32_t* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// One M x K by K x N product into C (row stride ldc). Keeps its packing
// buffers so a batch that shares B packs it once.
class Bf16Gemm {
 public:
  // parallel: spread the packing and the blocks over NEXUS-OS.
  void run(std::int64_t m, std::int64_t n, std::int64_t k, const Bits& a, const Bits& b, bool pack_b_again,
           std::uint16_t* c, std::int64_t ldc, bool parallel) {
    const std::int64_t kp = (k + 1) / 2;
    const std::int64_t ip_count = (m + kMR - 1) / kMR, jp_count = (n + kNR - 1) / kNR;
    const std::int64_t a_words = ip_count * kp * kMR, b_words = jp_count * kp * kNR;
    bool grown = false;
    std::uint32_t* ap = a_pack_.reserve(a_words, grown);
    std::uint32_t* bp = b_pack_.reserve(b_words, grown);
    if (grown) pack_b_again = true;
    auto loop = [parallel](std::int64_t count, std::int64_t work_per_item, const auto& body) {
      if (parallel) {
        for_items(count, work_per_item, body);
      } else if (count > 0) {
        body(std::int64_t{0}, count);
      }
    };
    if (pack_b_again) {
      loop(jp_count, kp * kNR * 16, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t j = lo; j < hi; ++j) {
          pack_b(b, j * kNR, static_cast<int>(std::min<std::int64_t>(kNR, n - j * kNR)), k, bp + j * kp * kNR);
        }
      });
    }
    loop(ip_count, kp * kMR * 16, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) {
        pack_a(a, i * kMR, static_cast<int>(std::min<std::int64_t>(kMR, m - i * kMR)), k, ap + i * kp * kMR);
      }
    });
    const std::int64_t ib_count = (ip_count + kBlockRowPanels - 1) / kBlockRowPanels;
    const std::int64_t jb_count = (jp_count + kBlockColPanels - 1) / kBlockColPanels;
    const std::int64_t block_work = kBlockRowPanels * kMR * kBlockColPanels * kNR * k;
    loop(ib_count * jb_count, block_work, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t t = lo; t < hi; ++t) {
        const std::int64_t ib = t / jb_count, jb = t % jb_count;
        const std::int64_t i_end = std::min(ip_count, (ib + 1) * kBlockRowPanels);
        const std::int64_t j_end = std::min(jp_count, (jb + 1) * kBlockColPanels);
        for (std::int64_t j = jb * kBlockColPanels; j < j_end; ++j) {
          const int cols = static_cast<int>(std::min<std::int64_t>(kNR, n - j * kNR));
          for (std::int64_t i = ib * kBlockRowPanels; i < i_end; ++i) {
            const int rows = static_cast<int>(std::min<std::int64_t>(kMR, m - i * kMR));
            kTiles[static_cast<std::size_t>(rows - 1)](ap + i * kp * kMR, bp + j * kp * kNR, kp,
                                                       c + i * kMR * ldc + j * kNR, ldc, cols);
          }
        }
      }
    });
  }

 private:
  PoolBuffer a_pack_, b_pack_;
};

void matmul_bf16_avx512(const Tensor& a2, const Tensor& b2, const Shape& batch, const Tensor& out) {
  Plan p = make_plan(a2, b2, batch);
  const std::int64_t s = folded_row_stride(p);
  if (s >= 0) fold(p, s);
  const auto* a = reinterpret_cast<const std::uint16_t*>(a2.data<BFloat16>());
  const auto* b = reinterpret_cast<const std::uint16_t*>(b2.data<BFloat16>());
  auto* c = reinterpret_cast<std::uint16_t*>(out.data<BFloat16>());
  auto bits = [](const std::uint16_t* base, std::int64_t off, std::int64_t rs, std::int64_t cs) {
    return Bits{base + off, rs, cs};
  };
  const std::int64_t work = p.m * p.n * p.k;
  if (p.count > 1 && work <= kSmallMatrixWork) {
    for_items(p.count, work, [&](std::int64_t lo, std::int64_t hi) {
      Bf16Gemm g;
      for (std::int64_t l = lo; l < hi; ++l) {
        const auto u = static_cast<std::size_t>(l);
        g.run(p.m, p.n, p.k, bits(a, p.a_off[u], p.a_rs, p.a_cs), bits(b, p.b_off[u], p.b_rs, p.b_cs),
              l == lo || p.b_off[u] != p.b_off[u - 1], c + l * p.m * p.n, p.n, false);
      }
    });
    return;
  }
  Bf16Gemm g;
  for (std::int64_t l = 0; l < p.count; ++l) {
    const auto u = static_cast<std::size_t>(l);
    g.run(p.m, p.n, p.k, bits(a, p.a_off[u], p.a_rs, p.a_cs), bits(b, p.b_off[u], p.b_rs, p.b_cs),
          l == 0 || p.b_off[u] != p.b_off[u - 1], c + l * p.m * p.n, p.n, work >= kMinParallelWork);
  }
}

// --- dispatch -----------------------------------------------------------------------------

// The sum of the lanes of 12 accumulators (not _mm512_reduce_add_ps, whose
// undefined pass-through operand GCC 12 flags as uninitialised).
__attribute__((target("avx512f"))) float lane_sum(const __m512 (&acc)[12]) {
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

// Instruction throughput probes for bf16_dot_speed(): `iterations` rounds of
// 12 independent accumulations (more than the latency times the ports), so
// the loop runs at the instruction's throughput. Return a value to keep them.
__attribute__((target("avx512f,avx512bf16,avx512bw,avx512vl"), noinline)) float probe_dot(std::int64_t iterations) {
  __m512 acc[12];
  for (auto& v : acc) v = _mm512_setzero_ps();
  __m512bh x = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x3f803f80));  // (1, 1)
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (auto& v : acc) v = _mm512_dpbf16_ps(v, x, x);
    asm volatile("" : "+v"(x));  // x is unknown to the compiler every round
  }
  return lane_sum(acc);
}
__attribute__((target("avx512f"), noinline)) float probe_fma(std::int64_t iterations) {
  __m512 acc[12];
  for (auto& v : acc) v = _mm512_setzero_ps();
  __m512 x = _mm512_set1_ps(1.0f);
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (auto& v : acc) v = _mm512_fmadd_ps(x, x, v);
    asm volatile("" : "+v"(x));
  }
  return lane_sum(acc);
}

// Seconds of the fastest of five runs of f.
template <typename F>
double fastest(F f) {
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    volatile float keep = f();
    (void)keep;
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// Products with at least this many multiply-adds (about 812^3) go through f32
// sgemm when the dot instruction is slower per flop than FMA: there the
// conversion (a pass over the operands) costs less than the slower inner loop;
// below it the conversion dominates. On a Xeon whose vdpbf16ps runs at half the
// FMA flop rate, medians in GFLOP/s on two cores, AVX512-BF16 against portable:
// 122 / 94 at 256^3, 160 / 121 at 512^3, 162 / 202 at 1024^3, 155 / 263 at
// 4096^3 (docs/tmath.md).
constexpr std::int64_t kBf16PortableWork = std::int64_t{1} << 29;

bool use_avx512_bf16(std::int64_t work) {
  switch (g_bf16_kernel.load(std::memory_order_relaxed)) {
    case Bf16Kernel::Avx512: return true;
    case Bf16Kernel::Portable: return false;
    case Bf16Kernel::Auto: break;
  }
  return bf16_dot_available() && (bf16_dot_speed() >= 1.0 || work < kBf16PortableWork);
}

// Broadcast of the batch dimensions (all but the last two) of a2 and b2.
Shape broadcast_batch(const Tensor& a, const Tensor& b, const Tensor& a2, const Tensor& b2) {
  const Shape& as = a2.shape();
  const Shape& bs = b2.shape();
  const std::size_t na = as.size() - 2, nb = bs.size() - 2, n = std::max(na, nb);
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - na ? 1 : as[i - (n - na)];
    const std::int64_t db = i < n - nb ? 1 : bs[i - (n - nb)];
    if (da != db && da != 1 && db != 1) {
      fail("matmul: batch dimensions of shapes " + to_string(a.shape()) + " and " + to_string(b.shape()) +
           " do not broadcast (" + std::to_string(da) + " vs " + std::to_string(db) + ")");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace

bool bf16_dot_available() noexcept {
  static const bool available = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return available;
}

double bf16_dot_speed() noexcept {
  static const double speed = [] {
    if (!bf16_dot_available()) return 0.0;
    constexpr std::int64_t kRounds = 20000;  // 240k instructions: about 0.1 ms each
    const double dot = fastest([] { return probe_dot(kRounds); });
    const double fma = fastest([] { return probe_fma(kRounds); });
    return (2.0 * fma) / dot;  // a dot instruction does twice the flops of an FMA
  }();
  return speed;
}

void set_bf16_kernel(Bf16Kernel kernel) {
  if (kernel == Bf16Kernel::Avx512 && !bf16_dot_available()) {
    fail("set_bf16_kernel: this CPU has no AVX512-BF16");
  }
  g_bf16_kernel.store(kernel, std::memory_order_relaxed);
}

Bf16Kernel bf16_kernel() noexcept { return g_bf16_kernel.load(std::memory_order_relaxed); }

Tensor matmul(const Tensor& a, const Tensor& b) {
  MISO_PROFILE_SCOPE("tmath.matmul");
  if (!a.defined() || !b.defined()) fail("matmul: an operand is an undefined tensor");
  if (a.dim() == 0 || b.dim() == 0) {
    fail("matmul: operands need at least 1 dimension, got shapes " + to_string(a.shape()) + " and " +
         to_string(b.shape()));
  }
  const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  const std::int64_t m = a2.size(-2), k = a2.size(-1), kb = b2.size(-2), n = b2.size(-1);
  if (k != kb) {
    fail("matmul: shapes " + to_string(a.shape()) + " and " + to_string(b.shape()) +
         " do not match: " + std::to_string(k) + " columns against " + std::to_string(kb) + " rows");
  }
  const Shape batch = broadcast_batch(a, b, a2, b2);
  Shape full = batch;
  full.push_back(m);
  full.push_back(n);
  Shape result = batch;
  if (a.dim() > 1) result.push_back(m);
  if (b.dim() > 1) result.push_back(n);

  DType dt = promote(a.dtype(), b.dtype());
  if (dt == DType::Bool) dt = DType::I64;
  Tensor out = Tensor::empty(full, dt);
  if (out.numel() == 0) return out.view(result);
  if (k == 0) return zeros(result, dt);

  const Tensor ac = a2.to(dt), bc = b2.to(dt);
  switch (dt) {
    case DType::F32: matmul_blas<float>(ac, bc, batch, out); break;
    case DType::F64: matmul_blas<double>(ac, bc, batch, out); break;
    case DType::BF16:
      if (use_avx512_bf16(m * n * k)) {
        matmul_bf16_avx512(ac, bc, batch, out);
        break;
      }
      [[fallthrough]];
    case DType::F16: {
      Tensor tmp = Tensor::empty(full, DType::F32);
      matmul_blas<float>(ac.to(DType::F32), bc.to(DType::F32), batch, tmp);
      copy_into(out, tmp);
      break;
    }
    case DType::I32:
    case DType::I64:
    case DType::Bool:
      visit_dtype(dt, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t>) {
          gemm_int<T>(make_plan(ac, bc, batch), ac.data<T>(), bc.data<T>(), out.data<T>());
        }
      });
      break;
  }
  return out.view(result);
}

std::string blas_core() {
  adjust_blas_kernels();
  return openblas_get_corename != nullptr ? std::string(openblas_get_corename()) : std::string("unknown");
}

}  // namespace miso::tmath
