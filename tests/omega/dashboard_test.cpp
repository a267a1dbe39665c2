// The dashboard page in headless Chromium while a profile run works: the page must
// render its charts from /api/live and see the figures change. Chromium's virtual time
// (--virtual-time-budget) runs the page's timers fast, while its fetches reach the real
// server over loopback; --dump-dom prints the DOM when the budget is spent.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_server.hpp"

extern char** environ;

namespace miso::omega {
namespace {

using json = nlohmann::json;
using miso::testing::get;
using miso::testing::post;
using miso::testing::Reply;
using miso::testing::Settings;
using miso::testing::TestServer;
using miso::testing::to_reply;

constexpr const char* kChromium = "/usr/bin/chromium";

struct Browsed {
  std::string dom;
  bool timed_out = false;
  int exit_status = -1;
};

// Runs Chromium in its own process group and reads its stdout; the whole group is
// killed when the deadline passes (Chromium forks renderer and zygote processes).
Browsed dump_dom(const std::string& url, const std::filesystem::path& profile_dir, std::chrono::seconds deadline) {
  int out[2];
  if (pipe(out) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const std::string user_data = "--user-data-dir=" + profile_dir.string();
  std::vector<std::string> args = {kChromium,
                                   "--headless=new",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-dev-shm-usage",
                                   "--no-first-run",
                                   "--no-default-browser-check",
                                   "--disable-extensions",
                                   "--mute-audio",
                                   user_data,
                                   "--virtual-time-budget=15000",
                                   "--dump-dom",
                                   url};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, kChromium, &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  Browsed b;
  if (spawned != 0) {
    close(out[0]);
    return b;
  }
  const auto end = std::chrono::steady_clock::now() + deadline;
  char buf[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      b.timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    b.dom.append(buf, static_cast<std::size_t>(n));
  }
  close(out[0]);
  if (b.timed_out) kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  kill(-pid, SIGKILL);  // helpers Chromium left behind, if any (ESRCH otherwise)
  b.exit_status = status;
  return b;
}

// The opening tag of the element with this id ("" when absent).
std::string tag_of(const std::string& dom, const std::string& id) {
  const std::size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  const std::size_t open = dom.rfind('<', at);
  const std::size_t close = dom.find('>', at);
  return dom.substr(open, close - open + 1);
}

std::string attribute(const std::string& tag, const std::string& name) {
  std::smatch m;
  if (std::regex_search(tag, m, std::regex(" " + name + "=\"([^\"]*)\""))) return m[1];
  return {};
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The points of the polyline inside the chart's <svg>.
std::vector<std::string> chart_points(const std::string& dom, const std::string& id) {
  const std::size_t svg = dom.find("id=\"" + id + "\"");
  if (svg == std::string::npos) return {};
  const std::size_t line = dom.find("<polyline", svg);
  const std::size_t end = dom.find("</svg>", svg);
  if (line == std::string::npos || line > end) return {};
  return split(attribute(dom.substr(line, dom.find('>', line) - line + 1), "points"), ' ');
}

TEST(Dashboard, RendersChartsThatChangeWhileAProfileRuns) {
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << kChromium << " is missing: the dashboard test needs Debian's chromium (scripts/deps.sh installs it)";
  TestServer server(Settings{{"server.max_profile_jobs", "1"}});
  auto c = server.client();
  // Many repeats of the fast workloads: running for as long as Chromium needs, then cancelled.
  const Reply started =
      post(*c, "/api/profile", {{"components", {"profiler", "nexus", "tmath", "qlogik", "echo"}}, {"repeat", 100}});
  ASSERT_EQ(started.status, 202) << started.text;
  const std::string id = started.body["id"];

  char dir_template[] = "/tmp/miso-dashboard-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path profile_dir = dir_template;
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/?samples=40&interval=250";
  const Browsed b = dump_dom(url, profile_dir, std::chrono::seconds(60));
  std::filesystem::remove_all(profile_dir);
  const Reply state = get(*c, "/api/profile/" + id);
  to_reply(c->Delete(("/api/profile/" + id).c_str()));

  ASSERT_FALSE(b.timed_out) << "chromium did not finish within 60 s";
  ASSERT_FALSE(b.dom.empty()) << "chromium printed no DOM (exit status " << b.exit_status << ")";
  EXPECT_NE(b.dom.find("<title>MISO live</title>"), std::string::npos);
  const std::string body = tag_of(b.dom, "errors");
  EXPECT_EQ(attribute(body, "data-count"), "0") << body;
  ASSERT_NE(b.dom.find("data-ready=\"1\""), std::string::npos) << "the page did not collect 40 samples:\n"
                                                               << b.dom.substr(0, 4000);

  // The charts hold one point per sample.
  for (const char* chart : {"chart-spans", "chart-rss", "chart-threads"}) {
    const std::string tag = tag_of(b.dom, chart);
    EXPECT_GE(std::atoi(attribute(tag, "data-samples").c_str()), 40) << tag;
    EXPECT_GE(chart_points(b.dom, chart).size(), 40u) << chart;
  }
  // The figures are shown ...
  EXPECT_GT(std::atof(attribute(tag_of(b.dom, "rss"), "data-value").c_str()), 0.0);
  EXPECT_GE(std::atoi(attribute(tag_of(b.dom, "threads"), "data-value").c_str()), 2);
  // ... and changed while the profile ran: the run records spans between samples.
  const std::string history = tag_of(b.dom, "history");
  const std::vector<std::string> spans = split(attribute(history, "data-spans"), ',');
  EXPECT_GE(spans.size(), 3u) << history;
  std::set<double> rising;
  for (const auto& s : spans) rising.insert(std::atof(s.c_str()));
  EXPECT_EQ(rising.size(), spans.size());
  // The run was listed as running work, with its progress.
  const std::string jobs = tag_of(b.dom, "jobs");
  EXPECT_NE(attribute(jobs, "data-seen").find(id + ":running"), std::string::npos) << jobs;
  EXPECT_EQ(state.body["state"], "running") << state.text;  // still running when Chromium finished
}

}  // namespace
}  // namespace miso::omega
