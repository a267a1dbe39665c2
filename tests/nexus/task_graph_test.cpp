#include "miso/nexus/task_graph.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "miso/core/error.hpp"

namespace miso::nexus {
namespace {

TEST(TaskGraph, DiamondRespectsDependenciesAndRunsAgain) {
  Executor ex(2);
  TaskGraph g;
  std::mutex m;
  std::vector<std::string> order;
  auto log = [&](std::string s) {
    return [&, s] {
      std::lock_guard l(m);
      order.push_back(s);
    };
  };
  auto a = g.add("a", log("a"));
  auto b = g.add("b", log("b"));
  auto c = g.add("c", log("c"));
  auto d = g.add("d", log("d"));
  g.precede(a, b);
  g.precede(a, c);
  g.precede(b, d);
  g.precede(c, d);
  EXPECT_EQ(g.size(), 4u);
  EXPECT_EQ(g.edges(), 4u);
  EXPECT_EQ(g.name(c), "c");
  for (int run = 0; run < 200; ++run) {
    order.clear();
    JobStatus s = g.run(ex);
    ASSERT_EQ(s.tasks_run, 4u);
    ASSERT_EQ(order.size(), 4u);
    ASSERT_EQ(order.front(), "a");
    ASSERT_EQ(order.back(), "d");
  }
}

TEST(TaskGraph, CycleIsAnErrorNamingItsTasks) {
  TaskGraph g;
  auto load = g.add("load", [] {});
  auto parse = g.add("parse", [] {});
  auto check = g.add("check", [] {});
  auto report = g.add("report", [] {});
  g.precede(load, parse);
  g.precede(parse, check);
  g.precede(check, report);
  g.precede(check, parse);  // parse -> check -> parse
  try {
    g.validate();
    FAIL() << "expected a cycle error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'parse'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'check'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("'load'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("'report'"), std::string::npos) << msg;
  }
  EXPECT_THROW(g.run(), Error);
  EXPECT_THROW(g.precede(load, load), Error);
  EXPECT_THROW(g.precede(load, 99), Error);
}

TEST(TaskGraph, ExceptionStopsSuccessorsAndGraphRunsAgain) {
  Executor ex(2);
  TaskGraph g;
  std::atomic<bool> fail{true};
  std::atomic<int> after{0};
  auto first = g.add("first", [&] {
    if (fail) throw std::runtime_error("first failed");
  });
  auto second = g.add("second", [&] { after.fetch_add(1); });
  g.precede(first, second);
  EXPECT_THROW(g.run(ex), std::runtime_error);
  EXPECT_EQ(after.load(), 0);
  fail = false;
  g.run(ex);
  EXPECT_EQ(after.load(), 1);
}

TEST(TaskGraph, MovedGraphRunsAndGrownGraphRunsNewTasks) {
  Executor ex(2);
  std::atomic<int> ran{0};
  TaskGraph a;
  auto x = a.add("x", [&] { ran.fetch_add(1); });
  a.run(ex);
  TaskGraph b(std::move(a));
  b.run(ex);
  auto y = b.add("y", [&] { ran.fetch_add(10); });
  b.precede(x, y);
  JobStatus s = b.run(ex);
  EXPECT_EQ(s.tasks_run, 2u);
  EXPECT_EQ(ran.load(), 13);
  TaskGraph c;
  c = std::move(b);
  c.run(ex);
  EXPECT_EQ(ran.load(), 24);
}

TEST(TaskGraph, WideGraphOfManyTinyTasks) {
  Executor ex(2);
  TaskGraph g;
  std::atomic<long> sum{0};
  auto source = g.add("source", [] {});
  auto sink = g.add("sink", [] {});
  for (int i = 0; i < 100000; ++i) {
    auto n = g.add("leaf", [&sum, i] { sum.fetch_add(i, std::memory_order_relaxed); });
    g.precede(source, n);
    g.precede(n, sink);
  }
  for (int run = 1; run <= 3; ++run) {
    JobStatus s = g.run(ex);
    EXPECT_EQ(s.tasks_run, 100002u);
    EXPECT_EQ(sum.load(), run * (100000L * 99999 / 2));
  }
}

}  // namespace
}  // namespace miso::nexus
