/*
 * workloads/poolbench.c — allocation strategies compared (definition in
 * workloads.h): plain allocation, hl_pool, hl_slab, hl_freelist and
 * hl_region (include/heaplab/pools.h) on two patterns.
 *
 * Entry points: wl_poolbench_run, wl_poolbench_all, wl_poolbench_strategies.
 *
 * The run:
 *   1. the shared state (pool or free list, counters) is created; each of
 *      `goroutines` goroutines handles its share of `ops` requests or
 *      documents and owns its slabs or region;
 *   2. request: get a buffer (a header with two pointer fields and a
 *      noscan data block of bufsize bytes), claim it (owner CAS 0 -> goid:
 *      a buffer handed to two goroutines at once is counted as a failure),
 *      fill the data with (id + k) & 0xff, check it back, release it;
 *   3. parser: build a document of `objects` tokens (a typed token and its
 *      text, lengths 1..2*strlen-1 from a hash) linked in a list, walk the
 *      list checking every text, drop the document as a whole;
 *   4. the main goroutine waits, then sums the per-goroutine checks and
 *      counts, and reads hl_gc_stats and the strategy's counters.
 * Collected allocations are counted where they happen (including New
 * functions and new slabs), as objects and requested bytes.
 *
 * Per strategy: none — every buffer or token allocated (hl_new +
 * hl_alloc_noscan) and dropped; pool — one hl_pool of buffers or tokens
 * (each token with a text block of the largest length), put back at the
 * end of the request or document; slab — per goroutine, a typed slab of
 * headers or tokens and a byte slab of data blocks or texts; freelist — one
 * hl_freelist of capacity 2 * goroutines (request) or objects * goroutines
 * (parser); region — per goroutine, an hl_region reset at the end of each
 * request or document (no collected allocation at all).
 */
#include "workloads/workloads.h"

#include "heaplab/gc.h"
#include "heaplab/pools.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

const char *const wl_poolbench_strategies[] = {"none", "pool", "slab",
                                               "freelist", "region", NULL};

enum { S_NONE, S_POOL, S_SLAB, S_FREELIST, S_REGION };

struct rq_buf {
  uint8_t *data;
  struct rq_buf *next;
  uint64_t id, len;
  _Atomic int64_t owner;
};

struct tok {
  struct tok *next;
  char *text;
  uint32_t len, cap;
  _Atomic int64_t owner;
};

static const hl_type_t *rq_type(void) {
  return HL_TYPE(struct rq_buf, data, next);
}
static const hl_type_t *tok_type(void) {
  return HL_TYPE(struct tok, next, text);
}

struct pb_state {
  const wl_poolbench_params_t *p;
  int strategy;
  hl_pool_t *pool;
  hl_freelist_t *fl;
  size_t textcap; /* parser: largest text + 1 */
  _Atomic uint64_t new_objects, new_bytes; /* by New functions */
  hl_waitgroup_t wg;
};

struct pb_task {
  struct pb_state *s;
  long first, n; /* requests or documents [first, first + n) */
  uint64_t check, expected, failures;
  uint64_t objects, bytes; /* collected allocations made here */
  uint64_t slab_objects, slab_slabs, region_allocs, region_chunks;
};

static inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

/* A task's slabs and region: their allocations into the task's counts;
 * the region is destroyed. */
static void task_finish(struct pb_task *t, hl_slab_t *s1, hl_slab_t *s2,
                        hl_region_t *rg) {
  if (s1) {
    hl_slab_stats_t a, c;
    hl_slab_stats(s1, &a);
    hl_slab_stats(s2, &c);
    t->objects += a.slabs + c.slabs;
    t->bytes += a.bytes + c.bytes;
    t->slab_objects += a.objects + c.objects;
    t->slab_slabs += a.slabs + c.slabs;
  }
  if (rg) {
    hl_region_stats_t st;
    hl_region_stats(rg, &st);
    t->region_allocs += st.allocs;
    t->region_chunks += st.chunks;
    hl_region_destroy(rg);
  }
}

/* ------------------------------------------------------------ request */

static void *rq_new(void *arg) {
  struct pb_state *s = arg;
  struct rq_buf *b = hl_new(rq_type());
  uint8_t *d = hl_alloc_noscan((size_t)s->p->bufsize);
  HL_STORE(b->data, d);
  atomic_fetch_add_explicit(&s->new_objects, 2, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->new_bytes,
                            sizeof *b + (uint64_t)s->p->bufsize,
                            memory_order_relaxed);
  return b;
}

