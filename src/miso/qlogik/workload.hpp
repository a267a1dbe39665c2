// Q-Logik's workload for `miso profile`: "qlogik.learn_query". Forward-samples a
// CSV of observations from a standard network (bnlearn's alarm, read from
// ../shared/data/bnlearn or $MISO_BNLEARN_DIR; a seeded random network of the
// same size when neither is there), sized ~1 MB / 100 MB / 1 GB, learns the
// CPTs back from it in one streaming pass, compiles the learned network's
// junction tree and answers a batch of queries with random evidence.
// Self-check: the learned CPTs are within sampling error of the generating
// ones, and the junction tree's marginals equal variable elimination's.
#pragma once

#include <filesystem>
#include <string>

#include "miso/profiler/workload.hpp"
#include "miso/qlogik/network.hpp"

namespace miso::qlogik {

// The generating network of the workload and where it came from ("alarm.bif
// from DIR" or "random network (no bnlearn directory found)").
struct WorkloadNetwork {
  Network network;
  std::string origin;
};
WorkloadNetwork workload_network(std::uint64_t seed);

// A random network: `variables` variables of 2-4 states, each with up to
// `max_parents` parents among the earlier ones, CPT rows drawn from a flat
// Dirichlet. Deterministic in the seed.
Network random_network(std::size_t variables, std::size_t max_parents, std::uint64_t seed);

class LearnQueryWorkload final : public profiler::Workload {
 public:
  void prepare(const profiler::WorkloadContext& ctx) override;
  std::uint64_t input_bytes() const override { return csv_bytes_; }
  void run(const profiler::WorkloadContext& ctx) override;
  profiler::CheckResult check() const override;
  std::vector<std::filesystem::path> save_input(const profiler::WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override;

 private:
  WorkloadNetwork source_;
  std::filesystem::path csv_;
  std::uint64_t csv_bytes_ = 0;
  std::uint64_t rows_ = 0;
  std::uint64_t seed_ = 0;
  Network learned_;
  std::size_t queries_ = 0;
  double jt_ve_difference_ = -1;  // largest |JT - VE| over the checked queries
  double sum_of_marginals_ = 0;   // of every query: keeps the work observable
};

void register_workloads(profiler::WorkloadRegistry& registry);

}  // namespace miso::qlogik
