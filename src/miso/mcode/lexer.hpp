// The M-CODE lexer: turns script text into tokens with byte offset, line and column.
// Newlines are tokens (they end statements) except where a statement cannot end;
// the exact rule is documented at `Lexer` and in docs/mcode.md ("Line structure").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "miso/mcode/diagnostic.hpp"

namespace miso::mcode {

// ORDER TOKEN: token_kind_name() in lexer.cpp follows this order.
enum class TokenKind : std::uint8_t {
  End,      // end of the source; always the last token
  Newline,  // a statement-ending line break (see the rule at Lexer)
  Error,    // a malformed token already reported as a diagnostic
  Int,
  Float,
  String,
  Name,
  // keywords
  KwLet,
  KwFn,
  KwIf,
  KwElif,
  KwElse,
  KwWhile,
  KwFor,
  KwIn,
  KwReturn,
  KwBreak,
  KwContinue,
  KwAnd,
  KwOr,
  KwNot,
  KwTrue,
  KwFalse,
  KwNil,
  KwTry,
  KwCatch,
  KwThrow,
  KwImport,
  // operators and punctuation
  Plus,          // +
  Minus,         // -
  Star,          // *
  Slash,         // /
  SlashSlash,    // //
  Percent,       // %
  StarStar,      // **
  At,            // @
  EqualEqual,    // ==
  NotEqual,      // !=
  Less,          // <
  LessEqual,     // <=
  Greater,       // >
  GreaterEqual,  // >=
  Assign,        // =
  PlusAssign,    // +=
  MinusAssign,   // -=
  StarAssign,    // *=
  SlashAssign,   // /=
  Dot,           // .
  Comma,         // ,
  Colon,         // :
  Semicolon,     // ;
  LParen,        // (
  RParen,        // )
  LBracket,      // [
  RBracket,      // ]
  LBrace,        // {
  RBrace,        // }
};

inline constexpr int kTokenKindCount = static_cast<int>(TokenKind::RBrace) + 1;

// A short human name: "end of file", "end of line", "integer", "name", "'let'", "'+='".
const char* token_kind_name(TokenKind kind) noexcept;

// The keyword kind for `word`, or TokenKind::Name when `word` is not a keyword.
TokenKind keyword_kind(std::string_view word) noexcept;

struct Token {
  TokenKind kind = TokenKind::End;
  SourcePos pos;
  // The token's bytes in the source (a view into the text given to the lexer).
  std::string_view lexeme;
  // Int: the value. The literal 9223372036854775808 (2^63) is only valid right after
  // a unary minus; it is lexed as INT64_MIN with `int_needs_negation` set and the
  // parser folds `-9223372036854775808` into INT64_MIN (or reports it elsewhere).
  std::int64_t int_value = 0;
  bool int_needs_negation = false;
  double float_value = 0.0;  // Float
  std::string text;          // String: the decoded contents (escapes applied)

  // For messages: "'+'", "name 'x'", "integer 12", "end of line", ...
  std::string describe() const;
};

// Produces tokens one at a time. Never throws on malformed text: each problem is
// appended to the diagnostics vector (with the file name given here) and lexing
// goes on, so that the parser can report later errors too.
//
// Newline rule. A line break (or a run of them, with comments) becomes one Newline
// token unless
//   - the innermost open bracket is '(' or '[' (inside '{' ... '}' newlines stay
//     significant, because braces hold statement blocks; the map-literal parser
//     skips them itself), or
//   - the previous token cannot end a statement: a binary or unary operator
//     (+ - * / // % ** @ == != < <= > >= and or not), an assignment (= += -= *= /=),
//     '.', ',', ':', or an opening bracket, or
//   - nothing but newlines came before it (no Newline token at the start).
// Recovery: a line that starts with a statement keyword (let if elif else while for
// return break continue try catch throw import) never continues an expression, so
// before it the lexer closes any '(' / '[' left open and emits a Newline even after
// an operator; the parser then reports the unfinished line, not the whole file.
// So a long expression continues on the next line after an operator or comma.
class Lexer {
 public:
  Lexer(std::string_view source, std::string_view file_name, std::vector<Diagnostic>& diagnostics);

  // The next token; after the end, keeps returning End. A final Newline is produced
  // before End when the last line has a statement on it.
  Token next();

 private:
  void skip_space_and_comments(bool& saw_newline, SourcePos& newline_pos);
  Token lex_number(SourcePos start);
  Token lex_string(SourcePos start);
  Token make(TokenKind kind, SourcePos start);
  void advance_bytes(std::size_t count);
  SourcePos here() const noexcept { return pos_; }
  void error(SourcePos at, std::string message);
  void note_bracket(TokenKind kind);
  bool newline_significant() const noexcept;
  bool starts_with_statement_keyword() const noexcept;

  std::string_view source_;
  std::string file_;
  std::vector<Diagnostic>* diagnostics_;
  SourcePos pos_;
  std::vector<TokenKind> open_brackets_;     // LParen, LBracket or LBrace
  TokenKind previous_ = TokenKind::Newline;  // last token produced (Newline at start)
  bool finished_ = false;
};

// Lexes all of `source`; the result ends with an End token.
std::vector<Token> tokenize(std::string_view source, std::string_view file_name, std::vector<Diagnostic>& diagnostics);

}  // namespace miso::mcode
