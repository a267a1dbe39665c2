#include "miso/mcode/value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "miso/core/error.hpp"
#include "miso/mcode/heap.hpp"

namespace miso::mcode {

namespace {

// Murmur3's 64-bit finalizer: every input bit affects every output bit.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  x ^= x >> 33;
  return x;
}

constexpr double kTwoPow63 = 9223372036854775808.0;

}  // namespace

std::uint64_t String::hash_bytes(std::string_view bytes) noexcept {
  constexpr std::uint64_t k1 = 0x87C37B91114253D5ULL;
  constexpr std::uint64_t k2 = 0x4CF5AD432745937FULL;
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ (bytes.size() * k2);
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    h = std::rotl(h ^ (word * k1), 31) * k2;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = std::rotl(h ^ (word * k1), 31) * k2;
  }
  return mix64(h);
}

// ---------------------------------------------------------------- List

void List::grow_to(Heap& heap, std::size_t min_capacity) {
  constexpr std::size_t kMaxItems = std::numeric_limits<std::size_t>::max() / sizeof(Value) / 2;
  if (min_capacity > kMaxItems) throw miso::Error(miso::Error::Kind::InvalidArgument, "list too large");
  std::size_t capacity = std::max({std::size_t{8}, capacity_ * 2, min_capacity});
  items_ = static_cast<Value*>(heap.reallocate(items_, capacity_ * sizeof(Value), capacity * sizeof(Value)));
  capacity_ = capacity;
}

void List::push(Heap& heap, Value v) {
  if (size_ == capacity_) grow_to(heap, size_ + 1);
  items_[size_++] = v;
  heap.write_barrier(this, v);
}

void List::reserve(Heap& heap, std::size_t n) {
  if (n <= capacity_) return;
  items_ = static_cast<Value*>(heap.reallocate(items_, capacity_ * sizeof(Value), n * sizeof(Value)));
  capacity_ = n;
}

void List::resize(Heap& heap, std::size_t n, Value fill) {
  if (n > capacity_) grow_to(heap, n);
  for (std::size_t i = size_; i < n; ++i) items_[i] = fill;
  size_ = n;
  heap.write_barrier(this, fill);
}

void List::insert(Heap& heap, std::size_t index, Value v) {
  if (size_ == capacity_) grow_to(heap, size_ + 1);
  std::memmove(static_cast<void*>(items_ + index + 1), items_ + index, (size_ - index) * sizeof(Value));
  items_[index] = v;
  ++size_;
  heap.write_barrier(this, v);
}

Value List::remove(std::size_t index) noexcept {
  Value removed = items_[index];
  std::memmove(static_cast<void*>(items_ + index), items_ + index + 1, (size_ - index - 1) * sizeof(Value));
  --size_;
  return removed;
}

// ---------------------------------------------------------------- Map

std::size_t Map::find_slot(Value key, std::uint64_t hash) const noexcept {
  std::size_t mask = capacity_ * 2 - 1;
  std::size_t i = hash & mask;
  std::size_t first_deleted = SIZE_MAX;
  for (;;) {
    std::uint32_t s = index_[i];
    if (s == kSlotEmpty) return first_deleted != SIZE_MAX ? first_deleted : i;
    if (s == kSlotDeleted) {
      if (first_deleted == SIZE_MAX) first_deleted = i;
    } else if (values_equal(entries_[s - 1].key, key)) {
      return i;
    }
    i = (i + 1) & mask;
  }
}

Value Map::get(Value key) const noexcept {
  if (live_ == 0) return Value::empty();
  std::uint32_t s = index_[find_slot(key, hash_value(key))];
  if (s == kSlotEmpty || s == kSlotDeleted) return Value::empty();
  return entries_[s - 1].value;
}

void Map::rebuild(Heap& heap, std::size_t new_capacity) {
  if (new_capacity > (std::size_t{1} << 30)) throw miso::Error(miso::Error::Kind::InvalidArgument, "map too large");
  // Allocate both new arrays before touching the map so a budget error leaves it intact.
  auto* entries = static_cast<Entry*>(heap.reallocate(nullptr, 0, new_capacity * sizeof(Entry)));
  std::uint32_t* index;
  try {
    index = static_cast<std::uint32_t*>(heap.reallocate(nullptr, 0, new_capacity * 2 * sizeof(std::uint32_t)));
  } catch (...) {
    heap.reallocate(entries, new_capacity * sizeof(Entry), 0);
    throw;
  }
  std::fill_n(index, new_capacity * 2, kSlotEmpty);
  std::size_t mask = new_capacity * 2 - 1;
  std::size_t n = 0;
  for (std::size_t e = 0; e < used_; ++e) {
    if (entries_[e].key.is_empty()) continue;
    entries[n] = entries_[e];
    std::size_t i = hash_value(entries[n].key) & mask;
    while (index[i] != kSlotEmpty) i = (i + 1) & mask;
    index[i] = static_cast<std::uint32_t>(n + 1);
    ++n;
  }
  heap.reallocate(entries_, capacity_ * sizeof(Entry), 0);
  heap.reallocate(index_, capacity_ * 2 * sizeof(std::uint32_t), 0);
  entries_ = entries;
  index_ = index;
  capacity_ = new_capacity;
  used_ = n;
  live_ = n;
}

