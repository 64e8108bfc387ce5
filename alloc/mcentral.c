/*
 * alloc/mcentral.c — spans of one size class that no mcache owns.
 *
 * Entry points: mcentral_put, mcentral_adopt, mcentral_reclaim.
 *
 * A span lands here when its owner thread exits or flushes its cache while
 * the span still holds live objects. Every free into such a span is a
 * remote free (its owner is NULL). An mcache that needs a span of the class
 * adopts one (becomes its owner and collects its remote frees); the
 * scavenger reclaims the ones whose objects were all freed meanwhile.
 *
 * Protocol for an owner change (both under mcentral.lock):
 *  put:   owner := NULL; in_central := 1; link into the list.
 *  adopt: unlink; in_central := 0; owner := c.
 * The lock's release/acquire orders the owner-only fields between the old
 * and the new owner.
 */
#include "alloc/internal.h"

HL_HIDDEN mcentral_t mcentral[NUM_SIZE_CLASSES];

void mcentral_init(void) {
  for (int i = 0; i < NUM_SIZE_CLASSES; i++)
    hl_list_init(&mcentral[i].spans);
}

void mcentral_put(mspan_t *s) {
  mcentral_t *mc = &mcentral[s->sizeclass];
  hl_lock(&mc->lock);
  atomic_store_relaxed(&s->owner, NULL);
  s->in_central = 1;
  hl_list_push_back(&mc->spans, &s->link);
  atomic_store_relaxed(&mc->nspans, atomic_load_relaxed(&mc->nspans) + 1);
  hl_unlock(&mc->lock);
}

mspan_t *mcentral_adopt(int sizeclass, mcache_t *c) {
  mcentral_t *mc = &mcentral[sizeclass];
  if (atomic_load_relaxed(&mc->nspans) == 0)
    return NULL; /* a hint: a span put meanwhile is found next time */
  hl_lock(&mc->lock);
  hl_list_t *e = hl_list_first(&mc->spans);
  mspan_t *s = NULL;
  if (e) {
    s = hl_container_of(e, mspan_t, link);
    hl_list_remove(e);
    atomic_store_relaxed(&mc->nspans, atomic_load_relaxed(&mc->nspans) - 1);
    s->in_central = 0;
    atomic_store_relaxed(&s->owner, c);
  }
  hl_unlock(&mc->lock);
  return s;
}

size_t mcentral_reclaim(void) {
  size_t freed = 0;
  for (int sc = 1; sc < NUM_SIZE_CLASSES; sc++) {
    mcentral_t *mc = &mcentral[sc];
    if (atomic_load_relaxed(&mc->nspans) == 0)
      continue;
    hl_lock(&mc->lock);
    hl_list_t *e = mc->spans.next;
    while (e != &mc->spans) {
      hl_list_t *next = e->next;
      mspan_t *s = hl_container_of(e, mspan_t, link);
      span_collect(s);
      if (s->used == 0) {
        hl_list_remove(e);
        atomic_store_relaxed(&mc->nspans,
                             atomic_load_relaxed(&mc->nspans) - 1);
        freed += (size_t)s->npages * PAGE_SIZE;
        span_free_small(s);
      }
      e = next;
    }
    hl_unlock(&mc->lock);
  }
  return freed;
}
