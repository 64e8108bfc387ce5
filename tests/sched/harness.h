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
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
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

/* Overwrites the dead stack slots below the caller's frame: goroutine
 * stacks are scanned conservatively, and a test that needs an object to
 * be unreachable calls this after the frame that made it returned. */
static __attribute__((noinline, unused)) void hl_test_scrub_stack(void) {
  volatile char junk[16 << 10];
  memset((char *)junk, 0, sizeof junk);
}

/* Runs fn in a fresh runtime (hl_main) in a forked child, for outcomes
 * that end the process (fatal errors, misuse aborts): HLDEBUG unset, then
 * env applied (NAME=VALUE strings, up to a NULL; env may be NULL), no core
 * dump, default SIGABRT/SIGSEGV, a 30 s alarm so that a hang fails. The
 * child's stderr lands in out (NUL-terminated, truncated to cap - 1).
 * Returns the child's wait status. */
static inline int hl_test_fork(int (*fn)(void *), const char *const *env,
                               char *out, size_t cap) {
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
    signal(SIGSEGV, SIG_DFL);
    close(p[0]);
    dup2(p[1], 2);
    close(p[1]);
    unsetenv("HLDEBUG");
    for (size_t i = 0; env && env[i]; i++)
      putenv((char *)env[i]);
    alarm(30);
    _exit(hl_main(fn, NULL));
  }
  close(p[1]);
  size_t len = 0;
  ssize_t r;
  while (len + 1 < cap && (r = read(p[0], out + len, cap - 1 - len)) > 0)
    len += (size_t)r;
  out[len] = 0;
  close(p[0]);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return st;
}

#define HL_SCHED_TEST_MAIN(tests)                                              \
  int main(void) {                                                             \
    struct hl_test_group g = {tests, sizeof(tests) / sizeof((tests)[0]),       \
                              #tests};                                         \
    return hl_main(hl_test_group_main, &g);                                    \
  }

#endif
