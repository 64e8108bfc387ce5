/*
 * tests/alloc/test_misuse.c — bad frees are never silent: each case runs
 * in a child process that must die of SIGABRT after printing the message
 * that names the call and the address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heaplab/alloc.h"

/* Runs fn in a child; returns its stderr in buf; asserts SIGABRT. */
static void expect_abort(void (*fn)(void), const char *want) {
  int fd[2];
  assert_int_equal(pipe(fd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(fd[1], 2);
    close(fd[0]);
    fn();
    _exit(0); /* not reached when the misuse is caught */
  }
  close(fd[1]);
  char buf[1024];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(fd[0], buf + n, sizeof buf - 1 - n)) > 0)
    n += (size_t)r;
  buf[n] = 0;
  close(fd[0]);
  int status;
  waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
    fail_msg("child did not abort; stderr: %s", buf);
  if (!strstr(buf, want))
    fail_msg("expected \"%s\" in: %s", want, buf);
}

static void *victim;

static void double_free_small(void) {
  victim = hl_malloc(40);
  hl_free(victim);
  hl_free(victim);
}
static void double_free_large(void) {
  victim = hl_malloc(1 << 20);
  hl_free(victim);
  hl_free(victim);
}
static void invalid_stack(void) {
  int local;
  victim = &local;
  hl_free(victim);
}
static void invalid_interior(void) {
  char *p = hl_malloc(64);
  victim = p + 8;
  hl_free(victim);
}
static void invalid_interior_large(void) {
  char *p = hl_malloc(100000);
  victim = p + 8192;
  hl_free(victim);
}
static void realloc_freed(void) {
  victim = hl_malloc(64);
  hl_free(victim);
  hl_realloc(victim, 128);
}
static void realloc_invalid(void) {
  static char global[64];
  victim = global;
  hl_realloc(victim, 128);
}
static void *remote_double(void *arg) {
  hl_free(arg);
  return NULL;
}
static void double_free_remote(void) {
  victim = hl_malloc(100);
  pthread_t t;
  pthread_create(&t, NULL, remote_double, victim);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, remote_double, victim);
  pthread_join(t, NULL);
}

/* free(a); free(b); free(a): a is not the list head when freed again, so
 * it is caught when it comes off the free list the second time — before
 * it could be handed out twice. */
static void double_free_deferred(void) {
  void *a = hl_malloc(48), *b = hl_malloc(48);
  hl_free(a);
  hl_free(b);
  hl_free(a);
  void *x = hl_malloc(48), *y = hl_malloc(48), *z = hl_malloc(48);
  /* not reached: z would be a second copy of x */
  fprintf(stderr, "handed out %p %p %p\n", x, y, z);
}

/* A double free that drives a span's in-use count to zero must not
 * release the span (and the live object in it) to the heap. */
static void double_free_empties_span(void) {
  enum { N = 5000 };
  static void *p[N];
  for (int i = 0; i < N; i++)
    p[i] = hl_malloc(64); /* several spans; p[0] is in a non-current one */
  void *live = p[1];
  for (int i = 3; i < N; i++)
    hl_free(p[i]);
  hl_free(p[0]); /* p[0..2] share the first span, not the current one */
  hl_free(p[2]); /* the list head is now p[2] */
  hl_free(p[0]); /* not the head: accepted, and "used" hits 0 with p[1]
                    live — the span must not be released */
  fprintf(stderr, "span released with %p live\n", live);
}

/* The expected text embeds the address the child printed, which is only
 * known inside the child: these wrappers compute it there and the parent
 * checks a prefix plus the address format. */
static void run(void (*fn)(void), const char *prefix) {
  expect_abort(fn, prefix);
}

static void test_double_free_small(void **st) {
  (void)st;
  run(double_free_small, "heaplab: free(): double free of 0x");
}
static void test_double_free_large(void **st) {
  (void)st;
  run(double_free_large, "heaplab: free(): double free of 0x");
}
static void test_double_free_remote(void **st) {
  (void)st;
  run(double_free_remote, "heaplab: free(): double free of 0x");
}
static void test_invalid_stack(void **st) {
  (void)st;
  run(invalid_stack, "heaplab: free(): invalid pointer 0x");
}
static void test_invalid_interior(void **st) {
  (void)st;
  run(invalid_interior, "heaplab: free(): invalid pointer 0x");
  run(invalid_interior_large, "heaplab: free(): invalid pointer 0x");
}
static void test_double_free_deferred(void **st) {
  (void)st;
  run(double_free_deferred, "heaplab: free(): double free of 0x");
  run(double_free_empties_span, "heaplab: free(): double free of 0x");
}
static void test_realloc_misuse(void **st) {
  (void)st;
  run(realloc_freed, "was already freed");
  run(realloc_invalid, "heaplab: realloc(): invalid pointer 0x");
}

/* The address in the message is the one freed: checked in-process by
 * formatting it the same way. */
static void test_message_names_address(void **st) {
  (void)st;
  int fd[2];
  assert_int_equal(pipe(fd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(fd[1], 2);
    double_free_small();
    _exit(0);
  }
  close(fd[1]);
  char buf[512] = {0};
  ssize_t n = read(fd[0], buf, sizeof buf - 1);
  assert_true(n > 0);
  int status;
  waitpid(pid, &status, 0);
  /* the child's heap is a copy of ours: its first 40-byte object is the
   * one we would get now */
  void *mine = hl_malloc(40);
  char want[128];
  snprintf(want, sizeof want, "double free of %p", mine);
  assert_non_null(strstr(buf, want));
  hl_free(mine);
}

int main(void) {
  hl_free(hl_malloc(1));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_double_free_small),
      cmocka_unit_test(test_double_free_large),
      cmocka_unit_test(test_double_free_remote),
      cmocka_unit_test(test_invalid_stack),
      cmocka_unit_test(test_invalid_interior),
      cmocka_unit_test(test_double_free_deferred),
      cmocka_unit_test(test_realloc_misuse),
      cmocka_unit_test(test_message_names_address),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
