#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "miso/mcode/parser.hpp"
#include "miso/mcode/printer.hpp"

namespace miso::mcode {
namespace {

std::string all_messages(const ParseResult& result, std::string_view source) {
  return format_diagnostics(result.diagnostics, source);
}

// Parses `source`, expecting no diagnostics, and returns the structure dump.
std::string dump(std::string_view source) {
  const ParseResult result = parse_program(source, "t.mc");
  EXPECT_TRUE(result.ok()) << all_messages(result, source);
  return dump_program(result.program);
}

// The structure of a single expression.
std::string expr(std::string_view source) {
  const ExpressionParseResult result = parse_expression(source, "t.mc");
  EXPECT_TRUE(result.ok()) << format_diagnostics(result.diagnostics, source);
  return result.expression ? dump_expression(*result.expression) : std::string("<error>");
}

// parse -> print -> parse gives the same structure, and printing is a fixed point.
void expect_round_trip(std::string_view source) {
  const ParseResult first = parse_program(source, "t.mc");
  ASSERT_TRUE(first.ok()) << all_messages(first, source);
  const std::string printed = print_program(first.program);
  const ParseResult second = parse_program(printed, "printed.mc");
  ASSERT_TRUE(second.ok()) << all_messages(second, printed) << printed;
  EXPECT_EQ(dump_program(first.program), dump_program(second.program)) << printed;
  EXPECT_EQ(print_program(second.program), printed);
}

const char* const kIssueExample = R"(# comment
let x = 10
fn fib(n) { if n < 2 { return n } return fib(n - 1) + fib(n - 2) }
let xs = [1, 2, 3]
let m = {"a": 1, "b": 2}
for v in xs { print(v) }
for i in range(0, 10) { x = x + i }
while x > 0 { x = x - 3 }
if x == 0 { print("zero") } elif x < 0 { print("neg") } else { print("pos") }
let add = fn(a, b) { return a + b }
)";

TEST(Parser, IssueExampleHasTheExpectedStructure) {
  EXPECT_EQ(dump(kIssueExample),
            "{(let x 10) "
            "(fndef fib (fn (n) {(if (< n 2) {(return n)}) (return (+ (call fib (- n 1)) (call fib (- n 2))))})) "
            "(let xs (list 1 2 3)) "
            "(let m (map \"a\":1 \"b\":2)) "
            "(for v xs {(expr (call print v))}) "
            "(for i (call range 0 10) {(= x (+ x i))}) "
            "(while (> x 0) {(= x (- x 3))}) "
            "(if (== x 0) {(expr (call print \"zero\"))} (< x 0) {(expr (call print \"neg\"))} "
            "else {(expr (call print \"pos\"))}) "
            "(let add (fn (a b) {(return (+ a b))}))}");
  expect_round_trip(kIssueExample);
}

TEST(Parser, IssueModuleExamples) {
  EXPECT_EQ(dump("let y = tmath.randn([64, 64]) @ w"), "{(let y (@ (method tmath randn (list 64 64)) w))}");
  EXPECT_EQ(dump("qlogik.load(\"net.bif\").query({\"A\": \"yes\"}, [\"B\"])"),
            "{(expr (method (method qlogik load \"net.bif\") query (map \"A\":\"yes\") (list \"B\")))}");
  EXPECT_EQ(dump("import nexus\nnexus.parallel_map(f, xs)\nprofiler.scope(\"name\", fn() { work() })"),
            "{(import nexus) (expr (method nexus parallel_map f xs)) "
            "(expr (method profiler scope \"name\" (fn () {(expr (call work))})))}");
}

TEST(Parser, PositionsPointAtTheSource) {
  const ParseResult result = parse_program("let x = 1\n  y = x / 0", "t.mc");
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result.program.body.statements.size(), 2u);
  const Stmt& let = *result.program.body.statements[0];
  EXPECT_EQ(let.pos, (SourcePos{0, 1, 1}));
  EXPECT_EQ(let.as<LetStmt>().variable.pos, (SourcePos{4, 1, 5}));
  const auto& assign = result.program.body.statements[1]->as<AssignStmt>();
  EXPECT_EQ(assign.pos, (SourcePos{12, 2, 3}));
  EXPECT_EQ(assign.op_pos, (SourcePos{14, 2, 5}));
  const auto& division = assign.value->as<BinaryExpr>();
  EXPECT_EQ(division.pos, (SourcePos{16, 2, 7}));
  EXPECT_EQ(division.op_pos, (SourcePos{18, 2, 9}));
  EXPECT_EQ(division.right->pos, (SourcePos{20, 2, 11}));
}

