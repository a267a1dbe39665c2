// Junction tree compilation and Hugin propagation. See inference.hpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "miso/core/error.hpp"
#include "miso/nexus/parallel.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/factor.hpp"
#include "miso/qlogik/inference.hpp"

namespace miso::qlogik {

namespace {

std::size_t index(VarId v) { return static_cast<std::size_t>(v); }
std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

// Passes over at least this many clique entries run in parallel.
constexpr std::int64_t kParallelEntries = std::int64_t{1} << 16;
// A parallel marginalisation keeps one partial separator per chunk, two chunks
// per worker, as long as they all take at most 1/kPartialShare of the table.
constexpr std::int64_t kPartialShare = 16;

std::size_t intersection_size(const std::vector<VarId>& a, const std::vector<VarId>& b) {
  std::size_t n = 0;
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++n;
      ++i;
      ++j;
    }
  }
  return n;
}

// Entries of a table over `vars` as a double, so that wide cliques do not overflow.
double entries(const std::vector<VarId>& vars, const std::vector<std::int64_t>& cards) {
  double n = 1;
  for (VarId v : vars) n *= static_cast<double>(cards[index(v)]);
  return n;
}

using detail::SeparatorMap;

// x[0] + ... + x[n-1] in four interleaved partial sums: one chain of dependent
// additions would wait on the adder's latency at every entry.
double sum(const double* x, std::int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i];
    s1 += x[i + 1];
    s2 += x[i + 2];
    s3 += x[i + 3];
  }
  for (; i < n; ++i) s0 += x[i];
  return (s0 + s1) + (s2 + s3);
}

// The map from a table over `vars` (sorted, the last fastest) to one over `sub`
// (a sorted subset): the innermost variables with the same membership in `sub`
// as the last one make a run; an odometer over the others gives the run starts.
SeparatorMap separator_map(const std::vector<VarId>& vars, const std::vector<VarId>& sub,
                           const std::vector<std::int64_t>& cards) {
  const std::size_t nd = vars.size();
  std::vector<std::int64_t> dim(nd), sub_stride(nd, 0);
  std::vector<char> in(nd, 0);
  for (std::size_t d = 0; d < nd; ++d) dim[d] = cards[index(vars[d])];
  std::int64_t stride = 1;
  for (std::size_t k = sub.size(); k-- > 0;) {
    const auto d = static_cast<std::size_t>(std::lower_bound(vars.begin(), vars.end(), sub[k]) - vars.begin());
    in[d] = 1;
    sub_stride[d] = stride;
    stride *= dim[d];
  }
  SeparatorMap map;
  std::size_t outer = nd;  // dimensions [0, outer) index the runs
  map.inner_in = nd > 0 && in[nd - 1];
  while (outer > 0 && in[outer - 1] == in[nd - 1]) map.run *= dim[--outer];
  std::int64_t runs = 1;
  for (std::size_t d = 0; d < outer; ++d) runs *= dim[d];
  map.start.resize(at(runs));
  std::vector<std::int64_t> idx(outer, 0);
  std::int64_t cur = 0;
  for (std::int64_t j = 0; j < runs; ++j) {
    map.start[at(j)] = static_cast<std::int32_t>(cur);
    for (std::size_t d = outer; d-- > 0;) {
      cur += sub_stride[d];
      if (++idx[d] < dim[d]) break;
      cur -= dim[d] * sub_stride[d];
      idx[d] = 0;
    }
  }
  return map;
}

// out += the runs [r0, r1) of `table` summed onto the separator.
void marginalize_runs(const double* table, const SeparatorMap& map, std::size_t r0, std::size_t r1, double* out) {
  const std::int64_t run = map.run;
  const std::int32_t* start = map.start.data();
  if (map.inner_in) {
    for (std::size_t j = r0; j < r1; ++j) {
      const double* t = table + static_cast<std::int64_t>(j) * run;
      double* o = out + start[j];
      for (std::int64_t i = 0; i < run; ++i) o[i] += t[i];
    }
  } else {
    for (std::size_t j = r0; j < r1; ++j) {
      const double* t = table + static_cast<std::int64_t>(j) * run;
      out[start[j]] += sum(t, run);
    }
  }
}

