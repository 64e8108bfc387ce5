/*
 * tests/gc/test_misuse.c — misuse of the collected heap, each in a child
 * process: hl_free of a collected object, bad HLGC / HLMEMLIMIT values,
 * hl_set_finalizer on an interior pointer, a collected heap exhausted
 * beyond what the OS gives ("fatal error: out of memory"), and a pointer
 * store that bypasses the write barrier (caught by gccheckmark).
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

/* The lost-object scenario of a store that bypasses the barrier, made
 * deterministic: with one P and a goroutine that neither allocates nor
 * yields, nothing marks between the start of a cycle and the stores.
 *   1. x (reachable from a registered root) holds the only reference to
 *      the victim; the goroutine keeps the victim's address disguised, so
 *      the stack scan at the start of the cycle does not see it.
 *   2. It allocates until an allocation starts a cycle (hl_gc_wb_enabled):
 *      the stack is scanned (once, never again), x is grey (queued by the
 *      root scan), the victim white, and nothing has been scanned yet.
 *   3. It stores the victim into a second registered root (scanned
 *      already) and clears x->left, both with plain stores: the barrier,
 *      which would have shaded the victim, is skipped.
 * The victim is now reachable (from the root) and will never be marked:
 * gccheckmark's re-mark at mark termination finds it and aborts. The
 * control does step 3 with HL_STORE and must finish the cycle cleanly. */

struct node {
  struct node *next, *left;
  uint64_t v;
};
#define NODE_T HL_TYPE(struct node, next, left)

static struct node *root_x, *root_keep;
static uintptr_t victim_x; /* disguised: not seen by the stack scan */

static __attribute__((noinline)) void bypass_build(void) {
  struct node *x = hl_new(NODE_T), *victim = hl_new(NODE_T);
  victim->v = 42;
  HL_STORE(x->left, victim);
  HL_STORE(root_x, x);
  victim_x = ~(uintptr_t)victim;
}

static int bypass_run(bool use_barrier) {
  hl_gc_add_root(&root_x, sizeof root_x);
  hl_gc_add_root(&root_keep, sizeof root_keep);
  hl_gc(); /* a clean start: the next cycle is the one this test starts */
  bypass_build();
  hl_test_scrub_stack();
  while (!__atomic_load_n(&hl_gc_wb_enabled, __ATOMIC_ACQUIRE))
    (void)hl_alloc_noscan(256); /* unreferenced: only moves heap_live */
  /* marking; this goroutine has not yielded or allocated since */
  struct node *victim = (struct node *)~victim_x;
  if (use_barrier) {
    HL_STORE(root_keep, victim);
    HL_STORE(root_x->left, (struct node *)NULL);
  } else {
    root_keep = victim;  /* WRONG: bypasses HL_STORE */
    root_x->left = NULL; /* WRONG: bypasses HL_STORE */
  }
  victim = NULL;
  hl_gc(); /* ends this cycle (checkmark) and runs one more */
  if (root_keep->v != 42) {
    fprintf(stderr, "victim lost: %llu\n", (unsigned long long)root_keep->v);
    return 1;
  }
  return 0;
}

static int child_bypass(void *arg) {
  (void)arg;
  return bypass_run(false);
}

static int child_bypass_control(void *arg) {
  (void)arg;
  return bypass_run(true);
}

static void test_barrier_bypass_caught_by_checkmark(void **state) {
  (void)state;
  int st = run_child(child_bypass, "HLDEBUG=gccheckmark=1", "HLMAXPROCS=1");
  if (!died_with(st, SIGABRT, 0))
    print_message("child status 0x%x, stderr:\n%.2000s\n", st, out);
  assert_true(died_with(st, SIGABRT, 0));
  assert_non_null(strstr(out, "checkmark: reachable object 0x"));
  assert_non_null(strstr(out, "was not marked by the concurrent mark: span"));
  assert_non_null(strstr(out, "HL_STORE"));
  /* the same stores through the barrier: the cycle ends cleanly */
  st = run_child(child_bypass_control, "HLDEBUG=gccheckmark=1", "HLMAXPROCS=1");
  if (!died_with(st, 0, 0))
    print_message("control: child status 0x%x, stderr:\n%.2000s\n", st, out);
  assert_true(died_with(st, 0, 0));
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

static struct node *root_list;

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_free_of_collected_object),
      cmocka_unit_test(test_bad_hlgc),
      cmocka_unit_test(test_bad_hlmemlimit),
      cmocka_unit_test(test_finalizer_on_interior_pointer),
      cmocka_unit_test(test_out_of_memory),
      cmocka_unit_test(test_barrier_bypass_caught_by_checkmark),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
