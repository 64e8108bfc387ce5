#!/usr/bin/env python3
"""allocbench — heaplab's malloc against glibc, jemalloc, tcmalloc, mimalloc.

Runs the bench/workloads programs and three real programs (python, gcc, git)
under LD_PRELOAD of each allocator and reports median throughput (or wall
time) and peak RSS. See docs/allocator-comparison.md.

How it measures
1. Every run goes through runwrap (bench/peers/runwrap.c, compiled into
   OUT/bin): it forks the program with LD_PRELOAD set for it alone, waits
   with wait4() and reports wall time and ru_maxrss (peak RSS of the program
   and of the children it waited for). A program started directly from
   Python would inherit the interpreter's RSS as its floor.
2. The runs are interleaved, repetition-major:
     for rep: for workload: for threads: for allocator (rotated by rep)
   so that slow drift of a noisy machine hits every allocator alike and the
   ratios compare runs made close in time. Reps use seed rep+1; within a rep
   every allocator runs the same allocation sequence.
3. Medians over the successful reps; every raw sample is kept in
   results.json. A failed run (non-zero exit, timeout) is recorded with its
   stderr and left out of the medians.

Outputs in OUT (default out/alloc): results.json, table.md, the plot data
(bars_tput.dat, bars_rss.dat, rss_time.dat), raw/ (per-run RSS traces of
wl_smalllarge) and, when gnuplot is installed, alloc_bars.png and
alloc_rss.png drawn by plots/alloc_bars.gp and plots/alloc_rss.gp.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import realprogs  # noqa: E402
import report  # noqa: E402
from report import HEAPLAB, REPO, note  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

LIBDIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
           "/usr/lib64", "/usr/lib", "/usr/local/lib"]
# name -> candidate file names of the shared library (None: no preload).
PEERS = [
    ("glibc", None),
    ("jemalloc", ["libjemalloc.so.2", "libjemalloc.so"]),
    ("tcmalloc", ["libtcmalloc_minimal.so.4", "libtcmalloc_minimal.so"]),
    ("mimalloc", ["libmimalloc.so.2", "libmimalloc.so"]),
]
WORKLOADS = ["wl_sizemix", "wl_larson", "wl_prodcons", "wl_smalllarge"]
PROGRAMS = ["python", "gcc", "git"]

# Sizes: (full, quick). Workloads take -s SCALE; programs their own size.
WL_SCALE = (1.0, 0.5)
PY_SCALE = (1.0, 0.3)
GCC_FUNCS = (1200, 300)
GIT_FILES = (5000, 1500)
RSS_IDLE_MS = 1500  # idle tail of the wl_smalllarge run whose RSS is plotted
TIMEOUT_S = 300


# ---------------------------------------------------------------- setup --

def find_peer_lib(names):
    for d in LIBDIRS:
        for n in names:
            p = os.path.join(d, n)
            if os.path.exists(p):
                return p
    return None


def find_allocators(build, only, extra):
    """Returns [(name, lib path or None)] of the allocators to run."""
    found = []
    for name, names in PEERS:
        if names is None:
            found.append((name, None))
            continue
        lib = find_peer_lib(names)
        if lib:
            found.append((name, lib))
        else:
            note("%s not found (looked for %s in %s): skipped"
                 % (name, " or ".join(names), ", ".join(LIBDIRS)))
    hl = os.path.join(build, "alloc", "libheaplab_malloc.so")
    if os.path.exists(hl):
        found.append((HEAPLAB, hl))
    else:
        note("heaplab not built (no %s): skipped" % hl)
    for spec in extra:
        name, _, lib = spec.partition("=")
        if not name or not os.path.exists(lib):
            sys.exit("allocbench: --peer %s: expected NAME=/path/to/lib.so "
                     "of an existing file" % spec)
        found = [(n, p) for n, p in found if n != name] + [(name, lib)]
    if only:
        unknown = set(only) - {n for n, _ in found}
        if unknown:
            note("requested allocator(s) not available: %s"
                 % ", ".join(sorted(unknown)))
        found = [(n, p) for n, p in found if n in only]
    return found


def check_preload(runwrap, name, lib, tmp):
    """True if lib really loads under LD_PRELOAD (ld.so only warns and goes
    on without it when it cannot)."""
    if lib is None:
        return True
    out = os.path.join(tmp, "maps.txt")
    res = os.path.join(tmp, "maps.res")
    with open(out, "w") as f:
        p = subprocess.run([runwrap, res, "cat", "/proc/self/maps"],
                           stdout=f, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, RUNWRAP_PRELOAD=lib))
    maps = open(out).read()
    real = os.path.realpath(lib)
    if p.returncode != 0 or (real not in maps and lib not in maps):
        note("%s: %s does not load under LD_PRELOAD (%s): skipped"
             % (name, lib, p.stderr.strip().splitlines()[-1:] or "not mapped"))
        return False
    return True


def compile_c(src, exe, extra=()):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        sys.exit("allocbench: no C compiler (cc) to build %s" % src)
    cmd = [cc, "-std=gnu11", "-O2", "-o", exe, src, *extra]
    r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("allocbench: %s failed:\n%s" % (" ".join(cmd), r.stderr))


def find_workloads(build, names, bindir):
    """Workload executables from the CMake build, else compiled from
    bench/workloads/ into bindir (so the harness runs without a build)."""
    exes = {}
    for n in names:
        exe = os.path.join(build, "bench", "workloads", n)
        src = os.path.join(REPO, "bench", "workloads", n + ".c")
        newest_src = max(os.path.getmtime(src), os.path.getmtime(
            os.path.join(os.path.dirname(src), "wl_common.h")))
        if os.access(exe, os.X_OK):
            if os.path.getmtime(exe) < newest_src:
                note("%s is older than its source: rebuild the build "
                     "directory" % exe)
        else:
            exe = os.path.join(bindir, n)
            if (not os.access(exe, os.X_OK)
                    or os.path.getmtime(exe) < newest_src):
                note("%s not in %s: compiling it into %s"
                     % (n, os.path.join(build, "bench", "workloads"), bindir))
                compile_c(src, exe, ["-pthread"])
        exes[n] = exe
    return exes


def machine_info(allocs):
    def cmd(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True,
                                  env=dict(os.environ, GIT_OPTIONAL_LOCKS="0"),
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = cmd("git", "-C", REPO, "rev-parse", "HEAD") or "unknown"
    dirty = bool(cmd("git", "-C", REPO, "status", "--porcelain",
                     "--untracked-files=no")) if commit != "unknown" else None
    cc = os.environ.get("CC") or "cc"
    return {
        "cpu": cpu,
        "ncpu": os.cpu_count(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "compiler": cmd(cc, "--version").splitlines()[0:1],
        "gcc": cmd("gcc", "--version").splitlines()[0:1],
        "git": cmd("git", "--version"),
        "python": sys.version.split()[0],
        "commit": commit,
        "dirty": dirty,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "allocators": {n: (os.path.realpath(p) if p else "system (no preload)")
                       for n, p in allocs},
    }


# ------------------------------------------------------------------ runs --

class Runner:
    def __init__(self, runwrap, tmp):
        self.runwrap = runwrap
        self.tmp = tmp

    def run(self, argv, lib, env_extra=None, cwd=None, timeout=TIMEOUT_S):
        """Runs argv under lib; returns dict(ok, exit, wall_s, maxrss_kib,
        stdout, stderr)."""
        res = os.path.join(self.tmp, "run.res")
        out = os.path.join(self.tmp, "run.out")
        err = os.path.join(self.tmp, "run.err")
        if os.path.exists(res):
            os.unlink(res)
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        env["RUNWRAP_PRELOAD"] = lib or ""
        env.update(env_extra or {})
        with open(out, "w") as fo, open(err, "w") as fe:
            p = subprocess.Popen([self.runwrap, res] + argv, stdout=fo,
                                 stderr=fe, stdin=subprocess.DEVNULL,
                                 env=env, cwd=cwd, start_new_session=True)
            timed_out = False
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(p.pid, 9)
                p.wait()
        stdout = open(out, errors="replace").read()
        stderr = open(err, errors="replace").read()
        r = {"ok": False, "exit": p.returncode, "stdout": stdout,
             "stderr": stderr}
        if timed_out:
            r["error"] = "timed out after %d s" % timeout
            return r
        try:
            kv = parse_kv(open(res).read())
        except OSError:
            r["error"] = "runwrap failed: " + stderr[-500:]
            return r
        r.update(wall_s=kv["wall_s"], maxrss_kib=int(kv["maxrss_kib"]),
                 exit=int(kv["exit"]), signal=int(kv["signal"]))
        r["ok"] = r["exit"] == 0
        if not r["ok"]:
            r["error"] = ("exit %d, signal %d: " % (r["exit"], r["signal"])
                          + stderr[-1000:])
        return r


def parse_kv(line):
    kv = {}
    for tok in line.split():
        k, eq, v = tok.partition("=")
        if not eq:
            continue
        try:
            kv[k] = int(v)
        except ValueError:
            try:
                kv[k] = float(v)
            except ValueError:
                kv[k] = v
    return kv


def run_workload(runner, exe, lib, threads, scale, seed, rss_out=None):
    argv = [exe, "-t", str(threads), "-s", "%g" % scale, "--seed", str(seed)]
    if rss_out:
        argv += ["--rss-out", rss_out, "--idle-ms", str(RSS_IDLE_MS)]
    r = runner.run(argv, lib)
    if r["ok"]:
        lines = [l for l in r["stdout"].splitlines() if "ops_per_sec=" in l]
        if len(lines) != 1:
            r["ok"] = False
            r["error"] = "expected one result line, got: " + r["stdout"][-300:]
        else:
            r["metrics"] = parse_kv(lines[0])
            r["tput"] = r["metrics"]["ops_per_sec"]
    return r


class Programs:
    """The real programs and their inputs (generated once into work/)."""

    def __init__(self, work, quick):
        self.work = work
        q = 1 if quick else 0
        self.py_scale = PY_SCALE[q]
        self.gcc_funcs = GCC_FUNCS[q]
        self.git_files = GIT_FILES[q]
        self.gcc = shutil.which("gcc")
        self.git = shutil.which("git")

    def available(self, name):
        if name == "gcc" and not self.gcc:
            return "gcc not found"
        if name == "git" and not self.git:
            return "git not found"
        return None

    def prepare(self, names):
        os.makedirs(self.work, exist_ok=True)
        if "gcc" in names:
            self.csrc = os.path.join(self.work, "big_%d.c" % self.gcc_funcs)
            if not os.path.exists(self.csrc):
                realprogs.gen_c(self.csrc, self.gcc_funcs)
        if "git" in names:
            self.tree = os.path.join(self.work, "tree_%d" % self.git_files)
            if not os.path.exists(os.path.join(self.tree, ".done")):
                shutil.rmtree(self.tree, ignore_errors=True)
                realprogs.gen_tree(self.tree, self.git_files)
                open(os.path.join(self.tree, ".done"), "w").close()

    def config(self):
        return {"python_scale": self.py_scale, "gcc_functions": self.gcc_funcs,
                "git_files": self.git_files}

    def run(self, runner, name, lib):
        if name == "python":
            return runner.run([sys.executable,
                               os.path.join(HERE, "pywork.py"),
                               "--scale", "%g" % self.py_scale], lib,
                              {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"})
        if name == "gcc":
            obj = os.path.join(runner.tmp, "big.o")
            return runner.run([self.gcc, "-O2", "-c", self.csrc, "-o", obj],
                              lib, cwd=self.work)
        if name == "git":
            return self.run_git(runner, lib)
        raise ValueError(name)

    def run_git(self, runner, lib):
        """init, add -A, commit, gc of the generated tree into a fresh git
        directory: wall time summed over the steps, peak RSS the largest."""
        gitdir = tempfile.mkdtemp(prefix="git-", dir=runner.tmp)
        env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
               "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
               "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
               "GIT_DIR": gitdir, "GIT_WORK_TREE": self.tree}
        g = [self.git, "-c", "user.name=allocbench",
             "-c", "user.email=allocbench@example.invalid"]
        steps = [["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "gen"],
                 ["gc", "-q"]]
        total = {"ok": True, "wall_s": 0.0, "maxrss_kib": 0, "steps": {}}
        try:
            for s in steps:
                r = runner.run(g + s, lib, env, cwd=self.tree)
                if not r["ok"]:
                    r["error"] = "git %s: %s" % (s[0], r.get("error", ""))
                    return r
                total["wall_s"] += r["wall_s"]
                total["maxrss_kib"] = max(total["maxrss_kib"], r["maxrss_kib"])
                total["steps"][s[0]] = {"wall_s": r["wall_s"],
                                        "maxrss_kib": r["maxrss_kib"]}
        finally:
            shutil.rmtree(gitdir, ignore_errors=True)
        return total


# ---------------------------------------------------------------- main --

def main():
    ap = argparse.ArgumentParser(
        description="Compare heaplab's malloc with glibc, jemalloc, tcmalloc "
                    "and mimalloc under LD_PRELOAD.")
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="CMake build directory with "
                         "alloc/libheaplab_malloc.so and bench/workloads/ "
                         "(default: build)")
    ap.add_argument("--out", default=os.path.join(REPO, "out", "alloc"),
                    help="output directory (default: out/alloc)")
    ap.add_argument("--reps", type=int, help="repetitions (default 5, quick 3)")
    ap.add_argument("--quick", action="store_true",
                    help="fewer reps and shorter runs (CI)")
    ap.add_argument("--workloads",
                    help="comma-separated subset of: "
                         + ",".join(WORKLOADS + PROGRAMS))
    ap.add_argument("--allocs", help="comma-separated subset of allocators")
    ap.add_argument("--threads", default="1,2",
                    help="thread counts for the workloads (default 1,2)")
    ap.add_argument("--scale", type=float,
                    help="workload scale (default 1, quick %g)" % WL_SCALE[1])
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=LIB",
                    help="add or replace an allocator (repeatable)")
    args = ap.parse_args()

    chosen = (args.workloads.split(",") if args.workloads
              else WORKLOADS + PROGRAMS)
    bad = [w for w in chosen if w not in WORKLOADS + PROGRAMS]
    if bad:
        ap.error("unknown workload(s): %s" % ", ".join(bad))
    try:
        threads = [int(t) for t in args.threads.split(",")]
    except ValueError:
        ap.error("--threads: expected a comma-separated list of integers")
    if (args.reps is not None and args.reps < 1) or min(threads) < 1:
        ap.error("--reps and --threads must be at least 1")
    args.workloads, args.threads = chosen, threads  # validated lists
    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "raw"), exist_ok=True)
    # Scratch space for the runs (git repositories, gcc's object file, the
    # programs' output): tmpfs when there is one, so that disk latency does
    # not blur the wall times.
    shm = "/dev/shm"
    tmp = tempfile.mkdtemp(prefix="allocbench-", dir=shm if os.access(
        shm, os.W_OK) else out)
    try:
        return run_all(args, out, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(args, out, tmp):
    reps = args.reps or (3 if args.quick else 5)
    scale = args.scale or WL_SCALE[1 if args.quick else 0]
    threads, chosen = args.threads, args.workloads
    bindir = os.path.join(out, "bin")
    os.makedirs(bindir, exist_ok=True)

    runwrap = os.path.join(bindir, "runwrap")
    src = os.path.join(HERE, "runwrap.c")
    if (not os.access(runwrap, os.X_OK)
            or os.path.getmtime(runwrap) < os.path.getmtime(src)):
        compile_c(src, runwrap)
    allocs = find_allocators(os.path.abspath(args.build),
                             args.allocs.split(",") if args.allocs else None,
                             args.peer)
    hl_lib = os.path.join(os.path.abspath(args.build), "alloc",
                          "libheaplab_malloc.so")
    hl_note = ("not selected by --allocs" if os.path.exists(hl_lib)
               else "no %s" % hl_lib)
    allocs = [(n, p) for n, p in allocs if check_preload(runwrap, n, p, tmp)]
    if not allocs:
        sys.exit("allocbench: no allocator to run")
    wls = [w for w in chosen if w in WORKLOADS]
    exes = find_workloads(os.path.abspath(args.build), wls, bindir)
    progs = Programs(os.path.join(out, "work"), args.quick)
    prs = []
    for p in (w for w in chosen if w in PROGRAMS):
        why = progs.available(p)
        if why:
            note("%s: skipped" % why)
        else:
            prs.append(p)
    progs.prepare(prs)

    info = machine_info(allocs)
    cfg = {"quick": args.quick, "reps": reps, "scale": scale,
           "threads": threads, "workloads": wls, "programs_run": prs,
           "programs": progs.config(), "allocators": [n for n, _ in allocs],
           "order": "for rep: for workload: for threads: for allocator "
                    "(allocator order rotated by rep)",
           "targets": {"throughput_vs_best_peer": report.TARGET_TPUT,
                       "rss_vs_smallest_peer": report.TARGET_RSS,
                       "wall_vs_fastest_peer": report.TARGET_WALL},
           "rss_trace": "wl_smalllarge rep 0 threads 1, idle tail %d ms"
                        % RSS_IDLE_MS}
    jobs = [(w, t) for w in wls for t in threads] + [(p, None) for p in prs]
    total = reps * len(jobs) * len(allocs)
    note("%d runs: %d reps x %d jobs x %d allocators (%s)"
         % (total, reps, len(jobs), len(allocs),
            ", ".join(n for n, _ in allocs)))
    runner = Runner(runwrap, tmp)
    samples, traces = [], []
    t_start = time.monotonic()
    done = 0
    for rep in range(reps):
        k = rep % len(allocs)
        order = allocs[k:] + allocs[:k]
        for w, t in jobs:
            for name, lib in order:
                rss_out = None
                if w == "wl_smalllarge" and rep == 0 and t == threads[0]:
                    rss_out = os.path.join(out, "raw", "rss_%s.txt" % name)
                    traces.append((name, rss_out))
                if w in WORKLOADS:
                    r = run_workload(runner, exes[w], lib, t, scale, rep + 1,
                                     rss_out)
                else:
                    r = progs.run(runner, w, lib)
                done += 1
                s = {"rep": rep, "workload": w, "threads": t, "alloc": name,
                     "ok": r["ok"], "wall_s": r.get("wall_s"),
                     "maxrss_kib": r.get("maxrss_kib")}
                for key in ("tput", "metrics", "steps", "error"):
                    if key in r:
                        s[key] = r[key]
                samples.append(s)
                if r["ok"]:
                    what = (report.fmt_tput(r["tput"]) if "tput" in r
                            else report.fmt_wall(r["wall_s"]))
                    msg = "%s, %s" % (what, report.fmt_mib(r["maxrss_kib"]))
                else:
                    msg = "FAILED: " + r.get("error", "")[-300:]
                note("[%d/%d %.0fs] rep %d %s%s %s: %s" % (
                    done, total, time.monotonic() - t_start, rep, w,
                    "" if t is None else " -t %d" % t, name, msg))
    cfg["elapsed_s"] = round(time.monotonic() - t_start, 1)

    meds, groups = report.summarize(samples)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"machine": info, "config": cfg, "samples": samples,
                   "medians": meds}, f, indent=1)
    # Order the rows as the jobs were run.
    rank = {j: i for i, j in enumerate(jobs)}
    meds.sort(key=lambda m: rank[(m["workload"], m["threads"])])
    report.write_table(os.path.join(out, "table.md"), meds, groups, allocs,
                       info, cfg, hl_note)
    report.write_bars(out, meds, groups, allocs)
    report.plot(out, report.write_rss_time(out, traces))
    note("done in %.0f s; results in %s" % (cfg["elapsed_s"], out))
    sys.stdout.write(open(os.path.join(out, "table.md")).read())
    return 1 if any(not s["ok"] for s in samples) else 0


if __name__ == "__main__":
    sys.exit(main())
