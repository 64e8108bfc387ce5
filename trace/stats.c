/*
 * trace/stats.c — `heaplab trace stats`: one pass over a trace collects
 * pauses (STW start/end pairs, paired in time order), GC work per P
 * (mark workers, assists, sweeping: paired within each P's stream, which
 * is in time order), syscalls (paired per goroutine in time order, since
 * a syscall may end on another P than it began), goroutine counts and the
 * heap counters.
 */
#include "trace/analysis.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct mark {
  int64_t key; /* goid for syscalls, 0 otherwise */
  int64_t t;
  int d; /* +1 start, -1 end */
} mark_t;

typedef struct marks {
  mark_t *a;
  size_t n, cap;
} marks_t;

static int marks_push(marks_t *m, int64_t key, int64_t t, int d) {
  if (m->n == m->cap) {
    size_t nc = m->cap ? m->cap * 2 : 1024;
    mark_t *a = realloc(m->a, nc * sizeof *a);
    if (!a)
      return -1;
    m->a = a;
    m->cap = nc;
  }
  m->a[m->n++] = (mark_t){key, t, d};
  return 0;
}

static int cmp_mark(const void *x, const void *y) {
  const mark_t *a = x, *b = y;
  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  if (a->t != b->t)
    return a->t < b->t ? -1 : 1;
  return a->d - b->d; /* ends first */
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return a < b ? -1 : a > b;
}

/* Pairs sorted marks into durations (unmatched: from 0 / to end). */
static int64_t *pair(marks_t *m, int64_t end, size_t *n) {
  if (m->n)
    qsort(m->a, m->n, sizeof(mark_t), cmp_mark);
  int64_t *d = malloc((m->n + 1) * sizeof *d);
  size_t k = 0;
  if (!d)
    return NULL;
  for (size_t i = 0; i < m->n; i++) {
    mark_t *x = &m->a[i];
    bool newkey = i == 0 || m->a[i - 1].key != x->key;
    if (x->d < 0 && (newkey || m->a[i - 1].d < 0)) {
      d[k++] = x->t; /* ended, never started in the trace */
    } else if (x->d > 0) {
      bool closed = i + 1 < m->n && m->a[i + 1].key == x->key &&
                    m->a[i + 1].d < 0;
      d[k++] = (closed ? m->a[i + 1].t : end) - x->t;
    }
  }
  *n = k;
  return d;
}

static int64_t pct(const int64_t *a, size_t n, double p) {
  if (!n)
    return 0;
  size_t i = (size_t)(p * (double)n + 0.999999);
  if (i < 1)
    i = 1;
  if (i > n)
    i = n;
  return a[i - 1];
}

