// Exact inference over a hidden Markov chain (chain.hpp).
//
// Convention: `initial` is P(X_1), the distribution of the state at the first
// observed step, so the first step multiplies it by the likelihood without a
// transition; every later step transitions first. Steps are numbered from 0 in
// messages, like the observation sequence they index.
#include "miso/bridge/chain.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"

namespace miso::bridge {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Error::Kind::InvalidArgument, message); }

// The shortest text that reads back as x.
std::string number(double x) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, x).ptr;
  return std::string(buffer, end);
}

std::string state_label(const Chain& chain, std::size_t s) {
  return std::to_string(s) + " ('" + chain.states[s] + "')";
}

// Sizes and numbers of the likelihood table against an S-state chain.
void check_likelihoods(const Likelihoods& likelihoods, std::size_t states, const char* where) {
  if (likelihoods.states != states) {
    fail(std::string(where) + ": likelihoods have " + std::to_string(likelihoods.states) +
         " entries per row, the chain " + std::to_string(states) + " states");
  }
  if (likelihoods.rows.size() % states != 0) {
    fail(std::string(where) + ": likelihoods hold " + std::to_string(likelihoods.rows.size()) +
         " values, not a multiple of " + std::to_string(states) + " states");
  }
  for (std::size_t i = 0; i < likelihoods.rows.size(); ++i) {
    const double v = likelihoods.rows[i];
    if (!std::isfinite(v) || v < 0) {
      fail(std::string(where) + ": likelihood row " + std::to_string(i / states) + ", state " +
           std::to_string(i % states) + " is " + number(v) + " (must be finite and non-negative)");
    }
  }
}

void check_inputs(const Chain& chain, const Likelihoods& likelihoods, const char* where) {
  chain.validate();
  check_likelihoods(likelihoods, chain.size(), where);
}

void check_observations(const Likelihoods& likelihoods, std::span<const std::uint32_t> observations,
                        const char* where) {
  const std::size_t count = likelihoods.count();
  for (std::size_t t = 0; t < observations.size(); ++t) {
    if (observations[t] >= count) {
      fail(std::string(where) + ": observation " + std::to_string(t) + " is likelihood row " +
           std::to_string(observations[t]) + ", but there are only " + std::to_string(count) + " rows");
    }
  }
}

[[noreturn]] void impossible(std::size_t step, std::uint32_t row) {
  fail("observation at step " + std::to_string(step) + " (likelihood row " + std::to_string(row) +
       ") has probability zero given the steps before");
}

// out = (prev · T) ⊙ L, unnormalised; returns its sum. Accumulates rows of T
// scaled by prev[i] so the inner loop is a contiguous axpy.
double propagate(const double* transition, std::size_t states, const double* prev, const double* likelihood,
                 double* out) {
  std::fill(out, out + states, 0.0);
  for (std::size_t i = 0; i < states; ++i) {
    const double p = prev[i];
    if (p == 0) continue;
    const double* row = transition + i * states;
    for (std::size_t j = 0; j < states; ++j) out[j] += p * row[j];
  }
  double sum = 0;
  for (std::size_t j = 0; j < states; ++j) {
    out[j] *= likelihood[j];
    sum += out[j];
  }
  return sum;
}

// Four partial sums: independent chains the compiler can keep in vector
// registers (a single running sum is a serial dependency it may not reorder).
double dot(const double* a, const double* b, std::size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += a[j] * b[j];
    s1 += a[j + 1] * b[j + 1];
    s2 += a[j + 2] * b[j + 2];
    s3 += a[j + 3] * b[j + 3];
  }
  for (; j < n; ++j) s0 += a[j] * b[j];
  return (s0 + s1) + (s2 + s3);
}

// out = initial ⊙ L (the first step); returns its sum.
double start(const double* initial, std::size_t states, const double* likelihood, double* out) {
  double sum = 0;
  for (std::size_t j = 0; j < states; ++j) {
    out[j] = initial[j] * likelihood[j];
    sum += out[j];
  }
  return sum;
}

// One forward step into out (normalised); returns ln of the normaliser.
double forward(const Chain& chain, const Likelihoods& likelihoods, const double* prev, std::size_t step,
               std::uint32_t row, double* out) {
  const std::size_t states = chain.size();
  const double* likelihood = likelihoods.rows.data() + std::size_t{row} * states;
  const double sum = prev == nullptr ? start(chain.initial.data(), states, likelihood, out)
                                     : propagate(chain.transition.data(), states, prev, likelihood, out);
  if (!(sum > 0)) impossible(step, row);
  if (!std::isfinite(sum)) {
    fail("observation at step " + std::to_string(step) + " (likelihood row " + std::to_string(row) +
         "): the forward message overflowed (likelihoods too large)");
  }
  const double scale = 1.0 / sum;
  for (std::size_t j = 0; j < states; ++j) out[j] *= scale;
  return std::log(sum);
}

