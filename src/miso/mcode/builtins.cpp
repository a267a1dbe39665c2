// The core language's binding tables: global builtins and the methods of strings, lists
// and maps. The VM finds methods here by name (Vm::method_call); docs/mcode.md lists them.
#include "miso/mcode/builtins.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "miso/mcode/binding.hpp"
#include "miso/mcode/vm.hpp"

namespace miso::mcode {

const HandleType kRangeType{"range", finalize_as<RangeData>, nullptr};

Value keys_of(Heap& heap, const Map* map) {
  List* keys = heap.list(map->size());
  map->for_each([&](Value key, Value) { keys->push(heap, key); });
  return Value::object(keys);
}

const NativeBinding* find_binding(std::span<const NativeBinding> table, std::string_view name) noexcept {
  for (const NativeBinding& b : table)
    if (name == b.name) return &b;
  return nullptr;
}

namespace {

Value builtin_print(NativeCallContext& context, std::span<const Value> args) {
  std::string line;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i > 0) line.push_back(' ');
    append_display(line, args[i]);
  }
  line.push_back('\n');
  context.vm.output() << line;
  return Value();
}

Value builtin_len(NativeCallContext& context, std::span<const Value> args) {
  Value v = args[0];
  if (v.is_string()) return Value::small_int(static_cast<std::int64_t>(v.as_string()->size()));
  if (v.is_list()) return Value::small_int(static_cast<std::int64_t>(v.as_list()->size()));
  if (v.is_map()) return Value::small_int(static_cast<std::int64_t>(v.as_map()->size()));
  if (v.is_handle()) {
    const NativeBinding* len = find_binding(v.as_handle()->type().methods, "len");
    if (len != nullptr) {
      NativeCallContext method_context{context.vm, nullptr, v.as_handle()->type().name, len};
      return len->fn(method_context, args.first(1));
    }
  }
  context.error(std::string("len() of a value of type ").append(type_name(v)));
}

Value builtin_str(NativeCallContext& context, std::span<const Value> args) {
  if (args[0].is_string()) return args[0];
  return context.vm.heap().string_value(to_display_string(args[0]));
}

Value builtin_type(NativeCallContext& context, std::span<const Value> args) {
  return context.vm.heap().string_value(type_name(args[0]));
}

Value builtin_int(NativeCallContext& context, std::span<const Value> args) {
  Value v = args[0];
  if (v.is_int()) return v;
  if (v.is_double()) {
    double d = std::trunc(v.as_double());
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
      context.error(std::string("int() of ").append(format_double(v.as_double())).append(" is out of range"));
    return context.vm.heap().integer(static_cast<std::int64_t>(d));
  }
  if (v.is_bool()) return Value::small_int(v.as_bool() ? 1 : 0);
  if (v.is_string()) {
    std::string text(v.as_string()->view());
    std::size_t used = 0;
    long long parsed = 0;
    try {
      parsed = std::stoll(text, &used, 10);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) context.error(std::string("int() cannot parse ").append(to_repr_string(v)));
    return context.vm.heap().integer(parsed);
  }
  context.error(std::string("int() of a value of type ").append(type_name(v)));
}

Value builtin_float(NativeCallContext& context, std::span<const Value> args) {
  Value v = args[0];
  if (v.is_number()) return Value::number(v.to_double());
  if (v.is_string()) {
    std::string text(v.as_string()->view());
    std::size_t used = 0;
    double parsed = 0;
    try {
      parsed = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) context.error(std::string("float() cannot parse ").append(to_repr_string(v)));
    return Value::number(parsed);
  }
  context.error(std::string("float() of a value of type ").append(type_name(v)));
}

