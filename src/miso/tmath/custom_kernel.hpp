// Custom elementwise kernels: named functions over arrays that T-Mathematics runs like its
// own elementwise operations, eagerly (apply_kernel) and inside fused lazy kernels
// (lazy.hpp's custom(): the compiled program calls the function on each 1024-element
// block's registers, so no intermediate tensor is written). VXOR plugins register theirs
// here (as "<plugin>.<kernel>", through Omega-Kern); tmath itself knows nothing of plugins.
//
// dtypes: the result dtype is the (promoted) input dtype for f32 and f64, f16/bf16 inputs
// compute in f32 and are stored back as f16/bf16, and integer or bool inputs are converted
// and give f32 — the rule of tmath's float functions (exp, tanh, ...). A kernel computes in
// f64 through `f64`, in f32 through `f32` when it has one, else through `f64` on values
// widened to f64 and rounded back to f32.
//
// Threads: the registry is guarded by a mutex; kernels are shared_ptrs, so a graph or a
// caller that found one keeps it alive after it was unregistered. The functions are called
// concurrently from several threads, on disjoint blocks; they may throw (the error reaches
// the caller of apply_kernel / Lazy::eval).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "miso/tmath/tensor.hpp"

namespace miso::tmath {

struct CustomKernel {
  std::string name;
  int arity = 1;  // 1 or 2
  // out[i] = f(a[i]) or f(a[i], b[i]) for i < n; b is nullptr for arity 1. out never
  // aliases a or b (a and b may be the same array).
  std::function<void(const double* a, const double* b, double* out, std::int64_t n)> f64;
  std::function<void(const float* a, const float* b, float* out, std::int64_t n)> f32;  // optional
};

// Error(InvalidArgument) when the name is empty or taken, the arity is not 1 or 2, or f64
// is missing.
void register_kernel(std::shared_ptr<const CustomKernel> kernel);
// Whether a kernel of that name was registered (and is now removed).
bool unregister_kernel(std::string_view name);
// nullptr when unknown.
std::shared_ptr<const CustomKernel> find_kernel(std::string_view name);
// Error(InvalidArgument) naming the kernel and the registered ones when unknown.
std::shared_ptr<const CustomKernel> get_kernel(std::string_view name);
std::vector<std::string> kernel_names();  // sorted

// The dtype a kernel's result has for inputs of these dtypes (see above).
DType custom_result_dtype(DType a) noexcept;
DType custom_result_dtype(DType a, DType b) noexcept;

// Eager application. Arity 2 broadcasts a and b as NumPy does. Error(InvalidArgument)
// naming the kernel on an arity mismatch or shapes that do not broadcast.
Tensor apply_kernel(const CustomKernel& kernel, const Tensor& a);
Tensor apply_kernel(const CustomKernel& kernel, const Tensor& a, const Tensor& b);
// By name: b undefined for arity 1.
Tensor apply_kernel(std::string_view name, const Tensor& a, const Tensor& b = Tensor());

}  // namespace miso::tmath