// v ← v · T, renormalised (rows of T sum to 1 only within 1e-9).
void push(const std::vector<double>& transition, std::vector<double>& v, std::vector<double>& scratch) {
  const std::size_t states = v.size();
  std::fill(scratch.begin(), scratch.end(), 0.0);
  for (std::size_t i = 0; i < states; ++i) {
    const double p = v[i];
    if (p == 0) continue;
    const double* row = transition.data() + i * states;
    for (std::size_t j = 0; j < states; ++j) scratch[j] += p * row[j];
  }
  double sum = 0;
  for (double x : scratch) sum += x;
  if (sum > 0) {
    for (double& x : scratch) x /= sum;
  }
  v.swap(scratch);
}

// c = a · b for S x S row-major matrices, each row of c renormalised.
void multiply(const std::vector<double>& a, const std::vector<double>& b, std::vector<double>& c, std::size_t states) {
  std::fill(c.begin(), c.end(), 0.0);
  for (std::size_t i = 0; i < states; ++i) {
    double* out = c.data() + i * states;
    for (std::size_t k = 0; k < states; ++k) {
      const double p = a[i * states + k];
      if (p == 0) continue;
      const double* row = b.data() + k * states;
      for (std::size_t j = 0; j < states; ++j) out[j] += p * row[j];
    }
    double sum = 0;
    for (std::size_t j = 0; j < states; ++j) sum += out[j];
    if (sum > 0) {
      for (std::size_t j = 0; j < states; ++j) out[j] /= sum;
    }
  }
}

}  // namespace

void Chain::validate() const {
  const std::size_t s = size();
  if (s == 0) fail("chain: no states");
  if (initial.size() != s) {
    fail("chain: initial has " + std::to_string(initial.size()) + " entries for " + std::to_string(s) + " states");
  }
  if (transition.size() != s * s) {
    fail("chain: transition has " + std::to_string(transition.size()) + " entries, not " + std::to_string(s) + " x " +
         std::to_string(s));
  }
  double sum = 0;
  for (std::size_t i = 0; i < s; ++i) {
    if (!std::isfinite(initial[i]) || initial[i] < 0) {
      fail("chain: initial[" + state_label(*this, i) + "] is " + number(initial[i]) +
           " (must be finite and non-negative)");
    }
    sum += initial[i];
  }
  if (std::abs(sum - 1) > 1e-9) fail("chain: initial sums to " + number(sum) + ", not 1");
  for (std::size_t i = 0; i < s; ++i) {
    sum = 0;
    for (std::size_t j = 0; j < s; ++j) {
      const double v = transition[i * s + j];
      if (!std::isfinite(v) || v < 0) {
        fail("chain: transition[" + std::to_string(i) + "][" + std::to_string(j) + "] ('" + states[i] + "' -> '" +
             states[j] + "') is " + number(v) + " (must be finite and non-negative)");
      }
      sum += v;
    }
    if (std::abs(sum - 1) > 1e-9) {
      fail("chain: transition row " + state_label(*this, i) + " sums to " + number(sum) + ", not 1");
    }
  }
}

// ---- Filter ----

Filter::Filter(const Chain& chain, const Likelihoods& likelihoods)
    : chain_(&chain), likelihoods_(&likelihoods), belief_(chain.initial), scratch_(chain.initial.size()) {
  check_inputs(chain, likelihoods, "filter");
}

void Filter::step(std::uint32_t k) {
  if (k >= likelihoods_->count()) {
    fail("filter: observation at step " + std::to_string(steps_) + " is likelihood row " + std::to_string(k) +
         ", but there are only " + std::to_string(likelihoods_->count()) + " rows");
  }
  log_likelihood_ +=
      forward(*chain_, *likelihoods_, steps_ == 0 ? nullptr : belief_.data(), steps_, k, scratch_.data());
  belief_.swap(scratch_);
  ++steps_;
}

std::span<const double> Filter::belief() const noexcept { return belief_; }
double Filter::log_likelihood() const noexcept { return log_likelihood_; }
std::size_t Filter::steps() const noexcept { return steps_; }

