#!/usr/bin/env bash
# scripts/alloc_demo.sh — the allocator experiment, from a fresh Debian 12:
# installs what is missing, builds, and compares heaplab's allocator with
# glibc, jemalloc, tcmalloc and mimalloc (LD_PRELOAD) on the same workloads,
# interleaved, several repetitions, medians. Writes under out/alloc/:
#   table.md          throughput and peak RSS per workload and allocator
#   alloc_bars.png    the same as bar charts
#   alloc_rss.png     RSS over time of the small/large mix
#   results.json      every sample, with machine, compiler and commit
#   fastpath.txt      instructions of a 64-byte malloc+free pair (callgrind)
# HL_DEMO_QUICK=1 runs fewer repetitions and shorter workloads.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

step() { echo; echo "== $*"; }
fail() { echo "scripts/alloc_demo.sh: FAILED at step: $*" >&2; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
out=out/alloc
step "dependencies"
hl_install_deps || fail "installing Debian packages"

step "release build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
  fail "configure"
cmake --build build -j"$jobs" || fail "build"

mkdir -p "$out"
step "fast-path instruction count (callgrind)"
scripts/callgrind_fastpath.sh build | tee "$out/fastpath.txt" ||
  fail "callgrind fast-path count"

step "allocator comparison (this takes a few minutes)"
quick=()
[ "${HL_DEMO_QUICK:-0}" = 1 ] && quick=(--quick)
python3 bench/peers/allocbench.py --build build --out "$out" "${quick[@]}" ||
  fail "allocator comparison"

step "results"
cat "$out/table.md"
echo
echo "scripts/alloc_demo.sh: wrote $out/table.md, $out/alloc_bars.png, $out/alloc_rss.png"
