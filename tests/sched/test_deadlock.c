/*
 * tests/sched/test_deadlock.c — the runtime's fatal diagnostics, each in a
 * child process that runs hl_main (once per process) with HLMAXPROCS=1
 * and then 2; the parent (not a runtime process: this file has its own
 * main) checks the exit status and the child's stderr:
 *
 *  - deadlock: every goroutine parked with nothing to wake it ->
 *    "fatal error: all goroutines are asleep - deadlock!", the dump, exit
 *    2; also with main wired to its thread, and once a blocking syscall
 *    that kept one M busy has ended;
 *  - no false deadlock: main sleeping while nothing else runs (a timer is
 *    pending), and a goroutine parked forever while main sleeps, then
 *    returns;
 *  - SIGQUIT from outside -> "SIGQUIT: quit", the dump, exit 2;
 *  - a fatal error (hl_throw) prints the dump of every goroutine;
 *  - hl_go outside the runtime (no hl_main; a thread that is not a
 *    goroutine) -> fatal error naming hl_go;
 *  - stack overflow (a goroutine recursing, on m0 and on another M) ->
 *    "goroutine N: stack overflow", the dump, exit 2;
 *  - HLDEBUG=schedtrace / scheddetail lines with the expected fields.
 *
 * Parking "forever" uses the scheduler's gopark with no waker (what
 * hl_select(NULL, 0, HL_SELECT_BLOCK) or a receive nobody sends to end
 * in), so this file does not depend on channels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sched/internal.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------- child processes */

typedef struct child {
  int status;      /* from waitpid */
  char out[1 << 18]; /* the child's stderr, NUL-terminated */
  size_t len;
} child_t;

static child_t child;

/* Runs hl_main(fn) in a child (fn itself without the runtime when
 * `runtime` is false) with HLMAXPROCS=procs and HLDEBUG=hldebug (NULL:
 * unset), stderr into a pipe. When `trigger` appears in its stderr the
 * child is sent SIGQUIT. The child is killed by SIGALRM if it is still
 * running after 20 s (a missed deadlock must not hang the test). No
 * cmocka call runs in the child. */
static void run_child_ex(int (*fn)(void *), bool runtime, int procs,
                         const char *hldebug, const char *trigger) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore); /* aborts are expected */
    signal(SIGSEGV, SIG_DFL);        /* not cmocka's handlers */
    signal(SIGBUS, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    close(p[0]);
    dup2(p[1], 2);
    close(p[1]);
    char n[16];
    snprintf(n, sizeof n, "%d", procs);
    setenv("HLMAXPROCS", n, 1);
    if (hldebug)
      setenv("HLDEBUG", hldebug, 1);
    else
      unsetenv("HLDEBUG");
    alarm(20);
    _exit(runtime ? hl_main(fn, NULL) : fn(NULL));
  }
  close(p[1]);
  child.len = 0;
  bool sent = false;
  for (;;) {
    ssize_t r = read(p[0], child.out + child.len, sizeof child.out - 1 - child.len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    child.len += (size_t)r;
    child.out[child.len] = '\0';
    if (trigger && !sent && strstr(child.out, trigger)) {
      kill(pid, SIGQUIT);
      sent = true;
    }
  }
  child.out[child.len] = '\0';
  close(p[0]);
  assert_int_equal(waitpid(pid, &child.status, 0), pid);
}

static void run_child(int (*fn)(void *), int procs, const char *hldebug,
                      const char *trigger) {
  run_child_ex(fn, true, procs, hldebug, trigger);
}

/* cmocka cuts long messages: the child's whole stderr goes out first. */
static void show_child(void) {
  fprintf(stderr, "---- child's stderr (status 0x%x) ----\n%s\n----\n",
          child.status, child.out);
}

static void expect_out(const char *want) {
  if (!strstr(child.out, want)) {
    show_child();
    fail_msg("expected \"%s\" in the child's stderr", want);
  }
}

static void expect_not_out(const char *unwanted) {
  if (strstr(child.out, unwanted)) {
    show_child();
    fail_msg("unexpected \"%s\" in the child's stderr", unwanted);
  }
}

static void expect_exit(int code) {
  if (!WIFEXITED(child.status) || WEXITSTATUS(child.status) != code) {
    show_child();
    fail_msg("expected exit status %d, got status 0x%x", code, child.status);
  }
}

static void expect_signal(int sig) {
  if (!WIFSIGNALED(child.status) || WTERMSIG(child.status) != sig) {
    show_child();
    fail_msg("expected death by signal %d, got status 0x%x", sig,
             child.status);
  }
}

