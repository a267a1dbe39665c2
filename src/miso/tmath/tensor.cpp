#include "miso/tmath/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include "miso/nexus/parallel.hpp"
#include "miso/profiler/span.hpp"
#include "miso/tmath/kernels.hpp"
#include "miso/tmath/memory_pool.hpp"

namespace miso::tmath {

namespace {
using detail::fail;
}  // namespace

// --- devices ------------------------------------------------------------------------
const char* name(Device device) noexcept {
  switch (device) {
    case Device::Cpu: return "cpu";
  }
  return "?";
}

void synchronize(Device device) {
  MISO_PROFILE_SCOPE("tmath.synchronize");
  if (device != Device::Cpu)
    fail("synchronize: device " + std::to_string(static_cast<int>(device)) + " is not in this build");
}

// --- storage and shapes -----------------------------------------------------------
Storage::Storage(std::size_t bytes, Device device)
    : data_(MemoryPool::global().allocate(bytes)), bytes_(bytes), device_(device) {}

Storage::~Storage() { MemoryPool::global().deallocate(data_, bytes_); }

std::int64_t numel_of(const Shape& shape) noexcept {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t s = 1;
  for (std::size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s *= std::max<std::int64_t>(shape[d], 1);
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) {
      fail(std::string(op) + ": shapes " + to_string(a) + " and " + to_string(b) + " do not broadcast (dimension " +
           std::to_string(i) + ": " + std::to_string(da) + " vs " + std::to_string(db) + ")");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::int64_t normalize_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  if (dim < -ndim || dim >= std::max<std::int64_t>(ndim, 1) || (ndim == 0 && dim != 0 && dim != -1)) {
    fail(std::string(op) + ": dimension " + std::to_string(dim) + " is out of range for a tensor of " +
         std::to_string(ndim) + " dimensions");
  }
  return dim < 0 ? dim + ndim : dim;
}

// --- tensor -------------------------------------------------------------------------
Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (std::int64_t d : shape) {
    if (d < 0) fail("empty: negative dimension in shape " + tmath::to_string(shape));
  }
  auto storage = std::make_shared<Storage>(static_cast<std::size_t>(numel_of(shape)) * size_of(dtype));
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, std::int64_t offset, DType dtype)
    : storage_(std::move(storage)),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      offset_(offset),
      dtype_(dtype) {
  if (shape_.size() != strides_.size())
    fail("tensor: shape " + tmath::to_string(shape_) + " and strides " + tmath::to_string(strides_) +
         " differ in rank");
}

std::int64_t Tensor::size(std::int64_t d) const {
  return shape_[static_cast<std::size_t>(normalize_dim(d, dim(), "size"))];
}

bool Tensor::is_contiguous() const noexcept {
  if (numel() == 0) return true;  // nothing to lay out
  std::int64_t expected = 1;
  for (std::size_t d = shape_.size(); d-- > 0;) {
    if (shape_[d] == 1) continue;
    if (strides_[d] != expected) return false;
    expected *= shape_[d];
  }
  return true;
}

void* Tensor::raw_data() const noexcept {
  if (!storage_) return nullptr;
  return static_cast<std::byte*>(storage_->data()) + offset_ * static_cast<std::int64_t>(size_of(dtype_));
}

void Tensor::check_dtype(DType expected) const {
  if (!defined()) fail("tensor: access to an undefined tensor");
  if (expected != dtype_) {
    fail("tensor: elements are " + std::string(name(dtype_)) + ", not " + std::string(name(expected)));
  }
}

Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t stop, std::int64_t step) const {
  d = normalize_dim(d, dim(), "slice");
  if (step <= 0) fail("slice: step must be positive, got " + std::to_string(step));
  const std::int64_t n = shape_[static_cast<std::size_t>(d)];
  auto clamp = [n](std::int64_t i) {
    if (i < 0) i += n;
    return std::clamp<std::int64_t>(i, 0, n);
  };
  start = clamp(start);
  stop = clamp(stop);
  std::int64_t len = stop > start ? (stop - start + step - 1) / step : 0;
  Tensor v = *this;
  v.offset_ += start * strides_[static_cast<std::size_t>(d)];
  v.shape_[static_cast<std::size_t>(d)] = len;
  v.strides_[static_cast<std::size_t>(d)] *= step;
  return v;
}

Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
  d = normalize_dim(d, dim(), "select");
  const std::int64_t n = shape_[static_cast<std::size_t>(d)];
  if (index < -n || index >= n) {
    fail("select: index " + std::to_string(index) + " is out of range for dimension " + std::to_string(d) +
         " of size " + std::to_string(n));
  }
  if (index < 0) index += n;
  Tensor v = *this;
  v.offset_ += index * strides_[static_cast<std::size_t>(d)];
  v.shape_.erase(v.shape_.begin() + d);
  v.strides_.erase(v.strides_.begin() + d);
  return v;
}

