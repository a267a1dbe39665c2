// The M-CODE virtual machine: runs compiled bytecode (bytecode.hpp) with a value stack,
// a call-frame stack, closures with open/closed upvalues, try/catch handlers, built-in
// functions and the budgets (instructions, wall-clock time, memory) untrusted scripts run
// under. Run-time errors are M-CODE exceptions (catchable); uncaught ones and exhausted
// budgets reach the host as miso::Error with the message and the M-CODE stack trace.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mcode/diagnostic.hpp"
#include "miso/mcode/heap.hpp"
#include "miso/mcode/value.hpp"

namespace miso::mcode {

struct VmOptions {
  std::ostream* output = nullptr;           // print() target; nullptr = std::cout
  std::uint64_t instruction_budget = 0;     // instructions per run(); 0 = unlimited
  std::chrono::milliseconds time_limit{0};  // wall-clock per run(); 0 = unlimited
  std::size_t memory_budget = 0;            // heap bytes; 0 = unlimited
  std::size_t max_call_depth = 1000;        // nested calls before "stack overflow"
  std::size_t stack_slots = 1u << 18;       // value stack size (never reallocated)
  HeapOptions heap;                         // collector tuning (memory_budget above wins)
};

class Vm;

// Given to natives: the VM (for its heap and output) and what they need to raise errors.
struct NativeCallContext {
  Vm& vm;
  // Raises an M-CODE run-time error at the call's position (does not return).
  [[noreturn]] void error(const std::string& message) const;
};

// A run-time error or `throw` travelling through C++ frames of the VM (internal; natives
// raise through NativeCallContext::error). Never escapes Vm::run.
struct ScriptException {
  Value value;          // the thrown value (for run-time errors: {"message", "trace"} map)
  std::string message;  // display text of the error
};

// Uncaught M-CODE exceptions and budget exhaustion leave run() as this (a miso::Error of
// kind InvalidArgument; what() = message, newline, "stack trace:" and one
// "  at file:line:column in name" line per frame, innermost first).
class ScriptError : public miso::Error {
 public:
  ScriptError(std::string message, std::vector<std::string> trace);
  const std::string& error_message() const noexcept { return message_; }
  const std::vector<std::string>& trace() const noexcept { return trace_; }

 private:
  std::string message_;
  std::vector<std::string> trace_;
};

class Vm {
 public:
  explicit Vm(VmOptions options = {});
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  // Parses, compiles and runs a script; returns what the main chunk returns, which is
  // always nil today (a top-level `return` is a compile error; a REPL will compile
  // expressions as `return expr` chunks). Syntax and scope errors throw
  // miso::Error(Format) with all diagnostics formatted; run-time failures ScriptError.
  // Globals persist across runs on the same Vm (a later run may assign them).
  Value run(std::string_view source, std::string_view file_name = "<script>");

  Heap& heap() noexcept { return heap_; }
  std::ostream& output() noexcept { return *output_; }
  void define_global(std::string_view name, Value value);
  void define_native(std::string_view name, NativeFn fn, int arity);
  // The global's value, or Value::empty() when undefined.
  Value global(std::string_view name) const;
  std::uint64_t instructions_executed() const noexcept { return instructions_; }

  // Raises a run-time error at the current instruction (does not return).
  [[noreturn]] void raise_error(const std::string& message);

 private:
  struct Frame;
  struct Handler;
  void install_builtins();
  void execute(std::size_t entry_frames);
  void call_value(Value callee, std::uint32_t argc);
  [[noreturn]] void throw_value(Value value, std::string message);
  [[noreturn]] void budget_exhausted(const std::string& message);
  bool unwind_to_handler(const ScriptException& exception);
  std::vector<std::string> stack_trace() const;
  Upvalue* capture_upvalue(Value* slot);
  void close_upvalues(Value* from);
  void check_deadline();
  Value binary_arith(int op, Value a, Value b);
  Value power(Value a, Value b);
  bool less(Value a, Value b, bool or_equal);
  Value get_index(Value object, Value index);
  void set_index(Value object, Value index, Value value);
  Value get_field(Value object, String* name);
  void method_call(String* name, std::uint32_t argc);
  Value concat(Value a, Value b);

  VmOptions options_;
  Heap heap_;
  std::ostream* output_;
  std::unique_ptr<Value[]> stack_;
  Value* sp_ = nullptr;
  std::vector<Frame> frames_;
  std::vector<Handler> handlers_;
  Upvalue* open_upvalues_ = nullptr;
  Map* globals_ = nullptr;
  std::size_t root_tracer_id_ = 0;
  std::uint64_t instructions_ = 0;
  std::uint64_t budget_end_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  bool has_deadline_ = false;
};

// Runs `source` on a fresh Vm and returns everything it printed (tests, tools).
std::string run_to_string(std::string_view source, VmOptions options = {});

}  // namespace miso::mcode
