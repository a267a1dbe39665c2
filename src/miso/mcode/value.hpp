// M-CODE values: the 8-byte NaN-boxed `Value` every register, constant and container
// slot holds, and the layouts of the heap objects it can point to (strings, lists, maps,
// functions, closures, upvalues, natives, engine handles, boxed 64-bit ints).
// Allocation and garbage collection live in heap.hpp; this file only describes data.
//
// ## Value layout (one 64-bit word)
//
//   bits                                   meaning
//   0x0000_0000_0000_0000..0xFFF8_FFFF_..  a double, stored as itself (IEEE-754 bits)
//   0xFFF9_pppp_pppp_pppp                  pointer to an Obj (48-bit address p)
//   0xFFFA_0000_0000_0000                  nil
//   0xFFFA_0000_0000_0001                  "empty": internal marker (map tombstones,
//                                          absent results); never visible to scripts
//   0xFFFA_0000_0000_0002 / ..._0003       false / true
//   0xFFFB_...                             unused (reserved)
//   0xFFFC_0000_0000_0000..0xFFFF_FFFF_..  small int: low 50 bits, two's complement
//
// Every double whose bits are below 0xFFF9 << 48 is kept unchanged: this includes all
// finite values, +-inf, the canonical NaN 0x7FF8.. and the x86 "default NaN" 0xFFF8..
// produced by invalid operations, so arithmetic results box with no check at all when
// they come from arithmetic on Values. Only a NaN with a payload above 0xFFF8 << 48
// (crafted from bits) collides with tags; `Value::number` folds it to the canonical NaN.
//
// Ints: the language's int is a full 64-bit signed integer. Ints in [-2^49, 2^49) are
// stored inline (is_small_int); the rest are boxed in a heap `BoxedInt`. The boxed form
// is canonical: a BoxedInt never holds a value that fits inline, so two ints are equal
// iff (both small and bits equal) or (both boxed and values equal). `Heap::integer(i)`
// picks the form; `Value::is_int`/`as_int` see both. 50 bits rather than 48 because the
// two spare tag patterns 0xFFFC..0xFFFF cost nothing and make the test one shift.
// Integer overflow in arithmetic wraps (two's complement), as in Lua 5.4.
//
// ## Semantics decided here (the VM and docs/mcode.md follow them)
// - Truthiness: only nil and false are false (0, "" and [] are true), as in Lua.
// - Equality (`values_equal`, the language's ==): numbers compare by mathematical value
//   across int and float, exactly (1 == 1.0, 2^53+1 != 2.0^53); NaN != NaN; -0.0 == 0.0.
//   Strings compare by content. Lists, maps, functions and handles by identity.
// - Hashing (`hash_value`) agrees with equality: 1 and 1.0 hash alike, so they are the
//   same map key. NaN cannot be a map key (Map::set throws).
// - Printing: ints plain, floats shortest round-trip with ".0" added when they would
//   read as ints (1.0, 1e+20 stays), "inf", "-inf", "nan"; strings raw at top level and
//   quoted inside containers; containers recursively, with "[...]"/"{...}" for a cycle
//   or for nesting deeper than kMaxPrintDepth.
#pragma once

#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace miso::mcode {

class Heap;
class Tracer;
struct Obj;
class String;
class List;
class Map;
class Function;
class Closure;
class Upvalue;
class Native;
class Handle;
class BoxedInt;

enum class ObjKind : std::uint8_t {
  String,
  List,
  Map,
  Function,  // a compiled function prototype (code + constants), not callable alone
  Closure,   // a Function plus its captured upvalues: what scripts call
  Upvalue,   // a captured variable (open: points into the VM stack; closed: owns it)
  Native,    // a C++ builtin callable from scripts
  Handle,    // an opaque engine object (tensor, timeline, network, expression)
  BoxedInt,  // an int outside the inline 50-bit range
};

