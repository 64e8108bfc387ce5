/*
 * sched/timer.c — per-P timer heaps and hl_sleep.
 *
 * Entry points: timer_add, timer_del, timers_run, timers_next_all,
 * hl_sleep.
 *
 * Each P keeps its timers in a 4-ary min-heap ordered by deadline (Go's
 * choice: shallower than a binary heap, so fewer cache misses when
 * sifting). p->timer0 mirrors the earliest deadline so that idle Ms can
 * compute how long to sleep without taking every P's lock.
 *
 * Protocol (every step on a heap holds its P's timerslock):
 *  1. timer_add(t): push t on the current P's heap; t->pp = that P
 *     (release: a timer_del that loads it sees t->idx). If t became the
 *     P's earliest timer, make sure some M will wake for it (step 6).
 *  2. timers_run(pp, now): pop each timer due by now; set h->running = t,
 *     then t->pp = NULL (release), then run t->f(t->arg) with the lock
 *     held, then h->running = NULL. After f returns timers_run never
 *     touches t again: f may have readied t's owner, who may already be
 *     running and have reused t's memory (hl_sleep's timer lives on the
 *     sleeping goroutine's stack and is not deleted after it fires).
 *  3. timer_del(t): load t->pp (acquire). If it names a P, lock it; if t
 *     is still there, remove it and return true. Otherwise t fired or is
 *     firing: for every P whose heap is running t (step 2 published
 *     running before clearing t->pp), lock and unlock that P's timerslock,
 *     which waits for f to return. Then return false. So once timer_del
 *     returns, f is not running and will never run: the owner may free t.
 *  4. f runs on some M's g0 with a P held (it may goready) and with the
 *     P's timerslock held, so it must be short and must not add or delete
 *     timers. Lock order: timerslock -> (a lock f takes, e.g. a poll
 *     descriptor's) -> sched.lock.
 *  5. Who runs timers: the scheduler runs its own P's due timers on every
 *     schedule() and findrunnable(), and other Ps' due timers while
 *     stealing; an M with nothing to do sleeps (stopm, or netpoll when
 *     goroutines wait on I/O) until timers_next_all().
 *  6. Wake-up for a new earliest timer (timer_add): every M that goes
 *     idle reads timers_next_all() after it stopped spinning, so a new
 *     earliest deadline is either seen by such an M or there is an idle P
 *     and no spinning M, and wakep() starts one. The store of timer0 and
 *     the load of nmspinning in wakep are ordered by a seq_cst fence here,
 *     and the spinning M's decrement of nmspinning and its loads of timer0
 *     by the fence at the top of timers_next_all (StoreLoad on both
 *     sides, Dekker). A timer that is not its P's earliest needs no
 *     wake-up: whoever covers the earlier one covers it.
 *
 * Rejected: timer_del returning false at once when t->pp is NULL (what a
 * first version did): a deadline timer's f could still be running on
 * another M, reading its wait record on a goroutine stack that had already
 * returned. Also rejected: a per-timer status word with a spin-wait on
 * "running" (Go 1.14's timerRunning): it needs a field in every timer and
 * a yield loop; the per-heap marker costs one word per P and the wait is a
 * plain lock acquisition.
 */
#include "sched/internal.h"
#include "alloc/internal.h"
#include "base/os.h"
#include "heaplab/alloc.h"
#include "heaplab/sched.h"

#include <stdint.h>

/* A P's timer heap; every field is protected by the P's timerslock except
 * running, which timer_del reads without it. Invariant: t[i]->idx == i
 * and t[i]->pp == the P, for i < n; t[0] is the earliest; p->timer0 ==
 * (n ? t[0]->when : 0). */
typedef struct theap {
  hl_timer_t **t;
  int32_t n, cap;
  _Atomic(hl_timer_t *) running; /* the timer whose f runs now, or NULL */
} theap_t;

#define THEAP_MIN_CAP 64
/* An empty heap whose array grew past this gives the array back (after a
 * burst of a million sleepers its 8 MiB would otherwise stay). */
#define THEAP_KEEP_CAP 4096

/* The pointer is read without the lock by timer_del's slow path, hence
 * the atomic builtins on the plain field of p_t. */
static theap_t *heap_load(p_t *pp) {
  /* acquire: pairs with the release in heap_of (the heap's fields). */
  return __atomic_load_n((theap_t **)&pp->timers, __ATOMIC_ACQUIRE);
}

