#include "miso/mcode/parser.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "miso/mcode/lexer.hpp"

namespace miso::mcode {

namespace {

// Precedence levels, lowest first (docs/mcode.md, "Operators"). Unary '-' binds
// tighter than the multiplicative operators and looser than '**'; 'not' binds
// looser than comparisons.
constexpr int kPrecOr = 1;
constexpr int kPrecAnd = 2;
constexpr int kPrecNot = 3;
constexpr int kPrecCompare = 4;
constexpr int kPrecAdd = 5;
constexpr int kPrecMultiply = 6;
constexpr int kPrecNegate = 7;
constexpr int kPrecPower = 8;

struct BinaryInfo {
  BinaryOp op;
  int precedence;
};

std::optional<BinaryInfo> binary_info(TokenKind kind) {
  switch (kind) {
    case TokenKind::KwOr: return BinaryInfo{BinaryOp::Or, kPrecOr};
    case TokenKind::KwAnd: return BinaryInfo{BinaryOp::And, kPrecAnd};
    case TokenKind::EqualEqual: return BinaryInfo{BinaryOp::Equal, kPrecCompare};
    case TokenKind::NotEqual: return BinaryInfo{BinaryOp::NotEqual, kPrecCompare};
    case TokenKind::Less: return BinaryInfo{BinaryOp::Less, kPrecCompare};
    case TokenKind::LessEqual: return BinaryInfo{BinaryOp::LessEqual, kPrecCompare};
    case TokenKind::Greater: return BinaryInfo{BinaryOp::Greater, kPrecCompare};
    case TokenKind::GreaterEqual: return BinaryInfo{BinaryOp::GreaterEqual, kPrecCompare};
    case TokenKind::Plus: return BinaryInfo{BinaryOp::Add, kPrecAdd};
    case TokenKind::Minus: return BinaryInfo{BinaryOp::Subtract, kPrecAdd};
    case TokenKind::Star: return BinaryInfo{BinaryOp::Multiply, kPrecMultiply};
    case TokenKind::Slash: return BinaryInfo{BinaryOp::Divide, kPrecMultiply};
    case TokenKind::SlashSlash: return BinaryInfo{BinaryOp::FloorDivide, kPrecMultiply};
    case TokenKind::Percent: return BinaryInfo{BinaryOp::Modulo, kPrecMultiply};
    case TokenKind::At: return BinaryInfo{BinaryOp::MatMul, kPrecMultiply};
    case TokenKind::StarStar: return BinaryInfo{BinaryOp::Power, kPrecPower};
    default: return std::nullopt;
  }
}

std::optional<AssignOp> assign_op(TokenKind kind) {
  switch (kind) {
    case TokenKind::Assign: return AssignOp::Set;
    case TokenKind::PlusAssign: return AssignOp::Add;
    case TokenKind::MinusAssign: return AssignOp::Subtract;
    case TokenKind::StarAssign: return AssignOp::Multiply;
    case TokenKind::SlashAssign: return AssignOp::Divide;
    default: return std::nullopt;
  }
}

std::string where(SourcePos pos) { return std::to_string(pos.line).append(":").append(std::to_string(pos.column)); }

// Thrown after a diagnostic is recorded; caught at the statement level, which then
// resynchronises. Carries nothing: the diagnostic is already in the list.
struct SyntaxError {};

class Parser {
 public:
  Parser(std::string_view source, std::string_view file_name, AstArena& arena, std::vector<Diagnostic>& diagnostics)
      : file_(file_name), arena_(arena), diagnostics_(diagnostics) {
    tokens_ = tokenize(source, file_name, diagnostics);
  }

  Block parse_file() {
    Block block;
    block.pos = tokens_.front().pos;
    block.statements = parse_statements(/*inside_block=*/false);
    return block;
  }

  Expr* parse_single_expression() {
    skip_newlines();
    try {
      Expr* expression = parse_expression();
      skip_newlines();
      if (!check(TokenKind::End)) fail_expected("end of the expression");
      return expression;
    } catch (const SyntaxError&) {
      return nullptr;
    }
  }

