// The `profiler` module of M-CODE (placeholder: filled in by the module's author).
#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"

namespace miso::mcode {

void install_profiler_module(Vm& vm) { vm.define_module("profiler", {}); }

}  // namespace miso::mcode
