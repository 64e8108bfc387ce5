#!/bin/sh
# scripts/callgrind_fastpath.sh — instructions of one 64-byte
# hl_malloc + hl_free pair on the fast path, counted by callgrind.
#
# Usage: scripts/callgrind_fastpath.sh BUILD_DIR [N1 N2]
#
#  1. Runs BUILD_DIR/bench/fastpath_count N under
#     valgrind --tool=callgrind for N = N1 and N = N2 (default 100000 and
#     200000), collecting only inside fastpath_loop (its warm-up call
#     included), so start-up, exit and background threads are left out.
#  2. Reads the total Ir of each run from the `summary:` line (or, failing
#     that, `totals:`) of the callgrind output file.
#  3. Prints (Ir2 - Ir1) / (N2 - N1): everything that does not grow with N
#     (warm-up, the first refill, the loop's entry) cancels.
#
# Output files go to a temporary directory, removed on exit
# (KEEP_CALLGRIND=1 keeps it and prints its path, for callgrind_annotate).
# Exit status: 0 on success, 1 when a run fails, 2 on usage errors or a
# missing tool.
set -eu

usage() {
  echo "usage: $0 BUILD_DIR [N1 N2]   (N1 < N2, default 100000 200000)" >&2
  exit 2
}

[ $# -eq 1 ] || [ $# -eq 3 ] || usage
build_dir=$1
n1=${2:-100000}
n2=${3:-200000}
case $n1$n2 in
  *[!0-9]*) echo "$0: N1 and N2 must be non-negative integers" >&2; exit 2 ;;
esac
[ "$n1" -lt "$n2" ] || { echo "$0: N1 must be below N2" >&2; exit 2; }

if ! command -v valgrind >/dev/null 2>&1; then
  echo "$0: valgrind is not installed (Debian/Ubuntu: apt-get install" \
       "valgrind); cannot count instructions" >&2
  exit 2
fi

exe=$build_dir/bench/fastpath_count
if [ ! -x "$exe" ]; then
  echo "$0: $exe not found; build it first:" \
       "cmake --build $build_dir --target fastpath_count" >&2
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/callgrind_fastpath.XXXXXX")
if [ "${KEEP_CALLGRIND:-0}" = 1 ]; then
  trap 'echo "callgrind output kept in $tmp" >&2' EXIT
else
  trap 'rm -rf "$tmp"' EXIT
fi

# total_ir N: runs the program for N pairs, prints the total Ir.
total_ir() {
  out=$tmp/callgrind.$1.out
  if ! valgrind --tool=callgrind --callgrind-out-file="$out" \
      --collect-atstart=no --toggle-collect=fastpath_loop \
      "$exe" "$1" >"$tmp/run.$1.log" 2>&1; then
    echo "$0: valgrind $exe $1 failed:" >&2
    cat "$tmp/run.$1.log" >&2
    exit 1
  fi
  ir=$(awk '/^summary:/ { print $2; found = 1; exit }
            END { if (!found) exit 1 }' "$out") ||
  ir=$(awk '/^totals:/ { print $2; found = 1; exit }
            END { if (!found) exit 1 }' "$out") || {
    echo "$0: no summary:/totals: line in $out" >&2
    exit 1
  }
  case $ir in
    '' | *[!0-9]*) echo "$0: unreadable Ir '$ir' in $out" >&2; exit 1 ;;
  esac
  if [ "$ir" -eq 0 ]; then
    echo "$0: callgrind counted nothing in fastpath_loop (was the" \
         "symbol stripped or renamed?)" >&2
    exit 1
  fi
  echo "$ir"
}

ir1=$(total_ir "$n1")
ir2=$(total_ir "$n2")

echo "Ir(N=$n1) = $ir1, Ir(N=$n2) = $ir2"
awk -v a="$ir1" -v b="$ir2" -v n1="$n1" -v n2="$n2" 'BEGIN {
  printf "instructions per 64-byte malloc+free pair: %.1f\n", (b - a) / (n2 - n1)
}'
