#include "miso/profiler/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace miso::profiler {

namespace {

using json = nlohmann::json;

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }
double num(const json& j) { return j.is_number() ? j.get<double>() : 0.0; }

const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

// A line chart of several series sharing the time axis, with workload windows shaded.
std::string line_chart(const std::vector<const json*>& series, const json& workloads, double duration_ns,
                       const std::string& unit) {
  const double w = 900, h = 260, left = 80, right = 160, top = 10, bottom = 30;
  double ymax = 0;
  for (const json* s : series) {
    for (const json& v : (*s)["values"]) ymax = std::max(ymax, num(v));
  }
  if (ymax <= 0) ymax = 1;
  if (duration_ns <= 0) duration_ns = 1;
  auto x = [&](double t) { return left + (w - left - right) * std::clamp(t / duration_ns, 0.0, 1.0); };
  auto y = [&](double v) { return top + (h - top - bottom) * (1.0 - v / ymax); };
  auto label = [&](double v) { return unit == "bytes" ? format_bytes(v) : fmt::format("{:.3g}", v); };
  std::string svg = fmt::format(R"(<svg viewBox="0 0 {} {}" width="{}" height="{}" role="img">)", w, h, w, h);
  int wi = 0;
  for (const json& wl : workloads) {
    double x0 = x(num(wl["start_ns"])), x1 = x(num(wl["start_ns"]) + num(wl["wall_ns"]));
    svg += fmt::format(
        R"(<rect x="{:.1f}" y="{}" width="{:.1f}" height="{}" fill="{}" opacity="0.08"><title>{}</title></rect>)", x0,
        top, std::max(1.0, x1 - x0), h - top - bottom, kPalette[wi++ % 10],
        esc(str(wl["name"]) + " (" + str(wl["size"]) + ")"));
  }
  for (int i = 0; i <= 4; ++i) {
    double v = ymax * i / 4;
    svg += fmt::format(R"(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#ddd"/>)", left, w - right, y(v), y(v));
    svg += fmt::format(R"(<text x="{}" y="{:.1f}" font-size="10" text-anchor="end">{}</text>)", left - 4, y(v) + 3,
                       esc(label(v)));
  }
  svg += fmt::format(
      R"(<text x="{}" y="{}" font-size="10">0</text><text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>)",
      left, h - 12, w - right, h - 12, esc(format_ns(duration_ns)));
  int i = 0;
  for (const json* s : series) {
    std::string points;
    const json& t = (*s)["t_ns"];
    const json& v = (*s)["values"];
    for (std::size_t k = 0; k < t.size(); ++k) points += fmt::format("{:.1f},{:.1f} ", x(num(t[k])), y(num(v[k])));
    const char* colour = kPalette[i % 10];
    svg += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>)", colour, points);
    svg += fmt::format(R"(<text x="{}" y="{}" font-size="11" fill="{}">{}</text>)", w - right + 8, top + 14 * (i + 1),
                       colour, esc(str((*s)["name"])));
    ++i;
  }
  return svg + "</svg>";
}

std::string bar_chart(const std::vector<std::pair<std::string, double>>& bars, bool as_time) {
  const double w = 900, row = 22, left = 160, right = 120;
  double h = row * static_cast<double>(bars.size()) + 10;
  double vmax = 0;
  for (const auto& [name, v] : bars) vmax = std::max(vmax, v);
  if (vmax <= 0) vmax = 1;
  std::string svg = fmt::format(R"(<svg viewBox="0 0 {} {}" width="{}" height="{}" role="img">)", w, h, w, h);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    double y = 5 + row * static_cast<double>(i);
    double bw = (w - left - right) * bars[i].second / vmax;
    svg += fmt::format(R"(<text x="{}" y="{:.1f}" font-size="12" text-anchor="end">{}</text>)", left - 6, y + 15,
                       esc(bars[i].first));
    svg += fmt::format(R"(<rect x="{}" y="{:.1f}" width="{:.1f}" height="{}" fill="{}"/>)", left, y + 2,
                       std::max(1.0, bw), row - 6, kPalette[i % 10]);
    svg += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="11">{}</text>)", left + bw + 6, y + 15,
                       esc(as_time ? format_ns(bars[i].second) : format_bytes(bars[i].second)));
  }
  return svg + "</svg>";
}

