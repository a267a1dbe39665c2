// Copying M-CODE values from one VM's heap into another's. A Heap belongs to one thread
// at a time (heap.hpp), so running script code on several threads (nexus.parallel_map)
// means one Vm per thread and values deep-copied between them; this file is that copy.
//
// What a copy is, per kind:
//   nil, bools, numbers        the same bits (boxed ints re-boxed in the target heap)
//   strings                    the same bytes (short ones interned in the target)
//   lists, maps                new containers, elements copied; sharing and cycles are
//                              kept: an object reached twice is copied once (memo table)
//   closures                   a new closure of a copy of the Function prototype (code,
//                              constants recursively, lines, columns, upvalue descriptors);
//                              each captured variable becomes a closed upvalue holding a
//                              copy of its current value (closures that shared a variable
//                              still share one, but no longer with the source VM)
//   natives                    same fn, arity and data pointer, name copied, bound value
//                              copied
//   handles                    HandleType::clone makes an independent engine object; a
//                              type without clone cannot be copied (TransferError naming it)
//
// The copy is iterative (a work list, not recursion), so a million-deep list copies in
// constant C++ stack. It only reads the source heap and never collects in the target
// (allocation never collects, heap.hpp "Safepoints"): the caller must root the results
// in the target before running code there, and nothing may mutate the source meanwhile.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mcode/heap.hpp"
#include "miso/mcode/value.hpp"

namespace miso::mcode {

class Vm;

// A value that cannot live in another heap (a handle whose type has no clone). A
// miso::Error of kind InvalidArgument: natives re-raise it as an M-CODE error.
class TransferError : public miso::Error {
 public:
  explicit TransferError(const std::string& message) : miso::Error(Kind::InvalidArgument, message) {}
};

// Copies values into one target heap. The memo table lives as long as the Transfer, so
// several copies made with one Transfer share what their sources shared (copying a
// function and then a list holding it yields a list holding the same copied function).
class Transfer {
 public:
  explicit Transfer(Heap& to) : to_(to) {}
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // The copy of `v` in the target heap. Throws TransferError (and MemoryBudgetError from
  // the target heap); the target stays consistent, partial copies become garbage.
  Value operator()(Value v);

  // Names of globals the Functions copied so far may read (source strings): `definite`
  // for the operands of GetGlobal, not for other string constants (which might name a
  // global read another way). copy_referenced_globals consumes them.
  struct GlobalName {
    String* name;
    bool definite;
  };
  std::vector<GlobalName> take_referenced_names() { return std::exchange(names_, {}); }

  Heap& target() noexcept { return to_; }

 private:
  friend void copy_referenced_globals(const Vm& from, Vm& to, Transfer& transfer);

  Value shallow(Value v);  // the target object for v (a shell to fill when new)
  void drain();            // fills the shells on the work list

  Heap& to_;
  std::unordered_map<const Obj*, Obj*> memo_;
  std::vector<std::pair<const Obj*, Obj*>> work_;
  std::vector<GlobalName> names_;
  std::unordered_map<std::string, bool> globals_done_;  // settled by copy_referenced_globals: copied?
};

// One-shot deep copy of v into `to`.
Value transfer(Value v, Heap& to);

// Copies every global of `from` into `to` (definition order) through `transfer`, except
// the ones `to` already has as the same native or the same engine module (a map of the
// same natives): a worker VM keeps its own builtins and module tables.
void copy_globals(const Vm& from, Vm& to, Transfer& transfer);

// Copies only the globals the code copied so far by `transfer` may read (and, to a fixed
// point, those their own code may read), with the same skipping rule. A global GetGlobal
// reads that cannot be copied is a TransferError naming it; one only named by another
// string constant is then left out. Cheaper than
// copy_globals when a big program runs a small function in a worker. Names the source
// does not define are left alone (the worker may define them itself).
void copy_referenced_globals(const Vm& from, Vm& to, Transfer& transfer);

}  // namespace miso::mcode
