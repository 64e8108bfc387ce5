/*
 * tests/sched/harness.h — runs a cmocka group inside the runtime: the
 * tests execute in the main goroutine (hl_main), so they may call every
 * hl_* function. hl_main starts once per process, hence one group per
 * test executable. The main goroutine is wired to its thread while cmocka
 * runs (cmocka's state is thread-local).
 *
 *   HL_SCHED_TEST_MAIN(tests)   // after `static const struct CMUnitTest tests[]`
 */
#ifndef HL_TESTS_SCHED_HARNESS_H
#define HL_TESTS_SCHED_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "heaplab/sched.h"

struct hl_test_group {
  const struct CMUnitTest *tests;
  size_t n;
  const char *name;
};

static inline int hl_test_group_main(void *arg) {
  struct hl_test_group *g = arg;
  /* cmocka keeps its state in thread-local variables: the goroutine that
   * runs it must not move between threads */
  hl_lock_os_thread();
  int r = _cmocka_run_group_tests(g->name, g->tests, g->n, NULL, NULL);
  hl_unlock_os_thread();
  return r;
}

#define HL_SCHED_TEST_MAIN(tests)                                              \
  int main(void) {                                                             \
    struct hl_test_group g = {tests, sizeof(tests) / sizeof((tests)[0]),       \
                              #tests};                                         \
    return hl_main(hl_test_group_main, &g);                                    \
  }

#endif