void Map::set(Heap& heap, Value key, Value value) {
  if (key.is_double() && std::isnan(key.as_double()))
    throw miso::Error(miso::Error::Kind::InvalidArgument, "map key is NaN");
  std::uint64_t hash = hash_value(key);
  if (capacity_ != 0) {
    std::size_t slot = find_slot(key, hash);
    std::uint32_t s = index_[slot];
    if (s != kSlotEmpty && s != kSlotDeleted) {
      entries_[s - 1].value = value;
      heap.write_barrier(this, value);
      return;
    }
  }
  if (used_ == capacity_) {
    // Compact in place when tombstones make up half the entries, else double.
    std::size_t capacity = capacity_ == 0 ? 4 : (live_ < capacity_ / 2 ? capacity_ : capacity_ * 2);
    rebuild(heap, capacity);
  }
  std::size_t slot = find_slot(key, hash);
  entries_[used_] = Entry{key, value};
  index_[slot] = static_cast<std::uint32_t>(used_ + 1);
  ++used_;
  ++live_;
  heap.write_barrier(this, key);
  heap.write_barrier(this, value);
}

bool Map::remove(Value key) noexcept {
  if (live_ == 0) return false;
  std::size_t slot = find_slot(key, hash_value(key));
  std::uint32_t s = index_[slot];
  if (s == kSlotEmpty || s == kSlotDeleted) return false;
  entries_[s - 1] = Entry{Value::empty(), Value()};
  index_[slot] = kSlotDeleted;
  --live_;
  return true;
}

void Map::clear() noexcept {
  if (capacity_ != 0) std::fill_n(index_, capacity_ * 2, kSlotEmpty);
  used_ = 0;
  live_ = 0;
}

// ---------------------------------------------------------------- equality, hashing, order

std::partial_ordering compare_int_double(std::int64_t i, double d) noexcept {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d >= kTwoPow63) return std::partial_ordering::less;
  if (d < -kTwoPow63) return std::partial_ordering::greater;
  double whole = std::trunc(d);  // exactly representable as int64 now
  auto whole_int = static_cast<std::int64_t>(whole);
  if (i < whole_int) return std::partial_ordering::less;
  if (i > whole_int) return std::partial_ordering::greater;
  double fraction = d - whole;
  if (fraction > 0) return std::partial_ordering::less;
  if (fraction < 0) return std::partial_ordering::greater;
  return std::partial_ordering::equivalent;
}

std::partial_ordering compare_numbers(Value a, Value b) noexcept {
  if (a.is_double()) {
    if (b.is_double()) return a.as_double() <=> b.as_double();
    return 0 <=> compare_int_double(b.as_int(), a.as_double());
  }
  if (b.is_double()) return compare_int_double(a.as_int(), b.as_double());
  return a.as_int() <=> b.as_int();
}

bool values_equal(Value a, Value b) noexcept {
  if (identical(a, b)) return !(a.is_double() && std::isnan(a.as_double()));
  if (a.is_double()) {
    if (b.is_double()) return a.as_double() == b.as_double();
    return b.is_int() && compare_int_double(b.as_int(), a.as_double()) == 0;
  }
  if (a.is_small_int()) return b.is_double() && compare_int_double(a.as_small_int(), b.as_double()) == 0;
  if (!a.is_object() || !b.is_object()) {
    // a is nil/bool (bits differ, so unequal) or an object against a non-object.
    if (a.is_boxed_int() && b.is_double()) return compare_int_double(a.as_int(), b.as_double()) == 0;
    return false;
  }
  Obj* x = a.as_object();
  Obj* y = b.as_object();
  if (x->kind != y->kind) return false;
  if (x->kind == ObjKind::String) return static_cast<String*>(x)->equals(static_cast<String*>(y));
  if (x->kind == ObjKind::BoxedInt) return static_cast<BoxedInt*>(x)->value() == static_cast<BoxedInt*>(y)->value();
  return false;
}

std::uint64_t hash_value(Value v) noexcept {
  if (v.is_small_int()) return mix64(static_cast<std::uint64_t>(v.as_small_int()));
  if (v.is_double()) {
    double d = v.as_double();
    // Integral floats hash like the int they equal (also folds -0.0 into 0).
    if (d >= -kTwoPow63 && d < kTwoPow63 && d == std::trunc(d))
      return mix64(static_cast<std::uint64_t>(static_cast<std::int64_t>(d)));
    return mix64(v.bits());
  }
  if (v.is_object()) {
    Obj* o = v.as_object();
    if (o->kind == ObjKind::String) return static_cast<String*>(o)->hash();
    if (o->kind == ObjKind::BoxedInt) return mix64(static_cast<std::uint64_t>(static_cast<BoxedInt*>(o)->value()));
  }
  return mix64(v.bits());
}