 private:
  // ---- tokens ------------------------------------------------------------
  const Token& current() const { return tokens_[index_]; }
  const Token& peek(std::size_t ahead) const { return tokens_[std::min(index_ + ahead, tokens_.size() - 1)]; }
  bool check(TokenKind kind) const { return current().kind == kind; }
  const Token& advance() {
    const Token& token = tokens_[index_];
    if (index_ + 1 < tokens_.size()) ++index_;
    return token;
  }
  bool match(TokenKind kind) {
    if (!check(kind)) return false;
    advance();
    return true;
  }
  void skip_newlines() {
    while (check(TokenKind::Newline)) advance();
  }

  // ---- errors ------------------------------------------------------------
  [[noreturn]] void fail_at(const Token& token, std::string message) {
    // An Error token was already reported by the lexer: one diagnostic is enough.
    if (token.kind != TokenKind::Error && !gave_up_)
      diagnostics_.push_back(Diagnostic{file_, token.pos, std::move(message)});
    throw SyntaxError{};
  }
  [[noreturn]] void fail_at(SourcePos pos, std::string message) {
    if (!gave_up_) diagnostics_.push_back(Diagnostic{file_, pos, std::move(message)});
    throw SyntaxError{};
  }
  [[noreturn]] void fail_expected(std::string_view what) {
    fail_at(current(), std::string("expected ").append(what).append(", found ").append(current().describe()));
  }
  const Token& expect(TokenKind kind, std::string_view what) {
    if (!check(kind)) fail_expected(what);
    return advance();
  }
  // The closing bracket for an opener at `open`: names the opener's place.
  void expect_closing(TokenKind kind, const Token& open) {
    if (check(kind)) {
      advance();
      return;
    }
    fail_expected(std::string(token_kind_name(kind))
                      .append(" to close ")
                      .append(token_kind_name(open.kind))
                      .append(" at ")
                      .append(where(open.pos)));
  }

  // Nesting guard: every recursive descent into a block or an operand goes through
  // one, and every chain link takes one unit, so deep input ends in a diagnostic,
  // not a native stack overflow (see kMaxNestingDepth).
  class DepthGuard {
   public:
    DepthGuard(Parser& parser, const Token& at, int cost = kNestingCostPerLevel) : parser_(parser) { add(at, cost); }
    ~DepthGuard() { parser_.depth_ -= taken_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

    void add(const Token& at, int cost) {
      if (parser_.depth_ + cost > kMaxNestingDepth) {
        // Input this deep is machine-made or hostile; the errors that would follow
        // (unclosed brackets at every level) say nothing new, so stop here.
        parser_.give_up(at.pos, std::string("nesting too deep (brackets, blocks and operator chains deeper than ")
                                    .append(std::to_string(kMaxNestingDepth / kNestingCostPerLevel))
                                    .append(" levels)"));
      }
      parser_.depth_ += cost;
      taken_ += cost;
    }

   private:
    Parser& parser_;
    int taken_ = 0;
  };

  // Records the diagnostic, then makes every later error silent and every resync
  // jump to the end of the file.
  [[noreturn]] void give_up(SourcePos pos, std::string message) {
    if (!gave_up_) diagnostics_.push_back(Diagnostic{file_, pos, std::move(message)});
    gave_up_ = true;
    throw SyntaxError{};
  }

  // Skips the rest of a broken statement that began at token `start`: up to and
  // including the next newline or ';' at the statement's own brace depth, or up to
  // (not including) a '}' that closes the enclosing block, or to the end.
  void synchronize(std::size_t start) {
    int braces = 0;
    int others = 0;  // ( and [
    auto count = [&](TokenKind kind) {
      switch (kind) {
        case TokenKind::LBrace: ++braces; break;
        case TokenKind::RBrace: --braces; break;
        case TokenKind::LParen:
        case TokenKind::LBracket: ++others; break;
        case TokenKind::RParen:
        case TokenKind::RBracket: others = std::max(0, others - 1); break;
        default: break;
      }
    };
    if (gave_up_) {
      index_ = tokens_.size() - 1;
      return;
    }
    for (std::size_t i = start; i < index_; ++i) count(tokens_[i].kind);
    braces = std::max(braces, 0);
    while (!check(TokenKind::End)) {
      const TokenKind kind = current().kind;
      if (braces == 0) {
        if (kind == TokenKind::RBrace) return;  // closes the enclosing block
        if (kind == TokenKind::Newline || (kind == TokenKind::Semicolon && others == 0)) {
          advance();
          return;
        }
      }
      count(kind);
      advance();
    }
  }

