// In-process plugins: the library is dlopen'ed into this process and a call is an
// indirect call plus value conversion at the boundary.
#include <dlfcn.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/vxor/abi.hpp"
#include "miso/vxor/plugin_host.hpp"

namespace miso::vxor {

namespace {

struct LibraryCloser {
  void operator()(void* handle) const noexcept {
    if (handle != nullptr) dlclose(handle);
  }
};
using LibraryHandle = std::unique_ptr<void, LibraryCloser>;

std::string dl_error() {
  const char* e = dlerror();
  return e != nullptr ? e : "unknown error";
}

// dlopen returns the copy already in memory when a library of the same path is still
// loaded (a reference held elsewhere, or a C++ library that cannot be unloaded), even
// when the file was rebuilt since. The digest each path had when it was last mapped
// tells such a stale copy apart, so it is refused rather than silently reused.
template <typename Fail>
LibraryHandle open_library(const Manifest& manifest, Fail&& fail) {
  static std::mutex mutex;
  static std::map<std::string, std::string> mapped_digest;  // path -> sha256 when last mapped
  std::lock_guard lock(mutex);
  const std::string path = manifest.library.string();
  dlerror();
  LibraryHandle resident(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD));
  if (resident) {
    auto it = mapped_digest.find(path);
    if (it == mapped_digest.end() || it->second != manifest.sha256) {
      throw fail("dlopen", "an older copy of " + path +
                               " is still in memory (the plugin is referenced elsewhere or cannot be unloaded); "
                               "restart to load the new library");
    }
    return resident;
  }
  dlerror();
  LibraryHandle library(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!library) throw fail("dlopen", dl_error());
  mapped_digest[path] = manifest.sha256;
  return library;
}

// The entries of one kind (functions, kernels, ...) by name: an open-addressing hash
// table sized to a power of two at least twice the count, so a lookup is a short hash
// of the name, one probe or two, and one comparison (a std::map walked a tree and
// compared strings at every level: most of a call's cost). Fixed after construction.
template <typename T>
class NameIndex {
 public:
  NameIndex(const T* entries, std::size_t count) {
    std::size_t capacity = 4;
    while (capacity < 2 * count) capacity *= 2;
    mask_ = capacity - 1;
    slots_.assign(capacity, Slot{});
    names_.reserve(count);  // slots point into names_: no reallocation after this
    for (std::size_t i = 0; i < count; ++i) {
      const std::string& name = names_.emplace_back(entries[i].name);
      std::size_t at = hash(name) & mask_;
      while (slots_[at].entry != nullptr) at = (at + 1) & mask_;
      slots_[at] = Slot{name, &entries[i]};
    }
  }
  // Slots view the names' own storage (short strings live inside names_' elements).
  NameIndex(const NameIndex&) = delete;
  NameIndex& operator=(const NameIndex&) = delete;

  // The entry named `name`, or null.
  const T* find(std::string_view name) const noexcept {
    for (std::size_t at = hash(name) & mask_;; at = (at + 1) & mask_) {
      const Slot& slot = slots_[at];
      if (slot.entry == nullptr) return nullptr;
      if (slot.name == name) return slot.entry;
    }
  }

 private:
  struct Slot {
    std::string_view name;
    const T* entry = nullptr;
  };

  // FNV-1a: a few instructions per byte, and names are short.
  static std::size_t hash(std::string_view name) noexcept {
    std::uint64_t h = 14695981039346656037ull;
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }

  std::vector<std::string> names_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

class InProcessPlugin final : public Plugin, public std::enable_shared_from_this<InProcessPlugin> {
 public:
  InProcessPlugin(PluginInfo info, LibraryHandle library, const miso_vxor_plugin* table,
                  std::unique_ptr<abi::HostContext> host, void* state)
      : info_(std::move(info)),
        library_(std::move(library)),
        host_(std::move(host)),
        table_(table),
        state_(state),
        functions_(table->functions, table->function_count),
        kernels_(table->kernels, table->kernel_count),
        workloads_(table->workloads, table->workload_count),
        conditions_(table->conditions, table->condition_count) {}

