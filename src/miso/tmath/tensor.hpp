// T-Mathematics tensors: an n-d view (shape, strides in elements, offset) of a
// reference-counted block of pooled memory, with a dtype. Views (slices with
// steps, transpose, permute, expand, squeeze, unsqueeze, reshape when strides
// allow) share the block and copy nothing; contiguous(), clone() and to() copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"
#include "miso/tmath/dtype.hpp"

namespace miso::tmath {

using Shape = std::vector<std::int64_t>;

// The device a tensor's memory lives on. Only the CPU exists today. CPU
// operations are synchronous: a function returns with its result complete. A
// device with queues (CUDA, its own issue) returns with work in flight, and
// then exactly two things wait for it: synchronize(), and reading elements on
// the host (item, at, to_vector, to_string), which synchronize first. No other
// call waits behind the caller's back.
enum class Device : std::uint8_t { Cpu };
const char* name(Device device) noexcept;
// Waits until the work queued on `device` has finished (on the CPU nothing is
// ever queued, so it returns at once); throws Error for a device this build
// does not have.
void synchronize(Device device = Device::Cpu);

// A block of pooled memory. Tensors share it through a shared_ptr.
class Storage {
 public:
  explicit Storage(std::size_t bytes, Device device = Device::Cpu);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const noexcept { return data_; }
  std::size_t bytes() const noexcept { return bytes_; }
  Device device() const noexcept { return device_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Device device_ = Device::Cpu;
};

std::int64_t numel_of(const Shape& shape) noexcept;
std::string to_string(const Shape& shape);  // "[2, 3]"
Shape contiguous_strides(const Shape& shape);
// NumPy broadcasting of two shapes; the error names both shapes and `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// A dimension index in [-ndim, ndim) made non-negative; the error names `op`.
std::int64_t normalize_dim(std::int64_t dim, std::int64_t ndim, const char* op);

class Tensor {
 public:
  Tensor() = default;  // undefined: holds nothing
  // Uninitialised contents.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32);
  // A tensor over existing storage (used by views and by readers of files).
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, std::int64_t offset, DType dtype);

  bool defined() const noexcept { return storage_ != nullptr; }
  const Shape& shape() const noexcept { return shape_; }
  const Shape& strides() const noexcept { return strides_; }  // in elements
  std::int64_t offset() const noexcept { return offset_; }    // in elements
  DType dtype() const noexcept { return dtype_; }
  Device device() const noexcept { return Device::Cpu; }
  std::int64_t dim() const noexcept { return static_cast<std::int64_t>(shape_.size()); }
  std::int64_t numel() const noexcept { return numel_of(shape_); }
  std::int64_t size(std::int64_t d) const;  // negative d counts from the end
  std::size_t nbytes() const noexcept { return static_cast<std::size_t>(numel()) * size_of(dtype_); }
  bool is_contiguous() const noexcept;
  const std::shared_ptr<Storage>& storage() const noexcept { return storage_; }

  // The first element's address. Typed access checks the dtype.
  void* raw_data() const noexcept;
  template <typename T>
  T* data() const {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(raw_data());
  }

  // --- views (no copy) ---------------------------------------------------------
  // Python slice semantics: negative start/stop count from the end, out-of-range
  // bounds are clamped; step must be positive.
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;  // drops the dimension
  Tensor transpose(std::int64_t a, std::int64_t b) const;
  Tensor permute(const std::vector<std::int64_t>& order) const;
  Tensor t() const;                         // transpose of the last two dimensions
  Tensor expand(const Shape& shape) const;  // broadcast to `shape` (stride 0)
  Tensor squeeze() const;                   // every size-1 dimension
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;
  // Reshape: a view when the strides allow it, else a contiguous copy. One -1
  // is inferred.
  Tensor reshape(const Shape& shape) const;
  // Like reshape, but throws instead of copying.
  Tensor view(const Shape& shape) const;
  Tensor flatten() const { return reshape({-1}); }

  // --- copies -------------------------------------------------------------------
  Tensor contiguous() const;     // *this when already contiguous
  Tensor clone() const;          // always a new block
  Tensor to(DType dtype) const;  // *this when already of that dtype

  // --- elements -----------------------------------------------------------------
  double item() const;  // the single element of a one-element tensor, as double
  double at(const std::vector<std::int64_t>& index) const;
  // Every element in logical (row-major) order, converted to T.
  template <typename T>
  std::vector<T> to_vector() const;
  std::string to_string(std::size_t max_elements = 64) const;

 private:
  void check_dtype(DType expected) const;
  std::optional<Shape> view_strides(const Shape& shape) const;
  Shape resolve_shape(const Shape& shape, const char* op) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  std::int64_t offset_ = 0;
  DType dtype_ = DType::F32;
};

// Copies src into dst elementwise, converting dtypes and broadcasting src to
// dst's shape. dst may be any view (non-contiguous included).
void copy_into(const Tensor& dst, const Tensor& src);

// --- creation ------------------------------------------------------------------
Tensor zeros(const Shape& shape, DType dtype = DType::F32);
Tensor ones(const Shape& shape, DType dtype = DType::F32);
Tensor full(const Shape& shape, double value, DType dtype = DType::F32);
Tensor scalar(double value, DType dtype = DType::F32);  // zero-dimensional
// [start, stop) in steps of `step` (NumPy's arange: ceil((stop - start) / step) elements).
Tensor arange(double start, double stop, double step = 1.0, DType dtype = DType::F32);
Tensor linspace(double start, double stop, std::int64_t count, DType dtype = DType::F32);
Tensor eye(std::int64_t rows, std::int64_t cols = -1, DType dtype = DType::F32);
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);
Tensor from_values(std::initializer_list<double> values, const Shape& shape, DType dtype = DType::F32);

// A seeded generator: the same seed gives the same tensors on every machine
// and for every thread count.
class Generator {
 public:
  explicit Generator(std::uint64_t seed) noexcept : bits_(seed) {}
  std::uint64_t next() noexcept { return bits_.next(); }
  double uniform() noexcept { return bits_.next_double(); }  // [0, 1), 53 bits
  double normal() noexcept;                                  // standard normal (Box–Muller)

 private:
  core::SplitMix64 bits_;
  std::optional<double> spare_;
};

Tensor rand_uniform(const Shape& shape, Generator& gen, double low = 0.0, double high = 1.0, DType dtype = DType::F32);
Tensor rand_normal(const Shape& shape, Generator& gen, double mean = 0.0, double stddev = 1.0,
                   DType dtype = DType::F32);

// --- template definitions -------------------------------------------------------
template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  if (static_cast<std::int64_t>(values.size()) != t.numel()) {
    throw Error(Error::Kind::InvalidArgument,
                "from_vector: " + std::to_string(values.size()) + " values for shape " + to_string(shape));
  }
  T* p = t.data<T>();
  for (std::size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

}  // namespace miso::tmath
