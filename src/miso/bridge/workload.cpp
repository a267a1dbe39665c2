#include "miso/bridge/workload.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>

#include "miso/bridge/timeline.hpp"
#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"
#include "miso/echo/timeline.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/profiler/span.hpp"

namespace miso::bridge {

namespace {

constexpr const char* kName = "bridge.filter";
constexpr const char* kKind = "symbols";  // at most 8 characters
constexpr std::size_t kStates = 16;
constexpr std::size_t kSymbols = 32;
constexpr std::size_t kViterbiSteps = 1'000'000;
constexpr std::size_t kReferenceSteps = 200'000;  // the log-space reference costs 256 exp() per step
constexpr std::size_t kTimelineSteps = 100'000;   // the ECHO-PRIME part: nodes of a timeline

// A row of n positive probabilities summing to 1, with one heavier entry so
// the chain has structure.
std::vector<double> random_row(core::SplitMix64& rng, std::size_t n, std::size_t heavy) {
  std::vector<double> row(n);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    row[i] = 0.05 + rng.next_double() + (i == heavy ? 4.0 : 0.0);
    sum += row[i];
  }
  for (double& v : row) v /= sum;
  return row;
}

std::size_t draw(core::SplitMix64& rng, std::span<const double> p) {
  double u = rng.next_double();
  for (std::size_t i = 0; i + 1 < p.size(); ++i) {
    if (u < p[i]) return i;
    u -= p[i];
  }
  return p.size() - 1;
}

}  // namespace

Hmm workload_hmm(std::uint64_t seed) {
  core::SplitMix64 rng(seed ^ 0x6272696467650000ULL);
  Hmm h;
  for (std::size_t s = 0; s < kStates; ++s) h.states.push_back(std::string("s").append(std::to_string(s)));
  for (std::size_t o = 0; o < kSymbols; ++o) h.symbols.push_back(std::string("o").append(std::to_string(o)));
  h.initial = random_row(rng, kStates, 0);
  for (std::size_t s = 0; s < kStates; ++s) {
    const std::vector<double> t = random_row(rng, kStates, s);  // states tend to persist
    h.transition.insert(h.transition.end(), t.begin(), t.end());
  }
  for (std::size_t s = 0; s < kStates; ++s) {
    const std::vector<double> e = random_row(rng, kSymbols, (2 * s) % kSymbols);
    h.emission.insert(h.emission.end(), e.begin(), e.end());
  }
  h.validate();
  return h;
}

std::vector<std::uint32_t> sample_observations(const Hmm& hmm, std::size_t steps, std::uint64_t seed) {
  MISO_PROFILE_SCOPE("bridge.sample");
  core::SplitMix64 rng(seed);
  const std::size_t s_count = hmm.states.size(), o_count = hmm.symbols.size();
  std::vector<std::uint32_t> out(steps);
  std::size_t s = draw(rng, hmm.initial);
  for (std::size_t t = 0; t < steps; ++t) {
    if (t > 0) s = draw(rng, std::span<const double>(hmm.transition).subspan(s * s_count, s_count));
    out[t] = static_cast<std::uint32_t>(draw(rng, std::span<const double>(hmm.emission).subspan(s * o_count, o_count)));
  }
  return out;
}

double log_space_forward(const Hmm& hmm, const std::vector<std::uint32_t>& observations) {
  const std::size_t n = hmm.states.size(), o = hmm.symbols.size();
  const double minus_inf = -std::numeric_limits<double>::infinity();
  std::vector<double> la(n), next(n), lt(n * n), le(n * o);
  for (std::size_t i = 0; i < n * n; ++i) lt[i] = std::log(hmm.transition[i]);
  for (std::size_t i = 0; i < n * o; ++i) le[i] = std::log(hmm.emission[i]);
  for (std::size_t t = 0; t < observations.size(); ++t) {
    const std::size_t sym = observations[t];
    for (std::size_t j = 0; j < n; ++j) {
      double m = minus_inf;
      if (t == 0) {
        next[j] = std::log(hmm.initial[j]) + le[j * o + sym];
        continue;
      }
      for (std::size_t i = 0; i < n; ++i) m = std::max(m, la[i] + lt[i * n + j]);
      double sum = 0;
      for (std::size_t i = 0; i < n; ++i) sum += std::exp(la[i] + lt[i * n + j] - m);
      next[j] = m + std::log(sum) + le[j * o + sym];
    }
    la.swap(next);
  }
  if (observations.empty()) return 0;
  const double m = *std::max_element(la.begin(), la.end());
  double sum = 0;
  for (double v : la) sum += std::exp(v - m);
  return m + std::log(sum);
}

void FilterWorkload::prepare(const profiler::WorkloadContext& ctx) {
  seed_ = ctx.seed;
  if (!ctx.data_dir.empty()) {
    observations_ =
        profiler::read_data_array<std::uint32_t>(profiler::input_file(ctx.data_dir, kName, ctx.size), kKind, seed_);
    hmm_ = workload_hmm(seed_);
    for (std::size_t t = 0; t < observations_.size(); ++t) {
      if (observations_[t] >= kSymbols) {
        throw Error(Error::Kind::Format, std::string(kName) + ": saved observation " + std::to_string(t) +
                                             " is symbol " + std::to_string(observations_[t]) + ", beyond the " +
                                             std::to_string(kSymbols) + " symbols");
      }
    }
    return;
  }
  hmm_ = workload_hmm(seed_);
  observations_ = sample_observations(hmm_, profiler::target_bytes(ctx.size) / sizeof(std::uint32_t), seed_);
}

