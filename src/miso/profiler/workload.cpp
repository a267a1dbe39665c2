#include "miso/profiler/workload.hpp"

#include <algorithm>

#include "miso/core/error.hpp"

namespace miso::profiler {

DataSize parse_size(std::string_view text) {
  if (text == "small") return DataSize::Small;
  if (text == "medium") return DataSize::Medium;
  if (text == "large") return DataSize::Large;
  throw Error(Error::Kind::InvalidArgument,
              "unknown data-set size '" + std::string(text) + "' (expected small, medium or large)");
}

std::vector<DataSize> parse_sizes(std::string_view comma_separated) {
  std::vector<DataSize> out;
  std::size_t start = 0;
  while (start <= comma_separated.size()) {
    std::size_t comma = comma_separated.find(',', start);
    if (comma == std::string_view::npos) comma = comma_separated.size();
    DataSize s = parse_size(comma_separated.substr(start, comma - start));
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    start = comma + 1;
  }
  return out;
}

const char* to_string(DataSize size) noexcept {
  switch (size) {
    case DataSize::Small: return "small";
    case DataSize::Medium: return "medium";
    case DataSize::Large: return "large";
  }
  return "?";
}

std::uint64_t target_bytes(DataSize size) noexcept {
  switch (size) {
    case DataSize::Small: return std::uint64_t{1} << 20;
    case DataSize::Medium: return std::uint64_t{100} << 20;
    case DataSize::Large: return std::uint64_t{1} << 30;
  }
  return 0;
}

void WorkloadRegistry::add(WorkloadInfo info) {
  for (const WorkloadInfo& w : workloads_) {
    if (w.name == info.name) throw Error(Error::Kind::InvalidArgument, "workload '" + info.name + "' registered twice");
  }
  workloads_.push_back(std::move(info));
}

std::vector<std::string> WorkloadRegistry::components() const {
  std::vector<std::string> out;
  for (const WorkloadInfo& w : workloads_) {
    if (std::find(out.begin(), out.end(), w.component) == out.end()) out.push_back(w.component);
  }
  return out;
}

std::vector<const WorkloadInfo*> WorkloadRegistry::select(const std::vector<std::string>& components) const {
  std::vector<std::string> known = this->components();
  for (const std::string& c : components) {
    if (std::find(known.begin(), known.end(), c) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error(Error::Kind::InvalidArgument, "unknown component '" + c + "' (known: " + list + ")");
    }
  }
  std::vector<const WorkloadInfo*> out;
  for (const WorkloadInfo& w : workloads_) {
    if (components.empty() || std::find(components.begin(), components.end(), w.component) != components.end()) {
      out.push_back(&w);
    }
  }
  return out;
}

std::filesystem::path input_file(const std::filesystem::path& dir, std::string_view workload, DataSize size) {
  return dir / (std::string(workload) + "." + to_string(size) + ".misodat");
}

}  // namespace miso::profiler
