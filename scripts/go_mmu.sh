#!/usr/bin/env bash
# scripts/go_mmu.sh — the MMU curve of a Go 1.19 program, as CSV in the
# columns of `heaplab mmu --csv` (window_ns,window_s,mmu,worst0.1%,
# worst1%,worst5%,file), for overlaying with heaplab's curves
# (plots/mmu.gp). See docs/tracing.md ("Go side by side") for why this
# asks Go's own trace tool instead of reading Go's trace format.
#
#   scripts/go_mmu.sh [OUTDIR] [DEPTH]     (default out/mmu, 18)
#   env: GOMAXPROCS (default 2), GOGC (default 100),
#        GO_MMU_FLAGS (default stw|background|assist), GO_MMU_PORT
#
# Steps: build bench/trace/go/binarytrees.go; run it (it writes a
# runtime/trace); serve the trace with `go tool trace -http` on the
# loopback; fetch /mmuPlot (Go's own MMU and MUD computation, 100 windows
# log-spaced over six decades or the trace's length), convert its JSON to
# CSV; stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/mmu}
depth=${2:-18}
mkdir -p "$out"
export GOMAXPROCS=${GOMAXPROCS:-2} GOGC=${GOGC:-100}
flags=${GO_MMU_FLAGS:-stw|background|assist}
port=${GO_MMU_PORT:-$((20000 + RANDOM % 20000))}
command -v go >/dev/null || { echo "go_mmu.sh: no go (scripts/deps.sh installs golang-go)" >&2; exit 1; }

gotmp=$(mktemp -d)
trap 'rm -rf "$gotmp"; [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true' EXIT
cp bench/trace/go/binarytrees.go "$gotmp/main.go"
(cd "$gotmp" && GO111MODULE=off GOCACHE="$gotmp/cache" go build -o binarytrees main.go)
echo "== go $(go env GOVERSION) binary-trees depth $depth, GOMAXPROCS=$GOMAXPROCS GOGC=$GOGC"
"$gotmp/binarytrees" "$depth" "$out/go.trace" >/dev/null

# BROWSER=true: go tool trace must not try to open a browser. A server
# that dies before it answers (a port taken meanwhile) is restarted on
# another port, up to 3 times.
ok=0
for attempt in 1 2 3; do
  BROWSER=true go tool trace -http="127.0.0.1:$port" "$out/go.trace" \
    >"$gotmp/server.log" 2>&1 &
  srv=$!
  if python3 - "$port" "$flags" "$out/go.trace" "$srv" >"$out/go_mmu.csv" <<'PY'
import json, os, sys, time, urllib.parse, urllib.request
port, flags, name, srv = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
url = "http://127.0.0.1:%s/mmuPlot?flags=%s" % (port, urllib.parse.quote("mut|" + flags))
data = None
for _ in range(1200):  # the server parses the trace first
    try:
        data = json.load(urllib.request.urlopen(url, timeout=120))
        break
    except Exception:
        try:
            os.kill(srv, 0)
        except OSError:
            sys.exit("go_mmu.sh: go tool trace exited before answering on port " + port)
        time.sleep(0.1)
if data is None:
    sys.exit("go_mmu.sh: go tool trace did not answer on port " + port)
# With "mut" Go returns per window the MUD quantiles 0 (= the MMU),
# 0.001, 0.01, 0.05: the worst 0.1 %, 1 %, 5 % of windows.
print("window_ns,window_s,mmu,worst0.1%,worst1%,worst5%,file")
for row in data["curve"]:
    w = row[0]
    print("%d,%.9g,%s,%s" % (w, w / 1e9, ",".join("%.6f" % v for v in row[1:]), name))
PY
  then
    ok=1
  fi
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  [ $ok = 1 ] && break
  cat "$gotmp/server.log" >&2
  port=$((20000 + RANDOM % 20000))
done
[ $ok = 1 ] || { echo "go_mmu.sh: go tool trace failed 3 times" >&2; exit 1; }
echo "== $out/go_mmu.csv ($(($(wc -l <"$out/go_mmu.csv") - 1)) windows)"
