/*
 * sched/sema.c — where goroutines sleep for the sync primitives: the
 * semaphore table keyed by address, the notify list of hl_cond, and the
 * spin policy of hl_mutex (Go's runtime/sema.go and sync_runtime_canSpin).
 *
 * Entry points (sched/internal.h): cansemacquire, semacquire, semrelease,
 * notifylist_add/wait/notify_one/notify_all, sync_canspin, sync_dospin.
 * sync.c builds every hl_* sync primitive on these and never parks by
 * itself.
 *
 * Semaphores. A semaphore is any _Atomic uint32_t in the caller's object
 * (hl_mutex_t has one, hl_rwmutex_t two, ...): its value is the number of
 * tokens. The sleeping goroutines are kept here, not in the object, so
 * that the objects stay small and zero-initialisable: SEMTAB_SIZE roots,
 * the root of an address chosen by hashing it. Each root has a lock, a
 * waiter count nwait that semrelease reads without the lock, and a list
 * of the distinct addresses waited on, each with its FIFO of waiters:
 *
 *   root.head -> [addr A, g5] -> [addr B, g9] -> NULL       (next)
 *                    |               |
 *                  [g7] -> [g2]    NULL                      (waitlink)
 *
 * A waiter is a semawaiter_t on the waiting goroutine's stack: it lives as
 * long as the goroutine is parked, and only the releaser that takes it off
 * the list wakes it, so nobody touches it after that goroutine runs again.
 *
 * semacquire(addr, lifo):
 *  1. Easy case: take a token with a CAS (cansemacquire) and return.
 *  2. Lock the root; nwait++ ; seq_cst fence; try cansemacquire again:
 *     a semrelease that added its token before our nwait++ is seen here,
 *     one that adds after sees nwait > 0 (step 2 of semrelease) — the
 *     StoreLoad pair that prevents a lost wakeup. On success nwait--,
 *     unlock, return.
 *  3. Queue the waiter at the tail of addr's FIFO (at the head with lifo:
 *     a mutex waiter that was woken and lost the race to a newcomer keeps
 *     its turn), park, and let gopark's callback unlock the root on g0,
 *     once this goroutine's context is saved.
 *  4. Woken: if the releaser handed its token over (ticket == 1) or one
 *     can be taken now, return; otherwise go back to 2.
 *
 * semrelease(addr, handoff):
 *  1. *addr += 1 (release: pairs with the acquire CAS of cansemacquire).
 *  2. seq_cst fence; if nwait == 0 nobody sleeps: return.
 *  3. Lock the root; re-check nwait; take the first waiter of addr off its
 *     FIFO (nwait--), unlock.
 *  4. With handoff, take the token for the waiter (cansemacquire) and set
 *     its ticket: it returns without competing. Ready it (it runs next on
 *     this P, runnext), and with a handoff yield, so that it runs now —
 *     the "direct G handoff" of a mutex in starvation mode.
 * The token and the waiter are decoupled: a woken waiter may find the
 * token taken by a newcomer (step 1 of semacquire) and sleep again. That
 * barging is what makes the mutex fast under contention; starvation mode
 * (sync.c) bounds it.
 *
 * Notify list (hl_cond, Go's notifyList). Waiters take a ticket with an
 * atomic add before releasing the user's mutex, then sleep on the list
 * unless their ticket was already notified. notify_one wakes the ticket
 * `notify` (a waiter may have taken its ticket and not yet be on the list:
 * then it finds its ticket notified and does not sleep); notify_all moves
 * `notify` up to `wait` and wakes the whole list. Tickets compare with
 * wrap-around (int32_t difference).
 *
 * Spinning (hl_mutex): worth it only when another goroutine may be running
 * the critical section right now: more than one CPU, another P busy (not
 * idle or spinning), nothing waiting in this P's run queue, and at most
 * ACTIVE_SPIN rounds of ACTIVE_SPIN_CNT pauses.
 *
 * Rejected: a treap of addresses per root, as Go has since 1.9 (issue
 * 17953: thousands of distinct semaphores hashing to one root). heaplab's
 * list costs O(distinct addresses waited on in the root) per operation;
 * with 251 roots that is one or two entries unless a program blocks on
 * thousands of sync objects at once. Rejected too: a waiter list inside
 * each object — it would make hl_mutex_t a list head with a lock, twice
 * its size, and the zero value would need the same two-phase checks.
 *
 * Lock order: a root lock and a notify-list lock are leaves: nothing else
 * is taken while one is held (goready takes sched.lock only after they are
 * released). Callers hold no runtime lock; every acquisition is bracketed
 * with m_lock/m_unlock, and a lock held across gopark is released (with
 * its m_unlock) by the park callback, on g0 of the same M.
 */