Value builtin_range(NativeCallContext& context, std::span<const Value> args) {
  if (args.empty() || args.size() > 3) context.error("range() expects 1 to 3 arguments");
  for (Value a : args)
    if (!a.is_int()) context.error(std::string("range() arguments must be ints, not ").append(type_name(a)));
  RangeData data{0, 0, 1};
  if (args.size() == 1) {
    data.stop = args[0].as_int();
  } else {
    data.start = args[0].as_int();
    data.stop = args[1].as_int();
    if (args.size() == 3) data.step = args[2].as_int();
  }
  if (data.step == 0) context.error("range() step must not be zero");
  return make_handle(context.vm.heap(), kRangeType, data);
}

Value builtin_push(NativeCallContext& context, std::span<const Value> args) {
  if (!args[0].is_list()) context.error(std::string("push() needs a list, not ").append(type_name(args[0])));
  args[0].as_list()->push(context.vm.heap(), args[1]);
  context.vm.heap().write_barrier(args[0].as_object(), args[1]);
  return Value();
}

Value builtin_keys(NativeCallContext& context, std::span<const Value> args) {
  if (!args[0].is_map()) context.error(std::string("keys() needs a map, not ").append(type_name(args[0])));
  return keys_of(context.vm.heap(), args[0].as_map());
}

Value builtin_assert(NativeCallContext& context, std::span<const Value> args) {
  if (args.empty() || args.size() > 2) context.error("assert() expects 1 or 2 arguments");
  if (!args[0].is_truthy())
    context.error(args.size() == 2 ? std::string("assertion failed: ").append(to_display_string(args[1]))
                                   : std::string("assertion failed"));
  return Value();
}

// --- numbers ---

Value builtin_abs(NativeCallContext& context, std::span<const Value> args) {
  Value v = args[0];
  if (v.is_int())
    return context.vm.heap().integer(
        v.as_int() < 0 ? static_cast<std::int64_t>(0ULL - static_cast<std::uint64_t>(v.as_int())) : v.as_int());
  return Value::number(std::fabs(arg_number(context, args, 0, "x")));
}

Value min_max(NativeCallContext& context, std::span<const Value> args, bool want_max) {
  std::span<const Value> items = args;
  if (args.size() == 1 && args[0].is_list()) items = args[0].as_list()->items();
  if (items.empty()) context.error(context.name() + ": needs at least one value");
  Value best = items[0];
  for (Value v : items) {
    if (!v.is_number()) argument_error(context, "every value", "a number", v);
    auto order = compare_numbers(v, best);
    if (want_max ? order == std::partial_ordering::greater : order == std::partial_ordering::less) best = v;
  }
  return best;
}
Value builtin_min(NativeCallContext& context, std::span<const Value> args) { return min_max(context, args, false); }
Value builtin_max(NativeCallContext& context, std::span<const Value> args) { return min_max(context, args, true); }

template <double (*F)(double)>
Value math1(NativeCallContext& context, std::span<const Value> args) {
  return Value::number(F(arg_number(context, args, 0, "x")));
}
double sqrt_(double x) { return std::sqrt(x); }
double exp_(double x) { return std::exp(x); }
double log_(double x) { return std::log(x); }
double sin_(double x) { return std::sin(x); }
double cos_(double x) { return std::cos(x); }

Value builtin_floor(NativeCallContext& context, std::span<const Value> args) {
  if (args[0].is_int()) return args[0];
  double d = std::floor(arg_number(context, args, 0, "x"));
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) context.error("floor(): result out of int range");
  return context.vm.heap().integer(static_cast<std::int64_t>(d));
}

Value builtin_clock(NativeCallContext&, std::span<const Value>) {
  using namespace std::chrono;
  return Value::number(duration<double>(steady_clock::now().time_since_epoch()).count());
}

// --- files (through the VM's allow-list) ---

Value builtin_read_file(NativeCallContext& context, std::span<const Value> args) {
  std::filesystem::path path = context.vm.checked_path(arg_string(context, args, 0, "path"));
  std::ifstream in(path, std::ios::binary);
  if (!in) context.error(std::string("read_file: cannot open '").append(path.string()).append("'"));
  std::ostringstream text;
  text << in.rdbuf();
  return context.vm.heap().string_value(text.str());
}

