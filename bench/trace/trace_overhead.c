/*
 * bench/trace/trace_overhead.c — what tracing costs, on the two programs
 * of the tracer's overhead target (docs/results/trace.md):
 *
 *  - thread-ring (Benchmarks Game): 503 goroutines in a ring of
 *    unbuffered channels pass a token HOPS times. Every hop is a channel
 *    send that readies the next goroutine, a receive that parks the
 *    sender and a switch: three events (GO_UNBLOCK, GO_BLOCK, GO_START)
 *    every ~70 ns, the tracer's worst case.
 *  - binary-trees (workloads/binarytrees.c, Go #2's structure): the
 *    collector's case, allocation-bound, with GC cycles, mark workers,
 *    assists and sweeps traced.
 *
 *   trace_overhead [-w ring|binarytrees|all] [-t off|on|both] [-n HOPS]
 *                  [-d DEPTH] [-r REPS]
 *
 * Defaults: all, both, 1,000,000 hops, depth 16, 7 reps. -t off or -t on
 * runs one side only (to profile it: `perf record trace_overhead -t on`),
 * and prints no overhead line. HLMAXPROCS sets the
 * processors, as for any program. Each rep runs every selected program
 * with tracing off and on, alternating which goes first, so that the
 * machine's drift (other builds on a shared 2-core machine) falls on both
 * sides alike; the figures are medians over the reps. It prints
 *
 *   result bench=ring trace=off ns_per_hop=N procs=P hops=H reps=R
 *   result bench=ring trace=on ns_per_hop=N procs=P hops=H reps=R
 *          events_per_hop=E bytes_per_hop=B
 *   result bench=binarytrees trace=off ms=N procs=P depth=D reps=R
 *   result bench=binarytrees trace=on ms=N procs=P depth=D reps=R
 *          events=E bytes=B gc_cycles=G
 *   overhead bench=ring procs=P median=+X.X% low=+Y.Y% high=+Z.Z%
 *   overhead bench=binarytrees procs=P median=+X.X% low=+Y.Y% high=+Z.Z%
 *
 * median is the median of on over the median of off; low and high the
 * first and third quartiles of the per-rep ratios (on / off of the same
 * rep), a measure of the noise. The trace goes to
 * $TMPDIR/trace_overhead.hltrace (deleted afterwards) and is read back
 * after each traced run (outside the timing) to count its events; a trace
 * the reader rejects fails the benchmark (exit status 1).
 */
#include "heaplab/gc.h"
#include "heaplab/sched.h"
#include "heaplab/trace.h"
#include "trace/reader.h"
#include "workloads/workloads.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RING 503
#define MAX_REPS 64

/* ------------------------------------------------------------ thread-ring */

static hl_chan_t *ring[RING], *done;

static void member(void *arg) {
  int i = (int)(intptr_t)arg;
  hl_chan_t *in = ring[i], *out = ring[(i + 1) % RING];
  for (;;) {
    int64_t t;
    hl_chan_recv(in, &t);
    if (t < 0) { /* stop: pass it on, leave */
      hl_chan_send(out, &t);
      return;
    }
    if (t == 0) {
      hl_chan_send(done, &t);
      continue;
    }
    t--;
    hl_chan_send(out, &t);
  }
}

/* One thread-ring run; returns ns per hop. */
static double run_ring(long hops) {
  for (int i = 0; i < RING; i++)
    ring[i] = hl_chan_make(sizeof(int64_t), 0);
  done = hl_chan_make(sizeof(int64_t), 0);
  for (int i = 0; i < RING; i++)
    hl_go(member, (void *)(intptr_t)i);
  int64_t t0 = hl_nanotime(), tok = hops;
  hl_chan_send(ring[0], &tok);
  hl_chan_recv(done, &tok);
  int64_t el = hl_nanotime() - t0;
  tok = -1; /* the last member got 0: stop them all from its successor */
  hl_chan_send(ring[(hops + 1) % RING], &tok);
  hl_chan_recv(ring[(hops + 1) % RING], &tok); /* back full circle */
  while (hl_numgoroutine() > 1)
    hl_yield();
  for (int i = 0; i < RING; i++)
    hl_chan_free(ring[i]);
  hl_chan_free(done);
  return (double)el / (double)hops;
}

