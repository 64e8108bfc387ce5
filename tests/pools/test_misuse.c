/*
 * tests/pools/test_misuse.c — misuse of the pools API, each in a child
 * process that must die with a message naming what was wrong: a region
 * alignment that is not a power of two, a NULL region, a pool used from a
 * thread that is not a goroutine.
 *
 * (Runs its own main: the children start the runtime, the parent does
 * not.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../sched/harness.h"
#include "heaplab/heaplab.h"
#include "heaplab/pools.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 16];

static int run_child(int (*fn)(void *)) {
  return hl_test_fork(fn, NULL, out, sizeof out);
}

static void expect_death(int (*fn)(void *), const char *msg) {
  int st = run_child(fn);
  if (!WIFSIGNALED(st) || strstr(out, msg) == NULL) {
    fprintf(stderr, "child status %d, stderr:\n%s\nwanted: %s\n", st, out,
            msg);
    fail();
  }
}

static int bad_align(void *arg) {
  (void)arg;
  hl_region_t *r = hl_region_create(0, 0);
  (void)hl_region_alloc(r, 16, 24);
  return 0;
}

static void test_region_bad_align(void **state) {
  (void)state;
  expect_death(bad_align,
               "hl_region_alloc: align 24 is not a power of two in 1..4096");
}

static int null_region(void *arg) {
  (void)arg;
  hl_region_reset(NULL);
  return 0;
}

static void test_region_null(void **state) {
  (void)state;
  expect_death(null_region, "hl_region_reset: NULL region");
}

static void *thread_get(void *arg) {
  hl_pool_get(arg);
  return NULL;
}

static int pool_off_goroutine(void *arg) {
  (void)arg;
  hl_pool_t *p = hl_pool_create(NULL, NULL);
  pthread_t t;
  pthread_create(&t, NULL, thread_get, p);
  pthread_join(t, NULL);
  return 0;
}

static void test_pool_outside_goroutine(void **state) {
  (void)state;
  expect_death(pool_off_goroutine, "hl_pool_get");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_region_bad_align),
      cmocka_unit_test(test_region_null),
      cmocka_unit_test(test_pool_outside_goroutine),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
