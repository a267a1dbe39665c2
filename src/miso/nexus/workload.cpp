#include "miso/nexus/workload.hpp"

#include <cstring>

#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"
#include "miso/nexus/task_graph.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/profiler/span.hpp"

namespace miso::nexus {

namespace {

constexpr const char* kName = "nexus.blocked_sum";
constexpr const char* kKind = "int32";

std::uint64_t sum_of_squares(const std::int32_t* v, std::size_t n) noexcept {
  std::uint64_t s = 0;  // modulo 2^64: exact and independent of the order of blocks
  for (std::size_t i = 0; i < n; ++i) {
    auto x = static_cast<std::int64_t>(v[i]);
    s += static_cast<std::uint64_t>(x * x);
  }
  return s;
}

}  // namespace

void BlockedSumWorkload::prepare(const profiler::WorkloadContext& ctx) {
  MISO_PROFILE_SCOPE("nexus.blocked_sum.prepare");
  if (ctx.data_dir.empty()) {
    seed_ = ctx.seed;
    values_.resize(profiler::target_bytes(ctx.size) / sizeof(std::int32_t));
    core::SplitMix64 rng(ctx.seed);
    for (std::int32_t& v : values_) v = static_cast<std::int32_t>(rng.next());
  } else {
    values_ =
        profiler::read_data_array<std::int32_t>(profiler::input_file(ctx.data_dir, kName, ctx.size), kKind, seed_);
  }
  expected_ = sum_of_squares(values_.data(), values_.size());
}

void BlockedSumWorkload::run(const profiler::WorkloadContext&) {
  const std::size_t blocks = (values_.size() + kBlock - 1) / kBlock;
  std::vector<std::uint64_t> partial(std::max<std::size_t>(blocks, 1), 0);
  TaskGraph graph;
  std::vector<TaskGraph::Node> level;
  for (std::size_t b = 0; b < blocks; ++b) {
    level.push_back(graph.add("block", [this, b, &partial] {
      std::size_t begin = b * kBlock;
      partial[b] = sum_of_squares(values_.data() + begin, std::min(kBlock, values_.size() - begin));
    }));
  }
  // Combine pairwise: after the tree, partial[0] holds the total.
  for (std::size_t stride = 1; level.size() > 1; stride *= 2) {
    std::vector<TaskGraph::Node> next;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      std::size_t left = i * stride, right = (i + 1) * stride;
      TaskGraph::Node n = graph.add("combine", [left, right, &partial] { partial[left] += partial[right]; });
      graph.precede(level[i], n);
      graph.precede(level[i + 1], n);
      next.push_back(n);
    }
    if (level.size() % 2 == 1) next.push_back(level.back());
    level = std::move(next);
  }
  graph.run();
  tasks_ = graph.size();
  result_ = partial[0];
}

profiler::CheckResult BlockedSumWorkload::check() const {
  if (result_ != expected_) {
    return {false,
            "task-graph sum " + std::to_string(result_) + " differs from the sequential " + std::to_string(expected_)};
  }
  return {true, std::to_string(values_.size()) + " values summed by " + std::to_string(tasks_) +
                    " graph tasks, equal to the sequential sum"};
}

std::vector<std::filesystem::path> BlockedSumWorkload::save_input(const profiler::WorkloadContext& ctx,
                                                                  const std::filesystem::path& dir) const {
  auto path = profiler::input_file(dir, kName, ctx.size);
  profiler::write_data_file(path, kKind, seed_, std::as_bytes(std::span(values_)));
  return {path};
}

void register_workloads(profiler::WorkloadRegistry& registry) {
  registry.add({kName, "nexus", "task graph of block sums and a combine tree over a generated array, verified",
                [] { return std::make_unique<BlockedSumWorkload>(); }});
}

}  // namespace miso::nexus
