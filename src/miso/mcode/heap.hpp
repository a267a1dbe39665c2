// The M-CODE heap: owns every script object (value.hpp), allocates them, interns short
// strings, enforces the memory budget of untrusted scripts and reclaims garbage with a
// precise tracing collector whose roots the VM and host code declare.
//
// ## Collector: incremental tri-colour mark-sweep with a Dijkstra insertion barrier
// Colours: white = !marked, grey = marked and on the grey stack, black = marked and
// traced. A cycle goes Idle -> Marking -> (atomic finish) -> sweep -> Idle:
// - Start (at a safepoint once bytes in use pass the threshold): the roots (root tracers
//   + Rooted values) are greyed. Nothing else is touched, so the pause is O(roots).
// - Marking: every later safepoint that is due runs one slice: it pops grey objects,
//   blackens them and greys their children until it has traced max(min_slice_work,
//   step * bytes allocated since the previous slice) bytes. The next slice is due after
//   another slice_bytes of allocation. Objects allocated while marking are born white.
// - The mutator keeps running between slices. The invariant "no black object points to a
//   white one" holds because every store of a Value into an existing heap object goes
//   through `write_barrier(container, value)`: while marking, a white value stored into a
//   marked container is greyed (Dijkstra). Roots (VM stack, frames, open upvalues,
//   Rooted) are NOT barrier'd: instead the finish re-scans all of them.
// - Finish (atomic, when the grey stack empties): re-scan all roots, re-trace the marked
//   Handles and Natives (their engine data / `bound` slot are written by native code
//   without a barrier), drain the grey stack, optionally verify the invariant
//   (HeapOptions::verify), then sweep: drop unmarked strings from the weak intern table
//   and free every unmarked object (running handle finalizers) in one pass.
// Marking never recurses (an explicit grey stack), so a million-deep list marks in
// constant C++ stack. `collect()` is a full synchronous collection that frees everything
// unreachable at the call (a cycle in progress is restarted, not finished: it may hold
// floating garbage, objects marked before they died, which a finished cycle keeps until
// the next one). With a memory budget, a safepoint that finds bytes in use 3/4 of the way
// from the last live size to the budget runs such a full collection at once.
//
// Barrier rules (for VM and native authors): after storing a Value into an object that
// existed at the previous safepoint (List::set, writing through items(), Upvalue::closed,
// Native::bound, Closure upvalue slots, Function constants outside the compiler) call
// `heap.write_barrier(object, value)`. The mutators that take a Heap (List::push /
// insert / resize, Map::set) call it themselves. Not needed: stores into objects
// allocated since the last safepoint (they are white or grey: no slice has run), stores
// into roots, reordering a container's own elements (sort, reverse, remove), and
// Function vectors followed by Heap::account (which re-greys the function).
// Stress modes (tests): `stress` runs a tiny slice (one object) at every safepoint so
// cycles are always in progress and the barrier paths run constantly; `stress_full`
// runs a full collection at every safepoint (the old stop-the-world stress).
//
// ## Safepoints: allocation never collects
// Allocating functions only count bytes; collection happens at `collect_if_needed()`,
// which the VM calls at points where every live value is reachable from its roots (after
// an allocating instruction stored its result, at calls and loop back-edges), as Lua's
// luaC_checkGC. So C++ code (builtins, engine bindings) may allocate several objects in a
// row holding them in plain locals; it needs a `Rooted` only across calls that can reach
// a safepoint (calling back into the VM).
//
// ## Pacing and budget
// A collection is due when bytes in use exceed the threshold, which after each collection
// is max(min_threshold, live * growth_factor). With a memory budget B, the threshold is
// also capped at live + (B - live) / 2 so safepoints collect well before B is reached, and
// any allocation that would take bytes in use past B throws MemoryBudgetError ("memory
// budget of B bytes exceeded"); the heap stays consistent and usable after the throw.
// Bytes in use = object sizes + list/map storage + function vectors (Heap::account) +
// handles' external_bytes. Memory is charged to the "mcode" memory tag of the profiler.
//
// ## Threads
// A Heap and its objects belong to one thread at a time (no locks, no atomics on the hot
// path). Parallel script work (nexus.parallel_map) needs one Heap per worker, values
// copied across, or the caller serialising access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/mcode/value.hpp"

namespace miso::mcode {

// Thrown by allocation past the heap's memory budget. A miso::Error of kind
// InvalidArgument (the script asked for more than it is allowed), so the VM can turn it
// into an M-CODE runtime error and the CLI reports it like other bad input.
class MemoryBudgetError : public miso::Error {
 public:
  explicit MemoryBudgetError(std::size_t budget);
  std::size_t budget() const noexcept { return budget_; }

 private:
  std::size_t budget_;
};

// Marks values during a collection. Root tracers and HandleType::trace receive one.
class Tracer {
 public:
  void mark(Value v) {
    if (v.is_object()) mark(v.as_object());
  }
  void mark(Obj* o) {
    if (o != nullptr && !o->marked) {
      if (verifying_) {  // Heap::verify: a marked object reaching a white one
        ++violations_;
        return;
      }
      o->marked = true;
      grey_.push_back(o);
    }
  }
  void mark(std::span<const Value> values) {
    for (Value v : values) mark(v);
  }