class Value {
 public:
  static constexpr std::uint64_t kTagShift = 48;
  static constexpr std::uint64_t kObjectTag = 0xFFF9ULL << kTagShift;
  static constexpr std::uint64_t kSpecialTag = 0xFFFAULL << kTagShift;
  static constexpr std::uint64_t kNilBits = kSpecialTag | 0;
  static constexpr std::uint64_t kEmptyBits = kSpecialTag | 1;
  static constexpr std::uint64_t kFalseBits = kSpecialTag | 2;
  static constexpr std::uint64_t kTrueBits = kSpecialTag | 3;
  static constexpr std::uint64_t kIntTag = 0xFFFCULL << kTagShift;
  static constexpr std::uint64_t kPayloadMask = (1ULL << kTagShift) - 1;
  static constexpr std::uint64_t kCanonicalNaN = 0x7FF8000000000000ULL;
  static constexpr int kSmallIntBits = 50;
  static constexpr std::int64_t kSmallIntMin = -(std::int64_t{1} << (kSmallIntBits - 1));
  static constexpr std::int64_t kSmallIntMax = (std::int64_t{1} << (kSmallIntBits - 1)) - 1;

  // nil.
  constexpr Value() noexcept : bits_(kNilBits) {}

  static constexpr Value nil() noexcept { return Value(); }
  static constexpr Value boolean(bool b) noexcept { return from_bits(b ? kTrueBits : kFalseBits); }
  // Any double; a NaN whose payload collides with the tags becomes the canonical NaN.
  static Value number(double d) noexcept {
    std::uint64_t bits = std::bit_cast<std::uint64_t>(d);
    return from_bits(bits < kObjectTag ? bits : kCanonicalNaN);
  }
  static constexpr bool fits_small_int(std::int64_t i) noexcept { return i >= kSmallIntMin && i <= kSmallIntMax; }
  // Precondition: fits_small_int(i). Use Heap::integer for any int64.
  static constexpr Value small_int(std::int64_t i) noexcept {
    return from_bits(kIntTag | (static_cast<std::uint64_t>(i) & ((1ULL << kSmallIntBits) - 1)));
  }
  static Value object(const Obj* o) noexcept {
    return from_bits(kObjectTag | static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(o)));
  }
  // The internal "no value" marker: map tombstones, "not found" results.
  static constexpr Value empty() noexcept { return from_bits(kEmptyBits); }
  static constexpr Value from_bits(std::uint64_t bits) noexcept {
    Value v;
    v.bits_ = bits;
    return v;
  }
  constexpr std::uint64_t bits() const noexcept { return bits_; }

  // --- predicates (inline, branch-light) ---
  constexpr bool is_nil() const noexcept { return bits_ == kNilBits; }
  constexpr bool is_empty() const noexcept { return bits_ == kEmptyBits; }
  constexpr bool is_bool() const noexcept { return (bits_ | 1) == kTrueBits; }
  constexpr bool is_true() const noexcept { return bits_ == kTrueBits; }
  constexpr bool is_false() const noexcept { return bits_ == kFalseBits; }
  // Truthiness of the language: everything except nil and false.
  constexpr bool is_truthy() const noexcept { return (bits_ & ~2ULL) != kNilBits; }
  constexpr bool is_double() const noexcept { return bits_ < kObjectTag; }
  constexpr bool is_small_int() const noexcept { return bits_ >= kIntTag; }
  constexpr bool is_object() const noexcept { return (bits_ & ~kPayloadMask) == kObjectTag; }
  bool is_boxed_int() const noexcept { return is_kind(ObjKind::BoxedInt); }
  // Small or boxed.
  bool is_int() const noexcept { return is_small_int() || is_boxed_int(); }
  // int (either form) or float.
  bool is_number() const noexcept { return is_double() || is_int(); }
  bool is_string() const noexcept { return is_kind(ObjKind::String); }
  bool is_list() const noexcept { return is_kind(ObjKind::List); }
  bool is_map() const noexcept { return is_kind(ObjKind::Map); }
  bool is_function() const noexcept { return is_kind(ObjKind::Function); }
  bool is_closure() const noexcept { return is_kind(ObjKind::Closure); }
  bool is_upvalue() const noexcept { return is_kind(ObjKind::Upvalue); }
  bool is_native() const noexcept { return is_kind(ObjKind::Native); }
  bool is_handle() const noexcept { return is_kind(ObjKind::Handle); }
  // What a script may call: a closure or a native.
  bool is_callable() const noexcept { return is_closure() || is_native(); }
  inline bool is_kind(ObjKind kind) const noexcept;

  // --- accessors (preconditions: the matching predicate) ---
  constexpr bool as_bool() const noexcept { return bits_ == kTrueBits; }
  double as_double() const noexcept { return std::bit_cast<double>(bits_); }
  constexpr std::int64_t as_small_int() const noexcept {
    // Shift the 50-bit payload to the top, then arithmetic-shift back to sign-extend.
    return static_cast<std::int64_t>(bits_ << (64 - kSmallIntBits)) >> (64 - kSmallIntBits);
  }
  // Small or boxed int.
  inline std::int64_t as_int() const noexcept;
  // int (rounded to nearest for |i| > 2^53) or float, as a double.
  double to_double() const noexcept { return is_double() ? as_double() : static_cast<double>(as_int()); }
  Obj* as_object() const noexcept { return reinterpret_cast<Obj*>(static_cast<std::uintptr_t>(bits_ & kPayloadMask)); }
  inline String* as_string() const noexcept;
  inline List* as_list() const noexcept;
  inline Map* as_map() const noexcept;
  inline Function* as_function() const noexcept;
  inline Closure* as_closure() const noexcept;
  inline Upvalue* as_upvalue() const noexcept;
  inline Native* as_native() const noexcept;
  inline Handle* as_handle() const noexcept;

  // Bit identity (same object, same bits). Not the language's ==; see values_equal.
  friend constexpr bool identical(Value a, Value b) noexcept { return a.bits_ == b.bits_; }

 private:
  std::uint64_t bits_;
};