#include "sched/internal.h"
#include "base/os.h"
#include "heaplab/sched.h"

#define SEMTAB_SIZE 251 /* prime: addresses spread over every root */
#define ACTIVE_SPIN 4
#define ACTIVE_SPIN_CNT 30

/* A goroutine waiting on a semaphore or a notify list; on its stack.
 * Fields are written under the root (list) lock, except ticket for a
 * semaphore: written by the releaser after it took the waiter off the
 * list, before goready (which publishes it to the woken goroutine). */
typedef struct semawaiter {
  g_t *g;
  _Atomic uint32_t *addr;      /* semaphore waited on (NULL: notify list) */
  struct semawaiter *next;     /* next address's first waiter (root list);
                                  next waiter (notify list) */
  struct semawaiter *waitlink; /* next waiter on the same address */
  struct semawaiter *waittail; /* first waiter only: last on its address */
  uint32_t ticket;             /* sema: 1 = token handed over;
                                  notify list: the waiter's ticket */
} semawaiter_t;

/* Invariants (under lock): every waiter on the lists belongs to a parked
 * goroutine; nwait == the number of waiters in the root; each address
 * appears once on the head list; head->waittail is the last waiter of
 * its address (head itself when alone). */
typedef struct semaroot {
  hl_lock_t lock;
  _Atomic uint32_t nwait; /* written under lock, read without it */
  semawaiter_t *head;     /* one entry per distinct address (lock) */
} semaroot_t;

static struct {
  semaroot_t root;
  char pad[64 - sizeof(semaroot_t)]; /* one root per cache line */
} semtable[SEMTAB_SIZE];
_Static_assert(sizeof semtable[0] == 64, "a semaphore root per cache line");

static semaroot_t *semroot(_Atomic uint32_t *addr) {
  return &semtable[((uintptr_t)addr >> 3) % SEMTAB_SIZE].root;
}

bool cansemacquire(_Atomic uint32_t *addr) {
  uint32_t v = atomic_load_relaxed(addr);
  while (v != 0) {
    /* acquire: pairs with the release add of semrelease (the releaser's
     * writes before it are visible to whoever takes its token). */
    if (atomic_cas_weak_acquire(addr, &v, v - 1))
      return true;
  }
  return false;
}

#if HL_DEBUG >= 3
/* The invariants of semaroot_t (caller holds root->lock). */
static bool semroot_is_valid(semaroot_t *root) {
  uint32_t n = 0;
  for (semawaiter_t *h = root->head; h; h = h->next) {
    for (semawaiter_t *o = h->next; o; o = o->next)
      if (o->addr == h->addr)
        return false; /* an address listed twice */
    semawaiter_t *last = h;
    for (semawaiter_t *w = h; w; last = w, w = w->waitlink) {
      n++;
      if (w->addr != h->addr || !w->g || (w != h && w->next))
        return false;
    }
    if (h->waittail != last)
      return false;
  }
  return n == atomic_load_relaxed(&root->nwait);
}
#endif

/* Caller holds root->lock. */
static void semroot_queue(semaroot_t *root, _Atomic uint32_t *addr,
                          semawaiter_t *s, bool lifo) {
  HL_ASSERT_INTERNAL(hl_lock_held(&root->lock));
  s->addr = addr;
  s->next = NULL;
  s->waitlink = NULL;
  s->waittail = s;
  semawaiter_t **link = &root->head;
  for (semawaiter_t *t = *link; t; link = &t->next, t = *link) {
    if (t->addr != addr)
      continue;
    if (lifo) { /* s becomes the first waiter of addr */
      s->next = t->next;
      s->waitlink = t;
      s->waittail = t->waittail;
      t->next = NULL;
      t->waittail = NULL;
      *link = s;
    } else {
      t->waittail->waitlink = s;
      t->waittail = s;
      s->waittail = NULL;
    }
    return;
  }
  s->next = root->head; /* first waiter on addr */
  root->head = s;
}

