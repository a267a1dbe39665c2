#include "miso/mcode/heap.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>

#include "miso/core/memory.hpp"
#include "miso/profiler/span.hpp"

namespace miso::mcode {

namespace {

core::memory::Tag mcode_tag() {
  static const core::memory::Tag tag = core::memory::tag("mcode");
  return tag;
}

String* const kTombstone = reinterpret_cast<String*>(std::uintptr_t{1});

}  // namespace

MemoryBudgetError::MemoryBudgetError(std::size_t budget)
    : miso::Error(Kind::InvalidArgument,
                  std::string("memory budget of ").append(std::to_string(budget)).append(" bytes exceeded")),
      budget_(budget) {}

// ---------------------------------------------------------------- roots

RootNode::RootNode(Heap& heap, TraceFn trace) noexcept
    : heap_(&heap), prev_(nullptr), next_(heap.roots_), trace_(trace) {
  if (next_ != nullptr) next_->prev_ = this;
  heap.roots_ = this;
}

RootNode::~RootNode() {
  if (heap_ == nullptr) return;  // the heap died first and detached us
  if (prev_ != nullptr)
    prev_->next_ = next_;
  else
    heap_->roots_ = next_;
  if (next_ != nullptr) next_->prev_ = prev_;
}

std::size_t Heap::add_root_tracer(RootTracer tracer) {
  std::size_t id = next_root_tracer_id_++;
  root_tracers_.emplace_back(id, std::move(tracer));
  return id;
}

void Heap::remove_root_tracer(std::size_t id) {
  std::erase_if(root_tracers_, [id](const auto& entry) { return entry.first == id; });
}

// ---------------------------------------------------------------- life cycle

Heap::Heap(HeapOptions options) : options_(options) {
  mcode_tag();  // create the tag outside any allocation path
  update_threshold();
}

Heap::~Heap() {
  for (RootNode* node = roots_; node != nullptr; node = node->next_) node->heap_ = nullptr;
  while (objects_ != nullptr) {
    Obj* o = objects_;
    objects_ = o->next_object;
    free_object(o);
  }
}

// ---------------------------------------------------------------- raw memory

void Heap::charge(std::size_t bytes) {
  if (options_.memory_budget != 0 && (bytes > options_.memory_budget || bytes_in_use_ > options_.memory_budget - bytes))
    throw MemoryBudgetError(options_.memory_budget);
  bytes_in_use_ += bytes;
  allocated_ += bytes;
  stats_.peak_bytes = std::max(stats_.peak_bytes, bytes_in_use_);
}

void* Heap::reallocate(void* block, std::size_t old_size, std::size_t new_size) {
  void* result = nullptr;
  if (new_size != 0) {
    if (new_size > old_size) charge(new_size - old_size);
    try {
      core::memory::TagScope scope(mcode_tag());
      result = ::operator new(new_size);
    } catch (...) {
      if (new_size > old_size) bytes_in_use_ -= new_size - old_size;
      throw;
    }
    if (block != nullptr) std::memcpy(result, block, std::min(old_size, new_size));
    if (new_size < old_size) bytes_in_use_ -= old_size - new_size;
  } else {
    bytes_in_use_ -= old_size;
  }
  if (block != nullptr) ::operator delete(block);
  return result;
}

template <typename T, typename... Args>
T* Heap::allocate_object(std::size_t bytes, Args&&... args) {
  void* memory = reallocate(nullptr, 0, bytes);
  T* object = new (memory) T(std::forward<Args>(args)...);
  object->next_object = objects_;
  objects_ = object;
  ++stats_.objects_allocated;
  ++stats_.objects_live;
  return object;
}

std::size_t Heap::object_size(const Obj* o) noexcept {
  switch (o->kind) {
    case ObjKind::String: return sizeof(String) + static_cast<const String*>(o)->size() + 1;
    case ObjKind::List: return sizeof(List);
    case ObjKind::Map: return sizeof(Map);
    case ObjKind::Function: return sizeof(Function);
    case ObjKind::Closure: return sizeof(Closure) + static_cast<const Closure*>(o)->upvalue_count() * sizeof(Upvalue*);
    case ObjKind::Upvalue: return sizeof(Upvalue);
    case ObjKind::Native: return sizeof(Native);
    case ObjKind::Handle: return sizeof(Handle) + static_cast<const Handle*>(o)->external_bytes();
    case ObjKind::BoxedInt: return sizeof(BoxedInt);
  }
  return 0;
}

void Heap::free_object(Obj* o) {
  std::size_t size = object_size(o);
  std::size_t bytes_before = bytes_in_use_;
  switch (o->kind) {
    case ObjKind::List: {
      auto* list = static_cast<List*>(o);
      reallocate(list->items_, list->capacity_ * sizeof(Value), 0);
      break;
    }
    case ObjKind::Map: {
      auto* map = static_cast<Map*>(o);
      reallocate(map->entries_, map->capacity_ * sizeof(Map::Entry), 0);
      reallocate(map->index_, map->capacity_ * 2 * sizeof(std::uint32_t), 0);
      break;
    }
    case ObjKind::Function: {
      auto* function = static_cast<Function*>(o);
      bytes_in_use_ -= function->charged_bytes_;
      function->~Function();
      break;
    }
    case ObjKind::Handle: {
      auto* handle = static_cast<Handle*>(o);
      if (handle->type_->finalize != nullptr) handle->type_->finalize(handle->data_);
      break;
    }
    default: break;  // the other kinds are trivially destructible
  }
  ++stats_.objects_freed;
  --stats_.objects_live;
  if (o->kind == ObjKind::Handle) {
    // external_bytes are not a block of ours: only the header goes back to operator delete.
    bytes_in_use_ -= static_cast<Handle*>(o)->external_bytes_;
    reallocate(o, size - static_cast<Handle*>(o)->external_bytes_, 0);
  } else {
    reallocate(o, size, 0);
  }
  stats_.bytes_freed += bytes_before - bytes_in_use_;
}

// ---------------------------------------------------------------- allocation

String* Heap::allocate_string(std::size_t length) {
  String* s = allocate_object<String>(sizeof(String) + length + 1, length);
  s->mutable_data()[length] = '\0';
  return s;
}

String* Heap::string(std::string_view text) {
  if (text.size() <= kInternMaxLength) {
    std::uint64_t hash = String::hash_bytes(text);
    if (String* existing = intern(text, hash)) return existing;
    String* s = allocate_string(text.size());
    if (!text.empty()) std::memcpy(s->mutable_data(), text.data(), text.size());  // data() may be null
    s->hash_ = hash;
    s->flags = String::kInterned | String::kHashReady;
    intern_insert(s);
    return s;
  }
  String* s = allocate_string(text.size());
  if (!text.empty()) std::memcpy(s->mutable_data(), text.data(), text.size());  // data() may be null
  return s;
}

String* Heap::concat(const String* a, const String* b) {
  std::size_t length = a->size() + b->size();
  if (length <= kInternMaxLength) {
    char buffer[kInternMaxLength];
    std::memcpy(buffer, a->data(), a->size());
    std::memcpy(buffer + a->size(), b->data(), b->size());
    return string(std::string_view(buffer, length));
  }
  String* s = allocate_string(length);
  std::memcpy(s->mutable_data(), a->data(), a->size());
  std::memcpy(s->mutable_data() + a->size(), b->data(), b->size());
  return s;
}

Value Heap::box_int(std::int64_t i) { return Value::object(allocate_object<BoxedInt>(sizeof(BoxedInt), i)); }

List* Heap::list(std::size_t reserve) {
  List* list = allocate_object<List>(sizeof(List));
  if (reserve != 0) list->reserve(*this, reserve);
  return list;
}

Map* Heap::map(std::size_t reserve) {
  Map* map = allocate_object<Map>(sizeof(Map));
  if (reserve != 0) map->rebuild(*this, std::bit_ceil(std::max<std::size_t>(reserve, 4)));
  return map;
}

Function* Heap::function() { return allocate_object<Function>(sizeof(Function)); }

void Heap::account(Function* function) {
  std::size_t bytes =
      function->code.capacity() * sizeof(std::uint32_t) + function->constants.capacity() * sizeof(Value) +
      function->lines.capacity() * sizeof(std::uint32_t) + function->columns.capacity() * sizeof(std::uint32_t) +
      function->upvalues.capacity() * sizeof(Function::UpvalueSource);
  if (bytes > function->charged_bytes_) {
    charge(bytes - function->charged_bytes_);
  } else {
    bytes_in_use_ -= function->charged_bytes_ - bytes;
  }
  function->charged_bytes_ = bytes;
  // The compiler (or a transfer) filled the vectors without barriers: trace it again if
  // the cycle in progress already blackened it.
  retrace(function);
}

void Heap::retrace(Obj* container) {
  if (marking_ && container->marked) tracer_.grey_.push_back(container);
}

Closure* Heap::closure(Function* function, std::size_t upvalue_count) {
  Closure* closure =
      allocate_object<Closure>(sizeof(Closure) + upvalue_count * sizeof(Upvalue*), function, upvalue_count);
  std::fill_n(closure->upvalues(), upvalue_count, nullptr);
  return closure;
}

Upvalue* Heap::upvalue(Value* slot) { return allocate_object<Upvalue>(sizeof(Upvalue), slot); }

Native* Heap::native(std::string_view name, NativeFn fn, int arity, void* data) {
  String* name_string = string(name);
  // No safepoint between the two allocations, so name_string needs no root.
  return allocate_object<Native>(sizeof(Native), name_string, fn, arity, data);
}

Handle* Heap::handle(const HandleType& type, void* data, std::size_t external_bytes) {
  try {
    charge(external_bytes);
  } catch (...) {
    if (type.finalize != nullptr) type.finalize(data);  // we own data even when refusing it
    throw;
  }
  try {
    return allocate_object<Handle>(sizeof(Handle), type, data, external_bytes);
  } catch (...) {
    bytes_in_use_ -= external_bytes;
    if (type.finalize != nullptr) type.finalize(data);
    throw;
  }
}

// ---------------------------------------------------------------- intern table

String* Heap::intern(std::string_view text, std::uint64_t hash) {
  if (interned_.empty()) return nullptr;
  std::size_t mask = interned_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    String* s = interned_[i];
    if (s == nullptr) return nullptr;
    if (s != kTombstone && s->hash_ == hash && s->view() == text) return s;
  }
}

