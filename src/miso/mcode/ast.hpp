// The M-CODE syntax tree: what the parser produces and the resolver and compiler walk.
// Nodes are plain, trivially destructible structs allocated in an AstArena owned by
// the Program; children are raw pointers and spans into the same arena.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "miso/mcode/diagnostic.hpp"

namespace miso::mcode {

// ---------------------------------------------------------------------------
// Arena

// A bump allocator for syntax nodes. Everything in it is trivially destructible, so
// freeing the arena frees the whole tree at once; nodes never move.
class AstArena {
 public:
  AstArena() = default;
  AstArena(const AstArena&) = delete;
  AstArena& operator=(const AstArena&) = delete;

  void* allocate(std::size_t size, std::size_t alignment) {
    std::size_t start = (used_ + alignment - 1) & ~(alignment - 1);
    if (blocks_.empty() || start + size > capacity_) {
      capacity_ = size > kBlockSize ? size : kBlockSize;
      blocks_.push_back(
          std::make_unique<std::max_align_t[]>((capacity_ + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t)));
      start = 0;
    }
    used_ = start + size;
    bytes_ += size;
    return reinterpret_cast<char*>(blocks_.back().get()) + start;
  }

  template <typename T, typename... Args>
  T* make(Args&&... args) {
    static_assert(std::is_trivially_destructible_v<T>, "arena nodes are never destroyed");
    return new (allocate(sizeof(T), alignof(T))) T{std::forward<Args>(args)...};
  }

  // Copies `items` into the arena.
  template <typename T>
  std::span<T> copy(const std::vector<T>& items) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (items.empty()) return {};
    T* data = static_cast<T*>(allocate(sizeof(T) * items.size(), alignof(T)));
    std::memcpy(static_cast<void*>(data), items.data(), sizeof(T) * items.size());
    return {data, items.size()};
  }

  // Copies the characters of `text` into the arena (not NUL-terminated).
  std::string_view copy(std::string_view text) {
    if (text.empty()) return {};
    char* data = static_cast<char*>(allocate(text.size(), 1));
    std::memcpy(data, text.data(), text.size());
    return {data, text.size()};
  }

  // Bytes handed out so far (for memory accounting).
  std::size_t bytes_used() const noexcept { return bytes_; }

 private:
  static constexpr std::size_t kBlockSize = 32 * 1024;
  std::vector<std::unique_ptr<std::max_align_t[]>> blocks_;
  std::size_t used_ = 0;
  std::size_t capacity_ = 0;
  std::size_t bytes_ = 0;
};

// ---------------------------------------------------------------------------
// Name resolution slots (filled by the resolver, not by the parser)

// Where a name lives at run time. The parser leaves every Resolution Unresolved; the
// resolver writes it in place (nodes are mutable through the Program) so that the
// compiler needs no side table.
struct Resolution {
  enum class Kind : std::uint8_t {
    Unresolved,
    Local,    // index = register / stack slot in the current function
    Capture,  // index = captured-variable (upvalue) slot of the current closure
    Global,   // index = global table slot (or ~0 when looked up by name)
  };
  Kind kind = Kind::Unresolved;
  std::uint32_t index = 0;
};

// A variable introduced by let, a parameter, a for loop, a catch clause or a named
// fn. `captured` is set by the resolver when a closure captures it, so the compiler
// can give it a heap cell.
struct Binding {
  std::string_view name;
  SourcePos pos;
  Resolution slot;
  bool captured = false;
};

// ---------------------------------------------------------------------------
// Expressions

enum class ExprKind : std::uint8_t {
  Nil,
  Bool,
  Int,
  Float,
  String,
  Name,
  List,
  Map,
  Unary,
  Binary,
  Call,
  MethodCall,
  Index,
  Field,
  Function,
};

enum class UnaryOp : std::uint8_t { Negate, Not };

// ORDER BINOP: binary_op_text() and the precedence table in parser.cpp follow it.
enum class BinaryOp : std::uint8_t {
  Add,           // +   numbers, or string concatenation
  Subtract,      // -
  Multiply,      // *
  Divide,        // /   always a float result
  FloorDivide,   // //  floor of the quotient (int for ints)
  Modulo,        // %   sign of the divisor (floored)
  Power,         // **  right-associative
  MatMul,        // @   matrix product of tensor handles
  Equal,         // ==
  NotEqual,      // !=
  Less,          // <
  LessEqual,     // <=
  Greater,       // >
  GreaterEqual,  // >=
  And,           // and (short-circuit; yields the deciding operand)
  Or,            // or  (short-circuit; yields the deciding operand)
};

inline constexpr const char* binary_op_text(BinaryOp op) noexcept {
  constexpr const char* kText[] = {"+",  "-",  "*", "/",  "//", "%",  "**",  "@",
                                   "==", "!=", "<", "<=", ">",  ">=", "and", "or"};
  return kText[static_cast<int>(op)];
}

inline constexpr const char* unary_op_text(UnaryOp op) noexcept { return op == UnaryOp::Negate ? "-" : "not"; }

// Every expression starts with this header; `kind` says which struct it is.
// `pos` is where the expression starts in the source.
struct Expr {
  ExprKind kind;
  SourcePos pos;

  template <typename T>
  T& as() {
    assert(kind == T::kKind);
    return *static_cast<T*>(this);
  }
  template <typename T>
  const T& as() const {
    assert(kind == T::kKind);
    return *static_cast<const T*>(this);
  }
  template <typename T>
  bool is() const noexcept {
    return kind == T::kKind;
  }
};

