#include "miso/qlogik/network.hpp"

#include <gtest/gtest.h>

#include <string>

#include "../error_of.hpp"
#include "miso/core/error.hpp"

namespace miso::qlogik {
namespace {

// Rain -> WetGrass <- Sprinkler.
Network lawn() {
  Network net("lawn");
  VarId rain = net.add_variable("Rain", {"yes", "no"});
  VarId sprinkler = net.add_variable("Sprinkler", {"on", "off"});
  VarId wet = net.add_variable("WetGrass", {"wet", "dry"});
  net.set_cpt(rain, {}, {0.2, 0.8});
  net.set_cpt(sprinkler, {}, {0.4, 0.6});
  // Rows (Rain, Sprinkler): (yes,on) (yes,off) (no,on) (no,off).
  net.set_cpt(wet, {rain, sprinkler}, {0.99, 0.01, 0.8, 0.2, 0.9, 0.1, 0.0, 1.0});
  return net;
}

using miso::testing::error_of;

TEST(Network, LooksUpVariablesAndStates) {
  Network net = lawn();
  EXPECT_EQ(net.size(), 3u);
  EXPECT_EQ(net.name(), "lawn");
  EXPECT_EQ(net.id("WetGrass"), 2);
  EXPECT_EQ(net.find("Nope"), -1);
  EXPECT_EQ(net.state_index(net.id("Rain"), "no"), 1);
  EXPECT_EQ(net.cardinality(2), 2);
  EXPECT_EQ(net.rows(2), 4);
  EXPECT_EQ(net.children(0), std::vector<VarId>{2});
  EXPECT_EQ(net.parents(2), (std::vector<VarId>{0, 1}));
  EXPECT_NE(error_of([&] { (void)net.id("Nope"); }).find("'Nope'"), std::string::npos);
  EXPECT_NE(error_of([&] { (void)net.state_index(0, "maybe"); }).find("states: yes, no"), std::string::npos);
}

TEST(Network, JointProbabilityIsTheProductOfCptEntries) {
  Network net = lawn();
  // P(Rain=yes, Sprinkler=off, Wet=wet) = 0.2 * 0.6 * 0.8
  EXPECT_DOUBLE_EQ(net.joint_probability({0, 1, 0}), 0.2 * 0.6 * 0.8);
  double total = 0;
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 2; ++c) total += net.joint_probability({a, b, c});
  EXPECT_NEAR(total, 1.0, 1e-15);
  EXPECT_THROW((void)net.joint_probability({0, 1}), Error);
  EXPECT_NE(error_of([&] {
              (void)net.joint_probability({0, -1, 0});
            }).find("'Sprinkler' has no state -1"),
            std::string::npos);
  EXPECT_THROW((void)net.joint_probability({0, 0, 2}), Error);
}

TEST(Network, TopologicalOrderPutsParentsFirst) {
  Network net("chain");
  VarId c = net.add_variable("C", {"a", "b"});
  VarId b = net.add_variable("B", {"a", "b"});
  VarId a = net.add_variable("A", {"a", "b"});
  net.set_cpt(c, {b}, {0.5, 0.5, 0.5, 0.5});
  net.set_cpt(b, {a}, {0.5, 0.5, 0.5, 0.5});
  auto order = net.topological_order();
  auto pos = [&](VarId v) { return std::find(order.begin(), order.end(), v) - order.begin(); };
  EXPECT_LT(pos(a), pos(b));
  EXPECT_LT(pos(b), pos(c));
}

TEST(Network, ValidateNamesTheCycle) {
  Network net("loop");
  VarId a = net.add_variable("A", {"t", "f"});
  VarId b = net.add_variable("B", {"t", "f"});
  net.set_cpt(a, {b}, {0.5, 0.5, 0.5, 0.5});
  net.set_cpt(b, {a}, {0.5, 0.5, 0.5, 0.5});
  std::string msg = error_of([&] { net.validate(); });
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
  EXPECT_NE(msg.find("A"), std::string::npos) << msg;
  EXPECT_NE(msg.find("B"), std::string::npos) << msg;
}

TEST(Network, ValidateNamesTheVariableAndRow) {
  Network net = lawn();
  net.validate();
  net.set_cpt(2, {0, 1}, {0.99, 0.01, 0.8, 0.25, 0.9, 0.1, 0.0, 1.0});
  std::string msg = error_of([&] { net.validate(); });
  EXPECT_NE(msg.find("WetGrass"), std::string::npos) << msg;
  EXPECT_NE(msg.find("row 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Rain=yes, Sprinkler=off"), std::string::npos) << msg;
  net.set_cpt(2, {0, 1}, {0.99, 0.01, 0.8, 0.2, 1.1, -0.1, 0.0, 1.0});
  msg = error_of([&] { net.validate(); });
  EXPECT_NE(msg.find("non-negative"), std::string::npos) << msg;
}

TEST(Network, RejectsBadDeclarations) {
  Network net = lawn();
  EXPECT_NE(error_of([&] { net.add_variable("Rain", {"a"}); }).find("declared twice"), std::string::npos);
  EXPECT_NE(error_of([&] { net.add_variable("X", {"a", "a"}); }).find("listed twice"), std::string::npos);
  EXPECT_NE(error_of([&] { net.add_variable("Y", {}); }).find("at least one state"), std::string::npos);
  EXPECT_NE(error_of([&] { net.set_cpt(2, {0, 1}, {0.5, 0.5}); }).find("expected 8"), std::string::npos);
  EXPECT_NE(error_of([&] { net.set_cpt(2, {2}, {0.5, 0.5, 0.5, 0.5}); }).find("its own parent"), std::string::npos);
  EXPECT_NE(error_of([&] {
              net.set_cpt(2, {0, 0}, std::vector<double>(8, 0.5));
            }).find("listed twice"),
            std::string::npos);
  EXPECT_THROW((void)net.variable(7), Error);
}

TEST(Network, ParsesEvidenceAndVariableLists) {
  Network net = lawn();
  Evidence ev = parse_evidence(net, " Rain = no , WetGrass=wet");
  EXPECT_EQ(ev, (Evidence{1, -1, 0}));
  EXPECT_EQ(parse_evidence(net, ""), no_evidence(net));
  EXPECT_EQ(parse_variables(net, "WetGrass,Rain"), (std::vector<VarId>{2, 0}));
  EXPECT_NE(error_of([&] { parse_evidence(net, "Rain"); }).find("VARIABLE=STATE"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_evidence(net, "Rain=no,Rain=yes"); }).find("given twice"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_evidence(net, "Snow=yes"); }).find("'Snow'"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_evidence(net, "Rain=maybe"); }).find("'maybe'"), std::string::npos);
}

}  // namespace
}  // namespace miso::qlogik
