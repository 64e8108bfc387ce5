/*
 * sched/proc.c — the scheduler: Ms, Ps, schedule(), park/ready, goroutine
 * creation and exit, syscalls, thread locking, hl_main.
 *
 * Entry points: hl_main, hl_go, hl_yield, hl_exit, hl_goid,
 * hl_numgoroutine, hl_maxprocs, hl_safepoint, hl_lock_os_thread,
 * hl_unlock_os_thread, hl_syscall_enter/exit; internally gopark, goready,
 * wakep, injectglist.
 *
 * The scheduler (Go's proc.go, same names):
 *  1. Every M runs mstart_loop on its g0 (its thread stack): pick a G
 *     (schedule), switch to it (execute), and when it switches back run
 *     the action it left in m->after (park: call the unlock callback;
 *     yield: run queue; exit: free it), then loop.
 *  2. schedule(): every 61st tick the global queue first (fairness), then
 *     the P's runnext and ring, then findrunnable().
 *  3. findrunnable(): timers, local queue, global queue, network poll,
 *     then steal from other Ps (4 rounds over all Ps in random order) if
 *     allowed to spin; else give the P back and sleep (stopm) until work
 *     arrives or the next timer is due.
 *  4. Spinning: an M looking for work is "spinning". At most half the busy
 *     Ps' worth of Ms spin (2 * nmspinning < gomaxprocs - npidle). When a
 *     G becomes runnable and there is an idle P but no spinning M, wakep()
 *     starts one; a spinning M that finds work wakes another before
 *     running it (resetspinning), so work spreads without a thundering
 *     herd.
 *  5. Lost wakeups: an M about to sleep re-checks every P's queue after
 *     leaving the spinning state (the "delicate dance" of Go's
 *     findrunnable), because a G put on a queue just before may have seen
 *     it spinning and not woken anyone.
 *  6. Syscalls: hl_syscall_enter leaves the P in state SYSCALL, still tied
 *     to the M; hl_syscall_exit takes it back with a CAS if nobody took it
 *     (fast path). sysmon hands a P stuck in a syscall for > 20 us to
 *     another M (sysmon.c).
 *  7. Allocation: each P owns an mcache; an M holding a P allocates from
 *     it (tls_mcache), an M without one from its thread's own.
 *
 *  8. Direct switches: hl_yield, gopark, hl_exit and hl_go (when its ring
 *     is full) switch from the running G straight to the next one of the P
 *     when there is one, without going through g0 (one switch instead of
 *     two). The G being left must not be visible to others (on a run
 *     queue, to a waker, on a free list) until its context is saved, so
 *     the bookkeeping g0 would do after the switch (queue it, mark it
 *     waiting and run the park's unlock callback, or free it) is left in
 *     m->after for the next G, which does it
 *     first thing (resume_after_switch). When schedule() has something to
 *     look at first (the global queue's turn, due timers) or a G is wired
 *     to a thread, the switch goes through g0 as in Go (mcall).
 */
#include "sched/internal.h"
#include "alloc/internal.h"
#include "base/env.h"
#include "base/os.h"
#include "heaplab/alloc.h"
#include "heaplab/sched.h"
#include "trace/emit.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

HL_HIDDEN schedt_t sched;
#undef tls_m /* the variable itself; accessed through HL_TLS below */
HL_HIDDEN __thread m_t *tls_m __attribute__((tls_model("initial-exec")));
#define tls_m HL_TLS(tls_m)

static bool schedule(m_t *mp);
static void execute(m_t *mp, g_t *gp, bool inherit);
static void mstart_loop(m_t *mp);
static bool stopm(m_t *mp);
static void startm(p_t *pp, bool spinning);
static void handoffp(p_t *pp);
static inline __attribute__((always_inline)) void
switch_direct(m_t *mp, g_t *gp, g_t *next, uint32_t after);
static g_t *runq_next_direct(m_t *mp, p_t *pp, bool *inherit);
static void gfree_dead(p_t *pp, g_t *gp);

/* ---------------------------------------------------------------- misc */

int64_t sched_nanotime(void) { return os_nanotime(); }

uint32_t fastrand(void) {
  m_t *mp = tls_m;
  uint64_t x = mp ? mp->rand : (uint64_t)os_nanotime();
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  if (mp)
    mp->rand = x;
  return (uint32_t)(x >> 16);
}

g_t *curg_or_die(const char *fn) {
  m_t *mp = tls_m;
  if (!mp || !mp->curg)
    hl_throwf("%s called outside a goroutine (start the runtime with "
              "hl_main and call it from a goroutine)",
              fn);
  return mp->curg;
}

/* --------------------------------------------------------- P handling */

/* schedtick is written by the owner only and read by sysmon: a relaxed
 * load and store, not an atomic add. */
static inline uint32_t tick_inc(p_t *pp) {
  uint32_t t = atomic_load_relaxed(&pp->schedtick) + 1;
  atomic_store_relaxed(&pp->schedtick, t);
  return t;
}

/* Associates pp with mp. pp was idle (or handed over) and is now owned by
 * mp: its mcache becomes the thread's allocation cache. */
static void acquirep(m_t *mp, p_t *pp) {
  HL_ASSERT(atomic_load_relaxed(&pp->m) == NULL);
  atomic_store_relaxed(&pp->m, mp);
  atomic_store_release(&pp->status, P_RUNNING);
  mp->p = pp;
  trace_proc_start(pp->id);
  HL_TLS(tls_mcache) = pp->mcache;
  if (mp->held_mcache) {
    /* the cache this thread kept when its P was taken from a hogging G:
     * it becomes the spare of this P, or goes back to the pool */
    mcache_t *h = mp->held_mcache, *none = NULL;
    mp->held_mcache = NULL;
    if (!atomic_cas_strong_acq_rel(&pp->spare_mcache, &none, h))
      mcache_destroy(h);
  }
}

/* acquirep for a P handed to a sleeping or new M through m->nextp
 * (startm, stopm): the P is P_TRANSIT until this M claims it. Returns
 * false when a stop-the-world took it meanwhile (it may even be idle or
 * running elsewhere by now): mp holds no P and goes back to sleep, and
 * gives up spinning (the spinning count belongs to Ms that look for
 * work). */
static bool acquirep_handed(m_t *mp, p_t *pp) {
  uint32_t st = P_TRANSIT;
  if (!atomic_cas_strong_acq_rel(&pp->status, &st, P_IDLE)) {
    if (mp->spinning) {
      mp->spinning = false;
      atomic_sub_relaxed(&sched.nmspinning, 1);
    }
    return false;
  }
  acquirep(mp, pp);
  return true;
}

static p_t *releasep(m_t *mp) {
  p_t *pp = mp->p;
#if HL_DEBUG >= 1
  if (!pp || atomic_load_relaxed(&pp->m) != mp)
    hl_throwf("releasep: M%ld holds P%d but P%d's m is M%ld (status %u)",
              (long)mp->id, pp ? pp->id : -1, pp ? pp->id : -1,
              pp && atomic_load_relaxed(&pp->m)
                  ? (long)atomic_load_relaxed(&pp->m)->id
                  : -1L,
              pp ? atomic_load_relaxed(&pp->status) : 0u);
#endif
  trace_proc_stop();
  atomic_store_relaxed(&pp->m, NULL);
  atomic_store_release(&pp->status, P_IDLE);
  mp->p = NULL;
  HL_TLS(tls_mcache) = mp->held_mcache ? mp->held_mcache : mp->mcache;
  return pp;
}

/* Caller holds sched.lock. */
static void pidleput(p_t *pp) {
  pp->link = sched.pidle;
  sched.pidle = pp;
  atomic_add_relaxed(&sched.npidle, 1);
}

/* Caller holds sched.lock. */
static p_t *pidleget(void) {
  p_t *pp = sched.pidle;
  if (pp) {
    sched.pidle = pp->link;
    atomic_sub_relaxed(&sched.npidle, 1);
  }
  return pp;
}

/* --------------------------------------------------------- M handling */

static void *mstart(void *arg);

static m_t *allocm(void) {
  m_t *mp = hl_calloc(1, sizeof *mp);
  if (!mp)
    hl_throw("out of memory: cannot allocate an M");
  mp->id = atomic_add_relaxed(&sched.mnext, 1);
  mp->rand = (uint64_t)os_nanotime() * 0x9E3779B97F4A7C15ull + (uint64_t)mp->id;
  if (!mp->rand)
    mp->rand = 1;
  mp->g0.stack.kind = STACK_NATIVE;
  mp->g0.goid = 0;
  hl_lock(&sched.lock);
  mp->alllink = sched.allm;
  sched.allm = mp;
  sched.mcount++;
  hl_unlock(&sched.lock);
  return mp;
}

/* Starts a new M (thread) that will run with pp (may be NULL). */
static void newm(p_t *pp, bool spinning) {
  m_t *mp = allocm();
  atomic_store_release(&mp->nextp, pp);
  mp->spinning = spinning;
  int r = os_thread_start(mstart, mp, 512 << 10);
  if (r != 0)
    hl_throwf("cannot create a thread for the scheduler (error %d): too "
              "many threads?",
              -r);
}

