/*
 * workloads/lrucache.c — an LRU key-value cache under churn (definition
 * in workloads.h).
 *
 * Entry point: wl_lrucache_run.
 *
 * Each goroutine owns a shard; a shard is
 *   - a bucket array (collected, one pointer per bucket, a power of two at
 *     least the shard's capacity: chains of one node on average),
 *   - a doubly linked list of nodes, most recently used first,
 *   - its head and tail in the goroutine's own frame (a stack is scanned
 *     as a root and needs no barrier for its own stores),
 * and a node (collected) points at its neighbours, at the next node of its
 * chain and at its value (pointer-free, value_size bytes: word i is
 * wl_mix64(key + i)).
 *
 * A request:
 *   1. hash the key, walk its chain;
 *   2. hit: unlink the node and push it at the front (four to six
 *      HL_STOREs), read the value's first word;
 *   3. miss: allocate the value and the node, fill them, link the node at
 *      the front and at the head of its chain; if the shard then holds
 *      more than its capacity, unlink the tail from the list and from its
 *      chain; read the new value's first word.
 *
 * Rejected: one cache shared by every goroutine under an hl_mutex. With
 * several processors the figures would be the mutex's (convoys behind a
 * goroutine preempted or assisting while it holds the lock), and the
 * request stream each goroutine sees would depend on the interleaving:
 * the hit rate, the check and the eviction count would change from run
 * to run. Sharded caches are also what servers do.
 *
 * The key streams: YCSB's Zipf generator (Gray et al., "Quickly
 * generating billion-record synthetic databases"), key 0 the most
 * popular. Its normalisation constant zeta(n, theta) is summed exactly for
 * the first million keys and by the integral of x^-theta (Euler–Maclaurin,
 * two terms) beyond: exact enough for a workload, and O(1e6) for a
 * billion keys.
 */
#include "workloads/internal.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ zipf */

typedef struct zipf {
  uint64_t n;
  double theta, alpha, zetan, eta, half_pow; /* half_pow = 1 + 0.5^theta */
} zipf_t;

static double zeta(uint64_t n, double theta) {
  const uint64_t exact = n < 1000000 ? n : 1000000;
  double s = 0;
  for (uint64_t i = 1; i <= exact; i++)
    s += pow((double)i, -theta);
  if (n > exact) {
    /* sum_{exact+1}^{n} x^-t ~ integral + (f(n) - f(exact)) / 2 */
    double a = (double)exact, b = (double)n;
    s += (pow(b, 1 - theta) - pow(a, 1 - theta)) / (1 - theta) +
         (pow(b, -theta) - pow(a, -theta)) / 2;
  }
  return s;
}

static void zipf_init(zipf_t *z, uint64_t n, double theta) {
  z->n = n;
  z->theta = theta;
  z->alpha = 1.0 / (1.0 - theta);
  z->zetan = zeta(n, theta);
  z->half_pow = 1.0 + pow(0.5, theta);
  double zeta2 = 1.0 + pow(2.0, -theta);
  /* n <= 2: every draw is settled by the first two tests of zipf_next */
  z->eta = n > 2 ? (1.0 - pow(2.0 / (double)n, 1.0 - theta)) /
                       (1.0 - zeta2 / z->zetan)
                 : 0;
}

