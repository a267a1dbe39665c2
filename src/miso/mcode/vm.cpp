// The interpreter loop and the run-time semantics of M-CODE operators and builtins.
#include "miso/mcode/vm.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <sstream>

#include "miso/mcode/builtins.hpp"
#include "miso/mcode/bytecode.hpp"
#include "miso/mcode/compiler.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/mcode/parser.hpp"

// Computed-goto dispatch (one indirect jump per opcode, better branch prediction) where
// the compiler has labels-as-values; a plain switch elsewhere. -DMISO_MCODE_COMPUTED_GOTO=0
// forces the switch (to test it).
#ifndef MISO_MCODE_COMPUTED_GOTO
#if defined(__GNUC__) || defined(__clang__)
#define MISO_MCODE_COMPUTED_GOTO 1
#else
#define MISO_MCODE_COMPUTED_GOTO 0
#endif
#endif

namespace miso::mcode {

struct Vm::Frame {
  Closure* closure = nullptr;
  const std::uint32_t* ip = nullptr;
  Value* base = nullptr;  // slot 0: the callee; parameters follow
};

struct Vm::Handler {
  std::size_t frame_count = 0;  // frames_.size() when installed
  Value* sp = nullptr;          // stack top to restore before pushing the caught value
  const std::uint32_t* target = nullptr;
};

namespace {

// Budget exhaustion: not catchable by scripts, so it bypasses the handler search.
struct BudgetExceeded {
  std::string message;
};

std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
std::int64_t wrap_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t wrap_mul(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}

#if defined(__GNUC__) || defined(__clang__)
#define MISO_MCODE_INLINE inline __attribute__((always_inline))
#else
#define MISO_MCODE_INLINE inline
#endif

// Inline fast paths of the operators (forced inline: the interpreter function is too large
// for the compiler's own inlining budget): true with the result, false when the general
// (out-of-line) function must decide. Small-int results that leave the small range fall
// back too (boxing allocates).
// Small ints add and subtract with their 50-bit payloads shifted to the top of an int64:
// a signed overflow there is exactly a result outside the small-int range.
constexpr int kPayloadShift = 64 - Value::kSmallIntBits;
constexpr std::uint64_t kSmallIntTag = Value::small_int(0).bits();
MISO_MCODE_INLINE bool fast_add(Value a, Value b, Value& r) {
  if (a.is_small_int() && b.is_small_int()) {
#if defined(__GNUC__) || defined(__clang__)
    std::int64_t sum = 0;
    if (__builtin_add_overflow(static_cast<std::int64_t>(a.bits() << kPayloadShift),
                               static_cast<std::int64_t>(b.bits() << kPayloadShift), &sum))
      return false;
    r = Value::from_bits(kSmallIntTag | (static_cast<std::uint64_t>(sum) >> kPayloadShift));
#else
    std::int64_t v = a.as_small_int() + b.as_small_int();
    if (!Value::fits_small_int(v)) return false;
    r = Value::small_int(v);
#endif
    return true;
  }
  if (!a.is_double() || !b.is_double()) return false;
  r = Value::number(a.as_double() + b.as_double());
  return true;
}
MISO_MCODE_INLINE bool fast_sub(Value a, Value b, Value& r) {
  if (a.is_small_int() && b.is_small_int()) {
#if defined(__GNUC__) || defined(__clang__)
    std::int64_t difference = 0;
    if (__builtin_sub_overflow(static_cast<std::int64_t>(a.bits() << kPayloadShift),
                               static_cast<std::int64_t>(b.bits() << kPayloadShift), &difference))
      return false;
    r = Value::from_bits(kSmallIntTag | (static_cast<std::uint64_t>(difference) >> kPayloadShift));
#else
    std::int64_t v = a.as_small_int() - b.as_small_int();
    if (!Value::fits_small_int(v)) return false;
    r = Value::small_int(v);
#endif
    return true;
  }
  if (!a.is_double() || !b.is_double()) return false;
  r = Value::number(a.as_double() - b.as_double());
  return true;
}
MISO_MCODE_INLINE bool fast_mul(Value a, Value b, Value& r) {
  if (a.is_small_int() && b.is_small_int()) {
    std::int64_t v = static_cast<std::int64_t>(static_cast<std::uint64_t>(a.as_small_int()) *
                                               static_cast<std::uint64_t>(b.as_small_int()));
    if (!Value::fits_small_int(v)) return false;
    r = Value::small_int(v);
    return true;
  }
  if (!a.is_double() || !b.is_double()) return false;
  r = Value::number(a.as_double() * b.as_double());
  return true;
}
// NaN operands compare false here exactly as through compare_numbers.
MISO_MCODE_INLINE bool fast_less(Value a, Value b, Value& r) {
  if (a.is_small_int() && b.is_small_int()) {
    r = Value::boolean(a.as_small_int() < b.as_small_int());
    return true;
  }
  if (!a.is_double() || !b.is_double()) return false;
  r = Value::boolean(a.as_double() < b.as_double());
  return true;
}
MISO_MCODE_INLINE bool fast_less_equal(Value a, Value b, Value& r) {
  if (a.is_small_int() && b.is_small_int()) {
    r = Value::boolean(a.as_small_int() <= b.as_small_int());
    return true;
  }
  if (!a.is_double() || !b.is_double()) return false;
  r = Value::boolean(a.as_double() <= b.as_double());
  return true;
}
// values_equal's easy cases: the same bits (not a double: NaN != NaN) are equal; a nil,
// bool or small int differs from anything with other bits except a number equal in value
// (a small int against a double or a boxed int), which values_equal decides.
MISO_MCODE_INLINE bool fast_equal_bits(Value a, Value b, bool& equal) {
  if (identical(a, b) && !a.is_double()) {
    equal = true;
    return true;
  }
  if (a.is_nil() || b.is_nil() || a.is_bool() || b.is_bool() || (a.is_small_int() && b.is_small_int())) {
    equal = false;
    return true;
  }
  return false;
}
MISO_MCODE_INLINE bool fast_equal(Value a, Value b, Value& r) {
  bool equal = false;
  if (!fast_equal_bits(a, b, equal)) return false;
  r = Value::boolean(equal);
  return true;
}
MISO_MCODE_INLINE bool fast_not_equal(Value a, Value b, Value& r) {
  bool equal = false;
  if (!fast_equal_bits(a, b, equal)) return false;
  r = Value::boolean(!equal);
  return true;
}
MISO_MCODE_INLINE bool fast_get_index(Value object, Value index, Value& r) {
  if (!object.is_list() || !index.is_small_int()) return false;
  List* list = object.as_list();
  std::int64_t i = index.as_small_int();
  if (i < 0 || static_cast<std::uint64_t>(i) >= list->size()) return false;
  r = list->at(static_cast<std::size_t>(i));
  return true;
}

constexpr int kAdd = 0, kSubtract = 1, kMultiply = 2, kDivide = 3, kFloorDivide = 4, kModulo = 5;
constexpr const char* kArithText[] = {"+", "-", "*", "/", "//", "%"};

std::string type_error(const char* op, Value a, Value b) {
  return std::string("unsupported operand types for ")
      .append(op)
      .append(": '")
      .append(type_name(a))
      .append("' and '")
      .append(type_name(b))
      .append("'");
}

}  // namespace

ScriptError::ScriptError(std::string message, std::vector<std::string> trace)
    : miso::Error(Kind::InvalidArgument,
                  [&] {
                    std::string text = message;
                    text.append("\nstack trace:");
                    for (const std::string& line : trace) text.append("\n  at ").append(line);
                    return text;
                  }()),
      message_(std::move(message)),
      trace_(std::move(trace)) {}

void NativeCallContext::error(const std::string& message) const { vm.raise_error(message); }

std::string NativeCallContext::name() const {
  if (native != nullptr) return std::string(native->name->view());
  if (binding != nullptr) return std::string(owner != nullptr ? owner : "?").append(".").append(binding->name);
  return "<native>";
}

Heap& NativeCallContext::heap() const noexcept { return vm.heap(); }

// ---------------------------------------------------------------------------
// Vm

Vm::Vm(VmOptions options)
    : options_(options),
      heap_([&] {
        HeapOptions h = options.heap;
        if (options.memory_budget != 0) h.memory_budget = options.memory_budget;
        return h;
      }()),
      output_(options.output != nullptr ? options.output : &std::cout),
      stack_(std::make_unique<Value[]>(options.stack_slots)) {
  sp_ = stack_.get();
  frames_.reserve(options_.max_call_depth + 2);
  globals_ = heap_.map();
  root_tracer_id_ = heap_.add_root_tracer([this](Tracer& tracer) {
    tracer.mark(std::span<const Value>(stack_.get(), static_cast<std::size_t>(sp_ - stack_.get())));
    for (const Frame& f : frames_) tracer.mark(f.closure);
    for (Upvalue* u = open_upvalues_; u != nullptr; u = u->next_open) tracer.mark(u);
    tracer.mark(globals_);
  });
  install_builtins();
  if (options_.engine_modules) install_engine_modules(*this);
}

Vm::~Vm() { heap_.remove_root_tracer(root_tracer_id_); }

void Vm::install_builtins() {
  for (const NativeBinding& b : global_builtins()) {
    Native* native = heap_.native(b.name, b.fn, b.arity, const_cast<NativeBinding*>(&b));
    define_global(b.name, Value::object(native));
    if (std::string_view(b.name) == "range") range_fn_ = b.fn;
  }
}

Map* Vm::define_module(std::string_view name, std::span<const NativeBinding> functions) {
  Rooted module(heap_, Value::object(heap_.map(functions.size())));
  for (const NativeBinding& b : functions) {
    std::string qualified = std::string(name).append(".").append(b.name);
    Native* native = heap_.native(qualified, b.fn, b.arity, const_cast<NativeBinding*>(&b));
    module->as_map()->set(heap_, heap_.string_value(b.name), Value::object(native));
  }
  define_global(name, module.get());
  return module->as_map();
}

std::filesystem::path Vm::checked_path(std::string_view path) {
  namespace fs = std::filesystem;
  auto normal = [](const fs::path& p) {
    std::error_code ec;
    fs::path n = fs::weakly_canonical(fs::absolute(p, ec), ec).lexically_normal();
    if (n.has_filename() || !n.has_parent_path()) return n;
    return n.parent_path();  // drop a trailing separator
  };
  fs::path wanted = normal(fs::path(path));
  for (const fs::path& allowed : options_.allowed_paths) {
    fs::path root = normal(allowed);
    auto [r, w] = std::mismatch(root.begin(), root.end(), wanted.begin(), wanted.end());
    if (r == root.end()) return wanted;
  }
  raise_error(std::string("file access denied: '")
                  .append(path)
                  .append(options_.allowed_paths.empty() ? "': this run allows no file access"
                                                         : "' is outside the allowed paths")
                  .append(" (the host grants access with --allow PATH)"));
}

void Vm::define_global(std::string_view name, Value value) { globals_->set(heap_, heap_.string_value(name), value); }

void Vm::define_native(std::string_view name, NativeFn fn, int arity) {
  define_global(name, Value::object(heap_.native(name, fn, arity)));
}

Value Vm::global(std::string_view name) const { return globals_->get(const_cast<Heap&>(heap_).string_value(name)); }

void Vm::for_each_global(const std::function<void(String* name, Value value)>& f) const {
  globals_->for_each([&](Value key, Value value) { f(key.as_string(), value); });
}

std::vector<std::string> Vm::stack_trace() const {
  std::vector<std::string> trace;
  for (std::size_t i = frames_.size(); i-- > 0;) {
    const Frame& f = frames_[i];
    const Function* fn = f.closure->function();
    std::size_t at = static_cast<std::size_t>(f.ip - fn->code.data());
    if (at > 0) --at;
    std::string line(fn->source != nullptr ? fn->source->view() : std::string_view("<script>"));
    line.append(":").append(std::to_string(fn->lines[at])).append(":").append(std::to_string(fn->columns[at]));
    line.append(" in ");
    if (fn->name != nullptr)
      line.append(fn->name->view());
    else
      line.append(i == 0 ? "<main>" : "<anonymous>");
    trace.push_back(std::move(line));
  }
  return trace;
}

void Vm::raise_error(const std::string& message) {
  std::vector<std::string> trace = stack_trace();
  Map* error = heap_.map(2);
  List* trace_list = heap_.list(trace.size());
  for (const std::string& line : trace) trace_list->push(heap_, heap_.string_value(line));
  error->set(heap_, heap_.string_value("message"), heap_.string_value(message));
  error->set(heap_, heap_.string_value("trace"), Value::object(trace_list));
  throw ScriptException{Value::object(error), message};
}

void Vm::throw_value(Value value, std::string message) { throw ScriptException{value, std::move(message)}; }

void Vm::budget_exhausted(const std::string& message) { throw BudgetExceeded{message}; }

bool Vm::unwind_to_handler(const ScriptException& exception) {
  if (handlers_.empty()) return false;
  Handler h = handlers_.back();
  handlers_.pop_back();
  close_upvalues(h.sp);
  frames_.resize(h.frame_count);
  sp_ = h.sp;
  *sp_++ = exception.value;
  frames_.back().ip = h.target;
  return true;
}

Upvalue* Vm::capture_upvalue(Value* slot) {
  Upvalue* previous = nullptr;
  Upvalue* u = open_upvalues_;
  while (u != nullptr && u->location > slot) {
    previous = u;
    u = u->next_open;
  }
  if (u != nullptr && u->location == slot) return u;
  Upvalue* created = heap_.upvalue(slot);
  created->next_open = u;
  if (previous == nullptr)
    open_upvalues_ = created;
  else
    previous->next_open = created;
  return created;
}

void Vm::close_upvalues(Value* from) {
  while (open_upvalues_ != nullptr && open_upvalues_->location >= from) {
    Upvalue* u = open_upvalues_;
    u->close();
    heap_.write_barrier(u, u->closed);
    open_upvalues_ = u->next_open;
    u->next_open = nullptr;
  }
}

std::uint64_t Vm::budget_check() {
  if (budget_end_ != 0 && instructions_ >= budget_end_)
    budget_exhausted(
        std::string("instruction budget of ").append(std::to_string(options_.instruction_budget)).append(" exceeded"));
  check_deadline();
  constexpr std::uint64_t kCheckInterval = 1024;
  std::uint64_t next_check = instructions_ + kCheckInterval;
  if (budget_end_ != 0 && next_check > budget_end_) next_check = budget_end_;
  return next_check;
}

void Vm::check_deadline() {
  if (interrupt_requested_.load(std::memory_order_relaxed)) {
    interrupt_requested_.store(false, std::memory_order_relaxed);
    budget_exhausted("interrupted");
  }
  if (has_deadline_ && std::chrono::steady_clock::now() > deadline_)
    budget_exhausted(
        std::string("time limit of ").append(std::to_string(options_.time_limit.count())).append(" ms exceeded"));
}

Value Vm::concat(Value a, Value b) { return Value::object(heap_.concat(a.as_string(), b.as_string())); }

Value Vm::binary_arith(int op, Value a, Value b) {
  if (op == kAdd && a.is_string() && b.is_string()) return concat(a, b);
  if (a.is_handle() || b.is_handle()) return handle_operator(static_cast<HandleOp>(op), a, b);
  if (!a.is_number() || !b.is_number()) raise_error(type_error(kArithText[op], a, b));
  if (a.is_int() && b.is_int()) {
    std::int64_t x = a.as_int(), y = b.as_int();
    switch (op) {
      case kAdd: return heap_.integer(wrap_add(x, y));
      case kSubtract: return heap_.integer(wrap_sub(x, y));
      case kMultiply: return heap_.integer(wrap_mul(x, y));
      case kDivide:
        if (y == 0) raise_error("division by zero");
        return Value::number(static_cast<double>(x) / static_cast<double>(y));
      case kFloorDivide: {
        if (y == 0) raise_error("division by zero");
        if (y == -1) return heap_.integer(wrap_sub(0, x));
        std::int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return heap_.integer(q);
      }
      default: {
        if (y == 0) raise_error("division by zero");
        if (y == -1) return Value::small_int(0);
        std::int64_t r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) r += y;
        return heap_.integer(r);
      }
    }
  }
  double x = a.to_double(), y = b.to_double();
  switch (op) {
    case kAdd: return Value::number(x + y);
    case kSubtract: return Value::number(x - y);
    case kMultiply: return Value::number(x * y);
    case kDivide:
      if (y == 0.0) raise_error("division by zero");
      return Value::number(x / y);
    case kFloorDivide:
      if (y == 0.0) raise_error("division by zero");
      return Value::number(std::floor(x / y));
    default: {
      if (y == 0.0) raise_error("division by zero");
      double r = std::fmod(x, y);
      if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
      return Value::number(r);
    }
  }
}

