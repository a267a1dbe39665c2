// T-Mathematics linear algebra: the knobs of matmul (declared in ops.hpp).
//
// matmul follows NumPy: 1-D x 1-D is a dot product (0-d result); a 1-D first
// operand gets a 1 prepended, a 1-D second operand a 1 appended, and the added
// dimension is removed from the result; the dimensions before the last two are
// batch dimensions and broadcast. A 0-d operand, inner dimensions that differ
// or batch dimensions that do not broadcast are Error(InvalidArgument) naming
// "matmul" and both shapes. The result has the promoted dtype (dtype.hpp),
// except bool x bool, which counts in i64 (NumPy would give a logical bool).
//
// Kernels by dtype:
//   f32, f64   OpenBLAS sgemm/dgemm per batch matrix; a matrix whose rows or
//              columns are contiguous is passed as it is (transposed views too),
//              other layouts are copied first. Batch dimensions the second
//              operand broadcasts over are folded into the rows when the first
//              operand's layout allows it (one large GEMM).
//   bf16       our own blocked GEMM on AVX512-BF16 (vdpbf16ps) when the CPU has
//              it, else the portable path: convert to f32, sgemm, round back.
//              Both accumulate in f32 and round the result to bf16 once. Where
//              vdpbf16ps is slower per flop than FMA (Sapphire/Emerald Rapids
//              Xeons run it at half the FMA flop rate; AMD Zen 5 at twice),
//              large products take the portable path: see bf16_dot_speed().
//   f16        convert to f32, sgemm, round back to f16.
//   integers   exact, wrapping in the result type; products and sums in 64 bits.
//
// OpenBLAS kernels: a DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels by the
// CPU model, and 0.3.21 does not know recent ones: on a Sapphire/Emerald Rapids
// Xeon it falls back to "Prescott" (SSE3), six times slower than its AVX-512
// kernels on the same machine. Before the first GEMM, when the user has not
// set OPENBLAS_CORETYPE and OpenBLAS chose a generic core although the CPU has
// AVX-512 (or AVX2 and FMA), matmul switches it to SkylakeX (or Haswell)
// through OpenBLAS's own runtime selection, once per process.
#pragma once

#include <string>

namespace miso::tmath {

// The OpenBLAS kernel set in use ("SkylakeX", "Haswell", ...), after the
// adjustment above; "unknown" when OpenBLAS does not say.
std::string blas_core();

// Which bf16 GEMM kernel matmul uses. Auto: Avx512 when bf16_dot_available()
// and either bf16_dot_speed() >= 1 or the product has fewer than 2^29
// multiply-adds (about 812^3); else Portable. The setting is process-wide (an atomic), meant for tests and
// benchmarks that compare the two.
enum class Bf16Kernel { Auto, Avx512, Portable };

// True when the CPU runs AVX512-BF16 (checked once, with __builtin_cpu_supports).
bool bf16_dot_available() noexcept;

// The flop rate of vdpbf16ps relative to 512-bit FMA on this core (2 dot
// flops per bf16 pair), measured once per process by two 0.1 ms throughput
// probes; 0 without AVX512-BF16. The gap it decides on is fourfold (0.5 on
// Sapphire Rapids, 2 on Zen 5), far beyond the noise of the probes.
double bf16_dot_speed() noexcept;

// Forces a kernel. Avx512 on a CPU without AVX512-BF16 is Error(InvalidArgument).
void set_bf16_kernel(Bf16Kernel kernel);
Bf16Kernel bf16_kernel() noexcept;  // the setting (Auto unless set)

}  // namespace miso::tmath
