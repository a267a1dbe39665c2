#include "miso/profiler/perf_counters.hpp"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "miso/core/error.hpp"

namespace miso::profiler {

namespace {

struct EventSpec {
  const char* name;
  std::uint32_t type;
  std::uint64_t config;
};

constexpr EventSpec kEvents[] = {
    {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    {"cache_references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
    {"cache_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
    {"branch_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
    {"context_switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
    {"cpu_migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
    {"page_faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
};

std::string explain(int err) {
  std::string why = "perf_event_open: " + system_error_text(err);
  if (err == ENOENT || err == EOPNOTSUPP) why += " (no hardware PMU exposed to this machine)";
  if (err == EACCES || err == EPERM) why += " (not permitted: see /proc/sys/kernel/perf_event_paranoid)";
  return why;
}

}  // namespace

PerfCounters::PerfCounters() {
  for (const EventSpec& e : kEvents) {
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = e.type;
    attr.config = e.config;
    attr.exclude_hv = 1;
    attr.inherit = 1;
    // Count kernel work too where allowed (context switches happen there); at
    // perf_event_paranoid 2 without CAP_PERFMON only user-space counting is.
    long fd = ::syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    bool user_only = false;
    if (fd < 0 && (errno == EACCES || errno == EPERM)) {
      attr.exclude_kernel = 1;
      user_only = true;
      fd = ::syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    }
    Slot slot{e.name, e.type == PERF_TYPE_HARDWARE, static_cast<int>(fd), "", user_only};
    if (fd < 0) slot.reason = explain(errno);
    slots_.push_back(std::move(slot));
  }
}

PerfCounters::~PerfCounters() {
  for (const Slot& s : slots_) {
    if (s.fd >= 0) ::close(s.fd);
  }
}

std::vector<CounterValue> PerfCounters::read() const {
  std::vector<CounterValue> out;
  for (const Slot& s : slots_) {
    CounterValue v{s.name, s.hardware, false, s.reason, 0, s.user_only};
    if (s.fd >= 0) {
      std::uint64_t value = 0;
      if (::read(s.fd, &value, sizeof value) == static_cast<ssize_t>(sizeof value)) {
        v.available = true;
        v.value = value;
      } else {
        v.reason = "read: " + system_error_text(errno);
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<CounterValue> difference(const std::vector<CounterValue>& later, const std::vector<CounterValue>& earlier) {
  std::vector<CounterValue> out = later;
  for (std::size_t i = 0; i < out.size() && i < earlier.size(); ++i) {
    if (out[i].available && earlier[i].available) {
      out[i].value = later[i].value - earlier[i].value;
    } else {
      out[i].available = false;
      out[i].value = 0;
      if (out[i].reason.empty()) out[i].reason = earlier[i].reason;
    }
  }
  return out;
}

}  // namespace miso::profiler
