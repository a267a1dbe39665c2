// Lazy T-Mathematics: operations on Lazy values record a graph instead of
// computing; eval() compiles it and runs it.
//
// Compiling cuts the graph at reductions into kernels. A kernel is a chain (a
// DAG) of elementwise operations over one output shape, compiled to a short
// register program that runs block by block (1024 elements) over the inputs in
// one pass: no intermediate tensor is ever written to memory. A reduction over
// trailing axes is fused into the kernel that produces its input (the values
// are accumulated as they are computed); other reductions materialise their
// input and call the eager operation. Compiled plans are cached by the graph's
// structure (operations, dtypes, shapes), so evaluating the same formula again,
// on new data, pays nothing for compilation; constants are read at run time.
//
// Results equal eager mode's for f32, f64 and integer graphs up to summation
// order in reductions; f16/bf16 intermediates stay in f32 inside a kernel (eager
// mode rounds every intermediate to f16/bf16), so those agree within rounding.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "miso/tmath/ops.hpp"
#include "miso/tmath/tensor.hpp"

namespace miso::tmath {

struct CustomKernel;

namespace lazy {
struct Node;
}

class Lazy {
 public:
  Lazy(const Tensor& tensor);  // NOLINT(google-explicit-constructor): a leaf
  explicit Lazy(std::shared_ptr<const lazy::Node> node) : node_(std::move(node)) {}

  const Shape& shape() const noexcept;
  DType dtype() const noexcept;
  // Compiles (or finds the cached plan) and computes the value.
  Tensor eval() const;
  const std::shared_ptr<const lazy::Node>& node() const noexcept { return node_; }

 private:
  std::shared_ptr<const lazy::Node> node_;
};

Lazy constant(double value, DType dtype = DType::F32);  // a zero-dimensional constant

Lazy binary(BinaryOp op, const Lazy& a, const Lazy& b);
Lazy unary(UnaryOp op, const Lazy& a);
Lazy where(const Lazy& cond, const Lazy& a, const Lazy& b);
// A custom elementwise kernel (custom_kernel.hpp) as a node: it runs block by block inside
// the fused kernel. The node holds the kernel, so unregistering it does not break the
// graph; plans are cached by the kernel's name and position, never by its address.
// Error(InvalidArgument) naming the kernel on an arity mismatch or shapes that do not broadcast.
Lazy custom(std::shared_ptr<const CustomKernel> kernel, const Lazy& a);
Lazy custom(std::shared_ptr<const CustomKernel> kernel, const Lazy& a, const Lazy& b);

inline Lazy exp(const Lazy& a) { return unary(UnaryOp::Exp, a); }
inline Lazy log(const Lazy& a) { return unary(UnaryOp::Log, a); }
inline Lazy sqrt(const Lazy& a) { return unary(UnaryOp::Sqrt, a); }
inline Lazy tanh(const Lazy& a) { return unary(UnaryOp::Tanh, a); }
inline Lazy sigmoid(const Lazy& a) { return unary(UnaryOp::Sigmoid, a); }
inline Lazy relu(const Lazy& a) { return unary(UnaryOp::Relu, a); }
inline Lazy gelu(const Lazy& a) { return unary(UnaryOp::Gelu, a); }
inline Lazy erf(const Lazy& a) { return unary(UnaryOp::Erf, a); }
inline Lazy sin(const Lazy& a) { return unary(UnaryOp::Sin, a); }
inline Lazy cos(const Lazy& a) { return unary(UnaryOp::Cos, a); }
inline Lazy tan(const Lazy& a) { return unary(UnaryOp::Tan, a); }
inline Lazy asin(const Lazy& a) { return unary(UnaryOp::Asin, a); }
inline Lazy acos(const Lazy& a) { return unary(UnaryOp::Acos, a); }
inline Lazy atan(const Lazy& a) { return unary(UnaryOp::Atan, a); }
inline Lazy abs(const Lazy& a) { return unary(UnaryOp::Abs, a); }
inline Lazy maximum(const Lazy& a, const Lazy& b) { return binary(BinaryOp::Maximum, a, b); }
inline Lazy minimum(const Lazy& a, const Lazy& b) { return binary(BinaryOp::Minimum, a, b); }
inline Lazy pow(const Lazy& a, const Lazy& b) { return binary(BinaryOp::Pow, a, b); }
inline Lazy gt(const Lazy& a, const Lazy& b) { return binary(BinaryOp::Gt, a, b); }
inline Lazy lt(const Lazy& a, const Lazy& b) { return binary(BinaryOp::Lt, a, b); }

Lazy operator+(const Lazy& a, const Lazy& b);
Lazy operator-(const Lazy& a, const Lazy& b);
Lazy operator*(const Lazy& a, const Lazy& b);
Lazy operator/(const Lazy& a, const Lazy& b);
Lazy operator-(const Lazy& a);
Lazy operator+(const Lazy& a, double b);
Lazy operator-(const Lazy& a, double b);
Lazy operator*(const Lazy& a, double b);
Lazy operator/(const Lazy& a, double b);
Lazy operator+(double a, const Lazy& b);
Lazy operator-(double a, const Lazy& b);
Lazy operator*(double a, const Lazy& b);
Lazy operator/(double a, const Lazy& b);

// Reductions with the eager semantics of ops.hpp.
Lazy sum(const Lazy& a, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Lazy mean(const Lazy& a, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Lazy max(const Lazy& a, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Lazy min(const Lazy& a, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);

struct PlanCacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;  // compilations
  std::size_t plans = 0;
};
PlanCacheStats plan_cache_stats();
void clear_plan_cache();

}  // namespace miso::tmath
