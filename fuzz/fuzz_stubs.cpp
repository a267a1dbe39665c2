// Link stand-ins for the parts of MISO the fuzz target leaves out (see CMakeLists.txt).
#include "miso/core/memory.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/mcode/vm.hpp"

namespace miso::mcode {

// The engine modules are not compiled into the fuzzer; it runs with engine_modules = false.
void install_engine_modules(Vm&) {}

}  // namespace miso::mcode

namespace miso::core::memory {

// The memory tags without the accounting (core/memory.cpp replaces the global operator
// new, which ASan must keep): every tag is one, scopes only remember the previous tag.
namespace {
thread_local Tag t_current = kUntagged;
}  // namespace

Tag tag(std::string_view) { return 1; }
Tag current_tag() noexcept { return t_current; }
TagScope::TagScope(Tag tag) noexcept : previous_(t_current) { t_current = tag; }
TagScope::~TagScope() { t_current = previous_; }

}  // namespace miso::core::memory