Value builtin_read_lines(NativeCallContext& context, std::span<const Value> args) {
  std::filesystem::path path = context.vm.checked_path(arg_string(context, args, 0, "path"));
  std::ifstream in(path, std::ios::binary);
  if (!in) context.error(std::string("read_lines: cannot open '").append(path.string()).append("'"));
  Heap& heap = context.vm.heap();
  List* lines = heap.list();
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines->push(heap, heap.string_value(line));
  }
  return Value::object(lines);
}

Value builtin_write_file(NativeCallContext& context, std::span<const Value> args) {
  std::filesystem::path path = context.vm.checked_path(arg_string(context, args, 0, "path"));
  std::string_view text = arg_string(context, args, 1, "text");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) context.error(std::string("write_file: cannot open '").append(path.string()).append("' for writing"));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) context.error(std::string("write_file: writing '").append(path.string()).append("' failed"));
  return Value();
}

// --- string methods (args[0] is the receiver) ---

std::string_view self_string(std::span<const Value> args) { return args[0].as_string()->view(); }

Value str_len(NativeCallContext&, std::span<const Value> args) {
  return Value::small_int(static_cast<std::int64_t>(self_string(args).size()));
}

Value str_split(NativeCallContext& context, std::span<const Value> args) {
  std::string_view s = self_string(args);
  Heap& heap = context.vm.heap();
  List* parts = heap.list();
  if (args.size() < 2 || args[1].is_nil()) {  // on runs of whitespace, dropping empties
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      std::size_t j = i;
      while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j > i) parts->push(heap, heap.string_value(s.substr(i, j - i)));
      i = j;
    }
    return Value::object(parts);
  }
  std::string_view sep = arg_string(context, args, 1, "separator");
  if (sep.empty()) context.error("string.split: separator must not be empty");
  std::size_t from = 0;
  for (;;) {
    std::size_t at = s.find(sep, from);
    if (at == std::string_view::npos) {
      parts->push(heap, heap.string_value(s.substr(from)));
      break;
    }
    parts->push(heap, heap.string_value(s.substr(from, at - from)));
    from = at + sep.size();
  }
  return Value::object(parts);
}

Value str_strip(NativeCallContext& context, std::span<const Value> args) {
  std::string_view s = self_string(args);
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  if (b == 0 && e == s.size()) return args[0];
  return context.vm.heap().string_value(s.substr(b, e - b));
}

Value str_upper(NativeCallContext& context, std::span<const Value> args) {
  std::string s(self_string(args));
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return context.vm.heap().string_value(s);
}

Value str_lower(NativeCallContext& context, std::span<const Value> args) {
  std::string s(self_string(args));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return context.vm.heap().string_value(s);
}

Value str_starts_with(NativeCallContext& context, std::span<const Value> args) {
  return Value::boolean(self_string(args).starts_with(arg_string(context, args, 1, "prefix")));
}

Value str_ends_with(NativeCallContext& context, std::span<const Value> args) {
  return Value::boolean(self_string(args).ends_with(arg_string(context, args, 1, "suffix")));
}

Value str_find(NativeCallContext& context, std::span<const Value> args) {
  std::size_t at = self_string(args).find(arg_string(context, args, 1, "text"));
  return Value::small_int(at == std::string_view::npos ? -1 : static_cast<std::int64_t>(at));
}

Value str_contains(NativeCallContext& context, std::span<const Value> args) {
  return Value::boolean(self_string(args).find(arg_string(context, args, 1, "text")) != std::string_view::npos);
}