  // shutdown() runs when the last reference goes (so no call can follow it), then the
  // members close the library after the host table it may still reference.
  ~InProcessPlugin() override {
    if (table_->shutdown != nullptr) {
      try {
        table_->shutdown(state_, host_->table());
      } catch (...) {
        // A C++ plugin throwing through its C entry point: nothing left to report to.
      }
    }
  }

  const PluginInfo& info() const noexcept override { return info_; }

  PluginValue call(std::string_view function, std::span<const PluginValue> args) override {
    const miso_vxor_function& f = *find(functions_, function, "function");
    if (f.arity >= 0 && static_cast<std::size_t>(f.arity) != args.size()) {
      wrong_arity(function, f.arity, args.size());
    }
    abi::CValues c_args(args);
    miso_vxor_call slot;
    int rc = invoke(function, [&] { return f.call(state_, host_->table(), c_args.data(), c_args.size(), &slot); });
    finish(function, rc, slot);
    return std::move(slot.result);
  }

  void kernel_f64(std::string_view kernel, std::span<const double> a, std::span<const double> b,
                  std::span<double> out) override {
    const miso_vxor_kernel& k = *find(kernels_, kernel, "kernel");
    check_kernel_sizes(kernel, k, a.size(), b.size(), out.size());
    invoke(kernel, [&] {
      k.f64(state_, a.data(), k.arity == 2 ? b.data() : nullptr, out.data(), a.size());
      return MISO_VXOR_OK;
    });
  }

  void kernel_f32(std::string_view kernel, std::span<const float> a, std::span<const float> b,
                  std::span<float> out) override {
    const miso_vxor_kernel& k = *find(kernels_, kernel, "kernel");
    check_kernel_sizes(kernel, k, a.size(), b.size(), out.size());
    if (k.f32 != nullptr) {
      invoke(kernel, [&] {
        k.f32(state_, a.data(), k.arity == 2 ? b.data() : nullptr, out.data(), a.size());
        return MISO_VXOR_OK;
      });
      return;
    }
    // No f32 variant: compute in f64 and round once.
    std::vector<double> a64(a.begin(), a.end());
    std::vector<double> b64(b.begin(), b.end());
    std::vector<double> out64(out.size());
    invoke(kernel, [&] {
      k.f64(state_, a64.data(), k.arity == 2 ? b64.data() : nullptr, out64.data(), a64.size());
      return MISO_VXOR_OK;
    });
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(out64[i]);
  }

  bool condition(std::string_view condition, std::string_view event_type, std::int64_t key,
                 std::span<const Attribute> attributes) override {
    const miso_vxor_condition& c = *find(conditions_, condition, "condition");
    abi::CAttributes c_attributes(attributes);
    const std::string type(event_type);  // NUL-terminated for the plugin
    int result =
        invoke(condition, [&] { return c.test(state_, type.c_str(), key, c_attributes.data(), c_attributes.size()); });
    if (result != 0 && result != 1) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      throw Error(Error::Kind::Format,
                  qualified(condition) + ": returned " + std::to_string(result) + " (a condition returns 0 or 1)");
    }
    return result == 1;
  }

  std::unique_ptr<PluginWorkload> prepare_workload(std::string_view workload, std::uint64_t target_bytes,
                                                   std::uint64_t seed) override;

  Stats stats() const override {
    Stats s;
    s.calls = calls_.load(std::memory_order_relaxed);
    s.failures = failures_.load(std::memory_order_relaxed);
    s.live_bytes = host_->live_bytes();
    return s;
  }

