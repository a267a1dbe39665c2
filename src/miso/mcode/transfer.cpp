#include "miso/mcode/transfer.hpp"

#include <string>

#include "miso/mcode/bytecode.hpp"
#include "miso/mcode/vm.hpp"

namespace miso::mcode {

Value Transfer::operator()(Value v) {
  Value result = shallow(v);
  drain();
  return result;
}

Value Transfer::shallow(Value v) {
  if (!v.is_object()) return v;
  const Obj* source = v.as_object();
  if (source->kind == ObjKind::BoxedInt) return to_.integer(v.as_int());
  if (auto it = memo_.find(source); it != memo_.end()) return Value::object(it->second);
  Obj* copy = nullptr;
  bool fill = true;  // whether the copy has children still to copy
  switch (source->kind) {
    case ObjKind::String:
      copy = to_.string(static_cast<const String*>(source)->view());
      fill = false;
      break;
    case ObjKind::List: copy = to_.list(static_cast<const List*>(source)->size()); break;
    case ObjKind::Map: copy = to_.map(static_cast<const Map*>(source)->size()); break;
    case ObjKind::Function: copy = to_.function(); break;
    case ObjKind::Closure: {
      const auto* closure = static_cast<const Closure*>(source);
      // The prototype first: the closure is created around it (its body is filled later).
      Function* function = shallow(Value::object(closure->function())).as_function();
      copy = to_.closure(function, closure->upvalue_count());
      break;
    }
    case ObjKind::Upvalue: {
      Upvalue* upvalue = to_.upvalue(nullptr);
      upvalue->location = &upvalue->closed;  // born closed: the target VM's stack never held it
      copy = upvalue;
      break;
    }
    case ObjKind::Native: {
      const auto* native = static_cast<const Native*>(source);
      copy = to_.native(native->name != nullptr ? native->name->view() : std::string_view("<native>"), native->fn,
                        native->arity, native->data);
      break;
    }
    case ObjKind::Handle: {
      const auto* handle = static_cast<const Handle*>(source);
      const HandleType& type = handle->type();
      if (type.clone == nullptr)
        throw TransferError(std::string("a value of type ")
                                .append(type.name)
                                .append(" cannot be copied to another VM (")
                                .append(type.name)
                                .append(" handles have no clone)"));
      // Heap::handle owns the clone from the call on (it finalizes it if it throws).
      copy = to_.handle(type, type.clone(handle->data()), handle->external_bytes());
      fill = false;
      break;
    }
    case ObjKind::BoxedInt: break;  // handled above
  }
  memo_.emplace(source, copy);
  if (fill) work_.emplace_back(source, copy);
  return Value::object(copy);
}

void Transfer::drain() {
  while (!work_.empty()) {
    auto [source, copy] = work_.back();
    work_.pop_back();
    switch (source->kind) {
      case ObjKind::List: {
        const auto* from = static_cast<const List*>(source);
        auto* to = static_cast<List*>(copy);
        for (Value item : from->items()) to->push(to_, shallow(item));
        break;
      }
      case ObjKind::Map: {
        auto* to = static_cast<Map*>(copy);
        static_cast<const Map*>(source)->for_each([&](Value key, Value value) {
          Value k = shallow(key);
          to->set(to_, k, shallow(value));
        });
        break;
      }
      case ObjKind::Function: {
        const auto* from = static_cast<const Function*>(source);
        auto* to = static_cast<Function*>(copy);
        to->name = from->name != nullptr ? to_.string(from->name->view()) : nullptr;
        to->source = from->source != nullptr ? to_.string(from->source->view()) : nullptr;
        to->arity = from->arity;
        to->register_count = from->register_count;
        to->code = from->code;
        to->lines = from->lines;
        to->columns = from->columns;
        to->upvalues = from->upvalues;
        // Global names are string constants: remember them for copy_referenced_globals,
        // the ones GetGlobal reads as definite. (A linear scan may read an inline data word
        // as an instruction; that only makes a name definite, never misses one.)
        std::vector<bool> read(from->constants.size(), false);
        for (std::uint32_t word : from->code)
          if (opcode_of(word) == Op::GetGlobal && operand_of(word) < read.size()) read[operand_of(word)] = true;
        to->constants.reserve(from->constants.size());
        for (std::size_t i = 0; i < from->constants.size(); ++i) {
          Value constant = from->constants[i];
          if (constant.is_string()) names_.push_back({constant.as_string(), read[i]});
          to->constants.push_back(shallow(constant));
        }
        to_.account(to);
        break;
      }
      case ObjKind::Closure: {
        const auto* from = static_cast<const Closure*>(source);
        auto* to = static_cast<Closure*>(copy);
        for (std::size_t i = 0; i < from->upvalue_count(); ++i) {
          Upvalue* u = from->upvalues()[i];
          to->upvalue(i) = u != nullptr ? shallow(Value::object(u)).as_upvalue() : nullptr;
        }
        break;
      }
      case ObjKind::Upvalue: {
        // Open or closed, *location is the variable's current value.
        auto* to = static_cast<Upvalue*>(copy);
        to->closed = shallow(*static_cast<const Upvalue*>(source)->location);
        to_.write_barrier(to, to->closed);
        break;
      }
      case ObjKind::Native: {
        auto* to = static_cast<Native*>(copy);
        to->bound = shallow(static_cast<const Native*>(source)->bound);
        break;
      }
      case ObjKind::String:
      case ObjKind::Handle:
      case ObjKind::BoxedInt: break;
    }
  }
}

Value transfer(Value v, Heap& to) {
  Transfer t(to);
  return t(v);
}

namespace {

// Whether `to` already has global `name` as the same native, or as the same engine
// module (a map whose natives are the target's natives of the same names).
bool target_has_same(Vm& to, std::string_view name, Value value) {
  Value existing = to.global(name);
  if (existing.is_empty()) return false;
  if (value.is_native()) return existing.is_native() && existing.as_native()->fn == value.as_native()->fn;
  if (!value.is_map() || !existing.is_map()) return false;
  const Map* source = value.as_map();
  const Map* target = existing.as_map();
  bool any_native = false;
  bool same = true;
  source->for_each([&](Value key, Value entry) {
    if (!same) return;
    if (!key.is_string()) {
      same = false;
      return;
    }
    Value mine = target->get(to.heap().string_value(key.as_string()->view()));
    if (mine.is_empty()) {
      same = false;
    } else if (entry.is_native()) {
      any_native = true;
      same = mine.is_native() && mine.as_native()->fn == entry.as_native()->fn;
    }
  });
  return same && any_native;
}

// Copies one global unless the target has the same. Returns false when the value cannot
// be copied and `required` is false (then nothing is defined).
bool copy_global(Vm& to, Transfer& transfer, std::string_view name, Value value, bool required = true) {
  if (target_has_same(to, name, value)) return true;
  Value copy;
  try {
    copy = transfer(value);
  } catch (const TransferError& e) {
    if (!required) return false;
    throw TransferError(std::string("global '").append(name).append("': ").append(e.what()));
  }
  to.define_global(name, copy);
  return true;
}

}  // namespace

void copy_globals(const Vm& from, Vm& to, Transfer& transfer) {
  from.for_each_global([&](String* name, Value value) { copy_global(to, transfer, name->view(), value); });
}

void copy_referenced_globals(const Vm& from, Vm& to, Transfer& transfer) {
  std::unordered_map<std::string_view, Value> source;
  from.for_each_global([&](String* name, Value value) { source.emplace(name->view(), value); });
  // Copying a global may copy functions that name further globals: repeat until none.
  // Names only possibly read (string constants) are copied when they can be; names GetGlobal
  // reads must be.
  for (;;) {
    std::vector<Transfer::GlobalName> names = transfer.take_referenced_names();
    if (names.empty()) return;
    for (const Transfer::GlobalName& n : names) {
      auto found = source.find(n.name->view());
      if (found == source.end()) continue;
      auto [done, inserted] = transfer.globals_done_.emplace(std::string(n.name->view()), false);
      if (!inserted && (done->second || !n.definite)) continue;
      done->second = copy_global(to, transfer, found->first, found->second, n.definite);
    }
  }
}

}  // namespace miso::mcode
