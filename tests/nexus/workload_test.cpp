#include "miso/nexus/workload.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace miso::nexus {
namespace {

TEST(BlockedSumWorkload, RunsChecksAndRoundTripsItsInput) {
  auto dir = std::filesystem::temp_directory_path() / ("miso_nexus_workload_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  profiler::WorkloadContext ctx{profiler::DataSize::Small, 5, {}, dir, 0};
  BlockedSumWorkload w;
  w.prepare(ctx);
  EXPECT_EQ(w.input_bytes(), 1u << 20);
  EXPECT_FALSE(w.check().passed);  // not run yet: no result
  w.run(ctx);
  profiler::CheckResult r = w.check();
  EXPECT_TRUE(r.passed) << r.detail;
  EXPECT_NE(r.detail.find("262144 values"), std::string::npos) << r.detail;

  auto files = w.save_input(ctx, dir);
  ASSERT_EQ(files.size(), 1u);
  profiler::WorkloadContext load{profiler::DataSize::Small, 0, dir, dir, 0};
  BlockedSumWorkload again;
  again.prepare(load);
  again.run(load);
  EXPECT_TRUE(again.check().passed);

  profiler::WorkloadRegistry registry;
  register_workloads(registry);
  ASSERT_EQ(registry.all().size(), 1u);
  EXPECT_EQ(registry.all()[0].name, "nexus.blocked_sum");
  EXPECT_EQ(registry.all()[0].component, "nexus");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace miso::nexus