std::vector<double> Filter::predict(std::size_t k) const {
  MISO_PROFILE_SCOPE("bridge.predict");
  const std::size_t states = belief_.size();
  std::vector<double> v = belief_, scratch(states), previous;
  const std::vector<double>& transition = chain_->transition;
  // Stepping costs k S^2; squaring the matrix about 2 log2(k) S^3. Step while
  // that is cheaper, or until the vector reaches an exact fixed point (an
  // ergodic chain gets there long before a large k).
  std::size_t bits = 0;
  for (std::size_t x = k; x != 0; x >>= 1) ++bits;
  const std::size_t step_limit = std::min<std::size_t>(k, 2 * bits * states + 64);
  std::size_t done = 0;
  for (; done < step_limit; ++done) {
    previous = v;
    push(transition, v, scratch);
    if (v == previous) return v;
  }
  if (done == k) return v;
  // The remaining k - done steps by repeated squaring of the transition matrix.
  std::size_t remaining = k - done;
  std::vector<double> power = transition, tmp(states * states);
  while (remaining != 0) {
    if (remaining & 1) push(power, v, scratch);
    remaining >>= 1;
    if (remaining != 0) {
      multiply(power, power, tmp, states);
      power.swap(tmp);
    }
  }
  return v;
}

// ---- batch algorithms ----

FilterResult filter(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations) {
  MISO_PROFILE_SCOPE("bridge.filter");
  check_inputs(chain, likelihoods, "filter");
  check_observations(likelihoods, observations, "filter");
  const std::size_t states = chain.size();
  FilterResult result;
  result.filtered.resize(observations.size() * states);
  for (std::size_t t = 0; t < observations.size(); ++t) {
    double* out = result.filtered.data() + t * states;
    result.log_likelihood += forward(chain, likelihoods, t == 0 ? nullptr : out - states, t, observations[t], out);
  }
  return result;
}

double log_likelihood(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations) {
  MISO_PROFILE_SCOPE("bridge.log_likelihood");
  check_inputs(chain, likelihoods, "log_likelihood");
  check_observations(likelihoods, observations, "log_likelihood");
  const std::size_t states = chain.size();
  std::vector<double> a(states), b(states);
  double total = 0;
  for (std::size_t t = 0; t < observations.size(); ++t) {
    total += forward(chain, likelihoods, t == 0 ? nullptr : a.data(), t, observations[t], b.data());
    a.swap(b);
  }
  return total;
}

double smooth_each(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations,
                   const std::function<void(std::size_t, std::span<const double>)>& each) {
  MISO_PROFILE_SCOPE("bridge.smooth");
  check_inputs(chain, likelihoods, "smooth");
  check_observations(likelihoods, observations, "smooth");
  const std::size_t steps = observations.size();
  if (steps == 0) return 0;
  const std::size_t states = chain.size();

  // Segment length ceil(sqrt(T)): checkpoints[c] is the normalised forward
  // message at step c * segment.
  auto segment = static_cast<std::size_t>(std::sqrt(static_cast<double>(steps)));
  while (segment * segment < steps) ++segment;
  while (segment > 1 && (segment - 1) * (segment - 1) >= steps) --segment;
  const std::size_t segments = (steps + segment - 1) / segment;
  std::vector<double> checkpoints(segments * states);
  std::vector<double> messages(segment * states);  // one segment's forward messages

  double total = 0;
  {
    std::vector<double> a(states), b(states);
    for (std::size_t t = 0; t < steps; ++t) {
      total += forward(chain, likelihoods, t == 0 ? nullptr : a.data(), t, observations[t], b.data());
      a.swap(b);
      if (t % segment == 0) std::copy(a.begin(), a.end(), checkpoints.begin() + (t / segment) * states);
    }
  }

  // Backward pass: beta is the backward message of step t, up to a positive
  // factor (normalised to sum 1 each step so it cannot underflow).
  std::vector<double> beta(states, 1.0), weighted(states), smoothed(states);
  const double* transition = chain.transition.data();
  for (std::size_t c = segments; c-- > 0;) {
    const std::size_t first = c * segment, end = std::min(steps, first + segment);
    std::copy(checkpoints.begin() + c * states, checkpoints.begin() + (c + 1) * states, messages.begin());
    for (std::size_t t = first + 1; t < end; ++t) {
      double* out = messages.data() + (t - first) * states;
      forward(chain, likelihoods, out - states, t, observations[t], out);
    }
    for (std::size_t t = end; t-- > first;) {
      const double* alpha = messages.data() + (t - first) * states;
      double sum = 0;
      for (std::size_t s = 0; s < states; ++s) {
        smoothed[s] = alpha[s] * beta[s];
        sum += smoothed[s];
      }
      // sum > 0: P(o_1..o_T) > 0 was checked on the forward pass.
      const double scale = 1.0 / sum;
      for (double& x : smoothed) x *= scale;
      each(t, smoothed);
      if (t == 0) break;
      // beta_{t-1}(i) = sum_j T(i,j) L_t(j) beta_t(j): row-major dot products.
      const double* likelihood = likelihoods.rows.data() + std::size_t{observations[t]} * states;
      for (std::size_t j = 0; j < states; ++j) weighted[j] = likelihood[j] * beta[j];
      double norm = 0;
      for (std::size_t i = 0; i < states; ++i) {
        beta[i] = dot(transition + i * states, weighted.data(), states);
        norm += beta[i];
      }
      const double inv = 1.0 / norm;
      for (double& x : beta) x *= inv;
    }
  }
  return total;
}

