/*
 * sched/sync.c — the sync primitives of goroutines (Go's sync package):
 * hl_mutex, hl_rwmutex, hl_cond, hl_waitgroup, hl_once, hl_sema.
 *
 * Entry points: every hl_mutex_*, hl_rwmutex_*, hl_cond_*, hl_waitgroup_*,
 * hl_once_do, hl_sema_* of include/heaplab/sched.h.
 *
 * Each public type is an opaque blob of uint64_t; the struct behind it is
 * defined here, checked to fit, and valid when zeroed. The primitives are
 * state machines over atomics; goroutines sleep only through sema.c
 * (semacquire/semrelease on a semaphore word inside the object, the notify
 * list of hl_cond). Misuse that would corrupt the state is fatal, with
 * Go's message, a goroutine dump and exit status 2.
 *
 * ---- hl_mutex (Go's sync/mutex.go) ----
 *
 * state (32 bits):  [ waiters : 29 | STARVING | WOKEN | LOCKED ]
 *   LOCKED    somebody owns the mutex.
 *   WOKEN     a goroutine is awake and competing for the lock (a woken
 *             waiter or a spinner that announced itself): unlock need not
 *             wake another.
 *   STARVING  ownership passes directly from unlocker to the first waiter.
 *   waiters   goroutines asleep (or about to sleep) on sema.
 * sema: semaphore (sema.c) the waiters sleep on.
 *
 * Two modes. Normal mode: waiters queue FIFO, but a woken waiter does not
 * own the mutex: it competes with goroutines arriving now, which have the
 * advantage of running on a CPU already, so it often loses; it then goes
 * back first in the queue (semacquire lifo). Throughput is high: a
 * goroutine can re-take the mutex many times without a switch. Starvation
 * mode: a waiter that waited more than STARVATION_NS (1 ms) sets STARVING
 * on its next try. Then unlock hands ownership to the first waiter (a
 * semaphore handoff plus a yield to it); arrivals neither spin nor grab
 * the lock, even when it looks unlocked, and queue at the tail. The woken
 * waiter takes ownership by adding LOCKED - one waiter, and turns
 * starvation mode off if it was the last waiter or waited less than 1 ms.
 *
 * Lock:
 *  1. Fast path: CAS 0 -> LOCKED.
 *  2. Slow path loop on old = state:
 *     a. LOCKED and not STARVING and sync_canspin(iter): spin (after
 *        setting WOKEN if there are waiters and nobody is woken, so unlock
 *        does not wake another competitor), reload, repeat.
 *     b. next = old; unless STARVING, next |= LOCKED (try to grab it);
 *        if LOCKED or STARVING, next += one waiter (we will sleep);
 *        if we are starving and it is LOCKED, next |= STARVING;
 *        if we were woken, clear WOKEN (we are its owner; it must be set).
 *     c. CAS old -> next. Failed: reload, repeat. Succeeded and old was
 *        neither LOCKED nor STARVING: we own the mutex, done.
 *     d. Sleep: semacquire(sema), lifo if we had slept before. On waking,
 *        starving |= waited > 1 ms.
 *     e. If STARVING: the mutex was handed to us (LOCKED and WOKEN are
 *        clear, waiters > 0, else fatal). Add LOCKED - one waiter, and
 *        - STARVING too if we are not starving or we are the last waiter.
 *        Done.
 *     f. Otherwise we are a woken competitor: awoke = true, iter = 0,
 *        repeat from 2.
 * Unlock:
 *  1. next = state - LOCKED (atomic add, release). next == 0: done.
 *  2. LOCKED was clear before the add: fatal "sync: unlock of unlocked
 *     mutex".
 *  3. Normal mode: if no waiters, or somebody already LOCKED, WOKEN or
 *     STARVING, there is nobody to wake: done. Else CAS old -> (waiters -
 *     1) | WOKEN and semrelease(sema) (retry from the reload on failure).
 *  4. Starvation mode: semrelease(sema, handoff): the first waiter gets
 *     the token, runs next, and finds STARVING with LOCKED clear (2e).
 *
 * Memory order: the CAS that sets LOCKED is an acquire, and the add that
 * clears it a release, pairing with each other; a handed-over mutex is
 * acquired through the semaphore (its release add and acquire CAS).
 *
 * ---- hl_rwmutex (Go's sync/rwmutex.go) ----
 *
 * Writer-preferring: once a writer waits, new readers wait for it.
 *   w            mutex held by the writer (pending or active): writers
 *                take turns on it.
 *   readercount  readers holding or waiting; a pending writer subtracts
 *                RWMUTEX_MAX_READERS, so it is negative while one is.
 *   readerwait   readers the pending writer still waits for to leave.
 *   writersem    the writer sleeps here; readersem: readers do.
 * RLock: readercount += 1; negative: a writer is pending, sleep on
 *   readersem. RUnlock: readercount -= 1; negative: (fatal if there was
 *   no reader) readerwait -= 1, and the last departing reader wakes the
 *   writer (writersem).
 * Lock: lock w; r = (readercount -= MAX) + MAX readers are inside; if
 *   r != 0 and (readerwait += r) != 0, sleep on writersem. Readers that
 *   left between the two adds already decremented readerwait, so the sum
 *   reaches 0 exactly when the last of the r leaves.
 * Unlock: r = (readercount += MAX) (fatal if >= MAX: no writer); wake the
 *   r readers that queued meanwhile (readersem, r times); unlock w.
 *
 * ---- hl_cond ----  A notify list (sema.c): Wait takes a ticket, unlocks
 * the mutex, sleeps unless its ticket is notified, re-locks. Signal wakes
 * the oldest ticket not yet notified; Broadcast all of them.
 *
 * ---- hl_waitgroup ---- state (64 bits) = counter (high 32, signed) |
 * waiters (low 32); sema. Add(delta): state += delta << 32; a negative
 * counter is fatal; when the counter reaches 0 with waiters, reset state
 * to 0 and release sema once per waiter. Wait: counter 0: return; else CAS
 * waiters + 1 and sleep on sema; woken, state must be 0 (otherwise the
 * group was reused before this Wait returned: fatal).
 *
 * ---- hl_once ---- done (load-acquire fast path) and a mutex: the first
 * caller runs fn under the mutex and sets done (release) after it
 * returned; the others wait on the mutex and see done. The owner's
 * goroutine id detects fn calling hl_once_do on its own once (a deadlock
 * in Go) and makes it fatal with a message.
 *
 * ---- hl_sema ---- a counting semaphore: the count word is a semaphore of
 * sema.c (acquire = semacquire, release = semrelease, tryacquire =
 * cansemacquire). HL_SEMA_INIT(n) stores n in the first 64-bit word: the
 * count is its low 32 bits (little-endian), the high half must be 0.
 */
