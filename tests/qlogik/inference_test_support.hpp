// Shared by the exact-inference tests (enumerate, elimination, junction tree):
// networks built in code (asia, random DAGs with random CPTs, a long chain whose
// P(e) underflows), random evidence, the standard networks, and comparisons.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "miso/qlogik/format.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::qlogik::inference_testing {

// "x12": a prefix and a number. (Built by appending: GCC 12 at -O3 warns
// falsely, -Wrestrict, about "literal" + std::string.)
inline std::string numbered(const char* prefix, std::size_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

// Asia (Lauritzen & Spiegelhalter 1988), as in bnlearn's asia.bif.
inline Network asia() {
  Network net("asia");
  const std::vector<std::string> yn = {"yes", "no"};
  const VarId asia = net.add_variable("asia", yn), tub = net.add_variable("tub", yn),
              smoke = net.add_variable("smoke", yn), lung = net.add_variable("lung", yn),
              bronc = net.add_variable("bronc", yn), either = net.add_variable("either", yn),
              xray = net.add_variable("xray", yn), dysp = net.add_variable("dysp", yn);
  net.set_cpt(asia, {}, {0.01, 0.99});
  net.set_cpt(tub, {asia}, {0.05, 0.95, 0.01, 0.99});
  net.set_cpt(smoke, {}, {0.5, 0.5});
  net.set_cpt(lung, {smoke}, {0.1, 0.9, 0.01, 0.99});
  net.set_cpt(bronc, {smoke}, {0.6, 0.4, 0.3, 0.7});
  net.set_cpt(either, {lung, tub}, {1, 0, 1, 0, 1, 0, 0, 1});
  net.set_cpt(xray, {either}, {0.98, 0.02, 0.05, 0.95});
  net.set_cpt(dysp, {bronc, either}, {0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.1, 0.9});
  return net;
}

// A random DAG over `n` variables (2..max_card states) in which each variable
// draws up to max_parents parents among the earlier ones, listed in random order
// (so the parent order differs from the id order). CPT rows are uniform random
// and normalised; with probability zero_prob an entry is 0 (a row keeps at least
// one positive entry), which makes some evidence impossible.
inline Network random_network(std::mt19937_64& rng, int n, int max_parents, int max_card, double zero_prob = 0) {
  Network net("random");
  std::uniform_int_distribution<int> card(2, max_card);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int v = 0; v < n; ++v) {
    std::vector<std::string> states;
    for (int s = card(rng); s > 0; --s) states.push_back(numbered("s", states.size()));
    net.add_variable(numbered("v", static_cast<std::size_t>(v)), states);
  }
  for (VarId v = 0; v < n; ++v) {
    std::vector<VarId> parents;
    if (v > 0) {
      std::uniform_int_distribution<int> count(0, std::min<int>(max_parents, v));
      for (int k = count(rng); k > 0;) {
        const auto p = static_cast<VarId>(std::uniform_int_distribution<int>(0, v - 1)(rng));
        if (std::find(parents.begin(), parents.end(), p) == parents.end()) {
          parents.push_back(p);
          --k;
        }
      }
    }
    std::int64_t rows = 1;
    for (VarId p : parents) rows *= net.cardinality(p);
    const std::int64_t c = net.cardinality(v);
    std::vector<double> table(static_cast<std::size_t>(rows * c));
    for (std::int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (std::int64_t s = 0; s < c; ++s) {
        double& x = table[static_cast<std::size_t>(r * c + s)];
        x = unit(rng) < zero_prob ? 0.0 : 0.05 + unit(rng);
        sum += x;
      }
      if (sum == 0) {
        table[static_cast<std::size_t>(r * c)] = sum = 1;
      }
      for (std::int64_t s = 0; s < c; ++s) table[static_cast<std::size_t>(r * c + s)] /= sum;
    }
    net.set_cpt(v, parents, table);
  }
  return net;
}

