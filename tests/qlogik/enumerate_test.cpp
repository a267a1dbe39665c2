// enumerate() is the reference of the exact-inference tests, so it is checked
// here against probabilities computed by hand.
#include "miso/qlogik/enumerate.hpp"

#include <gtest/gtest.h>

#include "inference_test_support.hpp"
#include "miso/core/error.hpp"

namespace miso::qlogik {
namespace {

using inference_testing::asia;
using inference_testing::near;

// A -> B with P(A) = (0.3, 0.7), P(B | A=0) = (0.9, 0.1), P(B | A=1) = (0.2, 0.8).
// Joint: (0,0) .27, (0,1) .03, (1,0) .14, (1,1) .56.
Network two_nodes() {
  Network net("two");
  const VarId a = net.add_variable("A", {"a0", "a1"});
  const VarId b = net.add_variable("B", {"b0", "b1"});
  net.set_cpt(a, {}, {0.3, 0.7});
  net.set_cpt(b, {a}, {0.9, 0.1, 0.2, 0.8});
  return net;
}

TEST(Enumerate, TwoNodesWithoutEvidence) {
  const Network net = two_nodes();
  const Enumeration r = enumerate(net, no_evidence(net));
  EXPECT_NEAR(r.p_evidence, 1.0, 1e-15);
  EXPECT_TRUE(near(r.marginals[0], {0.3, 0.7}, 1e-15));
  EXPECT_TRUE(near(r.marginals[1], {0.41, 0.59}, 1e-15));
  EXPECT_EQ(r.mpe, (std::vector<int>{1, 1}));
  EXPECT_NEAR(r.mpe_probability, 0.56, 1e-15);
}

TEST(Enumerate, TwoNodesWithEvidenceOnTheChild) {
  const Network net = two_nodes();
  const Enumeration r = enumerate(net, parse_evidence(net, "B=b0"));
  EXPECT_NEAR(r.p_evidence, 0.41, 1e-15);
  EXPECT_TRUE(near(r.marginals[0], {0.27 / 0.41, 0.14 / 0.41}, 1e-15));  // Bayes' rule
  EXPECT_TRUE(near(r.marginals[1], {1, 0}, 1e-15));
  EXPECT_EQ(r.mpe, (std::vector<int>{0, 0}));
  EXPECT_NEAR(r.mpe_probability, 0.27, 1e-15);
}

TEST(Enumerate, AsiaByHand) {
  const Network net = asia();
  const Enumeration r = enumerate(net, no_evidence(net));
  const double tub = 0.01 * 0.05 + 0.99 * 0.01;      // 0.0104
  const double lung = 0.5 * 0.1 + 0.5 * 0.01;        // 0.055
  const double either = 1 - (1 - tub) * (1 - lung);  // tub and lung are independent
  EXPECT_NEAR(r.marginals[static_cast<std::size_t>(net.id("tub"))][0], tub, 1e-14);
  EXPECT_NEAR(r.marginals[static_cast<std::size_t>(net.id("lung"))][0], lung, 1e-14);
  EXPECT_NEAR(r.marginals[static_cast<std::size_t>(net.id("either"))][0], either, 1e-14);
  EXPECT_NEAR(r.marginals[static_cast<std::size_t>(net.id("xray"))][0], 0.98 * either + 0.05 * (1 - either), 1e-14);

  // P(smoke=yes | lung=yes) = 0.5 * 0.1 / 0.055.
  const Enumeration s = enumerate(net, parse_evidence(net, "lung=yes"));
  EXPECT_NEAR(s.p_evidence, lung, 1e-15);
  EXPECT_NEAR(s.marginals[static_cast<std::size_t>(net.id("smoke"))][0], 0.05 / lung, 1e-14);
  EXPECT_NEAR(s.marginals[static_cast<std::size_t>(net.id("either"))][0], 1.0, 1e-15);
}

TEST(Enumerate, ImpossibleEvidenceGivesZerosNotNaN) {
  const Network net = asia();
  // either = tub OR lung, so tub=yes with either=no cannot happen.
  const Enumeration r = enumerate(net, parse_evidence(net, "tub=yes, either=no"));
  EXPECT_EQ(r.p_evidence, 0.0);
  for (const auto& m : r.marginals) EXPECT_TRUE(near(m, std::vector<double>(m.size(), 0.0), 0));
  EXPECT_EQ(r.mpe_probability, 0.0);
}

TEST(Enumerate, TiesGoToTheFirstAssignment) {
  Network net("uniform");
  net.add_variable("X", {"x0", "x1"});
  net.add_variable("Y", {"y0", "y1", "y2"});
  const Enumeration r = enumerate(net, no_evidence(net));
  EXPECT_EQ(r.mpe, (std::vector<int>{0, 0}));
  EXPECT_NEAR(r.mpe_probability, 1.0 / 6, 1e-15);
  EXPECT_TRUE(near(r.marginals[1], {1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-15));
}

TEST(Enumerate, RejectsBadEvidenceAndLargeNetworks) {
  const Network net = asia();
  EXPECT_THROW(enumerate(net, Evidence(3, -1)), Error);
  Evidence e = no_evidence(net);
  e[2] = 2;  // smoke has two states
  try {
    enumerate(net, e);
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_EQ(err.kind(), Error::Kind::InvalidArgument);
    EXPECT_NE(std::string(err.what()).find("smoke"), std::string::npos) << err.what();
  }
  e[2] = -2;
  EXPECT_THROW(enumerate(net, e), Error);
  EXPECT_THROW(enumerate(net, no_evidence(net), 100), Error);  // 256 assignments
  // Observed variables do not count: 2^3 assignments remain.
  EXPECT_NO_THROW(enumerate(net, parse_evidence(net, "asia=no, tub=no, smoke=no, lung=no, bronc=no"), 8));
}

}  // namespace
}  // namespace miso::qlogik