#include "sched/internal.h"
#include "heaplab/sched.h"

#include <unistd.h>

static HL_COLD __attribute__((noreturn)) void sync_fatal(const char *msg) {
  hl_printf(2, "fatal error: %s\n\n", msg);
  goroutine_dump(2);
  _exit(2);
}

/* ------------------------------------------------------------- mutex */

enum {
  MUTEX_LOCKED = 1u << 0,
  MUTEX_WOKEN = 1u << 1,
  MUTEX_STARVING = 1u << 2,
  MUTEX_WAITER_SHIFT = 3,
  MUTEX_WAITER = 1u << MUTEX_WAITER_SHIFT,
};
#define STARVATION_NS (1 * HL_MILLISECOND)

typedef struct mutex {
  _Atomic uint32_t state; /* see the header; atomics only */
  _Atomic uint32_t sema;  /* semaphore the waiters sleep on (sema.c) */
} mutex_t;
_Static_assert(sizeof(mutex_t) <= sizeof(hl_mutex_t), "mutex_t fits");
_Static_assert(_Alignof(mutex_t) <= _Alignof(hl_mutex_t), "mutex_t aligns");

static inline mutex_t *mutex_of(hl_mutex_t *m) { return (mutex_t *)m; }

static HL_NOINLINE void mutex_lock_slow(mutex_t *m, int reason) {
  int64_t waitstart = 0;
  bool starving = false;
  bool awoke = false;
  int iter = 0;
  uint32_t old = atomic_load_relaxed(&m->state);
  for (;;) {
    /* 2a: spin while it is held in normal mode, if that can help */
    if ((old & (MUTEX_LOCKED | MUTEX_STARVING)) == MUTEX_LOCKED &&
        sync_canspin(iter)) {
      if (!awoke && !(old & MUTEX_WOKEN) && (old >> MUTEX_WAITER_SHIFT) &&
          atomic_cas_strong_relaxed(&m->state, &old, old | MUTEX_WOKEN))
        awoke = true;
      sync_dospin();
      iter++;
      old = atomic_load_relaxed(&m->state);
      continue;
    }
    /* 2b */
    uint32_t next = old;
    if (!(old & MUTEX_STARVING))
      next |= MUTEX_LOCKED; /* in starvation mode arrivals queue */
    if (old & (MUTEX_LOCKED | MUTEX_STARVING))
      next += MUTEX_WAITER;
    /* a starving goroutine switches the mutex to starvation mode, unless
     * it is unlocked (then unlock would expect waiters to hand it to) */
    if (starving && (old & MUTEX_LOCKED))
      next |= MUTEX_STARVING;
    if (awoke) {
      if (!(next & MUTEX_WOKEN))
        hl_throw("sync: inconsistent mutex state (woken flag clear)");
      next &= ~(uint32_t)MUTEX_WOKEN;
    }
    /* 2c. acquire: pairs with the release add of hl_mutex_unlock. */
    if (!atomic_cas_weak_acq_rel(&m->state, &old, next))
      continue; /* old was reloaded */
    if (!(old & (MUTEX_LOCKED | MUTEX_STARVING)))
      return; /* locked it with the CAS */
    /* 2d: a waiter that slept before keeps its place at the front */
    bool lifo = waitstart != 0;
    if (waitstart == 0)
      waitstart = hl_nanotime();
    semacquire(&m->sema, lifo, reason);
    starving = starving || hl_nanotime() - waitstart > STARVATION_NS;
    old = atomic_load_relaxed(&m->state);
    if (old & MUTEX_STARVING) {
      /* 2e: handed to us; LOCKED and WOKEN are clear, we are counted */
      if ((old & (MUTEX_LOCKED | MUTEX_WOKEN)) ||
          (old >> MUTEX_WAITER_SHIFT) == 0)
        hl_throw("sync: inconsistent mutex state (starvation handoff)");
      uint32_t delta = MUTEX_LOCKED - MUTEX_WAITER;
      if (!starving || (old >> MUTEX_WAITER_SHIFT) == 1)
        delta -= MUTEX_STARVING; /* leave starvation mode */
      /* acq_rel: the handoff came through sema (acquire CAS there); the
       * add only takes ownership. Wraps around as an unsigned add. */
      atomic_add_acq_rel(&m->state, delta);
      return;
    }
    /* 2f */
    awoke = true;
    iter = 0;
  }
}

