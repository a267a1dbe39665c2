// Single-pass AST-to-bytecode compiler with clox-style scope resolution: each function
// keeps its locals in a list (slot = position), captures are resolved through the chain
// of enclosing functions into upvalue descriptors, and leaving a scope pops its locals
// (closing the captured ones so closures keep them).
#include "miso/mcode/compiler.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_set>

#include "miso/mcode/bytecode.hpp"

namespace miso::mcode {
namespace {

struct Local {
  std::string_view name;
  int depth = 0;
  bool captured = false;
  Binding* binding = nullptr;
  bool joins_body = false;  // a for-loop variable: declared in the body's block for redeclaration checks
};

struct UpvalueRef {
  bool from_parent_local = false;
  std::uint16_t index = 0;
};

struct LoopState {
  int scope_depth = 0;  // locals deeper than this belong to the loop body
  int try_depth = 0;    // handlers open when the loop started
  std::size_t continue_target = 0;
  std::vector<std::size_t> break_jumps;
  std::vector<std::size_t> continue_jumps;
};

struct FunctionState {
  FunctionState* enclosing = nullptr;
  Function* function = nullptr;
  std::vector<Local> locals;
  std::vector<UpvalueRef> upvalues;
  std::vector<LoopState> loops;
  int scope_depth = 0;
  int try_depth = 0;
  int depth = 0;  // current stack depth (locals + temporaries)
  int max_depth = 0;
  bool is_main = false;
  // The highest instruction index any jump targets: the peephole fusion never merges an
  // instruction that is a jump target into the one before it.
  std::size_t last_target = 0;
};

// A folded numeric literal.
struct Number {
  bool is_int = false;
  std::int64_t i = 0;
  double d = 0.0;
  double as_double() const { return is_int ? static_cast<double>(i) : d; }
};

std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
std::int64_t wrap_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t wrap_mul(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}

class Compiler {
 public:
  Compiler(Program& program, Heap& heap, const std::function<bool(std::string_view)>& known_global,
           bool return_last_expression)
      : program_(program), heap_(heap), known_global_(known_global), return_last_expression_(return_last_expression) {}

  CompileResult run() {
    CompileResult result;
    FunctionState main;
    main.is_main = true;
    main.function = heap_.function();
    main.function->source = heap_.string(program_.file_name);
    main.locals.push_back(Local{"", 0, false, nullptr});  // slot 0: the callee
    main.depth = main.max_depth = 1;
    state_ = &main;
    collect_globals(program_.body);
    auto& statements = program_.body.statements;
    Stmt* last = statements.empty() ? nullptr : statements.back();
    bool return_last = return_last_expression_ && last != nullptr && last->kind == StmtKind::Expression;
    for (Stmt* statement : statements) {
      if (return_last && statement == last) {
        expression(*last->as<ExpressionStmt>().expression);
        emit(Op::Return, 0, last->pos, -1);
        break;
      }
      statement_(*statement);
    }
    if (!return_last) {
      emit(Op::Nil, 0, program_.body.pos, 1);
      emit(Op::Return, 0, program_.body.pos, -1);
    }
    finish(main);
    result.diagnostics = std::move(diagnostics_);
    if (result.diagnostics.empty()) result.function = main.function;
    return result;
  }