struct Stmt;

// A sequence of statements between braces (or a whole file). `pos` is the '{'.
struct Block {
  SourcePos pos;
  std::span<Stmt*> statements;
};

struct NilExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Nil;
};
struct BoolExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Bool;
  bool value = false;
};
// Literal values are non-negative except INT64_MIN, which the parser folds from
// `-9223372036854775808` because 2^63 itself is not an int.
struct IntExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Int;
  std::int64_t value = 0;
};
struct FloatExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Float;
  double value = 0.0;
};
struct StringExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::String;
  std::string_view value;  // decoded (escapes applied), in the arena
};
struct NameExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Name;
  std::string_view name;
  Resolution slot;  // filled by the resolver
};
struct ListExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::List;
  std::span<Expr*> items;
};
struct MapEntry {
  Expr* key;
  Expr* value;
};
struct MapExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Map;
  std::span<MapEntry> entries;  // in source order
};
struct UnaryExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Unary;
  UnaryOp op = UnaryOp::Negate;
  Expr* operand = nullptr;
};
struct BinaryExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Binary;
  BinaryOp op = BinaryOp::Add;
  SourcePos op_pos;  // the operator, for run-time errors such as division by zero
  Expr* left = nullptr;
  Expr* right = nullptr;
};
// f(args): any callee expression except `object.name`, which is a MethodCall.
struct CallExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Call;
  SourcePos paren_pos;  // the '('
  Expr* callee = nullptr;
  std::span<Expr*> arguments;
};
// object.name(args): a method of a handle or string/list, or a module function
// (tmath.randn(...)), or a function stored in a map under "name".
struct MethodCallExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::MethodCall;
  SourcePos name_pos;
  Expr* object = nullptr;
  std::string_view name;
  std::span<Expr*> arguments;
};
struct IndexExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Index;
  SourcePos bracket_pos;  // the '['
  Expr* object = nullptr;
  Expr* index = nullptr;
};
// object.name: same as object["name"] on a map; a module member on a module.
struct FieldExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Field;
  SourcePos name_pos;
  Expr* object = nullptr;
  std::string_view name;
};
// fn(params) { body }, and the function of a `fn name(...)` statement.
// `name` is empty for anonymous functions.
struct FunctionExpr : Expr {
  static constexpr ExprKind kKind = ExprKind::Function;
  std::string_view name;
  std::span<Binding> parameters;
  Block body;
};

// ---------------------------------------------------------------------------
// Statements

enum class StmtKind : std::uint8_t {
  Let,
  Assign,
  Expression,
  If,
  While,
  For,
  Function,
  Return,
  Break,
  Continue,
  Try,
  Throw,
  Import,
};

enum class AssignOp : std::uint8_t { Set, Add, Subtract, Multiply, Divide };

inline constexpr const char* assign_op_text(AssignOp op) noexcept {
  constexpr const char* kText[] = {"=", "+=", "-=", "*=", "/="};
  return kText[static_cast<int>(op)];
}

struct Stmt {
  StmtKind kind;
  SourcePos pos;  // the first token of the statement

  template <typename T>
  T& as() {
    assert(kind == T::kKind);
    return *static_cast<T*>(this);
  }
  template <typename T>
  const T& as() const {
    assert(kind == T::kKind);
    return *static_cast<const T*>(this);
  }
  template <typename T>
  bool is() const noexcept {
    return kind == T::kKind;
  }
};

// let name = value; `value` is nullptr for `let name` (which binds nil).
struct LetStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Let;
  Binding variable;
  Expr* value = nullptr;
};
// target op value, where target is a NameExpr, IndexExpr or FieldExpr.
struct AssignStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Assign;
  AssignOp op = AssignOp::Set;
  SourcePos op_pos;
  Expr* target = nullptr;
  Expr* value = nullptr;
};
struct ExpressionStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Expression;
  Expr* expression = nullptr;
};
struct IfBranch {
  Expr* condition;
  Block body;
};
// if c1 { } elif c2 { } ... else { }; `branches` holds the if and every elif.
struct IfStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::If;
  std::span<IfBranch> branches;
  bool has_else = false;
  Block else_body;
};
struct WhileStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::While;
  Expr* condition = nullptr;
  Block body;
};
// for variable in iterable { body }; `variable` is fresh in each iteration.
struct ForStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::For;
  Binding variable;
  Expr* iterable = nullptr;
  Block body;
};
// fn name(params) { body }: binds `name` (visible in its own body, for recursion).
struct FunctionStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Function;
  Binding variable;
  FunctionExpr* function = nullptr;
};
struct ReturnStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Return;
  Expr* value = nullptr;  // nullptr: return nil
};
struct BreakStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Break;
};
struct ContinueStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Continue;
};
// try { body } catch name { handler }; `has_variable` is false for `catch { }`.
struct TryStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Try;
  Block body;
  bool has_variable = false;
  Binding variable;
  Block handler;
};
struct ThrowStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Throw;
  Expr* value = nullptr;
};
// import name: binds the engine module `name` (tmath, echo, ...) as a variable.
struct ImportStmt : Stmt {
  static constexpr StmtKind kKind = StmtKind::Import;
  Binding variable;
};

// A parsed file. The arena owns every node; moving a Program keeps nodes in place.
struct Program {
  std::string file_name;
  std::unique_ptr<AstArena> arena = std::make_unique<AstArena>();
  Block body;
};

}  // namespace miso::mcode
