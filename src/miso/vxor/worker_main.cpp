// miso-vxor-worker MANIFEST: the child process of an isolated plugin. Started by the
// host with its end of a socket pair on fd 3 (protocol.hpp); loads the plugin with the
// same checks as in-process loading (manifest re-read, digest verified, table
// validated, init run), says Hello, then serves one request at a time until Shutdown
// or until the host's end closes. Whatever the plugin does wrong stays in here.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "miso/core/error.hpp"
#include "miso/vxor/plugin_host.hpp"
#include "miso/vxor/protocol.hpp"

namespace {

namespace proto = miso::vxor::protocol;
using miso::Error;

// Blocking frame I/O on the host's socket. A failed write or a broken frame from the
// host leaves nothing useful to do: the worker exits and the host reports it.
class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}

  // Header and payload in one sendmsg: a large reply (kernel output) is not first
  // copied into a frame.
  void send(proto::Type type, const std::string& payload) {
    const std::string header = proto::encode_header(type, payload.size());
    std::lock_guard lock(mutex_);  // a plugin may log from its own threads
    proto::FrameSender sender(header, payload);
    while (!sender.done()) {
      const long n = sender.send_some(fd_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) std::_Exit(1);
    }
  }

  bool receive(proto::Frame& frame) {
    char header[proto::kHeaderSize];
    std::size_t got = read_some(header, sizeof header);
    if (got == 0) return false;
    if (got != sizeof header) std::_Exit(1);
    proto::Header h = proto::decode_header(std::string_view(header, sizeof header));
    frame.type = h.type;
    frame.payload.resize(h.length);
    if (read_some(frame.payload.data(), h.length) != h.length) std::_Exit(1);
    return true;
  }

 private:
  std::size_t read_some(char* p, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::read(fd_, p + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    return got;
  }

  int fd_;
  std::mutex mutex_;
};

class Worker {
 public:
  Worker(Channel& channel, std::shared_ptr<miso::vxor::Plugin> plugin)
      : channel_(channel), plugin_(std::move(plugin)) {}

  // Serves requests until Shutdown or end of stream.
  void serve() {
    proto::Frame frame;
    for (;;) {
      try {
        if (!channel_.receive(frame)) return;
      } catch (const Error& e) {
        channel_.send(proto::Type::Error, proto::encode_error({Error::Kind::Format, e.what()}));
        return;
      }
      if (frame.type == proto::Type::Shutdown) return;
      try {
        handle(frame);
      } catch (const Error& e) {
        channel_.send(proto::Type::Error, proto::encode_error({e.kind(), e.what()}));
      } catch (const std::exception& e) {
        channel_.send(proto::Type::Error, proto::encode_error({Error::Kind::Internal, e.what()}));
      }
    }
  }

  // Instances before the plugin: destroy() must run while the library is loaded.
  void close() {
    instances_.clear();
    plugin_.reset();
  }

 private:
  std::int64_t live() const { return plugin_->stats().live_bytes; }

  miso::vxor::PluginWorkload& instance(std::uint64_t id) {
    auto it = instances_.find(id);
    if (it == instances_.end()) {
      throw Error(Error::Kind::InvalidArgument,
                  plugin_->name() + ": no workload instance " + std::to_string(id) + " in this worker");
    }
    return *it->second;
  }