Value Vm::handle_operator(HandleOp op, Value a, Value b) {
  const HandleType* type = nullptr;
  if (a.is_handle() && a.as_handle()->type().binary != nullptr)
    type = &a.as_handle()->type();
  else if (b.is_handle() && b.as_handle()->type().binary != nullptr)
    type = &b.as_handle()->type();
  if (type == nullptr) {
    if (op == HandleOp::Negate) raise_error(std::string("cannot negate a value of type ").append(type_name(a)));
    raise_error(type_error(handle_op_text(op), a, b));
  }
  NativeCallContext context{*this};
  context.owner = type->name;
  return type->binary(context, op, a, b);
}

Value Vm::power(Value a, Value b) {
  if (a.is_handle() || b.is_handle()) return handle_operator(HandleOp::Power, a, b);
  if (!a.is_number() || !b.is_number()) raise_error(type_error("**", a, b));
  if (a.is_int() && b.is_int() && b.as_int() >= 0) {
    std::int64_t base = a.as_int(), exponent = b.as_int(), result = 1;
    while (exponent > 0) {
      if ((exponent & 1) != 0) result = wrap_mul(result, base);
      base = wrap_mul(base, base);
      exponent >>= 1;
    }
    return heap_.integer(result);
  }
  return Value::number(std::pow(a.to_double(), b.to_double()));
}