// One row per thread; each sample interval a cell whose darkness is its CPU use.
std::string thread_chart(const json& report) {
  std::vector<std::pair<std::string, const json*>> rows;
  for (const json& t : report["threads"]) {
    std::string key = "thread." + str(t["tid"]) + ".utilization";
    for (const json& s : report["series"]) {
      if (s["name"] == key) rows.push_back({str(t["name"]) + " (" + str(t["tid"]) + ")", &s});
    }
  }
  if (rows.empty()) return "<p>No thread samples.</p>";
  const double w = 900, row = 18, left = 200, right = 20;
  double duration = std::max(1.0, num(report["duration_ns"]));
  double h = row * static_cast<double>(rows.size()) + 24;
  std::string svg = fmt::format(R"(<svg viewBox="0 0 {} {}" width="{}" height="{}" role="img">)", w, h, w, h);
  auto x = [&](double t) { return left + (w - left - right) * std::clamp(t / duration, 0.0, 1.0); };
  for (std::size_t r = 0; r < rows.size(); ++r) {
    double y = 4 + row * static_cast<double>(r);
    svg += fmt::format(R"(<text x="{}" y="{:.1f}" font-size="11" text-anchor="end">{}</text>)", left - 6, y + 12,
                       esc(rows[r].first));
    svg += fmt::format(R"(<rect x="{}" y="{:.1f}" width="{}" height="{}" fill="#f3f3f3"/>)", left, y, w - left - right,
                       row - 4);
    const json& t = (*rows[r].second)["t_ns"];
    const json& v = (*rows[r].second)["values"];
    double prev = 0;
    for (std::size_t k = 0; k < t.size(); ++k) {
      double x0 = x(prev), x1 = x(num(t[k]));
      prev = num(t[k]);
      double u = num(v[k]);
      if (u <= 0.01) continue;
      svg += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{}" fill="#2b6cb0" opacity="{:.2f}"/>)",
                         x0, y, std::max(0.5, x1 - x0), row - 4, std::clamp(u, 0.05, 1.0));
    }
  }
  svg += fmt::format(
      R"(<text x="{}" y="{:.1f}" font-size="10">0</text><text x="{}" y="{:.1f}" font-size="10" text-anchor="end">{}</text>)",
      left, h - 4, w - right, h - 4, esc(format_ns(duration)));
  return svg + "</svg>";
}

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table><thead><tr>";
  for (const std::string& hcell : head) out += "<th>" + esc(hcell) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& r : rows) {
    out += "<tr>";
    for (const std::string& c : r) out += "<td>" + c + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

}  // namespace

