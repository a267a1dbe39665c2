// Isolated mode: the plugin runs in a child process (`miso-vxor-worker`) and every call
// is one framed request/reply over a socket pair (protocol.hpp). Whatever the plugin
// does to its own process — crash, hang, scribble on the socket — ends that process
// and becomes an Error(Io) here; the next call starts a fresh worker.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "miso/core/error.hpp"
#include "miso/profiler/span.hpp"
#include "miso/vxor/abi.hpp"
#include "miso/vxor/plugin_host.hpp"
#include "miso/vxor/protocol.hpp"

extern char** environ;

namespace miso::vxor {
namespace {

using Clock = std::chrono::steady_clock;
using abi::LogFn;
namespace proto = protocol;

// After this many faults in a row (crash, hang, garbage, failed start) without one
// good reply the worker is not restarted again: a plugin that always crashes would
// otherwise fork a process per call forever.
constexpr unsigned kMaxConsecutiveFaults = 5;
// Starting a worker execs, verifies the library's digest and runs init: give it at
// least this long even when the per-call deadline is short.
constexpr std::chrono::milliseconds kMinStartDeadline{5000};
// How long a worker asked to shut down, or one that closed its socket, may take to exit.
constexpr std::chrono::milliseconds kExitGrace{500};
// Elements per Kernel request (keeps a request of two f64 inputs at 16 MiB).
constexpr std::size_t kKernelChunk = std::size_t{1} << 20;

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* text = sigdescr_np(sig);
    return "died with signal " + std::to_string(sig) + " (" + (text != nullptr ? text : "unknown") + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "stopped (status " + std::to_string(status) + ")";
}

// Waits up to `grace` for the child to exit; returns its status, or nullopt when it is
// still running (or was already reaped by someone else).
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds grace) {
  auto until = Clock::now() + grace;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

class IsolatedPlugin;

class IsolatedWorkload final : public PluginWorkload {
 public:
  IsolatedWorkload(std::shared_ptr<IsolatedPlugin> plugin, std::string name, std::uint64_t instance,
                   std::uint64_t generation, std::uint64_t input_bytes)
      : plugin_(std::move(plugin)),
        name_(std::move(name)),
        instance_(instance),
        generation_(generation),
        input_bytes_(input_bytes) {}
  ~IsolatedWorkload() override;
  std::uint64_t input_bytes() const override { return input_bytes_; }
  void run() override;
  Check check() override;

 private:
  std::shared_ptr<IsolatedPlugin> plugin_;
  std::string name_;
  std::uint64_t instance_;
  std::uint64_t generation_;
  std::uint64_t input_bytes_;
};

class IsolatedPlugin final : public Plugin, public std::enable_shared_from_this<IsolatedPlugin> {
 public:
  IsolatedPlugin(const Manifest& manifest, std::filesystem::path worker, std::chrono::milliseconds deadline, LogFn log)
      : worker_(std::move(worker)), deadline_(deadline), log_(log ? std::move(log) : LogFn(abi::default_log)) {
    info_.name = manifest.name;
    info_.manifest = manifest;
    std::lock_guard lock(mutex_);
    start();  // throws what the worker reported (bad checksum, ABI mismatch, init failure)
  }

  ~IsolatedPlugin() override {
    std::lock_guard lock(mutex_);
    stop();
  }

  const PluginInfo& info() const noexcept override { return info_; }

  PluginValue call(std::string_view function, std::span<const PluginValue> args) override {
    MISO_PROFILE_SCOPE("vxor.isolated_call");
    proto::CallRequest req{std::string(function), {args.begin(), args.end()}};
    auto reply = request("function " + req.function, proto::Type::Call, proto::encode_call(req), proto::Type::Result,
                         proto::decode_result);
    set_live(reply.live_bytes);
    return std::move(reply.value);
  }

  void kernel_f64(std::string_view kernel, std::span<const double> a, std::span<const double> b,
                  std::span<double> out) override {
    run_kernel(kernel, false, a, b, out);
  }

  void kernel_f32(std::string_view kernel, std::span<const float> a, std::span<const float> b,
                  std::span<float> out) override {
    run_kernel(kernel, true, a, b, out);
  }

  bool condition(std::string_view condition, std::string_view event_type, std::int64_t key,
                 std::span<const Attribute> attributes) override {
    proto::ConditionRequest req{
        std::string(condition), std::string(event_type), key, {attributes.begin(), attributes.end()}};
    std::string what = "condition " + req.condition;
    auto reply = request(
        what, proto::Type::Condition, proto::encode_condition(req), proto::Type::Result, [&](std::string_view payload) {
          auto r = proto::decode_result(payload);
          if (!std::holds_alternative<bool>(r.value)) {
            throw Error(Error::Kind::Format, std::string("condition reply is ") + type_name(r.value) + ", not bool");
          }
          return r;
        });
    return std::get<bool>(reply.value);
  }

  std::unique_ptr<PluginWorkload> prepare_workload(std::string_view workload, std::uint64_t target_bytes,
                                                   std::uint64_t seed) override {
    proto::PrepareRequest req{std::string(workload), target_bytes, seed};
    auto reply = request("workload " + req.workload + " prepare", proto::Type::WorkloadPrepare,
                         proto::encode_prepare(req), proto::Type::WorkloadReady, proto::decode_ready);
    set_live(reply.live_bytes);
    std::uint64_t generation;
    {
      std::lock_guard lock(mutex_);
      generation = generation_;
    }
    return std::make_unique<IsolatedWorkload>(shared_from_this(), req.workload, reply.instance, generation,
                                              reply.input_bytes);
  }

  Stats stats() const override {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

  // For IsolatedWorkload: run/check/destroy of an instance made by worker `generation`.
  void run_instance(const std::string& name, std::uint64_t instance, std::uint64_t generation) {
    auto reply = request("workload " + name + " run", proto::Type::WorkloadRun, proto::encode_instance({instance}),
                         proto::Type::Result, proto::decode_result, generation);
    set_live(reply.live_bytes);
  }
  PluginWorkload::Check check_instance(const std::string& name, std::uint64_t instance, std::uint64_t generation) {
    auto reply = request("workload " + name + " check", proto::Type::WorkloadCheck, proto::encode_instance({instance}),
                         proto::Type::CheckResult, proto::decode_check, generation);
    set_live(reply.live_bytes);
    return {reply.passed, std::move(reply.detail)};
  }
  void destroy_instance(const std::string& name, std::uint64_t instance, std::uint64_t generation) noexcept {
    try {
      {
        std::lock_guard lock(mutex_);
        if (pid_ < 0 || generation != generation_) return;  // the instance died with its worker
      }
      auto reply = request("workload " + name + " destroy", proto::Type::WorkloadDestroy,
                           proto::encode_instance({instance}), proto::Type::Result, proto::decode_result, generation);
      set_live(reply.live_bytes);
    } catch (const std::exception&) {
      // Nothing to report from a destructor; a faulty worker was already killed and counted.
    }
  }

 private:
  void run_kernel(std::string_view kernel, bool f32, auto a, auto b, auto out) {
    MISO_PROFILE_SCOPE("vxor.isolated_kernel");
    std::string what = "kernel " + std::string(kernel);
    bool uniform = a.size() == out.size() && (b.empty() || b.size() == out.size());
    if (!uniform && (a.size() + b.size() + out.size()) > kKernelChunk) {
      // Mismatched lengths are refused by the plugin anyway; do not ship megabytes to hear it.
      throw Error(Error::Kind::InvalidArgument, info_.name + "." + std::string(kernel) + ": input lengths " +
                                                    std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                                                    " do not match the output's " + std::to_string(out.size()));
    }
    // Elementwise, so large arrays are sent in chunks that each fit a frame.
    std::size_t step = uniform ? kKernelChunk : std::max<std::size_t>(out.size(), 1);
    std::size_t total = uniform ? out.size() : 0;
    std::size_t offset = 0;
    do {
      std::size_t n = uniform ? std::min(step, total - offset) : out.size();
      proto::KernelRequest req;
      req.kernel = std::string(kernel);
      req.f32 = f32;
      req.out_size = n;
      auto a_part = uniform ? a.subspan(offset, n) : a;
      auto b_part = uniform && !b.empty() ? b.subspan(offset, n) : b;
      req.a.assign(a_part.begin(), a_part.end());
      req.b.assign(b_part.begin(), b_part.end());
      auto reply = request(what, proto::Type::Kernel, proto::encode_kernel(req), proto::Type::KernelResult,
                           [&](std::string_view payload) {
                             auto r = proto::decode_kernel_result(payload);
                             if (r.out.size() != n || r.f32 != f32) {
                               throw Error(Error::Kind::Format, "KernelResult of " + std::to_string(r.out.size()) +
                                                                    " elements for a request of " + std::to_string(n));
                             }
                             return r;
                           });
      using T = typename decltype(out)::value_type;
      for (std::size_t i = 0; i < n; ++i) out[offset + i] = static_cast<T>(reply.out[i]);
      offset += n;
    } while (uniform && offset < total);
  }

  void set_live(std::int64_t bytes) {
    std::lock_guard lock(stats_mutex_);
    stats_.live_bytes = bytes;
  }
  void count(bool failed) {
    std::lock_guard lock(stats_mutex_);
    ++stats_.calls;
    if (failed) ++stats_.failures;
  }
  void count_restart() {
    std::lock_guard lock(stats_mutex_);
    ++stats_.restarts;
  }

  // One request and its reply. `decode` turns the expected reply's payload into a
  // value; a decode error is the worker's fault. An Error reply is rethrown as the
  // plugin's error. `generation`, when given, must still be the live worker's.
  template <typename Decode>
  std::invoke_result_t<Decode, std::string_view> request(const std::string& what, proto::Type type,
                                                         const std::string& payload, proto::Type expected,
                                                         Decode decode,
                                                         std::optional<std::uint64_t> generation = std::nullopt) {
    const std::string header = proto::encode_header(type, payload.size());
    std::lock_guard lock(mutex_);
    try {
      auto value = exchange(what, type, header, payload, expected, decode, generation);
      count(false);
      return value;
    } catch (...) {
      count(true);
      throw;
    }
  }

  template <typename Decode>
  std::invoke_result_t<Decode, std::string_view> exchange(const std::string& what, proto::Type type,
                                                          const std::string& header, const std::string& payload,
                                                          proto::Type expected, Decode decode,
                                                          std::optional<std::uint64_t> generation) {
    if (generation && (*generation != generation_ || pid_ < 0)) {
      throw Error(Error::Kind::Io, info_.name + ": the worker that prepared this " + what.substr(0, what.rfind(' ')) +
                                       " instance was restarted; the instance is gone");
    }
    if (pid_ < 0) {
      if (consecutive_faults_ >= kMaxConsecutiveFaults) {
        throw Error(Error::Kind::Io, info_.name + ": worker failed " + std::to_string(consecutive_faults_) +
                                         " times in a row; not restarting it (reload the plugin)");
      }
      start();
      count_restart();
    } else {
      drain_stray();
    }
    auto until = Clock::now() + deadline_;
    send_all(header, payload, until, what);
    for (;;) {
      proto::Frame reply = read_frame(until, what);
      if (reply.type == expected) {
        try {
          auto value = decode(reply.payload);
          consecutive_faults_ = 0;
          return value;
        } catch (const Error& e) {
          fault(what, "sent a malformed reply", e.what());
        }
      }
      if (reply.type == proto::Type::Error) {
        proto::ErrorReply err;
        try {
          err = proto::decode_error(reply.payload);
        } catch (const Error& e) {
          fault(what, "sent a malformed reply", e.what());
        }
        consecutive_faults_ = 0;  // the worker answered properly: it is healthy
        throw Error(err.kind, err.message);
      }
      fault(what, "broke the protocol",
            std::string("a ") + proto::to_string(reply.type) + " frame in reply to " + proto::to_string(type));
    }
  }

  // Spawns the worker and waits for its Hello (mutex_ held).
  void start() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      throw Error(Error::Kind::Io,
                  info_.name + ": cannot create the worker's socket pair: " + system_error_text(errno));
    }
    int child = sv[1];
    if (child == proto::kWorkerFd) {
      // dup2 onto the same number would be a no-op that leaves FD_CLOEXEC set.
      child = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
      ::close(sv[1]);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, child, proto::kWorkerFd);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);  // the host may block signals in this thread
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    std::string worker = worker_.string();
    std::string manifest = info_.manifest.file.string();
    char* argv[] = {worker.data(), manifest.data(), nullptr};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, worker.c_str(), &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(child);
    if (rc != 0) {
      ::close(sv[0]);
      ++consecutive_faults_;
      throw Error(Error::Kind::Io, info_.name + ": cannot start the worker " + worker + ": " + system_error_text(rc));
    }
    pid_ = pid;
    fd_ = sv[0];
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
    buffer_.clear();
    ++generation_;

    auto until = Clock::now() + std::max(deadline_, kMinStartDeadline);
    proto::Frame hello = read_frame(until, "load");
    if (hello.type == proto::Type::Error) {
      proto::ErrorReply err;
      try {
        err = proto::decode_error(hello.payload);
      } catch (const Error& e) {
        fault("load", "sent a malformed reply", e.what());
      }
      stop();
      ++consecutive_faults_;
      throw Error(err.kind, err.message);
    }
    if (hello.type != proto::Type::Hello) {
      fault("load", "broke the protocol", std::string("a ") + proto::to_string(hello.type) + " frame instead of Hello");
    }
    PluginInfo got;
    try {
      got = proto::decode_hello(hello.payload);
    } catch (const Error& e) {
      fault("load", "sent a malformed reply", e.what());
    }
    if (got.name != info_.manifest.name) {
      fault("load", "loaded a plugin named '" + got.name + "', not '" + info_.manifest.name + "'");
    }
    if (info_.version.empty()) {
      got.mode = LoadMode::Isolated;
      got.manifest = std::move(info_.manifest);
      info_ = std::move(got);
    } else if (got.version != info_.version) {
      // A restarted worker must serve what info() promised.
      fault("load", "restarted with version " + got.version + " instead of " + info_.version);
    }
  }

  // Asks the worker to exit, then kills it if it does not; always reaps (mutex_ held).
  void stop() noexcept {
    if (pid_ < 0) return;
    std::string frame = proto::encode_frame(proto::Type::Shutdown, {});
    ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (!wait_exit(pid_, kExitGrace)) kill_and_reap(pid_);
    ::close(fd_);
    pid_ = -1;
    fd_ = -1;
  }

  // Kills the worker after a fault and throws Error(Io)
  // "<plugin>: worker <detail> during <what>[: <cause>]".
  [[noreturn]] void fault(const std::string& what, const std::string& detail, const std::string& cause = {}) {
    kill_and_reap(pid_);
    ::close(fd_);
    pid_ = -1;
    fd_ = -1;
    ++consecutive_faults_;
    throw Error(Error::Kind::Io,
                info_.name + ": worker " + detail + " during " + what + (cause.empty() ? "" : ": " + cause));
  }

  // The worker's end closed or broke: learn how it ended and report that.
  [[noreturn]] void died(const std::string& what) {
    std::optional<int> status = wait_exit(pid_, kExitGrace);
    std::string how = status ? describe_status(*status) : "closed its socket";
    if (!status) kill_and_reap(pid_);
    ::close(fd_);
    pid_ = -1;
    fd_ = -1;
    ++consecutive_faults_;
    throw Error(Error::Kind::Io, info_.name + ": worker " + how + " during " + what);
  }

  [[noreturn]] void timed_out(const std::string& what) {
    fault(what, "exceeded its " + std::to_string(deadline_.count()) + " ms deadline");
  }

  // Waits for the socket until `until`; false on timeout.
  bool wait_for(short events, Clock::time_point until) {
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, events, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30)));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return true;  // let the next read/write report it
    }
  }

  // Header and payload in one sendmsg: a large payload (kernel inputs) is not first
  // copied into a frame.
  void send_all(std::string_view header, std::string_view payload, Clock::time_point until, const std::string& what) {
    proto::FrameSender sender(header, payload);
    while (!sender.done()) {
      const long n = sender.send_some(fd_);
      if (n > 0) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait_for(POLLOUT, until)) timed_out(what);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        died(what);  // EPIPE / ECONNRESET: the worker is gone
      }
    }
  }

  // Reads more bytes into buffer_, waiting until `until`.
  void fill(Clock::time_point until, const std::string& what) {
    char chunk[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return;
      }
      if (n == 0) died(what);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) died(what);
      if (!wait_for(POLLIN, until)) timed_out(what);
    }
  }

  // The next non-Log frame; Log frames are forwarded to the log callback on the way.
  proto::Frame read_frame(Clock::time_point until, const std::string& what) {
    for (;;) {
      while (buffer_.size() < proto::kHeaderSize) fill(until, what);
      proto::Header header;
      try {
        header = proto::decode_header(std::string_view(buffer_).substr(0, proto::kHeaderSize));
      } catch (const Error& e) {
        fault(what, "sent garbage", e.what());
      }
      if (buffer_.capacity() < proto::kHeaderSize + header.length) buffer_.reserve(proto::kHeaderSize + header.length);
      while (buffer_.size() < proto::kHeaderSize + header.length) fill(until, what);
      proto::Frame frame{header.type, buffer_.substr(proto::kHeaderSize, header.length)};
      buffer_.erase(0, proto::kHeaderSize + header.length);
      if (frame.type != proto::Type::Log) return frame;
      proto::LogMessage message;
      try {
        message = proto::decode_log(frame.payload);
      } catch (const Error& e) {
        fault(what, "sent a malformed log line", e.what());
      }
      try {
        log_(info_.name, message.level, message.message);
      } catch (...) {
        // A throwing log sink must not leave the worker's reply unread.
      }
    }
  }

  // Bytes that arrived outside a request (a plugin writing on the socket after its
  // reply) would be taken for the next reply: restart the worker instead.
  void drain_stray() {
    char probe;
    ssize_t n = ::recv(fd_, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (buffer_.empty() && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    try {
      log_(info_.name, MISO_VXOR_LOG_WARN, "worker sent data outside a request or exited; restarting it");
    } catch (...) {
    }
    kill_and_reap(pid_);
    ::close(fd_);
    pid_ = -1;
    fd_ = -1;
    start();
    count_restart();
  }

  std::filesystem::path worker_;
  std::chrono::milliseconds deadline_;
  LogFn log_;
  PluginInfo info_;

  std::mutex mutex_;  // one request in flight; guards everything below
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
  std::uint64_t generation_ = 0;
  unsigned consecutive_faults_ = 0;

  mutable std::mutex stats_mutex_;  // separate, so stats() does not wait for a slow call
  Stats stats_;
};

IsolatedWorkload::~IsolatedWorkload() { plugin_->destroy_instance(name_, instance_, generation_); }
void IsolatedWorkload::run() { plugin_->run_instance(name_, instance_, generation_); }
PluginWorkload::Check IsolatedWorkload::check() { return plugin_->check_instance(name_, instance_, generation_); }

}  // namespace

std::shared_ptr<Plugin> load_isolated(const Manifest& manifest, const std::filesystem::path& worker,
                                      std::chrono::milliseconds deadline, LogFn log) {
  if (deadline.count() <= 0) {
    throw Error(Error::Kind::InvalidArgument, manifest.name + ": the isolated call deadline must be positive, not " +
                                                  std::to_string(deadline.count()) + " ms");
  }
  if (worker.empty()) {
    throw Error(Error::Kind::InvalidArgument, manifest.name + ": no worker executable for isolated mode");
  }
  return std::make_shared<IsolatedPlugin>(manifest, worker, deadline, std::move(log));
}

}  // namespace miso::vxor
