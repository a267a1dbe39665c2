#!/usr/bin/env bash
# Installs every Debian package that MISO's build, tests and benchmarks need.
# Idempotent: packages already present are skipped, and apt-get runs only when
# something is missing. Works as root on a fresh Debian 12 machine (or via sudo).
set -euo pipefail

packages=(
  build-essential   # g++ 12, make
  cmake
  ninja-build
  ccache            # used automatically when present
  pkg-config
  git
  libgtest-dev      # GoogleTest
  libgmock-dev
  libbenchmark-dev  # Google Benchmark
  libcli11-dev      # the miso command line
  libedit-dev       # line editing and history for the M-CODE REPL (`miso mcode`)
  nlohmann-json3-dev
  libfmt-dev
  libtbb-dev        # oneTBB: the peer of NEXUS-OS in bench/nexus
  libopenblas-dev   # GEMM for T-Mathematics (f32/f64)
  libsleef-dev      # vectorised transcendental functions for T-Mathematics
  libeigen3-dev     # Eigen: the peer of T-Mathematics in bench/tmath
  python3-numpy     # NumPy: the other peer in bench/tmath, and .npy cross-checks
  libpugixml-dev    # XML parser for the XMLBIF format of Q-Logik
  libgmp-dev        # exact integers and rationals for MPRIME
  libmpfr-dev       # MPRIME evaluation to any precision
  libflint-dev      # polynomial arithmetic, gcd and factorisation for MPRIME
  libginac-dev      # GiNaC: the peer of MPRIME in bench/mprime
  python3-sympy     # SymPy: the other peer in bench/mprime, and cross-checks
  liblua5.4-dev     # Lua 5.4: the peer of M-CODE in bench/mcode
  libtomlplusplus-dev # TOML: the configuration file and plugin manifests (Omega-Kern, VXOR)
  libspdlog-dev       # structured logging (Omega-Kern)
  libcpp-httplib-dev  # the HTTP server of `miso serve`
  libssl-dev          # OpenSSL: SHA-256 of plugin libraries (VXOR)
  chromium            # headless browser for the dashboard test of `miso serve`
  clang-format
  clang              # the libFuzzer target (make fuzz)
  libclang-rt-14-dev # libFuzzer and the sanitizer runtimes of Debian 12's clang 14
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
