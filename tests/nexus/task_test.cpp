#include "miso/nexus/task.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

namespace miso::nexus {
namespace {

TEST(Task, InlineAndHeapCallablesRunAndDestroyOnce) {
  auto counter = std::make_shared<int>(0);
  Task* small = allocate_task();
  small->emplace([counter] { ++*counter; });
  EXPECT_EQ(counter.use_count(), 2);
  small->invoke(*small);
  EXPECT_EQ(*counter, 1);
  EXPECT_EQ(counter.use_count(), 1);  // the capture was destroyed after running
  free_task(small);

  std::array<char, 200> big{};
  big[0] = 'x';
  std::string seen;
  Task* large = allocate_task();
  large->emplace([big, &seen, counter] { seen = std::string(1, big[0]); });
  large->invoke(*large);
  EXPECT_EQ(seen, "x");
  EXPECT_EQ(counter.use_count(), 1);
  free_task(large);

  Task* dropped = allocate_task();
  dropped->emplace([counter] { ++*counter; });
  dropped->destroy(*dropped);  // never runs
  EXPECT_EQ(*counter, 1);
  EXPECT_EQ(counter.use_count(), 1);
  free_task(dropped);
}

TEST(Task, FreeListRecycles) {
  Task* a = allocate_task();
  free_task(a);
  Task* b = allocate_task();
  EXPECT_EQ(a, b);
  free_task(b);
  EXPECT_STREQ(to_string(Priority::High), "high");
  EXPECT_STREQ(to_string(Priority::Normal), "normal");
  EXPECT_STREQ(to_string(Priority::Background), "background");
}

}  // namespace
}  // namespace miso::nexus
