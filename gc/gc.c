/*
 * gc/gc.c — the collection cycle, the pacer, mark workers, assists,
 * finalizers, statistics and the public allocation entry points.
 *
 * A cycle (Go's gcStart / gcMarkDone / gcMarkTermination):
 *  1. Sweep termination: the starter finishes the previous sweep, stops
 *     the world, resets mark state, turns the write barrier on, scans
 *     every goroutine stack (each once per cycle), enables blackening and
 *     restarts the world. With gcstoptheworld=1 it marks everything here.
 *  2. Concurrent mark: the starter scans the registered roots and the
 *     runtime's own (channel buffers, finalizer queue, objects with
 *     finalizers); mark workers (goroutines, scheduled by gc_worker_hook:
 *     dedicated / fractional for 25% of HLMAXPROCS, idle on idle Ps) and
 *     assists (goroutines in allocation debt) drain grey objects; the
 *     barrier shades what mutators overwrite and store; allocation is
 *     black.
 *  3. Mark done: a worker (or assist) that finds no work stops the world
 *     and flushes every P's write-barrier buffer and gcWork; work found ->
 *     restart the world and keep marking; none -> mark termination.
 *  4. Mark termination (STW): barrier off, optional checkmark, every P's
 *     spans returned (so cached spans are swept spans), heap_live =
 *     marked, the pacer computes the next goal and trigger, sweepgen += 2,
 *     world restarted, sweeper woken.
 */
#include "gc/internal.h"
#include "gc/alloc_fast.h"
#include "base/env.h"
#include "base/os.h"
#include "trace/emit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

HL_HIDDEN gcstate_t gc;

#define HEAP_MINIMUM (4u << 20) /* Go's heapMinimum at GOGC=100 */
/* The smallest goal the assist cap's growth allowance is a fraction of
 * (gc_assist_capped): a heap of a few MiB that grows by tens in its first
 * milliseconds (binary-trees' first cycles: 4 -> 16 MiB in 10 ms) would
 * otherwise pass its ceiling within a cycle and assist in full on both Ps
 * (the worst 1 ms window of three runs in five). */
#define ASSIST_CAP_MIN_BASE (16u << 20)
#define FRACTIONAL_SLICE_NS 200000 /* a fractional worker's longest run */
#define ASSIST_MIN_WORK (64 << 10) /* Go's gcOverAssistWork */

/* --------------------------------------------------------- wait lists */

/* Goroutines parked until an event (linked through schedlink while they
 * wait: a WAITING G is on no run queue). */
typedef struct waitlist {
  hl_lock_t lock;
  g_t *head;
} waitlist_t;

static bool waitlist_unlock(g_t *gp, void *arg) {
  (void)gp;
  hl_unlock(&((waitlist_t *)arg)->lock);
  return true;
}

/* Parks the calling goroutine on wl unless done(arg) (checked under the
 * list's lock). */
static void waitlist_park(waitlist_t *wl, bool (*done)(void *), void *arg,
                          int reason) {
  g_t *gp = curg_or_die("gc wait");
  hl_lock(&wl->lock);
  if (done && done(arg)) {
    hl_unlock(&wl->lock);
    return;
  }
  gp->schedlink = wl->head;
  /* atomic: flush_bg_credit peeks at assist_wl.head without the lock */
  __atomic_store_n(&wl->head, gp, __ATOMIC_RELAXED);
  gopark(waitlist_unlock, wl, reason);
}

static void waitlist_wake_all(waitlist_t *wl) {
  hl_lock(&wl->lock);
  g_t *list = wl->head;
  __atomic_store_n(&wl->head, NULL, __ATOMIC_RELAXED);
  hl_unlock(&wl->lock);
  while (list) {
    g_t *next = list->schedlink;
    list->schedlink = NULL;
    goready(list);
    list = next;
  }
}

static waitlist_t cycle_wl;   /* hl_gc waiting for a cycle to end */
static waitlist_t sweeper_wl; /* the background sweeper */

/* ---------------------------------------------------------------- init */

static hl_lock_t init_lock;
static _Atomic uint32_t inited;
static _Atomic uint32_t goroutines_started;

static int64_t parse_env_percent(void) {
  const char *s = getenv("HLGC");
  if (!s || !*s)
    return 100;
  if (strcmp(s, "off") == 0)
    return -1;
  int64_t v;
  if (hl_parse_int(s, 0, 1000000, &v) != 0) {
    fprintf(stderr, "heaplab: HLGC=\"%s\": invalid value (accepted: a "
            "percentage 0..1000000, or off)\n", s);
    exit(2);
  }
  return v;
}

static int64_t parse_env_memlimit(void) {
  const char *s = getenv("HLMEMLIMIT");
  if (!s || !*s || strcmp(s, "off") == 0)
    return INT64_MAX;
  uint64_t v;
  if (hl_parse_size(s, &v) != 0 || v > (uint64_t)INT64_MAX) {
    fprintf(stderr, "heaplab: HLMEMLIMIT=\"%s\": invalid value (accepted: "
            "a byte size such as 512MiB, 2GiB, 1073741824, or off)\n", s);
    exit(2);
  }
  return (int64_t)v;
}

static void pacer_set_goal(void);

/* Gives every P its gcache and sets the pacer up. Idempotent. */
void gc_init_once(void) {
  if (atomic_load_acquire(&inited))
    return;
  hl_lock(&init_lock);
  if (!atomic_load_relaxed(&inited)) {
    hl_env_init();
    gcheap_init();
    gc_poison_check_enabled();
    atomic_store_relaxed(&gc.gcpercent, (int32_t)parse_env_percent());
    atomic_store_relaxed(&gc.memlimit, parse_env_memlimit());
    atomic_store_relaxed(&gc.sweepgen, 4);
    atomic_store_relaxed(&gc.sweep_done, 1);
    gc.start_ns = os_nanotime();
    gc.cons_mark = 0;
    gc.heap_marked = 0;
    pacer_set_goal();
    gc_shade_hook = gc_shade_words;
    /* sbrk mode: no gcache, so that the allocation fast path (which
     * needs one) sends every allocation to alloc_slow_entry, and from
     * there to alloc_sbrk: the fast path tests no mode flag */
    for (int i = 0; i < sched.gomaxprocs && !hl_debug.sbrk; i++)
      if (!sched.allp[i]->gc)
        __atomic_store_n(&sched.allp[i]->gc, gcache_create(),
                         __ATOMIC_RELEASE);
    atomic_store_release(&inited, 1);
  }
  hl_unlock(&init_lock);
}

/* Fatal errors print the collector's state before the goroutine dump. */
static void gc_fatal_stats(void) {
  char line[400];
  int n = hl_snprintf(
      line, sizeof line,
      "collector: phase %u, cycle %" PRIu64 " (%" PRIu64 " done), heap live "
      "%" PRIu64 " B, goal %" PRIu64 " B, trigger %" PRIu64 " B, work "
      "queued %d, working %d, markdone %u, sweep done %u\n",
      atomic_load_relaxed(&gc.phase), atomic_load_relaxed(&gc.cycle),
      atomic_load_relaxed(&gc.numgc), atomic_load_relaxed(&gc.heap_live),
      atomic_load_relaxed(&gc.heap_goal), atomic_load_relaxed(&gc.trigger),
      (int)gc_work_available(), (int)atomic_load_relaxed(&gc.nworking),
      atomic_load_relaxed(&gc.markdone_busy),
      atomic_load_relaxed(&gc.sweep_done));
  if (n > 0)
    (void)!write(2, line, (size_t)n);
}

/* Runs from hl_main once the Ps exist: bad HLGC/HLMEMLIMIT values are
 * reported at start-up, not at the first allocation. */
static void gc_sched_init(void) {
  gc_init_once();
  if (!hl_throw_stats_hook)
    hl_throw_stats_hook = gc_fatal_stats;
}
extern void (*sched_gc_init_hook)(void);
__attribute__((constructor)) static void gc_register(void) {
  sched_gc_init_hook = gc_sched_init;
}

/* --------------------------------------------------------------- pacer */