  // ---- statements ----------------------------------------------------------
  std::span<Stmt*> parse_statements(bool inside_block) {
    std::vector<Stmt*> statements;
    while (true) {
      while (check(TokenKind::Newline) || check(TokenKind::Semicolon)) advance();
      if (check(TokenKind::End)) break;
      if (check(TokenKind::RBrace)) {
        if (inside_block) break;
        diagnostics_.push_back(Diagnostic{file_, current().pos, "unexpected '}' (no open block to close)"});
        advance();
        continue;
      }
      const std::size_t start = index_;
      try {
        Stmt* statement = parse_statement();
        // Statements are separated by a newline or ';'; after a '}' the separator
        // may be left out (`if c { return 1 } return 2`).
        const TokenKind next = current().kind;
        const bool separated = next == TokenKind::Newline || next == TokenKind::Semicolon ||
                               next == TokenKind::RBrace || next == TokenKind::End ||
                               (index_ > 0 && tokens_[index_ - 1].kind == TokenKind::RBrace);
        if (!separated) fail_expected("end of line or ';' after the statement");
        statements.push_back(statement);
      } catch (const SyntaxError&) {
        synchronize(start);
        if (index_ == start && !check(TokenKind::End) && !check(TokenKind::RBrace)) advance();
      }
    }
    return arena_.copy(statements);
  }

  Block parse_block(std::string_view purpose) {
    const Token& open = current();
    if (!check(TokenKind::LBrace)) fail_expected(std::string("'{' to start ").append(purpose));
    DepthGuard guard(*this, open);
    advance();
    Block block;
    block.pos = open.pos;
    block.statements = parse_statements(/*inside_block=*/true);
    expect_closing(TokenKind::RBrace, open);
    return block;
  }

  template <typename T>
  T* new_stmt(SourcePos pos) {
    T* node = arena_.make<T>();
    node->kind = T::kKind;
    node->pos = pos;
    return node;
  }
  template <typename T>
  T* new_expr(SourcePos pos) {
    T* node = arena_.make<T>();
    node->kind = T::kKind;
    node->pos = pos;
    return node;
  }

  Binding expect_binding(std::string_view what) {
    const Token& name = expect(TokenKind::Name, what);
    Binding binding;
    binding.name = arena_.copy(name.lexeme);
    binding.pos = name.pos;
    return binding;
  }

  // True when the next non-newline token is `kind` (for `}` NEWLINE `elif`).
  bool next_after_newlines_is(TokenKind kind) const {
    std::size_t i = index_;
    while (tokens_[i].kind == TokenKind::Newline && i + 1 < tokens_.size()) ++i;
    return tokens_[i].kind == kind;
  }
  void skip_newlines_before(TokenKind kind) {
    if (next_after_newlines_is(kind)) skip_newlines();
  }