bool Vm::less(Value a, Value b, bool or_equal) {
  if (a.is_number() && b.is_number()) {
    auto order = compare_numbers(a, b);
    return or_equal ? (order == std::partial_ordering::less || order == std::partial_ordering::equivalent)
                    : order == std::partial_ordering::less;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string()->view().compare(b.as_string()->view());
    return or_equal ? c <= 0 : c < 0;
  }
  raise_error(std::string("cannot compare ").append(type_name(a)).append(" and ").append(type_name(b)));
}

Value Vm::get_index(Value object, Value index) {
  if (object.is_list()) {
    List* list = object.as_list();
    if (!index.is_int()) raise_error(std::string("list index must be an int, not ").append(type_name(index)));
    std::int64_t i = index.as_int();
    if (i < 0 || static_cast<std::uint64_t>(i) >= list->size())
      raise_error(std::string("list index ")
                      .append(std::to_string(i))
                      .append(" out of range for a list of size ")
                      .append(std::to_string(list->size())));
    return list->at(static_cast<std::size_t>(i));
  }
  if (object.is_map()) {
    Value v = object.as_map()->get(index);
    if (v.is_empty()) raise_error(std::string("key not found: ").append(to_repr_string(index)));
    return v;
  }
  if (object.is_string()) {
    String* s = object.as_string();
    if (!index.is_int()) raise_error(std::string("string index must be an int, not ").append(type_name(index)));
    std::int64_t i = index.as_int();
    if (i < 0 || static_cast<std::uint64_t>(i) >= s->size())
      raise_error(std::string("string index ")
                      .append(std::to_string(i))
                      .append(" out of range for a string of size ")
                      .append(std::to_string(s->size())));
    return heap_.string_value(s->view().substr(static_cast<std::size_t>(i), 1));
  }
  raise_error(std::string("cannot index a value of type ").append(type_name(object)));
}

void Vm::set_index(Value object, Value index, Value value) {
  if (object.is_list()) {
    List* list = object.as_list();
    if (!index.is_int()) raise_error(std::string("list index must be an int, not ").append(type_name(index)));
    std::int64_t i = index.as_int();
    if (i < 0 || static_cast<std::uint64_t>(i) >= list->size())
      raise_error(std::string("list index ")
                      .append(std::to_string(i))
                      .append(" out of range for a list of size ")
                      .append(std::to_string(list->size())));
    list->set(static_cast<std::size_t>(i), value);
    heap_.write_barrier(list, value);
    return;
  }
  if (object.is_map()) {
    if (index.is_nil()) raise_error("nil cannot be a map key");
    if (index.is_double() && std::isnan(index.as_double())) raise_error("NaN cannot be a map key");
    object.as_map()->set(heap_, index, value);
    heap_.write_barrier(object.as_object(), value);
    return;
  }
  raise_error(std::string("cannot assign into a value of type ").append(type_name(object)));
}