Tensor Tensor::transpose(std::int64_t a, std::int64_t b) const {
  a = normalize_dim(a, dim(), "transpose");
  b = normalize_dim(b, dim(), "transpose");
  Tensor v = *this;
  std::swap(v.shape_[static_cast<std::size_t>(a)], v.shape_[static_cast<std::size_t>(b)]);
  std::swap(v.strides_[static_cast<std::size_t>(a)], v.strides_[static_cast<std::size_t>(b)]);
  return v;
}

Tensor Tensor::permute(const std::vector<std::int64_t>& order) const {
  if (static_cast<std::int64_t>(order.size()) != dim()) {
    fail("permute: " + std::to_string(order.size()) + " dimensions given for a tensor of " + std::to_string(dim()));
  }
  std::vector<bool> seen(order.size(), false);
  Tensor v = *this;
  for (std::size_t i = 0; i < order.size(); ++i) {
    auto d = static_cast<std::size_t>(normalize_dim(order[i], dim(), "permute"));
    if (seen[d]) fail("permute: dimension " + std::to_string(d) + " appears twice");
    seen[d] = true;
    v.shape_[i] = shape_[d];
    v.strides_[i] = strides_[d];
  }
  return v;
}

Tensor Tensor::t() const {
  if (dim() < 2) return *this;
  return transpose(-2, -1);
}

Tensor Tensor::expand(const Shape& shape) const {
  if (shape.size() < shape_.size()) {
    fail("expand: cannot expand shape " + tmath::to_string(shape_) + " to fewer dimensions " + tmath::to_string(shape));
  }
  const std::size_t lead = shape.size() - shape_.size();
  Shape strides(shape.size(), 0);
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) continue;
    std::int64_t own = shape_[i - lead];
    if (own == shape[i]) {
      strides[i] = strides_[i - lead];
    } else if (own != 1) {
      fail("expand: shape " + tmath::to_string(shape_) + " cannot be broadcast to " + tmath::to_string(shape));
    }
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::squeeze() const {
  Tensor v = *this;
  v.shape_.clear();
  v.strides_.clear();
  for (std::size_t d = 0; d < shape_.size(); ++d) {
    if (shape_[d] == 1) continue;
    v.shape_.push_back(shape_[d]);
    v.strides_.push_back(strides_[d]);
  }
  return v;
}

Tensor Tensor::squeeze(std::int64_t d) const {
  d = normalize_dim(d, dim(), "squeeze");
  if (shape_[static_cast<std::size_t>(d)] != 1) {
    fail("squeeze: dimension " + std::to_string(d) + " of shape " + tmath::to_string(shape_) + " is not of size 1");
  }
  Tensor v = *this;
  v.shape_.erase(v.shape_.begin() + d);
  v.strides_.erase(v.strides_.begin() + d);
  return v;
}

