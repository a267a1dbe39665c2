// `miso config show`, `miso status`, the global --config/--set options, and a profile
// run interrupted by SIGINT/SIGTERM (the report folder is complete or absent).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../profiler/test_dir.hpp"
#include "cli_run.hpp"
#include "miso/core/file.hpp"

namespace {

using miso::testing::CliRun;
using miso::testing::lines;
using nlohmann::json;
namespace fs = std::filesystem;

class OmegaCli : public miso::testing::TempDirTest {
 protected:
  // Runs miso in the test's folder (where ./miso.toml is looked for) without MISO_*
  // variables of the test's own environment; `env` adds VAR=value words.
  CliRun miso(const std::string& args, const std::string& env = "") {
    const std::filesystem::path err_file = dir_ / "stderr.txt";
    const std::string cmd = "cd " + dir_.string() + " && env -u MISO_CONFIG -u MISO_LOG_LEVEL -u MISO_LOG_FILE " + env +
                            " " + MISO_BINARY + " " + args + " 2>" + err_file.string();
    CliRun r;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) return r;
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.out.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = miso::core::read_file(err_file);
    return r;
  }
  std::filesystem::path write_config(const std::string& text) {
    const auto path = dir_ / "conf.toml";
    miso::core::write_file_atomic(path, text);
    return path;
  }
};

// The line of `config show` for a key.
std::string line_of(const std::string& text, const std::string& key) {
  const std::size_t at = text.find("\n" + key + " = ");
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

TEST_F(OmegaCli, ConfigShowPrecedenceAndSources) {
  const auto conf = write_config("[server]\nport = 9000\nthreads = 3\n[log]\nlevel = \"info\"\n");
  CliRun r = miso("--config " + conf.string() + " config show --set server.port=9200",
                  "MISO_SERVER_PORT=9100 MISO_LOG_LEVEL=debug MISO_UNRELATED=1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_NE(r.out.find("# configuration file: " + conf.string()), std::string::npos) << r.out;
  const std::string port = line_of(r.out, "server.port");
  EXPECT_EQ(port.rfind("server.port = 9200 ", 0), 0u) << port;
  EXPECT_NE(port.find("# cli (--set)"), std::string::npos) << port;
  const std::string level = line_of(r.out, "log.level");
  EXPECT_NE(level.find("\"debug\""), std::string::npos) << level;
  EXPECT_NE(level.find("# env (MISO_LOG_LEVEL)"), std::string::npos) << level;
  const std::string threads = line_of(r.out, "server.threads");
  EXPECT_NE(threads.find("= 3 "), std::string::npos) << threads;
  EXPECT_NE(threads.find("# file (" + conf.string() + ":3)"), std::string::npos) << threads;
  EXPECT_NE(line_of(r.out, "server.host").find("# default"), std::string::npos);

  // MISO_CONFIG names the file; --config wins over it; JSON output.
  CliRun j = miso("config show --json", "MISO_CONFIG=" + conf.string());
  ASSERT_EQ(j.code, 0) << j.err;
  const json doc = json::parse(j.out);
  EXPECT_EQ(doc["file"], conf.string());
  EXPECT_EQ(doc["values"]["server.port"]["value"], 9000);
  EXPECT_EQ(doc["values"]["server.port"]["origin"], conf.string() + ":2");
  EXPECT_EQ(doc["values"]["server.host"]["source"], "default");

  // ./miso.toml is read when present.
  miso::core::write_file_atomic(dir_ / "miso.toml", "[profile]\nseed = 7\n");
  const json local = json::parse(miso("config show --json").out);
  EXPECT_EQ(local["values"]["profile.seed"]["value"], 7);
  EXPECT_EQ(local["values"]["profile.seed"]["origin"], "miso.toml:2");
}

TEST_F(OmegaCli, ConfigErrorsNameKeyAndPlace) {
  const auto typo = write_config("[server]\nhost = \"127.0.0.1\"\nprot = 9000\n");
  CliRun r = miso("--config " + typo.string() + " config show");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "miso: error: " + typo.string() + ":3:1: unknown key 'server.prot' (did you mean 'server.port'?)\n");

  const auto range = write_config("[server]\n\nport = 70000\n");
  r = miso("--config " + range.string() + " status");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "miso: error: " + range.string() + ":3:1: server.port: must be at most 65535\n");

  r = miso("config show --set server.port=70000");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "miso: error: --set server.port=70000: server.port must be at most 65535\n");

  r = miso("config show", "MISO_SERVER_PORT=http");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "miso: error: MISO_SERVER_PORT: 'http' is not an integer\n");

  r = miso("config show --set nonsense");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("expected KEY=VALUE"), std::string::npos) << r.err;

  r = miso("--config " + (dir_ / "missing.toml").string() + " config show");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("missing.toml"), std::string::npos) << r.err;
}

