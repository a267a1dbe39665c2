// Greedy triangulation, variable elimination (sum-product), MPE and MAP
// (max-product with traceback). See inference.hpp.
#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <string>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/factor.hpp"
#include "miso/qlogik/inference.hpp"

namespace miso::qlogik {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

std::size_t index(VarId v) { return static_cast<std::size_t>(v); }

// The greedy elimination of triangulate(): the graph as sorted adjacency lists
// of the variables not yet eliminated, with each variable's score cached until
// an elimination changes its neighbourhood.
class Eliminator {
 public:
  Eliminator(const std::vector<std::vector<VarId>>& scopes, const std::vector<std::int64_t>& cards, OrderHeuristic h)
      : cards_(cards), h_(h), adj_(cards.size()), score_(cards.size()), dirty_(cards.size(), 1) {
    for (const auto& scope : scopes) {
      for (VarId a : scope) {
        if (a < 0 || index(a) >= cards.size()) {
          fail("triangulate: scope variable " + std::to_string(a) + " out of range (" + std::to_string(cards.size()) +
               " variables)");
        }
        for (VarId b : scope) {
          if (a != b) adj_[index(a)].push_back(b);
        }
      }
    }
    for (auto& nb : adj_) {
      std::sort(nb.begin(), nb.end());
      nb.erase(std::unique(nb.begin(), nb.end()), nb.end());
    }
    for (std::size_t v = 0; v < cards.size(); ++v) {
      if (cards[v] <= 0) fail("triangulate: variable " + std::to_string(v) + " has no states");
    }
  }

  // Eliminates `stage` greedily, appending to `out`.
  void run(std::vector<VarId> stage, Triangulation& out) {
    while (!stage.empty()) {
      std::size_t best = 0;
      for (std::size_t i = 0; i < stage.size(); ++i) {
        if (better(stage[i], stage[best])) best = i;
      }
      const VarId v = stage[best];
      stage[best] = stage.back();
      stage.pop_back();
      out.order.push_back(v);
      out.cliques.push_back(eliminate(v));
    }
  }

 private:
  struct Score {
    double primary = 0;  // fill, weighted fill or degree
    double weight = 0;   // log2 of the elimination clique's states
  };

  bool adjacent(VarId a, VarId b) const {
    const auto& nb = adj_[index(a)];
    return std::binary_search(nb.begin(), nb.end(), b);
  }

  const Score& score(VarId v) {
    Score& s = score_[index(v)];
    if (!dirty_[index(v)]) return s;
    const auto& nb = adj_[index(v)];
    s.weight = std::log2(static_cast<double>(cards_[index(v)]));
    for (VarId a : nb) s.weight += std::log2(static_cast<double>(cards_[index(a)]));
    if (h_ == OrderHeuristic::MinDegree) {
      s.primary = static_cast<double>(nb.size());
    } else {
      s.primary = 0;
      for (std::size_t i = 0; i < nb.size(); ++i) {
        for (std::size_t j = i + 1; j < nb.size(); ++j) {
          if (adjacent(nb[i], nb[j])) continue;
          s.primary += h_ == OrderHeuristic::MinFill
                           ? 1.0
                           : static_cast<double>(cards_[index(nb[i])]) * static_cast<double>(cards_[index(nb[j])]);
        }
      }
    }
    dirty_[index(v)] = 0;
    return s;
  }

  bool better(VarId a, VarId b) {
    if (a == b) return false;
    const Score sa = score(a), sb = score(b);
    if (sa.primary != sb.primary) return sa.primary < sb.primary;
    if (sa.weight != sb.weight) return sa.weight < sb.weight;
    return a < b;
  }

  static void insert(std::vector<VarId>& sorted, VarId x) {
    sorted.insert(std::lower_bound(sorted.begin(), sorted.end(), x), x);
  }