/*
 * Go 1.18+'s pacer, simplified where heaplab has less to count:
 *   goal = marked + (marked + stacks + globals) * HLGC / 100
 *          (at least 4 MiB * HLGC / 100), capped by the memory limit:
 *          HLMEMLIMIT - (mapped memory that is not collected spans);
 *   trigger = goal - runway, runway = cons/mark * (1 - u) / u * scan work
 *          of the last cycle (u = 0.25: the background workers' share),
 *          clamped to [0.7, 0.95] of the way from marked to goal
 *          (heaplab: [gctrigger, 0.95], default 0.3);
 *   assists: Go's ratio, capped at gcassistcap% of the allocating CPU
 *          on a cycle with more to scan than the last (pacer_revise).
 * cons/mark (allocation rate / scan rate, in CPU terms) is measured each
 * cycle; the largest of the last four is used, as Go 1.19 does.
 */
static double cons_mark_hist[4];
static int cons_mark_i;

/* The largest cons/mark of the last four cycles (0: none measured). */
static double cons_mark_max(void) {
  double cm = 0;
  for (int i = 0; i < 4; i++)
    if (cons_mark_hist[i] > cm)
      cm = cons_mark_hist[i];
  return cm;
}

static uint64_t stack_bytes(void) {
  return (uint64_t)hl_numgoroutine() * 8192;
}

static void pacer_set_goal(void) {
  int32_t pct = atomic_load_relaxed(&gc.gcpercent);
  int64_t limit = atomic_load_relaxed(&gc.memlimit);
  uint64_t marked = gc.heap_marked;
  uint64_t goal = UINT64_MAX;
  if (pct >= 0) {
    uint64_t base = marked + stack_bytes();
    goal = marked + (base < UINT64_MAX / 1000000 ? base * (uint64_t)pct / 100
                                                  : base / 100 * (uint64_t)pct);
    uint64_t minimum = (uint64_t)HEAP_MINIMUM * (uint64_t)pct / 100;
    if (goal < minimum)
      goal = minimum;
  }
  uint64_t lceil = UINT64_MAX;
  if (limit != INT64_MAX) {
    hl_heap_stats_t hs;
    hl_heap_stats(&hs);
    uint64_t spans = atomic_load_relaxed(&gc.span_bytes);
    uint64_t overhead = hs.bytes_mapped + hs.bytes_metadata -
                        hs.bytes_released - spans;
    if (overhead > hs.bytes_mapped + hs.bytes_metadata)
      overhead = 0;
    uint64_t lgoal = (uint64_t)limit > overhead ? (uint64_t)limit - overhead
                                                : 0;
    lceil = lgoal;
    /* leave room to finish a cycle: 5% (Go's limit goal headroom) */
    lgoal = lgoal / 100 * 95;
    if (lgoal < marked + (1u << 20))
      lgoal = marked + (1u << 20);
    if (lgoal < goal)
      goal = lgoal;
  }
  atomic_store_relaxed(&gc.heap_goal, goal);
  /* capped assists never let the heap past the memory limit (the growth
   * allowance itself is bounded in gc_assist_capped) */
  uint64_t ceil = lceil > goal ? lceil : goal;
  atomic_store_relaxed(&gc.assist_ceiling, ceil);
  if (goal == UINT64_MAX) {
    atomic_store_relaxed(&gc.trigger, UINT64_MAX);
    return;
  }
  double cm = cons_mark_max();
  uint64_t runway = (uint64_t)(cm * (1 - 0.25) / 0.25 *
                               (double)(gc.last_scan_work + stack_bytes()));
  /* Go clamps the trigger to 70-95% of the way to the goal (a cycle
   * that starts earlier spends longer with the barrier on and keeps more
   * floating garbage). heaplab's lower bound is HLDEBUG=gctrigger
   * (default 30%): on an allocation-heavy program whose mark cannot
   * finish within 30% of the way at a 25% background share (binary-trees
   * at 2 Ps), Go's clamp turns the rest of the mark into assists — the
   * mutator's latency — while an earlier start lets the background
   * workers do it (docs/results/mmu.md: MMU, time and peak RSS for both). */
  uint64_t lo = marked + (goal - marked) / 100 * (uint64_t)hl_debug.gctrigger;
  uint64_t hi = marked + (goal - marked) / 100 * 95;
  uint64_t trig = goal > runway ? goal - runway : 0;
  if (trig < lo)
    trig = lo;
  if (trig > hi)
    trig = hi;
  atomic_store_relaxed(&gc.trigger, trig);
}

double gc_assist_capped(double wpb, double pct, double cm, double live,
                        double goal, double most, double last,
                        double expected, double minbase) {
  if (pct <= 0)
    return wpb;
  double g = last > 0 ? (expected - last) / last : 0.5;
  if (g <= 0)
    return wpb; /* no growth: Go's assists */
  if (g > 0.5)
    g = 0.5;
  double ceil = goal + g * (goal > minbase ? goal : minbase);
  if (ceil > most)
    ceil = most;
  if (live > goal && live >= ceil)
    return wpb;
  if (cm <= 0)
    cm = 1;
  double room = live <= goal ? 1 : (ceil - live) / (ceil - goal);
  double cap = pct / 100 / cm / (room * room);
  return wpb < cap ? wpb : cap;
}

/* heap_live when the cycle started and when its mark ended */
static uint64_t cycle_heap_start, cycle_heap_markend;

/* Assist ratio (Go's gcControllerState.revise): scan work still expected
 * / heap distance left to the goal. Called at mark start, when a span is
 * taken during the mark, and as background work is credited. A heap past
 * the soft goal is paced against the hard one, 10% above (Go's). */
static void pacer_revise(void) {
  uint64_t live = atomic_load_relaxed(&gc.heap_live);
  uint64_t goal = atomic_load_relaxed(&gc.heap_goal);
  double expected = (double)(gc.last_scan_work ? gc.last_scan_work : live / 2);
  double done = (double)atomic_load_relaxed(&gc.scan_work);
  double hard = goal == UINT64_MAX ? (double)live * 2
                                   : (double)goal * 1.1;
  double target = goal == UINT64_MAX ? (double)live * 2 : (double)goal;
  if (done > expected) {
    /* More work than the last cycle's. Go assumes the worst case here
     * (the whole scannable heap) and paces against the hard goal: on a
     * workload whose live heap varies from cycle to cycle (binary-trees)
     * that turns half the cycles into assist storms. heaplab assumes a
     * quarter more than done, bounded by the heap at the start (with
     * allocate-black nothing newer needs scanning), and keeps the soft
     * goal until the heap passes it. */
    double most = (double)cycle_heap_start;
    expected = done * 1.25 + 1000;
    if (expected > most && most > done)
      expected = most;
  }
  if ((double)live > target)
    target = hard;
  double remaining = expected - done;
  if (remaining < 1000)
    remaining = 1000;
  double dist = target - (double)live;
  if (dist < 1)
    dist = 1;
  /* Assists pay the projected shortfall, not the whole remaining work
   * (heaplab's departure from Go, for the MMU goal): at the rates
   * measured since the mark began, the mark workers will do about
   * bg_rate * dist / alloc_rate more before the heap reaches the target;
   * only the rest is charged to allocation. Go charges everything and
   * lets background credit cancel it after the fact, which turns a
   * worker's lag of a few hundred µs into an assist burst in the
   * mutator. A tenth of the remaining work stays charged (a margin for a
   * mis-estimate), and past the soft goal the target is the hard goal. */
  int64_t el = os_nanotime() - gc.mark_start_ns;
  if (el > 500000 && live > cycle_heap_start) {
    double alloc_rate = (double)(live - cycle_heap_start) / (double)el;
    double bg_rate = (double)atomic_load_relaxed(&gc.bg_work) / (double)el;
    double bg_expect = 0.8 * bg_rate * dist / alloc_rate;
    double least = remaining / 10;
    remaining = remaining - bg_expect > least ? remaining - bg_expect : least;
  }
  double wpb = remaining / dist;
  /* Assists capped (heaplab's departure from Go, HLDEBUG=gcassistcap):
   * below the goal a goroutine spends at most gcassistcap% of its CPU
   * assisting. An assist of w bytes of scan work per byte allocated costs
   * w * cons/mark of the allocating CPU (cons/mark = allocation rate /
   * scan rate, the largest of the last four cycles; 1 before the first).
   * When this cycle has found more to scan than the last one did (the
   * live heap grew by a fraction g), the goal computed from the last
   * cycle's marked heap is too small by about as much, and the cap holds
   * until goal * (1 + g) (g at most 0.5, within the memory limit), rising
   * to no cap on the way there; with no growth, past the goal assists are
   * Go's. Go charges all the unplanned work to the allocating goroutines
   * as the heap nears the goal: traces of binary-trees at 2 Ps showed one
   * goroutine assisting for 11 ms while its heap grew, MMU(10 ms) 0.5.
   * Capped, the mark goes on at the workers' 25% and the heap overshoots
   * the stale goal instead (docs/results/mmu.md: the trade). */
  if (goal != UINT64_MAX)
    wpb = gc_assist_capped(wpb, (double)hl_debug.gcassistcap,
                           cons_mark_max(), (double)live, (double)goal,
                           (double)atomic_load_relaxed(&gc.assist_ceiling),
                           (double)gc.last_scan_work, expected,
                           (double)ASSIST_CAP_MIN_BASE);
  gc_store_d(&gc.assist_work_per_byte, wpb);
  gc_store_d(&gc.assist_bytes_per_work, 1 / wpb);
}

