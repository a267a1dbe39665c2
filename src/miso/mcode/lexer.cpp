#include "miso/mcode/lexer.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <system_error>

namespace miso::mcode {

namespace {

constexpr std::uint64_t kTwoTo63 = std::uint64_t{1} << 63;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_name_start(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) noexcept { return is_name_start(c) || is_digit(c); }
int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Bytes that may start a token or be skipped as space; anything else is a stray
// character and is reported in one run.
bool starts_token_or_space(char c) noexcept {
  if (is_name_char(c)) return true;
  switch (c) {
    case ' ':
    case '\t':
    case '\r':
    case '\n':
    case '#':
    case '"':
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
    case '@':
    case '=':
    case '!':
    case '<':
    case '>':
    case '.':
    case ',':
    case ':':
    case ';':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}': return true;
    default: return false;
  }
}

// Tokens after which a line break does not end the statement.
bool continues_statement(TokenKind kind) noexcept {
  switch (kind) {
    case TokenKind::Newline:
    case TokenKind::Semicolon:
    case TokenKind::Plus:
    case TokenKind::Minus:
    case TokenKind::Star:
    case TokenKind::Slash:
    case TokenKind::SlashSlash:
    case TokenKind::Percent:
    case TokenKind::StarStar:
    case TokenKind::At:
    case TokenKind::EqualEqual:
    case TokenKind::NotEqual:
    case TokenKind::Less:
    case TokenKind::LessEqual:
    case TokenKind::Greater:
    case TokenKind::GreaterEqual:
    case TokenKind::KwAnd:
    case TokenKind::KwOr:
    case TokenKind::KwNot:
    case TokenKind::Assign:
    case TokenKind::PlusAssign:
    case TokenKind::MinusAssign:
    case TokenKind::StarAssign:
    case TokenKind::SlashAssign:
    case TokenKind::Dot:
    case TokenKind::Comma:
    case TokenKind::Colon:
    case TokenKind::LParen:
    case TokenKind::LBracket:
    case TokenKind::LBrace: return true;
    default: return false;
  }
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

struct KeywordEntry {
  std::string_view word;
  TokenKind kind;
};

constexpr KeywordEntry kKeywords[] = {
    {"let", TokenKind::KwLet},
    {"fn", TokenKind::KwFn},
    {"if", TokenKind::KwIf},
    {"elif", TokenKind::KwElif},
    {"else", TokenKind::KwElse},
    {"while", TokenKind::KwWhile},
    {"for", TokenKind::KwFor},
    {"in", TokenKind::KwIn},
    {"return", TokenKind::KwReturn},
    {"break", TokenKind::KwBreak},
    {"continue", TokenKind::KwContinue},
    {"and", TokenKind::KwAnd},
    {"or", TokenKind::KwOr},
    {"not", TokenKind::KwNot},
    {"true", TokenKind::KwTrue},
    {"false", TokenKind::KwFalse},
    {"nil", TokenKind::KwNil},
    {"try", TokenKind::KwTry},
    {"catch", TokenKind::KwCatch},
    {"throw", TokenKind::KwThrow},
    {"import", TokenKind::KwImport},
};

// ORDER TOKEN
constexpr const char* kTokenNames[kTokenKindCount] = {
    "end of file", "end of line", "invalid token", "integer", "float",   "string", "name",     "'let'",   "'fn'",
    "'if'",        "'elif'",      "'else'",        "'while'", "'for'",   "'in'",   "'return'", "'break'", "'continue'",
    "'and'",       "'or'",        "'not'",         "'true'",  "'false'", "'nil'",  "'try'",    "'catch'", "'throw'",
    "'import'",    "'+'",         "'-'",           "'*'",     "'/'",     "'//'",   "'%'",      "'**'",    "'@'",
    "'=='",        "'!='",        "'<'",           "'<='",    "'>'",     "'>='",   "'='",      "'+='",    "'-='",
    "'*='",        "'/='",        "'.'",           "','",     "':'",     "';'",    "'('",      "')'",     "'['",
    "']'",         "'{'",         "'}'",
};

}  // namespace

const char* token_kind_name(TokenKind kind) noexcept {
  const auto index = static_cast<std::size_t>(kind);
  return index < static_cast<std::size_t>(kTokenKindCount) ? kTokenNames[index] : "token";
}

TokenKind keyword_kind(std::string_view word) noexcept {
  for (const KeywordEntry& entry : kKeywords) {
    if (entry.word == word) return entry.kind;
  }
  return TokenKind::Name;
}

std::string Token::describe() const {
  switch (kind) {
    case TokenKind::Int: return std::string("integer ").append(lexeme);
    case TokenKind::Float: return std::string("float ").append(lexeme);
    case TokenKind::Name: return std::string("name '").append(lexeme).append("'");
    case TokenKind::String: {
      if (lexeme.size() <= 24) return std::string("string ").append(lexeme);
      return std::string("string ").append(lexeme.substr(0, 20)).append("...\"");
    }
    default: return token_kind_name(kind);
  }
}

Lexer::Lexer(std::string_view source, std::string_view file_name, std::vector<Diagnostic>& diagnostics)
    : source_(source), file_(file_name), diagnostics_(&diagnostics) {}

void Lexer::advance_bytes(std::size_t count) {
  for (std::size_t i = 0; i < count && pos_.offset < source_.size(); ++i) {
    const auto byte = static_cast<unsigned char>(source_[pos_.offset]);
    ++pos_.offset;
    if (byte == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else if ((byte & 0xC0) != 0x80) {
      ++pos_.column;  // a new code point starts here
    }
  }
}

void Lexer::error(SourcePos at, std::string message) {
  diagnostics_->push_back(Diagnostic{file_, at, std::move(message)});
}

bool Lexer::newline_significant() const noexcept {
  return open_brackets_.empty() || open_brackets_.back() == TokenKind::LBrace;
}

void Lexer::note_bracket(TokenKind kind) {
  switch (kind) {
    case TokenKind::LParen:
    case TokenKind::LBracket:
    case TokenKind::LBrace: open_brackets_.push_back(kind); break;
    case TokenKind::RParen:
    case TokenKind::RBracket:
    case TokenKind::RBrace: {
      const TokenKind opener = kind == TokenKind::RParen     ? TokenKind::LParen
                               : kind == TokenKind::RBracket ? TokenKind::LBracket
                                                             : TokenKind::LBrace;
      // Pop down to the matching opener if there is one; a stray closer changes
      // nothing (the parser reports it).
      for (std::size_t depth = open_brackets_.size(); depth > 0; --depth) {
        if (open_brackets_[depth - 1] == opener) {
          open_brackets_.resize(depth - 1);
          break;
        }
      }
      break;
    }
    default: break;
  }
}

bool Lexer::starts_with_statement_keyword() const noexcept {
  std::size_t end = pos_.offset;
  while (end < source_.size() && is_name_char(source_[end])) ++end;
  switch (keyword_kind(source_.substr(pos_.offset, end - pos_.offset))) {
    case TokenKind::KwLet:
    case TokenKind::KwIf:
    case TokenKind::KwElif:
    case TokenKind::KwElse:
    case TokenKind::KwWhile:
    case TokenKind::KwFor:
    case TokenKind::KwReturn:
    case TokenKind::KwBreak:
    case TokenKind::KwContinue:
    case TokenKind::KwTry:
    case TokenKind::KwCatch:
    case TokenKind::KwThrow:
    case TokenKind::KwImport: return true;
    default: return false;
  }
}

Token Lexer::make(TokenKind kind, SourcePos start) {
  Token token;
  token.kind = kind;
  token.pos = start;
  token.lexeme = source_.substr(start.offset, pos_.offset - start.offset);
  return token;
}

void Lexer::skip_space_and_comments(bool& saw_newline, SourcePos& newline_pos) {
  while (pos_.offset < source_.size()) {
    const char c = source_[pos_.offset];
    if (c == ' ' || c == '\t' || c == '\r') {
      advance_bytes(1);
    } else if (c == '\n') {
      if (!saw_newline) newline_pos = pos_;
      saw_newline = true;
      advance_bytes(1);
    } else if (c == '#') {
      while (pos_.offset < source_.size() && source_[pos_.offset] != '\n') advance_bytes(1);
    } else {
      break;
    }
  }
}

Token Lexer::next() {
  if (finished_) return make(TokenKind::End, pos_);
  bool saw_newline = false;
  SourcePos newline_pos;
  skip_space_and_comments(saw_newline, newline_pos);
  const bool at_end = pos_.offset >= source_.size();
  // Recovery from an unclosed '(' or '[': a line that starts with a statement keyword
  // cannot continue an expression, so close the brackets here and end the line; the
  // parser then reports the missing ')' instead of swallowing the rest of the file.
  bool force_newline = false;
  if (saw_newline && !at_end && (!newline_significant() || continues_statement(previous_)) &&
      previous_ != TokenKind::Newline && previous_ != TokenKind::Semicolon && previous_ != TokenKind::LBrace &&
      starts_with_statement_keyword()) {
    while (!open_brackets_.empty() && open_brackets_.back() != TokenKind::LBrace) open_brackets_.pop_back();
    force_newline = true;
  }
  if (force_newline || ((saw_newline || at_end) && newline_significant() && !continues_statement(previous_))) {
    // Report the Newline at the line break itself, or at the end for a file
    // without a final line break.
    const SourcePos at = saw_newline ? newline_pos : pos_;
    Token token;
    token.kind = TokenKind::Newline;
    token.pos = at;
    token.lexeme = source_.substr(at.offset, saw_newline ? 1 : 0);
    previous_ = TokenKind::Newline;
    return token;
  }
  if (at_end) {
    finished_ = true;
    return make(TokenKind::End, pos_);
  }

  const SourcePos start = pos_;
  const char c = source_[pos_.offset];
  const char c1 = pos_.offset + 1 < source_.size() ? source_[pos_.offset + 1] : '\0';
  Token token;
  auto op = [&](TokenKind kind, std::size_t length) {
    advance_bytes(length);
    return make(kind, start);
  };

  if (is_digit(c)) {
    token = lex_number(start);
  } else if (is_name_start(c)) {
    while (pos_.offset < source_.size() && is_name_char(source_[pos_.offset])) advance_bytes(1);
    token = make(TokenKind::Name, start);
    token.kind = keyword_kind(token.lexeme);
  } else if (c == '"') {
    token = lex_string(start);
  } else {
    switch (c) {
      case '+': token = c1 == '=' ? op(TokenKind::PlusAssign, 2) : op(TokenKind::Plus, 1); break;
      case '-': token = c1 == '=' ? op(TokenKind::MinusAssign, 2) : op(TokenKind::Minus, 1); break;
      case '*':
        token = c1 == '*'   ? op(TokenKind::StarStar, 2)
                : c1 == '=' ? op(TokenKind::StarAssign, 2)
                            : op(TokenKind::Star, 1);
        break;
      case '/':
        token = c1 == '/'   ? op(TokenKind::SlashSlash, 2)
                : c1 == '=' ? op(TokenKind::SlashAssign, 2)
                            : op(TokenKind::Slash, 1);
        break;
      case '%': token = op(TokenKind::Percent, 1); break;
      case '@': token = op(TokenKind::At, 1); break;
      case '=': token = c1 == '=' ? op(TokenKind::EqualEqual, 2) : op(TokenKind::Assign, 1); break;
      case '<': token = c1 == '=' ? op(TokenKind::LessEqual, 2) : op(TokenKind::Less, 1); break;
      case '>': token = c1 == '=' ? op(TokenKind::GreaterEqual, 2) : op(TokenKind::Greater, 1); break;
      case '!':
        if (c1 == '=') {
          token = op(TokenKind::NotEqual, 2);
        } else {
          token = op(TokenKind::Error, 1);
          error(start, "unexpected character '!' (logical negation is 'not')");
        }
        break;
      case '.': token = op(TokenKind::Dot, 1); break;
      case ',': token = op(TokenKind::Comma, 1); break;
      case ':': token = op(TokenKind::Colon, 1); break;
      case ';': token = op(TokenKind::Semicolon, 1); break;
      case '(': token = op(TokenKind::LParen, 1); break;
      case ')': token = op(TokenKind::RParen, 1); break;
      case '[': token = op(TokenKind::LBracket, 1); break;
      case ']': token = op(TokenKind::RBracket, 1); break;
      case '{': token = op(TokenKind::LBrace, 1); break;
      case '}': token = op(TokenKind::RBrace, 1); break;
      default: {
        // A run of stray bytes is one error, not one per byte.
        while (pos_.offset < source_.size() && !starts_token_or_space(source_[pos_.offset])) advance_bytes(1);
        token = make(TokenKind::Error, start);
        std::size_t code_points = 0;
        for (char byte : token.lexeme) code_points += (static_cast<unsigned char>(byte) & 0xC0) != 0x80 ? 1 : 0;
        error(start, std::string("unexpected character")
                         .append(code_points > 1 ? "s" : "")
                         .append(" '")
                         .append(token.lexeme.substr(0, 16))
                         .append("'"));
        break;
      }
    }
  }
  note_bracket(token.kind);
  previous_ = token.kind;
  return token;
}

Token Lexer::lex_number(SourcePos start) {
  bool is_float = false;
  bool malformed = false;
  bool hex = false;
  auto digits = [&](bool (*accept)(char)) {
    // Digits with single underscores between them (1_000_000).
    while (pos_.offset < source_.size()) {
      const char c = source_[pos_.offset];
      if (accept(c)) {
        advance_bytes(1);
      } else if (c == '_' && pos_.offset + 1 < source_.size() && accept(source_[pos_.offset + 1])) {
        advance_bytes(1);
      } else {
        break;
      }
    }
  };
  auto peek = [&](std::size_t ahead) {
    return pos_.offset + ahead < source_.size() ? source_[pos_.offset + ahead] : '\0';
  };

  if (peek(0) == '0' && (peek(1) == 'x' || peek(1) == 'X') && is_hex_digit(peek(2))) {
    hex = true;
    advance_bytes(2);
    digits(is_hex_digit);
  } else {
    digits(is_digit);
    if (peek(0) == '.' && is_digit(peek(1))) {
      is_float = true;
      advance_bytes(1);
      digits(is_digit);
    }
    if (peek(0) == 'e' || peek(0) == 'E') {
      const std::size_t sign = (peek(1) == '+' || peek(1) == '-') ? 1 : 0;
      if (is_digit(peek(1 + sign))) {
        is_float = true;
        advance_bytes(1 + sign);
        digits(is_digit);
      }
    }
  }
  // A number glued to letters (12abc, 1e, 0xZ) is one malformed token.
  if (pos_.offset < source_.size() && is_name_char(source_[pos_.offset])) {
    malformed = true;
    while (pos_.offset < source_.size() && is_name_char(source_[pos_.offset])) advance_bytes(1);
  }
  Token token = make(is_float ? TokenKind::Float : TokenKind::Int, start);
  if (malformed) {
    token.kind = TokenKind::Error;
    error(start, std::string("malformed number '").append(token.lexeme.substr(0, 32)).append("'"));
    return token;
  }
  std::string clean;
  for (char c : token.lexeme) {
    if (c != '_') clean.push_back(c);
  }
  if (is_float) {
    double value = 0.0;
    const auto result = std::from_chars(clean.data(), clean.data() + clean.size(), value);
    if (result.ec != std::errc{} || result.ptr != clean.data() + clean.size()) {
      error(start, std::string("float literal '").append(token.lexeme).append("' is out of range for a 64-bit float"));
      value = 0.0;
    }
    token.float_value = value;
    return token;
  }
  // Integer: accumulate with an overflow check; 2^63 is allowed for -2^63.
  const std::uint64_t base = hex ? 16 : 10;
  std::uint64_t value = 0;
  bool overflow = false;
  for (std::size_t i = hex ? 2 : 0; i < clean.size(); ++i) {
    const auto digit = static_cast<std::uint64_t>(hex_value(clean[i]));
    if (value > (kTwoTo63 - digit) / base) {
      overflow = true;
      break;
    }
    value = value * base + digit;
  }
  if (overflow) {
    error(start, std::string("integer literal '")
                     .append(token.lexeme)
                     .append("' does not fit in a 64-bit int (largest is 9223372036854775807)"));
    token.int_value = 0;
  } else if (value == kTwoTo63) {
    token.int_value = std::numeric_limits<std::int64_t>::min();
    token.int_needs_negation = true;
  } else {
    token.int_value = static_cast<std::int64_t>(value);
  }
  return token;
}

Token Lexer::lex_string(SourcePos start) {
  advance_bytes(1);  // opening quote
  std::string text;
  while (true) {
    if (pos_.offset >= source_.size() || source_[pos_.offset] == '\n') {
      Token token = make(TokenKind::Error, start);
      error(start, "unterminated string (a string ends with '\"' on the same line)");
      return token;
    }
    const char c = source_[pos_.offset];
    if (c == '"') {
      advance_bytes(1);
      break;
    }
    if (c != '\\') {
      text.push_back(c);
      advance_bytes(1);
      continue;
    }
    const SourcePos escape_pos = pos_;
    const char e = pos_.offset + 1 < source_.size() ? source_[pos_.offset + 1] : '\0';
    switch (e) {
      case 'n':
        text.push_back('\n');
        advance_bytes(2);
        break;
      case 't':
        text.push_back('\t');
        advance_bytes(2);
        break;
      case 'r':
        text.push_back('\r');
        advance_bytes(2);
        break;
      case '"':
        text.push_back('"');
        advance_bytes(2);
        break;
      case '\\':
        text.push_back('\\');
        advance_bytes(2);
        break;
      case 'u': {
        advance_bytes(2);
        bool ok = pos_.offset < source_.size() && source_[pos_.offset] == '{';
        std::uint32_t code_point = 0;
        int digit_count = 0;
        if (ok) {
          advance_bytes(1);
          while (pos_.offset < source_.size() && is_hex_digit(source_[pos_.offset]) && digit_count < 7) {
            code_point = code_point * 16 + static_cast<std::uint32_t>(hex_value(source_[pos_.offset]));
            ++digit_count;
            advance_bytes(1);
          }
          ok = digit_count >= 1 && digit_count <= 6 && pos_.offset < source_.size() && source_[pos_.offset] == '}';
          if (ok) advance_bytes(1);
        }
        if (!ok) {
          error(escape_pos, "malformed escape: expected \\u{X} with 1 to 6 hex digits");
        } else if (code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
          error(escape_pos, "escape \\u{...} is not a Unicode scalar value (surrogate or above 10FFFF)");
        } else {
          append_utf8(text, code_point);
        }
        break;
      }
      default: {
        if (e == '\n' || e == '\0') {
          advance_bytes(1);  // the backslash; the loop then reports the unterminated string
          break;
        }
        error(escape_pos,
              std::string("unknown escape '\\").append(1, e).append("' (known: \\n \\t \\r \\\" \\\\ \\u{X})"));
        advance_bytes(2);
        break;
      }
    }
  }
  Token token = make(TokenKind::String, start);
  token.text = std::move(text);
  return token;
}

std::vector<Token> tokenize(std::string_view source, std::string_view file_name, std::vector<Diagnostic>& diagnostics) {
  Lexer lexer(source, file_name, diagnostics);
  std::vector<Token> tokens;
  while (true) {
    tokens.push_back(lexer.next());
    if (tokens.back().kind == TokenKind::End) break;
  }
  return tokens;
}

}  // namespace miso::mcode
