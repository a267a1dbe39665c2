#include "miso/nexus/task.hpp"

#include <vector>

namespace miso::nexus {

namespace {

// Bounded so a thread that frees many tasks others allocated does not hoard them.
constexpr std::size_t kMaxFree = 4096;

struct FreeList {
  std::vector<Task*> tasks;
  ~FreeList() {
    for (Task* t : tasks) delete t;
  }
};

thread_local FreeList t_free;

}  // namespace

const char* to_string(Priority p) noexcept {
  switch (p) {
    case Priority::High: return "high";
    case Priority::Normal: return "normal";
    case Priority::Background: return "background";
  }
  return "?";
}

Task* allocate_task() {
  if (!t_free.tasks.empty()) {
    Task* t = t_free.tasks.back();
    t_free.tasks.pop_back();
    return t;
  }
  return new Task;
}

void free_task(Task* task) noexcept {
  if (t_free.tasks.size() < kMaxFree) {
    try {
      t_free.tasks.push_back(task);
      return;
    } catch (...) {
    }
  }
  delete task;
}

}  // namespace miso::nexus
