// Writes an M-CODE syntax tree back out: as canonical source (print_*: parsing the
// output gives the same tree, used for round-trip tests and disassembler comments)
// and as a one-line S-expression of the structure without positions (dump_*).
#pragma once

#include <charconv>
#include <cstdint>
#include <string>

#include "miso/mcode/ast.hpp"

namespace miso::mcode {

namespace printer_detail {

// Binding strength of an expression as the parser sees it (see parser.cpp).
inline int precedence_of(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Binary:
      switch (e.as<BinaryExpr>().op) {
        case BinaryOp::Or: return 1;
        case BinaryOp::And: return 2;
        case BinaryOp::Equal:
        case BinaryOp::NotEqual:
        case BinaryOp::Less:
        case BinaryOp::LessEqual:
        case BinaryOp::Greater:
        case BinaryOp::GreaterEqual: return 4;
        case BinaryOp::Add:
        case BinaryOp::Subtract: return 5;
        case BinaryOp::Power: return 8;
        default: return 6;
      }
    case ExprKind::Unary: return e.as<UnaryExpr>().op == UnaryOp::Not ? 3 : 7;
    case ExprKind::Int: return e.as<IntExpr>().value < 0 ? 7 : 9;
    default: return 9;
  }
}

inline std::string float_text(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // keep it a float
  return text;
}

inline std::string quoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          out += "\\u{";
          out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
          out += kHex[static_cast<unsigned char>(c) & 0xF];
          out += "}";
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

class SourcePrinter {
 public:
  std::string out;

  void block(const Block& b, int indent) {
    if (b.statements.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    for (const Stmt* s : b.statements) statement(*s, indent + 1);
    pad(indent);
    out += "}";
  }

  void statement(const Stmt& s, int indent) {
    pad(indent);
    switch (s.kind) {
      case StmtKind::Let: {
        const auto& let = s.as<LetStmt>();
        out.append("let ").append(let.variable.name);
        if (let.value) {
          out += " = ";
          expression(*let.value, indent);
        }
        break;
      }
      case StmtKind::Assign: {
        const auto& assign = s.as<AssignStmt>();
        expression(*assign.target, indent);
        out.append(" ").append(assign_op_text(assign.op)).append(" ");
        expression(*assign.value, indent);
        break;
      }
      case StmtKind::Expression: expression(*s.as<ExpressionStmt>().expression, indent); break;
      case StmtKind::If: {
        const auto& if_stmt = s.as<IfStmt>();
        for (std::size_t i = 0; i < if_stmt.branches.size(); ++i) {
          out += i == 0 ? "if " : " elif ";
          expression(*if_stmt.branches[i].condition, indent);
          out += " ";
          block(if_stmt.branches[i].body, indent);
        }
        if (if_stmt.has_else) {
          out += " else ";
          block(if_stmt.else_body, indent);
        }
        break;
      }
      case StmtKind::While: {
        const auto& loop = s.as<WhileStmt>();
        out += "while ";
        expression(*loop.condition, indent);
        out += " ";
        block(loop.body, indent);
        break;
      }
      case StmtKind::For: {
        const auto& loop = s.as<ForStmt>();
        out.append("for ").append(loop.variable.name).append(" in ");
        expression(*loop.iterable, indent);
        out += " ";
        block(loop.body, indent);
        break;
      }
      case StmtKind::Function: {
        const auto& fn = s.as<FunctionStmt>();
        out.append("fn ").append(fn.variable.name);
        function_rest(*fn.function, indent);
        break;
      }
      case StmtKind::Return: {
        const auto& ret = s.as<ReturnStmt>();
        out += "return";
        if (ret.value) {
          out += " ";
          expression(*ret.value, indent);
        }
        break;
      }
      case StmtKind::Break: out += "break"; break;
      case StmtKind::Continue: out += "continue"; break;
      case StmtKind::Try: {
        const auto& t = s.as<TryStmt>();
        out += "try ";
        block(t.body, indent);
        out += " catch ";
        if (t.has_variable) out.append(t.variable.name).append(" ");
        block(t.handler, indent);
        break;
      }
      case StmtKind::Throw:
        out += "throw ";
        expression(*s.as<ThrowStmt>().value, indent);
        break;
      case StmtKind::Import: out.append("import ").append(s.as<ImportStmt>().variable.name); break;
    }
    out += "\n";
  }

  void expression(const Expr& e, int indent) {
    switch (e.kind) {
      case ExprKind::Nil: out += "nil"; break;
      case ExprKind::Bool: out += e.as<BoolExpr>().value ? "true" : "false"; break;
      case ExprKind::Int: out += std::to_string(e.as<IntExpr>().value); break;
      case ExprKind::Float: out += float_text(e.as<FloatExpr>().value); break;
      case ExprKind::String: out += quoted(e.as<StringExpr>().value); break;
      case ExprKind::Name: out.append(e.as<NameExpr>().name); break;
      case ExprKind::List: {
        out += "[";
        list(e.as<ListExpr>().items, indent);
        out += "]";
        break;
      }
      case ExprKind::Map: {
        const auto& map = e.as<MapExpr>();
        out += "{";
        for (std::size_t i = 0; i < map.entries.size(); ++i) {
          if (i > 0) out += ", ";
          expression(*map.entries[i].key, indent);
          out += ": ";
          expression(*map.entries[i].value, indent);
        }
        out += "}";
        break;
      }
      case ExprKind::Unary: {
        const auto& unary = e.as<UnaryExpr>();
        const bool negate = unary.op == UnaryOp::Negate;
        out += negate ? "-" : "not ";
        const std::size_t mark = out.size();
        operand(*unary.operand, negate ? 7 : 3, indent);
        if (negate && out.size() > mark && out[mark] == '-') out.insert(mark, " ");
        break;
      }
      case ExprKind::Binary: {
        const auto& binary = e.as<BinaryExpr>();
        const int precedence = precedence_of(e);
        const bool right_assoc = binary.op == BinaryOp::Power;
        // Left-associative: the right operand needs a stronger binding; '**' the other way.
        // Comparisons do not chain, so a comparison operand of a comparison gets parentheses.
        operand(*binary.left, right_assoc || precedence == 4 ? precedence + 1 : precedence, indent);
        out.append(" ").append(binary_op_text(binary.op)).append(" ");
        operand(*binary.right, right_assoc ? precedence : precedence + 1, indent);
        break;
      }
      case ExprKind::Call: {
        const auto& call = e.as<CallExpr>();
        // (m.f)(x) calls the field's value; m.f(x) would be a method call.
        operand(*call.callee, call.callee->is<FieldExpr>() ? 10 : 9, indent);
        out += "(";
        list(call.arguments, indent);
        out += ")";
        break;
      }
      case ExprKind::MethodCall: {
        const auto& call = e.as<MethodCallExpr>();
        operand(*call.object, 9, indent);
        out.append(".").append(call.name).append("(");
        list(call.arguments, indent);
        out += ")";
        break;
      }
      case ExprKind::Index: {
        const auto& index = e.as<IndexExpr>();
        operand(*index.object, 9, indent);
        out += "[";
        expression(*index.index, indent);
        out += "]";
        break;
      }
      case ExprKind::Field: {
        const auto& field = e.as<FieldExpr>();
        operand(*field.object, 9, indent);
        out.append(".").append(field.name);
        break;
      }
      case ExprKind::Function:
        out += "fn";
        function_rest(e.as<FunctionExpr>(), indent);
        break;
    }
  }

 private:
  void pad(int indent) { out.append(static_cast<std::size_t>(indent) * 2, ' '); }

  void operand(const Expr& e, int min_precedence, int indent) {
    const bool parens = precedence_of(e) < min_precedence;
    if (parens) out += "(";
    expression(e, indent);
    if (parens) out += ")";
  }

  void list(std::span<Expr* const> items, int indent) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += ", ";
      expression(*items[i], indent);
    }
  }