Value str_replace(NativeCallContext& context, std::span<const Value> args) {
  std::string_view s = self_string(args);
  std::string_view from = arg_string(context, args, 1, "old");
  std::string_view to = arg_string(context, args, 2, "new");
  if (from.empty()) context.error("string.replace: old must not be empty");
  std::string out;
  std::size_t at = 0;
  for (;;) {
    std::size_t hit = s.find(from, at);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(at, hit - at)).append(to);
    at = hit + from.size();
  }
  out.append(s.substr(at));
  return context.vm.heap().string_value(out);
}

Value str_join(NativeCallContext& context, std::span<const Value> args) {
  std::string_view sep = self_string(args);
  List* items = arg_list(context, args, 1, "items");
  std::string out;
  for (std::size_t i = 0; i < items->size(); ++i) {
    if (i > 0) out.append(sep);
    append_display(out, items->at(i));
  }
  return context.vm.heap().string_value(out);
}

// Clamps [from, to) of a sequence of n items, Python style (negative counts from the end).
std::pair<std::size_t, std::size_t> slice_bounds(NativeCallContext& context, std::span<const Value> args,
                                                 std::size_t n) {
  auto clamp = [&](std::int64_t i) {
    if (i < 0) i += static_cast<std::int64_t>(n);
    return static_cast<std::size_t>(std::clamp<std::int64_t>(i, 0, static_cast<std::int64_t>(n)));
  };
  std::size_t from = clamp(arg_int(context, args, 1, "start"));
  std::size_t to = has_arg(args, 2) ? clamp(arg_int(context, args, 2, "end")) : n;
  return {from, std::max(from, to)};
}

Value str_slice(NativeCallContext& context, std::span<const Value> args) {
  std::string_view s = self_string(args);
  auto [from, to] = slice_bounds(context, args, s.size());
  return context.vm.heap().string_value(s.substr(from, to - from));
}

// --- list methods ---

List* self_list(std::span<const Value> args) { return args[0].as_list(); }

Value list_push(NativeCallContext& context, std::span<const Value> args) {
  self_list(args)->push(context.vm.heap(), args[1]);
  context.vm.heap().write_barrier(self_list(args), args[1]);
  return Value();
}

Value list_pop(NativeCallContext& context, std::span<const Value> args) {
  if (self_list(args)->empty()) context.error("pop() from an empty list");
  return self_list(args)->pop();
}

Value list_len(NativeCallContext&, std::span<const Value> args) {
  return Value::small_int(static_cast<std::int64_t>(self_list(args)->size()));
}

std::size_t list_position(NativeCallContext& context, std::span<const Value> args, std::size_t arg, std::size_t limit) {
  std::int64_t i = arg_int(context, args, arg, "index");
  if (i < 0 || static_cast<std::uint64_t>(i) > limit)
    context.error(std::string(context.name())
                      .append(": index ")
                      .append(std::to_string(i))
                      .append(" out of range for a list of size ")
                      .append(std::to_string(self_list(args)->size())));
  return static_cast<std::size_t>(i);
}

Value list_insert(NativeCallContext& context, std::span<const Value> args) {
  List* list = self_list(args);
  list->insert(context.vm.heap(), list_position(context, args, 1, list->size()), args[2]);
  context.vm.heap().write_barrier(list, args[2]);
  return Value();
}

Value list_remove_at(NativeCallContext& context, std::span<const Value> args) {
  List* list = self_list(args);
  if (list->empty()) context.error("list.remove_at: the list is empty");
  return list->remove(list_position(context, args, 1, list->size() - 1));
}

Value list_index(NativeCallContext&, std::span<const Value> args) {
  List* list = self_list(args);
  for (std::size_t i = 0; i < list->size(); ++i)
    if (values_equal(list->at(i), args[1])) return Value::small_int(static_cast<std::int64_t>(i));
  return Value::small_int(-1);
}

Value list_contains(NativeCallContext& context, std::span<const Value> args) {
  return Value::boolean(list_index(context, args).as_int() >= 0);
}

Value list_reverse(NativeCallContext&, std::span<const Value> args) {
  auto items = self_list(args)->items();
  std::reverse(items.begin(), items.end());
  return Value();
}

