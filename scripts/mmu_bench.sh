#!/usr/bin/env bash
# scripts/mmu_bench.sh — the collector's latency goal, measured with the
# tracer (issue: "the collector's latency goal"): binary-trees at DEPTH,
# 2 Ps, HLGC=100, heaplab and Go 1.19 in the same run, REPS repetitions
# interleaved (heaplab, heaplab with Go's pacing, Go, ...: the second is
# the same program with HLDEBUG=gctrigger=70,gcassistcap=0, the
# memory-first setting of docs/results/gc.md). Prints MMU at 1, 10 and
# 100 ms (flags stw+background+assist, Go's default) for every run and the
# median per side, and writes under OUTDIR:
#   heaplab-N.hltrace, heaplab-N.csv   each heaplab run's trace and curve
#   hlgo-N.hltrace, hlgo-N.csv         the same with Go's pacing
#   go-N.csv                           each Go run's curve (scripts/go_mmu.sh)
#   mmu.png, mmu.svg                   the last run's curves overlaid
#   table.md                           the figures, as printed, and the
#                                      machine's own stalls (heaplab hiccup)
#
#   scripts/mmu_bench.sh [OUTDIR] [DEPTH] [REPS]   (default out/mmu 18 3)
# Needs a release build (build/, scripts/demo.sh or scripts/test.sh make
# one) and Go (golang-go, scripts/deps.sh); without Go the heaplab side
# runs alone.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/mmu}
depth=${2:-18}
reps=${3:-3}
hl=build/tools/heaplab/heaplab
bt=build/bench/gc/gc_heaplab
for f in "$hl" "$bt"; do
  [ -x "$f" ] || { echo "mmu_bench.sh: $f missing: build first (cmake --build build)" >&2; exit 1; }
done
mkdir -p "$out"
have_go=1
command -v go >/dev/null || { have_go=0; echo "mmu_bench.sh: no go: heaplab only" >&2; }

# mmu_at CSV WINDOW_S: the MMU at the window nearest to WINDOW_S (log
# scale) in a `heaplab mmu --csv` file (columns window_ns,window_s,mmu,...)
mmu_at() {
  python3 - "$1" "$2" <<'PY'
import csv, math, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r and not r[0].startswith('#')]
rows = [r for r in rows if r[0].replace('.', '', 1).isdigit()]
w = float(sys.argv[2])
best = min(rows, key=lambda r: abs(math.log(float(r[1]) / w)))
print("%.3f" % float(best[2]))
PY
}

table="$out/table.md"
{
  echo "| run | side | MMU(1 ms) | MMU(10 ms) | MMU(100 ms) |"
  echo "|---|---|---|---|---|"
} >"$table"
# run_heaplab REP NAME TITLE [VAR=VALUE...]: one traced run of
# binary-trees with the settings given, its curves and its table row
run_heaplab() {
  local i=$1 name=$2 title=$3
  shift 3
  local tr="$out/$name-$i.hltrace"
  env "$@" HLMAXPROCS=2 HLGC=100 HLTRACE="$tr" "$bt" binarytrees depth="$depth" >/dev/null
  "$hl" mmu --csv --windows 1ms,10ms,100ms --flags stw,background,assist "$tr" \
    >"$out/$name-$i.win.csv"
  "$hl" mmu --csv --percentiles 0.1,1,5 --flags stw,background,assist "$tr" \
    >"$out/$name-$i.csv"
  local line="| $i | $title" w
  for w in 0.001 0.01 0.1; do line="$line | $(mmu_at "$out/$name-$i.win.csv" $w)"; done
  echo "$line |" | tee -a "$table"
}
for i in $(seq 1 "$reps"); do
  run_heaplab "$i" heaplab heaplab
  run_heaplab "$i" hlgo "heaplab, Go's pacing" HLDEBUG=gctrigger=70,gcassistcap=0
  if [ "$have_go" = 1 ]; then
    GOMAXPROCS=2 GOGC=100 scripts/go_mmu.sh "$out/go-run" "$depth" >/dev/null
    cp "$out/go-run/go_mmu.csv" "$out/go-$i.csv"
    line="| $i | Go $(go env GOVERSION)"
    for w in 0.001 0.01 0.1; do line="$line | $(mmu_at "$out/go-$i.csv" $w)"; done
    echo "$line |" | tee -a "$table"
  fi
done
python3 - "$table" <<'PY' | tee -a "$table"
import sys, statistics
rows = [l.strip('|\n ').split('|') for l in open(sys.argv[1]) if l.startswith('| ') and l[2].isdigit()]
sides = {}
for r in rows:
    sides.setdefault(r[1].strip(), []).append([float(x) for x in r[2:5]])
for side, v in sides.items():
    med = [statistics.median(c) for c in zip(*v)]
    print("| median | %s | %.3f | %.3f | %.3f |" % (side, *med))
PY
# the machine's own stalls over 5 s, as a ceiling for the figures above:
# a stall that lands on a mark worker counts as collector time
{
  echo
  echo "The machine alone, right after the runs (\`heaplab hiccup --duration 5s --threads 2\`:"
  echo "two threads that only read the clock; gaps over 100 us are stalls):"
  echo
  echo '```'
  "$hl" hiccup --duration 5s --threads 2
  echo '```'
} | tee -a "$table"
files="$out/heaplab-$reps.csv $out/hlgo-$reps.csv"
titles="heaplab heaplab-Go-pacing"
if [ "$have_go" = 1 ]; then files="$files $out/go-$reps.csv"; titles="$titles Go-1.19"; fi
if command -v gnuplot >/dev/null; then
  gnuplot -e "files='$files'; titles='$titles'; out='$out/mmu'; pct=1" plots/mmu.gp
fi
echo "mmu_bench.sh: $table, $out/mmu.png"
