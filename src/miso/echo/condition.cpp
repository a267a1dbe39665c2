#include "miso/echo/condition.hpp"

#include <map>
#include <mutex>
#include <utility>

#include "miso/core/error.hpp"

namespace miso::echo {

namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, ConditionFn, std::less<>> conditions;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: conditions may be looked up during exit
  return *r;
}

}  // namespace

void register_condition(std::string name, ConditionFn condition) {
  if (name.empty()) throw Error(Error::Kind::InvalidArgument, "register_condition: a condition needs a name");
  if (!condition) {
    throw Error(Error::Kind::InvalidArgument, "register_condition: condition '" + name + "' has no function");
  }
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (r.conditions.count(name) != 0) {
    throw Error(Error::Kind::InvalidArgument, "register_condition: condition '" + name + "' is already registered");
  }
  r.conditions.emplace(std::move(name), std::move(condition));
}

bool unregister_condition(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.conditions.find(name);
  if (it == r.conditions.end()) return false;
  r.conditions.erase(it);
  return true;
}

ConditionFn find_condition(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.conditions.find(name);
  return it == r.conditions.end() ? ConditionFn() : it->second;
}

std::vector<std::string> condition_names() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& [name, condition] : r.conditions) names.push_back(name);
  return names;
}

}  // namespace miso::echo
