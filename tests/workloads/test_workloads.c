/*
 * tests/workloads/test_workloads.c — the GC workloads (workloads/) give
 * the Benchmarks Game's output and GCBench's checks, sequential and
 * parallel; the option table rejects what it must. (The same under
 * collections forced back to back: test_forced_gc.c.)
 *
 * Runs inside the runtime (tests/sched/harness.h): every test is in the
 * main goroutine and may call hl_*.
 */
#include "tests/sched/harness.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"
#include "workloads/workloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Benchmarks Game's expected output for N = 10 (binarytrees-output.txt
 * of the game) and, by the same rules, for N = 4 (max depth 6). */
static const char out_n10[] = "stretch tree of depth 11\t check: 4095\n"
                              "1024\t trees of depth 4\t check: 31744\n"
                              "256\t trees of depth 6\t check: 32512\n"
                              "64\t trees of depth 8\t check: 32704\n"
                              "16\t trees of depth 10\t check: 32752\n"
                              "long lived tree of depth 10\t check: 2047\n";
static const char out_n4[] = "stretch tree of depth 7\t check: 255\n"
                             "64\t trees of depth 4\t check: 1984\n"
                             "16\t trees of depth 6\t check: 2032\n"
                             "long lived tree of depth 6\t check: 127\n";

/* Runs binary-trees with its output captured; returns the text (free it). */
static char *bt_capture(int depth, int parallel, wl_metrics_t *m) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  wl_binarytrees_params_t p = WL_BINARYTREES_DEFAULTS;
  p.depth = depth;
  p.parallel = parallel;
  assert_int_equal(wl_binarytrees_run(&p, f, m), 0);
  fclose(f);
  return buf;
}

static void test_binarytrees_n10_parallel(void **state) {
  (void)state;
  wl_metrics_t m;
  char *out = bt_capture(10, 1, &m);
  assert_string_equal(out, out_n10);
  free(out);
  assert_int_equal(m.ok, 1);
  assert_int_equal(m.check, 4095 + 31744 + 32512 + 32704 + 32752 + 2047);
  assert_int_equal(m.check, m.expected);
  assert_int_equal(m.objects, m.expected);
  assert_int_equal(m.bytes, m.objects * 16);
  assert_true(m.wall_ns > 0);
}

static void test_binarytrees_n10_sequential(void **state) {
  (void)state;
  wl_metrics_t m;
  char *out = bt_capture(10, 0, &m);
  assert_string_equal(out, out_n10);
  free(out);
  assert_int_equal(m.ok, 1);
}

/* N below min_depth + 2 is raised to it (the rules). */
static void test_binarytrees_small_n(void **state) {
  (void)state;
  wl_metrics_t m;
  for (int n = 1; n <= 6; n++) {
    char *out = bt_capture(n, n % 2, &m);
    assert_string_equal(out, out_n4);
    free(out);
    assert_int_equal(m.ok, 1);
  }
}

static void test_gcbench_small(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  wl_gcbench_params_t p = {.stretch_depth = 12,
                           .long_lived_depth = 10,
                           .array_size = 20000,
                           .min_depth = 4,
                           .max_depth = 10};
  wl_metrics_t m;
  assert_int_equal(wl_gcbench_run(&p, f, &m), 0);
  fclose(f);
  assert_int_equal(m.ok, 1);
  assert_int_equal(m.check, 2047);
  assert_int_equal(m.expected, 2047);
  /* stretch 8191 + long-lived 2047 + per depth 2 * NumIters(d) *
   * TreeSize(d), NumIters(d) = 2 * 8191 / TreeSize(d): d = 4: 528 * 31,
   * 6: 128 * 127, 8: 32 * 511, 10: 8 * 2047; + the array */
  uint64_t nodes =
      8191 + 2047 + 2 * (528 * 31 + 128 * 127 + 32 * 511 + 8 * 2047);
  assert_int_equal(m.objects, nodes + 1);
  assert_int_equal(m.bytes, nodes * 24 + 20000 * 8);
  assert_non_null(strstr(buf, "Garbage Collector Test\n"));
  assert_non_null(strstr(buf, "Creating 528 trees of depth 4\n"));
  assert_non_null(strstr(buf, "Creating 8 trees of depth 10\n"));
  assert_non_null(strstr(buf, "Completed in "));
  assert_null(strstr(buf, "Failed"));
  free(buf);
}