TEST(Parser, Precedence) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"1 + 2 * 3", "(+ 1 (* 2 3))"},
      {"1 - 2 - 3", "(- (- 1 2) 3)"},
      {"a / b // c % d @ e", "(@ (% (// (/ a b) c) d) e)"},
      {"2 ** 3 ** 2", "(** 2 (** 3 2))"},
      {"-2 ** 2", "(neg (** 2 2))"},
      {"2 ** -1", "(** 2 (neg 1))"},
      {"-a * b", "(* (neg a) b)"},
      {"- -a", "(neg (neg a))"},
      {"a + b < c * d", "(< (+ a b) (* c d))"},
      {"a < b and b < c or d", "(or (and (< a b) (< b c)) d)"},
      {"a or b and c", "(or a (and b c))"},
      {"not a == b", "(not (== a b))"},
      {"not a and b", "(and (not a) b)"},
      {"not not a", "(not (not a))"},
      {"(a + b) * c", "(* (+ a b) c)"},
      {"a.b.c(1)[2]", "(index (method (field a b) c 1) 2)"},
      {"f(1)(2)", "(call (call f 1) 2)"},
      {"-x.y", "(neg (field x y))"},
      {"m[\"k\"]", "(index m \"k\")"},
      {"t.sum()", "(method t sum)"},
      {"a @ w + b", "(+ (@ a w) b)"},
      {"1 != 2 == false", "<chain>"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"x - -9223372036854775808", "(- x -9223372036854775808)"},
      {"fn(a) { return a }(3)", "(call (fn (a) {(return a)}) 3)"},
      {"[1, [2, 3],]", "(list 1 (list 2 3))"},
      {"{}", "(map)"},
      {"{1: 2, \"k\": [3]}", "(map 1:2 \"k\":(list 3))"},
      {"nil == true", "(== nil true)"},
      {"1.5e3 + 0.5", "(+ 1500.0 0.5)"},
  };
  for (const auto& [source, expected] : cases) {
    if (std::string(expected) == "<chain>") {
      const ExpressionParseResult result = parse_expression(source, "t.mc");
      ASSERT_EQ(result.diagnostics.size(), 1u) << source;
      EXPECT_NE(result.diagnostics[0].message.find("comparisons do not chain"), std::string::npos);
      continue;
    }
    EXPECT_EQ(expr(source), expected) << source;
  }
}

TEST(Parser, Statements) {
  EXPECT_EQ(dump("let a\nlet b = nil"), "{(let a) (let b nil)}");
  EXPECT_EQ(dump("x += 1; y -= 2; z *= 3; w /= 4"), "{(+= x 1) (-= y 2) (*= z 3) (/= w 4)}");
  EXPECT_EQ(dump("xs[i] = v\nm.k = 2"), "{(= (index xs i) v) (= (field m k) 2)}");
  EXPECT_EQ(dump("while true { if x { break } else { continue } }"),
            "{(while true {(if x {(break)} else {(continue)})})}");
  EXPECT_EQ(dump("fn f() { return }\nfn g() {}"), "{(fndef f (fn () {(return)})) (fndef g (fn () {}))}");
  EXPECT_EQ(dump("try { throw \"bad\" } catch e { print(e) }"),
            "{(try {(throw \"bad\")} catch e {(expr (call print e))})}");
  EXPECT_EQ(dump("try {\n} catch {\n}"), "{(try {} catch _ {})}");
  EXPECT_EQ(dump("import tmath; import echo"), "{(import tmath) (import echo)}");
  // elif / else / catch may start the next line.
  EXPECT_EQ(dump("if a {\n  f()\n}\nelif b {\n}\nelse {\n}\ntry {}\ncatch e {}"),
            "{(if a {(expr (call f))} b {} else {}) (try {} catch e {})}");
  // Multi-line literals and calls.
  EXPECT_EQ(dump("let m = {\n  \"a\": 1,\n  \"b\": [\n    2,\n    3\n  ]\n}\nf(1,\n  2)"),
            "{(let m (map \"a\":1 \"b\":(list 2 3))) (expr (call f 1 2))}");
  EXPECT_EQ(dump("let total = a +\n  b +\n  c"), "{(let total (+ (+ a b) c))}");
  EXPECT_EQ(dump("f(fn(x) {\n  let y = x\n  return y\n}, 2)"), "{(expr (call f (fn (x) {(let y x) (return y)}) 2))}");
}

