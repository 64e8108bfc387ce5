/*
 * tests/fault/test_fault_rt.c — the collector and the scheduler when the
 * OS refuses memory or threads (fault injection, base/os.h). These end the
 * process, so each case runs in a re-executed child (tests/misuse/child.h)
 * and the test checks its message and how it ended:
 *   collector, heap cannot grow      "fatal error: out of memory" and the
 *                                    heap statistics line, SIGABRT
 *   goroutine stack refused          "fatal error: cannot create a
 *                                    goroutine: out of memory for its stack"
 *   scheduler thread refused         "fatal error: cannot create a thread
 *                                    for the scheduler", SIGABRT
 *   sysmon thread refused            "fatal error: cannot create the sysmon
 *                                    thread", SIGABRT
 * Unlike the RLIMIT_AS case in tests/gc/test_misuse.c these also run under
 * the sanitizers: only the runtime's own mappings are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/os.h"
#include "heaplab/heaplab.h"
#include "tests/misuse/child.h"

struct node {
  struct node *next;
  uint64_t v;
};
#define NODE_T HL_TYPE(struct node, next)

static struct node *root;

/* Keeps every array it allocates reachable: the heap must grow until the
 * cap (or the refusal) stops it. */
static int body_gc_grow(void *arg) {
  (void)arg;
  hl_gc_add_root(&root, sizeof root);
  for (int i = 0; i < 100000; i++) {
    struct node *n = hl_new_array(NODE_T, 1 << 14); /* 256 KiB */
    HL_STORE(n->next, root);
    HL_STORE(root, n);
  }
  return 0; /* not reached: the heap cannot hold 25 GiB under the cap */
}

/* Allocates a few MiB, then refuses every later mapping from within. */
static int body_gc_failmmap(void *arg) {
  (void)arg;
  hl_gc_add_root(&root, sizeof root);
  for (int i = 0; i < 16; i++) {
    struct node *n = hl_new_array(NODE_T, 1 << 14);
    HL_STORE(n->next, root);
    HL_STORE(root, n);
  }
  os_fault_set(os_map_count() + 1, 0, 0);
  return body_gc_grow(NULL);
}

static void park_forever(void *arg) {
  hl_chan_t *c = arg;
  int v;
  hl_chan_recv(c, &v);
}

/* Parked goroutines keep their stacks: new ones need new mappings. */
static int body_spawn_failmmap(void *arg) {
  (void)arg;
  hl_chan_t *c = hl_chan_make(sizeof(int), 0);
  for (int i = 0; i < 8; i++)
    hl_go(park_forever, c);
  hl_yield();
  os_fault_set(os_map_count() + 1, 0, 0);
  for (int i = 0; i < 100000; i++)
    hl_go(park_forever, c);
  return 0;
}

static _Atomic int spin_stop;

static void spin(void *arg) {
  (void)arg;
  while (!spin_stop)
    hl_safepoint();
}

/* With two Ps a runnable goroutine makes the scheduler start a second M. */
static int body_thread(void *arg) {
  (void)arg;
  hl_go(spin, NULL);
  hl_go(spin, NULL);
  hl_sleep(200 * HL_MILLISECOND);
  spin_stop = 1;
  return 0;
}

static int case_main(int (*fn)(void *)) { return hl_main(fn, NULL); }

static const struct {
  const char *name;
  int (*body)(void *);
} cases[] = {
    {"gc-grow", body_gc_grow},
    {"gc-failmmap", body_gc_failmmap},
    {"spawn-failmmap", body_spawn_failmmap},
    {"thread", body_thread},
};

#define SIG HL_END_SIGNAL
static const hl_expect_t rows[] = {
    /* HLDEBUG=maplimit: the collected heap stops at the cap */
    {"gc-grow", {"HLDEBUG=maplimit=256M"}, "fatal error: out of memory", SIG,
     SIGABRT},
    {"gc-grow", {"HLDEBUG=maplimit=256M"},
     "heaplab: collected heap: the OS refused memory for a request of", SIG,
     SIGABRT},
    {"gc-grow", {"HLDEBUG=maplimit=256M"}, "heap live ", SIG, SIGABRT},
    /* the hook: every mapping refused from a point on */
    {"gc-failmmap", {NULL}, "fatal error: out of memory", SIG, SIGABRT},
    {"spawn-failmmap", {"HLDEBUG=stacksize=64"},
     "fatal error: cannot create a goroutine: out of memory for its stack "
     "(64 KiB reserved per goroutine)",
     SIG, SIGABRT},
    /* threads: the first is sysmon, the second the first extra M */
    {"thread", {"HLDEBUG=failthread=1", "HLMAXPROCS=2"},
     "fatal error: cannot create the sysmon thread", SIG, SIGABRT},
    {"thread", {"HLDEBUG=failthread=2", "HLMAXPROCS=2"},
     "fatal error: cannot create a thread for the scheduler (error 11)", SIG,
     SIGABRT},
    /* control: the same programs without a fault end normally */
    {"thread", {"HLMAXPROCS=2"}, "", HL_END_EXIT, 0},
};

static const char *self;

static void test_fault_rows(void **state) {
  (void)state;
  assert_int_equal(hl_expect_all(rows, sizeof rows / sizeof rows[0], self), 0);
}

int main(int argc, char **argv) {
  self = argv[0];
  if (argc > 1) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      if (strcmp(argv[1], cases[i].name) == 0)
        return case_main(cases[i].body);
    fprintf(stderr, "test_fault_rt: unknown case \"%s\"\n", argv[1]);
    return 127;
  }
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_fault_rows)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
