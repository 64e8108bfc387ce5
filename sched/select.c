/*
 * sched/select.c — select over several channel operations (Go's
 * select.go), with a default (never wait) or a timeout; also the engine of
 * the channel operations with a timeout.
 *
 * Entry points: hl_select; internally selectgo (chan.c's timed send and
 * receive are one-case selects).
 *
 * selectgo(cases, n, timeout):
 *  1. pollorder: the cases with a channel, in a uniformly random order
 *     (inside-out Fisher-Yates with fastrand), so that among ready cases
 *     each is chosen with equal probability. NULL channels are left out:
 *     such a case is never ready.
 *  2. lockorder: the same cases sorted by channel address (heap sort:
 *     n log n, no extra memory). Every select and every channel operation
 *     takes channel locks in address order, so two selects over the same
 *     channels cannot deadlock; a channel that appears in several cases is
 *     locked once (its cases are adjacent in lockorder).
 *  3. Lock all (sellock). Pass 1: in pollorder, the first case that can
 *     proceed now (a parked partner to hand off with, buffer room or a
 *     value, a closed channel for a receive) is done as in chan.c; unlock
 *     all and return it. A send on a closed channel is fatal.
 *  4. Nothing ready and a default (timeout 0): unlock, return -1. No case
 *     and no timeout: park forever (WAIT_SELECT_NO_CASES when n == 0).
 *  5. Pass 2: put a sudog (on this stack; on the heap beyond
 *     SELECT_STACK_CASES cases) on every case's queue, all marked
 *     isselect. Park. The park's unlock callback (on g0, once this
 *     goroutine's context is saved) arms the timeout timer, then unlocks
 *     the channels.
 *  6. Waking. Several parties may try to wake the goroutine at once: a
 *     partner on each channel (waitq_dequeue in chan.h), close, the timer.
 *     Each must first win g->selectdone 0 -> 1 with a CAS; the loser
 *     drops the sudog (partner) or does nothing (timer). The winner writes
 *     g->param (the sudog it completed; NULL for the timer) and readies g.
 *  7. Woken: stop the timer (waiting for its function if it is running
 *     right now), lock all again, clear selectdone, take the sudogs of the
 *     other cases out of their queues (pass 3), unlock. g->param names the
 *     case done, its success field whether a value passed or the channel
 *     was closed; NULL means the timeout.
 *
 * Why the timer is armed in the unlock callback and while the locks are
 * still held: before the park, the timer could fire while the goroutine is
 * still running (goready needs it WAITING); after the unlocks, a partner
 * could wake it and it could return — and pop the timer off its stack —
 * before the timer is even added. Holding the channel locks keeps the
 * woken goroutine in its sellock (step 7) until the callback is done.
 *
 * The callback also reads the case and lockorder arrays on the parked
 * goroutine's stack while unlocking: safe for the same reason. The channel
 * unlocked last is lockorder[0]'s, which the woken goroutine locks first,
 * and after that unlock nothing of its stack is read (Go's selunlock).
 *
 * Rejected: a timeout as a timer channel added to the cases (Go's
 * time.After). It costs a channel and a goroutine-free send per select;
 * the timer waking the goroutine directly needs only the selectdone CAS
 * that the cases already use.
 */
#include "sched/chan.h"
#include "base/os.h"
#include "heaplab/alloc.h"

#include <sched.h>
#include <stdint.h>

/* Cases whose sudogs and orders live on the stack; more are allocated. */
#define SELECT_STACK_CASES 16

/* The timeout of a parked select (on its stack). */
typedef struct selwait {
  hl_timer_t t;
  g_t *gp;
  /* Set (release) by the timer's function when it no longer touches this
   * struct; the woken goroutine waits for it (acquire) when timer_del
   * finds the timer already fired, before the struct leaves its stack. */
  _Atomic uint32_t fired;
} selwait_t;

/* What the park's unlock callback needs (on the parked goroutine's
 * stack; see the header comment for why it may read it). */
