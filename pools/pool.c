/*
 * pools/pool.c — hl_pool, Go's sync.Pool on the collected heap.
 *
 * Entry points: hl_pool_create, hl_pool_destroy, hl_pool_get,
 * hl_pool_put, hl_pool_stats.
 *
 * Layout (pools/internal.h): per P, a private slot and a shared chain of
 * rings (struct pool_local), in two malloc'ed arrays registered as
 * collector roots: `local`, used by gets and puts, and `victim`, what
 * `local` was before the last collection. The rings and their slot arrays
 * are collected objects reachable from those roots.
 *
 * Put, pinned to the P (pool_pin):
 *   1. private empty: the object goes there;
 *   2. else it is pushed at the head of the P's chain;
 *   3. the head ring full (or no chain yet): unpin, allocate a ring twice
 *      the size (collected allocation may assist or start a cycle: never
 *      pinned), pin again — maybe on another P — and push there, linking
 *      the new ring unless that P's head has room by now.
 * Get, pinned:
 *   1. private; 2. pop at the head of this P's chain (LIFO: the object
 *   most recently put is the one in cache); 3. steal: pop at the tail of
 *   the other Ps' chains (FIFO, the oldest); 4. the victim: this P's
 *   private, then every P's chain tail; 5. unpin and call New.
 * Cleanup (hl_gc_register_cleanup; the world is stopped at the start of
 * every cycle, before marking): for every pool, the victim array is
 * cleared (its objects become garbage unless referenced elsewhere) and
 * the arrays swap roles. An object put and never taken again survives one
 * collection in the victim and is dropped by the second (Go 1.13+).
 *
 * Rejected: a mutex-protected per-pool stack (what the freelist strategy
 * is, through a channel lock) — every get and put would contend on one
 * cache line; and per-P caches in malloc memory without the collector
 * seeing them — pooled objects would be freed under the pool.
 */
#include "pools/internal.h"

#include "base/throw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* All pools, for the cleanup. Changed pinned (so never during a
 * stop-the-world) under pools_lock; the cleanup walks it with the world
 * stopped, without the lock. */
static hl_lock_t pools_lock;
static hl_pool_t *allpools;
static bool cleanup_registered;

static const hl_type_t *ring_type(void) {
  return HL_TYPE(struct pool_ring, vals, next, prev);
}
static const hl_type_t *slot_type(void) {
  return HL_TYPE(struct pool_slot, val);
}

static inline void count(_Atomic uint64_t *c) {
  atomic_store_relaxed(c, atomic_load_relaxed(c) + 1);
}

/* ---------------------------------------------------------------- rings */

static inline uint64_t ht_pack(uint32_t head, uint32_t tail) {
  return (uint64_t)head << 32 | tail;
}

/* Owner only. false: full (or the slot still being cleared by a pop
 * from the tail). */
static bool ring_push_head(struct pool_ring *d, void *val) {
  uint64_t ht = atomic_load_acquire(&d->headtail);
  uint32_t head = (uint32_t)(ht >> 32), tail = (uint32_t)ht;
  if (tail + d->n == head)
    return false;
  struct pool_slot *slot = &d->vals[head & (d->n - 1)];
  /* acquire: pairs with ring_pop's release clearing the slot */
  if (atomic_load_acquire(&slot->val) != NULL)
    return false;
  pool_shade(val);
  atomic_store_relaxed(&slot->val, val);
  /* release: publishes the slot to ring_pop's acquire CAS */
  atomic_fetch_add_explicit(&d->headtail, (uint64_t)1 << 32,
                            memory_order_release);
  return true;
}

/* Pops from the head (the owner only: LIFO for locality) or the tail
 * (any P: the oldest, as a steal). The acq_rel CAS orders concurrent
 * pops of the same ring and pairs with push_head's release add (the
 * slot's value); the release store frees the slot for push_head's
 * acquire load. */
static void *ring_pop(struct pool_ring *d, bool head_end) {
  uint64_t ht = atomic_load_acquire(&d->headtail);
  uint32_t head, tail;
  for (;;) {
    head = (uint32_t)(ht >> 32);
    tail = (uint32_t)ht;
    if (head == tail)
      return NULL;
    uint64_t nw = head_end ? ht_pack(head - 1, tail) : ht_pack(head, tail + 1);
    if (atomic_cas_weak_acq_rel(&d->headtail, &ht, nw))
      break;
  }
  struct pool_slot *slot = &d->vals[(head_end ? head - 1 : tail) & (d->n - 1)];
  void *val = atomic_load_relaxed(&slot->val);
  pool_shade(val); /* leaves pool storage (for the caller's stack) */
  atomic_store_release(&slot->val, NULL);
  return val;
}

/* --------------------------------------------------------------- chains */

/* Owner, pinned. Returns 0 when pushed, else the size of the ring to
 * allocate. */
static uint32_t chain_push_head(struct pool_local *l, void *val) {
  struct pool_ring *d = l->head;
  if (d == NULL)
    return POOL_RING_MIN;
  if (ring_push_head(d, val))
    return 0;
  return d->n < POOL_RING_MAX ? d->n * 2 : POOL_RING_MAX;
}

