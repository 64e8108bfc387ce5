#!/usr/bin/env bash
# scripts/gc_bench.sh — heaplab's collector against Go's and Boehm GC's on
# the same workloads (binary-trees depth 18 and 21, GCBench); writes
# docs/results/gc.md.
#
# Usage: scripts/gc_bench.sh [--quick] [--reps R] [--build DIR] [--out FILE]
#                            [--only LIST] [--sides LIST] [--procs P]
#   --quick      1 repetition (about a minute and a half)
#   --reps R     repetitions of every run (default 5, quick 1)
#   --only LIST  only these benchmarks (comma-separated: bt18,bt21,gcbench)
#   --sides LIST only these sides (comma-separated: heaplab,hlgo,go,boehm;
#                hlgo is heaplab with Go's pacing, see below)
#   --procs P    processors for every side (default 2): HLMAXPROCS,
#                GOMAXPROCS, Boehm's worker threads and GC_MARKERS
#   --build DIR  CMake build directory (default build-rel; configured as
#                Release if it has no cache yet)
#   --out FILE   the report (default docs/results/gc.md)
#
#  Sides: heaplab (its defaults), hlgo (the same program with Go's pacing:
#  HLDEBUG=gctrigger=70,gcassistcap=0 — Go's trigger bound and uncapped
#  assists, the memory-first setting), Go 1.19 and Boehm GC.
#
#  1. Builds gc_heaplab and gc_boehm in DIR and bench/gc/go/gcbench.go with
#     `go build` (standard library only, offline) into a temporary
#     directory. A side that cannot be built (no collector on this branch
#     yet, Go or libgc-dev missing) is left out and the report says why.
#  2. For each repetition runs every benchmark on every side, the order of
#     the sides rotating between repetitions so that the noise of a shared
#     machine falls on all alike. Each run is one process under
#     /usr/bin/time (peak RSS = its maximum resident set size), with a
#     10-minute timeout. Settings: HLGC=100, GOGC=100 with
#     GODEBUG=gctrace=1 (Go's single pauses and assist time are read from
#     the trace), Boehm's defaults with GC_MARKERS=P.
#     After the runs, `heaplab hiccup --duration 5s` measures the machine's
#     own stalls (threads that only read the clock), printed in the report.
#  3. Every program prints a `result ...` line and a `pauses ns=...` line
#     (bench/gc/hl_gcbench.c says what each field is); bench/gc/report.py
#     takes medians and writes the report: machine, commit, the exact
#     command, the table, heaplab/peer ratios, issue 4's targets marked met
#     or missed, and every run's values.
# A run that fails, times out or prints a wrong checksum is recorded as
# failed; the others go on. Exit status: 0 when the report was written, 1
# on a build failure of every side, 2 on usage errors.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
reps=""
build=""
out=""
only=""
sides_opt=""
procs=2
cmdline="scripts/gc_bench.sh${*:+ $*}"

usage() { # usage [STATUS]
  sed -n '5,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --reps) [ $# -ge 2 ] || usage; reps=$2; shift ;;
    --build) [ $# -ge 2 ] || usage; build=$2; shift ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift ;;
    --only) [ $# -ge 2 ] || usage; only=",$2,"; shift ;;
    --sides) [ $# -ge 2 ] || usage; sides_opt=",$2,"; shift ;;
    --procs) [ $# -ge 2 ] || usage; procs=$2; shift ;;
    -h|--help) usage 0 ;;
    *) echo "$0: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
if [ -z "$reps" ]; then
  reps=$([ $quick = 1 ] && echo 1 || echo 5)
fi
case $reps in
  ''|*[!0-9]*|0) echo "$0: --reps wants a positive integer" >&2; exit 2 ;;
esac
case $procs in
  ''|*[!0-9]*|0) echo "$0: --procs wants a positive integer" >&2; exit 2 ;;
esac
for n in ${only//,/ }; do
  case $n in
    bt18|bt21|gcbench) ;;
    *) echo "$0: --only: unknown benchmark '$n' (bt18, bt21, gcbench)" >&2; exit 2 ;;
  esac
