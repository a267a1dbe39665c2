// Named trigger conditions: predicates in code that triggers refer to by name
// (Trigger::condition), so conditions can come from outside ECHO-PRIME — VXOR plugins
// register theirs as "<plugin>.<condition>" through Omega-Kern — and triggers described
// as data can use them. TriggerEngine::add resolves the name once; the trigger then holds
// the function itself, so unregistering a condition does not affect triggers already added.
//
// A condition gets the World as well as the node: types, attribute keys and text values
// are Symbols, and only the World can spell them. It runs on the engine's thread, at most
// once per node and trigger (after the trigger's comparisons); it may throw, and the error
// leaves TriggerEngine::append as any error does.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "miso/echo/timeline.hpp"

namespace miso::echo {

using ConditionFn = std::function<bool(const World& world, const NodeView& node)>;

// Error(InvalidArgument) when the name is empty or taken or the function is empty.
// Thread-safe (the registry is behind a mutex).
void register_condition(std::string name, ConditionFn condition);
// Whether a condition of that name was registered (and is now removed).
bool unregister_condition(std::string_view name);
// An empty function when unknown.
ConditionFn find_condition(std::string_view name);
std::vector<std::string> condition_names();  // sorted

}  // namespace miso::echo
