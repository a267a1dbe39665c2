// The one error type MISO throws for bad input from outside: files, scripts,
// command-line values and user calls. The message names the input, the place and
// what was expected; the kind lets callers (the CLI) choose an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace miso {

class Error : public std::runtime_error {
 public:
  enum class Kind {
    InvalidArgument,  // a bad value given by the caller (option, argument, name)
    Io,               // a file or folder that cannot be read or written
    Format,           // a file or text whose content is malformed or corrupt
    Check,            // a computation whose result failed its own verification
    Internal,         // a broken invariant that slipped past the assertions
  };

  Error(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}

  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

// "<where>: <message>" with where = file:line:column; line/column 0 are left out.
std::string located(const std::string& file, int line, int column, const std::string& message);

const char* to_string(Error::Kind kind) noexcept;

// The system's text for an errno value (thread-safe, unlike std::strerror).
std::string system_error_text(int errno_value);

}  // namespace miso