  void function_rest(const FunctionExpr& fn, int indent) {
    out += "(";
    for (std::size_t i = 0; i < fn.parameters.size(); ++i) {
      if (i > 0) out += ", ";
      out.append(fn.parameters[i].name);
    }
    out += ") ";
    block(fn.body, indent);
  }
};

class StructureDumper {
 public:
  std::string out;

  void block(const Block& b) {
    out += "{";
    for (std::size_t i = 0; i < b.statements.size(); ++i) {
      if (i > 0) out += " ";
      statement(*b.statements[i]);
    }
    out += "}";
  }

  void statement(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Let: {
        const auto& let = s.as<LetStmt>();
        out.append("(let ").append(let.variable.name);
        if (let.value) {
          out += " ";
          expression(*let.value);
        }
        out += ")";
        break;
      }
      case StmtKind::Assign: {
        const auto& assign = s.as<AssignStmt>();
        out.append("(").append(assign_op_text(assign.op)).append(" ");
        expression(*assign.target);
        out += " ";
        expression(*assign.value);
        out += ")";
        break;
      }
      case StmtKind::Expression:
        out += "(expr ";
        expression(*s.as<ExpressionStmt>().expression);
        out += ")";
        break;
      case StmtKind::If: {
        const auto& if_stmt = s.as<IfStmt>();
        out += "(if";
        for (const IfBranch& branch : if_stmt.branches) {
          out += " ";
          expression(*branch.condition);
          out += " ";
          block(branch.body);
        }
        if (if_stmt.has_else) {
          out += " else ";
          block(if_stmt.else_body);
        }
        out += ")";
        break;
      }
      case StmtKind::While:
        out += "(while ";
        expression(*s.as<WhileStmt>().condition);
        out += " ";
        block(s.as<WhileStmt>().body);
        out += ")";
        break;
      case StmtKind::For:
        out.append("(for ").append(s.as<ForStmt>().variable.name).append(" ");
        expression(*s.as<ForStmt>().iterable);
        out += " ";
        block(s.as<ForStmt>().body);
        out += ")";
        break;
      case StmtKind::Function:
        out.append("(fndef ").append(s.as<FunctionStmt>().variable.name).append(" ");
        expression(*s.as<FunctionStmt>().function);
        out += ")";
        break;
      case StmtKind::Return:
        out += "(return";
        if (s.as<ReturnStmt>().value) {
          out += " ";
          expression(*s.as<ReturnStmt>().value);
        }
        out += ")";
        break;
      case StmtKind::Break: out += "(break)"; break;
      case StmtKind::Continue: out += "(continue)"; break;
      case StmtKind::Try: {
        const auto& t = s.as<TryStmt>();
        out += "(try ";
        block(t.body);
        out.append(" catch ").append(t.has_variable ? t.variable.name : std::string_view("_")).append(" ");
        block(t.handler);
        out += ")";
        break;
      }
      case StmtKind::Throw:
        out += "(throw ";
        expression(*s.as<ThrowStmt>().value);
        out += ")";
        break;
      case StmtKind::Import: out.append("(import ").append(s.as<ImportStmt>().variable.name).append(")"); break;
    }
  }

  void expression(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Nil: out += "nil"; break;
      case ExprKind::Bool: out += e.as<BoolExpr>().value ? "true" : "false"; break;
      case ExprKind::Int: out += std::to_string(e.as<IntExpr>().value); break;
      case ExprKind::Float: out += float_text(e.as<FloatExpr>().value); break;
      case ExprKind::String: out += quoted(e.as<StringExpr>().value); break;
      case ExprKind::Name: out.append(e.as<NameExpr>().name); break;
      case ExprKind::List:
        out += "(list";
        items(e.as<ListExpr>().items);
        out += ")";
        break;
      case ExprKind::Map:
        out += "(map";
        for (const MapEntry& entry : e.as<MapExpr>().entries) {
          out += " ";
          expression(*entry.key);
          out += ":";
          expression(*entry.value);
        }
        out += ")";
        break;
      case ExprKind::Unary:
        out.append("(").append(e.as<UnaryExpr>().op == UnaryOp::Negate ? "neg" : "not").append(" ");
        expression(*e.as<UnaryExpr>().operand);
        out += ")";
        break;
      case ExprKind::Binary:
        out.append("(").append(binary_op_text(e.as<BinaryExpr>().op)).append(" ");
        expression(*e.as<BinaryExpr>().left);
        out += " ";
        expression(*e.as<BinaryExpr>().right);
        out += ")";
        break;
      case ExprKind::Call:
        out += "(call ";
        expression(*e.as<CallExpr>().callee);
        items(e.as<CallExpr>().arguments);
        out += ")";
        break;
      case ExprKind::MethodCall:
        out += "(method ";
        expression(*e.as<MethodCallExpr>().object);
        out.append(" ").append(e.as<MethodCallExpr>().name);
        items(e.as<MethodCallExpr>().arguments);
        out += ")";
        break;
      case ExprKind::Index:
        out += "(index ";
        expression(*e.as<IndexExpr>().object);
        out += " ";
        expression(*e.as<IndexExpr>().index);
        out += ")";
        break;
      case ExprKind::Field:
        out += "(field ";
        expression(*e.as<FieldExpr>().object);
        out.append(" ").append(e.as<FieldExpr>().name).append(")");
        break;
      case ExprKind::Function: {
        const auto& fn = e.as<FunctionExpr>();
        out += "(fn (";
        for (std::size_t i = 0; i < fn.parameters.size(); ++i) {
          if (i > 0) out += " ";
          out.append(fn.parameters[i].name);
        }
        out += ") ";
        block(fn.body);
        out += ")";
        break;
      }
    }
  }

 private:
  void items(std::span<Expr* const> list) {
    for (const Expr* item : list) {
      out += " ";
      expression(*item);
    }
  }
};

}  // namespace printer_detail

