#include "miso/vxor/manifest.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../error_of.hpp"
#include "miso/core/file.hpp"

namespace miso::vxor {
namespace {

namespace fs = std::filesystem;
using miso::testing::error_of;

const std::string kDigest(64, 'a');

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("miso_manifest_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    core::write_file_atomic(p, text);
    return p;
  }
  std::string good(const std::string& extra = "") {
    return "name = \"demo\"\nversion = \"1.2.0\"\nabi = \"1.0\"\nlibrary = \"libdemo.so\"\nsha256 = \"" + kDigest +
           "\"\n" + extra;
  }

  fs::path dir_;
};

TEST_F(ManifestTest, ParsesAllKeys) {
  fs::path p = write("demo.toml", good("description = \"a demo\"\nisolated = true\ndeadline_ms = 750\n"));
  Manifest m = read_manifest(p);
  EXPECT_EQ(m.name, "demo");
  EXPECT_EQ(m.version, "1.2.0");
  EXPECT_EQ(m.abi_major, 1u);
  EXPECT_EQ(m.abi_minor, 0u);
  EXPECT_EQ(m.library, fs::absolute(dir_ / "libdemo.so").lexically_normal());
  EXPECT_EQ(m.sha256, kDigest);
  EXPECT_EQ(m.description, "a demo");
  EXPECT_TRUE(m.isolated);
  ASSERT_TRUE(m.deadline_ms.has_value());
  EXPECT_EQ(*m.deadline_ms, 750u);
  EXPECT_EQ(m.file, fs::absolute(p).lexically_normal());
}

TEST_F(ManifestTest, OptionalKeysDefault) {
  Manifest m = read_manifest(write("demo.toml", good()));
  EXPECT_FALSE(m.isolated);
  EXPECT_FALSE(m.deadline_ms.has_value());
  EXPECT_EQ(m.description, "");
}

TEST_F(ManifestTest, SyntaxErrorNamesFileAndLine) {
  fs::path p = write("bad.toml", "name = \"demo\"\nversion = \n");
  std::string e = error_of([&] { read_manifest(p); }, Error::Kind::Format);
  EXPECT_NE(e.find(p.string() + ":2"), std::string::npos) << e;
}

TEST_F(ManifestTest, UnknownKeyNamesKeyAndLine) {
  fs::path p = write("demo.toml", good("colour = \"blue\"\n"));
  std::string e = error_of([&] { read_manifest(p); }, Error::Kind::Format);
  EXPECT_NE(e.find(":6"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'colour'"), std::string::npos) << e;
}

TEST_F(ManifestTest, MissingKeyIsNamed) {
  fs::path p = write("demo.toml", "name = \"demo\"\nversion = \"1\"\nabi = \"1.0\"\nlibrary = \"libdemo.so\"\n");
  std::string e = error_of([&] { read_manifest(p); }, Error::Kind::Format);
  EXPECT_NE(e.find("missing key 'sha256'"), std::string::npos) << e;
}

TEST_F(ManifestTest, BadValuesNameKeyAndLine) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"name = \"bad-name\"\n", "'name' must match"},
      {"name = 3\n", "'name' must be a string"},
      {"abi = \"1\"\n", "'abi' must be \"MAJOR.MINOR\""},
      {"abi = \"1.x\"\n", "'abi' must be \"MAJOR.MINOR\""},
      {"sha256 = \"ABC\"\n", "'sha256' must be 64 lowercase hex digits"},
      {"isolated = \"yes\"\n", "'isolated' must be true or false"},
      {"deadline_ms = 0\n", "'deadline_ms' must be an integer"},
      {"library = \"../elsewhere/libdemo.so\"\n", "resolves outside the manifest's folder"},
      {"library = \"/usr/lib/libdemo.so\"\n", "resolves outside the manifest's folder"},
  };
  for (const Case& c : cases) {
    // The bad key comes first (line 1); the good keys that follow do not repeat it.
    std::string rest = good();
    const std::string key = c.text.substr(0, c.text.find(' '));
    std::string filtered;
    std::size_t pos = 0;
    while (pos < rest.size()) {
      std::size_t end = rest.find('\n', pos);
      std::string line = rest.substr(pos, end - pos + 1);
      if (line.rfind(key + " ", 0) != 0) filtered += line;
      pos = end + 1;
    }
    fs::path p = write("demo.toml", c.text + filtered);
    std::string e = error_of([&] { read_manifest(p); }, Error::Kind::Format);
    EXPECT_NE(e.find(c.expected), std::string::npos) << c.text << " -> " << e;
    EXPECT_NE(e.find(p.string() + ":1"), std::string::npos) << c.text << " -> " << e;
  }
}

