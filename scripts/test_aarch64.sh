#!/usr/bin/env bash
# scripts/test_aarch64.sh — cross-builds heaplab for AArch64 and runs the
# scheduler tests under qemu-user: the AArch64 context switch
# (sched/ctx_aarch64.S) on an x86-64 machine.
#   1. installs what is missing (scripts/deps.sh --aarch64: the cross
#      toolchain, qemu-user and cmocka for arm64 through multiarch);
#   2. configures build-aarch64/ with cmake/aarch64-linux-gnu.cmake
#      (release, warnings are errors, no benchmarks; libunwind is not
#      used: no arm64 build of it is installed);
#   3. builds the runtime layers whose code can switch goroutines (sched,
#      gc, pools) and checks that none keeps a thread pointer across a
#      call (scripts/tls_check_aarch64.py; base/tls.h says why), after
#      checking the checker on tests/sched/tls_check_fixture.c;
#   4. builds and runs, through ctest (which runs each binary under
#      qemu-aarch64), the context-switch, goroutine, channel, select,
#      sync and timer tests.
# About 40 s here (qemu runs the tests 5-20x slower than native).
# Usage: scripts/test_aarch64.sh [--no-install] [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
if [ "${1:-}" = --no-install ]; then
  install=0
  shift
fi
if [ $install = 1 ]; then
  source scripts/deps.sh
  hl_install_deps_aarch64 || { echo "$0: installing the cross tools failed" >&2; exit 1; }
fi
for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ aarch64-linux-gnu-objdump \
  qemu-aarch64 python3; do
  command -v $tool >/dev/null ||
    { echo "$0: $tool is missing (run without --no-install)" >&2; exit 1; }
done

tests="ctx|proc|chan|select|sync|timer"
jobs=$(nproc 2>/dev/null || echo 2)
build=build-aarch64
cmake -S . -B $build -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHL_WERROR=ON -DHL_BUILD_BENCH=OFF \
  -DHL_LIBUNWIND=HL_LIBUNWIND-NOTFOUND >/dev/null
targets=()
for t in ${tests//|/ }; do targets+=(--target "test_$t"); done
cmake --build $build -j"$jobs" "${targets[@]}" --target heaplab_gc --target heaplab_pools
# the checker itself: it must find the plain fixture and pass HL_TLS's
fx=tests/sched/tls_check_fixture.c
aarch64-linux-gnu-gcc -O2 -I. -c $fx -o $build/tls_fixture_plain.o
aarch64-linux-gnu-gcc -O2 -I. -DFX_FRESH -c $fx -o $build/tls_fixture_fresh.o
if scripts/tls_check_aarch64.py $build/tls_fixture_plain.o >/dev/null 2>&1 ||
  ! scripts/tls_check_aarch64.py $build/tls_fixture_fresh.o; then
  echo "$0: scripts/tls_check_aarch64.py misjudges $fx" >&2
  exit 1
fi
scripts/tls_check_aarch64.py $build/sched/libheaplab_sched.a \
  $build/gc/libheaplab_gc.a $build/pools/libheaplab_pools.a ||
  { echo "$0: thread pointers kept across calls (see above)" >&2; exit 1; }
# one test at a time: test_timer checks sleep latencies, which qemu on a
# loaded machine stretches
(cd $build && ctest --output-on-failure -R "^sched[.]test_($tests)\$" "$@")
echo "scripts/test_aarch64.sh: the AArch64 scheduler tests passed under qemu"