Tensor Tensor::unsqueeze(std::int64_t d) const {
  d = normalize_dim(d, dim() + 1, "unsqueeze");
  Tensor v = *this;
  std::int64_t stride = d < dim() ? strides_[static_cast<std::size_t>(d)] * shape_[static_cast<std::size_t>(d)] : 1;
  v.shape_.insert(v.shape_.begin() + d, 1);
  v.strides_.insert(v.strides_.begin() + d, stride);
  return v;
}

Shape Tensor::resolve_shape(const Shape& shape, const char* op) const {
  Shape out = shape;
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) fail(std::string(op) + ": more than one -1 in " + tmath::to_string(shape));
      infer = static_cast<int>(i);
    } else if (out[i] < 0) {
      fail(std::string(op) + ": negative dimension in " + tmath::to_string(shape));
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel() % known != 0) {
      fail(std::string(op) + ": cannot infer -1 in " + tmath::to_string(shape) + " for " + std::to_string(numel()) +
           " elements");
    }
    out[static_cast<std::size_t>(infer)] = numel() / known;
  } else if (known != numel()) {
    fail(std::string(op) + ": shape " + tmath::to_string(shape_) + " (" + std::to_string(numel()) +
         " elements) cannot become " + tmath::to_string(shape) + " (" + std::to_string(known) + " elements)");
  }
  return out;
}

// Strides for viewing *this as `shape` without a copy, when they exist (the
// algorithm of NumPy's _attempt_nocopy_reshape: match runs of dimensions whose
// element counts agree, each run contiguous in the old strides).
std::optional<Shape> Tensor::view_strides(const Shape& shape) const {
  Shape old_shape, old_strides;
  for (std::size_t d = 0; d < shape_.size(); ++d) {
    if (shape_[d] == 1) continue;
    old_shape.push_back(shape_[d]);
    old_strides.push_back(strides_[d]);
  }
  Shape strides(shape.size(), 1);
  if (numel() == 0) return contiguous_strides(shape);
  std::size_t oi = 0, oj = 1, ni = 0, nj = 1;
  const std::size_t on = old_shape.size(), nn = shape.size();
  while (ni < nn && oi < on) {
    std::int64_t np = shape[ni], op = old_shape[oi];
    while (np != op) {
      if (np < op) {
        np *= shape[nj++];
      } else {
        op *= old_shape[oj++];
      }
    }
    for (std::size_t k = oi; k + 1 < oj; ++k) {
      if (old_strides[k] != old_shape[k + 1] * old_strides[k + 1]) return std::nullopt;
    }
    strides[nj - 1] = old_strides[oj - 1];
    for (std::size_t k = nj - 1; k > ni; --k) strides[k - 1] = strides[k] * shape[k];
    ni = nj++;
    oi = oj++;
  }
  // Trailing size-1 dimensions of the new shape.
  std::int64_t last = ni > 0 ? strides[ni - 1] : 1;
  for (std::size_t k = ni; k < nn; ++k) strides[k] = last;
  return strides;
}

Tensor Tensor::view(const Shape& shape) const {
  Shape target = resolve_shape(shape, "view");
  auto strides = view_strides(target);
  if (!strides) {
    fail("view: a tensor of shape " + tmath::to_string(shape_) + " and strides " + tmath::to_string(strides_) +
         " cannot be viewed as " + tmath::to_string(target) + " without a copy (use reshape)");
  }
  return Tensor(storage_, target, *strides, offset_, dtype_);
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape target = resolve_shape(shape, "reshape");
  if (auto strides = view_strides(target)) return Tensor(storage_, target, *strides, offset_, dtype_);
  return contiguous().view(target);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape_, dtype_);
  copy_into(out, *this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor out = Tensor::empty(shape_, dtype);
  copy_into(out, *this);
  return out;
}

double Tensor::item() const {
  if (numel() != 1)
    fail("item: the tensor has " + std::to_string(numel()) + " elements, shape " + tmath::to_string(shape_));
  return at(Shape(shape_.size(), 0));
}