void FilterWorkload::run(const profiler::WorkloadContext& /*ctx*/) {
  MISO_PROFILE_SCOPE("bridge.workload");
  const Chain chain = hmm_.chain();
  const Likelihoods likelihoods = hmm_.likelihoods();
  Filter filter(chain, likelihoods);
  const std::size_t checked = std::min(kReferenceSteps, observations_.size());
  double ll_checked = 0;
  {
    MISO_PROFILE_SCOPE("bridge.workload.filter");
    for (std::size_t t = 0; t < observations_.size(); ++t) {
      filter.step(observations_[t]);
      if (t + 1 == checked) ll_checked = filter.log_likelihood();
    }
  }
  const std::vector<double> last_filtered(filter.belief().begin(), filter.belief().end());
  std::vector<double> last_smoothed;
  const double smoothed_ll =
      smooth_each(chain, likelihoods, observations_, [&](std::size_t t, std::span<const double> p) {
        if (t + 1 == observations_.size()) last_smoothed.assign(p.begin(), p.end());
      });
  const std::size_t prefix = std::min(kViterbiSteps, observations_.size());
  const std::span<const std::uint32_t> head(observations_.data(), prefix);
  const ViterbiResult path = viterbi(chain, likelihoods, head);
  const double head_ll = log_likelihood(chain, likelihoods, head);

  // The same observations as an ECHO-PRIME timeline: one node per step whose
  // "seen" attribute names the symbol, read back through a mapping.
  const std::size_t on_timeline = std::min(kTimelineSteps, observations_.size());
  double timeline_ll = 0, direct_ll = 0;
  {
    MISO_PROFILE_SCOPE("bridge.workload.timeline");
    echo::World world;
    const echo::Symbol seen = world.intern("seen"), day = world.intern("day");
    std::vector<echo::Symbol> symbol_text;
    for (const std::string& name : hmm_.symbols) symbol_text.push_back(world.intern(name));
    for (std::size_t t = 0; t < on_timeline; ++t) {
      const echo::Attribute a{seen, echo::Value::text_of(symbol_text[observations_[t]])};
      echo::NodeSpec spec;
      spec.time = static_cast<echo::Tick>(t);
      spec.type = day;
      spec.attributes = std::span<const echo::Attribute>(&a, 1);
      world.append(world.main(), spec);
    }
    Mapping mapping;
    mapping.maps.push_back({"seen", "State", {}});
    const TimelineObservations steps = observations_of(world, world.main(), mapping);
    std::vector<std::string> names;
    names.reserve(steps.steps.size());
    for (const auto& step : steps.steps) names.push_back(step.front());
    timeline_ll = log_likelihood(chain, likelihoods, hmm_.observations(names));
    direct_ll = log_likelihood(chain, likelihoods, std::span<const std::uint32_t>(observations_.data(), on_timeline));
  }

  double reference = 0;
  {
    MISO_PROFILE_SCOPE("bridge.workload.reference");
    reference = log_space_forward(
        hmm_, std::vector<std::uint32_t>(observations_.begin(),
                                         observations_.begin() + static_cast<std::ptrdiff_t>(checked)));
  }
  const double ll = filter.log_likelihood();
  const double tolerance = 1e-9 * std::max(1.0, std::abs(ll));
  double belief_gap = 0;
  for (std::size_t s = 0; s < last_filtered.size() && s < last_smoothed.size(); ++s) {
    belief_gap = std::max(belief_gap, std::abs(last_filtered[s] - last_smoothed[s]));
  }
  std::string problems;
  if (!(std::abs(ll_checked - reference) <= 1e-9 * std::max(1.0, std::abs(reference)))) {
    problems += " log-likelihood of the first " + std::to_string(checked) + " steps " + std::to_string(ll_checked) +
                " vs reference " + std::to_string(reference) + ";";
  }
  if (!(std::abs(smoothed_ll - ll) <= tolerance)) problems += " smoothing's log-likelihood differs;";
  if (timeline_ll != direct_ll) problems += " the timeline's observations give another log-likelihood;";
  if (last_smoothed.size() != last_filtered.size() || belief_gap > 1e-9) problems += " last smoothed != filtered;";
  if (!(path.log_probability <= head_ll + 1e-9 * std::max(1.0, std::abs(head_ll)))) {
    problems += " Viterbi path more probable than all paths together;";
  }
  if (problems.empty()) {
    result_ = {true, "filtered and smoothed " + std::to_string(observations_.size()) + " steps of a " +
                         std::to_string(kStates) + "-state HMM (ln P = " + std::to_string(ll) + "; over the first " +
                         std::to_string(checked) +
                         " steps equal to a log-space forward pass within 1e-9), Viterbi over " +
                         std::to_string(prefix) + " steps; " + std::to_string(on_timeline) +
                         " steps read back from an ECHO-PRIME timeline give the same log-likelihood"};
  } else {
    result_ = {false, std::string(kName) + ":" + problems};
  }
}

std::vector<std::filesystem::path> FilterWorkload::save_input(const profiler::WorkloadContext& ctx,
                                                              const std::filesystem::path& dir) const {
  auto path = profiler::input_file(dir, kName, ctx.size);
  profiler::write_data_file(path, kKind, seed_, std::as_bytes(std::span(observations_)));
  return {path};
}

void register_workloads(profiler::WorkloadRegistry& registry) {
  registry.add({kName, "bridge",
                "filter, smooth (sqrt(T) checkpoints) and Viterbi-decode a long HMM observation stream; checked "
                "against a log-space forward pass",
                [] { return std::make_unique<FilterWorkload>(); }});
}

}  // namespace miso::bridge
