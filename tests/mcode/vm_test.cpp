#include "miso/mcode/vm.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "miso/mcode/bytecode.hpp"
#include "miso/mcode/compiler.hpp"
#include "miso/mcode/parser.hpp"
#include "script_test_util.hpp"

namespace miso::mcode {
namespace {

using test_util::error_of;

std::string run(std::string_view source, VmOptions options = {}) { return run_to_string(source, options); }

TEST(Vm, PrintsValues) {
  EXPECT_EQ(run("print(1, 2.5, \"s\", nil, true, [1, \"a\"], {\"k\": 1})"), "1 2.5 s nil true [1, \"a\"] {\"k\": 1}\n");
}

TEST(Vm, IntArithmetic) {
  EXPECT_EQ(run("print(7 / 2, 4 / 2, -7 // 2, 7 // 2, -7 % 3, 7 % -3, 2 ** 10, 2 ** -1, 7.5 // 2)"),
            "3.5 2.0 -4 3 2 -2 1024 0.5 3.0\n");
  EXPECT_EQ(run("let big = 9223372036854775807\nprint(big + 1)"), "-9223372036854775808\n");
  EXPECT_EQ(run("let x = 3\nprint(x * 2 + 1, x - 10, 1 + 2.5, -x)"), "7 -7 3.5 -3\n");
  EXPECT_EQ(run("let a = -9223372036854775808\nprint(a // -1, a % -1)"), "-9223372036854775808 0\n");
  EXPECT_EQ(run("print(-7.5 % 2, 2 ** 62 * 4)"), "0.5 0\n");
}

TEST(Vm, ConstantFolding) {
  auto parsed = parse_program("print(1 + 2 * 3 - 4 / 2)", "t");
  ASSERT_TRUE(parsed.ok());
  Heap heap;
  auto compiled = compile_program(parsed.program, heap);
  ASSERT_TRUE(compiled.ok());
  std::string text = disassemble(*compiled.function);
  EXPECT_NE(text.find("; 5.0"), std::string::npos) << text;
  EXPECT_EQ(text.find("Add"), std::string::npos) << text;
  EXPECT_EQ(run("print(1 + 2 * 3 - 4 / 2)"), "5.0\n");
}

TEST(Vm, ComparisonAndLogic) {
  EXPECT_EQ(run("print(1 < 2, 2 <= 1, 1 == 1.0, \"a\" < \"b\", 3 > 2, 3 >= 4, 1 != 2)"),
            "true false true true true false true\n");
  EXPECT_EQ(run("print(nil or 5, false and 1, 0 and 7, not nil, 1 or crash())"), "5 false 7 true 1\n");
}

TEST(Vm, StringsConcatenateAndIndex) {
  EXPECT_EQ(run("print(\"\" + \"a\", len(\"\"), \"\" == \"\")"), "a 0 true\n");
  EXPECT_EQ(run("let s = \"\"\nfor i in range(5) { s = s + str(i) }\nprint(s, len(s), s[2], \"ab\".len())"),
            "01234 5 2 2\n");
}

TEST(Vm, ClosuresShareCapturedVariables) {
  EXPECT_EQ(run(R"(
fn counter() {
  let n = 0
  return fn() { n += 1; return n }
}
let next = counter()
next()
next()
print(next())
let other = counter()
print(other(), next())
)"),
            "3\n1 4\n");
  // Each loop iteration has its own variable.
  EXPECT_EQ(run(R"(
let fs = []
for i in range(3) { push(fs, fn() { return i * 10 }) }
print(fs[0](), fs[1](), fs[2]())
)"),
            "0 10 20\n");
  // Two closures over one variable; a nested capture through an intermediate function.
  EXPECT_EQ(run(R"(
fn make() {
  let v = 1
  let get = fn() { return v }
  let set = fn(x) { v = x }
  return [get, set]
}
let p = make()
p[1](42)
print(p[0]())
fn outer() { let a = 5; fn mid() { return fn() { return a + 1 } }; return mid()() }
print(outer())
)"),
            "42\n6\n");
}

TEST(Vm, Recursion) {
  EXPECT_EQ(run("fn fib(n) { if n < 2 { return n } return fib(n - 1) + fib(n - 2) }\nprint(fib(20))"), "6765\n");
  EXPECT_EQ(
      run("fn f() { fn fact(n) { if n == 0 { return 1 } return n * fact(n - 1) }\n return fact(10) }\nprint(f())"),
      "3628800\n");
}

TEST(Vm, ListsAndMaps) {
  EXPECT_EQ(run(R"(
let xs = [1, 2, 3]
xs[0] = 10
xs[1] += 5
push(xs, 4)
xs.push(5)
print(xs, len(xs), xs.pop(), xs)
let m = {"a": 1}
m["b"] = 2
m.c = 3
m.a += 10
print(m, m.a, m["b"], keys(m), len(m), m.contains("c"))
let total = 0
for k in m { total += m[k] }
print(total)
)"),
            "[10, 7, 3, 4] 5 5 [10, 7, 3, 4]\n{\"a\": 11, \"b\": 2, \"c\": 3} 11 2 [\"a\", \"b\", \"c\"] 3 true\n16\n");
  EXPECT_EQ(run("let m = {\"f\": fn(x) { return x * 2 }}\nprint(m.f(21))"), "42\n");
}

TEST(Vm, LoopsWithBreakAndContinue) {
  EXPECT_EQ(run(R"(
let out = []
for i in range(10) {
  if i == 7 { break }
  if i % 2 == 0 { continue }
  push(out, i)
}
let n = 0
while true {
  n += 1
  if n < 5 { continue }
  break
}
print(out, n)
for c in "ab" { print(c) }
for x in range(10, 0, -3) { print(x) }
)"),
            "[1, 3, 5] 5\na\nb\n10\n7\n4\n1\n");
}

TEST(Vm, TryCatchThrow) {
  EXPECT_EQ(run(R"(
try { throw "boom" } catch e { print("caught", e) }
try { let x = 1 / 0 } catch e { print(e.message) }
fn f() { throw {"code": 7} }
try { f() } catch e { print(e.code) }
try { [1][5] } catch { print("no name") }
for i in range(3) { try { if i == 1 { continue } print(i) } catch e { } }
fn g() { try { return 5 } catch e { } }
print(g())
try { throw 1 } catch e { try { throw e + 1 } catch e2 { print(e2) } }
)"),
            "caught boom\ndivision by zero\n7\nno name\n0\n2\n5\n2\n");
}

TEST(Vm, RuntimeErrorsHaveMessagesAndPositions) {
  EXPECT_NE(error_of("let x = 1\nlet y = x / 0").find("division by zero\nstack trace:\n  at <script>:2:11 in <main>"),
            std::string::npos)
      << error_of("let x = 1\nlet y = x / 0");
  EXPECT_NE(error_of("print(1 + \"a\")").find("unsupported operand types for +: 'int' and 'string'"),
            std::string::npos);
  EXPECT_NE(error_of("[1, 2][2]").find("list index 2 out of range for a list of size 2"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": 1}[\"b\"]").find("key not found: \"b\""), std::string::npos);
  EXPECT_NE(error_of("let x = 3\nx()").find("cannot call a value of type int\nstack trace:\n  at <script>:2:2"),
            std::string::npos);
  EXPECT_NE(error_of("fn f(a) { }\nf(1, 2)").find("function 'f' expects 1 argument, got 2"), std::string::npos);
  EXPECT_NE(error_of("print(nope)").find("undefined variable 'nope'"), std::string::npos);
  EXPECT_NE(error_of("1 < \"a\"").find("cannot compare int and string"), std::string::npos);
  EXPECT_NE(error_of("throw \"x\"").find("uncaught exception: x"), std::string::npos);
  EXPECT_NE(error_of("assert(1 == 2, \"math\")").find("assertion failed: math"), std::string::npos);
  std::string trace = error_of("fn inner() { return 1 // 0 }\nfn outer() { return inner() }\nouter()");
  EXPECT_NE(trace.find("at <script>:1:23 in inner\n  at <script>:2:26 in outer\n  at <script>:3:6 in <main>"),
            std::string::npos)
      << trace;
}

TEST(Vm, CompileErrors) {
  EXPECT_NE(error_of("undeclared = 1").find("assignment to undeclared variable 'undeclared'"), std::string::npos);
  EXPECT_NE(error_of("break").find("'break' outside a loop"), std::string::npos);
  EXPECT_NE(error_of("fn f() { let a = 1\nlet a = 2 }").find("'a' is already declared in this block"),
            std::string::npos);
  EXPECT_NE(error_of("let x = (1 +").find("error"), std::string::npos);
  EXPECT_NE(error_of("let x = 1\nlet x = 2").find("<script>:2:5: error: 'x' is already declared in this block"),
            std::string::npos)
      << error_of("let x = 1\nlet x = 2");
}

TEST(Vm, DeepRecursionIsAStackOverflowError) {
  std::string e = error_of("fn f(n) { return f(n + 1) }\nf(0)");
  EXPECT_NE(e.find("stack overflow (more than 1000 nested calls)"), std::string::npos) << e.substr(0, 200);
  EXPECT_EQ(run("fn f(n) { return f(n + 1) }\ntry { f(0) } catch e { print(\"recovered\") }"), "recovered\n");
}

TEST(Vm, InstructionBudget) {
  VmOptions options;
  options.instruction_budget = 100000;
  EXPECT_NE(error_of("while true { }", options).find("instruction budget of 100000 exceeded"), std::string::npos);
  // Budgets cannot be caught.
  EXPECT_NE(error_of("try { while true { } } catch e { print(\"no\") }", options).find("instruction budget"),
            std::string::npos);
}

TEST(Vm, TimeLimit) {
  VmOptions options;
  options.time_limit = std::chrono::milliseconds(20);
  EXPECT_NE(error_of("while true { }", options).find("time limit of 20 ms exceeded"), std::string::npos);
}

TEST(Vm, MemoryBudget) {
  VmOptions options;
  options.memory_budget = 4u << 20;
  EXPECT_NE(error_of("let xs = []\nwhile true { push(xs, [1, 2, 3]) }", options).find("memory budget of"),
            std::string::npos);
}

TEST(Vm, GarbageStaysUnderTheMemoryBudget) {
  VmOptions options;
  options.memory_budget = 8u << 20;
  EXPECT_EQ(run(R"(
fn main() {
  let keep = []
  let total = 0
  for i in range(200000) {
    let xs = [i, i + 1, "s" + str(i % 10)]
    let f = fn() { return xs[0] }
    total += f()
    if i % 100000 == 0 { push(keep, xs) }
  }
  print(total, len(keep))
}
main()
)",
                options),
            "19999900000 2\n");
}

// 500k iterations, each making a list, a closure and an upvalue: 1.5 million objects.
TEST(Vm, MillionsOfShortLivedObjectsStayUnderTheBudget) {
  VmOptions options;
  options.memory_budget = 2u << 20;
  EXPECT_EQ(run(R"(
fn churn() {
  let n = 0
  for i in range(500000) {
    let xs = [i]
    let f = fn() { return xs }
    n += len(f())
  }
  return n
}
print(churn())
)",
                options),
            "500000\n");
}

