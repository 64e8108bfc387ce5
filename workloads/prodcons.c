/*
 * workloads/prodcons.c — producers and consumers over a heaplab channel
 * (definition in workloads.h).
 *
 * Entry point: wl_prodcons_run.
 *
 * The Go program it mirrors: `ch := make(chan *Msg, K)`, P goroutines
 * sending `&Msg{payload: make([]byte, size), sent: time.Now()}`, C
 * goroutines ranging over ch, and a closer that waits for the producers.
 *   1. the channel carries one pointer per element; while a message sits
 *      in the buffer, the buffer (scanned as a root, sched/chan.c) keeps it
 *      alive, and the channel shades what it copies while the collector
 *      marks;
 *   2. a producer allocates the payload and the message, fills them, and
 *      stamps sent_ns last, just before hl_chan_send: the latency counts
 *      the time in the channel (queueing and wake-up), not the producer's
 *      allocation;
 *   3. the main goroutine waits for the producers, closes the channel and
 *      waits for the consumers, which leave their loop when the channel is
 *      closed and drained.
 * A payload: its id in the first 8 bytes, then the byte wl_mix64(id) & 0xff.
 */
#include "workloads/internal.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct producer {
  const wl_prodcons_params_t *p;
  hl_chan_t *ch;
  hl_waitgroup_t *wg;
  uint64_t first;
};

/* Written by its goroutine only; read after the waitgroup. */
struct consumer {
  const wl_prodcons_params_t *p;
  hl_chan_t *ch;
  hl_waitgroup_t *wg;
  uint64_t received, check;
  int ok;
  wl_lat_t *lat;
};

static const hl_type_t *msg_type(void) {
  return HL_TYPE(struct wl_pcmsg, payload);
}

static void producer_run(void *arg) {
  struct producer *pr = arg;
  const uint64_t n = (uint64_t)pr->p->messages;
  const size_t size = (size_t)pr->p->size;
  for (uint64_t id = pr->first; id < n; id += (uint64_t)pr->p->producers) {
    uint8_t *pl = hl_alloc_noscan(size);
    memcpy(pl, &id, sizeof id);
    memset(pl + sizeof id, (int)(wl_mix64(id) & 0xff), size - sizeof id);
    struct wl_pcmsg *msg = hl_new(msg_type());
    HL_STORE(msg->payload, pl);
    msg->id = id;
    msg->sent_ns = hl_nanotime();
    hl_chan_send(pr->ch, &msg);
  }
  hl_waitgroup_done(pr->wg);
}

static int payload_ok(const uint8_t *pl, uint64_t id, size_t size) {
  uint64_t v;
  memcpy(&v, pl, sizeof v);
  if (v != id) return 0;
  const uint8_t b = (uint8_t)(wl_mix64(id) & 0xff);
  for (size_t i = sizeof v; i < size; i++)
    if (pl[i] != b) return 0;
  return 1;
}

static void consumer_run(void *arg) {
  struct consumer *c = arg;
  struct wl_pcmsg *msg = NULL;
  while (hl_chan_recv(c->ch, &msg)) {
    wl_lat_record(c->lat, hl_nanotime() - msg->sent_ns);
    if (!payload_ok(msg->payload, msg->id, (size_t)c->p->size)) c->ok = 0;
    c->check += msg->id;
    c->received++;
  }
  hl_waitgroup_done(c->wg);
}

int wl_prodcons_run(const wl_prodcons_params_t *p, FILE *out,
                    wl_metrics_t *m) {
  if (p->producers < 1 || p->producers > 1024 || p->consumers < 1 ||
      p->consumers > 1024 || p->capacity < 0 || p->capacity > 1000000 ||
      p->messages < 1 || p->messages > 10000000000L || p->size < 8 ||
      p->size > (1L << 20))
    return -EINVAL;
  const uint64_t P = (uint64_t)p->producers, C = (uint64_t)p->consumers;
  struct producer *prs = calloc(P, sizeof *prs);
  struct consumer *cs = calloc(C, sizeof *cs);
  wl_lat_t *all = wl_lat_new();
  int err = prs == NULL || cs == NULL || all == NULL;
  for (uint64_t i = 0; !err && i < C; i++)
    err = (cs[i].lat = wl_lat_new()) == NULL;
  if (err) {
    for (uint64_t i = 0; cs && i < C; i++)
      free(cs[i].lat);
    free(prs);
    free(cs);
    free(all);
    return -ENOMEM;
  }
  hl_chan_t *ch = hl_chan_make(sizeof(struct wl_pcmsg *), (size_t)p->capacity);
  *m = (wl_metrics_t){0};
  wl_gc_mark_t gc0;
  wl_gc_mark(&gc0);

  int64_t t0 = hl_nanotime();
  hl_waitgroup_t pwg = HL_WAITGROUP_INIT, cwg = HL_WAITGROUP_INIT;
  hl_waitgroup_add(&cwg, (int64_t)C);
  for (uint64_t i = 0; i < C; i++) {
    cs[i].p = p;
    cs[i].ch = ch;
    cs[i].wg = &cwg;
    cs[i].ok = 1;
    hl_go(consumer_run, &cs[i]);
  }
  hl_waitgroup_add(&pwg, (int64_t)P);
  for (uint64_t i = 0; i < P; i++) {
    prs[i] = (struct producer){.p = p, .ch = ch, .wg = &pwg, .first = i};
    hl_go(producer_run, &prs[i]);
  }
  /* 3. */
  hl_waitgroup_wait(&pwg);
  hl_chan_close(ch);
  hl_waitgroup_wait(&cwg);
  int64_t t1 = hl_nanotime();

  const uint64_t n = (uint64_t)p->messages;
  uint64_t received = 0;
  int ok = 1;
  for (uint64_t i = 0; i < C; i++) {
    m->check += cs[i].check;
    received += cs[i].received;
    ok &= cs[i].ok;
    wl_lat_merge(all, cs[i].lat);
  }
  m->expected = n % 2 == 0 ? n / 2 * (n - 1) : (n - 1) / 2 * n;
  m->wall_ns = t1 - t0;
  m->objects = 2 * n;
  m->bytes = n * ((uint64_t)p->size + sizeof(struct wl_pcmsg));
  m->ok = ok && received == n && all->count == n && m->check == m->expected;
  wl_lat_report(m, all);
  wl_metric(m, "msgs_per_s", "ops/s",
            (double)n * 1e9 / (double)(t1 - t0 > 0 ? t1 - t0 : 1));
  wl_gc_figures(m, &gc0);
  hl_chan_free(ch);
  if (out != NULL)
    fprintf(out,
            "prodcons: %ld producers, %ld consumers, capacity %ld: %" PRIu64
            " messages, %.0f msgs/s, p50 %" PRIu64 " ns, p99 %" PRIu64
            " ns, max %" PRIu64 " ns%s\n",
            p->producers, p->consumers, p->capacity, received,
            (double)n * 1e9 / (double)(t1 - t0 > 0 ? t1 - t0 : 1),
            wl_lat_quantile(all, 0.5), wl_lat_quantile(all, 0.99), all->max,
            m->ok ? "" : " (CHECK FAILED)");
  for (uint64_t i = 0; i < C; i++)
    free(cs[i].lat);
  free(prs);
  free(cs);
  free(all);
  return 0;
}