/* Caller holds pp->timerslock. */
static theap_t *heap_of(p_t *pp) {
  theap_t *h = heap_load(pp);
  if (!h) {
    h = hl_calloc(1, sizeof *h);
    if (!h)
      hl_throw("out of memory: timer heap");
    /* release: pairs with the acquire in heap_load. */
    __atomic_store_n((theap_t **)&pp->timers, h, __ATOMIC_RELEASE);
  }
  return h;
}

static inline p_t *timer_pp_load(hl_timer_t *t) {
  /* acquire: pairs with the release stores in timer_add / timers_run /
   * timer_del (t->idx and the heap are seen as they were written). */
  return __atomic_load_n(&t->pp, __ATOMIC_ACQUIRE);
}
static inline void timer_pp_store(hl_timer_t *t, p_t *pp) {
  /* release: pairs with the acquire in timer_pp_load. */
  __atomic_store_n(&t->pp, pp, __ATOMIC_RELEASE);
}

static void sift_up(theap_t *h, int32_t i) {
  hl_timer_t *t = h->t[i];
  while (i > 0) {
    int32_t parent = (i - 1) / 4;
    if (h->t[parent]->when <= t->when)
      break;
    h->t[i] = h->t[parent];
    h->t[i]->idx = i;
    i = parent;
  }
  h->t[i] = t;
  t->idx = i;
}

static void sift_down(theap_t *h, int32_t i) {
  hl_timer_t *t = h->t[i];
  for (;;) {
    int32_t c = 4 * i + 1;
    if (c >= h->n)
      break;
    int32_t best = c;
    for (int32_t k = c + 1; k < c + 4 && k < h->n; k++)
      if (h->t[k]->when < h->t[best]->when)
        best = k;
    if (h->t[best]->when >= t->when)
      break;
    h->t[i] = h->t[best];
    h->t[i]->idx = i;
    i = best;
  }
  h->t[i] = t;
  t->idx = i;
}

/* Caller holds pp->timerslock. */
static void update_timer0(p_t *pp, theap_t *h) {
  /* relaxed: a hint for sleepers; see step 6 for the ordering. */
  atomic_store_relaxed(&pp->timer0, h->n ? h->t[0]->when : 0);
}

/* Caller holds pp->timerslock. */
static void heap_remove(p_t *pp, theap_t *h, int32_t i) {
  HL_ASSERT_INTERNAL(i >= 0 && i < h->n);
  hl_timer_t *last = h->t[--h->n];
  if (i < h->n) {
    h->t[i] = last;
    last->idx = i;
    sift_down(h, i);
    sift_up(h, last->idx);
  }
  update_timer0(pp, h);
  if (h->n == 0 && h->cap > THEAP_KEEP_CAP) {
    hl_free(h->t);
    h->t = NULL;
    h->cap = 0;
  }
}

/* Whole-heap check (HL_DEBUG >= 3). Caller holds pp->timerslock. */
static inline bool theap_is_valid(p_t *pp, theap_t *h) {
  for (int32_t i = 0; i < h->n; i++) {
    if (h->t[i]->idx != i || h->t[i]->pp != pp)
      return false;
    if (i > 0 && h->t[(i - 1) / 4]->when > h->t[i]->when)
      return false;
  }
  return atomic_load_relaxed(&pp->timer0) == (h->n ? h->t[0]->when : 0);
}

void timer_add(hl_timer_t *t) {
  if (t->when <= 0)
    t->when = 1; /* timer0 == 0 means "no timer" */
  m_t *mp = getm();
  if (mp->curg)
    mp = rt_enter(mp->curg); /* from a G: one that lost its P gets one */
  else
    m_lock(mp); /* on g0: holds a P */
  p_t *pp = mp->p;
  if (!pp) {
    /* on g0 of an M without a P: a goroutine parked there (gopark after
     * the hog check took its P) and its unlock function arms a timeout.
     * Any P's heap will do: heaps are changed under their lock, and
     * wakep below makes sure some M looks at it. */
    if (mp->curg)
      hl_throw("timer_add: the calling M holds no P");
    pp = sched.allp[(uint64_t)mp->id % (uint64_t)sched.gomaxprocs];
  }
  if (timer_pp_load(t))
    hl_throw("timer_add: the timer is already in a heap");
  hl_lock(&pp->timerslock);
  theap_t *h = heap_of(pp);
  if (h->n == h->cap) {
    int32_t cap = h->cap ? h->cap * 2 : THEAP_MIN_CAP;
    hl_timer_t **nt = hl_realloc(h->t, (size_t)cap * sizeof *nt);
    if (!nt)
      hl_throw("out of memory: timer heap");
    h->t = nt;
    h->cap = cap;
  }
  h->t[h->n] = t;
  sift_up(h, h->n++);
  timer_pp_store(t, pp);
  bool earliest = h->t[0] == t;
  if (earliest)
    update_timer0(pp, h);
  HL_ASSERT_EXPENSIVE(theap_is_valid(pp, h));
  hl_unlock(&pp->timerslock);
  if (earliest) {
    /* seq_cst: orders the store of timer0 above before wakep's load of
     * nmspinning (StoreLoad); the partner is the fence in
     * timers_next_all (step 6). */
    atomic_fence_seq_cst();
    wakep();
  }
  m_unlock(mp);
}