  // Removes v, joining its neighbours pairwise; returns its elimination clique.
  std::vector<VarId> eliminate(VarId v) {
    std::vector<VarId> nb = std::move(adj_[index(v)]);
    adj_[index(v)].clear();
    for (VarId a : nb) {
      auto& na = adj_[index(a)];
      na.erase(std::lower_bound(na.begin(), na.end(), v));
    }
    for (std::size_t i = 0; i < nb.size(); ++i) {
      for (std::size_t j = i + 1; j < nb.size(); ++j) {
        if (adjacent(nb[i], nb[j])) continue;
        insert(adj_[index(nb[i])], nb[j]);
        insert(adj_[index(nb[j])], nb[i]);
      }
    }
    // Scores depend on neighbourhoods and the edges among them: both changed
    // only within distance 1 of v's neighbours.
    for (VarId a : nb) {
      dirty_[index(a)] = 1;
      for (VarId b : adj_[index(a)]) dirty_[index(b)] = 1;
    }
    std::vector<VarId> clique = std::move(nb);
    insert(clique, v);
    return clique;
  }

  const std::vector<std::int64_t>& cards_;
  OrderHeuristic h_;
  std::vector<std::vector<VarId>> adj_;
  std::vector<Score> score_;
  std::vector<char> dirty_;
};

std::vector<std::int64_t> cardinalities(const Network& net) {
  std::vector<std::int64_t> cards(net.size());
  for (std::size_t v = 0; v < net.size(); ++v) cards[v] = net.cardinality(static_cast<VarId>(v));
  return cards;
}

void check_variables(const Network& net, const std::vector<VarId>& vars, const char* where) {
  std::vector<char> seen(net.size(), 0);
  for (VarId v : vars) {
    if (v < 0 || index(v) >= net.size()) {
      fail(std::string(where) + ": no variable with id " + std::to_string(v) + " in network '" + net.name() + "'");
    }
    if (seen[index(v)]) fail(std::string(where) + ": variable '" + net.variable(v).name + "' given twice");
    seen[index(v)] = 1;
  }
}

// Marks the ancestors of the seeds (the seeds included).
std::vector<char> ancestors(const Network& net, std::vector<VarId> stack) {
  std::vector<char> mark(net.size(), 0);
  for (VarId v : stack) mark[index(v)] = 1;
  while (!stack.empty()) {
    VarId v = stack.back();
    stack.pop_back();
    for (VarId p : net.parents(v)) {
      if (!mark[index(p)]) {
        mark[index(p)] = 1;
        stack.push_back(p);
      }
    }
  }
  return mark;
}

// Divides f by its total (sum) or largest entry (max) and returns that scale.
double rescale(Factor& f, bool by_max) {
  auto& values = f.values();
  double s = 0;
  for (double x : values) s = by_max ? std::max(s, x) : s + x;
  if (s > 0 && s != 1) {
    const double inv = 1 / s;
    for (double& x : values) x *= inv;
  }
  return s;
}

// A product of factors known up to the factor exp(log_scale); zero when it is 0
// everywhere (the evidence is impossible).
struct Scaled {
  Factor factor;
  double log_scale = 0;
  bool zero = false;

