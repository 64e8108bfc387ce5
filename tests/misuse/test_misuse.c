/*
 * tests/misuse/test_misuse.c — the misuse catalogue: every way a program
 * can misuse heaplab that the runtime promises to catch, each with the
 * message it prints and the way the process ends. docs/hardening.md has
 * the same table for readers.
 *
 * Each case is a small function below; `test_misuse CASE` runs it. The
 * test (`test_misuse` without arguments) re-executes itself once per row
 * of `catalogue` (tests/misuse/child.h), with the row's environment, and
 * checks both the end (exit status or signal) and that stderr contains
 * the row's message: a change to either fails the row.
 * test_checker_rejects shows the check is not vacuous: a child ended
 * with a different status, signal or message is rejected.
 *
 * Outcomes, by kind of misuse:
 *   heap API misuse (free, realloc)          "heaplab: ..." + abort: SIGABRT
 *   goroutine misuse (channels, sync, stack) "fatal error: ..." + goroutine
 *                                            dump, exit status 2 (as Go)
 *   bad environment values                   "heaplab: VAR...", exit 2
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "heaplab/heaplab.h"
#include "tests/misuse/child.h"

#include <stdbool.h>

/* ---- the cases ----------------------------------------------------------- */

static int case_ok(void) {
  void *p = hl_malloc(100);
  hl_free(p);
  return 0;
}

static int case_double_free(void) {
  void *p = hl_malloc(48);
  hl_free(p);
  hl_free(p);
  return 0;
}

static int case_double_free_large(void) {
  void *p = hl_malloc(1 << 20);
  hl_free(p);
  hl_free(p);
  return 0;
}

static int case_invalid_free(void) {
  static char not_heap[64];
  hl_free(not_heap + 16);
  return 0;
}

static int case_interior_free(void) {
  char *p = hl_malloc(256);
  hl_free(p + 16);
  return 0;
}

static int case_interior_free_large(void) {
  char *p = hl_malloc(1 << 20);
  hl_free(p + 4096);
  return 0;
}

static int case_realloc_freed(void) {
  void *p = hl_malloc(40);
  hl_free(p);
  p = hl_realloc(p, 400);
  return p != NULL;
}

/* Cases that need goroutines run their body under hl_main. */
static int in_runtime(int (*fn)(void *)) { return hl_main(fn, NULL); }

static int body_send_closed(void *arg) {
  (void)arg;
  hl_chan_t *c = hl_chan_make(sizeof(int), 1);
  hl_chan_close(c);
  int v = 1;
  hl_chan_send(c, &v);
  return 0;
}

static int body_close_closed(void *arg) {
  (void)arg;
  hl_chan_t *c = hl_chan_make(sizeof(int), 0);
  hl_chan_close(c);
  hl_chan_close(c);
  return 0;
}

static int body_close_nil(void *arg) {
  (void)arg;
  hl_chan_close(NULL);
  return 0;
}

static int body_unlock_unlocked(void *arg) {
  (void)arg;
  static hl_mutex_t m = HL_MUTEX_INIT;
  hl_mutex_lock(&m);
  hl_mutex_unlock(&m);
  hl_mutex_unlock(&m);
  return 0;
}

static int body_negative_waitgroup(void *arg) {
  (void)arg;
  static hl_waitgroup_t wg;
  hl_waitgroup_add(&wg, 1);
  hl_waitgroup_done(&wg);
  hl_waitgroup_done(&wg);
  return 0;
}

static volatile int recursion_sink;

static volatile int keep_going = 1; /* hides the unbounded recursion */

static __attribute__((noinline)) int recurse(int n) {
  volatile char frame[512];
  frame[0] = (char)n;
  frame[511] = (char)n;
  if (!keep_going)
    return 0;
  return recurse(n + 1) + frame[0] + frame[511];
}

static void overflow_goroutine(void *arg) {
  (void)arg;
  recursion_sink = recurse(0);
}

