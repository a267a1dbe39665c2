// The live dashboard `miso serve` answers GET / with: one self-contained HTML page
// (inline CSS and JavaScript, no network resources) that polls /api/live. The page is
// src/miso/omega/dashboard.html, embedded into the library at build time.
#pragma once

#include <string_view>

namespace miso::omega {

std::string_view dashboard_page() noexcept;

}  // namespace miso::omega
