#!/usr/bin/env bash
# scripts/demo.sh — heaplab's flagship experiment: "what does garbage
# collection cost, and what do pools buy?" From a fresh Debian 12: installs
# what is missing, builds the `heaplab` command, then
#   1. binary-trees (depth 16, 2 Ps, traced) under HLGC=off, sbrk mode and
#      HLGC=50/100/200, 5 repetitions interleaved (`heaplab sweep`);
#   2. poolbench over its strategies (none/pool/slab/freelist/region) with
#      GC on (100) and off, when this build has it (`heaplab run --list`);
#   3. plots and a summary table.
# Writes under out/demo/:
#   summary.md        the tables (median [min-max], ratio to the baseline)
#   mmu.png           MMU curves of binary-trees, one per configuration
#   heap.png          heap live / goal / RSS over time, GC cycles marked
#   pauses.png        CDF of the GC pauses
#   throughput.png    throughput and peak RSS bars (binary-trees)
#   poolbench.png     the same for poolbench (when it ran)
#   binarytrees/, poolbench/   every run's JSON result (and traces)
# About a minute on 2 cores once built. HL_DEMO_REPEAT=N changes the
# repetitions (default 5). Each run starts over (out/demo is emptied);
# HL_DEMO_RESUME=1 keeps the results there and lets the sweeps resume
# (after an interruption, with the same binary).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

step() { echo; echo "== $*"; }
fail() { echo "scripts/demo.sh: FAILED at step: $*" >&2; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
out=out/demo
rep=${HL_DEMO_REPEAT:-5}
step "dependencies"
hl_install_deps || fail "installing Debian packages"

step "release build of the heaplab command (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
  fail "configure"
cmake --build build -j"$jobs" --target heaplab_cli || fail "build"
H=build/tools/heaplab/heaplab

if [ "${HL_DEMO_RESUME:-0}" != 1 ]; then rm -rf "$out"; fi
mkdir -p "$out"
t0=$SECONDS

step "binary-trees: GC off, sbrk mode, HLGC=50/100/200 (2 Ps, traced, $rep repetitions)"
# a sweep ends with status 1 when a run failed: the run is recorded and the
# tables show it (runs ok), so the demo goes on
"$H" sweep binarytrees --gc=off,sbrk,50,100,200 --procs=2 --trace \
  --repeat="$rep" --out "$out/binarytrees" depth=16 ||
  [ $? = 1 ] || fail "binary-trees sweep"

pool=0
if "$H" run --list | grep -qx poolbench; then
  pool=1
  step "poolbench: every strategy, GC on (100) and off (2 Ps, $rep repetitions)"
  "$H" sweep poolbench --strategy=all --gc=100,off --procs=2 \
    --repeat="$rep" --out "$out/poolbench" || [ $? = 1 ] ||
    fail "poolbench sweep"
else
  step "poolbench: not in this build (heaplab run --list); skipped"
fi

step "plots"
"$H" plot mmu "$out/binarytrees" --out "$out/mmu.png" || fail "MMU plot"
"$H" plot heap "$out/binarytrees" --out "$out/heap.png" || fail "heap plot"
"$H" plot pauses "$out/binarytrees" --out "$out/pauses.png" ||
  fail "pause CDF"
"$H" plot throughput "$out/binarytrees" --out "$out/throughput.png" ||
  fail "throughput bars"
if [ $pool = 1 ]; then
  "$H" plot throughput "$out/poolbench" --out "$out/poolbench.png" ||
    fail "poolbench bars"
  "$H" plot pauses "$out/poolbench" --out "$out/poolbench_pauses.png" ||
    echo "(no poolbench pause plot)"
fi

step "summary"
{
  echo "# What does garbage collection cost, and what do pools buy?"
  echo
  echo "Written by scripts/demo.sh on $(date -u +%Y-%m-%dT%H:%MZ), heaplab"
  echo "$(git describe --always --dirty 2>/dev/null || echo unknown), $(nproc) CPUs"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
  echo "Cells: median [min-max] over $rep repetitions, xR = ratio of medians"
  echo "to the baseline row. Timings on a shared machine are noisy: read the"
  echo "ratios, and the spread next to them."
  echo
  echo "## binary-trees (depth 16, 2 Ps, traced), baseline HLGC=100"
  echo
  "$H" compare "$out/binarytrees" --baseline gc=100 --format markdown \
    --metrics wall_s,cpu_s,peak_rss_mib,gc_cycles,pause_max_ms,pause_p99_ms,gc_cpu_pct
  if [ $pool = 1 ]; then
    echo
    echo "## poolbench (2 Ps), baseline: no pooling, HLGC=100"
    echo
    "$H" compare "$out/poolbench" --baseline strategy=none,gc=100 \
      --format markdown --metrics all
  else
    echo
    echo "poolbench: not in this build; skipped."
  fi
} >"$out/summary.md" || fail "summary table"
cat "$out/summary.md"
echo
echo "scripts/demo.sh: $((SECONDS - t0)) s of experiments; wrote $out/summary.md," \
  "$out/mmu.png, $out/heap.png, $out/pauses.png, $out/throughput.png" \
  "$([ $pool = 1 ] && echo ", $out/poolbench.png")"