static void test_bad_parameters(void **state) {
  (void)state;
  wl_metrics_t m;
  wl_binarytrees_params_t bt = WL_BINARYTREES_DEFAULTS;
  bt.depth = 30; /* stretch tree of depth 31 */
  assert_int_equal(wl_binarytrees_run(&bt, NULL, &m), -EINVAL);
  bt = (wl_binarytrees_params_t)WL_BINARYTREES_DEFAULTS;
  bt.min_depth = 28; /* max = 30: a stretch tree of depth 31 */
  assert_int_equal(wl_binarytrees_run(&bt, NULL, &m), -EINVAL);
  bt = (wl_binarytrees_params_t)WL_BINARYTREES_DEFAULTS;
  bt.parallel = 2;
  assert_int_equal(wl_binarytrees_run(&bt, NULL, &m), -EINVAL);
  wl_gcbench_params_t g = WL_GCBENCH_DEFAULTS;
  g.max_depth = 19; /* > stretch_depth */
  assert_int_equal(wl_gcbench_run(&g, NULL, &m), -EINVAL);
  g = (wl_gcbench_params_t)WL_GCBENCH_DEFAULTS;
  g.array_size = 1000; /* array[1000] is checked */
  assert_int_equal(wl_gcbench_run(&g, NULL, &m), -EINVAL);
}

static void test_table(void **state) {
  (void)state;
  const wl_workload_t *bt = wl_find("binarytrees");
  assert_non_null(bt);
  assert_non_null(wl_find("gcbench"));
  assert_null(wl_find("binary-trees"));
  assert_null(wl_find(""));

  long v[WL_MAX_PARAMS];
  wl_defaults(bt, v);
  wl_binarytrees_params_t d = WL_BINARYTREES_DEFAULTS;
  assert_int_equal(v[0], d.depth);
  assert_int_equal(v[1], d.min_depth);
  assert_int_equal(v[2], d.parallel);
  const wl_workload_t *gcb = wl_find("gcbench");
  wl_defaults(gcb, v);
  wl_gcbench_params_t g = WL_GCBENCH_DEFAULTS;
  assert_int_equal(v[0], g.stretch_depth);
  assert_int_equal(v[1], g.long_lived_depth);
  assert_int_equal(v[2], g.array_size);
  assert_int_equal(v[3], g.min_depth);
  assert_int_equal(v[4], g.max_depth);

  char *err = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&err, &len);
  assert_non_null(f);
  wl_defaults(bt, v);
  assert_int_equal(wl_set(bt, v, "depth=6", f), 0);
  assert_int_equal(v[0], 6);
  assert_int_equal(wl_set(bt, v, "depth=30", f), -EINVAL);
  assert_int_equal(wl_set(bt, v, "depth=", f), -EINVAL);
  assert_int_equal(wl_set(bt, v, "depth", f), -EINVAL);
  assert_int_equal(wl_set(bt, v, "depth=6x", f), -EINVAL);
  assert_int_equal(wl_set(bt, v, "dept=6", f), -EINVAL);
  assert_int_equal(wl_set(bt, v, "depthx=6", f), -EINVAL);
  assert_int_equal(v[0], 6); /* rejected options leave values alone */
  fclose(f);
  assert_non_null(strstr(err, "depth wants an integer in 1..29"));
  assert_non_null(strstr(err, "unknown option 'dept'"));
  free(err);

  /* through the table: the same run as the direct call */
  char *buf = NULL;
  f = open_memstream(&buf, &len);
  wl_metrics_t m;
  assert_int_equal(bt->run(v, 0, f, &m), 0);
  fclose(f);
  assert_string_equal(buf, out_n4);
  free(buf);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_binarytrees_n10_parallel),
    cmocka_unit_test(test_binarytrees_n10_sequential),
    cmocka_unit_test(test_binarytrees_small_n),
    cmocka_unit_test(test_gcbench_small),
    cmocka_unit_test(test_bad_parameters),
    cmocka_unit_test(test_table),
};

HL_SCHED_TEST_MAIN(tests)