Value Vm::get_field(Value object, String* name) {
  if (object.is_map()) {
    Value v = object.as_map()->get(Value::object(name));
    if (v.is_empty()) raise_error(std::string("key not found: ").append(to_repr_string(Value::object(name))));
    return v;
  }
  if (object.is_handle()) {
    const HandleType& type = object.as_handle()->type();
    const NativeBinding* b = find_binding(type.methods, name->view());
    if (b != nullptr && b->property) {
      NativeCallContext context{*this, nullptr, type.name, b};
      return b->fn(context, std::span<const Value>(&object, 1));
    }
    if (b != nullptr)
      raise_error(std::string("'")
                      .append(name->view())
                      .append("' is a method of ")
                      .append(type.name)
                      .append(": call it as x.")
                      .append(name->view())
                      .append("(...)"));
  }
  raise_error(std::string("cannot read field '")
                  .append(name->view())
                  .append("' of a value of type ")
                  .append(type_name(object)));
}

void Vm::call_value(Value callee, std::uint32_t argc) {
  if (callee.is_closure()) {
    Closure* closure = callee.as_closure();
    Function* fn = closure->function();
    if (static_cast<std::uint32_t>(fn->arity) != argc)
      raise_error(std::string("function '")
                      .append(fn->name != nullptr ? fn->name->view() : std::string_view("<anonymous>"))
                      .append("' expects ")
                      .append(std::to_string(fn->arity))
                      .append(" argument")
                      .append(fn->arity == 1 ? "" : "s")
                      .append(", got ")
                      .append(std::to_string(argc)));
    Value* base = sp_ - argc - 1;
    if (frames_.size() >= options_.max_call_depth ||
        base + fn->register_count + 1 > stack_.get() + options_.stack_slots)
      raise_error(std::string("stack overflow (more than ")
                      .append(std::to_string(options_.max_call_depth))
                      .append(" nested calls)"));
    frames_.push_back(Frame{closure, fn->code.data(), base});
    return;
  }
  if (callee.is_native()) {
    Native* native = callee.as_native();
    if (native->arity >= 0 && static_cast<std::uint32_t>(native->arity) != argc)
      raise_error(std::string(native->name->view())
                      .append("() expects ")
                      .append(std::to_string(native->arity))
                      .append(" argument")
                      .append(native->arity == 1 ? "" : "s")
                      .append(", got ")
                      .append(std::to_string(argc)));
    NativeCallContext context{*this, native};
    Value result = native->fn(context, std::span<const Value>(sp_ - argc, argc));
    sp_ -= argc + 1;
    *sp_++ = result;
    return;
  }
  raise_error(std::string("cannot call a value of type ").append(type_name(callee)));
}

void Vm::method_call(String* name, std::uint32_t argc) {
  Value* receiver = sp_ - argc - 1;
  Value object = *receiver;
  std::span<const NativeBinding> table;
  const char* owner = nullptr;
  if (object.is_map()) {
    Value member = object.as_map()->get(Value::object(name));
    if (!member.is_empty() && member.is_callable()) {  // m.f(x) on a map holding a function
      *receiver = member;
      call_value(member, argc);
      return;
    }
    table = map_methods();
    owner = "map";
  } else if (object.is_list()) {
    table = list_methods();
    owner = "list";
  } else if (object.is_string()) {
    table = string_methods();
    owner = "string";
  } else if (object.is_handle()) {
    table = object.as_handle()->type().methods;
    owner = object.as_handle()->type().name;
  }
  const NativeBinding* b = find_binding(table, name->view());
  if (b == nullptr || b->property) {
    if (b != nullptr)
      raise_error(std::string("'")
                      .append(name->view())
                      .append("' is a property of ")
                      .append(owner)
                      .append(": read it as x.")
                      .append(name->view())
                      .append(" (no call)"));
    raise_error(std::string("a value of type ")
                    .append(type_name(object))
                    .append(" has no method '")
                    .append(name->view())
                    .append("'"));
  }
  if (b->arity >= 0 && static_cast<std::uint32_t>(b->arity) != argc)
    raise_error(std::string(owner)
                    .append(".")
                    .append(b->name)
                    .append("() expects ")
                    .append(std::to_string(b->arity))
                    .append(" argument")
                    .append(b->arity == 1 ? "" : "s")
                    .append(", got ")
                    .append(std::to_string(argc)));
  NativeCallContext context{*this, nullptr, owner, b};
  Value result = b->fn(context, std::span<const Value>(receiver, argc + 1));
  sp_ = receiver;
  *sp_++ = result;
}

void Vm::start_budgets() {
  interrupt_requested_.store(false, std::memory_order_relaxed);  // a request before this run is stale
  instructions_ = 0;
  budget_end_ = options_.instruction_budget;
  has_deadline_ = options_.time_limit.count() > 0;
  if (has_deadline_) deadline_ = std::chrono::steady_clock::now() + options_.time_limit;
}

void Vm::reset_after_failure() {
  close_upvalues(stack_.get());
  sp_ = stack_.get();
  frames_.clear();
  handlers_.clear();
}

Value Vm::call(Value callee, std::span<const Value> args) {
  bool from_host = frames_.empty();
  if (from_host) {
    sp_ = stack_.get();
    start_budgets();
  }
  if (static_cast<std::size_t>(stack_.get() + options_.stack_slots - sp_) < args.size() + 2)
    raise_error("stack overflow (no stack left for a call from a native)");
  Value* base = sp_;
  *sp_++ = callee;  // args may point into the stack below base: copying upwards is safe
  for (Value v : args) *sp_++ = v;
  std::size_t entry_frames = frames_.size();
  std::size_t handler_floor = handlers_.size();
  auto run_nested = [&] {
    call_value(callee, static_cast<std::uint32_t>(args.size()));
    if (frames_.size() == entry_frames) return;  // a native: already done
    for (;;) {
      try {
        execute(entry_frames);
        return;
      } catch (const ScriptException& exception) {
        // A handler installed inside this call catches it here. Otherwise it propagates
        // with the frames left in place, so that the catcher (a handler further out, which
        // cuts the frames and stack back to its own, or the top level) sees the whole trace.
        if (handlers_.size() > handler_floor && unwind_to_handler(exception)) continue;
        throw;
      }
    }
  };
  if (!from_host) {
    run_nested();
    Value result = *--sp_;
    sp_ = base;
    return result;
  }
  try {
    run_nested();
  } catch (const ScriptException& exception) {
    std::vector<std::string> trace = stack_trace();
    reset_after_failure();
    throw ScriptError(exception.message, std::move(trace));
  } catch (const BudgetExceeded& exceeded) {
    std::vector<std::string> trace = stack_trace();
    reset_after_failure();
    throw ScriptError(exceeded.message, std::move(trace));
  } catch (const MemoryBudgetError& error) {
    std::vector<std::string> trace = stack_trace();
    reset_after_failure();
    throw ScriptError(error.what(), std::move(trace));
  }
  Value result = *--sp_;
  sp_ = stack_.get();
  return result;
}

