#include "miso/vxor/protocol.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

namespace miso::vxor::protocol {
namespace {

static_assert(std::endian::native == std::endian::little, "the VXOR protocol assumes a little-endian host");

std::string format_error(std::string_view what) { return "vxor protocol: " + std::string(what); }

// Appends little-endian fields to a payload.
class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { raw(&v, sizeof v); }
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void i64(std::int64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void f32(float v) { raw(&v, sizeof v); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void string(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  void doubles(const std::vector<double>& values, bool as_f32) {
    u64(values.size());
    if (as_f32) {
      for (double v : values) f32(static_cast<float>(v));
    } else if (!values.empty()) {
      raw(values.data(), values.size() * sizeof(double));
    }
  }
  void value(const PluginValue& v) {
    u8(static_cast<std::uint8_t>(v.index()));
    std::visit(
        [this](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, bool>) {
            boolean(x);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            i64(x);
          } else if constexpr (std::is_same_v<T, double>) {
            f64(x);
          } else if constexpr (std::is_same_v<T, std::string>) {
            string(x);
          } else if constexpr (std::is_same_v<T, std::vector<double>>) {
            doubles(x, false);
          }
        },
        v);
  }
  std::string take() { return std::move(out_); }

 private:
  void raw(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

// Reads fields back, checking every length against what is left; `message` names the
// message being decoded in errors.
class Reader {
 public:
  Reader(std::string_view in, const char* message) : in_(in), message_(message) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(Error::Kind::Format, format_error(std::string(message_) + " message: " + what));
  }
  void need(std::uint64_t n, const char* field) const {
    if (n > in_.size() - pos_) {
      fail("truncated at " + std::string(field) + " (needs " + std::to_string(n) + " bytes, " +
           std::to_string(in_.size() - pos_) + " left)");
    }
  }
  std::uint8_t u8(const char* field) {
    need(1, field);
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::uint32_t u32(const char* field) { return raw<std::uint32_t>(field); }
  std::uint64_t u64(const char* field) { return raw<std::uint64_t>(field); }
  std::int64_t i64(const char* field) { return raw<std::int64_t>(field); }
  double f64(const char* field) { return raw<double>(field); }
  bool boolean(const char* field) {
    std::uint8_t v = u8(field);
    if (v > 1) fail(std::string(field) + ": bad boolean " + std::to_string(v));
    return v == 1;
  }
  std::string string(const char* field) {
    std::uint64_t n = u64(field);
    need(n, field);
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::vector<double> doubles(bool as_f32, const char* field) {
    std::uint64_t n = u64(field);
    std::size_t width = as_f32 ? sizeof(float) : sizeof(double);
    if (n > (in_.size() - pos_) / width) {
      fail("truncated at " + std::string(field) + " (" + std::to_string(n) + " elements announced, " +
           std::to_string(in_.size() - pos_) + " bytes left)");
    }
    std::vector<double> out(n);
    if (as_f32) {
      for (auto& v : out) v = raw<float>(field);
    } else if (n > 0) {  // memcpy must not see the null data() of an empty vector
      std::memcpy(out.data(), in_.data() + pos_, n * sizeof(double));
      pos_ += n * sizeof(double);
    }
    return out;
  }
  // A count of items each at least `min_bytes` long: bounds the count before any
  // allocation so a bogus huge count cannot exhaust memory.
  std::uint64_t count(std::size_t min_bytes, const char* field) {
    std::uint64_t n = u64(field);
    if (n > (in_.size() - pos_) / min_bytes) {
      fail(std::string(field) + ": count " + std::to_string(n) + " exceeds the " + std::to_string(in_.size() - pos_) +
           " bytes left");
    }
    return n;
  }
  PluginValue value(const char* field) {
    std::uint8_t tag = u8(field);
    switch (tag) {
      case 0: return Nil{};
      case 1: return boolean(field);
      case 2: return i64(field);
      case 3: return f64(field);
      case 4: return string(field);
      case 5: return doubles(false, field);
      default: fail(std::string(field) + ": bad value type tag " + std::to_string(tag));
    }
  }
  int level(const char* field) {
    std::uint8_t v = u8(field);
    if (v > MISO_VXOR_LOG_ERROR) fail(std::string(field) + ": bad log level " + std::to_string(v));
    return v;
  }
  void finish() const {
    if (pos_ != in_.size()) fail(std::to_string(in_.size() - pos_) + " trailing bytes");
  }

 private:
  template <typename T>
  T raw(const char* field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  const char* message_;
};

int32_t checked_arity(Reader& r, std::int64_t low, std::int64_t high, const char* field) {
  std::uint32_t raw = r.u32(field);
  std::int64_t v = static_cast<std::int32_t>(raw);
  if (v < low || v > high) r.fail(std::string(field) + ": bad arity " + std::to_string(v));
  return static_cast<int32_t>(v);
}

}  // namespace

const char* to_string(Type type) noexcept {
  switch (type) {
    case Type::Hello: return "Hello";
    case Type::Call: return "Call";
    case Type::Kernel: return "Kernel";
    case Type::Condition: return "Condition";
    case Type::WorkloadPrepare: return "WorkloadPrepare";
    case Type::WorkloadRun: return "WorkloadRun";
    case Type::WorkloadCheck: return "WorkloadCheck";
    case Type::WorkloadDestroy: return "WorkloadDestroy";
    case Type::Result: return "Result";
    case Type::KernelResult: return "KernelResult";
    case Type::WorkloadReady: return "WorkloadReady";
    case Type::CheckResult: return "CheckResult";
    case Type::Error: return "Error";
    case Type::Log: return "Log";
    case Type::Shutdown: return "Shutdown";
  }
  return "?";
}

Header decode_header(std::string_view bytes) {
  if (bytes.size() != kHeaderSize) {
    throw Error(Error::Kind::Format, format_error("frame header of " + std::to_string(bytes.size()) +
                                                  " bytes (expected " + std::to_string(kHeaderSize) + ")"));
  }
  std::uint32_t length;
  std::memcpy(&length, bytes.data(), sizeof length);
  auto type = static_cast<std::uint8_t>(bytes[4]);
  if (type == 0 || type > kLastType) {
    throw Error(Error::Kind::Format, format_error("unknown message type " + std::to_string(type)));
  }
  if (length > kMaxPayload) {
    throw Error(Error::Kind::Format,
                format_error(std::string(to_string(static_cast<Type>(type))) + " frame of " + std::to_string(length) +
                             " bytes exceeds the limit of " + std::to_string(kMaxPayload)));
  }
  return {static_cast<Type>(type), length};
}

std::string encode_header(Type type, std::size_t payload_size) {
  if (payload_size > kMaxPayload) {
    throw Error(Error::Kind::InvalidArgument,
                format_error(std::string(to_string(type)) + " message of " + std::to_string(payload_size) +
                             " bytes exceeds the frame limit of " + std::to_string(kMaxPayload)));
  }
  std::string out(kHeaderSize, '\0');
  auto length = static_cast<std::uint32_t>(payload_size);
  std::memcpy(out.data(), &length, sizeof length);
  out[4] = static_cast<char>(type);
  return out;
}

std::string encode_frame(Type type, std::string_view payload) {
  std::string out = encode_header(type, payload.size());
  out.append(payload);
  return out;
}

Frame decode_frame(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) {
    throw Error(Error::Kind::Format,
                format_error("truncated frame header (" + std::to_string(bytes.size()) + " of 5 bytes)"));
  }
  Header h = decode_header(bytes.substr(0, kHeaderSize));
  std::string_view payload = bytes.substr(kHeaderSize);
  if (payload.size() < h.length) {
    throw Error(Error::Kind::Format,
                format_error("truncated " + std::string(to_string(h.type)) + " frame (" +
                             std::to_string(payload.size()) + " of " + std::to_string(h.length) + " payload bytes)"));
  }
  if (payload.size() > h.length) {
    throw Error(Error::Kind::Format, format_error(std::to_string(payload.size() - h.length) + " bytes after the " +
                                                  std::string(to_string(h.type)) + " frame"));
  }
  return {h.type, std::string(payload)};
}

std::string encode_hello(const PluginInfo& info) {
  Writer w;
  w.string(info.name);
  w.string(info.version);
  w.string(info.description);
  w.u32(info.abi_major);
  w.u32(info.abi_minor);
  w.boolean(info.thread_safe);
  w.u64(info.functions.size());
  for (const auto& f : info.functions) {
    w.string(f.name);
    w.u32(static_cast<std::uint32_t>(f.arity));
    w.string(f.summary);
  }
  w.u64(info.kernels.size());
  for (const auto& k : info.kernels) {
    w.string(k.name);
    w.u32(static_cast<std::uint32_t>(k.arity));
    w.string(k.summary);
    w.boolean(k.has_f32);
  }
  w.u64(info.workloads.size());
  for (const auto& wl : info.workloads) {
    w.string(wl.name);
    w.string(wl.description);
  }
  w.u64(info.conditions.size());
  for (const auto& c : info.conditions) {
    w.string(c.name);
    w.string(c.summary);
  }
  return w.take();
}

PluginInfo decode_hello(std::string_view payload) {
  Reader r(payload, "Hello");
  PluginInfo info;
  info.name = r.string("name");
  info.version = r.string("version");
  info.description = r.string("description");
  info.abi_major = r.u32("abi_major");
  info.abi_minor = r.u32("abi_minor");
  info.thread_safe = r.boolean("thread_safe");
  info.mode = LoadMode::Isolated;
  // Each entry is at least its two or three length prefixes long.
  for (std::uint64_t n = r.count(20, "functions"); n > 0; --n) {
    FunctionInfo f;
    f.name = r.string("function name");
    f.arity = checked_arity(r, -1, std::numeric_limits<std::int32_t>::max(), "function arity");
    f.summary = r.string("function summary");
    info.functions.push_back(std::move(f));
  }
  for (std::uint64_t n = r.count(21, "kernels"); n > 0; --n) {
    KernelInfo k;
    k.name = r.string("kernel name");
    k.arity = checked_arity(r, 1, 2, "kernel arity");
    k.summary = r.string("kernel summary");
    k.has_f32 = r.boolean("kernel has_f32");
    info.kernels.push_back(std::move(k));
  }
  for (std::uint64_t n = r.count(16, "workloads"); n > 0; --n) {
    WorkloadSpec wl;
    wl.name = r.string("workload name");
    wl.description = r.string("workload description");
    info.workloads.push_back(std::move(wl));
  }
  for (std::uint64_t n = r.count(16, "conditions"); n > 0; --n) {
    ConditionInfo c;
    c.name = r.string("condition name");
    c.summary = r.string("condition summary");
    info.conditions.push_back(std::move(c));
  }
  r.finish();
  if (info.name.empty()) r.fail("empty plugin name");
  return info;
}

std::string encode_call(const CallRequest& request) {
  Writer w;
  w.string(request.function);
  w.u64(request.args.size());
  for (const auto& a : request.args) w.value(a);
  return w.take();
}

CallRequest decode_call(std::string_view payload) {
  Reader r(payload, "Call");
  CallRequest req;
  req.function = r.string("function");
  for (std::uint64_t n = r.count(1, "argument count"); n > 0; --n) req.args.push_back(r.value("argument"));
  r.finish();
  return req;
}

std::string encode_kernel(const KernelRequest& request) {
  Writer w;
  w.string(request.kernel);
  w.boolean(request.f32);
  w.u64(request.out_size);
  w.doubles(request.a, request.f32);
  w.doubles(request.b, request.f32);
  return w.take();
}

KernelRequest decode_kernel(std::string_view payload) {
  Reader r(payload, "Kernel");
  KernelRequest req;
  req.kernel = r.string("kernel");
  req.f32 = r.boolean("precision");
  req.out_size = r.u64("out_size");
  req.a = r.doubles(req.f32, "a");
  req.b = r.doubles(req.f32, "b");
  r.finish();
  // The worker allocates out_size elements: refuse what the parent could never have sent.
  if (req.out_size > kMaxPayload / sizeof(float)) r.fail("out_size " + std::to_string(req.out_size) + " too large");
  return req;
}

std::string encode_condition(const ConditionRequest& request) {
  Writer w;
  w.string(request.condition);
  w.string(request.event_type);
  w.i64(request.key);
  w.u64(request.attributes.size());
  for (const auto& a : request.attributes) {
    w.string(a.key);
    w.value(a.value);
  }
  return w.take();
}

ConditionRequest decode_condition(std::string_view payload) {
  Reader r(payload, "Condition");
  ConditionRequest req;
  req.condition = r.string("condition");
  req.event_type = r.string("event_type");
  req.key = r.i64("key");
  for (std::uint64_t n = r.count(9, "attribute count"); n > 0; --n) {
    Attribute a;
    a.key = r.string("attribute key");
    a.value = r.value("attribute value");
    req.attributes.push_back(std::move(a));
  }
  r.finish();
  return req;
}

std::string encode_prepare(const PrepareRequest& request) {
  Writer w;
  w.string(request.workload);
  w.u64(request.target_bytes);
  w.u64(request.seed);
  return w.take();
}

PrepareRequest decode_prepare(std::string_view payload) {
  Reader r(payload, "WorkloadPrepare");
  PrepareRequest req;
  req.workload = r.string("workload");
  req.target_bytes = r.u64("target_bytes");
  req.seed = r.u64("seed");
  r.finish();
  return req;
}

std::string encode_instance(const InstanceRequest& request) {
  Writer w;
  w.u64(request.instance);
  return w.take();
}

InstanceRequest decode_instance(std::string_view payload) {
  Reader r(payload, "workload instance");
  InstanceRequest req;
  req.instance = r.u64("instance");
  r.finish();
  return req;
}

std::string encode_result(const ResultReply& reply) {
  Writer w;
  w.value(reply.value);
  w.i64(reply.live_bytes);
  return w.take();
}

ResultReply decode_result(std::string_view payload) {
  Reader r(payload, "Result");
  ResultReply reply;
  reply.value = r.value("value");
  reply.live_bytes = r.i64("live_bytes");
  r.finish();
  return reply;
}

std::string encode_kernel_result(const KernelReply& reply) {
  Writer w;
  w.boolean(reply.f32);
  w.doubles(reply.out, reply.f32);
  return w.take();
}

KernelReply decode_kernel_result(std::string_view payload) {
  Reader r(payload, "KernelResult");
  KernelReply reply;
  reply.f32 = r.boolean("precision");
  reply.out = r.doubles(reply.f32, "out");
  r.finish();
  return reply;
}

std::string encode_ready(const ReadyReply& reply) {
  Writer w;
  w.u64(reply.instance);
  w.u64(reply.input_bytes);
  w.i64(reply.live_bytes);
  return w.take();
}

ReadyReply decode_ready(std::string_view payload) {
  Reader r(payload, "WorkloadReady");
  ReadyReply reply;
  reply.instance = r.u64("instance");
  reply.input_bytes = r.u64("input_bytes");
  reply.live_bytes = r.i64("live_bytes");
  r.finish();
  return reply;
}

std::string encode_check(const CheckReply& reply) {
  Writer w;
  w.boolean(reply.passed);
  w.string(reply.detail);
  w.i64(reply.live_bytes);
  return w.take();
}

CheckReply decode_check(std::string_view payload) {
  Reader r(payload, "CheckResult");
  CheckReply reply;
  reply.passed = r.boolean("passed");
  reply.detail = r.string("detail");
  reply.live_bytes = r.i64("live_bytes");
  r.finish();
  return reply;
}

std::string encode_error(const ErrorReply& reply) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(reply.kind));
  w.string(reply.message);
  return w.take();
}

ErrorReply decode_error(std::string_view payload) {
  Reader r(payload, "Error");
  ErrorReply reply;
  std::uint8_t kind = r.u8("kind");
  if (kind > static_cast<std::uint8_t>(Error::Kind::Internal)) r.fail("bad error kind " + std::to_string(kind));
  reply.kind = static_cast<Error::Kind>(kind);
  reply.message = r.string("message");
  r.finish();
  return reply;
}

std::string encode_log(const LogMessage& message) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(message.level));
  w.string(message.message);
  return w.take();
}

LogMessage decode_log(std::string_view payload) {
  Reader r(payload, "Log");
  LogMessage message;
  message.level = r.level("level");
  message.message = r.string("message");
  r.finish();
  return message;
}

FrameSender::FrameSender(std::string_view header, std::string_view payload) noexcept
    : parts_{{header.data(), header.size()}, {payload.data(), payload.size()}} {
  while (first_ < 2 && parts_[first_].size == 0) ++first_;
}

long FrameSender::send_some(int fd) noexcept {
  iovec io[2];
  std::size_t count = 0;
  for (std::size_t i = first_; i < 2; ++i)
    io[count++] = {const_cast<char*>(parts_[i].data), parts_[i].size};  // sendmsg does not write
  msghdr message{};
  message.msg_iov = io;
  message.msg_iovlen = count;
  const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
  if (n <= 0) return n;
  for (auto sent = static_cast<std::size_t>(n); sent > 0 && first_ < 2;) {
    const std::size_t take = std::min(sent, parts_[first_].size);
    parts_[first_].data += take;
    parts_[first_].size -= take;
    sent -= take;
    while (first_ < 2 && parts_[first_].size == 0) ++first_;
  }
  return n;
}

}  // namespace miso::vxor::protocol
