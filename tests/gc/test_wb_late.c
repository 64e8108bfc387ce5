/*
 * tests/gc/test_wb_late.c — HL_STORE's second look (hl_gc_wb_late): a
 * store made without the barrier, found afterwards to have happened while
 * the collector marks, shades the value it overwrote. The victim is held
 * only by the last node of a long list; during a mark, before the marker
 * reaches that node, the slot is cleared without the barrier (what a
 * goroutine that lost its P between HL_STORE's flag test and its store
 * does) and hl_gc_wb_late is called with the old value. The victim must
 * survive that cycle (its finalizer does not run) and die in a later one.
 */
#include "../sched/harness.h"
#include "gc/internal.h"
#include "heaplab/gc.h"

#include <stdatomic.h>

struct node {
  struct node *next, *aux;
};
#define NODE_T HL_TYPE(struct node, next, aux)

#define KEY ((uintptr_t)0x5a5a5a5a5a5a5a5aull)
static _Atomic uintptr_t hidden; /* the victim, out of the collector's view */
static _Atomic int fired;
static struct node *live; /* a root: the list */

static void fin(void *obj, void *arg) {
  (void)obj;
  (void)arg;
  atomic_fetch_add(&fired, 1);
}

/* in malloc memory, which the collector does not scan: the tail must be
 * reached through the list only (a copy on a stack would mark it first) */
struct ctx {
  hl_waitgroup_t wg, wg2;
  struct node *tail;
};

/* in its own goroutine, whose stack dies with it: no stray copy of the
 * victim's address stays where the collector scans conservatively */
static void make_victim(void *arg) {
  struct ctx *x = arg;
  struct node *v = hl_new(NODE_T);
  hl_set_finalizer(v, fin, NULL);
  HL_STORE(x->tail->aux, v);
  atomic_store(&hidden, (uintptr_t)v ^ KEY);
  hl_waitgroup_done(&x->wg);
}

static _Atomic int shaded_in_mark, watch, tail_marked;
static void watcher(void *arg) {
  struct ctx *x = arg;
  while (!atomic_load(&watch)) /* started before the victim's goroutine, */
    hl_yield();               /* so that it cannot run on its stack */
  int64_t end = hl_nanotime() + 2 * HL_SECOND;
  while (hl_nanotime() < end) {
    if (atomic_load(&gc.phase) == GC_MARK) {
      uint64_t cyc = atomic_load(&gc.cycle);
      mspan_t *s;
      uint32_t idx;
      if (gc_find_object((uintptr_t)x->tail, &s, &idx) &&
          __atomic_load_n(&s->gcmarks[idx], __ATOMIC_RELAXED))
        atomic_store(&tail_marked, 1); /* too late: the marker was there */
      /* the unbarriered store, then the late look's shade */
      __atomic_store_n(&x->tail->aux, NULL, __ATOMIC_RELAXED);
      hl_gc_wb_late((void *)(atomic_load(&hidden) ^ KEY), NULL);
      if (atomic_load(&gc.phase) == GC_MARK && atomic_load(&gc.cycle) == cyc)
        atomic_store(&shaded_in_mark, 1);
      break;
    }
    hl_yield();
  }
  hl_waitgroup_done(&x->wg2);
}

/* builds the list; its first node (the tail, marked last) goes to x only */
static HL_NOINLINE void build(struct ctx *x) {
  struct node *first = NULL;
  for (int i = 0; i < 2000000; i++) {
    struct node *n = hl_new(NODE_T);
    if (!first)
      first = n;
    HL_STORE(n->next, live);
    HL_STORE(live, n);
  }
  x->tail = first;
}

static void test_late_shade_keeps_the_old_value(void **state) {
  (void)state;
  hl_gc_add_root(&live, sizeof live);
  struct ctx *x = hl_malloc(sizeof *x);
  build(x);
  int tries = 0;
  for (; tries < 20; tries++) {
    atomic_store(&fired, 0);
    atomic_store(&shaded_in_mark, 0);
    atomic_store(&tail_marked, 0);
    atomic_store(&watch, 0);
    x->wg = (hl_waitgroup_t)HL_WAITGROUP_INIT;
    x->wg2 = (hl_waitgroup_t)HL_WAITGROUP_INIT;
    hl_waitgroup_add(&x->wg2, 1);
    hl_go(watcher, x);
    hl_waitgroup_add(&x->wg, 1);
    hl_go(make_victim, x);
    hl_waitgroup_wait(&x->wg);
    atomic_store(&watch, 1);
    hl_gc(); /* the watcher clears and shades during this cycle's mark */
    hl_waitgroup_wait(&x->wg2);
    if (!atomic_load(&shaded_in_mark) || atomic_load(&tail_marked)) {
      HL_STORE(x->tail->aux, NULL);
      hl_gc();
      hl_gc();
      hl_sleep(20 * HL_MILLISECOND);
      continue; /* the mark was too short to catch: again */
    }
    hl_sleep(20 * HL_MILLISECOND); /* the finalizer goroutine's turn */
    int after_shaded = atomic_load(&fired);
    hl_gc();
    hl_gc();
    hl_sleep(20 * HL_MILLISECOND);
    print_message("wb_late: shaded during a mark (try %d); finalizer runs "
                  "after that cycle: %d, after two more: %d\n",
                  tries, after_shaded, atomic_load(&fired));
    assert_int_equal(after_shaded, 0);
    assert_int_equal(atomic_load(&fired), 1);
    break;
  }
  assert_true(tries < 20);
  HL_STORE(live, NULL);
  hl_gc_remove_root(&live);
  hl_free(x);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_late_shade_keeps_the_old_value),
};

HL_SCHED_TEST_MAIN(tests)
