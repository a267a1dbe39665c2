// Likelihood weighting, Gibbs sampling and forward sampling to CSV (see
// approximate.hpp for the design and the estimators).
#include "miso/qlogik/approximate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <string>

#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"
#include "miso/nexus/parallel.hpp"
#include "miso/profiler/span.hpp"
#include "miso/qlogik/inference.hpp"

namespace miso::qlogik {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

// xoshiro256** (Blackman and Vigna, 2018): fast, 256 bits of state, passes
// BigCrush. Stream `stream` of a run with seed `seed` is seeded through
// SplitMix64 from (seed, stream) only.
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream) noexcept {
    core::SplitMix64 mix(seed + 0x9E3779B97F4A7C15ULL * stream);
    core::SplitMix64 fill(mix.next());
    for (std::uint64_t& s : s_) s = fill.next();
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// Turns the weights w[0, card) into a cumulative distribution in place: w[s] =
// P(state <= s), and exactly 1 from the last state of positive weight on, so a
// draw with u in [0, 1) stops there and never picks a zero-weight state. Returns
// false, leaving w unchanged, when every weight is 0.
bool make_cumulative(double* w, std::int64_t card) {
  double total = 0;
  std::int64_t last = -1;
  for (std::int64_t s = 0; s < card; ++s) {
    total += w[s];
    if (w[s] > 0) last = s;
  }
  if (last < 0) return false;
  double acc = 0;
  for (std::int64_t s = 0; s < card; ++s) {
    acc += w[s];
    w[s] = s >= last ? 1.0 : acc / total;
  }
  return true;
}

// The state drawn by u in [0, 1) from a cumulative row (make_cumulative).
inline int draw(const double* cumulative, double u) noexcept {
  int s = 0;
  while (u >= cumulative[s]) ++s;
  return s;
}

// P(state s) of a cumulative row.
inline double probability_of(const double* cumulative, int s) noexcept {
  return s == 0 ? cumulative[0] : cumulative[s] - cumulative[s - 1];
}

// A network compiled for ancestral sampling.
class ForwardSampler {
 public:
  explicit ForwardSampler(const Network& net) {
    net.validate();
    std::size_t table = 0;
    for (VarId v : net.topological_order()) {
      const Cpt& cpt = net.cpt(v);
      Node node{v, static_cast<int>(net.cardinality(v)), parent_var_.size(), 0, table};
      std::int64_t stride = node.card;
      for (std::size_t i = cpt.parents.size(); i-- > 0;) {
        parent_var_.push_back(cpt.parents[i]);
        parent_stride_.push_back(stride);
        stride *= net.cardinality(cpt.parents[i]);
      }
      node.parent_end = parent_var_.size();
      probability_.insert(probability_.end(), cpt.table.begin(), cpt.table.end());
      cumulative_.insert(cumulative_.end(), cpt.table.begin(), cpt.table.end());
      for (std::size_t row = table; row < cumulative_.size(); row += static_cast<std::size_t>(node.card)) {
        // validate() guarantees every row sums to about 1, so is not all zero.
        make_cumulative(&cumulative_[row], node.card);
      }
      table = cumulative_.size();
      nodes_.push_back(node);
    }
  }

  // Draws the unobserved variables of x in topological order (observed ones
  // are set to their evidence) and returns the weight: the product of
  // P(e_v | parents) over the observed v. Stops early, leaving x partly drawn,
  // once the weight is 0.
  double sample(Rng& rng, const Evidence& evidence, int* x) const noexcept {
    double weight = 1.0;
    for (const Node& n : nodes_) {
      std::size_t at = n.table;
      for (std::size_t i = n.parent_begin; i < n.parent_end; ++i) {
        at += static_cast<std::size_t>(x[parent_var_[i]] * parent_stride_[i]);
      }
      const int e = evidence[static_cast<std::size_t>(n.var)];
      if (e < 0) {
        x[n.var] = draw(&cumulative_[at], rng.uniform());
      } else {
        x[n.var] = e;
        weight *= probability_[at + static_cast<std::size_t>(e)];
        if (weight == 0) return 0;
      }
    }
    return weight;
  }

 private:
  struct Node {
    VarId var;
    int card;
    std::size_t parent_begin, parent_end;  // into parent_var_ / parent_stride_
    std::size_t table;                     // first entry of the CPT in probability_ / cumulative_
  };
  std::vector<Node> nodes_;  // topological order
  std::vector<VarId> parent_var_;
  std::vector<std::int64_t> parent_stride_;  // in table entries
  std::vector<double> probability_;          // the CPTs as given
  std::vector<double> cumulative_;           // the same, rows made cumulative
};

// Runs chunk(c, begin, end) -> T for the chunks of kSampleChunk samples of
// [0, samples) in parallel, a window of them at a time, and fold(T) on the
// results in chunk order: the result depends on neither the thread count nor
// the window, and memory holds one window of results.
template <typename T, typename Chunk, typename Fold>
void for_chunks(std::uint64_t samples, const Chunk& chunk, const Fold& fold) {
  const std::uint64_t chunks = (samples + kSampleChunk - 1) / kSampleChunk;
  const std::uint64_t window = 4 * std::uint64_t{nexus::Executor::global().concurrency()};
  std::vector<T> results;
  for (std::uint64_t first = 0; first < chunks; first += window) {
    const std::uint64_t count = std::min(window, chunks - first);
    results.assign(static_cast<std::size_t>(count), T{});
    nexus::parallel_for(
        0, static_cast<std::size_t>(count),
        [&](std::size_t b, std::size_t e) {
          for (std::size_t i = b; i < e; ++i) {
            const std::uint64_t c = first + i;
            results[i] = chunk(c, c * kSampleChunk, std::min(samples, (c + 1) * kSampleChunk));
          }
        },
        1);
    for (T& r : results) fold(std::move(r));
  }
}

// Offsets of each variable's entries in a flat vector of all marginals.
std::vector<std::size_t> marginal_offsets(const Network& net) {
  std::vector<std::size_t> offset(net.size() + 1, 0);
  for (std::size_t v = 0; v < net.size(); ++v) {
    offset[v + 1] = offset[v] + static_cast<std::size_t>(net.cardinality(static_cast<VarId>(v)));
  }
  return offset;
}

// Unflattens per-entry values into per-variable vectors.
std::vector<std::vector<double>> per_variable(const std::vector<double>& flat, const std::vector<std::size_t>& offset) {
  std::vector<std::vector<double>> out(offset.size() - 1);
  for (std::size_t v = 0; v + 1 < offset.size(); ++v) {
    out[v].assign(flat.begin() + static_cast<std::ptrdiff_t>(offset[v]),
                  flat.begin() + static_cast<std::ptrdiff_t>(offset[v + 1]));
  }
  return out;
}

void check_samples(const SamplingOptions& options, const char* who) {
  if (options.samples == 0) fail(std::string(who) + ": samples must be positive");
}

// Per-chunk sums of likelihood weighting.
struct WeightSums {
  double w = 0, w2 = 0;
  std::vector<double> wi, w2i;  // per marginal entry: sum of w and w^2 over samples in that state
};

}  // namespace

