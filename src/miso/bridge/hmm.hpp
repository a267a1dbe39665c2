// Hidden Markov models: named states and symbols, initial / transition /
// emission probabilities, and the minimal JSON form
//   {"hmm": {"states": ["rain", "dry"], "symbols": ["umbrella", "none"],
//            "initial": [0.5, 0.5],
//            "transition": [[0.7, 0.3], [0.3, 0.7]],
//            "emission": [[0.9, 0.1], [0.2, 0.8]]}}
// (transition row = from-state, emission row = state, column = symbol).
// An HMM compiles to a Chain plus Likelihoods whose row k is symbol k's
// emission column and whose last row (index symbols.size()) is all ones: the
// observation "?" (nothing observed at that step).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "miso/bridge/chain.hpp"

namespace miso::bridge {

struct Hmm {
  std::vector<std::string> states, symbols;
  std::vector<double> initial;     // S
  std::vector<double> transition;  // S x S, row = from
  std::vector<double> emission;    // S x O, row = state
  // Error(InvalidArgument) naming the row/entry: sizes, duplicate or empty
  // names, negative or non-finite entries, rows not summing to 1 within 1e-9.
  void validate() const;
  Chain chain() const;
  Likelihoods likelihoods() const;  // O + 1 rows: the symbols, then "?"
  // Symbol names (or "?") to likelihood rows; Error naming the unknown symbol
  // and its position in the list.
  std::vector<std::uint32_t> observations(const std::vector<std::string>& symbols) const;
};

// JSON text <-> Hmm; errors are Error(Format) with source:line:column and the
// field ("hmm.transition[1]: row sums to 1.2, not 1").
Hmm parse_hmm_json(std::string_view text, const std::string& source = "<json>");
std::string to_json(const Hmm& hmm);
Hmm load_hmm(const std::filesystem::path& path);

// "o1,o2,..." (spaces around names ignored; empty entries are errors).
std::vector<std::string> split_observations(std::string_view comma_separated);

}  // namespace miso::bridge
