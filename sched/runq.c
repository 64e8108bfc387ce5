/*
 * sched/runq.c — run queues: the per-P lock-free ring with runnext, and
 * the global queue.
 *
 * Entry points: runqput, runqget (their one-P runnext cases inline in
 * sched/internal.h, the rest here: runqput_slow, runqget_slow),
 * runqsteal, runqempty, globrunqput, globrunqputhead, globrunqget.
 *
 * Per-P ring (Go's runq): head and tail are free-running counters; slot
 * i % RUNQ_SIZE. Only the owner P writes tail and slots in [tail, head +
 * RUNQ_SIZE); anybody may advance head with a CAS to take items.
 *  put (owner):  1. h = load-acquire head (pairs with the CAS release of
 *                   takers: their reads of the slots happened before);
 *                2. if tail - h < RUNQ_SIZE: write slot[tail], then
 *                   store-release tail+1 (pairs with takers' acquire of
 *                   tail: they see the slot);
 *                3. else move half the ring plus the new G to the global
 *                   queue (runqputslow) and retry.
 *  get (owner):  runnext first (exchange), then CAS head from h to h+1.
 *  steal (thief): read a batch of half the victim's items, then CAS the
 *                victim's head past them; on failure retry. The batch
 *                lands in the thief's own ring (it owns its tail).
 * With a single P nobody can steal, and get skips the CAS.
 * runnext holds the G made runnable most recently by this P (a G readied
 * by a channel operation, a new G): running it next keeps a producer and
 * its consumer on one P, in its cache. It inherits the time slice.
 */
#include "sched/internal.h"
#include "base/os.h"

static bool runqputslow(p_t *pp, g_t *gp, uint32_t h, uint32_t t) {
  g_t *batch[RUNQ_SIZE / 2 + 1];
  uint32_t n = (t - h) / 2;
  for (uint32_t i = 0; i < n; i++)
    batch[i] = atomic_load_relaxed(&pp->runq[(h + i) % RUNQ_SIZE]);
  /* release: pairs with the acquire of head in runqput / runqgrab. */
  if (!atomic_cas_strong_acq_rel(&pp->runqhead, &h, h + n))
    return false;
  batch[n] = gp;
  for (uint32_t i = 0; i < n; i++)
    batch[i]->schedlink = batch[i + 1];
  batch[n]->schedlink = NULL;
  hl_lock(&sched.lock);
  for (uint32_t i = 0; i <= n; i++)
    globrunqput(batch[i]);
  hl_unlock(&sched.lock);
  return true;
}

void runqput_slow(p_t *pp, g_t *gp, bool next) {
  if (next) {
    g_t *old;
    if (sched.gomaxprocs == 1) {
      /* One P: no thief takes runnext (see runqget), so a load and a
       * store do what the exchange does, without its locked instruction
       * (a third of a channel hand-off's cost). Release: runqempty on
       * other threads reads it with acquire. */
      old = atomic_load_relaxed(&pp->runnext);
      atomic_store_release(&pp->runnext, gp);
    } else {
      old = atomic_exchange_acq_rel(&pp->runnext, gp);
    }
    if (!old)
      return;
    gp = old; /* the old runnext goes to the ring */
  }
  for (;;) {
    uint32_t h = atomic_load_acquire(&pp->runqhead);
    uint32_t t = atomic_load_relaxed(&pp->runqtail);
    if (t - h < RUNQ_SIZE) {
      atomic_store_relaxed(&pp->runq[t % RUNQ_SIZE], gp);
      atomic_store_release(&pp->runqtail, t + 1);
      return;
    }
    if (runqputslow(pp, gp, h, t))
      return;
  }
}

/* runqget past its inline one-P case: with one P, runnext was empty
 * (only the owner fills it), so the ring's head. */
g_t *runqget_slow(p_t *pp, bool *inherit) {
  g_t *next = sched.gomaxprocs == 1 ? NULL : atomic_load_relaxed(&pp->runnext);
  if (next && atomic_cas_strong_acq_rel(&pp->runnext, &next, NULL)) {
    *inherit = true;
    return next;
  }
  *inherit = false;
  return runqget_ring(pp);
}

g_t *runqget_ring(p_t *pp) {
  if (sched.gomaxprocs == 1) { /* no thieves: no CAS (see runqget) */
    uint32_t h = atomic_load_relaxed(&pp->runqhead);
    if (atomic_load_relaxed(&pp->runqtail) == h)
      return NULL;
    g_t *gp = atomic_load_relaxed(&pp->runq[h % RUNQ_SIZE]);
    atomic_store_release(&pp->runqhead, h + 1);
    return gp;
  }
  for (;;) {
    uint32_t h = atomic_load_acquire(&pp->runqhead);
    uint32_t t = atomic_load_relaxed(&pp->runqtail);
    if (t == h)
      return NULL;
    g_t *gp = atomic_load_relaxed(&pp->runq[h % RUNQ_SIZE]);
    if (atomic_cas_strong_acq_rel(&pp->runqhead, &h, h + 1))
      return gp;
  }
}

bool runqempty(p_t *pp) {
  /* A G may move between runnext and the ring: read tail, runnext, head
   * and tail again until tail did not change (as Go does). */
  for (;;) {
    uint32_t h = atomic_load_acquire(&pp->runqhead);
    uint32_t t = atomic_load_acquire(&pp->runqtail);
    g_t *next = atomic_load_acquire(&pp->runnext);
    if (atomic_load_acquire(&pp->runqtail) == t)
      return h == t && next == NULL;
  }
}

