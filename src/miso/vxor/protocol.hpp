// Internal to VXOR (not a public header): the framed protocol between the host and an
// isolated plugin's worker process (`miso-vxor-worker`) over a socket pair.
//
// A frame is a 5-byte header — u32 payload length, u8 message type — followed by the
// payload; every integer is little-endian, every string and array is length-prefixed
// (u64), and a payload is limited to kMaxPayload bytes. The worker talks on file
// descriptor kWorkerFd (also announced to plugins as $MISO_VXOR_FD).
//
//   worker -> host   Hello (once, after the plugin loaded) or Error (load failed, then exit)
//   host -> worker   Call | Kernel | Condition | WorkloadPrepare | WorkloadRun |
//                    WorkloadCheck | WorkloadDestroy, then waits for the reply
//   worker -> host   any number of Log frames, then exactly one reply:
//                    Result | KernelResult | WorkloadReady | CheckResult | Error
//   host -> worker   Shutdown (no reply; the worker unloads the plugin and exits 0)
//
// Every decode_* validates the whole payload (lengths, tags, ranges, no trailing bytes)
// and throws Error(Format) naming the message and what was wrong, so a worker that
// sends garbage is detected rather than trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "miso/core/error.hpp"
#include "miso/vxor/plugin.h"
#include "miso/vxor/plugin.hpp"
#include "miso/vxor/value.hpp"

namespace miso::vxor::protocol {

inline constexpr std::uint32_t kMaxPayload = 64u << 20;
inline constexpr std::size_t kHeaderSize = 5;
inline constexpr int kWorkerFd = 3;
inline constexpr const char* kWorkerFdEnv = "MISO_VXOR_FD";

enum class Type : std::uint8_t {
  Hello = 1,
  Call = 2,
  Kernel = 3,
  Condition = 4,
  WorkloadPrepare = 5,
  WorkloadRun = 6,
  WorkloadCheck = 7,
  WorkloadDestroy = 8,
  Result = 9,
  KernelResult = 10,
  WorkloadReady = 11,
  CheckResult = 12,
  Error = 13,
  Log = 14,
  Shutdown = 15,
};
inline constexpr std::uint8_t kLastType = 15;

const char* to_string(Type type) noexcept;

struct Header {
  Type type = Type::Shutdown;
  std::uint32_t length = 0;  // payload bytes
};

// Reads a header from exactly kHeaderSize bytes: Error(Format) for an unknown type or a
// length over kMaxPayload.
Header decode_header(std::string_view bytes);
// Header + payload; Error(Format) when the payload exceeds kMaxPayload.
std::string encode_frame(Type type, std::string_view payload);
// Just the header of such a frame, for senders that write header and payload with one
// sendmsg (no copy of a large payload into a frame); same check as encode_frame.
std::string encode_header(Type type, std::size_t payload_size);

// Sends a frame's header and payload with as few sendmsg calls as the socket allows (a
// large payload is never copied into a frame). The caller loops until done(), deciding
// what a failure means (the host waits for POLLOUT or reports a dead worker; the worker
// exits).
class FrameSender {
 public:
  FrameSender(std::string_view header, std::string_view payload) noexcept;
  bool done() const noexcept { return first_ == 2; }
  // One sendmsg (MSG_NOSIGNAL) of what is left: the bytes sent, or -1 with errno set.
  long send_some(int fd) noexcept;

 private:
  struct Part {
    const char* data;
    std::size_t size;
  };
  Part parts_[2];
  std::size_t first_ = 0;  // the first part with bytes left
};

struct Frame {
  Type type = Type::Shutdown;
  std::string payload;
};
// Decodes one complete frame (the whole of `bytes`): Error(Format) when truncated, too
// long, of an unknown type, or followed by extra bytes.
Frame decode_frame(std::string_view bytes);

// Messages. A kernel's arrays travel as f64 or f32 (as `f32` says) but are held as
// doubles here: float -> double -> float is exact.
struct CallRequest {
  std::string function;
  std::vector<PluginValue> args;
};
struct KernelRequest {
  std::string kernel;
  bool f32 = false;
  std::uint64_t out_size = 0;
  std::vector<double> a;
  std::vector<double> b;
};
struct ConditionRequest {
  std::string condition;
  std::string event_type;
  std::int64_t key = 0;
  std::vector<Attribute> attributes;
};
struct PrepareRequest {
  std::string workload;
  std::uint64_t target_bytes = 0;
  std::uint64_t seed = 0;
};
struct InstanceRequest {  // WorkloadRun, WorkloadCheck, WorkloadDestroy
  std::uint64_t instance = 0;
};
struct ResultReply {
  PluginValue value;
  std::int64_t live_bytes = 0;  // the plugin's accounted bytes after the call
};
struct KernelReply {
  bool f32 = false;
  std::vector<double> out;
};
struct ReadyReply {
  std::uint64_t instance = 0;
  std::uint64_t input_bytes = 0;
  std::int64_t live_bytes = 0;
};
struct CheckReply {
  bool passed = false;
  std::string detail;
  std::int64_t live_bytes = 0;
};
struct ErrorReply {
  Error::Kind kind = Error::Kind::Internal;
  std::string message;
};
struct LogMessage {
  int level = MISO_VXOR_LOG_INFO;  // MISO_VXOR_LOG_TRACE..ERROR
  std::string message;
};

// Hello carries the PluginInfo the worker's plugin declared (name, version,
// description, ABI, thread_safe and the registrations; not mode or manifest).
std::string encode_hello(const PluginInfo& info);
std::string encode_call(const CallRequest& request);
std::string encode_kernel(const KernelRequest& request);
std::string encode_condition(const ConditionRequest& request);
std::string encode_prepare(const PrepareRequest& request);
std::string encode_instance(const InstanceRequest& request);
std::string encode_result(const ResultReply& reply);
std::string encode_kernel_result(const KernelReply& reply);
std::string encode_ready(const ReadyReply& reply);
std::string encode_check(const CheckReply& reply);
std::string encode_error(const ErrorReply& reply);
std::string encode_log(const LogMessage& message);

PluginInfo decode_hello(std::string_view payload);
CallRequest decode_call(std::string_view payload);
KernelRequest decode_kernel(std::string_view payload);
ConditionRequest decode_condition(std::string_view payload);
PrepareRequest decode_prepare(std::string_view payload);
InstanceRequest decode_instance(std::string_view payload);
ResultReply decode_result(std::string_view payload);
KernelReply decode_kernel_result(std::string_view payload);
ReadyReply decode_ready(std::string_view payload);
CheckReply decode_check(std::string_view payload);
ErrorReply decode_error(std::string_view payload);
LogMessage decode_log(std::string_view payload);

}  // namespace miso::vxor::protocol
