#include "miso/mcode/heap.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "miso/core/hash.hpp"

namespace miso::mcode {
namespace {

// "prefix" followed by the number (spelled out to dodge a GCC 12 -Wrestrict false positive).
std::string numbered(const char* prefix, long long i) { return std::string(prefix).append(std::to_string(i)); }

TEST(Heap, ShortStringsAreInternedLongOnesAreNot) {
  Heap heap;
  String* a = heap.string("hello");
  String* b = heap.string(std::string("hel") + "lo");
  EXPECT_EQ(a, b);
  EXPECT_TRUE(a->interned());
  EXPECT_EQ(a->view(), "hello");
  EXPECT_EQ(a->data()[a->size()], '\0');
  String* limit1 = heap.string(std::string(Heap::kInternMaxLength, 'z'));
  String* limit2 = heap.string(std::string(Heap::kInternMaxLength, 'z'));
  EXPECT_EQ(limit1, limit2);
  String* long1 = heap.string(std::string(Heap::kInternMaxLength + 1, 'z'));
  String* long2 = heap.string(std::string(Heap::kInternMaxLength + 1, 'z'));
  EXPECT_NE(long1, long2);
  EXPECT_FALSE(long1->interned());
  EXPECT_TRUE(long1->equals(long2));
  EXPECT_EQ(long1->hash(), long2->hash());
  EXPECT_EQ(heap.string(""), heap.string(""));
  EXPECT_EQ(heap.string("")->size(), 0u);
  // Embedded NUL bytes are content like any other.
  EXPECT_NE(heap.string(std::string_view("a\0b", 3)), heap.string(std::string_view("a\0c", 3)));
  // concat interns short results and builds long ones.
  EXPECT_EQ(heap.concat(heap.string("hel"), heap.string("lo")), a);
  String* joined = heap.concat(long1, heap.string("!"));
  EXPECT_EQ(joined->view(), std::string(Heap::kInternMaxLength + 1, 'z') + "!");
  EXPECT_EQ(heap.stats().interned_strings, 8u);  // hello, z*40, "", a\0b, a\0c, hel, lo, !
}

TEST(Heap, InternTableIsWeak) {
  Heap heap;
  for (int i = 0; i < 1000; ++i) heap.string(numbered("s", i));
  Rooted keep(heap, heap.string_value("s7"));
  EXPECT_EQ(heap.stats().interned_strings, 1000u);
  heap.collect();
  EXPECT_EQ(heap.stats().interned_strings, 1u);
  EXPECT_EQ(heap.stats().objects_live, 1u);
  EXPECT_EQ(heap.string("s7"), keep.get().as_string());
  String* again = heap.string("s8");  // freed before: a fresh object with the same text
  EXPECT_EQ(again->view(), "s8");
  EXPECT_EQ(heap.string("s8"), again);
  // Many rounds of create/collect keep the table bounded and correct.
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 500; ++i) heap.string(numbered("r", round * 500 + i));
    heap.collect();
  }
  EXPECT_EQ(heap.stats().interned_strings, 1u);
  EXPECT_EQ(heap.string("s7"), keep.get().as_string());
}

TEST(Heap, UnreachableObjectsAreFreedAndAccountingReturnsToZero) {
  Heap heap;
  for (int i = 0; i < 100; ++i) {
    List* list = heap.list();
    for (int j = 0; j < 20; ++j) list->push(heap, Value::small_int(j));
    Map* map = heap.map();
    map->set(heap, Value::small_int(i), Value::object(list));
    heap.integer(std::numeric_limits<std::int64_t>::min() + i);
  }
  HeapStats before = heap.stats();
  EXPECT_EQ(before.objects_live, 300u);
  EXPECT_GT(before.bytes_in_use, 100u * 20 * sizeof(Value));
  heap.collect();
  HeapStats after = heap.stats();
  EXPECT_EQ(after.objects_freed, 300u);
  EXPECT_EQ(after.objects_live, 0u);
  EXPECT_EQ(after.bytes_in_use, 0u);
  EXPECT_EQ(after.bytes_after_last_gc, 0u);
  EXPECT_EQ(after.bytes_freed, before.bytes_in_use);
  EXPECT_EQ(after.collections, 1u);
}

