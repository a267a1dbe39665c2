// The `miso` command as a user runs it: exit codes, one-line errors, JSON output.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "../profiler/test_dir.hpp"
#include "cli_run.hpp"
#include "miso/core/file.hpp"

namespace {

using miso::testing::CliRun;
using miso::testing::lines;
using miso::testing::miso;
using nlohmann::json;

using Cli = miso::testing::TempDirTest;

TEST_F(Cli, VersionAndHelp) {
  CliRun v = miso("--version", dir_);
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out, "miso 0.1.0\n");
  CliRun h = miso("--help", dir_);
  EXPECT_EQ(h.code, 0);
  for (const char* cmd : {"profile", "data", "profile compare", "data gen", "Exit codes"}) {
    EXPECT_NE(h.out.find(cmd), std::string::npos) << cmd;
  }
  CliRun ph = miso("profile --help", dir_);
  EXPECT_EQ(ph.code, 0);
  EXPECT_NE(ph.out.find("compare"), std::string::npos);
}

TEST_F(Cli, UsageErrorsAreOneLineWithExitTwo) {
  for (const char* args : {"--bogus", "profile --bogus", "profile --size huge", "profile --components nope",
                           "profile --sample-ms 0", "profile --size small --sizes small,medium", "", "data", "data gen",
                           "profile compare onlyone", "profile --seed abc", "profile --repeat 0"}) {
    CliRun r = miso(args, dir_);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("miso: error: ", 0), 0u) << args << ": " << r.err;
  }
}

TEST_F(Cli, ProfileJsonListAndUnwritableFolder) {
  CliRun list = miso("profile --list --json", dir_);
  ASSERT_EQ(list.code, 0) << list.err;
  json workloads = json::parse(list.out)["workloads"];
  EXPECT_GE(workloads.size(), 2u);

  CliRun r = miso("profile --json --quiet --out " + (dir_ / "rep").string(), dir_);
  ASSERT_EQ(r.code, 0) << r.err;
  json doc = json::parse(r.out);  // exactly one JSON document on stdout
  EXPECT_TRUE(doc["checks_passed"].get<bool>());
  EXPECT_EQ(doc["workloads"].size(), workloads.size());  // every registered workload ran
  EXPECT_TRUE(std::filesystem::exists(doc["files"]["html"].get<std::string>()));
  EXPECT_TRUE(r.err.empty()) << r.err;

  miso::core::write_file_atomic(dir_ / "plain", "x");
  CliRun bad = miso("profile --quiet --out " + (dir_ / "plain" / "rep").string(), dir_);
  EXPECT_EQ(bad.code, 3);
  EXPECT_EQ(lines(bad.err), 1) << bad.err;
  EXPECT_NE(bad.err.find("plain"), std::string::npos);
}

TEST_F(Cli, DataGenThenProfileReadsItBackAndRejectsCorruption) {
  CliRun gen = miso("data gen --size small --json --out " + (dir_ / "data").string(), dir_);
  ASSERT_EQ(gen.code, 0) << gen.err;
  json files = json::parse(gen.out)["files"];
  json listed = json::parse(miso("profile --list --json", dir_).out)["workloads"];
  ASSERT_EQ(files.size(), listed.size());  // one input file per workload

  CliRun prof =
      miso("profile --json --quiet --data " + (dir_ / "data").string() + " --out " + (dir_ / "rep").string(), dir_);
  ASSERT_EQ(prof.code, 0) << prof.err;
  json report = json::parse(miso::core::read_file(dir_ / "rep" / "report.json"));
  EXPECT_EQ(report["config"]["data_dir"], (dir_ / "data").string());
  std::uint64_t read = 0;
  for (const json& s : report["io"]["sites"]) {
    if (s["name"] == "profiler.data.read") read += s["bytes"].get<std::uint64_t>();
  }
  std::uint64_t on_disk = 0;
  for (const json& f : files) on_disk += std::filesystem::file_size(f["path"].get<std::string>());
  EXPECT_GE(read, on_disk);  // every input file read whole from disk

  std::string path = files[0]["path"];
  std::string bytes = miso::core::read_file(path);
  bytes[bytes.size() / 2] ^= 0x5A;
  miso::core::write_file_atomic(path, bytes);
  CliRun corrupt =
      miso("profile --quiet --data " + (dir_ / "data").string() + " --out " + (dir_ / "rep2").string(), dir_);
  EXPECT_EQ(corrupt.code, 3);
  EXPECT_NE(corrupt.err.find("checksum"), std::string::npos) << corrupt.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "rep2" / "report.json"));
}

TEST_F(Cli, CompareGatesOnRegressions) {
  ASSERT_EQ(miso("profile --quiet --components profiler --out " + (dir_ / "a").string(), dir_).code, 0);
  CliRun same = miso("profile compare --json " + (dir_ / "a").string() + " " + (dir_ / "a").string(), dir_);
  EXPECT_EQ(same.code, 0) << same.err;
  EXPECT_FALSE(json::parse(same.out)["regressed"].get<bool>());

  json slow = json::parse(miso::core::read_file(dir_ / "a" / "report.json"));
  slow["workloads"][0]["wall_ns"] = slow["workloads"][0]["wall_ns"].get<double>() * 2 + 1e6;
  std::filesystem::create_directories(dir_ / "b");
  miso::core::write_file_atomic(dir_ / "b" / "report.json", slow.dump());
  CliRun worse = miso("profile compare " + (dir_ / "a").string() + " " + (dir_ / "b").string(), dir_);
  EXPECT_EQ(worse.code, 1) << worse.err;
  EXPECT_NE(worse.out.find("REGRESSION"), std::string::npos);

  CliRun missing = miso("profile compare " + (dir_ / "a").string() + " " + (dir_ / "nothing").string(), dir_);
  EXPECT_EQ(missing.code, 3);
  EXPECT_EQ(lines(missing.err), 1) << missing.err;
}

TEST_F(Cli, NexusInfoDescribesTheGlobalExecutor) {
  CliRun j = miso("nexus info --json", dir_);
  ASSERT_EQ(j.code, 0) << j.err;
  json info = json::parse(j.out);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(info.at("concurrency").get<unsigned>(), hw);
  EXPECT_EQ(info.at("workers").get<unsigned>(), hw >= 2 ? hw - 1 : 1u);
  EXPECT_EQ(info.at("caller_slot").get<bool>(), hw >= 2);
  EXPECT_EQ(info.at("priorities"), json::array({"high", "normal", "background"}));
  EXPECT_GE(info.at("task_inline_bytes").get<int>(), 48);

  CliRun t = miso("nexus info", dir_);
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("concurrency           " + std::to_string(hw) + "\n"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("Chase-Lev"), std::string::npos);
  EXPECT_EQ(miso("nexus info --bogus", dir_).code, 2);
}

}  // namespace