/* Takes the first waiter of addr off the root (NULL: none). Caller holds
 * root->lock. */
static semawaiter_t *semroot_dequeue(semaroot_t *root,
                                     _Atomic uint32_t *addr) {
  HL_ASSERT_INTERNAL(hl_lock_held(&root->lock));
  semawaiter_t **link = &root->head;
  for (semawaiter_t *t = *link; t; link = &t->next, t = *link) {
    if (t->addr != addr)
      continue;
    semawaiter_t *n = t->waitlink;
    if (n) { /* n becomes the first waiter */
      n->next = t->next;
      n->waittail = t->waittail;
      *link = n;
    } else {
      *link = t->next;
    }
    t->next = t->waitlink = t->waittail = NULL;
    return t;
  }
  return NULL;
}

/* gopark callback, on g0 of the M that parked: the goroutine's context is
 * saved, so a releaser may now see its waiter and ready it. */
static bool semroot_park_unlock(g_t *gp, void *arg) {
  (void)gp;
  semaroot_t *root = arg;
  hl_unlock(&root->lock);
  m_unlock(getm()); /* the m_lock of semacquire's step 2 */
  return true;
}

void semacquire(_Atomic uint32_t *addr, bool lifo, int reason) {
  if (cansemacquire(addr))
    return;
  g_t *gp = curg_or_die("semacquire");
  semaroot_t *root = semroot(addr);
  semawaiter_t s = {.g = gp};
  for (;;) {
    /* rt_enter: with a P held, no preemption can take it before the park
     * (which must run on this M's g0) */
    m_t *mp = rt_enter(gp);
    hl_lock(&root->lock);
    atomic_store_relaxed(&root->nwait, atomic_load_relaxed(&root->nwait) + 1);
    /* seq_cst: orders the StoreLoad "nwait++ then load *addr" against
     * semrelease's "*addr++ then load nwait" (its fence): one of the two
     * loads sees the other side's store, so no wakeup is lost. */
    atomic_fence_seq_cst();
    if (cansemacquire(addr)) {
      atomic_store_relaxed(&root->nwait,
                           atomic_load_relaxed(&root->nwait) - 1);
      hl_unlock(&root->lock);
      m_unlock(mp);
      return;
    }
    s.ticket = 0;
    semroot_queue(root, addr, &s, lifo);
    HL_ASSERT_EXPENSIVE(semroot_is_valid(root));
    gopark(semroot_park_unlock, root, reason);
    /* the releaser wrote s.ticket before goready; goready's release of
     * the run queue and the scheduler's acquire make it visible here */
    if (s.ticket != 0 || cansemacquire(addr))
      return;
  }
}

void semrelease(_Atomic uint32_t *addr, bool handoff) {
  semaroot_t *root = semroot(addr);
  /* release: pairs with the acquire CAS in cansemacquire. */
  atomic_add_acq_rel(addr, 1);
  /* seq_cst: the StoreLoad "*addr++ then load nwait"; partner: the fence
   * in semacquire. */
  atomic_fence_seq_cst();
  if (atomic_load_relaxed(&root->nwait) == 0)
    return;
  m_t *mp = rt_enter(curg_or_die("semrelease"));
  hl_lock(&root->lock);
  if (atomic_load_relaxed(&root->nwait) == 0) {
    /* the token was taken by a waiter in its step 2: nobody to wake */
    hl_unlock(&root->lock);
    m_unlock(mp);
    return;
  }
  semawaiter_t *s = semroot_dequeue(root, addr);
  if (s)
    atomic_store_relaxed(&root->nwait, atomic_load_relaxed(&root->nwait) - 1);
  HL_ASSERT_EXPENSIVE(semroot_is_valid(root));
  hl_unlock(&root->lock);
  if (!s) { /* waiters on other addresses of this root only */
    m_unlock(mp);
    return;
  }
  if (s->ticket != 0)
    hl_throw("semrelease: corrupted semaphore ticket");
  bool handed = handoff && cansemacquire(addr);
  if (handed)
    s->ticket = 1;
  /* s lives on the waiter's stack: not touched after goready */
  goready(s->g);
  m_unlock(mp);
  if (handed)
    hl_yield(); /* direct handoff: the waiter (runnext) runs now */
}