static void mutex_lock(mutex_t *m, int reason) {
  uint32_t expected = 0;
  /* acquire: pairs with the release add of hl_mutex_unlock. */
  if (hl_likely(atomic_cas_weak_acquire(&m->state, &expected, MUTEX_LOCKED)))
    return;
  mutex_lock_slow(m, reason);
}

static HL_NOINLINE void mutex_unlock_slow(mutex_t *m, uint32_t next) {
  if (!((next + MUTEX_LOCKED) & MUTEX_LOCKED))
    sync_fatal("sync: unlock of unlocked mutex");
  if (next & MUTEX_STARVING) {
    /* 4: hand the mutex to the first waiter and yield to it */
    semrelease(&m->sema, true);
    return;
  }
  uint32_t old = next;
  for (;;) {
    /* 3: nobody to wake, or somebody already awake / owning it */
    if ((old >> MUTEX_WAITER_SHIFT) == 0 ||
        (old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING)))
      return;
    next = (old - MUTEX_WAITER) | MUTEX_WOKEN;
    if (atomic_cas_weak_relaxed(&m->state, &old, next)) {
      semrelease(&m->sema, false);
      return;
    }
  }
}

static void mutex_unlock(mutex_t *m) {
  /* release: pairs with the acquire CAS of mutex_lock / mutex_lock_slow. */
  uint32_t next = atomic_sub_acq_rel(&m->state, MUTEX_LOCKED) - MUTEX_LOCKED;
  if (hl_unlikely(next != 0))
    mutex_unlock_slow(m, next);
}

