// Shared by bif_test.cpp and xmlbif_test.cpp: the standard networks (read once
// per test binary), exact network comparison, and random networks with awkward
// names for round-trip properties.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "miso/core/file.hpp"
#include "miso/qlogik/format.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::qlogik::testing {

// Figures counted from the files (variables, arcs = sum of parents, free
// parameters = sum over variables of (card - 1) * rows) by an independent script.
// They agree with the bnlearn repository's published figures except pathfinder's
// parameters: bnlearn lists 77155, the pgmpy file gives 72079.
struct StandardNetwork {
  const char* name;
  std::size_t variables;
  std::size_t arcs;
  std::int64_t parameters;
};

inline const std::vector<StandardNetwork>& standard_networks() {
  static const std::vector<StandardNetwork> nets = {
      {"asia", 8, 8, 18},          {"cancer", 5, 4, 10},
      {"earthquake", 5, 4, 10},    {"survey", 6, 6, 21},
      {"sachs", 11, 17, 178},      {"child", 20, 25, 230},
      {"insurance", 27, 52, 1008}, {"alarm", 37, 46, 509},
      {"water", 32, 66, 10083},    {"hailfinder", 56, 66, 2656},
      {"hepar2", 70, 123, 1453},   {"win95pts", 76, 112, 574},
      {"andes", 223, 338, 1157},   {"pathfinder", 109, 195, 72079},
      {"barley", 48, 84, 114005},  {"pigs", 441, 592, 5618},
      {"link", 724, 1125, 14211},  {"munin1", 186, 273, 15622},
  };
  return nets;
}

inline std::string bnlearn_path(const std::string& name) {
  return std::string(MISO_SHARED_DATA) + "/bnlearn/" + name + ".bif";
}

// The text of a standard network, or nullptr when the file is absent. Read once.
inline const std::string* bnlearn_text(const std::string& name) {
  static std::map<std::string, std::unique_ptr<std::string>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    const std::string path = bnlearn_path(name);
    std::unique_ptr<std::string> text;
    if (std::filesystem::exists(path)) text = std::make_unique<std::string>(core::read_file(path));
    it = cache.emplace(name, std::move(text)).first;
  }
  return it->second.get();
}

// The parsed standard network, or nullptr when the file is absent. Parsed once.
inline const Network* bnlearn(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Network>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    const std::string* text = bnlearn_text(name);
    std::unique_ptr<Network> net;
    if (text != nullptr) net = std::make_unique<Network>(read_bif(*text, bnlearn_path(name)));
    it = cache.emplace(name, std::move(net)).first;
  }
  return it->second.get();
}

#define MISO_SKIP_WITHOUT_BNLEARN()                                                                           \
  if (!std::filesystem::exists(std::string(MISO_SHARED_DATA) + "/bnlearn")) {                                 \
    GTEST_SKIP() << "the standard networks are absent (" << MISO_SHARED_DATA << "/bnlearn); nothing to read"; \
  }