TEST(Parser, SingleErrors) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"let = 1", "1:5: error: expected a variable name after 'let', found '='"},
      {"let x = ", "1:9: error: expected an expression, found end of file"},
      {"let x = )", "1:9: error: expected an expression, found ')'"},
      {"f(1, 2", "1:7: error: expected ')' to close '(' at 1:2, found end of file"},
      {"xs[1\n", "2:1: error: expected ']' to close '[' at 1:3, found end of file"},
      {"if x print(x)", "1:6: error: expected '{' to start the body of 'if', found name 'print'"},
      {"while x {", "1:10: error: expected '}' to close '{' at 1:9, found end of file"},
      {"for 1 in xs {}", "1:5: error: expected a loop variable name after 'for', found integer 1"},
      {"for x xs {}", "1:7: error: expected 'in' after the loop variable, found name 'xs'"},
      {"f() = 3", "1:1: error: cannot assign to this expression (only to a name, xs[i] or m.k), found '='"},
      {"x = 1 y = 2", "1:7: error: expected end of line or ';' after the statement, found name 'y'"},
      {"}", "1:1: error: unexpected '}' (no open block to close)"},
      {"a + not b",
       "1:5: error: 'not' cannot be an operand of a comparison or arithmetic operator here; "
       "put 'not ...' in parentheses"},
      {"x = 9223372036854775808",
       "1:5: error: integer literal 9223372036854775808 does not fit in a 64-bit int "
       "(only -9223372036854775808 is allowed)"},
      {"try {} print(1)", "1:8: error: expected 'catch' after the body of 'try', found name 'print'"},
      {"m.1", "1:3: error: expected a field or method name after '.', found integer 1"},
      {"fn f(a, 1) {}", "1:9: error: expected a parameter name or ')', found integer 1"},
      {"{\"a\" 1}", "1:6: error: expected ':' after the map key, found integer 1"},
      {"let s = \"open", "1:9: error: unterminated string (a string ends with '\"' on the same line)"},
  };
  for (const auto& [source, expected] : cases) {
    const ParseResult result = parse_program(source, "t.mc");
    ASSERT_EQ(result.diagnostics.size(), 1u) << source << "\n" << all_messages(result, source);
    EXPECT_EQ(format_diagnostic(result.diagnostics[0], {}), std::string("t.mc:") + expected + "\n") << source;
  }
}

TEST(Parser, ReportsEverySyntaxErrorOfAFile) {
  const std::string source =
      "let a = 1\n"
      "let b = (2 + )\n"
      "let c = 3\n"
      "fn f(x y) {\n"
      "  return x\n"
      "}\n"
      "x = = 2\n"
      "let d = a + c\n";
  const ParseResult result = parse_program(source, "three.mc");
  ASSERT_EQ(result.diagnostics.size(), 3u) << all_messages(result, source);
  EXPECT_EQ(result.diagnostics[0].pos, (SourcePos{23, 2, 14}));
  EXPECT_EQ(result.diagnostics[0].message, "expected an expression, found ')'");
  EXPECT_EQ(result.diagnostics[1].pos.line, 4u);
  EXPECT_EQ(result.diagnostics[1].pos.column, 8u);
  EXPECT_EQ(result.diagnostics[1].message, "expected ')' to close '(' at 4:5, found name 'y'");
  EXPECT_EQ(result.diagnostics[2].pos.line, 7u);
  EXPECT_EQ(result.diagnostics[2].pos.column, 5u);
  EXPECT_EQ(result.diagnostics[2].message, "expected an expression, found '='");
  // The good statements around the errors are all there.
  EXPECT_EQ(dump_program(result.program), "{(let a 1) (let c 3) (let d (+ a c))}");
}