 private:
  // --- emission ---
  std::size_t emit(Op op, std::uint32_t operand, SourcePos pos, int stack_effect) {
    Function& f = *state_->function;
    f.code.push_back(encode(op, operand));
    f.lines.push_back(pos.line);
    f.columns.push_back(pos.column);
    adjust(stack_effect);
    return f.code.size() - 1;
  }
  void adjust(int stack_effect) {
    state_->depth += stack_effect;
    if (state_->depth > state_->max_depth) state_->max_depth = state_->depth;
  }
  std::size_t emit_jump(Op op, SourcePos pos, int stack_effect) { return emit(op, 0, pos, stack_effect); }
  void patch_jump_to(std::size_t at, std::size_t target) {
    Function& f = *state_->function;
    std::int64_t offset = static_cast<std::int64_t>(target) - static_cast<std::int64_t>(at) - 1;
    if (offset >= kJumpBias || offset < -kJumpBias) {
      error(program_.body.pos, "function too large (a jump spans more than 8 million instructions)");
      offset = 0;
    }
    // A backward jump (`continue` in a while loop) must be a Loop: the VM charges the
    // instruction budget and runs a GC safepoint only at back-edges and calls, so a plain
    // backward Jump would let `while true { continue }` escape both.
    Op op = opcode_of(f.code[at]);
    if (op == Op::Jump && offset < 0) op = Op::Loop;
    f.code[at] = encode(op, static_cast<std::uint32_t>(offset + kJumpBias));
    state_->last_target = std::max(state_->last_target, target);
  }
  // --- peephole fusion of operand loads into the operator that consumes them ---
  bool tail_is(std::size_t back, Op op) const {
    const auto& code = state_->function->code;
    return code.size() >= back && opcode_of(code[code.size() - back]) == op &&
           state_->last_target <= code.size() - back;
  }
  std::uint32_t tail_operand(std::size_t back) const {
    const auto& code = state_->function->code;
    return operand_of(code[code.size() - back]);
  }
  void drop_tail(std::size_t n) {
    Function& f = *state_->function;
    f.code.resize(f.code.size() - n);
    f.lines.resize(f.lines.size() - n);
    f.columns.resize(f.columns.size() - n);
  }
  // Replaces [GetLocal a, GetLocal b] / [GetLocal a, Constant k] / [Constant k] / [GetLocal a]
  // at the code tail by one instruction of the fused family {K, L, LL, LK} of `op` (Op
  // order: op+1 = K, +2 = L, +3 = LL, +4 = LK) or, for GetIndex, GetIndexLL / GetIndexK.
  // The fused instruction takes the operator's position (the loads cannot fail).
  bool fuse_binary(Op op, SourcePos pos) {
    bool index = op == Op::GetIndex;
    auto family = [&](int form) { return static_cast<Op>(static_cast<int>(op) + form); };
    Op k_form = index ? Op::GetIndexK : Op::Nil, ll_form = index ? Op::GetIndexLL : Op::Nil;
    if (!index) {
      switch (op) {
        case Op::Add: k_form = Op::AddK; break;
        case Op::Subtract: k_form = Op::SubtractK; break;
        case Op::Multiply: k_form = Op::MultiplyK; break;
        case Op::Less: k_form = Op::LessK; break;
        case Op::LessEqual: k_form = Op::LessEqualK; break;
        case Op::Greater: k_form = Op::GreaterK; break;
        case Op::GreaterEqual: k_form = Op::GreaterEqualK; break;
        case Op::Equal: k_form = Op::EqualK; break;
        case Op::NotEqual: k_form = Op::NotEqualK; break;
        default: return false;
      }
      op = static_cast<Op>(static_cast<int>(k_form) - 1);
      ll_form = family(3);
    }
    if ((k_form == Op::EqualK || k_form == Op::NotEqualK) && tail_is(1, Op::Nil)) {
      // x == nil: nil as a constant, for the K/LK forms.
      Function& f = *state_->function;
      f.code.back() = encode(Op::Constant, constant(Value(), pos));
    }
    if (tail_is(2, Op::GetLocal) && tail_operand(2) <= 0xFF) {
      std::uint32_t a = tail_operand(2);
      if (tail_is(1, Op::GetLocal) && tail_operand(1) <= 0xFFFF) {
        std::uint32_t b = tail_operand(1);
        drop_tail(2);
        adjust(-2);
        emit(ll_form, a | b << 8, pos, 1);
        return true;
      }
      if (!index && tail_is(1, Op::Constant) && tail_operand(1) <= 0xFFFF) {
        std::uint32_t k = tail_operand(1);
        drop_tail(2);
        adjust(-2);
        emit(family(4), a | k << 8, pos, 1);
        return true;
      }
    }
    if (tail_is(1, Op::Constant)) {
      std::uint32_t k = tail_operand(1);
      drop_tail(1);
      adjust(-1);
      emit(k_form, k, pos, 0);
      return true;
    }
    if (!index && tail_is(1, Op::GetLocal)) {
      std::uint32_t a = tail_operand(1);
      drop_tail(1);
      adjust(-1);
      emit(family(2), a, pos, 0);
      return true;
    }
    return false;
  }
  void patch_jump(std::size_t at) { patch_jump_to(at, state_->function->code.size()); }
  void emit_loop(std::size_t target, SourcePos pos) {
    std::size_t at = emit(Op::Loop, 0, pos, 0);
    patch_jump_to(at, target);
  }
  std::uint32_t constant(Value v, SourcePos pos) {
    auto& constants = state_->function->constants;
    for (std::size_t i = 0; i < constants.size(); ++i)
      if (identical(constants[i], v) && !v.is_double()) return static_cast<std::uint32_t>(i);
    if (constants.size() >= kMaxConstants) error(pos, "too many constants in one function");
    constants.push_back(v);
    return static_cast<std::uint32_t>(constants.size() - 1);
  }
  std::uint32_t name_constant(std::string_view name, SourcePos pos) { return constant(heap_.string_value(name), pos); }
  void error(SourcePos pos, std::string message) {
    diagnostics_.push_back(Diagnostic{program_.file_name, pos, std::move(message)});
  }
  void finish(FunctionState& fs) {
    fs.function->register_count = fs.max_depth;
    for (const UpvalueRef& u : fs.upvalues)
      fs.function->upvalues.push_back(Function::UpvalueSource{u.from_parent_local, u.index});
    heap_.account(fs.function);
  }

