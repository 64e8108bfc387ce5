#!/usr/bin/env python3
"""Reports of allocbench.py: medians and paired ratios, table.md, the plot
data files (bars_tput.dat, bars_rss.dat, rss_time.dat) and the gnuplot
calls. See docs/allocator-comparison.md for how to read them.

A sample is one run (a dict made by allocbench.py): rep, workload,
threads, alloc, ok, wall_s, maxrss_kib, and for the workloads (the wl_*
programs, ranked by throughput) tput; the real programs are ranked by wall
time.
"""
import os
import shutil
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
HEAPLAB = "heaplab"

# Targets heaplab is held to.
TARGET_TPUT = 1.00  # throughput >= best peer
TARGET_RSS = 1.10   # peak RSS <= 1.1 x smallest peer
TARGET_WALL = 1.03  # real programs: wall time within 3% of the fastest peer


def note(msg):
    print("allocbench: " + msg, file=sys.stderr, flush=True)


def is_workload(name):
    """The workloads are the wl_* programs (ranked by throughput); the
    others are real programs (ranked by wall time)."""
    return name.startswith("wl_")


def median_or_none(xs):
    return statistics.median(xs) if xs else None


def summarize(samples):
    """Medians per (workload, threads, alloc); also returns the samples
    grouped by that key."""
    groups = {}
    for s in samples:
        key = (s["workload"], s["threads"], s["alloc"])
        groups.setdefault(key, []).append(s)
    meds = []
    for (wl, t, a), ss in groups.items():
        ok = [s for s in ss if s["ok"]]
        m = {"workload": wl, "threads": t, "alloc": a, "n_ok": len(ok),
             "n_failed": len(ss) - len(ok),
             "maxrss_kib": median_or_none([s["maxrss_kib"] for s in ok]),
             "wall_s": median_or_none([s["wall_s"] for s in ok])}
        if is_workload(wl):
            m["tput"] = median_or_none([s["tput"] for s in ok])
        # Spread of the primary metric: (max - min) / median.
        xs = [primary(s) for s in ok]
        m["spread"] = ((max(xs) - min(xs)) / statistics.median(xs)
                       if len(xs) > 1 and statistics.median(xs) else None)
        meds.append(m)
    return meds, groups


def primary(s):
    """The metric a sample is ranked by: throughput for the workloads, wall
    time for the real programs."""
    return s["tput"] if is_workload(s["workload"]) else s["wall_s"]


def paired_ratio(num, den, key):
    """Median over reps of key(num sample) / key(den sample), on the reps
    where both runs succeeded. Runs of one rep were made minutes apart at
    most, so drift of a shared machine cancels out of each ratio."""
    d = {s["rep"]: key(s) for s in den if s["ok"]}
    xs = [key(s) / d[s["rep"]] for s in num
          if s["ok"] and d.get(s["rep"])]
    return statistics.median(xs) if xs else None


def rows_of(meds):
    """[(workload, threads)] in run order, and {(wl, t): {alloc: median}}."""
    order, by = [], {}
    for m in meds:
        k = (m["workload"], m["threads"])
        if k not in by:
            by[k] = {}
            order.append(k)
        by[k][m["alloc"]] = m
    return order, by


def fmt_tput(x):
    return "—" if x is None else "%.2f M/s" % (x / 1e6)


def fmt_mib(kib):
    return "—" if kib is None else "%.1f MiB" % (kib / 1024)


def fmt_wall(s):
    return "—" if s is None else "%.2f s" % s


def ratio_cell(r, best_name, ok):
    if r is None:
        return "—"
    return "%.2f vs %s %s" % (r, best_name, "✓" if ok else "✗ **miss**")


def heaplab_ratios(row, groups, peers):
    """heaplab against the best peer of one row (best by median): (paired
    ratio, peer, meets target) for speed (throughput, or wall time for the
    programs) and for peak RSS; None when not computable."""
    hl = row.get(HEAPLAB)
    ps = [row[p] for p in peers if p in row and row[p]["n_ok"]]
    if not hl or not hl["n_ok"] or not ps:
        return None, None

    def versus(best, key, meets):
        r = paired_ratio(groups[(hl["workload"], hl["threads"], HEAPLAB)],
                         groups[(best["workload"], best["threads"],
                                 best["alloc"])], key)
        return None if r is None else (r, best["alloc"], meets(r))

    if is_workload(hl["workload"]):
        speed = versus(max(ps, key=lambda m: m["tput"]), primary,
                       lambda r: r >= TARGET_TPUT)
    else:
        speed = versus(min(ps, key=lambda m: m["wall_s"]), primary,
                       lambda r: r <= TARGET_WALL)
    rss = versus(min(ps, key=lambda m: m["maxrss_kib"]),
                 lambda s: s["maxrss_kib"], lambda r: r <= TARGET_RSS)
    return speed, rss


