#include "miso/profiler/gpu.hpp"

#include <dlfcn.h>

#include <mutex>

#include "miso/profiler/metric.hpp"

namespace miso::profiler {

namespace {

// The few NVML entry points we use, declared from NVML's stable C ABI.
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
struct nvmlUtilization_t {
  unsigned gpu;
  unsigned memory;
};
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

class NvmlMonitor final : public GpuMonitor {
 public:
  NvmlMonitor(void* lib, std::string& reason) : lib_(lib) {
    init_ = load<nvmlReturn_t (*)()>("nvmlInit_v2");
    shutdown_ = load<nvmlReturn_t (*)()>("nvmlShutdown");
    count_ = load<nvmlReturn_t (*)(unsigned*)>("nvmlDeviceGetCount_v2");
    handle_ = load<nvmlReturn_t (*)(unsigned, nvmlDevice_t*)>("nvmlDeviceGetHandleByIndex_v2");
    util_ = load<nvmlReturn_t (*)(nvmlDevice_t, nvmlUtilization_t*)>("nvmlDeviceGetUtilizationRates");
    memory_ = load<nvmlReturn_t (*)(nvmlDevice_t, nvmlMemory_t*)>("nvmlDeviceGetMemoryInfo");
    name_ = load<nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned)>("nvmlDeviceGetName");
    if (!init_ || !shutdown_ || !count_ || !handle_ || !util_ || !memory_ || !name_) {
      reason = "libnvidia-ml lacks an expected NVML entry point";
      return;
    }
    if (init_() != 0) {
      reason = "nvmlInit failed (driver not loaded?)";
      return;
    }
    initialised_ = true;
    unsigned n = 0;
    if (count_(&n) != 0 || n == 0) {
      reason = "NVML reports no GPU";
      return;
    }
    for (unsigned i = 0; i < n; ++i) {
      nvmlDevice_t d = nullptr;
      if (handle_(i, &d) != 0) continue;
      char buf[96] = {};
      name_(d, buf, sizeof buf);
      devices_.push_back({d, buf});
    }
    if (devices_.empty()) reason = "NVML returned no usable device handle";
  }
  ~NvmlMonitor() override {
    if (initialised_) shutdown_();
    dlclose(lib_);
  }
  bool ok() const { return initialised_ && !devices_.empty(); }
  std::string backend() const override { return "nvml"; }
  std::vector<GpuDeviceSample> sample() override {
    std::vector<GpuDeviceSample> out;
    for (std::size_t i = 0; i < devices_.size(); ++i) {
      GpuDeviceSample s;
      s.index = static_cast<int>(i);
      s.name = devices_[i].name;
      nvmlUtilization_t u{};
      if (util_(devices_[i].handle, &u) == 0) {
        s.utilization_pct = u.gpu;
        s.memory_utilization_pct = u.memory;
      }
      nvmlMemory_t m{};
      if (memory_(devices_[i].handle, &m) == 0) {
        s.memory_used_bytes = m.used;
        s.memory_total_bytes = m.total;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

 private:
  template <typename F>
  F load(const char* symbol) {
    return reinterpret_cast<F>(dlsym(lib_, symbol));
  }
  struct Device {
    nvmlDevice_t handle;
    std::string name;
  };
  void* lib_;
  bool initialised_ = false;
  nvmlReturn_t (*init_)() = nullptr;
  nvmlReturn_t (*shutdown_)() = nullptr;
  nvmlReturn_t (*count_)(unsigned*) = nullptr;
  nvmlReturn_t (*handle_)(unsigned, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*util_)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*memory_)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*name_)(nvmlDevice_t, char*, unsigned) = nullptr;
  std::vector<Device> devices_;
};

struct MonitorSlot {
  std::mutex mutex;
  bool opened = false;
  std::unique_ptr<GpuMonitor> monitor;
  std::string reason;
};

MonitorSlot& slot() {
  static MonitorSlot s;
  return s;
}

struct GpuMetrics {
  Metric* count[3];
  Metric* bytes[3];
  Metric* ns[3];
  Metric* waits;
  Metric* wait_ticks;
  Metric* kernels;
  Metric* kernel_ns;
};

const GpuMetrics& gpu_metrics() {
  static const GpuMetrics m = [] {
    GpuMetrics g{};
    const char* kinds[3] = {"h2d", "d2h", "d2d"};
    for (int i = 0; i < 3; ++i) {
      std::string base = std::string("gpu.transfer.") + kinds[i];
      g.count[i] = &counter(base + ".count");
      g.bytes[i] = &counter(base + ".bytes", "bytes");
      g.ns[i] = &counter(base + ".time", "ns");
    }
    g.waits = &counter("gpu.wait.count");
    g.wait_ticks = &counter("gpu.wait.time", "ticks");
    g.kernels = &counter("gpu.kernel.count");
    g.kernel_ns = &counter("gpu.kernel.time", "ns");
    return g;
  }();
  return m;
}

constexpr SpanSite kGpuWaitSite{"gpu.wait", __FILE__, __LINE__};

}  // namespace

std::unique_ptr<GpuMonitor> open_nvml_monitor(std::string& reason) {
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    reason = "no NVIDIA driver library (libnvidia-ml.so.1) on this machine";
    return nullptr;
  }
  auto monitor = std::make_unique<NvmlMonitor>(lib, reason);
  if (!monitor->ok()) return nullptr;
  return monitor;
}

