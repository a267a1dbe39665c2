// `miso profile` and `miso profile compare`.
#include <cmath>
#include <csignal>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "miso/core/error.hpp"
#include "miso/omega/config.hpp"
#include "miso/omega/lifecycle.hpp"
#include "miso/omega/runtime.hpp"
#include "miso/profiler/builtin_workloads.hpp"
#include "miso/profiler/compare.hpp"
#include "miso/profiler/html_report.hpp"
#include "miso/profiler/profile_run.hpp"

namespace miso::app {

namespace {

using nlohmann::json;
namespace prof = miso::profiler;

struct ProfileArgs {
  std::string size = "small";
  std::string sizes;
  std::vector<std::string> components;
  std::uint64_t seed = 42;
  std::string out = "miso-report";
  std::string data;
  double sample_ms = 5;
  unsigned threads = 0;
  unsigned repeat = 1;
  bool json_output = false;
  bool list = false;
  bool quiet = false;
  // Options given on the command line override the profile.* configuration keys.
  CLI::Option* size_option = nullptr;
  CLI::Option* seed_option = nullptr;
  CLI::Option* out_option = nullptr;
  CLI::Option* sample_option = nullptr;
  CLI::Option* threads_option = nullptr;
};

struct CompareArgs {
  std::string a, b;
  double threshold_pct = 10;
  double min_time_ms = 0.1;
  bool json_output = false;
};

int list_workloads(const prof::WorkloadRegistry& registry, bool as_json) {
  json out = json::array();
  for (const prof::WorkloadInfo& w : registry.all()) {
    out.push_back({{"name", w.name}, {"component", w.component}, {"description", w.description}});
    if (!as_json) std::cout << fmt::format("{:<28} {:<10} {}\n", w.name, w.component, w.description);
  }
  if (as_json) std::cout << json{{"workloads", out}}.dump(2) << "\n";
  return kExitOk;
}

int run_profile(const ProfileArgs& args) {
  if (args.sample_option->count() > 0 && (!(args.sample_ms > 0) || args.sample_ms > 60'000)) {
    throw Error(Error::Kind::InvalidArgument,
                "--sample-ms must be in (0, 60000], got " + fmt::format("{}", args.sample_ms));
  }
  if (args.size_option->count() > 0) override_config("profile.size", args.size, "--size");
  if (args.seed_option->count() > 0) override_config("profile.seed", std::to_string(args.seed), "--seed");
  if (args.out_option->count() > 0) override_config("profile.out_dir", args.out, "--out");
  if (args.threads_option->count() > 0) override_config("profile.threads", std::to_string(args.threads), "--threads");
  // SIGINT/SIGTERM from here on cancel the run: the report is written whole or not at all.
  omega::install_shutdown_signals();
  omega::Runtime runtime(config());
  runtime.start();
  const omega::Config& c = runtime.config();
  prof::WorkloadRegistry registry = runtime.workloads();  // built-in and plugin workloads
  if (args.list) return list_workloads(registry, args.json_output);
  prof::ProfileOptions options;
  options.sizes =
      args.sizes.empty() ? std::vector{prof::parse_size(c.get_string("profile.size"))} : prof::parse_sizes(args.sizes);
  options.components = args.components;
  options.seed = static_cast<std::uint64_t>(c.get_int("profile.seed"));
  options.out_dir = c.get_path("profile.out_dir");
  options.data_dir = args.data;
  options.sample_period = args.sample_option->count() > 0
                              ? std::chrono::microseconds(static_cast<std::int64_t>(args.sample_ms * 1000))
                              : std::chrono::microseconds(c.get_int("profile.sample_period_ms") * 1000);
  options.threads = static_cast<unsigned>(c.get_int("profile.threads"));
  options.repeat = args.repeat;
  options.progress = args.quiet ? nullptr : &std::cerr;
  options.cancel = &omega::shutdown_flag();

  prof::ProfileResult result;
  try {
    result = prof::run_profile(registry, options);
  } catch (const prof::ProfileCancelled&) {
    // Components stop in reverse order (plugins unloaded, logs flushed) before exiting.
    runtime.stop();
    const int signal = omega::shutdown_signal();
    std::cerr << "miso: profile run interrupted by " << (signal == SIGTERM ? "SIGTERM" : "SIGINT")
              << "; no report written\n";
    return 128 + (signal != 0 ? signal : SIGINT);
  }
  const json& r = result.report;
  if (args.json_output) {
    json summary = json::array();
    for (const json& w : r["workloads"]) {
      summary.push_back({{"name", w["name"]},
                         {"size", w["size"]},
                         {"input_bytes", w["input_bytes"]},
                         {"wall_ns", w["wall_ns"]},
                         {"cpu_load", w["cpu_load"]},
                         {"repetitions", w["repetitions"]},
                         {"peak_bytes", w["memory"]["peak_bytes"]},
                         {"check", w["check"]}});
    }
    std::cout << json{{"report_dir", result.out_dir.string()},
                      {"files",
                       {{"report", (result.out_dir / "report.json").string()},
                        {"trace", (result.out_dir / "trace.json").string()},
                        {"html", (result.out_dir / "index.html").string()}}},
                      {"checks_passed", result.checks_passed},
                      {"workloads", summary},
                      {"scaling", r["scaling"]}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << fmt::format("{:<28} {:<7} {:>10} {:>11} {:>6} {:>11}  {}\n", "workload", "size", "input", "wall",
                             "load", "peak mem", "check");
    for (const json& w : r["workloads"]) {
      std::cout << fmt::format(
          "{:<28} {:<7} {:>10} {:>11} {:>6.2f} {:>11}  {}\n", w["name"].get<std::string>(),
          w["size"].get<std::string>(), prof::format_bytes(w["input_bytes"].get<double>()),
          prof::format_ns(w["wall_ns"].get<double>()), w["cpu_load"].get<double>(),
          prof::format_bytes(w["memory"]["peak_bytes"].get<double>()),
          w["check"]["passed"].get<bool>() ? "ok" : "FAILED: " + w["check"]["detail"].get<std::string>());
    }
    for (const json& s : r["scaling"]) {
      auto exp = [](const json& e) {
        return e.is_number() ? fmt::format("{:.2f}", e.get<double>()) : std::string("n/a");
      };
      std::cout << fmt::format("scaling {:<28} time ~ size^{}  peak memory ~ size^{}\n",
                               s["workload"].get<std::string>(), exp(s["time_exponent"]), exp(s["memory_exponent"]));
    }
    std::cout << "report: " << (result.out_dir / "index.html").string() << "\n"
              << "        " << (result.out_dir / "report.json").string() << "\n"
              << "        " << (result.out_dir / "trace.json").string() << " (open in Perfetto)\n";
  }
  return result.checks_passed ? kExitOk : kExitFailed;
}

int run_compare(const CompareArgs& args) {
  if (!(args.threshold_pct >= 0)) throw Error(Error::Kind::InvalidArgument, "--threshold must be >= 0");
  prof::CompareOptions options;
  options.threshold = args.threshold_pct / 100.0;
  options.min_time_ns = args.min_time_ms * 1e6;
  json a = prof::load_report(args.a);
  json b = prof::load_report(args.b);
  prof::CompareResult result = prof::compare_reports(a, b, options);
  if (args.json_output) {
    std::cout << prof::to_json(result, options).dump(2) << "\n";
  } else {
    std::cout << fmt::format("{:<60} {:<16} {:>12} {:>12} {:>8}\n", "subject", "metric", "A", "B", "B/A");
    for (const prof::MetricComparison& row : result.rows) {
      bool bytes = row.metric.find("bytes") != std::string::npos;
      auto show = [&](double v) { return bytes ? prof::format_bytes(v) : prof::format_ns(v); };
      std::string flag = row.regression ? "  REGRESSION" : row.improvement ? "  faster/smaller" : "";
      if (row.below_floor) flag = "  (below noise floor)";
      std::cout << fmt::format("{:<60} {:<16} {:>12} {:>12} {:>8}{}\n", row.subject, row.metric, show(row.a),
                               show(row.b),
                               std::isinf(row.ratio) ? std::string("inf") : fmt::format("{:.3f}", row.ratio), flag);
    }
    for (const std::string& k : result.only_in_a) std::cout << "only in A: " << k << "\n";
    for (const std::string& k : result.only_in_b) std::cout << "only in B: " << k << "\n";
    std::cout << (result.regressed() ? "regressions found" : "no regression")
              << fmt::format(" (threshold {}%)\n", args.threshold_pct);
  }
  return result.regressed() ? kExitFailed : kExitOk;
}

}  // namespace

void add_profile_commands(CLI::App& app, Action& action) {
  auto args = std::make_shared<ProfileArgs>();
  CLI::App* profile = app.add_subcommand("profile",
                                         "Run the workloads of every component under the profiler and "
                                         "write a report folder (report.json, trace.json, index.html)");
  auto* size = args->size_option =
      profile->add_option("--size", args->size, "Data-set size: small (~1 MB), medium (~100 MB), large (~1 GB)")
          ->capture_default_str();
  profile->add_option("--sizes", args->sizes, "Several sizes, comma-separated (reports growth exponents)")
      ->excludes(size);
  profile->add_option("--components", args->components, "Only these components' workloads (comma-separated)")
      ->delimiter(',');
  args->seed_option =
      profile->add_option("--seed", args->seed, "Seed of the generated data sets")->capture_default_str();
  args->out_option = profile->add_option("--out", args->out, "Report folder")->capture_default_str();
  profile->add_option("--data", args->data, "Read inputs written by 'miso data gen' from this folder");
  args->sample_option =
      profile->add_option("--sample-ms", args->sample_ms, "Sampling period of memory, CPU and counters, in ms")
          ->capture_default_str();
  args->threads_option =
      profile->add_option("--threads", args->threads, "Threads per workload (0: one per hardware thread)")
          ->capture_default_str();
  profile->add_option("--repeat", args->repeat, "Runs per workload and size; the median run is reported")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  profile->add_flag("--json", args->json_output, "Print one JSON document on stdout");
  profile->add_flag("--list", args->list, "List the registered workloads and exit");
  profile->add_flag("--quiet", args->quiet, "No progress lines on stderr");

  auto cargs = std::make_shared<CompareArgs>();
  CLI::App* compare = profile->add_subcommand("compare",
                                              "Compare two report folders: ratio B/A per workload, span "
                                              "and metric; exit 1 when a regression is flagged");
  compare->add_option("A", cargs->a, "Baseline report folder (or report.json)")->required();
  compare->add_option("B", cargs->b, "New report folder (or report.json)")->required();
  compare->add_option("--threshold", cargs->threshold_pct, "Regression threshold in percent")->capture_default_str();
  compare->add_option("--min-time-ms", cargs->min_time_ms, "Times below this in both runs are never flagged")
      ->capture_default_str();
  compare->add_flag("--json", cargs->json_output, "Print one JSON document on stdout");
  compare->callback([cargs, &action] { action = [cargs] { return run_compare(*cargs); }; });
  // CLI11 runs the subcommand's callback before its parent's: keep compare's action.
  profile->callback([args, compare, &action] {
    if (compare->count() == 0) action = [args] { return run_profile(*args); };
  });
}

}  // namespace miso::app