// out (out_size entries, zeroed by the caller) += table summed onto the
// separator. A large table whose separator is small next to it is split into
// chunks with private sums, added up in a fixed order so the result does not
// depend on the schedule (for a given number of workers); otherwise one pass.
void marginalize(const double* table, std::int64_t n, const SeparatorMap& map, double* out, std::int64_t out_size) {
  const std::size_t runs = map.start.size();
  const std::int64_t chunks =
      std::min<std::int64_t>({2 * static_cast<std::int64_t>(nexus::Executor::global().concurrency()),
                              n / (kPartialShare * out_size), static_cast<std::int64_t>(runs)});
  if (n < kParallelEntries || chunks < 2) {
    marginalize_runs(table, map, 0, runs, out);
    return;
  }
  std::vector<double> partial(at(chunks * out_size), 0.0);
  const std::size_t step = (runs + at(chunks) - 1) / at(chunks);
  nexus::parallel_for(
      0, at(chunks),
      [&](std::size_t c0, std::size_t c1) {
        for (std::size_t c = c0; c < c1; ++c) {
          marginalize_runs(table, map, c * step, std::min(runs, (c + 1) * step),
                           partial.data() + static_cast<std::int64_t>(c) * out_size);
        }
      },
      1);
  for (std::int64_t c = 0; c < chunks; ++c) {
    const double* sum = partial.data() + c * out_size;
    for (std::int64_t s = 0; s < out_size; ++s) out[s] += sum[s];
  }
}

// table (n entries) *= by (a separator table), entry by matching entry.
void scale(double* table, std::int64_t n, const SeparatorMap& map, const double* by) {
  const std::int64_t run = map.run;
  const std::int32_t* start = map.start.data();
  auto body = [=, inner_in = map.inner_in](std::size_t r0, std::size_t r1) {
    for (std::size_t j = r0; j < r1; ++j) {
      double* t = table + static_cast<std::int64_t>(j) * run;
      const double* b = by + start[j];
      if (inner_in) {
        for (std::int64_t i = 0; i < run; ++i) t[i] *= b[i];
      } else {
        const double f = *b;
        for (std::int64_t i = 0; i < run; ++i) t[i] *= f;
      }
    }
  };
  const std::size_t runs = map.start.size();
  if (n < kParallelEntries || runs < 2) {
    body(0, runs);
  } else {
    nexus::parallel_for(0, runs, body, std::max<std::size_t>(1, at(kParallelEntries / 4 / run)));
  }
}

// Divides the n entries by their sum and returns it (0: left as they are).
double normalize(double* values, std::int64_t n) {
  const double total = sum(values, n);
  if (total > 0) {
    const double inv = 1 / total;
    for (std::int64_t k = 0; k < n; ++k) values[k] *= inv;
  }
  return total;
}

const char* heuristic_name(OrderHeuristic h) {
  switch (h) {
    case OrderHeuristic::MinFill: return "min-fill";
    case OrderHeuristic::WeightedMinFill: return "weighted min-fill";
    case OrderHeuristic::MinDegree: return "min-degree";
  }
  return "?";
}

Posterior impossible_posterior(const std::vector<std::int64_t>& cards) {
  Posterior out;
  out.marginals.resize(cards.size());
  for (std::size_t v = 0; v < cards.size(); ++v) out.marginals[v].assign(at(cards[v]), 0.0);
  return out;
}

}  // namespace

