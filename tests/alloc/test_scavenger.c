/*
 * tests/alloc/test_scavenger.c — after a burst of frees, the background
 * scavenger returns the idle pages to the OS and RSS falls back close to
 * the in-use size (the design says within about 2 s with the default 1 s
 * delay; the test allows 6 s on a loaded machine and prints the time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/os.h"
#include "heaplab/alloc.h"

static void test_rss_falls_after_burst(void **st) {
  (void)st;
  enum { N = 256 };
  static void *p[N];
  size_t each = 512 << 10; /* 128 MiB of large objects */
  for (int i = 0; i < N; i++) {
    p[i] = hl_malloc(each);
    memset(p[i], 7, each);
  }
  static void *small[200000];
  for (int i = 0; i < 200000; i++) { /* ~ 20 MiB of small objects */
    small[i] = hl_malloc(100);
    memset(small[i], 1, 100);
  }
  uint64_t peak = os_rss_bytes();
  for (int i = 0; i < N; i++)
    hl_free(p[i]);
  for (int i = 0; i < 200000; i += 2)
    hl_free(small[i]); /* half the small objects: spans stay in use */
  int64_t t0 = os_nanotime();
  uint64_t rss = peak;
  hl_heap_stats_t s;
  while (os_nanotime() - t0 < 6000000000LL) {
    os_nanosleep(50000000);
    rss = os_rss_bytes();
    hl_heap_stats(&s); /* the counter follows the madvise calls of a pass */
    if (rss < peak - 120u * (1 << 20) && s.scavenged_total >= 120u << 20)
      break;
  }
  double secs = (double)(os_nanotime() - t0) / 1e9;
  printf("# peak RSS %.1f MiB, after %.2f s: %.1f MiB (in use %.1f MiB, "
         "released %.1f MiB)\n",
         peak / 1048576.0, secs, rss / 1048576.0, s.bytes_in_use / 1048576.0,
         s.scavenged_total / 1048576.0);
  assert_true(rss < peak - 120u * (1 << 20));
  assert_true(s.scavenged_total >= 120u << 20);
  for (int i = 1; i < 200000; i += 2)
    hl_free(small[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rss_falls_after_burst),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
