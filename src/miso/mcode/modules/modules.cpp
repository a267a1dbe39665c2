#include "miso/mcode/modules/modules.hpp"

namespace miso::mcode {

void install_engine_modules(Vm& vm) {
  install_tmath_module(vm);
  install_echo_module(vm);
  install_qlogik_module(vm);
  install_bridge_module(vm);
  install_mprime_module(vm);
  install_nexus_module(vm);
  install_profiler_module(vm);
}

}  // namespace miso::mcode