  // --- scopes ---
  void collect_globals(const Block& body) {
    for (Stmt* s : body.statements) {
      if (s->is<LetStmt>()) globals_.insert(s->as<LetStmt>().variable.name);
      if (s->is<FunctionStmt>()) globals_.insert(s->as<FunctionStmt>().variable.name);
      if (s->is<ImportStmt>()) globals_.insert(s->as<ImportStmt>().variable.name);
    }
  }
  bool at_global_scope() const { return state_->is_main && state_->scope_depth == 0; }
  void begin_scope() { ++state_->scope_depth; }
  // Pops of consecutive uncaptured locals merge into one PopN.
  void emit_pops(std::uint32_t n, SourcePos pos, int stack_effect) {
    if (n == 1) emit(Op::Pop, 0, pos, stack_effect);
    if (n > 1) emit(Op::PopN, n, pos, stack_effect);
  }
  // Emits the pops of locals deeper than `depth` without forgetting them (break/continue).
  void emit_pops_above(int depth, SourcePos pos) {
    std::uint32_t pending = 0;
    for (std::size_t i = state_->locals.size(); i-- > 0 && state_->locals[i].depth > depth;) {
      if (!state_->locals[i].captured) {
        ++pending;
        continue;
      }
      emit_pops(pending, pos, 0);
      pending = 0;
      emit(Op::CloseUpvalue, 0, pos, 0);
    }
    emit_pops(pending, pos, 0);
  }
  void end_scope(SourcePos pos) {
    auto& locals = state_->locals;
    std::uint32_t pending = 0;
    while (!locals.empty() && locals.back().depth == state_->scope_depth) {
      if (locals.back().captured) {
        emit_pops(pending, pos, -static_cast<int>(pending));
        pending = 0;
        emit(Op::CloseUpvalue, 0, pos, -1);
      } else {
        ++pending;
      }
      locals.pop_back();
    }
    emit_pops(pending, pos, -static_cast<int>(pending));
    --state_->scope_depth;
  }
  // Declares a local whose value is already on the stack top.
  void add_local(Binding& binding) {
    auto& locals = state_->locals;
    for (std::size_t i = locals.size(); i-- > 0;) {
      if (locals[i].depth != state_->scope_depth &&
          !(locals[i].joins_body && locals[i].depth == state_->scope_depth - 1))
        break;
      if (locals[i].name == binding.name)
        error(binding.pos, std::string("'").append(binding.name).append("' is already declared in this block"));
    }
    if (locals.size() >= kMaxLocals) error(binding.pos, "too many local variables in one function");
    binding.slot = Resolution{Resolution::Kind::Local, static_cast<std::uint32_t>(locals.size())};
    locals.push_back(Local{binding.name, state_->scope_depth, false, &binding});
  }
  static int find_local(FunctionState& fs, std::string_view name) {
    for (std::size_t i = fs.locals.size(); i-- > 1;)
      if (fs.locals[i].name == name) return static_cast<int>(i);
    return -1;
  }
  static int add_upvalue(FunctionState& fs, bool from_local, std::uint16_t index) {
    for (std::size_t i = 0; i < fs.upvalues.size(); ++i)
      if (fs.upvalues[i].from_parent_local == from_local && fs.upvalues[i].index == index) return static_cast<int>(i);
    fs.upvalues.push_back(UpvalueRef{from_local, index});
    return static_cast<int>(fs.upvalues.size() - 1);
  }
  static int find_upvalue(FunctionState& fs, std::string_view name) {
    if (fs.enclosing == nullptr) return -1;
    int local = find_local(*fs.enclosing, name);
    if (local >= 0) {
      fs.enclosing->locals[static_cast<std::size_t>(local)].captured = true;
      if (Binding* b = fs.enclosing->locals[static_cast<std::size_t>(local)].binding) b->captured = true;
      return add_upvalue(fs, true, static_cast<std::uint16_t>(local));
    }
    int up = find_upvalue(*fs.enclosing, name);
    if (up >= 0) return add_upvalue(fs, false, static_cast<std::uint16_t>(up));
    return -1;
  }
  Resolution resolve(std::string_view name) {
    int local = find_local(*state_, name);
    if (local >= 0) return {Resolution::Kind::Local, static_cast<std::uint32_t>(local)};
    int up = find_upvalue(*state_, name);
    if (up >= 0) return {Resolution::Kind::Capture, static_cast<std::uint32_t>(up)};
    return {Resolution::Kind::Global, ~0u};
  }
  void load_name(std::string_view name, Resolution& slot, SourcePos pos) {
    slot = resolve(name);
    switch (slot.kind) {
      case Resolution::Kind::Local: emit(Op::GetLocal, slot.index, pos, 1); break;
      case Resolution::Kind::Capture: emit(Op::GetUpvalue, slot.index, pos, 1); break;
      default: emit(Op::GetGlobal, name_constant(name, pos), pos, 1); break;
    }
  }
  // Pops the top into the variable.
  void store_name(std::string_view name, Resolution& slot, SourcePos pos) {
    slot = resolve(name);
    switch (slot.kind) {
      case Resolution::Kind::Local: emit(Op::SetLocal, slot.index, pos, -1); break;
      case Resolution::Kind::Capture: emit(Op::SetUpvalue, slot.index, pos, -1); break;
      default:
        if (globals_.count(name) == 0 && !(known_global_ && known_global_(name)))
          error(pos, std::string("assignment to undeclared variable '").append(name).append("'"));
        emit(Op::SetGlobal, name_constant(name, pos), pos, -1);
        break;
    }
  }
  // Binds the value on the stack top to a new variable (global at top level).
  void define(Binding& binding) {
    if (at_global_scope()) {
      if (!declared_globals_.insert(binding.name).second)
        error(binding.pos, std::string("'").append(binding.name).append("' is already declared in this block"));
      binding.slot = Resolution{Resolution::Kind::Global, ~0u};
      emit(Op::SetGlobal, name_constant(binding.name, binding.pos), binding.pos, -1);
    } else {
      add_local(binding);
    }
  }

