/*
 * wl_sizemix — thread-local churn over a live set of mixed small sizes.
 *
 * Each of T threads keeps a live set of L objects and, N times, replaces a
 * random one: free the old object, malloc a new one of a uniform random
 * size in [min, max], touch its first and last bytes. All frees are local,
 * so this measures the allocator's thread-local fast paths and how well it
 * packs a fragmented live set (peak RSS).
 *
 * 1. Each thread fills its live set (not timed).
 * 2. All threads start together (barrier) and do N replacements each.
 * 3. Each thread checks and frees its live set (not timed).
 * ops = T * N replacements (one free + one malloc each).
 */
#include "wl_common.h"

static const char usage[] =
    "[-t THREADS] [-s SCALE] [--seed N] [--live L] [--min BYTES] "
    "[--max BYTES]";

enum { BASE_ITERS = 20000000 };

typedef struct worker {
  pthread_t tid;
  int id;
  uint64_t iters;
  double t_start, t_end;
} worker_t;

static wl_opts_t opts;
static size_t live = 20000, min_size = 8, max_size = 1024;
static pthread_barrier_t start_barrier;

typedef struct slot {
  void *p;
  size_t n;
} slot_t;

static void *worker_main(void *arg) {
  worker_t *w = arg;
  wl_rng_t rng = wl_rng_init(opts.seed, (uint64_t)w->id);
  slot_t *slots = malloc(live * sizeof *slots);
  WL_CHECK(slots, "out of memory");
  for (size_t i = 0; i < live; i++) {
    size_t n = wl_rand_range(&rng, min_size, max_size);
    slots[i].p = malloc(n);
    slots[i].n = n;
    WL_CHECK(slots[i].p, "malloc(%zu) failed", n);
    wl_touch(slots[i].p, n, (uint64_t)(uintptr_t)slots[i].p);
  }
  pthread_barrier_wait(&start_barrier);
  w->t_start = wl_now();
  for (uint64_t it = 0; it < w->iters; it++) {
    uint64_t r = wl_rand(&rng);
    size_t i = (size_t)(((r >> 32) * live) >> 32);
    size_t n = min_size +
               (size_t)(((r & 0xffffffffu) * (max_size - min_size + 1)) >> 32);
    free(slots[i].p);
    void *p = malloc(n);
    if (!p) WL_FAIL("malloc(%zu) failed", n);
    wl_touch(p, n, (uint64_t)(uintptr_t)p);
    slots[i].p = p;
    slots[i].n = n;
  }
  w->t_end = wl_now();
  for (size_t i = 0; i < live; i++) {
    WL_CHECK(
        wl_touched_ok(slots[i].p, slots[i].n, (uint64_t)(uintptr_t)slots[i].p),
        "object %p (%zu bytes) was overwritten", slots[i].p, slots[i].n);
    free(slots[i].p);
  }
  free(slots);
  return NULL;
}

int main(int argc, char **argv) {
  wl_opts_defaults(&opts);
  for (int i = 1; i < argc; i++) {
    if (wl_common_arg(&opts, usage, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--live"))
      live = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 26);
    else if (!strcmp(argv[i], "--min"))
      min_size = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 30);
    else if (!strcmp(argv[i], "--max"))
      max_size = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 30);
    else
      wl_usage_error(argv[0], usage, "unknown option", argv[i]);
  }
  if (max_size < min_size)
    wl_usage_error(argv[0], usage, "--max is below --min", NULL);

  uint64_t iters = wl_scaled(BASE_ITERS, opts.scale, 1000);
  worker_t *ws = calloc((size_t)opts.threads, sizeof *ws);
  WL_CHECK(ws, "out of memory");
  pthread_barrier_init(&start_barrier, NULL, (unsigned)opts.threads);
  for (int i = 0; i < opts.threads; i++) {
    ws[i].id = i;
    ws[i].iters = iters;
    wl_thread_create(&ws[i].tid, worker_main, &ws[i]);
  }
  double t0 = 1e300, t1 = 0;
  for (int i = 0; i < opts.threads; i++) {
    wl_thread_join(ws[i].tid);
    if (ws[i].t_start < t0) t0 = ws[i].t_start;
    if (ws[i].t_end > t1) t1 = ws[i].t_end;
  }
  pthread_barrier_destroy(&start_barrier);
  free(ws);

  wl_result_begin("wl_sizemix", &opts);
  printf(" live=%zu min=%zu max=%zu", live, min_size, max_size);
  wl_result_end(iters * (uint64_t)opts.threads, t1 - t0);
  return 0;
}
