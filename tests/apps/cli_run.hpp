// Runs the `miso` binary under test as a user would: exit code, stdout, stderr.
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "miso/core/file.hpp"

namespace miso::testing {

struct CliRun {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

inline CliRun miso(const std::string& args, const std::filesystem::path& dir) {
  std::filesystem::path err_file = dir / "stderr.txt";
  std::string cmd = std::string(MISO_BINARY) + " " + args + " 2>" + err_file.string();
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = miso::core::read_file(err_file);
  return r;
}

inline int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace miso::testing