TEST_F(OmegaCli, StatusListsEveryComponentInDependencyOrder) {
  CliRun r = miso("status --json --set vxor.plugin_dirs=" + dir_.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_TRUE(doc["healthy"].get<bool>());
  std::vector<std::string> names;
  for (const json& c : doc["components"]) {
    names.push_back(c["name"]);
    EXPECT_EQ(c["state"], "running") << c.dump();
    EXPECT_FALSE(c["version"].get<std::string>().empty());
    EXPECT_TRUE(c["figures"].is_object());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"core", "profiler", "nexus", "tmath", "qlogik", "echo", "bridge", "mprime",
                                             "mcode", "vxor", "omega"}));
  EXPECT_GE(doc["components"][2]["figures"]["worker_threads"].get<int>(), 1);

  CliRun text = miso("status --set vxor.plugin_dirs=" + dir_.string());
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(lines(text.out), 12) << text.out;
  EXPECT_NE(text.out.find("\nnexus      running"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("worker_threads="), std::string::npos) << text.out;
}

TEST_F(OmegaCli, StatusShowsThePluginsOfTheDefaultFolder) {
  // bin/../plugins holds the example plugins (the test plugins made to be refused live in
  // subfolders, which are not searched).
  CliRun r = miso("status --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const json doc = json::parse(r.out);
  const json& vxor = doc["components"][9];
  ASSERT_EQ(vxor["name"], "vxor");
  std::vector<std::string> plugins;
  for (const json& p : vxor["figures"]["plugins"]) plugins.push_back(p["name"]);
  EXPECT_NE(std::find(plugins.begin(), plugins.end(), "example_c"), plugins.end()) << vxor.dump();
  EXPECT_NE(std::find(plugins.begin(), plugins.end(), "example_cpp"), plugins.end()) << vxor.dump();
  EXPECT_TRUE(vxor["figures"]["load_problems"].empty()) << vxor.dump();
}

TEST_F(OmegaCli, StatusReportsPluginsThatFailToLoadWithoutFailing) {
  // A plugin folder with a good plugin and a manifest whose library was tampered with:
  // the good one loads, the bad one is a load problem naming it, and MISO stays healthy.
  const fs::path plugins = dir_ / "plugins";
  fs::create_directories(plugins);
  for (const char* file : {"example_c.toml", "libexample_c.so"})
    fs::copy_file(fs::path(MISO_PLUGIN_DIR) / file, plugins / file);
  std::string manifest = miso::core::read_file(plugins / "example_c.toml");
  manifest.replace(manifest.find("name = \"example_c\""), 19, "name = \"other_c\"  ");
  miso::core::write_file_atomic(plugins / "other_c.toml", manifest);
  CliRun r = miso("status --json --set vxor.plugin_dirs=" + plugins.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json doc = json::parse(r.out);
  const json& vxor = doc["components"][9];
  ASSERT_EQ(vxor["figures"]["plugins"].size(), 1u) << vxor.dump();
  EXPECT_EQ(vxor["figures"]["plugins"][0]["name"], "example_c");
  ASSERT_EQ(vxor["figures"]["load_problems"].size(), 1u) << vxor.dump();
  EXPECT_NE(vxor["figures"]["load_problems"][0].get<std::string>().find("other_c"), std::string::npos) << vxor.dump();
}

// Starts `miso profile` with stdout/stderr in files; returns the child's pid.
pid_t spawn_profile(const std::filesystem::path& dir, const std::filesystem::path& out, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int err = ::open((dir / "stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int outfd = ::open((dir / "stdout.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(err, 2);
    ::dup2(outfd, 1);
    const std::string out_arg = out.string();
    const std::string log_arg = "log.file=" + log;
    ::execl(MISO_BINARY, MISO_BINARY, "profile", "--size", "small", "--out", out_arg.c_str(), "--set",
            "log.level=debug", "--set", log_arg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Report folder: every file or none, and no temporary leftovers.
void expect_complete_or_absent(const std::filesystem::path& out, bool finished) {
  const bool report = std::filesystem::exists(out / "report.json");
  const bool trace = std::filesystem::exists(out / "trace.json");
  const bool html = std::filesystem::exists(out / "index.html");
  if (finished) {
    ASSERT_TRUE(report && trace && html);
  } else {
    EXPECT_FALSE(report || trace || html) << "partial report: " << report << trace << html;
  }
  if (report) {
    const json doc = json::parse(miso::core::read_file(out / "report.json"));
    EXPECT_EQ(doc["schema"], "miso-profile-report");
    EXPECT_TRUE(json::accept(miso::core::read_file(out / "trace.json")));
    EXPECT_FALSE(miso::core::read_file(out / "index.html").empty());
  }
  if (std::filesystem::exists(out)) {
    for (const auto& entry : std::filesystem::directory_iterator(out)) {
      const std::string name = entry.path().filename().string();
      EXPECT_TRUE(name == "report.json" || name == "trace.json" || name == "index.html") << "left behind: " << name;
    }
  }
}

TEST_F(OmegaCli, SignalDuringProfileLeavesReportCompleteOrAbsent) {
  struct Case {
    int signal;
    int delay_ms;  // < 0: as soon as the first progress line appears
  };
  const std::vector<Case> cases{{SIGINT, -1}, {SIGTERM, 400}, {SIGINT, 900}};
  int interrupted = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case c = cases[i];
    SCOPED_TRACE("signal " + std::to_string(c.signal) + " after " + std::to_string(c.delay_ms) + " ms");
    const auto out = dir_ / ("rep" + std::to_string(i));
    const auto log = dir_ / ("log" + std::to_string(i) + ".txt");
    const pid_t pid = spawn_profile(dir_, out, log.string());
    ASSERT_GT(pid, 0);
    if (c.delay_ms < 0) {
      for (int waited = 0; waited < 20000; waited += 5) {
        std::error_code ec;
        if (std::filesystem::file_size(dir_ / "stderr.txt", ec) > 0 && !ec) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(c.delay_ms));
    }
    ::kill(pid, c.signal);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    const int code = WEXITSTATUS(status);
    const std::string err = miso::core::read_file(dir_ / "stderr.txt");
    if (code == 0) {
      expect_complete_or_absent(out, true);  // finished before the signal arrived
      continue;
    }
    ++interrupted;
    EXPECT_EQ(code, 128 + c.signal) << err;
    EXPECT_NE(err.find("interrupted by " + std::string(c.signal == SIGINT ? "SIGINT" : "SIGTERM")), std::string::npos)
        << err;
    expect_complete_or_absent(out, false);
    // The components stopped in reverse dependency order.
    const std::string text = miso::core::read_file(log);
    const auto at = [&](const std::string& name) { return text.find("component stopped  component=" + name); };
    ASSERT_NE(at("omega"), std::string::npos) << text;
    EXPECT_LT(at("omega"), at("vxor"));
    EXPECT_LT(at("vxor"), at("mcode"));
    EXPECT_LT(at("tmath"), at("nexus"));
    EXPECT_LT(at("profiler"), at("core"));
  }
  EXPECT_GE(interrupted, 1);  // the run lasts long enough for the early signals to land mid-run
}

}  // namespace
