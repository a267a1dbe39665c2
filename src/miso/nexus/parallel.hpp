// Data-parallel loops on an Executor: parallel_for splits a range recursively
// (the spawned halves are what idle workers steal), parallel_reduce combines
// per-chunk results in a fixed order, so floating-point results do not depend on
// the schedule.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "miso/nexus/task_group.hpp"
#include "miso/profiler/span.hpp"

namespace miso::nexus {

// The default grain: about 64 pieces per slot. Lazy splitting spawns far fewer
// tasks than that (see split_for); the small pieces only let the last of the
// work spread evenly over the slots.
inline std::size_t auto_grain(std::size_t n, const Executor& executor) {
  std::size_t pieces = 64 * static_cast<std::size_t>(executor.concurrency());
  return std::max<std::size_t>(1, (n + pieces - 1) / pieces);
}

namespace detail {

// Lazy binary splitting (Tzannes et al., PPoPP 2010): run the range a grain at a
// time, and split off the upper half of what is left only when our own queue is
// empty, that is, when a thief took what we offered last or nothing was offered
// yet. Tasks are made on demand: few when every slot is busy, halves that shrink
// towards the end so the slots finish together.
template <typename Body>
void split_for(TaskGroup& group, std::size_t begin, std::size_t end, std::size_t grain, const Body& body) {
  Executor& executor = group.executor();
  const Priority priority = group.options().priority;
  while (end - begin > grain) {
    if (executor.local_queue_empty(priority)) {
      std::size_t mid = begin + (end - begin) / 2;
      group.spawn([&group, mid, end, grain, &body] { split_for(group, mid, end, grain, body); });
      end = mid;
      continue;
    }
    body(begin, begin + grain);
    begin += grain;
  }
  body(begin, end);
}

}  // namespace detail

// body(chunk_begin, chunk_end) for disjoint chunks covering [begin, end), none
// longer than `grain`; grain = 0 chooses one (auto_grain). The calling thread
// works too. Rethrows the first exception of a body.
template <typename Body>
void parallel_for(std::size_t begin, std::size_t end, const Body& body, std::size_t grain = 0,
                  Executor& executor = Executor::global(), JobOptions options = {}) {
  MISO_PROFILE_SCOPE("nexus.parallel_for");
  if (end <= begin) return;
  if (grain == 0) grain = auto_grain(end - begin, executor);
  TaskGroup group(executor, options);
  group.run_and_wait([&group, begin, end, grain, &body] { detail::split_for(group, begin, end, grain, body); });
}

// Reduces [begin, end): map(chunk_begin, chunk_end) -> T per chunk, then
// combine(acc, chunk) left to right from `identity`. Deterministic for a given grain.
template <typename T, typename Map, typename Combine>
T parallel_reduce(std::size_t begin, std::size_t end, T identity, const Map& map, const Combine& combine,
                  std::size_t grain = 0, Executor& executor = Executor::global()) {
  MISO_PROFILE_SCOPE("nexus.parallel_reduce");
  if (end <= begin) return identity;
  if (grain == 0) grain = auto_grain(end - begin, executor);
  std::size_t chunks = (end - begin + grain - 1) / grain;
  std::vector<T> partial(chunks, identity);
  parallel_for(
      0, chunks,
      [&](std::size_t c0, std::size_t c1) {
        for (std::size_t c = c0; c < c1; ++c) {
          std::size_t b = begin + c * grain;
          partial[c] = map(b, std::min(end, b + grain));
        }
      },
      1, executor);
  T acc = identity;
  for (T& p : partial) acc = combine(std::move(acc), std::move(p));
  return acc;
}

}  // namespace miso::nexus