ApproximatePosterior likelihood_weighting(const Network& net, const Evidence& evidence,
                                          const SamplingOptions& options) {
  MISO_PROFILE_SCOPE("qlogik.likelihood_weighting");
  check_evidence(net, evidence, "likelihood_weighting");
  check_samples(options, "likelihood_weighting");
  const ForwardSampler sampler(net);
  const std::vector<std::size_t> offset = marginal_offsets(net);
  const std::size_t n = net.size(), entries = offset.back();

  WeightSums total;
  total.wi.assign(entries, 0.0);
  total.w2i.assign(entries, 0.0);
  for_chunks<WeightSums>(
      options.samples,
      [&](std::uint64_t c, std::uint64_t begin, std::uint64_t end) {
        Rng rng(options.seed, c);
        WeightSums s;
        s.wi.assign(entries, 0.0);
        s.w2i.assign(entries, 0.0);
        std::vector<int> x(n, 0);
        for (std::uint64_t k = begin; k < end; ++k) {
          const double w = sampler.sample(rng, evidence, x.data());
          if (w == 0) continue;
          const double w2 = w * w;
          s.w += w;
          s.w2 += w2;
          for (std::size_t v = 0; v < n; ++v) {
            const std::size_t i = offset[v] + static_cast<std::size_t>(x[v]);
            s.wi[i] += w;
            s.w2i[i] += w2;
          }
        }
        return s;
      },
      [&](WeightSums&& s) {
        total.w += s.w;
        total.w2 += s.w2;
        for (std::size_t i = 0; i < entries; ++i) {
          total.wi[i] += s.wi[i];
          total.w2i[i] += s.w2i[i];
        }
      });

  ApproximatePosterior out;
  out.samples = options.samples;
  out.p_evidence = total.w / static_cast<double>(options.samples);
  std::vector<double> mean(entries, 0.0), se(entries, std::numeric_limits<double>::infinity());
  if (total.w > 0) {
    out.effective_samples = total.w * total.w / total.w2;
    for (std::size_t i = 0; i < entries; ++i) {
      const double p = total.wi[i] / total.w;
      // sum w^2 (I - p)^2 = (1 - 2p) sum w^2 I + p^2 sum w^2, as I^2 = I.
      const double var = ((1 - 2 * p) * total.w2i[i] + p * p * total.w2) / (total.w * total.w);
      mean[i] = p;
      se[i] = std::sqrt(std::max(0.0, var));
    }
  }
  out.marginals = per_variable(mean, offset);
  out.standard_error = per_variable(se, offset);
  return out;
}

