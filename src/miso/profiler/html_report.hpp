// Renders a report (the JSON of docs/report-format.md) as one self-contained HTML
// page: tables and inline SVG charts, no script, no network.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace miso::profiler {

std::string render_html_report(const nlohmann::json& report);

// Text for the page: "1.23 ms", "4.0 MiB".
std::string format_ns(double ns);
std::string format_bytes(double bytes);

}  // namespace miso::profiler
