#!/usr/bin/env python3
"""scripts/tls_check_aarch64.py — finds thread pointers kept across calls in
AArch64 objects of the runtime layers whose code can switch goroutines.

A goroutine can leave its thread inside a C function (gopark, hl_yield,
rt_enter, a safe point) and resume on another. GCC and Clang on AArch64 read
the thread pointer (mrs tpidr_el0) once per function and may keep it in a
callee-saved register across calls; a __thread access after the call then
reaches the thread the goroutine left. The runtime reads its thread-locals
through HL_TLS (base/tls.h), which reads tpidr_el0 afresh at each use, so in
a correct build no thread pointer outlives a call in these objects.

Usage: scripts/tls_check_aarch64.py LIB.a|OBJ.o...
For each function (objdump -dr), a register written by `mrs Xn, tpidr_el0`
(or copied from one by mov) is followed; a call (bl, blr) ends the caller-
saved ones (x0-x18) and marks the callee-saved ones (x19-x28) as kept; any
later read of a kept one is reported with the call it crossed. Spills to
the stack are not followed. Exit status 1 when something is reported, 2 on
a usage or tool error.
"""
import re
import shutil
import subprocess
import sys

OBJDUMP = "aarch64-linux-gnu-objdump"
# instructions whose first register operand is read, not written
READS_FIRST = {"str", "stp", "strb", "strh", "stur", "stlr", "cmp", "cmn",
               "tst", "cbz", "cbnz", "tbz", "tbnz", "br", "blr", "ret"}
FUNC = re.compile(r"^[0-9a-f]+ <(.+)>:$")
INSN = re.compile(r"^\s+([0-9a-f]+):\s+(\S+)\s*([^/]*)")
CALL_TARGET = re.compile(r"R_AARCH64_CALL26\s+(\S+)|<([^>]+)>")


def regs(operands):
    return re.findall(r"\b[xw](\d+)\b", operands)


def check(path):
    out = subprocess.run([OBJDUMP, "-dr", "--no-show-raw-insn", path],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{sys.argv[0]}: {OBJDUMP} failed on {path}: "
                 f"{out.stderr.strip()}")
    found = []
    fn, tp, kept, last_call = None, {}, {}, None
    for line in out.stdout.splitlines():
        m = FUNC.match(line)
        if m:
            fn, tp, kept = m.group(1), {}, {}
            continue
        if fn is None:
            continue
        if "R_AARCH64_CALL26" in line and last_call is not None:
            last_call[1] = line.split()[-1]  # the relocation names the callee
            continue
        m = INSN.match(line)
        if not m:
            continue
        addr, op, operands = m.groups()
        rs = regs(operands)
        if op == "mrs" and "tpidr_el0" in operands:
            tp[rs[0]] = addr
            kept.pop(rs[0], None)
            continue
        if op in ("bl", "blr"):
            t = CALL_TARGET.search(operands)
            last_call = [addr, t.group(2) if t and t.group(2) else operands]
            for r in list(tp):
                if 19 <= int(r) <= 28:
                    kept[r] = last_call
                else:
                    del tp[r]
            continue
        reads = rs if op in READS_FIRST else rs[1:]
        for r in reads:
            if r in kept:
                call = kept.pop(r)
                found.append(f"{path}: {fn}: {addr}: {op} {operands.strip()}: "
                             f"thread pointer read at {tp[r]} used after the "
                             f"call at {call[0]} ({call[1]})")
        if rs and op not in READS_FIRST:
            d = rs[0]
            if op == "mov" and len(rs) == 2 and rs[1] in tp:
                tp[d] = tp[rs[1]]
                if rs[1] in kept:
                    kept[d] = kept[rs[1]]
            elif d in tp and d not in reads:
                tp.pop(d)
                kept.pop(d, None)
    return found


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print(f"usage: {sys.argv[0]} LIB.a|OBJ.o...", file=sys.stderr)
        return 2
    if not shutil.which(OBJDUMP):
        print(f"{sys.argv[0]}: {OBJDUMP} is missing (scripts/deps.sh "
              f"--aarch64 installs it)", file=sys.stderr)
        return 2
    found = []
    for path in sys.argv[1:]:
        found += check(path)
    for f in found:
        print(f)
    if found:
        print(f"{sys.argv[0]}: {len(found)} thread-local access(es) through a "
              f"thread pointer kept across a call: read the variable with "
              f"HL_TLS (base/tls.h)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
