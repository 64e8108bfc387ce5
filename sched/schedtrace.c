/*
 * sched/schedtrace.c — HLDEBUG=schedtrace=MS[,scheddetail=1]: a periodic
 * summary of the scheduler on stderr, as Go's GODEBUG=schedtrace.
 *
 * Entry point: schedtrace_tick(now), called by sysmon every round.
 *
 *  1. On sysmon's first round and then whenever MS ms have passed since
 *     the last line, print one line (sysmon rounds are 20 us to 10 ms
 *     apart, so the period is MS rounded up to that):
 *       SCHED 1004ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0
 *       idlethreads=2 runqueue=0 [0 0]
 *     (one line; the brackets hold each P's local run queue length).
 *  2. With scheddetail=1 the line ends with nmidlelocked=N instead of the
 *     brackets and is followed by one line per P, per M and per live G:
 *       P0: status=1 schedtick=57 syscalltick=3 m=0 runqsize=0 gfreecnt=2
 *           timerslen=1
 *       M2: p=1 curg=7 locks=0 spinning=false blocked=false lockedg=-1
 *       G7: status=2() m=2 lockedm=-1
 * Field meanings are in docs/sched/diagnostics.md.
 *
 * Consistency: as in Go, the numbers are read without stopping anything,
 * so one line may mix instants (a G counted in a run queue and running).
 * Unlike Go, no scheduler lock is held while printing: a slow stderr (a
 * full pipe) must not stall the scheduler. sched.lock and allglock are
 * taken only to read the heads of the M and G lists (entries are linked
 * fully built, at the head, under those locks, and never freed); a P's
 * timerslock is taken to count its timers.
 */
#include "sched/internal.h"
#include "base/env.h"

#include <stdarg.h>
#include <string.h>

/* sysmon only */
static int64_t trace_start, trace_last;

/* ------------------------------------------------------- line buffer */

/* Output goes out in writes of whole lines (the P list of a line may be
 * longer than one buffer: it is then cut between entries). */
typedef struct tline {
  char buf[960];
  size_t n;
} tline_t;

static void tline_flush(tline_t *l) {
  if (l->n)
    hl_printf(2, "%.*s", (int)l->n, l->buf);
  l->n = 0;
}

__attribute__((format(printf, 2, 3))) static void
tline_add(tline_t *l, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int r = hl_vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  size_t len = (size_t)r < sizeof tmp ? (size_t)r : sizeof tmp - 1;
  if (l->n + len > sizeof l->buf)
    tline_flush(l);
  memcpy(l->buf + l->n, tmp, len);
  l->n += len;
}

/* ------------------------------------------------------------ printing */

static const char *yesno(bool b) { return b ? "true" : "false"; }

/* Local run queue length (runnext not counted, as in Go). head is read
 * before tail: both only grow and head <= tail, so t - h >= 0. */
static uint32_t runq_len(p_t *pp) {
  uint32_t h = atomic_load_acquire(&pp->runqhead);
  uint32_t t = atomic_load_acquire(&pp->runqtail);
  return t - h;
}

DIAG_RACY static void schedtrace(int64_t now, bool detailed) {
  tline_t l = {.n = 0};
  int32_t procs = sched.gomaxprocs;
  tline_add(&l,
            "SCHED %ldms: gomaxprocs=%d idleprocs=%d threads=%d "
            "spinningthreads=%d idlethreads=%d runqueue=%d",
            (long)((now - trace_start) / 1000000), procs,
            (int)atomic_load_relaxed(&sched.npidle), (int)sched.mcount,
            (int)atomic_load_relaxed(&sched.nmspinning), (int)sched.nmidle,
            (int)atomic_load_relaxed(&sched.runqsize));
  if (!detailed) {
    for (int32_t i = 0; i < procs; i++)
      tline_add(&l, "%s%u", i == 0 ? " [" : " ", runq_len(sched.allp[i]));
    tline_add(&l, "]\n");
    tline_flush(&l);
    return;
  }
  tline_add(&l, " nmidlelocked=%d\n", (int)sched.nmidlelocked);
  for (int32_t i = 0; i < procs; i++) {
    p_t *pp = sched.allp[i];
    m_t *mp = atomic_load_relaxed(&pp->m);
    tline_add(&l,
              "  P%d: status=%u schedtick=%u syscalltick=%u m=%ld "
              "runqsize=%u gfreecnt=%d timerslen=%d\n",
              (int)pp->id, atomic_load_relaxed(&pp->status), pp->schedtick,
              atomic_load_relaxed(&pp->syscalltick),
              mp ? (long)mp->id : -1L, runq_len(pp), (int)pp->ngfree,
              (int)timers_len(pp));
  }
  hl_lock(&sched.lock);
  m_t *mhead = sched.allm;
  hl_unlock(&sched.lock);
  for (m_t *mp = mhead; mp; mp = mp->alllink) {
    p_t *pp = mp->p;
    g_t *cg = mp->curg, *lg = mp->lockedg;
    tline_add(&l,
              "  M%ld: p=%d curg=%ld locks=%d spinning=%s blocked=%s "
              "lockedg=%ld\n",
              (long)mp->id, pp ? (int)pp->id : -1, cg ? (long)cg->goid : -1L,
              (int)mp->locks, yesno(mp->spinning), yesno(mp->idle),
              lg ? (long)lg->goid : -1L);
  }
  hl_lock(&sched.allglock);
  g_t *ghead = sched.allgs;
  hl_unlock(&sched.allglock);
  for (g_t *gp = ghead; gp; gp = gp->alllink) {
    uint32_t st = atomic_load_relaxed(&gp->status);
    if (st == G_DEAD || st == G_IDLE)
      continue;
    m_t *on = gp->m, *lm = gp->lockedm;
    tline_add(&l, "  G%ld: status=%u(%s) m=%ld lockedm=%ld\n", (long)gp->goid,
              st, st == G_WAITING ? waitreason_string(gp->waitreason) : "",
              on ? (long)on->id : -1L, lm ? (long)lm->id : -1L);
  }
  tline_flush(&l);
}

void schedtrace_tick(int64_t now) {
  int64_t period = hl_debug.schedtrace_ms;
  if (period <= 0)
    return;
  if (trace_start == 0)
    trace_start = now; /* the first round prints "SCHED 0ms" */
  else if (now - trace_last < period * 1000000)
    return;
  trace_last = now;
  schedtrace(now, hl_debug.scheddetail != 0);
}
