#include "miso/core/hash.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace miso::core {
namespace {

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

TEST(SplitMix64, MatchesReferenceSequence) {
  // Reference values of splitmix64.c (Vigna) with state 0.
  SplitMix64 rng(0);
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(rng.next(), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(rng.next(), 0x06C45D188009454FULL);
}

TEST(SplitMix64, DoublesAreInUnitInterval) {
  SplitMix64 rng(7);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    double d = rng.next_double();
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
    sum += d;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(Checksum, StreamingEqualsWholeForEverySplit) {
  std::string text;
  SplitMix64 rng(3);
  for (int i = 0; i < 100; ++i) text += static_cast<char>(rng.next() & 0xFF);
  const std::uint64_t whole = checksum(bytes_of(text));
  for (std::size_t a = 0; a <= text.size(); a += 7) {
    for (std::size_t b = a; b <= text.size(); b += 5) {
      Checksum c;
      c.update(bytes_of(text.substr(0, a)));
      c.update(bytes_of(text.substr(a, b - a)));
      c.update(bytes_of(text.substr(b)));
      ASSERT_EQ(c.value(), whole) << "split at " << a << ", " << b;
    }
  }
}

TEST(Checksum, DetectsEveryChangedByteAndLength) {
  std::string text(64, 'a');
  const std::uint64_t base = checksum(bytes_of(text));
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string changed = text;
    changed[i] = 'b';
    EXPECT_NE(checksum(bytes_of(changed)), base) << "byte " << i;
  }
  EXPECT_NE(checksum(bytes_of(text + std::string(1, '\0'))), base);
  EXPECT_NE(checksum(bytes_of("")), checksum(bytes_of(std::string(1, '\0'))));
}

}  // namespace
}  // namespace miso::core
