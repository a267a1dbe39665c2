// example_cpp: a MISO plugin written in C++20 behind the C ABI. Everything it
// registers is stateless, so it declares MISO_VXOR_FLAG_THREAD_SAFE; every entry
// point catches its exceptions (none may cross the C boundary).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "miso/vxor/plugin.h"

namespace {

// Runs body, turning an exception into the call's error.
template <typename F>
int guarded(const miso_vxor_host* host, miso_vxor_call* call, F&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    return host->error(call, e.what());
  } catch (...) {
    return host->error(call, "unknown C++ exception");
  }
}

std::span<const double> array_of(const miso_vxor_value& v) {
  if (v.type != MISO_VXOR_F64_ARRAY) throw std::invalid_argument("expects an array of numbers");
  return {v.as.array.data, v.as.array.size};
}

std::string_view string_of(const miso_vxor_value& v) {
  if (v.type != MISO_VXOR_STRING) throw std::invalid_argument("expects a string");
  return {v.as.string.data, v.as.string.size};
}

// word_count(text): whitespace-separated words.
int word_count(void*, const miso_vxor_host* host, const miso_vxor_value* args, size_t, miso_vxor_call* call) {
  return guarded(host, call, [&]() -> int {
    std::string_view text = string_of(args[0]);
    std::int64_t words = 0;
    bool in_word = false;
    for (char c : text) {
      bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
      if (!space && !in_word) ++words;
      in_word = !space;
    }
    host->result_int(call, words);
    return MISO_VXOR_OK;
  });
}

// sort(array): ascending, NaNs last.
int sort(void*, const miso_vxor_host* host, const miso_vxor_value* args, size_t, miso_vxor_call* call) {
  return guarded(host, call, [&]() -> int {
    std::span<const double> in = array_of(args[0]);
    std::vector<double> v(in.begin(), in.end());
    auto nan_end = std::stable_partition(v.begin(), v.end(), [](double x) { return !std::isnan(x); });
    std::sort(v.begin(), nan_end);
    host->result_f64_array(call, v.data(), v.size());
    return MISO_VXOR_OK;
  });
}

// stats(array): [count, min, max, mean, population standard deviation].
int stats(void*, const miso_vxor_host* host, const miso_vxor_value* args, size_t, miso_vxor_call* call) {
  return guarded(host, call, [&]() -> int {
    std::span<const double> in = array_of(args[0]);
    if (in.empty()) return host->error(call, "stats of an empty array");
    auto [lo, hi] = std::minmax_element(in.begin(), in.end());
    double mean = std::accumulate(in.begin(), in.end(), 0.0) / static_cast<double>(in.size());
    double squares = 0;
    for (double x : in) squares += (x - mean) * (x - mean);
    const double out[5] = {static_cast<double>(in.size()), *lo, *hi, mean,
                           std::sqrt(squares / static_cast<double>(in.size()))};
    host->result_f64_array(call, out, 5);
    return MISO_VXOR_OK;
  });
}

// upper(text): ASCII upper case.
int upper(void*, const miso_vxor_host* host, const miso_vxor_value* args, size_t, miso_vxor_call* call) {
  return guarded(host, call, [&]() -> int {
    std::string s(string_of(args[0]));
    for (char& c : s) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    host->result_string(call, s.data(), s.size());
    return MISO_VXOR_OK;
  });
}

// describe(any...): the type names of the arguments, comma-separated (variadic).
int describe(void*, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc, miso_vxor_call* call) {
  return guarded(host, call, [&]() -> int {
    static constexpr const char* kNames[] = {"nil", "bool", "int", "float", "string", "array"};
    std::string out;
    for (size_t i = 0; i < argc; ++i) {
      if (i > 0) out += ",";
      out += args[i].type >= 0 && args[i].type < 6 ? kNames[args[i].type] : "?";
    }
    host->result_string(call, out.data(), out.size());
    return MISO_VXOR_OK;
  });
}

template <typename T>
T clamp01(T x) {
  return std::isnan(x) ? x : std::clamp(x, T(0), T(1));
}

void clamp01_f64(void*, const double* a, const double*, double* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = clamp01(a[i]);
}
void clamp01_f32(void*, const float* a, const float*, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = clamp01(a[i]);
}

// Condition "in_range": attribute "value" within [lo, hi] (attributes "lo" and "hi", default [0, 1]).
int in_range(void*, const char*, int64_t, const miso_vxor_attribute* attributes, size_t count) {
  double lo = 0, hi = 1, value = 0;
  bool has_value = false;
  for (size_t i = 0; i < count; ++i) {
    const miso_vxor_value& v = attributes[i].value;
    if (v.type != MISO_VXOR_INT && v.type != MISO_VXOR_FLOAT) continue;
    double x = v.type == MISO_VXOR_INT ? static_cast<double>(v.as.integer) : v.as.number;
    std::string_view key = attributes[i].key;
    if (key == "value") {
      value = x;
      has_value = true;
    } else if (key == "lo") {
      lo = x;
    } else if (key == "hi") {
      hi = x;
    }
  }
  return has_value && value >= lo && value <= hi ? 1 : 0;
}

