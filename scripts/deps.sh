#!/usr/bin/env bash
# scripts/deps.sh — installs the Debian packages heaplab needs, only those
# missing (fast when everything is in place). Sourced by demo.sh/test.sh,
# or run alone. Needs root (or sudo) the first time.
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

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  hl_install_deps
fi
