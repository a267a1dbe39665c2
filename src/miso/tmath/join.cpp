// Joining and indexing: concatenate, stack, index_select, gather.
//
// concatenate and stack promote mixed dtypes (dtype.hpp) and copy each input
// into a view of the result with copy_into, which converts and follows strides.
// Indices (i32 or i64 tensors of any layout) may be negative and then count
// from the end like Python's: -1 is the last element along the axis, in both
// index_select and gather (PyTorch's gather rejects negative indices; NumPy's
// take_along_axis wraps them as here). An index outside [-size, size) is an
// error naming the index, its position, the axis and the axis's size.
#include <cstring>
#include <string>

#include "miso/profiler/span.hpp"
#include "miso/tmath/kernels.hpp"
#include "miso/tmath/ops.hpp"

namespace miso::tmath {

namespace {

using detail::fail;

void require_inputs(const std::vector<Tensor>& tensors, const char* op) {
  if (tensors.empty()) fail(std::string(op) + ": no tensors given (the list is empty)");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) fail(std::string(op) + ": tensor " + std::to_string(i) + " is undefined");
  }
}

DType promoted(const std::vector<Tensor>& tensors) {
  DType t = tensors.front().dtype();
  for (const Tensor& x : tensors) t = promote(t, x.dtype());
  return t;
}

// The indices of `index` (i32 or i64) in row-major order, wrapped into [0, size).
std::vector<std::int64_t> checked_indices(const Tensor& index, std::int64_t axis, std::int64_t size, const char* op) {
  if (!index.defined()) fail(std::string(op) + ": the index tensor is undefined");
  if (index.dtype() != DType::I32 && index.dtype() != DType::I64) {
    fail(std::string(op) + ": the index tensor must be i32 or i64, not " + std::string(name(index.dtype())));
  }
  std::vector<std::int64_t> idx = index.to_vector<std::int64_t>();
  const Shape strides = contiguous_strides(index.shape());
  for (std::size_t p = 0; p < idx.size(); ++p) {
    std::int64_t i = idx[p];
    if (i < -size || i >= size) {
      std::string where;
      if (index.dim() > 1) {
        Shape pos(index.shape().size());
        auto rest = static_cast<std::int64_t>(p);
        for (std::size_t d = 0; d < pos.size(); ++d) {
          pos[d] = rest / strides[d];
          rest %= strides[d];
        }
        where = to_string(pos);
      } else {
        where = std::to_string(p);
      }
      fail(std::string(op) + ": index " + std::to_string(i) + " (at position " + where +
           " of the index) is out of range for axis " + std::to_string(axis) + " of size " + std::to_string(size));
    }
    if (i < 0) idx[p] = i + size;
  }
  return idx;
}

// Copies `esize` bytes; the switch lets the compiler use one load and store.
inline void copy_element(std::byte* dst, const std::byte* src, std::size_t esize) {
  switch (esize) {
    case 1: std::memcpy(dst, src, 1); break;
    case 2: std::memcpy(dst, src, 2); break;
    case 4: std::memcpy(dst, src, 4); break;
    case 8: std::memcpy(dst, src, 8); break;
    default: std::memcpy(dst, src, esize); break;
  }
}

}  // namespace

Tensor concatenate(const std::vector<Tensor>& tensors, std::int64_t axis) {
  MISO_PROFILE_SCOPE("tmath.concatenate");
  require_inputs(tensors, "concatenate");
  const Tensor& first = tensors.front();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (t.dim() == 0) {
      fail("concatenate: tensor " + std::to_string(i) +
           " is zero-dimensional (shape []): there is no axis to join along (use stack)");
    }
    if (t.dim() != first.dim()) {
      fail("concatenate: tensor " + std::to_string(i) + " has shape " + to_string(t.shape()) + " (" +
           std::to_string(t.dim()) + " dimensions) but tensor 0 has shape " + to_string(first.shape()) + " (" +
           std::to_string(first.dim()) + " dimensions)");
    }
  }
  const std::int64_t ax = normalize_dim(axis, first.dim(), "concatenate");
  const auto a = static_cast<std::size_t>(ax);
  Shape out_shape = first.shape();
  out_shape[a] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Shape& s = tensors[i].shape();
    for (std::size_t d = 0; d < s.size(); ++d) {
      if (d != a && s[d] != first.shape()[d]) {
        fail("concatenate: tensor " + std::to_string(i) + " has shape " + to_string(s) + " but tensor 0 has shape " +
             to_string(first.shape()) + ": sizes must match except on axis " + std::to_string(ax) + " (dimension " +
             std::to_string(d) + ": " + std::to_string(s[d]) + " vs " + std::to_string(first.shape()[d]) + ")");
      }
    }
    out_shape[a] += s[a];
  }
  Tensor out = Tensor::empty(out_shape, promoted(tensors));
  std::int64_t at = 0;
  for (const Tensor& t : tensors) {
    const std::int64_t n = t.shape()[a];
    if (n > 0 && t.numel() > 0) copy_into(out.slice(ax, at, at + n), t);
    at += n;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t axis) {
  MISO_PROFILE_SCOPE("tmath.stack");
  require_inputs(tensors, "stack");
  const Tensor& first = tensors.front();
  for (std::size_t i = 1; i < tensors.size(); ++i) {
    if (tensors[i].shape() != first.shape()) {
      fail("stack: tensor " + std::to_string(i) + " has shape " + to_string(tensors[i].shape()) +
           " but tensor 0 has shape " + to_string(first.shape()) + " (all shapes must be equal)");
    }
  }
  const std::int64_t ax = normalize_dim(axis, first.dim() + 1, "stack");
  Shape out_shape = first.shape();
  out_shape.insert(out_shape.begin() + ax, static_cast<std::int64_t>(tensors.size()));
  Tensor out = Tensor::empty(out_shape, promoted(tensors));
  if (out.numel() == 0) return out;
  for (std::size_t i = 0; i < tensors.size(); ++i) copy_into(out.select(ax, static_cast<std::int64_t>(i)), tensors[i]);
  return out;
}

