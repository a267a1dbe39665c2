#include "miso/core/error.hpp"

#include <system_error>

namespace miso {

std::string located(const std::string& file, int line, int column, const std::string& message) {
  std::string where = file;
  if (line > 0) {
    where += ':' + std::to_string(line);
    if (column > 0) where += ':' + std::to_string(column);
  }
  return where + ": " + message;
}

const char* to_string(Error::Kind kind) noexcept {
  switch (kind) {
    case Error::Kind::InvalidArgument: return "invalid argument";
    case Error::Kind::Io: return "i/o error";
    case Error::Kind::Format: return "format error";
    case Error::Kind::Check: return "check failed";
    case Error::Kind::Internal: return "internal error";
  }
  return "error";
}

std::string system_error_text(int errno_value) { return std::generic_category().message(errno_value); }

}  // namespace miso