  void handle(const proto::Frame& frame) {
    switch (frame.type) {
      case proto::Type::Call: {
        auto req = proto::decode_call(frame.payload);
        auto value = plugin_->call(req.function, req.args);
        channel_.send(proto::Type::Result, proto::encode_result({std::move(value), live()}));
        return;
      }
      case proto::Type::Kernel: {
        auto req = proto::decode_kernel(frame.payload);
        proto::KernelReply reply{req.f32, {}};
        if (req.f32) {
          std::vector<float> a(req.a.begin(), req.a.end()), b(req.b.begin(), req.b.end()), out(req.out_size);
          plugin_->kernel_f32(req.kernel, a, b, out);
          reply.out.assign(out.begin(), out.end());
        } else {
          reply.out.resize(req.out_size);
          plugin_->kernel_f64(req.kernel, req.a, req.b, reply.out);
        }
        channel_.send(proto::Type::KernelResult, proto::encode_kernel_result(reply));
        return;
      }
      case proto::Type::Condition: {
        auto req = proto::decode_condition(frame.payload);
        bool holds = plugin_->condition(req.condition, req.event_type, req.key, req.attributes);
        channel_.send(proto::Type::Result, proto::encode_result({holds, live()}));
        return;
      }
      case proto::Type::WorkloadPrepare: {
        auto req = proto::decode_prepare(frame.payload);
        auto workload = plugin_->prepare_workload(req.workload, req.target_bytes, req.seed);
        std::uint64_t id = next_instance_++;
        std::uint64_t bytes = workload->input_bytes();
        instances_.emplace(id, std::move(workload));
        channel_.send(proto::Type::WorkloadReady, proto::encode_ready({id, bytes, live()}));
        return;
      }
      case proto::Type::WorkloadRun: {
        instance(proto::decode_instance(frame.payload).instance).run();
        channel_.send(proto::Type::Result, proto::encode_result({miso::vxor::Nil{}, live()}));
        return;
      }
      case proto::Type::WorkloadCheck: {
        auto check = instance(proto::decode_instance(frame.payload).instance).check();
        channel_.send(proto::Type::CheckResult, proto::encode_check({check.passed, check.detail, live()}));
        return;
      }
      case proto::Type::WorkloadDestroy: {
        auto id = proto::decode_instance(frame.payload).instance;
        instance(id);  // unknown ids are an error
        instances_.erase(id);
        channel_.send(proto::Type::Result, proto::encode_result({miso::vxor::Nil{}, live()}));
        return;
      }
      default:
        throw Error(Error::Kind::Format,
                    std::string("vxor worker: unexpected ") + proto::to_string(frame.type) + " request");
    }
  }

  Channel& channel_;
  std::shared_ptr<miso::vxor::Plugin> plugin_;
  std::map<std::uint64_t, std::unique_ptr<miso::vxor::PluginWorkload>> instances_;
  std::uint64_t next_instance_ = 1;
};

}  // namespace

int main(int argc, char** argv) {
  // A vanished host must show up as a failed send, not kill the worker silently mid-write.
  ::signal(SIGPIPE, SIG_IGN);
  struct stat st {};
  if (argc != 2 || ::fstat(proto::kWorkerFd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    std::fprintf(stderr,
                 "usage: miso-vxor-worker MANIFEST\n"
                 "(started by the MISO plugin host with its socket on fd %d; not meant to be run by hand)\n",
                 proto::kWorkerFd);
    return 2;
  }
  // Descriptors that leaked from the host (opened without O_CLOEXEC by another thread)
  // are not the plugin's business. Best effort: an old kernel without close_range keeps them.
  ::close_range(proto::kWorkerFd + 1, ~0u, 0);
  // Plugins (and the tests' faulty ones) may want to know the channel.
  ::setenv(proto::kWorkerFdEnv, std::to_string(proto::kWorkerFd).c_str(), 1);

  Channel channel(proto::kWorkerFd);
  std::shared_ptr<miso::vxor::Plugin> plugin;
  try {
    miso::vxor::Manifest manifest = miso::vxor::read_manifest(argv[1]);
    plugin = miso::vxor::load_in_process(manifest, [&channel](std::string_view, int level, std::string_view message) {
      // Clamped: an out-of-range level would make the host reject the frame as garbage.
      int clamped = std::clamp(level, static_cast<int>(MISO_VXOR_LOG_TRACE), static_cast<int>(MISO_VXOR_LOG_ERROR));
      channel.send(proto::Type::Log, proto::encode_log({clamped, std::string(message)}));
    });
    channel.send(proto::Type::Hello, proto::encode_hello(plugin->info()));
  } catch (const Error& e) {
    channel.send(proto::Type::Error, proto::encode_error({e.kind(), e.what()}));
    return 1;
  } catch (const std::exception& e) {
    channel.send(proto::Type::Error, proto::encode_error({Error::Kind::Internal, e.what()}));
    return 1;
  }
  Worker worker(channel, std::move(plugin));
  worker.serve();
  worker.close();
  return 0;
}