typedef struct selpark {
  hl_select_case_t *cases;
  const uint32_t *lockorder;
  int norder;
  selwait_t *w; /* NULL: no timeout */
} selpark_t;

static inline uint32_t fastrandn(uint32_t n) {
  return (uint32_t)(((uint64_t)fastrand() * n) >> 32);
}

static inline uintptr_t sortkey(const hl_select_case_t *cases, uint32_t i) {
  return (uintptr_t)cases[i].chan;
}

static inline waitq_t *case_queue(const hl_select_case_t *cs) {
  return cs->dir == HL_RECV ? &cs->chan->recvq : &cs->chan->sendq;
}

/* Unlocks in reverse lock order; the last unlock (lockorder[0]'s channel)
 * is the last access to cases and lockorder. */
static void selunlock(const hl_select_case_t *cases,
                      const uint32_t *lockorder, int norder) {
  for (int i = norder - 1; i >= 0; i--) {
    hl_chan_t *c = cases[lockorder[i]].chan;
    if (i > 0 && c == cases[lockorder[i - 1]].chan)
      continue; /* unlocked with its first occurrence */
    hl_unlock(&c->lock);
  }
}

/* Locks every case's channel, on a P (as chan_lock_onp: the copies under
 * the locks shade through the P's write-barrier buffer, and the
 * preemption signal may have taken the P since chan_enter). */
static void sellock(const hl_select_case_t *cases, const uint32_t *lockorder,
                    int norder) {
  for (;;) {
    hl_chan_t *last = NULL;
    for (int i = 0; i < norder; i++) {
      hl_chan_t *c = cases[lockorder[i]].chan;
      if (c != last) {
        hl_lock(&c->lock);
        last = c;
      }
    }
    if (hl_likely(norder == 0 || tls_m->p != NULL))
      return;
    selunlock(cases, lockorder, norder);
    hl_safepoint();
  }
}

/* Park unlock callback: on g0, the goroutine is WAITING. */
static bool selpark_commit(g_t *gp, void *arg) {
  (void)gp;
  selpark_t *sp = arg;
  hl_select_case_t *cases = sp->cases;
  const uint32_t *lockorder = sp->lockorder;
  int norder = sp->norder;
  selwait_t *w = sp->w;
  /* With norder == 0 nothing holds the goroutine back once the timer is
   * in: every field was read above. */
  if (w)
    timer_add(&w->t);
  selunlock(cases, lockorder, norder);
  return true;
}

/* Timer function (g0, a P held, the timer heap's lock held). */
static void select_timer_fire(void *arg) {
  selwait_t *w = arg;
  g_t *gp = w->gp;
  uint32_t zero = 0;
  /* acq_rel: pairs with the CAS in waitq_dequeue; one waker wins. */
  bool won = atomic_cas_strong_acq_rel(&gp->selectdone, &zero, 1);
  /* release: pairs with the acquire in selectgo's wait below; w may be
   * gone after this store unless we won (then gp stays parked until the
   * goready). */
  atomic_store_release(&w->fired, 1);
  if (won)
    goready(gp); /* gp->param stays NULL: the timeout */
}

/* Sorts the n entries of pollorder by channel address into lockorder
 * (Go's heap sort, starting from pollorder so that equal channels come in
 * random order). */
