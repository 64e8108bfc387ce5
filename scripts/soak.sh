#!/usr/bin/env bash
# scripts/soak.sh MINUTES [REPORT_SECONDS] — the soak run: builds heaplab
# with the validity walkers on (build-soak/: RelWithDebInfo, HL_DEBUG=3)
# and runs tests/soak/soak.c for MINUTES under HLDEBUG=gccheckmark=1: a
# mutating object graph on the collected heap, channels, timers and
# netpoll echo traffic over a socketpair, all at once. It prints one line
# per REPORT_SECONDS (default 30: RSS, heap live, cycles, operations,
# failures) and ends with a verdict: failures (must be 0) and RSS growth
# after warm-up (the first fifth of the run), which should stay flat.
# The log is kept in build-soak/soak.log.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-}
every=${2:-30}
if ! [[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || [ "$minutes" = 0 ]; then
  echo "usage: scripts/soak.sh MINUTES [REPORT_SECONDS]" >&2
  exit 2
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build-soak -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHL_DEBUG=3 \
  -DHL_BUILD_BENCH=OFF >/dev/null
cmake --build build-soak -j"$jobs" --target soak >/dev/null
secs=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
log=build-soak/soak.log
echo "soak: ${secs}s, report every ${every}s, HLDEBUG=gccheckmark=1, HL_DEBUG=3," \
  "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
set +e
HLDEBUG=gccheckmark=1 build-soak/tests/soak/soak "$secs" "$every" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
awk -v secs="$secs" -v rc="$rc" '
  /^soak: t=/ {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    t = v["t"] + 0; rss = v["rss"] + 0
    if (t >= secs / 5) { if (!warm) { warm = 1; w = rss; lo = rss; hi = rss }
                         if (rss < lo) lo = rss; if (rss > hi) hi = rss }
  }
  /^soak: end/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); e[kv[1]] = kv[2] } }
  END {
    printf "soak: verdict: exit %d, failures %s, cycles %s, RSS after warm-up %s..%s MB (at warm-up %s MB)\n",
      rc, e["failures"], e["cycles"], lo, hi, w
  }' "$log"
exit "$rc"