/* 50% GC CPU limiter for the memory limit (Go 1.19's gcCPULimiter): a
 * bucket filled by GC time and drained by mutator time; while it is full,
 * assists are skipped so the program keeps at least half the CPU. */
static _Atomic int64_t limiter_fill, limiter_last;
static bool limiter_limiting(void) {
  if (atomic_load_relaxed(&gc.memlimit) == INT64_MAX)
    return false;
  int64_t now = os_nanotime();
  int64_t last = atomic_exchange_relaxed(&limiter_last, now);
  int64_t procs = sched.gomaxprocs;
  int64_t gcns = atomic_load_relaxed(&gc.assist_ns) + atomic_load_relaxed(&gc.worker_ns);
  static _Atomic int64_t gcns_last;
  int64_t d_gc = gcns - atomic_exchange_relaxed(&gcns_last, gcns);
  int64_t total = (now - last) * procs;
  int64_t fill = atomic_load_relaxed(&limiter_fill) + d_gc - (total - d_gc);
  int64_t cap = 1000000000LL * procs; /* 1 CPU-second */
  if (fill < 0)
    fill = 0;
  if (fill > cap)
    fill = cap;
  atomic_store_relaxed(&limiter_fill, fill);
  return fill >= cap;
}

/* ------------------------------------------------------------ statistics */

static int64_t cycle_stw_ns;   /* pauses of the current cycle */
static int64_t cycle_stw1_ns, cycle_stw2_ns;
static int64_t cycle_start_ns, cycle_mark_start_ns;
static int64_t cycle_assist0, cycle_worker0, cycle_idle_ns;
static bool cycle_forced;

/* Guards the figures hl_gc_stats copies that a cycle writes as a group
 * (pauses, marked heap); never held across a switch. */
static hl_lock_t stats_lock;

static void record_pause(int64_t ns) {
  cycle_stw_ns += ns;
  atomic_add_relaxed(&gc.stw_ns_cpu, ns * sched.gomaxprocs);
  hl_lock(&stats_lock);
  if ((uint64_t)ns > gc.pause_max_ns)
    gc.pause_max_ns = (uint64_t)ns;
  hl_unlock(&stats_lock);
}

static _Atomic int64_t idle_worker_ns;

/* ---------------------------------------------------------- mark workers */

static bool worker_unlock(g_t *gp, void *arg) {
  (void)gp;
  (void)arg;
  return true;
}

struct stopctx {
  p_t *pp;
  uint32_t mode;
  int64_t start;
  int64_t limit;
};

static bool worker_should_stop(void *arg) {
  struct stopctx *sc = arg;
  if (atomic_load_relaxed(&sched.gcwaiting) ||
      atomic_load_relaxed(&gc.phase) != GC_MARK)
    return true;
  p_t *pp = sc->pp;
  switch (sc->mode) {
  case WORKER_DEDICATED:
    return atomic_load_relaxed(&pp->preempt_coop) != 0;
  case WORKER_FRACTIONAL:
    return os_nanotime() - sc->start > sc->limit ||
           atomic_load_relaxed(&pp->preempt_coop) != 0;
  case WORKER_IDLE:
    return !runqempty(pp) || atomic_load_relaxed(&sched.runqsize) > 0;
  }
  return true;
}

/* May this P run its fractional worker at now? Its share of the mark so
 * far is below the goal, and the slices are spread: after a slice of d,
 * the P runs the mutator for d (1 - goal) / goal before the next (a
 * quarter of the CPU in every window a few slices long, not bursts that
 * catch up on a share measured since the mark started). */
static bool fractional_ok(gcache_t *c, int64_t now) {
  double goal = gc.fractional_goal;
  int64_t elapsed = now - gc.mark_start_ns;
  if (goal <= 0 || elapsed <= 0 ||
      (double)c->fractional_ns >= goal * (double)elapsed)
    return false;
  if (c->fractional_end >= gc.mark_start_ns &&
      (double)(now - c->fractional_end) <
          (double)c->fractional_last * (1 - goal) / goal)
    return false;
  return true;
}

static void flush_bg_credit(int64_t work);

static void worker_main(void *arg) {
  (void)arg;
  g_t *self = curg_or_die("gc worker");
  for (;;) {
    gopark(worker_unlock, NULL, WAIT_GC_WORKER);
    m_t *mp = rt_enter(self);
    p_t *pp = mp->p;
    gcache_t *c = pp->gc;
    struct stopctx sc = {pp, c->worker_mode, os_nanotime(), 0};
    if (sc.mode == WORKER_FRACTIONAL) {
      /* run until this P's fractional share is used, within a slice */
      int64_t elapsed = sc.start - gc.mark_start_ns;
      int64_t allowed = (int64_t)(gc.fractional_goal * 1.2 * (double)elapsed) -
                        c->fractional_ns;
      sc.limit = allowed < 20000 ? 20000 : allowed;
      if (sc.limit > FRACTIONAL_SLICE_NS)
        sc.limit = FRACTIONAL_SLICE_NS;
    }
    atomic_add_relaxed(&gc.nworking, 1);
    trace_mark_worker_start(sc.mode == WORKER_DEDICATED ? TRACE_MARK_DEDICATED
                            : sc.mode == WORKER_FRACTIONAL
                                ? TRACE_MARK_FRACTIONAL
                                : TRACE_MARK_IDLE);
    if (atomic_load_relaxed(&gc.phase) == GC_MARK) {
      wbbuf_flush(c);
      gc_drain(&c->gcw, -1, worker_should_stop, &sc, flush_bg_credit);
    }
    trace_mark_worker_end();
    int64_t ns = os_nanotime() - sc.start;
    if (sc.mode == WORKER_FRACTIONAL) {
      c->fractional_ns += ns;
      c->fractional_end = sc.start + ns;
      c->fractional_last = ns;
    }
    if (sc.mode == WORKER_DEDICATED)
      atomic_add_relaxed(&gc.dedicated_needed, 1);
    if (sc.mode == WORKER_IDLE)
      atomic_add_relaxed(&idle_worker_ns, ns);
    else
      atomic_add_relaxed(&gc.worker_ns, ns);
    c->worker_mode = WORKER_NONE;
    m_unlock(mp);
    bool last = atomic_sub_acq_rel(&gc.nworking, 1) == 1;
    if (last && atomic_load_relaxed(&gc.phase) == GC_MARK &&
        !gc_work_available() && !atomic_load_relaxed(&sched.gcwaiting))
      gc_mark_done();
  }
}

/* gc_worker_hook: the worker the P should run now, RUNNABLE, or NULL
 * (Go's findRunnableGCWorker). */
static g_t *worker_hook(p_t *pp, bool idle) {
  gcache_t *c = pp->gc;
  if (!c || !c->worker || atomic_load_relaxed(&gc.phase) != GC_MARK)
    return NULL;
  if (!gc_work_available() && gcw_empty(&c->gcw) && c->wbn == 0) {
    /* No visible work. An idle P still runs its worker when nobody else
     * marks: grey objects may sit in other Ps' buffers, and the worker's
     * mark-done check (which flushes them with the world stopped) is what
     * ends the cycle — without it the last P to go idle could leave a
     * finished mark that nobody terminates. */
    if (!idle || atomic_load_relaxed(&gc.nworking) != 0 ||
        atomic_load_relaxed(&gc.markdone_busy)) {
      /* someone is draining: ask for a share (gcw_share) */
      if (atomic_load_relaxed(&gc.nworking) != 0 &&
          !atomic_load_relaxed(&gc.work_wanted))
        atomic_store_relaxed(&gc.work_wanted, 1);
      return NULL;
    }
  }
  g_t *gp = c->worker;
  if (atomic_load_acquire(&gp->status) != G_WAITING)
    return NULL;
  uint32_t mode = WORKER_NONE;
  if (idle) {
    mode = WORKER_IDLE;
  } else {
    int32_t d = atomic_load_relaxed(&gc.dedicated_needed);
    while (d > 0 && !atomic_cas_weak_acq_rel(&gc.dedicated_needed, &d, d - 1))
      ;
    if (d > 0) {
      mode = WORKER_DEDICATED;
    } else if (fractional_ok(c, os_nanotime())) {
      mode = WORKER_FRACTIONAL;
    }
  }
  if (mode == WORKER_NONE)
    return NULL;
  uint32_t st = G_WAITING;
  if (!atomic_cas_strong_acq_rel(&gp->status, &st, G_RUNNABLE)) {
    if (mode == WORKER_DEDICATED)
      atomic_add_relaxed(&gc.dedicated_needed, 1);
    return NULL;
  }
  c->worker_mode = mode;
  return gp;
}

