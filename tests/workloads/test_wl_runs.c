/*
 * tests/workloads/test_wl_runs.c — short runs of msgring, lrucache,
 * larson, prodcons, parser and ptrscalar (workloads/): each passes its own
 * checks, its checksum is the one computed here by hand where it has a
 * closed form, its figures have the right shape (percentiles ordered,
 * counts equal to the parameters) and runs with the same seed agree
 * whatever the scheduling. Also: the latency histogram against known
 * data, and parameter validation through the table.
 *
 * ctest runs this executable three times: with the default processors,
 * HLMAXPROCS=1 and HLMAXPROCS=2 (tests/workloads/CMakeLists.txt).
 * Runs inside the runtime (tests/sched/harness.h).
 */
#include "tests/sched/harness.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"
#include "workloads/internal.h"
#include "workloads/workloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The figure called name (the test fails if it is missing). */
static double fig(const wl_metrics_t *m, const char *name) {
  for (int i = 0; i < m->nextra; i++)
    if (strcmp(m->extra[i].name, name) == 0) return m->extra[i].value;
  fail_msg("figure %s not recorded", name);
  return 0;
}

/* The common latency figures: ordered, counted, in ns. */
static void assert_latency_shape(const wl_metrics_t *m, uint64_t count) {
  double p50 = fig(m, "lat_p50"), p99 = fig(m, "lat_p99"),
         p999 = fig(m, "lat_p999"), max = fig(m, "lat_max"),
         mean = fig(m, "lat_mean");
  assert_true(p50 <= p99);
  assert_true(p99 <= p999);
  assert_true(p999 <= max);
  assert_true(mean <= max);
  assert_true(max > 0);
  assert_int_equal((uint64_t)fig(m, "lat_count"), count);
}

static void assert_gc_shape(const wl_metrics_t *m) {
  assert_true(fig(m, "gc_cycles") >= 0);
  assert_true(fig(m, "gc_pause_max") >= 0);
  assert_true(fig(m, "gc_mark_cpu") >= 0);
}

/* ------------------------------------------------------------- histogram */

static void test_latency_histogram(void **state) {
  (void)state;
  wl_lat_t *h = wl_lat_new();
  assert_non_null(h);
  assert_int_equal(wl_lat_quantile(h, 0.5), 0);
  /* 1..100000 ns once each: the q quantile is q * 100000, within 1/64 */
  for (int64_t v = 1; v <= 100000; v++)
    wl_lat_record(h, v);
  const double qs[] = {0.5, 0.9, 0.99, 0.999};
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
    double want = qs[i] * 100000;
    double got = (double)wl_lat_quantile(h, qs[i]);
    assert_true(got >= want);
    assert_true(got <= want * (1 + 1.0 / 64));
  }
  assert_int_equal(wl_lat_quantile(h, 1.0), 100000);
  assert_int_equal(h->min, 1);
  assert_int_equal(h->max, 100000);
  /* small values are exact; a huge one lands in the top buckets */
  wl_lat_t *g = wl_lat_new();
  assert_non_null(g);
  for (int i = 0; i < 99; i++)
    wl_lat_record(g, 37);
  wl_lat_record(g, INT64_MAX);
  wl_lat_record(g, -5); /* counts as 0 */
  assert_int_equal(wl_lat_quantile(g, 0.5), 37);
  assert_int_equal(wl_lat_quantile(g, 1.0), INT64_MAX);
  assert_int_equal(g->min, 0);
  wl_lat_merge(h, g);
  assert_int_equal(h->count, 100000 + 101);
  assert_int_equal(h->max, INT64_MAX);
  assert_int_equal(h->min, 0);
  wl_metrics_t m = {0};
  wl_lat_report(&m, h);
  assert_latency_shape(&m, 100101);
  free(g);
  free(h);
}

/* --------------------------------------------------------------- msgring */