TEST(Heap, ReachableObjectsSurviveWithTheirContents) {
  Heap heap;
  Rooted root(heap, Value::object(heap.list()));
  Value held_by_tracer = Value::object(heap.map());
  std::size_t tracer_id = heap.add_root_tracer([&](Tracer& t) { t.mark(held_by_tracer); });
  List* list = root->as_list();
  for (int i = 0; i < 50; ++i) list->push(heap, heap.string_value(numbered("item", i) + std::string(50, '.')));
  Map* map = held_by_tracer.as_map();
  for (int i = 0; i < 50; ++i) map->set(heap, heap.string_value(numbered("k", i)), heap.integer(INT64_MAX - i));
  for (int i = 0; i < 200; ++i) heap.list();  // garbage
  heap.collect();
  heap.collect();
  EXPECT_EQ(heap.stats().objects_live, 1u + 50 + 1 + 50 + 50);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(list->at(i).as_string()->view(), numbered("item", i) + std::string(50, '.'));
    EXPECT_EQ(map->get(heap.string_value(numbered("k", i))).as_int(), INT64_MAX - i);
  }
  heap.remove_root_tracer(tracer_id);
  heap.collect();
  EXPECT_EQ(heap.stats().objects_live, 1u + 50);
}

TEST(Heap, CyclesAreCollected) {
  Heap heap;
  {
    List* self = heap.list();
    self->push(heap, Value::object(self));
    Map* a = heap.map();
    Map* b = heap.map();
    a->set(heap, heap.string_value("b"), Value::object(b));
    b->set(heap, heap.string_value("a"), Value::object(a));
    // A closure that captures itself through a closed upvalue (a recursive local fn).
    Function* f = heap.function();
    f->name = heap.string("loop");
    Closure* c = heap.closure(f, 1);
    Value slot = Value::object(c);
    Upvalue* up = heap.upvalue(&slot);
    up->close();
    c->upvalue(0) = up;
  }
  heap.collect();
  EXPECT_EQ(heap.stats().objects_live, 0u);
  EXPECT_EQ(heap.stats().bytes_in_use, 0u);
}

TEST(Heap, ClosuresKeepTheirFunctionConstantsAndUpvaluesAlive) {
  Heap heap;
  Function* f = heap.function();
  f->name = heap.string("adder");
  f->source = heap.string("main.mc");
  f->constants.push_back(heap.string_value(std::string(60, 'c')));
  f->constants.push_back(heap.integer(INT64_MIN));
  f->code = {1, 2, 3};
  heap.account(f);
  std::size_t with_vectors = heap.bytes_in_use();
  Closure* c = heap.closure(f, 2);
  Value stack_slot = heap.string_value("captured-open");
  c->upvalue(0) = heap.upvalue(&stack_slot);  // open: the VM's tracer marks the slot
  Value other = heap.string_value("captured-closed");
  c->upvalue(1) = heap.upvalue(&other);
  c->upvalue(1)->close();
  other = Value();
  Rooted root(heap, Value::object(c));
  std::size_t id = heap.add_root_tracer([&](Tracer& t) { t.mark(stack_slot); });
  heap.collect();
  EXPECT_EQ(c->function()->name->view(), "adder");
  EXPECT_EQ(c->function()->source->view(), "main.mc");
  EXPECT_EQ(c->function()->constants[0].as_string()->view(), std::string(60, 'c'));
  EXPECT_EQ(c->function()->constants[1].as_int(), INT64_MIN);
  EXPECT_EQ(c->upvalue(0)->location->as_string()->view(), "captured-open");
  EXPECT_EQ(c->upvalue(1)->location->as_string()->view(), "captured-closed");
  EXPECT_EQ(heap.stats().objects_live, 10u);
  EXPECT_GE(with_vectors, sizeof(Function) + 3 * sizeof(std::uint32_t) + 2 * sizeof(Value));
  heap.remove_root_tracer(id);
}

