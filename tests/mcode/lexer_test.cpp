#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "miso/mcode/lexer.hpp"

namespace miso::mcode {
namespace {

struct Lexed {
  std::vector<Token> tokens;
  std::vector<Diagnostic> diagnostics;
};

Lexed lex(std::string_view source) {
  Lexed result;
  result.tokens = tokenize(source, "t.mc", result.diagnostics);
  return result;
}

std::vector<TokenKind> kinds(std::string_view source) {
  std::vector<TokenKind> out;
  for (const Token& token : lex(source).tokens) out.push_back(token.kind);
  return out;
}

using K = TokenKind;

TEST(Lexer, EveryKeywordAndOperator) {
  const std::string source =
      "let fn if elif else while for in return break continue and or not true false nil try catch throw import "
      "+ - * / // % ** @ == != < <= > >= = += -= *= /= . , : ; ( ) [ ] { } name 12 1.5 \"s\"";
  const std::vector<K> expected = {
      K::KwLet,  K::KwFn,       K::KwIf,        K::KwElif,     K::KwElse,      K::KwWhile,  K::KwFor,
      K::KwIn,   K::KwReturn,   K::KwBreak,     K::KwContinue, K::KwAnd,       K::KwOr,     K::KwNot,
      K::KwTrue, K::KwFalse,    K::KwNil,       K::KwTry,      K::KwCatch,     K::KwThrow,  K::KwImport,
      K::Plus,   K::Minus,      K::Star,        K::Slash,      K::SlashSlash,  K::Percent,  K::StarStar,
      K::At,     K::EqualEqual, K::NotEqual,    K::Less,       K::LessEqual,   K::Greater,  K::GreaterEqual,
      K::Assign, K::PlusAssign, K::MinusAssign, K::StarAssign, K::SlashAssign, K::Dot,      K::Comma,
      K::Colon,  K::Semicolon,  K::LParen,      K::RParen,     K::LBracket,    K::RBracket, K::LBrace,
      K::RBrace, K::Name,       K::Int,         K::Float,      K::String,      K::Newline,  K::End};
  const Lexed lexed = lex(source);
  EXPECT_TRUE(lexed.diagnostics.empty());
  EXPECT_EQ(kinds(source), expected);
  // Every kind except Error appears, and each has a printable name.
  for (int k = 0; k < kTokenKindCount; ++k) {
    EXPECT_NE(std::string(token_kind_name(static_cast<K>(k))), "token");
  }
}

TEST(Lexer, KeywordLookup) {
  EXPECT_EQ(keyword_kind("while"), K::KwWhile);
  EXPECT_EQ(keyword_kind("whilst"), K::Name);
  EXPECT_EQ(keyword_kind("Let"), K::Name);  // case-sensitive
  EXPECT_EQ(kinds("lets letx _let"), (std::vector<K>{K::Name, K::Name, K::Name, K::Newline, K::End}));
}

TEST(Lexer, PositionsCountCodePoints) {
  // "é" is two bytes but one column; the second line starts after the newline.
  const Lexed lexed = lex("let s = \"é\" + x\n  y");
  ASSERT_EQ(lexed.tokens.size(), 10u);
  const Token& plus = lexed.tokens[4];
  EXPECT_EQ(plus.kind, K::Plus);
  EXPECT_EQ(plus.pos.line, 1u);
  EXPECT_EQ(plus.pos.column, 13u);
  EXPECT_EQ(plus.pos.offset, 13u);
  const Token& newline = lexed.tokens[6];
  EXPECT_EQ(newline.kind, K::Newline);
  EXPECT_EQ(newline.pos.column, 16u);
  const Token& y = lexed.tokens[7];
  EXPECT_EQ(y.lexeme, "y");
  EXPECT_EQ(y.pos.line, 2u);
  EXPECT_EQ(y.pos.column, 3u);
  EXPECT_EQ(y.pos.offset, 19u);
}

TEST(Lexer, IntegerLiterals) {
  const Lexed lexed = lex("0 42 1_000_000 0xff 0X10 9223372036854775807");
  ASSERT_TRUE(lexed.diagnostics.empty());
  const std::vector<std::int64_t> expected = {0, 42, 1000000, 255, 16, std::numeric_limits<std::int64_t>::max()};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(lexed.tokens[i].kind, K::Int);
    EXPECT_EQ(lexed.tokens[i].int_value, expected[i]) << i;
    EXPECT_FALSE(lexed.tokens[i].int_needs_negation);
  }
}

TEST(Lexer, TwoToThe63NeedsNegation) {
  const Lexed lexed = lex("9223372036854775808");
  ASSERT_TRUE(lexed.diagnostics.empty());
  EXPECT_TRUE(lexed.tokens[0].int_needs_negation);
  EXPECT_EQ(lexed.tokens[0].int_value, std::numeric_limits<std::int64_t>::min());
}

TEST(Lexer, IntegerOverflowIsAnError) {
  const Lexed lexed = lex("x = 9223372036854775809");
  ASSERT_EQ(lexed.diagnostics.size(), 1u);
  EXPECT_EQ(lexed.diagnostics[0].pos.column, 5u);
  EXPECT_NE(lexed.diagnostics[0].message.find("does not fit in a 64-bit int"), std::string::npos);
  EXPECT_EQ(lex("0x1_0000_0000_0000_0000").diagnostics.size(), 1u);
}

TEST(Lexer, FloatLiterals) {
  const Lexed lexed = lex("1.5 1e-3 2E+2 0.25e1 1_0.5");
  ASSERT_TRUE(lexed.diagnostics.empty());
  const std::vector<double> expected = {1.5, 1e-3, 2e2, 2.5, 10.5};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(lexed.tokens[i].kind, K::Float) << i;
    EXPECT_EQ(lexed.tokens[i].float_value, expected[i]) << i;
  }
  // "1." is an int followed by a dot (a method call on 1), not a float.
  EXPECT_EQ(kinds("1.abs()"), (std::vector<K>{K::Int, K::Dot, K::Name, K::LParen, K::RParen, K::Newline, K::End}));
  EXPECT_EQ(lex("1e999").diagnostics.size(), 1u);
}