  // --- statements ---
  void block(const Block& b) {
    begin_scope();
    for (Stmt* s : b.statements) statement_(*s);
    end_scope(b.pos);
  }

  void statement_(Stmt& s) {
    switch (s.kind) {
      case StmtKind::Let: {
        auto& let = s.as<LetStmt>();
        if (let.value != nullptr)
          expression(*let.value);
        else
          emit(Op::Nil, 0, s.pos, 1);
        define(let.variable);
        break;
      }
      case StmtKind::Assign: assign(s.as<AssignStmt>()); break;
      case StmtKind::Expression:
        expression(*s.as<ExpressionStmt>().expression);
        emit(Op::Pop, 0, s.pos, -1);
        break;
      case StmtKind::If: {
        auto& ifs = s.as<IfStmt>();
        std::vector<std::size_t> ends;
        for (IfBranch& branch : ifs.branches) {
          expression(*branch.condition);
          std::size_t skip = emit_jump(Op::JumpIfFalse, branch.condition->pos, -1);
          block(branch.body);
          ends.push_back(emit_jump(Op::Jump, s.pos, 0));
          patch_jump(skip);
        }
        if (ifs.has_else) block(ifs.else_body);
        for (std::size_t e : ends) patch_jump(e);
        break;
      }
      case StmtKind::While: {
        auto& w = s.as<WhileStmt>();
        std::size_t start = state_->function->code.size();
        expression(*w.condition);
        std::size_t exit = emit_jump(Op::JumpIfFalse, w.condition->pos, -1);
        state_->loops.push_back(LoopState{state_->scope_depth, state_->try_depth, start, {}, {}});
        block(w.body);
        LoopState loop = std::move(state_->loops.back());
        state_->loops.pop_back();
        for (std::size_t c : loop.continue_jumps) patch_jump_to(c, start);
        emit_loop(start, s.pos);
        patch_jump(exit);
        for (std::size_t b : loop.break_jumps) patch_jump(b);
        break;
      }
      case StmtKind::For: for_statement(s.as<ForStmt>()); break;
      case StmtKind::Function: {
        auto& f = s.as<FunctionStmt>();
        if (at_global_scope()) {
          function(*f.function);
          define(f.variable);
        } else {
          // Declared before its body so that the body can call itself.
          emit(Op::Nil, 0, s.pos, 1);
          add_local(f.variable);
          function(*f.function);
          emit(Op::SetLocal, f.variable.slot.index, s.pos, -1);
        }
        break;
      }
      case StmtKind::Return: {
        auto& r = s.as<ReturnStmt>();
        if (state_->is_main) error(s.pos, "'return' outside a function");
        if (r.value != nullptr)
          expression(*r.value);
        else
          emit(Op::Nil, 0, s.pos, 1);
        emit(Op::Return, 0, s.pos, -1);
        break;
      }
      case StmtKind::Break:
      case StmtKind::Continue: {
        if (state_->loops.empty()) {
          error(s.pos, s.kind == StmtKind::Break ? "'break' outside a loop" : "'continue' outside a loop");
          break;
        }
        LoopState& loop = state_->loops.back();
        for (int i = loop.try_depth; i < state_->try_depth; ++i) emit(Op::TryEnd, 0, s.pos, 0);
        emit_pops_above(loop.scope_depth, s.pos);
        std::size_t j = emit_jump(Op::Jump, s.pos, 0);
        (s.kind == StmtKind::Break ? loop.break_jumps : loop.continue_jumps).push_back(j);
        break;
      }
      case StmtKind::Try: {
        auto& t = s.as<TryStmt>();
        std::size_t handler = emit_jump(Op::TryBegin, s.pos, 0);
        ++state_->try_depth;
        block(t.body);
        --state_->try_depth;
        emit(Op::TryEnd, 0, s.pos, 0);
        std::size_t over = emit_jump(Op::Jump, s.pos, 0);
        patch_jump(handler);
        adjust(1);  // the VM pushes the caught value
        begin_scope();
        if (t.has_variable)
          add_local(t.variable);
        else
          emit(Op::Pop, 0, s.pos, -1);
        for (Stmt* h : t.handler.statements) statement_(*h);
        end_scope(t.handler.pos);
        patch_jump(over);
        break;
      }
      case StmtKind::Throw:
        expression(*s.as<ThrowStmt>().value);
        emit(Op::Throw, 0, s.pos, -1);
        break;
      case StmtKind::Import: {
        // Engine modules are bound by the host as globals of the same name; importing
        // an unknown module fails at run time when the name is read.
        auto& imp = s.as<ImportStmt>();
        emit(Op::GetGlobal, name_constant(imp.variable.name, s.pos), s.pos, 1);
        if (at_global_scope())
          emit(Op::Pop, 0, s.pos, -1);
        else
          add_local(imp.variable);
        break;
      }
    }
  }

