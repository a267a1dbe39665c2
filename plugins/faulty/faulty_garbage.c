/* faulty_garbage: functions that write on the isolated worker's socket behind the
 * worker's back — junk bytes, or well-framed replies with invalid contents — before
 * returning normally. The socket's number comes from $MISO_VXOR_FD, which the worker
 * sets; outside a worker the functions refuse (fd 3 is someone else's there). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "miso/vxor/plugin.h"

static int write_all(int fd, const unsigned char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n <= 0) return 0;
    data += n;
    size -= (size_t)n;
  }
  return 1;
}

/* Writes bytes on the worker's socket; MISO_VXOR_ERROR outside a worker. */
static int emit(const miso_vxor_host* host, miso_vxor_call* call, const unsigned char* data, size_t size) {
  const char* fd = getenv("MISO_VXOR_FD");
  if (fd == NULL) return host->error(call, "not running in an isolated worker ($MISO_VXOR_FD unset)");
  if (!write_all(atoi(fd), data, size)) return host->error(call, "could not write on the worker socket");
  host->result_int(call, 1);
  return MISO_VXOR_OK;
}

static int ok(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc, miso_vxor_call* call) {
  (void)state;
  (void)args;
  (void)argc;
  host->result_string(call, "fine", 4);
  return MISO_VXOR_OK;
}

/* Bytes that are no frame: the header announces message type 'a' (97). */
static int junk(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                miso_vxor_call* call) {
  static const char text[] = "not a frame at all\n";
  (void)state;
  (void)args;
  (void)argc;
  return emit(host, call, (const unsigned char*)text, sizeof text - 1);
}

/* A Result frame (type 9) whose value has the type tag 99. */
static int bad_tag(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                   miso_vxor_call* call) {
  static const unsigned char frame[] = {9, 0, 0, 0, 9, 99, 0, 0, 0, 0, 0, 0, 0, 0};
  (void)state;
  (void)args;
  (void)argc;
  return emit(host, call, frame, sizeof frame);
}

/* A Result frame holding an array that claims 2^60 elements but carries none. */
static int bad_size(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                    miso_vxor_call* call) {
  static const unsigned char frame[] = {17, 0, 0, 0, 9, 5, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0};
  (void)state;
  (void)args;
  (void)argc;
  return emit(host, call, frame, sizeof frame);
}

/* A header announcing a 2 GiB frame. */
static int huge(void* state, const miso_vxor_host* host, const miso_vxor_value* args, size_t argc,
                miso_vxor_call* call) {
  static const unsigned char frame[] = {0, 0, 0, 0x80, 9};
  (void)state;
  (void)args;
  (void)argc;
  return emit(host, call, frame, sizeof frame);
}

static const miso_vxor_function functions[] = {
    {"ok", 0, "returns \"fine\"", ok},
    {"junk", 0, "writes bytes that are no frame", junk},
    {"bad_tag", 0, "writes a Result with value type tag 99", bad_tag},
    {"bad_size", 0, "writes a Result whose array claims 2^60 elements", bad_size},
    {"huge", 0, "writes a header announcing a 2 GiB frame", huge},
};

static const miso_vxor_plugin plugin = {MISO_VXOR_ABI_MAJOR,
                                        MISO_VXOR_ABI_MINOR,
                                        sizeof(miso_vxor_plugin),
                                        "faulty_garbage",
                                        "1.0.0",
                                        "functions that corrupt the isolated protocol",
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
