#!/usr/bin/env bash
# scripts/deps.sh — installs the Debian packages heaplab needs, only those
# missing (fast when everything is in place). Sourced by demo.sh,
# alloc_demo.sh and test.sh,
# or run alone (`scripts/deps.sh --aarch64`: the optional AArch64 cross
# tools instead). Needs root (or sudo) the first time.
set -euo pipefail

HL_PACKAGES=(
  cmake g++ make pkg-config git python3
  libcmocka-dev libbenchmark-dev libunwind-dev gnuplot-nox
  libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev
  valgrind time golang-go clang libgc-dev
)

hl_missing_packages() {
  local missing=()
  for p in "${HL_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  echo "${missing[@]:-}"
}

hl_install_deps() {
  local missing
  missing=$(hl_missing_packages)
  [ -z "$missing" ] && return 0
  echo "== installing Debian packages: $missing"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  if ! $sudo apt-get install -y --no-install-recommends $missing; then
    $sudo apt-get update
    # shellcheck disable=SC2086
    $sudo apt-get install -y --no-install-recommends $missing
  fi
}

# Optional, not part of hl_install_deps: what scripts/test_aarch64.sh needs
# to cross-build for AArch64 and run the tests under qemu-user. cmocka for
# arm64 comes through multiarch (dpkg --add-architecture arm64).
HL_PACKAGES_AARCH64=(
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  libcmocka-dev:arm64
)

hl_install_deps_aarch64() {
  local sudo="" missing=()
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  for p in "${HL_PACKAGES_AARCH64[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing Debian packages (AArch64 cross): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo dpkg --add-architecture arm64
  fi
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    --aarch64) hl_install_deps_aarch64 ;;
    *) hl_install_deps ;;
  esac
fi