void Heap::intern_rebuild(std::size_t capacity) {
  std::vector<String*> old = std::move(interned_);
  interned_.assign(capacity, nullptr);
  interned_tombstones_ = 0;
  std::size_t mask = capacity - 1;
  for (String* s : old) {
    if (s == nullptr || s == kTombstone) continue;
    std::size_t i = s->hash_ & mask;
    while (interned_[i] != nullptr) i = (i + 1) & mask;
    interned_[i] = s;
  }
}

void Heap::intern_insert(String* s) {
  // Keep at most 3/4 of the slots non-empty so probes stay short and always end.
  if ((interned_count_ + interned_tombstones_ + 1) * 4 > interned_.size() * 3) {
    std::size_t capacity = std::max<std::size_t>(64, interned_.size());
    while ((interned_count_ + 1) * 2 > capacity) capacity *= 2;
    intern_rebuild(capacity);
  }
  std::size_t mask = interned_.size() - 1;
  std::size_t i = s->hash_ & mask;
  while (interned_[i] != nullptr && interned_[i] != kTombstone) i = (i + 1) & mask;
  if (interned_[i] == kTombstone) --interned_tombstones_;
  interned_[i] = s;
  ++interned_count_;
}

void Heap::intern_sweep() {
  for (String*& s : interned_) {
    if (s != nullptr && s != kTombstone && !s->marked) {
      s = kTombstone;
      --interned_count_;
      ++interned_tombstones_;
    }
  }
}

