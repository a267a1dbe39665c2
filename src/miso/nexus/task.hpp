// A task: a callable stored inline (no allocation for captures up to 64 bytes),
// recycled through a per-thread free list, plus the group it belongs to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace miso::nexus {

class TaskGroup;

enum class Priority : std::uint8_t { High = 0, Normal = 1, Background = 2 };
inline constexpr int kPriorityLevels = 3;
const char* to_string(Priority p) noexcept;

struct Task {
  static constexpr std::size_t kInline = 64;

  void (*invoke)(Task&) = nullptr;   // runs the callable, then destroys it
  void (*destroy)(Task&) = nullptr;  // destroys without running (dropped task)
  TaskGroup* group = nullptr;
  Priority priority = Priority::Normal;
  bool recycle = true;  // false: owned elsewhere (a task graph's node), never freed
  alignas(std::max_align_t) unsigned char storage[kInline];

  template <typename F>
  void emplace(F&& f) {
    using Fn = std::decay_t<F>;
    if constexpr (sizeof(Fn) <= kInline && alignof(Fn) <= alignof(std::max_align_t)) {
      ::new (storage) Fn(std::forward<F>(f));
      invoke = [](Task& t) {
        Fn* fn = std::launder(reinterpret_cast<Fn*>(t.storage));
        struct Destroy {
          Fn* fn;
          ~Destroy() { fn->~Fn(); }
        } guard{fn};
        (*fn)();
      };
      destroy = [](Task& t) { std::launder(reinterpret_cast<Fn*>(t.storage))->~Fn(); };
    } else {  // too large to store inline: keep it on the heap
      Fn* heap = new Fn(std::forward<F>(f));
      ::new (storage) Fn*(heap);
      invoke = [](Task& t) {
        Fn* fn = *std::launder(reinterpret_cast<Fn**>(t.storage));
        struct Destroy {
          Fn* fn;
          ~Destroy() { delete fn; }
        } guard{fn};
        (*fn)();
      };
      destroy = [](Task& t) { delete *std::launder(reinterpret_cast<Fn**>(t.storage)); };
    }
  }
};

// A task that can run again and again: the callable must be trivially
// destructible (it is never destroyed) and the task is owned by its creator.
template <typename F>
void make_persistent(Task& task, F f) {
  static_assert(std::is_trivially_destructible_v<F> && sizeof(F) <= Task::kInline);
  ::new (task.storage) F(f);
  task.invoke = [](Task& t) { (*std::launder(reinterpret_cast<F*>(t.storage)))(); };
  task.destroy = [](Task&) {};
  task.recycle = false;
}

// Tasks come from and return to a free list of the calling thread.
Task* allocate_task();
void free_task(Task* task) noexcept;

}  // namespace miso::nexus