// ---------------------------------------------------------------- names and printing

const char* type_name(Value v) noexcept {
  if (v.is_double()) return "float";
  if (v.is_small_int()) return "int";
  if (v.is_nil()) return "nil";
  if (v.is_bool()) return "bool";
  if (!v.is_object()) return "empty";
  switch (v.as_object()->kind) {
    case ObjKind::String: return "string";
    case ObjKind::List: return "list";
    case ObjKind::Map: return "map";
    case ObjKind::Function:
    case ObjKind::Closure:
    case ObjKind::Native: return "function";
    case ObjKind::Upvalue: return "upvalue";
    case ObjKind::Handle: return v.as_handle()->type().name;
    case ObjKind::BoxedInt: return "int";
  }
  return "unknown";
}

std::string format_double(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

namespace {

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
          out += kHex[static_cast<unsigned char>(c) & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_int(std::string& out, std::int64_t i) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, i);
  out.append(buffer, result.ptr);
}

// `open` holds the containers being printed (cycle detection); depth bounds recursion so
// a deeply nested structure built by a script cannot overflow the C++ stack.
void append_value(std::string& out, Value v, bool quote, std::vector<const Obj*>& open) {
  if (v.is_small_int()) return append_int(out, v.as_small_int());
  if (v.is_double()) {
    out += format_double(v.as_double());
    return;
  }
  if (v.is_nil()) {
    out += "nil";
    return;
  }
  if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
    return;
  }
  if (!v.is_object()) {
    out += "<empty>";
    return;
  }
  Obj* o = v.as_object();
  switch (o->kind) {
    case ObjKind::String:
      if (quote)
        append_quoted(out, static_cast<String*>(o)->view());
      else
        out += static_cast<String*>(o)->view();
      return;
    case ObjKind::BoxedInt: return append_int(out, static_cast<BoxedInt*>(o)->value());
    case ObjKind::List: {
      if (std::find(open.begin(), open.end(), o) != open.end() || open.size() >= kMaxPrintDepth) {
        out += "[...]";
        return;
      }
      open.push_back(o);
      out += '[';
      auto* list = static_cast<List*>(o);
      for (std::size_t i = 0; i < list->size(); ++i) {
        if (i > 0) out += ", ";
        append_value(out, list->at(i), true, open);
      }
      out += ']';
      open.pop_back();
      return;
    }
    case ObjKind::Map: {
      if (std::find(open.begin(), open.end(), o) != open.end() || open.size() >= kMaxPrintDepth) {
        out += "{...}";
        return;
      }
      open.push_back(o);
      out += '{';
      bool first = true;
      static_cast<Map*>(o)->for_each([&](Value key, Value value) {
        if (!first) out += ", ";
        first = false;
        append_value(out, key, true, open);
        out += ": ";
        append_value(out, value, true, open);
      });
      out += '}';
      open.pop_back();
      return;
    }
    case ObjKind::Function:
    case ObjKind::Closure: {
      const Function* f =
          o->kind == ObjKind::Function ? static_cast<Function*>(o) : static_cast<Closure*>(o)->function();
      out += "<function";
      if (f != nullptr && f->name != nullptr) out.append(" ").append(f->name->view());
      out += '>';
      return;
    }
    case ObjKind::Native: {
      out += "<function";
      if (auto* name = static_cast<Native*>(o)->name) out.append(" ").append(name->view());
      out += '>';
      return;
    }
    case ObjKind::Upvalue: out += "<upvalue>"; return;
    case ObjKind::Handle: {
      const Handle* h = static_cast<Handle*>(o);
      if (h->type().display != nullptr)
        out.append(h->type().display(h->data()));
      else
        out.append("<").append(h->type().name).append(">");
      return;
    }
  }
}

}  // namespace

void append_display(std::string& out, Value v) {
  std::vector<const Obj*> open;
  append_value(out, v, false, open);
}

void append_repr(std::string& out, Value v) {
  std::vector<const Obj*> open;
  append_value(out, v, true, open);
}

std::string to_display_string(Value v) {
  std::string out;
  append_display(out, v);
  return out;
}

std::string to_repr_string(Value v) {
  std::string out;
  append_repr(out, v);
  return out;
}

const char* handle_op_text(HandleOp op) noexcept {
  switch (op) {
    case HandleOp::Add: return "+";
    case HandleOp::Subtract: return "-";
    case HandleOp::Multiply: return "*";
    case HandleOp::Divide: return "/";
    case HandleOp::FloorDivide: return "//";
    case HandleOp::Modulo: return "%";
    case HandleOp::Power: return "**";
    case HandleOp::MatMul: return "@";
    case HandleOp::Negate: return "unary -";
  }
  return "?";
}

}  // namespace miso::mcode
