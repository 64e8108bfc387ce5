#!/usr/bin/env python3
"""Report of scripts/gc_bench.sh: reads the runs directory it filled and
writes docs/results/gc.md (medians, heaplab/peer ratios, issue 4's
targets, every run).

    report.py RUNS_DIR OUT_FILE      (metadata in the environment)

A run is the files RUNS_DIR/SIDE.BENCH.REP.{out,err,time,status}:
  out     the program's `result k=v ...` and `pauses ns=a,b,...` lines
  err     stderr; for Go the GODEBUG=gctrace=1 lines
  time    /usr/bin/time -f '%e %M': elapsed seconds, peak RSS KiB
  status  the exit status
What each figure means, per side, is written into the report itself
(DEFINITIONS below), so that the report can be read alone.
"""
import math
import os
import re
import statistics
import sys

SIDES = ["heaplab", "hlgo", "go", "boehm"]
SIDE_NAME = {"heaplab": "heaplab", "hlgo": "heaplab, Go's pacing",
             "go": "Go", "boehm": "Boehm GC"}
HEAPLAB_SIDES = ("heaplab", "hlgo")  # the same program, two settings
BENCH_LABEL = {
    "bt18": "binary-trees, depth 18",
    "bt21": "binary-trees, depth 21",
    "gcbench": "GCBench",
}

# Issue 4's targets.
PAUSE_MAX_TARGET_NS = 100_000  # binary-trees 18, 2 Ps, HLGC=100
PAUSE_P99_TARGET_NS = 50_000

# gctrace (Go 1.19): "gc 7 @0.1s 3%: A+B+C ms clock, D+E/F/G+H ms cpu, ..."
# A, C: the sweep-termination and mark-termination stops (wall); E: assist
# CPU, F: background mark CPU, G: idle mark CPU.
GCTRACE = re.compile(
    r"^gc (\d+) @[\d.]+s \d+%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock, "
    r"([\d.]+)\+([\d.]+)/([\d.]+)/([\d.]+)\+([\d.]+) ms cpu")


def p99(values):
    """Nearest-rank 99th percentile (the value at rank ceil(0.99 n))."""
    if not values:
        return None
    v = sorted(values)
    return v[max(0, math.ceil(0.99 * len(v)) - 1)]


def parse_run(base):
    """One run -> dict of figures, or {'failed': reason}."""
    def read(ext):
        try:
            with open(base + "." + ext) as f:
                return f.read()
        except OSError:
            return ""
    status = read("status").strip() or "?"
    out, err = read("out"), read("err")
    result = next((l for l in out.splitlines() if l.startswith("result ")),
                  None)
    first_err = next((l for l in err.splitlines()
                      if l.strip() and not GCTRACE.match(l)), "")
    if status != "0" or result is None:
        why = f"exit status {status}"
        if status == "124":
            why += " (timed out)"
        if first_err:
            why += ": " + first_err[:200]
        return {"failed": why}
    kv = dict(f.split("=", 1) for f in result.split()[1:] if "=" in f)
    if kv.get("ok") != "1":
        return {"failed": f"wrong checksum: check={kv.get('check')} "
                          f"expected={kv.get('expected')}"}
    pauses_line = next((l for l in out.splitlines()
                        if l.startswith("pauses ns=")), "pauses ns=")
    pauses = [int(x) for x in pauses_line[len("pauses ns="):].split(",")
              if x]
    r = {"wall_s": int(kv["wall_ns"]) / 1e9, "kv": kv,
         "cycles": int(kv.get("numgc", 0)),
         "pause_p99_ns": p99(pauses), "npauses_listed": len(pauses)}
    t = read("time").split()
    if len(t) >= 2:
        r["elapsed_s"] = float(t[0])
        r["rss_kib"] = int(t[1])
    side = kv.get("side")
    if side == "go":
        # Single stops and assist CPU from the trace (ms -> ns).
        stops, assist, mark = [], 0.0, 0.0
        for line in err.splitlines():
            m = GCTRACE.match(line)
            if m:
                stops += [float(m.group(2)) * 1e6, float(m.group(4)) * 1e6]
                assist += float(m.group(6)) * 1e6
                mark += float(m.group(7)) * 1e6 + float(m.group(8)) * 1e6
        r["pause_max_ns"] = max(stops) if stops else None
        r["assist_ns"] = assist if stops else None
        r["gc_cpu_fraction"] = float(kv["gc_cpu_fraction"])
    elif side == "heaplab":
        r["pause_max_ns"] = int(kv["pause_max_ns"])
        r["assist_ns"] = int(kv["assist_ns"])
        r["gc_cpu_fraction"] = float(kv["gc_cpu_fraction"])
    else:  # boehm: no assists; the fraction is stopped time / wall
        r["pause_max_ns"] = int(kv["pause_max_ns"])
        r["assist_ns"] = None
        r["gc_cpu_fraction"] = float(kv["gc_cpu_fraction"])
    return r


