#!/usr/bin/env bash
# smoke_gcc.sh GCC NM PYTHON LIB PEERS_DIR
#
# gcc -O2 -c of a generated file of 1000 functions under heaplab (the
# driver, cc1 and as all preloaded). The object must be byte-identical to
# the one gcc produces on glibc, define every function (nm), and link
# (under heaplab) into a program that prints the expected sum.
. "$(dirname "$0")/common.sh"
[ $# -eq 5 ] || fail "usage: $0 GCC NM PYTHON LIB PEERS_DIR"
GCC=$1
NM=$2
PY=$3
PEERS=$5
setup_preload "$4"
N=1000

cd "$TMPD"
"$PY" "$PEERS/realprogs.py" gen-c big.c $N || fail "generating big.c"
"$GCC" -O2 -c big.c -o glibc.o || fail "gcc on glibc"
hl "$GCC" -O2 -c big.c -o heaplab.o || fail "gcc under heaplab"
[ -s heaplab.o ] || fail "gcc under heaplab wrote no object file"
cmp glibc.o heaplab.o || fail "objects differ between glibc and heaplab"

nfuncs=$("$NM" heaplab.o | grep -Ec ' T func_[0-9]+$') || true
[ "$nfuncs" -eq $N ] || fail "nm shows $nfuncs functions func_*, expected $N"
"$NM" heaplab.o | grep -Eq ' T main$' || fail "nm shows no main"

hl "$GCC" heaplab.o -o prog || fail "linking under heaplab"
"$GCC" glibc.o -o prog_glibc || fail "linking on glibc"
got=$(./prog) && want=$(./prog_glibc) || fail "running the program"
[ "$got" = "$want" ] || fail "program printed $got, expected $want"
echo "$nfuncs functions, sum $got"
echo PASS