  void multiply(const Factor& f, bool by_max) {
    factor = factor.product(f);
    const double s = rescale(factor, by_max);
    if (s == 0) {
      zero = true;
    } else {
      log_scale += std::log(s);
    }
  }
  double log_total() const {
    return zero ? -std::numeric_limits<double>::infinity() : log_scale + std::log(factor.total());
  }
};

// The network's CPTs restricted to the relevant variables, reduced by the evidence.
std::vector<Factor> reduced_cpts(const Network& net, const Evidence& evidence, const std::vector<char>& relevant) {
  std::vector<Factor> factors;
  for (std::size_t v = 0; v < net.size(); ++v) {
    if (relevant[v]) factors.push_back(Factor::from_cpt(net, static_cast<VarId>(v)).reduce(evidence));
  }
  return factors;
}

// Eliminates `stages` (in that order of stages, each ordered by h) from the
// product of `factors`: summing out the variables of every stage but the last
// when `max_last` (summing all otherwise), maximising the last. Returns the
// product of what is left, over the variables never eliminated; with
// `max_buckets`, the product eliminated per maximised variable (for traceback),
// as pairs (variable, bucket product) in elimination order.
Scaled eliminate(std::vector<Factor> factors, const std::vector<std::int64_t>& cards,
                 const std::vector<std::vector<VarId>>& stages, bool max_last, OrderHeuristic h,
                 std::vector<std::pair<VarId, Factor>>* max_buckets) {
  std::vector<std::vector<VarId>> scopes;
  scopes.reserve(factors.size());
  for (const Factor& f : factors) scopes.push_back(f.vars());
  const std::vector<VarId> order = triangulate(scopes, cards, stages, h).order;
  const std::size_t first_max = max_last ? order.size() - stages.back().size() : order.size();

  // Bucket elimination: each factor waits in the bucket of its first-eliminated variable.
  std::vector<int> pos(cards.size(), INT_MAX);
  for (std::size_t i = 0; i < order.size(); ++i) pos[index(order[i])] = static_cast<int>(i);
  std::vector<std::vector<Factor>> buckets(order.size());
  Scaled out;
  auto place = [&](Factor f) {
    int first = INT_MAX;
    for (VarId v : f.vars()) first = std::min(first, pos[index(v)]);
    if (first == INT_MAX) {
      out.multiply(f, max_last);
    } else {
      buckets[static_cast<std::size_t>(first)].push_back(std::move(f));
    }
  };
  for (Factor& f : factors) place(std::move(f));
  for (std::size_t i = 0; i < order.size() && !out.zero; ++i) {
    const VarId v = order[i];
    auto& bucket = buckets[i];
    if (bucket.empty()) {
      throw Error(Error::Kind::Internal, "variable elimination: no factor holds variable " + std::to_string(v));
    }
    Factor product;
    if (bucket.size() == 1) {
      product = std::move(bucket.front());
    } else {
      std::vector<VarId> vars;
      for (const Factor& f : bucket) vars.insert(vars.end(), f.vars().begin(), f.vars().end());
      std::sort(vars.begin(), vars.end());
      vars.erase(std::unique(vars.begin(), vars.end()), vars.end());
      std::vector<std::int64_t> vcards;
      for (VarId u : vars) vcards.push_back(cards[index(u)]);
      product = Factor::filled(vars, vcards, 1.0);
      for (const Factor& f : bucket) product.multiply_in(f);
    }
    bucket.clear();
    const bool maximise = i >= first_max;
    Factor next = maximise ? product.max_out(v) : product.sum_out(v);
    const double s = rescale(next, maximise);
    if (s == 0) {
      out.zero = true;
      break;
    }
    out.log_scale += std::log(s);
    if (maximise && max_buckets != nullptr) max_buckets->emplace_back(v, std::move(product));
    place(std::move(next));
  }
  return out;
}

// P(q, e) up to scale over {q} (or P(e) over no variable when q < 0), pruning
// the variables that are not ancestors of q or of the evidence.
Scaled sum_product(const Network& net, const Evidence& evidence, VarId q, OrderHeuristic h) {
  std::vector<VarId> seeds;
  if (q >= 0) seeds.push_back(q);
  for (std::size_t v = 0; v < net.size(); ++v) {
    if (evidence[v] >= 0) seeds.push_back(static_cast<VarId>(v));
  }
  const std::vector<char> relevant = ancestors(net, seeds);
  std::vector<VarId> hidden;
  for (std::size_t v = 0; v < net.size(); ++v) {
    if (relevant[v] && evidence[v] < 0 && static_cast<VarId>(v) != q) hidden.push_back(static_cast<VarId>(v));
  }
  return eliminate(reduced_cpts(net, evidence, relevant), cardinalities(net), {hidden}, false, h, nullptr);
}

// MAP over `map_vars` (unobserved, distinct): sums out the other relevant
// variables, then maximises with traceback. MPE is MAP over every unobserved variable.
Explanation map_query(const Network& net, const Evidence& evidence, const std::vector<VarId>& map_vars) {
  const std::size_t n = net.size();
  Explanation out;
  out.assignment.assign(n, -1);
  std::vector<VarId> seeds = map_vars;
  std::vector<char> is_map(n, 0);
  for (VarId v : map_vars) is_map[index(v)] = 1;
  for (std::size_t v = 0; v < n; ++v) {
    if (evidence[v] >= 0) {
      seeds.push_back(static_cast<VarId>(v));
      out.assignment[v] = evidence[v];
    }
  }
  const std::vector<char> relevant = ancestors(net, seeds);
  std::vector<VarId> summed;
  for (std::size_t v = 0; v < n; ++v) {
    if (relevant[v] && evidence[v] < 0 && !is_map[v]) summed.push_back(static_cast<VarId>(v));
  }
  std::vector<std::pair<VarId, Factor>> buckets;
  Scaled rest = eliminate(reduced_cpts(net, evidence, relevant), cardinalities(net), {summed, map_vars}, true,
                          OrderHeuristic::WeightedMinFill, &buckets);
  const Scaled pe = sum_product(net, evidence, -1, OrderHeuristic::WeightedMinFill);
  out.log_p_evidence = pe.log_total();
  out.p_evidence = std::exp(out.log_p_evidence);
  out.log_probability = rest.log_total();
  out.probability = std::exp(out.log_probability);
  if (rest.zero) return out;
  // Traceback: each bucket's other variables were eliminated later, so they are
  // assigned by the time we reach it.
  for (auto it = buckets.rbegin(); it != buckets.rend(); ++it) {
    const auto& [v, f] = *it;
    std::int64_t base = 0, stride = 0, card = 0;
    for (std::size_t d = 0; d < f.vars().size(); ++d) {
      const VarId u = f.vars()[d];
      if (u == v) {
        stride = f.strides()[d];
        card = f.cards()[d];
      } else {
        base += out.assignment[index(u)] * f.strides()[d];
      }
    }
    int best = 0;
    for (std::int64_t s = 1; s < card; ++s) {
      if (f.values()[static_cast<std::size_t>(base + s * stride)] >
          f.values()[static_cast<std::size_t>(base + best * stride)]) {
        best = static_cast<int>(s);
      }
    }
    out.assignment[index(v)] = best;
  }
  return out;
}

}  // namespace

