#!/usr/bin/env python3
"""An allocation-heavy Python program, run under PYTHONMALLOC=malloc so that
every object goes through the C allocator (and so through LD_PRELOAD).

Used as a real program by allocbench.py (wall time, peak RSS) and by the
python smoke test (tests/smoke/smoke_python.sh), which compares its output
with a run under glibc. It builds and drops dicts, strings, lists, tuples,
sets, big integers and JSON documents, and checks what it computed: every
structure is verified against a second computation of the same value, and
the last line is a checksum that does not depend on the allocator or on
hash randomization.

Usage: pywork.py [--scale X] [--threads N] [--expect-preload NAME]
With --threads N, each round runs N copies at once in Python threads (so in
N OS threads; the GIL serializes them, but objects are allocated in one
thread and freed in another). Prints "pywork ok rounds=N checksum=HEX" and
exits 0, or exits 1 with a message on stderr.
"""
import argparse
import json
import sys
import threading
import zlib


def fail(msg):
    print("pywork: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def expect_preload(name):
    with open("/proc/self/maps") as f:
        if not any(name in line for line in f):
            fail('no mapping of "%s" in /proc/self/maps: LD_PRELOAD did not '
                 "take effect" % name)


def one_round(r, crc):
    n = 20000
    # Dicts of strings -> lists, built and queried.
    d = {}
    for i in range(n):
        key = "k%d_%d" % (r, i)
        d[key] = [i, str(i * 7), (i, key)]
    total = 0
    for i in range(0, n, 3):
        total += d["k%d_%d" % (r, i)][0]
    if total != sum(range(0, n, 3)):
        fail("dict lookup sum %d" % total)
    # Delete half, re-insert with other values: churns the dict table and
    # frees many small objects.
    for i in range(0, n, 2):
        del d["k%d_%d" % (r, i)]
    for i in range(0, n, 2):
        d["x%d" % i] = {"v": i, "s": "y" * (i % 50)}
    if len(d) != n:
        fail("dict size %d, expected %d" % (len(d), n))
    # Strings: joins, splits, slicing, formatting.
    words = ["w%05d" % (i * 31 % n) for i in range(n)]
    text = " ".join(words)
    back = text.split(" ")
    if back != words:
        fail("split(join(words)) differs")
    crc = zlib.crc32(text.encode(), crc)
    up = text.upper().replace("W", "word-")
    if up.count("word-") != n:
        fail("replace count")
    # Lists and tuples: sort, comprehension, slicing.
    lst = [(i * 7919) % 10007 for i in range(n)]
    s = sorted(lst)
    if any(s[i] > s[i + 1] for i in range(len(s) - 1)):
        fail("sort order")
    tups = [tuple(lst[i:i + 5]) for i in range(0, n, 5)]
    if sum(len(t) for t in tups) != n:
        fail("tuple slices")
    # Sets of ints (deterministic regardless of hash seed).
    a = set(range(0, n, 2))
    b = set(range(0, n, 3))
    if len(a & b) != len(range(0, n, 6)):
        fail("set intersection")
    # Big integers.
    f = 1
    for i in range(2, 400):
        f *= i
    crc = zlib.crc32(str(f).encode(), crc)
    # JSON round trip of a nested document.
    doc = {"r": r,
           "items": [{"id": i, "name": "n%d" % i, "tags": ["a", "b"][:i % 3]}
                     for i in range(2000)]}
    enc = json.dumps(doc, sort_keys=True)
    if json.loads(enc) != doc:
        fail("json round trip")
    crc = zlib.crc32(enc.encode(), crc)
    return crc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--expect-preload", metavar="NAME")
    args = ap.parse_args()
    if args.expect_preload:
        expect_preload(args.expect_preload)
    rounds = max(1, int(16 * args.scale))
    crc = 0
    keep = []  # some structures survive rounds, so the heap grows a little
    for r in range(rounds):
        if args.threads <= 1:
            crc = one_round(r, crc)
        else:
            # Each thread's result (and its kept list) is freed by the main
            # thread; the checksum combines them in thread order.
            res = [None] * args.threads

            def work(k):
                res[k] = (one_round(r * 1000 + k, 0),
                          ["t%d_%d" % (k, i) for i in range(2000)])
            ts = [threading.Thread(target=work, args=(k,))
                  for k in range(args.threads)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            if any(x is None for x in res):
                fail("a thread failed")
            for k, (c, lst) in enumerate(res):
                crc = zlib.crc32(b"%08x" % c, crc)
                if lst[-1] != "t%d_1999" % k:
                    fail("thread list")
            del res
        keep.append(["keep%d_%d" % (r, i) for i in range(5000)])
    if sum(len(k) for k in keep) != 5000 * rounds:
        fail("kept lists")
    print("pywork ok rounds=%d checksum=%08x" % (rounds, crc))


if __name__ == "__main__":
    main()
