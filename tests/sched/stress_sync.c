/*
 * tests/sched/stress_sync.c — seeded stress of the sync primitives.
 *
 *   stress_sync THREADS SCALE ITER [SEED]
 *
 * THREADS worker goroutines (on HLMAXPROCS processors) each perform ITER
 * operations chosen by their own seeded generator, on SCALE objects of
 * each kind:
 *   mutex     lock (or trylock) and update a pair of plain counters that
 *             must be equal to anyone holding the lock; at most one holder;
 *   rwmutex   1 in 4 writes a counter pair, the others read it: readers
 *             see it equal and no writer inside, a writer sees nobody;
 *   cond      a pool of COND_TOKENS tokens guarded by a mutex and a cond:
 *             take one (waiting on the cond), hold it, give it back with
 *             signal or broadcast; never more than COND_TOKENS out;
 *   sema      hold one of SEMA_CAP permits (acquire or tryacquire);
 *             never more than SEMA_CAP holders;
 *   waitgroup start 1-4 child goroutines that each do a mutex operation,
 *             wait for them: all of them finished when Wait returns;
 *   once      hl_once_do on a random once: its function ran exactly once
 *             and had finished when any call returned.
 * At the end every counter must equal the number of operations counted
 * by the workers, every pool and semaphore must be full again and every
 * object back in its zero (or initial) state. Exit status 0 only if all
 * checks passed. Not a benchmark: it measures nothing.
 */
#include "heaplab/sched.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COND_TOKENS 2
#define SEMA_CAP 3
#define ONCE_MAGIC 0x5EED0FF1CEL

typedef struct mobj {
  hl_mutex_t mu;
  long a, b;             /* mu; a == b outside an update */
  _Atomic int inside;    /* holders: 0 or 1 */
  _Atomic long ops;      /* updates counted by their makers */
} mobj_t;

typedef struct rwobj {
  hl_rwmutex_t rw;
  long x, y;             /* rw (write); x == y outside a write */
  _Atomic int readers, writers;
  _Atomic long writes;
} rwobj_t;

typedef struct cobj {
  hl_mutex_t mu;
  hl_cond_t cv;
  int tokens;            /* mu */
  _Atomic int out;       /* tokens held */
} cobj_t;

typedef struct sobj {
  hl_sema_t sem;
  _Atomic int inside;
} sobj_t;

typedef struct oobj {
  hl_once_t once;
  _Atomic long runs;
  _Atomic long value;
} oobj_t;

static int nthreads, scale;
static long iters;
static uint64_t seed0;
static mobj_t *mobjs;
static rwobj_t *rwobjs;
static cobj_t *cobjs;
static sobj_t *sobjs;
static oobj_t *oobjs;
static _Atomic long failures;
static _Atomic long opcount[6];
static hl_waitgroup_t workers;

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      if (atomic_fetch_add(&failures, 1) < 20)                                 \
        fprintf(stderr, "stress_sync: check failed: %s (line %d)\n", #c,      \
                __LINE__);                                                     \
    }                                                                          \
  } while (0)

static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void mutex_op(mobj_t *o, uint64_t r) {
  if (r % 8 == 0) {
    while (!hl_mutex_trylock(&o->mu))
      hl_yield();
  } else {
    hl_mutex_lock(&o->mu);
  }
  CHECK(atomic_fetch_add(&o->inside, 1) == 0);
  CHECK(o->a == o->b);
  o->a++;
  if (r % 16 == 1)
    hl_yield(); /* others queue and park */
  o->b++;
  atomic_fetch_sub(&o->inside, 1);
  hl_mutex_unlock(&o->mu);
  atomic_fetch_add(&o->ops, 1);
}

static void rw_op(rwobj_t *o, uint64_t r) {
  if (r % 4 == 0) {
    hl_rwmutex_lock(&o->rw);
    CHECK(atomic_fetch_add(&o->writers, 1) == 0);
    CHECK(atomic_load(&o->readers) == 0);
    o->x++;
    if (r % 32 == 4)
      hl_yield();
    o->y++;
    atomic_fetch_sub(&o->writers, 1);
    hl_rwmutex_unlock(&o->rw);
    atomic_fetch_add(&o->writes, 1);
  } else {
    hl_rwmutex_rlock(&o->rw);
    atomic_fetch_add(&o->readers, 1);
    CHECK(atomic_load(&o->writers) == 0);
    CHECK(o->x == o->y);
    if (r % 16 == 1)
      hl_yield();
    atomic_fetch_sub(&o->readers, 1);
    hl_rwmutex_runlock(&o->rw);
  }
}