std::vector<std::vector<VarId>> families(const Network& net) {
  std::vector<std::vector<VarId>> out(net.size());
  for (std::size_t v = 0; v < net.size(); ++v) {
    out[v] = net.parents(static_cast<VarId>(v));
    out[v].push_back(static_cast<VarId>(v));
    std::sort(out[v].begin(), out[v].end());
  }
  return out;
}

Triangulation triangulate(const std::vector<std::vector<VarId>>& scopes, const std::vector<std::int64_t>& cards,
                          const std::vector<std::vector<VarId>>& stages, OrderHeuristic h) {
  MISO_PROFILE_SCOPE("qlogik.triangulate");
  std::vector<char> seen(cards.size(), 0);
  for (const auto& stage : stages) {
    for (VarId v : stage) {
      if (v < 0 || index(v) >= cards.size()) {
        fail("triangulate: variable " + std::to_string(v) + " to eliminate is out of range (" +
             std::to_string(cards.size()) + " variables)");
      }
      if (seen[index(v)]) fail("triangulate: variable " + std::to_string(v) + " listed twice for elimination");
      seen[index(v)] = 1;
    }
  }
  Eliminator eliminator(scopes, cards, h);
  Triangulation out;
  for (const auto& stage : stages) eliminator.run(stage, out);
  return out;
}