// ---------------------------------------------------------------- collection

// Greys o's children; returns the work done in bytes (the object plus the slots read), the
// unit of the slice budget.
std::size_t Heap::trace_children(Obj* o, Tracer& tracer) {
  switch (o->kind) {
    case ObjKind::String: return sizeof(String);
    case ObjKind::BoxedInt: return sizeof(BoxedInt);
    case ObjKind::List: {
      auto* list = static_cast<List*>(o);
      tracer.mark(list->items());
      return sizeof(List) + list->size() * sizeof(Value);
    }
    case ObjKind::Map: {
      auto* map = static_cast<Map*>(o);
      for (std::size_t i = 0; i < map->used_; ++i) {
        tracer.mark(map->entries_[i].key);
        tracer.mark(map->entries_[i].value);
      }
      return sizeof(Map) + map->used_ * sizeof(Map::Entry);
    }
    case ObjKind::Function: {
      auto* function = static_cast<Function*>(o);
      tracer.mark(function->name);
      tracer.mark(function->source);
      tracer.mark(function->constants);
      return sizeof(Function) + function->constants.size() * sizeof(Value);
    }
    case ObjKind::Closure: {
      auto* closure = static_cast<Closure*>(o);
      tracer.mark(closure->function());
      for (std::size_t i = 0; i < closure->upvalue_count(); ++i) tracer.mark(closure->upvalue(i));
      return object_size(o);
    }
    case ObjKind::Upvalue: {
      // An open upvalue's slot is in the VM stack, which the VM's root tracer marks.
      auto* upvalue = static_cast<Upvalue*>(o);
      if (!upvalue->is_open()) tracer.mark(upvalue->closed);
      return sizeof(Upvalue);
    }
    case ObjKind::Native: {
      auto* native = static_cast<Native*>(o);
      tracer.mark(native->name);
      tracer.mark(native->bound);
      if (marking_ && !tracer.verifying_) retrace_.push_back(o);
      return sizeof(Native);
    }
    case ObjKind::Handle: {
      auto* handle = static_cast<Handle*>(o);
      if (handle->type_->trace != nullptr) {
        handle->type_->trace(handle->data_, tracer);
        if (marking_ && !tracer.verifying_) retrace_.push_back(o);
      }
      return sizeof(Handle);
    }
  }
  return 0;
}

