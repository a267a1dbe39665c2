// M-CODE bytecode: the instruction set the compiler (compiler.hpp) emits into
// Function::code and the VM (vm.hpp) executes, plus a disassembler for debugging/tests.
//
// ## Design: a stack machine with 32-bit instruction words and fused operand forms
// Each instruction is one uint32: the low 8 bits are the opcode, the high 24 bits one
// unsigned operand (constant index, local slot, argument count, jump offset biased by
// kJumpBias) or two packed ones (slot A in 8 bits, slot/constant B in 16: the LL/LK/L
// forms below). Locals live in the VM value stack at fixed slots of the frame (slot 0 is
// the callee, parameters follow), so GET_LOCAL/SET_LOCAL are one array access; temporaries
// are pushed above them. Why not Lua's register machine (lopcodes.h): the compiler is a
// direct AST walk with no register allocator, which keeps it small and provably correct.
// Most of a register machine's gain comes instead from operand fusion, a peephole in the
// compiler: a binary operator whose operands are locals/constants reads them directly
// (AddLL a b = push slot[a] + slot[b]; AddLK, AddL, AddK likewise for + - * < <= > >= ==
// !=; GetIndexLL/K; SetIndexLL), `x op= e` on a local updates the slot in place
// (AddToLocal/L/K, also - and *), and runs of pops merge (PopN). The peephole never merges
// an instruction that a jump targets, and only moves a local's read past an expression
// that cannot run script code (no calls), so evaluation order is unchanged. A fused
// instruction carries the position of its operator, where errors are reported.
//
// `for` loops keep four hidden slots (source/counter, cursor/trips left, step, the loop
// variable) and test at the bottom (ForLoop + a back-edge word). `for v in range(...)` with
// the global, builtin `range` and small-int arguments allocates nothing: ForRangePrep
// computes the trip count and ForLoop counts it down; a shadowed or redefined `range`,
// other argument types, a zero step or ints beyond the small range fall through to the
// ordinary call and the generic path (lists, map keys, strings, range objects).
//
// The VM keeps ip, the frame base and the instruction count in registers. The instruction
// budget is charged at back-edges (the loop body's length in words, so a straight-line
// body costs exactly its instructions per iteration) and at calls (1): all unbounded
// execution passes there, and dispatch stays a load and an indirect jump. Every
// instruction has a source line and column in Function::lines/columns.
#pragma once

#include <cstdint>
#include <string>

#include "miso/mcode/value.hpp"