JunctionTree::JunctionTree(const Network& net, OrderHeuristic h, std::int64_t max_entries) {
  MISO_PROFILE_SCOPE("qlogik.jt.compile");
  (void)net.topological_order();  // rejects cycles
  num_vars_ = net.size();
  network_name_ = net.name();
  cards_.resize(num_vars_);
  names_.resize(num_vars_);
  for (std::size_t v = 0; v < num_vars_; ++v) {
    cards_[v] = net.cardinality(static_cast<VarId>(v));
    names_[v] = net.variable(static_cast<VarId>(v)).name;
  }
  const std::vector<std::vector<VarId>> fams = families(net);
  std::vector<VarId> all(num_vars_);
  for (std::size_t v = 0; v < num_vars_; ++v) all[v] = static_cast<VarId>(v);
  Triangulation tri = triangulate(fams, cards_, {all}, h);

  // Maximal cliques: an elimination clique can only lie inside one of a
  // variable eliminated earlier (later ones lack its own variable).
  std::vector<std::vector<VarId>> maximal;
  for (std::size_t i = 0; i < tri.cliques.size(); ++i) {
    const auto& c = tri.cliques[i];
    bool inside = false;
    for (std::size_t j = 0; j < i && !inside; ++j) {
      const auto& d = tri.cliques[j];
      inside = d.size() > c.size() && std::includes(d.begin(), d.end(), c.begin(), c.end());
    }
    if (!inside) maximal.push_back(tri.cliques[i]);  // a copy: later checks read it
  }

  const std::size_t m = maximal.size();
  double total = 0, largest = 0;
  std::size_t largest_at = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const double e = entries(maximal[i], cards_);
    total += e;
    if (e > largest) {
      largest = e;
      largest_at = i;
    }
  }
  if (total > static_cast<double>(max_entries) ||
      largest > static_cast<double>(std::numeric_limits<std::int32_t>::max())) {
    std::ostringstream os;
    os.precision(4);
    os << "junction tree of network '" << net.name() << "' (" << heuristic_name(h) << "): the cliques need " << total
       << " entries, over the limit of " << max_entries << " (and 2^31 per clique); the largest has " << largest
       << " entries over " << maximal[largest_at].size() << " variables: {";
    for (std::size_t k = 0; k < maximal[largest_at].size(); ++k) {
      os << (k == 0 ? "" : ", ") << net.variable(maximal[largest_at][k]).name;
    }
    os << "}";
    throw Error(Error::Kind::InvalidArgument, os.str());
  }

  // Maximum-weight spanning tree on separator sizes (dense Prim) from the
  // largest clique; adding cliques in Prim's order puts parents first.
  cliques_.resize(m);
  bfs_.clear();
  if (m > 0) {
    std::vector<char> in_tree(m, 0);
    std::vector<std::ptrdiff_t> best(m, -1);
    std::vector<int> from(m, -1);
    std::size_t next = largest_at;
    for (std::size_t added = 0; added < m; ++added) {
      in_tree[next] = 1;
      bfs_.push_back(static_cast<int>(next));
      cliques_[next].parent = from[next];
      std::size_t pick = m;
      for (std::size_t j = 0; j < m; ++j) {
        if (in_tree[j]) continue;
        const auto w = static_cast<std::ptrdiff_t>(intersection_size(maximal[next], maximal[j]));
        if (w > best[j]) {
          best[j] = w;
          from[j] = static_cast<int>(next);
        }
        if (pick == m || best[j] > best[pick]) pick = j;
      }
      next = pick;
    }
  }

  // Potentials: each CPT multiplied into the smallest clique holding its family
  // (built one clique at a time, so compiling needs little beyond the result);
  // each variable's home is the smallest clique holding it.
  std::vector<std::vector<std::size_t>> holding(num_vars_);
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < m; ++i) {
    Clique& c = cliques_[i];
    c.vars = std::move(maximal[i]);
    c.offset = offset;
    c.size = static_cast<std::int64_t>(entries(c.vars, cards_));
    offset += c.size;
    for (VarId v : c.vars) holding[index(v)].push_back(i);
  }
  auto smallest_holding = [&](VarId v, const std::vector<VarId>& scope) {
    std::size_t best = m;
    for (std::size_t i : holding[index(v)]) {
      const auto& vars = cliques_[i].vars;
      if (std::includes(vars.begin(), vars.end(), scope.begin(), scope.end()) &&
          (best == m || cliques_[i].size < cliques_[best].size)) {
        best = i;
      }
    }
    if (best == m) throw Error(Error::Kind::Internal, "junction tree: no clique holds the family of a variable");
    return best;
  };
  std::vector<std::vector<VarId>> cpts_of(m);
  homes_.resize(num_vars_);
  for (std::size_t v = 0; v < num_vars_; ++v) {
    const auto var = static_cast<VarId>(v);
    cpts_of[smallest_holding(var, fams[v])].push_back(var);
    Home& home = homes_[v];
    home.clique = static_cast<int>(smallest_holding(var, {var}));
    const auto& vars = cliques_[at(home.clique)].vars;
    home.card = cards_[v];
    home.stride = 1;
    for (auto it = std::upper_bound(vars.begin(), vars.end(), var); it != vars.end(); ++it)
      home.stride *= cards_[index(*it)];
    home.outer = cliques_[at(home.clique)].size / (home.card * home.stride);
  }
  base_.resize(at(offset));
  for (std::size_t i = 0; i < m; ++i) {
    std::vector<std::int64_t> cc;
    for (VarId v : cliques_[i].vars) cc.push_back(cards_[index(v)]);
    Factor potential = Factor::filled(cliques_[i].vars, cc, 1.0);
    for (VarId v : cpts_of[i]) potential.multiply_in(Factor::from_cpt(net, v));
    std::copy(potential.values().begin(), potential.values().end(), base_.begin() + cliques_[i].offset);
  }

  // Separators and their index maps.
  sep_total_ = max_sep_ = 0;
  for (Clique& c : cliques_) {
    if (c.parent < 0) continue;
    const Clique& p = cliques_[static_cast<std::size_t>(c.parent)];
    std::vector<VarId> sep;
    std::set_intersection(c.vars.begin(), c.vars.end(), p.vars.begin(), p.vars.end(), std::back_inserter(sep));
    c.sep_offset = sep_total_;
    c.sep_size = static_cast<std::int64_t>(entries(sep, cards_));
    sep_total_ += c.sep_size;
    max_sep_ = std::max(max_sep_, c.sep_size);
    c.up = separator_map(c.vars, sep, cards_);
    c.down = separator_map(p.vars, sep, cards_);
  }

  stats_ = Stats{};
  stats_.cliques = m;
  for (const Clique& c : cliques_) {
    stats_.max_clique_variables = std::max(stats_.max_clique_variables, c.vars.size());
    stats_.max_clique_entries = std::max(stats_.max_clique_entries, c.size);
    stats_.total_entries += c.size;
  }
  stats_.treewidth = static_cast<int>(stats_.max_clique_variables) - 1;
}

