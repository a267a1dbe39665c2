#include "miso/echo/trigger.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../error_of.hpp"
#include "miso/core/error.hpp"

namespace miso::echo {
namespace {

using miso::testing::error_of;

class TriggerTest : public ::testing::Test {
 protected:
  World world;
  TriggerEngine engine{world};
  Symbol A = world.intern("A");
  Symbol B = world.intern("B");
  Symbol C = world.intern("C");
  Symbol X = world.intern("X");
  Symbol v = world.intern("v");
  Symbol who = world.intern("who");

  NodeId put(Symbol type, Tick time, std::vector<Attribute> attrs = {}, BranchId b = 0) {
    NodeSpec spec;
    spec.time = time;
    spec.type = type;
    spec.attributes = attrs;
    return engine.append(b, spec);
  }

  static Trigger make(std::string name, Pattern::Kind kind, std::vector<Symbol> types, Tick window,
                      std::uint32_t count = 1) {
    Trigger t;
    t.name = std::move(name);
    t.pattern.kind = kind;
    t.pattern.types = std::move(types);
    t.pattern.window = window;
    t.pattern.count = count;
    return t;
  }

  std::vector<std::vector<NodeId>> matches(std::size_t trigger) const {
    std::vector<std::vector<NodeId>> out;
    for (const Firing& f : engine.firings()) {
      if (f.trigger == trigger) out.push_back(f.matched);
    }
    return out;
  }
};

using Ids = std::vector<std::vector<NodeId>>;

TEST_F(TriggerTest, SequenceWithinWindow) {
  const std::size_t t = engine.add(make("abc", Pattern::Kind::Sequence, {A, B, C}, 10));
  const NodeId a = put(A, 0);
  put(C, 1);  // out of order: ignored
  const NodeId b = put(B, 3);
  put(X, 4);
  EXPECT_TRUE(engine.firings().empty());
  const NodeId c = put(C, 10);  // exactly at the window's end
  ASSERT_EQ(engine.firings().size(), 1u);
  const Firing& f = engine.firings()[0];
  EXPECT_EQ(f.trigger, t);
  EXPECT_EQ(f.branch, world.main());
  EXPECT_EQ(f.matched, (std::vector<NodeId>{a, b, c}));
  EXPECT_EQ(f.at, 10);
  EXPECT_EQ(f.produced, kNoNode);
  put(C, 11);  // the match was consumed
  EXPECT_EQ(engine.firings().size(), 1u);
}

TEST_F(TriggerTest, SequenceOutsideWindow) {
  engine.add(make("abc", Pattern::Kind::Sequence, {A, B, C}, 10));
  put(A, 0);
  put(B, 5);
  put(C, 11);  // 11 - 0 > 10
  EXPECT_TRUE(engine.firings().empty());
  const NodeId a = put(A, 12);
  put(C, 13);
  const NodeId b = put(B, 14);
  const NodeId c = put(C, 22);
  EXPECT_EQ(matches(0), (Ids{{a, b, c}}));
}

TEST_F(TriggerTest, SequenceNeedsOrder) {
  engine.add(make("ab", Pattern::Kind::Sequence, {A, B}, 10));
  put(B, 0);
  put(A, 1);
  EXPECT_TRUE(engine.firings().empty());
}

TEST_F(TriggerTest, SequenceOverlappingPartialMatches) {
  engine.add(make("ab", Pattern::Kind::Sequence, {A, B}, 10));
  const NodeId a1 = put(A, 0);
  const NodeId a2 = put(A, 5);
  const NodeId b1 = put(B, 8);
  EXPECT_EQ(matches(0), (Ids{{a1, b1}, {a2, b1}}));  // earliest start first
  put(B, 9);                                         // both partial matches were used
  EXPECT_EQ(matches(0).size(), 2u);
  engine.clear_firings();
  EXPECT_TRUE(engine.firings().empty());
  put(A, 20);
  const NodeId a4 = put(A, 25);
  const NodeId b2 = put(B, 31);  // the A at 20 expired
  EXPECT_EQ(matches(0), (Ids{{a4, b2}}));
}

TEST_F(TriggerTest, SequenceWithRepeatedTypes) {
  engine.add(make("aa", Pattern::Kind::Sequence, {A, A}, 5));
  const NodeId a1 = put(A, 0);
  const NodeId a2 = put(A, 1);
  const NodeId a3 = put(A, 2);
  EXPECT_EQ(matches(0), (Ids{{a1, a2}, {a2, a3}}));
}

TEST_F(TriggerTest, SequenceOfOneAndFreeNodes) {
  engine.add(make("a", Pattern::Kind::Sequence, {A}, 0));
  put(X, 7);
  const NodeId a = put(A, kFree);
  ASSERT_EQ(engine.firings().size(), 1u);
  EXPECT_EQ(engine.firings()[0].matched, (std::vector<NodeId>{a}));
  EXPECT_EQ(engine.firings()[0].at, 7);  // a free node's key is the time before it
}

TEST_F(TriggerTest, ConjunctionInAnyOrder) {
  engine.add(make("all", Pattern::Kind::Conjunction, {A, B, C}, 5));
  const NodeId c = put(C, 0);
  const NodeId a = put(A, 1);
  EXPECT_TRUE(engine.firings().empty());
  const NodeId b = put(B, 2);
  EXPECT_EQ(matches(0), (Ids{{a, b, c}}));  // pattern order
  EXPECT_EQ(engine.firings()[0].at, 2);
  put(B, 3);  // every node was used: no second firing
  EXPECT_EQ(matches(0).size(), 1u);
}

TEST_F(TriggerTest, ConjunctionUsesLatestAndWindow) {
  engine.add(make("ab", Pattern::Kind::Conjunction, {B, A}, 5));
  put(A, 0);
  put(B, 6);  // too far from the A
  EXPECT_TRUE(engine.firings().empty());
  const NodeId a2 = put(A, 10);  // the B at 6 is within 5 of it
  ASSERT_EQ(matches(0).size(), 1u);
  EXPECT_EQ(matches(0)[0][1], a2);
  engine.clear_firings();
  put(A, 20);
  const NodeId a4 = put(A, 21);
  const NodeId b2 = put(B, 25);
  EXPECT_EQ(matches(0), (Ids{{b2, a4}}));  // the latest A
}

TEST_F(TriggerTest, ConjunctionWithRepeatedType) {
  engine.add(make("aab", Pattern::Kind::Conjunction, {A, B, A}, 10));
  const NodeId a1 = put(A, 0);
  const NodeId b = put(B, 1);
  EXPECT_TRUE(engine.firings().empty());  // needs two distinct A nodes
  const NodeId a2 = put(A, 2);
  EXPECT_EQ(matches(0), (Ids{{a1, b, a2}}));
  engine.clear_firings();
  put(A, 20);
  const NodeId a4 = put(A, 30);
  const NodeId a5 = put(A, 31);
  const NodeId b2 = put(B, 32);  // the A at 20 is too old; the latest two are used
  EXPECT_EQ(matches(0), (Ids{{a4, b2, a5}}));
}

TEST_F(TriggerTest, CountSlidingWindow) {
  engine.add(make("three", Pattern::Kind::Count, {A}, 10, 3));
  put(A, 0);
  const NodeId a2 = put(A, 5);
  put(B, 6);
  EXPECT_TRUE(engine.firings().empty());
  const NodeId a3 = put(A, 11);  // the A at 0 left the window
  EXPECT_TRUE(engine.firings().empty());
  const NodeId a4 = put(A, 12);
  EXPECT_EQ(matches(0), (Ids{{a2, a3, a4}}));
  EXPECT_EQ(engine.firings()[0].at, 12);
  put(A, 13);
  put(A, 14);
  EXPECT_EQ(matches(0).size(), 1u);  // the window restarted after the firing
  put(A, 15);
  EXPECT_EQ(matches(0).size(), 2u);
}

TEST_F(TriggerTest, AbsenceFiredByLaterNode) {
  engine.add(make("lonely", Pattern::Kind::Absence, {A, B}, 10));
  const NodeId a = put(A, 0);
  put(X, 10);  // the window [0, 10] has not passed yet
  EXPECT_TRUE(engine.firings().empty());
  put(X, 11);
  ASSERT_EQ(engine.firings().size(), 1u);
  EXPECT_EQ(engine.firings()[0].matched, (std::vector<NodeId>{a}));
  EXPECT_EQ(engine.firings()[0].at, 10);
  put(X, 30);
  EXPECT_EQ(engine.firings().size(), 1u);
}

TEST_F(TriggerTest, AbsenceFiredByAdvance) {
  engine.add(make("lonely", Pattern::Kind::Absence, {A, B}, 10));
  const NodeId a1 = put(A, 0);
  const NodeId a2 = put(A, 4);
  engine.advance_to(world.main(), 9);
  EXPECT_TRUE(engine.firings().empty());
  engine.advance_to(world.main(), 10);
  EXPECT_EQ(matches(0), (Ids{{a1}}));
  engine.advance_to(world.main(), 100);
  EXPECT_EQ(matches(0), (Ids{{a1}, {a2}}));
  EXPECT_EQ(engine.firings()[1].at, 14);
  engine.advance_to(world.main(), 200);
  EXPECT_EQ(matches(0).size(), 2u);
  EXPECT_NE(error_of([&] { engine.advance_to(42, 0); }), "");
}

TEST_F(TriggerTest, AbsenceCancelled) {
  engine.add(make("lonely", Pattern::Kind::Absence, {A, B}, 10));
  put(A, 0);
  put(A, 3);
  put(B, 10);  // within both windows: cancels both
  put(X, 50);
  engine.advance_to(world.main(), 100);
  EXPECT_TRUE(engine.firings().empty());
  // A B arriving too late does not cancel: it reveals the deadline passed.
  const NodeId a = put(A, 200);
  put(B, 211);
  EXPECT_EQ(matches(0), (Ids{{a}}));
}

TEST_F(TriggerTest, AbsenceOfTheSameType) {
  engine.add(make("single", Pattern::Kind::Absence, {A, A}, 10));
  put(A, 0);
  const NodeId a2 = put(A, 5);  // cancels the first, opens its own
  engine.advance_to(world.main(), 100);
  EXPECT_EQ(matches(0), (Ids{{a2}}));
}

TEST_F(TriggerTest, HugeWindowsDoNotOverflow) {
  const Tick max = std::numeric_limits<Tick>::max();
  engine.add(make("ab", Pattern::Kind::Sequence, {A, B}, max));
  engine.add(make("gone", Pattern::Kind::Absence, {A, C}, max));
  engine.add(make("many", Pattern::Kind::Count, {A}, max, 2));
  const NodeId a1 = put(A, 0);
  const NodeId a2 = put(A, 4000000000000000000);
  const NodeId b = put(B, max - 1);
  EXPECT_EQ(matches(0), (Ids{{a1, b}, {a2, b}}));
  EXPECT_EQ(matches(2), (Ids{{a1, a2}}));
  EXPECT_TRUE(matches(1).empty());
  engine.advance_to(world.main(), max);  // deadlines past the largest tick saturate at it
  EXPECT_EQ(matches(1), (Ids{{a1}, {a2}}));
}

TEST_F(TriggerTest, AbsenceWithCondition) {
  Trigger t = make("lonely", Pattern::Kind::Absence, {A, B}, 10);
  t.conditions.push_back({v, Comparison::Op::Gt, Value::of(1)});
  engine.add(t);
  put(A, 0, {{v, Value::of(1)}});
  const NodeId a = put(A, 1, {{v, Value::of(2)}});
  engine.advance_to(world.main(), 50);
  EXPECT_EQ(matches(0), (Ids{{a}}));
}

TEST_F(TriggerTest, Conditions) {
  const Symbol ann = world.intern("ann");
  const Symbol bob = world.intern("bob");
  auto cond = [&](std::string name, std::vector<Comparison> cs) {
    Trigger t = make(std::move(name), Pattern::Kind::Sequence, {A}, 0);
    t.conditions = std::move(cs);
    return engine.add(t);
  };
  using Op = Comparison::Op;
  const std::size_t eq = cond("eq", {{v, Op::Eq, Value::of(2)}});
  const std::size_t ne = cond("ne", {{v, Op::Ne, Value::of(2)}});
  const std::size_t lt = cond("lt", {{v, Op::Lt, Value::of(2)}});
  const std::size_t le = cond("le", {{v, Op::Le, Value::of(2)}});
  const std::size_t gt = cond("gt", {{v, Op::Gt, Value::of(2)}});
  const std::size_t ge = cond("ge", {{v, Op::Ge, Value::of(2)}});
  const std::size_t ex = cond("exists", {{who, Op::Exists, {}}});
  const std::size_t is_ann = cond("ann", {{who, Op::Eq, Value::text_of(ann)}});
  const std::size_t not_ann = cond("not-ann", {{who, Op::Ne, Value::text_of(ann)}});
  const std::size_t both = cond("both", {{v, Op::Ge, Value::of(2)}, {who, Op::Eq, Value::text_of(bob)}});
  Trigger p = make("pred", Pattern::Kind::Sequence, {A}, 0);
  p.predicate = [](const NodeView& n) { return n.probability < 0.5; };
  const std::size_t pred = engine.add(p);

  const NodeId n1 = put(A, 0, {{v, Value::of(1)}});
  const NodeId n2 = put(A, 1, {{v, Value::of(2)}, {who, Value::text_of(ann)}});
  const NodeId n3 = put(A, 2, {{v, Value::of(3)}, {who, Value::text_of(bob)}});
  const NodeId n4 = put(A, 3, {{who, Value::of(7)}});  // a number where a text was expected
  NodeSpec spec;
  spec.time = 4;
  spec.type = A;
  spec.probability = 0.25;
  const NodeId n5 = engine.append(world.main(), spec);

  EXPECT_EQ(matches(eq), (Ids{{n2}}));
  EXPECT_EQ(matches(ne), (Ids{{n1}, {n3}}));  // a missing attribute fails every comparison
  EXPECT_EQ(matches(lt), (Ids{{n1}}));
  EXPECT_EQ(matches(le), (Ids{{n1}, {n2}}));
  EXPECT_EQ(matches(gt), (Ids{{n3}}));
  EXPECT_EQ(matches(ge), (Ids{{n2}, {n3}}));
  EXPECT_EQ(matches(ex), (Ids{{n2}, {n3}, {n4}}));
  EXPECT_EQ(matches(is_ann), (Ids{{n2}}));
  EXPECT_EQ(matches(not_ann), (Ids{{n3}, {n4}}));
  EXPECT_EQ(matches(both), (Ids{{n3}}));
  EXPECT_EQ(matches(pred), (Ids{{n5}}));
}

TEST_F(TriggerTest, ConditionOnCompletingNodeOnly) {
  Trigger t = make("ab", Pattern::Kind::Sequence, {A, B}, 10);
  t.conditions.push_back({v, Comparison::Op::Ge, Value::of(5)});
  engine.add(t);
  const NodeId a = put(A, 0);      // no v: the condition is not asked of it
  put(B, 1, {{v, Value::of(4)}});  // fails: the partial match keeps waiting
  const NodeId b = put(B, 2, {{v, Value::of(5)}});
  EXPECT_EQ(matches(0), (Ids{{a, b}}));
}

TEST_F(TriggerTest, EmitAppendsANodeThatTriggersOthers) {
  Trigger t = make("ab", Pattern::Kind::Sequence, {A, B}, 10);
  t.action.kind = Action::Kind::Emit;
  t.action.type = C;
  t.action.delay = 5;
  t.action.message = "hello";
  engine.add(t);
  engine.add(make("c", Pattern::Kind::Sequence, {C}, 0));
  const NodeId a = put(A, 0);
  const NodeId b = put(B, 3);
  const Timeline& tl = world.timeline(world.main());
  ASSERT_EQ(tl.size(), 3u);
  const NodeView e = tl.back();
  EXPECT_EQ(e.type, C);
  EXPECT_EQ(e.time, 8);
  const Symbol message = *world.lookup("message");
  ASSERT_TRUE(e.attribute(message).has_value());
  EXPECT_EQ(world.text(e.attribute(message)->text), "hello");
  ASSERT_EQ(engine.firings().size(), 2u);
  EXPECT_EQ(engine.firings()[0].matched, (std::vector<NodeId>{a, b}));
  EXPECT_EQ(engine.firings()[0].produced, e.id);
  EXPECT_EQ(engine.firings()[1].trigger, 1u);
  EXPECT_EQ(engine.firings()[1].matched, (std::vector<NodeId>{e.id}));
  EXPECT_EQ(engine.firings()[1].at, 8);
}

TEST_F(TriggerTest, EmitFromFreeNodeAndWithoutMessage) {
  Trigger t = make("b", Pattern::Kind::Sequence, {B}, 0);
  t.action.kind = Action::Kind::Emit;
  t.action.type = C;
  t.action.delay = 2;
  engine.add(t);
  put(A, 7);
  put(B, kFree);
  const NodeView e = world.timeline(world.main()).back();
  EXPECT_EQ(e.type, C);
  EXPECT_EQ(e.time, 9);  // the free node's key (7) + 2
  EXPECT_TRUE(e.attributes.empty());
}

TEST_F(TriggerTest, EmitFromAbsence) {
  Trigger t = make("lonely", Pattern::Kind::Absence, {A, B}, 10);
  t.action.kind = Action::Kind::Emit;
  t.action.type = C;
  t.action.delay = 1;
  engine.add(t);
  put(A, 0);
  engine.advance_to(world.main(), 10);
  EXPECT_EQ(world.timeline(world.main()).back().time, 11);  // deadline + delay
  put(A, 20);
  put(X, 40);  // found late: the emitted node cannot go before the X
  EXPECT_EQ(world.timeline(world.main()).back().type, C);
  EXPECT_EQ(world.timeline(world.main()).back().time, 40);
}

TEST_F(TriggerTest, EmitLoopIsAnError) {
  Trigger t = make("echo-loop", Pattern::Kind::Sequence, {X}, 0);
  t.action.kind = Action::Kind::Emit;
  t.action.type = X;
  t.action.delay = 1;
  engine.add(t);
  const std::string message = error_of([&] { put(X, 0); });
  EXPECT_NE(message.find("echo-loop"), std::string::npos) << message;
  EXPECT_NE(message.find("loop"), std::string::npos) << message;
  // The engine stays usable.
  engine.add(make("a", Pattern::Kind::Sequence, {A}, 0));
  engine.clear_firings();
  put(A, 1000);
  EXPECT_EQ(matches(1).size(), 1u);
}

TEST_F(TriggerTest, ForkAction) {
  Trigger t = make("split", Pattern::Kind::Sequence, {A, B}, 10);
  t.action.kind = Action::Kind::Fork;
  engine.add(t);
  put(A, 0);
  put(X, 1);
  const NodeId b = put(B, 2);
  put(X, 3);
  ASSERT_EQ(engine.firings().size(), 1u);
  const auto forked = world.find_branch("split/1");
  ASSERT_TRUE(forked.has_value());
  EXPECT_EQ(engine.firings()[0].forked, *forked);
  const Timeline& f = world.timeline(*forked);
  ASSERT_EQ(f.size(), 3u);  // up to and including the completing node
  EXPECT_EQ(f.back().id, b);
  EXPECT_EQ(world.first_divergence(world.main(), *forked), 3u);
  put(A, 4);
  put(B, 5);
  ASSERT_EQ(engine.firings().size(), 2u);
  EXPECT_TRUE(world.find_branch("split/2").has_value());
  EXPECT_EQ(engine.firings()[1].forked, *world.find_branch("split/2"));
}

TEST_F(TriggerTest, ForkFromAbsenceAtDeadline) {
  Trigger t = make("quiet", Pattern::Kind::Absence, {A, B}, 10);
  t.action.kind = Action::Kind::Fork;
  engine.add(t);
  put(A, 0);
  const NodeId x = put(X, 10);
  put(X, 15);  // reveals the deadline 10: the fork ends at the last node with key <= 10
  const auto forked = world.find_branch("quiet/1");
  ASSERT_TRUE(forked.has_value());
  EXPECT_EQ(world.timeline(*forked).back().id, x);
}

TEST_F(TriggerTest, BranchesAreIndependent) {
  engine.add(make("ab", Pattern::Kind::Sequence, {A, B}, 10));
  const NodeId root = put(X, 0);
  const BranchId alt = world.fork(world.main(), root, "alt");
  put(A, 1);  // main
  put(B, 2, {}, alt);
  EXPECT_TRUE(engine.firings().empty());
  const NodeId a = put(A, 3, {}, alt);
  const NodeId b = put(B, 4, {}, alt);
  ASSERT_EQ(engine.firings().size(), 1u);
  EXPECT_EQ(engine.firings()[0].branch, alt);
  EXPECT_EQ(engine.firings()[0].matched, (std::vector<NodeId>{a, b}));
  put(B, 5);  // main's own partial match
  ASSERT_EQ(engine.firings().size(), 2u);
  EXPECT_EQ(engine.firings()[1].branch, world.main());
}

TEST_F(TriggerTest, ForkedBranchStartsWithEmptyState) {
  engine.add(make("ab", Pattern::Kind::Sequence, {A, B}, 10));
  const NodeId a = put(A, 0);
  const BranchId alt = world.fork(world.main(), a, "alt");
  put(B, 1, {}, alt);  // the A is on alt too, but the engine saw it on main
  EXPECT_TRUE(engine.firings().empty());
}

TEST_F(TriggerTest, TriggerAddedLaterSeesLaterNodes) {
  put(A, 0);
  engine.add(make("ab", Pattern::Kind::Sequence, {A, B}, 10));
  put(B, 1);
  EXPECT_TRUE(engine.firings().empty());
  const NodeId a = put(A, 2);
  const NodeId b = put(B, 3);
  EXPECT_EQ(matches(0), (Ids{{a, b}}));
  EXPECT_EQ(engine.triggers().size(), 1u);
  EXPECT_EQ(engine.triggers()[0].name, "ab");
}

TEST_F(TriggerTest, MalformedTriggersAreRejected) {
  auto bad = [&](Trigger t) { return error_of([&] { engine.add(std::move(t)); }); };
  auto has = [](const std::string& message, const std::string& part) {
    return message.find(part) != std::string::npos;
  };
  std::string m = bad(make("empty", Pattern::Kind::Sequence, {}, 1));
  EXPECT_TRUE(has(m, "'empty'") && has(m, "no event types")) << m;
  m = bad(make("neg", Pattern::Kind::Conjunction, {A}, -1));
  EXPECT_TRUE(has(m, "'neg'") && has(m, "negative window")) << m;
  m = bad(make("zero", Pattern::Kind::Count, {A}, 5, 0));
  EXPECT_TRUE(has(m, "'zero'") && has(m, "count")) << m;
  m = bad(make("two", Pattern::Kind::Count, {A, B}, 5, 2));
  EXPECT_TRUE(has(m, "'two'") && has(m, "one event type")) << m;
  m = bad(make("half", Pattern::Kind::Absence, {A}, 5));
  EXPECT_TRUE(has(m, "'half'") && has(m, "two event types")) << m;
  Trigger t = make("order", Pattern::Kind::Sequence, {A}, 5);
  t.conditions.push_back({v, Comparison::Op::Lt, Value::text_of(A)});
  m = bad(t);
  EXPECT_TRUE(has(m, "'order'") && has(m, "condition 0")) << m;
  t = make("late", Pattern::Kind::Sequence, {A}, 5);
  t.action.kind = Action::Kind::Emit;
  t.action.delay = -1;
  m = bad(t);
  EXPECT_TRUE(has(m, "'late'") && has(m, "delay")) << m;
  m = bad(make("", Pattern::Kind::Sequence, {}, 0));
  EXPECT_TRUE(has(m, "trigger #0")) << m;
  EXPECT_TRUE(engine.triggers().empty());  // nothing was added
  put(A, 0);
  EXPECT_TRUE(engine.firings().empty());
}

// Brute-force oracles over random streams: Sequence (skip till next match,
// one partial match per start, condition on the completing node) and Count
// (sliding window, restarting after each firing).
struct Event {
  NodeId id;
  Tick key;
  Symbol type;
  double v;
};

std::vector<std::vector<NodeId>> sequence_oracle(const std::vector<Event>& s, const std::vector<Symbol>& types,
                                                 Tick window) {
  struct Hit {
    std::size_t end, start;
    std::vector<NodeId> matched;
  };
  std::vector<Hit> hits;
  const std::size_t k = types.size();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i].type != types[0]) continue;
    std::vector<NodeId> matched{s[i].id};
    if (k == 1) {
      if (s[i].v >= 1) hits.push_back({i, i, matched});
      continue;
    }
    for (std::size_t m = i + 1; m < s.size(); ++m) {
      if (s[m].key - s[i].key > window) break;
      if (s[m].type != types[matched.size()]) continue;
      if (matched.size() + 1 == k) {
        if (s[m].v < 1) continue;
        matched.push_back(s[m].id);
        hits.push_back({m, i, matched});
        break;
      }
      matched.push_back(s[m].id);
    }
  }
  std::sort(hits.begin(), hits.end(),
            [](const Hit& x, const Hit& y) { return x.end != y.end ? x.end < y.end : x.start < y.start; });
  std::vector<std::vector<NodeId>> out;
  for (const Hit& h : hits) out.push_back(h.matched);
  return out;
}