// Canonical source for a whole program: one statement per line, two-space indents.
inline std::string print_program(const Program& program) {
  printer_detail::SourcePrinter printer;
  for (const Stmt* s : program.body.statements) printer.statement(*s, 0);
  return printer.out;
}

// Canonical source for one statement (ending with a newline) or one expression.
inline std::string print_statement(const Stmt& statement) {
  printer_detail::SourcePrinter printer;
  printer.statement(statement, 0);
  return printer.out;
}
inline std::string print_expression(const Expr& expression) {
  printer_detail::SourcePrinter printer;
  printer.expression(expression, 0);
  return printer.out;
}

// The structure as an S-expression, e.g. "(let x (+ 1 (* 2 3)))"; positions are left
// out, so two trees are structurally equal exactly when their dumps are equal.
inline std::string dump_program(const Program& program) {
  printer_detail::StructureDumper dumper;
  dumper.block(program.body);
  return dumper.out;
}
inline std::string dump_statement(const Stmt& statement) {
  printer_detail::StructureDumper dumper;
  dumper.statement(statement);
  return dumper.out;
}
inline std::string dump_expression(const Expr& expression) {
  printer_detail::StructureDumper dumper;
  dumper.expression(expression);
  return dumper.out;
}

}  // namespace miso::mcode
