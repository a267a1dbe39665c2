// Registers the profiler's own workloads (profiler.sort, profiler.file_roundtrip).
#pragma once

#include "miso/profiler/workload.hpp"

namespace miso::profiler {

void register_profiler_workloads(WorkloadRegistry& registry);

}  // namespace miso::profiler
