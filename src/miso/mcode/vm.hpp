// The M-CODE virtual machine: runs compiled bytecode (bytecode.hpp) with a value stack,
// a call-frame stack, closures with open/closed upvalues, try/catch handlers, built-in
// functions and the budgets (instructions, wall-clock time, memory) untrusted scripts run
// under. Run-time errors are M-CODE exceptions (catchable); uncaught ones and exhausted
// budgets reach the host as miso::Error with the message and the M-CODE stack trace.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mcode/diagnostic.hpp"
#include "miso/mcode/heap.hpp"
#include "miso/mcode/value.hpp"

namespace miso::mcode {

namespace detail {
// The VM's call-frame stack: a vector whose push/pop stay inline in the interpreter loop
// (std::vector::emplace_back is not inlined there); reserve() sizes it for the call-depth
// limit, so growing is the cold path.
template <class T>
class FrameStack {
 public:
  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    std::unique_ptr<T[]> grown(new T[n]);
    for (std::size_t i = 0; i < size_; ++i) grown[i] = data_[i];
    data_ = std::move(grown);
    capacity_ = n;
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& back() noexcept { return data_[size_ - 1]; }
  const T& back() const noexcept { return data_[size_ - 1]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  void push_back(const T& v) {
    if (size_ == capacity_) [[unlikely]]
      grow();
    data_[size_++] = v;
  }
  void pop_back() noexcept { --size_; }
  void resize(std::size_t n) noexcept { size_ = n; }  // shrinking only
  void clear() noexcept { size_ = 0; }
  const T* begin() const noexcept { return data_.get(); }
  const T* end() const noexcept { return data_.get() + size_; }

 private:
#if defined(__GNUC__) || defined(__clang__)
  __attribute__((noinline))
#endif
  void
  grow() {
    reserve(capacity_ * 2 + 8);
  }
  std::unique_ptr<T[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};
}  // namespace detail

struct VmOptions {
  std::ostream* output = nullptr;           // print() target; nullptr = std::cout
  std::uint64_t instruction_budget = 0;     // per run(), see instructions_executed(); 0 = unlimited
  std::chrono::milliseconds time_limit{0};  // wall-clock per run(); 0 = unlimited
  std::size_t memory_budget = 0;            // heap bytes; 0 = unlimited
  std::size_t max_call_depth = 1000;        // nested calls before "stack overflow"
  std::size_t stack_slots = 1u << 18;       // value stack size (never reallocated)
  HeapOptions heap;                         // collector tuning (memory_budget above wins)
  // Files and directories scripts may read and write (read_file, qlogik.load, ...):
  // a path is allowed when it lies inside one of these. Empty: no file access at all.
  std::vector<std::filesystem::path> allowed_paths;
  // Bind the engine modules (tmath, echo, qlogik, bridge, mprime, nexus, profiler) as
  // globals. Off: the core language and builtins only.
  bool engine_modules = true;
};

class Vm;

// Given to natives: the VM (for its heap and output) and what they need to raise errors.
struct NativeCallContext {
  Vm& vm;
  const Native* native = nullptr;          // a called function: its (qualified) name
  const char* owner = nullptr;             // a called method: the receiver's type name ...
  const NativeBinding* binding = nullptr;  // ... and its binding
  // Raises an M-CODE run-time error at the call's position (does not return).
  [[noreturn]] void error(const std::string& message) const;
  // The qualified name for messages: "tmath.randn", "tensor.sum", "print".
  std::string name() const;
  Heap& heap() const noexcept;
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
  // As run(), for a REPL: when the last top-level statement is an expression its value
  // is returned; otherwise Value::empty().
  Value run_interactive(std::string_view source, std::string_view file_name = "<stdin>");

  // Calls a script function (closure or native) from C++ — from a native, re-entrantly,
  // or from the host after run(). Arguments are copied onto the VM stack (the span may
  // point into it). Exceptions the callee does not catch propagate: out of a native they
  // continue unwinding the calling script; from the host they arrive as ScriptError.
  Value call(Value callee, std::span<const Value> args);

  // Binds a module global `name`: a map from each binding's name to a native named
  // "name.binding". Returns the map (hosts may add constants to it).
  Map* define_module(std::string_view name, std::span<const NativeBinding> functions);

  // The path a script may access, resolved against the current directory, or a run-time
  // error naming the path when it lies outside VmOptions::allowed_paths.
  std::filesystem::path checked_path(std::string_view path);

  const VmOptions& options() const noexcept { return options_; }

  // Asks the running script to stop: at its next budget check (within about a thousand
  // instructions) run() fails with "interrupted", which scripts cannot catch. Safe to
  // call from another thread or a signal handler (a lock-free atomic store).
  void request_interrupt() noexcept { interrupt_requested_.store(true, std::memory_order_relaxed); }

  Heap& heap() noexcept { return heap_; }
  std::ostream& output() noexcept { return *output_; }
  void define_global(std::string_view name, Value value);
  void define_native(std::string_view name, NativeFn fn, int arity);
  // The global's value, or Value::empty() when undefined.
  Value global(std::string_view name) const;
  // Calls f(name, value) for every global, in definition order.
  void for_each_global(const std::function<void(String* name, Value value)>& f) const;
  // The instruction count the budget sees: charged at loop back-edges (the body's length in
  // instruction words per iteration) and calls (1), so exact for straight-line loop bodies.
  std::uint64_t instructions_executed() const noexcept { return instructions_; }

  // Raises a run-time error at the current instruction (does not return).
  [[noreturn]] void raise_error(const std::string& message);

 private:
  struct Frame;
  struct Handler;
  void install_builtins();
  Value compile_and_run(std::string_view source, std::string_view file_name, bool interactive);
  Value run_main(Function* main);
  void start_budgets();
  void reset_after_failure();
  void execute(std::size_t entry_frames);
  void call_value(Value callee, std::uint32_t argc);
  [[noreturn]] void throw_value(Value value, std::string message);
  [[noreturn]] void budget_exhausted(const std::string& message);
  bool unwind_to_handler(const ScriptException& exception);
  std::vector<std::string> stack_trace() const;
  Upvalue* capture_upvalue(Value* slot);
  void close_upvalues(Value* from);
  void check_deadline();
  std::uint64_t budget_check();  // at every 1024th instruction: budgets; the next check
  Value binary_arith(int op, Value a, Value b);
  Value power(Value a, Value b);
  bool less(Value a, Value b, bool or_equal);
  Value get_index(Value object, Value index);
  void set_index(Value object, Value index, Value value);
  Value get_field(Value object, String* name);
  void method_call(String* name, std::uint32_t argc);
  Value handle_operator(HandleOp op, Value a, Value b);
  Value concat(Value a, Value b);

  VmOptions options_;
  Heap heap_;
  std::ostream* output_;
  std::unique_ptr<Value[]> stack_;
  Value* sp_ = nullptr;
  detail::FrameStack<Frame> frames_;
  std::vector<Handler> handlers_;
  Upvalue* open_upvalues_ = nullptr;
  Map* globals_ = nullptr;
  std::size_t root_tracer_id_ = 0;
  std::uint64_t instructions_ = 0;
  std::uint64_t budget_end_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  bool has_deadline_ = false;
  std::atomic<bool> interrupt_requested_{false};
  static_assert(std::atomic<bool>::is_always_lock_free);
  NativeFn range_fn_ = nullptr;  // the builtin range(): ForRangePrep's fast path checks for it
};

// Runs `source` on a fresh Vm and returns everything it printed (tests, tools).
std::string run_to_string(std::string_view source, VmOptions options = {});

}  // namespace miso::mcode
