/*
 * tests/pools/helpers.h — what the pool tests share to observe liveness
 * through finalizers: a counting finalizer (arg: the test's own counter,
 * so that a late finalizer of another test's object does not count), a
 * stack scrubber (conservative stacks) and a pause that lets the
 * finalizer goroutine run.
 */
#ifndef HL_TESTS_POOLS_HELPERS_H
#define HL_TESTS_POOLS_HELPERS_H

#include "heaplab/sched.h"

#include <stdatomic.h>
#include <string.h>

static void count_fin(void *obj, void *arg) {
  (void)obj;
  atomic_fetch_add((_Atomic int *)arg, 1);
}

static __attribute__((noinline)) void scrub_stack(void) {
  volatile char junk[8192];
  memset((char *)junk, 0, sizeof junk);
}

static void settle(void) {
  for (int i = 0; i < 20; i++) {
    hl_yield();
    hl_sleep(HL_MILLISECOND / 4);
  }
}

#endif
