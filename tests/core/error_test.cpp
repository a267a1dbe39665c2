#include "miso/core/error.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace miso {
namespace {

TEST(Error, CarriesKindAndMessage) {
  Error e(Error::Kind::Format, "bad header");
  EXPECT_EQ(e.kind(), Error::Kind::Format);
  EXPECT_STREQ(e.what(), "bad header");
  const std::runtime_error& base = e;  // catchable as a standard error
  EXPECT_STREQ(base.what(), "bad header");
}

TEST(Error, LocatedNamesFileLineAndColumn) {
  EXPECT_EQ(located("net.bif", 12, 7, "expected '{'"), "net.bif:12:7: expected '{'");
  EXPECT_EQ(located("net.bif", 12, 0, "x"), "net.bif:12: x");
  EXPECT_EQ(located("net.bif", 0, 0, "x"), "net.bif: x");
}

TEST(Error, KindsHaveNames) {
  EXPECT_STREQ(to_string(Error::Kind::InvalidArgument), "invalid argument");
  EXPECT_STREQ(to_string(Error::Kind::Io), "i/o error");
  EXPECT_STREQ(to_string(Error::Kind::Format), "format error");
  EXPECT_STREQ(to_string(Error::Kind::Check), "check failed");
  EXPECT_STREQ(to_string(Error::Kind::Internal), "internal error");
}

TEST(Error, SystemErrorText) {
  EXPECT_EQ(system_error_text(ENOENT), "No such file or directory");
  EXPECT_FALSE(system_error_text(EACCES).empty());
}

}  // namespace
}  // namespace miso
