// Small deterministic building blocks shared by every component: a seeded
// random generator for data sets and a fast 64-bit checksum for verifying them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace miso::core {

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and good enough to generate
// reproducible data sets from a seed. Not for cryptography.
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}

  constexpr std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1) with 53 random bits.
  constexpr double next_double() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

// Checksum of a byte range, streaming: feed chunks in order and the result equals
// checksum of the whole. Order-sensitive; detects any single changed byte.
class Checksum {
 public:
  void update(std::span<const std::byte> bytes) noexcept;
  std::uint64_t value() const noexcept;

 private:
  std::uint64_t state_ = 0x6A09E667F3BCC908ULL;
  std::uint64_t length_ = 0;
  std::uint64_t pending_ = 0;  // bytes not yet forming a full 8-byte word
  unsigned pending_count_ = 0;
};

std::uint64_t checksum(std::span<const std::byte> bytes) noexcept;

}  // namespace miso::core
