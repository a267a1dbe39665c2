// Source positions and compile-time diagnostics of M-CODE: every stage that reads a
// script (lexer, parser, later the resolver and compiler) reports problems as a
// Diagnostic, printed as "file:line:column: error: message" plus the line and a caret.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace miso::mcode {

// A place in a source text. `offset` is the byte offset from the start; `line` and
// `column` are 1-based, and the column counts Unicode code points (UTF-8 continuation
// bytes are not counted), so a caret lands under the right character in an editor.
struct SourcePos {
  std::uint32_t offset = 0;
  std::uint32_t line = 1;
  std::uint32_t column = 1;

  friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

// One error found in a script. `message` says what was expected and what was found,
// e.g. "expected ')' to close '(' at 3:8, found end of line".
struct Diagnostic {
  std::string file;
  SourcePos pos;
  std::string message;
};

namespace detail {

// The text of the line that contains byte `offset` (without its line break).
inline std::string_view line_containing(std::string_view source, std::uint32_t offset) {
  if (offset > source.size()) offset = static_cast<std::uint32_t>(source.size());
  std::size_t begin = 0;
  if (offset > 0) {
    const std::size_t previous_break = source.rfind('\n', offset - 1);
    if (previous_break != std::string_view::npos) begin = previous_break + 1;
  }
  std::size_t end = source.find('\n', begin);
  if (end == std::string_view::npos) end = source.size();
  if (end > begin && source[end - 1] == '\r') --end;
  return source.substr(begin, end - begin);
}

}  // namespace detail

// "file:line:column: error: message", then the source line and a caret under the
// column. Tabs before the column are copied into the caret line so the caret stays
// aligned in a terminal. `source` is the text the diagnostic refers to; when it is
// empty (source unknown) only the first line is written. Ends with a newline.
inline std::string format_diagnostic(const Diagnostic& diagnostic, std::string_view source) {
  std::string out = diagnostic.file;
  out.append(":").append(std::to_string(diagnostic.pos.line));
  out.append(":").append(std::to_string(diagnostic.pos.column));
  out.append(": error: ").append(diagnostic.message).append("\n");
  if (source.empty()) return out;
  const std::string_view line = detail::line_containing(source, diagnostic.pos.offset);
  out.append(line).append("\n");
  // Walk code points up to the column, echoing tabs so the caret lines up.
  std::uint32_t column = 1;
  for (std::size_t i = 0; i < line.size() && column < diagnostic.pos.column; ++i) {
    const auto byte = static_cast<unsigned char>(line[i]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte: same code point
    out.push_back(byte == '\t' ? '\t' : ' ');
    ++column;
  }
  // A column past the end of the line (an error at end of line) still gets spaces.
  for (; column < diagnostic.pos.column; ++column) out.push_back(' ');
  out.append("^\n");
  return out;
}

// All diagnostics, each formatted as above, in order.
inline std::string format_diagnostics(const std::vector<Diagnostic>& diagnostics, std::string_view source) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += format_diagnostic(d, source);
  return out;
}

}  // namespace miso::mcode