TEST(Heap, DeepChainsMarkWithoutRecursion) {
  Heap heap;
  Rooted head(heap, Value::object(heap.list()));
  List* cur = head->as_list();
  for (int i = 0; i < 300000; ++i) {
    List* next = heap.list();
    cur->push(heap, Value::object(next));
    cur = next;
  }
  heap.collect();
  EXPECT_EQ(heap.stats().objects_live, 300001u);
  head.set(Value());
  heap.collect();
  EXPECT_EQ(heap.stats().objects_live, 0u);
}

TEST(Heap, MillionsOfShortLivedObjectsStayUnderABound) {
  HeapOptions options;
  options.min_threshold = 256 * 1024;
  Heap heap(options);
  Rooted keep(heap, Value::object(heap.list()));
  std::int64_t checksum = 0;
  for (int i = 0; i < 1000000; ++i) {
    List* pair = heap.list();
    pair->push(heap, Value::small_int(i));
    pair->push(heap, heap.integer(INT64_MAX - i));  // a boxed int: a second object
    if (i % 100000 == 0) keep->as_list()->push(heap, Value::object(pair));
    checksum += pair->at(0).as_int();
    heap.collect_if_needed();  // the VM's safepoint
  }
  HeapStats s = heap.stats();
  EXPECT_EQ(checksum, 499999500000);
  EXPECT_GT(s.collections, 10u);
  EXPECT_LT(s.peak_bytes, 2u * 256 * 1024 + 4096);
  EXPECT_EQ(s.objects_allocated, 2000001u);
  heap.collect();
  ASSERT_EQ(keep->as_list()->size(), 10u);
  for (std::size_t k = 0; k < 10; ++k) {
    List* pair = keep->as_list()->at(k).as_list();
    EXPECT_EQ(pair->at(0).as_int(), static_cast<std::int64_t>(k) * 100000);
    EXPECT_EQ(pair->at(1).as_int(), INT64_MAX - static_cast<std::int64_t>(k) * 100000);
  }
  EXPECT_EQ(heap.stats().objects_live, 1u + 10 * 2);
}

// Random object graphs: lists whose element 0 is their id and whose other elements are
// children. Roots come and go; after each collection the survivors must be exactly the
// objects reachable in a mirror graph kept in plain C++, with intact contents.
TEST(Heap, RandomGraphsAgainstReferenceReachability) {
  HeapOptions options;
  options.stress = true;  // an incremental cycle is always in progress: every push runs the barrier
  options.verify = true;  // abort if a marked object ever points to an unmarked one at a finish
  Heap heap(options);
  core::SplitMix64 rng(1234);
  std::vector<List*> objects;                      // by id; dangling once freed (never touched then)
  std::vector<std::vector<std::size_t>> children;  // mirror of the edges
  RootedVector roots(heap);
  std::vector<std::size_t> root_ids;

  auto reachable = [&] {
    std::vector<bool> seen(objects.size(), false);
    std::vector<std::size_t> stack(root_ids.begin(), root_ids.end());
    while (!stack.empty()) {
      std::size_t id = stack.back();
      stack.pop_back();
      if (seen[id]) continue;
      seen[id] = true;
      for (std::size_t c : children[id]) stack.push_back(c);
    }
    return seen;
  };

  for (int round = 0; round < 60; ++round) {
    std::vector<bool> live = reachable();
    std::vector<std::size_t> live_ids;
    for (std::size_t id = 0; id < live.size(); ++id)
      if (live[id]) live_ids.push_back(id);
    // New objects, each rooted or hung under a live object (or left as garbage).
    for (int n = 0; n < 200; ++n) {
      std::size_t id = objects.size();
      List* list = heap.list();
      list->push(heap, Value::small_int(static_cast<std::int64_t>(id)));
      objects.push_back(list);
      children.emplace_back();
      auto where = rng.next() % 4;
      if (where == 0) {
        roots.values().push_back(Value::object(list));
        root_ids.push_back(id);
        live_ids.push_back(id);
      } else if (where <= 2 && !live_ids.empty()) {
        std::size_t parent = live_ids[rng.next() % live_ids.size()];
        objects[parent]->push(heap, Value::object(list));
        children[parent].push_back(id);
        live_ids.push_back(id);
      }
      heap.collect_if_needed();  // a slice: the new list is reachable (or garbage) by now
    }
    // Extra edges between live objects (cycles included).
    for (int e = 0; e < 300 && !live_ids.empty(); ++e) {
      std::size_t from = live_ids[rng.next() % live_ids.size()];
      std::size_t to = live_ids[rng.next() % live_ids.size()];
      objects[from]->push(heap, Value::object(objects[to]));
      children[from].push_back(to);
      heap.collect_if_needed();
    }
    // Drop random roots and random edges.
    for (int r = 0; r < 40 && !root_ids.empty(); ++r) {
      std::size_t k = rng.next() % root_ids.size();
      roots.values().erase(roots.values().begin() + static_cast<std::ptrdiff_t>(k));
      root_ids.erase(root_ids.begin() + static_cast<std::ptrdiff_t>(k));
    }
    for (int r = 0; r < 100 && !live_ids.empty(); ++r) {
      std::size_t id = live_ids[rng.next() % live_ids.size()];
      if (children[id].empty()) continue;
      std::size_t k = rng.next() % children[id].size();
      objects[id]->remove(k + 1);
      children[id].erase(children[id].begin() + static_cast<std::ptrdiff_t>(k));
    }
    // Drops happen without safepoints (live_ids may hold the dropped); then a full
    // collection (finishing the incremental cycle in progress) must free exactly the rest.
    heap.collect();
    live = reachable();
    std::uint64_t live_count = 0;
    for (std::size_t id = 0; id < live.size(); ++id) {
      if (!live[id]) continue;
      ++live_count;
      List* list = objects[id];
      ASSERT_EQ(list->at(0).as_int(), static_cast<std::int64_t>(id));
      ASSERT_EQ(list->size(), children[id].size() + 1);
      for (std::size_t k = 0; k < children[id].size(); ++k)
        ASSERT_EQ(list->at(k + 1).as_list()->at(0).as_int(), static_cast<std::int64_t>(children[id][k]));
    }
    ASSERT_EQ(heap.stats().objects_live, live_count) << "round " << round;
  }
  EXPECT_GT(heap.stats().objects_freed, 1000u);
  EXPECT_GT(heap.stats().collections, heap.stats().full_collections);  // incremental cycles completed too
  EXPECT_EQ(heap.stats().verify_violations, 0u);
}