/* Sum of (id + k) & 0xff for k < n, arithmetically. */
static uint64_t rq_expected(uint64_t id, uint64_t n) {
  uint64_t sum = (n / 256) * (255 * 256 / 2);
  for (uint64_t k = 0, r = n % 256; k < r; k++)
    sum += (id + k) & 0xff;
  return sum;
}

static void rq_task(struct pb_task *t) {
  struct pb_state *s = t->s;
  const size_t bs = (size_t)s->p->bufsize;
  const int64_t me = hl_goid();
  hl_slab_t *hs = NULL, *ds = NULL;
  hl_region_t *rg = NULL;
  if (s->strategy == S_SLAB) {
    hs = hl_slab_create(rq_type(), 64);
    size_t per = ((size_t)64 << 10) / bs;
    ds = hl_slab_create_bytes(bs, per ? per : 1);
    t->objects += 2; /* the slab handles */
    t->bytes += hl_gc_usable_size(hs) + hl_gc_usable_size(ds);
  } else if (s->strategy == S_REGION) {
    rg = hl_region_create(0, 0);
  }
  for (long i = 0; i < t->n; i++) {
    uint64_t id = (uint64_t)(t->first + i);
    struct rq_buf *b;
    switch (s->strategy) {
    case S_POOL: b = hl_pool_get(s->pool); break;
    case S_FREELIST: b = hl_freelist_get(s->fl); break;
    case S_SLAB: {
      b = hl_slab_alloc(hs);
      uint8_t *d = hl_slab_alloc(ds);
      HL_STORE(b->data, d);
      break;
    }
    case S_REGION:
      b = hl_region_alloc(rg, sizeof *b, 16);
      b->data = hl_region_alloc(rg, bs, 16);
      break;
    default:
      b = hl_new(rq_type());
      uint8_t *d = hl_alloc_noscan(bs);
      HL_STORE(b->data, d);
      t->objects += 2;
      t->bytes += sizeof *b + bs;
    }
    int64_t zero = 0;
    if (!atomic_compare_exchange_strong(&b->owner, &zero, me))
      t->failures++;
    b->id = id;
    b->len = bs;
    uint8_t *d = b->data;
    for (size_t k = 0; k < bs; k++)
      d[k] = (uint8_t)(id + k);
    uint64_t sum = 0;
    for (size_t k = 0; k < bs; k++)
      sum += d[k];
    t->check += sum + b->id;
    t->expected += rq_expected(id, bs) + id;
    int64_t mine = me;
    if (!atomic_compare_exchange_strong(&b->owner, &mine, 0))
      t->failures++;
    switch (s->strategy) {
    case S_POOL: hl_pool_put(s->pool, b); break;
    case S_FREELIST: hl_freelist_put(s->fl, b); break;
    case S_REGION: hl_region_reset(rg); break;
    default: break; /* dropped */
    }
  }
  task_finish(t, hs, ds, rg);
}

/* ------------------------------------------------------------- parser */

static void *tok_new(void *arg) {
  struct pb_state *s = arg;
  struct tok *k = hl_new(tok_type());
  char *text = hl_alloc_noscan(s->textcap);
  HL_STORE(k->text, text);
  k->cap = (uint32_t)s->textcap;
  atomic_fetch_add_explicit(&s->new_objects, 2, memory_order_relaxed);
  atomic_fetch_add_explicit(&s->new_bytes, sizeof *k + s->textcap,
                            memory_order_relaxed);
  return k;
}