 private:
  friend class Heap;
  std::vector<Obj*> grey_;
  bool verifying_ = false;
  std::size_t violations_ = 0;
};

struct HeapOptions {
  std::size_t memory_budget = 0;         // bytes; 0 = unlimited
  std::size_t min_threshold = 1u << 20;  // first collection after this many bytes
  double growth_factor = 2.0;            // next threshold = live * growth_factor
  // Incremental pacing: a slice traces max(min_slice_work, step * bytes allocated since
  // the previous slice) bytes of objects; the next slice runs after slice_bytes more.
  double step = 2.0;
  std::size_t min_slice_work = 64u << 10;
  std::size_t slice_bytes = 32u << 10;
  bool stress = false;       // tests: a cycle always in progress, one-object slice per safepoint
  bool stress_full = false;  // tests: a full collection at every safepoint
  bool verify = false;       // tests: check "no marked object points to a white one" before each sweep
};

struct HeapStats {
  std::uint64_t collections = 0;            // completed cycles (incremental or full)
  std::uint64_t full_collections = 0;       // of which collect() calls / budget emergencies
  std::uint64_t slices = 0;                 // safepoint GC steps (start, slice or finish)
  std::uint64_t max_pause_nanoseconds = 0;  // longest single step or full collection
  std::size_t bytes_in_use = 0;             // now (live + garbage not yet collected)
  std::size_t bytes_after_last_gc = 0;      // live bytes found by the last collection
  std::size_t peak_bytes = 0;               // highest bytes_in_use
  std::size_t threshold = 0;                // bytes_in_use that makes a collection due
  std::uint64_t objects_live = 0;           // allocated and not yet freed
  std::uint64_t objects_allocated = 0;      // cumulative
  std::uint64_t objects_freed = 0;          // cumulative
  std::uint64_t bytes_freed = 0;            // cumulative (objects and their storage)
  std::uint64_t gc_nanoseconds = 0;         // cumulative time inside the collector
  std::uint64_t verify_violations = 0;      // HeapOptions::verify findings (must stay 0)
  std::size_t interned_strings = 0;
};

class Heap;

// Base of the scoped roots: an intrusive doubly linked list hanging off the heap, so
// creating and destroying a root is O(1) and allocation-free. Roots must be destroyed
// before their heap (they are stack objects in practice).
class RootNode {
 public:
  RootNode(const RootNode&) = delete;
  RootNode& operator=(const RootNode&) = delete;

 protected:
  using TraceFn = void (*)(RootNode& self, Tracer& tracer);
  RootNode(Heap& heap, TraceFn trace) noexcept;
  ~RootNode();

 private:
  friend class Heap;
  Heap* heap_;
  RootNode* prev_;
  RootNode* next_;
  TraceFn trace_;
};

// One Value kept alive while this object exists (C++ code holding a script value across a
// call that may reach a safepoint).
class Rooted : public RootNode {
 public:
  explicit Rooted(Heap& heap, Value v = Value()) noexcept : RootNode(heap, &trace_one), value_(v) {}
  Value get() const noexcept { return value_; }
  void set(Value v) noexcept { value_ = v; }
  Value* operator->() noexcept { return &value_; }
  Value& operator*() noexcept { return value_; }

 private:
  static void trace_one(RootNode& self, Tracer& tracer) { tracer.mark(static_cast<Rooted&>(self).value_); }
  Value value_;
};

// A growable vector of Values kept alive while this object exists.
class RootedVector : public RootNode {
 public:
  explicit RootedVector(Heap& heap) noexcept : RootNode(heap, &trace_all) {}
  std::vector<Value>& values() noexcept { return values_; }
  const std::vector<Value>& values() const noexcept { return values_; }

 private:
  static void trace_all(RootNode& self, Tracer& tracer) { tracer.mark(static_cast<RootedVector&>(self).values_); }
  std::vector<Value> values_;
};

class Heap {
 public:
  static constexpr std::size_t kInternMaxLength = 40;

  explicit Heap(HeapOptions options = {});
  // Frees every object, running each live handle's finalizer once.
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // --- allocation (never collects; throws MemoryBudgetError past the budget) ---
  // Strings of <= kInternMaxLength bytes are interned: equal content, same object.
  String* string(std::string_view text);
  Value string_value(std::string_view text) { return Value::object(string(text)); }
  String* concat(const String* a, const String* b);
  // Any int64: inline when it fits, otherwise a BoxedInt.
  Value integer(std::int64_t i) { return Value::fits_small_int(i) ? Value::small_int(i) : box_int(i); }
  List* list(std::size_t reserve = 0);
  Map* map(std::size_t reserve = 0);
  Function* function();
  // Upvalue slots start as nullptr; fill them before the next safepoint.
  Closure* closure(Function* function, std::size_t upvalue_count);
  Upvalue* upvalue(Value* slot);
  Native* native(std::string_view name, NativeFn fn, int arity, void* data = nullptr);
  // Takes ownership of `data`: type.finalize(data) runs exactly once.
  Handle* handle(const HandleType& type, void* data, std::size_t external_bytes = 0);