struct FinalizeLog {
  static inline std::vector<int> counts;
};
void count_finalize(void* data) noexcept {
  ++FinalizeLog::counts[static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(data))];
}
const HandleType kCounted{"counted", &count_finalize};

TEST(Heap, HandleFinalizersRunExactlyOnce) {
  FinalizeLog::counts.assign(100, 0);
  {
    Heap heap;
    RootedVector keep(heap);
    for (std::uintptr_t i = 0; i < 100; ++i) {
      Handle* h = heap.handle(kCounted, reinterpret_cast<void*>(i), 1000);
      EXPECT_TRUE(h->is(kCounted));
      EXPECT_EQ(h->external_bytes(), 1000u);
      if (i % 2 == 0) keep.values().push_back(Value::object(h));
    }
    EXPECT_GE(heap.bytes_in_use(), 100u * 1000);
    heap.collect();
    heap.collect();
    for (std::size_t i = 0; i < 100; ++i) EXPECT_EQ(FinalizeLog::counts[i], i % 2 == 0 ? 0 : 1) << i;
    EXPECT_LT(heap.bytes_in_use(), 50u * 1000 + 50 * sizeof(Handle) + 1);
    EXPECT_GE(heap.bytes_in_use(), 50u * 1000);
    EXPECT_EQ(keep.values()[3].as_handle()->data(), reinterpret_cast<void*>(6));
  }  // heap destroyed: the rooted half is finalized now
  for (std::size_t i = 0; i < 100; ++i) EXPECT_EQ(FinalizeLog::counts[i], 1) << i;
}

struct Engine {
  Value callback;
};
void delete_engine(void* data) noexcept { delete static_cast<Engine*>(data); }
void trace_engine(void* data, Tracer& tracer) { tracer.mark(static_cast<Engine*>(data)->callback); }
const HandleType kEngine{"engine", &delete_engine, &trace_engine};