/* ----------------------------------------------------------- binary-trees */

static int bt_depth = 16;

/* One binary-trees run; returns ms, or -1 when its check failed. */
static double run_bt(void) {
  wl_binarytrees_params_t p = WL_BINARYTREES_DEFAULTS;
  p.depth = bt_depth;
  wl_metrics_t m;
  int64_t t0 = hl_nanotime();
  if (wl_binarytrees_run(&p, NULL, &m) != 0 || !m.ok)
    return -1;
  return (double)(hl_nanotime() - t0) / 1e6;
}

/* ------------------------------------------------------------ the harness */

static char path[512];

typedef struct trace_count {
  uint64_t events, gc_cycles;
  long long bytes;
} trace_count_t;

/* Reads the trace back: its events, GC cycles and size. */
static int count_trace(trace_count_t *c) {
  char err[256];
  hlt_reader_t *r = hlt_open_file(path, err, sizeof err);
  if (!r) {
    fprintf(stderr, "trace_overhead: %s: %s\n", path, err);
    return -1;
  }
  hlt_event_t ev;
  int k;
  memset(c, 0, sizeof *c);
  while ((k = hlt_next(r, &ev)) > 0) {
    c->events++;
    c->gc_cycles += ev.kind == TRACE_EV_GC_START;
  }
  if (k < 0)
    fprintf(stderr, "trace_overhead: %s: %s\n", path, hlt_error(r));
  hlt_close(r);
  struct stat st;
  c->bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
  return k < 0 ? -1 : 0;
}

/* Runs fn once with tracing off and once on (in the order given by
 * on_first); *off and *on get its results, *c the trace's counts. */
static int side_off = 1, side_on = 1; /* -t */