double Tensor::at(const std::vector<std::int64_t>& index) const {
  if (static_cast<std::int64_t>(index.size()) != dim()) {
    fail("at: " + std::to_string(index.size()) + " indices for a tensor of " + std::to_string(dim()) + " dimensions");
  }
  std::int64_t off = offset_;
  for (std::size_t d = 0; d < index.size(); ++d) {
    std::int64_t i = index[d];
    if (i < -shape_[d] || i >= shape_[d]) {
      fail("at: index " + std::to_string(i) + " is out of range for dimension " + std::to_string(d) + " of size " +
           std::to_string(shape_[d]));
    }
    if (i < 0) i += shape_[d];
    off += i * strides_[d];
  }
  const std::byte* p =
      static_cast<const std::byte*>(storage_->data()) + off * static_cast<std::int64_t>(size_of(dtype_));
  return visit_dtype(dtype_, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S v;
    std::memcpy(&v, p, sizeof(S));
    return convert<double>(v);
  });
}

std::string Tensor::to_string(std::size_t max_elements) const {
  std::ostringstream os;
  os << "tensor(" << tmath::to_string(shape_) << ", " << name(dtype_) << ")";
  if (!defined()) return "tensor(undefined)";
  std::vector<double> v = to_vector<double>();
  os << " [";
  for (std::size_t i = 0; i < v.size() && i < max_elements; ++i) os << (i ? ", " : "") << v[i];
  if (v.size() > max_elements) os << ", ...";
  os << "]";
  return os.str();
}

// --- copies ---------------------------------------------------------------------------
void copy_into(const Tensor& dst, const Tensor& src) {
  MISO_PROFILE_SCOPE("tmath.copy");
  if (broadcast_shapes(src.shape(), dst.shape(), "copy") != dst.shape()) {
    fail("copy: shape " + tmath::to_string(src.shape()) + " cannot be broadcast to " + tmath::to_string(dst.shape()));
  }
  auto loop = detail::make_loop<2>(dst.shape(), {&dst, &src});
  const DType dt = dst.dtype(), st = src.dtype();
  const auto dsize = static_cast<std::int64_t>(size_of(dt));
  const auto ssize = static_cast<std::int64_t>(size_of(st));
  detail::parallel_range(loop.numel, detail::kMinParallel, [&](std::int64_t b, std::int64_t e) {
    detail::for_runs<2>(loop, b, e, [&](auto ptrs, auto inner, std::int64_t n) {
      if (dt == st && inner[0] == dsize && inner[1] == ssize) {
        std::memcpy(ptrs[0], ptrs[1], static_cast<std::size_t>(n * dsize));
        return;
      }
      visit_dtype(dt, [&](auto dtag) {
        using D = typename decltype(dtag)::type;
        visit_dtype(st, [&](auto stag) {
          using S = typename decltype(stag)::type;
          for (std::int64_t i = 0; i < n; ++i) {
            S v;
            std::memcpy(&v, ptrs[1] + i * inner[1], sizeof(S));
            D d = convert<D>(v);
            std::memcpy(ptrs[0] + i * inner[0], &d, sizeof(D));
          }
        });
      });
    });
  });
}

namespace detail {

std::vector<std::int64_t> broadcast_byte_strides(const Tensor& t, const Shape& shape) {
  const auto esize = static_cast<std::int64_t>(size_of(t.dtype()));
  std::vector<std::int64_t> out(shape.size(), 0);
  const std::size_t lead = shape.size() - t.shape().size();
  for (std::size_t i = lead; i < shape.size(); ++i) {
    if (t.shape()[i - lead] != 1) out[i] = t.strides()[i - lead] * esize;
  }
  return out;
}

Shape coalesce(const Shape& shape, std::vector<std::int64_t>* strides, std::size_t operands) {
  Shape out;
  std::vector<std::vector<std::int64_t>> merged(operands);
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!out.empty()) {
      bool mergeable = true;
      for (std::size_t k = 0; k < operands; ++k) mergeable = mergeable && merged[k].back() == strides[k][d] * shape[d];
      if (mergeable) {
        out.back() *= shape[d];
        for (std::size_t k = 0; k < operands; ++k) merged[k].back() = strides[k][d];
        continue;
      }
    }
    out.push_back(shape[d]);
    for (std::size_t k = 0; k < operands; ++k) merged[k].push_back(strides[k][d]);
  }
  for (std::size_t k = 0; k < operands; ++k) strides[k] = std::move(merged[k]);
  return out;
}

