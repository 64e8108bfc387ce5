/*
 * tests/trace/test_mmu.c — the utilization function and MMU against
 * brute force on random synthetic traces: u(t) per nanosecond computed
 * straight from the generated intervals, every integer window start tried
 * (exact, since all steps are at integer times), percentiles from a fine
 * sampling of the window means.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gen.h"
#include "trace/mmu.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

static const unsigned kind_flag[4] = {HLT_UTIL_BACKGROUND, HLT_UTIL_ASSIST,
                                      HLT_UTIL_SWEEP, HLT_UTIL_STW};

/* u per ns of series `sidx` (perproc: P sidx). */
static double *brute_util(const gen_t *g, unsigned flags, int sidx) {
  int64_t D = g->dur;
  double *u = malloc(sizeof(double) * (size_t)D);
  int *busy = calloc((size_t)D * (size_t)g->nprocs, sizeof(int));
  char *stw = calloc((size_t)D, 1);
  for (int i = 0; i < g->niv; i++) {
    const gen_iv_t *v = &g->iv[i];
    if (!(flags & kind_flag[v->kind]))
      continue;
    for (int64_t t = v->t0; t < v->t1; t++) {
      if (v->kind == 3)
        stw[t] = 1;
      else
        busy[t * g->nprocs + v->p] = 1;
    }
  }
  bool perproc = flags & HLT_UTIL_PERPROC;
  for (int64_t t = 0; t < D; t++) {
    int n = 0;
    for (int p = 0; p < g->nprocs; p++)
      n += busy[t * g->nprocs + p];
    if (stw[t])
      u[t] = 0;
    else if (perproc)
      u[t] = busy[t * g->nprocs + sidx] ? 0 : 1;
    else
      u[t] = 1.0 - (double)n / g->nprocs;
  }
  free(busy);
  free(stw);
  return u;
}

