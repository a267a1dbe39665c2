#include "miso/mcode/binding.hpp"

namespace miso::mcode {

void argument_error(const NativeCallContext& context, const char* what, const char* expected, Value got) {
  context.error(std::string(context.name())
                    .append(": ")
                    .append(what)
                    .append(" must be ")
                    .append(expected)
                    .append(", got ")
                    .append(type_name(got)));
}

namespace {
Value arg_at(const NativeCallContext& context, Args args, std::size_t i, const char* what, const char* expected) {
  if (i >= args.size())
    context.error(
        std::string(context.name()).append(": missing ").append(what).append(" (").append(expected).append(")"));
  return args[i];
}
}  // namespace

std::int64_t arg_int(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "an int");
  if (!v.is_int()) argument_error(context, what, "an int", v);
  return v.as_int();
}

double arg_number(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "a number");
  if (!v.is_number()) argument_error(context, what, "a number", v);
  return v.to_double();
}

bool arg_bool(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "a bool");
  if (!v.is_bool()) argument_error(context, what, "a bool", v);
  return v.as_bool();
}

std::string_view arg_string(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "a string");
  if (!v.is_string()) argument_error(context, what, "a string", v);
  return v.as_string()->view();
}

List* arg_list(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "a list");
  if (!v.is_list()) argument_error(context, what, "a list", v);
  return v.as_list();
}

Map* arg_map(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "a map");
  if (!v.is_map()) argument_error(context, what, "a map", v);
  return v.as_map();
}

Value arg_callable(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "a function");
  if (!v.is_callable()) argument_error(context, what, "a function", v);
  return v;
}

std::vector<std::int64_t> arg_int_list(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "a list of ints");
  if (!v.is_list()) argument_error(context, what, "a list of ints", v);
  std::vector<std::int64_t> out;
  out.reserve(v.as_list()->size());
  for (Value item : v.as_list()->items()) {
    if (!item.is_int()) argument_error(context, what, "a list of ints", item);
    out.push_back(item.as_int());
  }
  return out;
}

std::vector<double> arg_number_list(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "a list of numbers");
  if (!v.is_list()) argument_error(context, what, "a list of numbers", v);
  std::vector<double> out;
  out.reserve(v.as_list()->size());
  for (Value item : v.as_list()->items()) {
    if (!item.is_number()) argument_error(context, what, "a list of numbers", item);
    out.push_back(item.to_double());
  }
  return out;
}

std::vector<std::string> arg_string_list(const NativeCallContext& context, Args args, std::size_t i, const char* what) {
  Value v = arg_at(context, args, i, what, "a list of strings");
  if (!v.is_list()) argument_error(context, what, "a list of strings", v);
  std::vector<std::string> out;
  out.reserve(v.as_list()->size());
  for (Value item : v.as_list()->items()) {
    if (!item.is_string()) argument_error(context, what, "a list of strings", item);
    out.emplace_back(item.as_string()->view());
  }
  return out;
}

Value make_string(Heap& heap, std::string_view text) { return heap.string_value(text); }

Value make_number_list(Heap& heap, std::span<const double> values) {
  List* list = heap.list(values.size());
  for (double d : values) list->push(heap, Value::number(d));
  return Value::object(list);
}

Value make_int_list(Heap& heap, std::span<const std::int64_t> values) {
  List* list = heap.list(values.size());
  for (std::int64_t i : values) list->push(heap, heap.integer(i));
  return Value::object(list);
}

Value make_string_list(Heap& heap, std::span<const std::string> values) {
  List* list = heap.list(values.size());
  for (const std::string& s : values) list->push(heap, heap.string_value(s));
  return Value::object(list);
}

}  // namespace miso::mcode
