// Host-side values of the plugin ABI: what plugin functions take and return, in C++.
// Converting to and from miso_vxor_value happens at the boundary only.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace miso::vxor {

struct Nil {
  friend bool operator==(Nil, Nil) noexcept { return true; }
};

// nil, bool, int, float, string, array of f64 (the order of miso_vxor_type).
using PluginValue = std::variant<Nil, bool, std::int64_t, double, std::string, std::vector<double>>;

// "nil", "bool", "int", "float", "string", "array".
const char* type_name(const PluginValue& value) noexcept;

struct Attribute {
  std::string key;
  PluginValue value;
};

}  // namespace miso::vxor