static double brute_mmu(const double *u, int64_t D, int64_t w) {
  if (w >= D) {
    double s = 0;
    for (int64_t t = 0; t < D; t++)
      s += u[t];
    return s / (double)D;
  }
  double s = 0, best = INFINITY;
  for (int64_t t = 0; t < w; t++)
    s += u[t];
  for (int64_t t = 0;; t++) {
    if (s / (double)w < best)
      best = s / (double)w;
    if (t + w >= D)
      break;
    s += u[t + w] - u[t];
  }
  return best;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void build(const gen_t *g, unsigned flags, hlt_util_t *u) {
  char path[64], err[256];
  snprintf(path, sizeof path, "/tmp/hl_test_mmu_%d.hltrace", (int)getpid());
  assert_int_equal(gen_write(g, path), 0);
  hlt_reader_t *r = hlt_open_file(path, err, sizeof err);
  if (!r)
    fail_msg("%s", err);
  if (hlt_util_read(r, flags, u, err, sizeof err))
    fail_msg("%s", err);
  hlt_close(r);
  unlink(path);
}

static void check_random(uint64_t seed, unsigned flags) {
  static gen_t g;
  int nprocs = 1 + (int)(seed % 4);
  gen_make(&g, seed, nprocs, 1500 + (int64_t)(seed * 37 % 2500),
           5 + (int64_t)(seed % 60));
  hlt_util_t u;
  build(&g, flags, &u);
  hlt_mmu_t *m = hlt_mmu_new(&u);
  assert_non_null(m);
  int ns = (flags & HLT_UTIL_PERPROC) ? nprocs : 1;
  assert_int_equal(u.nseries, ns);
  double *bu[4];
  for (int s = 0; s < ns; s++)
    bu[s] = brute_util(&g, flags, s);
  int64_t wins[] = {1, 2, 3, 7, 10, 33, 100, 250, 999, g.dur - 1, g.dur,
                    g.dur + 5};
  for (size_t i = 0; i < sizeof wins / sizeof wins[0]; i++) {
    int64_t w = wins[i];
    double want = INFINITY;
    for (int s = 0; s < ns; s++) {
      double v = brute_mmu(bu[s], g.dur, w);
      if (v < want)
        want = v;
    }
    double got = hlt_mmu_window(m, w), full = hlt_mmu_window_full(m, w);
    if (fabs(got - want) > 1e-9 || fabs(full - want) > 1e-9)
      fail_msg("seed %llu flags %u window %lld: mmu %.12f (full sweep "
               "%.12f), brute force %.12f",
               (unsigned long long)seed, flags, (long long)w, got, full, want);
    if (w >= g.dur || i % 3)
      continue;
    /* percentiles: the window means sampled SUB times a ns, all series;
     * between two samples a mean moves at most 1/(SUB w) */
    enum { SUB = 64 };
    int64_t n = (g.dur - w) * SUB + 1;
    double *samp = malloc(sizeof(double) * (size_t)(n * ns));
    for (int s = 0; s < ns; s++) {
      double *pre = malloc(sizeof(double) * (size_t)(g.dur + 1));
      pre[0] = 0;
      for (int64_t t = 0; t < g.dur; t++)
        pre[t + 1] = pre[t] + bu[s][t];
      for (int64_t k = 0; k < n; k++) {
        double x = (double)k / SUB; /* window [x, x + w] */
        int64_t a = (int64_t)x;
        double fa = x - (double)a;
        double A0 = pre[a] + (a < g.dur ? bu[s][a] * fa : 0);
        int64_t b = a + w;
        double A1 = pre[b] + (b < g.dur ? bu[s][b] * fa : 0);
        samp[s * n + k] = (A1 - A0) / (double)w;
      }
      free(pre);
    }
    qsort(samp, (size_t)(n * ns), sizeof(double), cmp_d);
    double q[3] = {0.001, 0.01, 0.05}, qv[3];
    hlt_mmu_quantiles(m, w, q, 3, qv);
    for (int k = 0; k < 3; k++) {
      double ref = samp[(size_t)(q[k] * (double)(n * ns))];
      if (fabs(qv[k] - ref) > 1.0 / (SUB * (double)w) + 0.002)
        fail_msg("seed %llu flags %u window %lld: worst %.1f%% = %.5f, "
                 "brute force %.5f",
                 (unsigned long long)seed, flags, (long long)w, q[k] * 100,
                 qv[k], ref);
      assert_true(qv[k] >= want - 1e-12);
    }
    free(samp);
  }
  for (int s = 0; s < ns; s++)
    free(bu[s]);
  hlt_mmu_free(m);
  hlt_util_free(&u);
}

static void test_random_vs_brute(void **state) {
  (void)state;
  const unsigned fl[] = {
      HLT_UTIL_DEFAULT,
      HLT_UTIL_DEFAULT | HLT_UTIL_SWEEP,
      HLT_UTIL_STW,
      HLT_UTIL_ASSIST | HLT_UTIL_SWEEP,
      HLT_UTIL_DEFAULT | HLT_UTIL_SWEEP | HLT_UTIL_PERPROC,
      HLT_UTIL_BACKGROUND | HLT_UTIL_PERPROC,
  };
  for (uint64_t seed = 1; seed <= 60; seed++)
    check_random(seed, fl[seed % (sizeof fl / sizeof fl[0])]);
}

/* A hand-made case: 2 Ps, P0 marks [100, 300), STW [500, 550), end 1000. */
static void test_known_values(void **state) {
  (void)state;
  hlt_util_builder_t *b = hlt_util_builder_new(HLT_UTIL_DEFAULT, 2);
  hlt_event_t ev = {0};
  char err[256];
  ev.p = 0;
  ev.kind = TRACE_EV_MARK_START;
  ev.ts = 100;
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  ev.kind = TRACE_EV_MARK_END;
  ev.ts = 300;
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  ev.p = -1;
  ev.kind = TRACE_EV_STW_START;
  ev.ts = 500;
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  ev.kind = TRACE_EV_STW_END;
  ev.ts = 550;
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  hlt_util_t u;
  assert_int_equal(hlt_util_builder_finish(b, 1000, &u, err, sizeof err), 0);
  hlt_mmu_t *m = hlt_mmu_new(&u);
  assert_true(fabs(hlt_mmu_window(m, 50) - 0.0) < 1e-12);
  assert_true(fabs(hlt_mmu_window(m, 100) - 0.5) < 1e-12);
  /* [450, 650): 50 of STW, 150 of 1 -> 0.75 */
  assert_true(fabs(hlt_mmu_window(m, 200) - 0.5) < 1e-12);
  /* whole trace: 1000 - 100 (half of 200) - 50 = 850 */
  assert_true(fabs(hlt_mmu_window(m, 1000) - 0.85) < 1e-12);
  assert_true(fabs(hlt_mmu_window(m, 5000) - 0.85) < 1e-12);
  hlt_mmu_free(m);
  hlt_util_free(&u);
}

/* Idle mark workers take no time from the mutator (Go's MMU leaves them
 * out): P0 marks idle [100, 300), then dedicated [400, 500). */
static void test_idle_workers_not_counted(void **state) {
  (void)state;
  hlt_util_builder_t *b = hlt_util_builder_new(HLT_UTIL_DEFAULT, 1);
  char err[256];
  hlt_event_t ev = {.kind = TRACE_EV_MARK_START, .p = 0, .ts = 100};
  ev.args[0] = TRACE_MARK_IDLE;
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  ev = (hlt_event_t){.kind = TRACE_EV_MARK_END, .p = 0, .ts = 300};
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  ev = (hlt_event_t){.kind = TRACE_EV_MARK_START, .p = 0, .ts = 400};
  ev.args[0] = TRACE_MARK_DEDICATED;
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  ev = (hlt_event_t){.kind = TRACE_EV_MARK_END, .p = 0, .ts = 500};
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  hlt_util_t u;
  assert_int_equal(hlt_util_builder_finish(b, 1000, &u, err, sizeof err), 0);
  hlt_mmu_t *m = hlt_mmu_new(&u);
  assert_true(fabs(hlt_mmu_window(m, 100) - 0.0) < 1e-12); /* [400,500) */
  assert_true(fabs(hlt_mmu_window(m, 1000) - 0.9) < 1e-12);
  hlt_mmu_free(m);
  hlt_util_free(&u);
}

static void test_builder_errors(void **state) {
  (void)state;
  char err[256];
  hlt_util_t u;
  /* a worker started twice on one P */
  hlt_util_builder_t *b = hlt_util_builder_new(HLT_UTIL_DEFAULT, 1);
  hlt_event_t ev = {.kind = TRACE_EV_MARK_START, .p = 0, .ts = 5,
                    .offset = 77};
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  ev.offset = 88;
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), -1);
  assert_non_null(strstr(err, "offset 88"));
  assert_int_equal(hlt_util_builder_finish(b, 10, &u, err, sizeof err), 0);
  hlt_util_free(&u);
  /* an end first means "running since the trace start" */
  b = hlt_util_builder_new(HLT_UTIL_DEFAULT, 1);
  ev = (hlt_event_t){.kind = TRACE_EV_ASSIST_END, .p = 0, .ts = 40};
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), 0);
  assert_int_equal(hlt_util_builder_finish(b, 100, &u, err, sizeof err), 0);
  hlt_mmu_t *m = hlt_mmu_new(&u);
  assert_true(fabs(hlt_mmu_window(m, 40) - 0.0) < 1e-12);
  assert_true(fabs(hlt_mmu_window(m, 100) - 0.6) < 1e-12);
  hlt_mmu_free(m);
  hlt_util_free(&u);
  /* but not after the P did other work */
  b = hlt_util_builder_new(HLT_UTIL_DEFAULT, 1);
  ev = (hlt_event_t){.kind = TRACE_EV_ASSIST_START, .p = 0, .ts = 1};
  hlt_util_builder_add(b, &ev, err, sizeof err);
  ev = (hlt_event_t){.kind = TRACE_EV_ASSIST_END, .p = 0, .ts = 2};
  hlt_util_builder_add(b, &ev, err, sizeof err);
  ev = (hlt_event_t){.kind = TRACE_EV_ASSIST_END, .p = 0, .ts = 3,
                     .offset = 99};
  assert_int_equal(hlt_util_builder_add(b, &ev, err, sizeof err), -1);
  assert_non_null(strstr(err, "without a start"));
  assert_int_equal(hlt_util_builder_finish(b, 10, &u, err, sizeof err), 0);
  hlt_util_free(&u);
  /* STW nesting is checked in time order */
  b = hlt_util_builder_new(HLT_UTIL_STW, 1);
  ev = (hlt_event_t){.kind = TRACE_EV_STW_START, .p = 0, .ts = 1};
  hlt_util_builder_add(b, &ev, err, sizeof err);
  ev.ts = 5;
  hlt_util_builder_add(b, &ev, err, sizeof err);
  assert_int_equal(hlt_util_builder_finish(b, 10, &u, err, sizeof err), -1);
  assert_non_null(strstr(err, "STW_START while the world is stopped"));
}

