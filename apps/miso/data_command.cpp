// `miso data gen`: writes the generated inputs of the workloads to files, so that
// `miso profile --data DIR` reads them back and measures that I/O for real.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/core/file.hpp"
#include "miso/core/memory.hpp"
#include "miso/omega/runtime.hpp"
#include "miso/profiler/workload.hpp"

namespace miso::app {

namespace {

struct GenArgs {
  std::string size = "small";
  std::string out;
  std::vector<std::string> components;
  std::uint64_t seed = 42;
  bool json_output = false;
};

int run_gen(const GenArgs& args) {
  namespace prof = miso::profiler;
  prof::DataSize size = prof::parse_size(args.size);
  // Built-in and plugin workloads, as `miso profile` sees them.
  miso::omega::Runtime runtime(config());
  runtime.start();
  prof::WorkloadRegistry registry = runtime.workloads();
  std::vector<const prof::WorkloadInfo*> selected = registry.select(args.components);
  core::ensure_writable_directory(args.out);
  // Where workloads may put temporary files while preparing; removed however this ends.
  struct Scratch {
    std::filesystem::path path;
    ~Scratch() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } scratch{std::filesystem::path(args.out) / (".scratch-" + std::to_string(::getpid()))};
  std::filesystem::create_directories(scratch.path);
  nlohmann::json files = nlohmann::json::array();
  for (const prof::WorkloadInfo* info : selected) {
    core::memory::TagScope tag(core::memory::tag(info->component));
    prof::WorkloadContext ctx{size, args.seed, {}, scratch.path, 0};
    std::unique_ptr<prof::Workload> w = info->make();
    w->prepare(ctx);
    for (const auto& path : w->save_input(ctx, args.out)) {
      auto bytes = std::filesystem::file_size(path);
      files.push_back({{"workload", info->name}, {"path", path.string()}, {"bytes", bytes}});
      if (!args.json_output) std::cout << fmt::format("{:<28} {} ({} bytes)\n", info->name, path.string(), bytes);
    }
  }
  if (args.json_output) {
    std::cout << nlohmann::json{{"size", args.size}, {"seed", args.seed}, {"files", files}}.dump(2) << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_data_commands(CLI::App& app, Action& action) {
  CLI::App* data = app.add_subcommand("data", "Data sets of the workloads");
  data->require_subcommand(1);
  auto args = std::make_shared<GenArgs>();
  CLI::App* gen = data->add_subcommand("gen", "Write the generated inputs of the workloads to a folder");
  gen->add_option("--size", args->size, "small (~1 MB), medium (~100 MB) or large (~1 GB)")->capture_default_str();
  gen->add_option("--out", args->out, "Folder to write into")->required();
  gen->add_option("--components", args->components, "Only these components (comma-separated)")->delimiter(',');
  gen->add_option("--seed", args->seed, "Seed of the generated data")->capture_default_str();
  gen->add_flag("--json", args->json_output, "Print one JSON document on stdout");
  gen->callback([args, &action] { action = [args] { return run_gen(*args); }; });
}

}  // namespace miso::app
