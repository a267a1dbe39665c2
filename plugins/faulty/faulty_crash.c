/* faulty_crash: a plugin with good functions beside bad ones, so a test can crash the
 * worker and then see the next call succeed after the restart. */
#include <signal.h>
#include <stdlib.h>

#include "miso/vxor/plugin.h"

static int add(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
               miso_vxor_call* call) {
  (void)state;
  (void)argc;
  if (args[0].type != MISO_VXOR_INT || args[1].type != MISO_VXOR_INT) return host->error(call, "add takes two ints");
  host->result_int(call, args[0].as.integer + args[1].as.integer);
  return MISO_VXOR_OK;
}

static int segv(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                miso_vxor_call* call) {
  (void)state;
  (void)host;
  (void)args;
  (void)argc;
  (void)call;
  /* What a wild pointer would do, without undefined behaviour here; the default action
   * also bypasses a sanitizer's SEGV handler, so every build dies of signal 11. */
  signal(SIGSEGV, SIG_DFL);
  raise(SIGSEGV);
  return MISO_VXOR_OK;
}

static int abort_now(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                     miso_vxor_call* call) {
  (void)state;
  (void)host;
  (void)args;
  (void)argc;
  (void)call;
  abort();
}

static int fail(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                miso_vxor_call* call) {
  (void)state;
  (void)args;
  (void)argc;
  host->log(host, MISO_VXOR_LOG_WARN, "about to fail on purpose");
  return host->error(call, "deliberate failure");
}

static void negate(void* state, const double* a, const double* b, double* out, size_t n) {
  size_t i;
  (void)state;
  (void)b;
  for (i = 0; i < n; ++i) out[i] = -a[i];
}

/* Workload "tiny": an instance that lives in the worker, to show it dies with it. */
static int tiny_value;

static int tiny_prepare(void* state, const miso_vxor_host* host, uint64_t target_bytes, uint64_t seed, void** instance,
                        miso_vxor_call* call) {
  (void)state;
  (void)host;
  (void)target_bytes;
  (void)seed;
  (void)call;
  *instance = &tiny_value;
  return MISO_VXOR_OK;
}

static uint64_t tiny_input_bytes(void* instance) {
  (void)instance;
  return sizeof tiny_value;
}

static int tiny_run(void* instance, const miso_vxor_host* host, miso_vxor_call* call) {
  (void)host;
  (void)call;
  ++*(int*)instance;
  return MISO_VXOR_OK;
}

static int tiny_check(void* instance, const miso_vxor_host* host, miso_vxor_call* call) {
  if (*(int*)instance > 0) return MISO_VXOR_OK;
  return host->error(call, "tiny: not run");
}

static void tiny_destroy(void* instance) { *(int*)instance = 0; }

static const miso_vxor_workload workloads[] = {
    {"tiny", "a counter in the worker", tiny_prepare, tiny_input_bytes, tiny_run, tiny_check, tiny_destroy},
};

static const miso_vxor_function functions[] = {
    {"add", 2, "a + b (ints)", add},
    {"segv", 0, "raises SIGSEGV", segv},
    {"abort", 0, "calls abort()", abort_now},
    {"fail", 0, "logs a warning and reports an error", fail},
};

static const miso_vxor_kernel kernels[] = {
    {"negate", 1, "-a", negate, NULL},
};

static const miso_vxor_plugin plugin = {MISO_VXOR_ABI_MAJOR,
                                        MISO_VXOR_ABI_MINOR,
                                        sizeof(miso_vxor_plugin),
                                        "faulty_crash",
                                        "1.0.0",
                                        "good functions beside crashing ones",
                                        0u,
                                        NULL,
                                        NULL,
                                        functions,
                                        sizeof functions / sizeof functions[0],
                                        kernels,
                                        1,
                                        workloads,
                                        1,
                                        NULL,
                                        0};

MISO_VXOR_EXPORT const miso_vxor_plugin* MISO_VXOR_ENTRY(void) { return &plugin; }