TEST(Parser, RecoversInsideBlocksAndAfterUnclosedBrackets) {
  const std::string source =
      "fn f() {\n"
      "  let a = \n"
      "  let b = 2\n"
      "  b = b +* 3\n"
      "  return b\n"
      "}\n"
      "let g = h(1,\n"
      "let k = )\n"
      "print(k)\n";
  const ParseResult result = parse_program(source, "t.mc");
  ASSERT_EQ(result.diagnostics.size(), 4u) << all_messages(result, source);
  EXPECT_EQ(result.diagnostics[0].pos.line, 2u);
  EXPECT_EQ(result.diagnostics[0].message, "expected an expression, found end of line");
  EXPECT_EQ(result.diagnostics[1].pos.line, 4u);
  EXPECT_EQ(result.diagnostics[1].pos.column, 10u);
  EXPECT_EQ(result.diagnostics[2].pos.line, 7u);
  EXPECT_EQ(result.diagnostics[3].pos.line, 8u);
  EXPECT_EQ(dump_program(result.program), "{(fndef f (fn () {(let b 2) (return b)})) (expr (call print k))}");
}

TEST(Parser, LexicalErrorsAreNotReportedTwice) {
  const std::string source = "let a = $\nlet b = \"x\nlet c = 12abc + 1\nlet d = 1\n";
  const ParseResult result = parse_program(source, "t.mc");
  ASSERT_EQ(result.diagnostics.size(), 3u) << all_messages(result, source);
  EXPECT_EQ(result.diagnostics[0].pos.line, 1u);
  EXPECT_EQ(result.diagnostics[1].pos.line, 2u);
  EXPECT_EQ(result.diagnostics[2].pos.line, 3u);
  EXPECT_EQ(dump_program(result.program), "{(let d 1)}");
}

TEST(Parser, CaretFormatting) {
  const std::string source = "let a = 1 ?\n\tlet s = \"\xC3\xA9\" + )\n";
  const ParseResult result = parse_program(source, "demo.mc");
  ASSERT_EQ(result.diagnostics.size(), 2u) << all_messages(result, source);
  EXPECT_EQ(all_messages(result, source),
            "demo.mc:1:11: error: unexpected character '?'\n"
            "let a = 1 ?\n"
            "          ^\n"
            "demo.mc:2:16: error: expected an expression, found ')'\n"
            "\tlet s = \"\xC3\xA9\" + )\n"
            "\t              ^\n");
  // An error at the end of a file without a final newline.
  const ParseResult eof = parse_program("x = (1 +", "e.mc");
  ASSERT_EQ(eof.diagnostics.size(), 1u);
  EXPECT_EQ(format_diagnostics(eof.diagnostics, "x = (1 +"),
            "e.mc:1:9: error: expected an expression, found end of file\nx = (1 +\n        ^\n");
}