int hlt_stats_compute(hlt_reader_t *r, hlt_stats_t *st, char *err,
                      size_t errlen) {
  memset(st, 0, sizeof *st);
  const hlt_header_t *h = hlt_header(r);
  st->nprocs = h->nprocs;
  marks_t stw = {0}, sys = {0}, gor = {0};
  /* per stream: start time of the running mark/assist/sweep, -1: none */
  static int64_t open[TRACE_MAX_PROCS + 1][3];
  for (int i = 0; i <= TRACE_MAX_PROCS; i++)
    open[i][0] = open[i][1] = open[i][2] = -1;
  int64_t *work[3] = {&st->mark_ns, &st->assist_ns, &st->sweep_ns};
  hlt_event_t ev;
  int k, rc = -1;
  bool oom = false;
  while ((k = hlt_next(r, &ev)) > 0) {
    int s = ev.p + 1, w = -1, startw = 0;
    switch (ev.kind) {
    case TRACE_EV_PROCS:
      if ((int)ev.args[0] > st->nprocs)
        st->nprocs = (int)ev.args[0];
      break;
    case TRACE_EV_GC_START:
      st->gc_cycles++;
      break;
    case TRACE_EV_STW_START:
    case TRACE_EV_STW_END:
      oom |= marks_push(&stw, 0, ev.ts,
                        ev.kind == TRACE_EV_STW_START ? 1 : -1) != 0;
      break;
    case TRACE_EV_MARK_START: w = 0; startw = 1; break;
    case TRACE_EV_MARK_END: w = 0; break;
    case TRACE_EV_ASSIST_START: w = 1; startw = 1; break;
    case TRACE_EV_ASSIST_END: w = 1; break;
    case TRACE_EV_SWEEP_START: w = 2; startw = 1; break;
    case TRACE_EV_SWEEP_END: w = 2; break;
    case TRACE_EV_GO_CREATE:
      st->go_created++;
      oom |= marks_push(&gor, 0, ev.ts, 1) != 0;
      break;
    case TRACE_EV_GO_END:
      st->go_ended++;
      oom |= marks_push(&gor, 0, ev.ts, -1) != 0;
      break;
    case TRACE_EV_GO_BLOCK:
      st->go_blocks++;
      if (ev.args[1] < TRACE_MAX_NAMES)
        st->block_by_reason[ev.args[1]]++;
      break;
    case TRACE_EV_GO_SYSCALL:
      st->syscalls++;
      oom |= marks_push(&sys, (int64_t)ev.args[0], ev.ts, 1) != 0;
      break;
    case TRACE_EV_GO_SYSCALL_END:
      oom |= marks_push(&sys, (int64_t)ev.args[0], ev.ts, -1) != 0;
      break;
    case TRACE_EV_HEAP_LIVE:
      if (ev.args[0] > st->heap_live_max)
        st->heap_live_max = ev.args[0];
      break;
    case TRACE_EV_HEAP_GOAL:
      st->heap_goal_last = ev.args[0];
      break;
    case TRACE_EV_HEAP_RSS:
      if (ev.args[0] > st->heap_rss_max)
        st->heap_rss_max = ev.args[0];
      break;
    case TRACE_EV_REGION_BEGIN:
      st->regions++;
      break;
    case TRACE_EV_LOG:
      st->logs++;
      break;
    default:
      break;
    }
    if (w >= 0) {
      if (startw) {
        open[s][w] = ev.ts;
      } else {
        *work[w] += ev.ts - (open[s][w] >= 0 ? open[s][w] : 0);
        open[s][w] = -1;
      }
    }
  }
  if (k < 0) {
    snprintf(err, errlen, "%s", hlt_error(r));
    goto out;
  }
  if (oom) {
    snprintf(err, errlen, "out of memory");
    goto out;
  }
  const hlt_end_t *e = hlt_end(r);
  st->duration_ns = e->ts;
  st->nevents = e->nevents;
  st->nlost = e->nlost;
  for (int s = 0; s <= TRACE_MAX_PROCS; s++)
    for (int w = 0; w < 3; w++)
      if (open[s][w] >= 0)
        *work[w] += e->ts - open[s][w];
  size_t np = 0, ns = 0;
  int64_t *pauses = pair(&stw, e->ts, &np);
  int64_t *sc = pair(&sys, e->ts, &ns);
  if (!pauses || !sc) {
    free(pauses);
    free(sc);
    snprintf(err, errlen, "out of memory");
    goto out;
  }
  if (np)
    qsort(pauses, np, sizeof *pauses, cmp_i64);
  if (ns)
    qsort(sc, ns, sizeof *sc, cmp_i64);
  st->npauses = np;
  for (size_t i = 0; i < np; i++)
    st->pause_total += pauses[i];
  st->pause_p50 = pct(pauses, np, 0.50);
  st->pause_p99 = pct(pauses, np, 0.99);
  st->pause_max = np ? pauses[np - 1] : 0;
  for (size_t i = 0; i < ns; i++)
    st->syscall_ns += sc[i];
  st->syscall_p99 = pct(sc, ns, 0.99);
  st->syscall_max = ns ? sc[ns - 1] : 0;
  free(pauses);
  free(sc);
  /* goroutines alive: in time order */
  if (gor.n)
    qsort(gor.a, gor.n, sizeof(mark_t), cmp_mark);
  int64_t alive = 0, maxalive = 0;
  for (size_t i = 0; i < gor.n; i++) {
    alive += gor.a[i].d;
    if (alive > maxalive)
      maxalive = alive;
  }
  st->go_max_alive = (uint64_t)maxalive;
  double cap = (double)st->duration_ns * st->nprocs;
  if (cap > 0)
    st->gc_cpu = ((double)st->mark_ns + (double)st->assist_ns +
                  (double)st->pause_total * st->nprocs) /
                 cap;
  int64_t mono = e->mono - h->mono0;
  if (mono > 0)
    st->clock_drift_ppm =
        ((double)st->duration_ns - (double)mono) / (double)mono * 1e6;
  rc = 0;
out:
  free(stw.a);
  free(sys.a);
  free(gor.a);
  return rc;
}

