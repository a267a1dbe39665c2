#include "miso/echo/condition.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "../error_of.hpp"
#include "miso/core/error.hpp"
#include "miso/echo/trigger.hpp"

namespace miso::echo {
namespace {

using miso::testing::error_of;

// "v" above 10, spelled through the world (the condition sees symbols only).
bool v_above_ten(const World& world, const NodeView& node) {
  auto key = world.lookup("v");
  if (!key) return false;
  auto v = node.attribute(*key);
  return v && v->kind == Value::Kind::Number && v->number > 10;
}

class ConditionTest : public ::testing::Test {
 protected:
  void TearDown() override {
    unregister_condition("test.above");
    unregister_condition("test.named");
  }
  World world;
  TriggerEngine engine{world};
  Symbol A = world.intern("A");
  Symbol v = world.intern("v");

  NodeId put(Tick time, double value) {
    NodeSpec spec;
    spec.time = time;
    spec.type = A;
    const Attribute attrs[] = {Attribute{v, Value::of(value)}};
    spec.attributes = attrs;
    return engine.append(0, spec);
  }
  Trigger hot(std::string condition) {
    Trigger t;
    t.name = "hot";
    t.pattern.kind = Pattern::Kind::Sequence;
    t.pattern.types = {A};
    t.condition = std::move(condition);
    return t;
  }
};

TEST_F(ConditionTest, ATriggerUsesANamedCondition) {
  register_condition("test.above", v_above_ten);
  engine.add(hot("test.above"));
  put(1, 5);
  NodeId fired = put(2, 11);
  put(3, 10);
  ASSERT_EQ(engine.firings().size(), 1u);
  EXPECT_EQ(engine.firings()[0].matched, std::vector<NodeId>{fired});
  EXPECT_EQ(engine.triggers()[0].condition, "test.above");
}

TEST_F(ConditionTest, TheNamedConditionAndThePredicateMustBothHold) {
  register_condition("test.above", v_above_ten);
  Trigger t = hot("test.above");
  t.predicate = [](const NodeView& n) { return n.time % 2 == 0; };
  engine.add(std::move(t));
  put(1, 20);  // odd time: the predicate fails
  put(2, 5);   // the condition fails
  put(4, 30);  // both hold
  ASSERT_EQ(engine.firings().size(), 1u);
  EXPECT_EQ(engine.firings()[0].at, 4);
}

TEST_F(ConditionTest, AnUnknownConditionIsAnErrorNamingTheTriggerAndTheCondition) {
  register_condition("test.named", v_above_ten);
  std::string message = error_of([&] { engine.add(hot("example_c.nope")); }, Error::Kind::InvalidArgument);
  EXPECT_NE(message.find("trigger 'hot': unknown condition 'example_c.nope'"), std::string::npos) << message;
  EXPECT_NE(message.find("test.named"), std::string::npos) << message;  // the registered ones are listed
  EXPECT_TRUE(engine.triggers().empty());
}

TEST_F(ConditionTest, ATriggerKeepsItsConditionAfterUnregistering) {
  register_condition("test.above", v_above_ten);
  engine.add(hot("test.above"));
  EXPECT_TRUE(unregister_condition("test.above"));
  put(1, 50);
  EXPECT_EQ(engine.firings().size(), 1u);
  // A new trigger cannot name it any more.
  EXPECT_NE(error_of([&] { engine.add(hot("test.above")); }).find("unknown condition 'test.above'"), std::string::npos);
}

TEST_F(ConditionTest, AThrowingConditionFailsTheAppend) {
  register_condition("test.above", [](const World&, const NodeView&) -> bool {
    throw Error(Error::Kind::Format, "test.above: refused");
  });
  engine.add(hot("test.above"));
  EXPECT_EQ(error_of([&] { put(1, 1); }, Error::Kind::Format), "test.above: refused");
}

TEST(ConditionRegistry, RegisterFindUnregisterAndErrors) {
  register_condition("test.a", [](const World&, const NodeView&) { return true; });
  EXPECT_TRUE(static_cast<bool>(find_condition("test.a")));
  EXPECT_FALSE(static_cast<bool>(find_condition("test.b")));
  auto names = condition_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "test.a"), names.end());
  EXPECT_NE(error_of([] {
              register_condition("test.a", [](const World&, const NodeView&) { return false; });
            }).find("condition 'test.a' is already registered"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              register_condition("", [](const World&, const NodeView&) { return false; });
            }).find("needs a name"),
            std::string::npos);
  EXPECT_NE(error_of([] { register_condition("test.c", nullptr); }).find("has no function"), std::string::npos);
  EXPECT_TRUE(unregister_condition("test.a"));
  EXPECT_FALSE(unregister_condition("test.a"));
  EXPECT_FALSE(static_cast<bool>(find_condition("test.a")));
}

}  // namespace
}  // namespace miso::echo