/* Caller holds sched.lock. */
static void mput(m_t *mp) {
  mp->schedlink = sched.midle;
  sched.midle = mp;
  sched.nmidle++;
  mp->idle = true;
  sched_checkdead();
}

/* Takes mp off the idle M list if it is there; returns whether it was.
 * Caller holds sched.lock. */
static bool midle_remove(m_t *mp) {
  bool found = false;
  for (m_t **link = &sched.midle; *link; link = &(*link)->schedlink) {
    if (*link == mp) {
      *link = mp->schedlink;
      sched.nmidle--;
      found = true;
      break;
    }
  }
  mp->idle = false;
  return found;
}

/* Caller holds sched.lock. */
static m_t *mget(void) {
  m_t *mp = sched.midle;
  if (mp) {
    sched.midle = mp->schedlink;
    sched.nmidle--;
    mp->idle = false;
  }
  return mp;
}

static void notewakeup(m_t *mp) {
  /* release: the waker's writes (nextp, spinning) are seen by the woken. */
  atomic_store_release(&mp->note, 1);
  futex_wake(&mp->note, 1);
}

/* Sleeps until notewakeup or timeout (< 0: none). */
static void notesleep(m_t *mp, int64_t timeout) {
  int64_t deadline = timeout >= 0 ? os_nanotime() + timeout : -1;
  /* acquire: pairs with the release in notewakeup. */
  while (atomic_load_acquire(&mp->note) == 0) {
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - os_nanotime();
      if (left <= 0)
        break;
    }
    futex_wait(&mp->note, 0, left);
  }
  /* Consume a wakeup, even one that raced with the timeout: acquire, so
   * the waker's nextp is visible to the caller's check that follows.
   * (Clearing with a plain store could erase a wakeup that arrived after
   * the timeout and leave this M asleep with a P handed to it.) */
  atomic_exchange_acquire(&mp->note, 0);
}

/* Starts an M (idle or new) to run pp; if pp is NULL takes an idle P, and
 * does nothing if there is none. */
static void startm(p_t *pp, bool spinning) {
  m_t *self = tls_m;
  if (self)
    m_lock(self);
  hl_lock(&sched.lock);
  if (!pp) {
    pp = pidleget();
    if (!pp) {
      hl_unlock(&sched.lock);
      if (spinning)
        atomic_sub_relaxed(&sched.nmspinning, 1);
      if (self)
        m_unlock(self);
      return;
    }
  }
  m_t *mp = mget();
  /* until the M wakes (a futex wake-up or a new thread: tens to hundreds
   * of µs) a stop-the-world may take the P instead of waiting for it */
  atomic_store_release(&pp->status, P_TRANSIT);
  hl_unlock(&sched.lock);
  if (!mp) {
    newm(pp, spinning);
  } else {
    mp->spinning = spinning;
    atomic_store_release(&mp->nextp, pp);
    notewakeup(mp);
  }
  if (self)
    m_unlock(self);
}

void wakep_slow(void) {
  int32_t zero = 0;
  /* one spinning M at a time is enough to find the new work */
  if (atomic_load_relaxed(&sched.nmspinning) != 0 ||
      !atomic_cas_strong_acq_rel(&sched.nmspinning, &zero, 1))
    return;
  startm(NULL, true);
}

/* ----------------------------------------------------- stop-the-world */

/* Hooks of the collector (gc/): the scheduler runs a mark worker when
 * gc_worker_hook gives one (Go's findRunnableGCWorker; idle: the P has
 * nothing else to run). */
HL_HIDDEN _Atomic uint32_t gc_blacken_enabled;
HL_HIDDEN void (*gc_shade_hook)(const void *p, size_t n);
/* Set by the collector (a constructor in gc/): called by hl_main once
 * the Ps exist. */
HL_API void (*sched_gc_init_hook)(void);
/* The barrier flag HL_STORE tests (heaplab/gc.h); here so that channels
 * test it without depending on the collector. */
HL_API volatile uint32_t hl_gc_wb_enabled;
HL_HIDDEN g_t *(*gc_worker_hook)(p_t *pp, bool idle);

/* Direct switches (below) skip schedule(): not while a stop-the-world
 * is waiting for this P (gcstopm) or the collector is marking (the P's
 * mark worker is chosen there, gc_worker_hook). */
static inline bool direct_ok(void) {
  return !atomic_load_relaxed(&sched.gcwaiting) &&
         !atomic_load_relaxed(&gc_blacken_enabled);
}

/* pp (held by nobody) stops for the stop-the-world in progress. Caller
 * holds sched.lock. */
static void gcstop_locked(p_t *pp) {
  atomic_store_relaxed(&pp->m, NULL);
  atomic_store_release(&pp->status, P_GCSTOP);
  if (--sched.stopwait == 0) {
    atomic_store_release(&sched.stopnote, 1);
    futex_wake(&sched.stopnote, 1);
  }
}

static bool stopm(m_t *mp);

/* mp's P stops for the stop-the-world; mp sleeps until it is given a P
 * again (Go's gcstopm). Returns stopm's result. */
static bool gcstopm(m_t *mp) {
  if (mp->spinning) {
    mp->spinning = false;
    atomic_sub_relaxed(&sched.nmspinning, 1);
  }
  p_t *pp = mp->p;
  atomic_store_relaxed(&pp->m, NULL);
  mp->p = NULL;
  HL_TLS(tls_mcache) = mp->held_mcache ? mp->held_mcache : mp->mcache;
  hl_lock(&sched.lock);
  gcstop_locked(pp);
  hl_unlock(&sched.lock);
  return stopm(mp);
}

/* Hands off pp from an M that is blocking (syscall, locked G). */
static void handoffp(p_t *pp) {
  if (hl_unlikely(atomic_load_acquire(&sched.gcwaiting))) {
    hl_lock(&sched.lock);
    if (atomic_load_relaxed(&sched.gcwaiting)) {
      gcstop_locked(pp);
      hl_unlock(&sched.lock);
      return;
    }
    hl_unlock(&sched.lock);
  }
  if (!runqempty(pp) || atomic_load_relaxed(&sched.runqsize) != 0) {
    startm(pp, false);
    return;
  }
  /* the collector is marking: the P can run a mark worker (Go's
   * handoffp: gcBlackenEnabled && gcMarkWorkAvailable) */
  if (hl_unlikely(atomic_load_relaxed(&gc_blacken_enabled))) {
    startm(pp, false);
    return;
  }
  int32_t zero = 0;
  if (atomic_load_relaxed(&sched.nmspinning) +
              atomic_load_relaxed(&sched.npidle) ==
          0 &&
      atomic_cas_strong_acq_rel(&sched.nmspinning, &zero, 1)) {
    startm(pp, true);
    return;
  }
  hl_lock(&sched.lock);
  if (atomic_load_relaxed(&sched.runqsize) != 0) {
    hl_unlock(&sched.lock);
    startm(pp, false);
    return;
  }
  /* timers of this P must keep firing: if every other P is idle, give it
   * an M that will sleep until the next timer */
  if (atomic_load_relaxed(&pp->timer0) &&
      atomic_load_relaxed(&sched.npidle) == sched.gomaxprocs - 1) {
    hl_unlock(&sched.lock);
    startm(pp, false);
    return;
  }
  pidleput(pp);
  hl_unlock(&sched.lock);
  /* an idle P with timers: make sure some M wakes for them (Ms asleep in
   * stopm without a P wait for a P, not for a deadline) */
  if (atomic_load_relaxed(&pp->timer0) != 0)
    wakep();
}

/* Parks mp until another M hands it a P (m->nextp). The M holds no P.
 * Returns false only for m0 woken because the main goroutine exited. */
static bool stopm(m_t *mp) {
  HL_ASSERT(mp->p == NULL);
  hl_lock(&sched.lock);
  mput(mp);
  /* main_done is set before goexit0 looks (under this lock) for an idle
   * m0 to wake: either it saw us idle, or we see main_done here */
  bool leave = mp == sched.m0 && atomic_load_acquire(&sched.main_done);
  hl_unlock(&sched.lock);
  if (leave)
    atomic_store_relaxed(&mp->note, 1); /* fall through to the exit below */
  int64_t next = timers_next_all();
  for (;;) {
    int64_t wait = -1;
    if (next > 0) {
      wait = next - os_nanotime();
      if (wait < 0)
        wait = 0;
    }
    notesleep(mp, wait);
    if (atomic_load_acquire(&mp->nextp))
      break;
    if (mp == sched.m0 && atomic_load_acquire(&sched.main_done)) {
      hl_lock(&sched.lock);
      if (atomic_load_acquire(&mp->nextp)) { /* handed a P after all: run with it */
        hl_unlock(&sched.lock);
        break;
      }
      midle_remove(mp);
      hl_unlock(&sched.lock);
      return false;
    }
    /* timed out: a timer is due. Try to get a P to run it. */
    hl_lock(&sched.lock);
    if (atomic_load_acquire(&mp->nextp)) { /* handed a P while we looked */
      hl_unlock(&sched.lock);
      break;
    }
    p_t *pp = NULL;
    if (mp->idle) {
      pp = pidleget();
      if (pp) { /* leave the idle list; the P is handed as startm's */
        midle_remove(mp);
        atomic_store_release(&pp->status, P_TRANSIT);
      }
    }
    hl_unlock(&sched.lock);
    if (pp) {
      atomic_store_release(&mp->nextp, pp);
      break;
    }
    /* no idle P: the due timer is on a P that an M holds and runs (its
     * schedule() runs its timers) or that sysmon will retake from a
     * syscall and hand off (handoffp wakes an M for a P with timers).
     * Sleep until handed a P instead of spinning on a deadline this M
     * cannot serve. */
    next = 0;
  }
  p_t *pp = atomic_load_acquire(&mp->nextp);
  atomic_store_relaxed(&mp->nextp, NULL);
  if (!acquirep_handed(mp, pp))
    return stopm(mp); /* a stop-the-world took it on its way: sleep again */
  return true;
}

