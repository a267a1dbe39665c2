// T-Mathematics operations (eager). Every operation is a profiler span
// "tmath.<name>"; large ones run on NEXUS-OS. Results are new contiguous tensors.
//
// dtypes: binary arithmetic promotes its operands (dtype.hpp) and computes in
// the promoted type's compute type (f16/bf16 in f32); comparisons give bool;
// true division and the float functions (exp, log, sqrt, tanh, sigmoid, gelu,
// pow with a float operand) give f32 for integer inputs. Shapes broadcast as in
// NumPy; errors name the operation and both shapes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "miso/tmath/tensor.hpp"

namespace miso::tmath {

// --- elementwise ------------------------------------------------------------------
enum class BinaryOp : std::uint8_t { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge };
enum class UnaryOp : std::uint8_t {
  Neg,
  Abs,
  Exp,
  Log,
  Sqrt,
  Tanh,
  Sigmoid,
  Relu,
  Gelu,
  Erf,
  Sin,
  Cos,
  Tan,
  Asin,
  Acos,
  Atan,
};

const char* op_name(BinaryOp op) noexcept;
const char* op_name(UnaryOp op) noexcept;
DType result_dtype(BinaryOp op, DType a, DType b) noexcept;
DType result_dtype(UnaryOp op, DType a) noexcept;

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor unary(UnaryOp op, const Tensor& a);

inline Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b); }
inline Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b); }
inline Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Pow, a, b); }
inline Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Maximum, a, b); }
inline Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Minimum, a, b); }
inline Tensor eq(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Eq, a, b); }
inline Tensor ne(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Ne, a, b); }
inline Tensor lt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Lt, a, b); }
inline Tensor le(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Le, a, b); }
inline Tensor gt(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Gt, a, b); }
inline Tensor ge(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Ge, a, b); }

inline Tensor neg(const Tensor& a) { return unary(UnaryOp::Neg, a); }
inline Tensor abs(const Tensor& a) { return unary(UnaryOp::Abs, a); }
inline Tensor exp(const Tensor& a) { return unary(UnaryOp::Exp, a); }
inline Tensor log(const Tensor& a) { return unary(UnaryOp::Log, a); }
inline Tensor sqrt(const Tensor& a) { return unary(UnaryOp::Sqrt, a); }
inline Tensor tanh(const Tensor& a) { return unary(UnaryOp::Tanh, a); }
inline Tensor sigmoid(const Tensor& a) { return unary(UnaryOp::Sigmoid, a); }
inline Tensor relu(const Tensor& a) { return unary(UnaryOp::Relu, a); }
inline Tensor gelu(const Tensor& a) { return unary(UnaryOp::Gelu, a); }  // exact: x * Phi(x)
inline Tensor erf(const Tensor& a) { return unary(UnaryOp::Erf, a); }
inline Tensor sin(const Tensor& a) { return unary(UnaryOp::Sin, a); }
inline Tensor cos(const Tensor& a) { return unary(UnaryOp::Cos, a); }
inline Tensor tan(const Tensor& a) { return unary(UnaryOp::Tan, a); }
inline Tensor asin(const Tensor& a) { return unary(UnaryOp::Asin, a); }
inline Tensor acos(const Tensor& a) { return unary(UnaryOp::Acos, a); }
inline Tensor atan(const Tensor& a) { return unary(UnaryOp::Atan, a); }

// cond ? a : b, all three broadcast together; cond is read as bool.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Operators for readable formulas; a double operand is a scalar of the other
// operand's dtype (so x * 0.5 stays f16 for an f16 x).
// The dtype of that scalar: `other`, except f32 for a fraction next to an
// integer dtype and i32 next to bool (used by the Lazy operators too).
DType scalar_operand_dtype(double value, DType other) noexcept;
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// --- reductions --------------------------------------------------------------------
// axes: empty = all. Negative axes count from the end; repeated axes are an
// error. Floats accumulate in f64 and return their own dtype (mean/var of
// integers return f32); sum of integers returns i64.
Tensor sum(const Tensor& a, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& a, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Tensor max(const Tensor& a, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Tensor min(const Tensor& a, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
// Variance with `ddof` (0: population, 1: sample).
Tensor var(const Tensor& a, const std::vector<std::int64_t>& axes = {}, bool keepdims = false, std::int64_t ddof = 0);
// Index (i64) of the first maximum along `axis`; no axis: into the flattened tensor.
Tensor argmax(const Tensor& a, std::optional<std::int64_t> axis = std::nullopt, bool keepdims = false);

// --- linear algebra ----------------------------------------------------------------
// NumPy matmul: 1-D operands are promoted (and the added dimension removed),
// batch dimensions broadcast. f32/f64 through OpenBLAS; bf16 on our AVX512-BF16
// kernel (linalg.hpp chooses), f16 with f32 accumulation; integers exactly;
// bool x bool counts in i64.
Tensor matmul(const Tensor& a, const Tensor& b);

// --- neural-network building blocks ------------------------------------------------
Tensor softmax(const Tensor& a, std::int64_t axis = -1);
Tensor log_softmax(const Tensor& a, std::int64_t axis = -1);
// Normalises over the last dimension; weight and bias (may be undefined) have
// the last dimension's size.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps = 1e-6);
// q [..., L, D], k [..., S, D], v [..., S, Dv] -> [..., L, Dv]; scale 0 means
// 1/sqrt(D); causal masks key j > query i (aligned at the start).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal = false,
                                    double scale = 0.0);

// --- joining and indexing ----------------------------------------------------------
Tensor concatenate(const std::vector<Tensor>& tensors, std::int64_t axis = 0);
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t axis = 0);
// Picks `index` (1-D i32/i64 tensor; negative entries count from the end) along
// `axis`; an out-of-range index is an error naming it, the axis and its size.
Tensor index_select(const Tensor& a, std::int64_t axis, const Tensor& index);
// out[i][j][k] = a[i][index[i][j][k]][k] for axis 1 (PyTorch's gather); index
// has a's rank and, off `axis`, sizes no larger than a's; negative indices count
// from the end (as NumPy's take_along_axis; PyTorch rejects them).
Tensor gather(const Tensor& a, std::int64_t axis, const Tensor& index);

}  // namespace miso::tmath