static void doc_task(struct pb_task *t) {
  struct pb_state *s = t->s;
  const int nobj = s->p->objects;
  const uint32_t span = 2 * (uint32_t)s->p->strlen - 1;
  const int64_t me = hl_goid();
  hl_slab_t *ts = NULL, *xs = NULL;
  hl_region_t *rg = NULL;
  if (s->strategy == S_SLAB) {
    ts = hl_slab_create(tok_type(), (size_t)nobj);
    xs = hl_slab_create_bytes(s->textcap, (size_t)nobj);
    t->objects += 2; /* the slab handles */
    t->bytes += hl_gc_usable_size(ts) + hl_gc_usable_size(xs);
  } else if (s->strategy == S_REGION) {
    rg = hl_region_create(0, 0);
  }
  for (long i = 0; i < t->n; i++) {
    uint64_t doc = (uint64_t)(t->first + i);
    struct tok *head = NULL;
    /* build */
    for (int j = 0; j < nobj; j++) {
      uint32_t len = 1 + (uint32_t)(mix(doc * 1000003u + (uint64_t)j) % span);
      struct tok *k;
      char *text;
      switch (s->strategy) {
      case S_POOL:
      case S_FREELIST:
        k = s->strategy == S_POOL ? hl_pool_get(s->pool)
                                  : hl_freelist_get(s->fl);
        text = k->text;
        break;
      case S_SLAB:
        k = hl_slab_alloc(ts);
        text = hl_slab_alloc(xs);
        HL_STORE(k->text, text);
        break;
      case S_REGION:
        k = hl_region_alloc(rg, sizeof *k, 16);
        text = k->text = hl_region_alloc(rg, len + 1, 1);
        break;
      default:
        k = hl_new(tok_type());
        text = hl_alloc_noscan(len + 1);
        HL_STORE(k->text, text);
        t->objects += 2;
        t->bytes += sizeof *k + len + 1;
      }
      int64_t zero = 0;
      if (!atomic_compare_exchange_strong(&k->owner, &zero, me))
        t->failures++;
      k->len = len;
      for (uint32_t c = 0; c < len; c++)
        text[c] = (char)('a' + (doc + (uint64_t)j + c) % 26);
      text[len] = 0;
      HL_STORE(k->next, head);
      head = k;
    }
    /* parse: walk (newest first) and check every text */
    int j = nobj - 1;
    for (struct tok *k = head; k != NULL; k = k->next, j--) {
      uint64_t sum = 0;
      for (uint32_t c = 0; c < k->len; c++) {
        if (k->text[c] != (char)('a' + (doc + (uint64_t)j + c) % 26))
          t->failures++;
        sum += (unsigned char)k->text[c];
      }
      t->check += k->len + (sum & 0xff);
      uint32_t len = 1 + (uint32_t)(mix(doc * 1000003u + (uint64_t)j) % span);
      uint64_t esum = 0;
      for (uint32_t c = 0; c < len; c++)
        esum += (uint64_t)('a' + (doc + (uint64_t)j + c) % 26);
      t->expected += len + (esum & 0xff);
    }
    if (j != -1)
      t->failures++;
    /* drop the document */
    switch (s->strategy) {
    case S_POOL:
    case S_FREELIST:
      while (head != NULL) {
        struct tok *k = head;
        head = k->next;
        HL_STORE(k->next, NULL); /* a pooled token must not retain others */
        int64_t mine = me;
        if (!atomic_compare_exchange_strong(&k->owner, &mine, 0))
          t->failures++;
        if (s->strategy == S_POOL)
          hl_pool_put(s->pool, k);
        else
          hl_freelist_put(s->fl, k);
      }
      break;
    case S_REGION: hl_region_reset(rg); break;
    default: break;
    }
  }
  task_finish(t, ts, xs, rg);
}

static void pb_goroutine(void *arg) {
  struct pb_task *t = arg;
  if (t->s->p->pattern == WL_POOL_REQUEST)
    rq_task(t);
  else
    doc_task(t);
  hl_waitgroup_done(&t->s->wg);
}

/* ---------------------------------------------------------------- run */

static long default_ops(int pattern) {
  return pattern == WL_POOL_REQUEST ? 200000 : 20000;
}

