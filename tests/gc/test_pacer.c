/*
 * tests/gc/test_pacer.c — the pacer: on a steady-state workload (one
 * goroutine replacing trees in a ring) the heap peaks within goal + 10%.
 *
 * KNOWN MISS (issue 4 stays open): with one mutator that never yields and
 * the other P idle, marking progresses too slowly and the heap overshoots
 * its goal many times over. Labelled "pacer", outside the default suite,
 * until the collector meets it.
 */
#include "../sched/harness.h"
#include "heaplab/gc.h"

#include <string.h>

struct node {
  struct node *left, *right;
  uint64_t v, pad;
};
#define NODE_T HL_TYPE(struct node, left, right)

static struct node *ring[4096];

static void test_pacer_peak_within_goal(void **state) {
  (void)state;
  hl_gc_add_root(ring, sizeof ring);
  /* steady state: ~4096 live trees of 15 nodes, replaced round-robin */
  uint64_t peak_over = 0, worst_ratio_x1000 = 0;
  hl_gc();
  for (int it = 0; it < 300000; it++) {
    struct node *t = hl_new(NODE_T);
    for (int k = 0; k < 14; k++) {
      struct node *c = hl_new(NODE_T);
      HL_STORE(c->left, t);
      t = c;
    }
    HL_STORE(ring[it % 4096], t);
    if ((it & 255) == 0 && it > 50000) {
      hl_gc_stats_t st;
      hl_gc_stats(&st);
      if (st.heap_alloc > st.heap_goal && st.heap_alloc - st.heap_goal > peak_over)
        peak_over = st.heap_alloc - st.heap_goal;
      uint64_t r = st.heap_alloc * 1000 / st.heap_goal;
      if (r > worst_ratio_x1000)
        worst_ratio_x1000 = r;
    }
  }
  print_message("pacer: heap peak / goal = %.3f\n",
                (double)worst_ratio_x1000 / 1000);
  assert_true(worst_ratio_x1000 <= 1100);
  memset(ring, 0, sizeof ring);
  hl_gc_remove_root(ring);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pacer_peak_within_goal),
};

HL_SCHED_TEST_MAIN(tests)
