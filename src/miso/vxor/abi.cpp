#include "miso/vxor/abi.hpp"

#include <cstdio>
#include <cstring>
#include <new>
#include <set>
#include <utility>

#include "miso/core/error.hpp"
#include "miso/profiler/clock.hpp"
#include "miso/profiler/metric.hpp"
#include "miso/profiler/span.hpp"

namespace miso::vxor::abi {

namespace {

// Guards against a garbage table: no real plugin registers this many entries.
constexpr std::size_t kMaxEntries = 4096;
constexpr int kMaxArity = 64;

std::string qualified(const HostContext& host, const char* name) {
  std::string out = "vxor.";
  out += host.plugin();
  out += '.';
  out += name;
  return out;
}

// Open spans of this thread, innermost last; the token identifies one (spans of
// several plugins and hosts may interleave on a thread).
struct OpenSpan {
  std::uint64_t token;
  const profiler::SpanSite* site;
  std::uint64_t start;
};
thread_local std::vector<OpenSpan> t_open_spans;
std::atomic<std::uint64_t> g_next_token{1};

const char* level_name(int level) {
  switch (level) {
    case MISO_VXOR_LOG_TRACE: return "trace";
    case MISO_VXOR_LOG_DEBUG: return "debug";
    case MISO_VXOR_LOG_INFO: return "info";
    case MISO_VXOR_LOG_WARN: return "warn";
    default: return "error";
  }
}

void result_nil(miso_vxor_call* call) {
  if (call != nullptr) call->result = Nil{};
}
void result_bool(miso_vxor_call* call, int value) {
  if (call != nullptr) call->result = value != 0;
}
void result_int(miso_vxor_call* call, std::int64_t value) {
  if (call != nullptr) call->result = value;
}
void result_float(miso_vxor_call* call, double value) {
  if (call != nullptr) call->result = value;
}
void result_string(miso_vxor_call* call, const char* data, std::size_t size) {
  if (call == nullptr) return;
  if (data == nullptr && size != 0) {
    call->error = "result_string got NULL data with a non-zero size";
    return;
  }
  try {
    call->result = std::string(data == nullptr ? "" : data, size);
  } catch (...) {
    call->error = "out of memory copying a result string";
  }
}
void result_f64_array(miso_vxor_call* call, const double* data, std::size_t size) {
  if (call == nullptr) return;
  if (data == nullptr && size != 0) {
    call->error = "result_f64_array got NULL data with a non-zero size";
    return;
  }
  try {
    call->result = std::vector<double>(data, data + size);
  } catch (...) {
    call->error = "out of memory copying a result array";
  }
}
int error(miso_vxor_call* call, const char* message) {
  if (call != nullptr) {
    try {
      call->error = message != nullptr && *message != '\0' ? message : "error without a message";
    } catch (...) {
      // Keep the ERROR return; the caller substitutes a generic message.
    }
  }
  return MISO_VXOR_ERROR;
}

[[noreturn]] void fail(std::string_view plugin, const std::string& message) {
  throw Error(Error::Kind::Format, "plugin '" + std::string(plugin) + "': " + message);
}

std::string entry_label(const char* kind, std::size_t index, const char* name) {
  std::string label = std::string(kind) + " #" + std::to_string(index);
  if (name != nullptr) label += " ('" + std::string(name) + "')";
  return label;
}

// The entry's name, checked for presence, pattern and uniqueness.
std::string entry_name(std::string_view plugin, const char* kind, std::size_t index, const char* name,
                       std::set<std::string>& seen) {
  if (name == nullptr) fail(plugin, entry_label(kind, index, name) + " has no name");
  if (!is_identifier(name)) fail(plugin, entry_label(kind, index, name) + " has an invalid name");
  if (!seen.insert(name).second) fail(plugin, entry_label(kind, index, name) + " duplicates an earlier name");
  return name;
}

template <typename T>
void check_array(std::string_view plugin, const char* what, const T* entries, std::size_t count) {
  if (count > kMaxEntries) {
    fail(plugin, std::string(what) + " count " + std::to_string(count) + " is implausible (max " +
                     std::to_string(kMaxEntries) + ")");
  }
  if (count > 0 && entries == nullptr)
    fail(plugin, std::string(what) + " count is " + std::to_string(count) + " but the array is NULL");
}

std::string text(const char* s) { return s == nullptr ? std::string() : std::string(s); }

}  // namespace

bool is_identifier(std::string_view name) noexcept {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

miso_vxor_value to_c(const PluginValue& value) noexcept {
  miso_vxor_value out{};
  out.type = static_cast<std::int32_t>(value.index());
  switch (value.index()) {
    case 0: break;
    case 1: out.as.boolean = std::get<bool>(value) ? 1 : 0; break;
    case 2: out.as.integer = std::get<std::int64_t>(value); break;
    case 3: out.as.number = std::get<double>(value); break;
    case 4: {
      const auto& s = std::get<std::string>(value);
      out.as.string.data = s.data();
      out.as.string.size = s.size();
      break;
    }
    case 5: {
      const auto& a = std::get<std::vector<double>>(value);
      out.as.array.data = a.data();
      out.as.array.size = a.size();
      break;
    }
    default: break;
  }
  return out;
}

PluginValue from_c(const miso_vxor_value& value, std::string_view what) {
  switch (value.type) {
    case MISO_VXOR_NIL: return Nil{};
    case MISO_VXOR_BOOL: return value.as.boolean != 0;
    case MISO_VXOR_INT: return value.as.integer;
    case MISO_VXOR_FLOAT: return value.as.number;
    case MISO_VXOR_STRING:
      if (value.as.string.data == nullptr && value.as.string.size != 0) {
        throw Error(Error::Kind::Format,
                    std::string(what) + ": string with NULL data and size " + std::to_string(value.as.string.size));
      }
      return std::string(value.as.string.data == nullptr ? "" : value.as.string.data, value.as.string.size);
    case MISO_VXOR_F64_ARRAY:
      if (value.as.array.data == nullptr && value.as.array.size != 0) {
        throw Error(Error::Kind::Format,
                    std::string(what) + ": array with NULL data and size " + std::to_string(value.as.array.size));
      }
      return std::vector<double>(value.as.array.data, value.as.array.data + value.as.array.size);
    default: throw Error(Error::Kind::Format, std::string(what) + ": unknown value type " + std::to_string(value.type));
  }
}

CValues::CValues(std::span<const PluginValue> values) { convert(values); }

CValues::CValues(std::vector<PluginValue>&& values) : owned_(std::move(values)) { convert(owned_); }

void CValues::convert(std::span<const PluginValue> values) {
  if (values.size() > kInline) {
    heap_.resize(values.size());
    data_ = heap_.data();
  }
  size_ = values.size();
  for (std::size_t i = 0; i < size_; ++i) data_[i] = to_c(values[i]);
}

CAttributes::CAttributes(std::span<const Attribute> attributes) {
  values_.reserve(attributes.size());
  for (const Attribute& a : attributes) values_.push_back({a.key.c_str(), to_c(a.value)});
}

void default_log(std::string_view plugin, int level, std::string_view message) {
  if (level < MISO_VXOR_LOG_WARN) return;
  std::fprintf(stderr, "[vxor.%.*s] %s: %.*s\n", static_cast<int>(plugin.size()), plugin.data(), level_name(level),
               static_cast<int>(message.size()), message.data());
}

HostContext::HostContext(std::string plugin, LogFn log) : plugin_(std::move(plugin)), log_(std::move(log)) {
  try {
    tag_ = core::memory::tag("vxor." + plugin_);
  } catch (const Error&) {
    tag_ = core::memory::kUntagged;  // all tags taken: still account the bytes, untagged
  }
  table_.abi_major = MISO_VXOR_ABI_MAJOR;
  table_.abi_minor = MISO_VXOR_ABI_MINOR;
  table_.struct_size = sizeof(miso_vxor_host);
  table_.host_data = this;
  table_.log = &HostContext::log;
  table_.span_begin = &HostContext::span_begin;
  table_.span_end = &HostContext::span_end;
  table_.counter_add = &HostContext::counter_add;
  table_.alloc = &HostContext::alloc;
  table_.free = &HostContext::free;
  table_.result_nil = &result_nil;
  table_.result_bool = &result_bool;
  table_.result_int = &result_int;
  table_.result_float = &result_float;
  table_.result_string = &result_string;
  table_.result_f64_array = &result_f64_array;
  table_.error = &error;
}

HostContext* HostContext::of(const miso_vxor_host* host) noexcept {
  return host == nullptr ? nullptr : static_cast<HostContext*>(host->host_data);
}

void HostContext::log(const miso_vxor_host* host, int level, const char* message) {
  HostContext* self = of(host);
  if (self == nullptr || message == nullptr) return;
  try {
    if (self->log_) {
      self->log_(self->plugin_, level, message);
    } else {
      default_log(self->plugin_, level, message);
    }
  } catch (...) {
    // A failing log sink must not unwind through the plugin's C frames.
  }
}

std::uint64_t HostContext::span_begin(const miso_vxor_host* host, const char* name) {
  HostContext* self = of(host);
  if (self == nullptr || name == nullptr || *name == '\0') return 0;
  try {
    const profiler::SpanSite& site = profiler::intern_site(qualified(*self, name));
    std::uint64_t token = g_next_token.fetch_add(1, std::memory_order_relaxed);
    t_open_spans.push_back({token, &site, profiler::now_ticks()});
    return token;
  } catch (...) {
    return 0;
  }
}

void HostContext::span_end(const miso_vxor_host* host, std::uint64_t token) {
  if (of(host) == nullptr || token == 0) return;
  std::uint64_t end = profiler::now_ticks();
  // Spans a plugin forgot to end inside this one are closed with it.
  for (std::size_t i = t_open_spans.size(); i-- > 0;) {
    if (t_open_spans[i].token == token) {
      for (std::size_t j = t_open_spans.size(); j-- > i;) {
        profiler::record_span(*t_open_spans[j].site, t_open_spans[j].start, end);
      }
      t_open_spans.resize(i);
      return;
    }
  }
}

void HostContext::counter_add(const miso_vxor_host* host, const char* name, std::int64_t delta) {
  HostContext* self = of(host);
  if (self == nullptr || name == nullptr || *name == '\0') return;
  try {
    profiler::counter(qualified(*self, name)).add(delta);
  } catch (...) {
    // The name exists as a gauge: nothing to count into.
  }
}

void* HostContext::alloc(const miso_vxor_host* host, std::size_t size) {
  HostContext* self = of(host);
  if (self == nullptr) return nullptr;
  core::memory::TagScope scope(self->tag_);
  void* p = ::operator new(size == 0 ? 1 : size, std::nothrow);
  if (p != nullptr) self->live_bytes_.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed);
  return p;
}

void HostContext::free(const miso_vxor_host* host, void* pointer, std::size_t size) {
  HostContext* self = of(host);
  if (self == nullptr || pointer == nullptr) return;
  self->live_bytes_.fetch_sub(static_cast<std::int64_t>(size), std::memory_order_relaxed);
  ::operator delete(pointer);
}

PluginInfo validate_table(const miso_vxor_plugin* table, std::string_view expected_name) {
  std::string_view label = expected_name.empty() ? std::string_view("?") : expected_name;
  if (table == nullptr) fail(label, "the entry function returned NULL");
  if (table->abi_major != MISO_VXOR_ABI_MAJOR || table->abi_minor > MISO_VXOR_ABI_MINOR) {
    fail(label, "built for ABI " + std::to_string(table->abi_major) + "." + std::to_string(table->abi_minor) +
                    ", the host supports " + std::to_string(MISO_VXOR_ABI_MAJOR) + "." +
                    std::to_string(MISO_VXOR_ABI_MINOR) + " (same major, minor at most the host's)");
  }
  // Minor versions only append fields, so a table knows at least the 1.0 layout; a
  // huge size means the pointer is not a plugin table at all.
  if (table->struct_size < sizeof(miso_vxor_plugin) || table->struct_size > 65536) {
    fail(label, "table struct_size " + std::to_string(table->struct_size) + " is invalid (expected at least " +
                    std::to_string(sizeof(miso_vxor_plugin)) + ")");
  }
  if (table->name == nullptr) fail(label, "table has no name");
  std::string name = table->name;
  if (!is_identifier(name)) fail(label, "table name '" + name + "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
  if (!expected_name.empty() && name != expected_name) {
    fail(label, "table name '" + name + "' differs from the manifest's name");
  }
  if (table->version == nullptr) fail(name, "table has no version");

  PluginInfo info;
  info.name = name;
  info.version = table->version;
  info.description = text(table->description);
  info.abi_major = table->abi_major;
  info.abi_minor = table->abi_minor;
  info.thread_safe = (table->flags & MISO_VXOR_FLAG_THREAD_SAFE) != 0;

  check_array(name, "function", table->functions, table->function_count);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < table->function_count; ++i) {
    const miso_vxor_function& f = table->functions[i];
    std::string fname = entry_name(name, "function", i, f.name, seen);
    if (f.call == nullptr) fail(name, entry_label("function", i, f.name) + " has no call function");
    if (f.arity < -1 || f.arity > kMaxArity) {
      fail(name, entry_label("function", i, f.name) + " has an invalid arity " + std::to_string(f.arity));
    }
    info.functions.push_back({fname, f.arity, text(f.summary)});
  }

  check_array(name, "kernel", table->kernels, table->kernel_count);
  seen.clear();
  for (std::size_t i = 0; i < table->kernel_count; ++i) {
    const miso_vxor_kernel& k = table->kernels[i];
    std::string kname = entry_name(name, "kernel", i, k.name, seen);
    if (k.arity != 1 && k.arity != 2) {
      fail(name, entry_label("kernel", i, k.name) + " has arity " + std::to_string(k.arity) + " (must be 1 or 2)");
    }
    if (k.f64 == nullptr) fail(name, entry_label("kernel", i, k.name) + " has no f64 function");
    info.kernels.push_back({kname, k.arity, text(k.summary), k.f32 != nullptr});
  }

  check_array(name, "workload", table->workloads, table->workload_count);
  seen.clear();
  for (std::size_t i = 0; i < table->workload_count; ++i) {
    const miso_vxor_workload& w = table->workloads[i];
    std::string wname = entry_name(name, "workload", i, w.name, seen);
    const char* missing = w.prepare == nullptr       ? "prepare"
                          : w.input_bytes == nullptr ? "input_bytes"
                          : w.run == nullptr         ? "run"
                          : w.check == nullptr       ? "check"
                          : w.destroy == nullptr     ? "destroy"
                                                     : nullptr;
    if (missing != nullptr) fail(name, entry_label("workload", i, w.name) + " has no " + missing + " function");
    info.workloads.push_back({wname, text(w.description)});
  }

  check_array(name, "condition", table->conditions, table->condition_count);
  seen.clear();
  for (std::size_t i = 0; i < table->condition_count; ++i) {
    const miso_vxor_condition& c = table->conditions[i];
    std::string cname = entry_name(name, "condition", i, c.name, seen);
    if (c.test == nullptr) fail(name, entry_label("condition", i, c.name) + " has no test function");
    info.conditions.push_back({cname, text(c.summary)});
  }
  return info;
}

}  // namespace miso::vxor::abi