static int body_stack_overflow(void *arg) {
  (void)arg;
  hl_chan_t *done = hl_chan_make(sizeof(int), 0);
  hl_go(overflow_goroutine, NULL);
  int v;
  hl_chan_recv(done, &v); /* never: the overflow ends the process */
  return 0;
}

static int body_deadlock(void *arg) {
  (void)arg;
  hl_chan_t *c = hl_chan_make(sizeof(int), 0);
  int v;
  hl_chan_recv(c, &v); /* nobody will ever send */
  return 0;
}

struct node {
  struct node *next;
  int v;
};

static int body_collect(void *arg) {
  (void)arg;
  struct node *n = hl_new(HL_TYPE(struct node, next));
  n->v = 1;
  hl_gc();
  return 0;
}

static int body_free_collected(void *arg) {
  (void)arg;
  hl_free(hl_new(HL_TYPE(struct node, next)));
  return 0;
}

static int case_send_closed(void) { return in_runtime(body_send_closed); }
static int case_close_closed(void) { return in_runtime(body_close_closed); }
static int case_close_nil(void) { return in_runtime(body_close_nil); }
static int case_unlock_unlocked(void) {
  return in_runtime(body_unlock_unlocked);
}
static int case_negative_waitgroup(void) {
  return in_runtime(body_negative_waitgroup);
}
static int case_stack_overflow(void) { return in_runtime(body_stack_overflow); }
static int case_deadlock(void) { return in_runtime(body_deadlock); }
static int case_runtime(void) { return in_runtime(body_collect); }
static int case_free_collected(void) {
  return in_runtime(body_free_collected);
}

static const struct {
  const char *name;
  int (*fn)(void);
} cases[] = {
    {"ok", case_ok},
    {"double-free", case_double_free},
    {"double-free-large", case_double_free_large},
    {"invalid-free", case_invalid_free},
    {"interior-free", case_interior_free},
    {"interior-free-large", case_interior_free_large},
    {"realloc-freed", case_realloc_freed},
    {"free-collected", case_free_collected},
    {"send-closed", case_send_closed},
    {"close-closed", case_close_closed},
    {"close-nil", case_close_nil},
    {"unlock-unlocked", case_unlock_unlocked},
    {"negative-waitgroup", case_negative_waitgroup},
    {"stack-overflow", case_stack_overflow},
    {"deadlock", case_deadlock},
    {"runtime", case_runtime},
};

/* ---- the catalogue ------------------------------------------------------- */

#define EXIT HL_END_EXIT
#define SIG HL_END_SIGNAL

