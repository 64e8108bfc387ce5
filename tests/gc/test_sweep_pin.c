/*
 * tests/gc/test_sweep_pin.c — a sweep runs pinned to its P: no cycle can
 * end (and flip the sweepgen) while a sweep that read the sweepgen is
 * still running, even when the sweeping goroutine sits in C code past the
 * 10 µs after which the stop-the-world takes a P by signal.
 *
 * Unpinned, a sweeper that lost its P that way ran on through the next
 * mark termination with the old sweepgen and skipped every span it took
 * from the new sweep's cursor: those spans kept their marks and alloc
 * bits (docs/gc.md: objects freed while live). Here a test hook stalls
 * sweeps for 20 ms in a system call while another goroutine runs cycles
 * back to back; every stalled sweep must find the sweepgen unchanged
 * (unpinned: 10 of 10 saw it change). And the symptom: a tree held only
 * through an 8-byte cell, as binary-trees' long-lived tree, must survive
 * cycles while the background sweeper stalls (unpinned: 1, 457 and 510
 * of its 8191 nodes were left in three runs).
 */
#include "../sched/harness.h"
#include "gc/internal.h"
#include "heaplab/gc.h"

#include <stdatomic.h>
#include <time.h>

struct tnode {
  struct tnode *left, *right;
};
#define TNODE_T HL_TYPE(struct tnode, left, right)

static _Atomic int stop, stalls, flips;

/* one stall per arming, and only while a mark runs (a flip is then due) */
static _Atomic int armed;
static void stall_hook(uint32_t sg) {
  if (atomic_load(&gc.phase) != GC_MARK || !atomic_exchange(&armed, 0))
    return;
  /* C code, no safe point, for 20 ms (the stop-the-world's signal
   * interrupts the sleep: sleep again for what is left) */
  struct timespec ts = {0, 20 * 1000 * 1000}, rem;
  while (nanosleep(&ts, &rem) != 0)
    ts = rem;
  atomic_fetch_add(&stalls, 1);
  if (atomic_load(&gc.sweepgen) != sg)
    atomic_fetch_add(&flips, 1);
}

/* cycles back to back; allocates in the tree's size class (second test),
 * so that a freed tree node is reused and overwritten at once */
static void cycler(void *arg) {
  hl_waitgroup_t *wg = arg;
  struct tnode *keep = NULL;
  while (!atomic_load(&stop)) {
    for (int i = 0; i < 20000; i++) { /* something to mark */
      struct tnode *t = hl_new(TNODE_T);
      if (i % 8 == 0) {
        HL_STORE(t->left, keep);
        keep = t;
      }
    }
    hl_gc();
    keep = NULL;
  }
  hl_waitgroup_done(wg);
}

static void test_no_flip_during_a_sweep(void **state) {
  (void)state;
  if (hl_maxprocs() < 2)
    skip();
  hl_waitgroup_t wg = HL_WAITGROUP_INIT;
  hl_waitgroup_add(&wg, 1);
  hl_go(cycler, &wg);
  atomic_store(&gc_sweep_test_hook, stall_hook);
  int64_t end = hl_nanotime() + 3 * HL_SECOND;
  while (atomic_load(&stalls) < 10 && hl_nanotime() < end) {
    atomic_store(&armed, 1);
    (void)gc_sweep_one(); /* from a goroutine, outside the runtime */
    hl_sleep(HL_MILLISECOND);
  }
  atomic_store(&gc_sweep_test_hook, NULL);
  atomic_store(&stop, 1);
  hl_waitgroup_wait(&wg);
  print_message("sweep_pin: %d stalled sweeps during a mark, %d saw the "
                "sweepgen flip\n",
                atomic_load(&stalls), atomic_load(&flips));
  assert_true(atomic_load(&stalls) >= 3);
  assert_int_equal(atomic_load(&flips), 0);
}

/* The symptom: a tree held only through an 8-byte cell (a size class
 * nothing else here allocates from, so its span is swept by the sweeper
 * alone, as binary-trees' holder was) must survive cycles run back to
 * back while sweeps stall. */
struct cell {
  struct tnode *tree;
};
#define CELL_T HL_TYPE(struct cell, tree)

static HL_NOINLINE struct tnode *tree_make(int depth) {
  struct tnode *n = hl_new(TNODE_T);
  if (depth > 0) {
    HL_STORE(n->left, tree_make(depth - 1));
    HL_STORE(n->right, tree_make(depth - 1));
  }
  return n;
}

static long tree_count(const struct tnode *n) {
  if (!n)
    return 0;
  return 1 + tree_count(n->left) + tree_count(n->right);
}

static _Atomic int stall_all;
/* stalls the background sweeper until the sweepgen moves (at most 20 ms): unpinned, the
 * stale sweep then races the new one from the start of the cursor */
static void stall_any(uint32_t sg) {
  /* the background sweeper only (a system goroutine): the one sweep that
   * runs while other goroutines drive cycles */
  m_t *mp = tls_m;
  if (!mp || !mp->curg || !mp->curg->system)
    return;
  if (!atomic_load(&stall_all) || !atomic_exchange(&armed, 0))
    return;
  for (int i = 0; i < 200 && atomic_load(&gc.sweepgen) == sg; i++) {
    struct timespec ts = {0, 100 * 1000};
    nanosleep(&ts, NULL);
  }
  atomic_fetch_add(&stalls, 1);
}

static HL_NOINLINE struct cell *holder_make(void) {
  struct cell *c = hl_new(CELL_T);
  HL_STORE(c->tree, tree_make(12));
  return c;
}

static void test_tree_survives_stalled_sweeps(void **state) {
  (void)state;
  if (hl_maxprocs() < 2)
    skip();
  struct cell *holder = holder_make();
  atomic_store(&stop, 0);
  atomic_store(&stalls, 0);
  hl_waitgroup_t wg = HL_WAITGROUP_INIT;
  hl_waitgroup_add(&wg, 1);
  hl_go(cycler, &wg);
  atomic_store(&stall_all, 1);
  atomic_store(&gc_sweep_test_hook, stall_any);
  int64_t end = hl_nanotime() + 2 * HL_SECOND;
  while (hl_nanotime() < end) {
    atomic_store(&armed, 1);
    hl_sleep(10 * HL_MILLISECOND);
  }
  atomic_store(&gc_sweep_test_hook, NULL);
  atomic_store(&stop, 1);
  hl_waitgroup_wait(&wg);
  hl_gc();
  long n = tree_count(holder->tree);
  print_message("sweep_pin: %d stalled sweeps; the held tree has %ld of "
                "8191 nodes\n",
                atomic_load(&stalls), n);
  assert_true(atomic_load(&stalls) >= 10);
  assert_int_equal(n, 8191);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_no_flip_during_a_sweep),
    cmocka_unit_test(test_tree_survives_stalled_sweeps),
};

HL_SCHED_TEST_MAIN(tests)