static_assert(sizeof(Value) == 8);

// Common header of every heap object. Objects are created only by Heap and freed only by
// its collector; scripts never see an Obj* except through a Value.
struct Obj {
  Obj* next_object = nullptr;  // the heap's list of all objects (swept by the collector)
  ObjKind kind;
  bool marked = false;             // set during marking, cleared by sweep for survivors
  mutable std::uint8_t flags = 0;  // per-kind bits (String: interned, lazily computed hash ready)

  explicit Obj(ObjKind k) noexcept : kind(k) {}
};

bool Value::is_kind(ObjKind kind) const noexcept { return is_object() && as_object()->kind == kind; }

// --- String: immutable bytes (not necessarily UTF-8), chars stored after the header ---
// Strings of at most Heap::kInternMaxLength bytes are interned (one object per content);
// longer ones are not, and their hash is computed on first use.
class String : public Obj {
 public:
  static constexpr std::uint8_t kInterned = 1;
  static constexpr std::uint8_t kHashReady = 2;

  std::size_t size() const noexcept { return length_; }
  const char* data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::string_view view() const noexcept { return {data(), length_}; }
  bool interned() const noexcept { return (flags & kInterned) != 0; }
  std::uint64_t hash() const noexcept {
    if ((flags & kHashReady) == 0) {
      hash_ = hash_bytes(view());
      flags |= kHashReady;
    }
    return hash_;
  }
  // Content equality, cheap for interned strings.
  bool equals(const String* other) const noexcept {
    if (this == other) return true;
    if (interned() && other->interned()) return false;
    return length_ == other->length_ && hash() == other->hash() && std::memcmp(data(), other->data(), length_) == 0;
  }

  // The string hash (deterministic, not seeded: fine for scripts, not hash-flood proof).
  static std::uint64_t hash_bytes(std::string_view bytes) noexcept;

 private:
  friend class Heap;
  explicit String(std::size_t length) noexcept : Obj(ObjKind::String), length_(length) {}
  char* mutable_data() noexcept { return reinterpret_cast<char*>(this + 1); }

  std::size_t length_;
  mutable std::uint64_t hash_ = 0;
};

// --- BoxedInt: an int64 outside the inline range (see the layout note above) ---
class BoxedInt : public Obj {
 public:
  std::int64_t value() const noexcept { return value_; }

 private:
  friend class Heap;
  explicit BoxedInt(std::int64_t v) noexcept : Obj(ObjKind::BoxedInt), value_(v) {}
  std::int64_t value_;
};

std::int64_t Value::as_int() const noexcept {
  return is_small_int() ? as_small_int() : static_cast<const BoxedInt*>(as_object())->value();
}

