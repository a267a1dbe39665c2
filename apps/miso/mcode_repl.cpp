// The M-CODE REPL. One input is one or more lines: a line is appended to the pending
// input, and the input runs once it parses, or once it fails to parse for a reason other
// than "it ended too early" (see input_is_incomplete). Errors are printed and the session
// goes on; the Vm (and so every global) persists between inputs.
#include "mcode_repl.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

// libedit's readline-compatible interface: line editing, history, completion.
#include <editline/readline.h>

#include "miso/core/error.hpp"
#include "miso/mcode/parser.hpp"
#include "miso/mcode/value.hpp"

namespace miso::app {

namespace {

constexpr const char* kPrompt = "mcode> ";
constexpr const char* kContinuationPrompt = "...> ";
constexpr int kHistoryLines = 1000;     // kept in memory and in the history file
constexpr std::size_t kReprWidth = 60;  // :help shows at most this much of a value

// The binding a native was made from, when it was made by Vm::define_module or is a
// global built-in (their `data` is the static NativeBinding of the table; other natives
// carry null or another host pointer, told apart by the function pointer).
const mcode::NativeBinding* binding_of(const mcode::Native* native) {
  if (native->data == nullptr) return nullptr;
  const auto* b = static_cast<const mcode::NativeBinding*>(native->data);
  return b->fn == native->fn ? b : nullptr;
}

// A module: a map holding at least one native named "<global>.<key>" (define_module).
bool is_module(std::string_view global_name, mcode::Value v) {
  if (!v.is_map()) return false;
  bool found = false;
  v.as_map()->for_each([&](mcode::Value key, mcode::Value value) {
    if (found || !key.is_string() || !value.is_native()) return;
    const std::string_view name = value.as_native()->name->view();
    found = name.size() == global_name.size() + 1 + key.as_string()->size() && name.starts_with(global_name) &&
            name[global_name.size()] == '.' && name.substr(global_name.size() + 1) == key.as_string()->view();
  });
  return found;
}

std::string short_repr(mcode::Value v) {
  std::string text = mcode::to_repr_string(v);
  if (text.size() > kReprWidth) text = text.substr(0, kReprWidth - 3) + "...";
  return text;
}

std::string describe_callable(mcode::Value v) {
  if (v.is_native()) {
    const mcode::NativeBinding* b = binding_of(v.as_native());
    if (b != nullptr && b->summary != nullptr && b->summary[0] != '\0') return b->summary;
    const int arity = v.as_native()->arity;
    return arity < 0 ? "built-in, any number of arguments" : "built-in, " + std::to_string(arity) + " argument(s)";
  }
  return "function";
}

void append_entry(std::string& out, std::string_view indent, std::string_view name, const std::string& text) {
  out.append(indent).append(name);
  const std::size_t width = 14;
  out.append(name.size() < width ? width - name.size() : 1, ' ');
  out.append(text).append("\n");
}

void append_module(std::string& out, std::string_view name, mcode::Value module) {
  out.append("  ").append(name).append("\n");
  std::vector<std::pair<std::string, mcode::Value>> entries;
  module.as_map()->for_each([&](mcode::Value key, mcode::Value value) {
    entries.emplace_back(key.is_string() ? std::string(key.as_string()->view()) : mcode::to_repr_string(key), value);
  });
  for (const auto& [key, value] : entries)
    append_entry(out, "    ", key, value.is_callable() ? describe_callable(value) : "= " + short_repr(value));
}

// The global names (and, after "module.", a module's keys) starting with `prefix`.
std::vector<std::string> completions(const mcode::Vm& vm, std::string_view prefix) {
  std::vector<std::string> found;
  const std::size_t dot = prefix.rfind('.');
  if (dot == std::string_view::npos) {
    vm.for_each_global([&](mcode::String* name, mcode::Value) {
      if (name->view().starts_with(prefix)) found.emplace_back(name->view());
    });
    return found;
  }
  const std::string_view owner = prefix.substr(0, dot);
  const std::string_view rest = prefix.substr(dot + 1);
  const mcode::Value module = vm.global(owner);
  if (!module.is_map()) return found;
  module.as_map()->for_each([&](mcode::Value key, mcode::Value) {
    if (key.is_string() && key.as_string()->view().starts_with(rest))
      found.push_back(std::string(owner).append(".").append(key.as_string()->view()));
  });
  return found;
}

// libedit's completion callback has no user pointer: the REPL on the terminal sets this.
const mcode::Vm* completion_vm = nullptr;

char* complete_name(const char* text, int state) {
  static std::vector<std::string> matches;
  static std::size_t next = 0;
  if (state == 0) {
    matches = completion_vm != nullptr ? completions(*completion_vm, text) : std::vector<std::string>{};
    next = 0;
  }
  if (next >= matches.size()) return nullptr;
  return strdup(matches[next++].c_str());  // libedit frees it
}

// Reads one line (without its line break); nullopt at end of input.
using LineReader = std::function<std::optional<std::string>(const char* prompt)>;

// While an input runs, SIGINT asks the VM to stop (Vm::request_interrupt is a lock-free
// atomic store, safe in a signal handler); the previous handler comes back afterwards.
mcode::Vm* interrupt_target = nullptr;
extern "C" void on_sigint(int) {
  if (interrupt_target != nullptr) interrupt_target->request_interrupt();
}
class InterruptScope {
 public:
  explicit InterruptScope(mcode::Vm& vm) {
    interrupt_target = &vm;
    previous_ = std::signal(SIGINT, on_sigint);
  }
  ~InterruptScope() {
    std::signal(SIGINT, previous_);
    interrupt_target = nullptr;
  }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  void (*previous_)(int) = SIG_DFL;
};

class ReplSession {
 public:
  ReplSession(mcode::Vm& vm, std::ostream& out, std::ostream& err) : vm_(vm), out_(out), err_(err) {}

