#include "miso/mcode/value.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"
#include "miso/mcode/heap.hpp"

namespace miso::mcode {
namespace {

std::uint64_t bits_of(double d) { return std::bit_cast<std::uint64_t>(d); }

TEST(Value, SpecialsAreDistinctAndExclusive) {
  Value nil, f = Value::boolean(false), t = Value::boolean(true), e = Value::empty();
  EXPECT_TRUE(nil.is_nil());
  EXPECT_FALSE(nil.is_bool());
  EXPECT_TRUE(f.is_bool());
  EXPECT_TRUE(t.is_bool());
  EXPECT_FALSE(f.as_bool());
  EXPECT_TRUE(t.as_bool());
  EXPECT_TRUE(e.is_empty());
  EXPECT_FALSE(e.is_bool());
  for (Value v : {nil, f, t, e}) {
    EXPECT_FALSE(v.is_double());
    EXPECT_FALSE(v.is_small_int());
    EXPECT_FALSE(v.is_object());
    EXPECT_FALSE(v.is_number());
  }
  EXPECT_FALSE(nil.is_truthy());
  EXPECT_FALSE(f.is_truthy());
  EXPECT_TRUE(t.is_truthy());
  EXPECT_TRUE(Value::small_int(0).is_truthy());
  EXPECT_TRUE(Value::number(0.0).is_truthy());
  EXPECT_TRUE(Value::number(std::nan("")).is_truthy());
}

TEST(Value, DoublesRoundTripBitExact) {
  const double cases[] = {0.0,
                          -0.0,
                          1.5,
                          -2.25,
                          std::numeric_limits<double>::infinity(),
                          -std::numeric_limits<double>::infinity(),
                          std::numeric_limits<double>::max(),
                          std::numeric_limits<double>::lowest(),
                          std::numeric_limits<double>::min(),
                          std::numeric_limits<double>::denorm_min(),
                          -std::numeric_limits<double>::denorm_min()};
  for (double d : cases) {
    Value v = Value::number(d);
    ASSERT_TRUE(v.is_double()) << d;
    EXPECT_FALSE(v.is_int());
    EXPECT_FALSE(v.is_object());
    EXPECT_TRUE(v.is_number());
    EXPECT_EQ(bits_of(v.as_double()), bits_of(d)) << d;
  }
  EXPECT_TRUE(std::signbit(Value::number(-0.0).as_double()));

  core::SplitMix64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    double d = std::bit_cast<double>(rng.next());
    Value v = Value::number(d);
    ASSERT_TRUE(v.is_double());
    if (std::isnan(d))
      EXPECT_TRUE(std::isnan(v.as_double()));
    else
      EXPECT_EQ(bits_of(v.as_double()), bits_of(d));
  }
}

TEST(Value, NaNsStayDoublesAndCollidingPayloadsAreCanonicalised) {
  double canonical = std::numeric_limits<double>::quiet_NaN();
  double x86_default = std::bit_cast<double>(0xFFF8000000000000ULL);  // what 0.0/0.0 gives on x86
  double colliding = std::bit_cast<double>(0xFFFC000000000005ULL);    // would read as an int
  double arithmetic = std::numeric_limits<double>::infinity() - std::numeric_limits<double>::infinity();
  for (double d : {canonical, x86_default, colliding, arithmetic}) {
    Value v = Value::number(d);
    EXPECT_TRUE(v.is_double());
    EXPECT_FALSE(v.is_small_int());
    EXPECT_TRUE(std::isnan(v.as_double()));
  }
  EXPECT_EQ(Value::number(x86_default).bits(), 0xFFF8000000000000ULL);  // kept, no fold needed
  EXPECT_EQ(Value::number(colliding).bits(), Value::kCanonicalNaN);
}

TEST(Value, SmallIntsRoundTripAtTheBoundaries) {
  const std::int64_t cases[] = {
      0, 1, -1, 42, -42, Value::kSmallIntMax, Value::kSmallIntMin, Value::kSmallIntMax - 1, Value::kSmallIntMin + 1};
  for (std::int64_t i : cases) {
    ASSERT_TRUE(Value::fits_small_int(i));
    Value v = Value::small_int(i);
    EXPECT_TRUE(v.is_small_int());
    EXPECT_TRUE(v.is_int());
    EXPECT_TRUE(v.is_number());
    EXPECT_FALSE(v.is_double());
    EXPECT_FALSE(v.is_object());
    EXPECT_EQ(v.as_small_int(), i);
    EXPECT_EQ(v.as_int(), i);
    EXPECT_EQ(v.to_double(), static_cast<double>(i));
  }
  EXPECT_FALSE(Value::fits_small_int(Value::kSmallIntMax + 1));
  EXPECT_FALSE(Value::fits_small_int(Value::kSmallIntMin - 1));
  core::SplitMix64 rng(11);
  for (int i = 0; i < 100000; ++i) {
    auto x = static_cast<std::int64_t>(rng.next()) >> (64 - Value::kSmallIntBits);
    ASSERT_EQ(Value::small_int(x).as_small_int(), x);
  }
}

TEST(Value, IntsOfAnyWidthThroughTheHeap) {
  Heap heap;
  const std::int64_t cases[] = {std::numeric_limits<std::int64_t>::min(),
                                std::numeric_limits<std::int64_t>::max(),
                                Value::kSmallIntMax + 1,
                                Value::kSmallIntMin - 1,
                                Value::kSmallIntMax,
                                Value::kSmallIntMin,
                                -1,
                                0};
  for (std::int64_t i : cases) {
    Value v = heap.integer(i);
    EXPECT_TRUE(v.is_int());
    EXPECT_TRUE(v.is_number());
    EXPECT_EQ(v.as_int(), i);
    EXPECT_EQ(v.is_small_int(), Value::fits_small_int(i));
    EXPECT_EQ(v.is_boxed_int(), !Value::fits_small_int(i));
    EXPECT_STREQ(type_name(v), "int");
    EXPECT_EQ(to_display_string(v), std::to_string(i));
    Value again = heap.integer(i);
    EXPECT_TRUE(values_equal(v, again));
    EXPECT_EQ(hash_value(v), hash_value(again));
  }
  EXPECT_FALSE(values_equal(heap.integer(std::numeric_limits<std::int64_t>::max()),
                            heap.integer(std::numeric_limits<std::int64_t>::max() - 1)));
}

TEST(Value, ObjectPointersRoundTrip) {
  Heap heap;
  List* list = heap.list();
  Value v = Value::object(list);
  EXPECT_TRUE(v.is_object());
  EXPECT_TRUE(v.is_list());
  EXPECT_FALSE(v.is_map());
  EXPECT_FALSE(v.is_double());
  EXPECT_FALSE(v.is_int());
  EXPECT_EQ(v.as_list(), list);
  EXPECT_EQ(v.as_object(), static_cast<Obj*>(list));
}

TEST(Value, EqualityFollowsTheLanguage) {
  Heap heap;
  EXPECT_TRUE(values_equal(Value::small_int(1), Value::number(1.0)));
  EXPECT_TRUE(values_equal(Value::number(1.0), Value::small_int(1)));
  EXPECT_FALSE(values_equal(Value::small_int(1), Value::number(1.5)));
  EXPECT_TRUE(values_equal(Value::number(0.0), Value::number(-0.0)));
  EXPECT_TRUE(values_equal(Value::small_int(0), Value::number(-0.0)));
  Value nan = Value::number(std::nan(""));
  EXPECT_FALSE(values_equal(nan, nan));
  EXPECT_FALSE(values_equal(Value(), Value::boolean(false)));
  EXPECT_TRUE(values_equal(Value(), Value()));
  EXPECT_FALSE(values_equal(Value::small_int(0), Value()));
  // Exact across int and float: 2^53 + 1 is not representable as a double.
  std::int64_t big = (std::int64_t{1} << 53) + 1;
  EXPECT_FALSE(values_equal(heap.integer(big), Value::number(9007199254740992.0)));
  EXPECT_TRUE(values_equal(heap.integer(std::int64_t{1} << 62), Value::number(4611686018427387904.0)));
  EXPECT_TRUE(values_equal(Value::number(4611686018427387904.0), heap.integer(std::int64_t{1} << 62)));
  EXPECT_FALSE(values_equal(heap.integer((std::int64_t{1} << 62) + 1), Value::number(4611686018427387904.0)));
  EXPECT_FALSE(
      values_equal(heap.integer(std::numeric_limits<std::int64_t>::max()), Value::number(9223372036854775808.0)));
  // Strings by content, containers by identity.
  EXPECT_TRUE(values_equal(heap.string_value("abc"), heap.string_value("abc")));
  std::string long_text(100, 'x');
  Value a = heap.string_value(long_text), b = heap.string_value(long_text);
  EXPECT_NE(a.as_object(), b.as_object());
  EXPECT_TRUE(values_equal(a, b));
  EXPECT_FALSE(values_equal(a, heap.string_value(std::string(99, 'x') + "y")));
  EXPECT_FALSE(values_equal(heap.string_value("1"), Value::small_int(1)));
  Value l1 = Value::object(heap.list()), l2 = Value::object(heap.list());
  EXPECT_TRUE(values_equal(l1, l1));
  EXPECT_FALSE(values_equal(l1, l2));
}

TEST(Value, HashAgreesWithEqualityOnRandomValues) {
  Heap heap;
  core::SplitMix64 rng(3);
  std::vector<Value> pool;
  for (int i = 0; i < 250; ++i) {
    auto small = static_cast<std::int64_t>(rng.next() % 2001) - 1000;
    pool.push_back(Value::small_int(small));
    pool.push_back(Value::number(static_cast<double>(small)));
    pool.push_back(Value::number(static_cast<double>(small) + 0.5));
    std::int64_t wide = static_cast<std::int64_t>(rng.next()) & ~std::int64_t{0xFFF};  // exact as a double
    pool.push_back(heap.integer(wide));
    pool.push_back(Value::number(static_cast<double>(wide)));
    std::string text = std::string("k").append(std::to_string(rng.next() % 50));
    pool.push_back(heap.string_value(text));
    pool.push_back(heap.string_value(text + std::string(50, '#')));  // long, not interned
  }
  pool.push_back(Value::number(-0.0));
  pool.push_back(Value::boolean(true));
  pool.push_back(Value());
  int equal_pairs = 0;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    for (std::size_t j = 0; j < pool.size(); ++j) {
      bool eq = values_equal(pool[i], pool[j]);
      ASSERT_EQ(eq, values_equal(pool[j], pool[i]));
      if (eq) {
        ++equal_pairs;
        ASSERT_EQ(hash_value(pool[i]), hash_value(pool[j])) << to_repr_string(pool[i]);
      }
    }
  }
  EXPECT_GT(equal_pairs, static_cast<int>(pool.size()) * 2);
}

