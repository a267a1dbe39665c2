// The `tmath` module of M-CODE (placeholder: filled in by the module's author).
#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"

namespace miso::mcode {

const HandleType kTensorHandle{"tensor", nullptr};

void install_tmath_module(Vm& vm) { vm.define_module("tmath", {}); }

}  // namespace miso::mcode
