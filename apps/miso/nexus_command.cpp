// `miso nexus info`: the configuration of the process-wide executor.
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/nexus/executor.hpp"
#include "miso/nexus/task.hpp"

namespace miso::app {

namespace {

int run_info(bool as_json) {
  nexus::Executor& ex = nexus::Executor::global();
  nlohmann::json priorities = nlohmann::json::array();
  for (int p = 0; p < nexus::kPriorityLevels; ++p)
    priorities.push_back(nexus::to_string(static_cast<nexus::Priority>(p)));
  nlohmann::json info = {{"concurrency", ex.concurrency()},
                         {"workers", ex.worker_count()},
                         {"caller_slot", ex.has_caller_slot()},
                         {"hardware_concurrency", std::thread::hardware_concurrency()},
                         {"deque", "Chase-Lev work-stealing, one per slot and priority"},
                         {"priorities", priorities},
                         {"task_inline_bytes", nexus::Task::kInline},
                         {"parking", "spin 64 searches, then condition variable"}};
  if (as_json) {
    std::cout << info.dump(2) << "\n";
  } else {
    std::cout << fmt::format("concurrency           {}\n", ex.concurrency())
              << fmt::format("worker threads        {}\n", ex.worker_count())
              << fmt::format("caller slot           {}\n",
                             ex.has_caller_slot() ? "yes (a waiting outside thread works as a worker)" : "no")
              << fmt::format("hardware concurrency  {}\n", std::thread::hardware_concurrency())
              << "deques                Chase-Lev work-stealing, one per slot and priority\n"
              << "priorities            high, normal, background\n"
              << fmt::format("inline task storage   {} bytes\n", nexus::Task::kInline)
              << "idle workers          spin 64 searches, then park on a condition variable\n";
  }
  return kExitOk;
}

}  // namespace

void add_nexus_commands(CLI::App& app, Action& action) {
  CLI::App* nexus = app.add_subcommand("nexus", "NEXUS-OS task scheduler");
  nexus->require_subcommand(1);
  auto as_json = std::make_shared<bool>(false);
  CLI::App* info = nexus->add_subcommand("info", "Print the executor configuration");
  info->add_flag("--json", *as_json, "Print one JSON document on stdout");
  info->callback([as_json, &action] { action = [as_json] { return run_info(*as_json); }; });
}

}  // namespace miso::app