TEST(Parser, DeepNestingGivesOneDiagnostic) {
  const int n = 20000;
  const std::vector<std::string> sources = {
      std::string(n, '(') + "1" + std::string(n, ')'),
      std::string(n, '[') + std::string(n, ']'),
      std::string(n, '-') + "1",
      [&] {
        std::string s;
        for (int i = 0; i < n; ++i) s += "not ";
        return s + "x";
      }(),
      [&] {
        std::string s;
        for (int i = 0; i < n / 10; ++i) s += "if x { ";
        return s;
      }(),
      [&] {
        std::string s = "a";
        for (int i = 0; i < n; ++i) s += ".b";
        return s;
      }(),
      [&] {
        std::string s = "a";
        for (int i = 0; i < n; ++i) s += " + a";
        return s;
      }(),
      [&] {
        std::string s = "a";
        for (int i = 0; i < n; ++i) s += " ** a";
        return s;
      }(),
      [&] {
        std::string s = "f";
        for (int i = 0; i < n; ++i) s += "()";
        return s;
      }(),
      [&] {
        std::string s;
        for (int i = 0; i < n / 10; ++i) s += "fn() { ";
        return s;
      }(),
  };
  for (const std::string& source : sources) {
    const ParseResult result = parse_program(source, "deep.mc");
    ASSERT_EQ(result.diagnostics.size(), 1u) << source.substr(0, 40) << "\n" << result.diagnostics[0].message;
    EXPECT_NE(result.diagnostics[0].message.find("nesting too deep"), std::string::npos) << source.substr(0, 40);
  }
  // Nesting within the budget is fine and round-trips.
  expect_round_trip("x = " + std::string(200, '(') + "1" + std::string(200, ')'));
  std::string chain = "x = a";
  for (int i = 0; i < 900; ++i) chain += " + a";
  expect_round_trip(chain);
  std::string blocks;
  for (int i = 0; i < 200; ++i) blocks += "if x {\n";
  for (int i = 0; i < 200; ++i) blocks += "}\n";
  expect_round_trip(blocks);
}

TEST(Parser, RoundTripsHandWrittenPrograms) {
  const std::vector<std::string> programs = {
      kIssueExample,
      "let s = \"tab\\t quote\\\" back\\\\ nl\\n \\u{1F600} \\u{1}\"",
      "let f = 1.0\nlet g = 1e300\nlet h = 0.1 + 0.2\nlet i = 2.5e-8",
      "let n = -9223372036854775808\nlet p = (-9223372036854775808) ** 2\nlet q = (-9223372036854775808).abs()",
      "x = (a ** b) ** c\ny = a ** b ** c\nz = -(a + b)\nw = (-a) ** 2\nv = - -a",
      "if not (a == b) and (not c) {\n  print(a + (not b))\n}",
      "let r = (a < b) == (c < d)\nlet t = a - (b - c)\nlet u = a / (b * c)",
      "fn outer() {\n  let count = 0\n  return fn() {\n    count += 1\n    return count\n  }\n}",
      "try {\n  risky()\n} catch err {\n  throw {\"wrapped\": err}\n}",
      "for k in keys(m) {\n  if m[k] > 0 { continue } elif m[k] < 0 { break }\n}",
      "let g = fn() {}\n(fn() { return 1 })()\n[1, 2][0]\n{\"a\": 1}.a",
      "import tmath\nlet t = tmath.randn([64, 64]) @ tmath.eye(64)\nprint(t.sum())",
  };
  for (const std::string& program : programs) {
    SCOPED_TRACE(program);
    expect_round_trip(program);
  }
}

// ---- random syntax trees -----------------------------------------------------

// Builds random, well-formed trees directly in an arena (no parser involved), so the
// round trip print -> parse checks the printer's parenthesisation and the parser's
// precedence against each other on shapes nobody wrote by hand.
class RandomTree {
 public:
  explicit RandomTree(std::uint64_t seed) : rng_(seed) {}

  Program program() {
    Program p;
    arena_ = p.arena.get();
    p.body = block(4);
    return p;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }

  template <typename T>
  T* expr_node() {
    T* node = arena_->make<T>();
    node->kind = T::kKind;
    return node;
  }
  template <typename T>
  T* stmt_node() {
    T* node = arena_->make<T>();
    node->kind = T::kKind;
    return node;
  }

  std::string_view name() {
    static const char* const kNames[] = {"x", "y", "foo", "tmath", "_a1", "camelCase", "n2"};
    return kNames[pick(7)];
  }
  Binding binding() {
    Binding b;
    b.name = name();
    return b;
  }

