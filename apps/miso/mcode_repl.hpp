// The M-CODE REPL of `miso mcode`: reads inputs line by line (libedit on a terminal,
// plain lines from a pipe), keeps reading while an input is incomplete, runs each
// complete input on one persistent Vm and prints the value of a final expression.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "miso/mcode/vm.hpp"

namespace miso::app {

struct ReplOptions {
  bool prompt = false;       // show prompts even when stdin is not a terminal
  std::string history_file;  // libedit history (terminal only); empty: none
};

// True when `source` fails to parse only because it ends too early (an unclosed bracket
// or block, an operator waiting for its right operand): every diagnostic lies at the end
// of the input, so more lines may complete it.
bool input_is_incomplete(std::string_view source);

// The text of `:help` (topic empty: built-ins, engine modules with each binding's
// one-line summary, then the session's own globals) or `:help NAME` (one global).
std::string repl_help(const mcode::Vm& vm, std::string_view topic);

// The default history file: $MISO_HISTORY, else ~/.miso_history, else none.
std::string default_history_file();

// Runs the REPL on `vm` until `:quit` or end of input (Ctrl-D). Values go to `out`,
// errors to `err`. Returns the exit code (0).
int run_repl(mcode::Vm& vm, const ReplOptions& options, std::ostream& out, std::ostream& err);

}  // namespace miso::app
