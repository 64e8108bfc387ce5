/*
 * tests/sched/test_preempt.c — a goroutine spinning in a C loop without
 * safe points does not starve the others (run with HLMAXPROCS=1, see
 * test_preempt.cmake): sysmon takes its P after 10 ms and hands it to
 * another thread; the hog gets a P back at its next safe point.
 */
#include "harness.h"

#include <stdatomic.h>

static _Atomic int stop, ticks, hog_done;
static volatile unsigned long sink;

static void hog(void *arg) {
  (void)arg;
  while (!atomic_load_explicit(&stop, memory_order_relaxed))
    sink++; /* no hl_* call: no safe point */
  hl_safepoint(); /* gets a P back here */
  hl_yield();
  atomic_store(&hog_done, 1);
}

static void ticker(void *arg) {
  (void)arg;
  for (int i = 0; i < 20; i++) {
    hl_sleep(HL_MILLISECOND);
    atomic_fetch_add(&ticks, 1);
  }
}

static void test_tight_loop_does_not_starve(void **st) {
  (void)st;
  assert_int_equal(hl_maxprocs(), 1);
  hl_go(hog, NULL);
  hl_sleep(5 * HL_MILLISECOND); /* the hog runs now */
  int64_t t0 = hl_nanotime();
  hl_go(ticker, NULL);
  while (atomic_load(&ticks) < 20 && hl_nanotime() - t0 < 5 * HL_SECOND)
    hl_sleep(HL_MILLISECOND);
  int64_t dt = hl_nanotime() - t0;
  assert_int_equal(atomic_load(&ticks), 20);
  /* 20 sleeps of 1 ms, plus at most a few preemption periods */
  assert_true(dt < 500 * HL_MILLISECOND);
  atomic_store(&stop, 1);
  while (!atomic_load(&hog_done))
    hl_sleep(HL_MILLISECOND);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tight_loop_does_not_starve),
};

HL_SCHED_TEST_MAIN(tests)