/* t is in no heap: if its f is running on some P, wait until it returns
 * (step 3). */
static void timer_wait_fired(hl_timer_t *t) {
  for (int i = 0; i < sched.gomaxprocs; i++) {
    p_t *pp = sched.allp[i];
    theap_t *h = heap_load(pp);
    /* acquire: pairs with the release store of running in timers_run. */
    if (h && atomic_load_acquire(&h->running) == t) {
      hl_lock(&pp->timerslock); /* f runs with it held */
      hl_unlock(&pp->timerslock);
    }
  }
}

bool timer_del(hl_timer_t *t) {
  for (;;) {
    p_t *pp = timer_pp_load(t);
    if (!pp)
      break;
    hl_lock(&pp->timerslock);
    if (t->pp == pp) {
      theap_t *h = pp->timers;
      heap_remove(pp, h, t->idx);
      timer_pp_store(t, NULL);
      HL_ASSERT_EXPENSIVE(theap_is_valid(pp, h));
      hl_unlock(&pp->timerslock);
      return true;
    }
    /* it fired meanwhile (timers never move between Ps) */
    hl_unlock(&pp->timerslock);
  }
  timer_wait_fired(t);
  return false;
}

int64_t timers_run(p_t *pp, int64_t now) {
  if (atomic_load_relaxed(&pp->timer0) == 0)
    return 0;
  for (;;) {
    hl_lock(&pp->timerslock);
    theap_t *h = pp->timers;
    if (!h || h->n == 0) {
      hl_unlock(&pp->timerslock);
      return 0;
    }
    hl_timer_t *t = h->t[0];
    if (t->when > now) {
      int64_t next = t->when;
      hl_unlock(&pp->timerslock);
      return next;
    }
    heap_remove(pp, h, 0);
    /* release: pairs with the acquire in timer_wait_fired; running is
     * published before t->pp is cleared, so a timer_del that sees NULL
     * also sees running == t while f runs (step 3). */
    atomic_store_release(&h->running, t);
    timer_pp_store(t, NULL);
    t->f(t->arg); /* t may be gone from here on: see step 2 */
    atomic_store_release(&h->running, NULL);
    hl_unlock(&pp->timerslock);
  }
}

int32_t timers_len(p_t *pp) {
  hl_lock(&pp->timerslock);
  theap_t *h = heap_load(pp);
  int32_t n = h ? h->n : 0;
  hl_unlock(&pp->timerslock);
  return n;
}

int64_t timers_next_all(void) {
  /* seq_cst: orders the caller's earlier stores (an M leaving the
   * spinning state: its decrement of nmspinning) before the loads of
   * timer0 below (StoreLoad); the partner is the fence in timer_add. */
  atomic_fence_seq_cst();
  int64_t next = 0;
  for (int i = 0; i < sched.gomaxprocs; i++) {
    int64_t w = atomic_load_relaxed(&sched.allp[i]->timer0);
    if (w && (!next || w < next))
      next = w;
  }
  return next;
}

/* ------------------------------------------------------------- sleep */

static void sleep_fire(void *arg) { goready((g_t *)arg); }

/* Runs on g0 once the sleeper is WAITING: the timer may fire (and ready
 * it) as soon as it is in the heap. */
static bool sleep_park(g_t *gp, void *arg) {
  (void)gp;
  timer_add(arg);
  return true;
}

HL_API void hl_sleep(int64_t ns) {
  g_t *gp = curg_or_die("hl_sleep");
  if (ns <= 0) {
    hl_yield();
    return;
  }
  int64_t now = os_nanotime();
  int64_t when = ns > INT64_MAX - now ? INT64_MAX : now + ns;
  /* on the sleeper's stack: it fires before the sleeper can return, and
   * timers_run does not touch it after f (step 2) */
  hl_timer_t t = {.when = when, .f = sleep_fire, .arg = gp};
  gopark(sleep_park, &t, WAIT_SLEEP);
}
