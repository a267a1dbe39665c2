#include "miso/omega/server.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "miso/core/error.hpp"
#include "miso/echo/format.hpp"
#include "miso/mcode/vm.hpp"
#include "miso/omega/api.hpp"
#include "miso/omega/dashboard.hpp"
#include "miso/omega/runtime.hpp"
#include "miso/profiler/profile_run.hpp"
#include "miso/profiler/span.hpp"
#include "miso/profiler/system.hpp"
#include "miso/qlogik/format.hpp"

namespace miso::omega {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// An answer other than 200, raised anywhere in a handler.
struct ApiError {
  int status;
  std::string code;
  std::string message;
  json extra = json::object();  // merged into the "error" object
};

[[noreturn]] void fail(int status, std::string code, std::string message) {
  throw ApiError{status, std::move(code), std::move(message)};
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // Invalid UTF-8 from a script's output must not turn an answer into an exception.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  json error = {{"code", e.code}, {"message", e.message}};
  error.update(e.extra);
  send_json(res, e.status, {{"error", error}});
}

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) == 1) return (ntohl(addr.s_addr) >> 24) == 127;
  return false;
}

// Runs over the longer of the two, so the time does not tell how much of a guess matched.
bool same_secret(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- request bodies ---------------------------------------------------------------

json parse_body(const httplib::Request& req) {
  std::string type = req.get_header_value("Content-Type");
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  if (type.rfind("application/json", 0) != 0) {
    fail(415, "unsupported_media_type",
         req.path + ": Content-Type must be application/json, got '" + req.get_header_value("Content-Type") + "'");
  }
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {
    fail(400, "malformed_json", req.path + ": malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  }
  if (!body.is_object()) fail(400, "bad_request", req.path + ": the body must be a JSON object");
  return body;
}

const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void bad_field(const char* name, const std::string& expected) {
  fail(400, "bad_request", std::string("field '") + name + "' must be " + expected);
}

std::string required_string(const json& body, const char* name) {
  const json* v = field(body, name);
  if (v == nullptr) fail(400, "bad_request", std::string("missing field '") + name + "'");
  if (!v->is_string()) bad_field(name, "a string");
  return v->get<std::string>();
}

std::string optional_string(const json& body, const char* name, std::string fallback = {}) {
  const json* v = field(body, name);
  if (v == nullptr) return fallback;
  if (!v->is_string()) bad_field(name, "a string");
  return v->get<std::string>();
}

std::optional<std::int64_t> optional_int(const json& body, const char* name, std::int64_t min, std::int64_t max) {
  const json* v = field(body, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer()) bad_field(name, "an integer");
  const auto x = v->get<std::int64_t>();
  if (x < min || x > max) bad_field(name, "in " + std::to_string(min) + ".." + std::to_string(max));
  return x;
}

std::vector<std::string> optional_strings(const json& body, const char* name) {
  const json* v = field(body, name);
  std::vector<std::string> out;
  if (v == nullptr) return out;
  if (!v->is_array()) bad_field(name, "an array of strings");
  for (const json& item : *v) {
    if (!item.is_string()) bad_field(name, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

// A JSON scalar as MPRIME/Q-Logik text: "x" stays x, 1.5 becomes 1.5.
std::string scalar_text(const json& v, const char* name) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  bad_field(name, "an object of strings or numbers");
}

// ---- profile jobs -----------------------------------------------------------------

struct Job {
  std::string id;
  std::vector<std::string> components;
  profiler::DataSize size = profiler::DataSize::Small;
  unsigned repeat = 1;
  fs::path out_dir;
  std::atomic<bool> cancel{false};
  std::thread thread;

  mutable std::mutex mutex;  // guards what follows
  std::string state = "queued";
  std::optional<profiler::ProfileProgress> progress;
  json report;
  bool checks_passed = true;
  std::string error;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> finished;

  bool active() const {
    std::lock_guard lock(mutex);
    return state == "queued" || state == "running";
  }

  json summary() const {  // under the lock
    const auto end = finished.value_or(std::chrono::steady_clock::now());
    json j = {{"id", id},
              {"state", state},
              {"size", profiler::to_string(size)},
              {"components", components},
              {"elapsed_s", std::chrono::duration<double>(end - started).count()},
              {"workload", progress ? json(progress->workload) : json(nullptr)},
              {"phase", progress ? json(progress->phase) : json(nullptr)},
              {"step", progress ? json(progress->index + (progress->phase == "done" ? 1 : 0)) : json(0)},
              {"total", progress ? json(progress->total) : json(nullptr)}};
    return j;
  }
};

constexpr std::size_t kKeptFinishedJobs = 32;

}  // namespace

// ---- the server ---------------------------------------------------------------------

ServerOptions server_options(const Runtime& runtime) {
  const Config& c = runtime.config();
  ServerOptions o;
  o.host = c.get_string("server.host");
  o.port = static_cast<int>(c.get_int("server.port"));
  o.token = c.get_string("server.token");
  return o;
}

struct Server::Impl {
  Runtime& runtime;
  ServerOptions options;
  std::size_t max_body_bytes = 1 << 20;
  std::int64_t request_timeout_ms = 10000;
  int threads = 8;
  std::size_t max_jobs = 1;

  httplib::Server http;
  std::thread listener;
  int bound_port = 0;
  bool started = false;
  std::atomic<bool> stopping{false};
  std::atomic<bool> listener_done{false};
  fs::path work_dir;  // reports of profile jobs; removed by stop()

  std::mutex jobs_mutex;
  std::map<std::string, std::shared_ptr<Job>> jobs;
  std::deque<std::string> finished_order;
  std::uint64_t next_job = 1;

  std::mutex vms_mutex;
  std::set<mcode::Vm*> vms;  // running evals, interrupted by stop()

  std::mutex live_mutex;
  struct Sample {
    std::chrono::steady_clock::time_point time;
    std::uint64_t spans = 0;
    std::uint64_t cpu_ns = 0;
  };
  std::optional<Sample> last_sample;
  double spans_per_second = 0;
  double cpu_percent = 0;

  Impl(Runtime& rt, ServerOptions o) : runtime(rt), options(std::move(o)) {}

  // ---- common request handling ----

  bool authorized(const httplib::Request& req) const {
    if (options.token.empty()) return true;
    const std::string header = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (header.size() < kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) return false;
    return same_secret(std::string_view(header).substr(kBearer.size()), options.token);
  }

  void check_token(const httplib::Request& req) const {
    if (!authorized(req)) {
      throw ApiError{401, "unauthorized", req.path + ": this server needs 'Authorization: Bearer <token>'"};
    }
  }

  using Body = std::function<json(const httplib::Request&, httplib::Response&)>;

  // Every /api handler: token, then the body; any failure becomes a JSON error and the
  // server keeps serving.
  httplib::Server::Handler api(Body body) {
    return [this, body = std::move(body)](const httplib::Request& req, httplib::Response& res) {
      try {
        check_token(req);
        json out = body(req, res);
        send_json(res, res.status > 0 && res.status != 200 ? res.status : 200, out);
      } catch (const ApiError& e) {
        if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
        send_error(res, e);
      } catch (const miso::Error& e) {
        switch (e.kind()) {
          case Error::Kind::InvalidArgument:
          case Error::Kind::Format:
          case Error::Kind::Io: send_error(res, {400, "invalid_input", e.what()}); break;
          default: send_error(res, {500, "internal", e.what()});
        }
      } catch (const std::exception& e) {
        send_error(res, {500, "internal", std::string(req.path) + ": " + e.what()});
      } catch (...) {
        send_error(res, {500, "internal", req.path + ": unknown failure"});
      }
    };
  }

  // Answers httplib's own errors (no route, body too large, bad request line) and
  // leaves answers the handlers wrote alone.
  httplib::Server::HandlerResponse on_error(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (req.path.rfind("/api/", 0) == 0 && !authorized(req) && res.status == 404) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, {401, "unauthorized", req.path + ": this server needs 'Authorization: Bearer <token>'"});
      return httplib::Server::HandlerResponse::Handled;
    }
    if (res.status == 404) {
      const std::string allowed = allowed_methods(req.path);
      if (!allowed.empty()) {
        res.set_header("Allow", allowed);
        send_error(res, {405, "method_not_allowed", req.method + " " + req.path + ": allowed: " + allowed});
      } else {
        send_error(res, {404, "not_found", "no endpoint " + req.method + " " + req.path});
      }
    } else if (res.status == 413) {
      send_error(res, {413, "payload_too_large",
                       req.path + ": the body exceeds server.max_body_bytes = " + std::to_string(max_body_bytes)});
    } else {
      send_error(res, {res.status, "http_error", req.method + " " + req.path + ": HTTP " + std::to_string(res.status)});
    }
    return httplib::Server::HandlerResponse::Handled;
  }

  static std::string allowed_methods(const std::string& path) {
    static const std::vector<std::pair<std::regex, std::string>> routes = {
        {std::regex("/"), "GET"},
        {std::regex("/index\\.html"), "GET"},
        {std::regex("/api/status"), "GET"},
        {std::regex("/api/live"), "GET"},
        {std::regex("/api/mcode/eval"), "POST"},
        {std::regex("/api/qlogik/query"), "POST"},
        {std::regex("/api/echo/check"), "POST"},
        {std::regex("/api/mprime/[a-z]+"), "POST"},
        {std::regex("/api/profile"), "POST"},
        {std::regex("/api/profile/[A-Za-z0-9_-]+"), "GET, DELETE"},
    };
    for (const auto& [re, methods] : routes) {
      if (std::regex_match(path, re)) return methods;
    }
    return {};
  }

  // ---- endpoints ----

  json live() {
    const auto now = std::chrono::steady_clock::now();
    const std::uint64_t spans = profiler::spans_recorded();
    const std::uint64_t cpu = profiler::process_cpu_ns();
    double rate = 0, cpu_pct = 0;
    {
      std::lock_guard lock(live_mutex);
      if (!last_sample) {
        last_sample = Sample{now, spans, cpu};
      } else {
        const double dt = std::chrono::duration<double>(now - last_sample->time).count();
        // Rates over at least 200 ms: several pollers must not divide by tiny intervals.
        if (dt >= 0.2) {
          spans_per_second = static_cast<double>(spans - last_sample->spans) / dt;
          cpu_percent = static_cast<double>(cpu - last_sample->cpu_ns) / (dt * 1e9) * 100.0;
          last_sample = Sample{now, spans, cpu};
        }
      }
      rate = spans_per_second;
      cpu_pct = cpu_percent;
    }
    json job_list = json::array();
    {
      std::lock_guard lock(jobs_mutex);
      for (const auto& [id, job] : jobs) {
        std::lock_guard job_lock(job->mutex);
        job_list.push_back(job->summary());
      }
    }
    // Names and states only: the components' health() (figures) is for /api/status.
    json components = json::array();
    try {
      Lifecycle& lifecycle = runtime.lifecycle();
      for (const std::string& name : lifecycle.start_order()) {
        components.push_back({{"name", name}, {"state", to_string(lifecycle.state(name))}});
      }
    } catch (const std::exception&) {  // cannot happen once started; the page does without
    }
    return {{"time", unix_seconds()},
            {"spans_recorded", spans},
            {"spans_per_second", rate},
            {"rss_bytes", profiler::rss_bytes()},
            {"peak_rss_bytes", profiler::peak_rss_bytes()},
            {"threads", profiler::thread_count()},
            {"cpu_percent", cpu_pct},
            {"jobs", job_list},
            {"components", components}};
  }

  json status() {
    return {{"components", runtime.lifecycle().health()},
            {"live", live()},
            {"server",
             {{"host", options.host},
              {"port", bound_port},
              {"threads", threads},
              {"max_body_bytes", max_body_bytes},
              {"request_timeout_ms", request_timeout_ms},
              {"max_profile_jobs", max_jobs},
              {"token_required", !options.token.empty()}}}};
  }

  json eval(const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    const std::string code = required_string(body, "code");
    std::ostringstream output;
    mcode::VmOptions vo = runtime.sandbox_options();
    vo.output = &output;
    // A script may run no longer than a request may take (server.request_timeout_ms).
    const std::chrono::milliseconds request_limit(request_timeout_ms);
    if (vo.time_limit.count() == 0 || vo.time_limit > request_limit) vo.time_limit = request_limit;
    mcode::Vm vm(vo);
    runtime.bind_plugins(vm);
    {
      std::lock_guard lock(vms_mutex);
      if (stopping.load()) fail(503, "stopping", "the server is stopping");
      vms.insert(&vm);
    }
    struct Unlist {
      Impl* self;
      mcode::Vm* vm;
      ~Unlist() {
        std::lock_guard lock(self->vms_mutex);
        self->vms.erase(vm);
      }
    } unlist{this, &vm};
    try {
      const mcode::Value v = vm.run_interactive(code, "<request>");
      return {{"value", v.is_empty() || v.is_nil() ? json(nullptr) : json(mcode::to_repr_string(v))},
              {"output", output.str()},
              {"instructions", vm.instructions_executed()}};
    } catch (const mcode::ScriptError& e) {
      const std::string& m = e.error_message();
      const bool budget = m.rfind("instruction budget of", 0) == 0 || m.rfind("time limit of", 0) == 0 ||
                          m.rfind("memory budget of", 0) == 0 || m == "interrupted";
      res.status = 422;
      return {{"error", {{"code", budget ? "budget_exhausted" : "script_error"}, {"message", m}, {"trace", e.trace()}}},
              {"output", output.str()},
              {"instructions", vm.instructions_executed()}};
    } catch (const miso::Error& e) {
      if (e.kind() != Error::Kind::Format) throw;
      res.status = 400;
      return {{"error", {{"code", "syntax_error"}, {"message", e.what()}}}, {"output", output.str()}};
    }
  }

  // "network": BIF or XMLBIF text, or the name of a .bif/.xml file inside the sandbox's
  // allowed folders (mcode.allowed_paths): the API reads no other file.
  qlogik::Network network_of(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) fail(400, "bad_request", "field 'network' is empty");
    if (text[first] == '<') return qlogik::read_xmlbif(text, "network");
    if (text.find('{') != std::string::npos) return qlogik::read_bif(text, "network");
    static const std::regex name_re("[A-Za-z0-9_.-]+");
    if (!std::regex_match(text, name_re) || text.find("..") != std::string::npos) {
      fail(400, "bad_request", "field 'network' must be BIF or XMLBIF text or a network name, got '" + text + "'");
    }
    for (const fs::path& dir : runtime.sandbox_options().allowed_paths) {
      for (const char* ext : {"", ".bif", ".xml", ".xmlbif"}) {
        const fs::path p = dir / (text + ext);
        std::error_code ec;
        if (fs::is_regular_file(p, ec)) return qlogik::load_network(p.string());
      }
    }
    fail(404, "not_found", "no network named '" + text + "' in the sandbox's allowed folders (mcode.allowed_paths)");
  }

  json qlogik_query(const httplib::Request& req) {
    const json body = parse_body(req);
    const qlogik::Network net = network_of(required_string(body, "network"));
    QlogikQuery q;
    q.method = optional_string(body, "method", "jt");
    q.samples = static_cast<std::uint64_t>(optional_int(body, "samples", 1, 1000000).value_or(100000));
    q.seed =
        static_cast<std::uint64_t>(optional_int(body, "seed", 0, std::numeric_limits<std::int64_t>::max()).value_or(1));
    q.evidence = qlogik::no_evidence(net);
    if (const json* ev = field(body, "evidence")) {
      if (!ev->is_object()) bad_field("evidence", "an object {variable: state}");
      for (const auto& [name, state] : ev->items()) {
        const qlogik::VarId v = net.id(name);
        q.evidence[static_cast<std::size_t>(v)] = net.state_index(v, scalar_text(state, "evidence"));
      }
    }
    if (const json* query = field(body, "query")) {
      if (query->is_string()) {
        q.query = qlogik::parse_variables(net, query->get<std::string>());
      } else {
        for (const std::string& name : optional_strings(body, "query")) q.query.push_back(net.id(name));
      }
    }
    json out = to_json(net, omega::qlogik_query(net, q));
    out["network"] = net.name();
    return out;
  }

  json echo_check(const httplib::Request& req) {
    const json body = parse_body(req);
    const json* timeline = field(body, "timeline");
    if (timeline == nullptr) fail(400, "bad_request", "missing field 'timeline'");
    // A JSON document, or its text (then error positions refer to that text).
    const std::string text = timeline->is_string() ? timeline->get<std::string>() : timeline->dump(1);
    const echo::World world = echo::parse_json(text, "timeline");
    return check_json(world, echo::check(world));
  }

  json mprime(const httplib::Request& req) {
    const std::string op = req.matches[1];
    const auto& ops = mprime_operations();
    if (std::find(ops.begin(), ops.end(), op) == ops.end()) {
      fail(404, "not_found",
           "no MPRIME operation '" + op +
               "' (simplify, expand, factor, diff, integrate, series, "
               "limit, solve, eval, latex)");
    }
    const json body = parse_body(req);
    MprimeRequest r;
    r.text = required_string(body, "expr");
    r.var = optional_string(body, "var");
    if (auto order = optional_int(body, "order", 0, 1000)) r.order = *order;
    if (const json* at = field(body, "at")) {
      if (at->is_object()) {
        for (const auto& [name, value] : at->items()) {
          r.at += (r.at.empty() ? "" : ",") + name + "=" + scalar_text(value, "at");
        }
      } else {
        r.at = scalar_text(*at, "at");
      }
    }
    if (const json* from = field(body, "from")) r.from = scalar_text(*from, "from");
    if (const json* to = field(body, "to")) r.to = scalar_text(*to, "to");
    r.dir = optional_string(body, "dir");
    r.max_digits = 1000;  // MPFR time grows fast with digits; the API keeps it short
    if (auto digits = optional_int(body, "digits", 1, r.max_digits)) r.digits = static_cast<int>(*digits);
    return mprime_operation(op, r).json;
  }

  json start_profile(const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    auto job = std::make_shared<Job>();
    job->components = optional_strings(body, "components");
    job->size = profiler::parse_size(optional_string(body, "size", "small"));
    job->repeat = static_cast<unsigned>(optional_int(body, "repeat", 1, 100).value_or(1));
    profiler::WorkloadRegistry registry = runtime.workloads();
    (void)registry.select(job->components);  // an unknown component: 400 now, not a failed job later
    std::lock_guard lock(jobs_mutex);
    if (stopping.load()) fail(503, "stopping", "the server is stopping");
    std::size_t active = 0;
    for (const auto& [id, j] : jobs) active += j->active() ? 1 : 0;
    if (active >= max_jobs) {
      throw ApiError{429, "too_many_jobs",
                     std::to_string(active) + " profile run(s) in progress; server.max_profile_jobs = " +
                         std::to_string(max_jobs) + ". Retry when one has finished."};
    }
    job->id = std::to_string(next_job++);
    job->out_dir = work_dir / ("profile-" + job->id);
    jobs.emplace(job->id, job);
    job->thread = std::thread([this, job, registry = std::move(registry)] { run_job(*job, registry); });
    res.status = 202;
    std::lock_guard job_lock(job->mutex);
    json out = job->summary();
    out["url"] = "/api/profile/" + job->id;
    return out;
  }

  void run_job(Job& job, const profiler::WorkloadRegistry& registry) {
    {
      std::lock_guard lock(job.mutex);
      job.state = "running";
    }
    profiler::ProfileOptions o;
    o.sizes = {job.size};
    o.components = job.components;
    o.out_dir = job.out_dir;
    o.repeat = job.repeat;
    o.cancel = &job.cancel;
    o.on_progress = [&job](const profiler::ProfileProgress& p) {
      std::lock_guard lock(job.mutex);
      job.progress = p;
    };
    std::string state;
    try {
      profiler::ProfileResult r = profiler::run_profile(registry, o);
      std::lock_guard lock(job.mutex);
      job.report = std::move(r.report);
      job.checks_passed = r.checks_passed;
      state = "done";
    } catch (const profiler::ProfileCancelled&) {
      state = "cancelled";
    } catch (const std::exception& e) {
      std::lock_guard lock(job.mutex);
      job.error = e.what();
      state = "failed";
    }
    std::lock_guard lock(job.mutex);
    job.state = state;
    job.finished = std::chrono::steady_clock::now();
  }

  std::shared_ptr<Job> find_job(const std::string& id) {
    std::lock_guard lock(jobs_mutex);
    auto it = jobs.find(id);
    if (it == jobs.end()) fail(404, "not_found", "no profile run with id '" + id + "'");
    return it->second;
  }

  json profile_state(const httplib::Request& req) {
    std::shared_ptr<Job> job = find_job(req.matches[1]);
    std::lock_guard lock(job->mutex);
    json out = job->summary();
    out["progress"] = {
        {"step", out["step"]}, {"total", out["total"]}, {"workload", out["workload"]}, {"phase", out["phase"]}};
    if (job->state == "done") {
      out["report"] = job->report;
      out["checks_passed"] = job->checks_passed;
      out["path"] = job->out_dir.string();
    }
    if (job->state == "failed") out["error"] = job->error;
    return out;
  }

  json cancel_profile(const httplib::Request& req) {
    std::shared_ptr<Job> job = find_job(req.matches[1]);
    job->cancel.store(true);
    std::lock_guard lock(job->mutex);
    return job->summary();
  }

  // Joins the threads of finished jobs and forgets the oldest beyond kKeptFinishedJobs.
  // Under the lock, so that two requests never join one thread; a finished job's thread
  // has only to return from run_job.
  void reap_jobs() {
    std::lock_guard lock(jobs_mutex);
    for (const auto& [id, job] : jobs) {
      if (!job->active() && job->thread.joinable()) {
        job->thread.join();
        finished_order.push_back(id);
      }
    }
    while (finished_order.size() > kKeptFinishedJobs) {
      auto it = jobs.find(finished_order.front());
      if (it != jobs.end()) {
        std::error_code ec;
        fs::remove_all(it->second->out_dir, ec);
        jobs.erase(it);
      }
      finished_order.pop_front();
    }
  }

  void routes() {
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(dashboard_page()), "text/html; charset=utf-8");
    });
    http.Get("/index.html", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(dashboard_page()), "text/html; charset=utf-8");
    });
    http.Get("/api/status", api([this](const httplib::Request&, httplib::Response&) { return status(); }));
    http.Get("/api/live", api([this](const httplib::Request&, httplib::Response&) { return live(); }));
    http.Post("/api/mcode/eval",
              api([this](const httplib::Request& req, httplib::Response& res) { return eval(req, res); }));
    http.Post("/api/qlogik/query",
              api([this](const httplib::Request& req, httplib::Response&) { return qlogik_query(req); }));
    http.Post("/api/echo/check",
              api([this](const httplib::Request& req, httplib::Response&) { return echo_check(req); }));
    http.Post("/api/mprime/([a-z]+)",
              api([this](const httplib::Request& req, httplib::Response&) { return mprime(req); }));
    http.Post("/api/profile", api([this](const httplib::Request& req, httplib::Response& res) {
                reap_jobs();
                return start_profile(req, res);
              }));
    http.Get("/api/profile/([A-Za-z0-9_-]+)",
             api([this](const httplib::Request& req, httplib::Response&) { return profile_state(req); }));
    http.Delete("/api/profile/([A-Za-z0-9_-]+)",
                api([this](const httplib::Request& req, httplib::Response&) { return cancel_profile(req); }));
    http.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) { return on_error(req, res); }));
    http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown failure";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, {500, "internal", req.path + ": " + what});
    });
  }
};