  Expr* expression(int depth) {
    const int choice = depth <= 0 ? pick(6) : pick(15);
    switch (choice) {
      case 0: return expr_node<NilExpr>();
      case 1: {
        auto* e = expr_node<BoolExpr>();
        e->value = pick(2) == 0;
        return e;
      }
      case 2: {
        auto* e = expr_node<IntExpr>();
        const int kind = pick(4);
        e->value = kind == 0   ? std::numeric_limits<std::int64_t>::min()
                   : kind == 1 ? std::numeric_limits<std::int64_t>::max()
                               : static_cast<std::int64_t>(rng_() % 1000);
        return e;
      }
      case 3: {
        auto* e = expr_node<FloatExpr>();
        double value = 0;
        do {
          value = std::ldexp(static_cast<double>(rng_() >> 11), pick(200) - 100 - 53);
        } while (!(std::isnormal(value) || value == 0.0));
        e->value = value;
        return e;
      }
      case 4: {
        auto* e = expr_node<StringExpr>();
        static const char* const kPieces[] = {"a", " ", "\"", "\\", "\n", "\t", "\xC3\xA9", "#", "\x01", "{}", "\r"};
        std::string text;
        for (int i = pick(5); i > 0; --i) text += kPieces[pick(11)];
        e->value = arena_->copy(text);
        return e;
      }
      case 5: {
        auto* e = expr_node<NameExpr>();
        e->name = name();
        return e;
      }
      case 6: {
        auto* e = expr_node<ListExpr>();
        e->items = expressions(depth - 1, 3);
        return e;
      }
      case 7: {
        auto* e = expr_node<MapExpr>();
        std::vector<MapEntry> entries;
        for (int i = pick(3); i > 0; --i) entries.push_back(MapEntry{expression(depth - 1), expression(depth - 1)});
        e->entries = arena_->copy(entries);
        return e;
      }
      case 8: {
        auto* e = expr_node<UnaryExpr>();
        e->op = pick(2) == 0 ? UnaryOp::Negate : UnaryOp::Not;
        e->operand = expression(depth - 1);
        return e;
      }
      case 9:
      case 10: {
        auto* e = expr_node<BinaryExpr>();
        e->op = static_cast<BinaryOp>(pick(static_cast<int>(BinaryOp::Or) + 1));
        e->left = expression(depth - 1);
        e->right = expression(depth - 1);
        return e;
      }
      case 11: {
        auto* e = expr_node<CallExpr>();
        e->callee = expression(depth - 1);
        e->arguments = expressions(depth - 1, 3);
        return e;
      }
      case 12: {
        auto* e = expr_node<MethodCallExpr>();
        e->object = expression(depth - 1);
        e->name = name();
        e->arguments = expressions(depth - 1, 2);
        return e;
      }
      case 13: {
        if (pick(2) == 0) {
          auto* e = expr_node<IndexExpr>();
          e->object = expression(depth - 1);
          e->index = expression(depth - 1);
          return e;
        }
        auto* e = expr_node<FieldExpr>();
        e->object = expression(depth - 1);
        e->name = name();
        return e;
      }
      default: {
        auto* e = expr_node<FunctionExpr>();
        std::vector<Binding> parameters;
        for (int i = pick(3); i > 0; --i) parameters.push_back(binding());
        e->parameters = arena_->copy(parameters);
        e->body = block(depth - 1);
        return e;
      }
    }
  }

  std::span<Expr*> expressions(int depth, int max_count) {
    std::vector<Expr*> items;
    for (int i = pick(max_count + 1); i > 0; --i) items.push_back(expression(depth));
    return arena_->copy(items);
  }

  Expr* assignable(int depth) {
    const int choice = pick(3);
    if (choice == 0) {
      auto* e = expr_node<NameExpr>();
      e->name = name();
      return e;
    }
    if (choice == 1) {
      auto* e = expr_node<IndexExpr>();
      e->object = expression(depth);
      e->index = expression(depth);
      return e;
    }
    auto* e = expr_node<FieldExpr>();
    e->object = expression(depth);
    e->name = name();
    return e;
  }

  Block block(int depth) {
    Block b;
    std::vector<Stmt*> statements;
    for (int i = pick(4); i > 0; --i) statements.push_back(statement(depth));
    b.statements = arena_->copy(statements);
    return b;
  }

