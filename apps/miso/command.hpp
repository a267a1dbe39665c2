// What every subcommand group of the `miso` command shares: the action chosen by
// parsing, run after the whole command line was accepted, and the exit codes.
#pragma once

#include <functional>

#include <string>

#include <CLI/CLI.hpp>

namespace miso::omega {
class Config;
}

namespace miso::app {

// Exit codes of `miso` (documented in README.md and `miso --help`).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // a regression (compare) or a failed self-check (profile)
inline constexpr int kExitUsage = 2;   // unknown option, bad value, unknown name
inline constexpr int kExitError = 3;   // unreadable or corrupt input, unwritable output

// Set by a subcommand's parse callback; main runs it once parsing succeeded.
using Action = std::function<int()>;

void add_profile_commands(CLI::App& app, Action& action);
void add_data_commands(CLI::App& app, Action& action);
void add_nexus_commands(CLI::App& app, Action& action);
void add_qlogik_commands(CLI::App& app, Action& action);
void add_echo_commands(CLI::App& app, Action& action);
void add_bridge_commands(CLI::App& app, Action& action);
void add_mprime_commands(CLI::App& app, Action& action);
void add_mcode_commands(CLI::App& app, Action& action);
void add_vxor_commands(CLI::App& app, Action& action);
void add_config_commands(CLI::App& app, Action& action);  // config show, status
void add_serve_command(CLI::App& app, Action& action);

// Global options (--config FILE, --set key=value) registered on the top-level app.
void add_global_options(CLI::App& app);
// A subcommand's own option that overrides a configuration key ("serve --port 9000" ->
// ("server.port", "9000", "--port")); call from the action before config().
void override_config(std::string key, std::string text, std::string origin);
// The effective configuration (defaults, file, MISO_* environment, command line),
// loaded on first use after parsing; errors are miso::Error naming the key and place.
const miso::omega::Config& config();

}  // namespace miso::app