static void set_worker_counts(void) {
  /* Go's gcControllerState.startCycle: 25% of the Ps, dedicated workers
   * rounded, the rest as fractional when rounding is too coarse */
  double goal = sched.gomaxprocs * 0.25;
  int32_t dedicated = (int32_t)(goal + 0.5);
  double err = (double)dedicated / goal - 1;
  gc.fractional_goal = 0;
  if (err < -0.3 || err > 0.3) {
    if ((double)dedicated > goal)
      dedicated--;
    gc.fractional_goal = (goal - dedicated) / sched.gomaxprocs;
  }
  atomic_store_relaxed(&gc.dedicated_needed, dedicated);
}

/* ----------------------------------------------------------- sweeper */

static bool sweep_idle(void *arg) {
  (void)arg;
  return !atomic_load_relaxed(&gc.sweep_done);
}

static void sweeper_main(void *arg) {
  (void)arg;
  for (;;) {
    int n = 0;
    trace_sweep_start();
    while (gc_sweep_one())
      if ((++n & 7) == 0) {
        trace_sweep_end(8); /* the P runs others meanwhile */
        hl_yield(); /* low priority: let mutators run (Go's bgsweep) */
        trace_sweep_start();
      }
    trace_sweep_end((uint64_t)(n & 7));
    waitlist_park(&sweeper_wl, sweep_idle, NULL, WAIT_GC_SWEEP);
  }
}

/* --------------------------------------------------------- finalizers */

typedef struct special {
  uintptr_t obj;
  void (*fn)(void *, void *);
  void *arg;
  struct special *next;
} special_t;

#define SPECIAL_BUCKETS 4096
static hl_lock_t specials_lock;
static special_t *specials[SPECIAL_BUCKETS];
static _Atomic uint64_t nspecials_total;

static inline size_t special_hash(uintptr_t p) {
  return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 52) % SPECIAL_BUCKETS;
}

typedef struct finq {
  uintptr_t obj;
  void (*fn)(void *, void *);
  void *arg;
  struct finq *next;
} finq_t;
static hl_lock_t finq_lock;
static finq_t *finq_head, *finq_tail;
static g_t *fing;
static bool fing_parked;

/* The program's object queries read a span's allocBits, which the sweep
 * of that span swaps and clears: the sweep in progress is finished first
 * (Go's ensureSwept, here for the whole heap: the work is due anyway). */
static void ensure_swept(void) {
  if (!atomic_load_acquire(&gc.sweep_done) ||
      atomic_load_acquire(&gc.sweepers) > 0)
    gc_finish_sweep();
}

HL_API void hl_set_finalizer(void *obj, void (*fn)(void *, void *),
                             void *arg) {
  gc_init_once();
  mspan_t *s;
  uint32_t idx;
  if (hl_debug.sbrk)
    return; /* sbrk mode: nothing is ever collected */
  ensure_swept();
  uintptr_t base = gc_find_object((uintptr_t)obj, &s, &idx);
  if (!base || base != (uintptr_t)obj)
    hl_misuse("hl_set_finalizer(%p): not the start of a collected object",
              obj);
  hl_lock(&specials_lock);
  size_t h = special_hash(base);
  special_t **pp = &specials[h];
  for (; *pp; pp = &(*pp)->next)
    if ((*pp)->obj == base)
      break;
  if (*pp) {
    if (fn) {
      (*pp)->fn = fn;
      (*pp)->arg = arg;
    } else {
      special_t *d = *pp;
      *pp = d->next;
      atomic_sub_relaxed(&s->nspecials, 1);
      atomic_sub_relaxed(&nspecials_total, 1);
      hl_free(d);
    }
    hl_unlock(&specials_lock);
    return;
  }
  if (fn) {
    special_t *n = hl_malloc(sizeof *n);
    if (!n)
      hl_throw("out of memory: hl_set_finalizer");
    n->obj = base;
    n->fn = fn;
    n->arg = arg;
    n->next = specials[h];
    specials[h] = n;
    atomic_add_relaxed(&s->nspecials, 1);
    atomic_add_relaxed(&nspecials_total, 1);
  }
  hl_unlock(&specials_lock);
}

/* Marks what objects with finalizers reach (not the objects: Go's
 * markrootSpans), and the finalizers' arguments. */
void gc_specials_scan(gcwork_t *w) {
  if (!atomic_load_relaxed(&nspecials_total))
    return;
  hl_lock(&specials_lock);
  for (size_t i = 0; i < SPECIAL_BUCKETS; i++)
    for (special_t *sp = specials[i]; sp; sp = sp->next) {
      mspan_t *s = span_of(sp->obj);
      if (!(s->spanclass & 1))
        scanobject(w, sp->obj);
      shade(w, (uintptr_t)sp->arg);
    }
  hl_unlock(&specials_lock);
}

bool gc_sweep_special(mspan_t *s, uintptr_t obj) {
  hl_lock(&specials_lock);
  size_t h = special_hash(obj);
  special_t **pp = &specials[h];
  for (; *pp; pp = &(*pp)->next)
    if ((*pp)->obj == obj)
      break;
  special_t *sp = *pp;
  if (!sp) {
    hl_unlock(&specials_lock);
    return false;
  }
  *pp = sp->next;
  atomic_sub_relaxed(&s->nspecials, 1);
  atomic_sub_relaxed(&nspecials_total, 1);
  hl_unlock(&specials_lock);
  finq_t *f = hl_malloc(sizeof *f);
  if (!f)
    hl_throw("out of memory: finalizer queue");
  f->obj = obj;
  f->fn = sp->fn;
  f->arg = sp->arg;
  f->next = NULL;
  hl_free(sp);
  hl_lock(&finq_lock);
  if (finq_tail)
    finq_tail->next = f;
  else
    finq_head = f;
  finq_tail = f;
  g_t *wake = fing_parked ? fing : NULL;
  fing_parked = false;
  hl_unlock(&finq_lock);
  if (wake)
    goready(wake);
  return true;
}

void gc_finq_scan(gcwork_t *w) {
  hl_lock(&finq_lock);
  for (finq_t *f = finq_head; f; f = f->next) {
    shade(w, f->obj);
    shade(w, (uintptr_t)f->arg);
  }
  hl_unlock(&finq_lock);
}

static bool finq_unlock(g_t *gp, void *arg) {
  (void)gp;
  (void)arg;
  hl_unlock(&finq_lock);
  return true;
}

static void fing_main(void *arg) {
  (void)arg;
  for (;;) {
    hl_lock(&finq_lock);
    finq_t *f = finq_head;
    if (!f) {
      fing_parked = true;
      gopark(finq_unlock, NULL, WAIT_GC_FINALIZER);
      continue;
    }
    finq_head = f->next;
    if (!finq_head)
      finq_tail = NULL;
    hl_unlock(&finq_lock);
    /* the queue entry was a root until now: keep obj on this stack */
    volatile uintptr_t keep = f->obj;
    void (*fn)(void *, void *) = f->fn;
    void *a = f->arg;
    hl_free(f);
    fn((void *)keep, a);
    keep = 0;
  }
}

static void start_goroutines(void) {
  uint32_t zero = 0;
  if (!atomic_cas_strong_acq_rel(&goroutines_started, &zero, 1))
    return;
  for (int i = 0; i < sched.gomaxprocs; i++) {
    g_t *w = go_system(worker_main, NULL);
    /* it parks at once; the hook only takes it once it is WAITING */
    sched.allp[i]->gc->worker = w;
  }
  (void)go_system(sweeper_main, NULL);
  hl_lock(&finq_lock);
  fing = go_system(fing_main, NULL);
  hl_unlock(&finq_lock);
  gc_worker_hook = worker_hook;
}

