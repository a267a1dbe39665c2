// Every component's workloads, as `miso profile` and `miso data gen` see them.
#pragma once

#include "miso/profiler/workload.hpp"

namespace miso::app {

miso::profiler::WorkloadRegistry all_workloads();

}  // namespace miso::app
