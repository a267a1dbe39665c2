// `miso serve`: a local HTTP server (cpp-httplib) with MISO's JSON API and the live
// dashboard. Documented in docs/api.md.
//
//   GET  /                      the dashboard (one self-contained HTML page)
//   GET  /api/status            components (state, version, figures), live figures
//   GET  /api/live              live figures: spans/s, memory, threads, running work
//   POST /api/mcode/eval        {"code": "..."} → {"value", "output"} (sandboxed)
//   POST /api/qlogik/query      {"network": "<name or BIF/XMLBIF text>", "query": [...], "evidence": {...}}
//   POST /api/echo/check        {"timeline": <ECHO-PRIME JSON>} → consistency / paradoxes
//   POST /api/mprime/<op>       {"expr": "...", ...} op:
//   simplify|expand|factor|diff|integrate|series|limit|solve|eval|latex POST /api/profile           {"components":
//   [...], "size": "small"} → {"id"} GET  /api/profile/<id>      {"state": "queued|running|done|failed|cancelled",
//   "progress", "report"?}
//
// Requests are validated (Content-Type, size limit server.max_body_bytes, JSON shape);
// errors are {"error": {"code", "message"}} with a 4xx status (5xx only for MISO's own
// faults), and the server keeps serving. A non-loopback bind requires server.token,
// checked as "Authorization: Bearer <token>" on every /api request.
#pragma once

#include <memory>
#include <string>

namespace miso::omega {

class Runtime;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8787;  // 0: any free port (see Server::port())
  std::string token;
};

// The server options the configuration gives (server.*), with `port` overridden when >= 0.
ServerOptions server_options(const Runtime& runtime);

class Server {
 public:
  Server(Runtime& runtime, ServerOptions options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on background threads; Error(Io) when the address is taken,
  // Error(InvalidArgument) for a non-loopback host without a token.
  void start();
  int port() const noexcept;  // the bound port
  // Stops accepting, cancels running profile jobs, waits for handlers to finish.
  void stop() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace miso::omega
