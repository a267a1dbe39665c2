// What a plugin call costs: example_c's add(2, 3) called directly through the C
// function pointer (the floor), through the in-process Plugin::call (name lookup,
// value conversion, result slot) and through the isolated Plugin::call (a framed
// request and reply over a socket pair to the worker process); and the softplus
// kernel over 1e5 doubles in-process vs isolated (800 KB each way).
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "miso/vxor/abi.hpp"
#include "miso/vxor/plugin_host.hpp"

namespace {

using miso::vxor::PluginValue;

miso::vxor::Manifest example_manifest() {
  return miso::vxor::read_manifest(std::string(MISO_PLUGIN_DIR) + "/example_c.toml");
}

void quiet(std::string_view, int, std::string_view) {}

miso::vxor::Plugin& in_process() {
  static auto plugin = miso::vxor::load_in_process(example_manifest(), quiet);
  return *plugin;
}

miso::vxor::Plugin& isolated() {
  static auto plugin =
      miso::vxor::load_isolated(example_manifest(), MISO_VXOR_WORKER, std::chrono::milliseconds(10000), quiet);
  return *plugin;
}

// The library opened by hand, its add function and init'ed state: no host machinery.
struct Direct {
  miso::vxor::abi::HostContext host{"example_c", quiet};
  const miso_vxor_function* add = nullptr;
  void* state = nullptr;

  Direct() {
    auto manifest = example_manifest();
    // dlopen of the same path returns the copy already mapped, and the host refuses to
    // load a library it did not map itself (a possibly stale copy): map it through the
    // host first. This handle then only adds a reference; the state below is our own.
    in_process();
    void* handle = dlopen(manifest.library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) fail(dlerror());
    auto entry = reinterpret_cast<miso_vxor_entry_fn>(dlsym(handle, MISO_VXOR_ENTRY_NAME));
    if (entry == nullptr) fail("no entry symbol");
    const miso_vxor_plugin* table = entry();
    miso_vxor_call call;
    if (table->init != nullptr && table->init(host.table(), &state, &call) != MISO_VXOR_OK) fail("init failed");
    for (std::size_t i = 0; i < table->function_count; ++i) {
      if (std::strcmp(table->functions[i].name, "add") == 0) add = &table->functions[i];
    }
    if (add == nullptr) fail("no add function");
  }
  [[noreturn]] static void fail(const char* what) {
    std::fprintf(stderr, "bench_vxor: %s\n", what);
    std::exit(1);
  }
};

void BM_Add_DirectCall(benchmark::State& state) {
  static Direct direct;
  miso_vxor_value args[2] = {};
  args[0].type = MISO_VXOR_INT;
  args[0].as.integer = 2;
  args[1].type = MISO_VXOR_INT;
  args[1].as.integer = 3;
  miso_vxor_call call;
  for (auto _ : state) {
    int rc = direct.add->call(direct.state, direct.host.table(), args, 2, &call);
    benchmark::DoNotOptimize(rc);
    benchmark::DoNotOptimize(call.result);
  }
  if (std::get<std::int64_t>(call.result) != 5) state.SkipWithError("add(2, 3) != 5");
}
BENCHMARK(BM_Add_DirectCall)->MinTime(0.1);

void add_through(benchmark::State& state, miso::vxor::Plugin& plugin) {
  std::vector<PluginValue> args = {std::int64_t{2}, std::int64_t{3}};
  PluginValue result;
  for (auto _ : state) {
    result = plugin.call("add", args);
    benchmark::DoNotOptimize(result);
  }
  if (result != PluginValue(std::int64_t{5})) state.SkipWithError("add(2, 3) != 5");
}

void BM_Add_InProcess(benchmark::State& state) { add_through(state, in_process()); }
BENCHMARK(BM_Add_InProcess)->MinTime(0.1);

void BM_Add_Isolated(benchmark::State& state) { add_through(state, isolated()); }
BENCHMARK(BM_Add_Isolated)->MinTime(0.1);

void softplus_through(benchmark::State& state, miso::vxor::Plugin& plugin) {
  constexpr std::size_t kN = 100000;
  std::vector<double> a(kN), out(kN);
  for (std::size_t i = 0; i < kN; ++i) a[i] = std::sin(static_cast<double>(i)) * 10;
  for (auto _ : state) {
    plugin.kernel_f64("softplus", a, {}, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kN));
  if (std::abs(out[0] - std::log(2.0)) > 1e-12) state.SkipWithError("softplus(0) != log 2");
}

void BM_Softplus1e5_InProcess(benchmark::State& state) { softplus_through(state, in_process()); }
BENCHMARK(BM_Softplus1e5_InProcess)->MinTime(0.1);

void BM_Softplus1e5_Isolated(benchmark::State& state) { softplus_through(state, isolated()); }
BENCHMARK(BM_Softplus1e5_Isolated)->MinTime(0.1);

}  // namespace

BENCHMARK_MAIN();