  Stmt* parse_statement() {
    const Token& first = current();
    switch (first.kind) {
      case TokenKind::KwLet: {
        advance();
        auto* let = new_stmt<LetStmt>(first.pos);
        let->variable = expect_binding("a variable name after 'let'");
        if (match(TokenKind::Assign)) let->value = parse_expression();
        return let;
      }
      case TokenKind::KwFn: {
        if (peek(1).kind != TokenKind::Name) break;  // fn(...) {...} as an expression
        advance();
        auto* statement = new_stmt<FunctionStmt>(first.pos);
        statement->variable = expect_binding("a function name");
        statement->function = parse_function_rest(first.pos, statement->variable.name);
        return statement;
      }
      case TokenKind::KwIf: {
        advance();
        auto* statement = new_stmt<IfStmt>(first.pos);
        std::vector<IfBranch> branches;
        Expr* condition = parse_expression();
        branches.push_back(IfBranch{condition, parse_block("the body of 'if'")});
        while (true) {
          skip_newlines_before(TokenKind::KwElif);
          if (!match(TokenKind::KwElif)) break;
          condition = parse_expression();
          branches.push_back(IfBranch{condition, parse_block("the body of 'elif'")});
        }
        skip_newlines_before(TokenKind::KwElse);
        if (match(TokenKind::KwElse)) {
          statement->has_else = true;
          statement->else_body = parse_block("the body of 'else'");
        }
        statement->branches = arena_.copy(branches);
        return statement;
      }
      case TokenKind::KwWhile: {
        advance();
        auto* statement = new_stmt<WhileStmt>(first.pos);
        statement->condition = parse_expression();
        statement->body = parse_block("the body of 'while'");
        return statement;
      }
      case TokenKind::KwFor: {
        advance();
        auto* statement = new_stmt<ForStmt>(first.pos);
        statement->variable = expect_binding("a loop variable name after 'for'");
        expect(TokenKind::KwIn, "'in' after the loop variable");
        statement->iterable = parse_expression();
        statement->body = parse_block("the body of 'for'");
        return statement;
      }
      case TokenKind::KwReturn: {
        advance();
        auto* statement = new_stmt<ReturnStmt>(first.pos);
        if (!ends_statement(current().kind)) statement->value = parse_expression();
        return statement;
      }
      case TokenKind::KwBreak: advance(); return new_stmt<BreakStmt>(first.pos);
      case TokenKind::KwContinue: advance(); return new_stmt<ContinueStmt>(first.pos);
      case TokenKind::KwTry: {
        advance();
        auto* statement = new_stmt<TryStmt>(first.pos);
        statement->body = parse_block("the body of 'try'");
        skip_newlines_before(TokenKind::KwCatch);
        expect(TokenKind::KwCatch, "'catch' after the body of 'try'");
        if (check(TokenKind::Name)) {
          statement->has_variable = true;
          statement->variable = expect_binding("a name");
        }
        statement->handler = parse_block("the body of 'catch'");
        return statement;
      }
      case TokenKind::KwThrow: {
        advance();
        auto* statement = new_stmt<ThrowStmt>(first.pos);
        statement->value = parse_expression();
        return statement;
      }
      case TokenKind::KwImport: {
        advance();
        auto* statement = new_stmt<ImportStmt>(first.pos);
        statement->variable = expect_binding("a module name after 'import'");
        return statement;
      }
      default: break;
    }
    // An expression statement or an assignment.
    Expr* expression = parse_expression();
    if (const std::optional<AssignOp> op = assign_op(current().kind)) {
      if (!expression->is<NameExpr>() && !expression->is<IndexExpr>() && !expression->is<FieldExpr>()) {
        fail_at(expression->pos, std::string("cannot assign to this expression (only to a name, xs[i] or m.k), found ")
                                     .append(token_kind_name(current().kind)));
      }
      auto* assign = new_stmt<AssignStmt>(first.pos);
      assign->op = *op;
      assign->op_pos = advance().pos;
      assign->target = expression;
      assign->value = parse_expression();
      return assign;
    }
    auto* statement = new_stmt<ExpressionStmt>(first.pos);
    statement->expression = expression;
    return statement;
  }

  static bool ends_statement(TokenKind kind) {
    return kind == TokenKind::Newline || kind == TokenKind::Semicolon || kind == TokenKind::RBrace ||
           kind == TokenKind::End;
  }

  // After `fn` (and the name, if any): (params) { body }.
  FunctionExpr* parse_function_rest(SourcePos pos, std::string_view name) {
    auto* function = new_expr<FunctionExpr>(pos);
    function->name = name;
    const Token& open = expect(TokenKind::LParen, "'(' to start the parameter list");
    std::vector<Binding> parameters;
    while (!check(TokenKind::RParen)) {
      parameters.push_back(expect_binding("a parameter name or ')'"));
      if (!match(TokenKind::Comma)) break;
    }
    expect_closing(TokenKind::RParen, open);
    function->parameters = arena_.copy(parameters);
    function->body = parse_block("the function body");
    return function;
  }