TEST_F(ManifestTest, MissingFileIsIoError) {
  std::string e = error_of([&] { read_manifest(dir_ / "absent.toml"); }, Error::Kind::Io);
  EXPECT_NE(e.find("absent.toml"), std::string::npos) << e;
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_F(ManifestTest, Sha256FileMatchesBytesAcrossChunks) {
  std::string data(200000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  fs::path p = write("blob.bin", data);
  EXPECT_EQ(sha256_file(p), sha256_hex(data));
  error_of([&] { sha256_file(dir_ / "absent.bin"); }, Error::Kind::Io);
}

TEST_F(ManifestTest, VerifyLibraryAcceptsMatchAndRejectsMismatch) {
  write("libdemo.so", "pretend library bytes");
  const std::string digest = sha256_hex("pretend library bytes");
  std::string text = good();
  text.replace(text.find(kDigest), kDigest.size(), digest);
  fs::path p = write("demo.toml", text);
  Manifest m = read_manifest(p);
  EXPECT_NO_THROW(verify_library(m));

  write("libdemo.so", "pretend library bytez");
  std::string e = error_of([&] { verify_library(m); }, Error::Kind::Format);
  EXPECT_NE(e.find("plugin 'demo'"), std::string::npos) << e;
  EXPECT_NE(e.find("checksum mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find(digest), std::string::npos) << e;
  EXPECT_NE(e.find(sha256_hex("pretend library bytez")), std::string::npos) << e;

  fs::remove(dir_ / "libdemo.so");
  e = error_of([&] { verify_library(m); }, Error::Kind::Io);
  EXPECT_NE(e.find("not found"), std::string::npos) << e;
}

TEST_F(ManifestTest, FormatRoundTrips) {
  write("libdemo.so", "bytes");
  Manifest m;
  m.name = "demo";
  m.version = "2.0.1";
  m.abi_major = 1;
  m.abi_minor = 0;
  m.library = dir_ / "libdemo.so";
  m.description = "quote \" and backslash \\";
  m.isolated = true;
  m.deadline_ms = 1500;
  fs::path p = write("demo.toml", format_manifest(m));  // sha256 computed from the library
  Manifest back = read_manifest(p);
  EXPECT_EQ(back.name, m.name);
  EXPECT_EQ(back.version, m.version);
  EXPECT_EQ(back.sha256, sha256_hex("bytes"));
  EXPECT_EQ(back.description, m.description);
  EXPECT_TRUE(back.isolated);
  EXPECT_EQ(back.deadline_ms, m.deadline_ms);
  EXPECT_NO_THROW(verify_library(back));
}

TEST(ManifestBuildTest, ExampleManifestsVerify) {
  for (const char* name : {"example_c", "example_cpp"}) {
    Manifest m = read_manifest(fs::path(MISO_PLUGIN_DIR) / (std::string(name) + ".toml"));
    EXPECT_EQ(m.name, name);
    EXPECT_EQ(m.abi_major, 1u);
    EXPECT_NO_THROW(verify_library(m)) << name;
  }
}

}  // namespace
}  // namespace miso::vxor
