// The M-CODE compiler: resolves names (locals in frame slots, captured variables as
// upvalues, everything else as globals) and compiles a parsed Program into Function
// prototypes on a Heap, folding constant literal arithmetic on the way.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "miso/mcode/ast.hpp"
#include "miso/mcode/diagnostic.hpp"
#include "miso/mcode/heap.hpp"

namespace miso::mcode {

struct CompileResult {
  // The main chunk (arity 0); nullptr when diagnostics are present. Allocated on the heap
  // given to compile(); not rooted: wrap it in a closure (or root it) before the next
  // safepoint. (Compilation itself never collects.)
  Function* function = nullptr;
  // Scope errors: assignment to an undeclared name, redeclaration in one block,
  // break/continue outside a loop, return at top level, too many constants/locals.
  std::vector<Diagnostic> diagnostics;
  bool ok() const noexcept { return diagnostics.empty() && function != nullptr; }
};

// Compiles a program that parsed without errors. Top-level `let`, `fn` and `import`
// define globals; declarations inside blocks and functions are locals. Fills the
// Resolution slots of the tree as a side effect. `known_global` (optional) says whether a
// name is already a global of the host (a REPL's earlier definitions), so that assigning
// to it is allowed. `return_last_expression` (REPL): when the last top-level statement
// is an expression, the main chunk returns its value instead of nil.
CompileResult compile_program(Program& program, Heap& heap,
                              const std::function<bool(std::string_view)>& known_global = {},
                              bool return_last_expression = false);

// The most locals one function may declare at once and constants per function.
inline constexpr std::size_t kMaxLocals = 250;
inline constexpr std::size_t kMaxConstants = 65535;

}  // namespace miso::mcode
