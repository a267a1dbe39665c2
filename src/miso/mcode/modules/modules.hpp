// The engine modules of M-CODE: one binding table per engine, bound as globals of the
// engine's name (`tmath`, `echo`, `qlogik`, `bridge`, `mprime`, `nexus`, `profiler`) by
// install_engine_modules (the Vm does this unless VmOptions::engine_modules is false).
// Each engine's module lives in its own file, <engine>_module.cpp; the handle types
// modules exchange (a tensor made by mprime.compile, a network given to bridge) are
// declared here.
#pragma once

#include "miso/mcode/value.hpp"

namespace miso::mcode {

class Vm;

void install_engine_modules(Vm& vm);

void install_tmath_module(Vm& vm);
void install_echo_module(Vm& vm);
void install_qlogik_module(Vm& vm);
void install_bridge_module(Vm& vm);
void install_mprime_module(Vm& vm);
void install_nexus_module(Vm& vm);
void install_profiler_module(Vm& vm);

// Handle types shared between modules (defined in the owning module's file).
extern const HandleType kTensorHandle;   // tmath_module.cpp; data: miso::tmath::Tensor
extern const HandleType kNetworkHandle;  // qlogik_module.cpp; data: std::shared_ptr<const miso::qlogik::Network>
extern const HandleType kExprHandle;     // mprime_module.cpp; data: miso::mprime::Expr
extern const HandleType kWorldHandle;    // echo_module.cpp; data: std::shared_ptr<miso::echo::World>
extern const HandleType
    kDiagramHandle;  // qlogik_module.cpp; data: std::shared_ptr<const miso::qlogik::InfluenceDiagram>

}  // namespace miso::mcode
