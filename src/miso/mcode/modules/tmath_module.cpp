// The `tmath` module of M-CODE: tensors as `tensor` handles over miso::tmath::Tensor.
//
// One binding table of module functions (tmath.zeros, tmath.randn, ...) and one method
// table on the handle type (t.sum(), t.shape, ...). Where a module function and a method
// take the tensor first (tmath.softmax(t, axis) / t.softmax(axis)), both entries share
// one native: a method's receiver is args[0], exactly where the module function's tensor
// argument is. Tensors are immutable from scripts (no in-place operation is bound), so a
// handle cloned for a worker VM shares the storage with the original.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/tmath/custom_kernel.hpp"
#include "miso/tmath/ops.hpp"
#include "miso/tmath/tensor.hpp"

namespace miso::mcode {

namespace tm = miso::tmath;

namespace {

Value wrap(const NativeCallContext& context, tm::Tensor t) {
  std::size_t bytes = t.nbytes();
  return make_handle(context.heap(), kTensorHandle, std::move(t), bytes);
}

const tm::Tensor& self(Args args) { return *args[0].as_handle()->data_as<tm::Tensor>(); }

const tm::Tensor& arg_tensor(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  return arg_handle<tm::Tensor>(context, args, i, kTensorHandle, what);
}

tm::DType arg_dtype(const NativeCallContext& context, Args args, std::size_t i, tm::DType fallback) {
  if (!has_arg(args, i)) return fallback;
  std::string_view text = arg_string(context, args, i, "dtype");
  return guarded(context, [&] { return tm::parse_dtype(text); });
}

// A shape argument: a list of non-negative ints.
tm::Shape arg_shape(const NativeCallContext& context, Args args, std::size_t i) {
  tm::Shape shape = arg_int_list(context, args, i, "shape");
  for (std::int64_t d : shape)
    if (d < 0) context.error(context.name() + ": shape " + tm::to_string(shape) + " has a negative dimension");
  return shape;
}

// Refuses a tensor larger than the VM's memory budget before the engine allocates it
// (the handle would be refused right after, but only once the memory was taken).
void check_size(const NativeCallContext& context, const tm::Shape& shape, tm::DType dtype) {
  double bytes = static_cast<double>(tm::size_of(dtype));
  for (std::int64_t d : shape) bytes *= static_cast<double>(d);
  std::size_t budget = context.vm.options().memory_budget;
  double limit = budget != 0 ? static_cast<double>(budget) : 1e15;
  if (bytes > limit)
    context.error(context.name() + ": a tensor of shape " + tm::to_string(shape) + " (" + format_double(bytes) +
                  " bytes) exceeds the memory budget");
}

// Axes of a reduction: nothing/nil (all), an int, or a list of ints.
std::vector<std::int64_t> arg_axes(const NativeCallContext& context, Args args, std::size_t i) {
  if (!has_arg(args, i)) return {};
  if (args[i].is_int()) return {args[i].as_int()};
  if (args[i].is_list()) return arg_int_list(context, args, i, "axis");
  argument_error(context, "axis", "an int or a list of ints", args[i]);
}

// Checks the number of arguments of a variadic binding. A method's receiver is args[0]
// but not an argument the script wrote, so it is not counted in the message.
void check_arg_count(const NativeCallContext& context, Args args, std::size_t min, std::size_t max) {
  if (args.size() < min || args.size() > max) {
    std::size_t skip = context.native == nullptr ? 1 : 0;
    min -= skip;
    max -= skip;
    std::string expected = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    context.error(context.name() + ": expects " + expected + " arguments, got " + std::to_string(args.size() - skip));
  }
}

std::int64_t arg_axis(const NativeCallContext& context, Args args, std::size_t i, std::int64_t fallback) {
  return has_arg(args, i) ? arg_int(context, args, i, "axis") : fallback;
}

// --- scalars out -----------------------------------------------------------------

Value element_value(Heap& heap, tm::DType dtype, double v) {
  if (dtype == tm::DType::Bool) return Value::boolean(v != 0.0);
  if (tm::is_integer(dtype)) return heap.integer(static_cast<std::int64_t>(v));
  return Value::number(v);
}

// --- display ---------------------------------------------------------------------

constexpr std::int64_t kDisplayMaxElements = 100;

// Shortest text that reads back as the same float: an f32 1.4142135f shows as
// 1.4142135, not as the digits of its exact double value.
std::string format_float(float f) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), f);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

void append_element(std::string& out, tm::DType dtype, double v) {
  if (dtype == tm::DType::Bool)
    out += v != 0.0 ? "true" : "false";
  else if (tm::is_integer(dtype))
    out += std::to_string(static_cast<std::int64_t>(v));
  else if (dtype == tm::DType::F64 || !std::isfinite(v))
    out += format_double(v);
  else
    out += format_float(static_cast<float>(v));
}

