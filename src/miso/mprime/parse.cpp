#include "miso/mprime/parse.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"

namespace miso::mprime {
namespace {

// ---- text --------------------------------------------------------------------

// One decoded code point; `length` 0 marks an invalid byte (decoded as length 1).
struct CodePoint {
  char32_t value = 0;
  std::size_t length = 0;
};

CodePoint decode(std::string_view s, std::size_t at) {
  const auto b0 = static_cast<unsigned char>(s[at]);
  if (b0 < 0x80) return {b0, 1};
  std::size_t n = 0;
  char32_t v = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    v = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    v = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    v = b0 & 0x07;
  } else {
    return {b0, 0};
  }
  if (at + n > s.size()) return {b0, 0};
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[at + k]);
    if ((b & 0xC0) != 0x80) return {b0, 0};
    v = (v << 6) | (b & 0x3F);
  }
  const bool overlong = (n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000);
  if (overlong || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return {b0, 0};
  return {v, n};
}

std::size_t step(std::string_view s, std::size_t at) {
  const CodePoint cp = decode(s, at);
  return cp.length == 0 ? 1 : cp.length;
}

bool is_ascii_letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }

// Greek letters usable in names; π is excluded because it is the constant.
bool is_greek_letter(char32_t c) {
  if (c == U'π') return false;
  return (c >= 0x0391 && c <= 0x03A9 && c != 0x03A2) || (c >= 0x03B1 && c <= 0x03C9) || c == 0x03D1 || c == 0x03D5 ||
         c == 0x03F5;
}

bool is_name_start(char32_t c) { return is_ascii_letter(c) || is_greek_letter(c); }
bool is_name_char(char32_t c) { return is_name_start(c) || is_digit(c) || c == '_'; }

int superscript_digit(char32_t c) {
  switch (c) {
    case U'⁰': return 0;
    case U'¹': return 1;
    case U'²': return 2;
    case U'³': return 3;
    default: break;
  }
  if (c >= U'⁴' && c <= U'⁹') return static_cast<int>(c - U'⁴') + 4;
  return -1;
}

// A code point as the caret line shows it: control characters and invalid
// bytes become '?', so that every shown code point takes one column.
void append_visible(std::string& out, std::string_view s, std::size_t at, const CodePoint& cp) {
  if (cp.length == 0 || cp.value < 0x20 || cp.value == 0x7F || (cp.value >= 0x80 && cp.value < 0xA0)) {
    out += cp.value == '\t' ? ' ' : '?';
  } else {
    out.append(s.substr(at, cp.length));
  }
}

// ---- tokens ------------------------------------------------------------------

enum class Tok : std::uint8_t {
  End,
  Number,
  Name,
  String,
  Plus,
  Minus,
  Star,
  Slash,
  Caret,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Semicolon,
  Equals,
  Bar,
  Arrow,
  Sqrt,
  Cbrt,
  Integral,
  Partial,
  Underscore,
  Superscript,
};

struct Token {
  Tok kind = Tok::End;
  std::size_t begin = 0;
  std::size_t end = 0;
  bool newline_before = false;  // a line break separates it from the previous token
  std::string_view text;        // the source text (Superscript: its value in ASCII below)
  long superscript = 0;         // Tok::Superscript: the exponent written as ²³, ⁻¹, ...
};