// Equal names, states, properties, parents (in order) and bit-identical tables.
inline ::testing::AssertionResult identical(const Network& a, const Network& b) {
  auto fail = [](const std::string& what) { return ::testing::AssertionFailure() << what; };
  if (a.name() != b.name()) return fail("network names differ: '" + a.name() + "' vs '" + b.name() + "'");
  if (a.properties() != b.properties()) return fail("network properties differ");
  if (a.size() != b.size())
    return fail("sizes differ: " + std::to_string(a.size()) + " vs " + std::to_string(b.size()));
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto v = static_cast<VarId>(i);
    const Variable& x = a.variable(v);
    const Variable& y = b.variable(v);
    if (x.name != y.name) return fail("variable " + std::to_string(i) + ": '" + x.name + "' vs '" + y.name + "'");
    if (x.states != y.states) return fail("states of '" + x.name + "' differ");
    if (x.properties != y.properties) return fail("properties of '" + x.name + "' differ");
    if (a.parents(v) != b.parents(v)) return fail("parents of '" + x.name + "' differ");
    const auto& s = a.cpt(v).table;
    const auto& t = b.cpt(v).table;
    if (s.size() != t.size()) return fail("table sizes of '" + x.name + "' differ");
    for (std::size_t k = 0; k < s.size(); ++k) {
      if (std::bit_cast<std::uint64_t>(s[k]) != std::bit_cast<std::uint64_t>(t[k])) {
        return fail("table of '" + x.name + "' differs at " + std::to_string(k) + ": " + std::to_string(s[k]) + " vs " +
                    std::to_string(t[k]));
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// A random DAG whose names and properties use characters both formats must
// escape or quote (blanks, punctuation, quotes, backslashes, markup, comment
// starts, UTF-8), with probabilities that need all 17 digits, and exact zeros.
inline Network random_network(std::mt19937_64& rng, int variables) {
  static const std::vector<std::string> pieces = {
      "a", "B",  "x1", "-", ".",  "_",  "7",  " ", ",", ";", "(", ")", "{",     "}",        "[",           "]",
      "|", "\"", "\\", "/", "//", "/*", "*/", "<", ">", "&", "'", "=", "table", "\xC3\xA9", "\xE2\x82\xAC"};
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto word = [&](std::size_t max_pieces) {
    std::string s;
    const std::size_t n = 1 + pick(max_pieces);
    for (std::size_t i = 0; i < n; ++i) s += pieces[pick(pieces.size())];
    while (!s.empty() && s.front() == ' ') s.erase(0, 1);  // XMLBIF trims surrounding blanks
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s.empty() ? std::string("z") : s;
  };
  auto property_text = [&] {  // BIF keeps a property's raw text: no ';', quotes or backslashes
    std::string s;
    for (char c : word(3)) {
      if (c != ';' && c != '"' && c != '\\') s += c;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s.empty() ? std::string("q") : s;
  };
  Network net(word(4));
  net.properties().push_back("author = " + property_text());
  for (int v = 0; v < variables; ++v) {
    std::string name = word(4) + "#" + std::to_string(v);  // unique
    std::vector<std::string> states;
    const std::size_t card = 1 + pick(4);
    for (std::size_t s = 0; s < card; ++s) states.push_back(word(3) + "~" + std::to_string(s));
    const VarId id = net.add_variable(std::move(name), std::move(states));
    if (pick(2) == 0) net.variable(id).properties.push_back("position = (" + std::to_string(pick(500)) + ", 7)");
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int v = 0; v < variables; ++v) {
    std::vector<VarId> parents;
    for (int p = 0; p < v; ++p) {  // parents among earlier variables: acyclic
      if (parents.size() < 3 && pick(3) == 0) parents.push_back(static_cast<VarId>(p));
    }
    std::shuffle(parents.begin(), parents.end(), rng);  // declared order need not be id order
    const auto card = static_cast<std::size_t>(net.cardinality(v));
    std::size_t rows = 1;
    for (VarId p : parents) rows *= static_cast<std::size_t>(net.cardinality(p));
    std::vector<double> table(rows * card);
    for (std::size_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (std::size_t s = 0; s < card; ++s) sum += table[r * card + s] = pick(5) == 0 ? 0.0 : unit(rng);
      if (sum == 0) table[r * card] = sum = 1;
      for (std::size_t s = 0; s < card; ++s) table[r * card + s] /= sum;
    }
    net.set_cpt(v, std::move(parents), std::move(table));
  }
  return net;
}

// `text` with 1-4 random edits: a span erased, or a character of `alphabet`
// inserted or written over one (the corruption of the formats' fuzz tests).
inline std::string mutated(std::string text, const std::string& alphabet, std::mt19937_64& rng) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !text.empty(); ++e) {
    const std::size_t at = rng() % text.size();
    switch (rng() % 3) {
      case 0: text.erase(at, 1 + rng() % 8); break;
      case 1: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      default: text[at] = alphabet[rng() % alphabet.size()]; break;
    }
  }
  return text;
}

}  // namespace miso::qlogik::testing
