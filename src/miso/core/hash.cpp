#include "miso/core/hash.hpp"

#include <cstring>

namespace miso::core {

namespace {

constexpr std::uint64_t kMul = 0x9FB21C651E98DF25ULL;

constexpr std::uint64_t mix(std::uint64_t state, std::uint64_t word) noexcept {
  state ^= word * kMul;
  state = (state << 29) | (state >> 35);
  return state * 0xC2B2AE3D27D4EB4FULL + 0x165667B19E3779F9ULL;
}

}  // namespace

void Checksum::update(std::span<const std::byte> bytes) noexcept {
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  length_ += n;
  while (pending_count_ != 0 && n != 0) {  // finish a word started by the last chunk
    pending_ |= static_cast<std::uint64_t>(std::to_integer<unsigned>(*p)) << (8 * pending_count_);
    ++p;
    --n;
    if (++pending_count_ == 8) {
      state_ = mix(state_, pending_);
      pending_ = 0;
      pending_count_ = 0;
    }
  }
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    state_ = mix(state_, word);
  }
  for (; n != 0; ++p, --n) {
    pending_ |= static_cast<std::uint64_t>(std::to_integer<unsigned>(*p)) << (8 * pending_count_);
    ++pending_count_;
  }
}

std::uint64_t Checksum::value() const noexcept {
  std::uint64_t h = state_;
  if (pending_count_ != 0) h = mix(h, pending_ ^ (0xFFULL << 56));
  h = mix(h, length_);
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  return h;
}

std::uint64_t checksum(std::span<const std::byte> bytes) noexcept {
  Checksum c;
  c.update(bytes);
  return c.value();
}

}  // namespace miso::core