  // ---- expressions ---------------------------------------------------------
  Expr* parse_expression() { return parse_binary(kPrecOr); }

  // Precedence climbing: parses operators of precedence >= min_precedence.
  Expr* parse_binary(int min_precedence) {
    DepthGuard guard(*this, current());
    Expr* left = parse_operand(min_precedence);
    while (true) {
      const std::optional<BinaryInfo> info = binary_info(current().kind);
      if (!info || info->precedence < min_precedence) return left;
      guard.add(current(), 1);
      const Token& op_token = advance();
      // '**' is right-associative; the others are left-associative.
      const int next_min = info->op == BinaryOp::Power ? info->precedence : info->precedence + 1;
      Expr* right = parse_binary(next_min);
      auto* binary = new_expr<BinaryExpr>(left->pos);
      binary->op = info->op;
      binary->op_pos = op_token.pos;
      binary->left = left;
      binary->right = right;
      left = binary;
      if (info->precedence == kPrecCompare && binary_info(current().kind) &&
          binary_info(current().kind)->precedence == kPrecCompare) {
        fail_at(current(),
                std::string("comparisons do not chain: write 'a < b and b < c', found ").append(current().describe()));
      }
    }
  }

  // A prefix operator with its operand, or a postfix expression.
  Expr* parse_operand(int min_precedence) {
    const Token& first = current();
    if (first.kind == TokenKind::KwNot) {
      if (min_precedence > kPrecNot) {
        fail_at(first,
                "'not' cannot be an operand of a comparison or arithmetic operator here; "
                "put 'not ...' in parentheses");
      }
      advance();
      auto* unary = new_expr<UnaryExpr>(first.pos);
      unary->op = UnaryOp::Not;
      unary->operand = parse_binary(kPrecNot);
      return unary;
    }
    if (first.kind == TokenKind::Minus) {
      advance();
      // -9223372036854775808 is INT64_MIN; 2^63 alone does not fit.
      if (check(TokenKind::Int) && current().int_needs_negation && peek(1).kind != TokenKind::StarStar) {
        auto* literal = new_expr<IntExpr>(first.pos);
        literal->value = std::numeric_limits<std::int64_t>::min();
        advance();
        return parse_postfix(literal);
      }
      auto* unary = new_expr<UnaryExpr>(first.pos);
      unary->op = UnaryOp::Negate;
      unary->operand = parse_binary(kPrecNegate);
      return unary;
    }
    return parse_postfix(parse_primary());
  }

  std::span<Expr*> parse_arguments(const Token& open) {
    std::vector<Expr*> arguments;
    while (!check(TokenKind::RParen)) {
      arguments.push_back(parse_expression());
      if (!match(TokenKind::Comma)) break;
    }
    expect_closing(TokenKind::RParen, open);
    return arena_.copy(arguments);
  }

  Expr* parse_postfix(Expr* expression) {
    DepthGuard guard(*this, current(), 0);
    while (true) {
      const Token& token = current();
      if (token.kind == TokenKind::LParen || token.kind == TokenKind::LBracket || token.kind == TokenKind::Dot) {
        guard.add(token, 1);
      }
      if (token.kind == TokenKind::LParen) {
        advance();
        auto* call = new_expr<CallExpr>(expression->pos);
        call->paren_pos = token.pos;
        call->callee = expression;
        call->arguments = parse_arguments(token);
        expression = call;
      } else if (token.kind == TokenKind::LBracket) {
        advance();
        auto* index = new_expr<IndexExpr>(expression->pos);
        index->bracket_pos = token.pos;
        index->object = expression;
        index->index = parse_expression();
        expect_closing(TokenKind::RBracket, token);
        expression = index;
      } else if (token.kind == TokenKind::Dot) {
        advance();
        const Token& name = expect(TokenKind::Name, "a field or method name after '.'");
        if (check(TokenKind::LParen)) {
          const Token& open = advance();
          auto* call = new_expr<MethodCallExpr>(expression->pos);
          call->name_pos = name.pos;
          call->object = expression;
          call->name = arena_.copy(name.lexeme);
          call->arguments = parse_arguments(open);
          expression = call;
        } else {
          auto* field = new_expr<FieldExpr>(expression->pos);
          field->name_pos = name.pos;
          field->object = expression;
          field->name = arena_.copy(name.lexeme);
          expression = field;
        }
      } else {
        return expression;
      }
    }
  }

