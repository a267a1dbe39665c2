/* faulty_exit: init ends the worker process with status 3 — in a worker only; loaded
 * into a host process it refuses to load instead of taking the host down. */
#include <stdlib.h>
#include <unistd.h>

#include "miso/vxor/plugin.h"

static int init(const miso_vxor_host* host, void** state, miso_vxor_call* call) {
  (void)state;
  if (getenv("MISO_VXOR_FD") == NULL) return host->error(call, "refusing to exit a host process (load it isolated)");
  _exit(3);
}

static int ok(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc, miso_vxor_call* call) {
  (void)state;
  (void)args;
  (void)argc;
  host->result_nil(call);
  return MISO_VXOR_OK;
}

static const miso_vxor_function functions[] = {{"ok", 0, "never reached", ok}};

static const miso_vxor_plugin plugin = {MISO_VXOR_ABI_MAJOR,
                                        MISO_VXOR_ABI_MINOR,
                                        sizeof(miso_vxor_plugin),
                                        "faulty_exit",
                                        "1.0.0",
                                        "init exits the worker",
                                        0u,
                                        init,
                                        NULL,
                                        functions,
                                        1,
                                        NULL,
                                        0,
                                        NULL,
                                        0,
                                        NULL,
                                        0};

MISO_VXOR_EXPORT const miso_vxor_plugin* MISO_VXOR_ENTRY(void) { return &plugin; }