static int run_pair(double (*fn)(void *), void *arg, int on_first,
                    double *off, double *on, trace_count_t *c) {
  *off = *on = 0;
  for (int k = 0; k < 2; k++) {
    if (k == on_first ? !side_on : !side_off)
      continue;
    if (k == on_first) {
      if (hl_trace_start(path) != 0) {
        fprintf(stderr, "trace_overhead: cannot trace to %s\n", path);
        return -1;
      }
      *on = fn(arg);
      hl_trace_stop();
      if (count_trace(c) < 0)
        return -1;
    } else {
      *off = fn(arg);
    }
    if (*on < 0 || *off < 0) {
      fprintf(stderr, "trace_overhead: binary-trees: wrong check\n");
      return -1;
    }
  }
  return 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The median of v[0..n) (v is left as it is). */
static double median(const double *v0, long n) {
  double v[MAX_REPS];
  memcpy(v, v0, sizeof(double) * (size_t)n);
  qsort(v, (size_t)n, sizeof(double), cmp);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long hops = 1000000, reps = 7;
static int do_ring = 1, do_bt = 1;

static double ring_fn(void *arg) {
  (void)arg;
  return run_ring(hops);
}
static double bt_fn(void *arg) {
  (void)arg;
  return run_bt();
}

static void report(const char *bench, double *off, double *on) {
  double ratio[MAX_REPS];
  for (long r = 0; r < reps; r++)
    ratio[r] = on[r] / off[r] - 1;
  qsort(ratio, (size_t)reps, sizeof(double), cmp);
  double moff = median(off, reps), mon = median(on, reps);
  printf("overhead bench=%s procs=%d median=%+.1f%% low=%+.1f%% "
         "high=%+.1f%%\n",
         bench, hl_maxprocs(), (mon / moff - 1) * 100,
         ratio[reps / 4] * 100, ratio[(3 * reps) / 4] * 100);
}

static int bench(void *arg) {
  (void)arg;
  const char *tmp = getenv("TMPDIR");
  snprintf(path, sizeof path, "%s/trace_overhead.hltrace",
           tmp && *tmp ? tmp : "/tmp");
  double roff[MAX_REPS], ron[MAX_REPS], boff[MAX_REPS], bon[MAX_REPS];
  trace_count_t rc = {0}, bc = {0};
  if (do_ring)
    run_ring(hops / 10); /* warm-up: stacks, channels, buffers */
  if (do_bt)
    run_bt();
  for (long r = 0; r < reps; r++) {
    if (do_ring && run_pair(ring_fn, NULL, r & 1, &roff[r], &ron[r], &rc))
      return 1;
    if (do_bt && run_pair(bt_fn, NULL, !(r & 1), &boff[r], &bon[r], &bc))
      return 1;
  }
  unlink(path);
  int procs = hl_maxprocs();
  if (do_ring && side_off)
    printf("result bench=ring trace=off ns_per_hop=%.1f procs=%d hops=%ld "
           "reps=%ld\n",
           median(roff, reps), procs, hops, reps);
  if (do_ring && side_on)
    printf("result bench=ring trace=on ns_per_hop=%.1f procs=%d hops=%ld "
           "reps=%ld events_per_hop=%.2f bytes_per_hop=%.2f\n",
           median(ron, reps), procs, hops, reps,
           (double)rc.events / (double)hops, (double)rc.bytes / (double)hops);
  if (do_bt && side_off)
    printf("result bench=binarytrees trace=off ms=%.1f procs=%d depth=%d "
           "reps=%ld\n",
           median(boff, reps), procs, bt_depth, reps);
  if (do_bt && side_on)
    printf("result bench=binarytrees trace=on ms=%.1f procs=%d depth=%d "
           "reps=%ld events=%llu bytes=%lld gc_cycles=%llu\n",
           median(bon, reps), procs, bt_depth, reps,
           (unsigned long long)bc.events, bc.bytes,
           (unsigned long long)bc.gc_cycles);
  if (do_ring && side_off && side_on)
    report("ring", roff, ron);
  if (do_bt && side_off && side_on)
    report("binarytrees", boff, bon);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: trace_overhead [-w ring|binarytrees|all] "
                  "[-t off|on|both] [-n HOPS (>= 1000)] [-d DEPTH (4..22)] "
                  "[-r REPS (1..%d)]\n",
          MAX_REPS);
  return 2;
}

int main(int argc, char **argv) {
  int opt;
  while ((opt = getopt(argc, argv, "w:n:d:r:t:")) != -1) {
    char *end;
    switch (opt) {
    case 'w':
      do_ring = !strcmp(optarg, "ring") || !strcmp(optarg, "all");
      do_bt = !strcmp(optarg, "binarytrees") || !strcmp(optarg, "all");
      if (!do_ring && !do_bt) {
        fprintf(stderr, "trace_overhead: -w %s: not ring, binarytrees or "
                        "all\n", optarg);
        return usage();
      }
      break;
    case 't':
      side_off = !strcmp(optarg, "off") || !strcmp(optarg, "both");
      side_on = !strcmp(optarg, "on") || !strcmp(optarg, "both");
      if (!side_off && !side_on) {
        fprintf(stderr, "trace_overhead: -t %s: not off, on or both\n",
                optarg);
        return usage();
      }
      break;
    case 'n':
      hops = strtol(optarg, &end, 10);
      if (*end || hops < 1000) {
        fprintf(stderr, "trace_overhead: -n %s: a hop count >= 1000\n",
                optarg);
        return usage();
      }
      break;
    case 'd':
      bt_depth = (int)strtol(optarg, &end, 10);
      if (*end || bt_depth < 4 || bt_depth > 22) {
        fprintf(stderr, "trace_overhead: -d %s: a depth 4..22\n", optarg);
        return usage();
      }
      break;
    case 'r':
      reps = strtol(optarg, &end, 10);
      if (*end || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "trace_overhead: -r %s: 1..%d reps\n", optarg,
                MAX_REPS);
        return usage();
      }
      break;
    default:
      return usage();
    }
  }
  if (optind < argc) {
    fprintf(stderr, "trace_overhead: unexpected argument \"%s\"\n",
            argv[optind]);
    return usage();
  }
  return hl_main(bench, NULL);
}
