// `miso serve [--port P] [--host H] [--token T]`: MISO's HTTP API and live dashboard
// (docs/api.md) until SIGINT or SIGTERM; then the server stops (running profile runs
// are cancelled, leaving no partial report) and the components shut down in order.
#include <poll.h>

#include <cerrno>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "command.hpp"
#include "miso/omega/config.hpp"
#include "miso/omega/lifecycle.hpp"
#include "miso/omega/runtime.hpp"
#include "miso/omega/server.hpp"

namespace miso::app {

namespace {

struct ServeOptions {
  std::optional<int> port;
  std::optional<std::string> host;
  std::optional<std::string> token;
};

void wait_for_shutdown_signal() {
  while (!omega::shutdown_requested()) {
    pollfd p{omega::shutdown_fd(), POLLIN, 0};
    // The self-pipe wakes us; the timeout only guards against a signal that came
    // before the pipe was polled.
    if (::poll(&p, 1, 1000) < 0 && errno != EINTR) break;
  }
}

int run_serve(const ServeOptions& o) {
  if (o.port) override_config("server.port", std::to_string(*o.port), "--port");
  if (o.host) override_config("server.host", *o.host, "--host");
  if (o.token) override_config("server.token", *o.token, "--token");
  const omega::Config& cfg = config();
  omega::install_shutdown_signals();
  omega::Runtime runtime(cfg);
  runtime.start();
  omega::ServerOptions options = omega::server_options(runtime);
  omega::Server server(runtime, options);
  server.start();
  const std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  std::cout << "miso serve: dashboard http://" << host << ":" << server.port() << "/ , API http://" << host << ":"
            << server.port() << "/api/status" << (options.token.empty() ? "" : " (Bearer token required)")
            << "\nmiso serve: Ctrl-C (SIGINT) or SIGTERM stops" << std::endl;
  wait_for_shutdown_signal();
  std::cout << "miso serve: signal " << omega::shutdown_signal() << ", stopping" << std::endl;
  server.stop();
  runtime.stop();
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand("serve", "HTTP API and live dashboard on 127.0.0.1 (see docs/api.md)");
  serve->add_option("--port,-p", o->port, "Port (server.port; 0: any free port)")->check(CLI::Range(0, 65535));
  serve->add_option("--host", o->host, "Address to bind (server.host); not loopback: a token is required");
  serve->add_option("--token", o->token,
                    "Bearer token the API requires (server.token; prefer MISO_SERVER_TOKEN: the command line is "
                    "visible to other users)");
  serve->callback([o, &action] { action = [o] { return run_serve(*o); }; });
}

}  // namespace miso::app
