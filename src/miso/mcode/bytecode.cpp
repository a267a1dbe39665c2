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
      case Op::ForNext:
        line.append(" ").append(std::to_string(a));
        line.append(" exit -> ")
            .append(std::to_string(static_cast<std::int64_t>(i) + 2 + jump_offset_of(function.code[i + 1])));
        out.append(line).append("\n");
        ++i;
        continue;
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
      case Op::GetLocal:
      case Op::SetLocal:
      case Op::GetUpvalue:
      case Op::SetUpvalue:
      case Op::Call:
      case Op::MakeList:
      case Op::MakeMap: line.append(" ").append(std::to_string(a)); break;
      default: break;
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