/* A spinning M found work: stop spinning and, if it was the last spinner,
 * wake another so the remaining work keeps being looked for. */
static void resetspinning(m_t *mp) {
  mp->spinning = false;
  int32_t n = atomic_sub_acq_rel(&sched.nmspinning, 1) - 1;
  if (n < 0)
    hl_throw("resetspinning: negative nmspinning");
  wakep();
}

/* ----------------------------------------------------------- G handling */

static void goentry(void *arg);

/* Puts a dead G (with its stack) on pp's free list. */
static void gfput(p_t *pp, g_t *gp) {
  gp->schedlink = pp->gfree;
  pp->gfree = gp;
  pp->ngfree++;
  if (pp->ngfree >= GFREE_MAX) {
    hl_lock(&sched.lock);
    while (pp->ngfree > GFREE_MAX / 2) {
      g_t *g1 = pp->gfree;
      pp->gfree = g1->schedlink;
      pp->ngfree--;
      g1->schedlink = sched.gfree;
      sched.gfree = g1;
      atomic_store_relaxed(&sched.ngfree, atomic_load_relaxed(&sched.ngfree) + 1);
    }
    hl_unlock(&sched.lock);
  }
}

static g_t *gfget(p_t *pp) {
  if (!pp->gfree && atomic_load_relaxed(&sched.ngfree) > 0) {
    hl_lock(&sched.lock);
    while (pp->ngfree < GFREE_MAX / 2 && sched.gfree) {
      g_t *g1 = sched.gfree;
      sched.gfree = g1->schedlink;
      atomic_store_relaxed(&sched.ngfree, atomic_load_relaxed(&sched.ngfree) - 1);
      g1->schedlink = pp->gfree;
      pp->gfree = g1;
      pp->ngfree++;
    }
    hl_unlock(&sched.lock);
  }
  g_t *gp = pp->gfree;
  if (gp) {
    pp->gfree = gp->schedlink;
    pp->ngfree--;
  }
  return gp;
}

static g_t *malg(void) {
  g_t *gp = hl_calloc(1, sizeof *gp);
  if (!gp)
    return NULL;
  if (stack_alloc(&gp->stack) != 0) {
    hl_free(gp);
    return NULL;
  }
  ctx_g_created(gp);
  hl_lock(&sched.allglock);
  gp->alllink = sched.allgs;
  sched.allgs = gp;
  hl_unlock(&sched.allglock);
  return gp;
}

/* Goroutine counts: every P counts the goroutines created and exited on
 * it, each counter written only by the P's owner (a relaxed load and a
 * release store: no shared cache line, no locked instruction, where one
 * atomic counter for all made spawning on two Ps bounce it per G). */
static inline void p_count(_Atomic int64_t *c) {
  /* release: pairs with the acquire loads in gcount */
  atomic_store_release(c, atomic_load_relaxed(c) + 1);
}

/* User goroutines alive. Exits are read before creations, with acquire:
 * a G's creation happens before its exit, so every exit counted has its
 * creation counted too. The sum may include a goroutine that has just
 * exited, never miss one that is alive at the time of the call: a loop
 * waiting for the count to drop cannot stop early. Exact when no P is
 * running (checkdead). */
int64_t gcount(void) {
  int64_t exited = 0, created = 0;
  for (int i = 0; i < sched.gomaxprocs; i++)
    exited += atomic_load_acquire(&sched.allp[i]->nexited);
  for (int i = 0; i < sched.gomaxprocs; i++)
    created += atomic_load_acquire(&sched.allp[i]->ncreated);
  return created - exited - atomic_load_relaxed(&sched.nsystem);
}

/* Creates a runnable G for fn(arg) on pp; returns it (NULL: no memory). */
static g_t *newproc1(p_t *pp, void (*fn)(void *), void *arg) {
  g_t *gp = gfget(pp);
  if (!gp) {
    gp = malg();
    if (!gp)
      return NULL;
  }
  gp->fn = fn;
  gp->arg = arg;
  gp->startarg = (uintptr_t)arg;
  if (pp->goidcache == pp->goidcacheend) {
    /* a batch of ids at once: goidgen is shared by every P (Go's
     * goidcache); ids are unique, increasing per P, not globally */
    pp->goidcache = atomic_add_relaxed(&sched.goidgen, GOID_BATCH) + 1;
    pp->goidcacheend = pp->goidcache + GOID_BATCH;
  }
  gp->goid = pp->goidcache++;
  trace_go_create(gp->goid);
  gp->m = NULL;
  gp->lockedm = NULL;
  gp->lockcount = 0;
  gp->param = NULL;
  gp->waiting = NULL;
  gp->waitreason = WAIT_NONE;
  gp->gcassistbytes = 0;
  gp->system = false;
  stack_set_canary(gp);
  ctx_make(gp, goentry, gp);
  gp->stack.dirty = 1;
  p_count(&pp->ncreated);
  atomic_store_release(&gp->status, G_RUNNABLE);
  return gp;
}

HL_API int64_t hl_go(void (*fn)(void *), void *arg) {
  g_t *self = curg_or_die("hl_go");
  m_t *mp = rt_enter(self);
  g_t *gp = newproc1(mp->p, fn, arg);
  if (!gp) {
    m_unlock(mp);
    hl_throwf("cannot create a goroutine: out of memory for its stack "
              "(%zu KiB reserved per goroutine)",
              (size_t)(sched.stacksize >> 10));
  }
  int64_t id = gp->goid;
  p_t *pp = mp->p;
  if (hl_unlikely(runq_full(pp)) && !mp->lockedg && mp->locks == 1 &&
      hl_lock_depth == 0 && direct_ok()) {
    /* The ring is full: this G makes goroutines faster than its P runs
     * them. Run one now and resume the creator after it (from runnext).
     * Go instead moves half the ring to the global queue: the number of
     * live goroutines, with their stacks, then grows with the spawning
     * loop (500,000 spawned without a pause kept 500,000 stacks live: a
     * cache miss, often a page fault, per goroutine); here it stays
     * bounded by the ring. Usually the new G runs (its stack is the one
     * in cache); every 16th tick the ring's oldest does and the new G
     * takes its place at the tail, so the queued Gs are not left waiting
     * for as long as the loop goes on. */
    g_t *next = gp;
    if ((atomic_load_relaxed(&pp->schedtick) & 15) == 0) {
      next = runqget_ring(pp);
      if (next && next->lockedm) {
        runqput(pp, next, false); /* wired: g0 hands it over in its turn */
        next = NULL;
      }
      if (next)
        runqput(pp, gp, false);
    }
    if (next) {
      wakep();
      tick_inc(pp);
      switch_direct(mp, self, next, AFTER_GO_DIRECT);
      return id;
    }
  }
  runqput(pp, gp, true);
  wakep();
  m_unlock(mp);
  return id;
}

/* Runs on a G right after it is resumed (any resume point): performs the
 * action a G that switched directly to it left behind (AFTER_YIELD_DIRECT:
 * the yielding G goes on the run queue only now that its context is
 * saved), then leaves the runtime critical section the switch ran in.
 *
 * m->locks protocol: a G enters a switch with locks == 1 (m_lock); the
 * context it switches to leaves with m_unlock on the same thread. g0
 * sets locks = 1 before it switches to a G (execute), and a new G starts
 * by calling resume_after_switch, so every context is balanced. */
static HL_NOINLINE void resume_after_direct(m_t *mp, uint32_t after);

static inline void resume_after_switch(void) {
  m_t *mp = tls_m;
  uint32_t after = mp->after;
  if (after != AFTER_NONE)
    resume_after_direct(mp, after);
  m_unlock(mp);
}

