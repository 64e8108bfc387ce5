/*
 * tests/pools/test_poolbench.c — a short run of poolbench for every
 * pattern x strategy (wl_poolbench_all): every run passes its own checks
 * (data sums, no buffer handed out twice), and the figures say what each
 * strategy must do: pool and freelist reuse (hit rate, fewer collected
 * allocations than none), a slab allocates once per batch, a region never
 * touches the collected heap. Also the table entry and bad parameters.
 */
#include "../sched/harness.h"
#include "heaplab/gc.h"
#include "workloads/workloads.h"

#include <errno.h>
#include <math.h>

static double extra(const wl_metrics_t *m, const char *name) {
  for (int i = 0; i < m->nextra; i++)
    if (strcmp(m->extra[i].name, name) == 0)
      return m->extra[i].value;
  return NAN;
}

static void test_every_strategy_and_pattern(void **state) {
  (void)state;
  static wl_metrics_t r[2][5];
  {
    wl_poolbench_params_t p = WL_POOLBENCH_DEFAULTS;
    p.goroutines = 4;
    p.ops = 200; /* requests, and documents of 128 tokens */
    p.objects = 128;
    assert_int_equal(wl_poolbench_all(&p, stdout, r), 0);
    for (int pat = 0; pat < 2; pat++) {
      const wl_metrics_t *none = &r[pat][0], *pool = &r[pat][1],
                         *slab = &r[pat][2], *fl = &r[pat][3],
                         *region = &r[pat][4];
      for (int s = 0; s < 5; s++) {
        assert_true(r[pat][s].ok);
        assert_int_equal(r[pat][s].check, r[pat][s].expected);
        assert_true(extra(&r[pat][s], "ops_per_s") > 0);
        assert_true(extra(&r[pat][s], "failures") == 0);
        assert_false(isnan(extra(&r[pat][s], "gc_cycles")));
      }
      /* none: two collected objects per buffer or token */
      uint64_t per = pat == 0 ? 2 : 2 * 128;
      assert_int_equal(none->objects, (uint64_t)p.ops * per);
      assert_true(isnan(extra(none, "hit_rate")));
      /* pool and freelist: reuse */
      assert_true(extra(pool, "hit_rate") > 0.5);
      assert_true(pool->objects < none->objects / 2);
      assert_true(extra(fl, "hit_rate") > 0.5);
      assert_true(fl->objects < none->objects / 2);
      /* slab: one allocation per batch, the same bytes at least */
      assert_true(slab->objects < none->objects / 8);
      assert_true(extra(slab, "hit_rate") > 0.8);
      /* region: nothing from the collected heap */
      assert_int_equal(region->objects, 0);
      assert_int_equal(region->bytes, 0);
      assert_true(extra(region, "hit_rate") > 0.9);
    }
  }
}

static void test_table_and_bad_params(void **state) {
  (void)state;
  const wl_workload_t *w = wl_find("poolbench");
  assert_non_null(w);
  assert_int_equal(wl_strategy(w, "none", NULL), 0);
  assert_int_equal(wl_strategy(w, "pool", NULL), 1);
  assert_int_equal(wl_strategy(w, "region", NULL), 4);
  assert_int_equal(wl_strategy(w, "arena", NULL), -1);
  long v[WL_MAX_PARAMS];
  wl_defaults(w, v);
  assert_int_equal(wl_set(w, v, "pattern=1", NULL), 0);
  assert_int_equal(wl_set(w, v, "pattern=2", NULL), -EINVAL);
  assert_int_equal(wl_set(w, v, "ops=10", NULL), 0);
  assert_int_equal(wl_set(w, v, "objects=16", NULL), 0);
  wl_metrics_t m;
  assert_int_equal(w->run(v, 2, NULL, &m), 0);
  assert_true(m.ok);
  wl_poolbench_params_t p = WL_POOLBENCH_DEFAULTS;
  p.strategy = 5;
  assert_int_equal(wl_poolbench_run(&p, NULL, &m), -EINVAL);
  p.strategy = 0;
  p.bufsize = 8;
  assert_int_equal(wl_poolbench_run(&p, NULL, &m), -EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_strategy_and_pattern),
    cmocka_unit_test(test_table_and_bad_params),
};

HL_SCHED_TEST_MAIN(tests)
