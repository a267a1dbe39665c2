/*
 * example_c: a MISO plugin written in C99. It shows every kind of registration
 * (functions, kernels, a workload, a condition), error reporting through the
 * host, and calls back into the host (log, span, counter, accounted memory).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miso/vxor/plugin.h"

/* The plugin's state: created by init, passed to every call, freed by shutdown. */
typedef struct state {
  long long calls; /* function calls since init (shows that reload starts afresh) */
  void* held;      /* accounted memory kept between calls (hold/release) */
  size_t held_size;
} state;

static int is_number(const miso_vxor_value* v) { return v->type == MISO_VXOR_INT || v->type == MISO_VXOR_FLOAT; }

static double number_of(const miso_vxor_value* v) {
  return v->type == MISO_VXOR_INT ? (double)v->as.integer : v->as.number;
}

/* add(a, b): the sum of two numbers; int when both are ints (error on overflow). */
static int fn_add(void* st, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                  miso_vxor_call* call) {
  (void)argc;
  ((state*)st)->calls++;
  if (!is_number(&args[0]) || !is_number(&args[1])) return host->error(call, "add expects two numbers");
  if (args[0].type == MISO_VXOR_INT && args[1].type == MISO_VXOR_INT) {
    int64_t a = args[0].as.integer, b = args[1].as.integer;
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return host->error(call, "integer overflow");
    host->result_int(call, a + b);
  } else {
    host->result_float(call, number_of(&args[0]) + number_of(&args[1]));
  }
  return MISO_VXOR_OK;
}

/* greet(name): "Hello, <name>!" */
static int fn_greet(void* st, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                    miso_vxor_call* call) {
  static const char prefix[] = "Hello, ";
  char* text;
  size_t size;
  (void)argc;
  ((state*)st)->calls++;
  if (args[0].type != MISO_VXOR_STRING) return host->error(call, "greet expects a string");
  size = sizeof prefix - 1 + args[0].as.string.size + 1;
  text = (char*)malloc(size);
  if (text == NULL) return host->error(call, "greet: out of memory");
  memcpy(text, prefix, sizeof prefix - 1);
  if (args[0].as.string.size > 0) memcpy(text + sizeof prefix - 1, args[0].as.string.data, args[0].as.string.size);
  text[size - 1] = '!';
  host->result_string(call, text, size); /* the host copies it before returning */
  free(text);
  return MISO_VXOR_OK;
}

static int array_arg(const miso_vxor_host* host, const miso_vxor_value* arg, const char* fn, miso_vxor_call* call) {
  char message[96];
  if (arg->type == MISO_VXOR_F64_ARRAY) return MISO_VXOR_OK;
  snprintf(message, sizeof message, "%s expects an array of numbers", fn);
  return host->error(call, message);
}

/* sum(array) */
static int fn_sum(void* st, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                  miso_vxor_call* call) {
  double total = 0;
  size_t i;
  (void)argc;
  ((state*)st)->calls++;
  if (array_arg(host, &args[0], "sum", call) != MISO_VXOR_OK) return MISO_VXOR_ERROR;
  for (i = 0; i < args[0].as.array.size; ++i) total += args[0].as.array.data[i];
  host->result_float(call, total);
  return MISO_VXOR_OK;
}

/* mean(array): an error for an empty array. */
static int fn_mean(void* st, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                   miso_vxor_call* call) {
  double total = 0;
  size_t i, n;
  (void)argc;
  ((state*)st)->calls++;
  if (array_arg(host, &args[0], "mean", call) != MISO_VXOR_OK) return MISO_VXOR_ERROR;
  n = args[0].as.array.size;
  if (n == 0) return host->error(call, "mean of an empty array");
  for (i = 0; i < n; ++i) total += args[0].as.array.data[i];
  host->result_float(call, total / (double)n);
  return MISO_VXOR_OK;
}

/* fail(message): always reports `message` as an error (for tests of error paths). */
static int fn_fail(void* st, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                   miso_vxor_call* call) {
  char message[256];
  size_t n;
  (void)argc;
  ((state*)st)->calls++;
  if (args[0].type != MISO_VXOR_STRING) return host->error(call, "fail expects a string");
  n = args[0].as.string.size < sizeof message - 1 ? args[0].as.string.size : sizeof message - 1;
  memcpy(message, args[0].as.string.data, n);
  message[n] = '\0';
  return host->error(call, message);
}

/* roundtrip(n): calls back into the host: logs, opens a span, allocates n doubles of
 * accounted memory, fills and sums them, counts, frees. Returns the sum 0+1+..+(n-1). */