done
for s in ${sides_opt//,/ }; do
  case $s in
    heaplab|hlgo|go|boehm) ;;
    *) echo "$0: --sides: unknown side '$s' (heaplab, hlgo, go, boehm)" >&2; exit 2 ;;
  esac
done
build=${build:-$root/build-rel}
out=${out:-$root/docs/results/gc.md}
command -v python3 >/dev/null || { echo "$0: python3 is needed" >&2; exit 2; }
[ -x /usr/bin/time ] ||
  { echo "$0: /usr/bin/time is needed (Debian: apt-get install time)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gc_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# name | workload arguments (the same for the three programs)
BENCHES=(
  "bt18|binarytrees depth=18"
  "bt21|binarytrees depth=21"
  "gcbench|gcbench"
)

# the hlgo side: heaplab with Go 1.19's trigger bound and uncapped assists
HLGO_DEBUG=gctrigger=70,gcassistcap=0

wanted_side() { [ -z "$sides_opt" ] || [[ $sides_opt == *",$1,"* ]]; }

# ---- build ----------------------------------------------------------------
echo "== building in $build"
# the benchmarks are what this script runs: HL_BUILD_BENCH=ON even in a
# build directory configured without them
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHL_BUILD_BENCH=ON \
    >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; exit 1; }
else # pick up new directories (workloads/, bench/gc) in an old build
  cmake "$build" -DHL_BUILD_BENCH=ON >"$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log" >&2; exit 1; }
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")

declare -A EXE WHY
build_target() { # build_target SIDE TARGET PATH WHY-IF-NO-TARGET
  local side=$1 target=$2 path=$3 why=$4
  wanted_side "$side" || { WHY[$side]="left out (--sides)"; return; }
  # CMake lists every target it generated, whatever the generator
  if ! grep -q "/CMakeFiles/$target\.dir\$" \
      "$build/CMakeFiles/TargetDirectories.txt" 2>/dev/null; then
    WHY[$side]=$why
    return
  fi
  if cmake --build "$build" -j"$(nproc)" --target "$target" >"$tmp/build-$side.log" 2>&1; then
    EXE[$side]=$path
  else
    tail -30 "$tmp/build-$side.log" >&2
    WHY[$side]="the build of $target failed"
  fi
}
no_collector="not built: the collector (CMake target heaplab_gc) is not on this branch yet"
build_target heaplab gc_heaplab "$build/bench/gc/gc_heaplab" "$no_collector"
# hlgo runs the same program: built here only when heaplab was left out
if ! wanted_side hlgo; then
  WHY[hlgo]="left out (--sides)"
elif [ -n "${EXE[heaplab]:-}" ]; then
  EXE[hlgo]=${EXE[heaplab]}
elif wanted_side heaplab; then
  WHY[hlgo]=${WHY[heaplab]:-not built}
else
  build_target hlgo gc_heaplab "$build/bench/gc/gc_heaplab" "$no_collector"
fi
build_target boehm gc_boehm "$build/bench/gc/gc_boehm" \
  "not built: Boehm GC not found (Debian: libgc-dev) or a sanitizer build"

go_version=""
if ! wanted_side go; then
  WHY[go]="left out (--sides)"
elif ! command -v go >/dev/null 2>&1; then
  WHY[go]="not installed (Debian: golang-go)"
else
  echo "== go build bench/gc/go/gcbench.go"
  if GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" GOFLAGS=-mod=mod GOTOOLCHAIN=local \
      GOPROXY=off go build -o "$tmp/gcbench-go" "$root/bench/gc/go/gcbench.go" \
      >"$tmp/gobuild.log" 2>&1; then
    EXE[go]="$tmp/gcbench-go"
    go_version=$(go version | sed 's/^go version //')
  else
    cat "$tmp/gobuild.log" >&2
    WHY[go]="the go build failed"
  fi
fi
sides=()
for s in heaplab hlgo go boehm; do
  [ -n "${EXE[$s]:-}" ] && sides+=("$s")