void append_nested(std::string& out, const tm::Shape& shape, std::size_t dim, const std::vector<double>& v,
                   std::size_t& pos, tm::DType dtype) {
  if (dim == shape.size()) {
    append_element(out, dtype, v[pos++]);
    return;
  }
  out.push_back('[');
  for (std::int64_t i = 0; i < shape[dim]; ++i) {
    if (i > 0) out += ", ";
    append_nested(out, shape, dim + 1, v, pos, dtype);
  }
  out.push_back(']');
}

std::string display_tensor(const void* data) {
  const tm::Tensor& t = *static_cast<const tm::Tensor*>(data);
  if (!t.defined()) return "tensor(undefined)";
  std::string dtype(tm::name(t.dtype()));
  if (t.numel() > kDisplayMaxElements) return "tensor(shape=" + tm::to_string(t.shape()) + ", dtype=" + dtype + ")";
  std::vector<double> v = t.to_vector<double>();
  std::string out = "tensor(";
  std::size_t pos = 0;
  append_nested(out, t.shape(), 0, v, pos, t.dtype());
  out += ", dtype=" + dtype + ")";
  return out;
}

// --- operators -------------------------------------------------------------------

// A scalar operand as a zero-dimensional tensor of the dtype the engine gives scalars
// next to `other` (ints stay ints next to integer tensors; fractions make f32).
tm::Tensor scalar_operand(Value v, tm::DType other) {
  double d = v.to_double();
  return tm::scalar(d, tm::scalar_operand_dtype(d, other));
}

Value tensor_binary(NativeCallContext& context, HandleOp op, Value a, Value b) {
  std::string name = std::string("tensor ").append(handle_op_text(op));
  if (op == HandleOp::Negate) {
    const tm::Tensor& x = *a.as_handle()->data_as<tm::Tensor>();
    return wrap(context, guarded(context, name, [&] { return tm::neg(x); }));
  }
  bool a_tensor = a.is_handle() && a.as_handle()->is(kTensorHandle);
  bool b_tensor = b.is_handle() && b.as_handle()->is(kTensorHandle);
  if ((!a_tensor && !a.is_number()) || (!b_tensor && !b.is_number()))
    context.error(name + ": operands must be tensors, ints or floats, got " + type_name(a) + " and " + type_name(b));
  tm::BinaryOp bop{};
  switch (op) {
    case HandleOp::Add: bop = tm::BinaryOp::Add; break;
    case HandleOp::Subtract: bop = tm::BinaryOp::Sub; break;
    case HandleOp::Multiply: bop = tm::BinaryOp::Mul; break;
    case HandleOp::Divide: bop = tm::BinaryOp::Div; break;
    case HandleOp::Power: bop = tm::BinaryOp::Pow; break;
    case HandleOp::MatMul:
      if (!a_tensor || !b_tensor)
        context.error(name + ": both operands must be tensors, got " + type_name(a) + " and " + type_name(b));
      return wrap(context, guarded(context, name, [&] {
                    return tm::matmul(*a.as_handle()->data_as<tm::Tensor>(), *b.as_handle()->data_as<tm::Tensor>());
                  }));
    default: context.error(name + ": not supported for tensors");
  }
  tm::Tensor result = guarded(context, name, [&] {
    if (a_tensor && b_tensor)
      return tm::binary(bop, *a.as_handle()->data_as<tm::Tensor>(), *b.as_handle()->data_as<tm::Tensor>());
    if (a_tensor) {
      const tm::Tensor& x = *a.as_handle()->data_as<tm::Tensor>();
      return tm::binary(bop, x, scalar_operand(b, x.dtype()));
    }
    const tm::Tensor& y = *b.as_handle()->data_as<tm::Tensor>();
    return tm::binary(bop, scalar_operand(a, y.dtype()), y);
  });
  return wrap(context, std::move(result));
}

// --- construction ----------------------------------------------------------------

// Walks a nested list: records the shape from the first path, checks every other path
// against it, and collects the leaves in row-major order.
struct NestedReader {
  const NativeCallContext& context;
  tm::Shape shape;
  std::vector<double> values;
  std::vector<std::int64_t> ints;
  bool all_ints = true;
  bool all_bools = true;

