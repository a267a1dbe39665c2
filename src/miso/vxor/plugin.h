/*
 * VXOR plugin ABI: the one header a MISO plugin includes. Pure C (C99 and C++):
 * plain structs, fixed-width integers and function pointers; no C++ type crosses
 * the boundary.
 *
 * A plugin is a shared library that exports one symbol, MISO_VXOR_ENTRY
 * ("miso_vxor_plugin_entry"), a function returning a pointer to a static
 * miso_vxor_plugin table: its name, version, the ABI it was built against and
 * what it registers:
 *   functions   callable from M-CODE as <plugin>.<name>(args...)
 *   kernels     elementwise tensor kernels (f64 and optionally f32), usable in
 *               eager and lazy T-Mathematics graphs as "<plugin>.<name>"
 *   workloads   profile workloads run by `miso profile` ("<plugin>.<name>")
 *   conditions  ECHO-PRIME trigger conditions, referenced as "<plugin>.<name>"
 *
 * Versioning: the host accepts a plugin whose abi_major equals
 * MISO_VXOR_ABI_MAJOR and whose abi_minor is at most the host's minor. Minor
 * versions only append fields at the end of the structs below; struct_size
 * tells the host how much of a table the plugin knows.
 *
 * The host gives the plugin a miso_vxor_host table (at init, and with every
 * call through miso_vxor_call): logging, profiler spans and counters, memory
 * accounting, and the result/error slots of the current call. Host strings are
 * valid for the duration of the call that passed them; the host copies what a
 * plugin hands it (result strings and arrays) before the call returns.
 *
 * Threading: the host serialises calls into one plugin unless the plugin sets
 * MISO_VXOR_FLAG_THREAD_SAFE; kernels may be called from several threads on
 * disjoint ranges only when that flag is set.
 *
 * A return value of MISO_VXOR_OK means success; MISO_VXOR_ERROR means the
 * plugin reported an error through host->error (a call returning
 * MISO_VXOR_ERROR without a message gets a generic one).
 */
#ifndef MISO_VXOR_PLUGIN_H
#define MISO_VXOR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define MISO_VXOR_ABI_MAJOR 1
#define MISO_VXOR_ABI_MINOR 0

#define MISO_VXOR_ENTRY miso_vxor_plugin_entry
#define MISO_VXOR_ENTRY_NAME "miso_vxor_plugin_entry"

#if defined(__GNUC__) || defined(__clang__)
#define MISO_VXOR_EXPORT __attribute__((visibility("default")))
#else
#define MISO_VXOR_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum { MISO_VXOR_OK = 0, MISO_VXOR_ERROR = 1 };

/* Log levels of miso_vxor_host.log (the host maps them onto its logger). */
enum {
  MISO_VXOR_LOG_TRACE = 0,
  MISO_VXOR_LOG_DEBUG = 1,
  MISO_VXOR_LOG_INFO = 2,
  MISO_VXOR_LOG_WARN = 3,
  MISO_VXOR_LOG_ERROR = 4
};

/* miso_vxor_plugin.flags */
enum { MISO_VXOR_FLAG_THREAD_SAFE = 1u };

/* Values crossing the boundary (arguments of functions, node attributes). */
typedef enum miso_vxor_type {
  MISO_VXOR_NIL = 0,
  MISO_VXOR_BOOL = 1,
  MISO_VXOR_INT = 2,
  MISO_VXOR_FLOAT = 3,
  MISO_VXOR_STRING = 4,   /* UTF-8 bytes, not necessarily NUL-terminated */
  MISO_VXOR_F64_ARRAY = 5 /* a flat array of doubles (a list of numbers, a tensor's data) */
} miso_vxor_type;

typedef struct miso_vxor_value {
  int32_t type; /* miso_vxor_type */
  int32_t reserved;
  union {
    int32_t boolean;
    int64_t integer;
    double number;
    struct {
      const char* data;
      size_t size;
    } string;
    struct {
      const double* data;
      size_t size;
    } array;
  } as;
} miso_vxor_value;

/* One call's result and error slot (opaque; filled through the host table). */
typedef struct miso_vxor_call miso_vxor_call;

