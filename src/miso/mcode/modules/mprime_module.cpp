// The `mprime` module of M-CODE (placeholder: filled in by the module's author).
#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"

namespace miso::mcode {

const HandleType kExprHandle{"expr", nullptr};

void install_mprime_module(Vm& vm) { vm.define_module("mprime", {}); }

}  // namespace miso::mcode