/* The action a G that switched directly to this one left (see above). */
static void resume_after_direct(m_t *mp, uint32_t after) {
  if (after == AFTER_YIELD_DIRECT || after == AFTER_GO_DIRECT) {
    g_t *prev = mp->after_g;
    mp->after = AFTER_NONE;
    mp->after_g = NULL;
    prev->m = NULL;
    atomic_store_release(&prev->status, G_RUNNABLE);
    runqput(mp->p, prev, after == AFTER_GO_DIRECT);
  } else if (after == AFTER_EXIT_DIRECT) {
    g_t *prev = mp->after_g;
    mp->after = AFTER_NONE;
    mp->after_g = NULL;
    gfree_dead(mp->p, prev);
  } else if (after == AFTER_PARK_DIRECT) {
    /* what after_switch does for AFTER_PARK, here on the next G */
    g_t *prev = mp->after_g;
    bool (*fn)(g_t *, void *) = mp->after_unlock;
    void *arg = mp->after_arg;
    mp->after = AFTER_NONE;
    mp->after_g = NULL;
    mp->after_unlock = NULL;
    mp->after_arg = NULL;
    prev->m = NULL; /* before fn: once it unlocks, prev may be readied */
    atomic_store_release(&prev->status, G_WAITING);
    if (fn && !fn(prev, arg)) {
      atomic_store_release(&prev->status, G_RUNNABLE);
      runqput(mp->p, prev, true);
    }
  }
}

/* Runs pp's due timers on every (mask + 1)th call while it has any
 * (reading the clock on every switch would cost a quarter of a yield).
 * Counted per call, not by schedtick: a G that inherits the time slice
 * (runnext: channel ping-pong) does not move schedtick, and the P's timers
 * went unchecked until sysmon preempted the pair (a 0.5 ms sleep took up
 * to 150-500 ms among four ping-pong pairs: tests/sched/test_timer.c). */
static inline void timers_poll(p_t *pp, uint32_t mask) {
  if (atomic_load_relaxed(&pp->timer0) &&
      ((++pp->timerpoll & mask) == 0 || pp->timerkick)) {
    pp->timerkick = false;
    int64_t now = os_nanotime();
    if (atomic_load_relaxed(&pp->timer0) <= now)
      timers_run(pp, now);
  }
}

/* timers_poll's test without running the timers, for a caller that may
 * hold a lock a timer callback takes (gopark: the poll descriptor's lock,
 * which pd_deadline takes — running them there deadlocked against a
 * thread running this P's timers). True when some are due: the caller
 * goes through g0, whose schedule() runs them (timerkick) after the
 * park's unlock callback. */
static inline bool timers_due(p_t *pp, uint32_t mask) {
  int64_t t0 = atomic_load_relaxed(&pp->timer0);
  if (!t0 || (++pp->timerpoll & mask) != 0 || t0 > os_nanotime())
    return false;
  pp->timerkick = true;
  return true;
}

/* The G to switch to directly, without g0, when the running G of mp
 * gives up pp (hl_yield, gopark), or NULL: then through g0's schedule(),
 * which looks at what this skips (due timers: timers_due; the global
 * queue's turn, other Ps' work). Not for a G wired to a thread on either side. The G
 * returned is off the queues; it was runnext if *inherit. */
static g_t *runq_next_direct(m_t *mp, p_t *pp, bool *inherit) {
  uint32_t tick = atomic_load_relaxed(&pp->schedtick);
  if (mp->lockedg || !direct_ok() || (tick + 1) % GLOBAL_RUNQ_TICK == 0 ||
      timers_due(pp, 7))
    return NULL;
  g_t *next = runqget(pp, inherit);
  if (next && next->lockedm) {
    runqput(pp, next, true); /* give it back: g0 will hand it over */
    return NULL;
  }
  return next;
}

/* Switches from the running G gp straight to next (RUNNABLE, taken off
 * every queue), without g0: gp is queued by next, in resume_after_switch,
 * once its context is saved (after: AFTER_YIELD_DIRECT or
 * AFTER_GO_DIRECT). Caller did rt_enter; returns when gp is resumed,
 * with the critical section left. Inlined into each caller: `after` is
 * a constant there, and the call and frame were a sixth of a yield. */
static inline __attribute__((always_inline)) void
switch_direct(m_t *mp, g_t *gp, g_t *next, uint32_t after) {
  mp->after = after;
  mp->after_g = gp;
  mp->curg = next;
  next->m = mp;
  atomic_store_relaxed(&next->status, G_RUNNING);
  /* parking, exiting and the one-P yield come straight from gp's
   * GO_BLOCK, GO_END or GO_YIELD event: next's start shares its tick (no
   * clock read) */
  if (after == AFTER_PARK_DIRECT || after == AFTER_NONE ||
      after == AFTER_EXIT_DIRECT)
    trace_go_start_same(next->goid);
  else
    trace_go_start(next->goid);
  if (gp->stack.kind == STACK_SLAB)
    stack_check(gp);
  ctx_switch(gp, next);
  resume_after_switch();
}

/* Switches from the running G to g0 with an action for g0 to perform.
 * Caller did m_lock; returns (resumed, maybe on another M) with the
 * critical section left. */
static void mcall(g_t *gp, uint32_t after) {
  m_t *mp = gp->m;
  mp->after = after;
  if (gp->stack.kind == STACK_SLAB)
    stack_check(gp);
  ctx_switch(gp, &mp->g0);
  resume_after_switch();
}

static void goexit0(m_t *mp, g_t *gp);

/* First function on a new G's stack. */
static void goentry(void *arg) {
  g_t *gp = arg;
  ctx_first_entry();
  resume_after_switch();
  /* the argument leaves the G for this frame: gp->arg is a collector root
   * only until the G has started (gc/mark.c walk_stacks) */
  void *a = gp->arg;
  gp->arg = NULL;
  gp->fn(a);
  hl_exit();
}

/* hl_exit's runq_next_direct, counting the tick. Out of line: hl_exit's
 * frame is never returned from, and a local whose address is taken
 * (inherit) gets AddressSanitizer redzones there that would stay
 * poisoned on the stack when the G is reused. */
static HL_NOINLINE g_t *exit_next(m_t *mp) {
  bool inherit;
  g_t *next = runq_next_direct(mp, mp->p, &inherit);
  if (next && !inherit)
    tick_inc(mp->p);
  return next;
}

HL_API void hl_exit(void) {
  g_t *gp = curg_or_die("hl_exit");
  m_t *mp = rt_enter(gp);
  trace_go_end(gp->goid);
  atomic_store_release(&gp->status, G_DEAD); /* ctx_switch: no return */
  /* Straight to the next G of the P, as gopark does (usually the creator
   * of this G, waiting in runnext): that G frees this one once its
   * context is saved (AFTER_EXIT_DIRECT), one switch instead of two
   * through g0. Not for the main G (hl_main returns on m0) or a G wired
   * to its thread (it takes the thread with it): goexit0 on g0. */
  if (gp != sched.main_g && !gp->lockedm) {
    g_t *next = exit_next(mp);
    if (next) {
      switch_direct(mp, gp, next, AFTER_EXIT_DIRECT);
      hl_throw("a dead goroutine was resumed");
    }
  }
  mcall(gp, AFTER_EXIT);
  hl_throw("a dead goroutine was resumed");
}

/* gp (DEAD) is counted as exited on pp and leaves its M. */
static void g_exited(p_t *pp, g_t *gp) {
  p_count(&pp->nexited);
  if (gp->system)
    atomic_sub_relaxed(&sched.nsystem, 1);
  gp->m = NULL;
}

/* gp (DEAD, its context saved: the running G is another) is counted as
 * exited on pp and goes to pp's free list with its stack. */
static void gfree_dead(p_t *pp, g_t *gp) {
  g_exited(pp, gp);
  gfput(pp, gp);
}

static void goexit0(m_t *mp, g_t *gp) {
  mp->curg = NULL;
  if (!gp->lockedm && gp != sched.main_g) {
    gfree_dead(mp->p, gp);
    return;
  }
  g_exited(mp->p, gp);
  if (gp != sched.main_g) {
    /* Go: a goroutine that exits while locked takes its thread with it */
    gp->lockedm = NULL;
    mp->lockedg = NULL;
    p_t *pp = releasep(mp);
    handoffp(pp);
    hl_lock(&sched.lock);
    gp->schedlink = sched.gfree;
    sched.gfree = gp;
    atomic_store_relaxed(&sched.ngfree, atomic_load_relaxed(&sched.ngfree) + 1);
    sched.mcount--;
    hl_unlock(&sched.lock);
    pthread_exit(NULL);
  }
  /* the main G: hl_main returns on m0, so wake it if it sleeps idle (it
   * may also be running another G: then it sees main_done when that G
   * switches). The main G is not reused. */
  atomic_store_release(&sched.main_done, 1);
  m_t *m0 = sched.m0;
  hl_lock(&sched.lock);
  bool wake = false;
  if (m0 != mp && m0->idle)
    wake = midle_remove(m0);
  hl_unlock(&sched.lock);
  if (wake)
    notewakeup(m0);
  else if (m0 != mp)
    netpoll_break(); /* m0 may be blocked in epoll_wait */
}

/* hl_yield's fast path with one P, for the common case (runnext empty,
 * a G in the ring, nothing wired, no global queue or timer turn): rotate
 * the ring (take its head, put gp at its tail) and switch. With one P
 * nobody steals, so only this M touches the ring: gp may be queued before
 * its context is saved, and nothing is left for the next G to do. Returns
 * false (nothing done) outside that case. */