  void read(Value v, std::size_t depth) {
    if (v.is_list()) {
      const List* list = v.as_list();
      if (depth == shape.size()) {
        if (!values.empty()) ragged();
        shape.push_back(static_cast<std::int64_t>(list->size()));
      } else if (shape[depth] != static_cast<std::int64_t>(list->size())) {
        ragged();
      }
      if (depth > 64) context.error(context.name() + ": data is nested too deeply");
      for (Value item : list->items()) read(item, depth + 1);
      return;
    }
    if (depth != shape.size()) ragged();
    if (v.is_bool()) {
      values.push_back(v.as_bool() ? 1.0 : 0.0);
      ints.push_back(v.as_bool() ? 1 : 0);
      all_ints = false;
      return;
    }
    if (!v.is_number()) argument_error(context, "data", "a nested list of numbers", v);
    all_bools = false;
    values.push_back(v.to_double());
    if (v.is_int())
      ints.push_back(v.as_int());
    else
      all_ints = false;
  }
  [[noreturn]] void ragged() { context.error(context.name() + ": data is not rectangular (ragged nested lists)"); }
};

Value tmath_tensor(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 2);
  NestedReader reader{context, {}, {}, {}, true, true};
  reader.read(args[0], 0);
  bool any = !reader.values.empty();
  tm::DType inferred = any && reader.all_bools  ? tm::DType::Bool
                       : any && reader.all_ints ? tm::DType::I64
                                                : tm::DType::F32;
  tm::DType dtype = arg_dtype(context, args, 1, inferred);
  tm::Tensor t = guarded(context, [&] {
    if (reader.all_ints && !reader.all_bools) return tm::from_vector(reader.ints, reader.shape).to(dtype);
    return tm::from_vector(reader.values, reader.shape).to(dtype);
  });
  return wrap(context, std::move(t));
}

template <tm::Tensor (*Make)(const tm::Shape&, tm::DType)>
Value tmath_filled(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 2);
  tm::Shape shape = arg_shape(context, args, 0);
  tm::DType dtype = arg_dtype(context, args, 1, tm::DType::F32);
  check_size(context, shape, dtype);
  return wrap(context, guarded(context, [&] { return Make(shape, dtype); }));
}

tm::Tensor make_zeros(const tm::Shape& shape, tm::DType dtype) { return tm::zeros(shape, dtype); }
tm::Tensor make_ones(const tm::Shape& shape, tm::DType dtype) { return tm::ones(shape, dtype); }

Value tmath_full(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 2, 3);
  tm::Shape shape = arg_shape(context, args, 0);
  double value = arg_number(context, args, 1, "value");
  tm::DType dtype = arg_dtype(context, args, 2, args[1].is_int() ? tm::DType::I64 : tm::DType::F32);
  check_size(context, shape, dtype);
  return wrap(context, guarded(context, [&] { return tm::full(shape, value, dtype); }));
}

// arange(stop) / arange(start, stop, step?, dtype?): i64 when every bound is an int.
Value tmath_arange(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 4);
  double start = 0, stop = 0, step = 1;
  bool ints = true;
  std::size_t numbers = 0;
  while (numbers < args.size() && numbers < 3 && args[numbers].is_number()) {
    ints = ints && args[numbers].is_int();
    ++numbers;
  }
  if (numbers == 0) argument_error(context, "stop", "a number", args[0]);
  if (numbers == 1) {
    stop = args[0].to_double();
  } else {
    start = args[0].to_double();
    stop = args[1].to_double();
    if (numbers == 3) step = args[2].to_double();
  }
  if (step == 0 || !std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step))
    context.error(context.name() + ": step must be non-zero and bounds finite");
  tm::DType dtype = arg_dtype(context, args, numbers, ints ? tm::DType::I64 : tm::DType::F32);
  double count = std::ceil((stop - start) / step);
  check_size(context, {static_cast<std::int64_t>(std::max(count, 0.0))}, dtype);
  return wrap(context, guarded(context, [&] { return tm::arange(start, stop, step, dtype); }));
}

Value tmath_linspace(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 3, 4);
  double start = arg_number(context, args, 0, "start");
  double stop = arg_number(context, args, 1, "stop");
  std::int64_t count = arg_int(context, args, 2, "count");
  if (count < 0) context.error(context.name() + ": count must be >= 0");
  tm::DType dtype = arg_dtype(context, args, 3, tm::DType::F32);
  check_size(context, {count}, dtype);
  return wrap(context, guarded(context, [&] { return tm::linspace(start, stop, count, dtype); }));
}

Value tmath_eye(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 3);
  std::int64_t rows = arg_int(context, args, 0, "rows");
  std::int64_t cols = has_arg(args, 1) ? arg_int(context, args, 1, "cols") : rows;
  if (rows < 0 || cols < 0) context.error(context.name() + ": sizes must be >= 0");
  tm::DType dtype = arg_dtype(context, args, 2, tm::DType::F32);
  check_size(context, {rows, cols}, dtype);
  return wrap(context, guarded(context, [&] { return tm::eye(rows, cols, dtype); }));
}

