/*
 * tests/pools/helpers.h — what the pool tests share to observe liveness
 * through finalizers: a counting finalizer (arg: the test's own counter,
 * so that a late finalizer of another test's object does not count) and a
 * pause that lets the finalizer goroutine run (the stack scrubber is the
 * harness's hl_test_scrub_stack).
 */
#ifndef HL_TESTS_POOLS_HELPERS_H
#define HL_TESTS_POOLS_HELPERS_H

#include "heaplab/sched.h"

#include <stdatomic.h>

static void count_fin(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add((_Atomic int *)arg, 1);
}


static void settle(void) {
  for (int i = 0; i < 20; i++) {
    hl_yield();
    hl_sleep(HL_MILLISECOND / 4);
  }
}

#endif