static void cond_op(cobj_t *o, uint64_t r) {
  hl_mutex_lock(&o->mu);
  while (o->tokens == 0)
    hl_cond_wait(&o->cv, &o->mu);
  o->tokens--;
  hl_mutex_unlock(&o->mu);
  CHECK(atomic_fetch_add(&o->out, 1) < COND_TOKENS);
  if (r % 4 == 0)
    hl_yield();
  atomic_fetch_sub(&o->out, 1);
  hl_mutex_lock(&o->mu);
  o->tokens++;
  if (r % 3 == 0)
    hl_cond_broadcast(&o->cv);
  else
    hl_cond_signal(&o->cv);
  hl_mutex_unlock(&o->mu);
}

static void sema_op(sobj_t *o, uint64_t r) {
  if (r % 4 == 0) {
    while (!hl_sema_tryacquire(&o->sem))
      hl_yield();
  } else {
    hl_sema_acquire(&o->sem);
  }
  CHECK(atomic_fetch_add(&o->inside, 1) < SEMA_CAP);
  if (r % 4 == 1)
    hl_yield();
  atomic_fetch_sub(&o->inside, 1);
  hl_sema_release(&o->sem);
}

typedef struct wgjob {
  hl_waitgroup_t *wg;
  _Atomic int *done;
  uint64_t seed;
} wgjob_t;

static void wg_child(void *arg) {
  wgjob_t *j = arg;
  uint64_t s = j->seed;
  uint64_t r = rnd(&s);
  mutex_op(&mobjs[r % (uint64_t)scale], r >> 16);
  atomic_fetch_add(&opcount[0], 1);
  atomic_fetch_add(j->done, 1);
  hl_waitgroup_done(j->wg);
}

static void wg_op(uint64_t *seed, uint64_t r) {
  hl_waitgroup_t wg = HL_WAITGROUP_INIT;
  _Atomic int done = 0;
  int k = 1 + (int)(r % 4);
  wgjob_t jobs[4];
  hl_waitgroup_add(&wg, k);
  for (int i = 0; i < k; i++) {
    jobs[i] = (wgjob_t){&wg, &done, rnd(seed) | 1};
    hl_go(wg_child, &jobs[i]);
  }
  hl_waitgroup_wait(&wg);
  CHECK(atomic_load(&done) == k);
}

static void once_init(void *arg) {
  oobj_t *o = arg;
  CHECK(atomic_fetch_add(&o->runs, 1) == 0);
  hl_yield(); /* other callers arrive meanwhile */
  atomic_store(&o->value, ONCE_MAGIC);
}

static void once_op(oobj_t *o) {
  hl_once_do(&o->once, once_init, o);
  CHECK(atomic_load(&o->value) == ONCE_MAGIC);
}

static void worker(void *arg) {
  long id = (long)arg;
  uint64_t s = seed0 * 0x9E3779B97F4A7C15ull + (uint64_t)id * 7919 + 1;
  if (!s)
    s = 1;
  for (long i = 0; i < iters; i++) {
    uint64_t r = rnd(&s);
    uint64_t idx = (r >> 8) % (uint64_t)scale;
    uint64_t sub = r >> 24;
    int kind = (int)(r % 100);
    if (kind < 30) {
      mutex_op(&mobjs[idx], sub);
      atomic_fetch_add(&opcount[0], 1);
    } else if (kind < 50) {
      rw_op(&rwobjs[idx], sub);
      atomic_fetch_add(&opcount[1], 1);
    } else if (kind < 65) {
      cond_op(&cobjs[idx], sub);
      atomic_fetch_add(&opcount[2], 1);
    } else if (kind < 80) {
      sema_op(&sobjs[idx], sub);
      atomic_fetch_add(&opcount[3], 1);
    } else if (kind < 85) {
      wg_op(&s, sub);
      atomic_fetch_add(&opcount[4], 1);
    } else {
      once_op(&oobjs[idx]);
      atomic_fetch_add(&opcount[5], 1);
    }
  }
  hl_waitgroup_done(&workers);
}