  // For workloads: the same serialisation, accounting and error mapping as calls.
  template <typename F>
  int invoke(std::string_view what, F&& f) {
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    if (info_.thread_safe) {
      calls_.fetch_add(1, std::memory_order_relaxed);
    } else {
      // Every writer holds the lock: a plain increment, not a locked read-modify-write
      // (which costs as much as the rest of a small call); stats() still reads atomically.
      lock.lock();
      calls_.store(calls_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    try {
      return f();
    } catch (...) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      throw Error(Error::Kind::Format, qualified(what) + ": threw a C++ exception across the plugin ABI");
    }
  }
  void finish(std::string_view what, int rc, const miso_vxor_call& slot) {
    if (rc == MISO_VXOR_OK && !slot.error) return;
    failed(what, rc, slot);
  }
  // The error path of finish(), kept out of line so that the happy path stays small.
  [[noreturn, gnu::cold, gnu::noinline]] void failed(std::string_view what, int rc, const miso_vxor_call& slot) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    std::string message = slot.error              ? *slot.error
                          : rc == MISO_VXOR_ERROR ? std::string("failed without a message")
                                                  : "returned the invalid status " + std::to_string(rc);
    throw Error(Error::Kind::Format, qualified(what) + ": " + message);
  }
  std::string qualified(std::string_view what) const { return info_.name + "." + std::string(what); }
  const miso_vxor_host* host_table() const noexcept { return host_->table(); }
  void* state() const noexcept { return state_; }

 private:
  template <typename T>
  const T* find(const NameIndex<T>& entries, std::string_view name, const char* kind) const {
    const T* entry = entries.find(name);
    if (entry == nullptr) not_found(name, kind);
    return entry;
  }

  [[noreturn, gnu::cold, gnu::noinline]] void not_found(std::string_view name, const char* kind) const {
    throw Error(Error::Kind::InvalidArgument,
                "plugin '" + info_.name + "' has no " + kind + " '" + std::string(name) + "'");
  }

  [[noreturn, gnu::cold, gnu::noinline]] void wrong_arity(std::string_view function, int arity, std::size_t got) const {
    throw Error(Error::Kind::InvalidArgument, qualified(function) + ": expects " + std::to_string(arity) + " argument" +
                                                  (arity == 1 ? "" : "s") + ", got " + std::to_string(got));
  }

  void check_kernel_sizes(std::string_view kernel, const miso_vxor_kernel& k, std::size_t a, std::size_t b,
                          std::size_t out) const {
    if (k.arity == 1 && b != 0) {
      throw Error(Error::Kind::InvalidArgument, qualified(kernel) + ": a unary kernel takes no second input");
    }
    if ((k.arity == 2 && b != a) || out != a) {
      throw Error(Error::Kind::InvalidArgument, qualified(kernel) + ": input and output lengths differ (a " +
                                                    std::to_string(a) + ", b " + std::to_string(b) + ", out " +
                                                    std::to_string(out) + ")");
    }
  }

  PluginInfo info_;
  LibraryHandle library_;  // declared first among the resources: closed last
  std::unique_ptr<abi::HostContext> host_;
  const miso_vxor_plugin* table_;
  void* state_;
  NameIndex<miso_vxor_function> functions_;
  NameIndex<miso_vxor_kernel> kernels_;
  NameIndex<miso_vxor_workload> workloads_;
  NameIndex<miso_vxor_condition> conditions_;
  std::mutex mutex_;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> failures_{0};

  friend class InProcessWorkload;
};

// Holds the plugin (and so its library) until the instance is destroyed.
class InProcessWorkload final : public PluginWorkload {
 public:
  InProcessWorkload(std::shared_ptr<InProcessPlugin> plugin, const miso_vxor_workload* workload, void* instance,
                    std::string name)
      : plugin_(std::move(plugin)), workload_(workload), instance_(instance), name_(std::move(name)) {}
  ~InProcessWorkload() override {
    if (instance_ != nullptr) {
      try {
        plugin_->invoke(name_, [&] {
          workload_->destroy(instance_);
          return MISO_VXOR_OK;
        });
      } catch (...) {
        // Already counted as a failure; a destructor cannot report more.
      }
    }
  }

