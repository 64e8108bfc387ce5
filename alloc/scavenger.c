/*
 * alloc/scavenger.c — returns idle free pages to the OS in the background.
 *
 * Entry points: scavenger_kick (starts the thread the first time pages are
 * given back to the heap), scavenger_fork_child.
 *
 * Loop:
 *  1. Sleep a quarter of the release delay (HLDEBUG=scavdelay, default
 *     1 s), clamped to [10 ms, 250 ms] — or longer, see 4.
 *  2. Free the mcentral spans whose objects were all freed remotely.
 *  3. Release (MADV_DONTNEED) the free runs that have been free for at
 *     least the delay; fresh arenas start released, so this only touches
 *     pages that were once in use.
 *  4. Pace: if a pass took w of CPU time, sleep at least 99 w before the
 *     next, so the scavenger stays near 1% of one CPU.
 * A burst freed at t is released by t + delay + one period (<= 1.25 s
 * with the defaults). With scavenger=0 nothing runs in the background;
 * hl_heap_release() does the same work on demand.
 */
#include "alloc/internal.h"
#include "base/env.h"
#include "base/os.h"
#include "heaplab/alloc.h"

static _Atomic int started;

static void *scavenger_main(void *arg) {
  (void)arg;
  for (;;) {
    int64_t delay = hl_debug.scavdelay_ms * 1000000;
    int64_t period = delay / 4;
    if (period < 10000000)
      period = 10000000;
    if (period > 250000000)
      period = 250000000;
    /* CPU time, not wall time: on a loaded machine a preempted pass must
     * not stretch the pause that follows it. */
    int64_t t0 = os_thread_cputime();
    mcentral_reclaim();
    heap_scavenge(delay, SIZE_MAX);
    int64_t work = os_thread_cputime() - t0;
    int64_t sleep = work * 99 > period ? work * 99 : period;
    os_nanosleep(sleep);
  }
  return NULL;
}

void scavenger_kick(void) {
  if (hl_likely(atomic_load_relaxed(&started)) || !hl_debug.scavenger)
    return;
  int expected = 0;
  if (atomic_cas_strong_acq_rel(&started, &expected, 1))
    if (os_thread_start(scavenger_main, NULL, 256 << 10) != 0)
      atomic_store_relaxed(&started, 0);
}

void scavenger_fork_child(void) { atomic_store_relaxed(&started, 0); }

HL_API size_t hl_heap_release(void) {
  if (tls_mcache == &empty_mcache)
    mcache_attach();
  size_t n = mcentral_reclaim();
  (void)n;
  return heap_scavenge(0, SIZE_MAX);
}
