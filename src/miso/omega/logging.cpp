// One sink shared by every component logger; it formats lines itself (text or JSON) so
// that loggers used directly through spdlog and structured log() calls look the same.
#include "miso/omega/logging.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <nlohmann/json.hpp>

#include "miso/core/error.hpp"
#include "miso/omega/config.hpp"

namespace miso::omega {
namespace {

// The fields of the log() call on this thread, read by the sink (spdlog calls sinks
// synchronously on the logging thread).
thread_local const LogFields* t_fields = nullptr;

const char* level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

spdlog::level::level_enum parse_level(const std::string& text) {
  if (text == "trace") return spdlog::level::trace;
  if (text == "debug") return spdlog::level::debug;
  if (text == "info") return spdlog::level::info;
  if (text == "warn") return spdlog::level::warn;
  if (text == "error") return spdlog::level::err;
  return spdlog::level::off;
}

std::string timestamp(spdlog::log_clock::time_point time) {
  const auto since = time.time_since_epoch();
  const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buffer;
}

std::string quoted_if_needed(const std::string& value) {
  const bool plain = !value.empty() && value.find_first_of(" \t\n\r\"=") == std::string::npos;
  return plain ? value : nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  LineSink(std::FILE* file, bool owned, bool json) : file_(file), owned_(owned), json_(json) {}
  ~LineSink() override {
    if (owned_) std::fclose(file_);
  }
  LineSink(const LineSink&) = delete;
  LineSink& operator=(const LineSink&) = delete;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string component(msg.logger_name.data(), msg.logger_name.size());
    const std::string text(msg.payload.data(), msg.payload.size());
    std::string line;
    if (json_) {
      nlohmann::json object{
          {"ts", timestamp(msg.time)}, {"level", level_name(msg.level)}, {"component", component}, {"msg", text}};
      if (t_fields != nullptr) {
        for (const auto& [key, value] : *t_fields) object[key] = value;
      }
      line = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      std::string level = level_name(msg.level);
      level.resize(std::max<std::size_t>(level.size(), 5), ' ');
      line = timestamp(msg.time) + " " + level + " [" + component + "] " + text;
      if (t_fields != nullptr && !t_fields->empty()) {
        line += " ";
        for (const auto& [key, value] : *t_fields) line += " " + key + "=" + quoted_if_needed(value);
      }
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), file_);
    // Lines reach the file at once: a crash or signal right after must not lose them.
    std::fflush(file_);
  }
  void flush_() override { std::fflush(file_); }

 private:
  std::FILE* file_;
  bool owned_;
  bool json_;
};

struct LoggingState {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::sink> sink = std::make_shared<LineSink>(stderr, false, false);
  spdlog::level::level_enum default_level = spdlog::level::warn;
  std::map<std::string, spdlog::level::level_enum, std::less<>> levels;  // per component
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;

  spdlog::level::level_enum level_of(std::string_view component) const {
    // "vxor.example_c" follows the level of "vxor".
    const std::string_view base = component.substr(0, component.find('.'));
    if (const auto it = levels.find(base); it != levels.end()) return it->second;
    return default_level;
  }
};

LoggingState& state() {
  static LoggingState* s = new LoggingState;  // never destroyed: loggers may log during static destruction
  return *s;
}

}  // namespace

void configure_logging(const Config& config) {
  const std::filesystem::path file = config.get_path("log.file");
  const bool json = config.get_string("log.format") == "json";
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (file.empty()) {
    sink = std::make_shared<LineSink>(stderr, false, json);
  } else {
    std::FILE* f = std::fopen(file.c_str(), "a");
    if (f == nullptr) {
      throw miso::Error(miso::Error::Kind::Io,
                        "log.file: cannot open " + file.string() + " for appending: " + system_error_text(errno));
    }
    sink = std::make_shared<LineSink>(f, true, json);
  }
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  s.sink = sink;
  s.default_level = parse_level(config.get_string("log.level"));
  s.levels.clear();
  for (const ConfigEntry& entry : config.entries()) {
    const std::string& name = entry.key->name;
    if (!name.starts_with("log.") || name == "log.level" || name == "log.format" || name == "log.file") continue;
    const std::string& level = std::get<std::string>(entry.value);
    if (!level.empty()) s.levels[name.substr(4)] = parse_level(level);
  }
  for (auto& [name, lg] : s.loggers) {
    lg->flush();
    lg->sinks().assign(1, sink);
    lg->set_level(s.level_of(name));
  }
}

std::shared_ptr<spdlog::logger> logger(std::string_view component) {
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  if (const auto it = s.loggers.find(component); it != s.loggers.end()) return it->second;
  auto lg = std::make_shared<spdlog::logger>(std::string(component), s.sink);
  lg->set_level(s.level_of(component));
  lg->flush_on(spdlog::level::trace);
  s.loggers.emplace(std::string(component), lg);
  return lg;
}

void log(std::string_view component, spdlog::level::level_enum level, std::string_view message,
         const LogFields& fields) {
  const auto lg = logger(component);
  if (!lg->should_log(level)) return;
  t_fields = &fields;
  try {
    lg->log(level, spdlog::string_view_t(message.data(), message.size()));
  } catch (...) {
    t_fields = nullptr;
    throw;
  }
  t_fields = nullptr;
}

void flush_logs() {
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  for (auto& [name, lg] : s.loggers) lg->flush();
}

}  // namespace miso::omega