/* ------------------------------------------------------------ assists */

static waitlist_t assist_wl;

/* Background work pays parked assists first, then the pool. */
static void flush_bg_credit(int64_t work) {
  if (work <= 0)
    return;
  atomic_add_relaxed(&gc.bg_work, work);
  if (__atomic_load_n(&assist_wl.head, __ATOMIC_RELAXED)) {
    hl_lock(&assist_wl.lock);
    g_t *list = assist_wl.head;
    __atomic_store_n(&assist_wl.head, NULL, __ATOMIC_RELAXED);
    hl_unlock(&assist_wl.lock);
    double bpw = gc_load_d(&gc.assist_bytes_per_work);
    g_t *keep = NULL;
    while (list) {
      g_t *next = list->schedlink;
      if (work > 0) {
        int64_t need = (int64_t)((double)-list->gcassistbytes *
                                 gc_load_d(&gc.assist_work_per_byte)) + 1;
        int64_t give = need < work ? need : work;
        list->gcassistbytes += (int64_t)((double)give * bpw) + 1;
        work -= give;
      }
      if (list->gcassistbytes >= 0) {
        list->schedlink = NULL;
        goready(list);
      } else {
        list->schedlink = keep;
        keep = list;
      }
      list = next;
    }
    if (keep) {
      hl_lock(&assist_wl.lock);
      g_t *t = keep;
      while (t->schedlink)
        t = t->schedlink;
      t->schedlink = assist_wl.head;
      __atomic_store_n(&assist_wl.head, keep, __ATOMIC_RELAXED);
      hl_unlock(&assist_wl.lock);
    }
  }
  if (work > 0)
    atomic_add_relaxed(&gc.bg_credit, work);
  pacer_revise();
}

/* A goroutine's allocation credit is for one cycle: reset at its first
 * use in a new one, by the goroutine itself. (Go resets every G's credit
 * with the world stopped; here a goroutine that lost its P to a signal
 * runs on during the pause, and the reset would race with its own
 * updates.) */
static inline void assist_sync(g_t *gp) {
  uint32_t cyc = (uint32_t)atomic_load_relaxed(&gc.cycle);
  if (gp->gcassistcycle != cyc) {
    gp->gcassistcycle = cyc;
    gp->gcassistbytes = 0;
  }
}

void gc_assist_alloc(g_t *gp);

/* An allocation of size bytes during the mark: charged to the
 * goroutine's credit; in debt, it assists (Go's gcAssistAlloc). */
static inline void assist_charge(g_t *gp, size_t size) {
  assist_sync(gp);
  gp->gcassistbytes -= (int64_t)size;
  if (gp->gcassistbytes < 0)
    gc_assist_alloc(gp);
}

static bool assist_stop(void *arg) {
  (void)arg;
  return atomic_load_relaxed(&sched.gcwaiting) ||
         atomic_load_relaxed(&gc.phase) != GC_MARK;
}

static bool assist_done(void *arg) {
  g_t *gp = arg;
  return atomic_load_relaxed(&gc.phase) != GC_MARK || gp->gcassistbytes >= 0;
}

void gc_assist_alloc(g_t *gp) {
  for (;;) {
    if (atomic_load_relaxed(&gc.phase) != GC_MARK) {
      gp->gcassistbytes = 0;
      return;
    }
    if (gp->system || limiter_limiting()) {
      gp->gcassistbytes = 0;
      return;
    }
    double wpb = gc_load_d(&gc.assist_work_per_byte);
    int64_t work = (int64_t)((double)-gp->gcassistbytes * wpb);
    if (work < ASSIST_MIN_WORK)
      work = ASSIST_MIN_WORK;
    /* steal background credit first */
    int64_t bg = atomic_load_relaxed(&gc.bg_credit);
    if (bg > 0) {
      int64_t steal = bg < work ? bg : work;
      atomic_sub_relaxed(&gc.bg_credit, steal);
      gp->gcassistbytes += (int64_t)((double)steal * gc_load_d(&gc.assist_bytes_per_work));
      if (gp->gcassistbytes >= 0)
        return;
      work -= steal;
    }
    m_t *mp = rt_enter(gp);
    int64_t t0 = os_nanotime();
    gcache_t *c = mp->p->gc;
    atomic_add_relaxed(&gc.nworking, 1);
    trace_assist_start();
    wbbuf_flush(c);
    int64_t done = gc_drain(&c->gcw, work, assist_stop, NULL, NULL);
    trace_assist_end();
    gp->gcassistbytes += (int64_t)((double)done * gc_load_d(&gc.assist_bytes_per_work));
    atomic_add_relaxed(&gc.assist_ns, os_nanotime() - t0);
    m_unlock(mp);
    bool last = atomic_sub_acq_rel(&gc.nworking, 1) == 1;
    if (gp->gcassistbytes >= 0)
      return;
    if (last && atomic_load_relaxed(&gc.phase) == GC_MARK &&
        !gc_work_available() && !atomic_load_relaxed(&sched.gcwaiting)) {
      gc_mark_done();
      continue;
    }
    if (done > 0)
      continue;
    /* no work to do: wait for the workers to pay (Go's gcParkAssist) */
    waitlist_park(&assist_wl, assist_done, gp, WAIT_GC_ASSIST);
  }
}

/* --------------------------------------------------------------- cycle */

static void mark_termination(int64_t stw_t0);

static void gc_reset_mark_state(void) {
  atomic_store_relaxed(&gc.bytes_marked, 0);
  atomic_store_relaxed(&gc.scan_work, 0);
  atomic_store_relaxed(&gc.bg_credit, 0);
  atomic_store_relaxed(&gc.bg_work, 0);
  atomic_store_relaxed(&gc.work_wanted, 0);
  for (int i = 0; i < sched.gomaxprocs; i++) {
    gcache_t *c = sched.allp[i]->gc;
    c->tiny = 0; /* blocks used while marking are allocated black */
    c->tinyoffset = 0;
    c->fractional_ns = 0;
  }
  /* goroutines' assist credit: reset by each at its next use
   * (assist_sync) */
}

/* hl_gc_register_cleanup's functions, run in the first pause (Go calls
 * clearpools there, before marking starts). */
#define GC_MAX_CLEANUPS 8
static void (*cleanups[GC_MAX_CLEANUPS])(void);
static _Atomic int ncleanups;

HL_API int hl_gc_register_cleanup(void (*fn)(void)) {
  static hl_lock_t lock;
  hl_lock(&lock);
  int n = atomic_load_relaxed(&ncleanups);
  if (n == GC_MAX_CLEANUPS) {
    hl_unlock(&lock);
    return -1;
  }
  cleanups[n] = fn;
  atomic_store_release(&ncleanups, n + 1);
  hl_unlock(&lock);
  return 0;
}

