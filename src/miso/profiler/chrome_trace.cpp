#include "miso/profiler/chrome_trace.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "miso/core/file.hpp"
#include "miso/profiler/analysis.hpp"
#include "miso/profiler/io.hpp"

namespace miso::profiler {

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void write_chrome_trace(const std::filesystem::path& path, const std::vector<ThreadSnapshot>& threads,
                        const std::vector<Series>& series, double ns_per_tick, std::uint64_t origin_tick) {
  IoScope io("profiler.report.write_trace", IoDirection::Write);
  core::AtomicFile file(path);
  std::string buf;
  buf.reserve(1 << 20);
  const int pid = static_cast<int>(::getpid());
  bool first = true;
  auto begin_event = [&] {
    if (!first) buf += ",\n";
    first = false;
    if (buf.size() > (1 << 20) - 4096) {
      file.write(buf);
      io.add_bytes(buf.size());
      buf.clear();
    }
  };
  auto us = [&](std::uint64_t tick) {
    double ns = tick >= origin_tick ? static_cast<double>(tick - origin_tick) * ns_per_tick
                                    : -static_cast<double>(origin_tick - tick) * ns_per_tick;
    return ns / 1000.0;
  };

  buf += "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  begin_event();
  buf += fmt::format(R"({{"name":"process_name","ph":"M","pid":{},"args":{{"name":"miso"}}}})", pid);

  std::uint64_t written = 0, dropped = 0;
  for (const ThreadSnapshot& t : threads) {
    begin_event();
    buf += fmt::format(R"({{"name":"thread_name","ph":"M","pid":{},"tid":{},"args":{{"name":)", pid, t.tid);
    append_json_string(buf, t.name);
    buf += "}}";
    for (const ThreadSpanEvent& e : t.events) {
      if (written >= kMaxTraceEvents) {
        ++dropped;
        continue;
      }
      ++written;
      begin_event();
      buf += R"({"name":)";
      append_json_string(buf, e.site->name);
      buf += R"(,"cat":)";
      append_json_string(buf, component_of(e.site->name));
      buf += fmt::format(R"(,"ph":"X","ts":{:.3f},"dur":{:.3f},"pid":{},"tid":{}}})", us(e.start),
                         static_cast<double>(e.end - e.start) * ns_per_tick / 1000.0, pid, t.tid);
    }
  }
  for (const Series& s : series) {
    double scale = s.unit == "ticks" ? ns_per_tick : 1.0;
    for (std::size_t i = 0; i < s.ticks.size(); ++i) {
      begin_event();
      buf += R"({"name":)";
      append_json_string(buf, s.name);
      buf += fmt::format(R"(,"ph":"C","ts":{:.3f},"pid":{},"args":{{"value":{}}}}})", us(s.ticks[i]), pid,
                         s.values[i] * scale);
    }
  }
  buf += fmt::format("\n],\"otherData\":{{\"generator\":\"miso\",\"span_events\":{},\"dropped_span_events\":{}}}}}\n",
                     written, dropped);
  file.write(buf);
  io.add_bytes(buf.size());
  file.commit(false);
}

}  // namespace miso::profiler
