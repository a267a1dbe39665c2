// The M-CODE parser: recursive descent for statements, precedence climbing for
// expressions (table in docs/mcode.md). It recovers from syntax errors at statement
// boundaries, so one run reports every syntax error of a file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "miso/mcode/ast.hpp"
#include "miso/mcode/diagnostic.hpp"

namespace miso::mcode {

// Nesting budget. Each level of brackets, blocks and prefix or right-hand operands
// costs kNestingCostPerLevel, each link of an operator or postfix chain (a + b + c,
// a.b.c, f()()) costs 1; input that needs more gets one diagnostic ("nesting too
// deep") instead of exhausting the native stack. This also bounds the depth of every
// expression tree by kMaxNestingDepth, so later passes may recurse over the tree.
inline constexpr int kMaxNestingDepth = 1000;
inline constexpr int kNestingCostPerLevel = 4;

struct ParseResult {
  // The tree of everything that parsed. Statements with syntax errors are left out,
  // so with diagnostics present the program is only good for tooling, not for running.
  Program program;
  // Lexical and syntax errors in source order of discovery (which is source order).
  std::vector<Diagnostic> diagnostics;

  bool ok() const noexcept { return diagnostics.empty(); }
};

// Parses a whole script. Never throws for bad input and never crashes on any bytes;
// `file_name` is used in the diagnostics. `source` need not outlive the result (names
// and strings are copied into the program's arena).
//
// Error recovery: a syntax error abandons the current statement; the parser skips to
// the next newline or ';' at the statement's own bracket depth, or stops before the
// '}' that closes the enclosing block, and goes on. Each abandoned statement yields
// one syntax diagnostic, or none when a malformed token the lexer already reported
// broke it. (Lexical errors that leave a usable token, such as a bad escape or an
// int overflow, are reported besides.) "Nesting too deep" ends the parse.
ParseResult parse_program(std::string_view source, std::string_view file_name);

// Parses a single expression (for a REPL or `miso mcode eval`): the whole source must
// be one expression, optionally followed by newlines. On errors, `expression` is nullptr.
struct ExpressionParseResult {
  std::unique_ptr<AstArena> arena = std::make_unique<AstArena>();
  Expr* expression = nullptr;
  std::vector<Diagnostic> diagnostics;
  bool ok() const noexcept { return diagnostics.empty() && expression != nullptr; }
};
ExpressionParseResult parse_expression(std::string_view source, std::string_view file_name);

}  // namespace miso::mcode
