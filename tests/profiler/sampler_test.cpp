#include "miso/profiler/sampler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "miso/profiler/thread_registry.hpp"

namespace miso::profiler {
namespace {

const Series* find(const Sampler& s, const std::string& name) {
  for (const Series& series : s.series()) {
    if (series.name == name) return &series;
  }
  return nullptr;
}

TEST(Sampler, SamplesMetricsMemoryAndThreadClocks) {
  register_thread();
  Metric& depth = gauge("test.sampler.depth");
  depth.set(5);
  Sampler sampler(std::chrono::milliseconds(2));
  sampler.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  depth.set(9);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  sampler.stop();
  EXPECT_GE(sampler.samples_taken(), 3u);
  EXPECT_GT(sampler.own_cpu_ns(), 0u);  // the sampler's own cost is measured
  EXPECT_EQ(sampler.period(), std::chrono::milliseconds(2));

  const Series* d = find(sampler, "test.sampler.depth");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->values.front(), 5);
  EXPECT_EQ(d->values.back(), 9);
  EXPECT_EQ(d->ticks.size(), d->values.size());
  for (std::size_t i = 1; i < d->ticks.size(); ++i) EXPECT_GE(d->ticks[i], d->ticks[i - 1]);

  const Series* rss = find(sampler, "memory.rss");
  ASSERT_NE(rss, nullptr);
  EXPECT_GT(rss->values.back(), 0);
  EXPECT_EQ(rss->unit, "bytes");
  ASSERT_NE(find(sampler, "cpu.process"), nullptr);

  auto it = sampler.thread_cpu().find(current_tid());
  ASSERT_NE(it, sampler.thread_cpu().end());
  EXPECT_GE(it->second.size(), 2u);
  EXPECT_GE(it->second.back().cpu_ns, it->second.front().cpu_ns);
}

TEST(Sampler, StopWithoutStartAndManualSamples) {
  Sampler sampler;
  sampler.stop();
  EXPECT_EQ(sampler.samples_taken(), 0u);
  sampler.sample_now();
  sampler.sample_now();
  EXPECT_EQ(sampler.samples_taken(), 2u);
  const Series* rss = find(sampler, "memory.rss");
  ASSERT_NE(rss, nullptr);
  EXPECT_EQ(rss->values.size(), 2u);
}

}  // namespace
}  // namespace miso::profiler