std::vector<VarId> elimination_order(const Network& net, const std::vector<VarId>& to_eliminate, OrderHeuristic h) {
  MISO_PROFILE_SCOPE("qlogik.elimination_order");
  check_variables(net, to_eliminate, "elimination_order");
  return triangulate(families(net), cardinalities(net), {to_eliminate}, h).order;
}

void check_evidence(const Network& net, const Evidence& evidence, const char* where) {
  if (evidence.size() != net.size()) {
    fail(std::string(where) + ": evidence has " + std::to_string(evidence.size()) + " entries for the " +
         std::to_string(net.size()) + " variables of network '" + net.name() + "'");
  }
  for (std::size_t v = 0; v < net.size(); ++v) {
    const std::int64_t card = net.cardinality(static_cast<VarId>(v));
    if (evidence[v] < -1 || evidence[v] >= card) {
      fail(std::string(where) + ": evidence gives variable '" + net.variable(static_cast<VarId>(v)).name + "' state " +
           std::to_string(evidence[v]) + ", but it has " + std::to_string(card) + " states");
    }
  }
}

Posterior variable_elimination(const Network& net, const Evidence& evidence, const std::vector<VarId>& query,
                               OrderHeuristic h) {
  MISO_PROFILE_SCOPE("qlogik.variable_elimination");
  check_evidence(net, evidence, "variable_elimination");
  check_variables(net, query, "variable_elimination");
  (void)net.topological_order();  // rejects cycles
  Posterior out;
  out.marginals.resize(net.size());
  bool have_pe = false;
  auto record_pe = [&](const Scaled& s) {
    if (have_pe) return;
    have_pe = true;
    out.log_p_evidence = s.log_total();
    out.p_evidence = std::exp(out.log_p_evidence);
  };
  for (VarId q : query) {
    if (evidence[index(q)] >= 0) continue;
    Scaled s = sum_product(net, evidence, q, h);
    record_pe(s);
    auto& m = out.marginals[index(q)];
    m.assign(static_cast<std::size_t>(net.cardinality(q)), 0.0);
    if (s.zero) continue;
    // What is left spans {q}: q's own CPT holds it and it is never eliminated.
    s.factor.normalize();
    std::copy(s.factor.values().begin(), s.factor.values().end(), m.begin());
  }
  if (!have_pe) record_pe(sum_product(net, evidence, -1, h));
  for (VarId q : query) {
    if (evidence[index(q)] < 0) continue;
    auto& m = out.marginals[index(q)];
    m.assign(static_cast<std::size_t>(net.cardinality(q)), 0.0);
    if (!out.impossible()) m[static_cast<std::size_t>(evidence[index(q)])] = 1.0;
  }
  if (out.impossible()) {
    for (auto& m : out.marginals) std::fill(m.begin(), m.end(), 0.0);
  }
  return out;
}

Explanation most_probable_explanation(const Network& net, const Evidence& evidence) {
  MISO_PROFILE_SCOPE("qlogik.mpe");
  check_evidence(net, evidence, "most_probable_explanation");
  (void)net.topological_order();
  std::vector<VarId> hidden;
  for (std::size_t v = 0; v < net.size(); ++v) {
    if (evidence[v] < 0) hidden.push_back(static_cast<VarId>(v));
  }
  return map_query(net, evidence, hidden);
}

Explanation maximum_a_posteriori(const Network& net, const Evidence& evidence,
                                 const std::vector<VarId>& map_variables) {
  MISO_PROFILE_SCOPE("qlogik.map");
  check_evidence(net, evidence, "maximum_a_posteriori");
  check_variables(net, map_variables, "maximum_a_posteriori");
  (void)net.topological_order();
  std::vector<VarId> hidden;
  for (VarId v : map_variables) {
    if (evidence[index(v)] < 0) hidden.push_back(v);
  }
  return map_query(net, evidence, hidden);
}

}  // namespace miso::qlogik
