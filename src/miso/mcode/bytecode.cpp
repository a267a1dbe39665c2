// Opcode names and the disassembler.
#include "miso/mcode/bytecode.hpp"

namespace miso::mcode {

const char* op_name(Op op) noexcept {
  static constexpr const char* kOpNames[] = {
#define MISO_MCODE_OP_NAME(name) #name,
      MISO_MCODE_OPCODES(MISO_MCODE_OP_NAME)
#undef MISO_MCODE_OP_NAME
  };
  auto index = static_cast<std::size_t>(op);
  return index < static_cast<std::size_t>(Op::Count) ? kOpNames[index] : "?";
}

namespace {

void disassemble_into(std::string& out, const Function& function) {
  out.append("function ")
      .append(function.name != nullptr ? function.name->view() : std::string_view("<main>"))
      .append(" (arity ")
      .append(std::to_string(function.arity))
      .append(", stack ")
      .append(std::to_string(function.register_count))
      .append(")\n");
  for (std::size_t i = 0; i < function.code.size(); ++i) {
    std::uint32_t word = function.code[i];
    Op op = opcode_of(word);
    std::uint32_t a = operand_of(word);
    std::string line = std::to_string(i);
    line.resize(6, ' ');
    line.append(std::to_string(function.lines[i])).append(":").append(std::to_string(function.columns[i]));
    if (line.size() < 16) line.resize(16, ' ');
    line.append(op_name(op));
    switch (op) {
      case Op::Jump:
      case Op::JumpIfFalse:
      case Op::JumpIfFalseKeep:
      case Op::JumpIfTrueKeep:
      case Op::Loop:
      case Op::TryBegin:
        line.append(" -> ").append(std::to_string(static_cast<std::int64_t>(i) + 1 + jump_offset_of(word)));
        break;
      case Op::ForLoop:
        line.append(" ").append(std::to_string(a));
        line.append(" back -> ")
            .append(std::to_string(static_cast<std::int64_t>(i) + 2 + jump_offset_of(function.code[i + 1])));
        out.append(line).append("\n");
        ++i;
        continue;
      case Op::ForRangePrep:
        line.append(" ").append(std::to_string(a & 0xFFFFu)).append(" argc ").append(std::to_string(a >> 16));
        break;
#define MISO_MCODE_DIS_K(op) case Op::op##K:
#define MISO_MCODE_DIS_L(op) case Op::op##L:
#define MISO_MCODE_DIS_LL(op) case Op::op##LL:
#define MISO_MCODE_DIS_LK(op) case Op::op##LK:
#define MISO_MCODE_DIS_ALL(F) \
  F(Add) F(Subtract) F(Multiply) F(Less) F(LessEqual) F(Greater) F(GreaterEqual) F(Equal) F(NotEqual)
        MISO_MCODE_DIS_ALL(MISO_MCODE_DIS_LL)
      case Op::GetIndexLL:
      case Op::SetIndexLL:
      case Op::AddToLocalL:
      case Op::SubtractToLocalL:
      case Op::MultiplyToLocalL:
        line.append(" ").append(std::to_string(a & 0xFFu)).append(" ").append(std::to_string(a >> 8));
        break;
        MISO_MCODE_DIS_ALL(MISO_MCODE_DIS_LK)
      case Op::AddToLocalK:
      case Op::SubtractToLocalK:
      case Op::MultiplyToLocalK:
        line.append(" ")
            .append(std::to_string(a & 0xFFu))
            .append(" ")
            .append(std::to_string(a >> 8))
            .append("  ; ")
            .append(to_repr_string(function.constants[a >> 8]));
        break;
        MISO_MCODE_DIS_ALL(MISO_MCODE_DIS_K)
      case Op::GetIndexK:
      case Op::Constant:
      case Op::GetGlobal:
      case Op::SetGlobal:
      case Op::GetField:
      case Op::SetField:
      case Op::Closure:
        line.append(" ").append(std::to_string(a)).append("  ; ").append(to_repr_string(function.constants[a]));
        break;
      case Op::MethodCall:
        line.append(" ")
            .append(to_display_string(function.constants[a & 0xFFFFu]))
            .append(" argc ")
            .append(std::to_string(a >> 16));
        break;
        MISO_MCODE_DIS_ALL(MISO_MCODE_DIS_L)
      case Op::CloseSlot:
      case Op::PopN:
      case Op::AddToLocal:
      case Op::SubtractToLocal:
      case Op::MultiplyToLocal:
      case Op::GetLocal:
      case Op::SetLocal:
      case Op::GetUpvalue:
      case Op::SetUpvalue:
      case Op::Call:
      case Op::MakeList:
      case Op::MakeMap: line.append(" ").append(std::to_string(a)); break;
      default: break;
#undef MISO_MCODE_DIS_K
#undef MISO_MCODE_DIS_L
#undef MISO_MCODE_DIS_LL
#undef MISO_MCODE_DIS_LK
#undef MISO_MCODE_DIS_ALL
    }
    out.append(line).append("\n");
  }
  for (Value constant : function.constants)
    if (constant.is_function()) {
      out.append("\n");
      disassemble_into(out, *constant.as_function());
    }
}

}  // namespace

std::string disassemble(const Function& function) {
  std::string out;
  disassemble_into(out, function);
  return out;
}

}  // namespace miso::mcode
