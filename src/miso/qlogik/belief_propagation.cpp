// Loopy belief propagation (sum-product) on the factor graph of a network's
// CPTs, flooding schedule (see approximate.hpp).
#include "miso/qlogik/approximate.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "miso/core/error.hpp"
#include "miso/nexus/parallel.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/inference.hpp"

namespace miso::qlogik {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

// Networks whose CPTs hold fewer entries than this are updated on one thread:
// an iteration is then too short to share.
constexpr std::int64_t kParallelEntries = std::int64_t{1} << 15;

// Divides m[0, card) by its sum; leaves an all-zero message as it is.
void normalize(double* m, int card) noexcept {
  double total = 0;
  for (int s = 0; s < card; ++s) total += m[s];
  if (total > 0) {
    for (int s = 0; s < card; ++s) m[s] /= total;
  }
}

class FactorGraph {
 public:
  FactorGraph(const Network& net, const Evidence& evidence) : evidence_(evidence), var_edges_(net.size()) {
    std::size_t msg = 0;
    for (std::size_t v = 0; v < net.size(); ++v) {
      const Cpt& cpt = net.cpt(static_cast<VarId>(v));
      Factor f{cpt.table.data(), static_cast<std::int64_t>(cpt.table.size()), edges_.size(), 0};
      // Members in table order: the parents, then the child (fastest).
      std::vector<VarId> members = cpt.parents;
      members.push_back(static_cast<VarId>(v));
      for (VarId u : members) {
        const int card = static_cast<int>(net.cardinality(u));
        var_edges_[static_cast<std::size_t>(u)].push_back(edges_.size());
        edges_.push_back(Edge{u, card, msg});
        msg += static_cast<std::size_t>(card);
      }
      f.edge_end = edges_.size();
      factors_.push_back(f);
      entries_ += f.size;
      max_members_ = std::max(max_members_, f.edge_end - f.edge_begin);
      max_card_ = std::max(max_card_, static_cast<int>(net.cardinality(static_cast<VarId>(v))));
    }
    for (const auto& es : var_edges_) max_degree_ = std::max(max_degree_, es.size());
    // Factor-to-variable messages start uniform.
    to_var_.resize(msg);
    to_factor_.resize(msg);
    for (const Edge& e : edges_) std::fill_n(&to_var_[e.msg], e.card, 1.0 / e.card);
  }

  // Every variable-to-factor message from the current factor-to-variable ones.
  void update_variables() {
    for_range(var_edges_.size(), [&](std::size_t b, std::size_t e) {
      std::vector<double> prefix(max_degree_);
      for (std::size_t v = b; v < e; ++v) {
        const auto& es = var_edges_[v];
        const int card = edges_[es.front()].card;
        for (int s = 0; s < card; ++s) {
          // out_i = lambda * prod_{j != i} in_j, by prefix and suffix products.
          double acc = lambda(v, s);
          for (std::size_t i = 0; i < es.size(); ++i) {
            prefix[i] = acc;
            acc *= to_var_[edges_[es[i]].msg + static_cast<std::size_t>(s)];
          }
          double suffix = 1.0;
          for (std::size_t i = es.size(); i-- > 0;) {
            const std::size_t at = edges_[es[i]].msg + static_cast<std::size_t>(s);
            to_factor_[at] = prefix[i] * suffix;
            suffix *= to_var_[at];
          }
        }
        for (std::size_t i : es) normalize(&to_factor_[edges_[i].msg], card);
      }
    });
  }

  // Every factor-to-variable message from the current variable-to-factor ones,
  // damped; returns the largest change of an entry.
  double update_factors(double damping) {
    std::vector<double> change(factors_.size(), 0.0);
    for_range(factors_.size(), [&](std::size_t b, std::size_t e) {
      std::vector<int> idx(max_members_);
      std::vector<double> prefix(max_members_ + 1), out(max_members_ * static_cast<std::size_t>(max_card_));
      for (std::size_t fi = b; fi < e; ++fi) change[fi] = update_factor(factors_[fi], damping, idx, prefix, out);
    });
    return change.empty() ? 0.0 : *std::max_element(change.begin(), change.end());
  }

  // Normalised products of lambda and all incoming messages (all zero when they vanish).
  std::vector<std::vector<double>> beliefs() const {
    std::vector<std::vector<double>> out(var_edges_.size());
    for (std::size_t v = 0; v < var_edges_.size(); ++v) {
      const int card = edges_[var_edges_[v].front()].card;
      out[v].resize(static_cast<std::size_t>(card));
      for (int s = 0; s < card; ++s) {
        double p = lambda(v, s);
        for (std::size_t i : var_edges_[v]) p *= to_var_[edges_[i].msg + static_cast<std::size_t>(s)];
        out[v][static_cast<std::size_t>(s)] = p;
      }
      normalize(out[v].data(), card);
    }
    return out;
  }