// --- List: a growable array of Values ---
// Element storage is charged to the heap. Mutators that take a Heap may grow the array;
// they never collect (see "Safepoints" in heap.hpp), so the caller's values stay valid,
// and they run the collector's write barrier themselves.
class List : public Obj {
 public:
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // Unchecked element access; index < size().
  Value at(std::size_t index) const noexcept { return items_[index]; }
  // Unchecked store; index < size(). Raw: the caller follows it with
  // heap.write_barrier(list, v) unless the list was allocated since the last safepoint
  // (the incremental collector's invariant, see "Barrier rules" in heap.hpp).
  void set(std::size_t index, Value v) noexcept { items_[index] = v; }
  std::span<const Value> items() const noexcept { return {items_, size_}; }
  // Writing a new Value through the mutable span needs the barrier like set(); reordering
  // the list's own elements in place (sort, reverse) does not: it stores no new reference.
  std::span<Value> items() noexcept { return {items_, size_}; }

  void push(Heap& heap, Value v);
  // Precondition: !empty().
  Value pop() noexcept { return items_[--size_]; }
  // Shrinks, or grows filling with `fill`.
  void resize(Heap& heap, std::size_t n, Value fill = Value());
  void reserve(Heap& heap, std::size_t n);
  void insert(Heap& heap, std::size_t index, Value v);  // index <= size()
  Value remove(std::size_t index) noexcept;             // index < size(); shifts left
  void clear() noexcept { size_ = 0; }

 private:
  friend class Heap;
  List() noexcept : Obj(ObjKind::List) {}
  void grow_to(Heap& heap, std::size_t min_capacity);

  Value* items_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// --- Map: a hash map Value -> Value that keeps insertion order ---
// Layout (as CPython's dict): entries in insertion order in a dense array, plus an
// open-addressing index (linear probing, at most half full) of entry positions. Removal
// leaves a tombstone entry (key = Value::empty()) that the next growth compacts away;
// iteration walks entries in order and skips tombstones.
class Map : public Obj {
 public:
  struct Entry {
    Value key;
    Value value;
  };

  std::size_t size() const noexcept { return live_; }
  bool empty() const noexcept { return live_ == 0; }

  // The value for `key`, or Value::empty() when absent.
  Value get(Value key) const noexcept;
  bool contains(Value key) const noexcept { return !get(key).is_empty(); }
  // Inserts or overwrites (the original key object and position are kept on overwrite);
  // runs the write barrier. Throws miso::Error(InvalidArgument) for a NaN key.
  void set(Heap& heap, Value key, Value value);
  // Returns whether the key was present.
  bool remove(Value key) noexcept;
  void clear() noexcept;

  // Iteration in insertion order: for (i = 0; i < slot_count(); ++i) if (slot(i).key is
  // not empty) ... Positions stay valid while the map is not grown (set of a new key).
  std::size_t slot_count() const noexcept { return used_; }
  const Entry& slot(std::size_t i) const noexcept { return entries_[i]; }
  // Calls f(key, value) for each entry in insertion order.
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < used_; ++i)
      if (!entries_[i].key.is_empty()) f(entries_[i].key, entries_[i].value);
  }

 private:
  friend class Heap;
  Map() noexcept : Obj(ObjKind::Map) {}
  // Position in index_ holding key, or the empty slot where it would go.
  std::size_t find_slot(Value key, std::uint64_t hash) const noexcept;
  void rebuild(Heap& heap, std::size_t new_capacity);

  static constexpr std::uint32_t kSlotEmpty = 0;
  static constexpr std::uint32_t kSlotDeleted = 0xFFFFFFFFu;

  Entry* entries_ = nullptr;        // capacity_ entries, used_ of them written
  std::uint32_t* index_ = nullptr;  // 2 * capacity_ slots: 0 empty, ~0 deleted, else entry + 1
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;  // entries written, tombstones included
  std::size_t live_ = 0;
};