static inline bool yield_1p(m_t *mp, p_t *pp, g_t *gp) {
  uint32_t tick = atomic_load_relaxed(&pp->schedtick) + 1;
  uint32_t h = atomic_load_relaxed(&pp->runqhead);
  uint32_t t = atomic_load_relaxed(&pp->runqtail);
  if (t == h || mp->lockedg || !direct_ok() ||
      atomic_load_relaxed(&pp->runnext) ||
      tick % GLOBAL_RUNQ_TICK == 0 || (tick & 63) == 0)
    return false;
  g_t *next = atomic_load_relaxed(&pp->runq[h % RUNQ_SIZE]);
  if (next->lockedm)
    return false;
  atomic_store_relaxed(&pp->schedtick, tick);
  atomic_store_relaxed(&pp->runq[t % RUNQ_SIZE], gp);
  /* release: runqempty and the dumps on other threads read them */
  atomic_store_release(&pp->runqhead, h + 1);
  atomic_store_release(&pp->runqtail, t + 1);
  gp->m = NULL;
  atomic_store_release(&gp->status, G_RUNNABLE);
  switch_direct(mp, gp, next, AFTER_NONE);
  return true;
}

static HL_NOINLINE void yield_slow(void);

/* One P, tracing off: the rotation of yield_1p without the general
 * path's frame, which saved all six callee-saved registers (this one
 * saves three; ctx_switch saves them all anyway): 136 -> 124 instructions
 * per switch under callgrind, 20.1 -> 18.1 ns. */
HL_API void hl_yield(void) {
  m_t *mp = tls_m;
  if (hl_likely(mp != NULL && mp->curg != NULL && sched.gomaxprocs == 1 &&
                !trace_enabled())) {
    /* critical section first, then look at the P (the preemption signal
     * could take it between the two) */
    m_lock(mp);
    p_t *pp = mp->p;
    if (hl_likely(pp != NULL && !atomic_load_relaxed(&pp->preempt_coop)) &&
        yield_1p(mp, pp, mp->curg))
      return;
    m_unlock(mp);
  }
  yield_slow();
}

static HL_NOINLINE void yield_slow(void) {
  g_t *gp = curg_or_die("hl_yield");
  m_t *mp = rt_enter(gp);
  trace_go_yield(gp->goid);
  p_t *pp = mp->p;
  /* Direct switch to the next runnable G of this P, without going
   * through g0 (one context switch instead of two). Not when the P was
   * lost, the G is wired to this thread, the global queue is due for a
   * look, or the next G is wired to another thread: then through g0. */
  g_t *next = NULL;
  bool inherit = false;
  if (sched.gomaxprocs == 1 && yield_1p(mp, pp, gp))
    return;
  if (pp)
    timers_poll(pp, 63); /* due timers, as schedule() does */
  if (pp && !mp->lockedg && direct_ok()) {
    /* every 61st tick one G from the global queue first (fairness) */
    if (tick_inc(pp) % GLOBAL_RUNQ_TICK == 0 &&
        atomic_load_relaxed(&sched.runqsize)) {
      hl_lock(&sched.lock);
      next = globrunqget(pp, 1);
      hl_unlock(&sched.lock);
    }
    if (!next)
      next = runqget(pp, &inherit);
    if (!next && atomic_load_relaxed(&sched.runqsize)) {
      /* local queue empty: take a batch from the global one now, or this
       * G would come straight back and see it only every 61st tick */
      hl_lock(&sched.lock);
      next = globrunqget(pp, 0);
      hl_unlock(&sched.lock);
    }
  }
  if (next && next->lockedm) {
    runqput(pp, next, true); /* give it back: g0 will hand it over */
    next = NULL;
  }
  if (!next) {
    mcall(gp, AFTER_YIELD);
    return;
  }
  switch_direct(mp, gp, next, AFTER_YIELD_DIRECT);
}

void gosched_next(void) {
  g_t *gp = curg_or_die("gosched_next");
  rt_enter(gp);
  trace_go_yield(gp->goid);
  mcall(gp, AFTER_YIELD_NEXT);
}

void gopark(bool (*unlockf)(g_t *, void *), void *arg, int reason) {
  g_t *gp = tls_m->curg;
  m_t *mp = gp->m;
  m_lock(mp);
  trace_go_block(gp->goid, reason);
  gp->waitreason = (uint32_t)reason;
  /* sysmon's clock (at most 10 ms stale): dumps show waits in minutes,
   * and a clock read here was a fifth of a channel round trip */
  gp->waitsince = atomic_load_relaxed(&sched.coarse_now);
  mp->after_unlock = unlockf;
  mp->after_arg = arg;
  /* No P: the hog check took it (preempt.c) before the caller took the
   * lock unlockf releases. Getting a P back first could park this G with
   * that lock held while whoever holds the P waits for the lock: park
   * without a P instead (g0 runs unlockf, then the P-less M sleeps until
   * it is given one). With a P: straight to the next G of this P when
   * there is one (usually the partner just readied into runnext), one
   * switch instead of two through g0; that G runs unlockf once this one's
   * context is saved. */
  bool inherit;
  g_t *next = mp->p ? runq_next_direct(mp, mp->p, &inherit) : NULL;
  if (next) {
    if (!inherit)
      tick_inc(mp->p);
    switch_direct(mp, gp, next, AFTER_PARK_DIRECT);
    return;
  }
  mcall(gp, AFTER_PARK);
}

void goready(g_t *gp) {
  m_t *mp = tls_m;
  if (mp->curg)
    mp = rt_enter(mp->curg);
  else
    m_lock(mp); /* on g0: holds a P */
  HL_ASSERT(mp->p);
  uint32_t st = atomic_load_relaxed(&gp->status);
  if (st != G_WAITING)
    hl_throwf("goready: goroutine %ld is not waiting (status %u)",
              (long)gp->goid, st);
  trace_go_unblock(gp->goid);
  atomic_store_release(&gp->status, G_RUNNABLE);
  runqput(mp->p, gp, true);
  wakep();
  m_unlock(mp);
}

void goready_global(g_t *gp) {
  trace_go_unblock(gp->goid);
  atomic_store_release(&gp->status, G_RUNNABLE);
  gp->schedlink = NULL;
  injectglist(gp);
}

void injectglist(g_t *head) {
  if (!head)
    return;
  int n = 0;
  hl_lock(&sched.lock);
  for (g_t *gp = head, *next; gp; gp = next) {
    next = gp->schedlink;
    globrunqput(gp);
    n++;
  }
  hl_unlock(&sched.lock);
  for (; n > 0 && atomic_load_relaxed(&sched.npidle) > 0; n--)
    startm(NULL, false);
}

HL_API void hl_safepoint(void) {
  m_t *mp = tls_m;
  if (!mp || !mp->curg)
    return;
  if (hl_unlikely(mp->p == NULL)) { /* lost its P (preempted) */
    rt_enter(mp->curg);
    m_unlock(tls_m);
  }
}

HL_API int64_t hl_goid(void) { return curg_or_die("hl_goid")->goid; }
HL_API int64_t hl_numgoroutine(void) {
  return gcount();
}
HL_API int hl_maxprocs(void) { return sched.gomaxprocs; }
HL_API int64_t hl_nanotime(void) { return os_nanotime(); }

/* ------------------------------------------------------------ schedule */

