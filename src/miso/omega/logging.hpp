// Structured logging through spdlog: one logger per component ("tmath", "vxor.example_c",
// "server"), each with its own level from the configuration (log.level, overridden per
// component by log.<component>), all writing to one sink: stderr or log.file, as text
// ("2026-12-02T10:00:00.123Z warn  [server] message  key=value ...") or JSON lines
// (log.format = "json": {"ts", "level", "component", "msg", fields...}).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

namespace miso::omega {

class Config;

// Configures the sink and levels; may be called again (levels and sink are replaced).
// Without a call, loggers write warnings and above to stderr as text.
void configure_logging(const Config& config);

// The logger of a component (created on first use with the configured level).
std::shared_ptr<spdlog::logger> logger(std::string_view component);

// One structured line: message plus key=value fields (JSON members in json format).
using LogFields = std::vector<std::pair<std::string, std::string>>;
void log(std::string_view component, spdlog::level::level_enum level, std::string_view message,
         const LogFields& fields = {});

// Flushes every logger (shutdown).
void flush_logs();

}  // namespace miso::omega