Value Vm::run(std::string_view source, std::string_view file_name) { return compile_and_run(source, file_name, false); }

Value Vm::run_interactive(std::string_view source, std::string_view file_name) {
  return compile_and_run(source, file_name, true);
}

Value Vm::compile_and_run(std::string_view source, std::string_view file_name, bool interactive) {
  ParseResult parsed = parse_program(source, file_name);
  if (!parsed.ok()) throw miso::Error(miso::Error::Kind::Format, format_diagnostics(parsed.diagnostics, source));
  CompileResult compiled = compile_program(
      parsed.program, heap_, [this](std::string_view name) { return !global(name).is_empty(); }, interactive);
  if (!compiled.ok()) throw miso::Error(miso::Error::Kind::Format, format_diagnostics(compiled.diagnostics, source));
  if (interactive) {
    bool ends_in_expression =
        !parsed.program.body.statements.empty() && parsed.program.body.statements.back()->kind == StmtKind::Expression;
    Value result = run_main(compiled.function);
    return ends_in_expression ? result : Value::empty();
  }
  return run_main(compiled.function);
}

Value Vm::run_main(Function* function) {
  if (static_cast<std::size_t>(function->register_count) + 1 > options_.stack_slots)
    throw ScriptError("stack overflow (the main chunk needs more stack than stack_slots)", {});
  sp_ = stack_.get();
  frames_.clear();
  handlers_.clear();
  open_upvalues_ = nullptr;
  Closure* main = heap_.closure(function, 0);
  *sp_++ = Value::object(main);
  frames_.push_back(Frame{main, function->code.data(), stack_.get()});
  start_budgets();

  auto fail = [&](std::string message) {
    std::vector<std::string> trace = stack_trace();
    reset_after_failure();
    throw ScriptError(std::move(message), std::move(trace));
  };
  for (;;) {
    try {
      execute(0);
      break;
    } catch (const ScriptException& exception) {
      if (!unwind_to_handler(exception)) fail(exception.message);
    } catch (const BudgetExceeded& exceeded) {
      fail(exceeded.message);
    } catch (const MemoryBudgetError& error) {
      fail(error.what());
    }
  }
  Value result = *--sp_;
  sp_ = stack_.get();
  frames_.clear();
  return result;
}

// ---------------------------------------------------------------------------
// The interpreter loop

#if MISO_MCODE_COMPUTED_GOTO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif

