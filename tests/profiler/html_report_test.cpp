#include "miso/profiler/html_report.hpp"

#include <gtest/gtest.h>

namespace miso::profiler {
namespace {

TEST(HtmlReport, FormatsTimesAndBytes) {
  EXPECT_EQ(format_ns(512), "512 ns");
  EXPECT_EQ(format_ns(1500), "1.5 µs");
  EXPECT_EQ(format_ns(2.5e6), "2.5 ms");
  EXPECT_EQ(format_ns(3e9), "3 s");
  EXPECT_EQ(format_bytes(100), "100 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(3.0 * (1 << 30)), "3.0 GiB");
}

TEST(HtmlReport, RendersEverySectionSelfContainedAndEscaped) {
  nlohmann::json r = {
      {"schema", "miso-profile-report"},
      {"version", 1},
      {"created", "2026-01-01T00:00:00Z"},
      {"checks_passed", true},
      {"duration_ns", 1e6},
      {"machine", {{"cpu_model", "CPU <fast>"}, {"logical_cpus", 2}, {"memory_bytes", 1e9}}},
      {"config", {{"sample_period_ns", 5e6}}},
      {"clock", {{"source", "tsc"}}},
      {"workloads",
       {{{"name", "w.<script>"},
         {"size", "small"},
         {"input_bytes", 1024},
         {"wall_ns", 5e5},
         {"start_ns", 1e5},
         {"cpu_load", 1.5},
         {"memory", {{"peak_bytes", 2048}, {"allocations", 3}}},
         {"io", {{"read_bytes", 10}, {"write_bytes", 20}}},
         {"check", {{"passed", true}, {"detail", "ok"}}}}}},
      {"components",
       {{{"name", "w"},
         {"self_ns", 4e5},
         {"cpu_ns", 3e5},
         {"memory", {{"peak_bytes", 1}, {"live_bytes", 0}, {"allocated_bytes", 1}, {"allocations", 1}}}}}},
      {"spans",
       {{{"name", "w.op"},
         {"count", 2},
         {"total_ns", 4e5},
         {"self_ns", 4e5},
         {"cpu_ns", 1},
         {"min_ns", 1},
         {"median_ns", 2},
         {"p99_ns", 3},
         {"max_ns", 4}}}},
      {"series",
       {{{"name", "memory.rss"}, {"t_ns", {0, 5e5, 1e6}}, {"values", {1e6, 2e6, 1.5e6}}},
        {{"name", "thread.5.utilization"}, {"t_ns", {5e5, 1e6}}, {"values", {0.5, 1.0}}}}},
      {"memory",
       {{"peak_rss_bytes", 2e6},
        {"profiler_buffer_bytes", 1},
        {"fragmentation", {{"available", true}, {"value", 0.25}}}}},
      {"threads",
       {{{"tid", 5},
         {"name", "main"},
         {"lifetime_ns", 1e6},
         {"busy_ns", 7e5},
         {"idle_ns", 3e5},
         {"utilization", 0.7},
         {"spans", 2}}}},
      {"cpu", {{"process_cpu_ns", 7e5}, {"average_load", 0.7}, {"logical_cpus", 2}}},
      {"locks", {{{"name", "q.lock"}, {"acquisitions", 4}, {"contended", 1}, {"wait_ns", 100}, {"max_wait_ns", 100}}}},
      {"io", {{"process", {{"available", false}}}, {"sites", nlohmann::json::array()}}},
      {"counters", {{"cycles", {{"available", false}, {"reason", "no PMU"}}}}},
      {"gpu",
       {{"available", false},
        {"reason", "no driver"},
        {"transfers", nlohmann::json::object()},
        {"waits", {{"count", 0}, {"time_ns", 0}}},
        {"kernels", {{"count", 0}, {"time_ns", 0}}}}},
      {"scaling",
       {{{"workload", "w.op"}, {"sizes", {"small", "medium"}}, {"time_exponent", 1.02}, {"memory_exponent", nullptr}}}},
  };
  std::string html = render_html_report(r);
  for (const char* needle : {"<h2>Workloads", "<h2>Time per component", "<h2>Top spans", "<h2>Memory over time",
                             "<h2>Threads", "<h2>Lock waits", "<h2>I/O", "<h2>Event counters", "<h2>GPU", "<h2>Scaling",
                             "q.lock", "no PMU", "no driver", "1.02", "25.0%"}) {
    EXPECT_NE(html.find(needle), std::string::npos) << needle;
  }
  EXPECT_EQ(html.find("<script"), std::string::npos);  // names are escaped, no scripts
  EXPECT_NE(html.find("w.&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);  // self-contained
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_GE(std::count(html.begin(), html.end(), '<'), 100);
}

}  // namespace
}  // namespace miso::profiler