// Workload "sort": sorts target_bytes of random doubles.
struct SortInstance {
  std::vector<double> input;
  std::vector<double> output;
};

int sort_prepare(void*, const miso_vxor_host* host, uint64_t target_bytes, uint64_t seed, void** instance,
                 miso_vxor_call* call) {
  return guarded(host, call, [&]() -> int {
    if (target_bytes > (std::uint64_t{1} << 34)) return host->error(call, "sort: target_bytes above 16 GiB");
    auto w = std::make_unique<SortInstance>();
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> dist(-1e6, 1e6);
    w->input.resize(std::max<std::uint64_t>(target_bytes / sizeof(double), 1));
    for (double& x : w->input) x = dist(rng);
    *instance = w.release();
    return MISO_VXOR_OK;
  });
}

uint64_t sort_input_bytes(void* instance) {
  return static_cast<SortInstance*>(instance)->input.size() * sizeof(double);
}

int sort_run(void* instance, const miso_vxor_host* host, miso_vxor_call* call) {
  return guarded(host, call, [&]() -> int {
    auto* w = static_cast<SortInstance*>(instance);
    w->output = w->input;
    std::sort(w->output.begin(), w->output.end());
    return MISO_VXOR_OK;
  });
}

// Sorted, and a permutation of the input (same sum and same extremes).
int sort_check(void* instance, const miso_vxor_host* host, miso_vxor_call* call) {
  return guarded(host, call, [&]() -> int {
    auto* w = static_cast<SortInstance*>(instance);
    if (w->output.size() != w->input.size()) return host->error(call, "sort: run() has not produced the output");
    if (!std::is_sorted(w->output.begin(), w->output.end())) return host->error(call, "sort: output not sorted");
    auto [lo, hi] = std::minmax_element(w->input.begin(), w->input.end());
    double in_sum = std::accumulate(w->input.begin(), w->input.end(), 0.0);
    double out_sum = std::accumulate(w->output.begin(), w->output.end(), 0.0);
    if (w->output.front() != *lo || w->output.back() != *hi ||
        std::abs(in_sum - out_sum) > 1e-3 * static_cast<double>(w->input.size())) {
      return host->error(call, "sort: output is not a permutation of the input");
    }
    std::string detail = "sorted " + std::to_string(w->output.size()) + " values";
    host->result_string(call, detail.data(), detail.size());
    return MISO_VXOR_OK;
  });
}

void sort_destroy(void* instance) { delete static_cast<SortInstance*>(instance); }

constexpr miso_vxor_function kFunctions[] = {
    {"word_count", 1, "word_count(text): the number of whitespace-separated words", word_count},
    {"sort", 1, "sort(array): the elements in ascending order", sort},
    {"stats", 1, "stats(array): [count, min, max, mean, stddev]", stats},
    {"upper", 1, "upper(text): ASCII upper case", upper},
    {"describe", -1, "describe(args...): the type names of the arguments", describe},
};
constexpr miso_vxor_kernel kKernels[] = {
    {"clamp01", 1, "min(max(x, 0), 1)", clamp01_f64, clamp01_f32},
};
constexpr miso_vxor_workload kWorkloads[] = {
    {"sort", "sorts random doubles; check verifies order and content", sort_prepare, sort_input_bytes, sort_run,
     sort_check, sort_destroy},
};
constexpr miso_vxor_condition kConditions[] = {
    {"in_range", "attribute value within [lo, hi] (default [0, 1])", in_range},
};

constexpr miso_vxor_plugin kPlugin = {
    MISO_VXOR_ABI_MAJOR,
    MISO_VXOR_ABI_MINOR,
    sizeof(miso_vxor_plugin),
    "example_cpp",
    "1.0.0",
    "Example plugin in C++: text, sorting, statistics, a kernel, a workload and a condition",
    MISO_VXOR_FLAG_THREAD_SAFE,
    nullptr,  // no state: no init/shutdown
    nullptr,
    kFunctions,
    std::size(kFunctions),
    kKernels,
    std::size(kKernels),
    kWorkloads,
    std::size(kWorkloads),
    kConditions,
    std::size(kConditions),
};

}  // namespace

extern "C" MISO_VXOR_EXPORT const miso_vxor_plugin* MISO_VXOR_ENTRY(void) { return &kPlugin; }