  // Every `for` loop has four hidden slots at A..A+3: source/counter, cursor/limit, step
  // (nil: generic iteration) and the loop variable, and one loop instruction at the bottom:
  //   [range args; ForRangePrep A|argc]  or  [iterable; IterPrepare; Constant 0; Nil]
  //   Nil (the variable); Jump test; body: ...; [CloseSlot A+3]; test: ForLoop A -> body
  // `for v in range(...)` where `range` is the global: ForRangePrep sets up an int counter
  // (no range object) when the global is still the builtin and the arguments are small
  // ints; otherwise it falls through into the generic call sequence.
  void for_statement(ForStmt& f) {
    begin_scope();
    std::uint32_t slot = static_cast<std::uint32_t>(state_->locals.size());
    bool range_form = false;
    if (f.iterable->is<CallExpr>()) {
      auto& c = f.iterable->as<CallExpr>();
      range_form = c.callee->is<NameExpr>() && c.callee->as<NameExpr>().name == "range" && !c.arguments.empty() &&
                   c.arguments.size() <= 3 && resolve("range").kind == Resolution::Kind::Global && slot <= 0xFFFF;
    }
    if (range_form) {
      auto& c = f.iterable->as<CallExpr>();
      expression(*c.callee);
      for (Expr* arg : c.arguments) expression(*arg);
      auto argc = static_cast<std::uint32_t>(c.arguments.size());
      // Fast path: sets the four slots and skips the next 5 words (Call .. Nil), to the Jump.
      emit(Op::ForRangePrep, slot | argc << 16, c.paren_pos, 0);
      emit(Op::Call, argc, c.paren_pos, -static_cast<int>(argc));
    } else {
      expression(*f.iterable);
    }
    emit(Op::IterPrepare, 0, f.iterable->pos, 0);
    state_->locals.push_back(Local{" source", state_->scope_depth, false, nullptr});
    emit(Op::Constant, constant(Value::small_int(0), f.pos), f.pos, 1);
    state_->locals.push_back(Local{" cursor", state_->scope_depth, false, nullptr});
    emit(Op::Nil, 0, f.pos, 1);
    state_->locals.push_back(Local{" step", state_->scope_depth, false, nullptr});
    emit(Op::Nil, 0, f.pos, 1);
    add_local(f.variable);
    state_->locals.back().joins_body = true;
    std::size_t to_test = emit_jump(Op::Jump, f.pos, 0);
    std::size_t body = state_->function->code.size();
    state_->loops.push_back(LoopState{state_->scope_depth, state_->try_depth, 0, {}, {}});
    begin_scope();
    for (Stmt* s : f.body.statements) statement_(*s);
    end_scope(f.body.pos);
    // `continue` has already popped the body's locals (emit_pops_above).
    std::size_t continue_at = state_->function->code.size();
    LoopState loop = std::move(state_->loops.back());
    state_->loops.pop_back();
    for (std::size_t c : loop.continue_jumps) patch_jump_to(c, continue_at);
    // A captured loop variable is fresh in every iteration: close it before the next.
    if (state_->locals[slot + 3].captured) emit(Op::CloseSlot, slot + 3, f.pos, 0);
    patch_jump(to_test);
    std::size_t at = emit(Op::ForLoop, slot, f.pos, 0);
    std::size_t back = emit(Op::Loop, 0, f.pos, 0);  // the ForLoop back-edge word (data)
    patch_jump_to(back, body);
    (void)at;
    for (std::size_t b : loop.break_jumps) patch_jump(b);
    end_scope(f.pos);
  }

