/*
 * wl_smalllarge — small and large objects in phases; does RSS come back?
 *
 * T worker threads each build a live set of small objects (16..512 B) and
 * large objects (64 KiB..4 MiB, every page written), then free most of the
 * large objects at once, churn for a while, and free most of the rest. A
 * sampler thread reads the resident set size (/proc/self/statm) every
 * 10 ms; with --rss-out FILE the samples are written as "t_ms rss_kib"
 * lines (t from the start of the growth phase) after the phase marks as
 * "# phase NAME T_MS" comments. After a burst of frees, a good allocator's
 * RSS falls back (it returns the pages to the OS); a poor one keeps them.
 *
 * Phases (all threads move from one to the next together, at a barrier):
 * 1. growth  — allocate SMALL small objects and LARGE large ones,
 *              interleaved, with churn (every other step also replaces a
 *              random live small object).
 * 2. burst1  — free 90% of the large objects and half of the small ones.
 * 3. steady  — STEADY steps replacing a random small object; every 4000
 *              steps one of the remaining large objects is replaced too.
 * 4. burst2  — free all large objects and 90% of the small ones.
 * 5. idle    — with --idle-ms MS, sleep (the sampler keeps sampling) so
 *              the plot shows delayed release (e.g. a scavenger).
 * Phases 1–4 are timed; ops counts malloc calls plus free calls in them.
 * The result line adds each phase's duration and the RSS at its end.
 */
#include "wl_common.h"

#include <stdatomic.h>

static const char usage[] =
    "[-t THREADS] [-s SCALE] [--seed N] [--small N] [--large N] "
    "[--rss-out FILE] [--idle-ms MS]";

enum { BASE_STEADY = 6000000, SAMPLE_MS = 10, MAX_SAMPLES = 1 << 16 };
enum { SMALL_MIN = 16, SMALL_MAX = 512 };
enum { LARGE_MIN = 64 << 10, LARGE_MAX = 4 << 20 };

enum phase { GROWTH, BURST1, STEADY, BURST2, NPHASES };
static const char *const phase_names[NPHASES] = {"growth", "burst1", "steady",
                                                 "burst2"};

typedef struct obj {
  unsigned char *p;
  size_t n;
} obj_t;

typedef struct worker {
  pthread_t tid;
  int id;
  wl_rng_t rng;
  obj_t *small, *large;
  uint64_t ops, timed_ops;
} worker_t;

static wl_opts_t opts;
static size_t nsmall = 120000, nlarge = 48;
static uint64_t steady_steps;
static double idle_ms;
static const char *rss_out;
static pthread_barrier_t phase_barrier; /* workers + main */

/* Sampler state: main sets t0 before starting the sampler and stop to end
 * it; the samples are written by the sampler only and read after join. */
static struct {
  pthread_t tid;
  double t0;
  _Atomic int stop;
  size_t n;
  float t_ms[MAX_SAMPLES];
  long rss[MAX_SAMPLES];
} sampler;

static void *sampler_main(void *arg) {
  (void)arg;
  while (!atomic_load(&sampler.stop) && sampler.n < MAX_SAMPLES) {
    sampler.t_ms[sampler.n] = (float)((wl_now() - sampler.t0) * 1e3);
    sampler.rss[sampler.n] = wl_rss_kib();
    sampler.n++;
    wl_sleep_ms(SAMPLE_MS);
  }
  return NULL;
}

static inline uint64_t tag_of(const void *p, size_t n) {
  return (uint64_t)(uintptr_t)p + n;
}

static void small_alloc(worker_t *w, obj_t *o) {
  size_t n = wl_rand_range(&w->rng, SMALL_MIN, SMALL_MAX);
  o->p = malloc(n);
  if (!o->p) WL_FAIL("malloc(%zu) failed", n);
  o->n = n;
  wl_touch(o->p, n, tag_of(o->p, n));
  w->ops++;
}

/* Large objects have every page written, as a program filling a buffer
 * would, so that they count fully in RSS. */
static void large_alloc(worker_t *w, obj_t *o) {
  size_t n = wl_rand_range(&w->rng, LARGE_MIN, LARGE_MAX);
  o->p = malloc(n);
  if (!o->p) WL_FAIL("malloc(%zu) failed", n);
  o->n = n;
  for (size_t off = 0; off < n; off += 4096)
    o->p[off] = (unsigned char)off;
  wl_touch(o->p, n, tag_of(o->p, n));
  w->ops++;
}

static void obj_free(worker_t *w, obj_t *o) {
  if (!o->p) return;
  if (!wl_touched_ok(o->p, o->n, tag_of(o->p, o->n)))
    WL_FAIL("object %p (%zu bytes) was overwritten", (void *)o->p, o->n);
  free(o->p);
  o->p = NULL;
  w->ops++;
}

