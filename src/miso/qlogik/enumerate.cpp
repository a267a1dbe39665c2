#include "miso/qlogik/enumerate.hpp"

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"

namespace miso::qlogik {

Enumeration enumerate(const Network& net, const Evidence& evidence, std::int64_t max_assignments) {
  MISO_PROFILE_SCOPE("qlogik.enumerate");
  const std::size_t n = net.size();
  if (evidence.size() != n) {
    throw Error(Error::Kind::InvalidArgument, "enumerate: evidence has " + std::to_string(evidence.size()) +
                                                  " entries for " + std::to_string(n) + " variables");
  }
  std::int64_t total = 1;
  for (std::size_t v = 0; v < n; ++v) {
    if (evidence[v] < -1 || evidence[v] >= net.cardinality(static_cast<VarId>(v))) {
      throw Error(Error::Kind::InvalidArgument, "enumerate: evidence gives variable '" +
                                                    net.variable(static_cast<VarId>(v)).name + "' state " +
                                                    std::to_string(evidence[v]) + ", which it does not have");
    }
    if (evidence[v] >= 0) continue;
    total *= net.cardinality(static_cast<VarId>(v));
    if (total > max_assignments) {
      throw Error(Error::Kind::InvalidArgument, "enumerate: network '" + net.name() + "' has more than " +
                                                    std::to_string(max_assignments) + " joint assignments");
    }
  }
  Enumeration out;
  out.marginals.resize(n);
  for (std::size_t v = 0; v < n; ++v)
    out.marginals[v].assign(static_cast<std::size_t>(net.cardinality(static_cast<VarId>(v))), 0.0);
  std::vector<int> x(n, 0);
  for (std::size_t v = 0; v < n; ++v) x[v] = evidence[v] >= 0 ? evidence[v] : 0;
  for (std::int64_t k = 0; k < total; ++k) {
    const double p = net.joint_probability(x);
    out.p_evidence += p;
    for (std::size_t v = 0; v < n; ++v) out.marginals[v][static_cast<std::size_t>(x[v])] += p;
    if (p > out.mpe_probability || out.mpe.empty()) {
      out.mpe_probability = p;
      out.mpe = x;
    }
    // Next assignment of the unobserved variables (the last one fastest).
    for (std::size_t v = n; v-- > 0;) {
      if (evidence[v] >= 0) continue;
      if (++x[v] < net.cardinality(static_cast<VarId>(v))) break;
      x[v] = 0;
    }
  }
  for (auto& m : out.marginals) {
    for (double& p : m) p = out.p_evidence > 0 ? p / out.p_evidence : 0.0;
  }
  return out;
}

}  // namespace miso::qlogik