static int fn_roundtrip(void* st, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                        miso_vxor_call* call) {
  char message[96];
  uint64_t token;
  double* data;
  double total = 0;
  int64_t n, i;
  (void)argc;
  ((state*)st)->calls++;
  if (args[0].type != MISO_VXOR_INT || args[0].as.integer < 0 || args[0].as.integer > (1 << 24)) {
    return host->error(call, "roundtrip expects an int in [0, 16777216]");
  }
  n = args[0].as.integer;
  snprintf(message, sizeof message, "roundtrip over %lld values", (long long)n);
  host->log(host, MISO_VXOR_LOG_INFO, message);
  token = host->span_begin(host, "roundtrip");
  data = (double*)host->alloc(host, (size_t)n * sizeof(double));
  if (data == NULL && n > 0) {
    host->span_end(host, token);
    return host->error(call, "roundtrip: out of memory");
  }
  for (i = 0; i < n; ++i) data[i] = (double)i;
  for (i = 0; i < n; ++i) total += data[i];
  host->counter_add(host, "roundtrips", 1);
  host->counter_add(host, "values", n);
  host->free(host, data, (size_t)n * sizeof(double));
  host->span_end(host, token);
  host->result_float(call, total);
  return MISO_VXOR_OK;
}

/* hold(bytes): keeps `bytes` of accounted memory until release() (or unload). */
static int fn_hold(void* sv, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                   miso_vxor_call* call) {
  state* st = (state*)sv;
  (void)argc;
  st->calls++;
  if (args[0].type != MISO_VXOR_INT || args[0].as.integer < 0 || args[0].as.integer > (1 << 26)) {
    return host->error(call, "hold expects an int in [0, 67108864]");
  }
  if (st->held != NULL) host->free(host, st->held, st->held_size);
  st->held_size = (size_t)args[0].as.integer;
  st->held = host->alloc(host, st->held_size);
  if (st->held == NULL) return host->error(call, "hold: out of memory");
  memset(st->held, 0xA5, st->held_size);
  host->result_nil(call);
  return MISO_VXOR_OK;
}

/* release(): frees what hold() kept; returns the bytes released. */
static int fn_release(void* sv, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                      miso_vxor_call* call) {
  state* st = (state*)sv;
  (void)args;
  (void)argc;
  st->calls++;
  host->result_int(call, (int64_t)st->held_size);
  if (st->held != NULL) host->free(host, st->held, st->held_size);
  st->held = NULL;
  st->held_size = 0;
  return MISO_VXOR_OK;
}

/* calls(): function calls since init, this one included. */
static int fn_calls(void* sv, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                    miso_vxor_call* call) {
  state* st = (state*)sv;
  (void)args;
  (void)argc;
  st->calls++;
  host->result_int(call, st->calls);
  return MISO_VXOR_OK;
}

/* Kernels. softplus(x) = log(1 + e^x), computed without overflow. */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

static void softplus_f64(void* st, const double* a, const double* b, double* out, size_t n) {
  size_t i;
  (void)st;
  (void)b;
  for (i = 0; i < n; ++i) out[i] = softplus(a[i]);
}

static void softplus_f32(void* st, const float* a, const float* b, float* out, size_t n) {
  size_t i;
  (void)st;
  (void)b;
  for (i = 0; i < n; ++i) out[i] = a[i] > 0 ? a[i] + log1pf(expf(-a[i])) : log1pf(expf(a[i]));
}

static void hypot_f64(void* st, const double* a, const double* b, double* out, size_t n) {
  size_t i;
  (void)st;
  for (i = 0; i < n; ++i) out[i] = hypot(a[i], b[i]);
}

/* Workload "checksum": hashes target_bytes of pseudo-random words. */
typedef struct checksum {
  uint64_t seed;
  uint64_t* words;
  size_t count;
  uint64_t result;
  int ran;
} checksum;

