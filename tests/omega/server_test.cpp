#include "miso/omega/server.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "../error_of.hpp"
#include "miso/profiler/span.hpp"
#include "test_server.hpp"

namespace miso::omega {
namespace {

using json = nlohmann::json;
using miso::testing::get;
using miso::testing::post;
using miso::testing::post_text;
using miso::testing::Reply;
using miso::testing::Settings;
using miso::testing::TestServer;
using miso::testing::to_reply;

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

const std::string kData = std::string(MISO_SOURCE_DIR) + "/data/";

// One server for the tests that do not configure their own: a short M-CODE time limit
// (the runaway script), a small body limit, the Q-Logik examples readable by name.
class ServerApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer(Settings{{"mcode.time_limit_ms", "300"},
                                      {"server.max_body_bytes", "65536"},
                                      {"server.threads", "8"},
                                      {"server.max_profile_jobs", "1"},
                                      {"mcode.allowed_paths", kData + "qlogik"}});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { client_ = server_->client(); }

  static TestServer* server_;
  std::unique_ptr<httplib::Client> client_;
};

TestServer* ServerApi::server_ = nullptr;

void expect_error(const Reply& r, int status, const std::string& code, const std::string& in_message = {}) {
  EXPECT_EQ(r.status, status) << r.text;
  ASSERT_TRUE(r.body.is_object()) << r.text;
  ASSERT_TRUE(r.body.contains("error")) << r.text;
  EXPECT_EQ(r.body["error"]["code"], code) << r.text;
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find(in_message), std::string::npos) << r.text;
  EXPECT_EQ(r.content_type, "application/json");
}

TEST_F(ServerApi, ServesTheDashboardWithoutNetworkResources) {
  auto r = client_->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(r->body.find("<title>MISO live</title>"), std::string::npos);
  EXPECT_NE(r->body.find("/api/live"), std::string::npos);
  for (const char* external : {"src=\"http", "href=\"http", "src='http", "href='http", "@import", "url(http"}) {
    EXPECT_EQ(r->body.find(external), std::string::npos) << external;
  }
}