static void test_flags_and_windows(void **state) {
  (void)state;
  unsigned f;
  char err[256];
  assert_int_equal(hlt_util_parse_flags("stw,perproc", &f, err, sizeof err),
                   0);
  assert_int_equal(f, HLT_UTIL_STW | HLT_UTIL_PERPROC);
  assert_int_equal(hlt_util_parse_flags("all", &f, err, sizeof err), 0);
  assert_int_equal(f, HLT_UTIL_STW | HLT_UTIL_BACKGROUND | HLT_UTIL_ASSIST |
                          HLT_UTIL_SWEEP);
  assert_int_equal(hlt_util_parse_flags("stw,bogus", &f, err, sizeof err), -1);
  assert_non_null(strstr(err, "bogus"));
  assert_int_equal(hlt_util_parse_flags("perproc", &f, err, sizeof err), -1);
  int64_t w[64];
  int n = hlt_mmu_windows(1000, 1000000, 10, w, 64);
  assert_int_equal(n, 31);
  assert_int_equal(w[0], 1000);
  assert_int_equal(w[10], 10000);
  assert_int_equal(w[n - 1], 1000000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_values),
      cmocka_unit_test(test_idle_workers_not_counted),
      cmocka_unit_test(test_random_vs_brute),
      cmocka_unit_test(test_builder_errors),
      cmocka_unit_test(test_flags_and_windows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