/* Frees each object of a[0..n) with probability num/den. */
static void burst_free(worker_t *w, obj_t *a, size_t n, unsigned num,
                       unsigned den) {
  for (size_t i = 0; i < n; i++)
    if (wl_rand_range(&w->rng, 0, den - 1) < num) obj_free(w, &a[i]);
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  w->rng = wl_rng_init(opts.seed, (uint64_t)w->id);
  w->small = calloc(nsmall, sizeof *w->small);
  w->large = calloc(nlarge, sizeof *w->large);
  WL_CHECK(w->small && w->large, "out of memory");

  pthread_barrier_wait(&phase_barrier); /* growth */
  size_t large_every = nlarge ? nsmall / nlarge : 0, nl = 0;
  for (size_t i = 0; i < nsmall; i++) {
    small_alloc(w, &w->small[i]);
    if (i % 2 && i > 0) {
      obj_t *o = &w->small[wl_rand_range(&w->rng, 0, i - 1)];
      obj_free(w, o);
      small_alloc(w, o);
    }
    if (large_every && i % large_every == 0 && nl < nlarge)
      large_alloc(w, &w->large[nl++]);
  }
  while (nl < nlarge)
    large_alloc(w, &w->large[nl++]);

  pthread_barrier_wait(&phase_barrier); /* burst1 */
  burst_free(w, w->large, nlarge, 9, 10);
  burst_free(w, w->small, nsmall, 1, 2);

  pthread_barrier_wait(&phase_barrier); /* steady */
  for (uint64_t s = 0; s < steady_steps; s++) {
    obj_t *o = &w->small[wl_rand_range(&w->rng, 0, nsmall - 1)];
    obj_free(w, o);
    small_alloc(w, o);
    if (s % 4000 == 3999 && nlarge) {
      /* Replace a large object that survived the burst, if any; the live
       * large set stays at ~10%. */
      o = &w->large[wl_rand_range(&w->rng, 0, nlarge - 1)];
      if (o->p) {
        obj_free(w, o);
        large_alloc(w, o);
      }
    }
  }

  pthread_barrier_wait(&phase_barrier); /* burst2 */
  burst_free(w, w->large, nlarge, 1, 1);
  burst_free(w, w->small, nsmall, 9, 10);

  pthread_barrier_wait(&phase_barrier); /* end of timed phases */
  w->timed_ops = w->ops;
  pthread_barrier_wait(&phase_barrier); /* end of idle: clean up */
  burst_free(w, w->small, nsmall, 1, 1);
  free(w->small);
  free(w->large);
  return NULL;
}

static void write_rss(const double *phase_ms) {
  FILE *f = fopen(rss_out, "w");
  if (!f) WL_FAIL("%s: %s", rss_out, strerror(errno));
  fprintf(f, "# wl_smalllarge threads=%d seed=%llu scale=%g\n", opts.threads,
          (unsigned long long)opts.seed, opts.scale);
  for (int p = 0; p < NPHASES; p++)
    fprintf(f, "# phase %s %.1f\n", phase_names[p], phase_ms[p]);
  fprintf(f, "# phase end %.1f\n# t_ms rss_kib\n", phase_ms[NPHASES]);
  for (size_t i = 0; i < sampler.n; i++)
    fprintf(f, "%.1f %ld\n", sampler.t_ms[i], sampler.rss[i]);
  if (fclose(f)) WL_FAIL("%s: %s", rss_out, strerror(errno));
}

int main(int argc, char **argv) {
  wl_opts_defaults(&opts);
  for (int i = 1; i < argc; i++) {
    if (wl_common_arg(&opts, usage, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--small"))
      nsmall = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 26);
    else if (!strcmp(argv[i], "--large"))
      nlarge = wl_opt_u64(usage, argc, argv, &i, 0, 1u << 20);
    else if (!strcmp(argv[i], "--rss-out"))
      rss_out = wl_arg_value(usage, argc, argv, &i);
    else if (!strcmp(argv[i], "--idle-ms"))
      idle_ms = wl_opt_double(usage, argc, argv, &i, 0, 600000);
    else
      wl_usage_error(argv[0], usage, "unknown option", argv[i]);
  }
  steady_steps = wl_scaled(BASE_STEADY, opts.scale, 1000);

  int t = opts.threads;
  worker_t *ws = calloc((size_t)t, sizeof *ws);
  WL_CHECK(ws, "out of memory");
  pthread_barrier_init(&phase_barrier, NULL, (unsigned)t + 1);
  for (int i = 0; i < t; i++) {
    ws[i].id = i;
    wl_thread_create(&ws[i].tid, worker_main, &ws[i]);
  }
  sampler.t0 = wl_now();
  wl_thread_create(&sampler.tid, sampler_main, NULL);

  /* phase_ms[p] = start of phase p; phase_ms[NPHASES] = end of burst2. */
  double phase_ms[NPHASES + 1];
  long phase_rss[NPHASES];
  for (int p = 0; p <= NPHASES; p++) {
    pthread_barrier_wait(&phase_barrier);
    phase_ms[p] = (wl_now() - sampler.t0) * 1e3;
    if (p > 0) phase_rss[p - 1] = wl_rss_kib();
  }
  if (idle_ms > 0) wl_sleep_ms(idle_ms);
  long rss_idle = wl_rss_kib();
  /* The trace ends here: the clean-up that follows is not a phase. */
  atomic_store(&sampler.stop, 1);
  wl_thread_join(sampler.tid);
  pthread_barrier_wait(&phase_barrier);
  uint64_t ops = 0;
  for (int i = 0; i < t; i++) {
    wl_thread_join(ws[i].tid);
    ops += ws[i].timed_ops;
  }
  pthread_barrier_destroy(&phase_barrier);
  free(ws);
  if (rss_out) write_rss(phase_ms);

  wl_result_begin("wl_smalllarge", &opts);
  printf(" small=%zu large=%zu", nsmall, nlarge);
  for (int p = 0; p < NPHASES; p++)
    printf(" %s_ms=%.1f rss_after_%s_kib=%ld", phase_names[p],
           phase_ms[p + 1] - phase_ms[p], phase_names[p], phase_rss[p]);
  printf(" idle_ms=%g rss_after_idle_kib=%ld", idle_ms, rss_idle);
  wl_result_end(ops, (phase_ms[NPHASES] - phase_ms[GROWTH]) / 1e3);
  return 0;
}