  std::uint64_t input_bytes() const override {
    std::uint64_t bytes = 0;
    plugin_->invoke(name_, [&] {
      bytes = workload_->input_bytes(instance_);
      return MISO_VXOR_OK;
    });
    return bytes;
  }
  void run() override {
    miso_vxor_call slot;
    int rc = plugin_->invoke(name_, [&] { return workload_->run(instance_, plugin_->host_table(), &slot); });
    plugin_->finish(name_, rc, slot);
  }
  Check check() override {
    miso_vxor_call slot;
    int rc = plugin_->invoke(name_, [&] { return workload_->check(instance_, plugin_->host_table(), &slot); });
    Check result;
    result.passed = rc == MISO_VXOR_OK && !slot.error;
    if (slot.error) {
      result.detail = *slot.error;
    } else if (rc != MISO_VXOR_OK) {
      result.detail = "check failed without a message";
    } else if (const auto* s = std::get_if<std::string>(&slot.result)) {
      result.detail = *s;
    }
    return result;
  }

 private:
  std::shared_ptr<InProcessPlugin> plugin_;
  const miso_vxor_workload* workload_;
  void* instance_;
  std::string name_;
};

std::unique_ptr<PluginWorkload> InProcessPlugin::prepare_workload(std::string_view workload, std::uint64_t target_bytes,
                                                                  std::uint64_t seed) {
  const miso_vxor_workload& w = *find(workloads_, workload, "workload");
  miso_vxor_call slot;
  void* instance = nullptr;
  int rc = invoke(workload, [&] { return w.prepare(state_, host_->table(), target_bytes, seed, &instance, &slot); });
  if (rc != MISO_VXOR_OK || slot.error) {
    if (instance != nullptr) {
      invoke(workload, [&] {
        w.destroy(instance);
        return MISO_VXOR_OK;
      });
    }
    finish(workload, rc, slot);
  }
  return std::make_unique<InProcessWorkload>(shared_from_this(), &w, instance, std::string(workload));
}

}  // namespace

std::shared_ptr<Plugin> load_in_process(const Manifest& manifest,
                                        std::function<void(std::string_view, int, std::string_view)> log) {
  const std::string& name = manifest.name;
  auto fail = [&](const std::string& step, const std::string& message) {
    return Error(Error::Kind::Format, "plugin '" + name + "': " + step + ": " + message);
  };
  if (manifest.abi_major != MISO_VXOR_ABI_MAJOR || manifest.abi_minor > MISO_VXOR_ABI_MINOR) {
    throw fail("manifest", "ABI " + std::to_string(manifest.abi_major) + "." + std::to_string(manifest.abi_minor) +
                               " is not supported by the host (ABI " + std::to_string(MISO_VXOR_ABI_MAJOR) + "." +
                               std::to_string(MISO_VXOR_ABI_MINOR) + ")");
  }
  // Verified by path, then opened by path: whoever can rename files in a plugin
  // directory between the two could swap the library, so plugin directories must be
  // writable only by those trusted to install plugins (docs/vxor.md).
  verify_library(manifest);

  LibraryHandle library = open_library(manifest, fail);
  dlerror();
  void* symbol = dlsym(library.get(), MISO_VXOR_ENTRY_NAME);
  if (symbol == nullptr) throw fail("entry symbol", "the library does not export " MISO_VXOR_ENTRY_NAME);
  // POSIX guarantees that a function pointer survives the round trip through void*.
  auto entry = reinterpret_cast<miso_vxor_entry_fn>(symbol);
  const miso_vxor_plugin* table = nullptr;
  try {
    table = entry();
  } catch (...) {
    throw fail("entry", "threw a C++ exception across the plugin ABI");
  }
  PluginInfo info = abi::validate_table(table, name);
  info.mode = LoadMode::InProcess;
  info.manifest = manifest;

  auto host = std::make_unique<abi::HostContext>(name, std::move(log));
  void* state = nullptr;
  if (table->init != nullptr) {
    miso_vxor_call slot;
    int rc = MISO_VXOR_ERROR;
    try {
      rc = table->init(host->table(), &state, &slot);
    } catch (...) {
      slot.error = "threw a C++ exception across the plugin ABI";
    }
    if (rc != MISO_VXOR_OK || slot.error) {
      throw fail("init", slot.error ? *slot.error : "failed (status " + std::to_string(rc) + ") without a message");
    }
  }
  return std::make_shared<InProcessPlugin>(std::move(info), std::move(library), table, std::move(host), state);
}

}  // namespace miso::vxor
