// A `miso serve` server inside the test process, on a free loopback port, with the
// plugins' autoload off; and JSON requests to it (server_test, dashboard_test).
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "miso/omega/config.hpp"
#include "miso/omega/runtime.hpp"
#include "miso/omega/server.hpp"

namespace miso::testing {

// (key, value) overrides of the defaults, as `--set` would give them.
using Settings = std::vector<std::pair<std::string, std::string>>;

class TestServer {
 public:
  explicit TestServer(const Settings& settings = Settings(), std::string token = {}) {
    omega::Config config;
    config.set("vxor.autoload", "false", omega::ConfigSource::CommandLine, "test");
    for (const auto& [key, value] : settings) config.set(key, value, omega::ConfigSource::CommandLine, "test");
    runtime_ = std::make_unique<omega::Runtime>(config);
    runtime_->start();
    omega::ServerOptions options = omega::server_options(*runtime_);
    options.host = "127.0.0.1";
    options.port = 0;
    options.token = std::move(token);
    server_ = std::make_unique<omega::Server>(*runtime_, options);
    server_->start();
  }
  ~TestServer() {
    server_->stop();
    runtime_->stop();
  }

  int port() const { return server_->port(); }
  omega::Server& server() { return *server_; }
  omega::Runtime& runtime() { return *runtime_; }

  std::unique_ptr<httplib::Client> client(const std::string& token = {}) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port());
    c->set_read_timeout(std::chrono::seconds(30));
    if (!token.empty()) c->set_bearer_token_auth(token.c_str());
    return c;
  }

 private:
  std::unique_ptr<omega::Runtime> runtime_;
  std::unique_ptr<omega::Server> server_;
};

struct Reply {
  int status = 0;
  nlohmann::json body;
  std::string text;
  std::string content_type;
};

inline Reply to_reply(const httplib::Result& r) {
  Reply out;
  if (!r) {
    out.status = -1;
    out.text = "request failed: " + httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.text = r->body;
  out.content_type = r->get_header_value("Content-Type");
  out.body = nlohmann::json::parse(r->body, nullptr, false);  // discarded (not JSON) stays visible in text
  return out;
}

inline Reply get(httplib::Client& c, const std::string& path) { return to_reply(c.Get(path.c_str())); }

inline Reply post(httplib::Client& c, const std::string& path, const nlohmann::json& body) {
  return to_reply(c.Post(path.c_str(), body.dump(), "application/json"));
}

inline Reply post_text(httplib::Client& c, const std::string& path, const std::string& body,
                       const std::string& type = "application/json") {
  return to_reply(c.Post(path.c_str(), body, type.c_str()));
}

}  // namespace miso::testing