// Sorts numbers or strings (not mixed); a comparison callback is not offered yet.
Value list_sort(NativeCallContext& context, std::span<const Value> args) {
  auto items = self_list(args)->items();
  bool numbers = std::all_of(items.begin(), items.end(), [](Value v) { return v.is_number(); });
  bool strings = std::all_of(items.begin(), items.end(), [](Value v) { return v.is_string(); });
  if (numbers) {
    for (Value v : items)
      if (v.is_double() && std::isnan(v.as_double())) context.error("list.sort: cannot sort a list holding NaN");
    std::stable_sort(items.begin(), items.end(),
                     [](Value a, Value b) { return compare_numbers(a, b) == std::partial_ordering::less; });
  } else if (strings) {
    std::stable_sort(items.begin(), items.end(),
                     [](Value a, Value b) { return a.as_string()->view() < b.as_string()->view(); });
  } else {
    context.error("list.sort: the items must be all numbers or all strings");
  }
  return Value();
}

Value list_slice(NativeCallContext& context, std::span<const Value> args) {
  List* list = self_list(args);
  auto [from, to] = slice_bounds(context, args, list->size());
  Heap& heap = context.vm.heap();
  List* out = heap.list(to - from);
  for (std::size_t i = from; i < to; ++i) out->push(heap, list->at(i));
  return Value::object(out);
}

Value list_copy(NativeCallContext& context, std::span<const Value> args) {
  List* list = self_list(args);
  Heap& heap = context.vm.heap();
  List* out = heap.list(list->size());
  for (Value v : list->items()) out->push(heap, v);
  return Value::object(out);
}

// --- map methods ---

Map* self_map(std::span<const Value> args) { return args[0].as_map(); }

Value map_keys(NativeCallContext& context, std::span<const Value> args) {
  return keys_of(context.vm.heap(), self_map(args));
}

Value map_values(NativeCallContext& context, std::span<const Value> args) {
  Heap& heap = context.vm.heap();
  List* values = heap.list(self_map(args)->size());
  self_map(args)->for_each([&](Value, Value v) { values->push(heap, v); });
  return Value::object(values);
}

Value map_len(NativeCallContext&, std::span<const Value> args) {
  return Value::small_int(static_cast<std::int64_t>(self_map(args)->size()));
}

Value map_contains(NativeCallContext&, std::span<const Value> args) {
  return Value::boolean(self_map(args)->contains(args[1]));
}

Value map_get(NativeCallContext& context, std::span<const Value> args) {
  if (args.size() < 2 || args.size() > 3) context.error("map.get expects 1 or 2 arguments (key, default)");
  Value v = self_map(args)->get(args[1]);
  return v.is_empty() ? (args.size() > 2 ? args[2] : Value()) : v;
}

Value map_remove(NativeCallContext&, std::span<const Value> args) {
  return Value::boolean(self_map(args)->remove(args[1]));
}