[[noreturn]] void fail_at(std::string_view text, std::size_t offset, std::string_view what) {
  throw Error(Error::Kind::Format, caret_message(text, offset, what));
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    bool newline = false;
    while (at_ < text_.size()) {
      const CodePoint cp = decode(text_, at_);
      if (cp.value == '\n') newline = true;
      if (cp.length != 0 && is_space(cp.value)) {
        at_ += cp.length;
        continue;
      }
      Token t = next(cp);
      t.newline_before = newline;
      newline = false;
      out.push_back(t);
    }
    Token end;
    end.begin = end.end = text_.size();
    end.newline_before = newline;
    out.push_back(end);
    return out;
  }

 private:
  static bool is_space(char32_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0xA0;
  }

  Token make(Tok kind, std::size_t begin) {
    Token t;
    t.kind = kind;
    t.begin = begin;
    t.end = at_;
    t.text = text_.substr(begin, at_ - begin);
    return t;
  }

  Token next(const CodePoint& cp) {
    const std::size_t begin = at_;
    if (cp.length == 0) {
      fail_at(text_, begin, "invalid UTF-8 byte");
    }
    const char32_t c = cp.value;
    if (is_digit(c) ||
        (c == '.' && begin + 1 < text_.size() && is_digit(static_cast<unsigned char>(text_[begin + 1])))) {
      return number(begin);
    }
    if (is_name_start(c)) return name(begin);
    if (c == '"' || c == '\'') return string(begin, static_cast<char>(c));
    at_ += cp.length;
    switch (c) {
      case '+': return make(Tok::Plus, begin);
      case '-':
      case U'−':
        if (c == '-' && peek_byte() == '>') {
          ++at_;
          return make(Tok::Arrow, begin);
        }
        return make(Tok::Minus, begin);
      case '*':
        if (peek_byte() == '*') {
          ++at_;
          return make(Tok::Caret, begin);
        }
        return make(Tok::Star, begin);
      case U'×':
      case U'·':
      case U'⋅':
      case U'∙': return make(Tok::Star, begin);
      case '/':
      case U'÷': return make(Tok::Slash, begin);
      case '^': return make(Tok::Caret, begin);
      case '(': return make(Tok::LParen, begin);
      case ')': return make(Tok::RParen, begin);
      case '[': return make(Tok::LBracket, begin);
      case ']': return make(Tok::RBracket, begin);
      case '{': return make(Tok::LBrace, begin);
      case '}': return make(Tok::RBrace, begin);
      case ',': return make(Tok::Comma, begin);
      case ';': return make(Tok::Semicolon, begin);
      case '=':
        if (peek_byte() == '=') ++at_;
        return make(Tok::Equals, begin);
      case '|': return make(Tok::Bar, begin);
      case '_': return make(Tok::Underscore, begin);
      case U'→':
      case U'⟶': return make(Tok::Arrow, begin);
      case U'√': return make(Tok::Sqrt, begin);
      case U'∛': return make(Tok::Cbrt, begin);
      case U'∫': return make(Tok::Integral, begin);
      case U'∂': return make(Tok::Partial, begin);
      case U'π':
      case U'∞': return make(Tok::Name, begin);
      default: break;
    }
    if (superscript_digit(c) >= 0 || c == U'⁻' || c == U'⁺') return superscript(begin, c);
    std::string what = "unexpected character '";
    std::string shown;
    append_visible(shown, text_, begin, cp);
    what.append(shown).append("'");
    fail_at(text_, begin, what);
  }

  int peek_byte() const { return at_ < text_.size() ? static_cast<unsigned char>(text_[at_]) : -1; }

  void digits() {
    while (at_ < text_.size() && is_digit(static_cast<unsigned char>(text_[at_]))) ++at_;
  }

  Token number(std::size_t begin) {
    digits();
    if (peek_byte() == '.') {
      ++at_;
      digits();
    }
    // An exponent only when digits follow: `2e` is 2 times e, `2e5` is 200000.0.
    if (peek_byte() == 'e' || peek_byte() == 'E') {
      std::size_t k = at_ + 1;
      if (k < text_.size() && (text_[k] == '+' || text_[k] == '-')) ++k;
      if (k < text_.size() && is_digit(static_cast<unsigned char>(text_[k]))) {
        at_ = k;
        digits();
      }
    }
    return make(Tok::Number, begin);
  }

  Token name(std::size_t begin) {
    while (at_ < text_.size()) {
      const CodePoint cp = decode(text_, at_);
      if (cp.length == 0 || !is_name_char(cp.value)) break;
      // A trailing '_' is a subscript marker (lim_{x→0}), not part of the name.
      if (cp.value == '_' && (at_ + 1 >= text_.size() || !is_name_char(decode(text_, at_ + 1).value))) break;
      at_ += cp.length;
    }
    return make(Tok::Name, begin);
  }

  Token string(std::size_t begin, char quote) {
    ++at_;
    while (at_ < text_.size() && text_[at_] != quote && text_[at_] != '\n') at_ += step(text_, at_);
    if (at_ >= text_.size() || text_[at_] != quote) fail_at(text_, begin, "unterminated string");
    ++at_;
    Token t = make(Tok::String, begin);
    t.text = text_.substr(begin + 1, at_ - begin - 2);
    return t;
  }

  Token superscript(std::size_t begin, char32_t first) {
    at_ = begin;
    long value = 0;
    bool negative = false;
    bool any_digit = false;
    bool first_char = true;
    while (at_ < text_.size()) {
      const CodePoint cp = decode(text_, at_);
      if (cp.length == 0) break;
      const int d = superscript_digit(cp.value);
      if (first_char && (cp.value == U'⁻' || cp.value == U'⁺')) {
        negative = cp.value == U'⁻';
      } else if (d >= 0) {
        if (value > 100000000) fail_at(text_, begin, "superscript exponent too large");
        value = value * 10 + d;
        any_digit = true;
      } else {
        break;
      }
      first_char = false;
      at_ += cp.length;
    }
    if (!any_digit) {
      std::string what = "expected superscript digits after '";
      what.append(first == U'⁻' ? "⁻" : "⁺").append("'");
      fail_at(text_, begin, what);
    }
    Token t = make(Tok::Superscript, begin);
    t.superscript = negative ? -value : value;
    return t;
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

// ---- names -------------------------------------------------------------------

struct FunctionName {
  std::string_view name;
  Function function;
};

constexpr FunctionName kFunctionNames[] = {
    {"sin", Function::Sin},     {"cos", Function::Cos},   {"tan", Function::Tan},     {"exp", Function::Exp},
    {"log", Function::Log},     {"ln", Function::Log},    {"abs", Function::Abs},     {"asin", Function::Asin},
    {"arcsin", Function::Asin}, {"acos", Function::Acos}, {"arccos", Function::Acos}, {"atan", Function::Atan},
    {"arctan", Function::Atan}, {"sinh", Function::Sinh}, {"cosh", Function::Cosh},   {"tanh", Function::Tanh},
};

std::optional<Function> function_named(std::string_view name) {
  for (const auto& f : kFunctionNames) {
    if (f.name == name) return f.function;
  }
  return std::nullopt;
}

// Names that are functions but not of expr.hpp's Function enum.
bool is_extra_function(std::string_view name) {
  return name == "sqrt" || name == "cbrt" || name == "sec" || name == "csc" || name == "cot";
}

// Names with a notation of their own (calls with several arguments, lim(x→a)).
bool is_special_name(std::string_view name) {
  return name == "diff" || name == "Derivative" || name == "integrate" || name == "Integral" || name == "limit" ||
         name == "Limit" || name == "lim";
}

std::optional<Expr> constant_named(std::string_view name) {
  if (name == "pi" || name == "π") return pi();
  if (name == "e") return e();
  if (name == "i") return imaginary_unit();
  if (name == "oo" || name == "∞" || name == "inf" || name == "infinity") return infinity();
  return std::nullopt;
}

bool is_reserved_name(std::string_view name) {
  return function_named(name) || is_extra_function(name) || is_special_name(name) || constant_named(name);
}

// A name that can be a variable of differentiation, integration or a limit.
bool is_variable_name(std::string_view name) {
  if (name.empty() || is_reserved_name(name)) return false;
  return is_name_start(decode(name, 0).value);
}

// Numbers grow exponentially under ^; this is the bound (in bits) past which a
// numeric power in the input is refused rather than computed.
constexpr double kMaxPowerBits = 1 << 24;
constexpr int kMaxDepth = 500;

double numeric_bits(const Expr& x) {
  switch (x.kind()) {
    case Kind::Number: {
      const mpq_class& q = x.number();
      return static_cast<double>(mpz_sizeinbase(q.get_num_mpz_t(), 2) + mpz_sizeinbase(q.get_den_mpz_t(), 2));
    }
    case Kind::Mul: {
      double bits = 0;
      for (const Expr& f : x.args()) bits += numeric_bits(f);
      return bits;
    }
    case Kind::Pow:
      if (x.exponent().is_number()) return numeric_bits(x.base()) * std::abs(x.exponent().number().get_d());
      return 0;
    default: return 0;
  }
}

// ---- parser ------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), toks_(Lexer(text).run()), end_(toks_.size() - 1) {}

  Expr expression_only() {
    if (peek().kind == Tok::End) fail(peek(), "empty input");
    Expr x = additive();
    const Token& t = peek();
    if (t.kind == Tok::End) return x;
    if (t.kind == Tok::Equals) fail(t, "unexpected '=': an equation is not an expression");
    if (t.kind == Tok::Semicolon) fail(t, "unexpected ';': several expressions are not one expression");
    trailing(t);
  }

  Statement statement() {
    Statement out;
    std::vector<Expr> plain;
    bool any = false;
    while (true) {
      while (peek().kind == Tok::Semicolon) ++pos_;
      if (peek().kind == Tok::End) break;
      Expr lhs = additive();
      any = true;
      if (peek().kind == Tok::Equals) {
        ++pos_;
        Expr rhs = additive();
        out.equations.push_back({std::move(lhs), std::move(rhs)});
      } else {
        plain.push_back(std::move(lhs));
      }
      const Token& t = peek();
      if (t.kind == Tok::End || t.kind == Tok::Semicolon || t.newline_before) continue;
      if (t.kind == Tok::Equals) fail(t, "unexpected '=': one equation has one '='");
      trailing(t);
    }
    if (!any) fail(peek(), "empty input");
    if (out.equations.empty()) {
      out.expressions = std::move(plain);
    } else {
      for (Expr& x : plain) out.equations.push_back({std::move(x), Expr()});
    }
    return out;
  }

 private:
  // ---- tokens and errors ----

  const Token& peek(std::size_t ahead = 0) const {
    const std::size_t k = pos_ + ahead;
    return k < end_ ? toks_[k] : end_token();
  }
  // Inside a bounded range (the point of lim(x→a+)) the bound reads as the end.
  const Token& end_token() const { return end_is_real() ? toks_.back() : bound_end_; }
  bool end_is_real() const { return end_ + 1 == toks_.size(); }
  void set_end(std::size_t end) {
    end_ = end;
    bound_end_ = Token();
    bound_end_.begin = bound_end_.end = toks_[end].begin;
  }
  bool at_end() const { return pos_ >= end_; }
  Token take() {
    Token t = peek();
    if (!at_end()) ++pos_;
    return t;
  }
  bool accept(Tok kind) {
    if (at_end() || peek().kind != kind) return false;
    ++pos_;
    return true;
  }

  std::string describe(const Token& t) const {
    if (t.kind == Tok::End) return "the end of the input";
    std::string_view shown = text_.substr(t.begin, t.end - t.begin);
    std::string out = "'";
    if (shown.size() > 24) {
      std::size_t cut = 0;
      while (cut < 20) cut += step(shown, cut);
      out.append(shown.substr(0, cut)).append("...");
    } else {
      out.append(shown);
    }
    return out.append("'");
  }

  [[noreturn]] void fail(const Token& t, std::string_view what) const { fail_at(text_, t.begin, what); }

  [[noreturn]] void trailing(const Token& t) const {
    if (t.kind == Tok::RParen || t.kind == Tok::RBracket || t.kind == Tok::RBrace) {
      fail(t, std::string("unbalanced ").append(describe(t)).append(": no matching opening bracket"));
    }
    if (t.kind == Tok::Number) fail(t, std::string("expected an operator before ").append(describe(t)));
    fail(t, std::string("unexpected ").append(describe(t)).append(" after the expression"));
  }

  void expect(Tok kind, std::string_view what) {
    if (accept(kind)) return;
    fail(peek(), std::string("expected ").append(what).append(", found ").append(describe(peek())));
  }

  void close(Tok kind, const Token& opener) {
    if (accept(kind)) return;
    const std::string_view closer = kind == Tok::RParen     ? "')'"
                                    : kind == Tok::RBracket ? "']'"
                                    : kind == Tok::RBrace   ? "'}'"
                                                            : "'|'";
    std::string what = std::string("expected ").append(closer).append(" to close the ").append(describe(opener));
    what.append(" at column ").append(std::to_string(column_of(opener.begin)));
    if (peek().kind != Tok::End) what.append(", found ").append(describe(peek()));
    fail(peek(), what);
  }

  std::size_t column_of(std::size_t offset) const {
    std::size_t line_start = text_.rfind('\n', offset == 0 ? 0 : offset - 1);
    line_start = (line_start == std::string_view::npos || offset == 0) ? 0 : line_start + 1;
    std::size_t col = 1;
    for (std::size_t k = line_start; k < offset; k += step(text_, k)) ++col;
    return col;
  }

  // Constructors throw miso::Error for 1/0, 0^-1 and the like; the message gets
  // the caret at the operator that asked for it.
  template <typename F>
  Expr build(const Token& at, F&& f) const {
    try {
      return f();
    } catch (const Error& err) {
      fail(at, err.what());
    }
  }

  struct DepthGuard {
    explicit DepthGuard(Parser& p, const Token& at) : parser(p) {
      if (++parser.depth_ > kMaxDepth) {
        parser.fail(at, std::string("expression nested too deeply (more than ")
                            .append(std::to_string(kMaxDepth))
                            .append(" levels)"));
      }
    }
    ~DepthGuard() { --parser.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
    Parser& parser;
  };

  // Brackets and call arguments start afresh: an enclosing ∫ does not end at a
  // `dx` inside them, and a '|' inside them opens a new absolute value.
  struct GroupScope {
    explicit GroupScope(Parser& p) : parser(p), saved_integrals(p.open_integrals_), saved_bars(p.open_bars_) {
      p.open_integrals_ = 0;
      p.open_bars_ = 0;
    }
    ~GroupScope() {
      parser.open_integrals_ = saved_integrals;
      parser.open_bars_ = saved_bars;
    }
    GroupScope(const GroupScope&) = delete;
    GroupScope& operator=(const GroupScope&) = delete;
    Parser& parser;
    int saved_integrals;
    int saved_bars;
  };

  // ---- grammar ----

  Expr additive() {
    std::vector<Expr> terms;
    terms.push_back(term());
    while (peek().kind == Tok::Plus || peek().kind == Tok::Minus) {
      const Token op = take();
      Expr t = term();
      terms.push_back(op.kind == Tok::Minus ? build(op, [&] { return -t; }) : std::move(t));
    }
    if (terms.size() == 1) return std::move(terms.front());
    const Token& first = peek();
    return build(first, [&] { return add(std::move(terms)); });
  }

  // A leading sign applies to the whole product (-a*b = -(a*b)), so that the
  // -1 joins the product's coefficient instead of distributing over a first
  // factor that is a sum: -(x + 1)*y stays a product.
  Expr term() {
    std::vector<Expr> factors;
    bool negative = false;
    while (peek().kind == Tok::Minus || peek().kind == Tok::Plus) {
      if (take().kind == Tok::Minus) negative = !negative;
    }
    if (negative) factors.push_back(Expr(-1));
    factors.push_back(factor());
    while (true) {
      const Token& t = peek();
      if (t.kind == Tok::Star) {
        take();
        factors.push_back(factor());
      } else if (t.kind == Tok::Slash) {
        const Token op = take();
        Expr d = factor();
        factors.push_back(build(op, [&] {
          if (d.is_zero()) throw Error(Error::Kind::Format, "division by zero");
          return pow(d, Expr(-1));
        }));
      } else if (starts_implicit_factor(pos_)) {
        factors.push_back(factor());
      } else {
        break;
      }
    }
    if (factors.size() == 1) return std::move(factors.front());
    return build(peek(), [&] { return mul(std::move(factors)); });
  }

  // Can the token at `k` begin a factor multiplied by juxtaposition (2x, x y,
  // (a)(b), 2√x)? Numbers cannot (`2 3` is an error), nor can a `dx` that ends
  // an integrand.
  bool starts_implicit_factor(std::size_t k) const {
    if (k >= end_) return false;
    const Token& t = toks_[k];
    if (t.newline_before) return false;
    switch (t.kind) {
      case Tok::Name: return !(open_integrals_ > 0 && is_differential(k, open_integrals_));
      case Tok::LParen:
      case Tok::LBracket:
      case Tok::Sqrt:
      case Tok::Cbrt:
      case Tok::Integral:
      case Tok::Partial: return true;
      case Tok::Bar: return open_bars_ == 0;
      default: return false;
    }
  }

  // Is the name at `k` the `dx` that closes an integrand? It is when nothing that
  // continues a product follows it; with nested ∫ several may follow in a row.
  bool is_differential(std::size_t k, int levels) const {
    if (k >= end_ || toks_[k].kind != Tok::Name) return false;
    const std::string_view name = toks_[k].text;
    if (name.size() < 2 || name[0] != 'd' || !is_variable_name(name.substr(1))) return false;
    const Token& next = k + 1 < end_ ? toks_[k + 1] : end_token();
    if (next.newline_before) return true;
    switch (next.kind) {
      case Tok::End:
      case Tok::Plus:
      case Tok::Minus:
      case Tok::RParen:
      case Tok::RBracket:
      case Tok::RBrace:
      case Tok::Comma:
      case Tok::Semicolon:
      case Tok::Equals:
      case Tok::Bar:
      case Tok::Arrow: return true;
      default: return levels > 1 && is_differential(k + 1, levels - 1);
    }
  }

  Expr factor() {
    const Token& t = peek();
    DepthGuard guard(*this, t);
    if (t.kind == Tok::Minus) {
      const Token op = take();
      Expr operand = factor();
      return build(op, [&] { return -operand; });
    }
    if (t.kind == Tok::Plus) {
      take();
      return factor();
    }
    return power();
  }

  Expr power() {
    Expr base = primary();
    const Token& t = peek();
    if (t.kind == Tok::Superscript) {
      const Token op = take();
      return raise(op, base, Expr(op.superscript));
    }
    if (t.kind != Tok::Caret) return base;
    const Token op = take();
    Expr exponent = factor();  // right-associative, and 2^-1 is allowed
    return raise(op, base, exponent);
  }

  Expr raise(const Token& op, const Expr& base, const Expr& exponent) const {
    if (exponent.is_number()) {
      const mpq_class& q = exponent.number();
      const double bits = numeric_bits(base);
      if (bits > 0 && bits * std::abs(q.get_d()) > kMaxPowerBits) {
        fail(op, "power too large: the result would have more than 16 million bits");
      }
    }
    return build(op, [&] { return pow(base, exponent); });
  }

  [[noreturn]] void missing_operand(const Token& t) const {
    if (pos_ == 0) {
      fail(t, t.kind == Tok::End ? std::string("empty input")
                                 : std::string("expected an expression, found ").append(describe(t)));
    }
    const Token& prev = toks_[pos_ - 1];
    if (t.kind == Tok::RParen && prev.kind == Tok::LParen) fail(t, "expected an expression inside '()'");
    std::string what = std::string("expected an expression after ").append(describe(prev));
    if (t.kind != Tok::End) what.append(", found ").append(describe(t));
    fail(t, what);
  }

  Expr primary() {
    const Token t = peek();
    switch (t.kind) {
      case Tok::Number: take(); return number(t);
      case Tok::Name: return name();
      case Tok::LParen: return group(Tok::RParen);
      case Tok::LBracket: return group(Tok::RBracket);
      case Tok::LBrace: return group(Tok::RBrace);
      case Tok::Bar: return absolute_value();
      case Tok::Sqrt:
      case Tok::Cbrt: return radical();
      case Tok::Integral: return integral_notation();
      case Tok::Partial: return partial_derivative();
      default: missing_operand(t);
    }
  }

  Expr group(Tok closer) {
    const Token open = take();
    GroupScope scope(*this);
    Expr x = additive();
    close(closer, open);
    return x;
  }

  Expr absolute_value() {
    const Token open = take();
    ++open_bars_;
    Expr x;
    {
      // Inside |...| a `dx` still does not close an enclosing integrand.
      const int saved = open_integrals_;
      open_integrals_ = 0;
      x = additive();
      open_integrals_ = saved;
    }
    --open_bars_;
    close(Tok::Bar, open);
    return abs(x);
  }

  Expr radical() {
    const Token op = take();
    Expr x = peek().kind == Tok::LParen || peek().kind == Tok::LBracket
                 ? group(peek().kind == Tok::LParen ? Tok::RParen : Tok::RBracket)
                 : factor();
    return build(op, [&] { return op.kind == Tok::Sqrt ? sqrt(x) : pow(x, rational(1, 3)); });
  }

  Expr number(const Token& t) {
    const std::string_view s = t.text;
    if (s.find_first_of(".eE") == std::string_view::npos) {
      if (s.size() <= 18) {  // fits a long: no GMP parsing, small values cached
        long v = 0;
        for (char c : s) v = v * 10 + (c - '0');
        return integer(v);
      }
      mpz_class z;
      z.set_str(std::string(s), 10);
      return integer(z);
    }
    double v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) fail(t, std::string("number out of range: ").append(describe(t)));
    if (ec != std::errc() || ptr != s.data() + s.size()) fail(t, std::string("malformed number ").append(describe(t)));
    return build(t, [&] { return real(v); });
  }

  Expr name() {
    const Token t = peek();
    const std::string_view n = t.text;
    if (n == "d" && derivative_follows()) return leibniz();
    if (auto f = function_named(n)) return function_application(*f);
    if (is_extra_function(n)) return function_application(std::nullopt);
    if (n == "lim" || n == "limit" || n == "Limit") return limit_notation();
    if (n == "diff" || n == "Derivative") return diff_call();
    if (n == "integrate" || n == "Integral") return integrate_call();
    take();
    if (auto c = constant_named(n)) return *c;
    return symbol(n);
  }

  // ---- functions ----

  std::vector<Expr> call_arguments(const Token& name_token) {
    if (peek().kind != Tok::LParen) {
      fail(peek(), std::string("expected '(' after ").append(describe(name_token)));
    }
    const Token open = take();
    GroupScope scope(*this);
    std::vector<Expr> args;
    if (peek().kind == Tok::RParen) {
      fail(peek(), std::string("expected an argument for ").append(describe(name_token)));
    }
    args.push_back(additive());
    while (accept(Tok::Comma)) args.push_back(additive());
    close(Tok::RParen, open);
    return args;
  }

  Expr apply_named(const Token& name_token, std::optional<Function> f, const std::vector<Expr>& args) const {
    const std::string_view n = name_token.text;
    const bool two_ok = f == Function::Log;
    if (args.size() != 1 && !(two_ok && args.size() == 2)) {
      fail(name_token,
           std::string(describe(name_token)).append(two_ok ? " takes one or two arguments" : " takes one argument"));
    }
    return build(name_token, [&]() -> Expr {
      const Expr& x = args[0];
      if (f) {
        if (args.size() == 2) return log(x) / log(args[1]);  // log(x, base)
        return apply(*f, x);
      }
      if (n == "sqrt") return sqrt(x);
      if (n == "cbrt") return pow(x, rational(1, 3));
      if (n == "sec") return pow(cos(x), Expr(-1));
      if (n == "csc") return pow(sin(x), Expr(-1));
      return pow(tan(x), Expr(-1));  // cot
    });
  }

  // sin(x), sin x, sin 2x, sin^2(x), sin²x, sin^-1(x) = asin(x).
  Expr function_application(std::optional<Function> f) {
    const Token name_token = take();
    std::optional<Expr> exponent;
    Token exponent_token = peek();
    if (peek().kind == Tok::Superscript) {
      exponent = Expr(take().superscript);
    } else if (peek().kind == Tok::Caret) {
      take();
      exponent = factor();
    }
    std::vector<Expr> args;
    if (peek().kind == Tok::LParen) {
      args = call_arguments(name_token);
    } else if (can_start_operand(peek())) {
      args.push_back(bare_argument());
    } else {
      fail(peek(), std::string("expected an argument after ").append(describe(name_token)));
    }
    if (exponent && exponent->is_minus_one() && f && args.size() == 1) {
      if (*f == Function::Sin) return asin(args[0]);
      if (*f == Function::Cos) return acos(args[0]);
      if (*f == Function::Tan) return atan(args[0]);
    }
    Expr value = apply_named(name_token, f, args);
    if (!exponent) return value;
    return raise(exponent_token, value, *exponent);
  }

  bool can_start_operand(const Token& t) const {
    switch (t.kind) {
      case Tok::Number:
      case Tok::Name:
      case Tok::LParen:
      case Tok::LBracket:
      case Tok::LBrace:
      case Tok::Bar:
      case Tok::Sqrt:
      case Tok::Cbrt:
      case Tok::Integral:
      case Tok::Partial:
      case Tok::Minus:
      case Tok::Plus: return true;
      default: return false;
    }
  }

  // The argument of `sin 2x`: a factor, then further plain names and constants
  // by juxtaposition (sin 2πx), but not another function (sin x cos x).
  Expr bare_argument() {
    std::vector<Expr> factors;
    factors.push_back(factor());
    while (!at_end() && !peek().newline_before && peek().kind == Tok::Name && !is_reserved_function(peek().text) &&
           !(open_integrals_ > 0 && is_differential(pos_, open_integrals_))) {
      factors.push_back(power());
    }
    if (factors.size() == 1) return std::move(factors.front());
    return build(peek(), [&] { return mul(std::move(factors)); });
  }

  static bool is_reserved_function(std::string_view n) {
    return function_named(n) || is_extra_function(n) || is_special_name(n) || n == "d";
  }

  // ---- calculus notations ----

  Expr variable_from(const Token& t, std::string_view name, std::string_view role) const {
    if (!is_variable_name(name)) {
      fail(t, std::string("expected a variable ").append(role).append(", found '").append(name).append("'"));
    }
    return symbol(name);
  }

  Expr variable_expr(const Token& at, const Expr& v, std::string_view role) const {
    if (!v.is_symbol()) fail(at, std::string("expected a variable ").append(role));
    return v;
  }

  // d/dx, d^2/dx^2, d²/dx²: is the `d` at pos_ the start of one?
  bool derivative_follows() const {
    std::size_t k = 1;
    if (peek(k).kind == Tok::Superscript) {
      ++k;
    } else if (peek(k).kind == Tok::Caret) {
      if (peek(k + 1).kind != Tok::Number) return false;
      k += 2;
    }
    if (peek(k).kind != Tok::Slash) return false;
    const Token& dx = peek(k + 1);
    return dx.kind == Tok::Name && dx.text.size() >= 2 && dx.text[0] == 'd';
  }

  long order_from(const Token& t) const {
    if (t.kind == Tok::Superscript) {
      if (t.superscript < 1) fail(t, "the order of a derivative must be a positive integer");
      return t.superscript;
    }
    const std::string_view s = t.text;
    long n = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || ptr != s.data() + s.size() || n < 1 || n > 1000000) {
      fail(t, std::string("the order of a derivative must be a positive integer, found ").append(describe(t)));
    }
    return n;
  }

  // An optional order written after d, ∂ or dx: ^n or a superscript.
  std::optional<std::pair<long, Token>> optional_order() {
    if (peek().kind == Tok::Superscript) {
      const Token t = take();
      return std::pair{order_from(t), t};
    }
    if (peek().kind == Tok::Caret) {
      take();
      if (peek().kind != Tok::Number) fail(peek(), "expected the order of the derivative after '^'");
      const Token t = take();
      return std::pair{order_from(t), t};
    }
    return std::nullopt;
  }

  // The expression a d/dx, ∂/∂x or lim applies to: (f) or a product (d/dx x^2).
  Expr operand(const Token& notation, std::string_view what) {
    const Token& t = peek();
    if (t.kind == Tok::LParen) return group(Tok::RParen);
    if (t.kind == Tok::LBracket) return group(Tok::RBracket);
    if (t.newline_before || !can_start_operand(t) || t.kind == Tok::Minus || t.kind == Tok::Plus) {
      // Quote the whole notation (d/dx, lim(x→0)), not just its first token.
      Token whole = notation;
      whole.end = toks_[pos_ - 1].end;
      std::string msg = std::string("expected an expression ").append(what).append(" after ");
      msg.append(describe(whole));
      fail(t, msg);
    }
    return term();
  }

  Expr leibniz() {
    const Token d = take();
    const auto order = optional_order();
    expect(Tok::Slash, "'/'");
    const Token dx = take();
    const Expr var = variable_from(dx, dx.text.substr(1), "after 'd' in the denominator");
    const auto var_order = optional_order();
    const long n = order ? order->first : 1;
    const long m = var_order ? var_order->first : 1;
    if (n != m) {
      fail(var_order ? var_order->second : dx, std::string("the orders of d^")
                                                   .append(std::to_string(n))
                                                   .append(" and dx^")
                                                   .append(std::to_string(m))
                                                   .append(" differ"));
    }
    Expr f = operand(d, "to differentiate");
    return build(d, [&] { return derivative(f, var, n); });
  }

  // ∂/∂x f, ∂^2/∂x^2 f, ∂²/∂x∂y f.
  Expr partial_derivative() {
    const Token p = take();
    const auto order = optional_order();
    expect(Tok::Slash, "'/' after '∂'");
    std::vector<std::pair<Expr, long>> vars;
    long total = 0;
    do {
      expect(Tok::Partial, "'∂' in the denominator");
      if (peek().kind != Tok::Name) fail(peek(), "expected a variable after '∂'");
      const Token v = take();
      Expr var = variable_from(v, v.text, "after '∂'");
      const auto o = optional_order();
      const long k = o ? o->first : 1;
      total += k;
      if (total > 1000000) fail(v, "derivative order too large");
      vars.emplace_back(std::move(var), k);
    } while (peek().kind == Tok::Partial);
    const long n = order ? order->first : 1;
    if (n != total) {
      fail(p, std::string("the order ")
                  .append(std::to_string(n))
                  .append(" of '∂' differs from the ")
                  .append(std::to_string(total))
                  .append(" variables below it"));
    }
    Expr f = operand(p, "to differentiate");
    // ∂²/∂x∂y f = ∂/∂x (∂/∂y f): the rightmost variable acts first.
    return build(p, [&] {
      for (auto it = vars.rbegin(); it != vars.rend(); ++it) f = derivative(f, it->first, it->second);
      return f;
    });
  }

  // diff(f, x), diff(f, x, n), diff(f, x, y), diff(f, x, 2, y).
  Expr diff_call() {
    const Token name_token = take();
    const std::vector<Expr> args = call_arguments(name_token);
    if (args.size() < 2) fail(name_token, "diff takes an expression and at least one variable: diff(f, x[, n])");
    Expr f = args[0];
    for (std::size_t k = 1; k < args.size(); ++k) {
      const Expr var = variable_expr(name_token, args[k], "of differentiation in diff(...)");
      long n = 1;
      if (k + 1 < args.size() && args[k + 1].is_number()) {
        const Expr& order = args[++k];
        if (!order.is_integer() || order.number() < 1 || order.number() > 1000000) {
          fail(name_token, "the order in diff(f, x, n) must be a positive integer");
        }
        n = order.number().get_num().get_si();
      }
      f = build(name_token, [&] { return derivative(f, var, n); });
    }
    return f;
  }

  // integrate(f, x), integrate(f, x, a, b), integrate(f, (x, a, b)) as SymPy writes it.
  Expr integrate_call() {
    const Token name_token = take();
    if (peek().kind != Tok::LParen) fail(peek(), std::string("expected '(' after ").append(describe(name_token)));
    const Token open = take();
    GroupScope scope(*this);
    Expr f = additive();
    expect(Tok::Comma, "',' and the variable of integration");
    std::vector<Expr> rest;
    if (peek().kind == Tok::LParen) {
      const Token tuple = take();
      GroupScope inner(*this);
      rest.push_back(additive());
      while (accept(Tok::Comma)) rest.push_back(additive());
      close(Tok::RParen, tuple);
    } else {
      rest.push_back(additive());
      while (accept(Tok::Comma)) rest.push_back(additive());
    }
    close(Tok::RParen, open);
    if (rest.size() != 1 && rest.size() != 3) {
      fail(name_token, "integrate takes integrate(f, x) or integrate(f, x, a, b)");
    }
    const Expr var = variable_expr(name_token, rest[0], "of integration");
    return build(name_token, [&] { return rest.size() == 1 ? integral(f, var) : integral(f, var, rest[1], rest[2]); });
  }

  // ∫ f dx, ∫(f)dx, ∫_a^b f dx, ∫_{a}^{b} f dx, ∫_0^∞ f dx, ∫dx.
  Expr integral_notation() {
    const Token sign = take();
    std::optional<Expr> lower;
    std::optional<Expr> upper;
    for (int k = 0; k < 2; ++k) {
      if (!lower && accept(Tok::Underscore)) {
        lower = bound("the lower bound after '_'");
      } else if (!upper && peek().kind == Tok::Superscript) {
        upper = Expr(take().superscript);
      } else if (!upper && accept(Tok::Caret)) {
        upper = bound("the upper bound after '^'");
      }
    }
    if (lower.has_value() != upper.has_value()) {
      fail(peek(), lower ? "expected '^' and the upper bound of the integral"
                         : "expected '_' and the lower bound of the integral");
    }
    Expr f = Expr(1);
    const int saved = open_integrals_;
    open_integrals_ = saved + 1;
    if (!is_differential(pos_, open_integrals_)) {
      if (!can_start_operand(peek()) || peek().newline_before) {
        fail(peek(), "expected the integrand after '∫'");
      }
      f = additive();
    }
    open_integrals_ = saved;
    const Token& dx = peek();
    if (dx.kind != Tok::Name || dx.text.size() < 2 || dx.text[0] != 'd' || !is_variable_name(dx.text.substr(1))) {
      std::string what = "expected the differential (such as dx) that ends the integral";
      if (dx.kind != Tok::End) what.append(", found ").append(describe(dx));
      fail(dx, what);
    }
    take();
    const Expr var = symbol(dx.text.substr(1));
    return build(sign, [&] { return lower ? integral(f, var, *lower, *upper) : integral(f, var); });
  }

  // A bound of ∫_a^b: {expr}, (expr), or one signed number, name or constant.
  Expr bound(std::string_view what) {
    const Token& t = peek();
    if (t.kind == Tok::LBrace) return group(Tok::RBrace);
    if (t.kind == Tok::LParen) return group(Tok::RParen);
    bool negative = false;
    if (t.kind == Tok::Minus || t.kind == Tok::Plus) {
      negative = take().kind == Tok::Minus;
    }
    const Token v = peek();
    Expr x;
    if (v.kind == Tok::Number) {
      take();
      x = number(v);
    } else if (v.kind == Tok::Name && !is_reserved_function(v.text)) {
      take();
      if (auto c = constant_named(v.text)) {
        x = *c;
      } else {
        x = symbol(v.text);
      }
    } else {
      fail(v, std::string("expected ").append(what));
    }
    return negative ? -x : x;
  }

  // lim(x→a) f, lim(x->a+)(f), lim_{x→0^-} f, limit(f, x, a, "+"), limit(x->a, f)?
  Expr limit_notation() {
    const Token name_token = take();
    const bool underscore = accept(Tok::Underscore);
    const Tok opener = peek().kind;
    if (opener != Tok::LParen && opener != Tok::LBrace) {
      fail(peek(), std::string("expected '(' after ").append(describe(name_token)));
    }
    const bool arrow_form = peek(1).kind == Tok::Name && peek(2).kind == Tok::Arrow;
    if (!arrow_form) {
      if (underscore || opener != Tok::LParen)
        fail(peek(1), "expected the variable and '→' of the limit, as in lim(x→0)");
      if (peek(1).kind == Tok::Name && peek(2).kind == Tok::RParen) {
        fail(peek(2), "expected '→' or '->' after the variable of the limit");
      }
      return limit_call(name_token);
    }
    const std::size_t open_index = pos_;
    const Token open = take();
    const Tok closer = opener == Tok::LParen ? Tok::RParen : Tok::RBrace;
    const Token v = take();
    const Expr var = variable_from(v, v.text, "for the limit");
    take();  // the arrow
    const std::size_t close_at = matching(open_index, closer);
    Direction dir = Direction::Both;
    std::size_t point_end = close_at;
    // A trailing + or - (or ^+, ^-) before the bracket makes the limit one-sided.
    if (close_at > pos_ + 1 && (toks_[close_at - 1].kind == Tok::Plus || toks_[close_at - 1].kind == Tok::Minus) &&
        ends_operand(toks_[close_at - 2].kind)) {
      dir = toks_[close_at - 1].kind == Tok::Plus ? Direction::Plus : Direction::Minus;
      point_end = close_at - 1;
      if (toks_[close_at - 2].kind == Tok::Caret) --point_end;
    }
    Expr point;
    {
      GroupScope scope(*this);
      const std::size_t saved_end = end_;
      set_end(point_end);
      if (at_end()) fail(toks_[pos_], "expected the point the variable tends to after '→'");
      point = additive();
      if (!at_end()) trailing(peek());
      set_end(saved_end);
    }
    pos_ = close_at;
    close(closer, open);
    Expr f = operand(name_token, "to take the limit of");
    return build(name_token, [&] { return limit(f, var, point, dir); });
  }

  bool ends_operand(Tok k) const {
    switch (k) {
      case Tok::Number:
      case Tok::Name:
      case Tok::RParen:
      case Tok::RBracket:
      case Tok::RBrace:
      case Tok::Superscript:
      case Tok::Caret: return true;
      default: return false;
    }
  }

  // Index of the bracket closing the one at `open`, or of the end when unbalanced
  // (the caller then reports the missing bracket).
  std::size_t matching(std::size_t open, Tok closer) const {
    int depth = 0;
    for (std::size_t k = open; k < end_; ++k) {
      const Tok kind = toks_[k].kind;
      if (kind == Tok::LParen || kind == Tok::LBracket || kind == Tok::LBrace) ++depth;
      if (kind == Tok::RParen || kind == Tok::RBracket || kind == Tok::RBrace) {
        if (--depth == 0) return kind == closer ? k : end_;
      }
    }
    return end_;
  }

  Expr limit_call(const Token& name_token) {
    const Token open = take();
    GroupScope scope(*this);
    std::vector<Expr> args;
    args.push_back(additive());
    Direction dir = Direction::Both;
    while (accept(Tok::Comma)) {
      if (peek().kind == Tok::String) {
        const Token s = take();
        if (s.text == "+") {
          dir = Direction::Plus;
        } else if (s.text == "-") {
          dir = Direction::Minus;
        } else if (s.text == "+-") {
          dir = Direction::Both;
        } else {
          fail(s, "the direction of a limit is \"+\", \"-\" or \"+-\"");
        }
        break;
      }
      args.push_back(additive());
    }
    close(Tok::RParen, open);
    if (args.size() != 3) {
      fail(name_token, "limit takes limit(f, x, a) or limit(f, x, a, \"+\")");
    }
    const Expr var = variable_expr(name_token, args[1], "for the limit");
    return build(name_token, [&] { return limit(args[0], var, args[2], dir); });
  }

  std::string_view text_;
  std::vector<Token> toks_;
  std::size_t end_;  // tokens at and past this index read as the end
  Token bound_end_;  // what they read as, when end_ is not the real end
  std::size_t pos_ = 0;
  int depth_ = 0;
  int open_integrals_ = 0;  // ∫ whose `dx` may end the current product
  int open_bars_ = 0;       // '|' opened in the current bracket level
};

}  // namespace

