// Component lifecycle: components declare what they depend on; start() initialises
// them in dependency order (a topological order, ties broken by registration order),
// health() asks each for its state and key figures, and stop() shuts them down in
// reverse start order. A component whose start fails stops the ones already started
// (in reverse) and start() rethrows, naming it.
//
// Signals: install_shutdown_signals() makes SIGINT and SIGTERM set a flag (and wake a
// self-pipe) instead of killing the process; long work polls shutdown_requested() (or
// hands shutdown_flag() to APIs that take a cancel flag, such as profile runs) and the
// main thread then stops the components in order, so profiler data is flushed and no
// report is left half-written. A second signal while shutting down exits at once (128+n).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace miso::omega {

class Config;

enum class ComponentState { Registered, Starting, Running, Failed, Stopping, Stopped };
const char* to_string(ComponentState state) noexcept;  // "registered", "starting", ...

struct Component {
  std::string name;
  std::string version;
  std::vector<std::string> depends_on;
  std::function<void(const Config&)> start;  // optional
  // Key figures while running ({"threads": 2, "live_bytes": ...}); throws = unhealthy.
  std::function<nlohmann::json()> health;  // optional
  std::function<void()> stop;              // optional; must not throw (exceptions are logged)
};

class Lifecycle {
 public:
  // Error(InvalidArgument) on a duplicate name.
  void add(Component component);
  // Error(InvalidArgument) naming an unknown dependency or the components of a cycle.
  std::vector<std::string> start_order() const;
  void start(const Config& config);
  // Reverse start order; idempotent; never throws.
  void stop() noexcept;
  ComponentState state(std::string_view name) const;
  // [{"name", "version", "state", "depends_on", "figures" | "error"}] in start order.
  nlohmann::json health() const;

 private:
  struct Entry {
    Component component;
    ComponentState state = ComponentState::Registered;
    std::string error;
  };
  std::vector<Entry> entries_;
  std::vector<std::size_t> started_;  // indices, in start order
};

void install_shutdown_signals();
bool shutdown_requested() noexcept;
const std::atomic<bool>& shutdown_flag() noexcept;
int shutdown_signal() noexcept;  // the signal received, 0 when none
// A file descriptor that becomes readable when a shutdown signal arrives (poll it).
int shutdown_fd() noexcept;
// Tests: clears the flag.
void reset_shutdown_for_testing() noexcept;

}  // namespace miso::omega
