// What every subcommand group of the `miso` command shares: the action chosen by
// parsing, run after the whole command line was accepted, and the exit codes.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

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

}  // namespace miso::app
