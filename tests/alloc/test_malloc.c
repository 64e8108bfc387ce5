/*
 * tests/alloc/test_malloc.c — the malloc-family entry points on one thread:
 * every size class, contents, alignment, calloc/realloc/reallocarray,
 * aligned allocation, errors, statistics and the validity walker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/fastpath.h"
#include "heaplab/alloc.h"

static void fill(void *p, size_t n, unsigned seed) {
  unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    c[i] = (unsigned char)(seed + i * 31);
}
static int check(const void *p, size_t n, unsigned seed) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    if (c[i] != (unsigned char)(seed + i * 31))
      return 0;
  return 1;
}

static void test_every_size(void **st) {
  (void)st;
  enum { PER = 40 };
  static void *ptrs[4200][PER];
  size_t sizes[4200];
  int n = 0;
  for (size_t s = 0; s <= 40000 && n < 4200; s += (s < 2048 ? 1 : 97))
    sizes[n++] = s;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < (sizes[i] > 4096 ? 2 : PER); k++) {
      ptrs[i][k] = hl_malloc(sizes[i]);
      assert_non_null(ptrs[i][k]);
      assert_true(hl_usable_size(ptrs[i][k]) >= sizes[i]);
      /* C17: suitable for any fundamental-alignment object that fits */
      assert_int_equal((uintptr_t)ptrs[i][k] % 16, 0);
      fill(ptrs[i][k], sizes[i], (unsigned)(i * 7 + k));
    }
  hl_heap_validate(1);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < (sizes[i] > 4096 ? 2 : PER); k++) {
      assert_true(check(ptrs[i][k], sizes[i], (unsigned)(i * 7 + k)));
      hl_free(ptrs[i][k]);
    }
  hl_heap_validate(1);
}

static void test_distinct_and_reused(void **st) {
  (void)st;
  void *a = hl_malloc(64), *b = hl_malloc(64);
  assert_ptr_not_equal(a, b);
  assert_ptr_not_equal(hl_malloc(0), hl_malloc(0));
  hl_free(b);
  void *c = hl_malloc(64); /* LIFO reuse of the freed object */
  assert_ptr_equal(b, c);
  hl_free(a);
  hl_free(c);
  hl_free(NULL);
}

