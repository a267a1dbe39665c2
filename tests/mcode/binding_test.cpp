// Binding tables, handle types (methods, properties, operators, display), modules,
// re-entrant calls from natives (Vm::call), the file allow-list and the REPL mode.
#include "miso/mcode/binding.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "miso/mcode/vm.hpp"

namespace miso::mcode {
namespace {

// A test engine object: a 2-d integer vector.
struct Vec2 {
  std::int64_t x = 0;
  std::int64_t y = 0;
};
extern const HandleType kVecType;

Value vec_new(NativeCallContext& c, Args args) {
  return make_handle(c.heap(), kVecType, Vec2{arg_int(c, args, 0, "x"), arg_int(c, args, 1, "y")});
}
Value vec_x(NativeCallContext&, Args args) { return Value::small_int(args[0].as_handle()->data_as<Vec2>()->x); }
Value vec_dot(NativeCallContext& c, Args args) {
  const Vec2& a = arg_handle<Vec2>(c, args, 0, kVecType, "receiver");
  const Vec2& b = arg_handle<Vec2>(c, args, 1, kVecType, "other");
  return Value::small_int(a.x * b.x + a.y * b.y);
}
Value vec_binary(NativeCallContext& c, HandleOp op, Value a, Value b) {
  auto vec = [](Value v) { return *v.as_handle()->data_as<Vec2>(); };
  if (op == HandleOp::Negate) return make_handle(c.heap(), kVecType, Vec2{-vec(a).x, -vec(a).y});
  if (op == HandleOp::Add && a.is_handle() && b.is_handle())
    return make_handle(c.heap(), kVecType, Vec2{vec(a).x + vec(b).x, vec(a).y + vec(b).y});
  if (op == HandleOp::Multiply && b.is_int())
    return make_handle(c.heap(), kVecType, Vec2{vec(a).x * b.as_int(), vec(a).y * b.as_int()});
  if (op == HandleOp::Multiply && a.is_int())
    return make_handle(c.heap(), kVecType, Vec2{vec(b).x * a.as_int(), vec(b).y * a.as_int()});
  if (op == HandleOp::MatMul) return Value::small_int(vec(a).x * vec(b).y - vec(a).y * vec(b).x);
  c.error(std::string("vec does not support ").append(handle_op_text(op)));
}
std::string vec_display(const void* data) {
  const auto* v = static_cast<const Vec2*>(data);
  return "vec(" + std::to_string(v->x) + ", " + std::to_string(v->y) + ")";
}
Value vec_len(NativeCallContext&, Args) { return Value::small_int(2); }

const NativeBinding kVecMethods[] = {
    {"x", vec_x, 0, "the x coordinate", true},
    {"dot", vec_dot, 1, "dot product"},
    {"len", vec_len, 0, "always 2"},
};
const HandleType kVecType{"vec", finalize_as<Vec2>, nullptr, kVecMethods, vec_binary, vec_display, clone_as<Vec2>};

// apply(f, x): calls back into the VM.
Value apply(NativeCallContext& c, Args args) {
  Value f = arg_callable(c, args, 0, "f");
  return c.vm.call(f, args.subspan(1));
}
// twice(f, x) = f(f(x)): the first result must stay rooted across the second call.
Value twice(NativeCallContext& c, Args args) {
  Value f = arg_callable(c, args, 0, "f");
  Rooted first(c.heap(), c.vm.call(f, args.subspan(1)));
  Value second_arg = first.get();
  return c.vm.call(f, std::span<const Value>(&second_arg, 1));
}

const NativeBinding kTestModule[] = {
    {"vec", vec_new, 2, "vec(x, y)"},
    {"apply", apply, -1, "apply(f, args...)"},
    {"twice", twice, 2, "twice(f, x)"},
};

struct Fixture {
  std::ostringstream out;
  Vm vm;
  explicit Fixture(VmOptions options = {})
      : vm([&] {
          options.output = &out;
          options.engine_modules = false;
          return options;
        }()) {
    vm.define_module("t", kTestModule);
  }
  std::string run(std::string_view source) {
    out.str("");
    vm.run(source);
    return out.str();
  }
  std::string error(std::string_view source) {
    try {
      vm.run(source);
    } catch (const miso::Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST(Binding, ModuleFunctionsAndHandleMethods) {
  Fixture f;
  EXPECT_EQ(f.run("let v = t.vec(3, 4)\nprint(v, v.x, v.dot(t.vec(1, 2)), len(v), type(v))"), "vec(3, 4) 3 11 2 vec\n");
  EXPECT_EQ(f.run("print(str(t.vec(-1, 0)), [t.vec(1, 1)])"), "vec(-1, 0) [vec(1, 1)]\n");
}

TEST(Binding, HandleOperators) {
  Fixture f;
  EXPECT_EQ(f.run("let a = t.vec(1, 2)\nlet b = t.vec(3, 5)\nprint(a + b, a * 3, 2 * b, -a, a @ b)"),
            "vec(4, 7) vec(3, 6) vec(6, 10) vec(-1, -2) -1\n");
  EXPECT_NE(f.error("print(t.vec(1, 2) - t.vec(1, 1))").find("vec does not support -"), std::string::npos);
  EXPECT_NE(f.error("print(1 @ 2)").find("unsupported operand types for @: 'int' and 'int'"), std::string::npos);
  EXPECT_NE(f.error("print([1] @ [2])").find("unsupported operand types for @"), std::string::npos);
}

TEST(Binding, ArgumentAndMethodErrorsNameTheFunction) {
  Fixture f;
  EXPECT_NE(f.error("t.vec(1, \"a\")").find("t.vec: y must be an int, got string"), std::string::npos);
  EXPECT_NE(f.error("t.vec(1, 2).dot(5)").find("vec.dot: other must be vec, got int"), std::string::npos);
  EXPECT_NE(f.error("t.vec(1, 2).dot()").find("vec.dot() expects 1 argument, got 0"), std::string::npos);
  EXPECT_NE(f.error("t.vec(1, 2).nope()").find("a value of type vec has no method 'nope'"), std::string::npos);
  EXPECT_NE(f.error("t.vec(1, 2).x()").find("'x' is a property of vec"), std::string::npos);
  EXPECT_NE(f.error("print(t.vec(1, 2).dot)").find("'dot' is a method of vec"), std::string::npos);
  EXPECT_NE(f.error("t.vec(1)").find("t.vec() expects 2 arguments, got 1"), std::string::npos);
  // Errors in natives are catchable and carry the script position.
  EXPECT_EQ(f.run("try { t.vec(1, nil) } catch e { print(e.message) }"), "t.vec: y must be an int, got nil\n");
}

TEST(Binding, NativesCallBackIntoTheVm) {
  Fixture f;
  EXPECT_EQ(f.run("print(t.apply(fn(a, b) { return a * b }, 6, 7), t.apply(len, [1, 2, 3]))"), "42 3\n");
  EXPECT_EQ(f.run("fn inc(x) { return x + 1 }\nprint(t.twice(inc, 5), t.twice(fn(s) { return s + \"!\" }, \"hi\"))"),
            "7 hi!!\n");
  // Nested: a native calls a closure that calls a native that calls a closure.
  EXPECT_EQ(f.run("print(t.apply(fn(x) { return t.apply(fn(y) { return y * 10 }, x) + 1 }, 4))"), "41\n");
  // Recursion through natives.
  EXPECT_EQ(f.run("fn fact(n) { if n == 0 { return 1 } return n * t.apply(fact, n - 1) }\nprint(fact(10))"),
            "3628800\n");
}

TEST(Binding, ExceptionsCrossNativeFrames) {
  Fixture f;
  // Caught inside the callee: the native sees a normal return.
  EXPECT_EQ(f.run("print(t.apply(fn() { try { return 1 // 0 } catch e { return e.message } }))"), "division by zero\n");
  // Not caught inside: unwinds through the native to the script's handler; the stack is intact after.
  EXPECT_EQ(f.run("let r = 0\ntry { t.apply(fn() { throw \"boom\" }) } catch e { r = e }\nprint(r, t.apply(fn() { "
                  "return 2 }))"),
            "boom 2\n");
  EXPECT_EQ(f.run("fn deep(n) { if n == 0 { throw n } return t.apply(deep, n - 1) }\n"
                  "try { deep(50) } catch e { print(\"caught\", e) }\nprint(t.twice(fn(x) { return x * 2 }, 3))"),
            "caught 0\n12\n");
  // Uncaught: the error names the innermost position and the trace passes through the native's caller.
  std::string error = f.error("fn bad() { return [][1] }\nt.apply(bad)");
  EXPECT_NE(error.find("list index 1 out of range"), std::string::npos) << error;
  EXPECT_NE(error.find("<script>:1:"), std::string::npos) << error;
  EXPECT_NE(error.find("in bad"), std::string::npos) << error;
  EXPECT_NE(error.find("<script>:2:"), std::string::npos) << error;
}

TEST(Binding, HostCallsScriptFunctions) {
  Fixture f;
  f.run("fn add(a, b) { return a + b }\nfn fail() { return nil + 1 }");
  Value args[] = {Value::small_int(2), Value::small_int(40)};
  EXPECT_EQ(f.vm.call(f.vm.global("add"), args).as_int(), 42);
  try {
    f.vm.call(f.vm.global("fail"), {});
    FAIL() << "expected a ScriptError";
  } catch (const ScriptError& e) {
    EXPECT_NE(e.error_message().find("unsupported operand types for +"), std::string::npos);
    ASSERT_FALSE(e.trace().empty());
    EXPECT_NE(e.trace()[0].find("in fail"), std::string::npos);
  }
  EXPECT_THROW(f.vm.call(f.vm.global("add"), {}), ScriptError);  // wrong argument count
  EXPECT_EQ(f.vm.call(f.vm.global("add"), args).as_int(), 42);   // the VM is usable after failures
}

TEST(Binding, BudgetsApplyInsideCallbacks) {
  VmOptions options;
  options.instruction_budget = 10000;
  Fixture f(options);
  EXPECT_NE(f.error("t.apply(fn() { while true { } })").find("instruction budget of 10000 exceeded"),
            std::string::npos);
  EXPECT_EQ(f.run("print(t.apply(fn() { return 5 }))"), "5\n");
}

TEST(Binding, InterruptStopsARunningScript) {
  Fixture f;
  std::atomic<bool> stopped{false};
  std::thread interrupter([&] {
    // Keep asking until the script stops (a request made before run() starts is dropped).
    while (!stopped.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      f.vm.request_interrupt();
    }
  });
  std::string error = f.error("let n = 0\ntry { while true { n += 1 } } catch e { print(\"caught\") }");
  stopped.store(true);
  interrupter.join();
  EXPECT_NE(error.find("interrupted"), std::string::npos) << error;
  EXPECT_EQ(f.out.str(), "");               // not catchable
  EXPECT_EQ(f.run("print(1 + 1)"), "2\n");  // a stale request does not stop the next run
}

TEST(Binding, CollectorRunsDuringCallbacks) {
  VmOptions options;
  options.heap.stress = true;  // collect at every safepoint
  Fixture f(options);
  EXPECT_EQ(f.run("fn mk(n) { let xs = []\nfor i in range(n) { xs.push(str(i) + \"x\") }\nreturn xs }\n"
                  "let r = t.twice(fn(xs) { return mk(len(xs) + 3) }, [1])\nprint(len(r), r[6])"),
            "7 6x\n");
}

TEST(Binding, FileAllowList) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "miso_mcode_allow_test";
  fs::create_directories(dir / "sub");
  { std::ofstream(dir / "sub" / "a.txt") << "alpha\nbeta\r\n"; }
  VmOptions options;
  options.allowed_paths = {dir / "sub"};
  Fixture f(options);
  std::string a = (dir / "sub" / "a.txt").string();
  EXPECT_EQ(f.run("print(read_lines(\"" + a + "\"))"), "[\"alpha\", \"beta\"]\n");
  EXPECT_EQ(f.run("write_file(\"" + (dir / "sub" / "b.txt").string() + "\", \"x,y\")\nprint(read_file(\"" +
                  (dir / "sub" / "b.txt").string() + "\"))"),
            "x,y\n");
  // Outside the allowed directory, also through "..", and a sibling whose name shares the prefix.
  EXPECT_NE(f.error("read_file(\"" + (dir / "sub" / ".." / "a.txt").string() + "\")").find("file access denied"),
            std::string::npos);
  fs::create_directories(dir / "sub2");
  EXPECT_NE(f.error("read_file(\"" + (dir / "sub2" / "x").string() + "\")").find("outside the allowed paths"),
            std::string::npos);
  EXPECT_NE(f.error("read_file(\"" + (dir / "sub" / "missing.txt").string() + "\")").find("cannot open"),
            std::string::npos);
  Fixture none;
  EXPECT_NE(none.error("read_file(\"" + a + "\")").find("this run allows no file access"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Binding, InteractiveRunsReturnTheLastExpression) {
  Fixture f;
  EXPECT_EQ(f.vm.run_interactive("let x = 20\nx + 22").as_int(), 42);
  EXPECT_TRUE(f.vm.run_interactive("let y = 1").is_empty());
  EXPECT_EQ(f.vm.run_interactive("x * y").as_int(), 20);  // globals persist
  EXPECT_TRUE(f.vm.run_interactive("print(1)").is_nil());
  EXPECT_TRUE(f.vm.run_interactive("").is_empty());
}

TEST(Binding, ForEachGlobalSeesDefinitions) {
  Fixture f;
  f.run("let answer = 42");
  int seen = 0;
  f.vm.for_each_global([&](String* name, Value value) {
    if (name->view() == "answer") {
      ++seen;
      EXPECT_EQ(value.as_int(), 42);
    }
  });
  EXPECT_EQ(seen, 1);
}

TEST(Binding, ArgumentHelpersConvert) {
  Fixture f;
  static std::vector<double> numbers;
  static std::vector<std::string> strings;
  static const NativeBinding kProbe[] = {
      {"numbers",
       [](NativeCallContext& c, Args args) {
         numbers = arg_number_list(c, args, 0, "xs");
         return make_number_list(c.heap(), numbers);
       },
       1},
      {"strings",
       [](NativeCallContext& c, Args args) {
         strings = arg_string_list(c, args, 0, "names");
         return make_string_list(c.heap(), strings);
       },
       1},
      {"ints",
       [](NativeCallContext& c, Args args) {
         auto ints = arg_int_list(c, args, 0, "shape");
         return make_int_list(c.heap(), ints);
       },
       1},
  };
  f.vm.define_module("p", kProbe);
  EXPECT_EQ(f.run("print(p.numbers([1, 2.5]), p.strings([\"a\"]), p.ints([2, 3]))"), "[1.0, 2.5] [\"a\"] [2, 3]\n");
  EXPECT_EQ(numbers, (std::vector<double>{1.0, 2.5}));
  EXPECT_NE(f.error("p.ints([2, 3.5])").find("p.ints: shape must be a list of ints, got float"), std::string::npos);
  EXPECT_NE(f.error("p.strings(\"a\")").find("p.strings: names must be a list of strings, got string"),
            std::string::npos);
}

}  // namespace
}  // namespace miso::mcode
