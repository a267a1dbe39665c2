// Writes a run as a Chrome trace event file (the JSON format that Perfetto and
// chrome://tracing open): one track per thread with its spans as complete ("X")
// events, thread names as metadata, and counter tracks for every series.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "miso/profiler/sampler.hpp"
#include "miso/profiler/thread_registry.hpp"

namespace miso::profiler {

// Span events beyond this many are left out (and the file says how many).
inline constexpr std::uint64_t kMaxTraceEvents = 4'000'000;

void write_chrome_trace(const std::filesystem::path& path, const std::vector<ThreadSnapshot>& threads,
                        const std::vector<Series>& series, double ns_per_tick, std::uint64_t origin_tick);

// Appends `text` to `out` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view text);

}  // namespace miso::profiler
