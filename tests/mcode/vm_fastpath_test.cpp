// The VM's fast paths (bytecode.hpp): int for-range loops, operand-fused operators,
// compound assignment into locals, SetIndexLL, PopN. Each must behave exactly as the
// general instructions: same values (int wrap-around, int/float mixing), same errors at
// the same positions, same closure semantics, and the budgets still stop runaway code.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "miso/mcode/bytecode.hpp"
#include "miso/mcode/compiler.hpp"
#include "miso/mcode/parser.hpp"
#include "miso/mcode/vm.hpp"
#include "script_test_util.hpp"

namespace miso::mcode {
namespace {

using test_util::error_of;

std::string run(std::string_view source, VmOptions options = {}) { return run_to_string(source, options); }

std::string disassembly(std::string_view source) {
  auto parsed = parse_program(source, "t");
  EXPECT_TRUE(parsed.ok());
  Heap heap;
  auto compiled = compile_program(parsed.program, heap);
  EXPECT_TRUE(compiled.ok());
  return compiled.ok() ? disassemble(*compiled.function) : std::string();
}

// Collects a range's items into a printed list, in a function (locals) and at top level.
std::string items(const std::string& range_call) {
  std::string body = "let xs = []\nfor i in " + range_call + " { push(xs, i) }\nprint(xs)\n";
  std::string in_function = run("fn main() {\n" + body + "}\nmain()");
  EXPECT_EQ(in_function, run(body)) << range_call;
  return in_function;
}

TEST(VmFastPath, RangeLoopsMatchRangeSemantics) {
  EXPECT_EQ(items("range(5)"), "[0, 1, 2, 3, 4]\n");
  EXPECT_EQ(items("range(2, 5)"), "[2, 3, 4]\n");
  EXPECT_EQ(items("range(0, 10, 3)"), "[0, 3, 6, 9]\n");
  EXPECT_EQ(items("range(5, 2, -1)"), "[5, 4, 3]\n");
  EXPECT_EQ(items("range(10, 0, -3)"), "[10, 7, 4, 1]\n");
  EXPECT_EQ(items("range(-3, 3, 2)"), "[-3, -1, 1]\n");
  // Empty ranges, including a step pointing away from the bound.
  EXPECT_EQ(items("range(5, 5)"), "[]\n");
  EXPECT_EQ(items("range(5, 2)"), "[]\n");
  EXPECT_EQ(items("range(2, 5, -1)"), "[]\n");
  EXPECT_EQ(items("range(0)"), "[]\n");
  EXPECT_EQ(items("range(-4)"), "[]\n");
  // The same through a range object (the generic path).
  EXPECT_EQ(run("let r = range(10, 0, -3)\nlet xs = []\nfor i in r { push(xs, i) }\nprint(xs)"), "[10, 7, 4, 1]\n");
}

TEST(VmFastPath, RangeLoopsAtIntBoundaries) {
  // The small-int limit is 2^49 - 1 = 562949953421311: the fast path near it, the generic
  // path (boxed ints) beyond it; neither wraps around.
  EXPECT_EQ(items("range(562949953421309, 562949953421311)"), "[562949953421309, 562949953421310]\n");
  EXPECT_EQ(items("range(562949953421300, 562949953421311, 5)"),
            "[562949953421300, 562949953421305, 562949953421310]\n");
  EXPECT_EQ(items("range(562949953421310, 562949953421313)"), "[562949953421310, 562949953421311, 562949953421312]\n");
  EXPECT_EQ(items("range(-562949953421311, -562949953421313, -1)"), "[-562949953421311, -562949953421312]\n");
  EXPECT_EQ(items("range(9223372036854775805, 9223372036854775807)"), "[9223372036854775805, 9223372036854775806]\n");
  EXPECT_EQ(items("range(9223372036854775800, 9223372036854775807, 4)"),
            "[9223372036854775800, 9223372036854775804]\n");
  EXPECT_EQ(items("range(0, 9223372036854775807, 4611686018427387904)"), "[0, 4611686018427387904]\n");
  EXPECT_EQ(items("range(-9223372036854775807 - 1, -9223372036854775807 + 1)"),
            "[-9223372036854775808, -9223372036854775807]\n");
  EXPECT_EQ(items("range(9223372036854775807, -9223372036854775807 - 1, -9223372036854775807 - 1)"),
            "[9223372036854775807, -1]\n");
}

TEST(VmFastPath, ShadowedOrRedefinedRangeIsCalled) {
  // A local `range` is an ordinary call.
  EXPECT_EQ(
      run("fn main() {\n  let range = fn(a, b) { return [b, a] }\n  for i in range(1, 2) { print(i) }\n}\nmain()"),
      "2\n1\n");
  // The global redefined (by assignment or by a new definition in a later run).
  EXPECT_EQ(
      run("range = fn(a, b) { return [a * 10, b * 10] }\nfn main() { for i in range(1, 2) { print(i) } }\nmain()"),
      "10\n20\n");
  std::ostringstream out;
  VmOptions options;
  options.output = &out;
  Vm later(options);
  later.run("for i in range(2) { print(i) }", "a");
  later.run("fn range(n) { return [\"x\", n] }", "b");
  later.run("for i in range(2) { print(i) }", "c");
  EXPECT_EQ(out.str(), "0\n1\nx\n2\n");
  // Anything but ints (or a zero step) goes to range() itself, with its errors.
  std::string e = error_of("let x = 1\nfor i in range(0, 1.5) { x = i }");
  EXPECT_NE(e.find("range() arguments must be ints, not float"), std::string::npos) << e;
  EXPECT_NE(e.find("<script>:2:15"), std::string::npos) << e;
  e = error_of("fn main() {\n  for i in range(0, 5, 0) { }\n}\nmain()");
  EXPECT_NE(e.find("range() step must not be zero"), std::string::npos) << e;
  EXPECT_NE(e.find("<script>:2:17"), std::string::npos) << e;
  e = error_of("range = fn(n) { return n }\nfor i in range(3) { }");
  EXPECT_NE(e.find("cannot iterate over a value of type int"), std::string::npos) << e;
  EXPECT_NE(e.find("<script>:2:10"), std::string::npos) << e;
}

TEST(VmFastPath, LoopVariableSemantics) {
  // Each iteration's variable is fresh for closures, also with continue and break.
  EXPECT_EQ(run(R"(
fn main() {
  let fs = []
  for i in range(6) {
    if i == 1 { continue }
    let j = i * 10
    push(fs, fn() { return i + j })
    if i == 4 { break }
  }
  let out = []
  for f in fs { push(out, f()) }
  print(out)
}
main())"),
            "[0, 22, 33, 44]\n");
  EXPECT_EQ(run("fn main() {\n  let fs = []\n  for x in [\"a\", \"b\"] { push(fs, fn() { return x }) }\n"
                "  print(fs[0](), fs[1]())\n}\nmain()"),
            "a b\n");
  // Assigning the variable does not change the iteration.
  EXPECT_EQ(run("fn main() { for i in range(3) { print(i)\n i = 100 } }\nmain()"), "0\n1\n2\n");
  // Nested loops, a return from inside, and the loop variable is in the body's block.
  EXPECT_EQ(run(R"(
fn find(n) {
  for i in range(n) { for j in range(i) { if i * j == 12 { return [i, j] } } }
  return nil
}
print(find(10), find(3)))"),
            "[4, 3] nil\n");
  std::string e = error_of("for i in range(3) { let i = 1 }");
  EXPECT_NE(e.find("'i' is already declared in this block"), std::string::npos) << e;
  EXPECT_EQ(run("for i in range(2) { if true { let i = 5\nprint(i) } }"), "5\n5\n");
}

TEST(VmFastPath, FusedOperatorsKeepSemantics) {
  // Wrap-around and boxing at the small-int limits, through the L/LL/LK/K forms.
  EXPECT_EQ(run(R"(
fn main() {
  let big = 9223372036854775807
  let one = 1
  let edge = 562949953421311
  print(big + one, big + 1, edge + one, edge + 1, -edge - 2, edge * 2, one - big - 2)
  let m = 3037000500
  print(m * m, m * 3037000500)
  let x = 2.5
  print(x + one, one + x, x * 2, 1 < x, x <= 2.5, one == 1.0, 1.0 != one, x > one, one >= x)
}
main())"),
            "-9223372036854775808 -9223372036854775808 562949953421312 562949953421312 -562949953421313 "
            "1125899906842622 -9223372036854775808\n"
            "-9223372036709301616 -9223372036709301616\n"
            "3.5 3.5 5.0 true true true false true false\n");
  // Equality against nil, bools, strings, NaN.
  EXPECT_EQ(run(R"(
fn main() {
  let l = [nil, 0, false, "s"]
  let nan = 1e308 * 10.0 - 1e308 * 10.0
  let s = "s"
  print(l[0] == nil, l[1] == nil, l[2] == nil, l[1] != nil, l[2] == false, l[1] == false)
  print(nan == nan, nan != nan, l[3] == s, s == "s" + "", l[1] == 0.0)
}
main())"),
            "true false false true true false\nfalse true true true true\n");
  // Strings through fused + and +=.
  EXPECT_EQ(run("fn main() {\n let a = \"x\"\n let b = \"y\"\n let s = a + b\n s += a\n s += \"z\"\n print(s + \"!\") "
                "}\nmain()"),
            "xyxz!\n");
}

TEST(VmFastPath, CompoundAssignmentIntoLocals) {
  EXPECT_EQ(run(R"(
fn main() {
  let s = 0
  let k = 3
  s += k
  s += 10
  s -= k * 2
  s *= 4
  s *= k
  let f = 0.5
  f += s
  let big = 9223372036854775807
  big += 1
  print(s, f, big)
}
main())"),
            "84 84.5 -9223372036854775808\n");
  // With a call on the right the local is read first, as written: g's assignment is lost.
  EXPECT_EQ(run("fn main() {\n  let x = 1\n  fn g() { x = 10\n return 1 }\n  x += g()\n  print(x)\n}\nmain()"), "2\n");
  // Captured locals stay in sync with their closures.
  EXPECT_EQ(run("fn main() {\n  let n = 1\n  let get = fn() { return n }\n  n += 5\n  print(get())\n}\nmain()"), "6\n");
}

TEST(VmFastPath, ErrorsInsideFusedInstructionsKeepTheirPositions) {
  auto at = [](const std::string& source, const std::string& message, const std::string& where) {
    std::string e = error_of(source);
    EXPECT_NE(e.find(message), std::string::npos) << source << "\n" << e;
    EXPECT_NE(e.find(where), std::string::npos) << source << "\n" << e;
  };
  at("fn f(a) {\n  return a + 1\n}\nf(\"x\")", "unsupported operand types for +: 'string' and 'int'",
     "<script>:2:12 in f");
  at("fn f(a, b) {\n  return a  <  b\n}\nf(1, \"s\")", "cannot compare int and string", "<script>:2:13 in f");
  at("fn f(a) {\n  return 2 * a\n}\nf(nil)", "unsupported operand types for *: 'int' and 'nil'", "<script>:2:12 in f");
  at("fn f(a, b) {\n  let c = a\n  return c - b\n}\nf([], 1)", "unsupported operand types for -: 'list' and 'int'",
     "<script>:3:12 in f");
  at("fn f() {\n  let s = 0\n  s  +=  \"x\"\n}\nf()", "unsupported operand types for +: 'int' and 'string'",
     "<script>:3:6 in f");
  at("fn f() {\n  let s = 0\n  let t = nil\n  s *= t\n}\nf()", "unsupported operand types for *: 'int' and 'nil'",
     "<script>:4:5 in f");
  at("fn f() {\n  let l = [1]\n  let i = 5\n  l[i] = 2\n}\nf()", "list index 5 out of range for a list of size 1",
     "<script>:4:4 in f");
  at("fn f() {\n  let l = [1]\n  let i = -1\n  return l[i]\n}\nf()", "list index -1 out of range",
     "<script>:4:11 in f");
  at("fn f() {\n  let m = {}\n  return m[\"k\"]\n}\nf()", "key not found: \"k\"", "<script>:3:11 in f");
  at("fn f() {\n  let n = 3\n  n += 1\n  return n[0]\n}\nf()", "cannot index a value of type int",
     "<script>:4:11 in f");
}

TEST(VmFastPath, DisassemblerNamesTheNewInstructions) {
  std::string text = disassembly(R"(
fn f(a, b, l) {
  let s = a + b
  s += 1
  s -= a
  for i in range(0, 10, 2) { s += i }
  l[a] = s < 3
  let x = l[b]
  let y = l[0] == nil
  return a * 2
}
)");
  for (const char* expected : {"AddLL 1 2", "AddToLocalK 4 ", "SubtractToLocalL 4 1", "ForRangePrep 5 argc 3",
                               "ForLoop 5 back -> ", "AddToLocalL 4 8", "SetIndexLL 3 1", "LessLK 4 ", "GetIndexLL 3 2",
                               "GetIndexK ", "EqualK ", "; nil", "MultiplyLK 1 ", "PopN 4"})
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  EXPECT_EQ(text.find("ForNext"), std::string::npos);
  // A jump target is never merged into the instruction before it: `a + (b or c)`.
  EXPECT_EQ(run("fn f(a, b, c) { return a + (b or c) }\nprint(f(1, nil, 2), f(1, 5, 2))"), "3 6\n");
  EXPECT_EQ(run("fn f(a, b) { return (a and b) < 3 }\nprint(f(1, 2), f(1, 7))"), "true false\n");
}

TEST(VmFastPath, BudgetsStopFastLoopsAndRecursion) {
  VmOptions options;
  options.instruction_budget = 100000;
  std::string e = error_of("fn main() { let s = 0\nfor i in range(1000000000) { s += i } }\nmain()", options);
  EXPECT_NE(e.find("instruction budget of 100000 exceeded"), std::string::npos) << e;
  e = error_of("fn f(n) { if n == 0 { return 0 } return f(n - 1) + f(n - 1) }\nf(40)", options);
  EXPECT_NE(e.find("instruction budget of 100000 exceeded"), std::string::npos) << e;
  // `continue` in a while loop jumps backwards: it is a charged back-edge too (an input
  // the fuzzer found looping forever past the budget).
  e = error_of("let i = 0\nwhile true { i += 0\nif i % 2 == 0 { continue }\ni += 1 }", options);
  EXPECT_NE(e.find("instruction budget of 100000 exceeded"), std::string::npos) << e;
  e = error_of("fn main() { while true { continue } }\nmain()", options);
  EXPECT_NE(e.find("instruction budget of 100000 exceeded"), std::string::npos) << e;
  // The count is charged per loop iteration (the body's length) and per call.
  std::ostringstream out;
  VmOptions counted;
  counted.output = &out;
  Vm vm(counted);
  vm.run("fn main() { let s = 0\nfor i in range(1000) { s += i }\nprint(s) }\nmain()", "t");
  EXPECT_EQ(out.str(), "499500\n");
  EXPECT_GE(vm.instructions_executed(), 1000u);
  EXPECT_LE(vm.instructions_executed(), 10000u);
}

TEST(VmFastPath, CollectorStressThroughFastPaths) {
  VmOptions options;
  options.heap.stress = true;
  EXPECT_EQ(run(R"(
fn main() {
  let s = ""
  let parts = []
  for i in range(40) {
    s += str(i % 10)
    let t = s + "!"
    push(parts, t)
    let l = [t, i]
    l[1] = l[0] + "?"
    if l[1] == nil { print("bad") }
  }
  print(len(s), len(parts), parts[39])
}
main())",
                options),
            "40 40 0123456789012345678901234567890123456789!\n");
}

}  // namespace
}  // namespace miso::mcode
