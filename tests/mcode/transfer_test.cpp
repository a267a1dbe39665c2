// Deep copies of values between VM heaps (transfer.hpp): primitives, containers with
// sharing and cycles, closures with captured state, natives, handles, globals.
#include "miso/mcode/transfer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <string>

#include "miso/mcode/binding.hpp"
#include "miso/mcode/vm.hpp"

namespace miso::mcode {
namespace {

VmOptions quiet(std::ostream& out) {
  VmOptions options;
  options.output = &out;
  options.engine_modules = false;
  return options;
}

TEST(Transfer, PrimitivesAndStrings) {
  Heap from, to;
  EXPECT_TRUE(identical(transfer(Value::small_int(7), to), Value::small_int(7)));
  EXPECT_TRUE(identical(transfer(Value::number(2.5), to), Value::number(2.5)));
  EXPECT_TRUE(transfer(Value(), to).is_nil());
  EXPECT_TRUE(transfer(Value::boolean(true), to).is_true());
  Value big = from.integer(INT64_MIN);
  Value big_copy = transfer(big, to);
  ASSERT_TRUE(big_copy.is_boxed_int());
  EXPECT_EQ(big_copy.as_int(), INT64_MIN);
  EXPECT_NE(big_copy.as_object(), big.as_object());
  std::string long_text(200, 'x');
  Value s = from.string_value(long_text);
  Value s_copy = transfer(s, to);
  ASSERT_TRUE(s_copy.is_string());
  EXPECT_EQ(s_copy.as_string()->view(), long_text);
  EXPECT_NE(s_copy.as_object(), s.as_object());
  // Short strings land interned in the target: the same object as the target's own.
  EXPECT_EQ(transfer(from.string_value("key"), to).as_object(), to.string("key"));
}

TEST(Transfer, KeepsSharingAndCycles) {
  std::ostringstream out;
  Vm source(quiet(out));
  source.run("let a = [1, \"two\"]\nlet m = {\"x\": a, \"y\": a, 3: 4.5}\npush(a, m)\n");
  Vm target(quiet(out));
  Value m = source.global("m");
  Value copy = transfer(m, target.heap());
  ASSERT_TRUE(copy.is_map());
  EXPECT_NE(copy.as_object(), m.as_object());
  Map* cm = copy.as_map();
  Value x = cm->get(target.heap().string_value("x"));
  Value y = cm->get(target.heap().string_value("y"));
  ASSERT_TRUE(x.is_list());
  EXPECT_EQ(x.as_object(), y.as_object());                      // shared once, copied once
  EXPECT_EQ(x.as_list()->at(2).as_object(), copy.as_object());  // the cycle closes on the copy
  EXPECT_NE(x.as_object(), source.global("a").as_object());     // not the source's list
  EXPECT_EQ(to_repr_string(copy), to_repr_string(m));           // same printed structure
  // The copy is an ordinary value of the target: scripts can use and mutate it.
  target.define_global("m", copy);
  target.run("m.x[0] = 100\nprint(m.y[0], m[3], m.x[2].x[1])");
  EXPECT_EQ(out.str(), "100 4.5 two\n");
  EXPECT_EQ(source.global("a").as_list()->at(0).as_int(), 1);  // the source is untouched
}

TEST(Transfer, DeepListsCopyIteratively) {
  Heap from, to;
  Value head;
  for (int i = 0; i < 50000; ++i) {
    List* l = from.list(1);
    l->push(from, head);
    head = Value::object(l);
  }
  Value copy = transfer(head, to);
  int depth = 0;
  for (Value v = copy; v.is_list(); v = v.as_list()->at(0)) ++depth;
  EXPECT_EQ(depth, 50000);
}

TEST(Transfer, ClosuresKeepTheirCapturedStateInTheOtherVm) {
  std::ostringstream out;
  Vm source(quiet(out));
  source.run(R"(
fn counter(start) {
  let n = start
  return {"next": fn() { n += 1; return n }, "get": fn() { return n }}
}
let c = counter(10)
c.next()
)");
  Vm target(quiet(out));
  target.define_global("c", transfer(source.global("c"), target.heap()));
  target.run("c.next()\nc.next()\nprint(c.get())");  // next and get still share n
  source.run("print(c.get())");                      // the source's n did not move
  EXPECT_EQ(out.str(), "13\n11\n");
}

TEST(Transfer, FunctionsRunWithTheGlobalsTheyRead) {
  std::ostringstream out;
  Vm source(quiet(out));
  source.run(R"(
fn fib(n) {
  if n < 2 { return n }
  return fib(n - 1) + fib(n - 2)
}
let scale = 3
let unrelated = [1, 2, 3]
let f = fn(x) { return fib(x) * scale }
)");
  Vm target(quiet(out));
  Transfer t(target.heap());
  Rooted f(target.heap(), t(source.global("f")));
  copy_referenced_globals(source, target, t);
  EXPECT_FALSE(target.global("fib").is_empty());
  EXPECT_FALSE(target.global("scale").is_empty());
  EXPECT_TRUE(target.global("unrelated").is_empty());  // f's code never names it
  Value arg = Value::small_int(15);
  EXPECT_EQ(target.call(f.get(), std::span<const Value>(&arg, 1)).as_int(), 610 * 3);
  // The copied prototype keeps its positions: errors point at the original lines.
  target.run("scale = nil");
  try {
    target.call(f.get(), std::span<const Value>(&arg, 1));
    FAIL() << "expected an error";
  } catch (const ScriptError& e) {
    ASSERT_FALSE(e.trace().empty());
    EXPECT_EQ(e.trace().front().rfind("<script>:8:", 0), 0u) << e.what();
  }
}

TEST(Transfer, CopyGlobalsKeepsTheTargetsBuiltins) {
  std::ostringstream out;
  VmOptions options = quiet(out);
  options.engine_modules = true;
  Vm source(options);
  source.run("let data = {\"k\": [1, 2]}\nfn twice(x) { return 2 * x }");
  Vm target(options);
  Value print_before = target.global("print");
  Value nexus_before = target.global("nexus");
  Transfer t(target.heap());
  copy_globals(source, target, t);
  EXPECT_EQ(target.global("print").as_object(), print_before.as_object());
  EXPECT_EQ(target.global("nexus").as_object(), nexus_before.as_object());
  target.run("print(twice(data.k[1]), len(data))");
  EXPECT_EQ(out.str(), "4 1\n");
}

TEST(Transfer, NativesKeepTheirFunction) {
  std::ostringstream out;
  Vm source(quiet(out));
  Heap to;
  Value len = source.global("len");
  Value copy = transfer(len, to);
  ASSERT_TRUE(copy.is_native());
  EXPECT_NE(copy.as_object(), len.as_object());
  EXPECT_EQ(copy.as_native()->fn, len.as_native()->fn);
  EXPECT_EQ(copy.as_native()->data, len.as_native()->data);
  EXPECT_EQ(copy.as_native()->arity, 1);
  EXPECT_EQ(copy.as_native()->name->view(), "len");
}

std::atomic<int> g_finalized{0};
void finalize_counted(void* data) noexcept {
  delete static_cast<std::int64_t*>(data);
  g_finalized.fetch_add(1);
}
const HandleType kClonable{"clonable", finalize_counted, nullptr, {}, nullptr, nullptr, clone_as<std::int64_t>};

TEST(Transfer, HandlesAreClonedOrRefusedByName) {
  g_finalized = 0;
  {
    Heap from, to;
    Value h = make_handle(from, kClonable, std::int64_t{42}, 64);
    Value copy = transfer(h, to);
    ASSERT_TRUE(copy.is_handle());
    EXPECT_TRUE(copy.as_handle()->is(kClonable));
    EXPECT_NE(copy.as_handle()->data(), h.as_handle()->data());
    EXPECT_EQ(*copy.as_handle()->data_as<std::int64_t>(), 42);
    EXPECT_EQ(copy.as_handle()->external_bytes(), 64u);
  }
  EXPECT_EQ(g_finalized.load(), 2);  // both finalized, each once

  std::ostringstream out;
  Vm source(quiet(out));
  source.run("let r = [range(3)]");
  Heap to;
  try {
    transfer(source.global("r"), to);
    FAIL() << "expected a TransferError";
  } catch (const TransferError& e) {
    EXPECT_NE(std::string(e.what()).find("value of type range cannot be copied"), std::string::npos) << e.what();
  }
}

TEST(Transfer, TargetBudgetIsEnforced) {
  std::ostringstream out;
  Vm source(quiet(out));
  source.run("let xs = []\nfor i in range(20000) { push(xs, [i]) }");
  HeapOptions small;
  small.memory_budget = 64 * 1024;
  Heap to(small);
  EXPECT_THROW(transfer(source.global("xs"), to), MemoryBudgetError);
}

}  // namespace
}  // namespace miso::mcode
