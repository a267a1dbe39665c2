// Helpers shared by the M-CODE test files: run a script and keep the error it raises.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
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

// The text of tests/mcode/programs/NAME.EXT (EXT "mc" or "out"); a missing file throws,
// which fails the calling test with the path.
inline std::string program_file(std::string_view name, std::string_view ext) {
  std::string path = std::string(MISO_MCODE_PROGRAMS_DIR) + "/" + std::string(name) + "." + std::string(ext);
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace miso::mcode::test_util