// randn(shape, seed?, dtype?) / rand(shape, seed?, dtype?): the same seed gives the same
// tensor on every run; without one the generator is seeded from std::random_device.
template <bool Normal>
Value tmath_random(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 3);
  tm::Shape shape = arg_shape(context, args, 0);
  std::uint64_t seed = has_arg(args, 1) ? static_cast<std::uint64_t>(arg_int(context, args, 1, "seed"))
                                        : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  tm::DType dtype = arg_dtype(context, args, 2, tm::DType::F32);
  if (!tm::is_floating(dtype)) context.error(context.name() + ": dtype must be a floating type");
  check_size(context, shape, dtype);
  tm::Generator gen(seed);
  return wrap(context, guarded(context, [&] {
                return Normal ? tm::rand_normal(shape, gen, 0.0, 1.0, dtype)
                              : tm::rand_uniform(shape, gen, 0.0, 1.0, dtype);
              }));
}

// --- properties --------------------------------------------------------------------

Value prop_shape(NativeCallContext& context, Args args) { return make_int_list(context.heap(), self(args).shape()); }
Value prop_dtype(NativeCallContext& context, Args args) {
  return make_string(context.heap(), tm::name(self(args).dtype()));
}
Value prop_ndim(NativeCallContext& context, Args args) { return context.heap().integer(self(args).dim()); }
Value prop_size(NativeCallContext& context, Args args) { return context.heap().integer(self(args).numel()); }

// Reverses all dimensions (NumPy's .T and transpose()).
tm::Tensor reversed_dims(const tm::Tensor& t) {
  std::vector<std::int64_t> order;
  for (std::int64_t d = t.dim() - 1; d >= 0; --d) order.push_back(d);
  return t.permute(order);
}

Value prop_t(NativeCallContext& context, Args args) {
  const tm::Tensor& t = self(args);
  return wrap(context, guarded(context, [&] { return reversed_dims(t); }));
}

// --- methods (also module functions taking the tensor first) ------------------------

using Reduce = tm::Tensor (*)(const tm::Tensor&, const std::vector<std::int64_t>&, bool);

template <Reduce R>
Value tensor_reduce(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 3);
  const tm::Tensor& t = arg_tensor(context, args, 0, "tensor");
  std::vector<std::int64_t> axes = arg_axes(context, args, 1);
  bool keepdims = has_arg(args, 2) && arg_bool(context, args, 2, "keepdims");
  return wrap(context, guarded(context, [&] { return R(t, axes, keepdims); }));
}

tm::Tensor reduce_sum(const tm::Tensor& t, const std::vector<std::int64_t>& a, bool k) { return tm::sum(t, a, k); }
tm::Tensor reduce_mean(const tm::Tensor& t, const std::vector<std::int64_t>& a, bool k) { return tm::mean(t, a, k); }
tm::Tensor reduce_max(const tm::Tensor& t, const std::vector<std::int64_t>& a, bool k) { return tm::max(t, a, k); }
tm::Tensor reduce_min(const tm::Tensor& t, const std::vector<std::int64_t>& a, bool k) { return tm::min(t, a, k); }

Value tensor_argmax(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 2);
  const tm::Tensor& t = arg_tensor(context, args, 0, "tensor");
  std::optional<std::int64_t> axis;
  if (has_arg(args, 1)) axis = arg_int(context, args, 1, "axis");
  tm::Tensor r = guarded(context, [&] { return tm::argmax(t, axis); });
  // A whole-tensor argmax is an index: give the script an int, not a 0-d tensor.
  if (!axis) return context.heap().integer(static_cast<std::int64_t>(r.item()));
  return wrap(context, std::move(r));
}

template <tm::UnaryOp Op>
Value tensor_unary(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 1);
  const tm::Tensor& t = arg_tensor(context, args, 0, "tensor");
  return wrap(context, guarded(context, [&] { return tm::unary(Op, t); }));
}

// reshape([2, 3]) or reshape(2, 3); -1 infers one dimension.
Value tensor_reshape(NativeCallContext& context, Args args) {
  const tm::Tensor& t = self(args);
  tm::Shape shape;
  if (args.size() == 2 && args[1].is_list()) {
    shape = arg_int_list(context, args, 1, "shape");
  } else {
    for (std::size_t i = 1; i < args.size(); ++i) shape.push_back(arg_int(context, args, i, "dimension"));
  }
  return wrap(context, guarded(context, [&] { return t.reshape(shape).contiguous(); }));
}

Value tensor_flatten(NativeCallContext& context, Args args) {
  const tm::Tensor& t = self(args);
  return wrap(context, guarded(context, [&] { return t.flatten().contiguous(); }));
}