const NativeBinding kGlobals[] = {
    {"print", builtin_print, -1, "print(a, ...): writes the values separated by spaces, then a newline"},
    {"len", builtin_len, 1, "len(x): length of a string (bytes), list, map or sized handle"},
    {"str", builtin_str, 1, "str(x): the text form of any value"},
    {"int", builtin_int, 1, "int(x): float truncated towards zero, bool, or a string parsed as an int"},
    {"float", builtin_float, 1, "float(x): int or string to float"},
    {"range", builtin_range, -1, "range(a, b, step) / range(b): lazy ints a, a+step, ... before b"},
    {"push", builtin_push, 2, "push(list, x): appends x"},
    {"keys", builtin_keys, 1, "keys(map): the keys in insertion order"},
    {"assert", builtin_assert, -1, "assert(cond, message): raises an error when cond is falsy"},
    {"type", builtin_type, 1, "type(x): the type name"},
    {"abs", builtin_abs, 1, "abs(x): absolute value"},
    {"min", builtin_min, -1, "min(a, b, ...) or min(list): the smallest number"},
    {"max", builtin_max, -1, "max(a, b, ...) or max(list): the largest number"},
    {"sqrt", math1<sqrt_>, 1, "sqrt(x)"},
    {"exp", math1<exp_>, 1, "exp(x)"},
    {"log", math1<log_>, 1, "log(x): natural logarithm"},
    {"sin", math1<sin_>, 1, "sin(x)"},
    {"cos", math1<cos_>, 1, "cos(x)"},
    {"floor", builtin_floor, 1, "floor(x): the largest int <= x"},
    {"clock", builtin_clock, 0, "clock(): seconds on a monotonic clock (for timing)"},
    {"read_file", builtin_read_file, 1, "read_file(path): the file's bytes as a string (allow-listed paths only)"},
    {"read_lines", builtin_read_lines, 1, "read_lines(path): the file's lines without line ends"},
    {"write_file", builtin_write_file, 2, "write_file(path, text): replaces the file's contents"},
};

const NativeBinding kStringMethods[] = {
    {"len", str_len, 0, "s.len(): length in bytes"},
    {"split", str_split, -1, "s.split(sep) / s.split(): parts between separators / whitespace-separated words"},
    {"strip", str_strip, 0, "s.strip(): without leading and trailing whitespace"},
    {"upper", str_upper, 0, "s.upper(): ASCII upper case"},
    {"lower", str_lower, 0, "s.lower(): ASCII lower case"},
    {"starts_with", str_starts_with, 1, "s.starts_with(prefix)"},
    {"ends_with", str_ends_with, 1, "s.ends_with(suffix)"},
    {"find", str_find, 1, "s.find(text): first byte position of text, or -1"},
    {"contains", str_contains, 1, "s.contains(text)"},
    {"replace", str_replace, 2, "s.replace(old, new): every occurrence replaced"},
    {"join", str_join, 1, "sep.join(list): the items' text forms joined by sep"},
    {"slice", str_slice, -1, "s.slice(start, end): bytes [start, end), negative counts from the end"},
};

const NativeBinding kListMethods[] = {
    {"push", list_push, 1, "xs.push(x): appends x"},
    {"pop", list_pop, 0, "xs.pop(): removes and returns the last item"},
    {"len", list_len, 0, "xs.len(): number of items"},
    {"insert", list_insert, 2, "xs.insert(i, x): inserts x before position i"},
    {"remove_at", list_remove_at, 1, "xs.remove_at(i): removes and returns item i"},
    {"index", list_index, 1, "xs.index(x): first position of x, or -1"},
    {"contains", list_contains, 1, "xs.contains(x)"},
    {"reverse", list_reverse, 0, "xs.reverse(): reverses in place"},
    {"sort", list_sort, 0, "xs.sort(): sorts numbers or strings in place (stable)"},
    {"slice", list_slice, -1, "xs.slice(start, end): a new list of items [start, end)"},
    {"copy", list_copy, 0, "xs.copy(): a shallow copy"},
};

const NativeBinding kMapMethods[] = {
    {"keys", map_keys, 0, "m.keys(): the keys in insertion order"},
    {"values", map_values, 0, "m.values(): the values in insertion order"},
    {"len", map_len, 0, "m.len(): number of entries"},
    {"contains", map_contains, 1, "m.contains(k)"},
    {"get", map_get, -1, "m.get(k, default): the value for k, or default (nil)"},
    {"remove", map_remove, 1, "m.remove(k): removes k; whether it was present"},
};

}  // namespace

std::span<const NativeBinding> global_builtins() noexcept { return kGlobals; }
std::span<const NativeBinding> string_methods() noexcept { return kStringMethods; }
std::span<const NativeBinding> list_methods() noexcept { return kListMethods; }
std::span<const NativeBinding> map_methods() noexcept { return kMapMethods; }

}  // namespace miso::mcode