/* The dump section of goroutine `id` must contain `want`. */
static void expect_in_goroutine(long id, const char *want) {
  char head[64];
  snprintf(head, sizeof head, "goroutine %ld [", id);
  const char *p = child.out;
  while ((p = strstr(p, head)) && p != child.out && p[-1] != '\n')
    p++;
  if (!p) {
    show_child();
    fail_msg("goroutine %ld not in the dump", id);
  }
  const char *end = strstr(p, "\n\n");
  const char *hit = strstr(p, want);
  if (!hit || (end && hit > end)) {
    show_child();
    fail_msg("expected \"%s\" in goroutine %ld's section", want, id);
  }
}

/* ---------------------------------------------------- child functions */

/* The functions below must show in stack traces, so none ends in a tail
 * call (which would replace its frame by the callee's): each final call
 * is followed by this. Their names may carry a compiler suffix
 * (deep_recursion.isra.0), so the checks match the name only. */
#define NO_TAIL_CALL() __asm__ __volatile__("" ::: "memory")

static bool stay_parked(g_t *gp, void *arg) {
  (void)gp;
  (void)arg;
  return true;
}

/* Parks the calling goroutine with nothing that will ever wake it. */
HL_NOINLINE static void park_forever(int reason) {
  gopark(stay_parked, NULL, reason);
  NO_TAIL_CALL();
}

HL_NOINLINE static int child_select_forever(void *arg) {
  (void)arg;
  park_forever(WAIT_SELECT_NO_CASES);
  return 0;
}

HL_NOINLINE static void lonely_sender(void *arg) {
  (void)arg;
  park_forever(WAIT_CHAN_SEND);
  NO_TAIL_CALL();
}

HL_NOINLINE static int child_recv_forever(void *arg) {
  (void)arg;
  hl_go(lonely_sender, NULL);
  hl_sleep(HL_MILLISECOND); /* the sender parks first */
  park_forever(WAIT_CHAN_RECV);
  return 0;
}

HL_NOINLINE static int child_locked_forever(void *arg) {
  (void)arg;
  hl_lock_os_thread();
  park_forever(WAIT_CHAN_RECV);
  return 0;
}

HL_NOINLINE static void syscall_then_exit(void *arg) {
  (void)arg;
  hl_sys_nanosleep(100 * HL_MILLISECOND); /* an M busy: no deadlock yet */
  hl_printf(2, "syscall done\n");
}

HL_NOINLINE static int child_deadlock_after_syscall(void *arg) {
  (void)arg;
  hl_go(syscall_then_exit, NULL);
  park_forever(WAIT_CHAN_RECV);
  return 0;
}

HL_NOINLINE static int child_sleep_alone(void *arg) {
  (void)arg;
  hl_sleep(100 * HL_MILLISECOND);
  return 7;
}

HL_NOINLINE static void parked_bystander(void *arg) {
  (void)arg;
  park_forever(WAIT_CHAN_RECV);
  NO_TAIL_CALL();
}

HL_NOINLINE static int child_sleep_beside_parked(void *arg) {
  (void)arg;
  hl_go(parked_bystander, NULL);
  hl_sleep(100 * HL_MILLISECOND);
  return 0;
}

HL_NOINLINE static void quit_sleeper(void *arg) {
  (void)arg;
  hl_sleep(30 * HL_SECOND);
  NO_TAIL_CALL();
}

HL_NOINLINE static int child_wait_for_sigquit(void *arg) {
  (void)arg;
  hl_go(quit_sleeper, (void *)0x51);
  hl_go(quit_sleeper, (void *)0x52);
  hl_sleep(5 * HL_MILLISECOND);
  hl_printf(2, "ready\n");
  hl_sleep(30 * HL_SECOND);
  return 0;
}

HL_NOINLINE static void throw_bystander(void *arg) {
  (void)arg;
  hl_sleep(30 * HL_SECOND);
  NO_TAIL_CALL();
}

HL_NOINLINE static int child_throw(void *arg) {
  (void)arg;
  hl_go(throw_bystander, NULL);
  hl_sleep(5 * HL_MILLISECOND);
  hl_throw("deliberate test failure");
}

static void go_target(void *arg) { (void)arg; }

static int child_go_without_runtime(void *arg) {
  (void)arg;
  hl_go(go_target, NULL);
  return 0;
}

static void *foreign_thread(void *arg) {
  (void)arg;
  hl_go(go_target, NULL);
  return NULL;
}

HL_NOINLINE static int child_go_from_thread(void *arg) {
  (void)arg;
  pthread_t t;
  pthread_create(&t, NULL, foreign_thread, NULL);
  pthread_join(t, NULL);
  return 0;
}

static volatile int recursion_limit = 1 << 30;

HL_NOINLINE static int deep_recursion(int depth) {
  volatile char pad[256]; /* small frames: well over 100 of them */
  pad[0] = (char)depth;
  if (depth >= recursion_limit)
    return pad[0];
  return deep_recursion(depth + 1) + pad[0];
}

