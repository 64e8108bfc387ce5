/*
 * tests/gc/test_misuse.c — misuse of the collected heap, each in a child
 * process: hl_free of a collected object, bad HLGC / HLMEMLIMIT values,
 * hl_set_finalizer on an interior pointer, and a collected heap exhausted
 * beyond what the OS gives ("fatal error: out of memory").
 *
 * (Runs its own main: the children start the runtime, the parent does
 * not. Linked like the other tests; HL_SCHED_TEST_MAIN is not used.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../sched/harness.h"
#include "heaplab/heaplab.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 16];

/* Runs fn under hl_main in a child with the given environment; returns
 * the wait status and leaves stderr in out. */
static int run_child(int (*fn)(void *), const char *env1, const char *env2) {
  const char *env[] = {env1, env1 ? env2 : NULL, NULL};
  return hl_test_fork(fn, env, out, sizeof out);
}

static bool died_with(int st, int sig, int code) {
  if (sig)
    return WIFSIGNALED(st) && WTERMSIG(st) == sig;
  return WIFEXITED(st) && WEXITSTATUS(st) == code;
}

/* ---------------------------------------------------- barrier bypass */

struct node {
  struct node *next, *left;
  uint64_t v;
};
#define NODE_T HL_TYPE(struct node, next, left)

static struct node *root_list, *root_hidden;
static _Atomic int phase;
static uintptr_t tail_x, victim_x; /* disguised: not seen by stack scans */

static void bypass(void *arg) {
  (void)arg;
  while (!hl_gc_wb_enabled)
    ; /* no safe point: the world stops around us by signal */
  /* marking has begun and the roots are scanned (the starter does it at
   * once); the marker is still deep in the long list */
  int64_t until = hl_nanotime() + HL_MILLISECOND / 2;
  while (hl_nanotime() < until)
    ;
  struct node *tail = (struct node *)~tail_x;
  root_hidden = (struct node *)~victim_x; /* WRONG: bypasses HL_STORE */
  tail->left = NULL;                      /* WRONG: bypasses HL_STORE */
  atomic_store(&phase, 1);
}

static int child_bypass(void *arg) {
  (void)arg;
  hl_gc_add_root(&root_list, sizeof root_list);
  hl_gc_add_root(&root_hidden, sizeof root_hidden);
  /* The race is set up to be lost by the marker (it must walk a long list
   * before it reaches the tail); on a loaded machine it may win once in
   * a while, so try again: the checkmark abort ends the child. */
  for (int attempt = 0; attempt < 20; attempt++) {
    struct node *head = NULL, *tail = NULL;
    for (int i = 0; i < 1500000; i++) {
      struct node *n = hl_new(NODE_T);
      n->v = (uint64_t)i;
      if (!head)
        head = n;
      else
        HL_STORE(tail->next, n);
      tail = n;
    }
    struct node *x = hl_new(NODE_T);
    HL_STORE(tail->left, x);
    HL_STORE(root_list, head);
    tail_x = ~(uintptr_t)tail;
    victim_x = ~(uintptr_t)x;
    head = tail = x = NULL;
    hl_go(bypass, NULL);
    hl_gc();
    hl_gc();
    HL_STORE(root_hidden, NULL);
  }
  return 0;
}

__attribute__((unused)) static void test_barrier_bypass_caught_by_checkmark(void **state) {
  (void)state;
  int st = run_child(child_bypass, "HLDEBUG=gccheckmark=1", "HLMAXPROCS=2");
  if (!died_with(st, SIGABRT, 0))
    print_message("child status 0x%x, stderr:\n%.2000s\n", st, out);
  assert_true(died_with(st, SIGABRT, 0));
  assert_non_null(strstr(out, "checkmark: reachable object 0x"));
  assert_non_null(strstr(out, "was not marked by the concurrent mark: span"));
  assert_non_null(strstr(out, "HL_STORE"));
}

/* ----------------------------------------------------------- others */

static int child_free_collected(void *arg) {
  (void)arg;
  void *p = hl_new(NODE_T);
  hl_free(p);
  return 0;
}

static void test_free_of_collected_object(void **state) {
  (void)state;
  int st = run_child(child_free_collected, NULL, NULL);
  assert_true(died_with(st, SIGABRT, 0));
  assert_non_null(strstr(out, "free(): invalid pointer"));
}

static int child_nothing(void *arg) {
  (void)arg;
  (void)hl_new(NODE_T);
  return 0;
}

static void test_bad_hlgc(void **state) {
  (void)state;
  int st = run_child(child_nothing, "HLGC=fast", NULL);
  assert_true(died_with(st, 0, 2));
  assert_non_null(strstr(out, "HLGC=\"fast\": invalid value"));
  st = run_child(child_nothing, "HLGC=-5", NULL);
  assert_true(died_with(st, 0, 2));
  st = run_child(child_nothing, "HLGC=off", NULL);
  assert_true(died_with(st, 0, 0));
}

static void test_bad_hlmemlimit(void **state) {
  (void)state;
  int st = run_child(child_nothing, "HLMEMLIMIT=lots", NULL);
  assert_true(died_with(st, 0, 2));
  assert_non_null(strstr(out, "HLMEMLIMIT=\"lots\": invalid value"));
  st = run_child(child_nothing, "HLMEMLIMIT=512MiB", NULL);
  assert_true(died_with(st, 0, 0));
}

static int child_finalizer_interior(void *arg) {
  (void)arg;
  char *p = hl_alloc_noscan(64);
  hl_set_finalizer(p + 8, NULL, NULL);
  return 0;
}

static void test_finalizer_on_interior_pointer(void **state) {
  (void)state;
  int st = run_child(child_finalizer_interior, NULL, NULL);
  assert_true(died_with(st, SIGABRT, 0));
  assert_non_null(strstr(out, "not the start of a collected object"));
}

static int child_oom(void *arg) {
  (void)arg;
  struct rlimit lim = {1u << 30, 1u << 30}; /* 1 GiB of address space */
  setrlimit(RLIMIT_AS, &lim);
  hl_gc_add_root(&root_list, sizeof root_list);
  for (int i = 0; i < 100000; i++) {
    struct node *n = hl_new_array(NODE_T, 1 << 16); /* 1.5 MiB, kept */
    HL_STORE(n->next, root_list);
    HL_STORE(root_list, n);
  }
  return 0;
}

static void test_out_of_memory(void **state) {
  (void)state;
#ifdef HL_SANITIZE
  /* the address-space cap cannot coexist with the sanitizers' shadow */
  skip();
#endif
  int st = run_child(child_oom, NULL, NULL);
  assert_true(died_with(st, SIGABRT, 0));
  assert_non_null(strstr(out, "fatal error: out of memory"));
  assert_non_null(strstr(out, "heap live"));
}

/* The barrier-bypass scenario (caught by HLDEBUG=gccheckmark=1 when it
 * happens: tests/gc/stress_mutate runs under it) depends on winning a
 * race against the marker; the deterministic version is open work
 * (issue 4 note), so it is built but not run: HL_TEST_BYPASS=1 runs it. */
int main(void) {
  if (getenv("HL_TEST_BYPASS")) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test(test_barrier_bypass_caught_by_checkmark)};
    return cmocka_run_group_tests(t, NULL, NULL);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_free_of_collected_object),
      cmocka_unit_test(test_bad_hlgc),
      cmocka_unit_test(test_bad_hlmemlimit),
      cmocka_unit_test(test_finalizer_on_interior_pointer),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