static g_t *findrunnable(m_t *mp, bool *inherit) {
top:;
  if (hl_unlikely(atomic_load_acquire(&sched.gcwaiting))) {
    if (!gcstopm(mp))
      return NULL;
    goto top;
  }
  p_t *pp = mp->p;
  int64_t now = os_nanotime();
  int64_t pollUntil = timers_run(pp, now);
  g_t *gp = runqget(pp, inherit);
  if (gp)
    return gp;
  if (atomic_load_relaxed(&sched.runqsize) != 0) {
    hl_lock(&sched.lock);
    gp = globrunqget(pp, 0);
    hl_unlock(&sched.lock);
    if (gp) {
      *inherit = false;
      return gp;
    }
  }
  if (netpoll_inited() && atomic_load_relaxed(&netpoll_waiters) > 0) {
    g_t *list = netpoll(0);
    if (list) {
      gp = list;
      list = list->schedlink;
      injectglist(list);
      atomic_store_release(&gp->status, G_RUNNABLE);
      *inherit = false;
      return gp;
    }
  }
  /* steal */
  int32_t procs = sched.gomaxprocs;
  if (procs > 1 &&
      (mp->spinning || 2 * atomic_load_relaxed(&sched.nmspinning) <
                           procs - atomic_load_relaxed(&sched.npidle))) {
    if (!mp->spinning) {
      mp->spinning = true;
      atomic_add_relaxed(&sched.nmspinning, 1);
    }
    for (int round = 0; round < 4; round++) {
      uint32_t start = fastrand() % (uint32_t)procs;
      for (int32_t i = 0; i < procs; i++) {
        p_t *victim = sched.allp[(start + (uint32_t)i) % (uint32_t)procs];
        if (victim == pp)
          continue;
        if (round == 3 && atomic_load_relaxed(&victim->timer0)) {
          timers_run(victim, now); /* due timers of busy or idle Ps */
          /* they may have readied any number of Gs onto our own queue,
           * and runqsteal needs it empty (it writes past our tail) */
          gp = runqget(pp, inherit);
          if (gp)
            return gp;
        }
        gp = runqsteal(pp, victim, round == 3);
        if (gp) {
          *inherit = false;
          return gp;
        }
      }
    }
  }
  /* stealing may have run other Ps' timers, readying Gs here */
  if (!runqempty(pp))
    goto top;
  /* nothing to do: an idle mark worker may use the P (Go: idle-priority
   * marking) */
  if (hl_unlikely(atomic_load_relaxed(&gc_blacken_enabled)) &&
      gc_worker_hook) {
    gp = gc_worker_hook(pp, true);
    if (gp) {
      *inherit = false;
      return gp;
    }
  }
  /* nothing to do: give up the P */
  hl_lock(&sched.lock);
  if (atomic_load_relaxed(&sched.gcwaiting)) {
    hl_unlock(&sched.lock);
    goto top;
  }
  if (atomic_load_relaxed(&sched.runqsize) != 0) {
    gp = globrunqget(pp, 0);
    hl_unlock(&sched.lock);
    *inherit = false;
    return gp;
  }
  /* release the stack memory of dead Gs while idle (a bounded amount
   * of the global list each time: the lock is held) */
  for (g_t *g1 = pp->gfree; g1; g1 = g1->schedlink)
    if (g1->stack.dirty) {
      stack_trim(&g1->stack);
      g1->stack.dirty = 0;
    }
  {
    int budget = 64;
    for (g_t *g1 = sched.gfree; g1 && budget > 0; g1 = g1->schedlink)
      if (g1->stack.dirty) {
        stack_trim(&g1->stack);
        g1->stack.dirty = 0;
        budget--;
      }
  }
  releasep(mp);
  pidleput(pp);
  hl_unlock(&sched.lock);

  bool was_spinning = mp->spinning;
  if (mp->spinning) {
    mp->spinning = false;
    if (atomic_sub_acq_rel(&sched.nmspinning, 1) - 1 < 0)
      hl_throw("findrunnable: negative nmspinning");
    /* re-check every run queue: a G made runnable while we were spinning
     * may have seen nmspinning > 0 and woken nobody */
    for (int32_t i = 0; i < procs; i++) {
      p_t *p2 = sched.allp[i];
      if (!runqempty(p2)) {
        hl_lock(&sched.lock);
        p_t *np = pidleget();
        hl_unlock(&sched.lock);
        if (np) {
          acquirep(mp, np);
          mp->spinning = true;
          atomic_add_relaxed(&sched.nmspinning, 1);
          goto top;
        }
        break;
      }
    }
  }
  (void)was_spinning;
  (void)pollUntil;
  /* block in the network poller if it has waiters and no other M is
   * blocked there already (Go's sched.lastpoll swap): Ms blocked in
   * epoll_wait are not on the idle list, so letting every idle M in would
   * make wakep start new threads without end */
  int32_t nobody = 0;
  if (netpoll_inited() && atomic_load_relaxed(&netpoll_waiters) > 0 &&
      atomic_cas_strong_acq_rel(&sched.netpoll_blocked, &nobody, 1)) {
    int64_t next = timers_next_all();
    int64_t block = next > 0 ? next - os_nanotime() : -1;
    if (block < 0 && next > 0)
      block = 0;
    g_t *list = netpoll(block);
    atomic_store_release(&sched.netpoll_blocked, 0);
    if (list) {
      hl_lock(&sched.lock);
      p_t *np = pidleget();
      hl_unlock(&sched.lock);
      if (np) {
        acquirep(mp, np);
        gp = list;
        injectglist(list->schedlink);
        atomic_store_release(&gp->status, G_RUNNABLE);
        *inherit = false;
        return gp;
      }
      injectglist(list);
    }
  }
  if (!stopm(mp))
    return NULL; /* m0: the main goroutine exited */
  goto top;
}

/* A wired M gives up its P and sleeps until its G is handed back with a
 * P (startlockedm). Returns the G, RUNNABLE. */
static g_t *stoplockedm(m_t *mp) {
  if (mp->p) {
    p_t *pp = releasep(mp);
    handoffp(pp);
  }
  hl_lock(&sched.lock);
  sched.nmidlelocked++;
  sched_checkdead();
  hl_unlock(&sched.lock);
  /* the M that hands us our G and a P takes us off nmidlelocked (under
   * sched.lock), so the deadlock check never counts us idle meanwhile */
  while (!atomic_load_acquire(&mp->nextp))
    notesleep(mp, -1);
  p_t *pp = atomic_load_acquire(&mp->nextp);
  atomic_store_relaxed(&mp->nextp, NULL);
  acquirep(mp, pp);
  return mp->lockedg;
}

/* gp (runnable, just dequeued) is wired to another M: hand it our P and
 * stop until we are given one again. */
static void startlockedm(m_t *mp, g_t *gp) {
  m_t *lm = gp->lockedm;
  p_t *pp = releasep(mp);
  hl_lock(&sched.lock);
  sched.nmidlelocked--;
  atomic_store_release(&lm->nextp, pp);
  hl_unlock(&sched.lock);
  notewakeup(lm);
}

/* Picks the next G for mp and runs it; returns true when it switches
 * back, false (without running anything) on m0 after main exited. */
static bool schedule(m_t *mp) {
  for (;;) {
    if (hl_unlikely(atomic_load_acquire(&sched.gcwaiting))) {
      if (!gcstopm(mp))
        return false;
      continue;
    }
    p_t *pp = mp->p;
    g_t *gp = NULL;
    bool inherit = false;
    if (hl_unlikely(atomic_load_relaxed(&gc_blacken_enabled)) &&
        gc_worker_hook)
      gp = gc_worker_hook(pp, false);
    /* due timers: every 8th time (findrunnable looks always) */
    timers_poll(pp, 7);
    if (!gp && atomic_load_relaxed(&pp->schedtick) % GLOBAL_RUNQ_TICK == 0 &&
        atomic_load_relaxed(&sched.runqsize) > 0) {
      hl_lock(&sched.lock);
      gp = globrunqget(pp, 1);
      hl_unlock(&sched.lock);
    }
    if (!gp)
      gp = runqget(pp, &inherit);
    if (!gp)
      gp = findrunnable(mp, &inherit);
    if (!gp)
      return false; /* m0 after main exited: no P held */
    if (mp->spinning)
      resetspinning(mp);
    if (gp->lockedm && gp->lockedm != mp) {
      startlockedm(mp, gp);
      if (!stopm(mp))
        return false;
      continue;
    }
    execute(mp, gp, inherit);
    return true;
  }
}

static void execute(m_t *mp, g_t *gp, bool inherit) {
  mp->locks = 1; /* before curg: the preemption handler must see g0 here
                  * as runtime code; the resumed G leaves it */
  mp->curg = gp;
  gp->m = mp;
  atomic_store_relaxed(&gp->status, G_RUNNING);
  if (!inherit)
    tick_inc(mp->p);
  atomic_store_relaxed(&mp->p->preempt_coop, 0);
  trace_go_start(gp->goid);
  ctx_switch(&mp->g0, gp);
}

/* On g0, after mp->curg switched back: do what it asked. Returns true
 * when the main goroutine exited (hl_main returns). */
static bool after_switch(m_t *mp) {
  g_t *gp = mp->curg;
  uint32_t after = mp->after;
  mp->after = AFTER_NONE;
  switch (after) {
  case AFTER_YIELD:
  case AFTER_YIELD_NEXT:
    mp->curg = NULL;
    gp->m = NULL;
    atomic_store_release(&gp->status, G_RUNNABLE);
    runqput(mp->p, gp, after == AFTER_YIELD_NEXT);
    return false;
  case AFTER_PARK: {
    mp->curg = NULL;
    /* Drop gp before the callback (Go's dropg in park_m): once fn
     * releases the wait queue's lock, another M may ready gp and run it,
     * setting gp->m; clearing it afterwards would leave the running G
     * with gp->m == NULL. */
    if (mp->lockedg != gp)
      gp->m = NULL;
    atomic_store_release(&gp->status, G_WAITING);
    bool (*fn)(g_t *, void *) = mp->after_unlock;
    void *arg = mp->after_arg;
    mp->after_unlock = NULL;
    mp->after_arg = NULL;
    if (fn && !fn(gp, arg)) {
      atomic_store_release(&gp->status, G_RUNNABLE);
      if (mp->p) {
        runqput(mp->p, gp, true);
      } else { /* parked without a P (gopark) */
        gp->schedlink = NULL;
        injectglist(gp);
      }
    }
    return false; /* mstart_loop parks a P-less M */
  }
  case AFTER_EXIT: {
    bool is_main = gp == sched.main_g;
    goexit0(mp, gp);
    return is_main;
  }
  case AFTER_EXITSYSCALL: {
    /* came back from a syscall and found no P: queue the G, sleep */
    mp->curg = NULL;
    if (mp->lockedg != gp)
      gp->m = NULL;
    atomic_store_release(&gp->status, G_RUNNABLE);
    hl_lock(&sched.lock);
    p_t *pp = pidleget();
    if (pp) {
      hl_unlock(&sched.lock);
      acquirep(mp, pp);
      runqput(pp, gp, true);
      return false;
    }
    globrunqput(gp);
    hl_unlock(&sched.lock);
    return false; /* mstart_loop parks this P-less M */
  }
  default:
    hl_throwf("M %ld: back on g0 with no action", (long)mp->id);
  }
}

