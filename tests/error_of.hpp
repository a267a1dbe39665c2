// The message of the miso::Error a call throws, for tests that check what an
// error says. A failure is recorded when the call throws nothing or something
// other than miso::Error, or (when `kind` is given) an Error of another kind.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <optional>
#include <string>

#include "miso/core/error.hpp"

namespace miso::testing {

template <typename F>
std::string error_of(F&& f, std::optional<Error::Kind> kind = std::nullopt) {
  try {
    f();
  } catch (const Error& e) {
    if (kind) {
      EXPECT_EQ(e.kind(), *kind) << e.what();
    }
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a miso::Error: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no miso::Error thrown";
  return {};
}

}  // namespace miso::testing