  // Recharges a Function's vectors after the compiler filled (or changed) them.
  void account(Function* function);

  // --- roots ---
  using RootTracer = std::function<void(Tracer&)>;
  // The VM registers one tracer that marks its stack, globals, open upvalues, ...
  // Returns an id for remove_root_tracer.
  std::size_t add_root_tracer(RootTracer tracer);
  void remove_root_tracer(std::size_t id);

  // --- collection ---
  // One compare at every safepoint: due_at_ is the threshold, or 0 in the stress modes.
  bool collection_due() const noexcept { return bytes_in_use_ > due_at_; }
  // The safepoint: when due, starts a cycle, runs a marking slice or finishes a cycle.
  // Returns whether it did GC work.
  bool collect_if_needed() {
    if (!collection_due()) return false;
    step();
    return true;
  }
  // Full synchronous (stop-the-world) collection: frees every object unreachable now. A
  // cycle in progress is restarted (its marks may cover objects that died since).
  void collect();
  // Whether an incremental cycle is in progress (write barriers active).
  bool marking() const noexcept { return marking_; }

  // Store barrier: call it after every store of a Value into an existing heap object
  // (see "Barrier rules" above). One predictable branch when not marking.
  void write_barrier(Obj* container, Value stored) noexcept {
    if (marking_ && stored.is_object()) barrier_slow(container, stored.as_object());
  }
  void write_barrier(Obj* container, Obj* stored) noexcept {
    if (marking_ && stored != nullptr) barrier_slow(container, stored);
  }
  // Bulk form: the contents of `container` changed wholesale (e.g. a handle's engine data
  // gained several Values): re-grey it so the cycle in progress traces it again.
  void retrace(Obj* container);

  // --- budget and statistics ---
  void set_memory_budget(std::size_t bytes);  // 0 = unlimited
  std::size_t memory_budget() const noexcept { return options_.memory_budget; }
  std::size_t bytes_in_use() const noexcept { return bytes_in_use_; }
  HeapStats stats() const noexcept;

  // --- raw storage for objects' arrays (List, Map); charged like objects ---
  // realloc-like: new_size 0 frees. Throws MemoryBudgetError when growing past the budget
  // (nothing is changed then).
  void* reallocate(void* block, std::size_t old_size, std::size_t new_size);

 private:
  friend class RootNode;
  template <typename T, typename... Args>
  T* allocate_object(std::size_t bytes, Args&&... args);
  Value box_int(std::int64_t i);
  String* allocate_string(std::size_t length);
  String* intern(std::string_view text, std::uint64_t hash);
  void intern_insert(String* s);
  void intern_rebuild(std::size_t capacity);
  void intern_sweep();
  void charge(std::size_t bytes);
  void free_object(Obj* o);
  std::size_t trace_children(Obj* o, Tracer& tracer);
  void update_threshold();
  void set_threshold(std::size_t threshold) noexcept;
  void barrier_slow(Obj* container, Obj* stored) noexcept {
    if (container->marked && !stored->marked) {
      stored->marked = true;
      tracer_.grey_.push_back(stored);  // may terminate on out-of-memory (noexcept)
    }
  }
  void step();
  void full_collection();
  void start_cycle();
  void mark_roots();
  bool mark_slice(std::size_t work_budget);  // true when the grey stack is empty
  void finish_cycle();
  void abort_cycle() noexcept;
  void verify_marks();
  void sweep();
  void record_pause(std::uint64_t nanoseconds) noexcept;
  static std::size_t object_size(const Obj* o) noexcept;

  HeapOptions options_;
  Obj* objects_ = nullptr;  // every object, newest first
  std::size_t bytes_in_use_ = 0;
  std::size_t threshold_ = 0;
  std::size_t due_at_ = 0;  // collection_due() when bytes_in_use_ exceeds it (see set_threshold)
  bool marking_ = false;
  std::uint64_t allocated_ = 0;           // cumulative bytes charged (drives slice sizes)
  std::uint64_t allocated_at_slice_ = 0;  // allocated_ at the end of the previous slice
  std::vector<Obj*> retrace_;             // marked Handles/Natives, re-traced at the finish
  HeapStats stats_;
  Tracer tracer_;
  RootNode* roots_ = nullptr;  // head of the Rooted list
  std::vector<std::pair<std::size_t, RootTracer>> root_tracers_;
  std::size_t next_root_tracer_id_ = 1;
  // Weak intern set: open addressing, nullptr empty, kTombstone removed.
  std::vector<String*> interned_;
  std::size_t interned_count_ = 0;
  std::size_t interned_tombstones_ = 0;
};

}  // namespace miso::mcode
