/* faulty_hang: functions that never return, for the isolated-mode deadline. */
#include <unistd.h>

#include "miso/vxor/plugin.h"

static volatile int never = 0;

static int ok(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc, miso_vxor_call* call) {
  (void)state;
  (void)args;
  (void)argc;
  host->result_bool(call, 1);
  return MISO_VXOR_OK;
}

static int sleep_forever(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                         miso_vxor_call* call) {
  (void)state;
  (void)host;
  (void)args;
  (void)argc;
  (void)call;
  for (;;) pause();
  return MISO_VXOR_OK; /* not reached */
}

static int spin(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                miso_vxor_call* call) {
  (void)state;
  (void)args;
  (void)argc;
  while (never == 0) {
  }
  host->result_nil(call);
  return MISO_VXOR_OK;
}

static const miso_vxor_function functions[] = {
    {"ok", 0, "returns true", ok},
    {"sleep", 0, "sleeps forever", sleep_forever},
    {"spin", 0, "spins forever", spin},
};

static const miso_vxor_plugin plugin = {MISO_VXOR_ABI_MAJOR,
                                        MISO_VXOR_ABI_MINOR,
                                        sizeof(miso_vxor_plugin),
                                        "faulty_hang",
                                        "1.0.0",
                                        "functions that never return",
                                        0u,
                                        NULL,
                                        NULL,
                                        functions,
                                        sizeof functions / sizeof functions[0],
                                        NULL,
                                        0,
                                        NULL,
                                        0,
                                        NULL,
                                        0};

MISO_VXOR_EXPORT const miso_vxor_plugin* MISO_VXOR_ENTRY(void) { return &plugin; }
