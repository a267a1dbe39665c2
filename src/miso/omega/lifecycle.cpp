// Dependency-ordered start, reverse-order stop, health reports, and the shutdown
// signals (a handler that only stores an atomic and writes to a self-pipe, both
// async-signal-safe).
#include "miso/omega/lifecycle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <mutex>

#include "miso/core/error.hpp"
#include "miso/omega/logging.hpp"

namespace miso::omega {
namespace {

std::atomic<bool> g_shutdown{false};
std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};

void on_shutdown_signal(int signal) {
  // A second signal while shutting down: the user insists, so exit now.
  if (g_shutdown.exchange(true)) ::_exit(128 + signal);
  g_signal.store(signal);
  if (g_pipe[1] >= 0) {
    const char byte = 1;
    const ssize_t ignored = ::write(g_pipe[1], &byte, 1);
    (void)ignored;
  }
}

void make_pipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe(g_pipe) != 0) {
      g_pipe[0] = g_pipe[1] = -1;
      return;
    }
    for (const int fd : g_pipe) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  });
}

}  // namespace

const char* to_string(ComponentState state) noexcept {
  switch (state) {
    case ComponentState::Registered: return "registered";
    case ComponentState::Starting: return "starting";
    case ComponentState::Running: return "running";
    case ComponentState::Failed: return "failed";
    case ComponentState::Stopping: return "stopping";
    case ComponentState::Stopped: return "stopped";
  }
  return "registered";
}

void Lifecycle::add(Component component) {
  if (component.name.empty()) throw miso::Error(miso::Error::Kind::InvalidArgument, "component without a name");
  for (const Entry& e : entries_) {
    if (e.component.name == component.name) {
      throw miso::Error(miso::Error::Kind::InvalidArgument, "component '" + component.name + "' added twice");
    }
  }
  entries_.push_back(Entry{std::move(component), ComponentState::Registered, ""});
}

std::vector<std::string> Lifecycle::start_order() const {
  const std::size_t n = entries_.size();
  const auto find = [&](const std::string& name) {
    for (std::size_t i = 0; i < n; ++i) {
      if (entries_[i].component.name == name) return i;
    }
    return n;
  };
  std::vector<std::vector<std::size_t>> deps(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (const std::string& dep : entries_[i].component.depends_on) {
      const std::size_t d = find(dep);
      if (d == n) {
        throw miso::Error(miso::Error::Kind::InvalidArgument,
                          "component '" + entries_[i].component.name + "' depends on unknown component '" + dep + "'");
      }
      deps[i].push_back(d);
    }
  }
  // Repeatedly take the first registered component whose dependencies are all placed:
  // a topological order with ties broken by registration order.
  std::vector<bool> placed(n, false);
  std::vector<std::string> order;
  while (order.size() < n) {
    bool progressed = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (placed[i]) continue;
      if (std::all_of(deps[i].begin(), deps[i].end(), [&](std::size_t d) { return placed[d]; })) {
        placed[i] = true;
        order.push_back(entries_[i].component.name);
        progressed = true;
        break;
      }
    }
    if (progressed) continue;
    // No progress: walk unplaced dependencies from an unplaced component until a node
    // repeats; the repeated stretch is a cycle.
    std::size_t current = 0;
    while (placed[current]) ++current;
    std::vector<std::size_t> path;
    while (std::find(path.begin(), path.end(), current) == path.end()) {
      path.push_back(current);
      for (const std::size_t d : deps[current]) {
        if (!placed[d]) {
          current = d;
          break;
        }
      }
    }
    std::string cycle;
    for (auto it = std::find(path.begin(), path.end(), current); it != path.end(); ++it) {
      cycle += entries_[*it].component.name + " -> ";
    }
    cycle += entries_[current].component.name;
    throw miso::Error(miso::Error::Kind::InvalidArgument, "dependency cycle between components: " + cycle);
  }
  return order;
}