std::string format_ns(double ns) {
  double a = std::fabs(ns);
  if (a >= 1e9) return fmt::format("{:.3g} s", ns / 1e9);
  if (a >= 1e6) return fmt::format("{:.3g} ms", ns / 1e6);
  if (a >= 1e3) return fmt::format("{:.3g} µs", ns / 1e3);
  return fmt::format("{:.3g} ns", ns);
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double a = std::fabs(b);
  while (a >= 1024 && u < 4) {
    a /= 1024;
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string render_html_report(const json& report) {
  std::string h;
  h += R"(<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MISO profile</title><style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f5f5f5}.bad{color:#b00;font-weight:bold}.ok{color:#070}
.note{color:#666;font-size:12px}</style></head><body>)";
  bool ok = report.value("checks_passed", false);
  const json& m = report["machine"];
  h += fmt::format("<h1>MISO profile</h1><p>{} · {} · {} logical CPUs · {} · run took {} · self-checks: {}</p>",
                   esc(str(report["created"])), esc(str(m["cpu_model"])), str(m["logical_cpus"]),
                   esc(format_bytes(num(m["memory_bytes"]))), esc(format_ns(num(report["duration_ns"]))),
                   ok ? "<span class=ok>all passed</span>" : "<span class=bad>FAILED</span>");

  h += "<h2>Workloads</h2>";
  std::vector<std::vector<std::string>> rows;
  for (const json& w : report["workloads"]) {
    const json& io = w["io"];
    rows.push_back(
        {esc(str(w["name"])), esc(str(w["size"])), format_bytes(num(w["input_bytes"])), format_ns(num(w["wall_ns"])),
         fmt::format("{:.2f}", num(w["cpu_load"])), format_bytes(num(w["memory"]["peak_bytes"])),
         str(w["memory"]["allocations"]), format_bytes(num(io.value("read_bytes", json(0)))),
         format_bytes(num(io.value("write_bytes", json(0)))),
         w["check"]["passed"].get<bool>() ? "<span class=ok>ok</span>"
                                          : "<span class=bad>" + esc(str(w["check"]["detail"])) + "</span>"});
  }
  h +=
      table({"workload", "size", "input", "wall", "CPU load", "peak memory", "allocations", "read", "written", "check"},
            rows);

  h += "<h2>Time per component (self time of spans)</h2>";
  std::vector<std::pair<std::string, double>> bars;
  for (const json& c : report["components"]) {
    if (num(c["self_ns"]) > 0) bars.push_back({str(c["name"]), num(c["self_ns"])});
  }
  std::sort(bars.begin(), bars.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  h += bars.empty() ? std::string("<p>No spans recorded.</p>") : bar_chart(bars, true);

  h += "<h2>Top spans</h2>";
  rows.clear();
  int n = 0;
  for (const json& s : report["spans"]) {
    if (n++ == 40) break;
    rows.push_back({esc(str(s["name"])), str(s["count"]), format_ns(num(s["total_ns"])), format_ns(num(s["self_ns"])),
                    format_ns(num(s["cpu_ns"])), format_ns(num(s["min_ns"])), format_ns(num(s["median_ns"])),
                    format_ns(num(s["p99_ns"])), format_ns(num(s["max_ns"]))});
  }
  h += table({"span", "count", "total", "self", "CPU (est.)", "min", "median", "p99", "max"}, rows);

  h += "<h2>Memory over time</h2>";
  std::vector<const json*> mem;
  for (const json& s : report["series"]) {
    std::string name = str(s["name"]);
    if (name == "memory.rss" || name == "memory.live" || name == "memory.heap_held" ||
        (name.rfind("memory.live.", 0) == 0 && name != "memory.live.untagged")) {
      mem.push_back(&s);
    }
  }
  h += mem.empty() ? std::string("<p>No memory samples.</p>")
                   : line_chart(mem, report["workloads"], num(report["duration_ns"]), "bytes");
  const json& frag = report["memory"]["fragmentation"];
  h += fmt::format("<p>Peak RSS {} · heap fragmentation {} · profiler buffers {}</p>",
                   format_bytes(num(report["memory"]["peak_rss_bytes"])),
                   frag.value("available", false) ? fmt::format("{:.1f}%", 100 * num(frag["value"]))
                                                  : "unavailable (" + esc(str(frag["reason"])) + ")",
                   format_bytes(num(report["memory"]["profiler_buffer_bytes"])));
  rows.clear();
  for (const json& c : report["components"]) {
    if (!c.contains("memory")) continue;
    const json& cm = c["memory"];
    rows.push_back({esc(str(c["name"])), format_bytes(num(cm["peak_bytes"])), format_bytes(num(cm["live_bytes"])),
                    format_bytes(num(cm["allocated_bytes"])), str(cm["allocations"])});
  }
  h += table({"memory tag", "peak", "live at end", "allocated", "allocations"}, rows);

  h += "<h2>Threads</h2>" + thread_chart(report);
  rows.clear();
  for (const json& t : report["threads"]) {
    rows.push_back({esc(str(t["name"])), str(t["tid"]), format_ns(num(t["lifetime_ns"])), format_ns(num(t["busy_ns"])),
                    format_ns(num(t["idle_ns"])), fmt::format("{:.0f}%", 100 * num(t["utilization"])),
                    str(t["spans"])});
  }
  h += table({"thread", "tid", "lifetime", "busy", "idle", "utilisation", "spans"}, rows);
  h += fmt::format("<p>Process CPU {} · average load {:.2f} of {} CPUs</p>",
                   format_ns(num(report["cpu"]["process_cpu_ns"])), num(report["cpu"]["average_load"]),
                   str(report["cpu"]["logical_cpus"]));

  h += "<h2>Lock waits</h2>";
  rows.clear();
  for (const json& l : report["locks"]) {
    rows.push_back({esc(str(l["name"])), str(l["acquisitions"]), str(l["contended"]), format_ns(num(l["wait_ns"])),
                    format_ns(num(l.value("max_wait_ns", json(0))))});
  }
  h += rows.empty() ? std::string("<p>No instrumented lock was taken.</p>")
                    : table({"lock", "acquisitions", "contended", "total wait", "max wait"}, rows);

  h += "<h2>I/O</h2>";
  const json& pio = report["io"]["process"];
  if (pio.value("available", false)) {
    h += fmt::format("<p>Process: read {} in {} calls ({} from storage), wrote {} in {} calls ({} to storage)</p>",
                     format_bytes(num(pio["read_bytes"])), str(pio["read_calls"]),
                     format_bytes(num(pio["storage_read_bytes"])), format_bytes(num(pio["write_bytes"])),
                     str(pio["write_calls"]), format_bytes(num(pio["storage_write_bytes"])));
  }
  rows.clear();
  for (const json& s : report["io"]["sites"]) {
    rows.push_back({esc(str(s["name"])), str(s["direction"]), str(s["operations"]), format_bytes(num(s["bytes"])),
                    format_ns(num(s["time_ns"])), format_bytes(num(s["bytes_per_second"])) + "/s"});
  }
  h += rows.empty() ? std::string("<p>No timed I/O.</p>")
                    : table({"site", "direction", "operations", "bytes", "time", "throughput"}, rows);

  h += "<h2>Event counters</h2>";
  rows.clear();
  for (auto& [name, c] : report["counters"].items()) {
    rows.push_back(
        {esc(name), c.value("available", false) ? str(c["value"]) : "unavailable",
         c.value("available", false) ? (c.value("user_only", false) ? "user space only" : "") : esc(str(c["reason"]))});
  }
  h += table({"counter", "value", "note"}, rows);

  h += "<h2>GPU</h2>";
  const json& g = report["gpu"];
  if (g.value("available", false)) {
    rows.clear();
    for (const json& d : g["devices"]) {
      rows.push_back({esc(str(d["name"])), fmt::format("{:.0f}%", num(d["peak_utilization_pct"])),
                      format_bytes(num(d["peak_memory_used_bytes"])), format_bytes(num(d["memory_total_bytes"]))});
    }
    h += "<p>Monitor: " + esc(str(g["monitor"])) + "</p>" +
         table({"device", "peak utilisation", "peak memory used", "memory"}, rows);
  } else {
    h += "<p>No GPU monitor: " + esc(str(g["reason"])) + "</p>";
  }
  rows.clear();
  for (auto& [kind, t] : g["transfers"].items()) {
    rows.push_back({esc(kind), str(t["count"]), format_bytes(num(t["bytes"])), format_ns(num(t["time_ns"]))});
  }
  rows.push_back({"synchronisation waits", str(g["waits"]["count"]), "", format_ns(num(g["waits"]["time_ns"]))});
  rows.push_back({"kernels", str(g["kernels"]["count"]), "", format_ns(num(g["kernels"]["time_ns"]))});
  h += table({"GPU activity recorded by backends", "count", "bytes", "time"}, rows);

  if (!report["scaling"].empty()) {
    h += "<h2>Scaling</h2>";
    rows.clear();
    for (const json& s : report["scaling"]) {
      auto exp = [](const json& e) {
        return e.is_number() ? fmt::format("{:.2f}", e.get<double>()) : std::string("n/a");
      };
      rows.push_back(
          {esc(str(s["workload"])), esc(s["sizes"].dump()), exp(s["time_exponent"]), exp(s["memory_exponent"])});
    }
    h += table({"workload", "sizes", "time ~ size^k", "peak memory ~ size^k"}, rows);
  }
  h += fmt::format(
      "<p class=note>Report schema {} v{}; clock {}; CPU time of spans is estimated from per-thread CPU "
      "clocks sampled every {}. Open trace.json in Perfetto for the timeline.</p></body></html>\n",
      esc(str(report["schema"])), str(report["version"]), esc(str(report["clock"]["source"])),
      esc(format_ns(num(report["config"]["sample_period_ns"]))));
  return h;
}

}  // namespace miso::profiler
