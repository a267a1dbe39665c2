// `miso mcode ...`: M-CODE scripts from the command line.
//   (nothing) | repl     the interactive REPL (mcode_repl.hpp)
//   run FILE [ARGS...]   runs a script; ARGS are the list `args` in the script
//   eval "CODE" [ARGS]   runs the code given on the command line
//   disasm FILE          the bytecode of every function of a script
// Budgets for untrusted scripts: --max-instructions N, --timeout-ms T, --max-memory BYTES;
// file access: --allow PATH (repeatable; `run` also allows the script's own folder).
// Syntax errors print every diagnostic with file:line:column and a caret (exit 3, like
// any corrupt input); uncaught run-time errors and exhausted budgets print the message
// and the M-CODE stack trace (exit 1: the script failed).
// Scripts run inside the Omega runtime of the effective configuration: the plugins of
// vxor.plugin_dirs are loaded (vxor.autoload) and bound as module globals,
// `example_c.add(1, 2)`, and their kernels are available to tmath.map.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "command.hpp"
#include "mcode_repl.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/mcode/bytecode.hpp"
#include "miso/mcode/compiler.hpp"
#include "miso/mcode/heap.hpp"
#include "miso/mcode/parser.hpp"
#include "miso/mcode/vm.hpp"
#include "miso/omega/runtime.hpp"

namespace miso::app {

namespace {

struct McodeOptions {
  std::string file;
  std::vector<std::string> args;
  std::string code;
  std::uint64_t max_instructions = 0;
  std::uint64_t timeout_ms = 0;
  std::uint64_t max_memory = 0;
  std::vector<std::string> allow;  // --allow PATH: files and folders scripts may access
  bool prompt = false;             // REPL: prompts even when stdin is not a terminal
};

mcode::VmOptions vm_options(const McodeOptions& o) {
  mcode::VmOptions v;
  v.instruction_budget = o.max_instructions;
  v.time_limit = std::chrono::milliseconds(o.timeout_ms);
  v.memory_budget = o.max_memory;
  v.allowed_paths.assign(o.allow.begin(), o.allow.end());
  return v;
}

void define_args(mcode::Vm& vm, const std::vector<std::string>& values) {
  mcode::List* args = vm.heap().list(values.size());
  vm.define_global("args", mcode::Value::object(args));  // rooted by the globals from here on
  for (const std::string& a : values) args->push(vm.heap(), vm.heap().string_value(a));
}

// Runs a whole script. An uncaught M-CODE error is the script failing (exit 1), not a
// usage error, though ScriptError is an InvalidArgument for C++ hosts; syntax errors
// leave as miso::Error(Format) and main turns them into exit 3 like any corrupt input.
int run_script(mcode::VmOptions options, const std::vector<std::string>& args, const std::string& source,
               const std::string& name) {
  omega::Runtime runtime(config());
  runtime.start();
  mcode::Vm vm(std::move(options));  // destroyed before the runtime stops
  runtime.bind_plugins(vm);
  define_args(vm, args);
  try {
    vm.run(source, name);
  } catch (const mcode::ScriptError& e) {
    std::cout.flush();
    std::cerr << "miso: error: " << e.what() << "\n";
    return kExitFailed;
  }
  std::cout.flush();
  return kExitOk;
}

int run_file(const McodeOptions& o) {
  const std::string source = core::read_file(o.file);
  mcode::VmOptions options = vm_options(o);
  // A script may read the files that lie next to it (its data, its modules).
  options.allowed_paths.push_back(std::filesystem::absolute(o.file).parent_path());
  return run_script(std::move(options), o.args, source, o.file);
}

int repl(const McodeOptions& o) {
  omega::Runtime runtime(config());
  runtime.start();
  mcode::Vm vm(vm_options(o));
  runtime.bind_plugins(vm);
  define_args(vm, {});
  ReplOptions r;
  r.prompt = o.prompt;
  r.history_file = default_history_file();
  return run_repl(vm, r, std::cout, std::cerr);
}

int disassemble_file(const McodeOptions& o) {
  const std::string source = core::read_file(o.file);
  mcode::ParseResult parsed = mcode::parse_program(source, o.file);
  if (!parsed.ok()) throw Error(Error::Kind::Format, mcode::format_diagnostics(parsed.diagnostics, source));
  mcode::Heap heap;
  mcode::CompileResult compiled = mcode::compile_program(parsed.program, heap);
  if (!compiled.ok()) throw Error(Error::Kind::Format, mcode::format_diagnostics(compiled.diagnostics, source));
  std::cout << mcode::disassemble(*compiled.function);
  return kExitOk;
}

void add_budget_options(CLI::App* c, McodeOptions& o) {
  c->add_option("--max-instructions", o.max_instructions, "instruction budget (0: none)");
  c->add_option("--timeout-ms", o.timeout_ms, "wall-clock limit in milliseconds (0: none)");
  c->add_option("--max-memory", o.max_memory, "heap budget in bytes (0: none)");
  c->add_option("--allow", o.allow, "a file or folder scripts may read and write (repeatable)")
      ->type_name("PATH")
      ->allow_extra_args(false)  // one path per --allow: the values after it are positionals
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_repl_options(CLI::App* c, McodeOptions& o) {
  add_budget_options(c, o);
  c->add_flag("--prompt", o.prompt, "show the prompts even when stdin is not a terminal");
}

}  // namespace

void add_mcode_commands(CLI::App& app, Action& action) {
  auto* mc = app.add_subcommand("mcode", "M-CODE scripts: the REPL (no subcommand), run, eval, disasm");
  mc->require_subcommand(0, 1);
  auto o = std::make_shared<McodeOptions>();
  add_repl_options(mc, *o);
  // Runs after the subcommand's callback: only a bare `miso mcode` starts the REPL here.
  mc->callback([&action, o, mc] {
    if (mc->get_subcommands().empty()) action = [o] { return repl(*o); };
  });

  auto* repl_command = mc->add_subcommand("repl", "the interactive REPL (also: `miso mcode` alone)");
  add_repl_options(repl_command, *o);
  repl_command->callback([&action, o] { action = [o] { return repl(*o); }; });

  auto* run = mc->add_subcommand("run", "run a script file (it may access its own folder)");
  run->add_option("file", o->file, "the script")->required();
  run->add_option("args", o->args, "arguments, the list `args` in the script");
  add_budget_options(run, *o);
  run->callback([&action, o] { action = [o] { return run_file(*o); }; });

  auto* eval = mc->add_subcommand("eval", "run code given on the command line");
  eval->add_option("code", o->code, "the code")->required();
  eval->add_option("args", o->args, "arguments, the list `args` in the code");
  add_budget_options(eval, *o);
  eval->callback([&action, o] { action = [o] { return run_script(vm_options(*o), o->args, o->code, "<eval>"); }; });

  auto* disasm = mc->add_subcommand("disasm", "print the bytecode of a script");
  disasm->add_option("file", o->file, "the script")->required();
  disasm->callback([&action, o] { action = [o] { return disassemble_file(*o); }; });
}

}  // namespace miso::app