namespace miso::mcode {

// ORDER OP: kOpNames in bytecode.cpp and the dispatch table in vm.cpp follow it.
#define MISO_MCODE_OPCODES(X)                                                                 \
  X(Constant)     /* push constants[A] */                                                     \
  X(Nil)          /* push nil */                                                              \
  X(True)         /* push true */                                                             \
  X(False)        /* push false */                                                            \
  X(Pop)          /* pop one value */                                                         \
  X(GetLocal)     /* push slot A of the frame */                                              \
  X(SetLocal)     /* pop into slot A */                                                       \
  X(GetUpvalue)   /* push upvalue A of the closure */                                         \
  X(SetUpvalue)   /* pop into upvalue A */                                                    \
  X(GetGlobal)    /* push global named constants[A] (error when undefined) */                 \
  X(SetGlobal)    /* pop into global named constants[A] (defines it) */                       \
  X(CloseUpvalue) /* close upvalues at the top slot, then pop it */                           \
  X(Add)          /* binary operators: pop b, pop a, push a op b */                           \
  X(Subtract)                                                                                 \
  X(Multiply)                                                                                 \
  X(Divide)                                                                                   \
  X(FloorDivide)                                                                              \
  X(Modulo)                                                                                   \
  X(Power)                                                                                    \
  X(MatMul) /* a @ b: handles only (tensor matrix product) */                                 \
  X(Equal)                                                                                    \
  X(NotEqual)                                                                                 \
  X(Less)                                                                                     \
  X(LessEqual)                                                                                \
  X(Greater)                                                                                  \
  X(GreaterEqual)                                                                             \
  X(Negate)          /* unary minus on the top */                                             \
  X(Not)             /* logical not on the top */                                             \
  X(Jump)            /* ip += A - kJumpBias */                                                \
  X(JumpIfFalse)     /* pop; jump when falsy */                                               \
  X(JumpIfFalseKeep) /* and: jump keeping the top when falsy, else pop it */                  \
  X(JumpIfTrueKeep)  /* or: jump keeping the top when truthy, else pop it */                  \
  X(Loop)            /* backward jump, a safepoint and budget check */                        \
  X(Call)            /* call stack[top-A-1] with A arguments */                               \
  X(MethodCall)      /* A = name constant (16 bits) | argc << 16: object.name(args) */        \
  X(Return)          /* return the top */                                                     \
  X(Closure)         /* push a closure of the Function constants[A] */                        \
  X(MakeList)        /* pop A values, push a list of them */                                  \
  X(MakeMap)         /* pop 2A values (key, value pairs), push a map */                       \
  X(GetIndex)        /* pop index, pop object, push object[index] */                          \
  X(SetIndex)        /* pop value, pop index, pop object; object[index] = value */            \
  X(GetField)        /* pop object, push object.constants[A] */                               \
  X(SetField)        /* pop value, pop object; object.constants[A] = value */                 \
  X(IterPrepare)     /* top = iterable -> iteration source (list, key list or range) */       \
  X(ForRangePrep)    /* A = slot | argc << 16: int range setup or fall through (see below) */ \
  X(ForLoop)         /* slots A..A+3: next item into A+3 and jump back by the next word */    \
  X(CloseSlot)       /* close upvalues at slot A and above (for-loop variable) */             \
  X(TryBegin)        /* install a handler at ip + A - kJumpBias */                            \
  X(TryEnd)          /* remove the innermost handler */                                       \
  X(Throw)           /* pop a value and raise it */                                           \
  X(GetIndexLL)      /* push slot[A & 0xFF][slot[A >> 8]] */                                  \
  X(GetIndexK)       /* top = top[constants[A]] */                                            \
  X(SetIndexLL)      /* pop value; slot[A & 0xFF][slot[A >> 8]] = value */                    \
  X(PopN)            /* pop A values */                                                       \
  X(AddToLocal)      /* slot[A] = slot[A] + pop (compound assignment to a local) */           \
  X(AddToLocalL)     /* slot[A & 0xFF] = slot[A & 0xFF] + slot[A >> 8] */                     \
  X(AddToLocalK)     /* slot[A & 0xFF] = slot[A & 0xFF] + constants[A >> 8] */                \
  X(SubtractToLocal)                                                                          \
  X(SubtractToLocalL)                                                                         \
  X(SubtractToLocalK)                                                                         \
  X(MultiplyToLocal)                                                                          \
  X(MultiplyToLocalL)                                                                         \
  X(MultiplyToLocalK)                                                                         \
  MISO_MCODE_FUSED(X, Add)                                                                    \
  MISO_MCODE_FUSED(X, Subtract)                                                               \
  MISO_MCODE_FUSED(X, Multiply)                                                               \
  MISO_MCODE_FUSED(X, Less)                                                                   \
  MISO_MCODE_FUSED(X, LessEqual)                                                              \
  MISO_MCODE_FUSED(X, Greater)                                                                \
  MISO_MCODE_FUSED(X, GreaterEqual)                                                           \
  MISO_MCODE_FUSED(X, Equal)                                                                  \
  MISO_MCODE_FUSED(X, NotEqual)

// Operand forms of a binary operator `op` (same semantics and errors as `op`):
//   opK  top = top op constants[A]
//   opL  top = top op slot[A]
//   opLL push slot[A & 0xFF] op slot[A >> 8]
//   opLK push slot[A & 0xFF] op constants[A >> 8]
#define MISO_MCODE_FUSED(X, op) X(op##K) X(op##L) X(op##LL) X(op##LK)

enum class Op : std::uint8_t {
#define MISO_MCODE_OP_ENUM(name) name,
  MISO_MCODE_OPCODES(MISO_MCODE_OP_ENUM)
#undef MISO_MCODE_OP_ENUM
      Count
};

inline constexpr std::uint32_t kOperandMax = (1u << 24) - 1;
inline constexpr std::int32_t kJumpBias = 1 << 23;

constexpr std::uint32_t encode(Op op, std::uint32_t operand = 0) noexcept {
  return static_cast<std::uint32_t>(op) | (operand << 8);
}
constexpr Op opcode_of(std::uint32_t word) noexcept { return static_cast<Op>(word & 0xFFu); }
constexpr std::uint32_t operand_of(std::uint32_t word) noexcept { return word >> 8; }
// Jump operands are relative to the instruction after the jump.
constexpr std::int32_t jump_offset_of(std::uint32_t word) noexcept {
  return static_cast<std::int32_t>(operand_of(word)) - kJumpBias;
}

const char* op_name(Op op) noexcept;

// One line per instruction: "index  line:col  OPNAME operand  ; comment", then the nested
// functions of the constant table, each under a header.
std::string disassemble(const Function& function);

}  // namespace miso::mcode