  Expr* parse_primary() {
    const Token& token = current();
    switch (token.kind) {
      case TokenKind::Int: {
        if (token.int_needs_negation) {
          fail_at(token,
                  "integer literal 9223372036854775808 does not fit in a 64-bit int "
                  "(only -9223372036854775808 is allowed)");
        }
        advance();
        auto* literal = new_expr<IntExpr>(token.pos);
        literal->value = token.int_value;
        return literal;
      }
      case TokenKind::Float: {
        advance();
        auto* literal = new_expr<FloatExpr>(token.pos);
        literal->value = token.float_value;
        return literal;
      }
      case TokenKind::String: {
        advance();
        auto* literal = new_expr<StringExpr>(token.pos);
        literal->value = arena_.copy(token.text);
        return literal;
      }
      case TokenKind::KwTrue:
      case TokenKind::KwFalse: {
        advance();
        auto* literal = new_expr<BoolExpr>(token.pos);
        literal->value = token.kind == TokenKind::KwTrue;
        return literal;
      }
      case TokenKind::KwNil: advance(); return new_expr<NilExpr>(token.pos);
      case TokenKind::Name: {
        advance();
        auto* name = new_expr<NameExpr>(token.pos);
        name->name = arena_.copy(token.lexeme);
        return name;
      }
      case TokenKind::LParen: {
        advance();
        Expr* inner = parse_expression();
        expect_closing(TokenKind::RParen, token);
        return inner;
      }
      case TokenKind::LBracket: {
        advance();
        auto* list = new_expr<ListExpr>(token.pos);
        std::vector<Expr*> items;
        while (!check(TokenKind::RBracket)) {
          items.push_back(parse_expression());
          if (!match(TokenKind::Comma)) break;
        }
        expect_closing(TokenKind::RBracket, token);
        list->items = arena_.copy(items);
        return list;
      }
      case TokenKind::LBrace: {
        // Newlines inside braces are tokens (braces also hold blocks): skip them here.
        advance();
        auto* map = new_expr<MapExpr>(token.pos);
        std::vector<MapEntry> entries;
        skip_newlines();
        while (!check(TokenKind::RBrace)) {
          Expr* key = parse_expression();
          skip_newlines();
          expect(TokenKind::Colon, "':' after the map key");
          skip_newlines();
          Expr* value = parse_expression();
          entries.push_back(MapEntry{key, value});
          skip_newlines();
          if (!match(TokenKind::Comma)) break;
          skip_newlines();
        }
        expect_closing(TokenKind::RBrace, token);
        map->entries = arena_.copy(entries);
        return map;
      }
      case TokenKind::KwFn: {
        advance();
        return parse_function_rest(token.pos, {});
      }
      default: fail_expected("an expression");
    }
  }

  std::string file_;
  AstArena& arena_;
  std::vector<Diagnostic>& diagnostics_;
  std::vector<Token> tokens_;
  std::size_t index_ = 0;
  int depth_ = 0;
  bool gave_up_ = false;  // after "nesting too deep": skip to the end silently
};

void sort_by_position(std::vector<Diagnostic>& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.pos.offset < b.pos.offset; });
}

}  // namespace

ParseResult parse_program(std::string_view source, std::string_view file_name) {
  ParseResult result;
  result.program.file_name = std::string(file_name);
  Parser parser(source, file_name, *result.program.arena, result.diagnostics);
  result.program.body = parser.parse_file();
  sort_by_position(result.diagnostics);
  return result;
}

ExpressionParseResult parse_expression(std::string_view source, std::string_view file_name) {
  ExpressionParseResult result;
  Parser parser(source, file_name, *result.arena, result.diagnostics);
  result.expression = parser.parse_single_expression();
  sort_by_position(result.diagnostics);
  if (!result.diagnostics.empty()) result.expression = nullptr;
  return result;
}

}  // namespace miso::mcode
