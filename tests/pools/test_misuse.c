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
  int p[2];
  assert_int_equal(pipe(p), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    signal(SIGABRT, SIG_DFL);
    close(p[0]);
    dup2(p[1], 2);
    close(p[1]);
    alarm(30);
    _exit(hl_main(fn, NULL));
  }
  close(p[1]);
  size_t len = 0;
  ssize_t r;
  while ((r = read(p[0], out + len, sizeof out - 1 - len)) > 0)
    len += (size_t)r;
  out[len] = 0;
  close(p[0]);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return st;
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
