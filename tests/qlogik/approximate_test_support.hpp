// Shared by sampling_test.cpp, belief_propagation_test.cpp and learning_test.cpp,
// on top of the exact-inference tests' support (asia, random DAGs, random
// evidence, the standard networks): the sprinkler, random polytrees (whose ids
// are not a topological order), and a plain reader of sample_csv's output used
// as an independent reference.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "inference_test_support.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::qlogik::approximate_testing {

using inference_testing::asia;
using inference_testing::numbered;
using inference_testing::random_evidence;
using inference_testing::random_network;
using inference_testing::standard_network;

// Cloudy -> Sprinkler, Rain -> WetGrass: one loop, all rows well populated.
inline Network sprinkler() {
  Network net("sprinkler");
  const std::vector<std::string> ft = {"false", "true"};
  const VarId c = net.add_variable("Cloudy", ft);
  const VarId s = net.add_variable("Sprinkler", ft);
  const VarId r = net.add_variable("Rain", ft);
  const VarId w = net.add_variable("WetGrass", ft);
  net.set_cpt(c, {}, {0.5, 0.5});
  net.set_cpt(s, {c}, {0.5, 0.5, 0.9, 0.1});
  net.set_cpt(r, {c}, {0.8, 0.2, 0.2, 0.8});
  net.set_cpt(w, {s, r}, {1.0, 0.0, 0.1, 0.9, 0.1, 0.9, 0.01, 0.99});
  return net;
}

// A random CPT row: uniform weights, each 0 with probability `zeros` (never all 0).
inline std::vector<double> random_row(std::mt19937_64& rng, std::size_t card, double zeros) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> row(card);
  double sum = 0;
  for (double& p : row) sum += p = unit(rng) < zeros ? 0.0 : 0.05 + unit(rng);
  if (sum == 0) row[rng() % card] = sum = 1;
  for (double& p : row) p /= sum;
  return row;
}

// A random polytree (the undirected skeleton is a tree): node i joins a random
// earlier node, the edge pointing either way, so nodes get several parents and
// the ids are not a topological order. 2..max_card states; CPT rows random_row.
inline Network random_polytree(std::mt19937_64& rng, int variables, int max_card, double zeros = 0.0) {
  Network net("polytree");
  for (int v = 0; v < variables; ++v) {
    std::vector<std::string> states(2 + rng() % static_cast<std::size_t>(max_card - 1));
    for (std::size_t s = 0; s < states.size(); ++s) states[s] = numbered("s", s);
    net.add_variable(numbered("v", static_cast<std::size_t>(v)), std::move(states));
  }
  std::vector<std::vector<VarId>> parents(static_cast<std::size_t>(variables));
  for (int i = 1; i < variables; ++i) {
    const auto j = static_cast<VarId>(rng() % static_cast<std::size_t>(i));
    if (rng() % 2 == 0) {
      parents[static_cast<std::size_t>(i)].push_back(j);
    } else {
      parents[static_cast<std::size_t>(j)].push_back(i);
    }
  }
  for (std::size_t v = 0; v < parents.size(); ++v) {
    std::int64_t rows = 1;
    for (VarId p : parents[v]) rows *= net.cardinality(p);
    const auto card = static_cast<std::size_t>(net.cardinality(static_cast<VarId>(v)));
    std::vector<double> table;
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto row = random_row(rng, card, zeros);
      table.insert(table.end(), row.begin(), row.end());
    }
    net.set_cpt(static_cast<VarId>(v), parents[v], std::move(table));
  }
  return net;
}

// `var`: the standard network `name` (const Network*), or the test skips saying the file is absent.
#define MISO_STANDARD_NETWORK_OR_SKIP(var, name)                                                     \
  const Network* const var = ::miso::qlogik::inference_testing::standard_network(name);              \
  if (var == nullptr) {                                                                              \
    GTEST_SKIP() << MISO_SHARED_DATA << "/bnlearn/" << name << ".bif is absent; nothing to test on"; \
  }                                                                                                  \
  static_assert(true)

// Reads the output of sample_csv for a network whose names need no quoting,
// independently of the learner: splits lines at commas, maps the header to
// variables and each cell through Network::state_index, and calls
// sample(x) with the states by variable id. Returns the header's cells.
template <typename Fn>
std::vector<std::string> for_each_sample(const Network& net, std::string_view text, Fn&& sample) {
  std::vector<std::string> header;
  std::vector<VarId> column;
  std::vector<std::string_view> cells;
  std::vector<int> x(net.size(), -1);
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    cells.clear();
    for (std::size_t start = 0;;) {
      const std::size_t comma = line.find(',', start);
      cells.push_back(line.substr(start, comma == std::string_view::npos ? comma : comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (header.empty()) {
      header.assign(cells.begin(), cells.end());
      for (const std::string& name : header) column.push_back(net.id(name));
      EXPECT_EQ(column.size(), net.size());
      continue;
    }
    EXPECT_EQ(cells.size(), column.size()) << line;
    for (std::size_t c = 0; c < std::min(cells.size(), column.size()); ++c) {
      x[static_cast<std::size_t>(column[c])] = net.state_index(column[c], cells[c]);
    }
    sample(x);
  }
  return header;
}

}  // namespace miso::qlogik::approximate_testing
