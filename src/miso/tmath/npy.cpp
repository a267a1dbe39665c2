// NumPy .npy reading and writing (see npy.hpp for the format and its limits).
#include "miso/tmath/npy.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/profiler/span.hpp"

namespace miso::tmath {

namespace {

constexpr std::string_view kMagic{"\x93NUMPY", 6};
constexpr std::size_t kAlign = 64;             // numpy.lib.format.ARRAY_ALIGN
constexpr std::size_t kGrowthAxisDigits = 21;  // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS
constexpr int kMaxNesting = 32;
static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big);

[[noreturn]] void fail(const std::string& what, const std::string& message) {
  throw Error(Error::Kind::Format, located(what, 0, 0, message));
}

// Printable text for messages: non-printable bytes as \xNN, cut after `max` bytes.
std::string escape(std::string_view s, std::size_t max = 160) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string quote_text(std::string_view s, std::size_t max = 160) {
  std::string out(1, '\'');
  out += escape(s, max);
  out += '\'';
  return out;
}

// --- the preamble: magic, version, header length -------------------------------------
struct Preamble {
  int major = 0;
  int minor = 0;
  std::size_t size = 0;        // bytes of magic, version and length field
  std::size_t header_len = 0;  // bytes of header text after them
};

// `b`: the file's first bytes (at least 12 when the file has them).
Preamble parse_preamble(std::string_view b, const std::string& what) {
  const std::size_t m = std::min(b.size(), kMagic.size());
  if (b.substr(0, m) != kMagic.substr(0, m)) {
    fail(what, "not a .npy file: bad magic " + quote_text(b.substr(0, kMagic.size())) + " (expected '\\x93NUMPY')");
  }
  if (b.size() < kMagic.size() + 2) {
    fail(what,
         "truncated header: the file ends after " + std::to_string(b.size()) + " bytes, inside the magic and version");
  }
  Preamble p;
  p.major = static_cast<unsigned char>(b[6]);
  p.minor = static_cast<unsigned char>(b[7]);
  if ((p.major != 1 && p.major != 2 && p.major != 3) || p.minor != 0) {
    fail(what, "unsupported .npy format version " + std::to_string(p.major) + "." + std::to_string(p.minor) +
                   " (supported: 1.0, 2.0, 3.0)");
  }
  const std::size_t len_bytes = p.major == 1 ? 2 : 4;
  p.size = 8 + len_bytes;
  if (b.size() < p.size) {
    fail(what, "truncated header: the file ends after " + std::to_string(b.size()) +
                   " bytes, inside the header length field of version " + std::to_string(p.major) + ".0");
  }
  for (std::size_t i = 0; i < len_bytes; ++i) {
    p.header_len |= static_cast<std::size_t>(static_cast<unsigned char>(b[8 + i])) << (8 * i);
  }
  return p;
}

// --- a parser for the Python literals of the header ------------------------------------
struct Value {
  enum class Kind { Str, Int, Bool, None, Tuple, List } kind = Kind::None;
  std::string str;
  std::int64_t num = 0;
  bool flag = false;
  std::vector<Value> items;
  std::size_t begin = 0, end = 0;  // the source text
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  std::vector<std::pair<std::string, Value>> dict() {
    skip_ws();
    if (!eat('{')) error("expected '{' to start the header dict");
    std::vector<std::pair<std::string, Value>> entries;
    skip_ws();
    if (!eat('}')) {
      while (true) {
        skip_ws();
        const std::size_t key_at = pos_;
        Value key = value();
        if (key.kind != Value::Kind::Str) {
          error_at(key_at, "expected a string key in the header dict, found " + source(key));
        }
        skip_ws();
        if (!eat(':')) error("expected ':' after key '" + escape(key.str) + "'");
        skip_ws();
        entries.emplace_back(key.str, value());
        skip_ws();
        if (eat('}')) break;
        if (!eat(',')) error("expected ',' or '}' after the value of key '" + escape(key.str) + "'");
        skip_ws();
        if (eat('}')) break;  // trailing comma
      }
    }
    skip_ws();
    if (pos_ != s_.size()) error("unexpected text after the header dict");
    return entries;
  }

  std::string source(const Value& v) const { return quote_text(s_.substr(v.begin, v.end - v.begin), 80); }