HL_API void hl_mutex_lock(hl_mutex_t *m) {
  mutex_lock(mutex_of(m), WAIT_MUTEX);
}

HL_API bool hl_mutex_trylock(hl_mutex_t *m) {
  mutex_t *mu = mutex_of(m);
  uint32_t old = atomic_load_relaxed(&mu->state);
  if (old & (MUTEX_LOCKED | MUTEX_STARVING))
    return false;
  /* acquire: pairs with the release add of hl_mutex_unlock. A failed CAS
   * means contention: report failure rather than retry (as Go). */
  return atomic_cas_strong_acq_rel(&mu->state, &old, old | MUTEX_LOCKED);
}

HL_API void hl_mutex_unlock(hl_mutex_t *m) { mutex_unlock(mutex_of(m)); }

/* ----------------------------------------------------------- rwmutex */

#define RWMUTEX_MAX_READERS (1 << 30)

typedef struct rwmutex {
  mutex_t w;                   /* held by the pending or active writer */
  _Atomic uint32_t writersem;  /* the writer waits for departing readers */
  _Atomic uint32_t readersem;  /* readers wait for the writer */
  _Atomic int32_t readercount; /* readers in or waiting, - MAX while a
                                  writer is pending or active */
  _Atomic int32_t readerwait;  /* readers the pending writer waits for */
} rwmutex_t;
_Static_assert(sizeof(rwmutex_t) <= sizeof(hl_rwmutex_t), "rwmutex_t fits");
_Static_assert(_Alignof(rwmutex_t) <= _Alignof(hl_rwmutex_t),
               "rwmutex_t aligns");

static inline rwmutex_t *rwmutex_of(hl_rwmutex_t *rw) {
  return (rwmutex_t *)rw;
}

HL_API void hl_rwmutex_rlock(hl_rwmutex_t *rwp) {
  rwmutex_t *rw = rwmutex_of(rwp);
  /* acq_rel: acquire pairs with the release add of hl_rwmutex_unlock
   * (the writer's data is visible to the readers it lets in). */
  if (atomic_add_acq_rel(&rw->readercount, 1) + 1 < 0)
    semacquire(&rw->readersem, false, WAIT_RWMUTEX_R); /* a writer first */
}

HL_API void hl_rwmutex_runlock(hl_rwmutex_t *rwp) {
  rwmutex_t *rw = rwmutex_of(rwp);
  /* release: pairs with the writer's acquire add in hl_rwmutex_lock (and,
   * for a departing reader it waits for, the semaphore). */
  int32_t r = atomic_sub_acq_rel(&rw->readercount, 1) - 1;
  if (hl_likely(r >= 0))
    return;
  if (r + 1 == 0 || r + 1 == -RWMUTEX_MAX_READERS)
    sync_fatal("sync: RUnlock of unlocked RWMutex");
  /* a writer is pending: the last reader it waits for wakes it */
  if (atomic_sub_acq_rel(&rw->readerwait, 1) - 1 == 0)
    semrelease(&rw->writersem, false);
}

HL_API void hl_rwmutex_lock(hl_rwmutex_t *rwp) {
  rwmutex_t *rw = rwmutex_of(rwp);
  mutex_lock(&rw->w, WAIT_RWMUTEX_W); /* first, other writers */
  /* announce the writer to readers; acquire: pairs with the release
   * subtract of departed readers' hl_rwmutex_runlock. */
  int32_t r = atomic_sub_acq_rel(&rw->readercount, RWMUTEX_MAX_READERS);
  /* wait for the r readers inside to leave */
  if (r != 0 && atomic_add_acq_rel(&rw->readerwait, r) + r != 0)
    semacquire(&rw->writersem, false, WAIT_RWMUTEX_W);
}

