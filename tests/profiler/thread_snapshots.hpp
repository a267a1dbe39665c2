// Finding one thread's snapshot among those the registry returned.
#pragma once

#include <vector>

#include "miso/profiler/thread_registry.hpp"

namespace miso::testing {

inline const profiler::ThreadSnapshot* find_thread(const std::vector<profiler::ThreadSnapshot>& threads, int tid) {
  for (const profiler::ThreadSnapshot& t : threads) {
    if (t.tid == tid) return &t;
  }
  return nullptr;
}

}  // namespace miso::testing
