// Inference by brute-force enumeration of every joint assignment: exponential,
// for networks of a few dozen states in total. The reference the exact and
// approximate algorithms are tested against, and the baseline of bench/qlogik.
#pragma once

#include <cstdint>
#include <vector>

#include "miso/qlogik/network.hpp"

namespace miso::qlogik {

struct Enumeration {
  double p_evidence = 0;                       // P(e)
  std::vector<std::vector<double>> marginals;  // P(v | e) per variable (zeros when P(e) = 0)
  std::vector<int> mpe;                        // argmax_x P(x, e) (the first on ties)
  double mpe_probability = 0;                  // P(mpe, e)
};

// Throws Error(InvalidArgument) when the network has more than `max_assignments`
// joint assignments.
Enumeration enumerate(const Network& net, const Evidence& evidence, std::int64_t max_assignments = 1 << 24);

}  // namespace miso::qlogik