void Heap::record_pause(std::uint64_t nanoseconds) noexcept {
  stats_.gc_nanoseconds += nanoseconds;
  stats_.max_pause_nanoseconds = std::max(stats_.max_pause_nanoseconds, nanoseconds);
}

namespace {

std::uint64_t nanoseconds_since(std::chrono::steady_clock::time_point start) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace

void Heap::mark_roots() {
  for (auto& [id, trace] : root_tracers_) trace(tracer_);
  for (RootNode* node = roots_; node != nullptr; node = node->next_) node->trace_(*node, tracer_);
}

// Precondition: not marking, every object white.
void Heap::start_cycle() {
  tracer_.grey_.clear();
  retrace_.clear();
  marking_ = true;  // before the roots: trace_children records Handles/Natives from now on
  try {
    mark_roots();
  } catch (...) {
    abort_cycle();
    throw;
  }
  allocated_at_slice_ = allocated_;
}

bool Heap::mark_slice(std::size_t work_budget) {
  std::size_t work = 0;
  std::vector<Obj*>& grey = tracer_.grey_;
  while (!grey.empty() && work < work_budget) {
    Obj* o = grey.back();
    grey.pop_back();
    work += trace_children(o, tracer_);
  }
  return grey.empty();
}

// A root tracer threw or the grey stack could not grow: forget the partial marks so the
// next cycle starts clean, and free nothing.
void Heap::abort_cycle() noexcept {
  for (Obj* o = objects_; o != nullptr; o = o->next_object) o->marked = false;
  tracer_.grey_.clear();
  retrace_.clear();
  marking_ = false;
}

// The atomic end of a cycle: roots were not barrier'd, so re-scan them; Handles and
// Natives may have gained Values behind the barrier's back, so re-trace them; then sweep.
void Heap::finish_cycle() {
  MISO_PROFILE_SCOPE("mcode.gc.finish");
  try {
    mark_roots();
    mark_slice(SIZE_MAX);
    // Tracing them again appends them again: walk a moved-out copy. Those blackened from
    // here on are traced with their current data, nothing to redo for them.
    std::vector<Obj*> again = std::move(retrace_);
    retrace_.clear();
    for (Obj* o : again) trace_children(o, tracer_);
    mark_slice(SIZE_MAX);
  } catch (...) {
    abort_cycle();
    throw;
  }
  marking_ = false;
  retrace_.clear();
  if (options_.verify) verify_marks();
  sweep();
}

// Tri-colour invariant check (tests): every child of a marked object is marked, so the
// sweep frees nothing reachable. Objects are walked directly, O(heap).
void Heap::verify_marks() {
  tracer_.verifying_ = true;
  tracer_.violations_ = 0;
  for (Obj* o = objects_; o != nullptr; o = o->next_object)
    if (o->marked) trace_children(o, tracer_);
  tracer_.verifying_ = false;
  stats_.verify_violations += tracer_.violations_;
  if (tracer_.violations_ != 0) {
    std::fprintf(stderr, "mcode heap verify: %zu marked->unmarked edges before sweep\n", tracer_.violations_);
    std::abort();  // continuing would free reachable objects
  }
}

void Heap::sweep() {
  intern_sweep();
  Obj** link = &objects_;
  while (Obj* o = *link) {
    if (o->marked) {
      o->marked = false;
      link = &o->next_object;
    } else {
      *link = o->next_object;
      free_object(o);
    }
  }
  ++stats_.collections;
  stats_.bytes_after_last_gc = bytes_in_use_;
  update_threshold();
}

void Heap::collect() {
  MISO_PROFILE_SCOPE("mcode.gc");
  auto start = std::chrono::steady_clock::now();
  full_collection();
  record_pause(nanoseconds_since(start));
}

// Stop-the-world. A cycle in progress is restarted rather than finished: objects it
// marked may have died since (floating garbage), and collect() promises to free every
// object unreachable at the call.
void Heap::full_collection() {
  if (marking_) abort_cycle();
  start_cycle();
  try {
    mark_slice(SIZE_MAX);
  } catch (...) {
    abort_cycle();
    throw;
  }
  finish_cycle();
  ++stats_.full_collections;
}

// One safepoint's worth of GC work.
void Heap::step() {
  if (options_.stress_full) {
    collect();
    return;
  }
  MISO_PROFILE_SCOPE("mcode.gc.step");
  auto start = std::chrono::steady_clock::now();
  ++stats_.slices;
  std::size_t budget = options_.memory_budget;
  std::size_t live = stats_.bytes_after_last_gc;
  // Close to the budget (3/4 of the way from the last live size): collect fully now rather
  // than let garbage pile up while marking slowly.
  bool emergency = budget != 0 && (live >= budget || bytes_in_use_ >= live + (budget - live) / 4 * 3);
  if (emergency) {
    full_collection();
  } else {
    if (!marking_) start_cycle();
    auto debt = static_cast<double>(allocated_ - allocated_at_slice_) * options_.step;
    std::size_t minimum = options_.stress ? 1 : options_.min_slice_work;
    std::size_t work = std::max(minimum, static_cast<std::size_t>(std::min(debt, 1e18)));
    bool drained;
    try {
      drained = mark_slice(work);
    } catch (...) {
      abort_cycle();
      throw;
    }
    if (drained) {
      finish_cycle();
    } else {
      std::size_t next = bytes_in_use_ + options_.slice_bytes;
      if (budget != 0 && live < budget) next = std::min(next, live + (budget - live) / 4 * 3);
      set_threshold(next);
    }
  }
  allocated_at_slice_ = allocated_;
  record_pause(nanoseconds_since(start));
}

void Heap::update_threshold() {
  std::size_t live = bytes_in_use_;
  auto grown = static_cast<double>(live) * options_.growth_factor;
  std::size_t threshold = std::max(options_.min_threshold, static_cast<std::size_t>(grown));
  std::size_t budget = options_.memory_budget;
  if (budget != 0) threshold = std::min(threshold, live < budget ? live + (budget - live) / 2 : live);
  set_threshold(threshold);
}

void Heap::set_threshold(std::size_t threshold) noexcept {
  threshold_ = threshold;
  due_at_ = options_.stress || options_.stress_full ? 0 : threshold;
}

void Heap::set_memory_budget(std::size_t bytes) {
  options_.memory_budget = bytes;
  update_threshold();
}

HeapStats Heap::stats() const noexcept {
  HeapStats s = stats_;
  s.bytes_in_use = bytes_in_use_;
  s.threshold = threshold_;
  s.interned_strings = interned_count_;
  return s;
}

}  // namespace miso::mcode