  [[noreturn]] void error_at(std::size_t at, const std::string& message) const {
    std::string found = at < s_.size() ? quote_text(s_.substr(at, 20), 20) : std::string("the end of the header");
    fail(what_, "malformed header dict: " + message + " at offset " + std::to_string(at) + " (found " + found +
                    ") in header " + quote_text(s_, 400));
  }

 private:
  [[noreturn]] void error(const std::string& message) const { error_at(pos_, message); }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  bool eat(char c) {
    if (!at_end() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void skip_ws() {
    while (!at_end()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
  }

  Value value() {
    if (++depth_ > kMaxNesting) error("values nested more than " + std::to_string(kMaxNesting) + " deep");
    Value v = value_inner();
    --depth_;
    return v;
  }

  Value value_inner() {
    const std::size_t begin = pos_;
    const char c = peek();
    Value v;
    if (c == '\'' || c == '"') {
      v = string_literal();
    } else if ((c == 'u' || c == 'U' || c == 'b' || c == 'B') && pos_ + 1 < s_.size() &&
               (s_[pos_ + 1] == '\'' || s_[pos_ + 1] == '"')) {
      ++pos_;  // u'...' (Python 2 headers), b'...'
      v = string_literal();
    } else if (is_digit(c) || c == '-' || c == '+') {
      v = integer();
    } else if (c == '(' || c == '[') {
      v = sequence();
    } else if (is_name_char(c)) {
      std::size_t end = pos_;
      while (end < s_.size() && is_name_char(s_[end])) ++end;
      std::string_view word = s_.substr(pos_, end - pos_);
      if (word == "True" || word == "False") {
        v.kind = Value::Kind::Bool;
        v.flag = word == "True";
      } else if (word == "None") {
        v.kind = Value::Kind::None;
      } else {
        error("unexpected name " + quote_text(word) +
              " (expected a string, integer, True, False, None, tuple or list)");
      }
      pos_ = end;
    } else {
      error(at_end() ? "expected a value" : "expected a value (string, integer, True, False, None, tuple or list)");
    }
    v.begin = begin;
    v.end = pos_;
    return v;
  }

  Value string_literal() {
    const char quote = s_[pos_++];
    const std::size_t start = pos_ - 1;
    Value v;
    v.kind = Value::Kind::Str;
    while (true) {
      if (at_end() || s_[pos_] == '\n') error_at(start, "unterminated string");
      char c = s_[pos_++];
      if (c == quote) break;
      if (c == '\\') {
        if (at_end()) error_at(start, "unterminated string");
        char e = s_[pos_++];
        switch (e) {
          case 'n': v.str += '\n'; break;
          case 't': v.str += '\t'; break;
          case 'r': v.str += '\r'; break;
          case '0': v.str += '\0'; break;
          default: v.str += e; break;
        }
      } else {
        v.str += c;
      }
    }
    return v;
  }

  Value integer() {
    const std::size_t start = pos_;
    bool negative = false;
    if (peek() == '-' || peek() == '+') {
      negative = s_[pos_++] == '-';
      skip_ws();
    }
    if (!is_digit(peek())) error("expected digits of an integer");
    std::uint64_t magnitude = 0;
    const std::uint64_t limit =
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
    while (is_digit(peek())) {
      auto d = static_cast<std::uint64_t>(s_[pos_++] - '0');
      if (magnitude > (limit - d) / 10) {
        while (is_digit(peek())) ++pos_;
        error_at(start, "integer " + quote_text(s_.substr(start, pos_ - start)) + " does not fit in 64 bits");
      }
      magnitude = magnitude * 10 + d;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long
    if (peek() == '.' || peek() == 'e' || peek() == 'E' || peek() == 'j' || peek() == 'J' || is_name_char(peek())) {
      error("expected an integer (not a float, complex or name)");
    }
    Value v;
    v.kind = Value::Kind::Int;
    v.num = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
    return v;
  }

  // "(...)" or "[...]". Like Python, "(x)" without a comma is x itself.
  Value sequence() {
    const char open = s_[pos_++];
    const char close = open == '(' ? ')' : ']';
    Value v;
    v.kind = open == '(' ? Value::Kind::Tuple : Value::Kind::List;
    skip_ws();
    if (eat(close)) return v;
    bool comma = false;
    while (true) {
      skip_ws();
      v.items.push_back(value());
      skip_ws();
      if (eat(close)) break;
      if (!eat(',')) error(std::string("expected ',' or '") + close + "'");
      comma = true;
      skip_ws();
      if (eat(close)) break;
    }
    if (open == '(' && !comma) {
      Value inner = std::move(v.items.front());
      return inner;  // a parenthesised value, not a tuple
    }
    return v;
  }

  std::string_view s_;
  const std::string& what_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

// --- descr ------------------------------------------------------------------------------
struct Descr {
  DType dtype = DType::F32;
  bool swap = false;  // the data's byte order differs from this machine's
};

constexpr std::string_view kSupported =
    "supported: '<f4' (f32), '<f8' (f64), '<f2' (f16), '<i4' (i32), '<i8' (i64), '|b1' or '?' (bool), "
    "'<V2' (bf16); '>' big-endian variants are byte-swapped";

std::optional<Descr> parse_descr(std::string_view d) {
  std::endian order = std::endian::native;
  if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '=' || d[0] == '|')) {
    if (d[0] == '<') order = std::endian::little;
    if (d[0] == '>') order = std::endian::big;
    d.remove_prefix(1);
  }
  Descr r;
  if (d == "f4" || d == "f") {
    r.dtype = DType::F32;
  } else if (d == "f8" || d == "d") {
    r.dtype = DType::F64;
  } else if (d == "f2" || d == "e") {
    r.dtype = DType::F16;
  } else if (d == "i4") {
    r.dtype = DType::I32;
  } else if (d == "i8") {
    r.dtype = DType::I64;
  } else if (d == "b1" || d == "?") {
    r.dtype = DType::Bool;
  } else if (d == "V2") {
    r.dtype = DType::BF16;
    return r;  // void data has no byte order: bf16 bits are stored little-endian
  } else {
    return std::nullopt;
  }
  r.swap = size_of(r.dtype) > 1 && order != std::endian::native;
  return r;
}

std::string descr_of(DType t) {
  const bool little = std::endian::native == std::endian::little;
  switch (t) {
    case DType::F32: return little ? "<f4" : ">f4";
    case DType::F64: return little ? "<f8" : ">f8";
    case DType::F16: return little ? "<f2" : ">f2";
    case DType::BF16: return "<V2";
    case DType::I32: return little ? "<i4" : ">i4";
    case DType::I64: return little ? "<i8" : ">i8";
    case DType::Bool: return "|b1";
  }
  return "|b1";
}

void byte_swap(std::byte* p, std::size_t count, std::size_t esize) {
  for (std::size_t i = 0; i < count; ++i) std::reverse(p + i * esize, p + (i + 1) * esize);
}

// --- the header ----------------------------------------------------------------------------
struct Header {
  Descr descr;
  std::string descr_text;
  Shape shape;
  bool fortran = false;
  std::size_t nbytes = 0;
};

std::string shape_repr(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

Header parse_header(std::string_view text, const std::string& what) {
  HeaderParser parser(text, what);
  auto entries = parser.dict();
  const Value* descr = nullptr;
  const Value* fortran = nullptr;
  const Value* shape = nullptr;
  for (const auto& [key, value] : entries) {
    const Value** slot = key == "descr"           ? &descr
                         : key == "fortran_order" ? &fortran
                         : key == "shape"         ? &shape
                                                  : nullptr;
    if (!slot) {
      fail(what, "unexpected key '" + escape(key) +
                     "' in the header dict (expected 'descr', 'fortran_order' and 'shape') in header " +
                     quote_text(text, 400));
    }
    if (*slot) fail(what, "key '" + key + "' appears twice in the header dict " + quote_text(text, 400));
    *slot = &value;
  }
  for (auto [key, slot] : {std::pair{"descr", descr}, std::pair{"fortran_order", fortran}, std::pair{"shape", shape}}) {
    if (!slot) fail(what, std::string("the header dict has no '") + key + "' key: " + quote_text(text, 400));
  }

  Header h;
  if (descr->kind == Value::Kind::List) {
    fail(what, "unsupported descr " + parser.source(*descr) + ": structured dtypes are not supported (" +
                   std::string(kSupported) + ")");
  }
  if (descr->kind != Value::Kind::Str) {
    fail(what, "'descr' must be a string, found " + parser.source(*descr));
  }
  auto d = parse_descr(descr->str);
  if (!d) fail(what, "unsupported descr " + quote_text(descr->str) + " (" + std::string(kSupported) + ")");
  h.descr = *d;
  h.descr_text = descr->str;

  if (fortran->kind != Value::Kind::Bool) {
    fail(what, "'fortran_order' must be True or False, found " + parser.source(*fortran));
  }
  h.fortran = fortran->flag;

  if (shape->kind != Value::Kind::Tuple) {
    std::string hint = shape->kind == Value::Kind::Int
                           ? " (a 1-tuple needs a trailing comma, as in (" + std::to_string(shape->num) + ",))"
                           : "";
    fail(what, "'shape' must be a tuple of non-negative integers, found " + parser.source(*shape) + hint);
  }
  for (const Value& dim : shape->items) {
    if (dim.kind != Value::Kind::Int) {
      fail(what, "'shape' must be a tuple of non-negative integers, found " + parser.source(dim) + " in " +
                     parser.source(*shape));
    }
    if (dim.num < 0) {
      fail(what, "negative dimension " + std::to_string(dim.num) + " in shape " + parser.source(*shape));
    }
    h.shape.push_back(dim.num);
  }
  // The byte count, and the strides' product of sizes (zero sizes counted as
  // 1), must both fit in 64 bits.
  std::int64_t bytes = static_cast<std::int64_t>(size_of(h.descr.dtype));
  std::int64_t span = bytes;
  bool overflow = false;
  for (std::int64_t dim : h.shape) {
    overflow = overflow || __builtin_mul_overflow(bytes, dim, &bytes) ||
               __builtin_mul_overflow(span, std::max<std::int64_t>(dim, 1), &span);
  }
  if (overflow || static_cast<std::uint64_t>(bytes) > std::numeric_limits<std::size_t>::max()) {
    fail(what, "shape " + shape_repr(h.shape) + " of " + quote_text(h.descr_text) + " is too large (over 2^63 bytes)");
  }
  h.nbytes = static_cast<std::size_t>(bytes);
  return h;
}

// The data must be exactly h.nbytes long.
void check_data_size(const Header& h, std::uint64_t available, const std::string& what) {
  if (available == h.nbytes) return;
  std::string base = "shape " + shape_repr(h.shape) + " of " + quote_text(h.descr_text) + " needs " +
                     std::to_string(h.nbytes) + " bytes of data after the header, found " + std::to_string(available);
  if (available < h.nbytes) fail(what, "truncated data: " + base);
  fail(what, "extra data: " + base + " (" + std::to_string(available - h.nbytes) + " bytes too many)");
}

// A tensor of the header's dtype and shape; fill(dst, n) writes the n raw data bytes.
template <typename Fill>
Tensor build(const Header& h, Fill&& fill) {
  Shape storage_shape = h.shape;
  if (h.fortran) std::reverse(storage_shape.begin(), storage_shape.end());
  Tensor t = Tensor::empty(storage_shape, h.descr.dtype);
  auto* p = static_cast<std::byte*>(t.raw_data());
  if (h.nbytes > 0) fill(p, h.nbytes);
  const std::size_t esize = size_of(h.descr.dtype);
  if (h.descr.swap) byte_swap(p, h.nbytes / esize, esize);
  if (h.descr.dtype == DType::Bool) {
    // Only 0 and 1 are valid bools in memory.
    auto* u = reinterpret_cast<unsigned char*>(p);
    for (std::size_t i = 0; i < h.nbytes; ++i) u[i] = u[i] != 0 ? 1 : 0;
  }
  if (h.fortran && h.shape.size() > 1) {
    std::vector<std::int64_t> order(h.shape.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(order.size() - 1 - i);
    t = t.permute(order).contiguous();
  }
  return t;
}

std::string header_bytes(const Tensor& t) {
  std::string dict =
      "{'descr': '" + descr_of(t.dtype()) + "', 'fortran_order': False, 'shape': " + shape_repr(t.shape()) + ", }";
  if (!t.shape().empty()) dict.append(kGrowthAxisDigits - std::to_string(t.shape()[0]).size(), ' ');
  for (int major : {1, 2}) {
    const std::size_t len_bytes = major == 1 ? 2 : 4;
    const std::size_t hlen = dict.size() + 1;  // with the final newline
    const std::size_t pad = kAlign - (kMagic.size() + 2 + len_bytes + hlen) % kAlign;
    const std::size_t total = hlen + pad;
    if (major == 1 && total > 0xFFFF) continue;
    if (total > 0xFFFFFFFFu) break;
    std::string out(kMagic);
    out += static_cast<char>(major);
    out += '\0';
    for (std::size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((total >> (8 * i)) & 0xFF);
    out += dict;
    out.append(pad, ' ');
    out += '\n';
    return out;
  }
  throw Error(Error::Kind::InvalidArgument,
              "save_npy: the header of a tensor of shape " + to_string(t.shape()) + " exceeds 4 GiB");
}

void require_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw Error(Error::Kind::InvalidArgument, std::string(op) + ": the tensor is undefined");
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& what) {
  MISO_PROFILE_SCOPE("tmath.parse_npy");
  Preamble p = parse_preamble(bytes, what);
  if (bytes.size() - p.size < p.header_len) {
    fail(what, "truncated header: the header length field says " + std::to_string(p.header_len) + " bytes, only " +
                   std::to_string(bytes.size() - p.size) + " follow");
  }
  Header h = parse_header(bytes.substr(p.size, p.header_len), what);
  std::string_view data = bytes.substr(p.size + p.header_len);
  check_data_size(h, data.size(), what);
  return build(h, [&](std::byte* dst, std::size_t n) { std::memcpy(dst, data.data(), n); });
}

Tensor load_npy(const std::filesystem::path& path) {
  MISO_PROFILE_SCOPE("tmath.load_npy");
  const std::string what = path.string();
  core::FileReader reader(path);
  const std::uint64_t size = reader.size();
  auto read_some = [&](std::string& buf, std::size_t n) {
    const std::size_t old = buf.size();
    buf.resize(old + n);
    std::size_t got = reader.read(std::as_writable_bytes(std::span(buf.data() + old, n)));
    buf.resize(old + got);
  };
  std::string head;
  read_some(head, static_cast<std::size_t>(std::min<std::uint64_t>(size, 10)));
  if (head.size() >= 10 && head.substr(0, 6) == kMagic && (head[6] == 2 || head[6] == 3)) read_some(head, 2);
  Preamble p = parse_preamble(head, what);
  const std::uint64_t after = size >= p.size ? size - p.size : 0;
  if (after < p.header_len) {
    fail(what, "truncated header: the header length field says " + std::to_string(p.header_len) + " bytes, only " +
                   std::to_string(after) + " follow");
  }
  std::string text(p.header_len, '\0');
  reader.read_exact(std::as_writable_bytes(std::span(text.data(), text.size())), "header");
  Header h = parse_header(text, what);
  check_data_size(h, after - p.header_len, what);
  return build(h, [&](std::byte* dst, std::size_t n) { reader.read_exact(std::span(dst, n), "data"); });
}

std::string to_npy(const Tensor& tensor) {
  MISO_PROFILE_SCOPE("tmath.to_npy");
  require_defined(tensor, "to_npy");
  Tensor c = tensor.contiguous();
  std::string out = header_bytes(c);
  const std::size_t start = out.size();
  out.resize(start + c.nbytes());
  if (c.nbytes() > 0) std::memcpy(out.data() + start, c.raw_data(), c.nbytes());
  return out;
}

void save_npy(const std::filesystem::path& path, const Tensor& tensor) {
  MISO_PROFILE_SCOPE("tmath.save_npy");
  require_defined(tensor, "save_npy");
  Tensor c = tensor.contiguous();
  // AtomicFile is what core::write_file_atomic uses; writing header and data
  // separately saves a copy of the data.
  core::AtomicFile file(path);
  file.write(header_bytes(c));
  if (c.nbytes() > 0) file.write(std::span(static_cast<const std::byte*>(c.raw_data()), c.nbytes()));
  file.commit(false);
}

}  // namespace miso::tmath
