/*
 * trace/clock.c — choosing and calibrating the tracer's clock
 * (trace/clock.h).
 *
 * x86-64: the TSC counts at a constant rate on CPUs with an invariant TSC
 * (flags constant_tsc and nonstop_tsc), synchronised across cores by the
 * kernel; its rate is not exposed to user space without privileges, so it
 * is measured: ticks and CLOCK_MONOTONIC are read at both ends of a 2 ms
 * interval (each pair read back to back, the tighter of three tries), for
 * an error of a few parts per million. The trace's end record holds a
 * second pair, so the reader can report the drift over the whole trace.
 * arm64: cntfrq_el0 gives the counter frequency exactly.
 */
#include "trace/clock.h"

#include <stdio.h>
#include <string.h>

int trace_clock_kind = TRACE_CLOCK_NS;

#if defined(__x86_64__)
static int cpu_has_invariant_tsc(void) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f)
    return 0;
  char line[4096];
  int ok = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "flags", 5) == 0) {
      ok = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
      break;
    }
  }
  fclose(f);
  return ok;
}
#endif

void trace_clock_init(void) {
  static int done;
  if (done)
    return;
  done = 1;
#if defined(__x86_64__)
  if (cpu_has_invariant_tsc())
    trace_clock_kind = TRACE_CLOCK_TSC;
#elif defined(__aarch64__)
  trace_clock_kind = TRACE_CLOCK_CNTVCT;
#endif
}

void trace_clock_pair(uint64_t *t, int64_t *ns) {
  uint64_t best = UINT64_MAX;
  *t = 0, *ns = 0; /* the first sample always replaces these */
  for (int i = 0; i < 3; i++) {
    uint64_t t0 = trace_ticks();
    int64_t n = os_nanotime();
    uint64_t t1 = trace_ticks();
    if (t1 - t0 < best) {
      best = t1 - t0;
      *t = t0 + (t1 - t0) / 2;
      *ns = n;
    }
  }
}

void trace_clock_calibrate(uint64_t *ticks, uint64_t *ns) {
  static uint64_t cal_ticks, cal_ns;
  if (cal_ticks) {
    *ticks = cal_ticks;
    *ns = cal_ns;
    return;
  }
  trace_clock_init();
  if (trace_clock_kind == TRACE_CLOCK_NS) {
    cal_ticks = cal_ns = 1;
  } else {
#if defined(__aarch64__)
    uint64_t f;
    __asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
    cal_ticks = f;
    cal_ns = 1000000000u;
#else
    uint64_t t0, t1;
    int64_t n0, n1;
    trace_clock_pair(&t0, &n0);
    do {
      trace_clock_pair(&t1, &n1);
    } while (n1 - n0 < 2000000);
    cal_ticks = t1 - t0;
    cal_ns = (uint64_t)(n1 - n0);
#endif
  }
  *ticks = cal_ticks;
  *ns = cal_ns;
}
