// Plugin registrations into the components. Decisions at the boundary:
//   - M-CODE arguments: nil, bool, int, float, string as themselves; a list of numbers
//     and a tensor (any dtype, read as f64 in row-major order) as an array; anything
//     else is an argument error naming the function and the argument. An array result
//     is a list of floats (a list works in every VM, engine modules or not; scripts
//     that want a tensor call tmath.tensor on it).
//   - Plugin errors are catchable M-CODE errors "<plugin>.<function>: <message>".
//   - Each native's record (plugin, function name) is owned by a handle in the native's
//     traced `bound` slot, so it lives exactly as long as the native (and is cloned with
//     it for worker VMs); the record keeps the plugin alive after an unload.
//   - Plugin workloads generate their input from the seed. save_input writes a small
//     descriptor (a data file of kind "plugin": the seed and "<workload> <target bytes>"),
//     and prepare with a data folder reads the seed back from it, so `miso data gen`
//     followed by `miso profile --data` reproduces the saved input.
#include "miso/omega/plugin_bindings.hpp"

#include <cstddef>
#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/echo/condition.hpp"
#include "miso/mcode/binding.hpp"
#include "miso/mcode/modules/modules.hpp"
#include "miso/profiler/data_file.hpp"
#include "miso/tmath/custom_kernel.hpp"
#include "miso/tmath/tensor.hpp"

namespace miso::omega {

namespace {

std::string qualified(const vxor::Plugin& plugin, const std::string& name) { return plugin.name() + "." + name; }

// --- M-CODE functions ----------------------------------------------------------------

struct FunctionRecord {
  std::shared_ptr<vxor::Plugin> plugin;
  std::string function;   // unqualified
  std::string qualified;  // "<plugin>.<function>"
};

const mcode::HandleType kFunctionRecordHandle{
    "plugin_function", mcode::finalize_as<FunctionRecord>, nullptr, {}, nullptr,
    nullptr,           mcode::clone_as<FunctionRecord>};

vxor::PluginValue to_plugin(const mcode::NativeCallContext& context, mcode::Value v, std::size_t index) {
  if (v.is_nil()) return vxor::Nil{};
  if (v.is_bool()) return v.as_bool();
  if (v.is_int()) return v.as_int();
  if (v.is_number()) return v.to_double();
  if (v.is_string()) return std::string(v.as_string()->view());
  const std::string what = "argument " + std::to_string(index + 1);
  if (v.is_list()) {
    std::vector<double> array;
    array.reserve(v.as_list()->size());
    for (mcode::Value item : v.as_list()->items()) {
      if (!item.is_number()) mcode::argument_error(context, what.c_str(), "a list of numbers (an array)", item);
      array.push_back(item.to_double());
    }
    return array;
  }
  if (v.is_handle() && v.as_handle()->is(mcode::kTensorHandle)) {
    const tmath::Tensor& t = *v.as_handle()->data_as<tmath::Tensor>();
    return mcode::guarded(context, [&] { return t.to_vector<double>(); });
  }
  mcode::argument_error(context, what.c_str(), "nil, a bool, a number, a string, a list of numbers or a tensor", v);
}

mcode::Value from_plugin(const mcode::NativeCallContext& context, const vxor::PluginValue& v) {
  mcode::Heap& heap = context.heap();
  return std::visit(
      [&](const auto& x) -> mcode::Value {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, vxor::Nil>) {
          return mcode::Value();
        } else if constexpr (std::is_same_v<T, bool>) {
          return mcode::Value::boolean(x);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return heap.integer(x);
        } else if constexpr (std::is_same_v<T, double>) {
          return mcode::Value::number(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return mcode::make_string(heap, x);
        } else {
          return mcode::make_number_list(heap, x);
        }
      },
      v);
}

mcode::Value call_plugin_function(mcode::NativeCallContext& context, std::span<const mcode::Value> args) {
  const FunctionRecord& r = *context.native->bound.as_handle()->data_as<FunctionRecord>();
  std::vector<vxor::PluginValue> values;
  values.reserve(args.size());
  for (std::size_t i = 0; i < args.size(); ++i) values.push_back(to_plugin(context, args[i], i));
  vxor::PluginValue result;
  // Plugin errors already read "<plugin>.<function>: ..."; others get that prefix.
  try {
    result = r.plugin->call(r.function, values);
  } catch (const miso::Error& e) {
    std::string message = e.what();
    if (message.rfind(r.qualified + ":", 0) != 0) message = r.qualified + ": " + message;
    context.error(message);
  } catch (const std::bad_alloc&) {
    context.error(r.qualified + ": out of memory");
  } catch (const std::exception& e) {
    context.error(r.qualified + ": " + e.what());
  }
  return from_plugin(context, result);
}

// Whether `v` is a module this file made (every entry one of our natives): only those
// may be replaced when a plugin is bound again.
bool is_plugin_module(mcode::Value v) {
  if (!v.is_map()) return false;
  bool ours = true;
  v.as_map()->for_each([&](mcode::Value, mcode::Value entry) {
    ours = ours && entry.is_native() && entry.as_native()->fn == call_plugin_function;
  });
  return ours;
}

// --- workloads -----------------------------------------------------------------------

constexpr std::string_view kDescriptorKind = "plugin";

class PluginWorkloadAdapter final : public profiler::Workload {
 public:
  PluginWorkloadAdapter(std::shared_ptr<vxor::Plugin> plugin, std::string workload)
      : plugin_(std::move(plugin)), workload_(std::move(workload)), qualified_(qualified(*plugin_, workload_)) {}