def write_table(path, meds, groups, allocs, info, cfg, hl_note):
    names = [a for a, _ in allocs]
    peers = [a for a in names if a != HEAPLAB]
    have_hl = HEAPLAB in names
    order, by = rows_of(meds)
    spreads = [m["spread"] for m in meds if m["spread"] is not None]
    L = ["# Allocator comparison", "",
         "%s, %d CPUs, Linux %s; commit %s%s; %s." % (
             info["cpu"] or "unknown CPU", info["ncpu"], info["kernel"],
             info["commit"][:12], " (dirty)" if info["dirty"] else "",
             info["date"]),
         "%s mode: median of %d reps per cell; workload scale %g." % (
             "Quick" if cfg["quick"] else "Full", cfg["reps"], cfg["scale"]),
         ""]
    if not have_hl:
        L += ["heaplab was not measured (%s): the ratio columns are empty."
              % hl_note, ""]
    if spreads:
        L += ["Noise: the spread (max - min) / median of a cell's samples "
              "was %.0f%% at the median cell and %.0f%% at the worst. The "
              "ratios are medians of per-rep ratios (runs of one rep are "
              "made close in time), which cancels most of the drift; a "
              "ratio within a few percent of its target is still not "
              "decided by one run." % (100 * statistics.median(spreads),
                                       100 * max(spreads)), ""]
    wl_rows = [k for k in order if is_workload(k[0])]
    if wl_rows:
        L += ["## Workloads: throughput and peak RSS",
              "",
              "Each cell: median operations per second (higher is better), "
              "median peak RSS (lower is better). Targets for heaplab: "
              "throughput ≥ %.2f× the best peer, RSS ≤ %.2f× the smallest "
              "peer." % (TARGET_TPUT, TARGET_RSS), "",
              "| workload | threads | " + " | ".join(names)
              + " | heaplab / best peer throughput"
              " | heaplab / smallest peer RSS |",
              "|---|---:|" + "---:|" * len(names) + "---|---|"]
        for k in wl_rows:
            row = by[k]
            cells = []
            for a in names:
                m = row.get(a)
                if not m or not m["n_ok"]:
                    cells.append("FAILED" if m else "—")
                else:
                    cells.append("%s, %s" % (fmt_tput(m["tput"]),
                                             fmt_mib(m["maxrss_kib"])))
            sp, rs = heaplab_ratios(row, groups, peers)
            L.append("| %s | %d | %s | %s | %s |" % (
                k[0], k[1], " | ".join(cells),
                ratio_cell(*sp) if sp else "—",
                ratio_cell(*rs) if rs else "—"))
        L.append("")
    pr_rows = [k for k in order if not is_workload(k[0])]
    if pr_rows:
        what = {
            "python": "python: pywork.py --scale %g, PYTHONMALLOC=malloc"
                      % cfg["programs"]["python_scale"],
            "gcc": "gcc: gcc -O2 -c of %d generated functions"
                   % cfg["programs"]["gcc_functions"],
            "git": "git: init, add -A, commit, gc of %d generated files"
                   % cfg["programs"]["git_files"]}
        L += ["## Real programs: wall time and peak RSS", "",
              "Each cell: median wall time (lower is better), median peak "
              "RSS of the program and its children. Targets for heaplab: "
              "wall time ≤ %.2f× the fastest peer, RSS ≤ %.2f× the smallest "
              "peer. %s." % (TARGET_WALL, TARGET_RSS, "; ".join(
                  what[k[0]] for k in pr_rows if k[0] in what)), "",
              "| program | " + " | ".join(names)
              + " | heaplab / fastest peer | heaplab / smallest peer RSS |",
              "|---|" + "---:|" * len(names) + "---|---|"]
        for k in pr_rows:
            row = by[k]
            cells = []
            for a in names:
                m = row.get(a)
                if not m or not m["n_ok"]:
                    cells.append("FAILED" if m else "—")
                else:
                    cells.append("%s, %s" % (fmt_wall(m["wall_s"]),
                                             fmt_mib(m["maxrss_kib"])))
            sp, rs = heaplab_ratios(row, groups, peers)
            L.append("| %s | %s | %s | %s |" % (
                k[0], " | ".join(cells),
                ratio_cell(*sp) if sp else "—",
                ratio_cell(*rs) if rs else "—"))
        L.append("")
    failed = [m for m in meds if m["n_failed"]]
    if failed:
        L += ["## Failed runs", ""]
        for m in failed:
            L.append("- %s threads=%s %s: %d of %d runs failed (see "
                     "results.json)" % (m["workload"], m["threads"], m["alloc"],
                                        m["n_failed"],
                                        m["n_failed"] + m["n_ok"]))
        L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def write_bars(out, meds, groups, allocs):
    """bars_tput.dat: speed relative to glibc, the median of per-rep ratios
    (workloads: throughput / glibc's; programs: glibc's wall time / wall
    time), bars_rss.dat: median peak RSS in MiB. One row per
    workload/threads, one column per allocator; '?' = missing."""
    names = [a for a, _ in allocs]
    order, by = rows_of(meds)

    def label(k):
        return k[0] if k[1] is None else "%s/%d" % (k[0], k[1])

    with open(os.path.join(out, "bars_tput.dat"), "w") as ft, \
            open(os.path.join(out, "bars_rss.dat"), "w") as fr:
        ft.write("# speed relative to glibc (higher is better)\n")
        fr.write("# median peak RSS in MiB (lower is better)\n")
        ft.write("label " + " ".join(names) + "\n")
        fr.write("label " + " ".join(names) + "\n")
        for k in order:
            row = by[k]
            base = groups.get(k + ("glibc",), [])
            tv, rv = [], []
            for a in names:
                m = row.get(a)
                if not m or not m["n_ok"]:
                    tv.append("?")
                    rv.append("?")
                    continue
                rv.append("%.2f" % (m["maxrss_kib"] / 1024))
                ss = groups[k + (a,)]
                if is_workload(k[0]):
                    r = paired_ratio(ss, base, primary)
                else:
                    r = paired_ratio(ss, base, lambda s: 1 / s["wall_s"])
                tv.append("?" if r is None else "%.4f" % r)
            ft.write("%s %s\n" % (label(k), " ".join(tv)))
            fr.write("%s %s\n" % (label(k), " ".join(rv)))