  Stmt* statement(int depth) {
    const int choice = depth <= 0 ? pick(6) : pick(13);
    switch (choice) {
      case 0: {
        auto* s = stmt_node<LetStmt>();
        s->variable = binding();
        if (pick(4) != 0) s->value = expression(depth);
        return s;
      }
      case 1: {
        auto* s = stmt_node<AssignStmt>();
        s->op = static_cast<AssignOp>(pick(5));
        s->target = assignable(depth - 1);
        s->value = expression(depth);
        return s;
      }
      case 2: {
        auto* s = stmt_node<ExpressionStmt>();
        s->expression = expression(depth);
        return s;
      }
      case 3: {
        auto* s = stmt_node<ReturnStmt>();
        if (pick(2) == 0) s->value = expression(depth);
        return s;
      }
      case 4: return pick(2) == 0 ? static_cast<Stmt*>(stmt_node<BreakStmt>()) : stmt_node<ContinueStmt>();
      case 5: {
        auto* s = stmt_node<ImportStmt>();
        s->variable = binding();
        return s;
      }
      case 6: {
        auto* s = stmt_node<IfStmt>();
        std::vector<IfBranch> branches;
        for (int i = 1 + pick(3); i > 0; --i) branches.push_back(IfBranch{expression(depth - 1), block(depth - 1)});
        s->branches = arena_->copy(branches);
        s->has_else = pick(2) == 0;
        if (s->has_else) s->else_body = block(depth - 1);
        return s;
      }
      case 7: {
        auto* s = stmt_node<WhileStmt>();
        s->condition = expression(depth - 1);
        s->body = block(depth - 1);
        return s;
      }
      case 8: {
        auto* s = stmt_node<ForStmt>();
        s->variable = binding();
        s->iterable = expression(depth - 1);
        s->body = block(depth - 1);
        return s;
      }
      case 9: {
        auto* s = stmt_node<FunctionStmt>();
        s->variable = binding();
        auto* fn = expr_node<FunctionExpr>();
        fn->name = s->variable.name;
        std::vector<Binding> parameters;
        for (int i = pick(3); i > 0; --i) parameters.push_back(binding());
        fn->parameters = arena_->copy(parameters);
        fn->body = block(depth - 1);
        s->function = fn;
        return s;
      }
      case 10: {
        auto* s = stmt_node<TryStmt>();
        s->body = block(depth - 1);
        s->has_variable = pick(2) == 0;
        if (s->has_variable) s->variable = binding();
        s->handler = block(depth - 1);
        return s;
      }
      default: {
        auto* s = stmt_node<ThrowStmt>();
        s->value = expression(depth);
        return s;
      }
    }
  }

  std::mt19937_64 rng_;
  AstArena* arena_ = nullptr;
};

TEST(Parser, RoundTripsRandomTrees) {
  for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
    RandomTree generator(seed);
    const Program original = generator.program();
    const std::string printed = print_program(original);
    const ParseResult reparsed = parse_program(printed, "random.mc");
    ASSERT_TRUE(reparsed.ok()) << "seed " << seed << "\n" << all_messages(reparsed, printed) << printed;
    ASSERT_EQ(dump_program(reparsed.program), dump_program(original)) << "seed " << seed << "\n" << printed;
  }
}

// ---- robustness ----------------------------------------------------------------

void expect_sane(const ParseResult& result, std::string_view source) {
  for (const Diagnostic& d : result.diagnostics) {
    ASSERT_LE(d.pos.offset, source.size());
    ASSERT_GE(d.pos.line, 1u);
    ASSERT_GE(d.pos.column, 1u);
    ASSERT_FALSE(d.message.empty());
  }
  // Whatever parsed must print and reparse cleanly.
  const std::string printed = print_program(result.program);
  const ParseResult reparsed = parse_program(printed, "printed.mc");
  ASSERT_TRUE(reparsed.ok()) << all_messages(reparsed, printed) << "from:\n" << source;
  ASSERT_EQ(dump_program(reparsed.program), dump_program(result.program));
  (void)format_diagnostics(result.diagnostics, source);
}