namespace {

// P(X | Markov blanket) for the unobserved variables of a network with evidence,
// and the chains that sample from them.
class GibbsSampler {
 public:
  GibbsSampler(const Network& net, const Evidence& evidence)
      : net_(net), evidence_(evidence), forward_(net), offset_(marginal_offsets(net)) {
    // Per unobserved variable, in topological order: the CPTs it appears in (its
    // own and its children's) and its unobserved Markov blanket. x: a scratch
    // state holding the evidence, for tabulating.
    const std::vector<VarId> order = net.topological_order();
    std::vector<int> x(net.size(), 0);
    for (std::size_t v = 0; v < net.size(); ++v) x[v] = std::max(evidence[v], 0);
    for (VarId v : order) {
      if (evidence[static_cast<std::size_t>(v)] >= 0) continue;
      Node node;
      node.var = v;
      node.card = static_cast<int>(net.cardinality(v));
      node.factor_begin = factors_.size();
      std::vector<VarId> blanket;
      add_factor(v, v, blanket);
      for (VarId c : net.children(v)) add_factor(c, v, blanket);
      node.factor_end = factors_.size();
      std::sort(blanket.begin(), blanket.end());
      blanket.erase(std::unique(blanket.begin(), blanket.end()), blanket.end());
      // Tabulate the conditional over the unobserved blanket when small enough.
      std::int64_t rows = 1;
      for (VarId b : blanket) rows = rows > kGibbsTableLimit ? rows : rows * net.cardinality(b);
      if (rows * node.card <= kGibbsTableLimit) tabulate(node, blanket, rows, x);
      nodes_.push_back(node);
    }
  }

  struct ChainResult {
    std::uint64_t recorded = 0;
    std::vector<double> sum;          // per marginal entry: sum over records of P(X = s | blanket)
    std::vector<double> batch_means;  // batches x entries
    std::size_t batches = 0;
  };

  // Runs chain `chain` for `records` recorded sweeps.
  ChainResult run_chain(const SamplingOptions& options, int chain, std::uint64_t records) const {
    Rng rng(options.seed, static_cast<std::uint64_t>(chain));
    const std::size_t entries = offset_.back();
    std::vector<int> x = initial_state(rng);
    std::vector<double> scratch(static_cast<std::size_t>(max_card()));
    for (std::uint64_t k = 0; k < options.burn_in; ++k) sweep(rng, x, scratch, nullptr);

    ChainResult r;
    r.recorded = records;
    r.sum.assign(entries, 0.0);
    r.batches = static_cast<std::size_t>(std::min<std::uint64_t>(kGibbsBatches, records));
    r.batch_means.assign(r.batches * entries, 0.0);
    std::vector<double> batch(entries, 0.0);
    std::uint64_t batch_start = 0;
    std::size_t b = 0;
    for (std::uint64_t k = 0; k < records; ++k) {
      for (std::uint64_t t = 1; t < options.thin; ++t) sweep(rng, x, scratch, nullptr);
      sweep(rng, x, scratch, batch.data());
      const std::uint64_t batch_end = (b + 1) * records / r.batches;  // batch b covers [batch_start, batch_end)
      if (k + 1 == batch_end) {
        const double size = static_cast<double>(batch_end - batch_start);
        for (std::size_t i = 0; i < entries; ++i) {
          r.sum[i] += batch[i];
          r.batch_means[b * entries + i] = batch[i] / size;
        }
        batch.assign(entries, 0.0);
        batch_start = batch_end;
        ++b;
      }
    }
    return r;
  }