static void gc_start(bool forced) {
  /* In a runtime critical section from before the cycle is claimed to the
   * end: no cooperative preemption (rt_enter's yield when sysmon marked
   * the P) between claiming the cycle and stopping the world. Yielding
   * there queued the starter behind goroutines that each run 10 ms, and
   * meanwhile the others allocated with no cycle to pace them (a 100 ms
   * "pause" and the heap 4x past the trigger, seen on binary-trees). Go
   * runs gcStart's stop on the system stack, equally unpreemptible. */
  m_t *mp = rt_enter(getm()->curg);
  uint32_t zero = 0;
  if (!atomic_cas_strong_acq_rel(&gc.running, &zero, 1)) {
    m_unlock(mp);
    return;
  }
  start_goroutines();
  gc_snapshot_prepare();
  gc_finish_sweep();
  int64_t t_start = os_nanotime();
  trace_gc_start();
  int64_t t0 = os_nanotime(); /* the pause counts from the request */
  stw_stop(hl_debug.gcstoptheworld ? TRACE_STW_GC_FORCED
                                   : TRACE_STW_SWEEP_TERM);
  /* sweep termination: a P may have swept the last spans meanwhile */
  if (HL_DEBUG >= 1 || hl_debug.gccheckmark)
    gc_check_swept();
  mp = getm();
  gcache_t *c = mp->p->gc;
  atomic_add_relaxed(&gc.cycle, 1);
  cycle_forced = forced;
  cycle_stw_ns = 0;
  cycle_start_ns = t_start;
  cycle_heap_start = atomic_load_relaxed(&gc.heap_live);
  cycle_assist0 = atomic_load_relaxed(&gc.assist_ns);
  cycle_worker0 = atomic_load_relaxed(&gc.worker_ns);
  cycle_idle_ns = atomic_load_relaxed(&idle_worker_ns);
  for (int i = 0, n = atomic_load_acquire(&ncleanups); i < n; i++)
    cleanups[i]();
  gc_reset_mark_state();
  set_worker_counts();
  atomic_store_release(&gc.phase, GC_MARK);
  __atomic_store_n(&hl_gc_wb_enabled, 1, __ATOMIC_RELEASE);
  pacer_revise();
  /* every goroutine's stack, once: black from here on (hybrid barrier) */
  gc_scan_stacks(&c->gcw);
  if (hl_debug.gcstoptheworld) {
    gc_scan_stack_snapshot(&c->gcw);
    gc_scan_globals(&c->gcw);
    gc_scan_runtime(&c->gcw);
    gc_drain(&c->gcw, -1, NULL, NULL, NULL);
    int64_t stw_ns = os_nanotime() - t0;
    cycle_stw1_ns = stw_ns;
    cycle_mark_start_ns = os_nanotime();
    mark_termination(t0);
    m_unlock(getm());
    return;
  }
  gcw_flush(&c->gcw);
  atomic_store_release(&gc.roots_pending, 1);
  gc.mark_start_ns = os_nanotime();
  cycle_mark_start_ns = gc.mark_start_ns;
  atomic_store_release(&gc_blacken_enabled, 1);
  int64_t t1 = os_nanotime();
  cycle_stw1_ns = t1 - t0;
  record_pause(t1 - t0);
  stw_start();
  trace_heap_goal(atomic_load_relaxed(&gc.heap_goal));
  /* concurrent roots (still in the critical section taken above) */
  mp = getm();
  c = mp->p->gc;
  gc_scan_stack_snapshot(&c->gcw);
  gc_scan_globals(&c->gcw);
  gc_scan_runtime(&c->gcw);
  gcw_flush(&c->gcw);
  atomic_store_release(&gc.roots_pending, 0);
  /* idle Ps: wake one for idle-priority marking (a spinning M that
   * finds work wakes the next, and full buffers enlist more) */
  wakep();
  if (!gc_work_available() && atomic_load_relaxed(&gc.nworking) == 0)
    gc_mark_done();
  m_unlock(getm());
}

static void gc_mark_done_locked(void);

/* Called on a goroutine outside or inside a runtime critical section:
 * mark termination runs in one (see gc_start), so that the goroutine
 * asking for it is not preempted before the world stops. */
void gc_mark_done(void) {
  if (atomic_load_acquire(&gc.roots_pending))
    return; /* the root scan ends with its own mark-done check */
  rt_enter(getm()->curg);
  gc_mark_done_locked();
  m_unlock(getm());
}

static void gc_mark_done_locked(void) {
  uint32_t zero = 0;
  if (!atomic_cas_strong_acq_rel(&gc.markdone_busy, &zero, 1))
    return;
  if (atomic_load_relaxed(&gc.phase) != GC_MARK) {
    atomic_store_release(&gc.markdone_busy, 0);
    return;
  }
  /* a pause counts from the request to stop (Go's pauseStart): the time
   * the Ps take to stop is time nobody runs */
  int64_t t0 = os_nanotime();
  stw_stop(TRACE_STW_MARK_TERM);
  for (int i = 0; i < sched.gomaxprocs; i++) {
    gcache_t *c = sched.allp[i]->gc;
    wbbuf_flush(c);
    gcw_flush(&c->gcw);
  }
  if (gc_work_available()) {
    /* somebody still had grey objects: keep marking concurrently */
    record_pause(os_nanotime() - t0);
    stw_start();
    atomic_store_release(&gc.markdone_busy, 0);
    wakep();
    return;
  }
  mark_termination(t0);
  atomic_store_release(&gc.markdone_busy, 0);
}

static void gctrace_print(uint64_t n, int64_t t_end) {
  double since = (double)(cycle_start_ns - gc.start_ns) / 1e9;
  int64_t procs = sched.gomaxprocs;
  double total_cpu = (double)(t_end - gc.start_ns) * (double)procs;
  double gc_cpu = (double)(atomic_load_relaxed(&gc.worker_ns) +
                           atomic_load_relaxed(&gc.assist_ns) +
                           atomic_load_relaxed(&gc.stw_ns_cpu));
  int pct = total_cpu > 0 ? (int)(100.0 * gc_cpu / total_cpu) : 0;
  double stw1 = (double)cycle_stw1_ns / 1e6;
  double stw2 = (double)cycle_stw2_ns / 1e6;
  double conc = (double)(t_end - cycle_mark_start_ns) / 1e6 - stw2;
  if (conc < 0)
    conc = 0;
  double assist = (double)(atomic_load_relaxed(&gc.assist_ns) - cycle_assist0) / 1e6;
  double bg = (double)(atomic_load_relaxed(&gc.worker_ns) - cycle_worker0) / 1e6;
  double idle = (double)(atomic_load_relaxed(&idle_worker_ns) - cycle_idle_ns) / 1e6;
  char line[512];
  int len = snprintf(
      line, sizeof line,
      "gc %" PRIu64 " @%.3fs %d%%: %.3f+%.3f+%.3f ms clock, "
      "%.3f+%.3f/%.3f/%.3f+%.3f ms cpu, %" PRIu64 "->%" PRIu64 "->%" PRIu64
      " MB, %" PRIu64 " MB goal, %" PRIu64 " MB stacks, 0 MB globals, "
      "%d P%s\n",
      n, since, pct, stw1, conc, stw2, stw1 * (double)procs, assist, bg,
      idle, stw2 * (double)procs, cycle_heap_start >> 20,
      cycle_heap_markend >> 20, gc.heap_marked >> 20,
      atomic_load_relaxed(&gc.heap_goal) >> 20, stack_bytes() >> 20,
      (int)procs, cycle_forced ? " (forced)" : "");
  if (len > 0)
    (void)!write(2, line, (size_t)len);
}

static void mark_termination(int64_t t0) {
  atomic_store_release(&gc.phase, GC_MARKTERM);
  atomic_store_release(&gc_blacken_enabled, 0);
  __atomic_store_n(&hl_gc_wb_enabled, 0, __ATOMIC_RELEASE);
  cycle_heap_markend = atomic_load_relaxed(&gc.heap_live);
  /* the caches' spans go back to gcentral, which sets the marks of what
   * they allocated black (heap.c): before the checkmark reads them */
  uint64_t alloc = 0;
  for (int i = 0; i < sched.gomaxprocs; i++) {
    gcache_t *c = sched.allp[i]->gc;
    gcache_release_all(c);
    alloc += c->alloc_bytes;
    __atomic_store_n(&c->alloc_bytes, 0, __ATOMIC_RELAXED);
    atomic_add_relaxed(&gc.heap_objects, c->alloc_objects);
    __atomic_store_n(&c->alloc_objects, 0, __ATOMIC_RELAXED);
  }
  atomic_add_relaxed(&gc.total_alloc, alloc);
  if (hl_debug.gccheckmark)
    gc_checkmark();
  uint64_t marked = atomic_load_relaxed(&gc.bytes_marked);
  /* cons/mark of this cycle (Go's): allocation during the mark over scan
   * work, each per unit of the CPU it had */
  int64_t mark_ns = os_nanotime() - gc.mark_start_ns;
  int64_t scanw = atomic_load_relaxed(&gc.scan_work);
  if (mark_ns > 0 && scanw > 0 && cycle_heap_markend > cycle_heap_start) {
    /* the GC's measured share of the CPU during the mark, assists
     * included (Go's utilization + idleUtilization): with a fixed 25% a
     * mark that needed assists looked cheaper than it was, the next
     * trigger came later, and assists grew */
    double cpu = (double)mark_ns * (double)sched.gomaxprocs;
    double used =
        (double)(atomic_load_relaxed(&gc.assist_ns) - cycle_assist0 +
                 atomic_load_relaxed(&gc.worker_ns) - cycle_worker0);
    double idle = (double)(atomic_load_relaxed(&idle_worker_ns) - cycle_idle_ns);
    double util = used / cpu, idleu = idle / cpu;
    if (util < 0.05)
      util = 0.05;
    if (util + idleu > 0.95)
      idleu = 0.95 - util;
    if (idleu < 0)
      idleu = 0;
    double cm = (double)(cycle_heap_markend - cycle_heap_start) *
                (util + idleu) / ((double)scanw * (1 - util));
    cons_mark_hist[cons_mark_i++ % 4] = cm;
  }
  hl_lock(&stats_lock);
  gc.heap_marked = marked;
  hl_unlock(&stats_lock);
  gc.last_scan_work = (uint64_t)scanw;
  atomic_store_relaxed(&gc.heap_live, marked);
  pacer_set_goal();
  atomic_add_relaxed(&gc.sweepgen, 2);
  gc_sweep_start();
  atomic_store_release(&gc.phase, GC_OFF);
  int64_t t1 = os_nanotime();
  cycle_stw2_ns = t1 - t0;
  record_pause(t1 - t0);
  uint64_t n = atomic_load_relaxed(&gc.numgc);
  hl_lock(&stats_lock);
  gc.pause_ns[n % HL_GC_PAUSES] = (uint64_t)cycle_stw_ns;
  gc.pause_end[n % HL_GC_PAUSES] = (uint64_t)t1;
  gc.pause_total_ns += (uint64_t)cycle_stw_ns;
  gc.last_gc_end = (uint64_t)t1;
  hl_unlock(&stats_lock);
  if (cycle_forced)
    atomic_add_relaxed(&gc.numforced, 1);
  atomic_store_release(&gc.numgc, n + 1);
  trace_gc_end(); /* before running = 0: the next GC_START comes after */
  atomic_store_release(&gc.running, 0);
  stw_start();
  trace_heap_live(marked);
  trace_heap_goal(atomic_load_relaxed(&gc.heap_goal));
  if (hl_debug.gctrace)
    gctrace_print(n + 1, t1);
  waitlist_wake_all(&sweeper_wl);
  waitlist_wake_all(&assist_wl);
  waitlist_wake_all(&cycle_wl);
}