static void overflower(void *arg) {
  (void)arg;
  deep_recursion(0);
  NO_TAIL_CALL();
}

HL_NOINLINE static int child_overflow(void *arg) {
  (void)arg;
  hl_go(overflower, NULL);
  hl_sleep(10 * HL_SECOND);
  return 0;
}

/* main keeps m0 (wired): the overflowing goroutine runs on another M. */
HL_NOINLINE static int child_overflow_other_m(void *arg) {
  (void)arg;
  hl_lock_os_thread();
  hl_go(overflower, NULL);
  hl_sleep(10 * HL_SECOND);
  return 0;
}

HL_NOINLINE static void trace_worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 40; i++)
    hl_sleep(3 * HL_MILLISECOND);
}

HL_NOINLINE static int child_traced(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; i++)
    hl_go(trace_worker, NULL);
  hl_sleep(150 * HL_MILLISECOND);
  return 0;
}

/* -------------------------------------------------------------- tests */

#define DEADLOCK "fatal error: all goroutines are asleep - deadlock!\n\n"

static void test_deadlock_main_parked(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_select_forever, procs, NULL, NULL);
    expect_exit(2);
    expect_out(DEADLOCK "goroutine 1 [select (no cases)]:\n");
    expect_in_goroutine(1, "\tpark_forever");
    expect_in_goroutine(1, "\tchild_select_forever");
  }
}

static void test_deadlock_two_goroutines(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_recv_forever, procs, NULL, NULL);
    expect_exit(2);
    expect_out(DEADLOCK);
    expect_out("goroutine 1 [chan receive]:\n");
    expect_out("goroutine 2 [chan send]:\n");
    expect_in_goroutine(1, "\tchild_recv_forever");
    expect_in_goroutine(2, "\tlonely_sender");
    expect_in_goroutine(2, "started as lonely_sender(0x0)");
  }
}

static void test_deadlock_locked_main(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_locked_forever, procs, NULL, NULL);
    expect_exit(2);
    expect_out(DEADLOCK "goroutine 1 [chan receive, locked to thread]:\n");
  }
}

static void test_deadlock_after_syscall(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_deadlock_after_syscall, procs, NULL, NULL);
    expect_exit(2);
    /* not before the syscall returned: its M was not idle */
    const char *done = strstr(child.out, "syscall done\n");
    const char *dead = strstr(child.out, DEADLOCK);
    if (!done || !dead || dead < done) {
      show_child();
      fail_msg("expected the deadlock after \"syscall done\"");
    }
  }
}

static void test_no_deadlock_sleeping_main(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_sleep_alone, procs, NULL, NULL);
    expect_exit(7);
    expect_not_out("deadlock");
  }
}

static void test_no_deadlock_parked_beside_sleeper(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_sleep_beside_parked, procs, NULL, NULL);
    expect_exit(0);
    expect_not_out("deadlock");
  }
}

static void test_sigquit(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_wait_for_sigquit, procs, NULL, "ready\n");
    expect_exit(2);
    expect_out("ready\nSIGQUIT: quit\nPC=0x");
    /* main is asleep, or still returning from printing "ready" */
    expect_in_goroutine(1, "\tchild_wait_for_sigquit");
    expect_in_goroutine(2, "[sleep]:\n");
    expect_in_goroutine(2, "\thl_sleep");
    expect_in_goroutine(2, "\tquit_sleeper");
    expect_in_goroutine(2, "started as quit_sleeper(0x51)");
    expect_in_goroutine(3, "started as quit_sleeper(0x52)");
  }
}

static void test_throw_prints_dump(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_throw, procs, NULL, NULL);
    expect_signal(SIGABRT);
    expect_out("fatal error: deliberate test failure\n\ngoroutine 1 "
               "[running]:\n");
    expect_in_goroutine(1, "\thl_throw");
    expect_in_goroutine(1, "\tchild_throw");
    expect_in_goroutine(2, "\tthrow_bystander");
  }
}

static void test_go_outside_runtime(void **st) {
  (void)st;
  /* no hl_main at all: the child calls hl_go from plain main */
  run_child_ex(child_go_without_runtime, false, 1, NULL, NULL);
  expect_signal(SIGABRT);
  expect_out("fatal error: hl_go called outside a goroutine (start the "
             "runtime with hl_main");
}

static void test_go_from_foreign_thread(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_go_from_thread, procs, NULL, NULL);
    expect_signal(SIGABRT);
    expect_out("fatal error: hl_go called outside a goroutine");
    expect_out("runtime stack (not a runtime thread):\n");
    expect_out("\tforeign_thread");
    expect_out("goroutine 1 [");
  }
}