std::vector<std::vector<NodeId>> count_oracle(const std::vector<Event>& s, Symbol type, Tick window,
                                              std::size_t count) {
  std::vector<std::vector<NodeId>> out;
  std::size_t after = 0;  // nodes before this index were used by a firing
  for (std::size_t m = 0; m < s.size(); ++m) {
    if (s[m].type != type) continue;
    std::vector<NodeId> in;
    for (std::size_t i = after; i <= m; ++i) {
      if (s[i].type == type && s[m].key - s[i].key <= window) in.push_back(s[i].id);
    }
    if (in.size() >= count && s[m].v >= 1) {
      out.emplace_back(in.end() - static_cast<std::ptrdiff_t>(count), in.end());
      after = m + 1;
    }
  }
  return out;
}

TEST(TriggerRandom, MatchesBruteForce) {
  std::mt19937_64 rng(20240611);
  std::size_t seq_total = 0;
  std::size_t count_total = 0;
  for (int round = 0; round < 150; ++round) {
    World world;
    TriggerEngine engine(world);
    const std::vector<Symbol> alphabet{world.intern("A"), world.intern("B"), world.intern("C")};
    const Symbol v = world.intern("v");
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };

    std::vector<Symbol> seq;
    const std::size_t k = 1 + pick(3);
    for (std::size_t i = 0; i < k; ++i) seq.push_back(alphabet[pick(2)]);
    const auto seq_window = static_cast<Tick>(pick(12));
    Trigger st;
    st.name = "seq";
    st.pattern.kind = Pattern::Kind::Sequence;
    st.pattern.types = seq;
    st.pattern.window = seq_window;
    st.conditions.push_back({v, Comparison::Op::Ge, Value::of(1)});
    const std::size_t seq_index = engine.add(st);

    const Symbol count_type = alphabet[pick(2)];
    const auto count_window = static_cast<Tick>(pick(12));
    const std::size_t count = 1 + pick(4);
    Trigger ct;
    ct.name = "count";
    ct.pattern.kind = Pattern::Kind::Count;
    ct.pattern.types = {count_type};
    ct.pattern.window = count_window;
    ct.pattern.count = static_cast<std::uint32_t>(count);
    ct.predicate = [v](const NodeView& n) { return n.attribute(v)->number >= 1; };
    engine.add(ct);

    std::vector<Event> stream;
    Tick time = static_cast<Tick>(pick(5));
    Tick key = 0;
    for (int i = 0; i < 150; ++i) {
      const bool free = pick(10) == 0;
      if (!free) {
        time += static_cast<Tick>(pick(4));
        key = time;
      }
      const Symbol type = alphabet[pick(3)];
      const double value = static_cast<double>(pick(4));
      const Attribute attr{v, Value::of(value)};
      NodeSpec spec;
      spec.time = free ? kFree : time;
      spec.type = type;
      spec.attributes = std::span<const Attribute>(&attr, 1);
      const NodeId id = engine.append(world.main(), spec);
      stream.push_back({id, key, type, value});
    }

    std::vector<std::vector<NodeId>> got_seq;
    std::vector<std::vector<NodeId>> got_count;
    for (const Firing& f : engine.firings()) {
      (f.trigger == seq_index ? got_seq : got_count).push_back(f.matched);
    }
    ASSERT_EQ(got_seq, sequence_oracle(stream, seq, seq_window)) << "round " << round;
    ASSERT_EQ(got_count, count_oracle(stream, count_type, count_window, count)) << "round " << round;
    EXPECT_EQ(got_seq.size() + got_count.size(), engine.firings().size());
    seq_total += got_seq.size();
    count_total += got_count.size();
  }
  // The streams exercise both triggers a good deal (not vacuous).
  EXPECT_GT(seq_total, 1000u);
  EXPECT_GT(count_total, 1000u);
}

}  // namespace
}  // namespace miso::echo