  void assign(AssignStmt& a) {
    static constexpr Op kCompound[] = {Op::Nil, Op::Add, Op::Subtract, Op::Multiply, Op::Divide};
    Op compound = kCompound[static_cast<int>(a.op)];
    Expr& target = *a.target;
    if (target.is<NameExpr>()) {
      auto& n = target.as<NameExpr>();
      Resolution r = resolve(n.name);
      if ((compound == Op::Add || compound == Op::Subtract || compound == Op::Multiply) &&
          r.kind == Resolution::Kind::Local && r.index <= 0xFF && pure(*a.value)) {
        // x op= e on a local: one instruction updates the slot (e cannot change x).
        n.slot = r;
        int family = compound == Op::Add ? 0 : compound == Op::Subtract ? 3 : 6;
        auto op = [&](int form) { return static_cast<Op>(static_cast<int>(Op::AddToLocal) + family + form); };
        expression(*a.value);
        if (tail_is(1, Op::GetLocal) && tail_operand(1) <= 0xFFFF) {
          std::uint32_t b = tail_operand(1);
          drop_tail(1);
          adjust(-1);
          emit(op(1), r.index | b << 8, a.op_pos, 0);
        } else if (tail_is(1, Op::Constant) && tail_operand(1) <= 0xFFFF) {
          std::uint32_t k = tail_operand(1);
          drop_tail(1);
          adjust(-1);
          emit(op(2), r.index | k << 8, a.op_pos, 0);
        } else {
          emit(op(0), r.index, a.op_pos, -1);
        }
        return;
      }
      if (a.op != AssignOp::Set) load_name(n.name, n.slot, target.pos);
      expression(*a.value);
      if (a.op != AssignOp::Set && !fuse_binary(compound, a.op_pos)) emit(compound, 0, a.op_pos, -1);
      store_name(n.name, n.slot, a.op_pos);
    } else if (target.is<IndexExpr>()) {
      auto& ix = target.as<IndexExpr>();
      expression(*ix.object);
      expression(*ix.index);
      if (a.op == AssignOp::Set && tail_is(2, Op::GetLocal) && tail_is(1, Op::GetLocal) && tail_operand(2) <= 0xFF &&
          tail_operand(1) <= 0xFFFF && pure(*a.value)) {
        // local[local] = e: the two loads move into SetIndexLL (e cannot change them).
        std::uint32_t object = tail_operand(2), index = tail_operand(1);
        drop_tail(2);
        adjust(-2);
        expression(*a.value);
        emit(Op::SetIndexLL, object | index << 8, ix.bracket_pos, -1);
        return;
      }
      if (a.op != AssignOp::Set) {
        // object index -> object index object index -> ... value
        // Re-evaluating would repeat side effects, so copy the two stack tops.
        emit(Op::GetLocal, static_cast<std::uint32_t>(state_->depth - 2), ix.bracket_pos, 1);
        emit(Op::GetLocal, static_cast<std::uint32_t>(state_->depth - 2), ix.bracket_pos, 1);
        emit(Op::GetIndex, 0, ix.bracket_pos, -1);
        expression(*a.value);
        if (!fuse_binary(compound, a.op_pos)) emit(compound, 0, a.op_pos, -1);
      } else {
        expression(*a.value);
      }
      emit(Op::SetIndex, 0, ix.bracket_pos, -3);
    } else if (target.is<FieldExpr>()) {
      auto& fe = target.as<FieldExpr>();
      std::uint32_t name = name_constant(fe.name, fe.name_pos);
      expression(*fe.object);
      if (a.op != AssignOp::Set) {
        emit(Op::GetLocal, static_cast<std::uint32_t>(state_->depth - 1), fe.name_pos, 1);
        emit(Op::GetField, name, fe.name_pos, 0);
        expression(*a.value);
        if (!fuse_binary(compound, a.op_pos)) emit(compound, 0, a.op_pos, -1);
      } else {
        expression(*a.value);
      }
      emit(Op::SetField, name, fe.name_pos, -2);
    } else {
      error(target.pos, "cannot assign to this expression");
    }
  }

