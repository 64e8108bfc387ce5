/*
 * tests/sched/test_proc.c — goroutines: creation, ids, yield, exit,
 * sleep, many goroutines on every P, hl_maxprocs, syscalls handing off
 * the P, locked threads.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static _Atomic long counter;
static _Atomic int finished;

static void add_and_yield(void *arg) {
  long n = (long)arg;
  for (long i = 0; i < n; i++) {
    atomic_fetch_add(&counter, 1);
    hl_yield();
  }
  atomic_fetch_add(&finished, 1);
}

static int cmp_int64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void wait_finished(int n) {
  while (atomic_load(&finished) < n)
    hl_sleep(200 * HL_MICROSECOND);
}

static void test_main_goroutine(void **st) {
  (void)st;
  assert_int_equal(hl_goid(), 1);
  assert_true(hl_maxprocs() >= 1);
  assert_int_equal(hl_numgoroutine(), 1);
}

static void test_many_goroutines_yield(void **st) {
  (void)st;
  atomic_store(&counter, 0);
  atomic_store(&finished, 0);
  static int64_t ids[500];
  for (int i = 0; i < 500; i++)
    ids[i] = hl_go(add_and_yield, (void *)200L);
  /* ids are unique and never main's (1). Not sequential: each P takes
   * ids from the global counter in batches, as Go's goidcache does. */
  qsort(ids, 500, sizeof ids[0], cmp_int64);
  assert_true(ids[0] > 1);
  for (int i = 1; i < 500; i++)
    assert_true(ids[i] > ids[i - 1]);
  wait_finished(500);
  assert_int_equal(atomic_load(&counter), 500 * 200);
  while (hl_numgoroutine() > 1)
    hl_yield();
}

static _Atomic int exited_early;
static void exits_midway(void *arg) {
  (void)arg;
  atomic_fetch_add(&finished, 1);
  hl_exit();
  atomic_store(&exited_early, 1); /* not reached */
}

static void test_exit(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  for (int i = 0; i < 50; i++)
    hl_go(exits_midway, NULL);
  wait_finished(50);
  while (hl_numgoroutine() > 1)
    hl_yield();
  assert_int_equal(atomic_load(&exited_early), 0);
}

static void sleeper(void *arg) {
  int64_t ns = (int64_t)(intptr_t)arg;
  int64_t t0 = hl_nanotime();
  hl_sleep(ns);
  int64_t dt = hl_nanotime() - t0;
  if (dt >= ns)
    atomic_fetch_add(&finished, 1);
}

static void test_sleep(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  int64_t t0 = hl_nanotime();
  for (int i = 0; i < 1000; i++)
    hl_go(sleeper, (void *)(intptr_t)(5 * HL_MILLISECOND));
  wait_finished(1000);
  int64_t dt = hl_nanotime() - t0;
  /* 1000 sleeps of 5 ms overlap: far less than 1000 * 5 ms */
  assert_true(dt < 2 * HL_SECOND);
  hl_sleep(HL_MILLISECOND);
  assert_true(hl_nanotime() - t0 >= 6 * HL_MILLISECOND);
}

/* A goroutine blocked in a syscall must not stop the others, even with
 * one P: the P is handed to another thread. */
static _Atomic int progress;
static void blocker(void *arg) {
  (void)arg;
  hl_sys_nanosleep(300 * HL_MILLISECOND); /* blocks its thread */
  atomic_fetch_add(&finished, 1);
}
static void ticker(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++) {
    atomic_fetch_add(&progress, 1);
    hl_yield();
  }
  atomic_fetch_add(&finished, 1);
}

static void test_syscall_handoff(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  atomic_store(&progress, 0);
  hl_go(blocker, NULL);
  hl_sleep(10 * HL_MILLISECOND); /* the blocker is in its syscall */
  int64_t t0 = hl_nanotime();
  hl_go(ticker, NULL);
  while (atomic_load(&progress) < 100)
    hl_sleep(HL_MILLISECOND);
  /* the ticker finished while the blocker still sleeps */
  assert_true(hl_nanotime() - t0 < 250 * HL_MILLISECOND);
  wait_finished(2);
}

static _Atomic long locked_tid_changes;
static void locked_worker(void *arg) {
  (void)arg;
  hl_lock_os_thread();
  pthread_t self = pthread_self();
  for (int i = 0; i < 200; i++) {
    hl_yield();
    if (i % 10 == 0)
      hl_sleep(100 * HL_MICROSECOND);
    if (!pthread_equal(self, pthread_self()))
      atomic_fetch_add(&locked_tid_changes, 1);
  }
  hl_unlock_os_thread();
  atomic_fetch_add(&finished, 1);
}

static void test_lock_os_thread(void **st) {
  (void)st;
  atomic_store(&finished, 0);
  for (int i = 0; i < 4; i++)
    hl_go(locked_worker, NULL);
  for (int i = 0; i < 20; i++)
    hl_go(add_and_yield, (void *)100L);
  wait_finished(24);
  assert_int_equal(atomic_load(&locked_tid_changes), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_main_goroutine),
    cmocka_unit_test(test_many_goroutines_yield),
    cmocka_unit_test(test_exit),
    cmocka_unit_test(test_sleep),
    cmocka_unit_test(test_syscall_handoff),
    cmocka_unit_test(test_lock_os_thread),
};

HL_SCHED_TEST_MAIN(tests)