void gc_maybe_start(void) {
  if (atomic_load_relaxed(&gc.running))
    return;
  if (atomic_load_relaxed(&gc.heap_live) < atomic_load_relaxed(&gc.trigger))
    return;
  gc_start(false);
}

static bool cycle_reached(void *arg) {
  return atomic_load_acquire(&gc.numgc) >= *(uint64_t *)arg;
}

HL_API void hl_gc(void) {
  curg_or_die("hl_gc");
  gc_init_once();
  if (hl_debug.sbrk)
    return; /* sbrk mode: the collector never runs */
  /* Go's runtime.GC: wait for the cycle in progress, run a full one
   * started after this call, then finish its sweep */
  uint64_t n = atomic_load_acquire(&gc.cycle);
  while (atomic_load_acquire(&gc.numgc) < n)
    waitlist_park(&cycle_wl, cycle_reached, &n, WAIT_GC_CYCLE);
  if (atomic_load_acquire(&gc.cycle) == n) {
    while (atomic_load_acquire(&gc.running))
      hl_yield();
    if (atomic_load_acquire(&gc.cycle) == n)
      gc_start(true);
  }
  uint64_t want = n + 1;
  while (atomic_load_acquire(&gc.numgc) < want)
    waitlist_park(&cycle_wl, cycle_reached, &want, WAIT_GC_CYCLE);
  gc_finish_sweep();
}

HL_API int hl_gc_set_percent(int percent) {
  gc_init_once();
  int old = atomic_exchange_relaxed(&gc.gcpercent, percent < 0 ? -1 : percent);
  pacer_set_goal();
  if (sched.started && getm() && getm()->curg)
    gc_maybe_start();
  return old;
}

HL_API int64_t hl_gc_set_memlimit(int64_t bytes) {
  gc_init_once();
  if (bytes < 0)
    return atomic_load_relaxed(&gc.memlimit);
  int64_t old = atomic_exchange_relaxed(&gc.memlimit, bytes);
  pacer_set_goal();
  if (sched.started && getm() && getm()->curg)
    gc_maybe_start();
  return old;
}

HL_API void hl_gc_stats(hl_gc_stats_t *st) {
  gc_init_once();
  memset(st, 0, sizeof *st);
  hl_lock(&stats_lock);
  st->numgc = atomic_load_acquire(&gc.numgc);
  st->numforced = atomic_load_relaxed(&gc.numforced);
  memcpy(st->pause_ns, gc.pause_ns, sizeof st->pause_ns);
  memcpy(st->pause_end, gc.pause_end, sizeof st->pause_end);
  st->pause_total_ns = gc.pause_total_ns;
  st->pause_max_ns = gc.pause_max_ns;
  st->heap_live = gc.heap_marked;
  st->last_gc_end = gc.last_gc_end;
  hl_unlock(&stats_lock);
  st->heap_goal = atomic_load_relaxed(&gc.heap_goal);
  uint64_t pending = 0, objs = 0;
  for (int i = 0; i < sched.gomaxprocs; i++) {
    gcache_t *c = sched.allp[i]->gc;
    if (c) {
      pending += __atomic_load_n(&c->alloc_bytes, __ATOMIC_RELAXED);
      objs += __atomic_load_n(&c->alloc_objects, __ATOMIC_RELAXED);
    }
  }
  st->heap_alloc = atomic_load_relaxed(&gc.heap_live);
  st->total_alloc = atomic_load_relaxed(&gc.total_alloc) + pending;
  st->heap_objects = atomic_load_relaxed(&gc.heap_objects) + objs;
  st->heap_sys = atomic_load_relaxed(&gc.span_bytes);
  int64_t now = os_nanotime();
  double total = (double)(now - gc.start_ns) * sched.gomaxprocs;
  double gcns = (double)(atomic_load_relaxed(&gc.worker_ns) +
                         atomic_load_relaxed(&gc.assist_ns) +
                         atomic_load_relaxed(&gc.stw_ns_cpu));
  st->gc_cpu_fraction = total > 0 ? gcns / total : 0;
  st->assist_ns = (uint64_t)atomic_load_relaxed(&gc.assist_ns);
  st->mark_worker_ns = (uint64_t)(atomic_load_relaxed(&gc.worker_ns) +
                                  atomic_load_relaxed(&idle_worker_ns));
  st->gc_percent = atomic_load_relaxed(&gc.gcpercent);
  st->memory_limit = atomic_load_relaxed(&gc.memlimit);
  if (hl_debug.sbrk) /* everything handed out stays allocated */
    st->heap_alloc = st->total_alloc = st->heap_sys = sbrk_bytes();
}

__attribute__((noreturn)) void gc_out_of_memory(size_t size) {
  char line[512];
  int n = hl_snprintf(
      line, sizeof line,
      "heaplab: collected heap: the OS refused memory for a request of %zu "
      "bytes\n  heap live %" PRIu64 " MB, goal %" PRIu64
      " MB, in spans %" PRIu64 " MB, marked by the last cycle %" PRIu64
      " MB, cycles %" PRIu64 "\n",
      size, atomic_load_relaxed(&gc.heap_live) >> 20,
      atomic_load_relaxed(&gc.heap_goal) >> 20,
      atomic_load_relaxed(&gc.span_bytes) >> 20, gc.heap_marked >> 20,
      atomic_load_relaxed(&gc.numgc));
  if (n > 0)
    (void)!write(2, line, (size_t)n);
  hl_throw("out of memory");
}

/* ------------------------------------------------------ allocation API */

static void *alloc_sbrk(size_t size);

static HL_NOINLINE void *alloc_slow_entry(size_t size, const hl_type_t *t,
                                          size_t n, bool noscan) {
  if (hl_unlikely(hl_debug.sbrk))
    return alloc_sbrk(size);
  g_t *gp = curg_or_die("hl_new");
  if (!getm()->p || !getm()->p->gc)
    gc_init_once();
  m_t *mp = rt_enter(gp);
  if (!mp->p->gc)
    gc_init_once();
  void *v = gc_alloc(mp, size, t, n, noscan);
  mp->p->gc->check_trigger = false;
  m_unlock(mp);
  if (gc_marking()) {
    assist_charge(gp, size);
  } else {
    gc_maybe_start();
  }
  return v;
}

/* sbrk mode (HLDEBUG=sbrk=1, Go's GODEBUG=sbrk=1): every object is
 * bumped out of the allocator's sbrk chunks (alloc/sbrk.c: fresh memory,
 * already zero) and the collector never runs — the lower bound of an
 * experiment's allocation cost. hl_gc returns at once, finalizers are
 * ignored (as Go's SetFinalizer does in this mode), hl_gc_usable_size
 * returns 0 (objects carry no header), hl_gc_stats reports the bytes
 * taken from the sbrk chunks as allocated. Small objects are bumped out
 * of a 256 KiB chunk per P, without atomics. The mode costs the normal
 * fast path nothing: Ps get no gcache, so allocations take the slow
 * entry, which sends them here. */
