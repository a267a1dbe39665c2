// `miso mcode ...`: M-CODE scripts from the command line.
//   run FILE [ARGS...]   runs a script; ARGS are the list `args` in the script
//   eval "CODE"          runs the code given on the command line
//   disasm FILE          the bytecode of every function of a script
// Budgets for untrusted scripts: --max-instructions N, --timeout-ms T, --max-memory BYTES.
// Syntax errors print every diagnostic with file:line:column and a caret; run-time errors
// print the message and the M-CODE stack trace. The interactive REPL is not built yet.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.hpp"
#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/mcode/bytecode.hpp"
#include "miso/mcode/compiler.hpp"
#include "miso/mcode/heap.hpp"
#include "miso/mcode/parser.hpp"
#include "miso/mcode/vm.hpp"

namespace miso::app {

namespace {

struct McodeOptions {
  std::string file;
  std::vector<std::string> args;
  std::string code;
  std::uint64_t max_instructions = 0;
  std::uint64_t timeout_ms = 0;
  std::uint64_t max_memory = 0;
};

mcode::VmOptions vm_options(const McodeOptions& o) {
  mcode::VmOptions v;
  v.instruction_budget = o.max_instructions;
  v.time_limit = std::chrono::milliseconds(o.timeout_ms);
  v.memory_budget = o.max_memory;
  return v;
}

int run_script(const McodeOptions& o, const std::string& source, const std::string& name) {
  mcode::Vm vm(vm_options(o));
  mcode::List* args = vm.heap().list(o.args.size());
  vm.define_global("args", mcode::Value::object(args));  // rooted by the globals from here on
  for (const std::string& a : o.args) args->push(vm.heap(), vm.heap().string_value(a));
  vm.run(source, name);
  std::cout.flush();
  return kExitOk;
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
}

}  // namespace

void add_mcode_commands(CLI::App& app, Action& action) {
  auto* mc = app.add_subcommand("mcode", "M-CODE scripts: run, eval, disasm");
  mc->require_subcommand(1);
  auto o = std::make_shared<McodeOptions>();

  auto* run = mc->add_subcommand("run", "run a script file");
  run->add_option("file", o->file, "the script")->required();
  run->add_option("args", o->args, "arguments, the list `args` in the script");
  add_budget_options(run, *o);
  run->callback([&action, o] { action = [o] { return run_script(*o, core::read_file(o->file), o->file); }; });

  auto* eval = mc->add_subcommand("eval", "run code given on the command line");
  eval->add_option("code", o->code, "the code")->required();
  add_budget_options(eval, *o);
  eval->callback([&action, o] { action = [o] { return run_script(*o, o->code, "<eval>"); }; });

  auto* disasm = mc->add_subcommand("disasm", "print the bytecode of a script");
  disasm->add_option("file", o->file, "the script")->required();
  disasm->callback([&action, o] { action = [o] { return disassemble_file(*o); }; });
}

}  // namespace miso::app