Server::Server(Runtime& runtime, ServerOptions options) : impl_(std::make_unique<Impl>(runtime, std::move(options))) {}

Server::~Server() { stop(); }

int Server::port() const noexcept { return impl_->bound_port; }

void Server::start() {
  Impl& s = *impl_;
  if (s.started) throw Error(Error::Kind::InvalidArgument, "server: start() called twice");
  if (!is_loopback(s.options.host) && s.options.token.empty()) {
    throw Error(Error::Kind::InvalidArgument,
                "server.host = '" + s.options.host +
                    "' is not a loopback address: set server.token (MISO_SERVER_TOKEN or --token) so that the API "
                    "requires 'Authorization: Bearer <token>'");
  }
  if (s.options.port < 0 || s.options.port > 65535) {
    throw Error(Error::Kind::InvalidArgument, "server.port = " + std::to_string(s.options.port) + ": not a port");
  }
  const Config& c = s.runtime.config();
  s.max_body_bytes = static_cast<std::size_t>(c.get_int("server.max_body_bytes"));
  s.request_timeout_ms = c.get_int("server.request_timeout_ms");
  s.threads = static_cast<int>(std::max<std::int64_t>(1, c.get_int("server.threads")));
  s.max_jobs = static_cast<std::size_t>(std::max<std::int64_t>(1, c.get_int("server.max_profile_jobs")));

  static std::atomic<unsigned> instance{0};
  s.work_dir = fs::temp_directory_path() /
               ("miso-serve-" + std::to_string(::getpid()) + "-" + std::to_string(instance.fetch_add(1)));
  std::error_code ec;
  fs::create_directories(s.work_dir, ec);
  if (ec) throw Error(Error::Kind::Io, "server: cannot create '" + s.work_dir.string() + "': " + ec.message());

  const int threads = s.threads;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  const auto timeout = std::chrono::milliseconds(s.request_timeout_ms);
  s.http.set_read_timeout(timeout);
  s.http.set_write_timeout(timeout);
  s.http.set_keep_alive_timeout(2);  // idle browser connections must not hold stop() long
  s.http.set_payload_max_length(s.max_body_bytes);
  // httplib's default adds SO_REUSEPORT, with which a second server on a taken port
  // binds as well and the two share the connections; only SO_REUSEADDR here.
  s.http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.routes();

  if (s.options.port == 0) {
    s.bound_port = s.http.bind_to_any_port(s.options.host);
    if (s.bound_port < 0) s.bound_port = 0;
  } else {
    s.bound_port = s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : 0;
  }
  if (s.bound_port == 0) {
    fs::remove_all(s.work_dir, ec);
    throw Error(Error::Kind::Io, "server: cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                                     " (address in use, or not an address of this machine)");
  }
  s.started = true;
  s.listener = std::thread([&s] {
    s.http.listen_after_bind();
    s.listener_done.store(true);
  });
  // httplib's stop() does nothing until listen_after_bind() has marked the server
  // running; a stop() before that would leave the listener running for ever.
  while (!s.http.is_running() && !s.listener_done.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
}

void Server::stop() noexcept {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  s.stopping.store(true);
  {
    std::lock_guard lock(s.vms_mutex);
    for (mcode::Vm* vm : s.vms) vm->request_interrupt();
  }
  std::vector<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard lock(s.jobs_mutex);
    for (auto& [id, job] : s.jobs) {
      job->cancel.store(true);
      jobs.push_back(job);
    }
  }
  s.http.stop();
  if (s.listener.joinable()) s.listener.join();
  for (auto& job : jobs) {
    if (job->thread.joinable()) job->thread.join();
  }
  std::error_code ec;
  fs::remove_all(s.work_dir, ec);
}

}  // namespace miso::omega
