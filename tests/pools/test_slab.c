/*
 * tests/pools/test_slab.c — hl_slab: objects carved from one collected
 * allocation per batch, zeroed and distinct, typed pointer fields scanned;
 * retention: one interior object kept alive keeps its whole slab, and the
 * slab's other objects are not reused while it lives (a finalizer on the
 * slab's start and a pattern in every object detect it); once the last
 * object is dropped the slab is collected.
 */
#include "../sched/harness.h"
#include "heaplab/gc.h"
#include "heaplab/pools.h"
#include "helpers.h"

#include <errno.h>
#include <stdatomic.h>

struct item {
  struct item *ref;
  uint64_t pattern[5];
};
#define ITEM_T HL_TYPE(struct item, ref)
#define BATCH 16

/* arg: the test's own counter (a finalizer of an earlier test's object
 * may run late, during another test) */
static void test_basic(void **state) {
  (void)state;
  hl_slab_t *s = hl_slab_create(ITEM_T, BATCH);
  assert_non_null(s);
  struct item *prev = NULL, *first = NULL;
  for (int i = 0; i < 3 * BATCH + 1; i++) {
    struct item *it = hl_slab_alloc(s);
    assert_null(it->ref);
    assert_int_equal(it->pattern[0], 0);
    if (i % BATCH == 0)
      first = it; /* a slab's start is a collected object of its own */
    else
      assert_ptr_equal(it, prev + 1); /* carved contiguously */
    assert_true(hl_gc_usable_size(first) >= BATCH * sizeof(struct item));
    prev = it;
  }
  hl_slab_stats_t st;
  hl_slab_stats(s, &st);
  assert_int_equal(st.objects, 3 * BATCH + 1);
  assert_int_equal(st.slabs, 4);
  assert_int_equal(st.bytes, 4 * BATCH * sizeof(struct item));
  /* bad arguments */
  errno = 0;
  assert_null(hl_slab_create(ITEM_T, 0));
  assert_int_equal(errno, EINVAL);
  assert_null(hl_slab_create(NULL, 4));
  assert_null(hl_slab_create_bytes(0, 4));
  assert_null(hl_slab_create_bytes((size_t)2 << 20, 4));
  assert_null(hl_slab_create_bytes(1 << 20, 4096)); /* > 1 GiB */
  hl_slab_t *b = hl_slab_create_bytes(13, 4);
  char *c0 = hl_slab_alloc(b), *c1 = hl_slab_alloc(b);
  assert_int_equal(c1 - c0, 16); /* rounded up to 8 */
}

/* A typed slab's pointer fields are scanned: an object referenced only
 * from a slab object survives. */
static _Atomic int fin_fields, fin_slab;

static __attribute__((noinline)) void link_finalized(struct item *it) {
  struct item *t = hl_new(ITEM_T);
  hl_set_finalizer(t, count_fin, (void *)&fin_fields);
  HL_STORE(it->ref, t);
}

static void test_pointer_fields_scanned(void **state) {
  (void)state;
  hl_slab_t *s = hl_slab_create(ITEM_T, BATCH);
  struct item *it = NULL;
  for (int i = 0; i < 5; i++)
    it = hl_slab_alloc(s);
  link_finalized(it);
  hl_test_scrub_stack();
  hl_gc();
  hl_gc();
  settle();
  assert_int_equal(atomic_load(&fin_fields), 0);
  assert_non_null(it->ref);
}

/* Builds a slab of BATCH items in a frame of its own: a finalizer on the
 * slab's start (item 0), a pattern in each; returns item `keep`
 * disguised, so that no word on the caller's stack points at the slab. */
static __attribute__((noinline)) uintptr_t build_slab(int keep) {
  hl_slab_t *s = hl_slab_create(ITEM_T, BATCH);
  struct item *items[BATCH];
  for (int i = 0; i < BATCH; i++) {
    items[i] = hl_slab_alloc(s);
    for (int k = 0; k < 5; k++)
      items[i]->pattern[k] = 0xab00u + (uint64_t)i * 16 + (uint64_t)k;
  }
  hl_set_finalizer(items[0], count_fin, (void *)&fin_slab);
  return ~(uintptr_t)items[keep];
}

static struct item *keeper; /* a registered root: the only reference */

static __attribute__((noinline)) void churn(void) {
  /* same size class as many slabs would be, and lots of small items */
  for (int i = 0; i < 20000; i++) {
    (void)hl_new_array(ITEM_T, BATCH);
    (void)hl_new(ITEM_T);
  }
}

static void test_interior_object_retains_slab(void **state) {
  (void)state;
  hl_gc_add_root(&keeper, sizeof keeper);
  const int keep = 7;
  struct item *k = (struct item *)~build_slab(keep);
  HL_STORE(keeper, k);
  k = NULL;
  hl_test_scrub_stack();
  for (int c = 0; c < 3; c++) {
    hl_gc();
    churn();
  }
  settle();
  /* the slab's start is alive: its finalizer never ran */
  assert_int_equal(atomic_load(&fin_slab), 0);
  /* and none of its other objects was reused: every pattern intact */
  struct item *base = keeper - keep;
  for (int i = 0; i < BATCH; i++)
    for (int k2 = 0; k2 < 5; k2++)
      assert_int_equal(base[i].pattern[k2],
                       0xab00u + (uint64_t)i * 16 + (uint64_t)k2);
  base = NULL;
  /* drop the last reference: the slab is collected */
  HL_STORE(keeper, NULL);
  hl_test_scrub_stack();
  for (int c = 0; c < 4 && atomic_load(&fin_slab) == 0; c++) {
    hl_gc();
    settle();
    hl_test_scrub_stack();
  }
#ifndef HL_SANITIZE
  assert_int_equal(atomic_load(&fin_slab), 1);
#endif
  hl_gc_remove_root(&keeper);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_basic),
    cmocka_unit_test(test_pointer_fields_scanned),
    cmocka_unit_test(test_interior_object_retains_slab),
};

HL_SCHED_TEST_MAIN(tests)
