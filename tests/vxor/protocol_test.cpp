#include "miso/vxor/protocol.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <thread>

#include "../error_of.hpp"

namespace miso::vxor::protocol {
namespace {

using miso::testing::error_of;
// Passes when `text` contains `part`, printing the whole text otherwise.
::testing::AssertionResult has(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' lacks '" << part << "'";
}

std::vector<PluginValue> all_values() {
  return {Nil{},
          true,
          false,
          std::int64_t{-42},
          std::numeric_limits<std::int64_t>::min(),
          3.25,
          -0.0,
          std::string("h\0llo", 5),
          std::string(),
          std::vector<double>{1.5, -2.0, 1e300},
          std::vector<double>{}};
}

PluginInfo sample_info() {
  PluginInfo info;
  info.name = "example";
  info.version = "1.2.3";
  info.description = "a sample";
  info.abi_major = 1;
  info.abi_minor = 0;
  info.thread_safe = true;
  info.functions = {{"add", 2, "a + b"}, {"any", -1, ""}};
  info.kernels = {{"square", 1, "a*a", true}, {"hypot", 2, "", false}};
  info.workloads = {{"sum", "sums numbers"}};
  info.conditions = {{"even", "key is even"}};
  return info;
}

TEST(VxorProtocol, FrameRoundTrip) {
  std::string frame = encode_frame(Type::Call, "payload");
  ASSERT_EQ(frame.size(), kHeaderSize + 7);
  EXPECT_EQ(frame[0], 7);  // little-endian length
  EXPECT_EQ(frame[4], static_cast<char>(Type::Call));
  Frame f = decode_frame(frame);
  EXPECT_EQ(f.type, Type::Call);
  EXPECT_EQ(f.payload, "payload");
  Header h = decode_header(std::string_view(frame).substr(0, kHeaderSize));
  EXPECT_EQ(h.type, Type::Call);
  EXPECT_EQ(h.length, 7u);
  EXPECT_EQ(decode_frame(encode_frame(Type::Shutdown, {})).type, Type::Shutdown);
  // The header alone (senders that write header and payload with one sendmsg) is the
  // frame's first bytes.
  EXPECT_EQ(encode_header(Type::Call, 7), frame.substr(0, kHeaderSize));
  EXPECT_EQ(encode_header(Type::Kernel, 70000) + std::string(70000, 'k'),
            encode_frame(Type::Kernel, std::string(70000, 'k')));
}

TEST(VxorProtocol, EveryTypeHasAName) {
  for (std::uint8_t t = 1; t <= kLastType; ++t) {
    std::string frame = encode_frame(static_cast<Type>(t), "x");
    EXPECT_EQ(decode_frame(frame).type, static_cast<Type>(t));
    EXPECT_STRNE(to_string(static_cast<Type>(t)), "?");
  }
}

TEST(VxorProtocol, HelloRoundTrip) {
  PluginInfo info = decode_hello(encode_hello(sample_info()));
  EXPECT_EQ(info.name, "example");
  EXPECT_EQ(info.version, "1.2.3");
  EXPECT_EQ(info.description, "a sample");
  EXPECT_EQ(info.abi_major, 1u);
  EXPECT_TRUE(info.thread_safe);
  EXPECT_EQ(info.mode, LoadMode::Isolated);
  ASSERT_EQ(info.functions.size(), 2u);
  EXPECT_EQ(info.functions[0].name, "add");
  EXPECT_EQ(info.functions[0].arity, 2);
  EXPECT_EQ(info.functions[0].summary, "a + b");
  EXPECT_EQ(info.functions[1].arity, -1);
  ASSERT_EQ(info.kernels.size(), 2u);
  EXPECT_EQ(info.kernels[0].name, "square");
  EXPECT_TRUE(info.kernels[0].has_f32);
  EXPECT_EQ(info.kernels[1].arity, 2);
  EXPECT_FALSE(info.kernels[1].has_f32);
  ASSERT_EQ(info.workloads.size(), 1u);
  EXPECT_EQ(info.workloads[0].description, "sums numbers");
  ASSERT_EQ(info.conditions.size(), 1u);
  EXPECT_EQ(info.conditions[0].name, "even");
}

TEST(VxorProtocol, CallRoundTripKeepsEveryValueType) {
  CallRequest req{"f", all_values()};
  CallRequest back = decode_call(encode_call(req));
  EXPECT_EQ(back.function, "f");
  ASSERT_EQ(back.args.size(), req.args.size());
  for (std::size_t i = 0; i < req.args.size(); ++i) {
    EXPECT_EQ(back.args[i], req.args[i]) << i;
  }
  EXPECT_TRUE(std::signbit(std::get<double>(back.args[6])));
}

TEST(VxorProtocol, KernelRoundTripF64AndF32) {
  KernelRequest req{"scale", false, 3, {1.0, 2.5, -1e-300}, {4.0, 5.0, 6.0}};
  KernelRequest back = decode_kernel(encode_kernel(req));
  EXPECT_EQ(back.kernel, "scale");
  EXPECT_FALSE(back.f32);
  EXPECT_EQ(back.out_size, 3u);
  EXPECT_EQ(back.a, req.a);
  EXPECT_EQ(back.b, req.b);

  KernelRequest f32{"scale", true, 2, {0.1f, 3.0f}, {}};
  std::string payload = encode_kernel(f32);
  EXPECT_EQ(payload.size(), 8 + 5 + 1 + 8 + 8 + 2 * 4 + 8);  // floats travel as 4 bytes
  KernelRequest back32 = decode_kernel(payload);
  EXPECT_TRUE(back32.f32);
  EXPECT_EQ(back32.a, f32.a);  // exact: the values were floats
  EXPECT_TRUE(back32.b.empty());

  KernelReply reply = decode_kernel_result(encode_kernel_result({true, {0.5f, -2.0f}}));
  EXPECT_TRUE(reply.f32);
  EXPECT_EQ(reply.out, (std::vector<double>{0.5, -2.0}));
}

TEST(VxorProtocol, ConditionRoundTrip) {
  ConditionRequest req{"even", "tick", -7, {{"a", std::int64_t{1}}, {"b", std::string("x")}, {"c", Nil{}}}};
  ConditionRequest back = decode_condition(encode_condition(req));
  EXPECT_EQ(back.condition, "even");
  EXPECT_EQ(back.event_type, "tick");
  EXPECT_EQ(back.key, -7);
  ASSERT_EQ(back.attributes.size(), 3u);
  EXPECT_EQ(back.attributes[1].key, "b");
  EXPECT_EQ(back.attributes[1].value, PluginValue(std::string("x")));
}

TEST(VxorProtocol, WorkloadMessagesRoundTrip) {
  PrepareRequest p = decode_prepare(encode_prepare({"sum", 1 << 20, 99}));
  EXPECT_EQ(p.workload, "sum");
  EXPECT_EQ(p.target_bytes, 1u << 20);
  EXPECT_EQ(p.seed, 99u);
  EXPECT_EQ(decode_instance(encode_instance({12345})).instance, 12345u);
  ReadyReply r = decode_ready(encode_ready({7, 4096, -3}));
  EXPECT_EQ(r.instance, 7u);
  EXPECT_EQ(r.input_bytes, 4096u);
  EXPECT_EQ(r.live_bytes, -3);
  CheckReply c = decode_check(encode_check({true, "sum = 10", 64}));
  EXPECT_TRUE(c.passed);
  EXPECT_EQ(c.detail, "sum = 10");
  EXPECT_EQ(c.live_bytes, 64);
}

TEST(VxorProtocol, ReplyMessagesRoundTrip) {
  for (const auto& v : all_values()) {
    ResultReply r = decode_result(encode_result({v, 128}));
    EXPECT_EQ(r.value, v);
    EXPECT_EQ(r.live_bytes, 128);
  }
  ErrorReply e = decode_error(encode_error({Error::Kind::InvalidArgument, "p.f: bad"}));
  EXPECT_EQ(e.kind, Error::Kind::InvalidArgument);
  EXPECT_EQ(e.message, "p.f: bad");
  LogMessage l = decode_log(encode_log({MISO_VXOR_LOG_WARN, "careful"}));
  EXPECT_EQ(l.level, MISO_VXOR_LOG_WARN);
  EXPECT_EQ(l.message, "careful");
}

TEST(VxorProtocol, TruncatedFramesAreRejected) {
  std::string frame = encode_frame(Type::Result, encode_result({std::string("hello"), 0}));
  EXPECT_TRUE(has(error_of([&] { decode_frame(frame.substr(0, 3)); }, Error::Kind::Format),
                  "truncated frame header (3 of 5 bytes)"));
  EXPECT_TRUE(has(error_of([&] { decode_frame(frame.substr(0, frame.size() - 1)); }, Error::Kind::Format),
                  "truncated Result frame"));
  EXPECT_TRUE(has(error_of([&] { decode_frame(frame + "x"); }, Error::Kind::Format), "1 bytes after"));
  // Every proper prefix of a payload fails to decode, naming the message.
  std::string payload = encode_call({"fn", all_values()});
  for (std::size_t n = 0; n < payload.size(); ++n) {
    EXPECT_TRUE(has(error_of([&] { decode_call(payload.substr(0, n)); }, Error::Kind::Format), "Call message")) << n;
  }
  std::string hello = encode_hello(sample_info());
  for (std::size_t n = 0; n < hello.size(); ++n) {
    EXPECT_TRUE(has(error_of([&] { decode_hello(hello.substr(0, n)); }, Error::Kind::Format), "Hello message")) << n;
  }
}

TEST(VxorProtocol, OversizedFramesAreRejected) {
  std::string header(kHeaderSize, '\0');
  std::uint32_t length = kMaxPayload + 1;
  std::memcpy(header.data(), &length, 4);
  header[4] = static_cast<char>(Type::Result);
  EXPECT_TRUE(has(error_of([&] { decode_header(header); }, Error::Kind::Format),
                  "Result frame of 67108865 bytes exceeds the limit of 67108864"));
  std::string big(kMaxPayload + 1, 'x');
  EXPECT_TRUE(
      has(error_of([&] { encode_frame(Type::Call, big); }, Error::Kind::InvalidArgument), "exceeds the frame limit"));
  EXPECT_EQ(error_of([] { encode_header(Type::Kernel, std::size_t{kMaxPayload} + 1); }, Error::Kind::InvalidArgument),
            error_of([&] { encode_frame(Type::Kernel, big); }, Error::Kind::InvalidArgument));
  EXPECT_NO_THROW(encode_header(Type::Kernel, kMaxPayload));
  // A count or size that the remaining bytes cannot hold is refused before allocating.
  std::string array = encode_result({std::vector<double>{1.0}, 0});
  array[1] = '\xff';
  array[8] = '\x7f';
  EXPECT_TRUE(has(error_of([&] { decode_result(array); }, Error::Kind::Format), "elements announced"));
  std::string call = encode_call({"f", {}});
  call[8 + 1 + 7] = '\x40';  // argument count 2^62
  EXPECT_TRUE(has(error_of([&] { decode_call(call); }, Error::Kind::Format), "argument count: count"));
}

TEST(VxorProtocol, CorruptedFramesAreRejected) {
  std::string frame = encode_frame(Type::Call, "x");
  frame[4] = 0;
  EXPECT_TRUE(has(error_of([&] { decode_frame(frame); }, Error::Kind::Format), "unknown message type 0"));
  frame[4] = 99;
  EXPECT_TRUE(has(error_of([&] { decode_frame(frame); }, Error::Kind::Format), "unknown message type 99"));

  std::string result = encode_result({true, 0});
  result[0] = 6;  // value type tag past F64_ARRAY
  EXPECT_TRUE(has(error_of([&] { decode_result(result); }, Error::Kind::Format), "bad value type tag 6"));
  result = encode_result({true, 0});
  result[1] = 2;  // a boolean that is neither 0 nor 1
  EXPECT_TRUE(has(error_of([&] { decode_result(result); }, Error::Kind::Format), "bad boolean 2"));

  std::string log = encode_log({MISO_VXOR_LOG_INFO, "m"});
  log[0] = 5;
  EXPECT_TRUE(has(error_of([&] { decode_log(log); }, Error::Kind::Format), "bad log level 5"));

  std::string error = encode_error({Error::Kind::Io, "m"});
  error[0] = 17;
  EXPECT_TRUE(has(error_of([&] { decode_error(error); }, Error::Kind::Format), "bad error kind 17"));

  PluginInfo info = sample_info();
  info.kernels[0].arity = 3;
  EXPECT_TRUE(has(error_of([&] { decode_hello(encode_hello(info)); }, Error::Kind::Format), "bad arity 3"));
  info = sample_info();
  info.name.clear();
  EXPECT_TRUE(has(error_of([&] { decode_hello(encode_hello(info)); }, Error::Kind::Format), "empty plugin name"));

  EXPECT_TRUE(
      has(error_of([&] { decode_instance(encode_instance({1}) + "zz"); }, Error::Kind::Format), "2 trailing bytes"));
  std::string kernel = encode_kernel({"k", false, 1, {}, {}});
  std::uint64_t huge = std::uint64_t{1} << 40;
  std::memcpy(kernel.data() + 8 + 1 + 1, &huge, 8);
  EXPECT_TRUE(has(error_of([&] { decode_kernel(kernel); }, Error::Kind::Format), "out_size"));
}

// A frame larger than the socket buffer goes out in several partial sendmsg calls on a
// non-blocking socket; the reader gets header and payload byte for byte.
TEST(FrameSender, SendsHeaderAndPayloadAcrossPartialWrites) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  const int small = 4096;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  std::string payload(1 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + i / 251);
  const std::string header = encode_header(Type::Call, payload.size());

  std::string received;
  std::thread reader([&] {
    char chunk[8192];
    for (ssize_t n; (n = ::read(fds[1], chunk, sizeof chunk)) > 0;) received.append(chunk, static_cast<std::size_t>(n));
  });
  FrameSender sender(header, payload);
  int calls = 0;
  while (!sender.done()) {
    const long n = sender.send_some(fds[0]);
    if (n < 0) {
      ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) << std::strerror(errno);
      std::this_thread::yield();  // the reader drains the socket
    }
    if (n > 0) ++calls;
  }
  ::close(fds[0]);
  reader.join();
  ::close(fds[1]);
  EXPECT_GT(calls, 1);
  EXPECT_EQ(received, header + payload);
}

TEST(FrameSender, AnEmptyPayloadIsJustTheHeader) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  const std::string header = encode_header(Type::Shutdown, 0);
  FrameSender sender(header, {});
  EXPECT_EQ(sender.send_some(fds[0]), static_cast<long>(header.size()));
  EXPECT_TRUE(sender.done());
  std::string got(header.size(), '\0');
  EXPECT_EQ(::read(fds[1], got.data(), got.size()), static_cast<ssize_t>(header.size()));
  EXPECT_EQ(got, header);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace miso::vxor::protocol
