// Exact inference in discrete Bayesian networks: variable elimination (VE) for
// a few marginals, MPE and MAP; the junction tree (JT) for all marginals under
// many evidence sets.
//
// Both rest on an elimination order found greedily on the interaction graph
// (triangulate): the cost of exact inference is exponential in the largest
// elimination clique, so the order is what decides what is tractable.
//
// Numbers: intermediate factors and messages are rescaled as they are made and
// the scales kept as a sum of logarithms, so P(e) of a large network does not
// underflow: log_p_evidence is exact in log space, p_evidence = exp of it (which
// may be 0 for a possible but very unlikely e).
//
// Impossible evidence (P(e) = 0): p_evidence = 0, log_p_evidence = -inf, every
// marginal all zeros (never NaN); MPE/MAP report probability 0 and no states.
//
// Bad input (evidence of the wrong size, a state out of range, an unknown or
// repeated variable, a cyclic network) throws Error(InvalidArgument) naming it.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "miso/qlogik/factor.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::qlogik {

// Greedy elimination heuristics, each choosing the next variable to eliminate by
// the smallest score (ties: the smaller elimination clique in states, then the
// smaller id):
//   MinFill          the number of edges eliminating it adds between its neighbours;
//   WeightedMinFill  those edges weighted by card(a) * card(b) (Kjaerulff), which
//                    keeps many-state variables out of the cliques;
//   MinDegree        its number of neighbours.
enum class OrderHeuristic { MinFill, WeightedMinFill, MinDegree };

// The scopes of the network's CPTs, {v} ∪ parents(v) (sorted) per variable: the
// cliques of the moral graph.
std::vector<std::vector<VarId>> families(const Network& net);

// The result of greedy elimination: order[i] is the i-th variable eliminated and
// cliques[i] (sorted) that variable with its neighbours at that moment, the
// scope of the factor eliminating it creates. Edges between a clique's members
// that the graph lacked are the fill-in.
struct Triangulation {
  std::vector<VarId> order;
  std::vector<std::vector<VarId>> cliques;
};

// Eliminates greedily on the graph over variables 0..cards.size()-1 in which the
// members of each scope are pairwise adjacent. stages[0] is eliminated first,
// then stages[1], ... (MAP sums out its other variables before maximising:
// stages {sum vars, max vars}). Variables in no stage stay in the graph, never
// eliminated.
Triangulation triangulate(const std::vector<std::vector<VarId>>& scopes, const std::vector<std::int64_t>& cards,
                          const std::vector<std::vector<VarId>>& stages, OrderHeuristic h);

// An order of `to_eliminate` (a permutation of it) chosen greedily on the moral
// graph of the whole network; the other variables stay in the graph (their
// edges count for fill and degree) but are not eliminated.
std::vector<VarId> elimination_order(const Network& net, const std::vector<VarId>& to_eliminate,
                                     OrderHeuristic h = OrderHeuristic::WeightedMinFill);

// Throws Error(InvalidArgument) naming `where` unless `evidence` has one entry
// per variable, each -1 or a state of that variable.
void check_evidence(const Network& net, const Evidence& evidence, const char* where);

struct Posterior {
  double p_evidence = 0;                                             // P(e) = exp(log_p_evidence)
  double log_p_evidence = -std::numeric_limits<double>::infinity();  // ln P(e), -inf when impossible
  // P(v | e) indexed by VarId; an empty vector for a variable not computed; for
  // an observed variable the indicator of its state; all zeros when P(e) = 0.
  std::vector<std::vector<double>> marginals;
  // P(e) = 0 (not merely too small for a double: see log_p_evidence).
  bool impossible() const { return log_p_evidence == -std::numeric_limits<double>::infinity(); }
};

// The marginal of each query variable given e, and P(e) (an empty query gives
// P(e) alone). Only ancestors of query ∪ observed variables matter: the others
// (barren) are pruned before eliminating, which takes CPT rows to sum to 1 (a
// network with rows off by ε gets answers off by about ε from the junction
// tree's, which keeps every CPT). One elimination per unobserved query
// variable: for all marginals use JunctionTree.
Posterior variable_elimination(const Network& net, const Evidence& evidence, const std::vector<VarId>& query,
                               OrderHeuristic h = OrderHeuristic::WeightedMinFill);

namespace detail {
// How the entries of a clique table (variables sorted, the last fastest) meet
// those of a separator (a subset): runs of `run` consecutive entries along which
// the separator entry advances with the clique's (inner_in: the innermost
// clique variables are separator variables) or stays put (they are not);
// start[j] is the separator entry of run j's first entry. Runs make the inner
// loops contiguous and the maps `run` times smaller than one index per entry.
struct SeparatorMap {
  std::int64_t run = 1;
  bool inner_in = false;
  std::vector<std::int32_t> start;
};
}  // namespace detail