typedef struct miso_vxor_host {
  uint32_t abi_major;
  uint32_t abi_minor;
  size_t struct_size; /* sizeof(miso_vxor_host) of the host */
  void* host_data;    /* the host's own; plugins pass the table back unchanged */

  /* Logging into the host's log, under the component "vxor.<plugin>". */
  void (*log)(const struct miso_vxor_host* host, int level, const char* message);

  /* Profiler: a span named "vxor.<plugin>.<name>" from begin to end (tokens nest
   * per thread); a counter "vxor.<plugin>.<name>" incremented by delta. */
  uint64_t (*span_begin)(const struct miso_vxor_host* host, const char* name);
  void (*span_end)(const struct miso_vxor_host* host, uint64_t token);
  void (*counter_add)(const struct miso_vxor_host* host, const char* name, int64_t delta);

  /* Memory accounted to the plugin (memory tag "vxor.<plugin>"); alloc returns
   * NULL when out of memory; free takes the size given to alloc. */
  void* (*alloc)(const struct miso_vxor_host* host, size_t size);
  void (*free)(const struct miso_vxor_host* host, void* pointer, size_t size);

  /* The result of the current call (the last setter wins; none: nil). Strings
   * and arrays are copied before the setter returns. */
  void (*result_nil)(miso_vxor_call* call);
  void (*result_bool)(miso_vxor_call* call, int value);
  void (*result_int)(miso_vxor_call* call, int64_t value);
  void (*result_float)(miso_vxor_call* call, double value);
  void (*result_string)(miso_vxor_call* call, const char* data, size_t size);
  void (*result_f64_array)(miso_vxor_call* call, const double* data, size_t size);
  /* Records an error message for the current call and returns MISO_VXOR_ERROR,
   * so a plugin writes `return host->error(call, "what went wrong");`. */
  int (*error)(miso_vxor_call* call, const char* message);
} miso_vxor_host;

/* A function callable from M-CODE. args[0..argc) are valid during the call. */
typedef struct miso_vxor_function {
  const char* name;
  int32_t arity; /* number of arguments; -1: any */
  const char* summary;
  int (*call)(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc, miso_vxor_call* call);
} miso_vxor_function;

/* An elementwise kernel: out[i] = f(a[i]) (arity 1) or f(a[i], b[i]) (arity 2)
 * for i < n; b is NULL for arity 1. f64 is required; f32 is optional (without
 * it the host converts through f64). Kernels report no errors: they must be
 * total (return NaN where undefined). */
typedef struct miso_vxor_kernel {
  const char* name;
  int32_t arity; /* 1 or 2 */
  const char* summary;
  void (*f64)(void* state, const double* a, const double* b, double* out, size_t n);
  void (*f32)(void* state, const float* a, const float* b, float* out, size_t n);
} miso_vxor_kernel;

/* A profile workload. prepare() builds the input for about target_bytes from
 * seed and returns an instance through *instance; run() does the measured work;
 * check() verifies it: MISO_VXOR_OK with an optional result_string (what was
 * verified) or host->error(call, what was wrong). destroy() frees the instance. */
typedef struct miso_vxor_workload {
  const char* name;
  const char* description;
  int (*prepare)(void* state, const miso_vxor_host* host, uint64_t target_bytes, uint64_t seed, void** instance,
                 miso_vxor_call* call);
  uint64_t (*input_bytes)(void* instance);
  int (*run)(void* instance, const miso_vxor_host* host, miso_vxor_call* call);
  int (*check)(void* instance, const miso_vxor_host* host, miso_vxor_call* call);
  void (*destroy)(void* instance);
} miso_vxor_workload;

/* A node's attribute as a condition sees it. */
typedef struct miso_vxor_attribute {
  const char* key;
  miso_vxor_value value;
} miso_vxor_attribute;

/* An ECHO-PRIME trigger condition on the node that completes a match: returns
 * 1 (holds) or 0 (does not). */
typedef struct miso_vxor_condition {
  const char* name;
  const char* summary;
  int (*test)(void* state, const char* event_type, int64_t key, const miso_vxor_attribute* attributes, size_t count);
} miso_vxor_condition;

typedef struct miso_vxor_plugin {
  uint32_t abi_major; /* MISO_VXOR_ABI_MAJOR of the header the plugin was built with */
  uint32_t abi_minor;
  size_t struct_size; /* sizeof(miso_vxor_plugin) */
  const char* name;   /* must equal the manifest's name: [A-Za-z_][A-Za-z0-9_]* */
  const char* version;
  const char* description;
  uint32_t flags; /* MISO_VXOR_FLAG_* */

  /* Optional. init creates the plugin's state (passed to every call); a
   * non-OK return refuses the load (message through host->error). shutdown
   * frees it; it runs before unload. */
  int (*init)(const miso_vxor_host* host, void** state, miso_vxor_call* call);
  void (*shutdown)(void* state, const miso_vxor_host* host);

  const miso_vxor_function* functions;
  size_t function_count;
  const miso_vxor_kernel* kernels;
  size_t kernel_count;
  const miso_vxor_workload* workloads;
  size_t workload_count;
  const miso_vxor_condition* conditions;
  size_t condition_count;
} miso_vxor_plugin;

typedef const miso_vxor_plugin* (*miso_vxor_entry_fn)(void);

/* What a plugin defines (once, in one of its sources). */
MISO_VXOR_EXPORT const miso_vxor_plugin* MISO_VXOR_ENTRY(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MISO_VXOR_PLUGIN_H */
