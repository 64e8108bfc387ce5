/*
 * tests/pools/test_pool.c — hl_pool on one P (HLMAXPROCS=1, automatic
 * collections off: every cycle is an hl_gc of the test's own), so that
 * where an object goes is deterministic:
 *   - the per-P fast path: put then get returns the same object from the
 *     private slot, the shared chain untouched;
 *   - the shared chain: LIFO at the head, rings added as it grows;
 *   - the victim cache: an object put survives one collection (a get
 *     finds it in the victim) and is gone after two (New is called);
 *   - pooled objects stay alive while pooled (finalizers), including in
 *     the victim, and become garbage once dropped by two cycles;
 *   - no New: a miss returns NULL; put(NULL) is ignored; stats add up.
 */
#include "../sched/harness.h"
#include "heaplab/gc.h"
#include "heaplab/pools.h"
#include "helpers.h"

#include <stdatomic.h>

struct obj {
  struct obj *link;
  uint64_t id;
};
#define OBJ_T HL_TYPE(struct obj, link)

static _Atomic int news;

static void *count_new(void *arg) {
  (void)arg;
  atomic_fetch_add(&news, 1);
  struct obj *o = hl_new(OBJ_T);
  o->id = 1000 + (uint64_t)atomic_load(&news);
  return o;
}

static int setup(void **state) {
  (void)state;
  hl_gc_set_percent(-1);
  atomic_store(&news, 0);
  return 0;
}

static void test_fast_path_private(void **state) {
  (void)state;
  hl_pool_t *p = hl_pool_create(count_new, NULL);
  assert_non_null(p);
  struct obj *a = hl_pool_get(p);
  assert_int_equal(atomic_load(&news), 1);
  for (int i = 0; i < 100; i++) {
    hl_pool_put(p, a);
    struct obj *b = hl_pool_get(p);
    assert_ptr_equal(a, b);
  }
  hl_pool_stats_t st;
  hl_pool_stats(p, &st);
  assert_int_equal(st.gets, 101);
  assert_int_equal(st.puts, 100);
  assert_int_equal(st.hit_private, 100);
  assert_int_equal(st.news, 1);
  /* the shared chain was never touched */
  assert_int_equal(st.put_shared, 0);
  assert_int_equal(st.hit_shared, 0);
  assert_int_equal(st.chain_allocs, 0);
  assert_int_equal(atomic_load(&news), 1);
  hl_pool_destroy(p);
}

static void test_shared_chain_lifo_and_growth(void **state) {
  (void)state;
  hl_pool_t *p = hl_pool_create(count_new, NULL);
  enum { N = 100 }; /* private + 99 shared: rings of 8, 16, 32, 64 */
  struct obj *objs[N];
  for (int i = 0; i < N; i++) {
    objs[i] = hl_new(OBJ_T);
    objs[i]->id = (uint64_t)i;
  }
  for (int i = 0; i < N; i++)
    hl_pool_put(p, objs[i]);
  hl_pool_stats_t st;
  hl_pool_stats(p, &st);
  assert_int_equal(st.put_private, 1);
  assert_int_equal(st.put_shared, N - 1);
  assert_int_equal(st.chain_allocs, 4);
  /* private first, then the shared chain newest first */
  assert_ptr_equal(hl_pool_get(p), objs[0]);
  for (int i = N - 1; i >= 1; i--)
    assert_ptr_equal(hl_pool_get(p), objs[i]);
  assert_int_equal(atomic_load(&news), 0);
  struct obj *fresh = hl_pool_get(p);
  assert_int_equal(atomic_load(&news), 1);
  for (int i = 0; i < N; i++)
    assert_ptr_not_equal(fresh, objs[i]);
  hl_pool_stats(p, &st);
  assert_int_equal(st.hit_private, 1);
  assert_int_equal(st.hit_shared, N - 1);
  assert_int_equal(st.news, 1);
  assert_int_equal(st.gets, st.hit_private + st.hit_shared + st.hit_steal +
                                st.hit_victim + st.news);
  hl_pool_destroy(p);
}

