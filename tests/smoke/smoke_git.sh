#!/usr/bin/env bash
# smoke_git.sh GIT PYTHON LIB PEERS_DIR
#
# git under heaplab: init, add -A and commit 2000 generated files, log, gc,
# fsck. With fixed dates the commit id must equal the one git computes on
# glibc; after gc the objects must be in one pack, fsck must pass, and a
# file read back from the repository must equal the original.
. "$(dirname "$0")/common.sh"
[ $# -eq 4 ] || fail "usage: $0 GIT PYTHON LIB PEERS_DIR"
GIT=$1
PY=$2
PEERS=$4
setup_preload "$3"
N=2000

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=smoke GIT_AUTHOR_EMAIL=smoke@example.invalid
export GIT_COMMITTER_NAME=smoke GIT_COMMITTER_EMAIL=smoke@example.invalid
export GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z
"$PY" "$PEERS/realprogs.py" gen-tree "$TMPD/tree" $N || fail "generating the tree"
export GIT_WORK_TREE=$TMPD/tree
cd "$TMPD/tree"

# Reference commit id on glibc.
export GIT_DIR=$TMPD/glibc.git
"$GIT" init -q && "$GIT" add -A && "$GIT" commit -q -m smoke ||
  fail "git on glibc"
want=$("$GIT" rev-parse HEAD)

export GIT_DIR=$TMPD/heaplab.git
hl "$GIT" init -q || fail "git init under heaplab"
hl "$GIT" add -A || fail "git add under heaplab"
hl "$GIT" commit -q -m smoke || fail "git commit under heaplab"
got=$(hl "$GIT" rev-parse HEAD) || fail "git rev-parse under heaplab"
[ "$got" = "$want" ] || fail "commit id $got under heaplab, $want on glibc"
log=$(hl "$GIT" log --format='%H %s') || fail "git log under heaplab"
[ "$log" = "$want smoke" ] || fail "git log printed '$log'"
n=$(hl "$GIT" ls-files | wc -l) || fail "git ls-files under heaplab"
[ "$n" -eq $N ] || fail "git ls-files lists $n files, expected $N"

hl "$GIT" gc -q || fail "git gc under heaplab"
hl "$GIT" fsck --full --strict 2>"$TMPD/fsck.err" ||
  fail "git fsck under heaplab: $(cat "$TMPD/fsck.err")"
counts=$(hl "$GIT" count-objects -v) || fail "git count-objects under heaplab"
grep -qx "count: 0" <<<"$counts" && grep -qx "packs: 1" <<<"$counts" &&
  grep -qx "in-pack: $((N + 50 + 2))" <<<"$counts" ||
  fail "after gc expected $N blobs, 50 trees and 2 more in one pack: $counts"
hl "$GIT" cat-file -p HEAD:d07/f00007.txt | cmp - d07/f00007.txt ||
  fail "file read back from the packed repository differs"
[ -z "$(hl "$GIT" status --porcelain)" ] || fail "git status not clean"
echo "commit $got, $N files, packed"
echo PASS