static void sort_lockorder(const hl_select_case_t *cases,
                           const uint32_t *pollorder, uint32_t *lockorder,
                           int n) {
  for (int i = 0; i < n; i++) {
    int j = i;
    uintptr_t c = sortkey(cases, pollorder[i]);
    while (j > 0 && sortkey(cases, lockorder[(j - 1) / 2]) < c) {
      int k = (j - 1) / 2;
      lockorder[j] = lockorder[k];
      j = k;
    }
    lockorder[j] = pollorder[i];
  }
  for (int i = n - 1; i >= 0; i--) {
    uint32_t o = lockorder[i];
    uintptr_t c = sortkey(cases, o);
    lockorder[i] = lockorder[0];
    int j = 0;
    for (;;) {
      int k = j * 2 + 1;
      if (k >= i)
        break;
      if (k + 1 < i &&
          sortkey(cases, lockorder[k]) < sortkey(cases, lockorder[k + 1]))
        k++;
      if (c < sortkey(cases, lockorder[k])) {
        lockorder[j] = lockorder[k];
        j = k;
        continue;
      }
      break;
    }
    lockorder[j] = o;
  }
#if HL_DEBUG >= 2
  for (int i = 0; i + 1 < n; i++)
    if (sortkey(cases, lockorder[i]) > sortkey(cases, lockorder[i + 1]))
      hl_throw("select: broken lock order sort");
#endif
}

/* Pass 1: does the first ready case in pollorder. Caller holds every lock;
 * they are released before returning. Returns the case or -1 (then the
 * locks are still held). */
static int select_ready(hl_select_case_t *cases, const uint32_t *pollorder,
                        const uint32_t *lockorder, int norder) {
  for (int i = 0; i < norder; i++) {
    int casi = (int)pollorder[i];
    hl_select_case_t *cs = &cases[casi];
    hl_chan_t *c = cs->chan;
    if (cs->dir == HL_RECV) {
      sudog_t *sg = waitq_dequeue(&c->sendq);
      if (sg) {
        g_t *wg = chan_recv_from_waiter(c, sg, cs->elem);
        selunlock(cases, lockorder, norder);
        goready(wg);
        cs->ok = true;
        return casi;
      }
      if (atomic_load_relaxed(&c->qcount) > 0) {
        chan_buf_take(c, cs->elem);
        selunlock(cases, lockorder, norder);
        cs->ok = true;
        return casi;
      }
      if (atomic_load_relaxed(&c->closed)) {
        selunlock(cases, lockorder, norder);
        chan_zero(c, cs->elem);
        cs->ok = false;
        return casi;
      }
    } else {
      if (atomic_load_relaxed(&c->closed)) {
        selunlock(cases, lockorder, norder);
        chan_fatal("send on closed channel");
      }
      sudog_t *sg = waitq_dequeue(&c->recvq);
      if (sg) {
        g_t *wg = chan_send_to_waiter(c, sg, cs->elem);
        selunlock(cases, lockorder, norder);
        goready(wg);
        return casi;
      }
      if (atomic_load_relaxed(&c->qcount) < c->dataqsiz) {
        chan_buf_put(c, cs->elem);
        selunlock(cases, lockorder, norder);
        return casi;
      }
    }
  }
  return -1;
}

static __attribute__((noreturn)) void block_forever(int reason) {
  gopark(NULL, NULL, reason);
  hl_throw("a goroutine blocked forever in select was woken");
}