Tensor index_select(const Tensor& a, std::int64_t axis, const Tensor& index) {
  MISO_PROFILE_SCOPE("tmath.index_select");
  if (!a.defined()) fail("index_select: the input tensor is undefined");
  if (a.dim() == 0) fail("index_select: the input is zero-dimensional (shape []): there is no axis to select along");
  if (index.defined() && index.dim() > 1) {
    fail("index_select: the index must be one-dimensional, got shape " + to_string(index.shape()));
  }
  const std::int64_t ax = normalize_dim(axis, a.dim(), "index_select");
  const auto ua = static_cast<std::size_t>(ax);
  const std::int64_t n = a.shape()[ua];
  const std::vector<std::int64_t> idx = checked_indices(index, ax, n, "index_select");
  const auto k = static_cast<std::int64_t>(idx.size());

  Shape out_shape = a.shape();
  out_shape[ua] = k;
  Tensor out = Tensor::empty(out_shape, a.dtype());
  if (out.numel() == 0) return out;

  // a as [outer, n, inner] (contiguous): out row (o, j) is a row (o, idx[j]).
  const Tensor src = a.contiguous();
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < ua; ++d) outer *= a.shape()[d];
  for (std::size_t d = ua + 1; d < a.shape().size(); ++d) inner *= a.shape()[d];
  const auto row_bytes = static_cast<std::size_t>(inner) * size_of(a.dtype());
  const auto* s = static_cast<const std::byte*>(src.raw_data());
  auto* o = static_cast<std::byte*>(out.raw_data());
  const std::int64_t min_rows = std::max<std::int64_t>(1, detail::kMinParallel / std::max<std::int64_t>(inner, 1));
  detail::parallel_range(outer * k, min_rows, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t r = b; r < e; ++r) {
      const std::int64_t oi = r / k, j = r % k;
      std::memcpy(o + static_cast<std::size_t>(r) * row_bytes,
                  s + static_cast<std::size_t>(oi * n + idx[static_cast<std::size_t>(j)]) * row_bytes, row_bytes);
    }
  });
  return out;
}

Tensor gather(const Tensor& a, std::int64_t axis, const Tensor& index) {
  MISO_PROFILE_SCOPE("tmath.gather");
  if (!a.defined()) fail("gather: the input tensor is undefined");
  if (!index.defined()) fail("gather: the index tensor is undefined");
  if (index.dim() != a.dim()) {
    fail("gather: the index has shape " + to_string(index.shape()) + " (" + std::to_string(index.dim()) +
         " dimensions) but the input has shape " + to_string(a.shape()) + " (" + std::to_string(a.dim()) +
         " dimensions); they must have the same number of dimensions");
  }
  if (a.dim() == 0) {
    // A zero-dimensional input and index: index 0 or -1 picks the element.
    return gather(a.unsqueeze(0), 0, index.unsqueeze(0)).squeeze(0);
  }
  const std::int64_t ax = normalize_dim(axis, a.dim(), "gather");
  const auto ua = static_cast<std::size_t>(ax);
  for (std::size_t d = 0; d < a.shape().size(); ++d) {
    if (d != ua && index.shape()[d] > a.shape()[d]) {
      fail("gather: the index has shape " + to_string(index.shape()) + ", larger than the input's " +
           to_string(a.shape()) + " in dimension " + std::to_string(d) + " (" + std::to_string(index.shape()[d]) +
           " > " + std::to_string(a.shape()[d]) + "; only axis " + std::to_string(ax) + " may differ)");
    }
  }
  const std::vector<std::int64_t> idx = checked_indices(index, ax, a.shape()[ua], "gather");
  Tensor out = Tensor::empty(index.shape(), a.dtype());
  if (out.numel() == 0) return out;

  const Shape& shape = index.shape();
  const std::size_t nd = shape.size();
  const std::size_t esize = size_of(a.dtype());
  const auto* base = static_cast<const std::byte*>(a.raw_data());
  auto* o = static_cast<std::byte*>(out.raw_data());
  Shape byte_strides(nd);
  for (std::size_t d = 0; d < nd; ++d) byte_strides[d] = a.strides()[d] * static_cast<std::int64_t>(esize);
  detail::parallel_range(out.numel(), detail::kMinParallel, [&](std::int64_t b, std::int64_t e) {
    // The multi-index of b, then counted up element by element.
    Shape pos(nd);
    std::int64_t rest = b;
    for (std::size_t d = nd; d-- > 0;) {
      pos[d] = rest % shape[d];
      rest /= shape[d];
    }
    std::int64_t off = 0;  // byte offset of pos in a, without the axis term
    for (std::size_t d = 0; d < nd; ++d) {
      if (d != ua) off += pos[d] * byte_strides[d];
    }
    for (std::int64_t p = b; p < e; ++p) {
      const std::int64_t src = off + idx[static_cast<std::size_t>(p)] * byte_strides[ua];
      copy_element(o + static_cast<std::size_t>(p) * esize, base + src, esize);
      for (std::size_t d = nd; d-- > 0;) {
        if (++pos[d] < shape[d]) {
          if (d != ua) off += byte_strides[d];
          break;
        }
        if (d != ua) off -= (shape[d] - 1) * byte_strides[d];
        pos[d] = 0;
      }
    }
  });
  return out;
}

}  // namespace miso::tmath
