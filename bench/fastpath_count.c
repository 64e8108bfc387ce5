/*
 * bench/fastpath_count.c — N pairs of hl_malloc(64) + hl_free, for counting
 * the instructions of the allocator's fast path under callgrind
 * (scripts/callgrind_fastpath.sh; docs/benchmarks.md).
 *
 * Usage: fastpath_count N
 *
 *  1. Warm up: fastpath_loop(WARMUP), so the thread cache holds a span of
 *     the 64-byte class and every later pair takes the fast path.
 *  2. fastpath_loop(N): N pairs.
 *  3. Print N and the wall time per pair (meaningless under valgrind).
 *
 * fastpath_loop is a separate, never-inlined, extern function so that
 * callgrind can count only inside it (--toggle-collect=fastpath_loop),
 * leaving out start-up, exit and any background heap thread. The count
 * still holds the warm-up call and the first allocation's slow path; the
 * script runs two values of N and divides the difference of the totals by
 * the difference of N, which cancels everything that does not grow with N.
 *
 * The opaque barrier (an empty asm taking p, with a memory clobber) makes
 * p escape, so the compiler cannot drop or merge the malloc/free pair.
 */
#include "heaplab/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define WARMUP 10000

static inline void opaque(void *p) {
  __asm__ volatile("" : : "r"(p) : "memory");
}

/* Not static, never inlined: callgrind's --toggle-collect names it. */
__attribute__((noinline)) int fastpath_loop(uint64_t n);

__attribute__((noinline)) int fastpath_loop(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    void *p = hl_malloc(64);
    if (p == NULL) return -1;
    opaque(p);
    hl_free(p);
  }
  return 0;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s N   (N pairs of hl_malloc(64) + hl_free)\n",
            argv[0]);
    return 2;
  }
  char *end;
  errno = 0;
  unsigned long long n = strtoull(argv[1], &end, 10);
  if (errno != 0 || end == argv[1] || *end != '\0' || argv[1][0] == '-') {
    fprintf(stderr, "%s: N must be a non-negative integer, got '%s'\n", argv[0],
            argv[1]);
    return 2;
  }

  if (fastpath_loop(WARMUP) != 0) {
    fprintf(stderr, "%s: hl_malloc(64) returned NULL during warm-up\n",
            argv[0]);
    return 1;
  }
  double t0 = now_seconds();
  if (fastpath_loop(n) != 0) {
    fprintf(stderr, "%s: hl_malloc(64) returned NULL\n", argv[0]);
    return 1;
  }
  double t1 = now_seconds();

  printf("fastpath_count: %llu pairs of hl_malloc(64)+hl_free, "
         "%.2f ns/pair (wall)\n",
         n, n ? (t1 - t0) * 1e9 / (double)n : 0.0);
  return 0;
}