int selectgo(hl_select_case_t *cases, int n, int64_t timeout, int reason) {
  g_t *gp = chan_enter("hl_select");
  if (n < 0 || (n > 0 && !cases))
    hl_misuse("hl_select(%p, %d): bad case array", (void *)cases, n);
  int64_t deadline = 0;
  if (timeout > 0) {
    int64_t now = os_nanotime();
    deadline = timeout > INT64_MAX - now ? INT64_MAX : now + timeout;
  }

  uint32_t order_stack[2 * SELECT_STACK_CASES];
  sudog_t sg_stack[SELECT_STACK_CASES];
  void *heap = NULL;
  uint32_t *pollorder = order_stack, *lockorder;
  sudog_t *sgs = sg_stack;
  if (n > SELECT_STACK_CASES) {
    heap = hl_malloc((size_t)n * (sizeof(sudog_t) + 2 * sizeof(uint32_t)));
    if (!heap)
      hl_throwf("out of memory: select with %d cases", n);
    sgs = heap;
    pollorder = (uint32_t *)(sgs + n);
  }
  lockorder = pollorder + (n > SELECT_STACK_CASES ? n : SELECT_STACK_CASES);

  /* 1. pollorder (NULL channels left out) */
  int norder = 0;
  for (int i = 0; i < n; i++) {
    hl_select_case_t *cs = &cases[i];
    if (cs->dir != HL_SEND && cs->dir != HL_RECV)
      hl_misuse("hl_select: case %d has direction %d (want HL_SEND or "
                "HL_RECV)",
                i, cs->dir);
    if (!cs->chan)
      continue;
    if (cs->dir == HL_SEND && !cs->elem && cs->chan->elemsize)
      hl_misuse("hl_select: case %d sends a NULL value on a channel of "
                "%zu-byte elements",
                i, cs->chan->elemsize);
    uint32_t j = fastrandn((uint32_t)norder + 1);
    pollorder[norder] = pollorder[j];
    pollorder[j] = (uint32_t)i;
    norder++;
  }
  /* 2. lockorder */
  sort_lockorder(cases, pollorder, lockorder, norder);

  /* 3. pass 1 */
  sellock(cases, lockorder, norder);
  int casi = select_ready(cases, pollorder, lockorder, norder);
  if (casi >= 0)
    goto out;
  /* 4. default / nothing to wait for */
  if (timeout == 0) {
    selunlock(cases, lockorder, norder);
    goto out; /* casi == -1 */
  }
  if (norder == 0 && timeout < 0)
    block_forever(n == 0 && reason == WAIT_SELECT ? WAIT_SELECT_NO_CASES
                                                  : reason);

  /* 5. pass 2: enqueue on every channel, park */
  HL_ASSERT(atomic_load_relaxed(&gp->selectdone) == 0);
  HL_ASSERT(gp->waiting == NULL);
  gp->waiting = sgs;
  gp->param = NULL;
  for (int i = 0; i < norder; i++) {
    uint32_t k = lockorder[i];
    hl_select_case_t *cs = &cases[k];
    sudog_t *sg = &sgs[k];
    *sg = (sudog_t){.g = gp, .elem = cs->elem, .c = cs->chan,
                    .isselect = true};
    waitq_enqueue(case_queue(cs), sg);
  }
  selwait_t w;
  selpark_t sp = {cases, lockorder, norder, NULL};
  if (timeout > 0) {
    w.t = (hl_timer_t){.when = deadline, .f = select_timer_fire, .arg = &w};
    w.gp = gp;
    atomic_store_relaxed(&w.fired, 0);
    sp.w = &w;
  }
  gopark(selpark_commit, &sp, reason);

  /* 7. woken by a case, a close or the timer */
  if (sp.w && !timer_del(&w.t)) {
    /* fired: its function may still be running on another thread */
    for (int spins = 0; !atomic_load_acquire(&w.fired); spins++) {
      if (spins < 100)
        cpu_relax();
      else
        sched_yield();
    }
  }
  sellock(cases, lockorder, norder);
  atomic_store_relaxed(&gp->selectdone, 0);
  sudog_t *won = gp->param;
  gp->param = NULL;
  gp->waiting = NULL;
  /* pass 3: leave the queues of the other cases */
  for (int i = 0; i < norder; i++) {
    uint32_t k = lockorder[i];
    if (&sgs[k] == won)
      casi = (int)k;
    else
      waitq_remove(case_queue(&cases[k]), &sgs[k]);
  }
  selunlock(cases, lockorder, norder);
  if (casi < 0) {
    if (won || !sp.w)
      hl_throw("select: goroutine woken by a sudog it does not own, or "
               "without a case or a timeout");
    goto out; /* timed out */
  }
  if (cases[casi].dir == HL_RECV)
    cases[casi].ok = won->success; /* a close zeroed the value */
  else if (!won->success)
    chan_fatal("send on closed channel");
out:
  if (heap)
    hl_free(heap);
  return casi;
}

HL_API int hl_select(hl_select_case_t *cases, int n, int64_t timeout) {
  curg_or_die("hl_select");
  return selectgo(cases, n, timeout, WAIT_SELECT);
}
