/*
 * workloads/larson.c — a larson-style server simulation on the collected
 * heap (definition in workloads.h).
 *
 * Entry point: wl_larson_run.
 *
 * Larson and Krishnan's benchmark models a server: each thread keeps a set
 * of live objects and replaces random ones; when a thread ends, a new one
 * inherits its objects, so objects die in a thread other than the one
 * that allocated them. Here a goroutine does not end; it hands its slot
 * array on:
 *   1. goroutine g allocates its slot array (collected, one pointer per
 *      slot) and fills it;
 *   2. each round: `ops` times, pick a slot, check the object there and
 *      replace it (the old one is garbage); then send the array on
 *      hand[(g + 1) % G] and receive one on hand[g] (channels of one
 *      pointer, capacity 1);
 *   3. after the last round, check every object of the array it holds.
 * Deadlock-free: goroutine g sends round r + 1's array only after it has
 * received round r's, so every goroutine's channel was emptied of round
 * r's array before anybody sends round r + 1's; at worst a send waits for
 * its receiver to take round r's.
 * While an array is in a channel, the channel buffer (scanned as a root,
 * sched/chan.c) keeps it alive.
 *
 * An object: {id, size, tag} in its first 16 bytes, the tag's low byte in
 * its last byte; tag = low 32 bits of wl_mix64(id ^ size). The rest is
 * left zeroed (larson does not touch its objects either).
 */
#include "workloads/internal.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct lobj {
  uint64_t id;
  uint32_t size, tag;
};

struct lslot {
  struct lobj *obj;
};

struct worker {
  const wl_larson_params_t *p;
  hl_chan_t *send, *recv;
  hl_waitgroup_t *wg;
  uint64_t g, rng, next_id;
  uint64_t check; /* sum of the ids checked */
  uint64_t bytes; /* requested by obj_new */
  int ok;
};

static uint32_t obj_tag(uint64_t id, uint32_t size) {
  return (uint32_t)wl_mix64(id ^ size);
}

static struct lobj *obj_new(struct worker *w) {
  const wl_larson_params_t *p = w->p;
  uint32_t size =
      (uint32_t)(p->min_size +
                 (long)wl_rand_below(&w->rng,
                                     (uint64_t)(p->max_size - p->min_size + 1)));
  struct lobj *o = hl_alloc_noscan(size);
  w->bytes += size;
  o->id = w->g << 40 | w->next_id++;
  o->size = size;
  o->tag = obj_tag(o->id, size);
  if (size > sizeof *o) ((uint8_t *)o)[size - 1] = (uint8_t)o->tag;
  return o;
}

/* Checks o and counts it. */
static void obj_drop(struct worker *w, const struct lobj *o) {
  if (o->size < w->p->min_size || o->size > w->p->max_size ||
      o->tag != obj_tag(o->id, o->size) ||
      (o->size > sizeof *o && ((const uint8_t *)o)[o->size - 1] !=
                                  (uint8_t)o->tag))
    w->ok = 0;
  w->check += o->id;
}

static void worker_run(void *arg) {
  struct worker *w = arg;
  const long slots = w->p->slots;
  /* 1. */
  struct lslot *a = hl_new_array(HL_TYPE(struct lslot, obj), (size_t)slots);
  for (long i = 0; i < slots; i++)
    HL_STORE(a[i].obj, obj_new(w));
  /* 2. */
  for (long r = 0; r < w->p->rounds; r++) {
    for (long k = 0; k < w->p->ops; k++) {
      struct lslot *s = &a[wl_rand_below(&w->rng, (uint64_t)slots)];
      obj_drop(w, s->obj);
      HL_STORE(s->obj, obj_new(w));
    }
    hl_chan_send(w->send, &a);
    a = NULL;
    if (!hl_chan_recv(w->recv, &a) || a == NULL) {
      w->ok = 0; /* closed: not done by anybody */
      break;
    }
  }
  /* 3. */
  for (long i = 0; a != NULL && i < slots; i++)
    obj_drop(w, a[i].obj);
  hl_waitgroup_done(w->wg);
}

int wl_larson_run(const wl_larson_params_t *p, FILE *out, wl_metrics_t *m) {
  if (p->goroutines < 1 || p->goroutines > 1024 || p->slots < 1 ||
      p->slots > 10000000 || p->min_size < 16 || p->min_size > (1L << 20) ||
      p->max_size < p->min_size || p->max_size > (1L << 20) || p->ops < 0 ||
      p->ops > 100000000 || p->rounds < 1 || p->rounds > 1000000 ||
      /* ids: 40 bits per goroutine */
      (double)p->slots + (double)p->rounds * (double)p->ops >= 0x1p40)
    return -EINVAL;
  const uint64_t G = (uint64_t)p->goroutines;
  struct worker *ws = calloc(G, sizeof *ws);
  hl_chan_t **hand = calloc(G, sizeof *hand);
  if (ws == NULL || hand == NULL) {
    free(ws);
    free(hand);
    return -ENOMEM;
  }
  for (uint64_t g = 0; g < G; g++)
    hand[g] = hl_chan_make(sizeof(struct lslot *), 1);
  *m = (wl_metrics_t){0};
  wl_gc_mark_t gc0;
  wl_gc_mark(&gc0);

  int64_t t0 = hl_nanotime();
  hl_waitgroup_t wg = HL_WAITGROUP_INIT;
  hl_waitgroup_add(&wg, (int64_t)G);
  for (uint64_t g = 0; g < G; g++) {
    ws[g] = (struct worker){.p = p,
                            .send = hand[(g + 1) % G],
                            .recv = hand[g],
                            .wg = &wg,
                            .g = g,
                            .rng = (uint64_t)p->seed ^ wl_mix64(g + 1),
                            .ok = 1};
    hl_go(worker_run, &ws[g]);
  }
  hl_waitgroup_wait(&wg);
  int64_t t1 = hl_nanotime();

  const uint64_t n = (uint64_t)p->slots + (uint64_t)p->rounds * (uint64_t)p->ops;
  int ok = 1;
  for (uint64_t g = 0; g < G; g++) {
    m->check += ws[g].check;
    m->bytes += ws[g].bytes + (uint64_t)p->slots * sizeof(struct lslot);
    m->expected += n * (g << 40) + n * (n - 1) / 2;
    ok &= ws[g].ok && ws[g].next_id == n;
  }
  m->wall_ns = t1 - t0;
  m->objects = G * (n + 1);
  m->ok = ok && m->check == m->expected;
  double ops = (double)G * (double)p->rounds * (double)p->ops;
  wl_metric(m, "ops_per_s", "ops/s",
            ops * 1e9 / (double)(t1 - t0 > 0 ? t1 - t0 : 1));
  wl_gc_figures(m, &gc0);
  for (uint64_t g = 0; g < G; g++)
    hl_chan_free(hand[g]);
  if (out != NULL)
    fprintf(out, "larson: %ld goroutines x %ld slots, %ld rounds of %ld: "
                 "%.0f ops/s%s\n",
            p->goroutines, p->slots, p->rounds, p->ops,
            ops * 1e9 / (double)(t1 - t0 > 0 ? t1 - t0 : 1),
            m->ok ? "" : " (CHECK FAILED)");
  free(ws);
  free(hand);
  return 0;
}
