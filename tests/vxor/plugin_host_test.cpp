// The plugin host: discovery, loading by name and path, the loader's refusals
// (ABI, checksum, entry symbol, table, init), unload/reload cycles and listeners.
#include "miso/vxor/plugin_host.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "../error_of.hpp"
#include "miso/core/file.hpp"

namespace miso::vxor {
namespace {

namespace fs = std::filesystem;
using miso::testing::error_of;

const fs::path kPluginDir = MISO_PLUGIN_DIR;
const fs::path kLoaderDir = fs::path(MISO_PLUGIN_DIR) / "loader";  // plugins the loader must refuse

std::vector<PluginValue> args(std::initializer_list<PluginValue> values) { return values; }

HostOptions options_for(std::vector<fs::path> dirs) {
  HostOptions o;
  o.plugin_dirs = std::move(dirs);
  o.log = [](std::string_view, int, std::string_view) {};  // keep test output quiet
  return o;
}

class PluginHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("miso_plugin_host_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Copies a built plugin (library and manifest) into the temporary plugin directory.
  void copy_plugin(const std::string& name) {
    // Replaced, never overwritten in place: a mapped library must not change under the loader.
    Manifest m = read_manifest(kPluginDir / (name + ".toml"));
    fs::remove(dir_ / m.library.filename());
    fs::copy_file(m.library, dir_ / m.library.filename());
    fs::copy_file(m.file, dir_ / m.file.filename(), fs::copy_options::overwrite_existing);
  }

  // The message of a failed load from the build's plugin directory; checks nothing stayed loaded.
  std::string load_error(const std::string& name) {
    PluginHost host(options_for({kLoaderDir}));
    std::string e = error_of([&] { host.load(name); });
    EXPECT_TRUE(host.loaded().empty()) << name;
    EXPECT_EQ(host.find(name), nullptr) << name;
    return e;
  }

  fs::path dir_;
};

TEST_F(PluginHostTest, DiscoversBuiltPlugins) {
  PluginHost host(options_for({kPluginDir}));
  PluginHost::Discovery d = host.discover();
  std::vector<std::string> names;
  for (const Manifest& m : d.manifests) names.push_back(m.name);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* expected : {"example_c", "example_cpp"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  EXPECT_TRUE(d.problems.empty()) << d.problems.front();
  EXPECT_TRUE(host.loaded().empty());  // discovery loads nothing
}

TEST_F(PluginHostTest, DiscoveryReportsMalformedManifests) {
  copy_plugin("example_c");
  core::write_file_atomic(dir_ / "broken.toml", "name = \"broken\"\nversion = [\n");
  core::write_file_atomic(dir_ / "unknown.toml", "name = \"x\"\nflavour = \"mint\"\n");
  core::write_file_atomic(dir_ / "notes.txt", "not a manifest");
  PluginHost host(options_for({dir_, dir_ / "absent"}));
  PluginHost::Discovery d = host.discover();
  ASSERT_EQ(d.manifests.size(), 1u);
  EXPECT_EQ(d.manifests[0].name, "example_c");
  ASSERT_EQ(d.problems.size(), 3u);
  EXPECT_NE(d.problems[0].find("broken.toml:2"), std::string::npos) << d.problems[0];
  EXPECT_NE(d.problems[1].find("unknown key 'flavour'"), std::string::npos) << d.problems[1];
  EXPECT_NE(d.problems[2].find("absent does not exist"), std::string::npos) << d.problems[2];

  // load_all loads what it can and reports the rest.
  std::vector<std::string> problems = host.load_all();
  EXPECT_EQ(problems.size(), 3u);
  ASSERT_EQ(host.loaded().size(), 1u);
  EXPECT_EQ(host.loaded()[0]->name(), "example_c");
}

TEST_F(PluginHostTest, LoadsByNameAndByManifestPath) {
  PluginHost host(options_for({kPluginDir}));
  auto c = host.load("example_c");
  EXPECT_EQ(std::get<std::int64_t>(c->call("add", args({std::int64_t{2}, std::int64_t{3}}))), 5);
  auto cpp = host.load((kPluginDir / "example_cpp.toml").string());
  EXPECT_EQ(cpp->name(), "example_cpp");
  EXPECT_EQ(host.find("example_c"), c);
  ASSERT_EQ(host.loaded().size(), 2u);
  EXPECT_EQ(host.loaded()[1], cpp);

  EXPECT_EQ(error_of([&] { host.load("example_c"); }, Error::Kind::InvalidArgument),
            "plugin 'example_c' is already loaded");
  EXPECT_NE(error_of([&] { host.load("no_such_plugin"); }, Error::Kind::InvalidArgument)
                .find("no plugin named 'no_such_plugin'"),
            std::string::npos);
  host.unload("example_c");
  EXPECT_EQ(host.find("example_c"), nullptr);
  EXPECT_EQ(error_of([&] { host.unload("example_c"); }, Error::Kind::InvalidArgument),
            "plugin 'example_c' is not loaded");
  // A reference held elsewhere keeps working after unload.
  EXPECT_EQ(std::get<std::int64_t>(c->call("add", args({std::int64_t{1}, std::int64_t{1}}))), 2);
}

TEST_F(PluginHostTest, RefusesManifestsOutsideThePluginDirectories) {
  copy_plugin("example_c");
  PluginHost host(options_for({dir_}));
  std::string e = error_of([&] { host.load((kPluginDir / "example_c.toml").string()); }, Error::Kind::InvalidArgument);
  EXPECT_NE(e.find("outside the plugin directories"), std::string::npos) << e;
  // A path that climbs out of the directory is resolved first.
  e = error_of([&] { host.load((dir_ / ".." / "example_c.toml").string()); }, Error::Kind::InvalidArgument);
  EXPECT_NE(e.find("outside the plugin directories"), std::string::npos) << e;
  EXPECT_TRUE(host.loaded().empty());
  EXPECT_NO_THROW(host.load((dir_ / "example_c.toml").string()));
}

TEST_F(PluginHostTest, RefusesAbiMismatches) {
  std::string e = load_error("loader_abi_major");
  EXPECT_NE(e.find("plugin 'loader_abi_major': built for ABI 2.0, the host supports 1.0"), std::string::npos) << e;
  e = load_error("loader_abi_minor");
  EXPECT_NE(e.find("built for ABI 1.99"), std::string::npos) << e;
  e = load_error("loader_manifest_abi");
  EXPECT_NE(e.find("plugin 'loader_manifest_abi': manifest: ABI 99.0 is not supported"), std::string::npos) << e;
}

TEST_F(PluginHostTest, RefusesABadChecksum) {
  copy_plugin("example_c");
  const fs::path lib = dir_ / "libexample_c.so";
  {
    std::fstream f(lib, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(100);
    f.write(&c, 1);
  }
  PluginHost host(options_for({dir_}));
  std::string e = error_of([&] { host.load("example_c"); }, Error::Kind::Format);
  EXPECT_NE(e.find("plugin 'example_c': checksum mismatch"), std::string::npos) << e;
  EXPECT_TRUE(host.loaded().empty());
}

TEST_F(PluginHostTest, RefusesAMissingLibrary) {
  copy_plugin("example_c");
  fs::remove(dir_ / "libexample_c.so");
  PluginHost host(options_for({dir_}));
  std::string e = error_of([&] { host.load("example_c"); }, Error::Kind::Io);
  EXPECT_NE(e.find("not found"), std::string::npos) << e;
}

TEST_F(PluginHostTest, RefusesMissingEntrySymbol) {
  std::string e = load_error("loader_no_entry");
  EXPECT_NE(e.find("plugin 'loader_no_entry': entry symbol: the library does not export miso_vxor_plugin_entry"),
            std::string::npos)
      << e;
}

TEST_F(PluginHostTest, RefusesBadTables) {
  EXPECT_EQ(load_error("loader_null_function"),
            "plugin 'loader_null_function': function #0 ('answer') has no call function");
  EXPECT_EQ(load_error("loader_no_f64"), "plugin 'loader_no_f64': kernel #0 ('twice') has no f64 function");
  EXPECT_EQ(load_error("loader_duplicate"),
            "plugin 'loader_duplicate': function #1 ('answer') duplicates an earlier name");
  EXPECT_NE(load_error("loader_bad_name").find("table name 'bad-name' is not an identifier"), std::string::npos);
  EXPECT_EQ(load_error("loader_wrong_name"),
            "plugin 'loader_wrong_name': table name 'someone_else' differs from the manifest's name");
}

TEST_F(PluginHostTest, RefusesAFailingInit) {
  EXPECT_EQ(load_error("loader_init_fails"), "plugin 'loader_init_fails': init: no license for this machine");
}

TEST_F(PluginHostTest, BaselineLoaderPluginLoads) {
  PluginHost host(options_for({kLoaderDir}));
  auto p = host.load("loader_ok");
  EXPECT_EQ(std::get<std::int64_t>(p->call("answer", {})), 42);
}

TEST_F(PluginHostTest, UnloadReloadCycles) {
  PluginHost host(options_for({kPluginDir}));
  host.load("example_c");
  for (int i = 0; i < 50; ++i) {
    auto p = host.find("example_c");
    ASSERT_NE(p, nullptr);
    // Fresh state after every (re)load: the plugin counts its calls since init.
    EXPECT_EQ(std::get<std::int64_t>(p->call("calls", {})), 1);
    EXPECT_DOUBLE_EQ(std::get<double>(p->call("roundtrip", args({std::int64_t{100}}))), 4950.0);
    EXPECT_EQ(p->stats().calls, 2u);
    EXPECT_EQ(p->stats().live_bytes, 0);
    p.reset();
    if (i % 2 == 0) {
      host.reload("example_c");
    } else {
      host.unload("example_c");
      EXPECT_TRUE(host.loaded().empty());
      host.load("example_c");
    }
  }
  EXPECT_EQ(host.loaded().size(), 1u);
}

TEST_F(PluginHostTest, ReloadPicksUpARebuiltLibrary) {
  copy_plugin("example_c");
  PluginHost host(options_for({dir_}));
  host.load("example_c");
  // "Rebuild": replace the library with another plugin's bytes but keep the old
  // manifest. The checksum no longer matches, so the reload fails and nothing stays loaded.
  Manifest other = read_manifest(kLoaderDir / "loader_ok.toml");
  fs::remove(dir_ / "libexample_c.so");
  fs::copy_file(other.library, dir_ / "libexample_c.so");
  std::string e = error_of([&] { host.reload("example_c"); }, Error::Kind::Format);
  EXPECT_NE(e.find("checksum mismatch"), std::string::npos) << e;
  EXPECT_EQ(host.find("example_c"), nullptr);
  // Restoring the library makes it loadable again.
  copy_plugin("example_c");
  EXPECT_NO_THROW(host.load("example_c"));
}

TEST_F(PluginHostTest, RefusesAStaleCopyStillInMemory) {
  copy_plugin("example_c");
  PluginHost host(options_for({dir_}));
  std::shared_ptr<Plugin> held = host.load("example_c");
  host.unload("example_c");  // `held` keeps the old library mapped

  // Rebuild: other bytes at the same path, with a matching manifest.
  Manifest other = read_manifest(kLoaderDir / "loader_ok.toml");
  fs::remove(dir_ / "libexample_c.so");
  fs::copy_file(other.library, dir_ / "libexample_c.so");
  Manifest m = read_manifest(dir_ / "example_c.toml");
  m.sha256.clear();  // format_manifest computes it from the new library
  core::write_file_atomic(dir_ / "example_c.toml", format_manifest(m));

  std::string e = error_of([&] { host.load("example_c"); }, Error::Kind::Format);
  EXPECT_NE(e.find("an older copy of"), std::string::npos) << e;
  EXPECT_EQ(std::get<std::int64_t>(held->call("add", args({std::int64_t{1}, std::int64_t{2}}))), 3);

  // Once the old copy is gone, the new library itself is loaded (and refused for its name).
  held.reset();
  e = error_of([&] { host.load("example_c"); }, Error::Kind::Format);
  EXPECT_NE(e.find("table name 'loader_ok' differs from the manifest's name"), std::string::npos) << e;
}

TEST_F(PluginHostTest, ListenersFollowThePluginSet) {
  std::vector<std::string> events;  // outlives the host, whose destructor notifies the listeners
  PluginHost host(options_for({kPluginDir, kLoaderDir}));
  host.add_listener({[&](const std::shared_ptr<Plugin>& p) { events.push_back("loaded " + p->name()); },
                     [&](const std::shared_ptr<Plugin>& p) { events.push_back("unloading " + p->name()); }});
  host.load("example_c");
  host.load("example_cpp");
  host.reload("example_c");
  host.unload("example_cpp");
  EXPECT_EQ(events, (std::vector<std::string>{"loaded example_c", "loaded example_cpp", "unloading example_c",
                                              "loaded example_c", "unloading example_cpp"}));
  // A listener that refuses a plugin undoes its load.
  host.add_listener({[](const std::shared_ptr<Plugin>& p) {
                       if (p->name() == "loader_ok") throw Error(Error::Kind::InvalidArgument, "name taken");
                     },
                     nullptr});
  EXPECT_EQ(error_of([&] { host.load("loader_ok"); }), "name taken");
  EXPECT_EQ(host.find("loader_ok"), nullptr);
  EXPECT_EQ(events.back(), "unloading loader_ok");
}

TEST_F(PluginHostTest, DestructorUnloadsInReverseOrder) {
  std::vector<std::string> events;
  {
    PluginHost host(options_for({kPluginDir, kLoaderDir}));
    host.add_listener({nullptr, [&](const std::shared_ptr<Plugin>& p) { events.push_back(p->name()); }});
    host.load("example_c");
    host.load("example_cpp");
    host.load("loader_ok");
  }
  EXPECT_EQ(events, (std::vector<std::string>{"loader_ok", "example_cpp", "example_c"}));
}

TEST(LoadModeTest, Names) {
  EXPECT_STREQ(to_string(LoadMode::InProcess), "in-process");
  EXPECT_STREQ(to_string(LoadMode::Isolated), "isolated");
}

}  // namespace
}  // namespace miso::vxor
