// libFuzzer target for M-CODE: the input is script text. It must parse (or fail with
// diagnostics), print back to source that parses to the same tree, compile, and run on a
// Vm with tight budgets, where every failure is a miso::Error. A crash, a sanitizer
// report, a leak, any other exception or a broken round trip is a bug (see docs/mcode.md,
// "Fuzzing").
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <ostream>
#include <string>
#include <string_view>

#include "miso/core/error.hpp"
#include "miso/mcode/heap.hpp"
#include "miso/mcode/parser.hpp"
#include "miso/mcode/printer.hpp"
#include "miso/mcode/vm.hpp"

namespace miso::mcode {
namespace {

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "mcode_fuzz: %s\n%.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();  // libFuzzer saves the input as crash-<sha1>
}

// MCODE_FUZZ_VERBOSE=1 (for triage, with the binary run on files): say how far each
// input got and let print() write to stdout.
const bool kVerbose = std::getenv("MCODE_FUZZ_VERBOSE") != nullptr;

void note(const char* stage, std::string_view detail = {}) {
  if (kVerbose) std::fprintf(stderr, "mcode_fuzz: %s %.*s\n", stage, static_cast<int>(detail.size()), detail.data());
}

// FNV-1a: picks the collector mode from the input so that a crash reproduces.
std::uint64_t hash_of(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

// The printer's contract: print_program's output parses, to the same tree, and prints
// the same again.
void check_round_trip(const ParseResult& parsed) {
  const std::string printed = print_program(parsed.program);
  ParseResult reparsed = parse_program(printed, "<printed>");
  if (!reparsed.ok()) {
    std::string detail = printed + "\n-- diagnostics:";
    for (const Diagnostic& d : reparsed.diagnostics) detail += "\n" + d.message;
    fail("printed program does not parse", detail);
  }
  const std::string before = dump_program(parsed.program);
  const std::string after = dump_program(reparsed.program);
  if (before != after)
    fail("printed program parses to another tree", printed + "\n-- was: " + before + "\n-- now: " + after);
  const std::string printed_again = print_program(reparsed.program);
  if (printed_again != printed) fail("printing is not idempotent", printed + "\n-- then: " + printed_again);
}

// Runs one script; returns false when it failed with a miso::Error (expected for bad
// programs), aborts on anything else.
bool run_script(Vm& vm, std::string_view source, std::string_view file_name) {
  try {
    vm.run(source, file_name);
    note("ran", file_name);
    return true;
  } catch (const miso::Error& e) {
    if (e.kind() == miso::Error::Kind::Internal) fail("internal error (broken invariant)", e.what());
    note("failed with miso::Error:", e.what());
    return false;
  } catch (const std::exception& e) {
    fail("a C++ exception other than miso::Error escaped Vm::run", e.what());
  } catch (...) {
    fail("a non-std exception escaped Vm::run", "");
  }
}

void fuzz_one(std::string_view source) {
  ParseResult parsed = parse_program(source, "<fuzz>");
  // The REPL's entry point, on the same bytes (it must not crash either).
  (void)parse_expression(source, "<fuzz>");
  if (!parsed.ok()) {
    note("syntax errors:", parsed.diagnostics.front().message);
    return;
  }
  check_round_trip(parsed);

  std::ostream null_output(nullptr);  // no buffer: every write just sets badbit
  VmOptions options;
  options.output = kVerbose ? nullptr : &null_output;
  options.instruction_budget = 100'000;
  options.memory_budget = 4u << 20;
  options.max_call_depth = 200;
  options.stack_slots = 1u << 14;          // small, so "stack overflow" is reachable besides max_call_depth
  options.engine_modules = false;          // no allowed_paths: read_file and friends must refuse
  options.heap.min_threshold = 64u << 10;  // collect often: rooting bugs show up sooner
  // One input in eight collects at every safepoint (slow: on a smaller budget).
  if (hash_of(source) % 8 == 0) {
    options.heap.stress = true;
    options.instruction_budget = 10'000;
  }
  Vm vm(options);
  // Vm::run parses and compiles again; compile errors arrive as miso::Error(Format).
  if (run_script(vm, source, "<fuzz>")) return;
  // After a failure the Vm must be usable again (reset_after_failure), unless the
  // script's globals fill the memory budget. The probe uses no builtins (the script may
  // have reassigned them) and a name the dictionary does not suggest.
  try {
    vm.run("let fuzz_probe_7 = [1, {\"k\": 2}]\nif fuzz_probe_7[1].k != 2 { throw \"probe\" }\n", "<probe>");
  } catch (const MemoryBudgetError&) {
  } catch (const miso::Error& e) {
    const std::string_view message = e.what();
    if (message.find("memory budget") == std::string_view::npos)
      fail("the Vm is not usable after a failed run", message);
  }
}

}  // namespace
}  // namespace miso::mcode

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  miso::mcode::fuzz_one(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