/* Owner, pinned: links nd (fresh, empty) as the new head of l's chain. */
static void chain_link(struct pool_local *l, struct pool_ring *nd) {
  struct pool_ring *d = l->head;
  pool_shade(nd);
  if (d != NULL) {
    pool_shade(d); /* stored into nd, maybe black (allocated marking) */
    atomic_store_relaxed(&nd->prev, d);
    /* release: a thief that reads next sees nd's fields */
    atomic_store_release(&d->next, nd);
  }
  l->head = nd;
  if (d == NULL)
    atomic_store_release(&l->tail, nd); /* pairs with chain_pop_tail */
}

/* Owner, pinned. */
static void *chain_pop_head(struct pool_local *l) {
  for (struct pool_ring *d = l->head; d != NULL;
       d = atomic_load_acquire(&d->prev)) {
    void *val = ring_pop(d, true);
    if (val != NULL)
      return val;
  }
  return NULL;
}

/* Any P, pinned. */
static void *chain_pop_tail(struct pool_local *l) {
  struct pool_ring *d = atomic_load_acquire(&l->tail);
  if (d == NULL)
    return NULL;
  for (;;) {
    /* next first: if d is empty and next was NULL, nothing was pushed
     * into a newer ring before we looked (pushes into d may follow, but
     * they are the owner's business) */
    struct pool_ring *d2 = atomic_load_acquire(&d->next);
    void *val = ring_pop(d, false);
    if (val != NULL)
      return val;
    if (d2 == NULL)
      return NULL;
    /* d is empty and will never be pushed to again (d2 is newer):
     * unlink it, as Go does, so that it can be collected */
    struct pool_ring *expect = d;
    if (atomic_cas_strong_acq_rel(&l->tail, &expect, d2)) {
      pool_shade(d); /* others may still hold it on a scanned stack */
      pool_shade(d2);
      atomic_store_relaxed(&d2->prev, NULL);
    }
    d = d2;
  }
}

/* ------------------------------------------------------------- cleanup */

static void local_clear(struct pool_local *a, int n) {
  for (int i = 0; i < n; i++) {
    a[i].private = NULL;
    a[i].head = NULL;
    atomic_store_relaxed(&a[i].tail, NULL);
  }
}

/* World stopped, before marking (the barrier is off): plain stores. */
static void pool_cleanup(void) {
  for (hl_pool_t *p = allpools; p != NULL; p = p->next) {
    struct pool_local *old = atomic_load_relaxed(&p->victim);
    local_clear(old, p->nprocs);
    atomic_store_relaxed(&p->victim, atomic_load_relaxed(&p->local));
    atomic_store_relaxed(&p->local, old);
    atomic_store_relaxed(&p->victim_live, 1);
    atomic_store_relaxed(&p->cleanups,
                         atomic_load_relaxed(&p->cleanups) + 1);
  }
}

/* ------------------------------------------------------------------ API */

int pool_procid(void) {
  m_t *mp = pool_pin("pool_procid");
  int id = mp->p->id;
  pool_unpin(mp);
  return id;
}

HL_API hl_pool_t *hl_pool_create(void *(*new_fn)(void *arg), void *arg) {
  g_t *gp = curg_or_die("hl_pool_create");
  int n = sched.gomaxprocs;
  hl_pool_t *p = calloc(1, sizeof *p);
  struct pool_local *a0 = aligned_alloc(128, sizeof *a0 * (size_t)n);
  struct pool_local *a1 = aligned_alloc(128, sizeof *a1 * (size_t)n);
  struct pool_counters *c =
      aligned_alloc(128, sizeof(struct pool_counters) * (size_t)n);
  if (!p || !a0 || !a1 || !c) {
    free(p);
    free(a0);
    free(a1);
    free(c);
    errno = ENOMEM;
    return NULL;
  }
  memset(a0, 0, sizeof *a0 * (size_t)n);
  memset(a1, 0, sizeof *a1 * (size_t)n);
  memset(c, 0, sizeof *c * (size_t)n);
  p->new_fn = new_fn;
  p->arg = arg;
  p->nprocs = n;
  p->arrays[0] = a0;
  p->arrays[1] = a1;
  atomic_store_relaxed(&p->local, a0);
  atomic_store_relaxed(&p->victim, a1);
  p->counters = c;
  hl_gc_add_root(a0, sizeof *a0 * (size_t)n);
  hl_gc_add_root(a1, sizeof *a1 * (size_t)n);
  /* pinned: no stop-the-world (and so no cleanup) while the list changes */
  m_t *mp = rt_enter(gp);
  hl_lock(&pools_lock);
  bool first = !cleanup_registered;
  cleanup_registered = true;
  p->next = allpools;
  if (allpools)
    allpools->prev = p;
  allpools = p;
  hl_unlock(&pools_lock);
  m_unlock(mp);
  if (first && hl_gc_register_cleanup(pool_cleanup) != 0)
    hl_throw("hl_pool_create: the collector's cleanup table is full");
  return p;
}