TEST(Value, CompareNumbersIsExact) {
  Heap heap;
  using PO = std::partial_ordering;
  EXPECT_EQ(compare_numbers(Value::small_int(3), Value::number(3.5)), PO::less);
  EXPECT_EQ(compare_numbers(Value::small_int(-3), Value::number(-3.5)), PO::greater);
  EXPECT_EQ(compare_numbers(Value::number(3.5), Value::small_int(3)), PO::greater);
  EXPECT_EQ(compare_numbers(Value::small_int(3), Value::number(3.0)), PO::equivalent);
  EXPECT_EQ(compare_numbers(Value::small_int(3), Value::number(std::nan(""))), PO::unordered);
  EXPECT_EQ(compare_numbers(heap.integer((std::int64_t{1} << 53) + 1), Value::number(9007199254740992.0)), PO::greater);
  EXPECT_EQ(
      compare_numbers(heap.integer(std::numeric_limits<std::int64_t>::max()), Value::number(9223372036854775808.0)),
      PO::less);
  EXPECT_EQ(
      compare_numbers(heap.integer(std::numeric_limits<std::int64_t>::min()), Value::number(-9223372036854775808.0)),
      PO::equivalent);
  EXPECT_EQ(compare_numbers(heap.integer(std::numeric_limits<std::int64_t>::min()), Value::number(-1e300)),
            PO::greater);
  EXPECT_EQ(compare_numbers(Value::small_int(0), Value::number(-std::numeric_limits<double>::infinity())), PO::greater);
  EXPECT_EQ(compare_numbers(heap.integer(Value::kSmallIntMax + 7), Value::small_int(5)), PO::greater);
  core::SplitMix64 rng(5);
  for (int i = 0; i < 100000; ++i) {
    // |i| < 2^52 converts exactly, so double comparison is the reference.
    auto x = static_cast<std::int64_t>(rng.next() % (1ULL << 40)) - (std::int64_t{1} << 39);
    double d = static_cast<double>(static_cast<std::int64_t>(rng.next() % (1ULL << 40)) - (std::int64_t{1} << 39)) +
               (rng.next() % 4) * 0.25;
    ASSERT_EQ(compare_int_double(x, d), static_cast<double>(x) <=> d);
  }
}