TEST(Heap, HandlesTraceTheValuesTheirEngineObjectsHold) {
  Heap heap;
  auto* engine = new Engine;
  Rooted h(heap, Value::object(heap.handle(kEngine, engine)));
  engine->callback = heap.string_value(std::string(80, 'q'));
  heap.collect();
  EXPECT_EQ(engine->callback.as_string()->view(), std::string(80, 'q'));
  EXPECT_EQ(heap.stats().objects_live, 2u);
  EXPECT_STREQ(type_name(h.get()), "engine");
}

TEST(Heap, MemoryBudgetThrowsACleanErrorAndTheHeapStaysUsable) {
  HeapOptions options;
  options.memory_budget = 1 << 20;
  Heap heap(options);
  {
    RootedVector keep(heap);
    try {
      for (int i = 0; i < 1000000; ++i) {
        keep.values().push_back(heap.string_value(std::string(100, 'x')));
        heap.collect_if_needed();
      }
      FAIL() << "budget never hit";
    } catch (const MemoryBudgetError& e) {
      EXPECT_STREQ(e.what(), "memory budget of 1048576 bytes exceeded");
      EXPECT_EQ(e.kind(), miso::Error::Kind::InvalidArgument);
      EXPECT_EQ(e.budget(), 1u << 20);
    }
    EXPECT_LE(heap.bytes_in_use(), 1u << 20);
    EXPECT_GT(heap.bytes_in_use(), (1u << 20) - 200);
    EXPECT_EQ(keep.values().back().as_string()->view(), std::string(100, 'x'));
  }
  heap.collect();
  EXPECT_EQ(heap.bytes_in_use(), 0u);
  // Garbage alone never hits the budget when the VM reaches safepoints.
  for (int i = 0; i < 200000; ++i) {
    heap.string(std::string(200, 'y'));
    heap.collect_if_needed();
  }
  EXPECT_LE(heap.stats().peak_bytes, 1u << 20);
  heap.set_memory_budget(0);
  for (int i = 0; i < 20000; ++i) heap.string(std::string(100, 'z'));
  EXPECT_GT(heap.bytes_in_use(), 1u << 20);
}

TEST(Heap, FailedGrowthLeavesObjectsIntact) {
  HeapOptions options;
  options.memory_budget = sizeof(List) + 8 * sizeof(Value);
  Heap heap(options);
  Rooted list(heap, Value::object(heap.list()));
  for (int i = 0; i < 8; ++i) list->as_list()->push(heap, Value::small_int(i));
  EXPECT_EQ(heap.bytes_in_use(), heap.memory_budget());
  EXPECT_THROW(list->as_list()->push(heap, Value::small_int(8)), MemoryBudgetError);
  EXPECT_THROW(heap.string("s"), MemoryBudgetError);
  EXPECT_EQ(list->as_list()->size(), 8u);
  EXPECT_EQ(list->as_list()->at(7).as_int(), 7);
  // A handle refused for its size is still finalized (the heap owned its data).
  FinalizeLog::counts.assign(1, 0);
  EXPECT_THROW(heap.handle(kCounted, nullptr, 1 << 20), MemoryBudgetError);
  EXPECT_EQ(FinalizeLog::counts[0], 1);
  EXPECT_EQ(heap.stats().objects_live, 1u);
}

TEST(Heap, MapGrowthPastTheBudgetLeavesTheMapIntact) {
  HeapOptions options;
  options.memory_budget = 64 * 1024;
  Heap heap(options);
  Rooted root(heap, Value::object(heap.map()));
  Map* map = root->as_map();
  std::int64_t inserted = 0;
  try {
    for (;; ++inserted) map->set(heap, Value::small_int(inserted), Value::small_int(inserted * 2));
  } catch (const MemoryBudgetError&) {
  }
  ASSERT_GT(inserted, 100);
  ASSERT_EQ(map->size(), static_cast<std::size_t>(inserted));
  for (std::int64_t i = 0; i < inserted; ++i) ASSERT_EQ(map->get(Value::small_int(i)).as_int(), i * 2);
}

