// `miso mcode run|eval|disasm` and the REPL as a user runs them: outputs, arguments, every
// syntax error with its caret, run-time errors with the M-CODE stack trace, budgets, the
// file allow-list (--allow) and the exit codes. The REPL is driven over a pipe.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "../profiler/test_dir.hpp"
#include "cli_run.hpp"

namespace {

using miso::testing::CliRun;
using miso::testing::miso;
using McodeCli = miso::testing::TempDirTest;

const std::string kPrograms = std::string(MISO_SOURCE_DIR) + "/tests/mcode/programs/";

std::string write(const std::filesystem::path& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST_F(McodeCli, RunPrintsWhatTheProgramPrints) {
  CliRun r = miso("mcode run " + kPrograms + "fib.mc", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream expected(kPrograms + "fib.out");
  const std::string want((std::istreambuf_iterator<char>(expected)), std::istreambuf_iterator<char>());
  EXPECT_EQ(r.out, want);
}

TEST_F(McodeCli, ArgumentsAndEval) {
  CliRun r = miso("mcode run " + write(dir_, "a.mc", "print(len(args), args[1])\n") + " first second", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "2 second\n");
  r = miso("mcode eval 'let s = 0\nfor i in range(0, 10) { s = s + i }\nprint(s, 7 / 2, 7 // 2)'", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "45 3.5 3\n");
}

TEST_F(McodeCli, EverySyntaxErrorIsReportedWithACaret) {
  CliRun r = miso("mcode run " + write(dir_, "bad.mc", "let a = (1 +\nlet b = 2\nlet c = ]\nprint(b)\n"), dir_);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bad.mc:1:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.mc:3:9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("^"), std::string::npos) << r.err;
}

TEST_F(McodeCli, RuntimeErrorsCarryTheStackTrace) {
  CliRun r = miso("mcode run " + write(dir_, "div.mc", "fn f(x) {\n  return 1 // x\n}\nf(0)\n"), dir_);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("division by zero"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("div.mc:2:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("div.mc:4:"), std::string::npos) << r.err;
}

TEST_F(McodeCli, BudgetsStopRunawayScripts) {
  CliRun r = miso("mcode eval 'while true { }' --max-instructions 100000", dir_);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("instruction budget"), std::string::npos) << r.err;
  r = miso("mcode eval 'let xs = []\nwhile true { push(xs, [1, 2, 3]) }' --max-memory 1000000", dir_);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("memory budget"), std::string::npos) << r.err;
}

TEST_F(McodeCli, DisassemblyNamesInstructionsAndPositions) {
  CliRun r = miso("mcode disasm " + kPrograms + "fib.mc", dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("function <main>"), std::string::npos);
  EXPECT_NE(r.out.find("function fib"), std::string::npos);
  EXPECT_NE(r.out.find("Call"), std::string::npos);
}

// The REPL reads a pipe line by line: no prompts, values on stdout, errors on stderr.
CliRun repl(const std::filesystem::path& dir, const std::string& input, const std::string& options = "") {
  return miso("mcode " + options + " < " + write(dir, "input.txt", input), dir);
}

TEST_F(McodeCli, ReplRunsMultiLineInputsAndPrintsValues) {
  CliRun r = repl(dir_,
                  "fn add(a, b) {\n"
                  "  let s = a + b\n"
                  "  return s\n"
                  "}\n"
                  "add(2, 3)\n"
                  "let xs = [1,\n"
                  "  \"two\",\n"
                  "  nil]\n"
                  "xs\n"
                  "nil\n"
                  "print(\"printed\")\n"
                  "let total = 40 +\n"
                  "  2\n"
                  "total\n"
                  "{\"k\": 1.5}\n"
                  "\n"
                  "7 // 2\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // Statements print nothing, nor does a nil value; values print in repr form.
  EXPECT_EQ(r.out, "5\n[1, \"two\", nil]\nprinted\n42\n{\"k\": 1.5}\n3\n");
}

TEST_F(McodeCli, ReplReportsErrorsAndGoesOn) {
  CliRun r = repl(dir_,
                  "let n = 10\n"
                  "fn inv(x) {\n"
                  "  return 1 // x\n"
                  "}\n"
                  "inv(0)\n"
                  "n + 1\n"
                  "let bad = ]\n"
                  "n = n * 3\n"
                  "print(\"unterminated)\n"
                  "let open = (1 +\n"
                  "\n"
                  "n\n"
                  "missing_name\n"
                  ":nonsense\n"
                  "n - 1\n"
                  ":quit\n"
                  "print(\"after quit\")\n");
  ASSERT_EQ(r.code, 0) << r.err;
  // Globals persist across inputs and across the failures in between.
  EXPECT_EQ(r.out, "11\n30\n29\n");
  // The run-time error carries the trace, naming the input that defined the function.
  EXPECT_NE(r.err.find("error: division by zero"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("at <stdin:2>:2:12 in inv\n  at <stdin:3>:1:4 in <main>"), std::string::npos) << r.err;
  // A syntax error in the middle of a line is reported at once, with its caret.
  EXPECT_NE(r.err.find("1:11: error: expected an expression, found ']'\nlet bad = ]\n          ^\n"), std::string::npos)
      << r.err;
  // A string cannot span lines: no continuation, the error comes at once.
  EXPECT_NE(r.err.find("unterminated string"), std::string::npos) << r.err;
  // The blank line ends the incomplete input and shows why it is incomplete.
  EXPECT_NE(r.err.find("found end of file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("undefined variable 'missing_name'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown command ':nonsense'"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("after quit"), std::string::npos);
}

TEST_F(McodeCli, ReplRunsAnIncompleteInputAtEndOfInput) {
  CliRun r = repl(dir_, "print(1)\nfn f() {\n  return 1\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  EXPECT_NE(r.err.find("expected '}' to close '{' at 1:8, found end of file"), std::string::npos) << r.err;
}

TEST_F(McodeCli, ReplPromptsWhenAsked) {
  CliRun r = repl(dir_, "fn f() {\nreturn 6 }\nf()\n", "--prompt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "mcode> ...> mcode> 6\nmcode> ");
  r = miso("mcode repl --prompt < " + write(dir_, "in2.txt", "2 ** 10\n"), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "mcode> 1024\nmcode> ");
}

TEST_F(McodeCli, ReplHelpListsBuiltinsModulesAndGlobals) {
  CliRun r = repl(dir_, "let answer = 42\nfn twice(x) { return 2 * x }\n:help\n:help read_file\n:help nope\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Built-ins:\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read_file(path): the file's bytes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Modules:\n"), std::string::npos) << r.out;
  // The engine modules are bound by the Vm; each is listed with its bindings below it.
  for (const char* module : {"tmath", "qlogik"})
    EXPECT_NE(r.out.find(std::string("\n  ") + module + "\n"), std::string::npos) << module;
  EXPECT_NE(r.out.find("Globals:\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  answer        = 42\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  twice         function\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no global named 'nope'"), std::string::npos) << r.out;
  // A module's help: its qualified natives show the one-line summaries of their bindings.
  r = repl(dir_, ":help tmath\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("module:\n  tmath\n"), std::string::npos) << r.out;
  EXPECT_GT(miso::testing::lines(r.out), 3) << r.out;
}

TEST_F(McodeCli, AllowGrantsAndDeniesFileAccess) {
  const auto data = dir_ / "data";
  std::filesystem::create_directories(data);
  const std::string file = write(data, "d.txt", "secret\n");
  const std::string read = "'print(read_file(args[0]))' " + file;
  CliRun r = miso("mcode eval " + read, dir_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("file access denied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("allows no file access"), std::string::npos) << r.err;
  // --allow takes one path per use and is repeatable; the values after it stay positionals.
  r = miso("mcode eval --allow " + (dir_ / "elsewhere").string() + " --allow " + data.string() + " " + read, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "secret\n\n");
  // `run` allows the script's own folder, and only that without --allow.
  const std::string script = write(data, "s.mc", "print(read_file(args[0]))\n");
  r = miso("mcode run " + script + " " + file, dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "secret\n\n");
  const std::string outside = write(dir_, "outside.txt", "no");
  r = miso("mcode run " + script + " " + outside, dir_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("outside the allowed paths"), std::string::npos) << r.err;
  r = miso("mcode run " + script + " " + outside + " --allow " + dir_.string(), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no\n");
  // The REPL: denied, then granted.
  const std::string input = "read_file(\"" + file + "\")\n";
  r = repl(dir_, input);
  EXPECT_NE(r.err.find("file access denied"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  r = repl(dir_, input, "--allow " + data.string());
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "\"secret\\n\"\n");
}

TEST_F(McodeCli, ExitCodes) {
  // 0: ok. 1: the script failed (uncaught error, failed assert, exhausted budget).
  // 2: a usage error. 3: unreadable or malformed input (a syntax error is malformed input).
  EXPECT_EQ(miso("mcode eval 'print(1)'", dir_).code, 0);
  CliRun r = miso("mcode eval 'assert(1 == 2, \"one is not two\")'", dir_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("miso: error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("one is not two"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stack trace:"), std::string::npos) << r.err;
  EXPECT_EQ(miso("mcode eval 'while true { }' --max-instructions 1000", dir_).code, 1);
  r = miso("mcode run " + write(dir_, "syntax.mc", "let x = (1, 2\n"), dir_);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("syntax.mc:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("^"), std::string::npos) << r.err;
  // A compile-time (scope) error is malformed input too.
  r = miso("mcode eval 'return 1'", dir_);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("'return' outside a function"), std::string::npos) << r.err;
  EXPECT_EQ(miso("mcode run " + (dir_ / "missing.mc").string(), dir_).code, 3);
  EXPECT_EQ(miso("mcode eval 'print(1)' --no-such-option", dir_).code, 2);
  // What the script printed before failing is kept.
  r = miso("mcode eval 'print(\"before\")\nlet x = nil + 1'", dir_);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "before\n");
}

// Scripts run with the plugins of the configuration bound: functions as module globals,
// kernels through tmath.map, plugin errors catchable.
TEST_F(McodeCli, ScriptsCallThePluginsOfTheConfiguration) {
  const std::filesystem::path plugins = dir_ / "plugins";
  std::filesystem::create_directories(plugins);
  for (const char* file : {"example_c.toml", "libexample_c.so"}) {
    std::filesystem::copy_file(std::filesystem::path(MISO_PLUGIN_DIR) / file, plugins / file);
  }
  const std::string set = "--set vxor.plugin_dirs=" + plugins.string() + " ";
  CliRun r = miso(set +
                      "mcode eval 'print(example_c.add(2, 3), example_c.greet(\"cli\"))\n"
                      "print(tmath.map(\"example_c.softplus\", tmath.tensor([0.0], \"f64\")).item())\n"
                      "try { example_c.fail(\"nope\") } catch e { print(e.message) }'",
                  dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "5 Hello, cli!\n0.6931471805599453\nexample_c.fail: nope\n");
  // Without the plugin directory the global does not exist.
  r = miso("--set vxor.plugin_dirs=" + (dir_ / "empty").string() + " mcode eval 'print(example_c.add(1, 1))'", dir_);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("example_c"), std::string::npos) << r.err;
}

}  // namespace
