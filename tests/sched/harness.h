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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* Tests that re-run their own executable in a child (misuse cases that
 * must end the process) exec through this: it fills xargv (room for 16
 * entries) and returns the program to exec. Normally that is
 * /proc/self/exe with argv unchanged. Under an emulator (a cross build
 * run by qemu-user, which cannot exec a foreign binary itself), ctest sets
 * HL_TEST_EMULATOR to its command line (words separated by spaces) and
 * the child runs as EMULATOR SELF ARGS..., SELF the executable's path. */
static inline const char *hl_test_self_exec(char *const argv[],
                                            char *xargv[16]) {
  static char emu[1024], self[4096];
  const char *e = getenv("HL_TEST_EMULATOR");
  size_t k = 0;
  if (e && *e) {
    strncpy(emu, e, sizeof emu - 1);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    for (char *w = strtok(emu, " "); w && k < 8; w = strtok(NULL, " "))
      xargv[k++] = w;
  }
  if (k == 0) {
    for (; argv[k] && k < 15; k++)
      xargv[k] = argv[k];
    xargv[k] = NULL;
    return "/proc/self/exe";
  }
  xargv[k++] = self;
  for (size_t i = 1; argv[i - 1] && argv[i] && k < 15; i++)
    xargv[k++] = argv[i];
  xargv[k] = NULL;
  return xargv[0];
}

#define HL_SCHED_TEST_MAIN(tests)                                              \
  int main(void) {                                                             \
    struct hl_test_group g = {tests, sizeof(tests) / sizeof((tests)[0]),       \
                              #tests};                                         \
    return hl_main(hl_test_group_main, &g);                                    \
  }

#endif