TEST(Vm, StressCollectorAtEverySafepoint) {
  VmOptions options;
  options.heap.stress = true;
  EXPECT_EQ(run(R"(
fn counter() { let n = 0; return fn() { n += 1; return n } }
let c = counter()
let xs = []
for i in range(50) { push(xs, [str(i) + "x", {"k": c()}]) }
let total = 0
for x in xs { total += x[1].k }
let s = ""
for i in range(20) { s = s + str(i) }
try { [1][3] } catch e { print(e.message, len(e.trace)) }
print(total, len(s), xs[49][0])
)",
                options),
            "list index 3 out of range for a list of size 1 1\n1275 30 49x\n");
}

TEST(Vm, CaughtRuntimeErrorCarriesTheTrace) {
  EXPECT_EQ(run("fn f() { return nil + 1 }\ntry { f() } catch e { print(e.trace) }"),
            "[\"<script>:1:21 in f\", \"<script>:2:8 in <main>\"]\n");
}

TEST(Vm, BuiltinsCheckTheirArguments) {
  EXPECT_EQ(run("print(int(3.9), int(-3.9), int(\"12\"), float(2), type(1.0), type([]), str([1]), len({}))"),
            "3 -3 12 2.0 float list [1] 0\n");
  EXPECT_NE(error_of("len(1, 2)").find("len() expects 1 argument, got 2"), std::string::npos);
  EXPECT_NE(error_of("len(5)").find("len() of a value of type int"), std::string::npos);
  EXPECT_NE(error_of("int(\"x1\")").find("int() cannot parse \"x1\""), std::string::npos);
  EXPECT_NE(error_of("for x in 5 { }").find("cannot iterate over a value of type int"), std::string::npos);
  EXPECT_NE(error_of("range(1, 2, 0)").find("range() step must not be zero"), std::string::npos);
  EXPECT_NE(error_of("[].pop()").find("pop() from an empty list"), std::string::npos);
  EXPECT_NE(error_of("(5).foo()").find("a value of type int has no method 'foo'"), std::string::npos);
}

