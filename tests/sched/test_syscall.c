/*
 * tests/sched/test_syscall.c — goroutines blocked in system calls do not
 * stop the others, even with one P (test_syscall.cmake sets HLMAXPROCS=1):
 * hl_sys_read on an empty pipe, hl_sys_nanosleep, hl_blocking,
 * hl_sys_waitpid; timers and the netpoller keep working meanwhile.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static bool wait_count(_Atomic int *v, int n, int ms) {
  int64_t end = hl_nanotime() + (int64_t)ms * HL_MILLISECOND;
  while (atomic_load(v) < n) {
    if (hl_nanotime() > end)
      return false;
    hl_sleep(200 * HL_MICROSECOND);
  }
  return true;
}

static _Atomic int progress, finished;

static void ticker(void *arg) {
  int n = (int)(intptr_t)arg;
  for (int i = 0; i < n; i++) {
    atomic_fetch_add(&progress, 1);
    hl_yield();
  }
  atomic_fetch_add(&finished, 1);
}

/* Checks that goroutines run and timers fire now: a ticker completes and
 * a 2 ms sleep takes less than 100 ms. */
static void others_progress(void) {
  int before = atomic_load(&finished);
  atomic_store(&progress, 0);
  hl_go(ticker, (void *)(intptr_t)200);
  assert_true(wait_count(&finished, before + 1, 2000));
  assert_int_equal(atomic_load(&progress), 200);
  int64_t t0 = hl_nanotime();
  hl_sleep(2 * HL_MILLISECOND);
  int64_t dt = hl_nanotime() - t0;
  assert_true(dt >= 2 * HL_MILLISECOND && dt < 100 * HL_MILLISECOND);
}

/* ------------------------------------------------------- hl_sys_read */

struct sysreader {
  int fd;
  char buf[16];
  ssize_t got;
  _Atomic int done;
};

static void sys_reader(void *arg) {
  struct sysreader *r = arg;
  r->got = hl_sys_read(r->fd, r->buf, 1); /* blocks its M */
  atomic_store(&r->done, 1);
}

static void test_sys_read_blocks_only_its_thread(void **st) {
  (void)st;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0); /* blocking pipe */
  enum { N = 4 };
  struct sysreader r[N];
  memset(r, 0, sizeof r);
  for (int i = 0; i < N; i++) {
    r[i].fd = p[0];
    hl_go(sys_reader, &r[i]);
  }
  hl_sleep(20 * HL_MILLISECOND); /* all N are in read(2) by now */
  for (int i = 0; i < N; i++)
    assert_int_equal(atomic_load(&r[i].done), 0);
  others_progress();
  /* the netpoller works meanwhile too */
  int q[2];
  assert_int_equal(pipe2(q, O_CLOEXEC), 0);
  assert_int_equal(hl_fd_open(q[0]), 0);
  assert_int_equal(hl_fd_open(q[1]), 0);
  assert_int_equal(hl_write(q[1], "n", 1, 0), 1);
  char c;
  assert_int_equal(hl_read(q[0], &c, 1, hl_nanotime() + HL_SECOND), 1);
  hl_fd_close(q[0]);
  hl_fd_close(q[1]);
  /* release the readers: one byte each */
  for (int i = 0; i < N; i++)
    assert_int_equal(hl_sys_write(p[1], "r", 1), 1);
  for (int i = 0; i < N; i++) {
    int64_t end = hl_nanotime() + 5 * HL_SECOND;
    while (!atomic_load(&r[i].done) && hl_nanotime() < end)
      hl_sleep(HL_MILLISECOND);
    assert_int_equal(r[i].got, 1);
  }
  close(p[0]);
  close(p[1]);
}

/* --------------------------------------------------- hl_sys_nanosleep */

static _Atomic int napped;
static void napper(void *arg) {
  int64_t ns = (int64_t)(intptr_t)arg;
  int64_t t0 = hl_nanotime();
  hl_sys_nanosleep(ns);
  if (hl_nanotime() - t0 >= ns)
    atomic_fetch_add(&napped, 1);
}

static void test_sys_nanosleep_blocks_only_its_thread(void **st) {
  (void)st;
  atomic_store(&napped, 0);
  int64_t t0 = hl_nanotime();
  hl_go(napper, (void *)(intptr_t)(300 * HL_MILLISECOND));
  hl_sleep(10 * HL_MILLISECOND);
  others_progress();
  others_progress();
  /* the others finished while the napper still sleeps */
  assert_true(hl_nanotime() - t0 < 250 * HL_MILLISECOND);
  assert_int_equal(atomic_load(&napped), 0);
  assert_true(wait_count(&napped, 1, 5000));
}

