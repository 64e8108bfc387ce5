/*
 * tests/gc/test_sbrk.c — the collected heap in sbrk mode (HLDEBUG=sbrk=1,
 * set by test_sbrk.cmake): objects are bumped out of fresh memory, never
 * reused, the collector never runs (hl_gc returns at once, finalizers are
 * ignored) and hl_gc_stats counts what was handed out.
 */
#include "../sched/harness.h"
#include "heaplab/gc.h"

#include <stdint.h>
#include <string.h>

struct cell {
  struct cell *next;
  uint64_t value;
};
#define CELL_T HL_TYPE(struct cell, next)

static int fin_calls;
static void fin(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  fin_calls++;
}

static void test_never_collects(void **state) {
  (void)state;
  hl_gc_stats_t st0, st1;
  hl_gc_stats(&st0);
  enum { N = 200000 };
  struct cell *head = NULL;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (uint64_t i = 0; i < N; i++) {
    struct cell *c = hl_new(CELL_T);
    assert_non_null(c);
    assert_int_equal((uintptr_t)c % 16, 0);
    assert_null(c->next); /* fresh memory is zero */
    assert_int_equal(c->value, 0);
    c->value = i;
    HL_STORE(c->next, head);
    head = c;
    if (i % 7 == 0) /* garbage: dropped at once, never reused */
      (void)hl_alloc_noscan(24);
    if ((uintptr_t)c < lo) lo = (uintptr_t)c;
    if ((uintptr_t)c > hi) hi = (uintptr_t)c;
  }
  hl_set_finalizer(head, fin, NULL); /* ignored in this mode */
  hl_gc();
  hl_gc();
  hl_gc_stats(&st1);
  assert_int_equal(st1.numgc, st0.numgc);
  assert_int_equal(st1.numgc, 0);
  assert_int_equal(fin_calls, 0);
  /* every cell and every dropped block is still there: at least that
   * many bytes handed out */
  uint64_t want = (uint64_t)N * sizeof(struct cell) + (N / 7) * 24;
  assert_true(st1.heap_alloc - st0.heap_alloc >= want);
  uint64_t n = 0, sum = 0;
  for (struct cell *c = head; c; c = c->next) {
    sum += c->value;
    n++;
  }
  assert_int_equal(n, N);
  assert_int_equal(sum, (uint64_t)N * (N - 1) / 2);
  assert_true(hi - lo >= (uint64_t)N * sizeof(struct cell));
}

static void test_large_and_odd_sizes(void **state) {
  (void)state;
  size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 4095, 32768, 32769, 1 << 20};
  void *prev[sizeof sizes / sizeof sizes[0]];
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    unsigned char *p = hl_alloc_noscan(sizes[i]);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % (sizes[i] >= 16 ? 16 : 8), 0);
    for (size_t j = 0; j < sizes[i]; j++)
      assert_int_equal(p[j], 0);
    memset(p, (int)i + 1, sizes[i]);
    prev[i] = p;
  }
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    for (size_t j = 0; j < sizes[i]; j++)
      assert_int_equal(((unsigned char *)prev[i])[j], (unsigned char)(i + 1));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_never_collects),
    cmocka_unit_test(test_large_and_odd_sizes),
};

HL_SCHED_TEST_MAIN(tests)
