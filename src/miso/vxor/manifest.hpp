// A plugin's manifest: the TOML file beside its library that names it and pins the
// library's bytes by SHA-256. The host reads and verifies it before it opens the
// library, so a tampered, truncated or mismatched library is never loaded.
//
//   name = "example_c"                 # [A-Za-z_][A-Za-z0-9_]*, unique among plugins
//   version = "1.2.0"
//   abi = "1.0"                         # MISO_VXOR_ABI_MAJOR.MINOR it was built against
//   library = "libexample_c.so"         # relative to the manifest's folder
//   sha256 = "<64 lowercase hex digits>"
//   description = "..."                 # optional
//   isolated = false                    # optional: load in a child process by default
//   deadline_ms = 2000                  # optional: per-call deadline in isolated mode
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace miso::vxor {

struct Manifest {
  std::filesystem::path file;  // the manifest itself
  std::string name;
  std::string version;
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
  std::filesystem::path library;  // absolute (resolved against file's folder)
  std::string sha256;             // lowercase hex
  std::string description;
  bool isolated = false;
  std::optional<std::uint32_t> deadline_ms;
};

// Parses a manifest; Error(Format) naming the file, the line and the key for TOML
// syntax errors, missing or unknown keys and bad values (name pattern, "M.N" abi,
// 64-hex sha256, library outside the manifest's folder). Error(NotFound)/(Io) when
// unreadable. Does not open the library.
Manifest read_manifest(const std::filesystem::path& file);

// The SHA-256 of a file's bytes, as 64 lowercase hex digits (OpenSSL EVP).
std::string sha256_file(const std::filesystem::path& file);
std::string sha256_hex(std::string_view bytes);

// Verifies the library against the manifest: exists, and its SHA-256 matches;
// Error(Format) "checksum mismatch" naming both digests otherwise.
void verify_library(const Manifest& manifest);

// Writes a manifest for `library` (computing its digest) — used by the build to
// produce the example plugins' manifests and by `miso vxor manifest`.
std::string format_manifest(const Manifest& manifest);

}  // namespace miso::vxor
