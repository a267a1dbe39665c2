// The `qlogik` module of M-CODE (placeholder: filled in by the module's author).
#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"

namespace miso::mcode {

const HandleType kNetworkHandle{"network", nullptr};

void install_qlogik_module(Vm& vm) { vm.define_module("qlogik", {}); }

}  // namespace miso::mcode
