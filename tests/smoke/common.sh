# tests/smoke/common.sh — sourced by the smoke scripts (bash).
#
# Each script runs a real program under LD_PRELOAD=libheaplab_malloc.so and
# checks its result, usually against the same program run on glibc. Exit
# status: 0 pass, 1 fail, 77 skip (CTest SKIP_RETURN_CODE).

set -euo pipefail

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

skip() {
  echo "SKIP: $*" >&2
  exit 77
}

# A scratch directory removed on exit.
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/hl-smoke.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT

# setup_preload LIB: sets HL_LIB and HL_LIBNAME, and checks that the library
# really loads under LD_PRELOAD. ld.so only prints a warning when it cannot
# preload a library and runs the program on glibc, which would make every
# later check pass for the wrong reason; so look for the library among the
# mappings of a preloaded process.
setup_preload() {
  HL_LIB=$1
  HL_LIBNAME=$(basename "$HL_LIB")
  [ -f "$HL_LIB" ] || fail "$HL_LIB does not exist (build target heaplab_malloc)"
  # Settings of the caller's shell must not change what is tested.
  unset LD_PRELOAD HLDEBUG HLGC HLMEMLIMIT HLMAXPROCS HLTRACE
  local maps
  maps=$(LD_PRELOAD=$HL_LIB cat /proc/self/maps 2>"$TMPD/preload.err") ||
    fail "cat under LD_PRELOAD=$HL_LIB failed: $(cat "$TMPD/preload.err")"
  grep -Eq "^[0-9a-f]+-[0-9a-f]+ .*/$HL_LIBNAME\$" <<<"$maps" ||
    fail "$HL_LIBNAME is not mapped in a process run with LD_PRELOAD=$HL_LIB: $(cat "$TMPD/preload.err")"
}

# hl CMD...: runs CMD with heaplab preloaded.
hl() {
  LD_PRELOAD=$HL_LIB "$@"
}
