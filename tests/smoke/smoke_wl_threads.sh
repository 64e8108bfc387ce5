#!/usr/bin/env bash
# smoke_wl_threads.sh LIB WL_THREADS [HLDEBUG]
#
# 1. HLDEBUG=bogus=1 must make a program preloaded with heaplab exit with
#    status 2 and a message naming HLDEBUG (on glibc it would run and exit
#    0): a positive check that heaplab is loaded and initialized.
# 2. wl_threads (8 threads, the whole malloc family, cross-thread frees,
#    threads created and joined repeatedly, a fork in the middle) under
#    heaplab, with HLDEBUG set to the optional third argument (e.g.
#    sbrk=1), must pass all its checks; --strict also requires errno ENOMEM
#    on failed allocations.
. "$(dirname "$0")/common.sh"
[ $# -ge 2 ] && [ $# -le 3 ] || fail "usage: $0 LIB WL_THREADS [HLDEBUG]"
WL=$2
MODE=${3:-}
setup_preload "$1"

rc=0
HLDEBUG=bogus=1 hl "$WL" -t 1 --rounds 1 -s 0.01 >"$TMPD/out" 2>"$TMPD/err" || rc=$?
[ $rc -eq 2 ] ||
  fail "HLDEBUG=bogus=1: exit status $rc, expected 2 (is heaplab loaded?): $(cat "$TMPD/err")"
grep -q HLDEBUG "$TMPD/err" ||
  fail "HLDEBUG=bogus=1: message does not name HLDEBUG: $(cat "$TMPD/err")"

args=(--strict --expect-preload "$HL_LIBNAME")
if [ -n "$MODE" ]; then
  export HLDEBUG=$MODE
  args+=(-s 0.2) # sbrk mode never frees: keep it small
fi
out=$(hl "$WL" "${args[@]}") ||
  fail "wl_threads failed under heaplab${MODE:+ with HLDEBUG=$MODE}"
grep -q ' ok=1 ' <<<"$out" || fail "wl_threads printed no ok=1: $out"
echo "$out"
echo PASS
