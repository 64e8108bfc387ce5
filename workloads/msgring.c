/*
 * workloads/msgring.c — message-buffer latency, the Go GC latency
 * benchmark (a ring of recent messages; definition in workloads.h).
 *
 * Entry point: wl_msgring_run.
 *
 * The Go program it mirrors keeps `var buffer [windowSize][]byte` and
 * times `buffer[n % windowSize] = newMsg(n)`. Here:
 *   1. the ring is a collected array of struct wl_msgslot (one pointer
 *      each), reachable from this goroutine's stack: the collector scans
 *      it (as oblets) every cycle, and each replacement is an HL_STORE;
 *   2. a push is timed from just before the allocation to just after the
 *      store: what a latency-sensitive request would see, including an
 *      allocation that assists, sweeps or waits for a stop-the-world;
 *   3. the message is filled (its number, then the number's low byte) so
 *      that a message freed while still in the ring, and reused, shows up
 *      in the final check.
 * hl_nanotime costs some 20 ns, part of every sample: a push takes about
 * ten times that, and the tail, the point of the benchmark, is in the
 * tens or hundreds of microseconds.
 */
#include "workloads/internal.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void *msg_new(long n, long size) {
  uint8_t *b = hl_alloc_noscan((size_t)size);
  uint64_t v = (uint64_t)n;
  memcpy(b, &v, sizeof v);
  memset(b + sizeof v, (int)(n & 0xff), (size_t)size - sizeof v);
  return b;
}

/* 1 if message n of size bytes is intact. */
static int msg_ok(const uint8_t *b, long n, long size) {
  uint64_t v;
  memcpy(&v, b, sizeof v);
  if (v != (uint64_t)n) return 0;
  for (long i = (long)sizeof v; i < size; i++)
    if (b[i] != (uint8_t)(n & 0xff)) return 0;
  return 1;
}

int wl_msgring_run(const wl_msgring_params_t *p, FILE *out, wl_metrics_t *m) {
  if (p->window < 1 || p->window > 100000000 || p->messages < 1 ||
      p->messages > 10000000000L || p->size < 16 || p->size > (1L << 20))
    return -EINVAL;
  wl_lat_t *lat = wl_lat_new();
  if (lat == NULL) return -ENOMEM;
  *m = (wl_metrics_t){0};
  wl_gc_mark_t gc0;
  wl_gc_mark(&gc0);

  /* 1. the ring */
  int64_t t0 = hl_nanotime();
  struct wl_msgslot *ring = hl_new_array(
      HL_TYPE(struct wl_msgslot, msg), (size_t)p->window);

  /* 2. the pushes */
  for (long n = 0; n < p->messages; n++) {
    int64_t a = hl_nanotime();
    void *msg = msg_new(n, p->size);
    HL_STORE(ring[n % p->window].msg, msg);
    int64_t b = hl_nanotime();
    wl_lat_record(lat, b - a);
  }
  int64_t t1 = hl_nanotime();

  /* 3. the ring's content: slot s holds the last n with n % window == s */
  int intact = 1;
  uint64_t check = 0, expected = 0;
  long first = p->messages > p->window ? p->messages - p->window : 0;
  for (long n = first; n < p->messages; n++)
    expected += wl_mix64((uint64_t)n);
  for (long s = 0; s < p->window && s < p->messages; s++) {
    const uint8_t *b = ring[s].msg;
    uint64_t v;
    memcpy(&v, b, sizeof v);
    if (!msg_ok(b, (long)v, p->size) || (long)(v % (uint64_t)p->window) != s)
      intact = 0;
    check += wl_mix64(v);
  }
  int64_t t2 = hl_nanotime();

  m->wall_ns = t2 - t0;
  m->check = check;
  m->expected = expected;
  m->objects = (uint64_t)p->messages + 1;
  m->bytes = (uint64_t)p->messages * (uint64_t)p->size +
             (uint64_t)p->window * sizeof(struct wl_msgslot);
  m->ok = intact && check == expected && lat->count == (uint64_t)p->messages;
  wl_lat_report(m, lat);
  wl_metric(m, "pushes_per_s", "ops/s",
            (double)p->messages * 1e9 / (double)(t1 - t0 > 0 ? t1 - t0 : 1));
  wl_gc_figures(m, &gc0);
  if (out != NULL)
    fprintf(out,
            "msgring: %ld pushes of %ld bytes, window %ld: p50 %" PRIu64
            " ns, p99 %" PRIu64 " ns, p99.9 %" PRIu64 " ns, worst %" PRIu64
            " ns%s\n",
            p->messages, p->size, p->window, wl_lat_quantile(lat, 0.5),
            wl_lat_quantile(lat, 0.99), wl_lat_quantile(lat, 0.999),
            lat->max, m->ok ? "" : " (CHECK FAILED)");
  free(lat);
  return 0;
}