def load(runs_dir):
    """(side, bench) -> [run dicts in repetition order]"""
    runs = {}
    names = sorted(f[:-len(".status")] for f in os.listdir(runs_dir)
                   if f.endswith(".status"))
    for name in names:
        side, bench, rep = name.split(".")
        r = parse_run(os.path.join(runs_dir, name))
        r["rep"] = int(rep)
        runs.setdefault((side, bench), []).append(r)
    for v in runs.values():
        v.sort(key=lambda r: r["rep"])
    return runs


def med(rs, key):
    xs = [r[key] for r in rs if "failed" not in r and r.get(key) is not None]
    return statistics.median(xs) if xs else None


def fmt_s(x):
    return "—" if x is None else (f"{x:.2f} s" if x >= 1 else
                                  f"{x * 1000:.0f} ms")


def fmt_mib(kib):
    return "—" if kib is None else f"{kib / 1024:.0f} MiB"


def fmt_ns(ns):
    if ns is None:
        return "—"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.0f} µs"
    return f"{ns:.0f} ns"


def fmt_frac(x):
    return "—" if x is None else f"{100 * x:.1f}%"


def fmt_ratio(a, b):
    return "—" if a is None or not b else f"{a / b:.2f}"


DEFINITIONS = """\
How each figure is taken (the programs are `bench/gc/hl_gcbench.c`,
`bench/gc/go/gcbench.go` and `bench/gc/boehm.c`; the workloads are defined
once in `workloads/workloads.h` and written the same way for the three):

- **time**: the workload's own wall clock, from its first allocation to
  its last check (process start and exit excluded; the process's elapsed
  time is in the table of every run).
- **heaplab, Go's pacing**: the heaplab program run with the settings
  that make its pacing Go's (the report's header names them): the cycle
  is triggered no earlier than 70% of the way to the goal and assists are
  uncapped, so the mark ends near the goal and little is allocated black
  during it. heaplab's defaults trigger earlier and cap assists while the
  live heap grows, for the mutator's utilization (docs/results/mmu.md);
  a longer mark allocates more black, which the next goal doubles.
- **peak RSS**: the maximum resident set size of the process
  (`/usr/bin/time`, i.e. the kernel's `ru_maxrss` of the child).
- **cycles**: collections during the run (heaplab `hl_gc_stats().numgc`,
  Go `MemStats.NumGC`, Boehm the collections its event callback saw).
- **max STW**: the longest single stop-the-world. heaplab:
  `hl_gc_stats().pause_max_ns`. Go: the largest sweep-termination or
  mark-termination wall-clock stop of any `GODEBUG=gctrace=1` line (the
  trace prints them to two significant digits). Boehm: the longest
  world stop (`GC_EVENT_PRE_STOP_WORLD` to `GC_EVENT_POST_START_WORLD`);
  Boehm marks with the world stopped, so this is a whole mark phase.
- **p99 pause**: the 99th percentile (nearest rank) of the per-cycle
  pauses of the last min(cycles, 256) cycles: heaplab's `pause_ns` ring
  and Go's `MemStats.PauseNs` (both sum the two stops of a cycle), Boehm's
  world stops. With fewer than 100 cycles this is the largest one.
- **GC CPU**: heaplab `gc_cpu_fraction` and Go `MemStats.GCCPUFraction`
  (GC CPU time over the processors' available time since start). Boehm
  has no such counter: its figure is stopped time / wall time (while the
  world is stopped every processor marks or waits); its lazy sweeping in
  the allocator is not counted.
- **assist**: time goroutines spent in mark assists. heaplab
  `hl_gc_stats().assist_ns`; Go the assist CPU of every gctrace line,
  summed. Boehm has no assists.
- **time spread**: (slowest − fastest) / median over the repetitions: a
  large spread means the machine was busy with something else.
- Each figure is the median over the repetitions of that figure per run
  (for max STW: the median of each run's maximum; the worst run is in the
  table of every run).
"""


