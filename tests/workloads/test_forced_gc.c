/*
 * tests/workloads/test_forced_gc.c — binary-trees and the server-like
 * workloads (msgring, lrucache, larson, prodcons, parser; workloads/) with
 * collections forced back to back by another goroutine: the checks still
 * hold (a live node freed and reused would break a count or a checksum)
 * and cycles did run during the workload.
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

/* 40 runs take a few seconds in the release build and two minutes under
 * ThreadSanitizer on a loaded 2-core machine: 10 there */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define ALTERNATING_RUNS 10
#else
#define ALTERNATING_RUNS 40
#endif

/* binary-trees run sequentially and in parallel by turns, 40 times (10
 * under the sanitizers), while
 * gc_loop collects: the long-lived tree, kept only through a heap object
 * (its holder) that only the main goroutine's stack references, must
 * survive every run. A change to stack scanning and one to goroutine exit
 * each lost it, about 1 parallel run in 250, on branches
 * (docs/gc.md, "Known limits"). */
static void test_binarytrees_alternating_under_collections(void **state) {
  (void)state;
  atomic_store(&gc_loop_stop, 0);
  atomic_store(&gc_loop_done, 0);
  hl_go(gc_loop, NULL);
  int bad = 0;
  for (int it = 0; it < ALTERNATING_RUNS; it++) {
    wl_binarytrees_params_t p = WL_BINARYTREES_DEFAULTS;
    p.depth = 14;
    p.parallel = it & 1;
    wl_metrics_t m;
    assert_int_equal(wl_binarytrees_run(&p, NULL, &m), 0);
    if (!m.ok)
      bad++;
  }
  atomic_store(&gc_loop_stop, 1);
  while (!atomic_load(&gc_loop_done))
    hl_yield();
  assert_int_equal(bad, 0);
}

/* Each workload in small, with several goroutines where it has them, while
 * gc_loop collects: every store, hand-off (channels) and eviction races
 * with marking and sweeping. */
static void test_workloads_under_collections(void **state) {
  (void)state;
  hl_gc_stats_t *st = malloc(sizeof *st);
  assert_non_null(st);
  hl_gc_stats(st);
  uint64_t before = st->numgc;
  atomic_store(&gc_loop_stop, 0);
  atomic_store(&gc_loop_done, 0);
  hl_go(gc_loop, NULL);
  wl_metrics_t m;
  for (int round = 0; round < 2; round++) {
    wl_msgring_params_t mr = {.window = 2000, .messages = 20000, .size = 256};
    assert_int_equal(wl_msgring_run(&mr, NULL, &m), 0);
    assert_int_equal(m.ok, 1);
    wl_lrucache_params_t lru = WL_LRUCACHE_DEFAULTS;
    lru.requests = 40000;
    lru.keys = 20000;
    lru.capacity = 2000;
    lru.goroutines = 3;
    assert_int_equal(wl_lrucache_run(&lru, NULL, &m), 0);
    assert_int_equal(m.ok, 1);
    wl_larson_params_t la = {.goroutines = 4, .slots = 500, .min_size = 16,
                             .max_size = 2000, .ops = 2000, .rounds = 6,
                             .seed = (long)round};
    assert_int_equal(wl_larson_run(&la, NULL, &m), 0);
    assert_int_equal(m.ok, 1);
    wl_prodcons_params_t pc = {.producers = 3, .consumers = 2,
                               .capacity = 16, .messages = 30000,
                               .size = 100};
    assert_int_equal(wl_prodcons_run(&pc, NULL, &m), 0);
    assert_int_equal(m.ok, 1);
    wl_parser_params_t ps = {.documents = 40, .doc_size = 4000, .keep = 8,
                             .seed = round};
    assert_int_equal(wl_parser_run(&ps, NULL, &m), 0);
    assert_int_equal(m.ok, 1);
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
    cmocka_unit_test(test_binarytrees_alternating_under_collections),
    cmocka_unit_test(test_workloads_under_collections),
};

HL_SCHED_TEST_MAIN(tests)
