/*
 * bench/trace/trace_ring.c — the tracer's cost on thread-ring (Benchmarks
 * Game: 503 goroutines in a ring of unbuffered channels pass a token HOPS
 * times; every hop is a channel send, a park and a ready, so every hop
 * emits several trace events). Runs alternate tracing off and on, REPS
 * times each, and print both side by side:
 *
 *   trace_ring [HOPS [REPS]]          (HLMAXPROCS as for any program)
 *   result bench=ring trace=off ns_per_hop=... 
 *   result bench=ring trace=on  ns_per_hop=... events_per_hop=...
 *   overhead: +X.X% (median of REPS runs each)
 *
 * The trace goes to $TMPDIR/trace_ring.hltrace (deleted afterwards). The
 * binary-trees half of the overhead target waits for the collector.
 */
#include "heaplab/sched.h"
#include "heaplab/trace.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define RING 503

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

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static long hops = 2000000, reps = 5;

static int bench(void *arg) {
  (void)arg;
  char path[512];
  const char *tmp = getenv("TMPDIR");
  snprintf(path, sizeof path, "%s/trace_ring.hltrace", tmp ? tmp : "/tmp");
  double off[64], on[64];
  long long bytes = 0;
  run_ring(hops / 10); /* warm-up */
  for (long r = 0; r < reps; r++) {
    off[r] = run_ring(hops);
    if (getenv("TRACE_RING_DEBUG"))
      fprintf(stderr, "rep %ld: off done\n", r);
    if (getenv("TRACE_RING_NOTRACE"))
      continue;
    if (hl_trace_start(path) != 0) {
      fprintf(stderr, "trace_ring: cannot trace to %s\n", path);
      return 1;
    }
    on[r] = run_ring(hops);
    hl_trace_stop();
    struct stat st;
    if (stat(path, &st) == 0)
      bytes = (long long)st.st_size;
  }
  unlink(path);
  qsort(off, (size_t)reps, sizeof(double), cmp);
  qsort(on, (size_t)reps, sizeof(double), cmp);
  double moff = off[reps / 2], mon = on[reps / 2];
  printf("result bench=ring trace=off ns_per_hop=%.1f procs=%d hops=%ld "
         "reps=%ld\n",
         moff, hl_maxprocs(), hops, reps);
  printf("result bench=ring trace=on ns_per_hop=%.1f procs=%d hops=%ld "
         "reps=%ld trace_bytes_per_hop=%.2f\n",
         mon, hl_maxprocs(), hops, reps, (double)bytes / (double)hops);
  printf("overhead: %+.1f%% (median of %ld runs each)\n",
         (mon / moff - 1) * 100, reps);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1)
    hops = atol(argv[1]);
  if (argc > 2)
    reps = atol(argv[2]);
  if (hops < 1000 || reps < 1 || reps > 64) {
    fprintf(stderr, "usage: trace_ring [HOPS (>= 1000) [REPS (1..64)]]\n");
    return 2;
  }
  return hl_main(bench, NULL);
}