def main():
    runs_dir, out_path = sys.argv[1], sys.argv[2]
    E = os.environ
    runs = load(runs_dir)
    sides = [s for s in E.get("SIDES", "").split() if s in SIDES]
    why = dict(line.split("=", 1) for line in E.get("WHY", "").splitlines()
               if "=" in line)
    benches = [spec.split("|") for spec in E["BENCHES_SPEC"].splitlines()]
    benches = [(b, args) for b, args in benches
               if any(k[1] == b for k in runs)]
    procs = E.get("PROCS", "2")

    o = ["# Garbage collector benchmarks: heaplab, Go and Boehm GC\n"]
    o.append("Generated by `scripts/gc_bench.sh` (report: "
             "`bench/gc/report.py`); do not edit by hand. To regenerate:\n")
    o.append(f"```sh\n{E.get('CMDLINE', 'scripts/gc_bench.sh')}\n```\n")
    o.append(f"- date: {E.get('DATE', '?')}; whole run "
             f"{E.get('ELAPSED', '?')} s")
    o.append(f"- machine: {E.get('MACHINE', '?')}")
    o.append(f"- load average: {E.get('LOAD', '?')} (the machine may be "
             "shared: figures are medians of interleaved runs)")
    o.append(f"- heaplab: commit {E.get('COMMIT', '?')}, CMAKE_BUILD_TYPE="
             f"{E.get('BUILD_TYPE', '?')}, {E.get('CC_VERSION', '?')}; "
             f"HLGC=100, HLMAXPROCS={procs}")
    go_v = E.get("GO_VERSION") or "—"
    if "hlgo" in sides:
        o.append(f"- heaplab, Go's pacing: the same program with "
                 f"HLDEBUG={E.get('HLGO_DEBUG', '?')} (Go 1.19's trigger "
                 "bound and uncapped assists: less floating garbage, more "
                 "GC CPU while marking; docs/gc.md \"Pacer and knobs\")")
    o.append(f"- Go: {go_v}; GOGC=100, GOMAXPROCS={procs}, "
             "GODEBUG=gctrace=1")
    boehm_v = next((r["kv"].get("gc_version") for (s, _), rs in runs.items()
                    if s == "boehm" for r in rs if "kv" in r), None)
    o.append(f"- Boehm GC: {boehm_v or '—'} (Debian libgc); default "
             f"settings, GC_MARKERS={procs}, {procs} worker threads for "
             "binary-trees")
    o.append(f"- repetitions: {E.get('REPS', '?')} per side and benchmark, "
             "the order of the sides rotating between repetitions")
    for s in SIDES:
        if s not in sides:
            o.append(f"- **{SIDE_NAME[s]} was not run: "
                     f"{why.get(s, 'not built')}**")
    o.append("")

    # ---- the table
    o.append("## Medians\n")
    o.append("| benchmark | side | time | time spread | peak RSS | cycles | "
             "max STW | p99 pause | GC CPU | assist |")
    o.append("|---|---|---|---|---|---|---|---|---|---|")
    M = {}
    for b, _ in benches:
        for s in sides:
            rs = runs.get((s, b), [])
            ok = [r for r in rs if "failed" not in r]
            m = {k: med(rs, k) for k in
                 ("wall_s", "rss_kib", "cycles", "pause_max_ns",
                  "pause_p99_ns", "gc_cpu_fraction", "assist_ns")}
            m["n_ok"], m["n"] = len(ok), len(rs)
            walls = [r["wall_s"] for r in ok]
            spread = ("—" if len(walls) < 2 else
                      f"{100 * (max(walls) - min(walls)) / m['wall_s']:.0f}%")
            M[(s, b)] = m
            failed = "" if m["n_ok"] == m["n"] else \
                f" ({m['n'] - m['n_ok']} of {m['n']} failed)"
            cyc = "—" if m["cycles"] is None else f"{m['cycles']:.0f}"
            assist = ("n/a" if s == "boehm" else fmt_ns(m["assist_ns"]))
            o.append(f"| {BENCH_LABEL[b]} | {SIDE_NAME[s]}{failed} | "
                     f"{fmt_s(m['wall_s'])} | {spread} | "
                     f"{fmt_mib(m['rss_kib'])} | "
                     f"{cyc} | {fmt_ns(m['pause_max_ns'])} | "
                     f"{fmt_ns(m['pause_p99_ns'])} | "
                     f"{fmt_frac(m['gc_cpu_fraction'])} | {assist} |")
    o.append("")

    # ---- ratios
    mine = [s for s in HEAPLAB_SIDES if s in sides]
    peers = [s for s in sides if s not in HEAPLAB_SIDES]
    if mine and peers:
        o.append("## heaplab / peer (below 1: heaplab is faster or "
                 "smaller)\n")
        head = ["benchmark", "heaplab side"]
        for p in peers:
            head += [f"time / {SIDE_NAME[p]}", f"peak RSS / {SIDE_NAME[p]}"]
        o.append("| " + " | ".join(head) + " |")
        o.append("|" + "---|" * len(head))
        for b, _ in benches:
            for me in mine:
                h = M[(me, b)]
                row = [BENCH_LABEL[b], SIDE_NAME[me]]
                for p in peers:
                    g = M[(p, b)]
                    row += [fmt_ratio(h["wall_s"], g["wall_s"]),
                            fmt_ratio(h["rss_kib"], g["rss_kib"])]
                o.append("| " + " | ".join(row) + " |")
        o.append("")

    # ---- targets
    o.append("## Targets (issue 4)\n")
    o.append("| target | measured (medians) | met? |")
    o.append("|---|---|---|")

    def verdict(x):
        return "—" if x is None else ("met" if x else "**missed**")

    def hl(b, k):
        return M.get(("heaplab", b), {}).get(k) if "heaplab" in sides \
            else None

    for b, _ in benches:
        for p, key, what in (("go", "wall_s", "total time ≤ Go's"),
                             ("boehm", "wall_s", "total time ≤ Boehm's"),
                             ("go", "rss_kib", "peak RSS ≤ Go's")):
            h = hl(b, key)
            g = M.get((p, b), {}).get(key) if p in sides else None
            f = fmt_s if key == "wall_s" else fmt_mib
            if h is None or g is None:
                missing = [SIDE_NAME[x] for x, v in (("heaplab", h), (p, g))
                           if v is None]
                meas = "not measured (" + ", ".join(missing) + ")"
                met = None
            else:
                meas = f"heaplab {f(h)}, {SIDE_NAME[p]} {f(g)}"
                met = h <= g
            o.append(f"| {BENCH_LABEL[b]}: {what} | {meas} | "
                     f"{verdict(met)} |")
        h = M.get(("hlgo", b), {}).get("rss_kib")
        g = M.get(("go", b), {}).get("rss_kib")
        if h is not None and g is not None:
            o.append(f"| {BENCH_LABEL[b]}: peak RSS ≤ Go's, with Go's "
                     f"pacing (not the default) | heaplab {fmt_mib(h)}, Go "
                     f"{fmt_mib(g)} | {verdict(h <= g)} |")
    if any(b == "bt18" for b, _ in benches):
        for key, limit, what in (
                ("pause_max_ns", PAUSE_MAX_TARGET_NS, "max STW ≤ 100 µs"),
                ("pause_p99_ns", PAUSE_P99_TARGET_NS, "p99 pause ≤ 50 µs")):
            h = hl("bt18", key)
            g = M.get(("go", "bt18"), {}).get(key) if "go" in sides else None
            if h is not None and not hl("bt18", "cycles"):
                h = None  # no collection ran: nothing to judge
                meas = "heaplab ran no collection"
            else:
                meas = ("heaplab not measured" if h is None
                        else f"heaplab {fmt_ns(h)}")
            meas += f" (Go {fmt_ns(g)})" if g is not None else ""
            o.append(f"| binary-trees 18, {procs} Ps, HLGC=100: {what} | "
                     f"{meas} | "
                     f"{verdict(None if h is None else h <= limit)} |")
    o.append("")
    if procs != "2":
        o.append(f"(The pause targets are stated for 2 Ps; this run used "
                 f"{procs}.)\n")

    if E.get("HICCUP"):
        o.append("## The machine alone\n")
        o.append(f"Right after the runs, `heaplab hiccup --duration 5s "
                 f"--threads {procs}` (docs/tracing.md): threads that only "
                 "read the clock, a gap over 100 µs counted as a stall. A "
                 "stop-the-world waits for every P's thread, so a stall of "
                 "that thread is a pause of that length; a stall during a "
                 "run adds to its time.\n")
        o.append("```\n" + E["HICCUP"].rstrip() + "\n```\n")
    o.append("## Definitions\n")
    o.append(DEFINITIONS)

    # ---- every run
    o.append("## Every run\n")
    o.append("In the order they were taken (repetition 1, 2, ...): time / "
             "process elapsed / peak RSS / cycles / max STW / p99 pause.\n")
    o.append("| benchmark | side | runs |")
    o.append("|---|---|---|")
    failures = []
    for b, _ in benches:
        for s in sides:
            cells = []
            for r in runs.get((s, b), []):
                if "failed" in r:
                    cells.append("failed")
                    failures.append((b, s, r["rep"], r["failed"]))
                    continue
                cells.append(
                    f"{fmt_s(r['wall_s'])} / {fmt_s(r.get('elapsed_s'))} / "
                    f"{fmt_mib(r.get('rss_kib'))} / {r['cycles']} / "
                    f"{fmt_ns(r.get('pause_max_ns'))} / "
                    f"{fmt_ns(r.get('pause_p99_ns'))}")
            o.append(f"| {BENCH_LABEL[b]} | {SIDE_NAME[s]} | "
                     + "; ".join(cells) + " |")
    o.append("")
    if failures:
        o.append("Failed runs (left out of the medians):\n")
        for b, s, rep, why_ in failures:
            o.append(f"- {BENCH_LABEL[b]}, {SIDE_NAME[s]}, repetition "
                     f"{rep}: `{why_.replace('`', chr(39))}`")
        o.append("")

    with open(out_path, "w") as f:
        f.write("\n".join(o))


if __name__ == "__main__":
    main()
