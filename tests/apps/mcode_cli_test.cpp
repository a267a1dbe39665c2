// `miso mcode run|eval|disasm` as a user runs them: outputs, arguments, every syntax error
// with its caret, run-time errors with the M-CODE stack trace, and budgets.
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

}  // namespace