  void prepare(const profiler::WorkloadContext& ctx) override {
    std::uint64_t seed = ctx.seed;
    if (!ctx.data_dir.empty()) {
      const auto path = profiler::input_file(ctx.data_dir, qualified_, ctx.size);
      profiler::DataFile f = profiler::read_data_file(path, kDescriptorKind);
      const std::string descriptor(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
      if (descriptor.rfind(qualified_ + " ", 0) != 0) {
        throw Error(Error::Kind::Format,
                    path.string() + ": describes '" + descriptor + "', not workload '" + qualified_ + "'");
      }
      seed = f.seed;
    }
    instance_.reset();  // a second prepare releases the first instance before making the next
    instance_ = plugin_->prepare_workload(workload_, profiler::target_bytes(ctx.size), seed);
  }

  std::uint64_t input_bytes() const override { return instance_ ? instance_->input_bytes() : 0; }

  void run(const profiler::WorkloadContext&) override { prepared().run(); }

  profiler::CheckResult check() const override {
    vxor::PluginWorkload::Check c = prepared().check();
    return {c.passed, c.detail};
  }

  std::vector<std::filesystem::path> save_input(const profiler::WorkloadContext& ctx,
                                                const std::filesystem::path& dir) const override {
    const auto path = profiler::input_file(dir, qualified_, ctx.size);
    const std::string descriptor = qualified_ + " " + std::to_string(profiler::target_bytes(ctx.size));
    profiler::write_data_file(path, kDescriptorKind, ctx.seed,
                              std::as_bytes(std::span<const char>(descriptor.data(), descriptor.size())));
    return {path};
  }

 private:
  vxor::PluginWorkload& prepared() const {
    if (!instance_) throw Error(Error::Kind::InvalidArgument, qualified_ + ": run or check before prepare");
    return *instance_;
  }

  std::shared_ptr<vxor::Plugin> plugin_;
  std::string workload_;
  std::string qualified_;
  std::unique_ptr<vxor::PluginWorkload> instance_;
};

}  // namespace

void bind_plugin_functions(mcode::Vm& vm, const std::shared_ptr<vxor::Plugin>& plugin) {
  if (plugin == nullptr) throw Error(Error::Kind::InvalidArgument, "bind_plugin_functions: null plugin");
  const std::string& name = plugin->name();
  mcode::Value existing = vm.global(name);
  if (!existing.is_empty() && !is_plugin_module(existing)) {
    throw Error(Error::Kind::InvalidArgument,
                "plugin '" + name + "': its module would replace the global '" + name + "' of the VM");
  }
  mcode::Heap& heap = vm.heap();
  const auto& functions = plugin->info().functions;
  mcode::Rooted module(heap, mcode::Value::object(heap.map(functions.size())));
  for (const vxor::FunctionInfo& f : functions) {
    FunctionRecord record{plugin, f.name, qualified(*plugin, f.name)};
    mcode::Rooted native(heap, mcode::Value::object(heap.native(record.qualified, call_plugin_function, f.arity)));
    native->as_native()->bound = mcode::make_handle(heap, kFunctionRecordHandle, std::move(record));
    module->as_map()->set(heap, heap.string_value(f.name), native.get());
  }
  vm.define_global(name, module.get());
}

void register_plugin_kernels(const std::shared_ptr<vxor::Plugin>& plugin) {
  if (plugin == nullptr) throw Error(Error::Kind::InvalidArgument, "register_plugin_kernels: null plugin");
  std::vector<std::string> done;
  try {
    for (const vxor::KernelInfo& k : plugin->info().kernels) {
      auto kernel = std::make_shared<tmath::CustomKernel>();
      kernel->name = qualified(*plugin, k.name);
      kernel->arity = k.arity;
      kernel->f64 = [plugin, name = k.name](const double* a, const double* b, double* out, std::int64_t n) {
        const auto size = static_cast<std::size_t>(n);
        plugin->kernel_f64(name, {a, size}, b != nullptr ? std::span<const double>(b, size) : std::span<const double>(),
                           {out, size});
      };
      if (k.has_f32) {
        kernel->f32 = [plugin, name = k.name](const float* a, const float* b, float* out, std::int64_t n) {
          const auto size = static_cast<std::size_t>(n);
          plugin->kernel_f32(name, {a, size}, b != nullptr ? std::span<const float>(b, size) : std::span<const float>(),
                             {out, size});
        };
      }
      tmath::register_kernel(kernel);
      done.push_back(kernel->name);
    }
  } catch (...) {
    for (const std::string& name : done) tmath::unregister_kernel(name);  // all or nothing
    throw;
  }
}

void unregister_plugin_kernels(const vxor::Plugin& plugin) {
  for (const vxor::KernelInfo& k : plugin.info().kernels) tmath::unregister_kernel(qualified(plugin, k.name));
}

void register_plugin_conditions(const std::shared_ptr<vxor::Plugin>& plugin) {
  if (plugin == nullptr) throw Error(Error::Kind::InvalidArgument, "register_plugin_conditions: null plugin");
  std::vector<std::string> done;
  try {
    for (const vxor::ConditionInfo& c : plugin->info().conditions) {
      std::string name = qualified(*plugin, c.name);
      echo::register_condition(name,
                               [plugin, condition = c.name](const echo::World& world, const echo::NodeView& node) {
                                 std::vector<vxor::Attribute> attributes;
                                 attributes.reserve(node.attributes.size());
                                 for (const echo::Attribute& a : node.attributes) {
                                   vxor::PluginValue value;
                                   if (a.value.kind == echo::Value::Kind::Number) {
                                     value = a.value.number;
                                   } else {
                                     value = world.text(a.value.text);
                                   }
                                   attributes.push_back({world.text(a.key), std::move(value)});
                                 }
                                 return plugin->condition(condition, world.text(node.type), node.key, attributes);
                               });
      done.push_back(std::move(name));
    }
  } catch (...) {
    for (const std::string& name : done) echo::unregister_condition(name);
    throw;
  }
}

void unregister_plugin_conditions(const vxor::Plugin& plugin) {
  for (const vxor::ConditionInfo& c : plugin.info().conditions) echo::unregister_condition(qualified(plugin, c.name));
}

void add_plugin_workloads(profiler::WorkloadRegistry& registry, const std::shared_ptr<vxor::Plugin>& plugin) {
  if (plugin == nullptr) throw Error(Error::Kind::InvalidArgument, "add_plugin_workloads: null plugin");
  for (const vxor::WorkloadSpec& w : plugin->info().workloads) {
    registry.add({qualified(*plugin, w.name), plugin->name(), w.description,
                  [plugin, name = w.name]() -> std::unique_ptr<profiler::Workload> {
                    return std::make_unique<PluginWorkloadAdapter>(plugin, name);
                  }});
  }
}

}  // namespace miso::omega