  const std::vector<std::size_t>& offset() const noexcept { return offset_; }

 private:
  struct Node {
    VarId var = 0;
    int card = 0;
    std::size_t factor_begin = 0, factor_end = 0;  // into factors_
    // When tabulated: the conditional's cumulative rows start at table_ in
    // tables_, row index = sum of x[b] * stride over the (var, stride) pairs
    // in [blanket_begin, blanket_end) of blanket_.
    bool tabulated = false;
    std::size_t table = 0, blanket_begin = 0, blanket_end = 0;
  };
  // A CPT in which the node's variable X appears: entry = table[base + x_X * x_stride],
  // base = sum of x[u] * stride over the other family members [other_begin, other_end).
  struct Factor {
    const double* table;
    std::int64_t x_stride;
    std::size_t other_begin, other_end;  // into others_
  };

  // Adds the CPT of `child` as a factor of `x`, collecting its unobserved members other than x into blanket.
  void add_factor(VarId child, VarId x, std::vector<VarId>& blanket) {
    const Cpt& cpt = net_.cpt(child);
    Factor f{cpt.table.data(), 0, others_.size(), 0};
    std::int64_t stride = 1;
    auto member = [&](VarId u) {
      if (u == x) {
        f.x_stride = stride;
      } else {
        others_.emplace_back(u, stride);
        if (evidence_[static_cast<std::size_t>(u)] < 0) blanket.push_back(u);
      }
      stride *= net_.cardinality(u);
    };
    member(child);
    for (std::size_t i = cpt.parents.size(); i-- > 0;) member(cpt.parents[i]);
    f.other_end = others_.size();
    factors_.push_back(f);
  }

  // w[s] = P(X = s, blanket as in x) up to a constant.
  void conditional(const Node& node, const int* x, double* w) const noexcept {
    std::fill(w, w + node.card, 1.0);
    for (std::size_t fi = node.factor_begin; fi < node.factor_end; ++fi) {
      const Factor& f = factors_[fi];
      std::int64_t base = 0;
      for (std::size_t i = f.other_begin; i < f.other_end; ++i) base += x[others_[i].first] * others_[i].second;
      for (int s = 0; s < node.card; ++s) w[s] *= f.table[base + s * f.x_stride];
    }
  }

  // Precomputes the cumulative conditional rows of node for every state of its
  // unobserved blanket (x holds the evidence; it is restored).
  void tabulate(Node& node, const std::vector<VarId>& blanket, std::int64_t rows, std::vector<int>& x) {
    node.tabulated = true;
    node.table = tables_.size();
    node.blanket_begin = blanket_.size();
    std::int64_t stride = 1;
    for (std::size_t i = blanket.size(); i-- > 0;) {
      blanket_.emplace_back(blanket[i], stride);
      stride *= net_.cardinality(blanket[i]);
    }
    node.blanket_end = blanket_.size();
    tables_.resize(tables_.size() + static_cast<std::size_t>(rows * node.card));
    // Row r: the blanket states of r (the first blanket variable slowest).
    for (std::int64_t r = 0; r < rows; ++r) {
      std::int64_t rest = r;
      for (std::size_t i = node.blanket_begin; i < node.blanket_end; ++i) {
        const auto card = net_.cardinality(blanket_[i].first);
        x[static_cast<std::size_t>(blanket_[i].first)] = static_cast<int>(rest % card);
        rest /= card;
      }
      double* row = &tables_[node.table + static_cast<std::size_t>(r * node.card)];
      conditional(node, x.data(), row);
      // A row of zeros belongs to a blanket state of probability 0, which a
      // chain started at positive probability never reaches.
      make_cumulative(row, node.card);
    }
    for (VarId b : blanket) x[static_cast<std::size_t>(b)] = 0;
  }