static uint32_t word0(const void *obj) {
  return __atomic_load_n((const uint32_t *)obj, __ATOMIC_RELAXED);
}

static int stress_main(void *arg) {
  (void)arg;
  int64_t t0 = hl_nanotime();
  hl_waitgroup_add(&workers, nthreads);
  for (long i = 0; i < nthreads; i++)
    hl_go(worker, (void *)i);
  hl_waitgroup_wait(&workers);
  /* the children of waitgroup operations finished before their Wait */
  long total_mutex = 0, total_writes = 0;
  for (int i = 0; i < scale; i++) {
    mobj_t *m = &mobjs[i];
    hl_mutex_lock(&m->mu);
    CHECK(m->a == m->b && m->a == atomic_load(&m->ops));
    total_mutex += m->a;
    hl_mutex_unlock(&m->mu);
    CHECK(word0(&m->mu) == 0);
    rwobj_t *w = &rwobjs[i];
    hl_rwmutex_lock(&w->rw);
    CHECK(w->x == w->y && w->x == atomic_load(&w->writes));
    total_writes += w->x;
    hl_rwmutex_unlock(&w->rw);
    cobj_t *c = &cobjs[i];
    hl_mutex_lock(&c->mu);
    CHECK(c->tokens == COND_TOKENS && atomic_load(&c->out) == 0);
    hl_mutex_unlock(&c->mu);
    sobj_t *s = &sobjs[i];
    for (int k = 0; k < SEMA_CAP; k++)
      CHECK(hl_sema_tryacquire(&s->sem));
    CHECK(!hl_sema_tryacquire(&s->sem));
    for (int k = 0; k < SEMA_CAP; k++)
      hl_sema_release(&s->sem);
    oobj_t *o = &oobjs[i];
    CHECK(atomic_load(&o->runs) <= 1);
    CHECK(atomic_load(&o->runs) == 0 || atomic_load(&o->value) == ONCE_MAGIC);
  }
  CHECK(total_mutex == atomic_load(&opcount[0]));
  long ops = 0;
  for (int k = 0; k < 6; k++)
    ops += atomic_load(&opcount[k]);
  printf("stress_sync: %d goroutines x %ld ops on %d objects each, %d Ps, "
         "seed %llu: %ld ops (mutex %ld incl. waitgroup children, rw %ld "
         "(%ld writes), cond %ld, sema %ld, waitgroup %ld, once %ld) in "
         "%.2f s: %s\n",
         nthreads, iters, scale, hl_maxprocs(), (unsigned long long)seed0,
         ops, atomic_load(&opcount[0]), atomic_load(&opcount[1]),
         total_writes, atomic_load(&opcount[2]), atomic_load(&opcount[3]),
         atomic_load(&opcount[4]), atomic_load(&opcount[5]),
         (double)(hl_nanotime() - t0) / 1e9,
         atomic_load(&failures) ? "FAILED" : "ok");
  return atomic_load(&failures) ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: stress_sync THREADS SCALE ITER [SEED]\n");
    return 2;
  }
  nthreads = atoi(argv[1]);
  scale = atoi(argv[2]);
  iters = atol(argv[3]);
  seed0 = argc == 5 ? strtoull(argv[4], NULL, 10) : 1;
  if (nthreads < 1 || scale < 1 || iters < 0) {
    fprintf(stderr, "stress_sync: THREADS and SCALE must be >= 1, ITER "
                    ">= 0\n");
    return 2;
  }
  mobjs = calloc((size_t)scale, sizeof *mobjs);
  rwobjs = calloc((size_t)scale, sizeof *rwobjs);
  cobjs = calloc((size_t)scale, sizeof *cobjs);
  sobjs = calloc((size_t)scale, sizeof *sobjs);
  oobjs = calloc((size_t)scale, sizeof *oobjs);
  if (!mobjs || !rwobjs || !cobjs || !sobjs || !oobjs) {
    fprintf(stderr, "stress_sync: out of memory\n");
    return 2;
  }
  for (int i = 0; i < scale; i++) {
    cobjs[i].tokens = COND_TOKENS;
    sobjs[i].sem = (hl_sema_t)HL_SEMA_INIT(SEMA_CAP);
  }
  return hl_main(stress_main, NULL);
}
