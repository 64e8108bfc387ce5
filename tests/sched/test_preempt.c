/*
 * tests/sched/test_preempt.c — a goroutine spinning in a C loop without
 * safe points does not starve the others (run with HLMAXPROCS=1, see
 * test_preempt.cmake): sysmon takes its P after 10 ms and hands it to
 * another thread; the hog gets a P back at its next safe point. Nor
 * does a goroutine spawning goroutines in a loop.
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

/* A goroutine spawning in a loop fills its P's ring; hl_go then runs
 * goroutines itself (proc.c). The ones queued before must still run while
 * the loop goes on, not only when it stops. */
#define QUEUED 300
#define MAX_SPAWNS 200000
static _Atomic int queued_ran, spawns;
static void queued(void *arg) {
  (void)arg;
  atomic_fetch_add(&queued_ran, 1);
}
static void nothing(void *arg) { (void)arg; }
static void spawner(void *arg) {
  (void)arg;
  for (int i = 0; i < QUEUED; i++)
    hl_go(queued, NULL);
  while (atomic_load(&queued_ran) < QUEUED &&
         atomic_load(&spawns) < MAX_SPAWNS) {
    hl_go(nothing, NULL);
    atomic_fetch_add(&spawns, 1);
  }
  atomic_store(&hog_done, 2);
}

static void test_spawn_loop_does_not_starve_queue(void **st) {
  (void)st;
  assert_int_equal(hl_maxprocs(), 1);
  atomic_store(&hog_done, 0);
  hl_go(spawner, NULL); /* not main: main is wired to its thread */
  /* main's wake-ups would move the P between threads and run the queue
   * through g0 each time: check in long steps (the spawner needs tens of
   * milliseconds at most) */
  while (atomic_load(&hog_done) != 2)
    hl_sleep(200 * HL_MILLISECOND);
  print_message("%d spawns until the %d queued goroutines ran\n",
                atomic_load(&spawns), QUEUED);
  assert_int_equal(atomic_load(&queued_ran), QUEUED);
  assert_true(atomic_load(&spawns) < MAX_SPAWNS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tight_loop_does_not_starve),
    cmocka_unit_test(test_spawn_loop_does_not_starve_queue),
};

HL_SCHED_TEST_MAIN(tests)
