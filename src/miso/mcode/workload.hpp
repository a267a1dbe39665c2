// M-CODE's workload for `miso profile`: "mcode.scripts". M-CODE scripts (embedded in
// workload.cpp) run on a Vm whose file allow-list is the run's scratch folder:
//   csv    a generated sales CSV (id, region, product, quantity, price, timestamp),
//          written as shards of at most 16 MiB that the script reads one at a time with
//          read_lines, aggregated into group-by totals, counts, min/max and a top-k;
//   words  a pure-language script: a seeded Park-Miller generator makes a skewed
//          stream of words whose frequencies, entropy and top-k the script counts;
//   tmath  softmax(randn @ randn) on seeded tensors;
//   mprime diff + evaluate of generated expressions;
//   qlogik junction-tree queries on bnlearn's alarm (or a random network), loaded by the
//          script from a BIF file written into the scratch folder;
//   nexus  nexus.parallel_map against the same loop run sequentially;
//   echo   a timeline of timed nodes with fluents and constraints, a forked branch with
//          planted paradoxes, check() and fluent-state queries;
//   bridge an HMM loaded from a JSON file over a sampled observation file: ln P(obs),
//          Viterbi, windowed filter/smooth and a prediction.
// Every script's result is checked against the same computation done in C++ (exact
// for counts and ints, a relative 1e-9 for float sums); a mismatch fails the check
// with the script, the quantity and both values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "miso/profiler/workload.hpp"

namespace miso::mcode {

// Knobs for tests; the defaults are what `miso profile` runs.
struct ScriptsWorkloadOptions {
  std::uint64_t target_bytes = 0;  // 0: profiler::target_bytes(size)
  std::uint64_t shard_bytes = 16u << 20;
  // The scripts to run ("csv", "words", "tmath", "mprime", "qlogik", "nexus", "echo",
  // "bridge"); empty: all.
  std::vector<std::string> only;
  // Test hook: perturbs the C++ expected value of the named script ("csv", "words",
  // "tmath", ...) before the comparison, so a test can prove the check bites.
  std::string corrupt_expected;
};

// What one script did, for the check's detail and the profiler's counters.
struct ScriptReport {
  std::string name;
  double seconds = 0;       // wall-clock
  double cpu_seconds = 0;   // process CPU time (all threads) while it ran
  std::uint64_t items = 0;  // rows, words, expressions, queries ...
  const char* unit = "items";
  std::uint64_t bytes = 0;  // input bytes the script processed
  std::uint64_t instructions = 0;
  std::uint64_t gc_collections = 0;
  std::uint64_t gc_nanoseconds = 0;
  std::size_t heap_peak_bytes = 0;
  std::uint64_t objects_allocated = 0;
  bool passed = false;
  std::string detail;  // what was verified, or the first mismatch / error
};

class ScriptsWorkload final : public profiler::Workload {
 public:
  explicit ScriptsWorkload(ScriptsWorkloadOptions options = {});
  ~ScriptsWorkload() override;

  void prepare(const profiler::WorkloadContext& ctx) override;
  std::uint64_t input_bytes() const override;
  void run(const profiler::WorkloadContext& ctx) override;
  profiler::CheckResult check() const override;
  std::vector<std::filesystem::path> save_input(const profiler::WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override;

  const std::vector<ScriptReport>& reports() const noexcept { return reports_; }

  struct State;  // generated inputs and C++ expected results (workload.cpp)

 private:
  ScriptsWorkloadOptions options_;
  std::unique_ptr<State> state_;
  std::vector<ScriptReport> reports_;
  bool ran_ = false;
};

void register_workloads(profiler::WorkloadRegistry& registry);

}  // namespace miso::mcode