HL_API void hl_rwmutex_unlock(hl_rwmutex_t *rwp) {
  rwmutex_t *rw = rwmutex_of(rwp);
  /* release: pairs with the acquire add of hl_rwmutex_rlock. */
  int32_t r =
      atomic_add_acq_rel(&rw->readercount, RWMUTEX_MAX_READERS) +
      RWMUTEX_MAX_READERS;
  if (r >= RWMUTEX_MAX_READERS)
    sync_fatal("sync: Unlock of unlocked RWMutex");
  for (int32_t i = 0; i < r; i++) /* readers that queued behind us */
    semrelease(&rw->readersem, false);
  mutex_unlock(&rw->w);
}

/* -------------------------------------------------------------- cond */

typedef struct cond {
  notifylist_t notify;
} cond_t;
_Static_assert(sizeof(cond_t) <= sizeof(hl_cond_t), "cond_t fits");
_Static_assert(_Alignof(cond_t) <= _Alignof(hl_cond_t), "cond_t aligns");

HL_API void hl_cond_wait(hl_cond_t *cp, hl_mutex_t *m) {
  cond_t *c = (cond_t *)cp;
  uint32_t t = notifylist_add(&c->notify);
  hl_mutex_unlock(m);
  notifylist_wait(&c->notify, t);
  hl_mutex_lock(m);
}

HL_API void hl_cond_signal(hl_cond_t *cp) {
  notifylist_notify_one(&((cond_t *)cp)->notify);
}

HL_API void hl_cond_broadcast(hl_cond_t *cp) {
  notifylist_notify_all(&((cond_t *)cp)->notify);
}

/* --------------------------------------------------------- waitgroup */

typedef struct waitgroup {
  _Atomic uint64_t state; /* counter (high 32, signed) | waiters (low 32) */
  _Atomic uint32_t sema;  /* waiters sleep here */
} waitgroup_t;
_Static_assert(sizeof(waitgroup_t) <= sizeof(hl_waitgroup_t),
               "waitgroup_t fits");
_Static_assert(_Alignof(waitgroup_t) <= _Alignof(hl_waitgroup_t),
               "waitgroup_t aligns");

HL_API void hl_waitgroup_add(hl_waitgroup_t *wgp, int64_t delta) {
  waitgroup_t *wg = (waitgroup_t *)wgp;
  if (delta > INT32_MAX || delta < -(int64_t)INT32_MAX)
    sync_fatal("sync: WaitGroup delta out of range");
  /* acq_rel: release pairs with Wait's acquire load (the work before Done
   * is visible after Wait); acquire orders this Add after earlier ones. */
  uint64_t state =
      atomic_add_acq_rel(&wg->state, (uint64_t)delta << 32) +
      ((uint64_t)delta << 32);
  int32_t v = (int32_t)(state >> 32);
  uint32_t w = (uint32_t)state;
  if (v < 0)
    sync_fatal("sync: negative WaitGroup counter");
  if (w != 0 && delta > 0 && v == (int32_t)delta)
    sync_fatal("sync: WaitGroup misuse: Add called concurrently with Wait");
  if (v > 0 || w == 0)
    return;
  /* counter 0 with waiters: we are the last Done. Nobody else may change
   * state now: waiters only join while the counter is > 0. */
  if (atomic_load_relaxed(&wg->state) != state)
    sync_fatal("sync: WaitGroup misuse: Add called concurrently with Wait");
  /* release: the reset is seen by each waiter after its semacquire. */
  atomic_store_release(&wg->state, 0);
  for (; w != 0; w--)
    semrelease(&wg->sema, false);
}

HL_API void hl_waitgroup_done(hl_waitgroup_t *wg) { hl_waitgroup_add(wg, -1); }