// transpose(): all dimensions reversed; transpose(a, b): swaps two.
Value tensor_transpose(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 3);
  const tm::Tensor& t = self(args);
  if (args.size() == 1) return wrap(context, guarded(context, [&] { return reversed_dims(t); }));
  if (args.size() != 3) context.error(context.name() + ": expects no arguments or two axes");
  std::int64_t a = arg_int(context, args, 1, "first axis");
  std::int64_t b = arg_int(context, args, 2, "second axis");
  return wrap(context, guarded(context, [&] { return t.transpose(a, b); }));
}

Value tensor_astype(NativeCallContext& context, Args args) {
  const tm::Tensor& t = self(args);
  if (!has_arg(args, 1)) argument_error(context, "dtype", "a string", Value());
  tm::DType dtype = arg_dtype(context, args, 1, t.dtype());
  return wrap(context, guarded(context, [&] { return t.to(dtype).contiguous(); }));
}

Value tensor_softmax(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 2);
  const tm::Tensor& t = arg_tensor(context, args, 0, "tensor");
  std::int64_t axis = arg_axis(context, args, 1, -1);
  return wrap(context, guarded(context, [&] { return tm::softmax(t, axis); }));
}

Value tensor_matmul(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 2, 2);
  const tm::Tensor& a = arg_tensor(context, args, 0, "first operand");
  const tm::Tensor& b = arg_tensor(context, args, 1, "second operand");
  return wrap(context, guarded(context, [&] { return tm::matmul(a, b); }));
}

// Nested lists of ints (integer dtypes), bools or floats.
Value nested_list(Heap& heap, const tm::Shape& shape, std::size_t dim, const std::vector<double>& v, std::size_t& pos,
                  tm::DType dtype) {
  if (dim == shape.size()) return element_value(heap, dtype, v[pos++]);
  List* list = heap.list(static_cast<std::size_t>(shape[dim]));
  for (std::int64_t i = 0; i < shape[dim]; ++i) list->push(heap, nested_list(heap, shape, dim + 1, v, pos, dtype));
  return Value::object(list);
}

Value tensor_tolist(NativeCallContext& context, Args args) {
  const tm::Tensor& t = self(args);
  std::vector<double> v = guarded(context, [&] { return t.to_vector<double>(); });
  std::size_t pos = 0;
  return nested_list(context.heap(), t.shape(), 0, v, pos, t.dtype());
}

Value tensor_item(NativeCallContext& context, Args args) {
  const tm::Tensor& t = self(args);
  if (t.numel() != 1)
    context.error(context.name() + ": only a one-element tensor has an item, this one has shape " +
                  tm::to_string(t.shape()));
  return element_value(context.heap(), t.dtype(), guarded(context, [&] { return t.item(); }));
}

// get(i, j, ...): one element; negative indices count from the end.
Value tensor_get(NativeCallContext& context, Args args) {
  const tm::Tensor& t = self(args);
  std::vector<std::int64_t> index;
  for (std::size_t i = 1; i < args.size(); ++i) index.push_back(arg_int(context, args, i, "index"));
  if (static_cast<std::int64_t>(index.size()) != t.dim())
    context.error(context.name() + ": expects " + std::to_string(t.dim()) + " indices for shape " +
                  tm::to_string(t.shape()) + ", got " + std::to_string(index.size()));
  for (std::size_t d = 0; d < index.size(); ++d) {
    std::int64_t n = t.shape()[d];
    if (index[d] < -n || index[d] >= n)
      context.error(context.name() + ": index " + std::to_string(index[d]) + " is out of range for dimension " +
                    std::to_string(d) + " of size " + std::to_string(n));
    if (index[d] < 0) index[d] += n;
  }
  return element_value(context.heap(), t.dtype(), guarded(context, [&] { return t.at(index); }));
}

Value tensor_len(NativeCallContext& context, Args args) {
  const tm::Tensor& t = self(args);
  if (t.dim() == 0) context.error(context.name() + ": a zero-dimensional tensor has no length");
  return context.heap().integer(t.shape()[0]);
}

// --- module-only functions -------------------------------------------------------------

// layer_norm(x, weight?, bias?, eps?): over the last dimension.
Value tmath_layer_norm(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 4);
  const tm::Tensor& x = arg_tensor(context, args, 0, "x");
  tm::Tensor weight, bias;
  if (has_arg(args, 1)) weight = arg_tensor(context, args, 1, "weight");
  if (has_arg(args, 2)) bias = arg_tensor(context, args, 2, "bias");
  double eps = has_arg(args, 3) ? arg_number(context, args, 3, "eps") : 1e-5;
  return wrap(context, guarded(context, [&] { return tm::layer_norm(x, weight, bias, eps); }));
}