TEST(Heap, ARootTracerThatThrowsLeavesTheHeapConsistent) {
  Heap heap;
  bool fail = true;
  Value kept = Value::object(heap.list());
  kept.as_list()->push(heap, heap.string_value("inside"));
  heap.add_root_tracer([&](Tracer& t) {
    t.mark(kept);
    if (fail) throw std::runtime_error("tracer failed");
  });
  heap.list();  // garbage
  EXPECT_THROW(heap.collect(), std::runtime_error);
  EXPECT_EQ(heap.stats().objects_live, 3u);
  fail = false;
  heap.collect();
  EXPECT_EQ(heap.stats().objects_live, 2u);
  EXPECT_EQ(kept.as_list()->at(0).as_string()->view(), "inside");
}

TEST(Heap, RootedValuesNestAndUnregister) {
  Heap heap;
  Rooted outer(heap, heap.string_value(std::string(50, 'o')));
  {
    Rooted a(heap, heap.string_value(std::string(50, 'a')));
    Rooted b(heap, heap.string_value(std::string(50, 'b')));
    {
      Rooted c(heap, heap.string_value(std::string(50, 'c')));
      heap.collect();
      EXPECT_EQ(heap.stats().objects_live, 4u);
    }
    heap.collect();
    EXPECT_EQ(heap.stats().objects_live, 3u);
    EXPECT_EQ(a->as_string()->view(), std::string(50, 'a'));
  }
  heap.collect();
  EXPECT_EQ(heap.stats().objects_live, 1u);
  EXPECT_EQ(outer->as_string()->view(), std::string(50, 'o'));
}

TEST(Heap, ThresholdGrowsWithTheLiveSize) {
  HeapOptions options;
  options.min_threshold = 64 * 1024;
  Heap heap(options);
  EXPECT_EQ(heap.stats().threshold, 64u * 1024);
  RootedVector keep(heap);
  for (int i = 0; i < 10000; ++i) keep.values().push_back(heap.string_value(std::string(100, 'k')));
  heap.collect();
  HeapStats s = heap.stats();
  EXPECT_EQ(s.threshold, 2 * s.bytes_after_last_gc);
  EXPECT_FALSE(heap.collection_due());
  heap.set_memory_budget(s.bytes_after_last_gc + 1000);
  EXPECT_EQ(heap.stats().threshold, s.bytes_after_last_gc + 500);
}

TEST(Heap, NativesKeepTheirNameAndBoundValue) {
  Heap heap;
  static int calls = 0;
  NativeFn fn = [](NativeCallContext&, std::span<const Value> args) {
    ++calls;
    return Value::small_int(static_cast<std::int64_t>(args.size()));
  };
  Native* native = heap.native("count_args", fn, -1);
  native->bound = heap.string_value(std::string(64, 'b'));
  Rooted root(heap, Value::object(native));
  heap.collect();
  EXPECT_EQ(native->name->view(), "count_args");
  EXPECT_EQ(native->bound.as_string()->view(), std::string(64, 'b'));
  EXPECT_EQ(native->fn, fn);
  EXPECT_EQ(native->arity, -1);
  EXPECT_TRUE(root->is_callable());
  EXPECT_EQ(calls, 0);
}

// ---------------------------------------------------------------- incremental marking

// Under HeapOptions::stress with nothing allocated between safepoints, each safepoint
// traces exactly one grey object, and the grey stack is LIFO: the roots are greyed newest
// Rooted first, so the oldest Rooted is traced by the first slice. A filler list of n
// strings, rooted last, keeps the cycle in progress for about n more safepoints.
Value filler(Heap& heap, int n) {
  List* list = heap.list();
  for (int i = 0; i < n; ++i) list->push(heap, heap.string_value(std::string("f").append(std::to_string(i))));
  return Value::object(list);
}

// One safepoint that must leave the cycle in progress.
void slice(Heap& heap) {
  ASSERT_TRUE(heap.collect_if_needed());
  ASSERT_TRUE(heap.marking());
}

