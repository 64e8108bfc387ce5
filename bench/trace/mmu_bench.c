/*
 * bench/trace/mmu_bench.c — how long the MMU analysis takes on a large
 * trace. Writes a synthetic trace of N events (default 10 million) shaped
 * like a busy GC'd program on 4 Ps — goroutine switches, blocks and
 * unblocks, syscalls, and GC cycles with STW pauses, dedicated and
 * fractional mark workers, frequent short assists and sweeps — then times:
 *   1. reading it and building the utilization function
 *      (stw,background,assist,sweep),
 *   2. the whole MMU curve (10 windows a decade, 1 us to the trace length),
 *   3. the worst 0.1 %, 1 %, 5 % window utilization at 1, 10, 100 ms,
 * and prints each time and the total (the goal: <= 5 s).
 *
 *   mmu_bench [EVENTS] [FILE]
 */
#include "trace/mmu.h"
#include "trace/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(uint64_t n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng % n;
}

#define NP 4

int main(int argc, char **argv) {
  long long n = argc > 1 ? atoll(argv[1]) : 10000000;
  char def[256];
  snprintf(def, sizeof def, "/tmp/mmu_bench_%d.hltrace", (int)getpid());
  const char *path = argc > 2 ? argv[2] : def;
  double t0 = now();
  hlt_synth_t *s = hlt_synth_open(path, NP);
  if (!s) {
    perror(path);
    return 1;
  }
  uint64_t a[3] = {NP, 0, 0};
  hlt_synth_event(s, -1, TRACE_EV_PROCS, 0, a, NULL);
  /* every P advances its own clock; GC cycles every ~20 ms of P time */
  uint64_t t[NP] = {0}, goid = 1, gcseq = 0, tg = 0;
  long long ev = 1;
  while (ev < n) {
    int p = (int)rnd(NP);
    uint64_t *tp = &t[p];
    /* a global GC cycle when P's clock passes the next one */
    if (*tp > tg + 20000000) {
      tg = *tp;
      a[0] = ++gcseq;
      hlt_synth_event(s, -1, TRACE_EV_GC_START, tg, a, NULL);
      a[0] = TRACE_STW_SWEEP_TERM;
      hlt_synth_event(s, -1, TRACE_EV_STW_START, tg, a, NULL);
      hlt_synth_event(s, -1, TRACE_EV_STW_END, tg + 30000 + rnd(40000), a,
                      NULL);
      a[0] = TRACE_STW_MARK_TERM;
      hlt_synth_event(s, -1, TRACE_EV_STW_START, tg + 5000000, a, NULL);
      hlt_synth_event(s, -1, TRACE_EV_STW_END, tg + 5050000 + rnd(50000), a,
                      NULL);
      a[0] = gcseq;
      hlt_synth_event(s, -1, TRACE_EV_GC_END, tg + 5100000, a, NULL);
      ev += 6;
    }
    bool marking = *tp > tg && *tp < tg + 5000000;
    uint64_t r = rnd(100);
    a[0] = goid;
    if (marking && r < 15) { /* an assist of 2..50 us */
      hlt_synth_event(s, p, TRACE_EV_ASSIST_START, *tp, a, NULL);
      *tp += 2000 + rnd(48000);
      hlt_synth_event(s, p, TRACE_EV_ASSIST_END, *tp, a, NULL);
      ev += 2;
    } else if (marking && r < 20) { /* a mark worker slice of 100 us..1 ms */
      a[0] = p == 0 ? TRACE_MARK_DEDICATED : TRACE_MARK_FRACTIONAL;
      hlt_synth_event(s, p, TRACE_EV_MARK_START, *tp, a, NULL);
      *tp += 100000 + rnd(900000);
      hlt_synth_event(s, p, TRACE_EV_MARK_END, *tp, a, NULL);
      ev += 2;
    } else if (!marking && r < 8) { /* sweeping 1..20 us */
      hlt_synth_event(s, p, TRACE_EV_SWEEP_START, *tp, a, NULL);
      *tp += 1000 + rnd(19000);
      a[0] = 1 + rnd(8);
      hlt_synth_event(s, p, TRACE_EV_SWEEP_END, *tp, a, NULL);
      ev += 2;
    } else if (r < 40) {
      hlt_synth_event(s, p, TRACE_EV_GO_START, *tp, a, NULL);
      ev++;
    } else if (r < 60) {
      a[1] = rnd(5);
      hlt_synth_event(s, p, TRACE_EV_GO_BLOCK, *tp, a, NULL);
      ev++;
    } else if (r < 80) {
      a[0] = 1 + rnd(goid);
      hlt_synth_event(s, p, TRACE_EV_GO_UNBLOCK, *tp, a, NULL);
      ev++;
    } else if (r < 90) {
      a[0] = ++goid;
      hlt_synth_event(s, p, TRACE_EV_GO_CREATE, *tp, a, NULL);
      ev++;
    } else {
      hlt_synth_event(s, p, TRACE_EV_GO_SYSCALL, *tp, a, NULL);
      *tp += 1000 + rnd(10000);
      hlt_synth_event(s, p, TRACE_EV_GO_SYSCALL_END, *tp, a, NULL);
      ev += 2;
    }
    *tp += 200 + rnd(3000);
  }
  uint64_t end = 0;
  for (int p = 0; p < NP; p++)
    if (t[p] > end)
      end = t[p];
  if (tg + 5200000 > end)
    end = tg + 5200000;
  if (hlt_synth_close(s, end)) {
    fprintf(stderr, "mmu_bench: cannot write %s\n", path);
    return 1;
  }
  double t1 = now();
  printf("wrote %lld events (%.3f s of trace, %llu GC cycles) in %.2f s\n",
         ev, (double)end / 1e9, (unsigned long long)gcseq, t1 - t0);

  char err[256];
  double a0 = now();
  hlt_reader_t *r = hlt_open_file(path, err, sizeof err);
  hlt_util_t u;
  if (!r || hlt_util_read(r, HLT_UTIL_DEFAULT | HLT_UTIL_SWEEP, &u, err,
                          sizeof err)) {
    fprintf(stderr, "mmu_bench: %s\n", err);
    return 1;
  }
  hlt_close(r);
  hlt_mmu_t *m = hlt_mmu_new(&u);
  double a1 = now();
  int64_t w[256];
  int nw = hlt_mmu_windows(1000, u.end, 10, w, 256);
  double mmu1 = 0, mmu10 = 0, mmu100 = 0;
  for (int i = 0; i < nw; i++)
    (void)hlt_mmu_window(m, w[i]);
  mmu1 = hlt_mmu_window(m, 1000000);
  mmu10 = hlt_mmu_window(m, 10000000);
  mmu100 = hlt_mmu_window(m, 100000000);
  double a2 = now();
  double q[3] = {0.001, 0.01, 0.05}, qv[3][3];
  const int64_t qw[3] = {1000000, 10000000, 100000000};
  for (int i = 0; i < 3; i++)
    hlt_mmu_quantiles(m, qw[i], q, 3, qv[i]);
  double a3 = now();
  printf("steps in u(t): %zu\n", u.series[0].n);
  printf("read + utilization: %.2f s\n", a1 - a0);
  printf("mmu curve (%d windows): %.2f s\n", nw, a2 - a1);
  printf("percentiles (3 windows x 3): %.2f s\n", a3 - a2);
  printf("total analysis: %.2f s for %lld events\n", a3 - a0, ev);
  printf("mmu 1ms=%.4f 10ms=%.4f 100ms=%.4f\n", mmu1, mmu10, mmu100);
  printf("worst 0.1%%/1%%/5%% at 10ms: %.4f %.4f %.4f\n", qv[1][0], qv[1][1],
         qv[1][2]);
  hlt_mmu_free(m);
  hlt_util_free(&u);
  if (argc <= 2)
    unlink(path);
  return 0;
}