// attention(q, k, v, causal?, scale?): scaled dot-product attention.
Value tmath_attention(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 3, 5);
  const tm::Tensor& q = arg_tensor(context, args, 0, "q");
  const tm::Tensor& k = arg_tensor(context, args, 1, "k");
  const tm::Tensor& v = arg_tensor(context, args, 2, "v");
  bool causal = has_arg(args, 3) && arg_bool(context, args, 3, "causal");
  double scale = has_arg(args, 4) ? arg_number(context, args, 4, "scale") : 0.0;
  return wrap(context, guarded(context, [&] { return tm::scaled_dot_product_attention(q, k, v, causal, scale); }));
}

std::vector<tm::Tensor> arg_tensor_list(const NativeCallContext& context, Args args, std::size_t i) {
  List* list = arg_list(context, args, i, "tensors");
  std::vector<tm::Tensor> out;
  for (Value item : list->items()) {
    if (!item.is_handle() || !item.as_handle()->is(kTensorHandle))
      argument_error(context, "tensors", "a list of tensors", item);
    out.push_back(*item.as_handle()->data_as<tm::Tensor>());
  }
  if (out.empty()) context.error(context.name() + ": needs at least one tensor");
  return out;
}

template <bool Stack>
Value tmath_join(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 1, 2);
  std::vector<tm::Tensor> tensors = arg_tensor_list(context, args, 0);
  std::int64_t axis = arg_axis(context, args, 1, 0);
  return wrap(context,
              guarded(context, [&] { return Stack ? tm::stack(tensors, axis) : tm::concatenate(tensors, axis); }));
}

bool is_tensor(Value v) { return v.is_handle() && v.as_handle()->is(kTensorHandle); }

// where(cond, a, b): a number next to a tensor takes the tensor's scalar dtype.
Value tmath_where(NativeCallContext& context, Args args) {
  const tm::Tensor& cond = arg_tensor(context, args, 0, "cond");
  for (std::size_t i = 1; i < 3; ++i)
    if (!is_tensor(args[i]) && !args[i].is_number())
      argument_error(context, i == 1 ? "a" : "b", "a tensor or a number", args[i]);
  tm::DType like = is_tensor(args[1])   ? args[1].as_handle()->data_as<tm::Tensor>()->dtype()
                   : is_tensor(args[2]) ? args[2].as_handle()->data_as<tm::Tensor>()->dtype()
                                        : tm::DType::F32;
  auto operand = [&](Value v) {
    return is_tensor(v) ? *v.as_handle()->data_as<tm::Tensor>() : scalar_operand(v, like);
  };
  return wrap(context, guarded(context, [&] { return tm::where(cond, operand(args[1]), operand(args[2])); }));
}

// map(name, a, b?) / a.map(name, b?): a custom elementwise kernel of T-Mathematics'
// registry (custom_kernel.hpp; plugins register theirs as "<plugin>.<kernel>"), run eagerly.
// b may be a number: a scalar of a's dtype, as in arithmetic.
Value tensor_map(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 2, 3);
  const tm::Tensor& a = arg_tensor(context, args, 0, "a");
  std::string_view name = arg_string(context, args, 1, "kernel");
  std::optional<tm::Tensor> b;
  if (args.size() == 3) {
    if (is_tensor(args[2])) {
      b = *args[2].as_handle()->data_as<tm::Tensor>();
    } else if (args[2].is_number()) {
      b = scalar_operand(args[2], a.dtype());
    } else {
      argument_error(context, "b", "a tensor or a number", args[2]);
    }
  }
  auto kernel = guarded(context, [&] { return tm::get_kernel(name); });
  const std::string who = context.name() + " '" + std::string(name) + "'";
  tm::Shape shape =
      b ? guarded(context, who, [&] { return tm::broadcast_shapes(a.shape(), b->shape(), "map"); }) : a.shape();
  check_size(context, shape, b ? tm::custom_result_dtype(a.dtype(), b->dtype()) : tm::custom_result_dtype(a.dtype()));
  return wrap(context,
              guarded(context, [&] { return b ? tm::apply_kernel(*kernel, a, *b) : tm::apply_kernel(*kernel, a); }));
}

// The module form takes the kernel's name first: map(name, a, b?).
Value tmath_map(NativeCallContext& context, Args args) {
  check_arg_count(context, args, 2, 3);
  Value reordered[3] = {args[1], args[0], args.size() == 3 ? args[2] : Value()};
  return tensor_map(context, Args(reordered, args.size()));
}

Value tmath_kernels(NativeCallContext& context, Args) {
  std::vector<std::string> names = tm::kernel_names();
  return make_string_list(context.heap(), names);
}