static void test_calloc_zeroes(void **st) {
  (void)st;
  for (size_t n = 1; n < 200000; n = n * 3 + 1) {
    unsigned char *p = hl_malloc(n);
    memset(p, 0xAB, n);
    hl_free(p);
    p = hl_calloc(1, n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
      assert_int_equal(p[i], 0);
    hl_free(p);
  }
  errno = 0;
  assert_null(hl_calloc(SIZE_MAX / 2, 3));
  assert_int_equal(errno, ENOMEM);
}

static void test_impossible_sizes(void **st) {
  (void)st;
  errno = 0;
  assert_null(hl_malloc(SIZE_MAX));
  assert_int_equal(errno, ENOMEM);
  errno = 0;
  assert_null(hl_malloc((size_t)1 << 60));
  assert_int_equal(errno, ENOMEM);
  void *p = hl_malloc(10);
  errno = 0;
  assert_null(hl_reallocarray(p, SIZE_MAX / 4, 8));
  assert_int_equal(errno, ENOMEM);
  errno = 0;
  assert_null(hl_realloc(p, SIZE_MAX - 100));
  assert_int_equal(errno, ENOMEM);
  hl_free(p); /* p survived the failed reallocs */
}

static void test_realloc_data(void **st) {
  (void)st;
  size_t n = 1;
  char *p = hl_malloc(n);
  fill(p, n, 5);
  while (n < (4u << 20)) {
    size_t m = n * 2 + 3;
    p = hl_realloc(p, m);
    assert_non_null(p);
    assert_true(check(p, n, 5));
    fill(p, m, 5);
    n = m;
  }
  while (n > 1) {
    size_t m = n / 3;
    p = hl_realloc(p, m);
    assert_true(check(p, m, 5));
    n = m;
  }
  assert_null(hl_realloc(p, 0)); /* frees p, as glibc does */
  p = hl_realloc(NULL, 100);
  assert_non_null(p);
  hl_free(p);
}

static void test_realloc_large_in_place(void **st) {
  (void)st;
  char *a = hl_malloc(40 * PAGE_SIZE);
  char *b = hl_malloc(40 * PAGE_SIZE);
  char *c = hl_malloc(40 * PAGE_SIZE);
  /* carved in order from one free run */
  assert_ptr_equal(b, a + 40 * PAGE_SIZE);
  fill(a, 40 * PAGE_SIZE, 9);
  hl_free(b);
  char *a2 = hl_realloc(a, 80 * PAGE_SIZE);
  assert_ptr_equal(a2, a); /* grew into b's pages */
  assert_true(check(a2, 40 * PAGE_SIZE, 9));
  assert_int_equal(hl_usable_size(a2), 80 * PAGE_SIZE);
  char *a3 = hl_realloc(a2, 81 * PAGE_SIZE); /* c is in the way: moves */
  assert_ptr_not_equal(a3, a2);
  assert_true(check(a3, 40 * PAGE_SIZE, 9));
  hl_free(a3);
  hl_free(c);
  hl_heap_validate(1);
}

static void test_aligned(void **st) {
  (void)st;
  for (size_t align = 1; align <= (4u << 20); align <<= 1) {
    for (size_t size = 1; size < 100000; size = size * 5 + 3) {
      void *p = hl_aligned_alloc(align, size);
      assert_non_null(p);
      assert_int_equal((uintptr_t)p % align, 0);
      assert_true(hl_usable_size(p) >= size);
      memset(p, 1, size);
      hl_free(p);
    }
  }
  errno = 0;
  assert_null(hl_aligned_alloc(3, 10));
  assert_int_equal(errno, EINVAL);
  errno = 0;
  assert_null(hl_aligned_alloc(0, 10));
  assert_int_equal(errno, EINVAL);
  void *p = (void *)1;
  assert_int_equal(hl_posix_memalign(&p, 4, 10), EINVAL);
  assert_int_equal(hl_posix_memalign(&p, 24, 10), EINVAL);
  assert_ptr_equal(p, (void *)1); /* untouched on error */
  assert_int_equal(hl_posix_memalign(&p, 64, 10), 0);
  assert_int_equal((uintptr_t)p % 64, 0);
  hl_free(p);
  assert_int_equal(hl_posix_memalign(&p, 64, SIZE_MAX - 10), ENOMEM);
}

static void test_stats(void **st) {
  (void)st;
  hl_heap_stats_t a, b, c;
  hl_heap_stats(&a);
  enum { N = 1000 };
  static void *p[N];
  for (int i = 0; i < N; i++)
    p[i] = hl_malloc(100); /* class 112 */
  void *big = hl_malloc(100000);
  hl_heap_stats(&b);
  int sc = -1;
  for (uint32_t k = 1; k < b.nclasses; k++)
    if (b.classes[k].size == 112)
      sc = (int)k;
  assert_true(sc > 0);
  assert_int_equal(b.classes[sc].objects_in_use - a.classes[sc].objects_in_use,
                   N);
  assert_int_equal(b.classes[sc].mallocs - a.classes[sc].mallocs, N);
  assert_true(b.classes[sc].spans >=
              N * 112 / (b.classes[sc].span_pages * 8192));
  assert_int_equal(b.large_objects, a.large_objects + 1);
  assert_true(b.bytes_in_use >= a.bytes_in_use + N * 112 + 100000);
  assert_true(b.bytes_mapped >= b.bytes_in_spans);
  for (int i = 0; i < N; i++)
    hl_free(p[i]);
  hl_free(big);
  hl_heap_stats(&c);
  assert_int_equal(c.classes[sc].objects_in_use, a.classes[sc].objects_in_use);
  assert_int_equal(c.classes[sc].frees - a.classes[sc].frees, N);
  assert_int_equal(c.large_objects, a.large_objects);
}

static void test_span_release_to_heap(void **st) {
  (void)st;
  /* fill many spans of one class, free everything: all but the current
   * span go back to the heap */
  hl_heap_stats_t a, b;
  enum { N = 20000 };
  static void *p[N];
  for (int i = 0; i < N; i++)
    p[i] = hl_malloc(48);
  hl_heap_stats(&a);
  for (int i = 0; i < N; i++)
    hl_free(p[i]);
  hl_heap_stats(&b);
  int sc = (int)size_class_of(48);
  assert_true(a.classes[sc].spans >=
              N * 48 / (a.classes[sc].span_pages * 8192));
  assert_true(b.classes[sc].spans <= 2);
  hl_heap_validate(1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_realloc_large_in_place),
      cmocka_unit_test(test_every_size),
      cmocka_unit_test(test_distinct_and_reused),
      cmocka_unit_test(test_calloc_zeroes),
      cmocka_unit_test(test_impossible_sizes),
      cmocka_unit_test(test_realloc_data),
      cmocka_unit_test(test_aligned),
      cmocka_unit_test(test_stats),
      cmocka_unit_test(test_span_release_to_heap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
