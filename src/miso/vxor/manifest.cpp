#include "miso/vxor/manifest.hpp"

#include <openssl/evp.h>

#include <toml++/toml.h>
#include <array>
#include <charconv>
#include <fstream>
#include <memory>
#include <sstream>

#include "miso/core/error.hpp"
#include "miso/core/file.hpp"
#include "miso/vxor/abi.hpp"

namespace miso::vxor {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void format_error(const fs::path& file, int line, int column, const std::string& message) {
  throw Error(Error::Kind::Format, located(file.string(), line, column, message));
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// "M.N" with decimal numbers.
bool parse_abi(std::string_view text, std::uint32_t& major, std::uint32_t& minor) {
  std::size_t dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) return false;
  auto number = [](std::string_view s, std::uint32_t& out) {
    if (s.empty() || s.size() > 9) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
  };
  return number(text.substr(0, dot), major) && number(text.substr(dot + 1), minor);
}

// True when `inner` is `folder` or below it (both made absolute and normal).
bool is_within(const fs::path& inner, const fs::path& folder) {
  auto i = inner.begin();
  for (auto f = folder.begin(); f != folder.end(); ++f, ++i) {
    if (f->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *f) return false;
  }
  return true;
}

struct EvpDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      throw Error(Error::Kind::Internal, "SHA-256: cannot initialise the OpenSSL digest");
    }
  }
  void update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1) throw Error(Error::Kind::Internal, "SHA-256: update failed");
  }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest.data(), &size) != 1) {
      throw Error(Error::Kind::Internal, "SHA-256: final failed");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (unsigned int i = 0; i < size; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, EvpDeleter> ctx_;
};

// A TOML basic string, quoted and escaped by toml++'s own formatter.
std::string toml_string(std::string_view s) {
  std::ostringstream out;
  out << toml::value<std::string>(std::string(s));
  return out.str();
}

}  // namespace

Manifest read_manifest(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw Error(Error::Kind::Io, file.string() + ": manifest not found");
  const std::string content = core::read_file(file);
  toml::table root;
  try {
    root = toml::parse(content, file.string());
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    format_error(file, static_cast<int>(where.line), static_cast<int>(where.column), std::string(e.description()));
  }

  Manifest m;
  m.file = fs::absolute(file, ec).lexically_normal();
  bool seen_name = false, seen_version = false, seen_abi = false, seen_library = false, seen_sha = false;
  std::string library_text;
  int library_line = 0;
  for (const auto& [key, node] : root) {
    const auto& w = key.source().begin.line != 0 ? key.source().begin : node.source().begin;
    const int line = static_cast<int>(w.line);
    const int column = static_cast<int>(w.column);
    const std::string k(key.str());
    auto string_value = [&]() -> std::string {
      const auto* s = node.as_string();
      if (s == nullptr) format_error(file, line, column, "'" + k + "' must be a string");
      return s->get();
    };
    if (k == "name") {
      m.name = string_value();
      if (!abi::is_identifier(m.name)) {
        format_error(file, line, column, "'name' must match [A-Za-z_][A-Za-z0-9_]*, got \"" + m.name + "\"");
      }
      seen_name = true;
    } else if (k == "version") {
      m.version = string_value();
      if (m.version.empty()) format_error(file, line, column, "'version' must not be empty");
      seen_version = true;
    } else if (k == "abi") {
      const std::string text = string_value();
      if (!parse_abi(text, m.abi_major, m.abi_minor)) {
        format_error(file, line, column, "'abi' must be \"MAJOR.MINOR\", got \"" + text + "\"");
      }
      seen_abi = true;
    } else if (k == "library") {
      library_text = string_value();
      library_line = line;
      if (library_text.empty()) format_error(file, line, column, "'library' must not be empty");
      seen_library = true;
    } else if (k == "sha256") {
      m.sha256 = string_value();
      if (!is_hex64(m.sha256)) format_error(file, line, column, "'sha256' must be 64 lowercase hex digits");
      seen_sha = true;
    } else if (k == "description") {
      m.description = string_value();
    } else if (k == "isolated") {
      const auto* b = node.as_boolean();
      if (b == nullptr) format_error(file, line, column, "'isolated' must be true or false");
      m.isolated = b->get();
    } else if (k == "deadline_ms") {
      const auto* i = node.as_integer();
      if (i == nullptr || i->get() < 1 || i->get() > 3600000) {
        format_error(file, line, column, "'deadline_ms' must be an integer in [1, 3600000]");
      }
      m.deadline_ms = static_cast<std::uint32_t>(i->get());
    } else {
      format_error(
          file, line, column,
          "unknown key '" + k + "' (expected name, version, abi, library, sha256, description, isolated, deadline_ms)");
    }
  }
  const char* missing = !seen_name      ? "name"
                        : !seen_version ? "version"
                        : !seen_abi     ? "abi"
                        : !seen_library ? "library"
                        : !seen_sha     ? "sha256"
                                        : nullptr;
  if (missing != nullptr) format_error(file, 0, 0, std::string("missing key '") + missing + "'");

  const fs::path folder = m.file.parent_path();
  const fs::path library = (folder / fs::path(library_text)).lexically_normal();
  if (fs::path(library_text).is_absolute() || !is_within(library, folder) || library == folder) {
    format_error(file, library_line, 0,
                 "'library' = \"" + library_text + "\" resolves outside the manifest's folder " + folder.string());
  }
  m.library = library;
  return m;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.hex();
}

std::string sha256_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(Error::Kind::Io, file.string() + ": cannot open for reading");
  Sha256 sha;
  std::array<char, 1 << 16> buffer{};
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) sha.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(Error::Kind::Io, file.string() + ": read error");
  return sha.hex();
}

void verify_library(const Manifest& manifest) {
  std::error_code ec;
  if (!fs::is_regular_file(manifest.library, ec)) {
    throw Error(Error::Kind::Io, "plugin '" + manifest.name + "': library " + manifest.library.string() +
                                     " not found (named by " + manifest.file.string() + ")");
  }
  // A symlink could point the verified path somewhere else; only plain files are loaded.
  if (fs::is_symlink(manifest.library, ec)) {
    throw Error(Error::Kind::Format,
                "plugin '" + manifest.name + "': library " + manifest.library.string() + " is a symbolic link");
  }
  const std::string actual = sha256_file(manifest.library);
  if (actual != manifest.sha256) {
    throw Error(Error::Kind::Format, "plugin '" + manifest.name + "': checksum mismatch for " +
                                         manifest.library.string() + ": manifest says " + manifest.sha256 +
                                         ", the file has " + actual);
  }
}

std::string format_manifest(const Manifest& manifest) {
  std::string out;
  out += "name = " + toml_string(manifest.name) + "\n";
  out += "version = " + toml_string(manifest.version) + "\n";
  out += "abi = \"" + std::to_string(manifest.abi_major) + "." + std::to_string(manifest.abi_minor) + "\"\n";
  out += "library = " + toml_string(manifest.library.filename().string()) + "\n";
  std::string digest = manifest.sha256;
  if (digest.empty() && !manifest.library.empty()) digest = sha256_file(manifest.library);
  out += "sha256 = " + toml_string(digest) + "\n";
  if (!manifest.description.empty()) out += "description = " + toml_string(manifest.description) + "\n";
  out += std::string("isolated = ") + (manifest.isolated ? "true" : "false") + "\n";
  if (manifest.deadline_ms) out += "deadline_ms = " + std::to_string(*manifest.deadline_ms) + "\n";
  return out;
}

}  // namespace miso::vxor
