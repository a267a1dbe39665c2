// Helpers for writing binding tables (value.hpp's NativeBinding): typed access to the arguments
// of a native with uniform error messages, conversions of results to Values, and handle
// creation. Every engine module (src/miso/mcode/modules) is written with these.
//
// Argument errors are M-CODE run-time errors naming the function and the argument:
//   "tmath.randn: shape must be a list of ints, got string"
// For methods args[0] is the receiver, explicit arguments start at 1.
//
// GC note: natives run between safepoints, so Values they allocate stay valid until the
// native returns — unless the native calls back into the VM (Vm::call runs script code,
// which may collect). Keep what must survive such a call in a Rooted / RootedVector.
#pragma once

#include <cstdint>
#include <exception>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "miso/mcode/heap.hpp"
#include "miso/mcode/value.hpp"
#include "miso/mcode/vm.hpp"

namespace miso::mcode {

using Args = std::span<const Value>;

// Raises "NAME: WHAT must be EXPECTED, got TYPE".
[[noreturn]] void argument_error(const NativeCallContext& context, const char* what, const char* expected, Value got);

// Whether argument i was given and is not nil (optional arguments).
inline bool has_arg(Args args, std::size_t i) noexcept { return i < args.size() && !args[i].is_nil(); }

std::int64_t arg_int(const NativeCallContext& context, Args args, std::size_t i, const char* what);
double arg_number(const NativeCallContext& context, Args args, std::size_t i, const char* what);  // int or float
bool arg_bool(const NativeCallContext& context, Args args, std::size_t i, const char* what);
std::string_view arg_string(const NativeCallContext& context, Args args, std::size_t i, const char* what);
List* arg_list(const NativeCallContext& context, Args args, std::size_t i, const char* what);
Map* arg_map(const NativeCallContext& context, Args args, std::size_t i, const char* what);
Value arg_callable(const NativeCallContext& context, Args args, std::size_t i, const char* what);
std::vector<std::int64_t> arg_int_list(const NativeCallContext& context, Args args, std::size_t i, const char* what);
std::vector<double> arg_number_list(const NativeCallContext& context, Args args, std::size_t i, const char* what);
std::vector<std::string> arg_string_list(const NativeCallContext& context, Args args, std::size_t i, const char* what);
// A handle of `type`; its data as T.
template <typename T>
T& arg_handle(const NativeCallContext& context, Args args, std::size_t i, const HandleType& type, const char* what) {
  if (i >= args.size() || !args[i].is_handle() || !args[i].as_handle()->is(type))
    argument_error(context, what, type.name, i < args.size() ? args[i] : Value());
  return *args[i].as_handle()->data_as<T>();
}

// --- engine calls ---
// Runs engine work inside a native: engine errors (miso::Error, std::bad_alloc, other
// std::exception) become catchable M-CODE errors "NAME: message" (NAME defaults to the
// native's qualified name). The VM's MemoryBudgetError passes through untouched, so an
// exhausted memory budget stays uncatchable even when f allocates on the heap.
template <typename F>
auto guarded(const NativeCallContext& context, const std::string& name, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const MemoryBudgetError&) {
    throw;
  } catch (const miso::Error& e) {
    context.error(name + ": " + e.what());
  } catch (const std::bad_alloc&) {
    context.error(name + ": out of memory");
  } catch (const std::exception& e) {
    context.error(name + ": " + e.what());
  }
}
template <typename F>
auto guarded(const NativeCallContext& context, F&& f) -> decltype(f()) {
  return guarded(context, context.name(), std::forward<F>(f));
}

// --- results ---
Value make_string(Heap& heap, std::string_view text);
Value make_number_list(Heap& heap, std::span<const double> values);
Value make_int_list(Heap& heap, std::span<const std::int64_t> values);
Value make_string_list(Heap& heap, std::span<const std::string> values);

// --- handles ---
template <typename T>
void finalize_as(void* data) noexcept {
  delete static_cast<T*>(data);
}
template <typename T>
void* clone_as(const void* data) {
  return new T(*static_cast<const T*>(data));
}
// A new handle owning a heap-allocated copy of `value`; `external_bytes` is the engine
// memory it keeps alive (charged to the VM's memory budget and GC pacing).
template <typename T>
Value make_handle(Heap& heap, const HandleType& type, T value, std::size_t external_bytes = 0) {
  // Heap::handle owns the data from the call on (it finalizes it when it refuses it).
  return Value::object(heap.handle(type, new T(std::move(value)), external_bytes));
}

}  // namespace miso::mcode
