#include "miso/core/json_text.hpp"

#include <algorithm>
#include <utility>

#include "miso/core/error.hpp"

namespace miso::core {

namespace {

// Finds the offset of a value (or of a key) in JSON text by its path. The text
// is valid JSON at least up to the target: the scanner only skips values.
class Locator {
 public:
  explicit Locator(std::string_view text) : t_(text) {}

  std::size_t find(const JsonPath& steps, bool at_key, int occurrence) const {
    std::size_t p = ws(0);
    for (std::size_t s = 0; s < steps.size(); ++s) {
      const JsonStep& step = steps[s];
      const bool last = s + 1 == steps.size();
      if (p >= t_.size()) return t_.size();
      bool found = false;
      if (step.is_key) {
        if (t_[p] != '{') return p;
        std::size_t q = ws(p + 1);
        int seen = 0;
        while (q < t_.size() && t_[q] == '"') {
          const std::size_t key_end = skip_string(q);
          const bool match = key_text(q, key_end) == step.key;
          std::size_t v = ws(key_end);
          if (v < t_.size() && t_[v] == ':') v = ws(v + 1);
          if (match && ++seen == (last ? occurrence : 1)) {
            if (last && at_key) return q;
            p = v;
            found = true;
            break;
          }
          q = ws(skip_value(v));
          if (q >= t_.size() || t_[q] != ',') break;
          q = ws(q + 1);
        }
      } else {
        if (t_[p] != '[') return p;
        std::size_t q = ws(p + 1);
        for (std::size_t i = 0; q < t_.size() && t_[q] != ']'; ++i) {
          if (i == step.index) {
            p = q;
            found = true;
            break;
          }
          q = ws(skip_value(q));
          if (q >= t_.size() || t_[q] != ',') break;
          q = ws(q + 1);
        }
      }
      if (!found) return p;  // not there: point at the enclosing value
    }
    return p;
  }

 private:
  std::size_t ws(std::size_t p) const {
    while (p < t_.size() && (t_[p] == ' ' || t_[p] == '\t' || t_[p] == '\n' || t_[p] == '\r')) ++p;
    return p;
  }
  // p at an opening quote; returns the offset after the closing one.
  std::size_t skip_string(std::size_t p) const {
    ++p;
    while (p < t_.size()) {
      if (t_[p] == '\\') {
        p += 2;
      } else if (t_[p] == '"') {
        return p + 1;
      } else {
        ++p;
      }
    }
    return t_.size();
  }
  std::size_t skip_value(std::size_t p) const {
    if (p >= t_.size()) return t_.size();
    const char c = t_[p];
    if (c == '"') return skip_string(p);
    if (c == '{' || c == '[') {
      int depth = 0;
      while (p < t_.size()) {
        const char d = t_[p];
        if (d == '"') {
          p = skip_string(p);
          continue;
        }
        if (d == '{' || d == '[') ++depth;
        if ((d == '}' || d == ']') && --depth == 0) return p + 1;
        ++p;
      }
      return t_.size();
    }
    while (p < t_.size() && std::string_view(",]} \t\r\n").find(t_[p]) == std::string_view::npos) ++p;
    return p;
  }
  std::string key_text(std::size_t begin, std::size_t end) const {
    const std::string_view raw = t_.substr(begin, end - begin);
    if (raw.size() >= 2 && raw.find('\\') == std::string_view::npos) return std::string(raw.substr(1, raw.size() - 2));
    try {
      return nlohmann::json::parse(raw).get<std::string>();
    } catch (const nlohmann::json::exception&) {
      return {};
    }
  }

  std::string_view t_;
};

// Builds an ordered DOM from SAX events, stopping at a syntax error or a
// repeated key (nlohmann would keep the last one silently).
class DomBuilder final : public nlohmann::json_sax<OrderedJson> {
 public:
  OrderedJson root;
  bool syntax_error = false;
  std::size_t error_byte = 0;  // nlohmann's count of characters read, from 1
  std::string error_message;
  bool duplicate = false;
  JsonPath duplicate_path;  // the object's path, then the repeated key

  bool null() override { return add(OrderedJson(nullptr)); }
  bool boolean(bool v) override { return add(OrderedJson(v)); }
  bool number_integer(number_integer_t v) override { return add(OrderedJson(v)); }
  bool number_unsigned(number_unsigned_t v) override { return add(OrderedJson(v)); }
  bool number_float(number_float_t v, const string_t&) override { return add(OrderedJson(v)); }
  bool string(string_t& v) override { return add(OrderedJson(std::move(v))); }
  bool binary(binary_t&) override { return false; }  // JSON text has none
  bool start_object(std::size_t) override { return open(OrderedJson::object()); }
  bool key(string_t& k) override {
    Frame& f = stack_.back();
    if (f.value->contains(k)) {
      duplicate = true;
      for (std::size_t i = 1; i < stack_.size(); ++i) duplicate_path.push_back(stack_[i].step);
      duplicate_path.push_back(json_key(k));
      return false;
    }
    f.key = std::move(k);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(OrderedJson::array()); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    syntax_error = true;
    error_byte = position;
    error_message = ex.what();
    return false;
  }