// Evidence on `count` distinct random variables, each in a random state.
inline Evidence random_evidence(std::mt19937_64& rng, const Network& net, int count) {
  Evidence e = no_evidence(net);
  std::uniform_int_distribution<std::size_t> pick(0, net.size() - 1);
  for (int k = 0; k < count && k < static_cast<int>(net.size());) {
    const std::size_t v = pick(rng);
    if (e[v] >= 0) continue;
    e[v] = std::uniform_int_distribution<int>(0, static_cast<int>(net.cardinality(static_cast<VarId>(v))) - 1)(rng);
    ++k;
  }
  return e;
}

// Evidence on `count` distinct random variables at the states of one joint
// sample drawn from the network (ancestral sampling): always possible.
inline Evidence sampled_evidence(std::mt19937_64& rng, const Network& net, int count) {
  std::vector<int> x(net.size(), 0);
  std::uniform_real_distribution<double> unit(0, 1);
  for (VarId v : net.topological_order()) {
    std::int64_t row = 0;
    for (VarId p : net.parents(v)) row = row * net.cardinality(p) + x[static_cast<std::size_t>(p)];
    const std::int64_t card = net.cardinality(v);
    const double* p = net.cpt(v).table.data() + row * card;
    double u = unit(rng);
    int s = 0;
    while (s + 1 < card && (u -= p[s]) >= 0) ++s;
    while (p[s] == 0) --s;  // rounding past the last positive state
    x[static_cast<std::size_t>(v)] = s;
  }
  Evidence e = random_evidence(rng, net, count);
  for (std::size_t v = 0; v < net.size(); ++v) {
    if (e[v] >= 0) e[v] = x[v];
  }
  return e;
}

// x0 -> x1 -> ... -> x{n-1}, binary: P(x0) uniform, P(xi = x{i-1}) = stay.
inline Network chain(int n, double stay) {
  Network net("chain");
  for (int i = 0; i < n; ++i) {
    const VarId v = net.add_variable(numbered("x", static_cast<std::size_t>(i)), {"a", "b"});
    if (i > 0) net.set_cpt(v, {v - 1}, {stay, 1 - stay, 1 - stay, stay});
  }
  return net;
}

// A standard network (bnlearn), or nullptr when the file is absent. Read once.
inline const Network* standard_network(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Network>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    const std::string path = std::string(MISO_SHARED_DATA) + "/bnlearn/" + name + ".bif";
    std::unique_ptr<Network> net;
    if (std::filesystem::exists(path)) net = std::make_unique<Network>(load_network(path));
    it = cache.emplace(name, std::move(net)).first;
  }
  return it->second.get();
}

// The network with every CPT row divided by its sum. Some bnlearn files have
// rows summing to 1 +- 3e-7; algorithms that prune barren variables (variable
// elimination, which takes their rows to sum to 1) and those that do not (the
// junction tree) then differ by that much.
inline Network with_normalized_rows(Network net) {
  for (std::size_t v = 0; v < net.size(); ++v) {
    const auto var = static_cast<VarId>(v);
    std::vector<double> table = net.cpt(var).table;
    const auto card = static_cast<std::size_t>(net.cardinality(var));
    for (std::size_t r = 0; r < table.size(); r += card) {
      double sum = 0;
      for (std::size_t s = 0; s < card; ++s) sum += table[r + s];
      for (std::size_t s = 0; s < card; ++s) table[r + s] /= sum;
    }
    net.set_cpt(var, net.parents(var), std::move(table));
  }
  return net;
}

// Every entry within `tol` (absolute).
inline ::testing::AssertionResult near(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure() << "sizes differ: " << a.size() << " vs " << b.size();
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!(std::abs(a[i] - b[i]) <= tol)) {
      return ::testing::AssertionFailure()
             << "entry " << i << ": " << a[i] << " vs " << b[i] << " (tolerance " << tol << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

// Within `tol` relative to the larger magnitude (absolute below 1e-300).
inline ::testing::AssertionResult near_relative(double a, double b, double tol) {
  const double scale = std::max({std::abs(a), std::abs(b), 1e-300});
  if (std::abs(a - b) <= tol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " vs " << b << " (relative tolerance " << tol << ")";
}

}  // namespace miso::qlogik::inference_testing