static uint64_t zipf_next(const zipf_t *z, uint64_t *rng) {
  if (z->theta == 0) return wl_rand_below(rng, z->n);
  double u = wl_rand_unit(rng);
  double uz = u * z->zetan;
  if (uz < 1.0) return 0;
  if (uz < z->half_pow) return z->n > 1 ? 1 : 0;
  uint64_t k =
      (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
  return k < z->n ? k : z->n - 1;
}

/* ----------------------------------------------------------------- shard */

struct lru_node {
  struct lru_node *prev, *next, *hnext;
  uint64_t *value;
  uint64_t key;
};

struct lru_bucket {
  struct lru_node *head;
};

static const hl_type_t *node_type(void) {
  return HL_TYPE(struct lru_node, prev, next, hnext, value);
}

/* Lives in its goroutine's frame (see the file comment). */
struct shard {
  struct lru_bucket *buckets;
  uint64_t mask;
  struct lru_node *head, *tail; /* most / least recently used */
  uint64_t count, capacity, words;
};

/* One goroutine's request stream and results (malloc'ed; no collected
 * pointers). Written by its goroutine only, read by the main goroutine
 * after the waitgroup. */
struct worker {
  const wl_lrucache_params_t *p;
  const zipf_t *zipf;
  hl_waitgroup_t *wg;
  uint64_t seed, requests, capacity;
  uint64_t hits, misses, evictions, check;
  int ok;
  wl_lat_t *lat;
};

static void list_unlink(struct shard *s, struct lru_node *n) {
  if (n->prev) HL_STORE(n->prev->next, n->next);
  else s->head = n->next;
  if (n->next) HL_STORE(n->next->prev, n->prev);
  else s->tail = n->prev;
}

static void list_push_front(struct shard *s, struct lru_node *n) {
  HL_STORE(n->prev, (struct lru_node *)NULL);
  HL_STORE(n->next, s->head);
  if (s->head) HL_STORE(s->head->prev, n);
  else s->tail = n;
  s->head = n;
}

static void chain_remove(struct shard *s, struct lru_node *n) {
  struct lru_bucket *b = &s->buckets[wl_mix64(n->key) & s->mask];
  if (b->head == n) {
    HL_STORE(b->head, n->hnext);
    return;
  }
  for (struct lru_node *c = b->head; c != NULL; c = c->hnext)
    if (c->hnext == n) {
      HL_STORE(c->hnext, n->hnext);
      return;
    }
  /* not in its chain: shard_valid reports the broken shard (ok = 0) */
}

/* Serves one request; returns the value's first word. */
static uint64_t shard_get(struct shard *s, struct worker *w, uint64_t key) {
  struct lru_bucket *b = &s->buckets[wl_mix64(key) & s->mask];
  for (struct lru_node *n = b->head; n != NULL; n = n->hnext)
    if (n->key == key) {
      w->hits++;
      if (s->head != n) {
        list_unlink(s, n);
        list_push_front(s, n);
      }
      return n->value[0];
    }
  /* miss */
  w->misses++;
  uint64_t *v = hl_alloc_noscan(s->words * sizeof(uint64_t));
  for (uint64_t i = 0; i < s->words; i++)
    v[i] = wl_mix64(key + i);
  struct lru_node *n = hl_new(node_type());
  n->key = key;
  HL_STORE(n->value, v);
  HL_STORE(n->hnext, b->head);
  HL_STORE(b->head, n);
  list_push_front(s, n);
  if (++s->count > s->capacity) {
    struct lru_node *old = s->tail;
    list_unlink(s, old);
    chain_remove(s, old);
    s->count--;
    w->evictions++;
  }
  return n->value[0];
}

/* Step 4: 1 if the shard is consistent. */
static int shard_valid(const struct shard *s) {
  uint64_t count = 0;
  const struct lru_node *prev = NULL;
  for (const struct lru_node *n = s->head; n != NULL; n = n->next) {
    if (n->prev != prev || ++count > s->capacity) return 0;
    const struct lru_node *c = s->buckets[wl_mix64(n->key) & s->mask].head;
    while (c != NULL && c != n)
      c = c->hnext;
    if (c == NULL) return 0;
    for (uint64_t i = 0; i < s->words; i++)
      if (n->value[i] != wl_mix64(n->key + i)) return 0;
    prev = n;
  }
  return prev == s->tail && count == s->count;
}

static void worker_run(void *arg) {
  struct worker *w = arg;
  struct shard s = {0};
  uint64_t nb = 1;
  while (nb < w->capacity)
    nb <<= 1;
  s.buckets = hl_new_array(HL_TYPE(struct lru_bucket, head), nb);
  s.mask = nb - 1;
  s.capacity = w->capacity;
  s.words = (uint64_t)w->p->value_size / sizeof(uint64_t);
  uint64_t rng = w->seed;
  for (uint64_t i = 0; i < w->requests; i++) {
    uint64_t key = zipf_next(w->zipf, &rng);
    int64_t a = hl_nanotime();
    w->check += shard_get(&s, w, key);
    int64_t b = hl_nanotime();
    wl_lat_record(w->lat, b - a);
  }
  w->ok = shard_valid(&s) && s.count == w->misses - w->evictions;
  hl_waitgroup_done(w->wg);
}

int wl_lrucache_run(const wl_lrucache_params_t *p, FILE *out,
                    wl_metrics_t *m) {
  if (p->requests < 1 || p->requests > 10000000000L || p->keys < 1 ||
      p->keys > 1000000000L || p->capacity < 1 || p->capacity > 100000000L ||
      p->skew < 0 || p->skew > 99 || p->value_size < 8 ||
      p->value_size > 65536 || p->goroutines < 1 || p->goroutines > 1024 ||
      p->capacity < p->goroutines)
    return -EINVAL;
  const uint64_t G = (uint64_t)p->goroutines;
  struct worker *ws = calloc(G, sizeof *ws);
  wl_lat_t *all = wl_lat_new();
  int err = ws == NULL || all == NULL;
  for (uint64_t g = 0; !err && g < G; g++)
    err = (ws[g].lat = wl_lat_new()) == NULL;
  if (err) {
    for (uint64_t g = 0; ws && g < G; g++)
      free(ws[g].lat);
    free(ws);
    free(all);
    return -ENOMEM;
  }
  zipf_t z;
  zipf_init(&z, (uint64_t)p->keys, (double)p->skew / 100.0);
  *m = (wl_metrics_t){0};
  wl_gc_mark_t gc0;
  wl_gc_mark(&gc0);

  int64_t t0 = hl_nanotime();
  hl_waitgroup_t wg = HL_WAITGROUP_INIT;
  hl_waitgroup_add(&wg, (int64_t)G);
  for (uint64_t g = 0; g < G; g++) {
    struct worker *w = &ws[g];
    w->p = p;
    w->zipf = &z;
    w->wg = &wg;
    w->seed = (uint64_t)p->seed ^ wl_mix64(g + 1);
    w->requests = (uint64_t)p->requests / G + (g < (uint64_t)p->requests % G);
    w->capacity = (uint64_t)p->capacity / G + (g < (uint64_t)p->capacity % G);
    hl_go(worker_run, w);
  }
  hl_waitgroup_wait(&wg);
  int64_t t1 = hl_nanotime();

  /* the expected check: the same key streams, drawn again */
  int ok = 1;
  uint64_t hits = 0, evictions = 0, misses = 0;
  for (uint64_t g = 0; g < G; g++) {
    struct worker *w = &ws[g];
    uint64_t rng = w->seed;
    for (uint64_t i = 0; i < w->requests; i++)
      m->expected += wl_mix64(zipf_next(&z, &rng));
    m->check += w->check;
    ok &= w->ok && w->hits + w->misses == w->requests;
    hits += w->hits;
    misses += w->misses;
    evictions += w->evictions;
    wl_lat_merge(all, w->lat);
  }
  m->wall_ns = t1 - t0;
  m->objects = 2 * misses + G;
  m->bytes = misses * ((uint64_t)p->value_size / 8 * 8 +
                       sizeof(struct lru_node));
  m->ok = ok && m->check == m->expected &&
          all->count == (uint64_t)p->requests;
  wl_lat_report(m, all);
  wl_metric(m, "hit_rate", "", (double)hits / (double)p->requests);
  wl_metric(m, "hits", "", (double)hits);
  wl_metric(m, "evictions", "", (double)evictions);
  wl_metric(m, "requests_per_s", "ops/s",
            (double)p->requests * 1e9 / (double)(t1 - t0 > 0 ? t1 - t0 : 1));
  wl_gc_figures(m, &gc0);
  if (out != NULL)
    fprintf(out,
            "lrucache: %ld requests, %ld goroutines: hit rate %.3f, p50 %" PRIu64
            " ns, p99 %" PRIu64 " ns, p99.9 %" PRIu64 " ns, max %" PRIu64
            " ns%s\n",
            p->requests, p->goroutines, (double)hits / (double)p->requests,
            wl_lat_quantile(all, 0.5), wl_lat_quantile(all, 0.99),
            wl_lat_quantile(all, 0.999), all->max,
            m->ok ? "" : " (CHECK FAILED)");
  for (uint64_t g = 0; g < G; g++)
    free(ws[g].lat);
  free(ws);
  free(all);
  return 0;
}