 private:
  struct Frame {
    OrderedJson* value = nullptr;
    std::string key;  // the member being read, for objects
    JsonStep step;    // how the parent reaches this value
  };

  // Where the next value goes, and the step that reaches it.
  std::pair<OrderedJson*, JsonStep> slot() {
    if (stack_.empty()) return {&root, JsonStep{}};
    Frame& f = stack_.back();
    if (f.value->is_object()) return {&(*f.value)[f.key], json_key(f.key)};
    f.value->push_back(OrderedJson());
    return {&f.value->back(), json_item(f.value->size() - 1)};
  }
  bool add(OrderedJson v) {
    *slot().first = std::move(v);
    return true;
  }
  bool open(OrderedJson v) {
    auto [at, step] = slot();
    *at = std::move(v);
    stack_.push_back(Frame{at, {}, std::move(step)});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  std::vector<Frame> stack_;  // open containers; each stays put while it is open
};

}  // namespace

std::string json_path_text(const JsonPath& path) {
  std::string out;
  for (const JsonStep& s : path) {
    if (s.is_key) {
      out += (out.empty() ? "" : ".") + s.key;
    } else {
      out += '[' + std::to_string(s.index) + ']';
    }
  }
  return out;
}

TextPosition text_position(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  int line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return {line, static_cast<int>(offset - line_start) + 1};
}

TextPosition json_error_position(std::string_view text, std::size_t error_byte) {
  return text_position(text, error_byte == 0 ? 0 : error_byte - 1);
}

std::string json_error_text(std::string_view what) {
  if (const auto id_end = what.find("] "); what.rfind("[json.exception.", 0) == 0 && id_end != std::string_view::npos) {
    what = what.substr(id_end + 2);
  }
  if (what.rfind("parse error", 0) == 0) {
    if (const auto colon = what.find(": "); colon != std::string_view::npos) what = what.substr(colon + 2);
  }
  return std::string(what);
}

std::size_t json_offset(std::string_view text, const JsonPath& path, bool at_key, int occurrence) {
  return Locator(text).find(path, at_key, occurrence);
}

OrderedJson JsonText::parse(RepeatedKey style) const {
  DomBuilder builder;
  bool ok = false;
  try {
    ok = OrderedJson::sax_parse(text_.begin(), text_.end(), &builder);
  } catch (const nlohmann::json::exception& e) {  // defensive: nlohmann reports through parse_error
    throw Error(Error::Kind::Format, source_ + ": invalid JSON: " + e.what());
  }
  if (builder.duplicate) {
    const JsonPath& path = builder.duplicate_path;
    std::string message = "key \"" + path.back().key + "\" appears twice in one object";
    if (style == RepeatedKey::WithPath) message = json_path_text(path) + ": " + message;
    fail_at(json_offset(text_, path, true, 2), message);
  }
  if (!ok || builder.syntax_error) {
    const auto [line, column] = json_error_position(text_, builder.error_byte);
    throw Error(Error::Kind::Format,
                located(source_, line, column, "invalid JSON: " + json_error_text(builder.error_message)));
  }
  return std::move(builder.root);
}

TextPosition JsonText::position(const JsonPath& path, bool at_key) const {
  return position(json_offset(text_, path, at_key));
}

void JsonText::fail_at(std::size_t offset, const std::string& message) const {
  const auto [line, column] = position(offset);
  throw Error(Error::Kind::Format, located(source_, line, column, message));
}

void JsonText::fail(const JsonPath& path, const std::string& message) const {
  fail_at(json_offset(text_, path, false), message);
}

void JsonText::fail_key(const JsonPath& path, const std::string& message) const {
  fail_at(json_offset(text_, path, true), message);
}

const char* json_kind_name(const OrderedJson& j) noexcept {
  switch (j.type()) {
    case OrderedJson::value_t::null: return "null";
    case OrderedJson::value_t::boolean: return "a boolean";
    case OrderedJson::value_t::number_integer:
    case OrderedJson::value_t::number_unsigned:
    case OrderedJson::value_t::number_float: return "a number";
    case OrderedJson::value_t::string: return "a text";
    case OrderedJson::value_t::array: return "a list";
    case OrderedJson::value_t::object: return "an object";
    default: return "something else";
  }
}

}  // namespace miso::core
