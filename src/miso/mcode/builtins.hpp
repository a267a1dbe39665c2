// The binding tables of the core language (internal to the mcode library): the global
// builtins (print, len, ...) and the methods of strings, lists and maps, plus the lazy
// range type the VM's for-loop iterates without building a list.
#pragma once

#include <cstdint>
#include <span>

#include "miso/mcode/value.hpp"

namespace miso::mcode {

// range(a, b, step): a lazy int sequence, iterated by ForLoop without a list (ForRangePrep: no object at all).
struct RangeData {
  std::int64_t start;
  std::int64_t stop;
  std::int64_t step;
};
extern const HandleType kRangeType;

std::span<const NativeBinding> global_builtins() noexcept;
std::span<const NativeBinding> string_methods() noexcept;
std::span<const NativeBinding> list_methods() noexcept;
std::span<const NativeBinding> map_methods() noexcept;

// The binding named `name` in `table` (methods: properties included), or nullptr.
const NativeBinding* find_binding(std::span<const NativeBinding> table, std::string_view name) noexcept;

// A new list of the map's keys in insertion order.
Value keys_of(Heap& heap, const Map* map);

}  // namespace miso::mcode
