/*
 * tests/pools/test_freelist_region.c — hl_freelist (try-receive or
 * allocate, try-send or drop; listed objects stay alive) and hl_region
 * (aligned zeroed bump allocation, big requests, reset reusing the first
 * chunk, HL_REGION_SCAN roots, bad arguments). Fatal misuse runs in
 * test_misuse.c.
 */
#include "../sched/harness.h"
#include "heaplab/gc.h"
#include "heaplab/pools.h"
#include "helpers.h"

#include <errno.h>
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
  return hl_new(OBJ_T);
}

/* ------------------------------------------------------------ freelist */

static void test_freelist_basic(void **state) {
  (void)state;
  atomic_store(&news, 0);
  hl_freelist_t *fl = hl_freelist_create(4, count_new, NULL);
  assert_non_null(fl);
  struct obj *o[6];
  for (int i = 0; i < 6; i++)
    o[i] = hl_freelist_get(fl); /* empty: all new */
  assert_int_equal(atomic_load(&news), 6);
  for (int i = 0; i < 6; i++)
    hl_freelist_put(fl, o[i]); /* 4 listed, 2 dropped */
  hl_freelist_put(fl, NULL);   /* ignored */
  for (int i = 0; i < 4; i++)
    assert_ptr_equal(hl_freelist_get(fl), o[i]); /* FIFO, the channel's */
  assert_non_null(hl_freelist_get(fl));
  assert_int_equal(atomic_load(&news), 7);
  hl_freelist_stats_t st;
  hl_freelist_stats(fl, &st);
  assert_int_equal(st.gets, 11);
  assert_int_equal(st.hits, 4);
  assert_int_equal(st.news, 7);
  assert_int_equal(st.puts, 6);
  assert_int_equal(st.drops, 2);
  hl_freelist_destroy(fl);
  errno = 0;
  assert_null(hl_freelist_create(0, count_new, NULL));
  assert_int_equal(errno, EINVAL);
  /* no New: a miss is NULL */
  fl = hl_freelist_create(1, NULL, NULL);
  assert_null(hl_freelist_get(fl));
  hl_freelist_destroy(fl);
}

static _Atomic int fin_listed;

static __attribute__((noinline)) void put_finalized(hl_freelist_t *fl, int n) {
  for (int i = 0; i < n; i++) {
    struct obj *x = hl_new(OBJ_T);
    x->id = 42;
    hl_set_finalizer(x, count_fin, (void *)&fin_listed);
    hl_freelist_put(fl, x);
  }
}

static void test_freelist_keeps_listed_alive(void **state) {
  (void)state;
  hl_freelist_t *fl = hl_freelist_create(8, NULL, NULL);
  put_finalized(fl, 8);
  hl_test_scrub_stack();
  for (int c = 0; c < 3; c++) {
    hl_gc();
    for (int i = 0; i < 50000; i++)
      (void)hl_new(OBJ_T);
  }
  settle();
  assert_int_equal(atomic_load(&fin_listed), 0);
  for (int i = 0; i < 8; i++) {
    struct obj *x = hl_freelist_get(fl);
    assert_non_null(x);
    assert_int_equal(x->id, 42);
  }
  hl_freelist_destroy(fl);
}

/* -------------------------------------------------------------- region */

static void test_region_alloc(void **state) {
  (void)state;
  hl_region_t *r = hl_region_create(4096, 0);
  assert_non_null(r);
  char *prev = NULL;
  for (int i = 0; i < 200; i++) {
    size_t align = (size_t)1 << (i % 7);
    char *p = hl_region_alloc(r, 40, align);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % align, 0);
    for (int k = 0; k < 40; k++)
      assert_int_equal(p[k], 0);
    memset(p, 0x5a, 40);
    if (prev)
      assert_true(p >= prev + 40 || p + 40 <= prev); /* no overlap */
    prev = p;
    /* the collector does not know region memory */
    assert_int_equal(hl_gc_usable_size(p), 0);
  }
  /* a request larger than a chunk: a chunk of its own */
  char *big = hl_region_alloc(r, 100000, 64);
  assert_non_null(big);
  assert_int_equal((uintptr_t)big % 64, 0);
  memset(big, 1, 100000);
  hl_region_stats_t st;
  hl_region_stats(r, &st);
  assert_int_equal(st.allocs, 201);
  assert_int_equal(st.bytes, 200 * 40 + 100000);
  assert_int_equal(st.used, st.bytes);
  assert_true(st.chunks >= 3); /* 200 * 40 > 4096, plus the big one */
  assert_true(st.reserved >= 100000 + 4096);
  hl_region_destroy(r);
  /* bad arguments */
  errno = 0;
  assert_null(hl_region_create(100, 0));
  assert_int_equal(errno, EINVAL);
  assert_null(hl_region_create(0, 0x80));
  assert_int_equal(errno, EINVAL);
}

static void test_region_reset_reuses_memory(void **state) {
  (void)state;
  hl_region_t *r = hl_region_create(0, 0);
  uint64_t *first = hl_region_alloc(r, 64, 8);
  first[0] = 0xdeadbeef;
  for (int i = 0; i < 5000; i++) /* several chunks of 64 KiB */
    (void)hl_region_alloc(r, 100, 16);
  hl_region_stats_t st;
  hl_region_stats(r, &st);
  assert_true(st.chunks >= 7);
  hl_region_reset(r);
  hl_region_stats(r, &st);
  assert_int_equal(st.used, 0);
  assert_int_equal(st.resets, 1);
  assert_int_equal(st.reserved, 64 << 10); /* only the first chunk kept */
  /* everything was freed at once: the first chunk's bytes come again,
   * zeroed (a pointer kept across the reset now aliases new data) */
  uint64_t *again = hl_region_alloc(r, 64, 8);
  assert_ptr_equal(again, first);
  assert_int_equal(again[0], 0);
  hl_region_destroy(r);
}

static _Atomic int fin_region;

static __attribute__((noinline)) void store_finalized(void **slot) {
  struct obj *x = hl_new(OBJ_T);
  x->id = 99;
  hl_set_finalizer(x, count_fin, (void *)&fin_region);
  HL_STORE(*slot, x);
}

static void test_region_scan_roots(void **state) {
  (void)state;
  hl_region_t *r = hl_region_create(0, HL_REGION_SCAN);
  void **slot = hl_region_alloc(r, sizeof(void *), 8);
  store_finalized(slot);
  hl_test_scrub_stack();
  hl_gc();
  hl_gc();
  settle();
  /* the region's chunk is a root: the object lives */
  assert_int_equal(atomic_load(&fin_region), 0);
  assert_int_equal(((struct obj *)*slot)->id, 99);
  /* after a reset nothing refers to it any more */
  hl_region_reset(r);
  slot = NULL;
  hl_test_scrub_stack();
  for (int c = 0; c < 4 && atomic_load(&fin_region) == 0; c++) {
    hl_gc();
    settle();
    hl_test_scrub_stack();
  }
#ifndef HL_SANITIZE
  assert_int_equal(atomic_load(&fin_region), 1);
#endif
  hl_region_destroy(r);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_freelist_basic),
    cmocka_unit_test(test_freelist_keeps_listed_alive),
    cmocka_unit_test(test_region_alloc),
    cmocka_unit_test(test_region_reset_reuses_memory),
    cmocka_unit_test(test_region_scan_roots),
};

HL_SCHED_TEST_MAIN(tests)
