/*
 * tests/alloc/test_sbrk.c — sbrk mode (run with HLDEBUG=sbrk=1): bump
 * allocation, free does nothing, realloc copies, sizes are remembered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/env.h"
#include "heaplab/alloc.h"

static void test_bump_and_free_nothing(void **st) {
  (void)st;
  char *a = hl_malloc(100);
  assert_int_equal(hl_debug.sbrk, 1);
  char *b = hl_malloc(100);
  assert_true(b > a); /* bump order */
  assert_int_equal((uintptr_t)a % 16, 0);
  memset(a, 3, 100);
  hl_free(a);
  char *c = hl_malloc(100);
  assert_ptr_not_equal(c, a); /* free did not make a reusable */
  assert_int_equal(a[99], 3);
  assert_int_equal(hl_usable_size(a), 100);
  hl_heap_stats_t s;
  hl_heap_stats(&s);
  assert_true(s.sbrk_bytes >= 300);
  assert_int_equal(s.classes[5].objects_in_use, 0);
}

static void test_realloc_copies(void **st) {
  (void)st;
  char *p = hl_malloc(10);
  memcpy(p, "0123456789", 10);
  char *q = hl_realloc(p, 100000);
  assert_memory_equal(q, "0123456789", 10);
  assert_int_equal(hl_usable_size(q), 100000);
  char *z = hl_calloc(1000, 1000);
  for (int i = 0; i < 1000000; i += 999)
    assert_int_equal(z[i], 0);
  void *al = hl_aligned_alloc(4096, 10);
  assert_int_equal((uintptr_t)al % 4096, 0);
}

static void test_many_chunks(void **st) {
  (void)st;
  for (int i = 0; i < 300; i++) { /* > 64 MiB: several chunks */
    char *p = hl_malloc(1 << 20);
    p[0] = 1;
    p[(1 << 20) - 1] = 2;
    hl_free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bump_and_free_nothing),
      cmocka_unit_test(test_realloc_copies),
      cmocka_unit_test(test_many_chunks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
