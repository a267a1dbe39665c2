// The hidden chain every QL-ECHO-Bridge model compiles to, and exact inference
// over it (docs/bridge.md).
//
// A Chain is a Markov chain over S joint hidden states (an HMM's states; for a
// dynamic Bayesian network, the joint states of its hidden variables): an
// initial distribution and an S x S transition matrix (row = from state).
// Observations reach it as likelihood vectors: Likelihoods holds K distinct
// rows L_k[s] = P(observation k | state s), and a sequence of observations is
// a sequence of row indices (for an HMM, the symbols; a row of ones stands for
// "nothing observed").
//
// Numerics: forward messages are normalised at every step and the logarithms
// of the normalisers summed, so the log-likelihood of 10^7 steps neither
// underflows nor loses precision; Viterbi works in log space. A sequence whose
// probability is zero is an Error(InvalidArgument) naming the step (there is
// no belief to report), never NaN.
//
// Memory: Filter is a stream (O(S) whatever the length). smooth() keeps a
// forward message every ceil(sqrt(T)) steps and recomputes each segment's
// messages on the backward pass: O(S sqrt(T)) besides what the callback keeps
// (about twice the forward work). viterbi() keeps one back-pointer per state
// and step (T x S 4-byte indices).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace miso::bridge {

struct Chain {
  std::vector<std::string> states;  // names, one per joint state
  std::vector<double> initial;      // S, sums to 1
  std::vector<double> transition;   // S x S row-major, each row sums to 1
  std::size_t size() const noexcept { return states.size(); }
  // Error(InvalidArgument) naming the offending row or entry: sizes, negative
  // or non-finite entries, rows not summing to 1 within 1e-9.
  void validate() const;
};

struct Likelihoods {
  std::size_t states = 0;
  std::vector<double> rows;  // K x states: rows[k * states + s] = P(observation k | s)
  std::size_t count() const noexcept { return states == 0 ? 0 : rows.size() / states; }
  std::span<const double> row(std::uint32_t k) const { return {rows.data() + std::size_t{k} * states, states}; }
};

// Filtering as a stream: bounded memory for any length.
class Filter {
 public:
  Filter(const Chain& chain, const Likelihoods& likelihoods);
  // Advances one step with observation row k (Error for k out of range or an
  // observation of probability zero, naming the step).
  void step(std::uint32_t k);
  std::span<const double> belief() const noexcept;  // P(X_t | o_1..o_t); before any step, the initial distribution
  double log_likelihood() const noexcept;           // ln P(o_1..o_t)
  std::size_t steps() const noexcept;
  // P(X_{t+k} | o_1..o_t): the belief pushed k steps through the transition.
  std::vector<double> predict(std::size_t k) const;

 private:
  const Chain* chain_;
  const Likelihoods* likelihoods_;
  std::vector<double> belief_, scratch_;
  double log_likelihood_ = 0;
  std::size_t steps_ = 0;
};

struct FilterResult {
  double log_likelihood = 0;
  std::vector<double> filtered;  // T x S: row t = P(X_t | o_1..o_t)
};
FilterResult filter(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations);

// Forward-backward with sqrt(T) checkpoints. `each(t, p)` receives the
// smoothed P(X_t | o_1..o_T) for t = T-1 down to 0 (backwards); returns
// ln P(o_1..o_T).
double smooth_each(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations,
                   const std::function<void(std::size_t, std::span<const double>)>& each);
struct SmoothResult {
  double log_likelihood = 0;
  std::vector<double> smoothed;  // T x S
};
SmoothResult smooth(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations);

struct ViterbiResult {
  std::vector<std::uint32_t> path;  // the most likely state per step
  double log_probability = 0;       // ln P(path, o_1..o_T)
};
ViterbiResult viterbi(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations);

double log_likelihood(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations);

}  // namespace miso::bridge
