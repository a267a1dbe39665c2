// Approximate inference for networks too large for exact methods: stochastic
// simulation (likelihood weighting, Gibbs sampling), loopy belief propagation,
// and forward sampling of data sets.
//
// Samplers. The network is compiled once: a topological order, and per variable
// its parents' strides into the CPT and the CPT's rows turned into normalised
// cumulative rows, so drawing a state is one uniform number and a short scan.
// The generator is xoshiro256** seeded through SplitMix64. Work is cut into
// fixed chunks of kSampleChunk samples; chunk c draws from its own generator,
// seeded from (seed, c) alone, and per-chunk sums are combined in chunk order.
// Chunks run in parallel on NEXUS-OS, and the results depend only on the seed
// and the sample count, never on the thread count or schedule. Gibbs runs
// kGibbsChains independent chains (chain c seeded from (seed, c)) in parallel
// and pools them, with the same guarantee.
//
// Estimates and their standard errors:
//  - Likelihood weighting samples the unobserved variables forward and weighs
//    each sample by the probability of the evidence given its parents. The
//    marginal is the ratio estimate sum(w I) / sum(w); its standard error is the
//    delta-method one, sqrt(sum w^2 (I - p)^2) / sum(w), which for equal weights
//    is sqrt(p(1-p)/n). effective_samples = (sum w)^2 / sum w^2 (Kish), p_evidence
//    = the mean weight (unbiased). When every weight is 0 (evidence impossible,
//    too unlikely to be hit, or weights, plain doubles, underflowing under
//    hundreds of observations) p_evidence is 0, the marginals are all 0 (as in
//    enumerate()), the standard errors +inf and effective_samples 0.
//  - Gibbs sampling updates each unobserved variable in topological order from
//    P(X | Markov blanket) and records every `thin`-th sweep after `burn_in`
//    sweeps per chain. The conditionals are precomputed as tables over the
//    unobserved blanket when small enough (kGibbsTableLimit entries), else
//    computed from the CPTs at each step. The marginals are Rao-Blackwellised
//    (the average of the conditional distributions, not of the sampled states).
//    Standard errors come from batch means (kGibbsBatches batches per chain,
//    pooled over chains), so autocorrelation is accounted for; effective_samples
//    is the smallest p(1-p)/se^2 over the entries, the number of independent
//    exact draws that would give the same precision (samples when no entry has
//    0 < p < 1 and se > 0). p_evidence is NaN. Each
//    chain starts from one of kGibbsInitDraws likelihood-weighted forward
//    samples, picked in proportion to its weight (so about from the posterior);
//    Error(InvalidArgument) when no sample of positive weight turns up within
//    kGibbsInitAttempts draws (e.g. evidence of probability zero).
//    Limitation: single-site Gibbs is not ergodic when deterministic CPTs tie
//    variables together (asia's either = lung OR tub: from lung = tub = either =
//    no, no single change has positive probability), and a chain stuck in one
//    region reports a small standard error. Several chains that start apart and
//    disagree widen the pooled error, but do not guarantee to expose it; prefer
//    likelihood weighting or exact inference on such networks.
//  Both check the network (Network::validate) and the evidence, and throw
//  Error(InvalidArgument) for samples == 0 (and Gibbs for thin == 0).
//
// Loopy belief propagation runs the sum-product algorithm on the factor graph
// with one factor per CPT and a flooding schedule: each iteration computes all
// variable-to-factor messages, then all factor-to-variable messages from them
// (in parallel over factors for large networks), optionally damped
// (new = (1 - damping) * computed + damping * old). A factor computes all its
// outgoing messages in one pass over its table using prefix and suffix products
// of the incoming messages, so zeros need no special case. Observed variables
// send indicator messages. Messages are normalised; convergence means the
// largest change of a factor-to-variable message entry is <= tolerance. On a
// polytree the result is exact once converged (after about diameter iterations).
// On loopy graphs it is not: without evidence its fixed point is forward
// propagation that treats each variable's parents as independent, off by 0.24
// on alarm's EXPCO2, whose parents are strongly correlated. When evidence has probability zero, messages may vanish;
// the marginals of the variables concerned are then all 0.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <vector>

#include "miso/qlogik/network.hpp"

namespace miso::qlogik {

inline constexpr std::uint64_t kSampleChunk = 4096;  // samples per independently seeded chunk
inline constexpr int kGibbsChains = 4;
inline constexpr int kGibbsBatches = 25;  // batches per chain for batch means
inline constexpr std::int64_t kGibbsTableLimit = std::int64_t{1} << 16;
inline constexpr int kGibbsInitDraws = 100;
inline constexpr int kGibbsInitAttempts = 100000;

struct SamplingOptions {
  std::uint64_t samples = 100000;
  std::uint64_t seed = 1;
  std::uint64_t burn_in = 1000;  // Gibbs: sweeps discarded per chain
  std::uint64_t thin = 1;        // Gibbs: record every thin-th sweep
};

struct ApproximatePosterior {
  std::vector<std::vector<double>> marginals;       // P(v | e) per VarId
  std::vector<std::vector<double>> standard_error;  // per entry, same shape (0 for observed variables)
  double p_evidence = 0;                            // likelihood weighting: the mean weight; Gibbs: NaN
  std::uint64_t samples = 0;                        // samples drawn (LW) or sweeps recorded (Gibbs)
  double effective_samples = 0;
};

ApproximatePosterior likelihood_weighting(const Network& net, const Evidence& evidence,
                                          const SamplingOptions& options = {});
ApproximatePosterior gibbs_sampling(const Network& net, const Evidence& evidence, const SamplingOptions& options = {});

struct BeliefPropagationOptions {
  int max_iterations = 200;
  double tolerance = 1e-9;
  double damping = 0.0;  // in [0, 1)
};

struct BeliefPropagationResult {
  std::vector<std::vector<double>> marginals;  // approximate P(v | e) per VarId
  int iterations = 0;
  bool converged = false;
  double max_change = 0;  // at the last iteration
};

// Throws Error(InvalidArgument) for an invalid network or evidence,
// max_iterations < 1, a negative or non-finite tolerance, or damping outside [0, 1).
BeliefPropagationResult loopy_belief_propagation(const Network& net, const Evidence& evidence,
                                                 const BeliefPropagationOptions& options = {});

// Forward (ancestral) sampling: a header row of the variable names in id order,
// then one row per sample with state names as cells (quoted as in RFC 4180 when
// a name holds a comma, quote or line break). Rows are produced in parallel in
// chunks seeded as above, so the output of n samples is a prefix of the output
// of m > n samples with the same seed. Memory is bounded by a few chunks.
void sample_csv(const Network& net, std::uint64_t samples, std::uint64_t seed, std::ostream& out);

}  // namespace miso::qlogik
