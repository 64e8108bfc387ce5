/*
 * sched/timer.c — per-P timer heaps and hl_sleep.
 *
 * Entry points: timer_add, timer_del, timers_run, timers_next_all,
 * timers_len (for schedtrace), hl_sleep.
 *
 * Each P keeps its timers in a 4-ary min-heap ordered by deadline (Go's
 * choice: shallower than a binary heap, so fewer cache misses when
 * sifting). p->timer0 mirrors the earliest deadline so that idle Ms can
 * compute how long to sleep without taking every P's lock.
 *  1. timer_add: push on the current P's heap (its timerslock).
 *  2. timer_del: under the lock of the P the timer is on, remove it if it
 *     is still there (a timer that already fired is not there).
 *  3. timers_run(pp, now): pop every timer due by now and run its
 *     function with the P's timer lock held, so that timer_del (same lock)
 *     returns only once a firing timer's function is over. The function
 *     may goready (it takes sched.lock, after timerslock in the lock
 *     order) but must not add or delete timers. The scheduler calls it for its own P on every
 *     findrunnable and for other Ps while stealing, so due timers of idle
 *     or busy Ps fire too.
 *  4. An M with nothing to do sleeps until timers_next_all().
 * A timer's P pointer and index are written under that P's timerslock.
 */
#include "sched/internal.h"
#include "alloc/internal.h"
#include "base/os.h"
#include "heaplab/alloc.h"
#include "heaplab/sched.h"

typedef struct theap {
  hl_timer_t **t;
  int32_t n, cap;
} theap_t;

static theap_t *heap_of(p_t *pp) {
  if (!pp->timers) {
    theap_t *h = hl_calloc(1, sizeof *h);
    if (!h)
      hl_throw("out of memory: timer heap");
    pp->timers = h;
  }
  return pp->timers;
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

static void update_timer0(p_t *pp, theap_t *h) {
  atomic_store_relaxed(&pp->timer0, h->n ? h->t[0]->when : 0);
}

/* Caller holds pp->timerslock. */
static void heap_remove(p_t *pp, theap_t *h, int32_t i) {
  hl_timer_t *last = h->t[--h->n];
  if (i < h->n) {
    h->t[i] = last;
    last->idx = i;
    sift_down(h, i);
    sift_up(h, last->idx);
  }
  update_timer0(pp, h);
}

void timer_add(hl_timer_t *t) {
  m_t *mp = getm();
  m_lock(mp);
  p_t *pp = mp->p;
  HL_ASSERT(pp);
  hl_lock(&pp->timerslock);
  theap_t *h = heap_of(pp);
  if (h->n == h->cap) {
    int32_t cap = h->cap ? h->cap * 2 : 64;
    hl_timer_t **nt = hl_realloc(h->t, (size_t)cap * sizeof *nt);
    if (!nt)
      hl_throw("out of memory: timer heap");
    h->t = nt;
    h->cap = cap;
  }
  t->pp = pp;
  h->t[h->n] = t;
  sift_up(h, h->n++);
  update_timer0(pp, h);
  hl_unlock(&pp->timerslock);
  m_unlock(mp);
  /* an M asleep until a later deadline must see this earlier one */
  wakep();
}

bool timer_del(hl_timer_t *t) {
  for (;;) {
    p_t *pp = __atomic_load_n(&t->pp, __ATOMIC_ACQUIRE);
    if (!pp)
      return false;
    hl_lock(&pp->timerslock);
    if (t->pp != pp) { /* moved or fired meanwhile */
      hl_unlock(&pp->timerslock);
      continue;
    }
    theap_t *h = pp->timers;
    heap_remove(pp, h, t->idx);
    __atomic_store_n(&t->pp, NULL, __ATOMIC_RELEASE);
    hl_unlock(&pp->timerslock);
    return true;
  }
}

int64_t timers_run(p_t *pp, int64_t now) {
  if (atomic_load_relaxed(&pp->timer0) == 0)
    return 0;
  int64_t next = 0;
  for (;;) {
    hl_lock(&pp->timerslock);
    theap_t *h = pp->timers;
    if (!h || h->n == 0) {
      hl_unlock(&pp->timerslock);
      return 0;
    }
    hl_timer_t *t = h->t[0];
    if (t->when > now) {
      next = t->when;
      hl_unlock(&pp->timerslock);
      return next;
    }
    heap_remove(pp, h, 0);
    __atomic_store_n(&t->pp, NULL, __ATOMIC_RELEASE);
    /* f runs with the lock held: a concurrent timer_del of t waits for it
     * to finish, so the owner can free t once timer_del returns. t itself
     * may be gone as soon as f returns (f may ready its owner). */
    t->f(t->arg);
    hl_unlock(&pp->timerslock);
  }
}

int64_t timers_next_all(void) {
  int64_t next = 0;
  for (int i = 0; i < sched.gomaxprocs; i++) {
    int64_t w = atomic_load_relaxed(&sched.allp[i]->timer0);
    if (w && (!next || w < next))
      next = w;
  }
  return next;
}

int32_t timers_len(p_t *pp) {
  hl_lock(&pp->timerslock);
  theap_t *h = pp->timers;
  int32_t n = h ? h->n : 0;
  hl_unlock(&pp->timerslock);
  return n;
}

/* ------------------------------------------------------------- sleep */

static void sleep_fire(void *arg) { goready((g_t *)arg); }

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
  hl_timer_t t = {.when = os_nanotime() + ns, .f = sleep_fire, .arg = gp};
  gopark(sleep_park, &t, WAIT_SLEEP);
}