static void test_msgring_small(void **state) {
  (void)state;
  wl_msgring_params_t p = {.window = 1000, .messages = 5000, .size = 100};
  wl_metrics_t m;
  assert_int_equal(wl_msgring_run(&p, NULL, &m), 0);
  assert_int_equal(m.ok, 1);
  uint64_t want = 0;
  for (uint64_t n = 4000; n < 5000; n++)
    want += wl_mix64(n);
  assert_int_equal(m.check, want);
  assert_int_equal(m.expected, want);
  assert_int_equal(m.objects, 5001);
  assert_int_equal(m.bytes, 5000 * 100 + 1000 * 8);
  assert_latency_shape(&m, 5000);
  assert_true(fig(&m, "pushes_per_s") > 0);
  assert_gc_shape(&m);

  /* fewer pushes than slots: part of the ring stays empty */
  p = (wl_msgring_params_t){.window = 300, .messages = 120, .size = 16};
  assert_int_equal(wl_msgring_run(&p, NULL, &m), 0);
  assert_int_equal(m.ok, 1);
  want = 0;
  for (uint64_t n = 0; n < 120; n++)
    want += wl_mix64(n);
  assert_int_equal(m.check, want);
  assert_latency_shape(&m, 120);
}

/* -------------------------------------------------------------- lrucache */

static void test_lrucache_small(void **state) {
  (void)state;
  wl_lrucache_params_t p = WL_LRUCACHE_DEFAULTS;
  p.requests = 30001;
  p.keys = 5000;
  p.capacity = 500;
  p.goroutines = 3;
  wl_metrics_t m, again;
  assert_int_equal(wl_lrucache_run(&p, NULL, &m), 0);
  assert_int_equal(m.ok, 1);
  assert_int_equal(m.check, m.expected);
  assert_latency_shape(&m, 30001);
  double hits = fig(&m, "hits"), ev = fig(&m, "evictions");
  assert_true(hits > 0 && hits < 30001);
  assert_true(fig(&m, "hit_rate") > 0.3); /* Zipf 0.99 over 10% of keys */
  /* every miss inserts; all but the capacity were evicted */
  assert_true(ev >= 30001 - hits - 500);
  assert_true(ev <= 30001 - hits);
  assert_int_equal(m.objects, 2 * (30001 - (uint64_t)hits) + 3);
  assert_gc_shape(&m);

  /* the same seed: the same streams, whatever the interleaving */
  assert_int_equal(wl_lrucache_run(&p, NULL, &again), 0);
  assert_int_equal(again.check, m.check);
  assert_int_equal((uint64_t)fig(&again, "hits"), (uint64_t)hits);

  /* uniform keys hit less than skewed ones */
  p.skew = 0;
  assert_int_equal(wl_lrucache_run(&p, NULL, &again), 0);
  assert_int_equal(again.ok, 1);
  assert_true(fig(&again, "hit_rate") < fig(&m, "hit_rate"));

  /* everything fits: no eviction, the misses are the distinct keys */
  p = (wl_lrucache_params_t)WL_LRUCACHE_DEFAULTS;
  p.requests = 20000;
  p.keys = 50;
  p.capacity = 100;
  p.goroutines = 1;
  assert_int_equal(wl_lrucache_run(&p, NULL, &m), 0);
  assert_int_equal(m.ok, 1);
  assert_int_equal((uint64_t)fig(&m, "evictions"), 0);
  assert_true(fig(&m, "hits") >= 20000 - 50);
  /* one key: one miss */
  p.keys = 1;
  assert_int_equal(wl_lrucache_run(&p, NULL, &m), 0);
  assert_int_equal(m.ok, 1);
  assert_int_equal((uint64_t)fig(&m, "hits"), 20000 - 1);
  assert_int_equal(m.expected, 20000 * wl_mix64(0));
}

/* ---------------------------------------------------------------- larson */