// A compiled junction tree (Hugin architecture) answering "all marginals given
// e" with one collect and one distribute pass.
//
// Compilation (once): moralise, triangulate by the heuristic, keep the maximal
// elimination cliques, join them by a maximum-weight spanning tree on separator
// sizes (a clique tree with the running-intersection property; a disconnected
// network gets empty separators), multiply each CPT into one clique holding its
// family, and precompute for every tree edge the maps from each side's clique
// entries to separator entries (detail::SeparatorMap), so message passing does
// no search.
//
// Hugin rather than Shafer–Shenoy: each message costs one pass marginalising the
// sender and one pass multiplying into the receiver, whatever the receiver's
// degree (Shafer–Shenoy multiplies all other incoming messages per outgoing one,
// or keeps them all); the price, a division by the old separator, is one pass
// over the (small) separator, with 0/0 = 0.
//
// Per query: copy the compiled potentials into a workspace, enter the evidence
// into one clique per observed variable, collect to the root, distribute from
// it, and read each variable's marginal off the smallest clique containing it.
// Messages are normalised (their log sums give log P(e)). Multiplications into
// tables of at least 65536 entries, and marginalisations of such tables onto
// much smaller separators, run in parallel through NEXUS-OS. The tree keeps
// copies of what it needs (not the network), and query() is const: one tree
// can serve many threads, each with its own Workspace.
class JunctionTree {
 public:
  static constexpr std::int64_t kDefaultMaxEntries = std::int64_t{1} << 28;

  // Throws Error(InvalidArgument) for a cyclic network, and when the cliques
  // would hold more than `max_entries` entries in total (naming the network,
  // the total and the largest clique) instead of exhausting memory.
  explicit JunctionTree(const Network& net, OrderHeuristic h = OrderHeuristic::WeightedMinFill,
                        std::int64_t max_entries = kDefaultMaxEntries);

  // Reusable buffers of one query at a time; sized on first use.
  class Workspace {
   private:
    friend class JunctionTree;
    Table potentials, separators, scratch;  // charged to the qlogik memory tag
  };

  // All marginals and P(e).
  Posterior query(const Evidence& evidence) const;
  // The same without allocating beyond the result.
  Posterior query(const Evidence& evidence, Workspace& workspace) const;

  struct Stats {
    std::size_t cliques = 0;
    std::size_t max_clique_variables = 0;
    std::int64_t max_clique_entries = 0;
    std::int64_t total_entries = 0;  // over all clique potentials (separators not counted)
    int treewidth = 0;               // max_clique_variables - 1
  };
  Stats stats() const;

  // The tree itself: clique i's variables (sorted) and its parent (-1 for the root).
  std::size_t size() const noexcept { return cliques_.size(); }
  const std::vector<VarId>& clique(std::size_t i) const { return cliques_.at(i).vars; }
  int parent(std::size_t i) const { return cliques_.at(i).parent; }

 private:
  struct Clique {
    std::vector<VarId> vars;
    std::int64_t offset = 0, size = 0;  // into the potential buffer
    int parent = -1;
    // The edge to the parent: its separator's entries at sep_offset; how this
    // clique's entries (up) and the parent's (down) meet them.
    std::int64_t sep_offset = 0, sep_size = 0;
    detail::SeparatorMap up, down;
  };
  // Where a variable's marginal is read and its evidence entered: clique entries
  // at offset + (o * card + s) * stride + i have it in state s.
  struct Home {
    int clique = 0;
    std::int64_t outer = 0, card = 0, stride = 0;
  };

  std::size_t num_vars_ = 0;
  std::string network_name_;
  std::vector<std::string> names_;  // for messages
  std::vector<std::int64_t> cards_;
  std::vector<Clique> cliques_;
  std::vector<int> bfs_;  // root first, each clique after its parent
  std::vector<Home> homes_;
  Table base_;  // compiled potentials, concatenated
  std::int64_t sep_total_ = 0, max_sep_ = 0;
  Stats stats_;
};

// An explanation of the evidence. `assignment` has one entry per variable: the
// evidence's states for observed variables, the explanation's for the others;
// -1 for variables outside a MAP query, and for every unobserved variable when
// P(e) = 0 (then probability = 0: there is nothing to explain).
struct Explanation {
  std::vector<int> assignment;
  double probability = 0;  // P(assignment, e) for MPE; P(map vars = assignment, e) for MAP
  double p_evidence = 0;   // P(e)
  double log_probability = -std::numeric_limits<double>::infinity();
  double log_p_evidence = -std::numeric_limits<double>::infinity();
};

// argmax_x P(x, e) over all unobserved variables: max-product elimination with
// traceback (the first state on ties in each traceback step).
Explanation most_probable_explanation(const Network& net, const Evidence& evidence);

// argmax_m P(m, e) over the unobserved `map_variables` (observed ones keep their
// evidence), summing out the rest first: exact, with the elimination order
// constrained to sum before max (so it can be far costlier than MPE).
Explanation maximum_a_posteriori(const Network& net, const Evidence& evidence, const std::vector<VarId>& map_variables);

}  // namespace miso::qlogik