// --- Function: a compiled function prototype, filled in by the compiler ---
// The VM session owns the meaning of `code`; the collector only needs `constants`,
// `name` and `source`. Call Heap::account(Function*) after filling the vectors so their
// memory counts toward the collector's threshold and the budget.
class Function : public Obj {
 public:
  struct UpvalueSource {
    bool from_parent_register = false;  // true: the parent's register; false: parent's upvalue
    std::uint16_t index = 0;
  };

  String* name = nullptr;    // nullptr for anonymous functions and the main chunk
  String* source = nullptr;  // file name for error positions
  int arity = 0;             // number of parameters
  int register_count = 0;    // frame size the VM reserves
  std::vector<std::uint32_t> code;
  std::vector<Value> constants;        // may hold strings, numbers and nested Functions
  std::vector<std::uint32_t> lines;    // per instruction: source line
  std::vector<std::uint32_t> columns;  // per instruction: source column
  std::vector<UpvalueSource> upvalues;

 private:
  friend class Heap;
  Function() noexcept : Obj(ObjKind::Function) {}
  std::size_t charged_bytes_ = 0;  // what Heap::account last charged for the vectors
};

// --- Upvalue: a captured variable ---
// Open: `location` points at the VM stack slot (the VM must rebase it if it moves the
// stack). Closed: the value moved into `closed` and `location` points at it. Storing into
// a closed upvalue (or closing it) needs heap.write_barrier(upvalue, value).
class Upvalue : public Obj {
 public:
  Value* location;
  Value closed;
  Upvalue* next_open = nullptr;  // the VM's list of open upvalues, sorted by slot

  bool is_open() const noexcept { return location != &closed; }
  void close() noexcept {
    closed = *location;
    location = &closed;
  }

 private:
  friend class Heap;
  explicit Upvalue(Value* slot) noexcept : Obj(ObjKind::Upvalue), location(slot) {}
};

// --- Closure: a Function with its upvalues (stored after the header) ---
class Closure : public Obj {
 public:
  Function* function() const noexcept { return function_; }
  std::size_t upvalue_count() const noexcept { return upvalue_count_; }
  // Slots start as nullptr; the VM fills them right after creating the closure.
  Upvalue*& upvalue(std::size_t i) noexcept { return upvalues()[i]; }
  Upvalue* const* upvalues() const noexcept { return reinterpret_cast<Upvalue* const*>(this + 1); }
  Upvalue** upvalues() noexcept { return reinterpret_cast<Upvalue**>(this + 1); }

 private:
  friend class Heap;
  Closure(Function* f, std::size_t n) noexcept : Obj(ObjKind::Closure), function_(f), upvalue_count_(n) {}
  Function* function_;
  std::size_t upvalue_count_;
};

// --- Native: a C++ builtin ---
// NativeCallContext is defined by the VM (it carries the VM, the call position for error
// messages, ...); natives receive their arguments as a span into the VM's registers.
struct NativeCallContext;
using NativeFn = Value (*)(NativeCallContext& context, std::span<const Value> args);

class Native : public Obj {
 public:
  String* name;
  NativeFn fn;
  int arity;    // -1: variadic
  Value bound;  // traced (re-traced at each cycle's finish, so stores need no barrier)
  void* data;   // untraced host pointer (binding table entry, engine object, ...)

 private:
  friend class Heap;
  Native(String* n, NativeFn f, int a, void* d) noexcept : Obj(ObjKind::Native), name(n), fn(f), arity(a), data(d) {}
};

// --- NativeBinding tables ---
// One entry of a binding table: a function of an engine module (`tmath.randn`), or a
// method or property of a built-in type or handle type (`t.sum()`, `t.shape`). Every
// engine registers its script surface as one static table of these; no per-call glue.
struct NativeBinding {
  const char* name;
  NativeFn fn;
  int arity;                 // explicit arguments (a method's receiver not counted); -1: variadic
  const char* summary = "";  // one line of help (docs, the REPL's help())
  bool property = false;     // methods only: read as `x.name` (fn gets [receiver]), not called
};

// Operators a handle type may implement (HandleType::binary). Unary minus is Negate with
// the operand as `a` and nil as `b`.
enum class HandleOp : std::uint8_t { Add, Subtract, Multiply, Divide, FloorDivide, Modulo, Power, MatMul, Negate };
const char* handle_op_text(HandleOp op) noexcept;  // "+", ..., "@", "-" (unary)