std::string caret_message(std::string_view text, std::size_t byte_offset, std::string_view what) {
  const std::size_t offset = std::min(byte_offset, text.size());
  std::size_t line_start = 0;
  std::size_t line_number = 1;
  for (std::size_t k = 0; k < offset; ++k) {
    if (text[k] == '\n') {
      line_start = k + 1;
      ++line_number;
    }
  }
  std::size_t line_end = text.find('\n', offset);
  if (line_end == std::string_view::npos) line_end = text.size();
  const bool multiline = text.find('\n') != std::string_view::npos;

  // Code points of the line, and which one the caret stands under.
  std::vector<std::size_t> starts;
  std::size_t caret_index = 0;
  for (std::size_t k = line_start; k < line_end; k += step(text, k)) {
    if (k < offset) caret_index = starts.size() + 1;
    starts.push_back(k);
  }
  if (offset == line_start) caret_index = 0;

  // Long lines show a window around the caret.
  constexpr std::size_t kBefore = 50;
  constexpr std::size_t kAfter = 30;
  const std::size_t first = caret_index > kBefore ? caret_index - kBefore : 0;
  const std::size_t last = std::min(starts.size(), caret_index + kAfter);
  std::string shown;
  std::size_t caret_column = caret_index - first;
  if (first > 0) {
    shown += "...";
    caret_column += 3;
  }
  for (std::size_t k = first; k < last; ++k) {
    append_visible(shown, text, starts[k], decode(text, starts[k]));
  }
  if (last < starts.size()) shown += "...";

  std::string out = "parse error at ";
  if (multiline) out.append("line ").append(std::to_string(line_number)).append(", ");
  out.append("column ").append(std::to_string(caret_index + 1)).append(": ").append(what);
  out.append("\n  ").append(shown).append("\n  ").append(caret_column, ' ').append("^");
  return out;
}

Expr parse(std::string_view text) { return Parser(text).expression_only(); }

Statement parse_statement(std::string_view text) { return Parser(text).statement(); }

}  // namespace miso::mprime