TEST(Lexer, MalformedNumbers) {
  for (const char* source : {"12abc", "1e", "1e+", "0xZ1", "3_"}) {
    const Lexed lexed = lex(source);
    ASSERT_EQ(lexed.diagnostics.size(), 1u) << source;
    EXPECT_NE(lexed.diagnostics[0].message.find("malformed number"), std::string::npos) << source;
    EXPECT_EQ(lexed.tokens[0].kind, K::Error) << source;
  }
}

TEST(Lexer, StringEscapes) {
  const Lexed lexed = lex(R"("a\nb\t\"q\"\\ \u{41}\u{e9}\u{1F600}\r")");
  ASSERT_TRUE(lexed.diagnostics.empty());
  EXPECT_EQ(lexed.tokens[0].kind, K::String);
  EXPECT_EQ(lexed.tokens[0].text, "a\nb\t\"q\"\\ A\xC3\xA9\xF0\x9F\x98\x80\r");
  EXPECT_EQ(lex("\"\"").tokens[0].text, "");
}

TEST(Lexer, StringErrors) {
  {
    const Lexed lexed = lex("let s = \"abc\nlet t = 1");
    ASSERT_EQ(lexed.diagnostics.size(), 1u);
    EXPECT_NE(lexed.diagnostics[0].message.find("unterminated string"), std::string::npos);
    EXPECT_EQ(lexed.diagnostics[0].pos.column, 9u);
    EXPECT_EQ(lexed.tokens[3].kind, K::Error);
    EXPECT_EQ(lexed.tokens[4].kind, K::Newline);  // lexing goes on with the next line
    EXPECT_EQ(lexed.tokens[5].kind, K::KwLet);
  }
  {
    const Lexed lexed = lex(R"("a\qb")");
    ASSERT_EQ(lexed.diagnostics.size(), 1u);
    EXPECT_EQ(lexed.diagnostics[0].pos.column, 3u);
    EXPECT_NE(lexed.diagnostics[0].message.find("unknown escape '\\q'"), std::string::npos);
    EXPECT_EQ(lexed.tokens[0].kind, K::String);
  }
  for (const char* source : {R"("\u41")", R"("\u{}")", R"("\u{110000}")", R"("\u{D800}")", R"("\u{1234567}")"}) {
    EXPECT_EQ(lex(source).diagnostics.size(), 1u) << source;
  }
  EXPECT_EQ(lex("\"abc\\").diagnostics.size(), 1u);
}

TEST(Lexer, StrayCharactersAreOneErrorPerRun) {
  const Lexed lexed = lex("let x = $$$ + 1 ? 2");
  ASSERT_EQ(lexed.diagnostics.size(), 2u);
  EXPECT_EQ(lexed.diagnostics[0].pos.column, 9u);
  EXPECT_EQ(lexed.diagnostics[0].message, "unexpected characters '$$$'");
  EXPECT_EQ(lexed.diagnostics[1].pos.column, 17u);
  const Lexed bang = lex("!x");
  ASSERT_EQ(bang.diagnostics.size(), 1u);
  EXPECT_NE(bang.diagnostics[0].message.find("'not'"), std::string::npos);
}

TEST(Lexer, CommentsRunToEndOfLine) {
  EXPECT_EQ(kinds("# only a comment"), (std::vector<K>{K::End}));
  EXPECT_EQ(kinds("x # note\ny"), (std::vector<K>{K::Name, K::Newline, K::Name, K::Newline, K::End}));
  EXPECT_EQ(kinds("\"# not a comment\""), (std::vector<K>{K::String, K::Newline, K::End}));
}