TEST_F(ServerApi, StatusListsComponentsAndServerSettings) {
  const Reply r = get(*client_, "/api/status");
  ASSERT_EQ(r.status, 200) << r.text;
  std::vector<std::string> names;
  for (const json& c : r.body["components"]) names.push_back(c["name"]);
  for (const char* expected : {"core", "profiler", "mcode", "vxor"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected << " in " << r.text;
  }
  EXPECT_EQ(r.body["server"]["port"], server_->port());
  EXPECT_EQ(r.body["server"]["max_body_bytes"], 65536);
  EXPECT_EQ(r.body["server"]["token_required"], false);
  EXPECT_TRUE(r.body["live"].contains("rss_bytes"));
}

TEST_F(ServerApi, LiveFiguresCountTheSpansRecordedMeanwhile) {
  const Reply before = get(*client_, "/api/live");
  ASSERT_EQ(before.status, 200) << before.text;
  for (const char* key : {"time", "spans_recorded", "spans_per_second", "rss_bytes", "peak_rss_bytes", "threads",
                          "cpu_percent", "jobs", "components"}) {
    EXPECT_TRUE(before.body.contains(key)) << key;
  }
  EXPECT_GT(before.body["rss_bytes"].get<std::uint64_t>(), 0u);
  EXPECT_GE(before.body["threads"].get<int>(), 8);  // at least the HTTP pool
  for (int i = 0; i < 100; ++i) {
    MISO_PROFILE_SCOPE("test.live");
  }
  const Reply after = get(*client_, "/api/live");
  EXPECT_GE(after.body["spans_recorded"].get<std::uint64_t>(),
            before.body["spans_recorded"].get<std::uint64_t>() + 100);
}

TEST_F(ServerApi, EvalReturnsValueOutputAndInstructions) {
  const Reply r = post(*client_, "/api/mcode/eval", {{"code", "let x = 20\nprint(\"hello\")\nx * 2 + 2"}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["value"], "42");
  EXPECT_EQ(r.body["output"], "hello\n");
  EXPECT_GT(r.body["instructions"].get<std::uint64_t>(), 0u);
  const Reply statement = post(*client_, "/api/mcode/eval", {{"code", "let y = 1"}});
  ASSERT_EQ(statement.status, 200) << statement.text;
  EXPECT_TRUE(statement.body["value"].is_null());
  // A fresh VM per request: nothing of the previous request survives.
  const Reply fresh = post(*client_, "/api/mcode/eval", {{"code", "x"}});
  EXPECT_NE(fresh.status, 200) << fresh.text;
  EXPECT_TRUE(fresh.body.contains("error")) << fresh.text;
}

TEST_F(ServerApi, EvalReportsScriptAndSyntaxErrors) {
  const Reply thrown =
      post(*client_, "/api/mcode/eval", {{"code", "print(\"before\")\nfn f() { throw \"boom\" }\nf()"}});
  expect_error(thrown, 422, "script_error", "boom");
  EXPECT_EQ(thrown.body["output"], "before\n");
  ASSERT_TRUE(thrown.body["error"]["trace"].is_array());
  EXPECT_GE(thrown.body["error"]["trace"].size(), 1u);
  const Reply syntax = post(*client_, "/api/mcode/eval", {{"code", "let = 3"}});
  expect_error(syntax, 400, "syntax_error", "<request>:1");
}

TEST_F(ServerApi, EvalRunsInTheSandbox) {
  // No file outside mcode.allowed_paths.
  const Reply file = post(*client_, "/api/mcode/eval", {{"code", "read_file(\"/etc/passwd\")"}});
  expect_error(file, 422, "script_error", "/etc/passwd");
  // A runaway script stops at the time limit (300 ms here), and the server still answers.
  const Reply runaway = post(*client_, "/api/mcode/eval", {{"code", "while true { }"}});
  expect_error(runaway, 422, "budget_exhausted", "exceeded");
  const Reply after = post(*client_, "/api/mcode/eval", {{"code", "1 + 1"}});
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body["value"], "2");
}

TEST_F(ServerApi, RejectsBadRequestsWithJsonErrors) {
  expect_error(post_text(*client_, "/api/mcode/eval", "{\"code\": \"1\""), 400, "malformed_json", "at byte");
  expect_error(post_text(*client_, "/api/mcode/eval", "[1, 2]"), 400, "bad_request", "JSON object");
  expect_error(post_text(*client_, "/api/mcode/eval", "{\"code\": \"1\"}", "text/plain"), 415, "unsupported_media_type",
               "application/json");
  expect_error(post(*client_, "/api/mcode/eval", json::object()), 400, "bad_request", "missing field 'code'");
  expect_error(post(*client_, "/api/mcode/eval", {{"code", 7}}), 400, "bad_request", "field 'code' must be a string");
  expect_error(post(*client_, "/api/mprime/diff", {{"expr", "x^2"}, {"order", "two"}}), 400, "bad_request",
               "field 'order' must be an integer");
  const std::string big = "{\"code\": \"" + std::string(100000, 'x') + "\"}";
  expect_error(post_text(*client_, "/api/mcode/eval", big), 413, "payload_too_large", "65536");
  expect_error(get(*client_, "/api/nothing"), 404, "not_found", "/api/nothing");
  const Reply wrong_method = get(*client_, "/api/mcode/eval");
  expect_error(wrong_method, 405, "method_not_allowed", "POST");
  // Still serving, on the same connection.
  EXPECT_EQ(get(*client_, "/api/live").status, 200);
}

TEST_F(ServerApi, QlogikQueryFromTextAndByName) {
  const std::string bif = read_text(kData + "qlogik/sprinkler.bif");
  ASSERT_FALSE(bif.empty());
  const Reply r = post(*client_, "/api/qlogik/query",
                       {{"network", bif}, {"evidence", {{"WetGrass", "true"}}}, {"query", {"Sprinkler", "Rain"}}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_NEAR(r.body["p_evidence"].get<double>(), 0.6471, 1e-4);
  EXPECT_NEAR(r.body["marginals"]["Sprinkler"]["true"].get<double>(), 0.2781 / 0.6471, 1e-4);
  EXPECT_NEAR(r.body["marginals"]["Rain"]["true"].get<double>(), 0.4581 / 0.6471, 1e-4);
  EXPECT_EQ(r.body["method"], "jt");
  EXPECT_EQ(r.body["network"], "sprinkler");
  const Reply named = post(*client_, "/api/qlogik/query",
                           {{"network", "sprinkler"}, {"evidence", {{"WetGrass", "true"}}}, {"method", "ve"}});
  ASSERT_EQ(named.status, 200) << named.text;
  EXPECT_NEAR(named.body["marginals"]["Rain"]["true"].get<double>(), 0.4581 / 0.6471, 1e-6);
  expect_error(post(*client_, "/api/qlogik/query", {{"network", "nosuch"}}), 404, "not_found", "nosuch");
  expect_error(post(*client_, "/api/qlogik/query", {{"network", "../../etc/passwd"}}), 400, "bad_request");
  expect_error(post(*client_, "/api/qlogik/query", {{"network", bif}, {"evidence", {{"Fog", "true"}}}}), 400,
               "invalid_input", "Fog");
  expect_error(post(*client_, "/api/qlogik/query", {{"network", bif}, {"method", "magic"}}), 400, "invalid_input",
               "magic");
  expect_error(post(*client_, "/api/qlogik/query", {{"network", "network x { broken"}}), 400, "invalid_input");
}

TEST_F(ServerApi, EchoCheckFindsTheParadoxes) {
  const Reply ok =
      post(*client_, "/api/echo/check", {{"timeline", json::parse(read_text(kData + "echo/minimal.json"))}});
  ASSERT_EQ(ok.status, 200) << ok.text;
  EXPECT_EQ(ok.body["consistent"], true);
  const Reply bad = post(*client_, "/api/echo/check", {{"timeline", read_text(kData + "echo/paradox.json")}});
  ASSERT_EQ(bad.status, 200) << bad.text;
  EXPECT_EQ(bad.body["consistent"], false);
  std::set<std::string> kinds;
  for (const json& p : bad.body["paradoxes"]) kinds.insert(p["kind"].get<std::string>());
  EXPECT_EQ(kinds, (std::set<std::string>{"inconsistent_constraints", "causal_loop", "contradiction"}));
  expect_error(post(*client_, "/api/echo/check", {{"timeline", {{"nodes", {{{"id", "a"}, {"time", "soon"}}}}}}}), 400,
               "invalid_input", "timeline");
  expect_error(post(*client_, "/api/echo/check", {{"time_line", 1}}), 400, "bad_request", "'timeline'");
}

TEST_F(ServerApi, MprimeOperations) {
  Reply r = post(*client_, "/api/mprime/diff", {{"expr", "x^3"}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["result"], "3*x^2");
  r = post(*client_, "/api/mprime/eval", {{"expr", "x^2 + y"}, {"at", {{"x", 3}, {"y", 0.5}}}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_DOUBLE_EQ(r.body["value"].get<double>(), 9.5);
  r = post(*client_, "/api/mprime/solve", {{"expr", "x^2 - 4 = 0"}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["solutions"].size(), 2u);
  r = post(*client_, "/api/mprime/integrate", {{"expr", "2*x"}, {"from", 0}, {"to", 3}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["result"], "9");
  expect_error(post(*client_, "/api/mprime/frobnicate", {{"expr", "x"}}), 404, "not_found", "frobnicate");
  expect_error(post(*client_, "/api/mprime/simplify", {{"expr", "x +* 2"}}), 400, "invalid_input");
  expect_error(post(*client_, "/api/mprime/eval", {{"expr", "pi"}, {"digits", 5000}}), 400, "bad_request", "1..1000");
}

// Polls a profile run until it leaves queued/running (generous deadline).
json wait_for_job(httplib::Client& c, const std::string& id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    Reply r = get(c, "/api/profile/" + id);
    const std::string state = r.body.value("state", "?");
    if (state != "queued" && state != "running") return r.body;
    if (std::chrono::steady_clock::now() > deadline) return r.body;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST_F(ServerApi, ProfileRunsReportTheirStateAndReport) {
  const Reply started = post(*client_, "/api/profile", {{"components", {"nexus"}}, {"size", "small"}});
  ASSERT_EQ(started.status, 202) << started.text;
  const std::string id = started.body["id"];
  EXPECT_EQ(started.body["url"], "/api/profile/" + id);
  const json done = wait_for_job(*client_, id);
  ASSERT_EQ(done["state"], "done") << done.dump();
  EXPECT_EQ(done["checks_passed"], true);
  EXPECT_EQ(done["progress"]["step"], done["progress"]["total"]);
  ASSERT_TRUE(done["report"].is_object());
  EXPECT_NE(done["report"].dump().find("nexus."), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(done["path"].get<std::string>()) / "report.json"));

  expect_error(get(*client_, "/api/profile/999999"), 404, "not_found", "999999");
  expect_error(post(*client_, "/api/profile", {{"components", {"nosuch"}}}), 400, "invalid_input", "nosuch");
  expect_error(post(*client_, "/api/profile", {{"size", "huge"}}), 400, "invalid_input", "huge");
}

TEST_F(ServerApi, ProfileRunsBeyondTheLimitAreRefusedAndRunsCanBeCancelled) {
  // Long enough to be running while we ask: many repeats, cancelled below.
  const Reply first = post(*client_, "/api/profile", {{"components", {"profiler", "nexus"}}, {"repeat", 100}});
  ASSERT_EQ(first.status, 202) << first.text;
  const std::string id = first.body["id"];
  const Reply second = post(*client_, "/api/profile", {{"components", {"nexus"}}});
  expect_error(second, 429, "too_many_jobs", "server.max_profile_jobs = 1");
  const Reply cancel = to_reply(client_->Delete(("/api/profile/" + id).c_str()));
  EXPECT_EQ(cancel.status, 200) << cancel.text;
  const json end = wait_for_job(*client_, id);
  EXPECT_EQ(end["state"], "cancelled") << end.dump();
  EXPECT_FALSE(end.contains("report"));
  // The slot is free again.
  const Reply third = post(*client_, "/api/profile", {{"components", {"nexus"}}});
  EXPECT_EQ(third.status, 202) << third.text;
  EXPECT_EQ(wait_for_job(*client_, third.body["id"])["state"], "done");
}

TEST_F(ServerApi, ConcurrentClientsGetTheirOwnAnswers) {
  constexpr int kThreads = 8, kRequests = 20;
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto c = server_->client();
      for (int i = 0; i < kRequests; ++i) {
        const int n = t * 1000 + i;
        const Reply r = post(*c, "/api/mcode/eval",
                             {{"code", "let s = 0\nfor k in range(" + std::to_string(n % 50) +
                                           ") { s = s + k }\nprint(" + std::to_string(n) + ")\ns"}});
        const int m = n % 50;
        if (r.status == 200 && r.body["value"] == std::to_string(m * (m - 1) / 2) &&
            r.body["output"] == std::to_string(n) + "\n") {
          ++right;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(right.load(), kThreads * kRequests);
}

TEST(ServerSecurity, TokenIsRequiredOnTheApiAndComparedExactly) {
  TestServer server(Settings(), "s3cret-token");
  auto anonymous = server.client();
  const Reply none = get(*anonymous, "/api/status");
  expect_error(none, 401, "unauthorized", "Bearer");
  expect_error(get(*anonymous, "/api/nothing"), 401, "unauthorized");
  expect_error(post(*anonymous, "/api/mcode/eval", {{"code", "1"}}), 401, "unauthorized");
  auto wrong = server.client("s3cret-tokex");
  expect_error(get(*wrong, "/api/status"), 401, "unauthorized");
  auto prefix = server.client("s3cret");
  expect_error(get(*prefix, "/api/status"), 401, "unauthorized");
  auto right = server.client("s3cret-token");
  const Reply ok = get(*right, "/api/status");
  EXPECT_EQ(ok.status, 200) << ok.text;
  EXPECT_EQ(ok.body["server"]["token_required"], true);
  EXPECT_EQ(post(*right, "/api/mcode/eval", {{"code", "6 * 7"}}).body["value"], "42");
  // The page itself carries no data; it asks for the token.
  auto page = anonymous->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
}

TEST(ServerSecurity, NonLoopbackHostNeedsAToken) {
  Config config;
  config.set("vxor.autoload", "false", ConfigSource::CommandLine, "test");
  Runtime runtime(config);
  Server server(runtime, ServerOptions{"0.0.0.0", 0, ""});
  const std::string message = miso::testing::error_of([&] { server.start(); }, Error::Kind::InvalidArgument);
  EXPECT_NE(message.find("0.0.0.0"), std::string::npos) << message;
  EXPECT_NE(message.find("server.token"), std::string::npos) << message;
}

TEST(ServerLifecycle, TakenPortIsAnIoErrorAndStopIsIdempotent) {
  TestServer first;
  Config config;
  config.set("vxor.autoload", "false", ConfigSource::CommandLine, "test");
  Runtime runtime(config);
  Server second(runtime, ServerOptions{"127.0.0.1", first.port(), ""});
  const std::string message = miso::testing::error_of([&] { second.start(); }, Error::Kind::Io);
  EXPECT_NE(message.find(std::to_string(first.port())), std::string::npos) << message;
  second.stop();
  first.server().stop();
  first.server().stop();
  auto c = first.client();
  c->set_connection_timeout(std::chrono::seconds(2));
  EXPECT_FALSE(c->Get("/api/live"));  // nobody listens any more
}

// The folders of profile runs (miso-serve-<pid>-<n>) of the servers of this process.
std::vector<std::filesystem::path> work_dirs() {
  std::vector<std::filesystem::path> out;
  const std::string prefix = "miso-serve-" + std::to_string(::getpid()) + "-";
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  }
  return out;
}

TEST(ServerLifecycle, StopCancelsRunningProfileRunsAndRemovesTheirFolders) {
  auto server = std::make_unique<TestServer>();
  auto c = server->client();
  const Reply started = post(*c, "/api/profile", {{"components", {"profiler", "nexus"}}, {"repeat", 100}});
  ASSERT_EQ(started.status, 202) << started.text;
  const Reply running = get(*c, "/api/profile/" + started.body["id"].get<std::string>());
  EXPECT_TRUE(running.body["state"] == "running" || running.body["state"] == "queued") << running.text;
  EXPECT_EQ(work_dirs().size(), 1u);
  c.reset();
  server.reset();  // stop(): cancels the run, joins it, removes the folder
  EXPECT_TRUE(work_dirs().empty());
}

}  // namespace
}  // namespace miso::omega
