// QL-ECHO-Bridge's workload for `miso profile`: "bridge.filter". A seeded
// hidden Markov model (16 states, 32 symbols) emits an observation sequence of
// 4 bytes per step (~262 thousand steps small, 26 million medium, 268 million
// large); the workload filters all of it as a stream (bounded memory), smooths
// it with sqrt(T) checkpoints, and decodes the first million steps by Viterbi.
// Self-check: the log-likelihood of the first 200 thousand steps equals that of
// an independent forward pass in log space (log-sum-exp, no normalisation)
// within 1e-9 relative; smoothing's log-likelihood equals filtering's; the last
// smoothed belief equals the last filtered one; the Viterbi path's
// log-probability does not exceed the log-likelihood of its prefix; and the
// first 100 thousand steps, written as an ECHO-PRIME timeline (a node per step with
// the symbol as an attribute) and read back through a mapping, give exactly
// the log-likelihood of the same steps read directly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "miso/bridge/hmm.hpp"
#include "miso/profiler/workload.hpp"

namespace miso::bridge {

// The workload's model, deterministic in the seed.
Hmm workload_hmm(std::uint64_t seed);
// `steps` observations sampled from `hmm` (symbol indices).
std::vector<std::uint32_t> sample_observations(const Hmm& hmm, std::size_t steps, std::uint64_t seed);
// ln P(observations) by a forward pass in log space without normalisation
// (log-sum-exp per state): the reference of the self-check.
double log_space_forward(const Hmm& hmm, const std::vector<std::uint32_t>& observations);

class FilterWorkload final : public profiler::Workload {
 public:
  void prepare(const profiler::WorkloadContext& ctx) override;
  std::uint64_t input_bytes() const override { return observations_.size() * sizeof(std::uint32_t); }
  void run(const profiler::WorkloadContext& ctx) override;
  profiler::CheckResult check() const override { return result_; }
  std::vector<std::filesystem::path> save_input(const profiler::WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override;

 private:
  Hmm hmm_;
  std::vector<std::uint32_t> observations_;
  std::uint64_t seed_ = 0;
  profiler::CheckResult result_;
};

void register_workloads(profiler::WorkloadRegistry& registry);

}  // namespace miso::bridge
