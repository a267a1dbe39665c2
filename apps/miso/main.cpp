// The `miso` command: a client of the components' public headers only. Parses the
// command line (CLI11), runs the chosen action, and turns errors into one line on
// stderr and a documented exit code.
#include <iostream>

#include "command.hpp"
#include "miso/core/error.hpp"

#ifndef MISO_VERSION
#define MISO_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  using namespace miso::app;
  CLI::App app{
      "MISO: tensor mathematics, temporal reasoning, probabilistic decisions, symbolic mathematics "
      "and scripted workloads, with an end-to-end profiler.",
      "miso"};
  app.set_version_flag("--version", std::string("miso ") + MISO_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Commands:\n"
      "  miso profile [--size S | --sizes S,S] [--components C,C] [--out DIR] [--data DIR] [--json]\n"
      "  miso profile compare A B [--threshold PCT] [--json]\n"
      "  miso data gen --size S --out DIR [--components C,C] [--json]\n"
      "  miso nexus info [--json]\n"
      "  miso qlogik info|query|map|sample|learn|convert|decide FILE ... (see 'miso qlogik --help')\n"
      "  miso echo check|query|schedule|resolve FILE ... (see 'miso echo --help')\n"
      "  miso bridge filter|smooth|viterbi|branches MODEL [TIMELINE --mapping M | --observations o1,o2,...]\n"
      "  miso mprime simplify|expand|factor|diff|integrate|series|limit|solve|eval|latex \"TEXT\" [--var x] [--order "
      "n]\n"
      "              [--at x=1.5,y=2] [--json] (see 'miso mprime --help')\n"
      "  miso mcode [repl] | run FILE [ARGS...] | eval \"CODE\" [ARGS...] | disasm FILE [--allow PATH] [budgets]\n"
      "  miso vxor list | info PLUGIN | check MANIFEST [--json]\n"
      "  miso config show [--json]\n"
      "  miso status [--json]\n"
      "  miso serve [--port P] [--host H] [--token T]\n"
      "Global options (before or after the command): --config FILE, --set key=value (repeatable); see "
      "docs/config.md.\n"
      "Exit codes: 0 ok, 1 regression, failed self-check or failed script, 2 usage error, 3 input/output error,\n"
      "            130/143 interrupted by SIGINT/SIGTERM (profile: no report written).");

  Action action;
  add_global_options(app);
  add_profile_commands(app, action);
  add_data_commands(app, action);
  add_nexus_commands(app, action);
  add_qlogik_commands(app, action);
  add_echo_commands(app, action);
  add_bridge_commands(app, action);
  add_mprime_commands(app, action);
  add_mcode_commands(app, action);
  add_vxor_commands(app, action);
  add_config_commands(app, action);
  add_serve_command(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "miso: error: " << e.what() << " (see 'miso --help')\n";
    return kExitUsage;
  }

  try {
    return action ? action() : kExitUsage;
  } catch (const miso::Error& e) {
    std::cerr << "miso: error: " << e.what() << "\n";
    return e.kind() == miso::Error::Kind::InvalidArgument ? kExitUsage : kExitError;
  } catch (const std::exception& e) {
    std::cerr << "miso: error: " << e.what() << "\n";
    return kExitError;
  }
}
