/*
 * tests/pools/test_pool_steal.c — hl_pool across Ps (HLMAXPROCS=2):
 * a goroutine on another P steals from the tail of this P's shared chain
 * (the oldest object), never the private slot; a stolen-from chain whose
 * oldest ring is emptied is unlinked and the rest still served.
 */
#include "../sched/harness.h"
#include "heaplab/gc.h"
#include "heaplab/pools.h"
#include "pools/internal.h"

#include <stdatomic.h>

struct obj {
  struct obj *link;
  uint64_t id;
};
#define OBJ_T HL_TYPE(struct obj, link)

struct thief {
  hl_pool_t *pool;
  int victim_pid; /* the P whose chain holds the objects */
  int n;          /* objects to take */
  int pid;        /* where the thief ran */
  struct obj *got[64];
  _Atomic int done;
};

/* Runs on a P other than victim_pid: the victim's goroutine spins on
 * `done` without a safe point, holding its P. */
static void thief_main(void *arg) {
  struct thief *t = arg;
  t->pid = pool_procid();
  for (int i = 0; i < t->n; i++)
    t->got[i] = hl_pool_get(t->pool);
  atomic_store_explicit(&t->done, 1, memory_order_release);
}

/* Spins (no safe point, so this goroutine keeps its P) until t is done;
 * fails after 5 s. */
static void wait_spinning(struct thief *t) {
  int64_t deadline = hl_nanotime() + 5 * HL_SECOND;
  while (!atomic_load_explicit(&t->done, memory_order_acquire))
    assert_true(hl_nanotime() < deadline);
}

static void test_steal_from_other_p(void **state) {
  (void)state;
  assert_int_equal(hl_maxprocs(), 2);
  hl_gc_set_percent(-1);
  hl_pool_t *p = hl_pool_create(NULL, NULL);
  struct obj *objs[4];
  for (int i = 0; i < 4; i++) {
    objs[i] = hl_new(OBJ_T);
    objs[i]->id = (uint64_t)i;
  }
  /* objs[0] private, objs[1..3] on this P's chain (1 oldest) */
  int pid = pool_procid();
  for (int i = 0; i < 4; i++)
    hl_pool_put(p, objs[i]);
  assert_int_equal(pool_procid(), pid);
  struct thief t = {.pool = p, .victim_pid = pid, .n = 4};
  hl_go(thief_main, &t);
  wait_spinning(&t);
  assert_int_not_equal(t.pid, pid);
  /* FIFO from the tail: oldest first; the private slot is not stolen */
  assert_ptr_equal(t.got[0], objs[1]);
  assert_ptr_equal(t.got[1], objs[2]);
  assert_ptr_equal(t.got[2], objs[3]);
  assert_null(t.got[3]);
  hl_pool_stats_t st;
  hl_pool_stats(p, &st);
  assert_int_equal(st.hit_steal, 3);
  assert_int_equal(st.news, 1);
  if (pool_procid() == pid)
    assert_ptr_equal(hl_pool_get(p), objs[0]);
  hl_pool_destroy(p);
}

static void test_steal_across_rings(void **state) {
  (void)state;
  hl_gc_set_percent(-1);
  hl_pool_t *p = hl_pool_create(NULL, NULL);
  enum { N = 40 }; /* 1 private + rings of 8, 16, 32 */
  struct obj *objs[N];
  int pid = pool_procid();
  for (int i = 0; i < N; i++) {
    objs[i] = hl_new(OBJ_T);
    hl_pool_put(p, objs[i]);
  }
  if (pool_procid() != pid)
    skip(); /* moved between puts: the layout is not the one expected */
  struct thief t = {.pool = p, .victim_pid = pid, .n = 30};
  hl_go(thief_main, &t);
  wait_spinning(&t);
  assert_int_not_equal(t.pid, pid);
  for (int i = 0; i < 30; i++)
    assert_ptr_equal(t.got[i], objs[1 + i]); /* in put order */
  /* the owner still pops the newest from the head */
  if (pool_procid() == pid) {
    assert_ptr_equal(hl_pool_get(p), objs[0]);
    for (int i = N - 1; i > 30; i--)
      assert_ptr_equal(hl_pool_get(p), objs[i]);
  }
  hl_pool_destroy(p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_steal_from_other_p),
    cmocka_unit_test(test_steal_across_rings),
};

HL_SCHED_TEST_MAIN(tests)