void Lifecycle::start(const Config& config) {
  const std::vector<std::string> order = start_order();
  for (const std::string& name : order) {
    std::size_t index = 0;
    while (entries_[index].component.name != name) ++index;
    Entry& entry = entries_[index];
    if (entry.state == ComponentState::Running) continue;
    entry.state = ComponentState::Starting;
    entry.error.clear();
    try {
      if (entry.component.start) entry.component.start(config);
    } catch (const std::exception& e) {
      entry.state = ComponentState::Failed;
      entry.error = e.what();
      log("omega", spdlog::level::err, "component failed to start", {{"component", name}, {"error", e.what()}});
      stop();
      const auto* error = dynamic_cast<const miso::Error*>(&e);
      throw miso::Error(error != nullptr ? error->kind() : miso::Error::Kind::Internal,
                        "component '" + name + "' failed to start: " + e.what());
    }
    entry.state = ComponentState::Running;
    started_.push_back(index);
    log("omega", spdlog::level::debug, "component started", {{"component", name}});
  }
}

void Lifecycle::stop() noexcept {
  while (!started_.empty()) {
    Entry& entry = entries_[started_.back()];
    started_.pop_back();
    entry.state = ComponentState::Stopping;
    try {
      if (entry.component.stop) entry.component.stop();
      entry.state = ComponentState::Stopped;
      log("omega", spdlog::level::debug, "component stopped", {{"component", entry.component.name}});
    } catch (const std::exception& e) {
      entry.state = ComponentState::Stopped;
      entry.error = e.what();
      try {
        log("omega", spdlog::level::err, "component failed to stop",
            {{"component", entry.component.name}, {"error", e.what()}});
      } catch (...) {  // logging itself failed: nothing left to report to
      }
    } catch (...) {
      entry.state = ComponentState::Stopped;
      entry.error = "unknown exception";
    }
  }
}

ComponentState Lifecycle::state(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.component.name == name) return e.state;
  }
  throw miso::Error(miso::Error::Kind::InvalidArgument, "unknown component '" + std::string(name) + "'");
}

nlohmann::json Lifecycle::health() const {
  std::vector<std::string> order;
  try {
    order = start_order();
  } catch (const miso::Error&) {
    for (const Entry& e : entries_) order.push_back(e.component.name);
  }
  nlohmann::json result = nlohmann::json::array();
  for (const std::string& name : order) {
    const Entry* entry = nullptr;
    for (const Entry& e : entries_) {
      if (e.component.name == name) entry = &e;
    }
    nlohmann::json item{{"name", name},
                        {"version", entry->component.version},
                        {"state", to_string(entry->state)},
                        {"depends_on", entry->component.depends_on}};
    if (!entry->error.empty()) item["error"] = entry->error;
    if (entry->state == ComponentState::Running) {
      try {
        item["figures"] = entry->component.health ? entry->component.health() : nlohmann::json::object();
      } catch (const std::exception& e) {
        item["error"] = std::string("health check failed: ") + e.what();
        item["healthy"] = false;
      }
    }
    if (!item.contains("healthy")) item["healthy"] = entry->state == ComponentState::Running;
    result.push_back(std::move(item));
  }
  return result;
}

void install_shutdown_signals() {
  make_pipe();
  struct sigaction action {};
  action.sa_handler = on_shutdown_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (::sigaction(SIGINT, &action, nullptr) != 0 || ::sigaction(SIGTERM, &action, nullptr) != 0) {
    throw miso::Error(miso::Error::Kind::Internal, "cannot install the SIGINT/SIGTERM handlers");
  }
}

bool shutdown_requested() noexcept { return g_shutdown.load(); }
const std::atomic<bool>& shutdown_flag() noexcept { return g_shutdown; }
int shutdown_signal() noexcept { return g_signal.load(); }

int shutdown_fd() noexcept {
  make_pipe();
  return g_pipe[0];
}

void reset_shutdown_for_testing() noexcept {
  g_shutdown.store(false);
  g_signal.store(0);
  if (g_pipe[0] >= 0) {
    char buffer[64];
    while (::read(g_pipe[0], buffer, sizeof buffer) > 0) {
    }
  }
}

}  // namespace miso::omega