  int max_card() const noexcept {
    int m = 1;
    for (const Node& n : nodes_) m = std::max(m, n.card);
    return m;
  }

  // A state drawn from (about) the posterior by sampling-importance-resampling:
  // one of kGibbsInitDraws forward samples with the evidence clamped, chosen
  // with probability proportional to its weight (a reservoir of one). Draws on,
  // up to kGibbsInitAttempts, while every weight is 0.
  std::vector<int> initial_state(Rng& rng) const {
    std::vector<int> x(net_.size(), 0), chosen;
    double total = 0;
    for (int attempt = 0; attempt < kGibbsInitAttempts && (attempt < kGibbsInitDraws || total == 0); ++attempt) {
      const double w = forward_.sample(rng, evidence_, x.data());
      if (w <= 0) continue;
      total += w;
      if (rng.uniform() * total < w) chosen = x;
    }
    if (total == 0) {
      fail("gibbs_sampling: no state of network '" + net_.name() + "' consistent with the evidence found in " +
           std::to_string(kGibbsInitAttempts) + " forward samples (the evidence may have probability zero)");
    }
    return chosen;
  }

  // Updates every unobserved variable once; adds the conditionals to record when given.
  void sweep(Rng& rng, std::vector<int>& x, std::vector<double>& scratch, double* record) const noexcept {
    for (const Node& node : nodes_) {
      const double* row;
      if (node.tabulated) {
        std::int64_t r = 0;
        for (std::size_t i = node.blanket_begin; i < node.blanket_end; ++i) {
          r += x[static_cast<std::size_t>(blanket_[i].first)] * blanket_[i].second;
        }
        row = &tables_[node.table + static_cast<std::size_t>(r * node.card)];
      } else {
        conditional(node, x.data(), scratch.data());
        // The current state has positive probability, so the row is not all zero.
        if (!make_cumulative(scratch.data(), node.card)) continue;
        row = scratch.data();
      }
      const int s = draw(row, rng.uniform());
      x[static_cast<std::size_t>(node.var)] = s;
      if (record != nullptr) {
        double* out = record + offset_[static_cast<std::size_t>(node.var)];
        for (int t = 0; t < node.card; ++t) out[t] += probability_of(row, t);
      }
    }
  }

  const Network& net_;
  const Evidence& evidence_;
  ForwardSampler forward_;
  std::vector<std::size_t> offset_;
  std::vector<Node> nodes_;  // the unobserved variables, topological order
  std::vector<Factor> factors_;
  std::vector<std::pair<VarId, std::int64_t>> others_;
  std::vector<std::pair<VarId, std::int64_t>> blanket_;
  std::vector<double> tables_;
};

}  // namespace