  // Runs until :quit or end of input.
  void run(const LineReader& read_line) {
    while (true) {
      std::optional<std::string> line = read_line(pending_.empty() ? kPrompt : kContinuationPrompt);
      if (!line) break;
      if (!line->empty() && line->back() == '\r') line->pop_back();
      if (!feed(*line)) return;
    }
    // End of input in the middle of an input: run what there is (shows the error).
    if (!pending_.empty()) submit();
  }

 private:
  // Returns false when the session should end.
  bool feed(const std::string& line) {
    const bool blank = line.find_first_not_of(" \t") == std::string::npos;
    if (pending_.empty()) {
      if (blank) return true;
      const std::size_t first = line.find_first_not_of(" \t");
      if (line[first] == ':') return command(line.substr(first));
    } else if (blank) {
      submit();  // a blank line ends an incomplete input: run it to show the error
      return true;
    }
    pending_.append(line).append("\n");
    if (!input_is_incomplete(pending_)) submit();
    return true;
  }

  bool command(const std::string& text) {
    std::string word = text.substr(0, text.find_first_of(" \t"));
    std::string topic = text.size() > word.size() ? text.substr(word.size()) : "";
    topic.erase(0, topic.find_first_not_of(" \t"));
    topic.erase(topic.find_last_not_of(" \t") + 1);
    if (word == ":quit" || word == ":q" || word == ":exit") return false;
    if (word == ":help" || word == ":h") {
      out_ << repl_help(vm_, topic);
    } else {
      out_.flush();
      err_ << "unknown command '" << word << "' (:help lists the globals and modules, :quit exits)\n";
    }
    out_.flush();
    return true;
  }

  void submit() {
    const std::string source = std::move(pending_);
    pending_.clear();
    // Each input is its own "file" so stack traces tell inputs apart.
    const std::string name = "<stdin:" + std::to_string(++inputs_) + ">";
    // Ctrl-C while the input runs stops it (the session goes on); at the prompt it keeps
    // the terminal's usual meaning.
    InterruptScope interrupt(vm_);
    try {
      mcode::Value v = vm_.run_interactive(source, name);
      if (!v.is_empty() && !v.is_nil()) out_ << mcode::to_repr_string(v) << "\n";
      out_.flush();
    } catch (const mcode::ScriptError& e) {
      report(std::string("error: ") + e.what());
    } catch (const miso::Error& e) {
      // Syntax and scope errors: the formatted diagnostics, each with its caret.
      report(e.kind() == miso::Error::Kind::Format ? e.what() : std::string("error: ") + e.what());
    } catch (const std::exception& e) {
      report(std::string("error: ") + e.what());
    }
  }