TEST(Parser, RandomBytesNeverCrash) {
  std::mt19937_64 rng(99);
  for (int round = 0; round < 1500; ++round) {
    std::string source;
    for (int i = static_cast<int>(rng() % 200); i > 0; --i) source.push_back(static_cast<char>(rng() & 0xFF));
    expect_sane(parse_program(source, "bytes.mc"), source);
  }
}

TEST(Parser, RandomTokenSoupsNeverCrash) {
  static const char* const kTokens[] = {
      "let ",  "fn ",  "if ",  "elif ", "else ",  "while ", "for ", " in ",   "return ", "break ",  "continue ",
      " and ", " or ", "not ", "true ", "false ", "nil ",   "try ", "catch ", "throw ",  "import ", "+",
      "-",     "*",    "/",    "//",    "%",      "**",     "@",    "==",     "!=",      "<",       "<=",
      ">",     ">=",   "=",    "+=",    "-=",     "*=",     "/=",   ".",      ",",       ":",       ";",
      "(",     ")",    "[",    "]",     "{",      "}",      "x ",   "y ",     "12 ",     "1.5 ",    "\"s\" ",
      "\n",    "\n",   "\n",   "\"",    "$",      "#c\n"};
  constexpr int kCount = sizeof kTokens / sizeof kTokens[0];
  std::mt19937_64 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string source;
    for (int i = static_cast<int>(rng() % 80); i > 0; --i) source += kTokens[rng() % kCount];
    const ParseResult result = parse_program(source, "soup.mc");
    expect_sane(result, source);
  }
}

// Mutating valid programs: delete, duplicate or replace one token-ish piece. Most
// mutants are wrong; each must give diagnostics without crashing, and a mutant that
// parses must round-trip.
TEST(Parser, MutatedProgramsNeverCrash) {
  std::mt19937_64 rng(4242);
  const std::string base = kIssueExample;
  for (int round = 0; round < 1000; ++round) {
    std::string source = base;
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      const std::size_t at = rng() % source.size();
      const std::size_t length = 1 + rng() % 4;
      switch (rng() % 3) {
        case 0: source.erase(at, length); break;
        case 1: {
          // Built piecewise: GCC 12 warns (-Wrestrict) on insert of a substring.
          std::string mutated(source.data(), at);
          mutated.append(source, rng() % source.size(), length).append(source, at, std::string::npos);
          source = std::move(mutated);
          break;
        }
        default: source[at] = "(){}[]\n,;=+\"x1"[rng() % 15]; break;
      }
      if (source.empty()) source.push_back('x');
    }
    expect_sane(parse_program(source, "mutant.mc"), source);
  }
}

TEST(Parser, ExpressionEntryPoint) {
  EXPECT_EQ(expr("1 + 2\n\n"), "(+ 1 2)");
  const ExpressionParseResult bad = parse_expression("1 + 2 3", "e.mc");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.expression, nullptr);
  ASSERT_EQ(bad.diagnostics.size(), 1u);
  EXPECT_EQ(bad.diagnostics[0].message, "expected end of the expression, found integer 3");
}

}  // namespace
}  // namespace miso::mcode

namespace miso::mcode {
namespace {

// Every plain ``` block of docs/mcode.md (the examples; not the grammar and not the
// block showing error output) parses without diagnostics and round-trips.
TEST(Parser, DocumentationExamplesParse) {
  const std::string path = std::string(MISO_SOURCE_DIR) + "/docs/mcode.md";
  std::FILE* file = std::fopen(path.c_str(), "rb");
  ASSERT_NE(file, nullptr) << path;
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  std::fclose(file);
  int examples = 0;
  bool in_block = false;
  bool plain = false;
  std::string block;
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    const std::string line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    if (line.rfind("```", 0) == 0) {
      if (!in_block) {
        in_block = true;
        plain = line == "```";
        block.clear();
      } else {
        in_block = false;
        if (plain && block.find("error:") == std::string::npos) {
          SCOPED_TRACE(block);
          expect_round_trip(block);
          ++examples;
        }
      }
    } else if (in_block) {
      block += line + "\n";
    }
  }
  EXPECT_FALSE(in_block);
  EXPECT_GE(examples, 5);
}

}  // namespace
}  // namespace miso::mcode
