#!/usr/bin/env bash
# smoke_python.sh PYTHON LIB PEERS_DIR
#
# CPython with PYTHONMALLOC=malloc (every object through malloc) runs
# bench/peers/pywork.py under heaplab, single-threaded and with 4 threads.
# pywork verifies what it builds and checks from inside that heaplab is
# mapped into its own process; its checksum must equal the one computed on
# glibc.
. "$(dirname "$0")/common.sh"
[ $# -eq 3 ] || fail "usage: $0 PYTHON LIB PEERS_DIR"
PY=$1
PEERS=$3
setup_preload "$2"

# The real interpreter, not a wrapper script (pyenv shims are bash scripts).
PY=$("$PY" -c 'import sys; print(sys.executable)') || skip "no python3"
export PYTHONMALLOC=malloc PYTHONHASHSEED=0

for threads in 1 4; do
  want=$("$PY" "$PEERS/pywork.py" --scale 0.5 --threads $threads) ||
    fail "pywork failed on glibc (threads=$threads)"
  got=$(hl "$PY" "$PEERS/pywork.py" --scale 0.5 --threads $threads \
    --expect-preload "$HL_LIBNAME") ||
    fail "pywork failed under heaplab (threads=$threads)"
  [ "$got" = "$want" ] ||
    fail "threads=$threads: heaplab printed '$got', glibc '$want'"
  echo "threads=$threads: $got"
done
echo PASS