static uint64_t splitmix64(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t mix(uint64_t h, uint64_t word) {
  h ^= word;
  h *= 0x100000001B3ull; /* FNV-1a prime, applied per word */
  return h ^ (h >> 29);
}

static int checksum_prepare(void* st, const miso_vxor_host* host, uint64_t target_bytes, uint64_t seed, void** instance,
                            miso_vxor_call* call) {
  checksum* w;
  uint64_t x = seed;
  size_t i;
  (void)st;
  if (target_bytes > ((uint64_t)1 << 34)) return host->error(call, "checksum: target_bytes above 16 GiB");
  w = (checksum*)calloc(1, sizeof *w);
  if (w == NULL) return host->error(call, "checksum: out of memory");
  w->seed = seed;
  w->count = (size_t)(target_bytes / 8 > 0 ? target_bytes / 8 : 1);
  w->words = (uint64_t*)malloc(w->count * sizeof(uint64_t));
  if (w->words == NULL) {
    free(w);
    return host->error(call, "checksum: out of memory");
  }
  for (i = 0; i < w->count; ++i) w->words[i] = splitmix64(&x);
  *instance = w;
  return MISO_VXOR_OK;
}

static uint64_t checksum_input_bytes(void* instance) { return ((checksum*)instance)->count * sizeof(uint64_t); }

static int checksum_run(void* instance, const miso_vxor_host* host, miso_vxor_call* call) {
  checksum* w = (checksum*)instance;
  uint64_t h = 0xCBF29CE484222325ull;
  size_t i;
  (void)host;
  (void)call;
  for (i = 0; i < w->count; ++i) h = mix(h, w->words[i]);
  w->result = h;
  w->ran = 1;
  return MISO_VXOR_OK;
}

/* Recomputes the hash from the seed alone, so a corrupted buffer or a wrong run fails. */
static int checksum_check(void* instance, const miso_vxor_host* host, miso_vxor_call* call) {
  checksum* w = (checksum*)instance;
  uint64_t h = 0xCBF29CE484222325ull, x = w->seed;
  size_t i;
  char message[96];
  if (!w->ran) return host->error(call, "checksum: run() has not been called");
  for (i = 0; i < w->count; ++i) h = mix(h, splitmix64(&x));
  if (h != w->result) {
    snprintf(message, sizeof message, "checksum mismatch: run gave %016llx, expected %016llx",
             (unsigned long long)w->result, (unsigned long long)h);
    return host->error(call, message);
  }
  snprintf(message, sizeof message, "checksum %016llx over %llu words", (unsigned long long)h,
           (unsigned long long)w->count);
  host->result_string(call, message, strlen(message));
  return MISO_VXOR_OK;
}

static void checksum_destroy(void* instance) {
  checksum* w = (checksum*)instance;
  free(w->words);
  free(w);
}

/* Condition "above": attribute "value" exceeds attribute "threshold" (10 when absent). */
static int above_test(void* st, const char* event_type, int64_t key, const miso_vxor_attribute* attributes,
                      size_t count) {
  double threshold = 10;
  int has_value = 0;
  double value = 0;
  size_t i;
  (void)st;
  (void)event_type;
  (void)key;
  for (i = 0; i < count; ++i) {
    if (!is_number(&attributes[i].value)) continue;
    if (strcmp(attributes[i].key, "value") == 0) {
      value = number_of(&attributes[i].value);
      has_value = 1;
    } else if (strcmp(attributes[i].key, "threshold") == 0) {
      threshold = number_of(&attributes[i].value);
    }
  }
  return has_value && value > threshold ? 1 : 0;
}

static int example_init(const miso_vxor_host* host, void** out, miso_vxor_call* call) {
  state* st = (state*)calloc(1, sizeof(state));
  if (st == NULL) return host->error(call, "example_c: out of memory");
  host->log(host, MISO_VXOR_LOG_DEBUG, "example_c initialised");
  *out = st;
  return MISO_VXOR_OK;
}

static void example_shutdown(void* sv, const miso_vxor_host* host) {
  state* st = (state*)sv;
  if (st->held != NULL) host->free(host, st->held, st->held_size);
  host->log(host, MISO_VXOR_LOG_DEBUG, "example_c shut down");
  free(st);
}

static const miso_vxor_function functions[] = {
    {"add", 2, "add(a, b): the sum of two numbers", fn_add},
    {"greet", 1, "greet(name): a greeting", fn_greet},
    {"sum", 1, "sum(array): the sum of the elements", fn_sum},
    {"mean", 1, "mean(array): the mean of the elements", fn_mean},
    {"fail", 1, "fail(message): reports message as an error", fn_fail},
    {"roundtrip", 1, "roundtrip(n): log, span, counter and accounted memory through the host", fn_roundtrip},
    {"hold", 1, "hold(bytes): keeps accounted memory until release()", fn_hold},
    {"release", 0, "release(): frees what hold() kept", fn_release},
    {"calls", 0, "calls(): function calls since the plugin was loaded", fn_calls},
};

static const miso_vxor_kernel kernels[] = {
    {"softplus", 1, "log(1 + e^x)", softplus_f64, softplus_f32},
    {"hypot", 2, "sqrt(a^2 + b^2)", hypot_f64, NULL},
};

static const miso_vxor_workload workloads[] = {
    {"checksum", "hashes pseudo-random words; check recomputes them from the seed", checksum_prepare,
     checksum_input_bytes, checksum_run, checksum_check, checksum_destroy},
};

static const miso_vxor_condition conditions[] = {
    {"above", "attribute value > attribute threshold (default 10)", above_test},
};

static const miso_vxor_plugin plugin = {
    MISO_VXOR_ABI_MAJOR,
    MISO_VXOR_ABI_MINOR,
    sizeof(miso_vxor_plugin),
    "example_c",
    "1.0.0",
    "Example plugin in C: arithmetic, strings, arrays, host callbacks, kernels, a workload and a condition",
    0, /* state is unsynchronised: the host serialises calls */
    example_init,
    example_shutdown,
    functions,
    sizeof functions / sizeof functions[0],
    kernels,
    sizeof kernels / sizeof kernels[0],
    workloads,
    sizeof workloads / sizeof workloads[0],
    conditions,
    sizeof conditions / sizeof conditions[0],
};

MISO_VXOR_EXPORT const miso_vxor_plugin* MISO_VXOR_ENTRY(void) { return &plugin; }
