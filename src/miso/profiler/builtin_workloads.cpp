#include "miso/profiler/builtin_workloads.hpp"

#include "miso/profiler/file_roundtrip_workload.hpp"
#include "miso/profiler/sort_workload.hpp"

namespace miso::profiler {

void register_profiler_workloads(WorkloadRegistry& registry) {
  registry.add({"profiler.sort", "profiler", "parallel sort of generated 16-byte records, verified",
                [] { return std::make_unique<SortWorkload>(); }});
  registry.add({"profiler.file_roundtrip", "profiler", "write the data set to disk, read it back, verify",
                [] { return std::make_unique<FileRoundtripWorkload>(); }});
}

}  // namespace miso::profiler