  // True when evaluating `e` cannot run script code (no calls, no function literals): a
  // local read before `e` may then be read after it instead (fused assignments).
  static bool pure(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Nil:
      case ExprKind::Bool:
      case ExprKind::Int:
      case ExprKind::Float:
      case ExprKind::String:
      case ExprKind::Name: return true;
      case ExprKind::Unary: return pure(*e.as<UnaryExpr>().operand);
      case ExprKind::Binary: return pure(*e.as<BinaryExpr>().left) && pure(*e.as<BinaryExpr>().right);
      case ExprKind::Index: return pure(*e.as<IndexExpr>().object) && pure(*e.as<IndexExpr>().index);
      default: return false;
    }
  }

  // --- expressions ---
  static std::optional<Number> fold(const Expr& e) {
    switch (e.kind) {
      case ExprKind::Int: return Number{true, e.as<IntExpr>().value, 0.0};
      case ExprKind::Float: return Number{false, 0, e.as<FloatExpr>().value};
      case ExprKind::Unary: {
        auto& u = e.as<UnaryExpr>();
        if (u.op != UnaryOp::Negate) return std::nullopt;
        auto v = fold(*u.operand);
        if (!v) return std::nullopt;
        if (v->is_int)
          v->i = wrap_sub(0, v->i);
        else
          v->d = -v->d;
        return v;
      }
      case ExprKind::Binary: {
        auto& b = e.as<BinaryExpr>();
        auto l = fold(*b.left);
        if (!l) return std::nullopt;
        auto r = fold(*b.right);
        if (!r) return std::nullopt;
        bool ints = l->is_int && r->is_int;
        switch (b.op) {
          case BinaryOp::Add:
            return ints ? Number{true, wrap_add(l->i, r->i), 0} : Number{false, 0, l->as_double() + r->as_double()};
          case BinaryOp::Subtract:
            return ints ? Number{true, wrap_sub(l->i, r->i), 0} : Number{false, 0, l->as_double() - r->as_double()};
          case BinaryOp::Multiply:
            return ints ? Number{true, wrap_mul(l->i, r->i), 0} : Number{false, 0, l->as_double() * r->as_double()};
          case BinaryOp::Divide:
            // Division by zero stays a run-time error (with its position).
            if (r->as_double() == 0.0) return std::nullopt;
            return Number{false, 0, l->as_double() / r->as_double()};
          default: return std::nullopt;  // the rest is rare in constant form
        }
      }
      default: return std::nullopt;
    }
  }

  void number_constant(const Number& n, SourcePos pos) {
    Value v = n.is_int ? heap_.integer(n.i) : Value::number(n.d);
    emit(Op::Constant, constant(v, pos), pos, 1);
  }