/* The M loop on g0: run a G; when it switches back, do what it asked.
 * Returns only on m0, once the main goroutine has exited. */
static void mstart_loop(m_t *mp) {
  for (;;) {
    if (mp == sched.m0 && atomic_load_acquire(&sched.main_done))
      return;
    if (mp->lockedg) {
      g_t *gp = stoplockedm(mp);
      execute(mp, gp, false);
    } else {
      if (!mp->p && !stopm(mp))
        return;
      if (!schedule(mp))
        return;
    }
    after_switch(mp);
  }
}

static void *mstart(void *arg) {
  m_t *mp = arg;
  tls_m = mp;
  mp->tid = os_gettid();
  mp->thread = pthread_self();
  /* the thread's own (set up on first malloc) */
  mp->mcache = HL_TLS(tls_mcache);
  stack_thread_init();
  /* os_thread_start blocks every signal in new threads; an M must take
   * the preemption signal, and report faults on its goroutines' stacks */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGURG);
  sigaddset(&set, SIGSEGV);
  sigaddset(&set, SIGBUS);
  sigaddset(&set, SIGQUIT);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  /* g0's stack bounds: the current thread stack (for sanitizers/dumps) */
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void *addr;
    size_t size;
    pthread_attr_getstack(&attr, &addr, &size);
    mp->g0.stack.lo = (uintptr_t)addr;
    mp->g0.stack.hi = (uintptr_t)addr + size;
    pthread_attr_destroy(&attr);
  }
  p_t *pp = atomic_load_acquire(&mp->nextp);
  atomic_store_relaxed(&mp->nextp, NULL);
  if (!pp || !acquirep_handed(mp, pp))
    stopm(mp);
  mstart_loop(mp);
  return NULL;
}

/* ------------------------------------------------------------ syscalls */

HL_API void hl_syscall_enter(void) {
  g_t *gp = curg_or_die("hl_syscall_enter");
  m_t *mp = rt_enter(gp);
  trace_go_syscall(gp->goid);
  p_t *pp = mp->p;
  atomic_add_relaxed(&pp->syscalltick, 1);
  atomic_store_relaxed(&mp->syscallwhen, os_nanotime());
  mp->oldp = pp;
  mp->p = NULL;
  HL_TLS(tls_mcache) = mp->mcache; /* the P may be handed to another M */
  atomic_store_relaxed(&gp->status, G_SYSCALL);
  /* A P in SYSCALL belongs to nobody: sysmon may retake it, and any M
   * coming back from a syscall may take it (Go's reentersyscall clears
   * pp.m the same way). */
  atomic_store_relaxed(&pp->m, NULL);
  /* release: sysmon's acquire CAS on status sees the fields above. */
  atomic_store_release(&pp->status, P_SYSCALL);
  m_unlock(mp);
}

HL_API void hl_syscall_exit(void) {
  g_t *gp = curg_or_die("hl_syscall_exit");
  m_t *mp = gp->m;
  m_lock(mp);
  p_t *pp = mp->oldp;
  mp->oldp = NULL;
  uint32_t st = P_SYSCALL;
  /* fast path: nobody took the P */
  if (pp && atomic_cas_strong_acq_rel(&pp->status, &st, P_RUNNING)) {
    /* ours again — or another M's P that is in a syscall now: either way
     * it was free, and it is this M's from here (Go's wirep) */
    atomic_store_relaxed(&pp->m, mp);
    mp->p = pp;
    HL_TLS(tls_mcache) = pp->mcache;
    trace_go_syscall_end(gp->goid, pp->id);
    atomic_add_relaxed(&pp->syscalltick, 1);
    atomic_store_relaxed(&gp->status, G_RUNNING);
    m_unlock(mp);
    return;
  }
  /* an idle P? */
  hl_lock(&sched.lock);
  p_t *np = pidleget();
  hl_unlock(&sched.lock);
  if (np) {
    acquirep(mp, np);
    trace_go_syscall_end(gp->goid, np->id);
    atomic_store_relaxed(&gp->status, G_RUNNING);
    m_unlock(mp);
    return;
  }
  /* no P: queue the G and let this M sleep (on g0) */
  trace_go_syscall_end(gp->goid, -1);
  mcall(gp, AFTER_EXITSYSCALL);
}

static intptr_t do_read(void *a) {
  void **v = a;
  return read((int)(intptr_t)v[0], v[1], (size_t)(uintptr_t)v[2]);
}
static intptr_t do_write(void *a) {
  void **v = a;
  return write((int)(intptr_t)v[0], v[1], (size_t)(uintptr_t)v[2]);
}

/* errno after hl_syscall_exit, which may resume the goroutine on another
 * thread: the compiler would reuse the old thread's errno address (glibc's
 * __errno_location is const), so errno is read and set out of line. */
static HL_NOINLINE int errno_get(void) { return errno; }
static HL_NOINLINE void errno_set(int e) { errno = e; }

HL_API intptr_t hl_blocking(intptr_t (*fn)(void *), void *arg) {
  hl_syscall_enter();
  intptr_t r = fn(arg);
  int saved = errno_get();
  hl_syscall_exit();
  errno_set(saved);
  return r;
}

HL_API ssize_t hl_sys_read(int fd, void *buf, size_t n) {
  void *v[3] = {(void *)(intptr_t)fd, buf, (void *)(uintptr_t)n};
  return hl_blocking(do_read, v);
}

HL_API ssize_t hl_sys_write(int fd, const void *buf, size_t n) {
  void *v[3] = {(void *)(intptr_t)fd, (void *)buf, (void *)(uintptr_t)n};
  return hl_blocking(do_write, v);
}

HL_API int hl_sys_nanosleep(int64_t ns) {
  hl_syscall_enter();
  os_nanosleep(ns);
  hl_syscall_exit();
  return 0;
}

#include <sys/wait.h>
HL_API pid_t hl_sys_waitpid(pid_t pid, int *status, int options) {
  hl_syscall_enter();
  pid_t r = waitpid(pid, status, options);
  int saved = errno_get();
  hl_syscall_exit();
  errno_set(saved);
  return r;
}

/* ------------------------------------------------------- thread locking */

HL_API void hl_lock_os_thread(void) {
  g_t *gp = curg_or_die("hl_lock_os_thread");
  m_t *mp = gp->m;
  gp->lockcount++;
  gp->lockedm = mp;
  mp->lockedg = gp;
}

HL_API void hl_unlock_os_thread(void) {
  g_t *gp = curg_or_die("hl_unlock_os_thread");
  if (gp->lockcount == 0)
    return; /* as Go: unlocking an unlocked goroutine does nothing */
  if (--gp->lockcount == 0 && gp != sched.main_g) {
    gp->m->lockedg = NULL;
    gp->lockedm = NULL;
  }
}

/* --------------------------------------------------------------- start */

static int parse_maxprocs(void) {
  const char *v = getenv("HLMAXPROCS");
  if (!v || !*v) {
    int n = os_ncpu();
    return n < SCHED_MAXPROCS ? n : SCHED_MAXPROCS;
  }
  int64_t n;
  if (hl_parse_int(v, 1, SCHED_MAXPROCS, &n) != 0) {
    hl_printf(2, "heaplab: HLMAXPROCS: bad value \"%s\" (accepted: an "
                 "integer 1..%d)\n",
              v, SCHED_MAXPROCS);
    _exit(2);
  }
  return (int)n;
}

struct main_ctx {
  int (*fn)(void *);
  void *arg;
};

static void main_entry(void *arg) {
  struct main_ctx *mc = arg;
  sched.main_result = mc->fn(mc->arg);
}