static const hl_expect_t catalogue[] = {
    /* control: a correct program ends well (the runner is not failing
     * everything) */
    {"ok", {NULL}, "", EXIT, 0},
    {"runtime", {NULL}, "", EXIT, 0},
    /* the manual heap */
    {"double-free", {NULL}, "heaplab: free(): double free of 0x", SIG,
     SIGABRT},
    {"double-free-large", {NULL}, "heaplab: free(): double free of 0x", SIG,
     SIGABRT},
    {"invalid-free", {NULL}, "heaplab: free(): invalid pointer 0x", SIG,
     SIGABRT},
    {"interior-free", {NULL}, "heaplab: free(): invalid pointer 0x", SIG,
     SIGABRT},
    {"interior-free-large", {NULL}, "heaplab: free(): invalid pointer 0x",
     SIG, SIGABRT},
    {"realloc-freed", {NULL}, "heaplab: realloc(): pointer 0x", SIG,
     SIGABRT},
    {"free-collected", {NULL}, "heaplab: free(): invalid pointer 0x", SIG,
     SIGABRT},
    /* goroutines */
    {"send-closed", {NULL}, "fatal error: send on closed channel", EXIT, 2},
    {"close-closed", {NULL}, "fatal error: close of closed channel", EXIT, 2},
    {"close-nil", {NULL}, "fatal error: close of nil channel", EXIT, 2},
    {"unlock-unlocked", {NULL}, "fatal error: sync: unlock of unlocked mutex",
     EXIT, 2},
    {"negative-waitgroup", {NULL},
     "fatal error: sync: negative WaitGroup counter", EXIT, 2},
    {"stack-overflow", {"HLDEBUG=stacksize=64"},
     ": stack overflow (stack of 64 KiB; raise HLDEBUG=stacksize)", EXIT, 2},
    {"deadlock", {NULL}, "fatal error: all goroutines are asleep - deadlock!",
     EXIT, 2},
    /* bad environment values */
    {"runtime", {"HLGC=fast"},
     "heaplab: HLGC=\"fast\": invalid value (accepted: a percentage "
     "0..1000000, or off)",
     EXIT, 2},
    {"runtime", {"HLGC=-5"}, "heaplab: HLGC=\"-5\": invalid value", EXIT, 2},
    {"runtime", {"HLMEMLIMIT=lots"},
     "heaplab: HLMEMLIMIT=\"lots\": invalid value (accepted: a byte size",
     EXIT, 2},
    {"runtime", {"HLMEMLIMIT=1.5GiB"}, "heaplab: HLMEMLIMIT=\"1.5GiB\"", EXIT,
     2},
    {"runtime", {"HLMAXPROCS=0"},
     "heaplab: HLMAXPROCS: bad value \"0\" (accepted: an integer 1..1024)",
     EXIT, 2},
    {"runtime", {"HLMAXPROCS=two"}, "heaplab: HLMAXPROCS: bad value \"two\"",
     EXIT, 2},
    {"runtime", {"HLDEBUG=gctrace=2"},
     "heaplab: HLDEBUG: bad value \"2\" for gctrace (accepted: 0 or 1)", EXIT,
     2},
    {"ok", {"HLDEBUG=nosuchkey=1"},
     "heaplab: HLDEBUG: unknown key \"nosuchkey\" (known: sbrk,", EXIT, 2},
    {"ok", {"HLDEBUG=maplimit=lots"},
     "heaplab: HLDEBUG: bad value \"lots\" for maplimit", EXIT, 2},
    {"ok", {"HLDEBUG=sbrk=1,"}, "heaplab: HLDEBUG: empty setting at offset 7",
     EXIT, 2},
};

static const char *self;

static void test_catalogue(void **state) {
  (void)state;
  assert_int_equal(
      hl_expect_all(catalogue, sizeof catalogue / sizeof catalogue[0], self),
      0);
}

/* The check rejects a changed status, signal or message. */
static void test_checker_rejects(void **state) {
  (void)state;
  static hl_child_t c;
  hl_expect_t row = {"double-free", {NULL}, "double free of 0x", SIG, SIGABRT};
  hl_child_run(&c, self, &row);
  assert_null(hl_expect_check(&row, &c));
  hl_expect_t other_msg = row, other_sig = row, as_exit = row;
  other_msg.msg = "invalid pointer";
  other_sig.code = SIGSEGV;
  as_exit.end = EXIT;
  as_exit.code = 2;
  assert_non_null(hl_expect_check(&other_msg, &c));
  assert_non_null(hl_expect_check(&other_sig, &c));
  assert_non_null(hl_expect_check(&as_exit, &c));

  hl_expect_t dl = {"deadlock", {NULL}, "deadlock!", EXIT, 2};
  hl_child_run(&c, self, &dl);
  assert_null(hl_expect_check(&dl, &c));
  hl_expect_t dl_code = dl, dl_sig = dl;
  dl_code.code = 1;
  dl_sig.end = SIG;
  dl_sig.code = SIGABRT;
  assert_non_null(hl_expect_check(&dl_code, &c));
  assert_non_null(hl_expect_check(&dl_sig, &c));
}

int main(int argc, char **argv) {
  self = argv[0];
  if (argc > 1) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      if (strcmp(argv[1], cases[i].name) == 0)
        return cases[i].fn();
    fprintf(stderr, "test_misuse: unknown case \"%s\"\n", argv[1]);
    return 127;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_catalogue),
      cmocka_unit_test(test_checker_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