  void expression(Expr& e) {
    switch (e.kind) {
      case ExprKind::Nil: emit(Op::Nil, 0, e.pos, 1); break;
      case ExprKind::Bool: emit(e.as<BoolExpr>().value ? Op::True : Op::False, 0, e.pos, 1); break;
      case ExprKind::Int: number_constant(Number{true, e.as<IntExpr>().value, 0}, e.pos); break;
      case ExprKind::Float: number_constant(Number{false, 0, e.as<FloatExpr>().value}, e.pos); break;
      case ExprKind::String:
        emit(Op::Constant, constant(heap_.string_value(e.as<StringExpr>().value), e.pos), e.pos, 1);
        break;
      case ExprKind::Name: {
        auto& n = e.as<NameExpr>();
        load_name(n.name, n.slot, e.pos);
        break;
      }
      case ExprKind::List: {
        auto& l = e.as<ListExpr>();
        for (Expr* item : l.items) expression(*item);
        emit(Op::MakeList, static_cast<std::uint32_t>(l.items.size()), e.pos, 1 - static_cast<int>(l.items.size()));
        break;
      }
      case ExprKind::Map: {
        auto& m = e.as<MapExpr>();
        for (MapEntry& entry : m.entries) {
          expression(*entry.key);
          expression(*entry.value);
        }
        emit(Op::MakeMap, static_cast<std::uint32_t>(m.entries.size()), e.pos,
             1 - 2 * static_cast<int>(m.entries.size()));
        break;
      }
      case ExprKind::Unary: {
        if (auto folded = fold(e)) {
          number_constant(*folded, e.pos);
          break;
        }
        auto& u = e.as<UnaryExpr>();
        expression(*u.operand);
        emit(u.op == UnaryOp::Negate ? Op::Negate : Op::Not, 0, e.pos, 0);
        break;
      }
      case ExprKind::Binary: binary(e.as<BinaryExpr>()); break;
      case ExprKind::Call: {
        auto& c = e.as<CallExpr>();
        expression(*c.callee);
        for (Expr* arg : c.arguments) expression(*arg);
        if (c.arguments.size() > 255) error(c.paren_pos, "too many arguments (at most 255)");
        emit(Op::Call, static_cast<std::uint32_t>(c.arguments.size()), c.paren_pos,
             -static_cast<int>(c.arguments.size()));
        break;
      }
      case ExprKind::MethodCall: {
        auto& m = e.as<MethodCallExpr>();
        std::uint32_t name = name_constant(m.name, m.name_pos);
        expression(*m.object);
        for (Expr* arg : m.arguments) expression(*arg);
        if (m.arguments.size() > 255) error(m.name_pos, "too many arguments (at most 255)");
        emit(Op::MethodCall, name | static_cast<std::uint32_t>(m.arguments.size() << 16), m.name_pos,
             -static_cast<int>(m.arguments.size()));
        break;
      }
      case ExprKind::Index: {
        auto& ix = e.as<IndexExpr>();
        expression(*ix.object);
        expression(*ix.index);
        if (fuse_binary(Op::GetIndex, ix.bracket_pos)) break;
        emit(Op::GetIndex, 0, ix.bracket_pos, -1);
        break;
      }
      case ExprKind::Field: {
        auto& fe = e.as<FieldExpr>();
        expression(*fe.object);
        emit(Op::GetField, name_constant(fe.name, fe.name_pos), fe.name_pos, 0);
        break;
      }
      case ExprKind::Function: function(e.as<FunctionExpr>()); break;
    }
  }

  void binary(BinaryExpr& b) {
    if (b.op == BinaryOp::And || b.op == BinaryOp::Or) {
      expression(*b.left);
      std::size_t j = emit_jump(b.op == BinaryOp::And ? Op::JumpIfFalseKeep : Op::JumpIfTrueKeep, b.op_pos, -1);
      expression(*b.right);
      patch_jump(j);
      return;
    }
    if (auto folded = fold(b)) {
      number_constant(*folded, b.pos);
      return;
    }
    static constexpr Op kOps[] = {Op::Add,    Op::Subtract,  Op::Multiply, Op::Divide,      Op::FloorDivide,
                                  Op::Modulo, Op::Power,     Op::MatMul,   Op::Equal,       Op::NotEqual,
                                  Op::Less,   Op::LessEqual, Op::Greater,  Op::GreaterEqual};
    expression(*b.left);
    expression(*b.right);
    if (fuse_binary(kOps[static_cast<int>(b.op)], b.op_pos)) return;
    emit(kOps[static_cast<int>(b.op)], 0, b.op_pos, -1);
  }

  void function(FunctionExpr& f) {
    FunctionState fs;
    fs.enclosing = state_;
    fs.function = heap_.function();
    if (!f.name.empty()) fs.function->name = heap_.string(f.name);
    fs.function->source = state_->function->source;
    fs.function->arity = static_cast<int>(f.parameters.size());
    fs.locals.push_back(Local{"", 0, false, nullptr});
    fs.scope_depth = 1;
    fs.depth = fs.max_depth = 1 + static_cast<int>(f.parameters.size());
    state_ = &fs;
    for (Binding& p : f.parameters) {
      adjust(-1);  // add_local's bookkeeping only; the caller pushed the arguments
      add_local(p);
      adjust(1);
    }
    for (Stmt* s : f.body.statements) statement_(*s);
    emit(Op::Nil, 0, f.body.pos, 1);
    emit(Op::Return, 0, f.body.pos, -1);
    finish(fs);
    state_ = fs.enclosing;
    emit(Op::Closure, constant(Value::object(fs.function), f.pos), f.pos, 1);
  }

  Program& program_;
  Heap& heap_;
  const std::function<bool(std::string_view)>& known_global_;
  bool return_last_expression_ = false;
  FunctionState* state_ = nullptr;
  std::unordered_set<std::string_view> globals_;           // every top-level declaration
  std::unordered_set<std::string_view> declared_globals_;  // those compiled so far
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace

CompileResult compile_program(Program& program, Heap& heap, const std::function<bool(std::string_view)>& known_global,
                              bool return_last_expression) {
  return Compiler(program, heap, known_global, return_last_expression).run();
}

}  // namespace miso::mcode