HL_API int hl_main(int (*fn)(void *), void *arg) {
  int expected = 0;
  if (!atomic_cas_strong_acq_rel(&sched.started, &expected, 1))
    hl_throw("hl_main called twice (the runtime starts once per process)");
  hl_env_init();
  hl_free(hl_malloc(1)); /* the allocator and this thread's cache */
  sched.gomaxprocs = parse_maxprocs();
  sched.stacksize = (size_t)hl_debug.stacksize_kib << 10;
  sched.allp = hl_calloc((size_t)sched.gomaxprocs, sizeof(p_t *));
  for (int i = 0; i < sched.gomaxprocs; i++) {
    p_t *pp = hl_calloc(1, sizeof *pp);
    if (!pp)
      hl_throw("out of memory: cannot allocate the Ps");
    pp->id = i;
    pp->mcache = mcache_create();
    /* the cache the P gets if its goroutine is preempted by signal (a
     * hog, or a stop-the-world): made now, not in the stop loop, where it
     * took 2-20 µs of the pause */
    atomic_store_relaxed(&pp->spare_mcache, mcache_create());
    sched.allp[i] = pp;
  }
  trace_init(sched.gomaxprocs, waitreason_string, WAIT_COUNT_);
  stack_overflow_init();
  diag_init();
  preempt_init();
  if (sched_gc_init_hook)
    sched_gc_init_hook();
  m_t *m0 = allocm();
  sched.m0 = m0;
  tls_m = m0;
  m0->tid = os_gettid();
  m0->thread = pthread_self();
  m0->mcache = HL_TLS(tls_mcache);
  stack_thread_init();
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void *addr;
    size_t size;
    pthread_attr_getstack(&attr, &addr, &size);
    m0->g0.stack.lo = (uintptr_t)addr;
    m0->g0.stack.hi = (uintptr_t)addr + size;
    pthread_attr_destroy(&attr);
  }
  acquirep(m0, sched.allp[0]);
  hl_lock(&sched.lock);
  for (int i = sched.gomaxprocs - 1; i >= 1; i--)
    pidleput(sched.allp[i]);
  hl_unlock(&sched.lock);

  struct main_ctx mc = {fn, arg};
  g_t *mg = newproc1(m0->p, main_entry, &mc);
  if (!mg)
    hl_throw("cannot create the main goroutine");
  sched.main_g = mg;
  atomic_store_relaxed(&sched.coarse_now, os_nanotime());
  sysmon_start();
  runqput(m0->p, mg, true);
  mstart_loop(m0);
  /* the main goroutine returned: leave the other goroutines running on
   * the other Ms, and give this thread back to the caller */
  if (m0->p) {
    p_t *pp = releasep(m0);
    handoffp(pp);
  }
  tls_m = NULL;
  return sched.main_result;
}

p_t *sched_pidleget(void) { return pidleget(); }
void sched_acquirep(m_t *mp, p_t *pp) { acquirep(mp, pp); }
void sched_mcall_exitsyscall(g_t *gp) { mcall(gp, AFTER_EXITSYSCALL); }

/* rt_enter (sched/internal.h) when the M has no P or a cooperative
 * preemption was asked; the caller did m_lock. */
m_t *rt_enter_slow(g_t *gp) {
  m_t *mp = gp->m;
  if (hl_unlikely(!mp->p))
    regain_p(gp);
  mp = tls_m;
  /* only at the outermost runtime entry with no runtime lock held: a G
   * must never be queued holding a lock (the lock's waiters could be the
   * very threads that would run it) */
  if (hl_unlikely(atomic_load_relaxed(&mp->p->preempt_coop)) &&
      mp->locks == 1 && hl_lock_depth == 0) {
    /* ran 10 ms without giving the P up: go to the back of the queue
     * (Go's cooperative preemption at a safe point) */
    atomic_store_relaxed(&mp->p->preempt_coop, 0);
    mcall(gp, AFTER_YIELD);
    mp = tls_m;
    m_lock(mp);
    if (hl_unlikely(!mp->p))
      regain_p(gp);
    mp = tls_m;
  }
  return mp;
}

/* sysmon hands retaken Ps over through here (it has no P and no m). */
void sysmon_handoffp(p_t *pp) { handoffp(pp); }

/* Starts a runtime goroutine (not counted by hl_numgoroutine). */
g_t *go_system(void (*fn)(void *), void *arg) {
  g_t *self = curg_or_die("go_system");
  m_t *mp = rt_enter(self);
  g_t *gp = newproc1(mp->p, fn, arg);
  if (!gp)
    hl_throw("cannot create a runtime goroutine: out of memory");
  gp->system = true;
  atomic_add_relaxed(&sched.nsystem, 1);
  runqput(mp->p, gp, true);
  wakep();
  m_unlock(mp);
  return gp;
}

/*
 * Stop-the-world (Go's stopTheWorldWithSema / startTheWorldWithSema).
 *
 * stw_stop, on a goroutine: sets gcwaiting, stops its own P, every idle
 * P, every P in a syscall or taken from a hog, and every P on its way to
 * an M that startm is waking (P_TRANSIT: that M's wake-up can take
 * hundreds of µs; it goes back to sleep) at once, and asks the Ps
 * that run goroutines to stop: cooperatively (their next runtime call
 * yields, and schedule() stops the P: gcstopm), and after STW_SIGNAL_NS
 * by the preemption signal, which takes the P from a goroutine that runs
 * C code without safe points (preempt.c) — so the pause is bounded even
 * then. The hog goes on without a P; it cannot get one until stw_start.
 * Returns with every P stopped and the caller in a runtime critical
 * section (it is not preempted while the world is stopped).
 */
#define STW_SIGNAL_NS 10000
#define STW_SPIN_NS 500000

static void stw_take_free_ps(void) {
  for (int i = 0; i < sched.gomaxprocs; i++) {
    p_t *pp = sched.allp[i];
    uint32_t st = atomic_load_acquire(&pp->status);
    if ((st == P_SYSCALL || st == P_PREEMPTED || st == P_TRANSIT) &&
        atomic_cas_strong_acq_rel(&pp->status, &st, P_GCSTOP)) {
      atomic_store_relaxed(&pp->m, NULL);
      sched.stopwait--;
    }
  }
  p_t *pp;
  while ((pp = pidleget()) != NULL)
    gcstop_locked(pp);
}

void stw_stop(int reason) {
  g_t *gp = curg_or_die("stw_stop");
  m_t *mp = rt_enter(gp);
  p_t *own = mp->p;
  hl_lock(&sched.lock);
  if (atomic_load_relaxed(&sched.gcwaiting))
    hl_throw("stw_stop: the world is already stopping");
  atomic_store_release(&sched.gcwaiting, 1);
  /* under sched.lock: a stop-the-world's events never interleave with
   * another's in the trace */
  trace_stw_start(reason);
  atomic_store_relaxed(&sched.stopnote, 0);
  sched.stopwait = sched.gomaxprocs;
  atomic_store_release(&own->status, P_GCSTOP);
  sched.stopwait--;
  stw_take_free_ps();
  bool wait = sched.stopwait > 0;
  hl_unlock(&sched.lock);
  int64_t start = os_nanotime(), last_signal = 0;
  while (wait) {
    int64_t now = os_nanotime();
    /* after STW_SIGNAL_NS, and then every STW_SIGNAL_NS, signal the Ps
     * still running: their goroutines may be in C loops without a safe
     * point */
    bool signal = now - start > STW_SIGNAL_NS &&
                  now - last_signal > STW_SIGNAL_NS;
    if (signal)
      last_signal = now;
    for (int i = 0; i < sched.gomaxprocs; i++) {
      p_t *pp = sched.allp[i];
      if (pp == own || atomic_load_acquire(&pp->status) != P_RUNNING)
        continue;
      atomic_store_relaxed(&pp->preempt_coop, 1);
      m_t *pm = atomic_load_relaxed(&pp->m);
      if (signal && pm) {
        if (!atomic_load_relaxed(&pp->spare_mcache)) {
          mcache_t *c = mcache_create(), *none = NULL;
          if (!atomic_cas_strong_acq_rel(&pp->spare_mcache, &none, c))
            mcache_destroy(c);
        }
        __atomic_store_n(&pp->preempt_tick, atomic_load_relaxed(&pp->schedtick),
                         __ATOMIC_RELAXED);
        atomic_store_release(&pm->preempt_request, 1);
        syscall(SYS_tgkill, getpid(), pm->tid, SIGURG);
      }
    }
    /* Spin at first: a futex timeout of a few µs sleeps for the
     * thread's timer slack (50 µs by default), and every µs here is
     * pause time. The spin yields the CPU: on a machine with more
     * runnable threads than CPUs the thread we wait for may be queued
     * behind this one (a pure spin then waits for a scheduler tick, ms).
     * After STW_SPIN_NS sleep instead. */
    if (now - start < STW_SPIN_NS) {
      sched_yield();
    } else {
      futex_wait(&sched.stopnote, 0, 20000);
    }
    hl_lock(&sched.lock);
    stw_take_free_ps();
    wait = sched.stopwait > 0;
    hl_unlock(&sched.lock);
  }
  /* still in the critical section entered by rt_enter */
}

void stw_start(void) {
  m_t *mp = getm();
  p_t *own = mp->p;
  /* static: one stop-the-world at a time (the next cannot stop our P
   * before the m_unlock below), and 8 KiB is too much for a slab stack */
  static p_t *start[SCHED_MAXPROCS];
  int nstart = 0;
  hl_lock(&sched.lock);
  trace_stw_end();
  atomic_store_release(&sched.gcwaiting, 0);
  for (int i = 0; i < sched.gomaxprocs; i++) {
    p_t *pp = sched.allp[i];
    if (pp == own)
      continue;
    HL_ASSERT(atomic_load_relaxed(&pp->status) == P_GCSTOP);
    atomic_store_release(&pp->status, P_IDLE);
    if (!runqempty(pp) || atomic_load_relaxed(&pp->timer0))
      start[nstart++] = pp;
    else
      pidleput(pp);
  }
  atomic_store_release(&own->status, P_RUNNING);
  hl_unlock(&sched.lock);
  for (int i = 0; i < nstart; i++)
    startm(start[i], false);
  if (atomic_load_relaxed(&sched.runqsize) > 0 || nstart == 0)
    wakep();
  m_unlock(mp);
}