def read_rss_trace(path):
    """Returns ([(t_ms, rss_kib)], {phase: t_ms}) from a --rss-out file."""
    pts, phases = [], {}
    for line in open(path):
        if line.startswith("# phase "):
            _, _, name, t = line.split()
            phases[name] = float(t)
        elif line.strip() and not line.startswith("#"):
            t, r = line.split()
            pts.append((float(t), int(r)))
    return pts, phases


def write_rss_time(out, traces):
    """rss_time.dat: one block per allocator (separated by two blank lines,
    gnuplot 'index'), each starting with a header line naming it. Columns:
    seconds, RSS MiB, and the RSS again on the samples where a burst-free
    phase starts (else '?'), to mark the phases on each line. Returns
    whether any trace was written."""
    with open(os.path.join(out, "rss_time.dat"), "w") as f:
        f.write("# wl_smalllarge -t 1: RSS over time per allocator\n")
        first = True
        for name, path in traces:
            if not os.path.exists(path):
                continue
            pts, phases = read_rss_trace(path)
            if not pts:
                continue
            if not first:
                f.write("\n\n")
            first = False
            marks = {}
            for ph in ("burst1", "burst2", "end"):
                if ph in phases:
                    i = min(range(len(pts)),
                            key=lambda j: abs(pts[j][0] - phases[ph]))
                    marks[i] = ph
            f.write("t_s %s phase\n" % name)
            for i, (t, r) in enumerate(pts):
                f.write("%.3f %.2f %s\n" % (t / 1e3, r / 1024,
                                            "%.2f" % (r / 1024) if i in marks
                                            else "?"))
    return not first


def plot(out, with_rss):
    """Draws alloc_bars.png, and alloc_rss.png when with_rss (there are RSS
    traces: wl_smalllarge was run)."""
    gp = shutil.which("gnuplot")
    if not gp:
        note("gnuplot not found: install the package gnuplot-nox to draw "
             "the plots (their data files are in %s)" % out)
        return
    plots = [("alloc_bars.gp", "alloc_bars.png")]
    if with_rss:
        plots.append(("alloc_rss.gp", "alloc_rss.png"))
    elif os.path.exists(os.path.join(out, "alloc_rss.png")):
        os.unlink(os.path.join(out, "alloc_rss.png"))  # from an older run
    for script, png in plots:
        r = subprocess.run([gp, "-c", os.path.join(REPO, "plots", script),
                            out, os.path.join(out, png)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            note("gnuplot %s failed:\n%s" % (script, r.stderr))
        else:
            note("wrote %s" % os.path.join(out, png))