#define SBRK_PCHUNK (256u << 10) /* bump chunk per P */
#define SBRK_PLARGE (32u << 10)  /* larger: straight from alloc/sbrk.c */

/* this P's bump chunk (Go's per-P persistentAlloc), indexed by P id */
static struct sbrk_chunk {
  uintptr_t cur, end;
} sbrk_pp[SCHED_MAXPROCS];

static void *alloc_sbrk(size_t size) {
  size_t align = size >= 16 ? 16 : 8;
  size = (size + 7) & ~(size_t)7;
  if (size == 0)
    size = 8;
  m_t *mp = tls_m;
  if (size <= SBRK_PLARGE && mp && mp->curg) {
    /* a safe point, as the normal path: yield when asked, wait for a P
     * when the hog check took it */
    mp = rt_enter(mp->curg);
    struct sbrk_chunk *c = &sbrk_pp[mp->p->id];
    uintptr_t at = (c->cur + align - 1) & ~(uintptr_t)(align - 1);
    if (at + size > c->end) {
      void *chunk = sbrk_alloc(SBRK_PCHUNK, 16);
      if (!chunk) {
        m_unlock(mp);
        gc_out_of_memory(size);
      }
      c->cur = (uintptr_t)chunk; /* the old chunk's tail is lost */
      c->end = (uintptr_t)chunk + SBRK_PCHUNK;
      at = c->cur;
    }
    c->cur = at + size;
    m_unlock(mp);
    return (void *)at;
  }
  void *v = sbrk_alloc(size, 16);
  if (!v)
    gc_out_of_memory(size);
  return v;
}

/* The P's fractional mark worker is behind its share (the test of
 * worker_hook): the allocating goroutine yields so that the scheduler
 * runs the worker. Go's fractional worker gets the P when a goroutine
 * passes through schedule(); a goroutine that allocates without blocking
 * passes there only when preempted, every 10 ms, and the worker would run
 * in rare long slices (or not at all: assists then do the marking, on
 * the mutator's time). Polled when a span is taken (every few KiB
 * allocated), so the worker runs in slices of FRACTIONAL_SLICE_NS at
 * about its share, spread over the cycle. */
static bool fractional_due(gcache_t *c) {
  if (gc.fractional_goal <= 0 || !c->worker ||
      atomic_load_relaxed(&c->worker->status) != G_WAITING ||
      atomic_load_relaxed(&gc.roots_pending))
    return false;
  return fractional_ok(c, os_nanotime());
}

/* Allocation: a runtime critical section on the P (the preemption signal
 * cannot take the P half-way), then the safe-point work: assist when in
 * debt, start a cycle when the heap passed the trigger. */
static inline void *alloc_common(size_t size, const hl_type_t *t, size_t n,
                                 bool noscan) {
  m_t *mp = tls_m;
  g_t *gp;
  if (hl_unlikely(!mp || !(gp = mp->curg)))
    return alloc_slow_entry(size, t, n, noscan);
  /* critical section first, then look at the P: checked before m_lock,
   * the preemption signal could take the P in between */
  m_lock(mp);
  if (hl_unlikely(!mp->p || !mp->p->gc ||
                  atomic_load_relaxed(&mp->p->preempt_coop))) {
    m_unlock(mp);
    return alloc_slow_entry(size, t, n, noscan);
  }
  gcache_t *c = mp->p->gc;
  void *v = gc_alloc(mp, size, t, n, noscan);
  /* heap_live changes only when a span is taken: the shared counters
   * are read then, not on every allocation (Go's shouldhelpgc) */
  bool check = c->check_trigger;
  c->check_trigger = false;
  bool yield = false;
  if (hl_unlikely(check)) {
    trace_heap_live(atomic_load_relaxed(&gc.heap_live));
    if (gc_marking()) {
      /* Go revises the assist ratio whenever heapLive moves: the nearer
       * the goal, the more each allocated byte must pay */
      pacer_revise();
      yield = fractional_due(c);
    }
  }
  m_unlock(mp);
  if (hl_unlikely(yield))
    gosched_next(); /* through schedule(): the worker hook runs it, then
                     * this goroutine again */
  if (hl_unlikely(gc_marking())) {
    assist_charge(gp, size);
  } else if (hl_unlikely(check)) {
    gc_maybe_start();
  }
  return v;
}

static HL_NOINLINE void *new_slow(const hl_type_t *t) {
  void *v = alloc_common(t->size, t, 1, t->nfields == 0);
  gc_type_fast(t); /* after: the type's bitmap is built by now */
  return v;
}

/* hl_new's assist when its goroutine is in debt, returning the object. */
static HL_NOINLINE void *new_assist(g_t *gp, void *v) {
  gc_assist_alloc(gp);
  return v;
}

/* A fast path's start on mp: a critical section, then the P's cache, or
 * NULL (no P, no cache yet, or a cooperative preemption asked: the
 * general path) with the critical section still held. */
static inline gcache_t *fast_enter(m_t *mp) {
  m_lock(mp);
  p_t *pp = mp->p;
  if (hl_likely(pp && !atomic_load_relaxed(&pp->preempt_coop)))
    return pp->gc;
  return NULL;
}

/* The end of a fast path's allocation of size bytes (v) on mp, in a
 * critical section: leave it, then the mark's assist charge. */
static inline void *fast_done(m_t *mp, g_t *gp, void *v, size_t size) {
  m_unlock(mp);
  if (hl_unlikely(gc_marking())) {
    assist_sync(gp);
    gp->gcassistbytes -= (int64_t)size;
    if (gp->gcassistbytes < 0)
      return new_assist(gp, v);
  }
  return v;
}

/* The common case inline (a cached span of the type's class with a free
 * slot: gc_new_fast), its calls all tail calls: 188 -> 118 instructions
 * per object under callgrind (binary-trees depth 16, collector off, 1 P;
 * 109 with the bitmap word of each cached span kept in the gcache),
 * binary-trees depth 18 on 2 Ps 1.03 -> 0.94 s. The safe-point work
 * after it is alloc_common's: an allocation that takes no span moves no
 * shared counter, so only the mark's assist charge is left. */
HL_API void *hl_new(const hl_type_t *t) {
  uint32_t f = atomic_load_acquire(&((hl_type_t *)t)->fast_);
  m_t *mp = tls_m;
  g_t *gp;
  if (hl_unlikely(!(f & TYPE_FAST_OK) || !mp || !(gp = mp->curg)))
    return new_slow(t);
  gcache_t *c = fast_enter(mp);
  void *v;
  if (hl_unlikely(!c || (v = gc_new_fast(c, t, f)) == NULL)) {
    m_unlock(mp);
    return new_slow(t);
  }
  return fast_done(mp, gp, v, t->size);
}

HL_API void *hl_new_array(const hl_type_t *t, size_t n) {
  if (n && t->size > SIZE_MAX / n)
    gc_out_of_memory(SIZE_MAX);
  return alloc_common(t->size * n, t, n, t->nfields == 0);
}

/* The common case inline, as hl_new's (sizes from TINY_SIZE to
 * SMALL_SIZE_MAX: under it the tiny allocator's blocks, above it the
 * 128-byte classes, both through alloc_common). */
HL_API void *hl_alloc_noscan(size_t size) {
  m_t *mp = tls_m;
  g_t *gp;
  if (hl_unlikely(size - TINY_SIZE > SMALL_SIZE_MAX - TINY_SIZE || !mp ||
                  !(gp = mp->curg)))
    return alloc_common(size, NULL, 1, true);
  gcache_t *c = fast_enter(mp);
  void *v;
  if (hl_unlikely(!c || (v = gc_noscan_fast(c, size)) == NULL)) {
    m_unlock(mp);
    return alloc_common(size, NULL, 1, true);
  }
  return fast_done(mp, gp, v, size);
}

HL_API void *hl_alloc_conservative(size_t size) {
  return alloc_common(size, NULL, 1, false);
}

HL_API size_t hl_gc_usable_size(const void *p) {
  if (hl_debug.sbrk)
    return 0; /* objects carry no size in sbrk mode */
  ensure_swept();
  mspan_t *s;
  uint32_t idx;
  uintptr_t base = gc_find_object((uintptr_t)p, &s, &idx);
  if (!base || base != (uintptr_t)p)
    return 0;
  return s->sizeclass ? s->elemsize : s->gcsize;
}
