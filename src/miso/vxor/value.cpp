#include "miso/vxor/value.hpp"

#include <iterator>

namespace miso::vxor {

const char* type_name(const PluginValue& value) noexcept {
  static constexpr const char* kNames[] = {"nil", "bool", "int", "float", "string", "array"};
  return value.index() < std::size(kNames) ? kNames[value.index()] : "invalid";
}

}  // namespace miso::vxor
