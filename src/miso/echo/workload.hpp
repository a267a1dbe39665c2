// ECHO-PRIME's workload for `miso profile`: "echo.stream". A generated event
// stream (about 40 bytes of binary timeline per node: ~26 thousand nodes for
// small, 2.6 million for medium, 27 million for large) goes through ten
// triggers as it is appended to the main timeline; fluents toggle and are
// required along the way, every 37th node is tied to a later one by a
// constraint, every 300th causes a later node, a few free nodes are placed
// only by constraints, and three what-if branches fork off late in the
// stream. Paradoxes of each kind are planted at seeded positions: three free
// nodes with an impossible cycle of constraints, a causal link whose effect is
// fixed before its cause, and a fluent initiated and terminated at one tick.
// Self-check: the incremental checker finds exactly the planted paradoxes (no
// more, no fewer), the one trigger whose firings follow from the plan alone
// (a type-1 node with value > 0.99) fired exactly that often, and once the
// planted cycles are resolved (and the planted links set aside) the schedule
// of the main branch satisfies every constraint, link and fixed time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "miso/echo/timeline.hpp"
#include "miso/profiler/workload.hpp"

namespace miso::echo {

// The generated stream, independent of any World: what prepare() makes and
// what run() replays.
struct StreamEvent {
  Tick time = 0;  // kFree for a free node
  std::uint8_t type = 0;
  float value = 0;
  std::int16_t fluent = -1;  // index of a fluent it toggles (>= 0), or -1
  Effect effect = Effect::Initiates;
};
struct StreamPlan {
  std::vector<StreamEvent> events;
  struct Pair {
    std::uint64_t a = 0, b = 0;  // event indices
    Tick lo = kNegInf, hi = kPosInf;
  };
  std::vector<Pair> constraints;
  std::vector<Pair> links;           // lo/hi unused
  std::vector<std::uint64_t> forks;  // event indices where a what-if branch forks
  // Planted paradoxes, as event indices.
  std::vector<std::uint64_t> planted_cycles;         // first of the three free nodes
  std::vector<std::uint64_t> planted_causal;         // the link index in `links`
  std::vector<std::uint64_t> planted_contradiction;  // the initiating node (the terminating one follows)
};

// Deterministic in (nodes, seed).
StreamPlan generate_stream(std::uint64_t nodes, std::uint64_t seed);

class StreamWorkload final : public profiler::Workload {
 public:
  void prepare(const profiler::WorkloadContext& ctx) override;
  std::uint64_t input_bytes() const override { return bytes_; }
  void run(const profiler::WorkloadContext& ctx) override;
  profiler::CheckResult check() const override;
  std::vector<std::filesystem::path> save_input(const profiler::WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override;

 private:
  StreamPlan plan_;
  std::uint64_t bytes_ = 0;
  std::uint64_t seed_ = 0;
  profiler::CheckResult result_;
};

void register_workloads(profiler::WorkloadRegistry& registry);

}  // namespace miso::echo
