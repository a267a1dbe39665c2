/*
 * Plugins that the loader must refuse, one per LOADER_* variant (see CMakeLists.txt):
 * each differs from a valid minimal plugin in exactly one way.
 */
#include "miso/vxor/plugin.h"

/* Not static: some variants leave one of them unused. */
int answer(void* st, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc, miso_vxor_call* call);
void twice(void* st, const double* a, const double* b, double* out, size_t n);

int answer(void* st, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc, miso_vxor_call* call) {
  (void)st;
  (void)args;
  (void)argc;
  host->result_int(call, 42);
  return MISO_VXOR_OK;
}

void twice(void* st, const double* a, const double* b, double* out, size_t n) {
  size_t i;
  (void)st;
  (void)b;
  for (i = 0; i < n; ++i) out[i] = 2 * a[i];
}

#ifdef LOADER_INIT_FAILS
static int init_fails(const miso_vxor_host* host, void** state, miso_vxor_call* call) {
  (void)state;
  return host->error(call, "no license for this machine");
}
#define INIT init_fails
#else
#define INIT NULL
#endif

#ifdef LOADER_NULL_FUNCTION
#define ANSWER NULL
#else
#define ANSWER answer
#endif

#ifdef LOADER_NO_F64
#define TWICE NULL
#else
#define TWICE twice
#endif

static const miso_vxor_function functions[] = {
    {"answer", 0, "answer(): 42", ANSWER},
#ifdef LOADER_DUPLICATE
    {"answer", 0, "the same name again", answer},
#endif
};

static const miso_vxor_kernel kernels[] = {
    {"twice", 1, "2x", TWICE, NULL},
};

#ifndef ABI_MAJOR
#define ABI_MAJOR MISO_VXOR_ABI_MAJOR
#endif
#ifndef ABI_MINOR
#define ABI_MINOR MISO_VXOR_ABI_MINOR
#endif

static const miso_vxor_plugin plugin = {
    ABI_MAJOR,
    ABI_MINOR,
    sizeof(miso_vxor_plugin),
    TABLE_NAME,
    "1.0.0",
    "a plugin the loader must refuse",
    0,
    INIT,
    NULL,
    functions,
    sizeof functions / sizeof functions[0],
    kernels,
    sizeof kernels / sizeof kernels[0],
    NULL,
    0,
    NULL,
    0,
};

#ifndef LOADER_NO_ENTRY
MISO_VXOR_EXPORT const miso_vxor_plugin* MISO_VXOR_ENTRY(void) { return &plugin; }
#else
/* Exported under another name, so the library loads but has no entry symbol. */
MISO_VXOR_EXPORT const miso_vxor_plugin* miso_vxor_plugin_entry_v0(void) { return &plugin; }
#endif