template <tm::BinaryOp Op>
Value tmath_binary(NativeCallContext& context, Args args) {
  bool a_tensor = args[0].is_handle() && args[0].as_handle()->is(kTensorHandle);
  if (!a_tensor && !args[0].is_number()) argument_error(context, "a", "a tensor or a number", args[0]);
  bool b_tensor = args[1].is_handle() && args[1].as_handle()->is(kTensorHandle);
  if (!b_tensor && !args[1].is_number()) argument_error(context, "b", "a tensor or a number", args[1]);
  if (!a_tensor && !b_tensor) context.error(context.name() + ": needs at least one tensor");
  tm::Tensor result = guarded(context, [&] {
    if (a_tensor && b_tensor)
      return tm::binary(Op, *args[0].as_handle()->data_as<tm::Tensor>(), *args[1].as_handle()->data_as<tm::Tensor>());
    if (a_tensor) {
      const tm::Tensor& x = *args[0].as_handle()->data_as<tm::Tensor>();
      return tm::binary(Op, x, scalar_operand(args[1], x.dtype()));
    }
    const tm::Tensor& y = *args[1].as_handle()->data_as<tm::Tensor>();
    return tm::binary(Op, scalar_operand(args[0], y.dtype()), y);
  });
  return wrap(context, std::move(result));
}

const NativeBinding kTmathFunctions[] = {
    {"tensor", tmath_tensor, -1,
     "tensor(data, dtype?): from a nested list (ints -> i64, bools -> bool, otherwise f32)"},
    {"zeros", tmath_filled<make_zeros>, -1, "zeros(shape, dtype?): a tensor of zeros (f32 by default)"},
    {"ones", tmath_filled<make_ones>, -1, "ones(shape, dtype?): a tensor of ones"},
    {"full", tmath_full, -1, "full(shape, value, dtype?): a tensor filled with value"},
    {"arange", tmath_arange, -1, "arange(stop) / arange(start, stop, step?, dtype?): evenly spaced values"},
    {"linspace", tmath_linspace, -1, "linspace(start, stop, count, dtype?): count values from start to stop"},
    {"eye", tmath_eye, -1, "eye(rows, cols?, dtype?): identity matrix"},
    {"randn", tmath_random<true>, -1, "randn(shape, seed?, dtype?): standard normal samples"},
    {"rand", tmath_random<false>, -1, "rand(shape, seed?, dtype?): uniform samples in [0, 1)"},
    {"matmul", tensor_matmul, 2, "matmul(a, b): matrix product (NumPy rules), same as a @ b"},
    {"softmax", tensor_softmax, -1, "softmax(t, axis?): softmax along axis (default -1)"},
    {"layer_norm", tmath_layer_norm, -1, "layer_norm(x, weight?, bias?, eps?): normalise over the last dimension"},
    {"attention", tmath_attention, -1, "attention(q, k, v, causal?, scale?): scaled dot-product attention"},
    {"concat", tmath_join<false>, -1, "concat(tensors, axis?): joins along an existing axis"},
    {"stack", tmath_join<true>, -1, "stack(tensors, axis?): joins along a new axis"},
    {"where", tmath_where, 3, "where(cond, a, b): elementwise cond ? a : b (a, b tensors or numbers)"},
    {"maximum", tmath_binary<tm::BinaryOp::Maximum>, 2, "maximum(a, b): elementwise maximum"},
    {"minimum", tmath_binary<tm::BinaryOp::Minimum>, 2, "minimum(a, b): elementwise minimum"},
    {"eq", tmath_binary<tm::BinaryOp::Eq>, 2, "eq(a, b): elementwise a == b (bool tensor)"},
    {"lt", tmath_binary<tm::BinaryOp::Lt>, 2, "lt(a, b): elementwise a < b (bool tensor)"},
    {"gt", tmath_binary<tm::BinaryOp::Gt>, 2, "gt(a, b): elementwise a > b (bool tensor)"},
    {"sum", tensor_reduce<reduce_sum>, -1, "sum(t, axis?, keepdims?)"},
    {"mean", tensor_reduce<reduce_mean>, -1, "mean(t, axis?, keepdims?)"},
    {"max", tensor_reduce<reduce_max>, -1, "max(t, axis?, keepdims?)"},
    {"min", tensor_reduce<reduce_min>, -1, "min(t, axis?, keepdims?)"},
    {"exp", tensor_unary<tm::UnaryOp::Exp>, 1, "exp(t)"},
    {"log", tensor_unary<tm::UnaryOp::Log>, 1, "log(t)"},
    {"sqrt", tensor_unary<tm::UnaryOp::Sqrt>, 1, "sqrt(t)"},
    {"abs", tensor_unary<tm::UnaryOp::Abs>, 1, "abs(t)"},
    {"tanh", tensor_unary<tm::UnaryOp::Tanh>, 1, "tanh(t)"},
    {"sigmoid", tensor_unary<tm::UnaryOp::Sigmoid>, 1, "sigmoid(t)"},
    {"relu", tensor_unary<tm::UnaryOp::Relu>, 1, "relu(t)"},
    {"gelu", tensor_unary<tm::UnaryOp::Gelu>, 1, "gelu(t)"},
    {"sin", tensor_unary<tm::UnaryOp::Sin>, 1, "sin(t)"},
    {"cos", tensor_unary<tm::UnaryOp::Cos>, 1, "cos(t)"},
    {"map", tmath_map, -1, "map(kernel, a, b?): the registered custom elementwise kernel (a plugin's) on a (and b)"},
    {"kernels", tmath_kernels, 0, "kernels(): the names of the registered custom kernels"},
};