  void report(std::string message) {
    out_.flush();  // what the input printed before failing comes first
    if (message.empty() || message.back() != '\n') message.push_back('\n');
    err_ << message;
    err_.flush();
  }

  mcode::Vm& vm_;
  std::ostream& out_;
  std::ostream& err_;
  std::string pending_;
  int inputs_ = 0;
};

}  // namespace

bool input_is_incomplete(std::string_view source) {
  mcode::ParseResult parsed = mcode::parse_program(source, "<stdin>");
  if (parsed.ok()) return false;
  // "found end of file" errors sit at the very end; anything earlier (a bad token, an
  // unterminated string, which may not span lines) is an error more lines cannot fix.
  return std::all_of(parsed.diagnostics.begin(), parsed.diagnostics.end(),
                     [&](const mcode::Diagnostic& d) { return d.pos.offset >= source.size(); });
}

std::string repl_help(const mcode::Vm& vm, std::string_view topic) {
  std::string out;
  if (!topic.empty()) {
    const mcode::Value v = vm.global(topic);
    if (v.is_empty()) return "no global named '" + std::string(topic) + "'\n";
    if (is_module(topic, v)) {
      out = "module:\n";
      append_module(out, topic, v);
    } else {
      append_entry(out, "", topic, v.is_callable() ? describe_callable(v) : "= " + short_repr(v));
    }
    return out;
  }
  std::string builtins;
  std::string modules;
  std::string own;
  vm.for_each_global([&](mcode::String* name, mcode::Value v) {
    const std::string_view n = name->view();
    if (v.is_native() && binding_of(v.as_native()) != nullptr) {
      append_entry(builtins, "  ", n, describe_callable(v));
    } else if (is_module(n, v)) {
      append_module(modules, n, v);
    } else {
      append_entry(own, "  ", n, v.is_callable() ? describe_callable(v) : "= " + short_repr(v));
    }
  });
  out.append("REPL commands: :help [NAME], :quit (or Ctrl-D). An input runs once complete; a blank line\n");
  out.append("ends an incomplete one. The value of a final expression is printed.\n");
  out.append("Built-ins:\n").append(builtins);
  if (!modules.empty()) out.append("Modules:\n").append(modules);
  if (!own.empty()) out.append("Globals:\n").append(own);
  return out;
}

std::string default_history_file() {
  if (const char* file = std::getenv("MISO_HISTORY"); file != nullptr) return file;
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0')
    return std::string(home) + "/.miso_history";
  return "";
}

int run_repl(mcode::Vm& vm, const ReplOptions& options, std::ostream& out, std::ostream& err) {
  ReplSession session(vm, out, err);
  if (isatty(STDIN_FILENO) == 0) {
    // A pipe or a file: the same logic over plain lines, prompts only when asked for.
    session.run([&](const char* prompt) -> std::optional<std::string> {
      if (options.prompt) out << prompt << std::flush;
      std::string line;
      if (!std::getline(std::cin, line)) return std::nullopt;
      return line;
    });
    return 0;
  }

  rl_readline_name = "miso";
  // Keep '.' inside words so "tmath.ra<Tab>" completes module members.
  rl_basic_word_break_characters = " \t\n\"'()[]{},;:+-*/%^=<>!@&|";
  rl_completion_entry_function = complete_name;
  completion_vm = &vm;
  using_history();
  stifle_history(kHistoryLines);
  const char* history = options.history_file.empty() ? nullptr : options.history_file.c_str();
  if (history != nullptr) read_history(history);  // a missing file is a fresh history

  session.run([&](const char* prompt) -> std::optional<std::string> {
    char* raw = readline(prompt);
    if (raw == nullptr) {
      out << "\n";  // Ctrl-D: end the prompt's line
      return std::nullopt;
    }
    std::string line(raw);
    std::free(raw);
    if (line.find_first_not_of(" \t") != std::string::npos) add_history(line.c_str());
    return line;
  });
  out << std::flush;
  completion_vm = nullptr;
  if (history != nullptr && write_history(history) == 0) history_truncate_file(history, kHistoryLines);
  return 0;
}

}  // namespace miso::app