static void test_victim_across_two_collections(void **state) {
  (void)state;
  hl_pool_t *p = hl_pool_create(count_new, NULL);
  struct obj *x = hl_pool_get(p);
  struct obj *y = hl_new(OBJ_T);
  struct obj *z = hl_new(OBJ_T);
  assert_int_equal(atomic_load(&news), 1);
  hl_pool_put(p, x); /* private */
  hl_pool_put(p, y); /* shared */
  hl_pool_put(p, z); /* shared */
  hl_gc();
  hl_pool_stats_t st;
  hl_pool_stats(p, &st);
  assert_int_equal(st.cleanups, 1);
  /* one cycle: all three are in the victim, none is new */
  struct obj *g1 = hl_pool_get(p), *g2 = hl_pool_get(p),
             *g3 = hl_pool_get(p);
  assert_ptr_equal(g1, x); /* the victim's private first */
  assert_true((g2 == y && g3 == z) || (g2 == z && g3 == y));
  assert_int_equal(atomic_load(&news), 1);
  hl_pool_stats(p, &st);
  assert_int_equal(st.hit_victim, 3);
  /* put again, then two cycles with no get: gone */
  hl_pool_put(p, x);
  hl_pool_put(p, y);
  hl_gc();
  hl_gc();
  hl_pool_stats(p, &st);
  assert_int_equal(st.cleanups, 3);
  struct obj *f = hl_pool_get(p);
  assert_int_equal(atomic_load(&news), 2);
  assert_ptr_not_equal(f, x); /* x and y are on this stack: still alive */
  assert_ptr_not_equal(f, y);
  hl_pool_stats(p, &st);
  assert_int_equal(st.news, 2);
  assert_int_equal(st.hit_victim, 3);
  hl_pool_destroy(p);
}

/* ------------------------------------------------------------ liveness */

static _Atomic int finalized;
/* Puts n objects with finalizers into p from a frame of its own, leaving
 * no pointer to them on the caller's stack. */
static __attribute__((noinline)) void put_finalized(hl_pool_t *p, int n) {
  for (int i = 0; i < n; i++) {
    struct obj *o = hl_new(OBJ_T);
    o->id = 7;
    hl_set_finalizer(o, count_fin, (void *)&finalized);
    hl_pool_put(p, o);
  }
}

static void test_pooled_objects_live_until_dropped(void **state) {
  (void)state;
  hl_pool_t *p = hl_pool_create(NULL, NULL);
  atomic_store(&finalized, 0);
  put_finalized(p, 40); /* private + a chain of rings */
  hl_test_scrub_stack();
  hl_gc(); /* moves them to the victim: still reachable */
  settle();
  assert_int_equal(atomic_load(&finalized), 0);
  /* churn so that freed slots would be reused */
  for (int i = 0; i < 100000; i++)
    (void)hl_new(OBJ_T);
  struct obj *o = hl_pool_get(p); /* from the victim: intact */
  assert_non_null(o);
  assert_int_equal(o->id, 7);
  hl_pool_put(p, o);
  o = NULL;
  hl_test_scrub_stack();
  hl_gc(); /* the victim (39 objects) is dropped, the 1 put moves there */
  hl_gc(); /* and is dropped too */
  hl_gc(); /* finalized objects are freed by the cycle after */
  settle();
  hl_test_scrub_stack();
  hl_gc();
  settle();
  /* conservative stacks may keep one or two alive by a stale word */
  assert_true(atomic_load(&finalized) >= 38);
  /* the empty pool: a miss without New is NULL */
  assert_null(hl_pool_get(p));
  hl_pool_put(p, NULL); /* ignored */
  hl_pool_stats_t st;
  hl_pool_stats(p, &st);
  assert_int_equal(st.puts, 41);
  hl_pool_destroy(p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(test_fast_path_private, setup),
    cmocka_unit_test_setup(test_shared_chain_lifo_and_growth, setup),
    cmocka_unit_test_setup(test_victim_across_two_collections, setup),
    cmocka_unit_test_setup(test_pooled_objects_live_until_dropped, setup),
};

HL_SCHED_TEST_MAIN(tests)
