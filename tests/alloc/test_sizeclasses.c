/* tests/alloc/test_sizeclasses.c — the size-class table keeps Go's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alloc/fastpath.h"

static void test_table_shape(void **st) {
  (void)st;
  assert_int_equal(NUM_SIZE_CLASSES, 68);
  assert_int_equal(class_to_size[1], 8);
  assert_int_equal(class_to_size[NUM_SIZE_CLASSES - 1], 32768);
  for (int i = 2; i < NUM_SIZE_CLASSES; i++) {
    assert_true(class_to_size[i] > class_to_size[i - 1]);
    assert_int_equal(class_to_size[i] % 8, 0);
  }
}

static void test_waste_bounds(void **st) {
  (void)st;
  int n_over = 0;
  for (int i = 1; i < NUM_SIZE_CLASSES; i++) {
    uint32_t span = class_to_npages[i] * 8192u;
    uint32_t size = class_to_size[i];
    /* tail waste <= 1/8 of the span */
    assert_true(span % size <= span / 8);
    /* round-up waste: the smallest request mapped here is prev+1. From
     * 128 bytes on the alignment is size/8, so the waste stays <= 12.5%;
     * below, the 8/16-byte alignment bounds it to 15 bytes (as in Go). */
    uint32_t prev = class_to_size[i - 1];
    double waste = (double)(size - prev - 1) / size;
    if (prev < 128) {
      assert_true(size - prev <= 16);
    } else if (waste > 0.125) {
      /* only rule 3 (merging sizes with equal span and object count) may
       * exceed 12.5%, and then by little (Go's seven classes) */
      assert_true(waste <= 0.16);
      n_over++;
    }
  }
  assert_int_equal(n_over, 7); /* Go's seven, documented in the generator */
}

static void test_size_to_class(void **st) {
  (void)st;
  for (size_t n = 0; n <= MAX_SMALL_SIZE; n++) {
    unsigned sc = size_class_of(n);
    assert_true(sc >= 2 && sc < NUM_SIZE_CLASSES);
    assert_true(class_to_size[sc] >= n);
    /* malloc uses only 16-byte multiples: the smallest such class */
    assert_int_equal(class_to_size[sc] % 16, 0);
    for (unsigned k = 2; k < sc; k++)
      assert_true(class_to_size[k] < n || class_to_size[k] % 16 != 0);
  }
}

static void test_divmul_exact(void **st) {
  (void)st;
  for (int i = 1; i < NUM_SIZE_CLASSES; i++) {
    uint32_t span = class_to_npages[i] * 8192u;
    for (uint32_t off = 0; off < span; off += 8)
      assert_int_equal((uint32_t)(((uint64_t)off * class_to_divmul[i]) >> 32),
                       off / class_to_size[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_shape),
      cmocka_unit_test(test_waste_bounds),
      cmocka_unit_test(test_size_to_class),
      cmocka_unit_test(test_divmul_exact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