HL_API void hl_waitgroup_wait(hl_waitgroup_t *wgp) {
  waitgroup_t *wg = (waitgroup_t *)wgp;
  /* acquire: pairs with the release add of hl_waitgroup_add (Done). */
  uint64_t state = atomic_load_acquire(&wg->state);
  for (;;) {
    if ((int32_t)(state >> 32) == 0)
      return;
    /* become a waiter; acquire on failure reloads like the load above */
    if (atomic_cas_weak_acq_rel(&wg->state, &state, state + 1)) {
      semacquire(&wg->sema, false, WAIT_WAITGROUP);
      /* acquire: pairs with the release store of the last Add. */
      if (atomic_load_acquire(&wg->state) != 0)
        sync_fatal("sync: WaitGroup is reused before previous Wait has "
                   "returned");
      return;
    }
  }
}

/* -------------------------------------------------------------- once */

typedef struct once {
  _Atomic uint32_t done;  /* 1 once fn has returned (release store) */
  mutex_t m;              /* held while fn runs */
  _Atomic int64_t owner;  /* goid running fn (0: none); written under m */
} once_t;
_Static_assert(sizeof(once_t) <= sizeof(hl_once_t), "once_t fits");
_Static_assert(_Alignof(once_t) <= _Alignof(hl_once_t), "once_t aligns");

static HL_NOINLINE void once_do_slow(once_t *o, void (*fn)(void *),
                                     void *arg) {
  int64_t self = hl_goid();
  /* relaxed: only this goroutine can have stored its own id */
  if (atomic_load_relaxed(&o->owner) == self)
    sync_fatal("sync: Once.Do called recursively (its function called "
               "hl_once_do on the same once)");
  mutex_lock(&o->m, WAIT_ONCE);
  if (atomic_load_relaxed(&o->done) == 0) { /* m orders it with the store */
    atomic_store_relaxed(&o->owner, self);
    fn(arg);
    atomic_store_relaxed(&o->owner, 0);
    /* release: pairs with the acquire load of hl_once_do's fast path. */
    atomic_store_release(&o->done, 1);
  }
  mutex_unlock(&o->m);
}

HL_API void hl_once_do(hl_once_t *op, void (*fn)(void *), void *arg) {
  once_t *o = (once_t *)op;
  /* acquire: pairs with the release store of done in once_do_slow. */
  if (hl_likely(atomic_load_acquire(&o->done) != 0))
    return;
  once_do_slow(o, fn, arg);
}

/* -------------------------------------------------------------- sema */

typedef struct sema {
  _Atomic uint32_t count; /* tokens: the low half of HL_SEMA_INIT's word */
  uint32_t high;          /* its high half: must stay 0 */
  uint64_t spare;
} sema_t;
_Static_assert(sizeof(sema_t) <= sizeof(hl_sema_t), "sema_t fits");
_Static_assert(_Alignof(sema_t) <= _Alignof(hl_sema_t), "sema_t aligns");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "HL_SEMA_INIT(n) puts the count in the low half of word 0");

static sema_t *sema_of(hl_sema_t *s) {
  sema_t *sp = (sema_t *)s;
  if (hl_unlikely(sp->high != 0))
    sync_fatal("sync: semaphore initialised with a count above 2^32-1");
  return sp;
}

HL_API void hl_sema_acquire(hl_sema_t *s) {
  semacquire(&sema_of(s)->count, false, WAIT_SEMA);
}

HL_API bool hl_sema_tryacquire(hl_sema_t *s) {
  return cansemacquire(&sema_of(s)->count);
}

HL_API void hl_sema_release(hl_sema_t *s) {
  sema_t *sp = sema_of(s);
  /* racy but sufficient: the count cannot pass 2^32-1 unless some
   * goroutine already released that many times more than acquired */
  if (hl_unlikely(atomic_load_relaxed(&sp->count) == UINT32_MAX))
    sync_fatal("sync: semaphore released more than acquired (count "
               "overflow)");
  semrelease(&sp->count, false);
}