ApproximatePosterior gibbs_sampling(const Network& net, const Evidence& evidence, const SamplingOptions& options) {
  MISO_PROFILE_SCOPE("qlogik.gibbs_sampling");
  check_evidence(net, evidence, "gibbs_sampling");
  check_samples(options, "gibbs_sampling");
  if (options.thin == 0) fail("gibbs_sampling: thin must be positive");
  const GibbsSampler sampler(net, evidence);
  const std::vector<std::size_t>& offset = sampler.offset();
  const std::size_t entries = offset.back();

  std::vector<GibbsSampler::ChainResult> chains(kGibbsChains);
  nexus::parallel_for(
      0, chains.size(),
      [&](std::size_t b, std::size_t e) {
        for (std::size_t c = b; c < e; ++c) {
          const std::uint64_t records = options.samples / kGibbsChains + (c < options.samples % kGibbsChains ? 1 : 0);
          if (records > 0) chains[c] = sampler.run_chain(options, static_cast<int>(c), records);
        }
      },
      1);

  // Pool: the mean of all records, and the spread of all batch means.
  std::vector<double> mean(entries, 0.0), batch_mean(entries, 0.0), spread(entries, 0.0);
  std::size_t batches = 0;
  for (const auto& chain : chains) {  // a chain with no records has no sums
    if (chain.recorded == 0) continue;
    batches += chain.batches;
    for (std::size_t i = 0; i < entries; ++i) {
      mean[i] += chain.sum[i];
      for (std::size_t b = 0; b < chain.batches; ++b) batch_mean[i] += chain.batch_means[b * entries + i];
    }
  }
  for (std::size_t i = 0; i < entries; ++i) {
    mean[i] /= static_cast<double>(options.samples);
    batch_mean[i] /= static_cast<double>(batches);
  }
  for (const auto& chain : chains) {
    for (std::size_t b = 0; b < chain.batches; ++b) {
      for (std::size_t i = 0; i < entries; ++i) {
        const double d = chain.batch_means[b * entries + i] - batch_mean[i];
        spread[i] += d * d;
      }
    }
  }
  ApproximatePosterior out;
  out.samples = options.samples;
  out.p_evidence = std::numeric_limits<double>::quiet_NaN();
  out.effective_samples = std::numeric_limits<double>::infinity();
  std::vector<double> se(entries, 0.0);
  for (std::size_t v = 0; v < net.size(); ++v) {
    const int e = evidence[v];
    for (std::size_t i = offset[v]; i < offset[v + 1]; ++i) {
      if (e >= 0) {
        mean[i] = static_cast<std::size_t>(e) == i - offset[v] ? 1.0 : 0.0;
        continue;
      }
      se[i] = batches < 2 ? std::numeric_limits<double>::infinity()
                          : std::sqrt(spread[i] / static_cast<double>(batches - 1) / static_cast<double>(batches));
      const double p = mean[i];
      if (se[i] > 0 && p > 0 && p < 1) {
        out.effective_samples = std::min(out.effective_samples, p * (1 - p) / (se[i] * se[i]));
      }
    }
  }
  if (std::isinf(out.effective_samples)) out.effective_samples = static_cast<double>(options.samples);
  out.marginals = per_variable(mean, offset);
  out.standard_error = per_variable(se, offset);
  return out;
}

void sample_csv(const Network& net, std::uint64_t samples, std::uint64_t seed, std::ostream& out) {
  MISO_PROFILE_SCOPE("qlogik.sample_csv");
  const ForwardSampler sampler(net);
  const std::size_t n = net.size();
  // Cells as written: names quoted when they need it.
  auto cell = [](const std::string& name) {
    if (name.find_first_of(",\"\r\n") == std::string::npos) return name;
    std::string quoted = "\"";
    for (char ch : name) {
      if (ch == '"') quoted += '"';  // doubled
      quoted += ch;
    }
    return quoted + '"';
  };
  std::vector<std::vector<std::string>> cells(n);
  std::string header;
  // Each state's cell with the separator that follows it (',' or the line break).
  std::size_t longest_row = 0;
  for (std::size_t v = 0; v < n; ++v) {
    const Variable& var = net.variable(static_cast<VarId>(v));
    header.append(v == 0 ? "" : ",").append(cell(var.name));
    std::size_t longest = 0;
    for (const std::string& s : var.states) {
      cells[v].push_back(cell(s) + (v + 1 < n ? ',' : '\n'));
      longest = std::max(longest, cells[v].back().size());
    }
    longest_row += longest;
  }
  out << header << '\n';
  const Evidence none = no_evidence(net);
  for_chunks<std::string>(
      samples,
      [&](std::uint64_t c, std::uint64_t begin, std::uint64_t end) {
        Rng rng(seed, c);
        std::string text;
        text.reserve(static_cast<std::size_t>(end - begin) * longest_row);
        std::vector<int> x(n, 0);
        for (std::uint64_t k = begin; k < end; ++k) {
          sampler.sample(rng, none, x.data());
          for (std::size_t v = 0; v < n; ++v) text.append(cells[v][static_cast<std::size_t>(x[v])]);
        }
        return text;
      },
      [&](std::string&& text) { out.write(text.data(), static_cast<std::streamsize>(text.size())); });
  if (!out) throw Error(Error::Kind::Io, "sample_csv: writing the samples failed");
}

}  // namespace miso::qlogik
