#include "miso/profiler/span.hpp"

#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "miso/core/memory.hpp"

namespace miso::profiler {

namespace {

struct InternedSites {
  std::mutex mutex;
  std::deque<std::string> names;  // deque: the c_str() of each name stays put
  std::deque<SpanSite> sites;
  std::unordered_map<std::string_view, const SpanSite*> by_name;
};

InternedSites& interned() {
  static InternedSites* s = new InternedSites;  // leaked: sites are referenced by events
  return *s;
}

}  // namespace

const SpanSite& intern_site(std::string_view name) {
  core::memory::TagScope untagged(core::memory::kUntagged);
  InternedSites& s = interned();
  std::lock_guard lock(s.mutex);
  auto it = s.by_name.find(name);
  if (it != s.by_name.end()) return *it->second;
  const std::string& stored = s.names.emplace_back(name);
  const SpanSite& site = s.sites.emplace_back(SpanSite{stored.c_str(), "(run time)", 0});
  s.by_name.emplace(stored, &site);
  return site;
}

void set_enabled(bool on) noexcept { detail::g_enabled.store(on, std::memory_order_relaxed); }

void record_span(const SpanSite& site, std::uint64_t start_ticks, std::uint64_t end_ticks) noexcept {
  if (!enabled()) return;
  detail::ThreadBuffer* b = detail::current_buffer();
  if (b != nullptr) b->push({&site, start_ticks, end_ticks, b->depth, 0});
}

}  // namespace miso::profiler