// --- Handle: an opaque engine object (tensor, timeline, network, expression) ---
// One static HandleType per engine type. `finalize` runs exactly once: when the handle
// is collected or when the heap is destroyed. It must not touch the heap or throw.
// `trace` (optional) marks Values the engine object keeps alive (callbacks, ...). The
// engine object may gain Values after creation without a write barrier: the incremental
// collector re-traces every marked handle that has a `trace` in its atomic finish (and
// Heap::retrace / write_barrier(handle, v) are available to owners that prefer to say so).
// `methods` are found by `x.name(...)` (receiver passed as args[0]) and properties by
// `x.name`. `binary` (optional) implements operators when either operand is a handle of
// this type (the left operand's type is asked first). `display` (optional) is the text
// print()/str() show (default "<name>"). `clone` (optional) makes an independent data
// pointer for another VM (nexus.parallel_map workers): sharing immutable engine state
// is fine, the new pointer is finalized separately.
struct HandleType {
  const char* name;  // the type name scripts see: "tensor", "timeline", ...
  void (*finalize)(void* data) noexcept;
  void (*trace)(void* data, Tracer& tracer) = nullptr;
  std::span<const NativeBinding> methods = {};
  Value (*binary)(NativeCallContext& context, HandleOp op, Value a, Value b) = nullptr;
  std::string (*display)(const void* data) = nullptr;
  void* (*clone)(const void* data) = nullptr;
};

class Handle : public Obj {
 public:
  const HandleType& type() const noexcept { return *type_; }
  bool is(const HandleType& t) const noexcept { return type_ == &t; }
  void* data() const noexcept { return data_; }
  template <typename T>
  T* data_as() const noexcept {
    return static_cast<T*>(data_);
  }
  // Engine memory this handle keeps alive, charged to the heap's budget and threshold.
  std::size_t external_bytes() const noexcept { return external_bytes_; }

 private:
  friend class Heap;
  Handle(const HandleType& t, void* d, std::size_t bytes) noexcept
      : Obj(ObjKind::Handle), type_(&t), data_(d), external_bytes_(bytes) {}
  const HandleType* type_;
  void* data_;
  std::size_t external_bytes_;
};

String* Value::as_string() const noexcept { return static_cast<String*>(as_object()); }
List* Value::as_list() const noexcept { return static_cast<List*>(as_object()); }
Map* Value::as_map() const noexcept { return static_cast<Map*>(as_object()); }
Function* Value::as_function() const noexcept { return static_cast<Function*>(as_object()); }
Closure* Value::as_closure() const noexcept { return static_cast<Closure*>(as_object()); }
Upvalue* Value::as_upvalue() const noexcept { return static_cast<Upvalue*>(as_object()); }
Native* Value::as_native() const noexcept { return static_cast<Native*>(as_object()); }
Handle* Value::as_handle() const noexcept { return static_cast<Handle*>(as_object()); }

// --- operations on values ---

// The language's ==. See the semantics note at the top.
bool values_equal(Value a, Value b) noexcept;

// Hash consistent with values_equal (equal values hash alike).
std::uint64_t hash_value(Value v) noexcept;

// Exact ordering of two numbers (int or float, any mix): unordered when a NaN is
// involved. Precondition: both is_number().
std::partial_ordering compare_numbers(Value a, Value b) noexcept;
// Exact ordering of an int64 against a double (no rounding of the int).
std::partial_ordering compare_int_double(std::int64_t i, double d) noexcept;

// Name of the value's type for error messages: "nil", "bool", "int", "float", "string",
// "list", "map", "function", or the handle's type name ("tensor", ...).
const char* type_name(Value v) noexcept;

// Printing. Display form: what print() and str() produce (strings raw). Repr form:
// strings quoted and escaped (used for elements inside containers and by the REPL).
inline constexpr int kMaxPrintDepth = 64;
std::string to_display_string(Value v);
std::string to_repr_string(Value v);
void append_display(std::string& out, Value v);
void append_repr(std::string& out, Value v);
// Shortest round-trip text of a double as the language prints it ("1.0", "0.1", "inf").
std::string format_double(double d);

}  // namespace miso::mcode