static void test_larson_small(void **state) {
  (void)state;
  wl_larson_params_t p = {.goroutines = 3,
                          .slots = 200,
                          .min_size = 16,
                          .max_size = 300,
                          .ops = 500,
                          .rounds = 5,
                          .seed = 7};
  wl_metrics_t m;
  assert_int_equal(wl_larson_run(&p, NULL, &m), 0);
  assert_int_equal(m.ok, 1);
  const uint64_t n = 200 + 5 * 500;
  uint64_t want = 0;
  for (uint64_t g = 0; g < 3; g++)
    for (uint64_t c = 0; c < n; c++)
      want += g << 40 | c;
  assert_int_equal(m.check, want);
  assert_int_equal(m.expected, want);
  assert_int_equal(m.objects, 3 * (n + 1));
  assert_true(m.bytes >= 3 * n * 16 + 3 * 200 * 8);
  assert_true(m.bytes <= 3 * n * 300 + 3 * 200 * 8);
  assert_true(fig(&m, "ops_per_s") > 0);
  assert_gc_shape(&m);

  /* one goroutine hands its array to itself; fixed sizes */
  p = (wl_larson_params_t){.goroutines = 1,
                           .slots = 1,
                           .min_size = 64,
                           .max_size = 64,
                           .ops = 10,
                           .rounds = 3,
                           .seed = 1};
  assert_int_equal(wl_larson_run(&p, NULL, &m), 0);
  assert_int_equal(m.ok, 1);
  assert_int_equal(m.check, 31 * 30 / 2);
  assert_int_equal(m.bytes, 31 * 64 + 8);
}

/* -------------------------------------------------------------- prodcons */

static void test_prodcons_small(void **state) {
  (void)state;
  const long shapes[][3] = {{3, 2, 4}, {1, 1, 0}, {2, 5, 1}, {1, 3, 1000}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    wl_prodcons_params_t p = {.producers = shapes[i][0],
                              .consumers = shapes[i][1],
                              .capacity = shapes[i][2],
                              .messages = 10001,
                              .size = 40};
    wl_metrics_t m;
    assert_int_equal(wl_prodcons_run(&p, NULL, &m), 0);
    assert_int_equal(m.ok, 1);
    assert_int_equal(m.check, 10001ULL * 10000 / 2);
    assert_int_equal(m.expected, m.check);
    assert_int_equal(m.objects, 2 * 10001);
    assert_int_equal(m.bytes, 10001 * (40 + sizeof(struct wl_pcmsg)));
    assert_latency_shape(&m, 10001);
    assert_true(fig(&m, "msgs_per_s") > 0);
    assert_gc_shape(&m);
  }
}

/* ---------------------------------------------------------------- parser */

static void test_parser_small(void **state) {
  (void)state;
  wl_parser_params_t p = {.documents = 30, .doc_size = 2000, .keep = 4,
                          .seed = 3};
  wl_metrics_t m, again;
  assert_int_equal(wl_parser_run(&p, NULL, &m), 0);
  assert_int_equal(m.ok, 1);
  assert_int_equal(m.check, m.expected);
  double tokens = fig(&m, "tokens"), text = fig(&m, "text_bytes");
  assert_true(text >= 30 * 2000 && text < 30 * (2000 + 16));
  /* tokens of 1..12 characters and at least one separator each */
  assert_true(tokens > text / 14 && tokens < text / 2);
  assert_int_equal(m.objects, 1 + 30 + 2 * (uint64_t)tokens);
  assert_true(fig(&m, "docs_per_s") > 0);
  assert_gc_shape(&m);

  /* deterministic in the seed; another seed, another text */
  assert_int_equal(wl_parser_run(&p, NULL, &again), 0);
  assert_int_equal(again.check, m.check);
  assert_int_equal(fig(&again, "tokens"), tokens);
  p.seed = 4;
  assert_int_equal(wl_parser_run(&p, NULL, &again), 0);
  assert_int_equal(again.ok, 1);
  assert_true(again.check != m.check);
  /* nothing kept */
  p.keep = 0;
  p.documents = 3;
  assert_int_equal(wl_parser_run(&p, NULL, &again), 0);
  assert_int_equal(again.ok, 1);
}

/* ------------------------------------------------------------- ptrscalar */

