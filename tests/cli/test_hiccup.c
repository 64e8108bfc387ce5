/*
 * tests/cli/test_hiccup.c — `heaplab hiccup`: the utilization ceiling of
 * recorded stalls (tools/heaplab/hiccup.c) against a brute force over
 * every window start on a fine grid, on random stalls of 1 to 3 threads;
 * worked cases; the command's output and its bad arguments.
 */
#include "harness.h"

#include "tools/heaplab/hiccup.h"

#include <math.h>

/* every window start on a 1-unit grid (the gaps are on it too) */
static double brute(const hl_gap_t *const *gaps, const size_t *ngaps,
                    int nthreads, int64_t duration, int64_t w) {
  if (w > duration)
    return 1.0;
  double worst = 1.0;
  for (int64_t a = 0; a + w <= duration; a++) {
    int64_t s = 0;
    for (int k = 0; k < nthreads; k++)
      for (size_t i = 0; i < ngaps[k]; i++) {
        int64_t lo = gaps[k][i].start > a ? gaps[k][i].start : a;
        int64_t e = gaps[k][i].start + gaps[k][i].len;
        int64_t hi = e < a + w ? e : a + w;
        if (hi > lo)
          s += hi - lo;
      }
    double u = 1.0 - (double)s / ((double)nthreads * (double)w);
    if (u < worst)
      worst = u;
  }
  return worst;
}

static void test_worked_cases(void **state) {
  (void)state;
  /* one thread, one 3-unit stall in 100: a window of 10 holds it all */
  hl_gap_t g0[] = {{40, 3}};
  const hl_gap_t *gp[] = {g0};
  size_t n[] = {1};
  assert_float_equal(hl_hiccup_min_util(gp, n, 1, 100, 10), 0.7, 1e-12);
  assert_float_equal(hl_hiccup_min_util(gp, n, 1, 100, 2), 0.0, 1e-12);
  assert_float_equal(hl_hiccup_min_util(gp, n, 1, 100, 100), 0.97, 1e-12);
  assert_float_equal(hl_hiccup_min_util(gp, n, 1, 100, 101), 1.0, 1e-12);
  /* two threads: the other ran, so a whole-window stall is half */
  hl_gap_t g1[] = {{0, 0}};
  const hl_gap_t *gp2[] = {g0, g1};
  size_t n2[] = {1, 0};
  assert_float_equal(hl_hiccup_min_util(gp2, n2, 2, 100, 2), 0.5, 1e-12);
  /* no stalls at all */
  size_t n0[] = {0};
  assert_float_equal(hl_hiccup_min_util(gp, n0, 1, 100, 5), 1.0, 1e-12);
}

static void test_against_brute_force(void **state) {
  (void)state;
  srand(12345);
  for (int round = 0; round < 300; round++) {
    int nthreads = 1 + rand() % 3;
    int64_t duration = 50 + rand() % 400;
    hl_gap_t g[3][40];
    const hl_gap_t *gp[3];
    size_t n[3];
    for (int k = 0; k < nthreads; k++) {
      n[k] = 0;
      int64_t t = rand() % 20;
      while (n[k] < 40 && t < duration) {
        int64_t len = 1 + rand() % 25;
        if (t + len > duration)
          len = duration - t;
        if (len <= 0)
          break;
        g[k][n[k]++] = (hl_gap_t){t, len};
        t += len + 1 + rand() % 60;
      }
      gp[k] = g[k];
    }
    int64_t w = 1 + rand() % duration;
    double fast = hl_hiccup_min_util(gp, n, nthreads, duration, w);
    double slow = brute(gp, n, nthreads, duration, w);
    if (fabs(fast - slow) > 1e-12)
      fail_msg("round %d: %d threads, duration %lld, window %lld: %.6f, "
               "brute force %.6f",
               round, nthreads, (long long)duration, (long long)w, fast,
               slow);
  }
}

static void test_command(void **state) {
  (void)state;
  EXPECT(RUN("hiccup", "--duration", "50ms", "--threads", "2",
             "--windows", "1ms,10ms,1s") == 0);
  EXPECT(strstr(out, "2 threads spinning for 50 ms"));
  EXPECT(strstr(out, "utilization ceiling"));
  /* a window longer than the measurement has no ceiling */
  EXPECT(strstr(out, "1 s        -"));
  double u = -1;
  const char *p = strstr(out, "10 ms ");
  EXPECT(p && sscanf(p + 6, "%lf", &u) == 1 && u >= 0 && u <= 1);
}

static void test_bad_arguments(void **state) {
  (void)state;
  EXPECT(RUN("hiccup", "--threads", "0") == 2);
  EXPECT(strstr(errb, "--threads \"0\"") && strstr(errb, "usage"));
  EXPECT(RUN("hiccup", "--duration", "5 parsecs") == 2);
  EXPECT(strstr(errb, "--duration \"5 parsecs\" is not a duration"));
  EXPECT(RUN("hiccup", "--windows", "1ms,xs") == 2);
  EXPECT(strstr(errb, "window \"xs\""));
  EXPECT(RUN("hiccup", "--bogus", "1") == 2);
  EXPECT(strstr(errb, "unknown argument \"--bogus\""));
  EXPECT(RUN("hiccup", "--duration") == 2);
  EXPECT(strstr(errb, "incomplete argument \"--duration\""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_worked_cases),
      cmocka_unit_test(test_against_brute_force),
      cmocka_unit_test(test_command),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