HL_API void hl_pool_destroy(hl_pool_t *p) {
  if (p == NULL)
    return;
  m_t *mp = pool_pin("hl_pool_destroy");
  hl_lock(&pools_lock);
  if (p->prev)
    p->prev->next = p->next;
  else
    allpools = p->next;
  if (p->next)
    p->next->prev = p->prev;
  hl_unlock(&pools_lock);
  pool_unpin(mp);
  hl_gc_remove_root(p->arrays[0]);
  hl_gc_remove_root(p->arrays[1]);
  free(p->arrays[0]);
  free(p->arrays[1]);
  free(p->counters);
  free(p);
}

/* Get's slow path, pinned on P pid: steal, then the victim. */
static void *pool_get_slow(hl_pool_t *p, int pid, struct pool_counters *c) {
  struct pool_local *l = atomic_load_relaxed(&p->local);
  for (int i = 1; i < p->nprocs; i++) {
    void *x = chain_pop_tail(&l[(pid + i) % p->nprocs]);
    if (x != NULL) {
      count(&c->hit_steal);
      return x;
    }
  }
  if (!atomic_load_relaxed(&p->victim_live))
    return NULL;
  struct pool_local *v = atomic_load_relaxed(&p->victim);
  void *x = v[pid].private;
  if (x != NULL) {
    HL_STORE(v[pid].private, NULL);
    count(&c->hit_victim);
    return x;
  }
  for (int i = 0; i < p->nprocs; i++) {
    x = chain_pop_tail(&v[(pid + i) % p->nprocs]);
    if (x != NULL) {
      count(&c->hit_victim);
      return x;
    }
  }
  /* nothing left there until the next cleanup refills it (Go's
   * victimSize = 0); a racing put never goes to the victim */
  atomic_store_relaxed(&p->victim_live, 0);
  return NULL;
}

HL_API void *hl_pool_get(hl_pool_t *p) {
  m_t *mp = pool_pin("hl_pool_get");
  int pid = mp->p->id;
  struct pool_counters *c = &p->counters[pid];
  struct pool_local *l = &atomic_load_relaxed(&p->local)[pid];
  count(&c->gets);
  void *x = l->private;
  if (x != NULL) {
    HL_STORE(l->private, NULL); /* shades x while marking */
    count(&c->hit_private);
  } else if ((x = chain_pop_head(l)) != NULL) {
    count(&c->hit_shared);
  } else if ((x = pool_get_slow(p, pid, c)) == NULL) {
    count(&c->news);
  }
  pool_unpin(mp);
  if (x == NULL && p->new_fn != NULL)
    x = p->new_fn(p->arg);
  return x;
}

HL_API void hl_pool_put(hl_pool_t *p, void *x) {
  if (x == NULL)
    return;
  m_t *mp = pool_pin("hl_pool_put");
  int pid = mp->p->id;
  struct pool_counters *c = &p->counters[pid];
  struct pool_local *l = &atomic_load_relaxed(&p->local)[pid];
  count(&c->puts);
  if (l->private == NULL) {
    HL_STORE(l->private, x);
    count(&c->put_private);
    pool_unpin(mp);
    return;
  }
  uint32_t need = chain_push_head(l, x);
  if (need == 0) {
    count(&c->put_shared);
    pool_unpin(mp);
    return;
  }
  pool_unpin(mp);
  /* 3. a new ring, allocated unpinned (x stays on this stack) */
  struct pool_ring *nd = hl_new(ring_type());
  struct pool_slot *vals = hl_new_array(slot_type(), need);
  HL_STORE(nd->vals, vals);
  nd->n = need;
  mp = pool_pin("hl_pool_put");
  pid = mp->p->id;
  c = &p->counters[pid];
  l = &atomic_load_relaxed(&p->local)[pid];
  if (chain_push_head(l, x) != 0) {
    chain_link(l, nd);
    count(&c->chain_allocs);
    if (!ring_push_head(nd, x))
      hl_throw("hl_pool_put: a fresh ring refused a push");
  }
  count(&c->put_shared);
  pool_unpin(mp);
}

HL_API void hl_pool_stats(hl_pool_t *p, hl_pool_stats_t *st) {
  memset(st, 0, sizeof *st);
  for (int i = 0; i < p->nprocs; i++) {
    struct pool_counters *c = &p->counters[i];
    st->gets += atomic_load_relaxed(&c->gets);
    st->puts += atomic_load_relaxed(&c->puts);
    st->hit_private += atomic_load_relaxed(&c->hit_private);
    st->hit_shared += atomic_load_relaxed(&c->hit_shared);
    st->hit_steal += atomic_load_relaxed(&c->hit_steal);
    st->hit_victim += atomic_load_relaxed(&c->hit_victim);
    st->news += atomic_load_relaxed(&c->news);
    st->put_private += atomic_load_relaxed(&c->put_private);
    st->put_shared += atomic_load_relaxed(&c->put_shared);
    st->chain_allocs += atomic_load_relaxed(&c->chain_allocs);
  }
  st->cleanups = atomic_load_relaxed(&p->cleanups);
}