TEST(HeapIncremental, StressSlicesKeepACycleInProgress) {
  HeapOptions options;
  options.stress = true;
  options.verify = true;
  Heap heap(options);
  Rooted keep(heap, Value::object(heap.list()));
  for (int i = 0; i < 200; ++i)
    keep->as_list()->push(heap, heap.string_value(std::string("s").append(std::to_string(i))));
  EXPECT_FALSE(heap.marking());
  std::uint64_t steps = 0;
  heap.collect_if_needed();
  while (heap.marking()) {
    heap.collect_if_needed();
    ++steps;
  }
  // Tiny slices: the 201 objects took many safepoints, not one.
  EXPECT_GT(steps, 50u);
  HeapStats s = heap.stats();
  EXPECT_EQ(s.collections, 1u);
  EXPECT_EQ(s.full_collections, 0u);
  EXPECT_EQ(s.slices, steps + 1);
  EXPECT_LE(s.max_pause_nanoseconds, s.gc_nanoseconds);
  EXPECT_EQ(s.objects_live, 201u);
}

// The Dijkstra barrier: the only reference to a young object moves from C++ (the
// "stack") into an old container that marking already blackened.
TEST(HeapIncremental, StoreIntoBlackContainerGreysTheValue) {
  HeapOptions options;
  options.stress = true;
  options.verify = true;
  Heap heap(options);
  Rooted old_list(heap, Value::object(heap.list()));
  Rooted old_map(heap, Value::object(heap.map()));
  Rooted rest(heap, filler(heap, 100));
  slice(heap);  // starts the cycle, blackens old_list
  slice(heap);  // blackens old_map
  ASSERT_TRUE(old_list->as_object()->marked);
  ASSERT_TRUE(old_map->as_object()->marked);
  {
    List* young = heap.list();
    young->push(heap, heap.string_value(std::string(50, 'y')));
    old_list->as_list()->push(heap, Value::object(young));  // barrier greys `young`
    Map* young_map = heap.map();
    old_map->as_map()->set(heap, heap.string_value("k"), Value::object(young_map));
    young_map->set(heap, heap.string_value("inner"), heap.string_value(std::string(60, 'z')));
    EXPECT_TRUE(young->marked);  // grey now
  }
  while (heap.marking()) heap.collect_if_needed();
  EXPECT_EQ(heap.stats().collections, 1u);
  List* young = old_list->as_list()->at(0).as_list();
  EXPECT_EQ(young->at(0).as_string()->view(), std::string(50, 'y'));
  Map* young_map = old_map->as_map()->get(heap.string_value("k")).as_map();
  EXPECT_EQ(young_map->get(heap.string_value("inner")).as_string()->view(), std::string(60, 'z'));
  // old list, young list, 'y' string, old map, young map, "k", "inner", 'z' string, filler.
  EXPECT_EQ(heap.stats().objects_live, 8u + 101);
}

// List::set and Upvalue stores are raw: their callers add the barrier.
TEST(HeapIncremental, RawStoresWithTheBarrierSurvive) {
  HeapOptions options;
  options.stress = true;
  options.verify = true;
  Heap heap(options);
  Rooted list(heap, Value::object(heap.list()));
  list->as_list()->resize(heap, 3);
  Upvalue* up = heap.upvalue(nullptr);
  up->location = &up->closed;
  list->as_list()->set(2, Value::object(up));
  Rooted rest(heap, filler(heap, 100));
  slice(heap);  // blackens the list, greys `up`
  slice(heap);  // blackens `up`
  Value s = heap.string_value(std::string(70, 's'));
  list->as_list()->set(0, s);
  heap.write_barrier(list->as_object(), s);
  Value t = heap.string_value(std::string(70, 't'));
  up->closed = t;
  heap.write_barrier(up, t);
  while (heap.marking()) heap.collect_if_needed();  // finishes the cycle (verify runs)
  EXPECT_EQ(list->as_list()->at(0).as_string()->view(), std::string(70, 's'));
  EXPECT_EQ(up->closed.as_string()->view(), std::string(70, 't'));
  EXPECT_EQ(heap.stats().objects_live, 4u + 101);
  EXPECT_EQ(heap.stats().full_collections, 0u);
}

// Handles' engine data is written without a barrier: the finish re-traces marked handles.
TEST(HeapIncremental, HandleDataChangedWhileMarkingIsRetraced) {
  HeapOptions options;
  options.stress = true;
  options.verify = true;
  Heap heap(options);
  auto* engine = new Engine;
  Rooted h(heap, Value::object(heap.handle(kEngine, engine)));
  Rooted rest(heap, filler(heap, 100));
  slice(heap);                                                 // blackens the handle
  engine->callback = heap.string_value(std::string(80, 'q'));  // no barrier on purpose
  while (heap.marking()) heap.collect_if_needed();
  EXPECT_EQ(engine->callback.as_string()->view(), std::string(80, 'q'));
  EXPECT_EQ(heap.stats().objects_live, 2u + 101);
}

