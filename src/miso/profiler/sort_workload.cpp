#include "miso/profiler/sort_workload.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

#include "miso/core/error.hpp"
#include "miso/core/hash.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/profiler/span.hpp"
#include "miso/profiler/thread_registry.hpp"

namespace miso::profiler {

namespace {

constexpr const char* kName = "profiler.sort";
constexpr const char* kKind = "records";

bool key_less(const Record& a, const Record& b) noexcept { return a.key < b.key; }

// Runs body(i) for i in [0, n) on n threads (the caller runs i = 0).
template <typename Body>
void run_on_threads(unsigned n, Body body) {
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (unsigned i = 1; i < n; ++i) {
    threads.emplace_back([&body, i] {
      set_thread_name("profiler.sort.worker." + std::to_string(i));
      body(i);
    });
  }
  body(0);
  for (std::thread& t : threads) t.join();
}

}  // namespace

std::vector<Record> generate_records(std::uint64_t count, std::uint64_t seed) {
  std::vector<Record> out(count);
  core::SplitMix64 rng(seed);
  for (std::uint64_t i = 0; i < count; ++i) out[i] = {rng.next(), i};
  return out;
}

std::uint64_t fingerprint(const std::vector<Record>& records) noexcept {
  std::uint64_t sum = 0;
  for (const Record& r : records) {
    core::SplitMix64 mix(r.key ^ (r.value * 0x9E3779B97F4A7C15ULL));
    sum += mix.next();
  }
  return sum;
}

void parallel_sort(std::vector<Record>& records, unsigned threads) {
  MISO_PROFILE_SCOPE("profiler.sort.parallel_sort");
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::size_t n = records.size();
  std::size_t chunks = 1;  // a power of two, so merge rounds pair up evenly
  while (chunks * 2 <= threads && n / (chunks * 2) >= 4096) chunks *= 2;
  auto bound = [&](std::size_t i) { return n * i / chunks; };

  run_on_threads(static_cast<unsigned>(chunks), [&](unsigned i) {
    MISO_PROFILE_SCOPE("profiler.sort.chunk");
    std::sort(records.begin() + static_cast<std::ptrdiff_t>(bound(i)),
              records.begin() + static_cast<std::ptrdiff_t>(bound(i + 1)), key_less);
  });

  std::vector<Record> scratch(n);
  std::vector<Record>* from = &records;
  std::vector<Record>* to = &scratch;
  for (std::size_t width = 1; width < chunks; width *= 2) {
    auto merges = static_cast<unsigned>(chunks / (2 * width));
    run_on_threads(merges, [&](std::size_t m) {
      MISO_PROFILE_SCOPE("profiler.sort.merge");
      std::size_t lo = bound(2 * width * m), mid = bound(2 * width * m + width), hi = bound(2 * width * (m + 1));
      std::merge(from->begin() + static_cast<std::ptrdiff_t>(lo), from->begin() + static_cast<std::ptrdiff_t>(mid),
                 from->begin() + static_cast<std::ptrdiff_t>(mid), from->begin() + static_cast<std::ptrdiff_t>(hi),
                 to->begin() + static_cast<std::ptrdiff_t>(lo), key_less);
    });
    std::swap(from, to);
  }
  if (from != &records) records.swap(*from);
}

void SortWorkload::prepare(const WorkloadContext& ctx) {
  MISO_PROFILE_SCOPE("profiler.sort.prepare");
  seed_ = ctx.seed;
  if (ctx.data_dir.empty()) {
    records_ = generate_records(target_bytes(ctx.size) / sizeof(Record), ctx.seed);
  } else {
    records_ = read_data_array<Record>(input_file(ctx.data_dir, kName, ctx.size), kKind, seed_);
  }
  input_fingerprint_ = fingerprint(records_);
}

void SortWorkload::run(const WorkloadContext& ctx) { parallel_sort(records_, ctx.threads); }

CheckResult SortWorkload::check() const {
  MISO_PROFILE_SCOPE("profiler.sort.check");
  auto unsorted = std::is_sorted_until(records_.begin(), records_.end(), key_less);
  if (unsorted != records_.end()) {
    return {false, "record " + std::to_string(unsorted - records_.begin()) + " is out of order"};
  }
  if (fingerprint(records_) != input_fingerprint_) {
    return {false, "output is not a permutation of the input (fingerprint differs)"};
  }
  return {true, std::to_string(records_.size()) + " records in key order, a permutation of the input"};
}

std::vector<std::filesystem::path> SortWorkload::save_input(const WorkloadContext& ctx,
                                                            const std::filesystem::path& dir) const {
  auto path = input_file(dir, kName, ctx.size);
  write_data_file(path, kKind, seed_, std::as_bytes(std::span(records_)));
  return {path};
}

}  // namespace miso::profiler