static void test_ptrscalar_small(void **state) {
  (void)state;
  wl_ptrscalar_params_t p = {.records = 5000, .passes = 3, .mode = 0,
                             .seed = 9};
  wl_metrics_t ptr, sca;
  assert_int_equal(wl_ptrscalar_run(&p, NULL, &ptr), 0);
  p.mode = 1;
  assert_int_equal(wl_ptrscalar_run(&p, NULL, &sca), 0);
  assert_int_equal(ptr.ok, 1);
  assert_int_equal(sca.ok, 1);
  /* the same data, the same arithmetic */
  assert_int_equal(ptr.check, sca.check);
  assert_int_equal(ptr.expected, sca.expected);
  assert_int_equal(ptr.objects, 5001);
  assert_int_equal(sca.objects, 4);
  assert_true(fig(&ptr, "gc_cycles") >= 3);
  assert_true(fig(&sca, "gc_cycles") >= 3);
  assert_true(fig(&ptr, "gc_ns") > 0 && fig(&sca, "pass_ns") > 0);
  assert_gc_shape(&ptr);
  /* by hand for two records, one pass: other[] drawn from seed 9 */
  p = (wl_ptrscalar_params_t){.records = 2, .passes = 1, .mode = 0,
                              .seed = 9};
  uint64_t rng = 9, o[2];
  o[0] = wl_rand_below(&rng, 2);
  o[1] = wl_rand_below(&rng, 2);
  uint64_t a[2] = {wl_mix64(0), wl_mix64(1)}, b[2] = {0, 1};
  for (int i = 0; i < 2; i++) {
    a[i] += b[o[i]];
    b[i] ^= a[i] >> 3;
  }
  assert_int_equal(wl_ptrscalar_run(&p, NULL, &ptr), 0);
  assert_int_equal(ptr.check, a[0] + b[0] + a[1] + b[1]);
  assert_int_equal(ptr.ok, 1);
}

/* ------------------------------------------------------------ parameters */

/* wl_set(option) on workload name: -EINVAL, and the error names want. */
static void assert_rejected(const char *name, const char *option,
                            const char *want) {
  const wl_workload_t *w = wl_find(name);
  assert_non_null(w);
  long v[WL_MAX_PARAMS];
  wl_defaults(w, v);
  char *err = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&err, &len);
  assert_non_null(f);
  assert_int_equal(wl_set(w, v, option, f), -EINVAL);
  fclose(f);
  if (strstr(err, want) == NULL)
    fail_msg("%s %s: error '%s' does not name '%s'", name, option, err, want);
  free(err);
}

static void test_parameters(void **state) {
  (void)state;
  assert_rejected("msgring", "size=8", "size wants an integer in 16..");
  assert_rejected("msgring", "window=0", "window wants an integer in 1..");
  assert_rejected("msgring", "messages=-1", "messages wants");
  assert_rejected("lrucache", "skew=100", "skew wants an integer in 0..99");
  assert_rejected("lrucache", "goroutines=0", "goroutines wants");
  assert_rejected("lrucache", "value_size=4", "value_size wants");
  assert_rejected("larson", "min_size=15", "min_size wants");
  assert_rejected("larson", "rounds=0", "rounds wants");
  assert_rejected("prodcons", "capacity=-1", "capacity wants");
  assert_rejected("prodcons", "producers=2000", "producers wants");
  assert_rejected("parser", "doc_size=10", "doc_size wants");
  assert_rejected("parser", "keep=x", "keep wants");
  assert_rejected("ptrscalar", "mode=2", "mode wants an integer in 0..1");
  assert_rejected("ptrscalar", "record=5", "unknown option 'record'");

  /* out of range in the struct: -EINVAL, nothing run; and the limits
   * that span two parameters */
  wl_metrics_t m;
  wl_msgring_params_t mr = WL_MSGRING_DEFAULTS;
  mr.size = 15;
  assert_int_equal(wl_msgring_run(&mr, NULL, &m), -EINVAL);
  wl_lrucache_params_t lru = WL_LRUCACHE_DEFAULTS;
  lru.capacity = 3;
  lru.goroutines = 4; /* a shard without room */
  assert_int_equal(wl_lrucache_run(&lru, NULL, &m), -EINVAL);
  wl_larson_params_t la = WL_LARSON_DEFAULTS;
  la.max_size = la.min_size - 1;
  assert_int_equal(wl_larson_run(&la, NULL, &m), -EINVAL);
  la = (wl_larson_params_t)WL_LARSON_DEFAULTS;
  la.ops = 100000000;
  la.rounds = 1000000; /* ids beyond 40 bits */
  assert_int_equal(wl_larson_run(&la, NULL, &m), -EINVAL);
  wl_prodcons_params_t pc = WL_PRODCONS_DEFAULTS;
  pc.consumers = 0;
  assert_int_equal(wl_prodcons_run(&pc, NULL, &m), -EINVAL);
  wl_parser_params_t ps = WL_PARSER_DEFAULTS;
  ps.documents = 0;
  assert_int_equal(wl_parser_run(&ps, NULL, &m), -EINVAL);
  wl_ptrscalar_params_t psc = WL_PTRSCALAR_DEFAULTS;
  psc.records = 1;
  assert_int_equal(wl_ptrscalar_run(&psc, NULL, &m), -EINVAL);
}

