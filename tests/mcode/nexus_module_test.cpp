// The nexus module: parallel_map / parallel_for / map_reduce on worker VMs, compared
// with the same work done sequentially, with errors, output order and isolation checked.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "miso/mcode/vm.hpp"
#include "miso/nexus/executor.hpp"
#include "script_test_util.hpp"

namespace miso::mcode {
namespace {

using test_util::error_of;
using test_util::program_file;

std::string run(std::string_view source, VmOptions options = {}) { return run_to_string(source, options); }

constexpr const char* kFib = R"(
fn fib(n) {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
let ns = []
for i in range(20) { push(ns, (i * 7) % 18) }
)";

TEST(NexusModule, ParallelMapEqualsSequentialMap) {
  std::string parallel = run(std::string(kFib) + "print(nexus.parallel_map(fib, ns, {\"workers\": 4}))");
  std::string sequential = run(std::string(kFib) + "let out = []\nfor n in ns { push(out, fib(n)) }\nprint(out)");
  EXPECT_EQ(parallel, sequential);
  EXPECT_NE(parallel.find("1597"), std::string::npos);  // fib(17) is among them
  // Default worker count, one worker, more workers than items: all the same.
  EXPECT_EQ(run(std::string(kFib) + "print(nexus.parallel_map(fn(n) { return fib(n) }, ns))"), sequential);
  EXPECT_EQ(run(std::string(kFib) + "print(nexus.parallel_map(fib, ns, {\"workers\": 1}))"), sequential);
  EXPECT_EQ(run(std::string(kFib) + "print(nexus.parallel_map(fib, ns, {\"workers\": 100}))"), sequential);
  EXPECT_EQ(run("print(nexus.parallel_map(fn(x) { return x }, []))"), "[]\n");
}

TEST(NexusModule, ResultsKeepStructureAndSharing) {
  EXPECT_EQ(run(R"(
let r = nexus.parallel_map(fn(x) { let l = [x]; return {"a": l, "b": l, "s": "v" + str(x)} }, [1, 2], {"workers": 2})
r[1].a[0] = 99
print(r, r[1].b[0])
)"),
            "[{\"a\": [1], \"b\": [1], \"s\": \"v1\"}, {\"a\": [99], \"b\": [99], \"s\": \"v2\"}] 99\n");
  // A closure made in a worker comes back and runs in the caller.
  EXPECT_EQ(
      run("let fs = nexus.parallel_map(fn(k) { return fn(x) { return x * k } }, [2, 3])\nprint(fs[0](5), fs[1](5))"),
      "10 15\n");
}

TEST(NexusModule, NativesAndCapturedStateWork) {
  EXPECT_EQ(run("print(nexus.parallel_map(str, [1, 2.5, nil, [1]], {\"workers\": 3}))"),
            "[\"1\", \"2.5\", \"nil\", \"[1]\"]\n");
  EXPECT_EQ(run("print(nexus.parallel_map(len, [\"ab\", [1, 2, 3], {}]))"), "[2, 3, 0]\n");
  // Open upvalues (the capturing function is still running) travel by value.
  EXPECT_EQ(run(R"(
fn go(k) {
  let offset = k * 100
  return nexus.parallel_map(fn(x) { return x + offset }, [1, 2, 3], {"workers": 2})
}
print(go(5))
)"),
            "[501, 502, 503]\n");
}

TEST(NexusModule, WorkersSeeCopies) {
  EXPECT_EQ(run(R"(
let hits = 0
let boxes = [[1], [2]]
let lens = nexus.parallel_map(fn(b) { hits += 1; push(b, 0); return len(b) }, boxes, {"workers": 2})
print(lens, hits, boxes)
)"),
            "[2, 2] 0 [[1], [2]]\n");
}

TEST(NexusModule, PrintOutputComesInElementOrder) {
  std::string expected;
  for (int i = 0; i < 12; ++i) expected += "item " + std::to_string(i) + "\nafter " + std::to_string(i) + "\n";
  EXPECT_EQ(run(R"(
let xs = []
for i in range(12) { push(xs, i) }
nexus.parallel_map(fn(x) { print("item", x); print("after", x); return nil }, xs, {"workers": 4})
)"),
            expected);
}

TEST(NexusModule, ErrorsNameTheLowestFailingElement) {
  std::string e = error_of(R"(
let xs = []
for i in range(40) { push(xs, i) }
nexus.parallel_map(fn(x) {
  if x % 10 == 7 { throw "bad " + str(x) }
  return x
}, xs, {"workers": 4})
)");
  EXPECT_NE(e.find("nexus.parallel_map: element 7 failed: bad 7"), std::string::npos) << e;
  EXPECT_NE(e.find("in the worker at <script>:5:"), std::string::npos) << e;
  // Catchable in the caller; output of the elements before (and of) the failure is kept.
  EXPECT_EQ(run(R"(
try {
  nexus.parallel_map(fn(x) { print(x); return 10 / x.len() }, [[1], [2], 3, [4]], {"workers": 2})
} catch e {
  print("caught:", e.message)
}
)"),
            "[1]\n[2]\n3\ncaught: nexus.parallel_map: element 2 failed: a value of type int has no method 'len' "
            "(in the worker at <script>:3:54 in <main>)\n");
}

TEST(NexusModule, BadArgumentsAndUncopyableValues) {
  EXPECT_NE(error_of("nexus.parallel_map(1, [1])").find("nexus.parallel_map: f must be"), std::string::npos);
  EXPECT_NE(error_of("nexus.parallel_map(str, 5)").find("nexus.parallel_map: xs must be a list"), std::string::npos);
  EXPECT_NE(error_of("nexus.parallel_map(str, [1], {\"workers\": 0})").find("options.workers must be an int"),
            std::string::npos);
  EXPECT_NE(error_of("nexus.parallel_map(str)").find("expects 2 or 3 arguments"), std::string::npos);
  std::string e = error_of("nexus.parallel_map(fn(x) { return x }, [1, range(3)])");
  EXPECT_NE(e.find("nexus.parallel_map: element 1: a value of type range cannot be copied"), std::string::npos) << e;
  e = error_of("let r = range(3)\nnexus.parallel_map(fn(x) { return r }, [1])");
  EXPECT_NE(e.find("global 'r': a value of type range"), std::string::npos) << e;
  // A string that merely spells the name is no reason to copy (or refuse) the global.
  EXPECT_EQ(run("let r = range(3)\nprint(nexus.parallel_map(fn(x) { return \"r\" }, [1]))"), "[\"r\"]\n");
  EXPECT_NE(error_of("nexus.parallel_for(-1, str)").find("n must be >= 0"), std::string::npos);
  e = error_of("nexus.parallel_map(fn(x) { return range(x) }, [1, 2])");
  EXPECT_NE(e.find("result of element 0: a value of type range"), std::string::npos) << e;
}

TEST(NexusModule, WorkersRunUnderTheCallersBudgets) {
  VmOptions options;
  options.instruction_budget = 100000;
  std::string e = error_of("nexus.parallel_map(fn(x) { while true { } }, [1, 2])", options);
  EXPECT_NE(e.find("element 0 failed: instruction budget of 100000"), std::string::npos) << e;
  options = {};
  options.allowed_paths.clear();
  e = error_of("nexus.parallel_map(read_file, [\"/etc/hostname\"])", options);
  EXPECT_NE(e.find("file access denied"), std::string::npos) << e;
}

TEST(NexusModule, ParallelForMapReduceWorkersAndNesting) {
  EXPECT_EQ(run("print(nexus.parallel_for(5, fn(i) { print(\"i\", i) }, {\"workers\": 2}))"),
            "i 0\ni 1\ni 2\ni 3\ni 4\nnil\n");
  EXPECT_EQ(run("print(nexus.map_reduce(fn(x) { return x * x }, [1, 2, 3, 4], fn(a, b) { return a + b }, 0))"), "30\n");
  EXPECT_EQ(run("print(nexus.map_reduce(str, [1, 2, 3], fn(a, b) { return a + b }, \">\"))"), ">123\n");
  EXPECT_EQ(run("print(nexus.workers())"),
            std::to_string(std::max(1u, nexus::Executor::global().concurrency())) + "\n");
  // A worker may itself fan out.
  EXPECT_EQ(run(R"(
let rows = nexus.parallel_map(fn(r) {
  return nexus.parallel_map(fn(c) { return r * 10 + c }, [0, 1, 2], {"workers": 2})
}, [1, 2], {"workers": 2})
print(rows)
)"),
            "[[10, 11, 12], [20, 21, 22]]\n");
}

TEST(NexusModule, ExampleProgram) {
  const std::string source = program_file("parallel", "mc");
  const std::string expected = program_file("parallel", "out");
  EXPECT_EQ(run(source), expected);
}

}  // namespace
}  // namespace miso::mcode
