/*
 * tests/workloads/test_forced_gc.c — binary-trees (workloads/) with
 * collections forced back to back by another goroutine: the checks still
 * hold (a live node freed and reused would break a count) and cycles did
 * run during the workload.
 *
 * Its own executable so that a failure here (a collector or scheduler
 * bug under forced cycles) is told apart from a wrong workload, which
 * test_workloads.c catches. Runs inside the runtime (tests/sched/harness.h).
 */
#include "tests/sched/harness.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"
#include "workloads/workloads.h"

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic int gc_loop_stop;
static _Atomic int gc_loop_done;

static void gc_loop(void *arg) {
  (void)arg;
  while (!atomic_load(&gc_loop_stop)) {
    hl_gc();
    hl_yield();
  }
  atomic_store(&gc_loop_done, 1);
}

static void test_binarytrees_under_collections(void **state) {
  (void)state;
  hl_gc_stats_t *st = malloc(sizeof *st);
  assert_non_null(st);
  hl_gc_stats(st);
  uint64_t before = st->numgc;
  atomic_store(&gc_loop_stop, 0);
  atomic_store(&gc_loop_done, 0);
  hl_go(gc_loop, NULL);
  for (int parallel = 0; parallel <= 1; parallel++) {
    wl_binarytrees_params_t p = WL_BINARYTREES_DEFAULTS;
    p.depth = 14;
    p.parallel = parallel;
    wl_metrics_t m;
    assert_int_equal(wl_binarytrees_run(&p, NULL, &m), 0);
    assert_int_equal(m.ok, 1);
    assert_int_equal(m.check, m.expected);
  }
  atomic_store(&gc_loop_stop, 1);
  while (!atomic_load(&gc_loop_done))
    hl_yield();
  hl_gc_stats(st);
  assert_true(st->numgc >= before + 2);
  free(st);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_binarytrees_under_collections),
};

HL_SCHED_TEST_MAIN(tests)