const NativeBinding kTensorMethods[] = {
    {"shape", prop_shape, 0, "t.shape: the dimensions as a list of ints", true},
    {"dtype", prop_dtype, 0, "t.dtype: the element type (\"f32\", \"i64\", ...)", true},
    {"ndim", prop_ndim, 0, "t.ndim: number of dimensions", true},
    {"size", prop_size, 0, "t.size: number of elements", true},
    {"T", prop_t, 0, "t.T: all dimensions reversed (the transpose of a matrix)", true},
    {"len", tensor_len, 0, "t.len(): size of the first dimension (also len(t))"},
    {"sum", tensor_reduce<reduce_sum>, -1, "t.sum(axis?, keepdims?): sum over all or the given axes"},
    {"mean", tensor_reduce<reduce_mean>, -1, "t.mean(axis?, keepdims?)"},
    {"max", tensor_reduce<reduce_max>, -1, "t.max(axis?, keepdims?)"},
    {"min", tensor_reduce<reduce_min>, -1, "t.min(axis?, keepdims?)"},
    {"argmax", tensor_argmax, -1, "t.argmax(axis?): flat index (int) of the maximum, or indices along axis"},
    {"reshape", tensor_reshape, -1, "t.reshape(shape) / t.reshape(d0, d1, ...): -1 infers one dimension"},
    {"flatten", tensor_flatten, 0, "t.flatten(): one dimension"},
    {"transpose", tensor_transpose, -1, "t.transpose() reverses dimensions; t.transpose(a, b) swaps two"},
    {"astype", tensor_astype, 1, "t.astype(dtype): converted copy"},
    {"exp", tensor_unary<tm::UnaryOp::Exp>, 0, "t.exp()"},
    {"log", tensor_unary<tm::UnaryOp::Log>, 0, "t.log()"},
    {"sqrt", tensor_unary<tm::UnaryOp::Sqrt>, 0, "t.sqrt()"},
    {"abs", tensor_unary<tm::UnaryOp::Abs>, 0, "t.abs()"},
    {"tanh", tensor_unary<tm::UnaryOp::Tanh>, 0, "t.tanh()"},
    {"sigmoid", tensor_unary<tm::UnaryOp::Sigmoid>, 0, "t.sigmoid()"},
    {"relu", tensor_unary<tm::UnaryOp::Relu>, 0, "t.relu()"},
    {"gelu", tensor_unary<tm::UnaryOp::Gelu>, 0, "t.gelu()"},
    {"sin", tensor_unary<tm::UnaryOp::Sin>, 0, "t.sin()"},
    {"cos", tensor_unary<tm::UnaryOp::Cos>, 0, "t.cos()"},
    {"map", tensor_map, -1, "t.map(kernel, b?): the registered custom elementwise kernel on t (and b)"},
    {"softmax", tensor_softmax, -1, "t.softmax(axis?): along axis (default -1)"},
    {"matmul", tensor_matmul, 1, "t.matmul(other): same as t @ other"},
    {"tolist", tensor_tolist, 0, "t.tolist(): nested lists of ints, floats or bools"},
    {"item", tensor_item, 0, "t.item(): the element of a one-element tensor"},
    {"get", tensor_get, -1, "t.get(i, j, ...): one element; negative indices count from the end"},
};

}  // namespace

const HandleType kTensorHandle{"tensor",       finalize_as<tm::Tensor>, nullptr, kTensorMethods, tensor_binary,
                               display_tensor, clone_as<tm::Tensor>};

void install_tmath_module(Vm& vm) {
  Map* module = vm.define_module("tmath", kTmathFunctions);
  Heap& heap = vm.heap();
  module->set(heap, heap.string_value("pi"), Value::number(3.141592653589793));
  module->set(heap, heap.string_value("e"), Value::number(2.718281828459045));
}

}  // namespace miso::mcode
