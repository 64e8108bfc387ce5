/*
 * tests/trace/gen.h — random synthetic GC traces for the tests: per P,
 * non-overlapping mark/assist/sweep intervals; global STW pauses; a few
 * goroutine events, heap counters and annotations in between. Times are
 * integer ns in [0, dur]. The same intervals are kept for the brute-force
 * references.
 */
#ifndef HL_TESTS_TRACE_GEN_H
#define HL_TESTS_TRACE_GEN_H

#include "trace/format.h"
#include "trace/reader.h"
#include "trace/synth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GEN_MAXIV 4096

typedef struct gen_iv {
  int32_t p;     /* P (-1: STW) */
  int kind;      /* 0 mark, 1 assist, 2 sweep, 3 stw */
  int64_t t0, t1;
} gen_iv_t;

typedef struct gen {
  int nprocs;
  int64_t dur;
  gen_iv_t iv[GEN_MAXIV];
  int niv;
  uint64_t rng;
} gen_t;

static inline uint64_t gen_rand(gen_t *g) {
  g->rng ^= g->rng << 13;
  g->rng ^= g->rng >> 7;
  g->rng ^= g->rng << 17;
  return g->rng;
}
static inline int64_t gen_range(gen_t *g, int64_t lo, int64_t hi) {
  return lo + (int64_t)(gen_rand(g) % (uint64_t)(hi - lo + 1));
}

/* Random intervals: per P a walk of gaps and busy spans; STW likewise. */
static inline void gen_make(gen_t *g, uint64_t seed, int nprocs, int64_t dur,
                            int64_t maxlen) {
  memset(g, 0, sizeof *g);
  g->rng = seed * 2654435761u + 1;
  g->nprocs = nprocs;
  g->dur = dur;
  for (int p = -1; p < nprocs; p++) {
    int64_t t = gen_range(g, 0, maxlen);
    while (g->niv < GEN_MAXIV) {
      int64_t len = gen_range(g, 1, p < 0 ? maxlen / 2 + 1 : maxlen);
      if (t + len > dur)
        break;
      g->iv[g->niv++] =
          (gen_iv_t){p, p < 0 ? 3 : (int)gen_range(g, 0, 2), t, t + len};
      t += len + gen_range(g, p < 0 ? maxlen : 0, 3 * maxlen);
    }
  }
}

static inline uint32_t gen_kind(int kind, int start) {
  static const uint32_t k[4][2] = {
      {TRACE_EV_MARK_END, TRACE_EV_MARK_START},
      {TRACE_EV_ASSIST_END, TRACE_EV_ASSIST_START},
      {TRACE_EV_SWEEP_END, TRACE_EV_SWEEP_START},
      {TRACE_EV_STW_END, TRACE_EV_STW_START}};
  return k[kind][start];
}

/* Writes g as a trace file: per P its intervals in order with filler
 * events; STW pauses in the global buffer's stream. */
static inline int gen_write(const gen_t *g, const char *path) {
  hlt_synth_t *s = hlt_synth_open(path, g->nprocs);
  if (!s)
    return -1;
  uint64_t a[3] = {0, 0, 0};
  a[0] = (uint64_t)g->nprocs;
  hlt_synth_event(s, -1, TRACE_EV_PROCS, 0, a, NULL);
  uint64_t goid = 1;
  for (int i = 0; i < g->niv; i++) {
    const gen_iv_t *v = &g->iv[i];
    int32_t p = v->p;
    a[0] = v->kind == 3 ? TRACE_STW_MARK_TERM : TRACE_MARK_IDLE;
    a[1] = 1;
    if (v->kind == 3) {
      hlt_synth_event(s, p, TRACE_EV_GC_START, (uint64_t)v->t0, a, NULL);
    } else {
      a[0] = goid++;
      hlt_synth_event(s, p, TRACE_EV_GO_CREATE, (uint64_t)v->t0, a, NULL);
      hlt_synth_event(s, p, TRACE_EV_GO_START, (uint64_t)v->t0, a, NULL);
      const char *strs[2] = {"cat", "message"};
      hlt_synth_event(s, p, TRACE_EV_LOG, (uint64_t)v->t0, a, strs);
      a[0] = v->kind == 0 ? TRACE_MARK_FRACTIONAL : 0;
    }
    hlt_synth_event(s, p, gen_kind(v->kind, 1), (uint64_t)v->t0, a, NULL);
    a[0] = 7;
    hlt_synth_event(s, p, gen_kind(v->kind, 0), (uint64_t)v->t1, a, NULL);
    a[0] = (uint64_t)(1000 + i);
    hlt_synth_event(s, p, TRACE_EV_HEAP_LIVE, (uint64_t)v->t1, a, NULL);
    if (v->kind == 3)
      hlt_synth_event(s, p, TRACE_EV_GC_END, (uint64_t)v->t1, a, NULL);
  }
  return hlt_synth_close(s, (uint64_t)g->dur);
}

#endif
