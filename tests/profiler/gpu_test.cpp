#include "miso/profiler/gpu.hpp"

#include <gtest/gtest.h>

namespace miso::profiler {
namespace {

class FakeMonitor final : public GpuMonitor {
 public:
  std::string backend() const override { return "fake"; }
  std::vector<GpuDeviceSample> sample() override { return {{0, "Fake GPU", 42.0, 7.0, 1 << 20, 1 << 30}}; }
};

TEST(Gpu, NvmlEitherOpensOrSaysWhyNot) {
  std::string reason;
  auto monitor = open_nvml_monitor(reason);
  if (monitor) {
    EXPECT_EQ(monitor->backend(), "nvml");
    auto samples = monitor->sample();
    ASSERT_FALSE(samples.empty());
    EXPECT_GT(samples[0].memory_total_bytes, 0u);
    EXPECT_GE(samples[0].utilization_pct, 0.0);
    EXPECT_LE(samples[0].utilization_pct, 100.0);
  } else {
    EXPECT_FALSE(reason.empty());
  }
}

TEST(Gpu, MonitorCanBeReplaced) {
  set_gpu_monitor(std::make_unique<FakeMonitor>());
  ASSERT_NE(gpu_monitor(), nullptr);
  EXPECT_EQ(gpu_monitor()->backend(), "fake");
  EXPECT_EQ(gpu_monitor()->sample().at(0).utilization_pct, 42.0);
  EXPECT_TRUE(gpu_unavailable_reason().empty());
  set_gpu_monitor(nullptr, "disabled by test");
  EXPECT_EQ(gpu_monitor(), nullptr);
  EXPECT_EQ(gpu_unavailable_reason(), "disabled by test");
}

TEST(Gpu, BackendEventsAccumulate) {
  GpuActivity before = read_gpu_activity();
  record_gpu_transfer(GpuTransfer::HostToDevice, 4096, 1500);
  record_gpu_transfer(GpuTransfer::HostToDevice, 4096, 500);
  record_gpu_transfer(GpuTransfer::DeviceToHost, 10, 100);
  std::uint64_t t = now_ticks();
  record_gpu_wait(t, t + 1000);
  record_gpu_kernel(777);
  GpuActivity after = read_gpu_activity();
  EXPECT_EQ(after.transfers[0] - before.transfers[0], 2u);
  EXPECT_EQ(after.transfer_bytes[0] - before.transfer_bytes[0], 8192u);
  EXPECT_EQ(after.transfer_ns[0] - before.transfer_ns[0], 2000u);
  EXPECT_EQ(after.transfers[1] - before.transfers[1], 1u);
  EXPECT_EQ(after.transfers[2] - before.transfers[2], 0u);
  EXPECT_EQ(after.waits - before.waits, 1u);
  EXPECT_GT(after.wait_ns, before.wait_ns);
  EXPECT_EQ(after.kernels - before.kernels, 1u);
  EXPECT_EQ(after.kernel_ns - before.kernel_ns, 777u);
  EXPECT_STREQ(to_string(GpuTransfer::DeviceToDevice), "device_to_device");
}

}  // namespace
}  // namespace miso::profiler