/* The table's defaults are the structs' defaults, field by field, and a
 * run through the table is the direct call. */
static void test_table_defaults(void **state) {
  (void)state;
  long v[WL_MAX_PARAMS];
  wl_msgring_params_t mr = WL_MSGRING_DEFAULTS;
  wl_defaults(wl_find("msgring"), v);
  assert_true(v[0] == mr.window && v[1] == mr.messages && v[2] == mr.size);
  wl_lrucache_params_t lru = WL_LRUCACHE_DEFAULTS;
  wl_defaults(wl_find("lrucache"), v);
  assert_true(v[0] == lru.requests && v[1] == lru.keys &&
              v[2] == lru.capacity && v[3] == lru.skew &&
              v[4] == lru.value_size && v[5] == lru.goroutines &&
              v[6] == lru.seed);
  wl_larson_params_t la = WL_LARSON_DEFAULTS;
  wl_defaults(wl_find("larson"), v);
  assert_true(v[0] == la.goroutines && v[1] == la.slots &&
              v[2] == la.min_size && v[3] == la.max_size && v[4] == la.ops &&
              v[5] == la.rounds && v[6] == la.seed);
  wl_prodcons_params_t pc = WL_PRODCONS_DEFAULTS;
  wl_defaults(wl_find("prodcons"), v);
  assert_true(v[0] == pc.producers && v[1] == pc.consumers &&
              v[2] == pc.capacity && v[3] == pc.messages && v[4] == pc.size);
  wl_parser_params_t ps = WL_PARSER_DEFAULTS;
  wl_defaults(wl_find("parser"), v);
  assert_true(v[0] == ps.documents && v[1] == ps.doc_size &&
              v[2] == ps.keep && v[3] == ps.seed);
  wl_ptrscalar_params_t psc = WL_PTRSCALAR_DEFAULTS;
  wl_defaults(wl_find("ptrscalar"), v);
  assert_true(v[0] == psc.records && v[1] == psc.passes &&
              v[2] == psc.mode && v[3] == psc.seed);

  /* through the table, one strategy ("none"), a summary line */
  const wl_workload_t *w = wl_find("prodcons");
  assert_int_equal(wl_strategy(w, "none", NULL), 0);
  wl_defaults(w, v);
  assert_int_equal(wl_set(w, v, "messages=500", NULL), 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  wl_metrics_t m;
  assert_int_equal(w->run(v, 0, f, &m), 0);
  fclose(f);
  assert_int_equal(m.ok, 1);
  assert_int_equal(m.check, 500 * 499 / 2);
  assert_non_null(strstr(buf, "prodcons: 2 producers, 2 consumers"));
  assert_null(strstr(buf, "CHECK FAILED"));
  free(buf);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_latency_histogram),
    cmocka_unit_test(test_msgring_small),
    cmocka_unit_test(test_lrucache_small),
    cmocka_unit_test(test_larson_small),
    cmocka_unit_test(test_prodcons_small),
    cmocka_unit_test(test_parser_small),
    cmocka_unit_test(test_ptrscalar_small),
    cmocka_unit_test(test_parameters),
    cmocka_unit_test(test_table_defaults),
};

HL_SCHED_TEST_MAIN(tests)
