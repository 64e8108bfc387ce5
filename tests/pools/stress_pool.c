/*
 * tests/pools/stress_pool.c — goroutines get and put objects from one
 * hl_pool and one hl_freelist while collections run back to back (a
 * goroutine calls hl_gc in a loop; allocation triggers more):
 *   - no object is handed out twice at the same time: each carries an
 *     owner word, CAS'd from 0 to the taker's id on get and back on put;
 *   - no pooled object is freed under the pool: each carries a checksum
 *     written at creation, checked on every get (an object swept while
 *     pooled is reused by the allocator, or, with gccheckmark, poisoned,
 *     and fails it; gccheckmark also aborts if marking missed one);
 *   - every get is accounted for in the pool's counters.
 * Run with HLMAXPROCS=2..4 and HLDEBUG=gccheckmark=1.
 *
 *   stress_pool GOROUTINES SECONDS SEED
 */
#include "heaplab/heaplab.h"
#include "heaplab/pools.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct obj {
  struct obj *child; /* a second collected object, must stay alive too */
  _Atomic int64_t owner;
  uint64_t serial, sum;
};
#define OBJ_T HL_TYPE(struct obj, child)
#define K 0x9E3779B97F4A7C15ull

static hl_pool_t *pool;
static hl_freelist_t *flist;
static _Atomic uint64_t serials, failures, ops, created;
static _Atomic int stop;
static int64_t deadline;

static void fail(const char *what, struct obj *o) {
  if (atomic_fetch_add(&failures, 1) < 5)
    fprintf(stderr, "stress_pool: %s: object %p serial %lu sum %lx owner %ld\n",
            what, (void *)o, (unsigned long)o->serial, (unsigned long)o->sum,
            (long)atomic_load(&o->owner));
}

static void *mk(void *arg) {
  (void)arg;
  struct obj *o = hl_new(OBJ_T);
  struct obj *c = hl_new(OBJ_T);
  o->serial = atomic_fetch_add(&serials, 1);
  o->sum = o->serial * K;
  c->serial = o->serial;
  c->sum = ~o->sum;
  HL_STORE(o->child, c);
  atomic_fetch_add_explicit(&created, 1, memory_order_relaxed);
  return o;
}

static void take(struct obj *o, int64_t me) {
  int64_t zero = 0;
  if (!atomic_compare_exchange_strong(&o->owner, &zero, me))
    fail("handed out twice", o);
  if (o->sum != o->serial * K || o->child == NULL ||
      o->child->serial != o->serial || o->child->sum != ~o->sum)
    fail("corrupt (freed while pooled?)", o);
}

static void give(struct obj *o, int64_t me) {
  int64_t mine = me;
  if (!atomic_compare_exchange_strong(&o->owner, &mine, 0))
    fail("owner changed while held", o);
}

struct worker {
  uint64_t seed;
  hl_waitgroup_t *wg;
};

static void worker_main(void *arg) {
  struct worker *w = arg;
  int64_t me = hl_goid();
  uint64_t rng = w->seed;
  struct obj *held[8];
  while (hl_nanotime() < deadline) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    int n = 1 + (int)((rng >> 33) % 8);
    bool fl = (rng >> 40) % 4 == 0;
    for (int i = 0; i < n; i++) {
      held[i] = fl ? hl_freelist_get(flist) : hl_pool_get(pool);
      take(held[i], me);
    }
    if ((rng >> 20) % 8 == 0)
      hl_yield(); /* another goroutine may run on this P meanwhile */
    (void)hl_new(OBJ_T); /* garbage: drives the pacer */
    for (int i = n - 1; i >= 0; i--) {
      give(held[i], me);
      if (fl)
        hl_freelist_put(flist, held[i]);
      else
        hl_pool_put(pool, held[i]);
    }
    atomic_fetch_add_explicit(&ops, (uint64_t)n, memory_order_relaxed);
  }
  hl_waitgroup_done(w->wg);
}

static void collector_main(void *arg) {
  hl_waitgroup_t *wg = arg;
  while (!atomic_load(&stop)) {
    hl_gc();
    hl_sleep(HL_MILLISECOND);
  }
  hl_waitgroup_done(wg);
}

struct args {
  int goroutines, seconds;
  uint64_t seed;
};

static int run(void *arg) {
  struct args *a = arg;
  pool = hl_pool_create(mk, NULL);
  flist = hl_freelist_create(16, mk, NULL);
  deadline = hl_nanotime() + (int64_t)a->seconds * HL_SECOND;
  hl_waitgroup_t wg = HL_WAITGROUP_INIT, cwg = HL_WAITGROUP_INIT;
  struct worker *ws = calloc((size_t)a->goroutines, sizeof *ws);
  hl_waitgroup_add(&wg, a->goroutines);
  for (int i = 0; i < a->goroutines; i++) {
    ws[i] = (struct worker){a->seed * 7919 + (uint64_t)i, &wg};
    hl_go(worker_main, &ws[i]);
  }
  hl_waitgroup_add(&cwg, 1);
  hl_go(collector_main, &cwg);
  hl_waitgroup_wait(&wg);
  atomic_store(&stop, 1);
  hl_waitgroup_wait(&cwg);
  hl_pool_stats_t st;
  hl_pool_stats(pool, &st);
  hl_freelist_stats_t fs;
  hl_freelist_stats(flist, &fs);
  hl_gc_stats_t gs;
  hl_gc_stats(&gs);
  printf("stress_pool: %lu gets, %lu cycles, pool: private %lu shared %lu "
         "steal %lu victim %lu new %lu rings %lu; freelist: hits %lu new %lu "
         "drops %lu; %lu failures\n",
         (unsigned long)atomic_load(&ops), (unsigned long)gs.numgc,
         (unsigned long)st.hit_private, (unsigned long)st.hit_shared,
         (unsigned long)st.hit_steal, (unsigned long)st.hit_victim,
         (unsigned long)st.news, (unsigned long)st.chain_allocs,
         (unsigned long)fs.hits, (unsigned long)fs.news,
         (unsigned long)fs.drops, (unsigned long)atomic_load(&failures));
  int bad = atomic_load(&failures) != 0;
  if (st.gets != st.puts || fs.gets != fs.puts ||
      st.gets != st.hit_private + st.hit_shared + st.hit_steal +
                     st.hit_victim + st.news ||
      fs.gets != fs.hits + fs.news ||
      st.news + fs.news != atomic_load(&created) ||
      st.gets + fs.gets != atomic_load(&ops)) {
    fprintf(stderr, "stress_pool: counters do not add up\n");
    bad = 1;
  }
  if (gs.numgc < 3 || st.cleanups < 3) {
    fprintf(stderr, "stress_pool: only %lu cycles ran\n",
            (unsigned long)gs.numgc);
    bad = 1;
  }
  hl_freelist_destroy(flist);
  hl_pool_destroy(pool);
  free(ws);
  return bad;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: stress_pool GOROUTINES SECONDS SEED\n");
    return 2;
  }
  struct args a = {atoi(argv[1]), atoi(argv[2]), strtoull(argv[3], NULL, 10)};
  if (a.goroutines < 1 || a.seconds < 1) {
    fprintf(stderr, "stress_pool: GOROUTINES and SECONDS must be >= 1\n");
    return 2;
  }
  return hl_main(run, &a);
}
