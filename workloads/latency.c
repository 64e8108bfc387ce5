/*
 * workloads/latency.c — latency histograms and collector figures shared
 * by the latency workloads (msgring, lrucache, prodcons) and ptrscalar.
 *
 * Entry points: wl_lat_new, wl_lat_record, wl_lat_merge, wl_lat_quantile,
 * wl_lat_report, wl_gc_mark, wl_gc_figures (internal.h).
 *
 * Rejected: keeping every sample and sorting at the end. msgring's default
 * run records a million pushes (8 MB of samples and a sort that takes a
 * tenth of the run); the histogram costs a few instructions per sample and
 * 30 KiB, and 1.6% resolution is finer than the run-to-run noise.
 */
#include "workloads/internal.h"

#include "heaplab/gc.h"

#include <stdlib.h>

/* Buckets 0..127: the value itself. A value with highest set bit e >= 7
 * keeps its top 7 bits m (64..127): bucket 128 + (e - 7) * 64 + m - 64. */
static unsigned lat_index(uint64_t v) {
  if (v < 128) return (unsigned)v;
  unsigned e = 63u - (unsigned)__builtin_clzll(v);
  unsigned m = (unsigned)(v >> (e - 6));
  return 128u + (e - 7u) * 64u + (m - 64u);
}

/* The largest value that lands in bucket i. */
static uint64_t lat_upper(unsigned i) {
  if (i < 128) return i;
  unsigned e = (i - 128u) / 64u + 7u;
  uint64_t m = (i - 128u) % 64u + 64u;
  return ((m + 1) << (e - 6)) - 1;
}

wl_lat_t *wl_lat_new(void) { return calloc(1, sizeof(wl_lat_t)); }

void wl_lat_record(wl_lat_t *h, int64_t ns) {
  uint64_t v = ns < 0 ? 0 : (uint64_t)ns;
  if (h->count == 0 || v < h->min) h->min = v;
  if (v > h->max) h->max = v;
  h->count++;
  h->sum += v;
  h->bucket[lat_index(v)]++;
}

void wl_lat_merge(wl_lat_t *into, const wl_lat_t *from) {
  if (from->count == 0) return;
  if (into->count == 0 || from->min < into->min) into->min = from->min;
  if (from->max > into->max) into->max = from->max;
  into->count += from->count;
  into->sum += from->sum;
  for (unsigned i = 0; i < WL_LAT_BUCKETS; i++)
    into->bucket[i] += from->bucket[i];
}

uint64_t wl_lat_quantile(const wl_lat_t *h, double q) {
  if (h->count == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)h->count);
  if ((double)rank < q * (double)h->count) rank++; /* ceil */
  if (rank < 1) rank = 1;
  if (rank > h->count) rank = h->count;
  uint64_t seen = 0;
  for (unsigned i = 0; i < WL_LAT_BUCKETS; i++) {
    seen += h->bucket[i];
    if (seen >= rank) {
      uint64_t u = lat_upper(i);
      return u < h->max ? u : h->max;
    }
  }
  return h->max; /* not reached: the buckets sum to count */
}

void wl_lat_report(wl_metrics_t *m, const wl_lat_t *h) {
  wl_metric(m, "lat_p50", "ns", (double)wl_lat_quantile(h, 0.50));
  wl_metric(m, "lat_p99", "ns", (double)wl_lat_quantile(h, 0.99));
  wl_metric(m, "lat_p999", "ns", (double)wl_lat_quantile(h, 0.999));
  wl_metric(m, "lat_max", "ns", (double)h->max);
  wl_metric(m, "lat_mean", "ns",
            h->count ? (double)h->sum / (double)h->count : 0.0);
  wl_metric(m, "lat_count", "", (double)h->count);
}

/* hl_gc_stats_t holds two 256-entry pause tables (4 KiB): malloc'ed
 * rather than on a goroutine's stack. */
void wl_gc_mark(wl_gc_mark_t *g) {
  hl_gc_stats_t *st = malloc(sizeof *st);
  if (st == NULL) {
    *g = (wl_gc_mark_t){0, 0};
    return;
  }
  hl_gc_stats(st);
  *g = (wl_gc_mark_t){st->numgc, st->mark_worker_ns + st->assist_ns};
  free(st);
}

void wl_gc_figures(wl_metrics_t *m, const wl_gc_mark_t *before) {
  hl_gc_stats_t *st = malloc(sizeof *st);
  if (st == NULL) return;
  hl_gc_stats(st);
  uint64_t cycles = st->numgc - before->numgc;
  uint64_t pmax = 0;
  for (uint64_t i = 0; i < cycles && i < HL_GC_PAUSES; i++) {
    uint64_t p = st->pause_ns[(st->numgc - 1 - i) % HL_GC_PAUSES];
    if (p > pmax) pmax = p;
  }
  wl_metric(m, "gc_cycles", "", (double)cycles);
  wl_metric(m, "gc_pause_max", "ns", (double)pmax);
  wl_metric(m, "gc_mark_cpu", "ns",
            (double)(st->mark_worker_ns + st->assist_ns - before->mark_ns));
  free(st);
}
