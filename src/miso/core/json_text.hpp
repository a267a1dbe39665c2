// JSON documents read from text, with errors that point into the text.
//
// parse() builds an ordered DOM (object members keep their order) and rejects
// repeated keys, which nlohmann would otherwise resolve silently. Positions are
// not recorded while parsing: only an error needs one, and then a small scanner
// walks the (valid) text along the failing value's path to find its offset, so
// a successful parse pays nothing for line:column reporting.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace miso::core {

using OrderedJson = nlohmann::ordered_json;

// What a value is, for messages: "a number", "a text", "a list", "an object",
// "a boolean", "null".
const char* json_kind_name(const OrderedJson& j) noexcept;

// One step of a path from the document's root: a key of an object or an index of an array.
struct JsonStep {
  std::string key;
  std::size_t index = 0;
  bool is_key = false;
};
using JsonPath = std::vector<JsonStep>;

inline JsonStep json_key(std::string key) { return JsonStep{std::move(key), 0, true}; }
inline JsonStep json_item(std::size_t index) { return JsonStep{{}, index, false}; }

// "hmm.transition[1][0]"; the root's path is "".
std::string json_path_text(const JsonPath& path);

// A place in a text; both from 1, the column counted in bytes.
struct TextPosition {
  int line = 1;
  int column = 1;
};

// The position of a byte offset in `text` (an offset past the end is the end).
TextPosition text_position(std::string_view text, std::size_t offset);

// The position nlohmann's parse_error::byte (the count of bytes read, the
// offending one last) points at.
TextPosition json_error_position(std::string_view text, std::size_t error_byte);

// nlohmann's exception text without its id and position ("[json.exception.parse_error.101]
// parse error at line 1, column 5: syntax error ..." -> "syntax error ..."); nlohmann's
// line and column count differently from MISO's.
std::string json_error_text(std::string_view what);

// The byte offset of the value at `path` in `text`, or of its last step's key
// (at_key), `occurrence` choosing among equal keys in the last object (from 1).
// The text must be valid JSON at least up to the target; when a step is not
// there the offset is the enclosing value's.
std::size_t json_offset(std::string_view text, const JsonPath& path, bool at_key = false, int occurrence = 1);

// A JSON text and the name of its source (a file name), for reading it and for
// Error(Format)s "source:line:column: message" that point into it. Holds a view
// of the text, which must outlive it.
class JsonText {
 public:
  // How parse() words a repeated key: "key \"k\" appears twice in one object",
  // or with the key's path in front ("hmm.states: key \"states\" ...").
  enum class RepeatedKey { Plain, WithPath };

  JsonText(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}

  // The document. Throws Error(Format) at a syntax error ("invalid JSON: ...")
  // and at the second of two equal keys in one object.
  OrderedJson parse(RepeatedKey style = RepeatedKey::Plain) const;

  std::string_view text() const noexcept { return text_; }
  const std::string& source() const noexcept { return source_; }

  TextPosition position(std::size_t offset) const { return text_position(text_, offset); }
  TextPosition position(const JsonPath& path, bool at_key = false) const;

  // Error(Format) "source:line:column: message" at an offset, at the value at
  // `path`, or at the last key of `path`.
  [[noreturn]] void fail_at(std::size_t offset, const std::string& message) const;
  [[noreturn]] void fail(const JsonPath& path, const std::string& message) const;
  [[noreturn]] void fail_key(const JsonPath& path, const std::string& message) const;

 private:
  std::string_view text_;
  std::string source_;
};

}  // namespace miso::core