done
if [ ${#sides[@]} = 0 ]; then
  echo "$0: no side could be built" >&2
  exit 1
fi
echo "== sides: ${sides[*]}"

# ---- running --------------------------------------------------------------
runs="$tmp/runs"
mkdir -p "$runs"

# run_one SIDE BENCH REP ARGS...: one process; files under $runs/
run_one() {
  local side=$1 bench=$2 rep=$3
  shift 3
  local base="$runs/$side.$bench.$rep" status=0
  local -a envs=(HLMAXPROCS="$procs" HLGC=100)
  local -a cmd=("${EXE[$side]}" "$@" -q)
  case $side in
    hlgo) envs+=(HLDEBUG="$HLGO_DEBUG") ;;
    go) envs=(GOMAXPROCS="$procs" GOGC=100 GODEBUG=gctrace=1) ;;
    boehm) envs=(GC_MARKERS="$procs"); [ "$1" = binarytrees ] && cmd+=("threads=$procs") ;;
  esac
  (env "${envs[@]}" /usr/bin/time -f '%e %M' -o "$base.time" \
    timeout 600 "${cmd[@]}" >"$base.out" 2>"$base.err"
    exit $?) 2>/dev/null || status=$?
  echo "$status" >"$base.status"
  local line
  line=$(grep '^result ' "$base.out" | head -1 || true)
  if [ "$status" != 0 ] || [ -z "$line" ]; then
    echo "   $side $bench failed (exit status $status): $(grep -v '^gc [0-9]' "$base.err" |
      head -1 | head -c 200)" >&2
  else
    local wall rss
    wall=$(sed -n 's/.* wall_ns=\([0-9]*\).*/\1/p' <<<"$line")
    rss=$(awk 'END {print $2}' "$base.time")
    printf '   %-8s %-8s %8.3f s  %7d KiB\n' "$side" "$bench" \
      "$(awk -v n="$wall" 'BEGIN {print n / 1e9}')" "$rss"
  fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)
for rep in $(seq "$reps"); do
  echo "== repetition $rep/$reps"
  # rotate the order of the sides
  order=()
  n=${#sides[@]}
  for i in $(seq 0 $((n - 1))); do
    order+=("${sides[$(((i + rep - 1) % n))]}")
  done
  for b in "${BENCHES[@]}"; do
    IFS="|" read -r bench args <<<"$b"
    [ -z "$only" ] || [[ $only == *",$bench,"* ]] || continue
    for side in "${order[@]}"; do
      # shellcheck disable=SC2086
      run_one "$side" "$bench" "$rep" $args
    done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(($(date +%s) - t_start))
# the machine's own stalls right after the runs (heaplab hiccup,
# docs/tracing.md): the pauses and times above include them
hiccup=""
if cmake --build "$build" --target heaplab_cli >"$tmp/build-cli.log" 2>&1 &&
    [ -x "$build/tools/heaplab/heaplab" ]; then
  echo "== heaplab hiccup --duration 5s --threads $procs"
  hiccup=$("$build/tools/heaplab/heaplab" hiccup --duration 5s --threads "$procs" 2>&1) ||
    hiccup=""
  echo "$hiccup"
fi

# ---- report ---------------------------------------------------------------
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
# uncommitted runtime or workload sources change what was measured
changed=$(git -C "$root" status --porcelain -- base alloc sched gc include \
  workloads bench/gc 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
if [ -n "$changed" ]; then
  commit="$commit + uncommitted changes to ${changed% }"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
mkdir -p "$(dirname "$out")"
why_lines=""
for s in heaplab hlgo go boehm; do
  [ -n "${WHY[$s]:-}" ] && why_lines+="$s=${WHY[$s]}"$'\n'
done

BENCHES_SPEC=$(printf '%s\n' "${BENCHES[@]}") \
MACHINE="$(uname -srm); $cpu; $(nproc) CPUs; $mem" \
COMMIT="$commit" BUILD_TYPE="$build_type" \
CC_VERSION="$( (cc --version 2>/dev/null || echo unknown) | head -1)" \
GO_VERSION="$go_version" HLGO_DEBUG="$HLGO_DEBUG" HICCUP="$hiccup" SIDES="${sides[*]}" WHY="$why_lines" \
CMDLINE="$cmdline" REPS="$reps" PROCS="$procs" \
LOAD="$load_start at the start, $load_end at the end" ELAPSED="$elapsed" \
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" \
python3 "$root/bench/gc/report.py" "$runs" "$out"
echo "== wrote $out (${elapsed} s of runs)"
