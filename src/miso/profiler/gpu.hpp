// GPU measurement. Two halves, both real and both extension points:
//  - a GpuMonitor samples device utilisation and memory; the default one reads
//    NVIDIA's management library (NVML) when a driver is installed, loaded at run
//    time so the build needs no CUDA;
//  - GPU backends (the CUDA tmath backend) report their transfers, synchronisation
//    waits and kernel times through record_gpu_*; these become counters, series
//    and spans like everything else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "miso/profiler/span.hpp"

namespace miso::profiler {

struct GpuDeviceSample {
  int index = 0;
  std::string name;
  double utilization_pct = 0;         // share of time a kernel ran
  double memory_utilization_pct = 0;  // share of time device memory was read or written
  std::uint64_t memory_used_bytes = 0;
  std::uint64_t memory_total_bytes = 0;
};

class GpuMonitor {
 public:
  virtual ~GpuMonitor() = default;
  virtual std::string backend() const = 0;  // "nvml", ...
  virtual std::vector<GpuDeviceSample> sample() = 0;
};

// The NVML monitor, or nullptr with `reason` saying why there is none.
std::unique_ptr<GpuMonitor> open_nvml_monitor(std::string& reason);

// Replaces the monitor the sampler uses (tests, other vendors); nullptr = none.
void set_gpu_monitor(std::unique_ptr<GpuMonitor> monitor, std::string reason_if_none = "");
// The active monitor, opening NVML on first use. Not thread-safe against
// set_gpu_monitor; the sampler is its only other user.
GpuMonitor* gpu_monitor();
std::string gpu_unavailable_reason();

enum class GpuTransfer { HostToDevice, DeviceToHost, DeviceToDevice };
const char* to_string(GpuTransfer kind) noexcept;

// Called by GPU backends. Times are host-side nanoseconds.
void record_gpu_transfer(GpuTransfer kind, std::uint64_t bytes, std::uint64_t ns) noexcept;
// The host thread blocked waiting for the device (stream or device synchronise).
void record_gpu_wait(std::uint64_t start_ticks, std::uint64_t end_ticks) noexcept;
// Device time of one kernel, as measured by the backend's device events.
void record_gpu_kernel(std::uint64_t ns) noexcept;

struct GpuActivity {
  std::uint64_t transfers[3] = {0, 0, 0};  // by GpuTransfer
  std::uint64_t transfer_bytes[3] = {0, 0, 0};
  std::uint64_t transfer_ns[3] = {0, 0, 0};
  std::uint64_t waits = 0;
  std::uint64_t wait_ns = 0;
  std::uint64_t kernels = 0;
  std::uint64_t kernel_ns = 0;
};
GpuActivity read_gpu_activity();

}  // namespace miso::profiler