JunctionTree::Stats JunctionTree::stats() const { return stats_; }

Posterior JunctionTree::query(const Evidence& evidence) const {
  Workspace workspace;
  return query(evidence, workspace);
}

Posterior JunctionTree::query(const Evidence& evidence, Workspace& ws) const {
  MISO_PROFILE_SCOPE("qlogik.jt.query");
  if (evidence.size() != num_vars_) {
    throw Error(Error::Kind::InvalidArgument, "junction tree query: evidence has " + std::to_string(evidence.size()) +
                                                  " entries for the " + std::to_string(num_vars_) +
                                                  " variables of network '" + network_name_ + "'");
  }
  for (std::size_t v = 0; v < num_vars_; ++v) {
    if (evidence[v] < -1 || evidence[v] >= cards_[v]) {
      throw Error(Error::Kind::InvalidArgument, "junction tree query: evidence gives variable '" + names_[v] +
                                                    "' state " + std::to_string(evidence[v]) + ", but it has " +
                                                    std::to_string(cards_[v]) + " states");
    }
  }
  ws.potentials.resize(base_.size());
  std::copy(base_.begin(), base_.end(), ws.potentials.begin());
  ws.separators.resize(at(sep_total_));
  ws.scratch.resize(at(max_sep_));
  double* pot = ws.potentials.data();

  // Evidence: zero the other states' slices in each observed variable's home.
  for (std::size_t v = 0; v < num_vars_; ++v) {
    if (evidence[v] < 0) continue;
    const Home& h = homes_[v];
    double* table = pot + cliques_[at(h.clique)].offset;
    for (std::int64_t o = 0; o < h.outer; ++o) {
      for (std::int64_t s = 0; s < h.card; ++s) {
        if (s == evidence[v]) continue;
        double* slice = table + (o * h.card + s) * h.stride;
        std::fill(slice, slice + h.stride, 0.0);
      }
    }
  }

  Posterior out;
  out.log_p_evidence = 0;
  // Collect: children before parents; messages normalised, their sums logged.
  for (std::size_t k = bfs_.size(); k-- > 1;) {
    const Clique& c = cliques_[at(bfs_[k])];
    const Clique& p = cliques_[at(c.parent)];
    double* msg = ws.separators.data() + c.sep_offset;
    std::fill(msg, msg + c.sep_size, 0.0);
    marginalize(pot + c.offset, c.size, c.up, msg, c.sep_size);
    const double z = normalize(msg, c.sep_size);
    if (z == 0) return impossible_posterior(cards_);
    out.log_p_evidence += std::log(z);
    scale(pot + p.offset, p.size, c.down, msg);
  }
  if (!bfs_.empty()) {
    const Clique& root = cliques_[at(bfs_.front())];
    const double z = normalize(pot + root.offset, root.size);
    if (z == 0) return impossible_posterior(cards_);
    out.log_p_evidence += std::log(z);
  }
  out.p_evidence = std::exp(out.log_p_evidence);

  // Distribute: parents before children. The parent's (normalised) marginal on
  // the separator over the message the child sent up.
  double* ratio = ws.scratch.data();
  for (std::size_t k = 1; k < bfs_.size(); ++k) {
    const Clique& c = cliques_[at(bfs_[k])];
    const Clique& p = cliques_[at(c.parent)];
    const double* msg = ws.separators.data() + c.sep_offset;
    std::fill(ratio, ratio + c.sep_size, 0.0);
    marginalize(pot + p.offset, p.size, c.down, ratio, c.sep_size);
    normalize(ratio, c.sep_size);
    for (std::int64_t s = 0; s < c.sep_size; ++s) ratio[s] = msg[s] == 0 ? 0 : ratio[s] / msg[s];
    scale(pot + c.offset, c.size, c.up, ratio);
  }

  // Marginals, each read off its variable's home clique.
  out.marginals.resize(num_vars_);
  for (std::size_t v = 0; v < num_vars_; ++v) {
    auto& m = out.marginals[v];
    m.assign(at(cards_[v]), 0.0);
    if (evidence[v] >= 0) {
      m[at(evidence[v])] = 1;
      continue;
    }
    const Home& h = homes_[v];
    const double* table = pot + cliques_[at(h.clique)].offset;
    for (std::int64_t o = 0; o < h.outer; ++o) {
      for (std::int64_t s = 0; s < h.card; ++s) {
        const double* slice = table + (o * h.card + s) * h.stride;
        m[at(s)] += sum(slice, h.stride);
      }
    }
    normalize(m.data(), h.card);
  }
  return out;
}

}  // namespace miso::qlogik