void set_gpu_monitor(std::unique_ptr<GpuMonitor> monitor, std::string reason_if_none) {
  MonitorSlot& s = slot();
  std::lock_guard lock(s.mutex);
  s.opened = true;
  s.monitor = std::move(monitor);
  s.reason = s.monitor ? "" : std::move(reason_if_none);
}

GpuMonitor* gpu_monitor() {
  MonitorSlot& s = slot();
  std::lock_guard lock(s.mutex);
  if (!s.opened) {
    s.opened = true;
    s.monitor = open_nvml_monitor(s.reason);
  }
  return s.monitor.get();
}

std::string gpu_unavailable_reason() {
  (void)gpu_monitor();
  MonitorSlot& s = slot();
  std::lock_guard lock(s.mutex);
  return s.reason;
}

const char* to_string(GpuTransfer kind) noexcept {
  switch (kind) {
    case GpuTransfer::HostToDevice: return "host_to_device";
    case GpuTransfer::DeviceToHost: return "device_to_host";
    case GpuTransfer::DeviceToDevice: return "device_to_device";
  }
  return "?";
}

void record_gpu_transfer(GpuTransfer kind, std::uint64_t bytes, std::uint64_t ns) noexcept {
  const GpuMetrics& m = gpu_metrics();
  auto i = static_cast<int>(kind);
  m.count[i]->add(1);
  m.bytes[i]->add(static_cast<std::int64_t>(bytes));
  m.ns[i]->add(static_cast<std::int64_t>(ns));
}

void record_gpu_wait(std::uint64_t start_ticks, std::uint64_t end_ticks) noexcept {
  const GpuMetrics& m = gpu_metrics();
  m.waits->add(1);
  m.wait_ticks->add(static_cast<std::int64_t>(end_ticks - start_ticks));
  record_span(kGpuWaitSite, start_ticks, end_ticks);
}

void record_gpu_kernel(std::uint64_t ns) noexcept {
  const GpuMetrics& m = gpu_metrics();
  m.kernels->add(1);
  m.kernel_ns->add(static_cast<std::int64_t>(ns));
}

GpuActivity read_gpu_activity() {
  const GpuMetrics& m = gpu_metrics();
  GpuActivity a;
  for (int i = 0; i < 3; ++i) {
    a.transfers[i] = static_cast<std::uint64_t>(m.count[i]->value());
    a.transfer_bytes[i] = static_cast<std::uint64_t>(m.bytes[i]->value());
    a.transfer_ns[i] = static_cast<std::uint64_t>(m.ns[i]->value());
  }
  a.waits = static_cast<std::uint64_t>(m.waits->value());
  a.wait_ns = static_cast<std::uint64_t>(static_cast<double>(m.wait_ticks->value()) * ns_per_tick());
  a.kernels = static_cast<std::uint64_t>(m.kernels->value());
  a.kernel_ns = static_cast<std::uint64_t>(m.kernel_ns->value());
  return a;
}

}  // namespace miso::profiler
