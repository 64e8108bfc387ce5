/*
 * workloads/internal.h — what the workloads share and the table does not
 * export: a seeded random generator, a 64-bit mixer, latency histograms
 * and the collector figures recorded around a run.
 *
 * Grouped by defining file:
 *   inline here   wl_splitmix64, wl_mix64, wl_rand_below
 *   latency.c     wl_lat_* (histograms), wl_gc_mark/wl_gc_figures
 */
#ifndef HEAPLAB_WORKLOADS_INTERNAL_H
#define HEAPLAB_WORKLOADS_INTERNAL_H

#include "workloads/workloads.h"

#include <stdint.h>

/* ------------------------------------------------------------- randomness
 *
 * splitmix64 (Steele, Lea and Flood): one 64-bit word of state, every seed
 * valid, and the streams of two seeds differ from the first output on. The
 * workloads seed one stream per goroutine (seed ^ mix(goroutine index)) so
 * that what each goroutine draws does not depend on scheduling. */
static inline uint64_t wl_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static inline uint64_t wl_splitmix64(uint64_t *state) {
  *state += UINT64_C(0x9e3779b97f4a7c15);
  return wl_mix64(*state);
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias for the
 * ranges used here, n < 2^32, is below 2^-32). */
static inline uint64_t wl_rand_below(uint64_t *state, uint64_t n) {
  return (uint64_t)(((unsigned __int128)wl_splitmix64(state) * n) >> 64);
}

/* Uniform double in [0, 1). */
static inline double wl_rand_unit(uint64_t *state) {
  return (double)(wl_splitmix64(state) >> 11) * 0x1.0p-53;
}

/* ---------------------------------------------------- latency histograms
 *
 * A log-linear histogram (HdrHistogram's layout): values below 128 ns
 * have a bucket each; above, every power of two is split into 64 buckets,
 * so a reported percentile is at most 1/64 (1.6%) above the true one. The
 * maximum, minimum, sum and count are exact. One histogram per goroutine
 * (no sharing while recording), merged after the goroutines are done.
 * About 30 KiB: allocate with wl_lat_new (malloc'ed; holds no pointers). */
#define WL_LAT_BUCKETS (128 + 57 * 64)

typedef struct wl_lat {
  uint64_t count, sum, min, max;
  uint64_t bucket[WL_LAT_BUCKETS];
} wl_lat_t;

/* A zeroed histogram, or NULL when malloc fails. Free with free(). */
wl_lat_t *wl_lat_new(void);
void wl_lat_record(wl_lat_t *h, int64_t ns); /* ns < 0 counts as 0 */
void wl_lat_merge(wl_lat_t *into, const wl_lat_t *from);
/* The value at quantile q (0 < q <= 1): the upper bound of the bucket that
 * holds the ceil(q * count)-th smallest value, never above the maximum
 * (so quantiles are ordered and the 1.0 quantile is the maximum). 0 for
 * an empty histogram. */
uint64_t wl_lat_quantile(const wl_lat_t *h, double q);
/* Records the common latency figures (workloads.h): lat_p50, lat_p99,
 * lat_p999, lat_max, lat_mean (ns) and lat_count. */
void wl_lat_report(wl_metrics_t *m, const wl_lat_t *h);

/* -------------------------------------------------- collector figures
 *
 * wl_gc_mark takes what hl_gc_stats says before a run; wl_gc_figures,
 * after it, records gc_cycles (cycles completed in between),
 * gc_pause_max (ns, the longest cycle's stop-the-world total among them,
 * from the last 256) and gc_mark_cpu (ns of mark work: background workers
 * plus assists). */
typedef struct wl_gc_mark {
  uint64_t numgc, mark_ns;
} wl_gc_mark_t;

void wl_gc_mark(wl_gc_mark_t *g);
void wl_gc_figures(wl_metrics_t *m, const wl_gc_mark_t *before);

#endif
