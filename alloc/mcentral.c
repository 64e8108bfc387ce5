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

static void mcentral_init_once(mcentral_t *mc) {
  if (!mc->spans.next)
    hl_list_init(&mc->spans);
}

void mcentral_put(mspan_t *s) {
  mcentral_t *mc = &mcentral[s->sizeclass];
  hl_mutex_lock(&mc->lock);
  mcentral_init_once(mc);
  atomic_store_relaxed(&s->owner, NULL);
  s->in_central = 1;
  hl_list_push_back(&mc->spans, &s->link);
  mc->nspans++;
  hl_mutex_unlock(&mc->lock);
}

mspan_t *mcentral_adopt(int sizeclass, mcache_t *c) {
  mcentral_t *mc = &mcentral[sizeclass];
  if (!mc->spans.next)
    return NULL;
  hl_mutex_lock(&mc->lock);
  mcentral_init_once(mc);
  hl_list_t *e = hl_list_first(&mc->spans);
  mspan_t *s = NULL;
  if (e) {
    s = hl_container_of(e, mspan_t, link);
    hl_list_remove(e);
    mc->nspans--;
    s->in_central = 0;
    atomic_store_relaxed(&s->owner, c);
  }
  hl_mutex_unlock(&mc->lock);
  return s;
}

size_t mcentral_reclaim(void) {
  size_t freed = 0;
  for (int sc = 1; sc < NUM_SIZE_CLASSES; sc++) {
    mcentral_t *mc = &mcentral[sc];
    if (!mc->spans.next)
      continue;
    hl_mutex_lock(&mc->lock);
    hl_list_t *e = mc->spans.next;
    while (e != &mc->spans) {
      hl_list_t *next = e->next;
      mspan_t *s = hl_container_of(e, mspan_t, link);
      span_collect(s);
      if (s->used == 0) {
        hl_list_remove(e);
        mc->nspans--;
        freed += (size_t)s->npages * PAGE_SIZE;
        span_free_small(s);
      }
      e = next;
    }
    hl_mutex_unlock(&mc->lock);
  }
  return freed;
}
