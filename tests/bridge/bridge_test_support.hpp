// What the bridge tests share: the umbrella world (Russell & Norvig) as an
// HMM with the state and symbol names a test needs, and the data folder.
#pragma once

#include <string>
#include <vector>

#include "miso/bridge/hmm.hpp"

namespace miso::bridge::testing {

// Rain persists with 0.7; the umbrella is carried with 0.9 in rain, 0.2 when dry.
inline Hmm umbrella(std::vector<std::string> states = {"rain", "dry"},
                    std::vector<std::string> symbols = {"umbrella", "none"}) {
  Hmm h;
  h.states = std::move(states);
  h.symbols = std::move(symbols);
  h.initial = {0.5, 0.5};
  h.transition = {0.7, 0.3, 0.3, 0.7};
  h.emission = {0.9, 0.1, 0.2, 0.8};
  return h;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

inline std::string data_path(const std::string& file) { return std::string(MISO_SOURCE_DIR) + "/data/bridge/" + file; }

}  // namespace miso::bridge::testing