void Vm::execute(std::size_t entry_frames) {
  // The instruction pointer and the instruction count live in locals (registers); SAVE()
  // writes them back before anything that can raise (the trace and handlers read
  // frame->ip), call back into scripts (the nested loop counts on instructions_) or switch
  // frames. RELOAD_COUNT() takes the count back after code that may have run scripts.
  Frame* frame = &frames_.back();
  const std::uint32_t* ip = frame->ip;
  Value* base = frame->base;
  std::uint64_t count = instructions_;
  std::uint32_t word = 0;
  std::uint64_t next_check = count + 1;
  Value* const stack_end = stack_.get() + options_.stack_slots;
#define SAVE()             \
  do {                     \
    frame->ip = ip;        \
    instructions_ = count; \
  } while (0)
#define RELOAD_COUNT() (count = instructions_)
  // The instruction budget is charged at back-edges (the loop's length in words, so a
  // straight-line body costs exactly its instructions per iteration) and calls (1): every
  // unbounded execution passes there, and dispatch itself stays two instructions.
#define CHARGE(n)                  \
  do {                             \
    count += (n);                  \
    if (count >= next_check) {     \
      SAVE();                      \
      next_check = budget_check(); \
    }                              \
  } while (0)
#define LOAD_FRAME()         \
  do {                       \
    frame = &frames_.back(); \
    ip = frame->ip;          \
    base = frame->base;      \
  } while (0)
  // The operators: inline fast paths for small ints, doubles and in-range list indexes
  // (fast_* in the anonymous namespace); the rest (mixed, boxed ints, strings, handles,
  // errors) out of line after SAVE(). Nothing here takes the address of ip/count/frame, so
  // they stay in registers.
#define BINARY(FAST, SLOW, a, b, STORE, AFTER_SLOW) \
  do {                                              \
    Value r;                                        \
    if (FAST(a, b, r)) {                            \
      STORE;                                        \
    } else {                                        \
      SAVE();                                       \
      r = SLOW;                                     \
      RELOAD_COUNT();                               \
      STORE;                                        \
      AFTER_SLOW;                                   \
    }                                               \
  } while (0)
  // A concatenation allocates: a safepoint once its result is stored.
#define OP_add(a, b, STORE) \
  BINARY(fast_add, binary_arith(kAdd, a, b), a, b, STORE, if (r.is_object()) heap_.collect_if_needed())
#define OP_sub(a, b, STORE) BINARY(fast_sub, binary_arith(kSubtract, a, b), a, b, STORE, (void)0)
#define OP_mul(a, b, STORE) BINARY(fast_mul, binary_arith(kMultiply, a, b), a, b, STORE, (void)0)
#define OP_less(a, b, STORE) BINARY(fast_less, Value::boolean(less(a, b, false)), a, b, STORE, (void)0)
#define OP_less_equal(a, b, STORE) BINARY(fast_less_equal, Value::boolean(less(a, b, true)), a, b, STORE, (void)0)
#define OP_greater(a, b, STORE) BINARY(fast_less, Value::boolean(less(b, a, false)), b, a, STORE, (void)0)
#define OP_greater_equal(a, b, STORE) BINARY(fast_less_equal, Value::boolean(less(b, a, true)), b, a, STORE, (void)0)
#define OP_equal(a, b, STORE) BINARY(fast_equal, Value::boolean(values_equal(a, b)), a, b, STORE, (void)0)
#define OP_not_equal(a, b, STORE) BINARY(fast_not_equal, Value::boolean(!values_equal(a, b)), a, b, STORE, (void)0)
#define OP_get_index(a, b, STORE) BINARY(fast_get_index, get_index(a, b), a, b, STORE, (void)0)
#define READ_CONSTANT(i) (frame->closure->function()->constants[i])
#define OPERAND operand_of(word)

#if MISO_MCODE_COMPUTED_GOTO
  static void* const kLabels[] = {
#define MISO_MCODE_OP_LABEL(name) &&L_##name,
      MISO_MCODE_OPCODES(MISO_MCODE_OP_LABEL)
#undef MISO_MCODE_OP_LABEL
  };
#define DISPATCH()               \
  do {                           \
    word = *ip++;                \
    goto* kLabels[word & 0xFFu]; \
  } while (0)
#define CASE(name) L_##name:
  DISPATCH();
#else
#define DISPATCH() continue
#define CASE(name) case Op::name:
  for (;;) {
    word = *ip++;
    switch (opcode_of(word)) {
#endif

  CASE(Constant) { *sp_++ = READ_CONSTANT(OPERAND); }
  DISPATCH();
  CASE(Nil) { *sp_++ = Value(); }
  DISPATCH();
  CASE(True) { *sp_++ = Value::boolean(true); }
  DISPATCH();
  CASE(False) { *sp_++ = Value::boolean(false); }
  DISPATCH();
  CASE(Pop) { --sp_; }
  DISPATCH();
  CASE(GetLocal) { *sp_++ = base[OPERAND]; }
  DISPATCH();
  CASE(SetLocal) { base[OPERAND] = *--sp_; }
  DISPATCH();
  CASE(GetUpvalue) { *sp_++ = *frame->closure->upvalue(OPERAND)->location; }
  DISPATCH();
  CASE(SetUpvalue) {
    Upvalue* u = frame->closure->upvalue(OPERAND);
    *u->location = *--sp_;
    heap_.write_barrier(u, *u->location);
  }
  DISPATCH();
  CASE(GetGlobal) {
    Value name = READ_CONSTANT(OPERAND);
    Value v = globals_->get(name);
    if (v.is_empty()) {
      SAVE();
      raise_error(std::string("undefined variable '").append(name.as_string()->view()).append("'"));
    }
    *sp_++ = v;
  }
  DISPATCH();
  CASE(SetGlobal) {
    SAVE();
    globals_->set(heap_, READ_CONSTANT(OPERAND), sp_[-1]);
    heap_.write_barrier(globals_, sp_[-1]);
    --sp_;
  }
  DISPATCH();
  CASE(CloseUpvalue) {
    close_upvalues(sp_ - 1);
    --sp_;
  }
  DISPATCH();
  CASE(Add) {
    Value a = sp_[-2], b = sp_[-1];
    OP_add(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(Subtract) {
    Value a = sp_[-2], b = sp_[-1];
    OP_sub(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(Multiply) {
    Value a = sp_[-2], b = sp_[-1];
    OP_mul(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(Divide) {
    Value a = sp_[-2], b = sp_[-1];
    if (a.is_double() && b.is_double() && b.as_double() != 0.0) {
      sp_[-2] = Value::number(a.as_double() / b.as_double());
    } else {
      SAVE();
      sp_[-2] = binary_arith(kDivide, a, b);
      RELOAD_COUNT();
    }
    --sp_;
  }
  DISPATCH();
  CASE(FloorDivide) {
    SAVE();
    sp_[-2] = binary_arith(kFloorDivide, sp_[-2], sp_[-1]);
    RELOAD_COUNT();
    --sp_;
  }
  DISPATCH();
  CASE(Modulo) {
    SAVE();
    sp_[-2] = binary_arith(kModulo, sp_[-2], sp_[-1]);
    RELOAD_COUNT();
    --sp_;
  }
  DISPATCH();
  CASE(Power) {
    if (sp_[-2].is_double() && sp_[-1].is_double()) {
      sp_[-2] = Value::number(std::pow(sp_[-2].as_double(), sp_[-1].as_double()));
      --sp_;
      DISPATCH();
    }
    SAVE();
    sp_[-2] = power(sp_[-2], sp_[-1]);
    RELOAD_COUNT();
    --sp_;
  }
  DISPATCH();
  CASE(MatMul) {
    SAVE();
    sp_[-2] = handle_operator(HandleOp::MatMul, sp_[-2], sp_[-1]);
    RELOAD_COUNT();
    --sp_;
    heap_.collect_if_needed();
  }
  DISPATCH();
  CASE(Equal) {
    Value a = sp_[-2], b = sp_[-1];
    OP_equal(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(NotEqual) {
    Value a = sp_[-2], b = sp_[-1];
    OP_not_equal(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(Less) {
    Value a = sp_[-2], b = sp_[-1];
    OP_less(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(LessEqual) {
    Value a = sp_[-2], b = sp_[-1];
    OP_less_equal(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(Greater) {
    Value a = sp_[-2], b = sp_[-1];
    OP_greater(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(GreaterEqual) {
    Value a = sp_[-2], b = sp_[-1];
    OP_greater_equal(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(Negate) {
    Value v = sp_[-1];
    SAVE();  // a big result is boxed
    if (v.is_int())
      sp_[-1] = heap_.integer(wrap_sub(0, v.as_int()));
    else if (v.is_double())
      sp_[-1] = Value::number(-v.as_double());
    else {
      SAVE();
      sp_[-1] = handle_operator(HandleOp::Negate, v, Value());
      RELOAD_COUNT();
    }
  }
  DISPATCH();
  CASE(Not) { sp_[-1] = Value::boolean(!sp_[-1].is_truthy()); }
  DISPATCH();
  CASE(Jump) { ip += jump_offset_of(word); }
  DISPATCH();
  CASE(JumpIfFalse) {
    if (!(*--sp_).is_truthy()) ip += jump_offset_of(word);
  }
  DISPATCH();
  CASE(JumpIfFalseKeep) {
    if (!sp_[-1].is_truthy())
      ip += jump_offset_of(word);
    else
      --sp_;
  }
  DISPATCH();
  CASE(JumpIfTrueKeep) {
    if (sp_[-1].is_truthy())
      ip += jump_offset_of(word);
    else
      --sp_;
  }
  DISPATCH();
  CASE(Loop) {
    ip += jump_offset_of(word);
    CHARGE(static_cast<std::uint64_t>(-jump_offset_of(word)));
    heap_.collect_if_needed();
  }
  DISPATCH();
  CASE(Call) {
    std::uint32_t argc = OPERAND;
    Value callee = sp_[-static_cast<std::ptrdiff_t>(argc) - 1];
    CHARGE(1);
    SAVE();
    heap_.collect_if_needed();
    // A closure with the right arity and room on both stacks: push its frame inline.
    if (callee.is_closure()) {
      Closure* closure = callee.as_closure();
      Function* fn = closure->function();
      Value* callee_base = sp_ - argc - 1;
      if (static_cast<std::uint32_t>(fn->arity) == argc && frames_.size() < options_.max_call_depth &&
          callee_base + fn->register_count + 1 <= stack_end) {
        frames_.push_back(Frame{closure, fn->code.data(), callee_base});
        frame = &frames_.back();
        ip = frame->ip;
        base = callee_base;
        DISPATCH();
      }
    }
    call_value(callee, argc);  // natives, and the errors
    RELOAD_COUNT();
    LOAD_FRAME();
  }
  DISPATCH();
  CASE(MethodCall) {
    std::uint32_t a = OPERAND;
    CHARGE(1);
    SAVE();
    heap_.collect_if_needed();
    method_call(READ_CONSTANT(a & 0xFFFFu).as_string(), a >> 16);
    RELOAD_COUNT();
    LOAD_FRAME();
  }
  DISPATCH();
  CASE(Return) {
    Value result = sp_[-1];
    if (open_upvalues_ != nullptr && open_upvalues_->location >= base) close_upvalues(base);
    while (!handlers_.empty() && handlers_.back().frame_count == frames_.size()) handlers_.pop_back();
    sp_ = base;
    frames_.pop_back();
    *sp_++ = result;
    if (frames_.size() == entry_frames) {
      instructions_ = count;
      return;
    }
    LOAD_FRAME();
  }
  DISPATCH();
  CASE(Closure) {
    SAVE();  // allocations may exceed the memory budget
    Function* fn = READ_CONSTANT(OPERAND).as_function();
    Closure* closure = heap_.closure(fn, fn->upvalues.size());
    for (std::size_t i = 0; i < fn->upvalues.size(); ++i) {
      const Function::UpvalueSource& source = fn->upvalues[i];
      closure->upvalue(i) =
          source.from_parent_register ? capture_upvalue(base + source.index) : frame->closure->upvalue(source.index);
    }
    *sp_++ = Value::object(closure);
    heap_.collect_if_needed();
  }
  DISPATCH();
  CASE(MakeList) {
    SAVE();
    std::uint32_t n = OPERAND;
    List* list = heap_.list(n);
    for (Value* v = sp_ - n; v < sp_; ++v) list->push(heap_, *v);
    sp_ -= n;
    *sp_++ = Value::object(list);
    heap_.collect_if_needed();
  }
  DISPATCH();
  CASE(MakeMap) {
    SAVE();
    std::uint32_t n = OPERAND;
    Map* map = heap_.map(n);
    *sp_++ = Value::object(map);  // rooted while the entries are inserted
    for (Value* v = sp_ - 1 - 2 * n; v < sp_ - 1; v += 2) {
      if (v[0].is_nil()) raise_error("nil cannot be a map key");
      if (v[0].is_double() && std::isnan(v[0].as_double())) raise_error("NaN cannot be a map key");
      map->set(heap_, v[0], v[1]);
    }
    sp_ -= 2 * n + 1;
    *sp_++ = Value::object(map);
    heap_.collect_if_needed();
  }
  DISPATCH();
  CASE(GetIndex) {
    Value a = sp_[-2], b = sp_[-1];
    OP_get_index(a, b, sp_[-2] = r);
    --sp_;
  }
  DISPATCH();
  CASE(SetIndex) {
    Value object = sp_[-3], index = sp_[-2], value = sp_[-1];
    if (object.is_list() && index.is_small_int() && index.as_small_int() >= 0 &&
        static_cast<std::uint64_t>(index.as_small_int()) < object.as_list()->size()) {
      object.as_list()->set(static_cast<std::size_t>(index.as_small_int()), value);
      heap_.write_barrier(object.as_list(), value);
    } else {
      SAVE();
      set_index(object, index, value);
    }
    sp_ -= 3;
  }
  DISPATCH();
  CASE(GetField) {
    SAVE();
    sp_[-1] = get_field(sp_[-1], READ_CONSTANT(OPERAND).as_string());
    RELOAD_COUNT();
  }
  DISPATCH();
  CASE(SetField) {
    SAVE();
    set_index(sp_[-2], READ_CONSTANT(OPERAND), sp_[-1]);
    sp_ -= 2;
  }
  DISPATCH();
  CASE(IterPrepare) {
    SAVE();
    Value v = sp_[-1];
    if (v.is_map())
      sp_[-1] = keys_of(heap_, v.as_map());
    else if (v.is_string()) {
      String* s = v.as_string();
      List* chars = heap_.list(s->size());
      sp_[-1] = Value::object(chars);  // keeps the list rooted; `s` stays alive via constants/locals
      for (std::size_t i = 0; i < s->size(); ++i) chars->push(heap_, heap_.string_value(s->view().substr(i, 1)));
    } else if (!v.is_list() && !(v.is_handle() && v.as_handle()->is(kRangeType)))
      raise_error(std::string("cannot iterate over a value of type ").append(type_name(v)));
  }
  DISPATCH();
  CASE(ForRangePrep) {
    // Stack: range, args at slots A .. A+argc. The builtin range with small-int arguments
    // becomes counter/limit/step in slots A..A+2 (nothing allocated); anything else (range
    // redefined, big ints, wrong types, zero step) falls through to the generic Call.
    std::uint32_t a = OPERAND;
    std::uint32_t argc = a >> 16;
    Value* slots = base + (a & 0xFFFFu);
    Value callee = slots[0];
    if (callee.is_native() && callee.as_native()->fn == range_fn_) {
      Value start = Value::small_int(0), stop = slots[1], step = Value::small_int(1);
      if (argc >= 2) {
        start = slots[1];
        stop = slots[2];
      }
      if (argc == 3) step = slots[3];
      if (start.is_small_int() && stop.is_small_int() && step.is_small_int() && step.as_small_int() != 0) {
        // The trip count, exact (small ints cannot overflow int64 here).
        std::int64_t first = start.as_small_int(), last = stop.as_small_int(), by = step.as_small_int();
        std::uint64_t trips = 0;
        if (by > 0 && first < last)
          trips = (static_cast<std::uint64_t>(last - first) - 1) / static_cast<std::uint64_t>(by) + 1;
        else if (by < 0 && first > last)
          trips = (static_cast<std::uint64_t>(first - last) - 1) / static_cast<std::uint64_t>(-by) + 1;
        slots[0] = start;
        slots[1] = Value::small_int(static_cast<std::int64_t>(trips));
        slots[2] = step;
        slots[3] = Value();
        sp_ = slots + 4;
        ip += 5;  // over Call, IterPrepare, Constant 0, Nil, Nil: to the Jump to ForLoop
      }
    }
  }
  DISPATCH();
  CASE(ForLoop) {
    // Slots A..A+3: counter, trips left, step (a small int: int range) and the variable;
    // or source, cursor, nil (generic: a list, a map's key list or a range object).
    Value* slots = base + OPERAND;
    bool has_next = false;
    if (slots[2].is_small_int()) {
      // counter, trips left, step: no comparison with the bound and no decoding; the
      // counter advances in the encoded form (small-int payloads add modulo 2^50, exact
      // while the value is in range, and only in-range values reach the variable).
      Value left = slots[1];
      if (left.bits() != Value::small_int(0).bits()) {
        slots[1] = Value::from_bits(left.bits() - 1);
        Value counter = slots[0];
        slots[3] = counter;
        slots[0] = Value::small_int(static_cast<std::int64_t>(counter.bits() + slots[2].bits()));
        has_next = true;
      }
    } else {
      std::int64_t cursor = slots[1].as_small_int();
      if (slots[0].is_list()) {
        List* list = slots[0].as_list();
        if (static_cast<std::uint64_t>(cursor) < list->size()) {
          slots[3] = list->at(static_cast<std::size_t>(cursor));
          has_next = true;
        }
      } else {
        // A range object: the element count in unsigned arithmetic (exact for any int64
        // bounds, so iteration stops at the bounds instead of wrapping around).
        const RangeData* range = slots[0].as_handle()->data_as<RangeData>();
        std::uint64_t length = 0;
        if (range->step > 0 && range->start < range->stop)
          length = (static_cast<std::uint64_t>(range->stop) - static_cast<std::uint64_t>(range->start) - 1) /
                       static_cast<std::uint64_t>(range->step) +
                   1;
        else if (range->step < 0 && range->start > range->stop)
          length = (static_cast<std::uint64_t>(range->start) - static_cast<std::uint64_t>(range->stop) - 1) /
                       (0 - static_cast<std::uint64_t>(range->step)) +
                   1;
        if (static_cast<std::uint64_t>(cursor) < length) {
          SAVE();  // a big int is boxed
          slots[3] = heap_.integer(wrap_add(range->start, wrap_mul(cursor, range->step)));
          has_next = true;
        }
      }
      if (has_next) slots[1] = Value::small_int(cursor + 1);
    }
    if (has_next) {
      std::int32_t back = jump_offset_of(*ip);
      ip += 1 + back;
      CHARGE(static_cast<std::uint64_t>(-back));
      heap_.collect_if_needed();
    } else {
      ++ip;  // over the back-edge word
    }
  }
  DISPATCH();
  CASE(CloseSlot) {
    Value* slot = base + OPERAND;
    if (open_upvalues_ != nullptr && open_upvalues_->location >= slot) close_upvalues(slot);
  }
  DISPATCH();
  CASE(TryBegin) { handlers_.push_back(Handler{frames_.size(), sp_, ip + jump_offset_of(word)}); }
  DISPATCH();
  CASE(TryEnd) { handlers_.pop_back(); }
  DISPATCH();
  CASE(Throw) {
    Value v = *--sp_;
    *sp_++ = v;  // stays rooted until the handler takes it
    SAVE();
    throw_value(v, std::string("uncaught exception: ").append(to_display_string(v)));
  }
  DISPATCH();
  CASE(GetIndexLL) {
    std::uint32_t operand = OPERAND;
    Value a = base[operand & 0xFFu], b = base[operand >> 8];
    OP_get_index(a, b, *sp_++ = r);
  }
  DISPATCH();
  CASE(GetIndexK) {
    Value a = sp_[-1], b = READ_CONSTANT(OPERAND);
    OP_get_index(a, b, sp_[-1] = r);
  }
  DISPATCH();
  CASE(SetIndexLL) {
    std::uint32_t operand = OPERAND;
    Value object = base[operand & 0xFFu], index = base[operand >> 8], value = sp_[-1];
    if (object.is_list() && index.is_small_int() && index.as_small_int() >= 0 &&
        static_cast<std::uint64_t>(index.as_small_int()) < object.as_list()->size()) {
      object.as_list()->set(static_cast<std::size_t>(index.as_small_int()), value);
      heap_.write_barrier(object.as_list(), value);
    } else {
      SAVE();
      set_index(object, index, value);
    }
    --sp_;
  }
  DISPATCH();
  CASE(PopN) { sp_ -= OPERAND; }
  DISPATCH();
#define MISO_MCODE_TO_LOCAL_CASES(NAME, OP)           \
  CASE(NAME##ToLocal) {                               \
    Value* slot = base + OPERAND;                     \
    Value a = *slot, b = sp_[-1];                     \
    OP(a, b, *slot = r);                              \
    --sp_;                                            \
  }                                                   \
  DISPATCH();                                         \
  CASE(NAME##ToLocalL) {                              \
    std::uint32_t operand = OPERAND;                  \
    Value* slot = base + (operand & 0xFFu);           \
    Value a = *slot, b = base[operand >> 8];          \
    OP(a, b, *slot = r);                              \
  }                                                   \
  DISPATCH();                                         \
  CASE(NAME##ToLocalK) {                              \
    std::uint32_t operand = OPERAND;                  \
    Value* slot = base + (operand & 0xFFu);           \
    Value a = *slot, b = READ_CONSTANT(operand >> 8); \
    OP(a, b, *slot = r);                              \
  }                                                   \
  DISPATCH();
  MISO_MCODE_TO_LOCAL_CASES(Add, OP_add)
  MISO_MCODE_TO_LOCAL_CASES(Subtract, OP_sub)
  MISO_MCODE_TO_LOCAL_CASES(Multiply, OP_mul)
#undef MISO_MCODE_TO_LOCAL_CASES

  // The operand forms of the binary operators (see bytecode.hpp).
#define MISO_MCODE_FUSED_CASES(NAME, OP)                              \
  CASE(NAME##K) {                                                     \
    Value a = sp_[-1], b = READ_CONSTANT(OPERAND);                    \
    OP(a, b, sp_[-1] = r);                                            \
  }                                                                   \
  DISPATCH();                                                         \
  CASE(NAME##L) {                                                     \
    Value a = sp_[-1], b = base[OPERAND];                             \
    OP(a, b, sp_[-1] = r);                                            \
  }                                                                   \
  DISPATCH();                                                         \
  CASE(NAME##LL) {                                                    \
    std::uint32_t operand = OPERAND;                                  \
    Value a = base[operand & 0xFFu], b = base[operand >> 8];          \
    OP(a, b, *sp_++ = r);                                             \
  }                                                                   \
  DISPATCH();                                                         \
  CASE(NAME##LK) {                                                    \
    std::uint32_t operand = OPERAND;                                  \
    Value a = base[operand & 0xFFu], b = READ_CONSTANT(operand >> 8); \
    OP(a, b, *sp_++ = r);                                             \
  }                                                                   \
  DISPATCH();
  MISO_MCODE_FUSED_CASES(Add, OP_add)
  MISO_MCODE_FUSED_CASES(Subtract, OP_sub)
  MISO_MCODE_FUSED_CASES(Multiply, OP_mul)
  MISO_MCODE_FUSED_CASES(Less, OP_less)
  MISO_MCODE_FUSED_CASES(LessEqual, OP_less_equal)
  MISO_MCODE_FUSED_CASES(Greater, OP_greater)
  MISO_MCODE_FUSED_CASES(GreaterEqual, OP_greater_equal)
  MISO_MCODE_FUSED_CASES(Equal, OP_equal)
  MISO_MCODE_FUSED_CASES(NotEqual, OP_not_equal)
#undef MISO_MCODE_FUSED_CASES

#if !MISO_MCODE_COMPUTED_GOTO
  case Op::Count: break;
}
}
#endif
#undef CASE
#undef DISPATCH
#undef READ_CONSTANT
#undef OPERAND
#undef SAVE
#undef CHARGE
#undef RELOAD_COUNT
#undef BINARY
#undef OP_add
#undef OP_sub
#undef OP_mul
#undef OP_less
#undef OP_less_equal
#undef OP_greater
#undef OP_greater_equal
#undef OP_equal
#undef OP_not_equal
#undef OP_get_index
#undef LOAD_FRAME
}

#if MISO_MCODE_COMPUTED_GOTO
#pragma GCC diagnostic pop
#endif

std::string run_to_string(std::string_view source, VmOptions options) {
  std::ostringstream out;
  options.output = &out;
  Vm vm(options);
  vm.run(source, "<script>");
  return out.str();
}

}  // namespace miso::mcode