/* ------------------------------------------------------------ notify list */

static bool less(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

uint32_t notifylist_add(notifylist_t *l) {
  /* acq_rel: the ticket is ordered after the caller's writes under its
   * mutex; a notifier that took that mutex afterwards sees it (the mutex
   * release/acquire is the partner). */
  return atomic_add_acq_rel(&l->wait, 1);
}

static bool notifylist_park_unlock(g_t *gp, void *arg) {
  (void)gp;
  hl_unlock(&((notifylist_t *)arg)->lock);
  m_unlock(getm()); /* the m_lock of notifylist_wait */
  return true;
}

void notifylist_wait(notifylist_t *l, uint32_t t) {
  g_t *gp = curg_or_die("hl_cond_wait");
  m_t *mp = rt_enter(gp);
  hl_lock(&l->lock);
  if (less(t, atomic_load_relaxed(&l->notify))) { /* already notified */
    hl_unlock(&l->lock);
    m_unlock(mp);
    return;
  }
  semawaiter_t s = {.g = gp, .ticket = t};
  if (l->tail)
    l->tail->next = &s;
  else
    l->head = &s;
  l->tail = &s;
  gopark(notifylist_park_unlock, l, WAIT_COND);
}

void notifylist_notify_all(notifylist_t *l) {
  /* fast path: no waiter took a ticket since the last notify. acquire:
   * pairs with the acq_rel add of notifylist_add. */
  if (atomic_load_acquire(&l->wait) == atomic_load_relaxed(&l->notify))
    return;
  m_t *mp = rt_enter(curg_or_die("hl_cond_broadcast"));
  hl_lock(&l->lock);
  semawaiter_t *s = l->head;
  l->head = l->tail = NULL;
  atomic_store_relaxed(&l->notify, atomic_load_acquire(&l->wait));
  hl_unlock(&l->lock);
  while (s) {
    semawaiter_t *next = s->next; /* s is gone once its G runs */
    goready(s->g);
    s = next;
  }
  m_unlock(mp);
}

void notifylist_notify_one(notifylist_t *l) {
  /* acquire: pairs with the acq_rel add of notifylist_add. */
  if (atomic_load_acquire(&l->wait) == atomic_load_relaxed(&l->notify))
    return;
  m_t *mp = rt_enter(curg_or_die("hl_cond_signal"));
  hl_lock(&l->lock);
  uint32_t t = atomic_load_relaxed(&l->notify);
  if (t == atomic_load_acquire(&l->wait)) {
    hl_unlock(&l->lock);
    m_unlock(mp);
    return;
  }
  atomic_store_relaxed(&l->notify, t + 1);
  /* The waiter with ticket t may not be on the list yet (between its
   * notifylist_add and notifylist_wait): it will see notify > t and not
   * sleep. The list is in ticket order except for such late arrivals. */
  for (semawaiter_t *p = NULL, *s = l->head; s; p = s, s = s->next) {
    if (s->ticket != t)
      continue;
    semawaiter_t *n = s->next;
    if (p)
      p->next = n;
    else
      l->head = n;
    if (!n)
      l->tail = p;
    hl_unlock(&l->lock);
    goready(s->g);
    m_unlock(mp);
    return;
  }
  hl_unlock(&l->lock);
  m_unlock(mp);
}

/* --------------------------------------------------------------- spinning */

static _Atomic int ncpu_cached;

bool sync_canspin(int iter) {
  if (iter >= ACTIVE_SPIN)
    return false;
  int ncpu = atomic_load_relaxed(&ncpu_cached);
  if (ncpu == 0) {
    ncpu = os_ncpu();
    atomic_store_relaxed(&ncpu_cached, ncpu);
  }
  if (ncpu <= 1 || sched.gomaxprocs <= atomic_load_relaxed(&sched.npidle) +
                                           atomic_load_relaxed(&sched.nmspinning) +
                                           1)
    return false;
  m_t *mp = getm();
  if (!mp || !mp->curg)
    return false;
  m_lock(mp);
  bool ok = mp->p && runqempty(mp->p);
  m_unlock(mp);
  return ok;
}

void sync_dospin(void) {
  for (int i = 0; i < ACTIVE_SPIN_CNT; i++)
    cpu_relax();
}