int wl_poolbench_run(const wl_poolbench_params_t *p, FILE *out,
                     wl_metrics_t *m) {
  if ((p->pattern != WL_POOL_REQUEST && p->pattern != WL_POOL_PARSER) ||
      p->strategy < 0 || p->strategy > S_REGION || p->goroutines < 1 ||
      p->goroutines > 4096 || p->ops < 0 || p->ops > 1000000000L ||
      p->bufsize < 64 || p->bufsize > (1 << 20) || p->objects < 1 ||
      p->objects > 1000000 || p->strlen < 1 || p->strlen > 1024)
    return -EINVAL;
  const long ops = p->ops ? p->ops : default_ops(p->pattern);
  struct pb_state s = {.p = p, .strategy = p->strategy,
                       .textcap = 2 * (size_t)p->strlen};
  struct pb_task *tasks = calloc((size_t)p->goroutines, sizeof *tasks);
  if (tasks == NULL)
    return -ENOMEM;
  void *(*new_fn)(void *) = p->pattern == WL_POOL_REQUEST ? rq_new : tok_new;
  if (p->strategy == S_POOL)
    s.pool = hl_pool_create(new_fn, &s);
  if (p->strategy == S_FREELIST)
    s.fl = hl_freelist_create(
        p->pattern == WL_POOL_REQUEST
            ? 2 * (size_t)p->goroutines
            : (size_t)p->objects * (size_t)p->goroutines,
        new_fn, &s);
  if ((p->strategy == S_POOL && !s.pool) ||
      (p->strategy == S_FREELIST && !s.fl)) {
    free(tasks);
    return -ENOMEM;
  }
  hl_gc_stats_t *g0 = malloc(sizeof *g0), *g1 = malloc(sizeof *g1);
  hl_gc_stats(g0);
  int64_t t0 = hl_nanotime();
  hl_waitgroup_add(&s.wg, p->goroutines);
  long per = ops / p->goroutines, extra = ops % p->goroutines, first = 0;
  for (int i = 0; i < p->goroutines; i++) {
    tasks[i].s = &s;
    tasks[i].first = first;
    tasks[i].n = per + (i < extra);
    first += tasks[i].n;
    hl_go(pb_goroutine, &tasks[i]);
  }
  hl_waitgroup_wait(&s.wg);
  int64_t t1 = hl_nanotime();
  hl_gc_stats(g1);

  *m = (wl_metrics_t){.wall_ns = t1 - t0};
  uint64_t failures = 0, sobj = 0, sslabs = 0, rallocs = 0, rchunks = 0;
  for (int i = 0; i < p->goroutines; i++) {
    m->check += tasks[i].check;
    m->expected += tasks[i].expected;
    m->objects += tasks[i].objects;
    m->bytes += tasks[i].bytes;
    failures += tasks[i].failures;
    sobj += tasks[i].slab_objects;
    sslabs += tasks[i].slab_slabs;
    rallocs += tasks[i].region_allocs;
    rchunks += tasks[i].region_chunks;
  }
  m->objects += atomic_load(&s.new_objects);
  m->bytes += atomic_load(&s.new_bytes);
  m->ok = m->check == m->expected && failures == 0;
  double secs = (double)m->wall_ns / 1e9;
  wl_metric(m, "ops_per_s", "ops/s", secs > 0 ? (double)ops / secs : 0);
  wl_metric(m, "heap_allocs", "", (double)m->objects);
  wl_metric(m, "heap_alloc_bytes", "bytes", (double)m->bytes);
  wl_metric(m, "gc_total_alloc", "bytes",
            (double)(g1->total_alloc - g0->total_alloc));
  wl_metric(m, "gc_cycles", "", (double)(g1->numgc - g0->numgc));
  wl_metric(m, "failures", "", (double)failures);
  double hit = -1;
  if (s.pool) {
    hl_pool_stats_t st;
    hl_pool_stats(s.pool, &st);
    hit = st.gets ? 1.0 - (double)st.news / (double)st.gets : 0;
    wl_metric(m, "pool_steals", "", (double)st.hit_steal);
    wl_metric(m, "pool_victim_hits", "", (double)st.hit_victim);
    hl_pool_destroy(s.pool);
  }
  if (s.fl) {
    hl_freelist_stats_t st;
    hl_freelist_stats(s.fl, &st);
    hit = st.gets ? (double)st.hits / (double)st.gets : 0;
    wl_metric(m, "freelist_drops", "", (double)st.drops);
    hl_freelist_destroy(s.fl);
  }
  if (p->strategy == S_SLAB)
    hit = sobj ? 1.0 - (double)sslabs / (double)sobj : 0;
  if (p->strategy == S_REGION)
    hit = rallocs ? 1.0 - (double)rchunks / (double)rallocs : 0;
  if (hit >= 0)
    wl_metric(m, "hit_rate", "", hit);
  if (out != NULL)
    fprintf(out,
            "poolbench %s/%s: %ld ops in %.3f s, %.0f ops/s, %lu heap "
            "allocs (%lu bytes), %lu cycles, hit rate %s%.3f, %s\n",
            p->pattern == WL_POOL_REQUEST ? "request" : "parser",
            wl_poolbench_strategies[p->strategy], ops, secs,
            secs > 0 ? (double)ops / secs : 0, (unsigned long)m->objects,
            (unsigned long)m->bytes, (unsigned long)(g1->numgc - g0->numgc),
            hit >= 0 ? "" : "n/a ", hit >= 0 ? hit : 0.0,
            m->ok ? "ok" : "CHECK FAILED");
  free(g0);
  free(g1);
  free(tasks);
  return 0;
}

int wl_poolbench_all(const wl_poolbench_params_t *base, FILE *out,
                     wl_metrics_t results[2][5]) {
  int failed = 0;
  for (int pat = 0; pat < 2; pat++)
    for (int st = 0; st < 5; st++) {
      wl_poolbench_params_t p = *base;
      p.pattern = pat;
      p.strategy = st;
      int r = wl_poolbench_run(&p, out, &results[pat][st]);
      if (r != 0)
        return r;
      failed += !results[pat][st].ok;
    }
  return failed;
}
