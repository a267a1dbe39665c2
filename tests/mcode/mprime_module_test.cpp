// The `mprime` module of M-CODE: symbolic expressions from scripts, checked against the
// same operations through the miso::mprime C++ API.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "miso/mcode/modules/modules.hpp"
#include "miso/mcode/vm.hpp"
#include "miso/mprime/diff.hpp"
#include "miso/mprime/expr.hpp"
#include "miso/mprime/integrate.hpp"
#include "miso/mprime/parse.hpp"
#include "miso/mprime/poly.hpp"
#include "miso/mprime/print.hpp"
#include "miso/mprime/series.hpp"
#include "miso/mprime/simplify.hpp"
#include "miso/tmath/tensor.hpp"
#include "script_test_util.hpp"

namespace miso::mcode {
namespace {

using test_util::error_of;
using test_util::program_file;

namespace mp = miso::mprime;
namespace tm = miso::tmath;

std::string run(std::string_view source, VmOptions options = {}) { return run_to_string(source, options); }

mp::Expr expr_global(Vm& vm, std::string_view name) {
  Value v = vm.global(name);
  EXPECT_TRUE(v.is_handle() && v.as_handle()->is(kExprHandle)) << name;
  if (!v.is_handle()) return {};
  return *v.as_handle()->data_as<mp::Expr>();
}

TEST(MprimeModule, MatchesTheEngine) {
  Vm vm;
  vm.run(
      "let d = mprime.diff(\"sin(x)*x\", \"x\")\n"
      "let d2 = mprime.parse(\"x^3\").diff(\"x\", 2)\n"
      "let s = mprime.simplify(\"sin(x)^2 + cos(x)^2\")\n"
      "let ex = mprime.expand(\"(x+1)^2\")\n"
      "let f = mprime.factor(\"x^2 - 1\")\n"
      "let i = mprime.integrate(\"x*exp(x)\", \"x\")\n"
      "let di = mprime.integrate(\"x^2\", \"x\", 0, 3)\n"
      "let ser = mprime.series(\"exp(x)\", \"x\", 0, 4)\n"
      "let lim = mprime.limit(\"sin(x)/x\", \"x\", 0)\n");
  mp::Expr x = mp::symbol("x");
  EXPECT_EQ(expr_global(vm, "d"), mp::diff(mp::parse("sin(x)*x"), x));
  EXPECT_EQ(expr_global(vm, "d2"), mp::parse("6*x"));
  EXPECT_EQ(expr_global(vm, "s"), mp::integer(1));
  EXPECT_EQ(expr_global(vm, "ex"), mp::expand(mp::parse("(x+1)^2")));
  EXPECT_EQ(expr_global(vm, "f"), mp::factor(mp::parse("x^2 - 1")));
  EXPECT_EQ(expr_global(vm, "i"), mp::integrate(mp::parse("x*exp(x)"), x));
  EXPECT_EQ(expr_global(vm, "di"), mp::integer(9));
  EXPECT_EQ(expr_global(vm, "ser"), mp::series(mp::parse("exp(x)"), x, 0, 4));
  EXPECT_EQ(expr_global(vm, "lim"), mp::integer(1));
  EXPECT_EQ(run("print(mprime.diff(\"sin(x)*x\", \"x\"))"), mp::to_string(mp::diff(mp::parse("sin(x)*x"), x)) + "\n");
}

TEST(MprimeModule, OperatorsSymbolsAndPrinting) {
  EXPECT_EQ(run("let x = mprime.symbol(\"x\")\nlet e = (x + 1) ** 2 - 2 * x\nprint(e.expand(), type(e))"),
            "x^2 + 1 expr\n");
  EXPECT_EQ(run("let x = mprime.symbol(\"x\")\nprint(1 / x, x / 2, -x, x - x, 2 ** x)"), "1/x x/2 -x 0 2^x\n");
  EXPECT_EQ(run("print(mprime.latex(\"x^2/2\"), mprime.parse(\"sqrt(x)\").latex())"),
            mp::to_latex(mp::parse("x^2/2")) + " " + mp::to_latex(mp::parse("sqrt(x)")) + "\n");
  EXPECT_EQ(run("print(mprime.free_symbols(\"x*y + z\"), mprime.str(\"x+x\"), mprime.equals(\"2*x\", \"x+x\"))"),
            "[\"x\", \"y\", \"z\"] 2*x true\n");
}

TEST(MprimeModule, SolveEvaluateAndSubs) {
  EXPECT_EQ(run("print(mprime.solve(\"x^2 - 4 = 0\"), mprime.solve(\"x^2 - 3*x + 2\", \"x\"))"), "[-2, 2] [1, 2]\n");
  EXPECT_EQ(run("let r = mprime.solve(\"a*x + b = 0\", \"x\")\nprint(len(r), r[0])"), "1 -b/a\n");
  EXPECT_EQ(run("print(mprime.evaluate(\"x^2 + y\", {\"x\": 2.0, \"y\": 1}), mprime.evaluate(\"pi\"))"),
            "5.0 3.141592653589793\n");
  EXPECT_EQ(run("print(mprime.subs(\"x^2/3\", {\"x\": 2}), mprime.to_number(mprime.subs(\"x^2\", {\"x\": 3})))"),
            "4/3 9\n");
  EXPECT_EQ(run("print(mprime.to_number(\"1/4\"), mprime.parse(\"x*y\").subs({\"y\": \"x\"}))"), "0.25 x^2\n");
}

TEST(MprimeModule, CompiledEvaluatesTensorsAndPoints) {
  Vm vm;
  vm.run(
      "let c = mprime.compile(\"sin(x)*y + x^2\", [\"x\", \"y\"])\n"
      "let xs = tmath.linspace(0, 1, 11)\n"
      "let ys = tmath.full([11], 2.0)\n"
      "let out = c.eval(xs, ys)\n"
      "let p = c.eval_float(0.5, 2)\n");
  tm::Tensor out = *vm.global("out").as_handle()->data_as<tm::Tensor>();
  ASSERT_EQ(out.shape(), (tm::Shape{11}));
  std::vector<double> v = out.to_vector<double>();
  for (int i = 0; i <= 10; ++i) {
    double xv = i / 10.0;
    EXPECT_NEAR(v[static_cast<std::size_t>(i)], std::sin(xv) * 2 + xv * xv, 1e-5);
  }
  EXPECT_DOUBLE_EQ(vm.global("p").as_double(), std::sin(0.5) * 2 + 0.25);
  EXPECT_EQ(run("let c = mprime.compile(\"x*y\", [\"x\", \"y\"])\nprint(c, c.vars, c.expr)"),
            "compiled(x*y; x, y) [\"x\", \"y\"] x*y\n");
}

TEST(MprimeModule, ErrorsNameTheFunction) {
  EXPECT_NE(error_of("mprime.parse(\"2*x*)\")").find("mprime.parse: parse error"), std::string::npos);
  EXPECT_NE(error_of("mprime.diff(\"x\", \"2*y\")").find("mprime.diff: variable must be a symbol"), std::string::npos);
  EXPECT_NE(error_of("mprime.diff([1], \"x\")").find("expression must be an expr, a string or a number, got list"),
            std::string::npos);
  EXPECT_NE(error_of("mprime.diff(\"x\", \"x\", -1)").find("order must be in [0, 10000]"), std::string::npos);
  EXPECT_NE(error_of("mprime.evaluate(\"x + 1\")").find("mprime.evaluate:"), std::string::npos);
  EXPECT_NE(error_of("mprime.evaluate(\"x\", {\"x\": \"a\"})").find("a map to numbers"), std::string::npos);
  EXPECT_NE(error_of("mprime.parse(\"x\") / 0").find("expr /:"), std::string::npos);
  EXPECT_NE(error_of("mprime.parse(\"x\") + [1]").find("expr +: right operand must be"), std::string::npos);
  EXPECT_NE(error_of("mprime.solve(\"x + y = 1\")").find("give the variable"), std::string::npos);
  EXPECT_NE(error_of("mprime.integrate(\"x\", \"x\", 1)").find("expects (expr, var)"), std::string::npos);
  EXPECT_NE(error_of("mprime.compile(\"x\", [\"x\"]).eval_float(1, 2)").find("compiled.eval_float: expects 1 values"),
            std::string::npos);
  EXPECT_NE(error_of("mprime.compile(\"x\", [\"x\"]).eval(3)").find("input must be tensor, got int"),
            std::string::npos);
  EXPECT_NE(error_of("mprime.compile(\"x*y\", [\"x\"])").find("mprime.compile:"), std::string::npos);
  EXPECT_EQ(run("try { mprime.parse(\"(\") } catch e { print(\"caught\") }"), "caught\n");
}

TEST(MprimeModule, HandlesCloneAndAreCollected) {
  Vm vm;
  vm.run("let e = mprime.parse(\"x + 1\")\nlet c = mprime.compile(e, [\"x\"])");
  void* copy = kExprHandle.clone(vm.global("e").as_handle()->data());
  EXPECT_EQ(*static_cast<mp::Expr*>(copy), mp::parse("x + 1"));
  kExprHandle.finalize(copy);
  const HandleType& compiled = vm.global("c").as_handle()->type();
  void* compiled_copy = compiled.clone(vm.global("c").as_handle()->data());
  compiled.finalize(compiled_copy);
  std::uint64_t before = vm.heap().stats().objects_freed;
  vm.run("for i in range(100) { let d = mprime.diff(\"x^3\", \"x\") }");
  vm.heap().collect();
  EXPECT_GE(vm.heap().stats().objects_freed - before, 100u);
}

TEST(MprimeModule, ExprsTravelToWorkerVms) {
  EXPECT_EQ(run("let es = [mprime.parse(\"x^2\"), mprime.parse(\"sin(x)\")]\n"
                "let c = mprime.compile(\"x + 1\", [\"x\"])\n"
                "print(nexus.parallel_map(fn(e) { return str(e.diff(\"x\")) }, es))\n"
                "print(nexus.parallel_map(fn(v) { return c.eval_float(v) }, [1, 2]))"),
            "[\"2*x\", \"cos(x)\"]\n[2.0, 3.0]\n");
}

TEST(MprimeModule, ExampleProgram) {
  const std::string source = program_file("symbolic", "mc");
  const std::string expected = program_file("symbolic", "out");
  EXPECT_EQ(run(source), expected);
  // Collecting at every safepoint changes nothing (no handle is used after it is dropped).
  VmOptions stress;
  stress.heap.stress = true;
  EXPECT_EQ(run(source, stress), expected);
}

}  // namespace
}  // namespace miso::mcode
