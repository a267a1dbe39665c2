// Internal to VXOR (not a public header): the host side of plugin.h shared by the
// in-process loader and the isolated worker: conversions between miso_vxor_value and
// PluginValue, the miso_vxor_call result/error slot, the host table, and validation
// of a plugin's table.
//
// The isolated worker can simply load its plugin with load_in_process() and serve
// calls through the Plugin interface; these pieces are for code that talks to a
// miso_vxor_plugin table directly.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "miso/core/memory.hpp"
#include "miso/vxor/plugin.h"
#include "miso/vxor/plugin.hpp"
#include "miso/vxor/value.hpp"

// The result and error slot of one call (opaque to plugins; plugin.h declares it in
// the global namespace). The host table's result_* and error functions fill it.
struct miso_vxor_call {
  miso::vxor::PluginValue result;
  std::optional<std::string> error;
};

namespace miso::vxor::abi {

using LogFn = std::function<void(std::string_view plugin, int level, std::string_view message)>;

// Where plugin log lines go when the host gave no sink: warnings and errors on stderr
// as "[vxor.<plugin>] warn: message"; lower levels are dropped.
void default_log(std::string_view plugin, int level, std::string_view message);

// A PluginValue as a miso_vxor_value. Strings and arrays point into `value`, which
// must outlive the result.
miso_vxor_value to_c(const PluginValue& value) noexcept;

// A miso_vxor_value as a PluginValue (strings and arrays copied). Error(Format) for an
// unknown type tag or NULL data with a non-zero size; `what` names the value in the
// message ("plugin 'x': argument 2").
PluginValue from_c(const miso_vxor_value& value, std::string_view what);

// An argument array for a plugin call: the miso_vxor_value array and, when built from
// an rvalue vector, the PluginValues its strings and arrays point into.
class CValues {
 public:
  // Borrows: `values` must outlive this object.
  explicit CValues(std::span<const PluginValue> values);
  // Owns the values.
  explicit CValues(std::vector<PluginValue>&& values);
  CValues(const CValues&) = delete;
  CValues& operator=(const CValues&) = delete;

  const miso_vxor_value* data() const noexcept { return size_ == 0 ? nullptr : data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  void convert(std::span<const PluginValue> values);

  // Most calls take a few arguments: those need no allocation.
  static constexpr std::size_t kInline = 8;
  std::vector<PluginValue> owned_;
  miso_vxor_value inline_[kInline];
  std::vector<miso_vxor_value> heap_;
  miso_vxor_value* data_ = inline_;
  std::size_t size_ = 0;
};

// The attribute array of a condition test (keys NUL-terminated). Borrows `attributes`.
class CAttributes {
 public:
  explicit CAttributes(std::span<const Attribute> attributes);
  CAttributes(const CAttributes&) = delete;
  CAttributes& operator=(const CAttributes&) = delete;

  const miso_vxor_attribute* data() const noexcept { return values_.empty() ? nullptr : values_.data(); }
  std::size_t size() const noexcept { return values_.size(); }

 private:
  std::vector<miso_vxor_attribute> values_;
};

// The host table given to one plugin, and what its callbacks account: log lines go to
// `log` (default: stderr for warn and above), spans to the profiler as
// "vxor.<plugin>.<name>", counters to profiler::counter("vxor.<plugin>.<name>"),
// allocations to the memory tag "vxor.<plugin>" and to live_bytes(). Every callback
// is noexcept toward the plugin (nothing throws across the boundary). Not movable:
// the table points back at this object.
class HostContext {
 public:
  HostContext(std::string plugin, LogFn log);
  HostContext(const HostContext&) = delete;
  HostContext& operator=(const HostContext&) = delete;

  const miso_vxor_host* table() const noexcept { return &table_; }
  const std::string& plugin() const noexcept { return plugin_; }
  std::int64_t live_bytes() const noexcept { return live_bytes_.load(std::memory_order_relaxed); }

 private:
  static HostContext* of(const miso_vxor_host* host) noexcept;
  static void log(const miso_vxor_host* host, int level, const char* message);
  static std::uint64_t span_begin(const miso_vxor_host* host, const char* name);
  static void span_end(const miso_vxor_host* host, std::uint64_t token);
  static void counter_add(const miso_vxor_host* host, const char* name, std::int64_t delta);
  static void* alloc(const miso_vxor_host* host, std::size_t size);
  static void free(const miso_vxor_host* host, void* pointer, std::size_t size);

  std::string plugin_;
  LogFn log_;
  core::memory::Tag tag_ = core::memory::kUntagged;
  std::atomic<std::int64_t> live_bytes_{0};
  miso_vxor_host table_{};
};

// Checks a plugin's table and describes it: ABI major equal to the host's, minor not
// newer, a sane struct_size, a name matching [A-Za-z_][A-Za-z0-9_]* and equal to
// `expected_name` (the manifest's; empty: not checked), every entry named (same
// pattern) with its required functions, no duplicate names, kernel arity 1 or 2.
// Error(Format) "plugin 'x': kernel #2 ('foo') has no f64 function". The result's
// mode and manifest are left for the caller to fill in.
PluginInfo validate_table(const miso_vxor_plugin* table, std::string_view expected_name);

// True for [A-Za-z_][A-Za-z0-9_]*.
bool is_identifier(std::string_view name) noexcept;

}  // namespace miso::vxor::abi