TEST(Vm, DisassemblerShowsJumpTargets) {
  auto parsed = parse_program("let x = 0\nwhile x < 3 { x += 1 }", "t");
  ASSERT_TRUE(parsed.ok());
  Heap heap;
  auto compiled = compile_program(parsed.program, heap);
  ASSERT_TRUE(compiled.ok());
  std::string text = disassemble(*compiled.function);
  EXPECT_NE(text.find("Loop -> 2"), std::string::npos) << text;
  EXPECT_NE(text.find("JumpIfFalse -> "), std::string::npos) << text;
}

TEST(Vm, FloorDivisionAndModuloAgreeOnRandomInts) {
  EXPECT_EQ(run(R"(
let seed = 12345
fn rnd() {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed - 1073741824
}
let checked = 0
for i in range(2000) {
  let a = rnd()
  let b = rnd() // 100000
  if b != 0 {
    let q = a // b
    let r = a % b
    assert(a == q * b + r, "identity")
    assert(r == 0 or (r < 0) == (b < 0), "sign of the divisor")
    assert(float(q) <= a / b and a / b < q + 1, "floor")
    checked += 1
  }
}
print(checked > 1900)
)"),
            "true\n");
}

// Mutated programs must end in a clean miso::Error or run through, never crash.
TEST(Vm, MutatedProgramsNeverCrash) {
  std::string sources;
  for (const char* name : {"fib", "closures", "strings", "word_count", "binary_trees"}) {
    std::ifstream file(std::string(MISO_MCODE_PROGRAMS_DIR) + "/" + name + ".mc");
    std::stringstream text;
    text << file.rdbuf();
    sources += text.str();
  }
  std::uint64_t state = 42;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>(state >> 33);
  };
  const std::string alphabet = "(){}[]+-*/%<>=!.,;:\"\\ \nabcfnilrtx0129_#";
  int ran = 0;
  for (int round = 0; round < 150; ++round) {
    std::string mutated = sources;
    for (int edits = 0; edits < 3; ++edits) {
      std::size_t at = next() % mutated.size();
      if (next() % 2 == 0)
        mutated[at] = alphabet[next() % alphabet.size()];
      else
        mutated.erase(at, 1 + next() % 4);
    }
    VmOptions options;
    options.instruction_budget = 200000;
    options.memory_budget = 8u << 20;
    try {
      run_to_string(mutated, options);
      ++ran;
    } catch (const miso::Error&) {
    }
  }
  EXPECT_GE(ran, 0);
}

TEST(Vm, GlobalsPersistAcrossRuns) {
  std::ostringstream out;
  VmOptions options;
  options.output = &out;
  Vm vm(options);
  vm.run("let x = 41");
  vm.run("x += 1\nprint(x)");
  EXPECT_EQ(out.str(), "42\n");
  EXPECT_EQ(vm.global("x").as_int(), 42);
}

TEST(Vm, Programs) {
  for (const char* name : {"fib", "closures", "strings", "word_count", "binary_trees"}) {
    EXPECT_EQ(run(test_util::program_file(name, "mc")), test_util::program_file(name, "out")) << name;
  }
}

}  // namespace
}  // namespace miso::mcode
