#include "miso/profiler/chrome_trace.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "miso/core/file.hpp"
#include "test_dir.hpp"

namespace miso::profiler {
namespace {

using ChromeTraceTest = miso::testing::TempDirTest;

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
  std::string out;
  append_json_string(out, "a\"b\\c\nd\te\x01");
  EXPECT_EQ(out, R"("a\"b\\c\nd\te\u0001")");
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), "a\"b\\c\nd\te\x01");
}

TEST_F(ChromeTraceTest, WritesValidTraceEventFormat) {
  static constexpr SpanSite A{"comp.op", "", 0}, B{"comp.\"quoted\"", "", 0};
  ThreadSnapshot t;
  t.tid = 11;
  t.name = "worker \"1\"";
  t.events = {{&B, 1500, 2500, 1}, {&A, 1000, 5000, 0}};
  Series s{"memory.rss", "bytes", MetricKind::Gauge, {1000, 3000}, {100.0, 250.5}};
  write_chrome_trace(dir_ / "trace.json", {t}, {s}, 1.0, 1000);
  auto doc = nlohmann::json::parse(core::read_file(dir_ / "trace.json"));
  const auto& events = doc.at("traceEvents");
  int spans = 0, counters = 0, names = 0;
  for (const auto& e : events) {
    std::string ph = e.at("ph");
    if (ph == "X") {
      ++spans;
      EXPECT_EQ(e.at("tid"), 11);
      EXPECT_EQ(e.at("cat"), "comp");
      if (e.at("name") == "comp.op") {
        EXPECT_DOUBLE_EQ(e.at("ts").get<double>(), 0.0);
        EXPECT_DOUBLE_EQ(e.at("dur").get<double>(), 4.0);  // 4000 ns = 4 us
      } else {
        EXPECT_EQ(e.at("name"), "comp.\"quoted\"");
        EXPECT_DOUBLE_EQ(e.at("ts").get<double>(), 0.5);
      }
    } else if (ph == "C") {
      ++counters;
      EXPECT_EQ(e.at("name"), "memory.rss");
    } else if (ph == "M" && e.at("name") == "thread_name") {
      ++names;
      EXPECT_EQ(e.at("args").at("name"), "worker \"1\"");
    }
  }
  EXPECT_EQ(spans, 2);
  EXPECT_EQ(counters, 2);
  EXPECT_EQ(names, 1);
  EXPECT_EQ(doc.at("otherData").at("span_events"), 2);
  EXPECT_EQ(doc.at("otherData").at("dropped_span_events"), 0);
}

}  // namespace
}  // namespace miso::profiler
