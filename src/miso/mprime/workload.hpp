// MPRIME's workload for `miso profile`: "mprime.corpus". A generated corpus of
// expressions (about 1 MB / 100 MB / 1 GB of text for small / medium / large)
// is parsed, simplified, differentiated and evaluated; the self-check compares
// every symbolic derivative with a central finite difference at random points.
#pragma once

#include "miso/profiler/workload.hpp"

namespace miso::mprime {

void register_workloads(profiler::WorkloadRegistry& registry);

}  // namespace miso::mprime
