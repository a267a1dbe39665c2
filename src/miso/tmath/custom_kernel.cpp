#include "miso/tmath/custom_kernel.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"
#include "miso/tmath/lazy.hpp"

namespace miso::tmath {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<const CustomKernel>, std::less<>> kernels;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: kernels may be looked up during exit
  return *r;
}

// A shared_ptr that does not own the kernel: the eager calls evaluate a one-node graph
// that does not outlive them.
std::shared_ptr<const CustomKernel> borrowed(const CustomKernel& kernel) {
  return std::shared_ptr<const CustomKernel>(std::shared_ptr<const void>(), &kernel);
}

void check_arity(const CustomKernel& kernel, int given) {
  if (kernel.arity != given) {
    fail("custom kernel '" + kernel.name + "' takes " + std::to_string(kernel.arity) + " operand" +
         (kernel.arity == 1 ? "" : "s") + ", got " + std::to_string(given));
  }
}

}  // namespace

void register_kernel(std::shared_ptr<const CustomKernel> kernel) {
  if (kernel == nullptr) fail("register_kernel: null kernel");
  if (kernel->name.empty()) fail("register_kernel: a kernel needs a name");
  if (kernel->arity != 1 && kernel->arity != 2) {
    fail("register_kernel: kernel '" + kernel->name + "' has arity " + std::to_string(kernel->arity) +
         " (1 or 2 allowed)");
  }
  if (!kernel->f64) fail("register_kernel: kernel '" + kernel->name + "' has no f64 function");
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (r.kernels.count(kernel->name) != 0) fail("register_kernel: kernel '" + kernel->name + "' is already registered");
  std::string name = kernel->name;
  r.kernels.emplace(std::move(name), std::move(kernel));
}

bool unregister_kernel(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.kernels.find(name);
  if (it == r.kernels.end()) return false;
  r.kernels.erase(it);
  return true;
}

std::shared_ptr<const CustomKernel> find_kernel(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.kernels.find(name);
  return it == r.kernels.end() ? nullptr : it->second;
}

std::shared_ptr<const CustomKernel> get_kernel(std::string_view name) {
  auto kernel = find_kernel(name);
  if (kernel != nullptr) return kernel;
  std::string known;
  for (const std::string& n : kernel_names()) known += (known.empty() ? "" : ", ") + n;
  fail("unknown custom kernel '" + std::string(name) + "' (registered: " + (known.empty() ? "none" : known) + ")");
}

std::vector<std::string> kernel_names() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [name, kernel] : r.kernels) names.push_back(name);
  return names;
}

DType custom_result_dtype(DType a) noexcept { return is_floating(a) ? a : DType::F32; }
DType custom_result_dtype(DType a, DType b) noexcept { return custom_result_dtype(promote(a, b)); }

// The eager form is the lazy form with one node: the same broadcasting, dtype rules,
// block loop and threads, so eager and lazy results agree exactly.
Tensor apply_kernel(const CustomKernel& kernel, const Tensor& a) {
  MISO_PROFILE_SCOPE("tmath.custom");
  check_arity(kernel, 1);
  if (!a.defined()) fail("custom kernel '" + kernel.name + "': undefined operand");
  return custom(borrowed(kernel), Lazy(a)).eval();
}

Tensor apply_kernel(const CustomKernel& kernel, const Tensor& a, const Tensor& b) {
  MISO_PROFILE_SCOPE("tmath.custom");
  check_arity(kernel, 2);
  if (!a.defined() || !b.defined()) fail("custom kernel '" + kernel.name + "': undefined operand");
  return custom(borrowed(kernel), Lazy(a), Lazy(b)).eval();
}

Tensor apply_kernel(std::string_view name, const Tensor& a, const Tensor& b) {
  auto kernel = get_kernel(name);
  return b.defined() ? apply_kernel(*kernel, a, b) : apply_kernel(*kernel, a);
}

}  // namespace miso::tmath