void parallel_range(std::int64_t numel, std::int64_t min_chunk,
                    const std::function<void(std::int64_t, std::int64_t)>& body) {
  if (numel <= min_chunk) {
    if (numel > 0) body(0, numel);
    return;
  }
  auto& ex = nexus::Executor::global();
  std::int64_t grain = std::max<std::int64_t>(min_chunk, numel / (16 * static_cast<std::int64_t>(ex.concurrency())));
  nexus::parallel_for(
      0, static_cast<std::size_t>(numel),
      [&](std::size_t b, std::size_t e) { body(static_cast<std::int64_t>(b), static_cast<std::int64_t>(e)); },
      static_cast<std::size_t>(grain), ex);
}

}  // namespace detail

// --- creation ---------------------------------------------------------------------------
Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S v = convert<S>(value);
    S* p = t.data<S>();
    detail::parallel_range(t.numel(), detail::kMinParallel * 4,
                           [&](std::int64_t b, std::int64_t e) { std::fill(p + b, p + e, v); });
  });
  return t;
}

Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor arange(double start, double stop, double step, DType dtype) {
  if (step == 0 || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(stop)) {
    fail("arange: start, stop and a non-zero step must be finite");
  }
  auto n = static_cast<std::int64_t>(std::max(0.0, std::ceil((stop - start) / step)));
  Tensor t = Tensor::empty({n}, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S* p = t.data<S>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = convert<S>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor linspace(double start, double stop, std::int64_t count, DType dtype) {
  if (count < 0) fail("linspace: negative count " + std::to_string(count));
  Tensor t = Tensor::empty({count}, dtype);
  const double step = count > 1 ? (stop - start) / static_cast<double>(count - 1) : 0.0;
  visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S* p = t.data<S>();
    for (std::int64_t i = 0; i < count; ++i) {
      p[i] = convert<S>(i == count - 1 && count > 1 ? stop : start + static_cast<double>(i) * step);
    }
  });
  return t;
}

Tensor eye(std::int64_t rows, std::int64_t cols, DType dtype) {
  if (cols < 0) cols = rows;
  Tensor t = zeros({rows, cols}, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S* p = t.data<S>();
    for (std::int64_t i = 0; i < std::min(rows, cols); ++i) p[i * cols + i] = convert<S>(1.0);
  });
  return t;
}

Tensor from_values(std::initializer_list<double> values, const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  if (static_cast<std::int64_t>(values.size()) != t.numel()) {
    fail("from_values: " + std::to_string(values.size()) + " values for shape " + tmath::to_string(shape));
  }
  visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S* p = t.data<S>();
    std::int64_t i = 0;
    for (double v : values) p[i++] = convert<S>(v);
  });
  return t;
}

double Generator::normal() noexcept {
  if (spare_) {
    double v = *spare_;
    spare_.reset();
    return v;
  }
  double u1 = 0;
  while (u1 <= 0) u1 = uniform();
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  spare_ = r * std::sin(2 * std::numbers::pi * u2);
  return r * std::cos(2 * std::numbers::pi * u2);
}

Tensor rand_uniform(const Shape& shape, Generator& gen, double low, double high, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S* p = t.data<S>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = convert<S>(low + (high - low) * gen.uniform());
  });
  return t;
}

Tensor rand_normal(const Shape& shape, Generator& gen, double mean, double stddev, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  visit_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S* p = t.data<S>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = convert<S>(mean + stddev * gen.normal());
  });
  return t;
}

}  // namespace miso::tmath