TEST(Value, TypeNames) {
  Heap heap;
  static const HandleType kTensor{"tensor", nullptr};
  EXPECT_STREQ(type_name(Value()), "nil");
  EXPECT_STREQ(type_name(Value::boolean(true)), "bool");
  EXPECT_STREQ(type_name(Value::small_int(1)), "int");
  EXPECT_STREQ(type_name(Value::number(1.0)), "float");
  EXPECT_STREQ(type_name(heap.string_value("s")), "string");
  EXPECT_STREQ(type_name(Value::object(heap.list())), "list");
  EXPECT_STREQ(type_name(Value::object(heap.map())), "map");
  EXPECT_STREQ(type_name(Value::object(heap.closure(heap.function(), 0))), "function");
  EXPECT_STREQ(type_name(Value::object(heap.native("len", nullptr, 1))), "function");
  EXPECT_STREQ(type_name(Value::object(heap.handle(kTensor, nullptr))), "tensor");
}

TEST(Value, FormatsDoublesShortestAndRoundTrips) {
  EXPECT_EQ(format_double(1.0), "1.0");
  EXPECT_EQ(format_double(-0.0), "-0.0");
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(format_double(1e20), "1e+20");
  EXPECT_EQ(format_double(123456789012.0), "123456789012.0");
  EXPECT_EQ(format_double(2.5e-8), "2.5e-08");
  EXPECT_EQ(format_double(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_double(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(format_double(std::bit_cast<double>(0xFFF8000000000000ULL)), "nan");
  core::SplitMix64 rng(9);
  for (int i = 0; i < 50000; ++i) {
    double d = std::bit_cast<double>(rng.next());
    if (!std::isfinite(d)) continue;
    std::string text = format_double(d);
    double back = 0;
    auto result = std::from_chars(text.data(), text.data() + text.size(), back);
    ASSERT_EQ(result.ec, std::errc());
    ASSERT_EQ(bits_of(back), bits_of(d)) << text;
  }
}

TEST(Value, PrintsValuesAndContainers) {
  Heap heap;
  EXPECT_EQ(to_display_string(Value()), "nil");
  EXPECT_EQ(to_display_string(Value::boolean(false)), "false");
  EXPECT_EQ(to_display_string(Value::small_int(-7)), "-7");
  EXPECT_EQ(to_display_string(Value::number(2.0)), "2.0");
  EXPECT_EQ(to_display_string(heap.string_value("a\"b")), "a\"b");
  EXPECT_EQ(to_repr_string(heap.string_value("a\"b\\\n\t\x01")), "\"a\\\"b\\\\\\n\\t\\x01\"");

  List* list = heap.list();
  list->push(heap, Value::small_int(1));
  list->push(heap, heap.string_value("two"));
  list->push(heap, Value::number(3.5));
  List* inner = heap.list();
  inner->push(heap, Value());
  list->push(heap, Value::object(inner));
  EXPECT_EQ(to_display_string(Value::object(list)), "[1, \"two\", 3.5, [nil]]");

  Map* map = heap.map();
  map->set(heap, heap.string_value("b"), Value::small_int(2));
  map->set(heap, heap.string_value("a"), Value::object(list));
  map->set(heap, Value::small_int(10), Value::boolean(true));
  EXPECT_EQ(to_display_string(Value::object(map)), "{\"b\": 2, \"a\": [1, \"two\", 3.5, [nil]], 10: true}");
  EXPECT_EQ(to_display_string(Value::object(heap.map())), "{}");
  EXPECT_EQ(to_display_string(Value::object(heap.list())), "[]");

  Function* f = heap.function();
  f->name = heap.string("fib");
  EXPECT_EQ(to_display_string(Value::object(heap.closure(f, 0))), "<function fib>");
  EXPECT_EQ(to_display_string(Value::object(heap.closure(heap.function(), 0))), "<function>");
  EXPECT_EQ(to_display_string(Value::object(heap.native("len", nullptr, 1))), "<function len>");
  static const HandleType kTimeline{"timeline", nullptr};
  EXPECT_EQ(to_display_string(Value::object(heap.handle(kTimeline, nullptr))), "<timeline>");
}

TEST(Value, PrintingSurvivesCyclesAndDeepNesting) {
  Heap heap;
  List* self = heap.list();
  self->push(heap, Value::small_int(1));
  self->push(heap, Value::object(self));
  EXPECT_EQ(to_display_string(Value::object(self)), "[1, [...]]");
  Map* m = heap.map();
  m->set(heap, heap.string_value("me"), Value::object(m));
  EXPECT_EQ(to_display_string(Value::object(m)), "{\"me\": {...}}");
  // Shared (non-cyclic) substructure prints in full each time.
  List* shared = heap.list();
  shared->push(heap, Value::small_int(0));
  List* twice = heap.list();
  twice->push(heap, Value::object(shared));
  twice->push(heap, Value::object(shared));
  EXPECT_EQ(to_display_string(Value::object(twice)), "[[0], [0]]");
  // 100000 levels: bounded recursion, no stack overflow.
  List* outer = heap.list();
  List* cur = outer;
  for (int i = 0; i < 100000; ++i) {
    List* next = heap.list();
    cur->push(heap, Value::object(next));
    cur = next;
  }
  std::string text = to_display_string(Value::object(outer));
  EXPECT_EQ(text.substr(0, 3), "[[[");
  EXPECT_NE(text.find("[...]"), std::string::npos);
  EXPECT_LT(text.size(), 1000u);
}

TEST(List, OperationsMatchAVector) {
  Heap heap;
  List* list = heap.list();
  std::vector<std::int64_t> reference;
  core::SplitMix64 rng(21);
  for (int step = 0; step < 20000; ++step) {
    auto op = rng.next() % 6;
    auto x = static_cast<std::int64_t>(rng.next() % 1000);
    if (op <= 1) {
      list->push(heap, Value::small_int(x));
      reference.push_back(x);
    } else if (op == 2 && !reference.empty()) {
      ASSERT_EQ(list->pop().as_int(), reference.back());
      reference.pop_back();
    } else if (op == 3) {
      std::size_t at = rng.next() % (reference.size() + 1);
      list->insert(heap, at, Value::small_int(x));
      reference.insert(reference.begin() + static_cast<std::ptrdiff_t>(at), x);
    } else if (op == 4 && !reference.empty()) {
      std::size_t at = rng.next() % reference.size();
      ASSERT_EQ(list->remove(at).as_int(), reference[at]);
      reference.erase(reference.begin() + static_cast<std::ptrdiff_t>(at));
    } else if (op == 5 && !reference.empty()) {
      std::size_t at = rng.next() % reference.size();
      list->set(at, Value::small_int(x));
      reference[at] = x;
    }
    ASSERT_EQ(list->size(), reference.size());
  }
  for (std::size_t i = 0; i < reference.size(); ++i) ASSERT_EQ(list->at(i).as_int(), reference[i]);
  list->resize(heap, reference.size() + 3, Value::boolean(true));
  EXPECT_TRUE(list->at(reference.size() + 2).is_true());
  list->resize(heap, 2);
  EXPECT_EQ(list->size(), 2u);
  list->clear();
  EXPECT_TRUE(list->empty());
}

TEST(Map, BasicOperationsAndInsertionOrder) {
  Heap heap;
  Map* map = heap.map();
  EXPECT_TRUE(map->get(Value::small_int(1)).is_empty());
  EXPECT_FALSE(map->remove(Value::small_int(1)));
  map->set(heap, heap.string_value("x"), Value::small_int(1));
  map->set(heap, Value::small_int(1), heap.string_value("one"));
  map->set(heap, Value(), Value::boolean(true));
  map->set(heap, Value::boolean(false), Value::small_int(0));
  EXPECT_EQ(map->size(), 4u);
  EXPECT_EQ(map->get(heap.string_value("x")).as_int(), 1);
  // 1 and 1.0 are the same key.
  EXPECT_EQ(map->get(Value::number(1.0)).as_string()->view(), "one");
  map->set(heap, Value::number(1.0), heap.string_value("uno"));
  EXPECT_EQ(map->size(), 4u);
  EXPECT_EQ(to_display_string(Value::object(map)), "{\"x\": 1, 1: \"uno\", nil: true, false: 0}");
  EXPECT_TRUE(map->remove(heap.string_value("x")));
  EXPECT_FALSE(map->contains(heap.string_value("x")));
  map->set(heap, heap.string_value("x"), Value::small_int(2));  // re-added at the end
  EXPECT_EQ(to_display_string(Value::object(map)), "{1: \"uno\", nil: true, false: 0, \"x\": 2}");
  try {
    map->set(heap, Value::number(std::nan("")), Value());
    FAIL() << "NaN key accepted";
  } catch (const miso::Error& e) {
    EXPECT_EQ(e.kind(), miso::Error::Kind::InvalidArgument);
    EXPECT_STREQ(e.what(), "map key is NaN");
  }
  map->clear();
  EXPECT_TRUE(map->empty());
  EXPECT_TRUE(map->get(Value::small_int(1)).is_empty());
  map->set(heap, Value::small_int(1), Value::small_int(2));
  EXPECT_EQ(map->get(Value::small_int(1)).as_int(), 2);
}

TEST(Map, RandomOperationsMatchAReferenceAndKeepOrder) {
  Heap heap;
  Map* map = heap.map();
  struct Expected {
    std::int64_t value;
    std::int64_t inserted_at;  // insertion order (a removed key re-enters at the end)
  };
  std::unordered_map<std::string, Expected> reference;
  core::SplitMix64 rng(17);
  for (std::int64_t step = 0; step < 60000; ++step) {
    std::string key =
        std::string(rng.next() % 2 ? "key" : std::string(45, 'L')).append(std::to_string(rng.next() % 3000));
    Value k = heap.string_value(key);
    if (rng.next() % 3 < 2) {
      auto x = static_cast<std::int64_t>(rng.next() % 1000000);
      map->set(heap, k, Value::small_int(x));
      auto [it, added] = reference.emplace(key, Expected{x, step});
      if (!added) it->second.value = x;
    } else {
      ASSERT_EQ(map->remove(k), reference.erase(key) == 1);
    }
    if (step % 1000 == 0) {
      ASSERT_EQ(map->size(), reference.size());
    }
  }
  ASSERT_EQ(map->size(), reference.size());
  std::int64_t previous = -1;
  map->for_each([&](Value key, Value value) {
    const Expected& expected = reference.at(std::string(key.as_string()->view()));
    ASSERT_EQ(value.as_int(), expected.value);
    ASSERT_GT(expected.inserted_at, previous);
    previous = expected.inserted_at;
  });
  for (auto& [key, expected] : reference) ASSERT_EQ(map->get(heap.string_value(key)).as_int(), expected.value);
}

TEST(Map, IntKeysOfEveryWidthAndFloatAliases) {
  Heap heap;
  Map* map = heap.map(16);
  for (std::int64_t i = -500; i < 500; ++i) map->set(heap, Value::small_int(i * 7), Value::small_int(i));
  std::int64_t wide = std::numeric_limits<std::int64_t>::max();
  map->set(heap, heap.integer(wide), Value::small_int(99));
  for (std::int64_t i = -500; i < 500; ++i) {
    ASSERT_EQ(map->get(Value::small_int(i * 7)).as_int(), i);
    ASSERT_EQ(map->get(Value::number(static_cast<double>(i * 7))).as_int(), i);
    ASSERT_TRUE(map->get(Value::number(static_cast<double>(i * 7) + 0.5)).is_empty());
  }
  EXPECT_EQ(map->get(heap.integer(wide)).as_int(), 99);
  EXPECT_TRUE(map->get(Value::number(-0.0)).is_small_int());  // -0.0 finds key 0
  EXPECT_EQ(map->size(), 1001u);
}

}  // namespace
}  // namespace miso::mcode