// Objects born during marking are white: unreachable ones die at the finish, reachable
// ones are found by the root re-scan.
TEST(HeapIncremental, YoungGarbageDiesAndYoungRootsLive) {
  HeapOptions options;
  options.stress = true;
  options.verify = true;
  Heap heap(options);
  Rooted old_list(heap, Value::object(heap.list()));
  Rooted rest(heap, filler(heap, 100));
  slice(heap);
  RootedVector young(heap);
  for (int i = 0; i < 100; ++i) {
    heap.string(std::string(50, 'g') + std::to_string(i));  // garbage
    young.values().push_back(heap.string_value(std::string(50, 'r') + std::to_string(i)));
  }
  while (heap.marking()) heap.collect_if_needed();
  EXPECT_EQ(heap.stats().objects_live, 1u + 101 + 100);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(young.values()[static_cast<std::size_t>(i)].as_string()->view(),
              std::string(50, 'r') + std::to_string(i));
}

TEST(HeapIncremental, NormalPacingUsesSeveralSlicesForALargeHeap) {
  HeapOptions options;
  options.min_threshold = 256 * 1024;
  options.min_slice_work = 16 * 1024;
  options.slice_bytes = 8 * 1024;
  options.verify = true;
  Heap heap(options);
  RootedVector keep(heap);
  // A live set of ~1.5 MB and a steady stream of garbage.
  for (int i = 0; i < 20000; ++i) {
    List* pair = heap.list();
    pair->push(heap, Value::small_int(i));
    keep.values().push_back(Value::object(pair));
  }
  heap.collect();
  std::uint64_t slices_before = heap.stats().slices;
  std::uint64_t collections_before = heap.stats().collections;
  for (int i = 0; i < 300000; ++i) {
    heap.string(std::string(60, 'x'));
    if (i % 7 == 0)
      keep.values()[static_cast<std::size_t>(i) % keep.values().size()].as_list()->push(heap, heap.integer(i));
    heap.collect_if_needed();
  }
  HeapStats s = heap.stats();
  EXPECT_GT(s.collections, collections_before);
  // More slices than cycles: cycles were spread over several safepoints.
  EXPECT_GT(s.slices - slices_before, 2 * (s.collections - collections_before));
  heap.collect();
  std::int64_t sum = 0;
  for (Value v : keep.values()) sum += v.as_list()->at(0).as_int();
  EXPECT_EQ(sum, std::int64_t{20000} * 19999 / 2);
  EXPECT_EQ(heap.stats().verify_violations, 0u);
}

TEST(HeapIncremental, FullStressCollectsAtEverySafepoint) {
  HeapOptions options;
  options.stress_full = true;
  Heap heap(options);
  Rooted keep(heap, heap.string_value("kept"));
  for (int i = 0; i < 10; ++i) {
    heap.string(std::string(50, 'g'));
    ASSERT_TRUE(heap.collect_if_needed());
    EXPECT_FALSE(heap.marking());
    EXPECT_EQ(heap.stats().objects_live, 1u);
  }
  EXPECT_EQ(heap.stats().collections, 10u);
  EXPECT_EQ(heap.stats().full_collections, 10u);
}

// The verifier catches a missing barrier (a raw store into a black object).
TEST(HeapIncrementalDeathTest, VerifierCatchesAMissingBarrier) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        HeapOptions options;
        options.stress = true;
        options.verify = true;
        Heap heap(options);
        Rooted list(heap, Value::object(heap.list()));
        list->as_list()->resize(heap, 1);
        Rooted rest(heap, filler(heap, 100));
        heap.collect_if_needed();                                          // the list is black now
        list->as_list()->set(0, heap.string_value(std::string(50, 'w')));  // no barrier
        while (heap.marking()) heap.collect_if_needed();
      },
      "mcode heap verify");
}

}  // namespace
}  // namespace miso::mcode
