#include "miso/profiler/compare.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/profiler/analysis.hpp"
#include "miso/profiler/profile_run.hpp"

namespace miso::profiler {

namespace {

using json = nlohmann::json;

std::string key_of(const json& workload) {
  return workload.at("name").get<std::string>() + "@" + workload.at("size").get<std::string>();
}

// Relative spread of a workload's repeated run times; 0 for one run.
double spread_of(const json& workload) {
  if (!workload.contains("repetitions")) return 0.0;
  return relative_spread(workload["repetitions"].value("wall_ns", json::array()).get<std::vector<double>>());
}

MetricComparison judge(std::string subject, std::string metric, double a, double b, double floor, double threshold) {
  MetricComparison c{std::move(subject), std::move(metric), a, b, 1.0, false, false, false, threshold};
  if (a > 0) {
    c.ratio = b / a;
  } else {
    c.ratio = b > 0 ? std::numeric_limits<double>::infinity() : 1.0;
  }
  c.below_floor = a < floor && b < floor;
  if (!c.below_floor) {
    c.regression = c.ratio > 1.0 + threshold;
    c.improvement = c.ratio < 1.0 / (1.0 + threshold);
  }
  return c;
}

}  // namespace

bool CompareResult::regressed() const {
  for (const MetricComparison& r : rows) {
    if (r.regression) return true;
  }
  return false;
}

json load_report(const std::filesystem::path& path) {
  std::filesystem::path file = std::filesystem::is_directory(path) ? path / "report.json" : path;
  std::string text = core::read_file(file);
  json report;
  try {
    report = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(Error::Kind::Format, "'" + file.string() + "' is not valid JSON: " + e.what());
  }
  if (!report.is_object() || report.value("schema", "") != "miso-profile-report") {
    throw Error(Error::Kind::Format, "'" + file.string() + "' is not a MISO profile report (schema field missing)");
  }
  if (report.value("version", 0) != kReportVersion) {
    throw Error(Error::Kind::Format, "'" + file.string() + "' has report version " + report["version"].dump() +
                                         ", this build reads version " + std::to_string(kReportVersion));
  }
  if (!report.contains("workloads") || !report["workloads"].is_array()) {
    throw Error(Error::Kind::Format, "'" + file.string() + "' has no workloads array");
  }
  return report;
}

CompareResult compare_reports(const json& a, const json& b, const CompareOptions& o) {
  CompareResult result;
  std::map<std::string, const json*> in_b;
  for (const json& w : b.at("workloads")) in_b[key_of(w)] = &w;
  std::map<std::string, bool> seen;
  try {
    for (const json& wa : a.at("workloads")) {
      std::string key = key_of(wa);
      seen[key] = true;
      auto it = in_b.find(key);
      if (it == in_b.end()) {
        result.only_in_a.push_back(key);
        continue;
      }
      const json& wb = *it->second;
      // Times are judged against the threshold or the runs' own spread, whichever is
      // larger: a difference within run-to-run noise is not a regression.
      const double time_threshold = std::max({o.threshold, spread_of(wa), spread_of(wb)});
      result.rows.push_back(judge(key, "wall_ns", wa.at("wall_ns"), wb.at("wall_ns"), o.min_time_ns, time_threshold));
      result.rows.push_back(judge(key, "cpu_ns", wa.at("cpu_ns"), wb.at("cpu_ns"), o.min_time_ns, time_threshold));
      result.rows.push_back(judge(key, "peak_bytes", wa.at("memory").at("peak_bytes"), wb.at("memory").at("peak_bytes"),
                                  o.min_bytes, o.threshold));
      result.rows.push_back(judge(key, "allocated_bytes", wa.at("memory").at("allocated_bytes"),
                                  wb.at("memory").at("allocated_bytes"), o.min_bytes, o.threshold));
      std::map<std::string, const json*> spans_b;
      for (const json& s : wb.at("spans")) spans_b[s.at("name").get<std::string>()] = &s;
      for (const json& sa : wa.at("spans")) {
        std::string name = sa.at("name").get<std::string>();
        auto sb = spans_b.find(name);
        if (sb == spans_b.end()) continue;
        std::string subject = key + " / " + name;
        const double span_threshold =
            std::max({time_threshold, sa.value("run_spread", 0.0), sb->second->value("run_spread", 0.0)});
        result.rows.push_back(
            judge(subject, "total_ns", sa.at("total_ns"), sb->second->at("total_ns"), o.min_time_ns, span_threshold));
        result.rows.push_back(judge(subject, "median_ns", sa.at("median_ns"), sb->second->at("median_ns"),
                                    o.min_time_ns, time_threshold));
      }
    }
  } catch (const json::exception& e) {
    throw Error(Error::Kind::Format, std::string("report is missing a field compare needs: ") + e.what());
  }
  for (const auto& [key, w] : in_b) {
    if (!seen.count(key)) result.only_in_b.push_back(key);
  }
  return result;
}

json to_json(const CompareResult& result, const CompareOptions& o) {
  json rows = json::array();
  for (const MetricComparison& r : result.rows) {
    rows.push_back({{"subject", r.subject},
                    {"metric", r.metric},
                    {"a", r.a},
                    {"b", r.b},
                    {"ratio", std::isinf(r.ratio) ? json(nullptr) : json(r.ratio)},
                    {"regression", r.regression},
                    {"improvement", r.improvement},
                    {"below_floor", r.below_floor},
                    {"threshold", r.threshold}});
  }
  return {{"threshold", o.threshold},
          {"min_time_ns", o.min_time_ns},
          {"min_bytes", o.min_bytes},
          {"regressed", result.regressed()},
          {"rows", rows},
          {"only_in_a", result.only_in_a},
          {"only_in_b", result.only_in_b}};
}

}  // namespace miso::profiler