static void test_stack_overflow(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_overflow, procs, NULL, NULL);
    expect_exit(2);
    expect_out("goroutine 2: stack overflow");
    expect_in_goroutine(2, "[running]:\n");
    expect_in_goroutine(2, "\tdeep_recursion");
    expect_in_goroutine(2, "\t...additional frames elided...\n");
    expect_in_goroutine(2, "started as overflower(0x0)");
  }
  /* with main wired to m0 the overflow happens on another M */
  run_child(child_overflow_other_m, 2, NULL, NULL);
  expect_exit(2);
  expect_out("goroutine 2: stack overflow");
}

static void test_schedtrace(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_traced, procs, "schedtrace=20", NULL);
    expect_exit(0);
    int lines = 0;
    long last = -1;
    for (const char *p = child.out; (p = strstr(p, "SCHED ")); p++) {
      if (!strchr(p, '\n'))
        break; /* cut by the exit */
      long ms;
      int gmp, idle, threads, spinning, idlethreads, runq, used = 0;
      int n = sscanf(p,
                     "SCHED %ldms: gomaxprocs=%d idleprocs=%d threads=%d "
                     "spinningthreads=%d idlethreads=%d runqueue=%d [%n",
                     &ms, &gmp, &idle, &threads, &spinning, &idlethreads,
                     &runq, &used);
      if (n != 7 || used == 0) {
        show_child();
        fail_msg("malformed schedtrace line: %.120s", p);
      }
      assert_int_equal(gmp, procs);
      assert_true(idle >= 0 && idle <= procs);
      assert_true(threads >= 2); /* m0 and sysmon at least */
      assert_true(idlethreads >= 0 && idlethreads < threads);
      assert_true(ms >= last);
      last = ms;
      int fields = 0; /* one run queue length per P, then ']' */
      const char *q = p + used;
      while (*q != ']') {
        assert_true(*q >= '0' && *q <= '9');
        while (*q >= '0' && *q <= '9')
          q++;
        fields++;
        if (*q == ' ')
          q++;
      }
      assert_int_equal(fields, procs);
      lines++;
    }
    /* 150 ms at 20 ms: lines at 0, 20, ... (sysmon's rounds) */
    if (lines < 4) {
      show_child();
      fail_msg("expected at least 4 SCHED lines, got %d", lines);
    }
    expect_out("SCHED 0ms: ");
  }
}

static void test_scheddetail(void **st) {
  (void)st;
  for (int procs = 1; procs <= 2; procs++) {
    run_child(child_traced, procs, "schedtrace=40,scheddetail=1", NULL);
    expect_exit(0);
    expect_out("SCHED 0ms: gomaxprocs=");
    expect_out(" nmidlelocked=0\n  P0: status=");
    expect_out("\n  M0: p=");
    expect_out("\n  G1: status=");
    int status, m;
    unsigned schedtick, sys, runq;
    int gfree, timers;
    const char *p = strstr(child.out, "\n  P0: ");
    assert_non_null(p);
    assert_int_equal(sscanf(p + 1,
                            "  P0: status=%d schedtick=%u syscalltick=%u m=%d "
                            "runqsize=%u gfreecnt=%d timerslen=%d",
                            &status, &schedtick, &sys, &m, &runq, &gfree, &timers),
                     7);
    if (procs == 2)
      expect_out("\n  P1: status=");
    else
      expect_not_out("\n  P1: ");
    /* the workers sleep: a later snapshot shows them waiting */
    expect_out(": status=4(sleep) m=-1 lockedm=-1\n");
    const char *mline = strstr(child.out, "\n  M0: ");
    long mp, curg, lockedg;
    int locks;
    char spin[8], blocked[8];
    assert_int_equal(sscanf(mline + 1,
                            "  M0: p=%ld curg=%ld locks=%d spinning=%7s "
                            "blocked=%7s lockedg=%ld",
                            &mp, &curg, &locks, spin, blocked, &lockedg),
                     6);
    assert_true(strcmp(blocked, "true") == 0 || strcmp(blocked, "false") == 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deadlock_main_parked),
      cmocka_unit_test(test_deadlock_two_goroutines),
      cmocka_unit_test(test_deadlock_locked_main),
      cmocka_unit_test(test_deadlock_after_syscall),
      cmocka_unit_test(test_no_deadlock_sleeping_main),
      cmocka_unit_test(test_no_deadlock_parked_beside_sleeper),
      cmocka_unit_test(test_sigquit),
      cmocka_unit_test(test_throw_prints_dump),
      cmocka_unit_test(test_go_outside_runtime),
      cmocka_unit_test(test_go_from_foreign_thread),
      cmocka_unit_test(test_stack_overflow),
      cmocka_unit_test(test_schedtrace),
      cmocka_unit_test(test_scheddetail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