SmoothResult smooth(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations) {
  SmoothResult result;
  const std::size_t states = chain.size();
  result.smoothed.resize(observations.size() * states);
  result.log_likelihood = smooth_each(chain, likelihoods, observations, [&](std::size_t t, std::span<const double> p) {
    std::copy(p.begin(), p.end(), result.smoothed.begin() + static_cast<std::ptrdiff_t>(t * states));
  });
  return result;
}

ViterbiResult viterbi(const Chain& chain, const Likelihoods& likelihoods, std::span<const std::uint32_t> observations) {
  MISO_PROFILE_SCOPE("bridge.viterbi");
  check_inputs(chain, likelihoods, "viterbi");
  check_observations(likelihoods, observations, "viterbi");
  ViterbiResult result;
  const std::size_t steps = observations.size();
  if (steps == 0) return result;
  const std::size_t states = chain.size();
  constexpr double kNegInf = -std::numeric_limits<double>::infinity();
  // log(0) = -inf: an impossible transition or observation can never win a
  // strict comparison against a possible one.
  std::vector<double> log_transition(states * states), log_likelihoods(likelihoods.rows.size());
  for (std::size_t i = 0; i < log_transition.size(); ++i) log_transition[i] = std::log(chain.transition[i]);
  for (std::size_t i = 0; i < log_likelihoods.size(); ++i) log_likelihoods[i] = std::log(likelihoods.rows[i]);

  std::vector<std::uint32_t> back(steps * states);
  std::vector<double> delta(states), next(states);
  double offset = 0;  // delta holds the log-probabilities minus offset, kept near 0
  auto rescale = [&](std::size_t t) {
    const double best = *std::max_element(delta.begin(), delta.end());
    if (best == kNegInf) impossible(t, observations[t]);
    for (double& x : delta) x -= best;
    offset += best;
  };
  const double* row0 = log_likelihoods.data() + std::size_t{observations[0]} * states;
  for (std::size_t s = 0; s < states; ++s) delta[s] = std::log(chain.initial[s]) + row0[s];
  rescale(0);
  for (std::size_t t = 1; t < steps; ++t) {
    std::fill(next.begin(), next.end(), kNegInf);
    std::uint32_t* bp = back.data() + t * states;
    std::fill(bp, bp + states, 0u);
    // i ascending with a strict '>' keeps the lowest predecessor on ties.
    for (std::size_t i = 0; i < states; ++i) {
      const double d = delta[i];
      if (d == kNegInf) continue;
      const double* row = log_transition.data() + i * states;
      const auto from = static_cast<std::uint32_t>(i);
      for (std::size_t j = 0; j < states; ++j) {
        const double candidate = d + row[j];
        if (candidate > next[j]) {
          next[j] = candidate;
          bp[j] = from;
        }
      }
    }
    const double* lrow = log_likelihoods.data() + std::size_t{observations[t]} * states;
    for (std::size_t j = 0; j < states; ++j) next[j] += lrow[j];
    delta.swap(next);
    rescale(t);
  }
  // The final state: the lowest index among the best (delta's max is 0 after rescale).
  const auto last = static_cast<std::size_t>(std::max_element(delta.begin(), delta.end()) - delta.begin());
  result.log_probability = offset + delta[last];
  result.path.resize(steps);
  result.path[steps - 1] = static_cast<std::uint32_t>(last);
  for (std::size_t t = steps - 1; t > 0; --t) result.path[t - 1] = back[t * states + result.path[t]];
  return result;
}

}  // namespace miso::bridge
