// Helpers shared by the M-CODE test files: run a script and keep the error it raises.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mcode/vm.hpp"

namespace miso::mcode::test_util {

// The what() of the error a script raises on a fresh Vm (empty when it runs through).
inline std::string error_of(std::string_view source, VmOptions options = {}) {
  try {
    run_to_string(source, std::move(options));
  } catch (const miso::Error& e) {
    return e.what();
  }
  return "";
}

// Options whose file allow-list is `paths`.
inline VmOptions with_access(std::vector<std::filesystem::path> paths) {
  VmOptions options;
  options.allowed_paths = std::move(paths);
  return options;
}

}  // namespace miso::mcode::test_util
