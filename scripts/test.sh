#!/usr/bin/env bash
# scripts/test.sh — installs what is missing, builds and runs heaplab's
# whole test suite with ctest:
#   1. release build (warnings are errors): unit, stress and smoke tests;
#   2. AddressSanitizer + UBSan build (HL_DEBUG=3: validity walkers on):
#      unit and stress tests (the fault-injection tests, the misuse
#      catalogue and the fuzz corpus replays are unit tests);
#   3. ThreadSanitizer build: the multi-threaded allocator tests, every
#      scheduler, collector, workload and pool test, the allocator's
#      fault-injection test and the misuse catalogue (but the collector's
#      latency test: a timing bound, meaningless under TSan's slowdown; and
#      fault.test_fault_rt: TSan's cached TLS addresses, docs/hardening.md);
#   4. if the AArch64 cross tools are installed (and HL_TEST_AARCH64 is
#      not 0): the scheduler tests built for AArch64, under qemu-user, and
#      the check for thread pointers kept across calls
#      (scripts/test_aarch64.sh).
# Long stress runs are left out; run them with HL_TEST_LONG=1. The fuzz
# targets are only replayed here (their corpora); fuzzing itself is a
# separate clang build, see docs/results/fuzzing.md.
# Usage: scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

step() { echo; echo "== $*"; }
fail() { echo "scripts/test.sh: FAILED at step: $*" >&2; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
step "dependencies"
hl_install_deps || fail "installing Debian packages"

labels_exclude="stress-long|pacer"
[ "${HL_TEST_LONG:-0}" = 1 ] && labels_exclude="^none$"

step "release build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHL_WERROR=ON >/dev/null ||
  fail "configure release build"
cmake --build build -j"$jobs" || fail "build release"
step "release tests"
(cd build && ctest --output-on-failure -j"$jobs" -LE "$labels_exclude" "$@") ||
  fail "release tests"

step "AddressSanitizer + UBSan build (build-asan/, HL_DEBUG=3)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHL_WERROR=ON \
  -DHL_SANITIZE=address,undefined -DHL_DEBUG=3 -DHL_BUILD_BENCH=OFF >/dev/null ||
  fail "configure asan build"
cmake --build build-asan -j"$jobs" || fail "build asan"
step "AddressSanitizer + UBSan tests"
(cd build-asan &&
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs" -L "unit|stress" \
    -LE "$labels_exclude|big" "$@") ||
  fail "asan tests"
step "ThreadSanitizer build (build-tsan/): concurrency tests"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHL_WERROR=ON \
  -DHL_SANITIZE=thread -DHL_BUILD_BENCH=OFF >/dev/null ||
  fail "configure tsan build"
cmake --build build-tsan -j"$jobs" || fail "build tsan"
(cd build-tsan &&
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --output-on-failure -j"$jobs" \
    -R "^alloc[.]test_threads$|^stress[.]|^trace[.]test_rt_|^sched[.]|^gc[.]|^workloads[.]|^pools[.]|^fault[.]test_fault_alloc$|^misuse[.]" \
    -E "^gc[.]test_latency$" \
    -LE "$labels_exclude|big" "$@") || fail "tsan tests"
# 4. AArch64 under qemu-user (about 10 s, plus the build), when the cross
#    tools are installed (scripts/deps.sh --aarch64); skipped otherwise,
#    or with HL_TEST_AARCH64=0.
if [ "${HL_TEST_AARCH64:-1}" = 0 ]; then
  step "AArch64 tests skipped (HL_TEST_AARCH64=0)"
elif command -v aarch64-linux-gnu-gcc >/dev/null && command -v aarch64-linux-gnu-g++ >/dev/null &&
  command -v qemu-aarch64 >/dev/null && [ -e /usr/lib/aarch64-linux-gnu/libcmocka.so ]; then
  step "AArch64 cross build under qemu (build-aarch64/): scheduler tests"
  scripts/test_aarch64.sh --no-install || fail "aarch64 tests"
else
  step "AArch64 tests skipped: no cross tools (scripts/deps.sh --aarch64 installs them)"
fi
echo
echo "scripts/test.sh: all test runs passed"