 private:
  struct Edge {
    VarId var;
    int card;
    std::size_t msg;  // first entry of both messages on this edge
  };
  struct Factor {
    const double* table;
    std::int64_t size;
    std::size_t edge_begin, edge_end;  // members in table order
  };

  double lambda(std::size_t v, int s) const noexcept { return evidence_[v] < 0 || evidence_[v] == s ? 1.0 : 0.0; }

  template <typename Body>
  void for_range(std::size_t n, const Body& body) const {
    if (entries_ < kParallelEntries) {
      body(0, n);
    } else {
      nexus::parallel_for(0, n, body);
    }
  }

  // One pass over the table: entry t at states (x_0..x_k-1) adds
  // t * prod_{j != i} in_j[x_j] to out_i[x_i] for every member i.
  double update_factor(const Factor& f, double damping, std::vector<int>& idx, std::vector<double>& prefix,
                       std::vector<double>& out) {
    const std::size_t k = f.edge_end - f.edge_begin;
    const Edge* members = &edges_[f.edge_begin];
    std::fill_n(idx.begin(), k, 0);
    std::fill_n(out.begin(), k * static_cast<std::size_t>(max_card_), 0.0);
    for (std::int64_t i = 0; i < f.size; ++i) {
      const double t = f.table[i];
      if (t != 0) {
        prefix[0] = 1.0;
        for (std::size_t j = 0; j < k; ++j) {
          prefix[j + 1] = prefix[j] * to_factor_[members[j].msg + static_cast<std::size_t>(idx[j])];
        }
        double suffix = t;
        for (std::size_t j = k; j-- > 0;) {
          const auto x = static_cast<std::size_t>(idx[j]);
          out[j * static_cast<std::size_t>(max_card_) + x] += prefix[j] * suffix;
          suffix *= to_factor_[members[j].msg + x];
        }
      }
      // Next entry: the last member fastest.
      for (std::size_t j = k; j-- > 0;) {
        if (++idx[j] < members[j].card) break;
        idx[j] = 0;
      }
    }
    double change = 0;
    for (std::size_t j = 0; j < k; ++j) {
      double* fresh = &out[j * static_cast<std::size_t>(max_card_)];
      normalize(fresh, members[j].card);
      double* msg = &to_var_[members[j].msg];
      for (int s = 0; s < members[j].card; ++s) {
        const double next = (1 - damping) * fresh[s] + damping * msg[s];
        change = std::max(change, std::abs(next - msg[s]));
        msg[s] = next;
      }
    }
    return change;
  }

  const Evidence& evidence_;
  std::vector<Factor> factors_;  // one per variable's CPT, index = VarId
  std::vector<Edge> edges_;
  std::vector<std::vector<std::size_t>> var_edges_;  // the edges of each variable
  std::vector<double> to_var_, to_factor_;           // messages, indexed by Edge::msg
  std::int64_t entries_ = 0;
  std::size_t max_members_ = 0, max_degree_ = 0;
  int max_card_ = 1;
};

}  // namespace

BeliefPropagationResult loopy_belief_propagation(const Network& net, const Evidence& evidence,
                                                 const BeliefPropagationOptions& options) {
  MISO_PROFILE_SCOPE("qlogik.loopy_belief_propagation");
  check_evidence(net, evidence, "loopy_belief_propagation");
  if (options.max_iterations < 1) fail("loopy_belief_propagation: max_iterations must be at least 1");
  if (!(options.tolerance >= 0) || !std::isfinite(options.tolerance)) {
    fail("loopy_belief_propagation: tolerance must be a finite non-negative number");
  }
  if (!(options.damping >= 0 && options.damping < 1)) fail("loopy_belief_propagation: damping must be in [0, 1)");
  net.validate();

  FactorGraph graph(net, evidence);
  BeliefPropagationResult result;
  while (result.iterations < options.max_iterations) {
    graph.update_variables();
    result.max_change = graph.update_factors(options.damping);
    ++result.iterations;
    if (result.max_change <= options.tolerance) {
      result.converged = true;
      break;
    }
  }
  result.marginals = graph.beliefs();
  return result;
}

}  // namespace miso::qlogik