static void pr_dur(FILE *out, const char *name, int64_t ns) {
  if (ns >= 1000000000)
    fprintf(out, "%s: %.3f s\n", name, (double)ns / 1e9);
  else if (ns >= 1000000)
    fprintf(out, "%s: %.3f ms\n", name, (double)ns / 1e6);
  else
    fprintf(out, "%s: %.3f us\n", name, (double)ns / 1e3);
}

void hlt_stats_print(FILE *out, const hlt_reader_t *r, const hlt_stats_t *st) {
  const hlt_header_t *h = hlt_header(r);
  pr_dur(out, "duration", st->duration_ns);
  fprintf(out, "procs: %d\n", st->nprocs);
  fprintf(out, "events: %llu (lost: %llu)\n", (unsigned long long)st->nevents,
          (unsigned long long)st->nlost);
  fprintf(out, "clock: %s, drift %.1f ppm\n",
          h->clock == TRACE_CLOCK_TSC      ? "tsc"
          : h->clock == TRACE_CLOCK_CNTVCT ? "cntvct"
                                           : "monotonic",
          st->clock_drift_ppm);
  fprintf(out, "gc cycles: %llu\n", (unsigned long long)st->gc_cycles);
  fprintf(out, "stw pauses: %llu\n", (unsigned long long)st->npauses);
  pr_dur(out, "pause p50", st->pause_p50);
  pr_dur(out, "pause p99", st->pause_p99);
  pr_dur(out, "pause max", st->pause_max);
  pr_dur(out, "pause total", st->pause_total);
  pr_dur(out, "mark worker time", st->mark_ns);
  pr_dur(out, "assist time", st->assist_ns);
  pr_dur(out, "sweep time", st->sweep_ns);
  fprintf(out, "gc cpu: %.2f%%\n", st->gc_cpu * 100);
  fprintf(out, "goroutines created: %llu\n",
          (unsigned long long)st->go_created);
  fprintf(out, "goroutines ended: %llu\n", (unsigned long long)st->go_ended);
  fprintf(out, "goroutines max alive: %llu\n",
          (unsigned long long)st->go_max_alive);
  fprintf(out, "blocks: %llu\n", (unsigned long long)st->go_blocks);
  for (int i = 0; i < TRACE_MAX_NAMES; i++)
    if (st->block_by_reason[i])
      fprintf(out, "  %s: %llu\n", hlt_name(h, TRACE_NAMES_BLOCK, (uint64_t)i),
              (unsigned long long)st->block_by_reason[i]);
  fprintf(out, "syscalls: %llu\n", (unsigned long long)st->syscalls);
  pr_dur(out, "syscall time", st->syscall_ns);
  pr_dur(out, "syscall p99", st->syscall_p99);
  pr_dur(out, "syscall max", st->syscall_max);
  fprintf(out, "heap live max: %llu\n", (unsigned long long)st->heap_live_max);
  fprintf(out, "heap goal last: %llu\n",
          (unsigned long long)st->heap_goal_last);
  fprintf(out, "rss max: %llu\n", (unsigned long long)st->heap_rss_max);
  fprintf(out, "regions: %llu\n", (unsigned long long)st->regions);
  fprintf(out, "logs: %llu\n", (unsigned long long)st->logs);
}