/* A sleeper's timer on the P that a syscall took: it still fires. */
static _Atomic int64_t woke_late;
static void timed_then_block(void *arg) {
  (void)arg;
  int64_t t0 = hl_nanotime();
  hl_go(napper, (void *)(intptr_t)(200 * HL_MILLISECOND)); /* same P */
  hl_sleep(5 * HL_MILLISECOND);
  atomic_store(&woke_late, hl_nanotime() - t0 - 5 * HL_MILLISECOND);
}

static void test_timer_on_p_in_syscall(void **st) {
  (void)st;
  atomic_store(&napped, 0);
  atomic_store(&woke_late, -1);
  hl_go(timed_then_block, NULL);
  int64_t end = hl_nanotime() + 150 * HL_MILLISECOND;
  while (atomic_load(&woke_late) < 0 && hl_nanotime() < end)
    hl_sleep(HL_MILLISECOND);
  int64_t late = atomic_load(&woke_late);
  print_message("timer on a P in a syscall: late by %lld us\n",
                (long long)late / 1000);
  assert_true(late >= 0 && late < 100 * HL_MILLISECOND);
  assert_true(wait_count(&napped, 1, 5000));
}

/* -------------------------------------------------------- hl_blocking */

struct cond_arg {
  int fd;
  int value;
};
static intptr_t blocking_read(void *arg) {
  struct cond_arg *a = arg;
  char c;
  ssize_t r = read(a->fd, &c, 1);
  if (r != 1)
    return -1;
  return a->value + c;
}
static intptr_t failing_call(void *arg) {
  (void)arg;
  errno = ENOTTY;
  return -7;
}

static _Atomic intptr_t blocking_result;
static void blocking_user(void *arg) {
  atomic_store(&blocking_result, hl_blocking(blocking_read, arg));
}

static void test_hl_blocking(void **st) {
  (void)st;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  struct cond_arg a = {p[0], 1000};
  atomic_store(&blocking_result, 0);
  hl_go(blocking_user, &a);
  hl_sleep(10 * HL_MILLISECOND);
  others_progress();
  assert_int_equal(atomic_load(&blocking_result), 0);
  assert_int_equal(write(p[1], "\x05", 1), 1);
  int64_t end = hl_nanotime() + 5 * HL_SECOND;
  while (atomic_load(&blocking_result) == 0 && hl_nanotime() < end)
    hl_sleep(HL_MILLISECOND);
  assert_int_equal(atomic_load(&blocking_result), 1005);
  /* the result and errno come back unchanged */
  errno = 0;
  assert_int_equal(hl_blocking(failing_call, NULL), -7);
  assert_int_equal(errno, ENOTTY);
  close(p[0]);
  close(p[1]);
}

/* ------------------------------------------------------ hl_sys_waitpid */

static _Atomic int wait_status = -1;
static _Atomic pid_t wait_ret;
static void waiter(void *arg) {
  pid_t pid = (pid_t)(intptr_t)arg;
  int status = 0;
  atomic_store(&wait_ret, hl_sys_waitpid(pid, &status, 0));
  atomic_store(&wait_status, status);
}

static void test_sys_waitpid(void **st) {
  (void)st;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct timespec ts = {0, 150 * 1000 * 1000};
    nanosleep(&ts, NULL); /* async-signal-safe only, in the child */
    _exit(7);
  }
  int64_t t0 = hl_nanotime();
  hl_go(waiter, (void *)(intptr_t)pid);
  hl_sleep(10 * HL_MILLISECOND);
  others_progress();
  assert_true(hl_nanotime() - t0 < 140 * HL_MILLISECOND);
  assert_int_equal(atomic_load(&wait_status), -1); /* still waiting */
  int64_t end = hl_nanotime() + 5 * HL_SECOND;
  while (atomic_load(&wait_status) == -1 && hl_nanotime() < end)
    hl_sleep(HL_MILLISECOND);
  assert_int_equal(atomic_load(&wait_ret), pid);
  int status = atomic_load(&wait_status);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 7);
  /* WNOHANG and errors come back as from waitpid */
  errno = 0;
  assert_int_equal(hl_sys_waitpid(pid, &status, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

/* Many goroutines in syscalls at once (each takes a thread) while the
 * rest of the program keeps going. */
static void test_many_in_syscalls(void **st) {
  (void)st;
  atomic_store(&napped, 0);
  enum { N = 16 };
  for (int i = 0; i < N; i++)
    hl_go(napper, (void *)(intptr_t)(100 * HL_MILLISECOND));
  hl_sleep(5 * HL_MILLISECOND);
  others_progress();
  assert_true(wait_count(&napped, N, 5000));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sys_read_blocks_only_its_thread),
    cmocka_unit_test(test_sys_nanosleep_blocks_only_its_thread),
    cmocka_unit_test(test_timer_on_p_in_syscall),
    cmocka_unit_test(test_hl_blocking),
    cmocka_unit_test(test_sys_waitpid),
    cmocka_unit_test(test_many_in_syscalls),
};

HL_SCHED_TEST_MAIN(tests)