/* Before taking a running P's runnext: give its owner about 3 us to run
 * it (Go's runqgrab sleeps 3 us there). The usual case is a G that
 * readied its partner and is about to block on the partner's answer
 * (channel ping-pong): stolen, the pair would bounce between Ps and
 * threads on every exchange. Spins rather than sleeps (a 3 us sleep
 * lasts 50 us with Linux's timer slack); the thief has nothing else to
 * do. Returns true when next is still there to take. */
static bool runnext_settles(p_t *victim, g_t *next) {
  /* not polling runnext meanwhile: its cache line is the owner's */
  int64_t end = os_nanotime() + 3000;
  while (os_nanotime() < end)
    for (int i = 0; i < 32; i++)
      cpu_relax();
  return atomic_load_relaxed(&victim->runnext) == next;
}

/* Grabs about half of victim's queue into batch[] (the thief's ring,
 * starting at index bhead). Returns how many. */
static uint32_t runqgrab(p_t *victim, _Atomic(g_t *) *batch, uint32_t bhead,
                         bool stealnext) {
  for (;;) {
    uint32_t h = atomic_load_acquire(&victim->runqhead);
    uint32_t t = atomic_load_acquire(&victim->runqtail);
    uint32_t n = t - h;
    n -= n / 2;
    if (n == 0) {
      if (stealnext) {
        g_t *next = atomic_load_acquire(&victim->runnext);
        if (next && atomic_load_relaxed(&victim->status) == P_RUNNING &&
            !runnext_settles(victim, next))
          return 0;
        if (next && atomic_cas_strong_acq_rel(&victim->runnext, &next, NULL)) {
          atomic_store_relaxed(&batch[bhead % RUNQ_SIZE], next);
          return 1;
        }
      }
      return 0;
    }
    if (n > RUNQ_SIZE / 2) /* inconsistent h and t: retry */
      continue;
    for (uint32_t i = 0; i < n; i++)
      atomic_store_relaxed(
          &batch[(bhead + i) % RUNQ_SIZE],
          atomic_load_relaxed(&victim->runq[(h + i) % RUNQ_SIZE]));
    if (atomic_cas_strong_acq_rel(&victim->runqhead, &h, h + n))
      return n;
  }
}

g_t *runqsteal(p_t *pp, p_t *victim, bool stealnext) {
  uint32_t t = atomic_load_relaxed(&pp->runqtail);
  uint32_t n = runqgrab(victim, pp->runq, t, stealnext);
  if (n == 0)
    return NULL;
  n--;
  g_t *gp = atomic_load_relaxed(&pp->runq[(t + n) % RUNQ_SIZE]);
  if (n == 0)
    return gp;
  /* release: the stolen slots are visible to whoever takes them next. */
  atomic_store_release(&pp->runqtail, t + n);
  return gp;
}

void globrunqput(g_t *gp) {
  HL_ASSERT_INTERNAL(hl_lock_held(&sched.lock));
  gp->schedlink = NULL;
  if (sched.runqtail)
    sched.runqtail->schedlink = gp;
  else
    sched.runqhead = gp;
  sched.runqtail = gp;
  atomic_store_relaxed(&sched.runqsize, atomic_load_relaxed(&sched.runqsize) + 1);
}

void globrunqputhead(g_t *gp) {
  HL_ASSERT_INTERNAL(hl_lock_held(&sched.lock));
  gp->schedlink = sched.runqhead;
  sched.runqhead = gp;
  if (!sched.runqtail)
    sched.runqtail = gp;
  atomic_store_relaxed(&sched.runqsize, atomic_load_relaxed(&sched.runqsize) + 1);
}

/* Takes a fair share of the global queue (at most max, 0: no limit): one
 * G is returned, the rest go to pp's ring. Caller holds sched.lock. */
g_t *globrunqget(p_t *pp, int max) {
  HL_ASSERT_INTERNAL(hl_lock_held(&sched.lock));
  int32_t size = atomic_load_relaxed(&sched.runqsize);
  if (size == 0)
    return NULL;
  int32_t n = size / sched.gomaxprocs + 1;
  if (n > size)
    n = size;
  if (max > 0 && n > max)
    n = max;
  if (n > RUNQ_SIZE / 2)
    n = RUNQ_SIZE / 2;
  /* the batch goes to pp's ring: never more than it has room for (a full
   * ring would spill back here, under the lock we hold) */
  int32_t room = (int32_t)(RUNQ_SIZE - (atomic_load_relaxed(&pp->runqtail) -
                                        atomic_load_acquire(&pp->runqhead)));
  if (n > room + 1)
    n = room + 1;
  atomic_store_relaxed(&sched.runqsize, size - n);
  g_t *gp = sched.runqhead;
  sched.runqhead = gp->schedlink;
  if (!sched.runqhead)
    sched.runqtail = NULL;
  for (int32_t i = 1; i < n; i++) {
    g_t *g2 = sched.runqhead;
    sched.runqhead = g2->schedlink;
    if (!sched.runqhead)
      sched.runqtail = NULL;
    runqput(pp, g2, false);
  }
  return gp;
}