TEST(Lexer, NewlinesEndStatementsAndCollapse) {
  EXPECT_EQ(kinds("\n\nx\n\n\ny\n"), (std::vector<K>{K::Name, K::Newline, K::Name, K::Newline, K::End}));
  EXPECT_EQ(kinds("x;y"), (std::vector<K>{K::Name, K::Semicolon, K::Name, K::Newline, K::End}));
  // CRLF line ends work like LF.
  EXPECT_EQ(kinds("x\r\ny"), (std::vector<K>{K::Name, K::Newline, K::Name, K::Newline, K::End}));
}

TEST(Lexer, NewlinesIgnoredInsideParenthesesAndBrackets) {
  EXPECT_EQ(kinds("f(a,\n b\n)"),
            (std::vector<K>{K::Name, K::LParen, K::Name, K::Comma, K::Name, K::RParen, K::Newline, K::End}));
  EXPECT_EQ(kinds("[1\n,2\n]"),
            (std::vector<K>{K::LBracket, K::Int, K::Comma, K::Int, K::RBracket, K::Newline, K::End}));
}

TEST(Lexer, NewlinesSignificantInsideBraces) {
  // Braces hold blocks, so a newline inside them still ends a statement, also when
  // the braces sit inside parentheses (a function literal passed as an argument).
  EXPECT_EQ(kinds("f(fn() {\na\nb\n})"),
            (std::vector<K>{K::Name, K::LParen, K::KwFn, K::LParen, K::RParen, K::LBrace, K::Name, K::Newline, K::Name,
                            K::Newline, K::RBrace, K::RParen, K::Newline, K::End}));
}

TEST(Lexer, LineContinuesAfterOperatorsAndCommas) {
  EXPECT_EQ(kinds("a +\nb"), (std::vector<K>{K::Name, K::Plus, K::Name, K::Newline, K::End}));
  EXPECT_EQ(kinds("a and\nb"), (std::vector<K>{K::Name, K::KwAnd, K::Name, K::Newline, K::End}));
  EXPECT_EQ(kinds("x =\n1"), (std::vector<K>{K::Name, K::Assign, K::Int, K::Newline, K::End}));
  EXPECT_EQ(kinds("t.\nsum"), (std::vector<K>{K::Name, K::Dot, K::Name, K::Newline, K::End}));
  // An operator at the start of the next line does not continue the statement.
  EXPECT_EQ(kinds("a\n+b"), (std::vector<K>{K::Name, K::Newline, K::Plus, K::Name, K::Newline, K::End}));
  // A file ending after an operator has no final Newline (the parser says "end of file").
  EXPECT_EQ(kinds("a +"), (std::vector<K>{K::Name, K::Plus, K::End}));
}

TEST(Lexer, StatementKeywordClosesOpenParentheses) {
  EXPECT_EQ(kinds("f(1,\nlet y = 2"), (std::vector<K>{K::Name, K::LParen, K::Int, K::Comma, K::Newline, K::KwLet,
                                                      K::Name, K::Assign, K::Int, K::Newline, K::End}));
}

TEST(Lexer, DescribeNamesTheToken) {
  const Lexed lexed = lex("foo 12 \"str\" += \n");
  EXPECT_EQ(lexed.tokens[0].describe(), "name 'foo'");
  EXPECT_EQ(lexed.tokens[1].describe(), "integer 12");
  EXPECT_EQ(lexed.tokens[2].describe(), "string \"str\"");
  EXPECT_EQ(lexed.tokens[3].describe(), "'+='");
  EXPECT_EQ(lexed.tokens[4].describe(), "end of file");  // '+=' continues the line
}

// Random bytes and random token soups: the lexer never crashes, always ends with
// End, and positions move forward.
TEST(Lexer, RandomInputNeverBreaksIt) {
  std::mt19937_64 rng(1234);
  const std::vector<std::string> pieces = {"let", " ",    "\n",   "(",  ")",
                                           "{",   "}",    "[",    "]",  "\"",
                                           "\\",  "1",    "1.5e", "0x", "#",
                                           "+",   "//",   "**",   "!",  "=",
                                           "é",   "\xff", "\t",   "u{", "9999999999999999999999"};
  for (int round = 0; round < 2000; ++round) {
    std::string source;
    const int length = static_cast<int>(rng() % 60);
    for (int i = 0; i < length; ++i) {
      if (round % 2 == 0) {
        source.push_back(static_cast<char>(rng() & 0xFF));
      } else {
        source += pieces[rng() % pieces.size()];
      }
    }
    const Lexed lexed = lex(source);
    ASSERT_FALSE(lexed.tokens.empty());
    EXPECT_EQ(lexed.tokens.back().kind, K::End);
    for (std::size_t i = 1; i < lexed.tokens.size(); ++i) {
      ASSERT_GE(lexed.tokens[i].pos.offset, lexed.tokens[i - 1].pos.offset) << source;
      ASSERT_LE(lexed.tokens[i].pos.offset, source.size());
    }
    for (const Diagnostic& d : lexed.diagnostics) {
      ASSERT_LE(d.pos.offset, source.size());
      ASSERT_GE(d.pos.line, 1u);
      ASSERT_GE(d.pos.column, 1u);
    }
  }
}

}  // namespace
}  // namespace miso::mcode
