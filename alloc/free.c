/*
 * alloc/free.c — hl_free and everything off its fast path: remote frees,
 * large objects, sbrk memory and misuse detection.
 *
 * Entry points: hl_free, free_slow, free_invalid.
 *
 * Remote free (the span belongs to another thread's mcache or to none):
 *  1. check the pointer as the fast path does (object boundary, not
 *     already marked free);
 *  2. mark word 1, link word 0 to the current head of s->xfree and CAS the
 *     head to the object, adding one to the count packed in the same word
 *     (release: the owner's acquire exchange in span_collect sees the link
 *     words).
 * The owner folds the list back in when its free list runs dry.
 *
 * Misuse is never silent: a pointer that is not the start of a live heap
 * object aborts with "heaplab: free(): invalid pointer 0x..", a second free
 * of the same object with "heaplab: free(): double free of 0x..". A small
 * object is known to be free by its word 1 (hl_free_key, a random value
 * cleared at allocation); a large one by its span's state.
 */
#include "alloc/fastpath.h"
#include "heaplab/alloc.h"

void free_invalid(const char *fn, void *p) {
  hl_misuse("%s invalid pointer %p", fn, p);
}

/* p's page lies in no span: it is either foreign or inside a free run (a
 * page-aligned p there was most likely a large object freed before). */
__attribute__((noreturn, cold)) static void free_unmapped(void *p, const char *fn) {
  uintptr_t a = (uintptr_t)p;
  if (arena_of(a) && (a & (PAGE_SIZE - 1)) == 0) {
    hl_lock(&mheap.lock);
    /* walk back to the page that heads the run holding p */
    mspan_t *r = NULL;
    for (uintptr_t q = a; arena_of(q); q -= PAGE_SIZE) {
      r = span_of_acquire(q);
      if (r)
        break;
    }
    int in_free = r && r->state == MSPAN_FREE && r->base <= a &&
                  a < r->base + (uintptr_t)r->npages * PAGE_SIZE;
    hl_unlock(&mheap.lock);
    if (in_free)
      hl_misuse("%s double free of %p", fn, p);
  }
  free_invalid(fn, p);
}

static void free_large(void *p, mspan_t *s, const char *fn) {
  hl_lock(&mheap.lock);
  if (s->state != MSPAN_LARGE || (uintptr_t)p != s->base) {
    int was_freed = s->state == MSPAN_FREE && (uintptr_t)p == s->base;
    hl_unlock(&mheap.lock);
    if (was_freed)
      hl_misuse("%s double free of %p", fn, p);
    free_invalid(fn, p);
  }
  mheap.large_bytes -= (uint64_t)s->npages * PAGE_SIZE;
  mheap.large_objects--;
  heap_free_run(s);
  hl_unlock(&mheap.lock);
  scavenger_kick();
}

void free_slow(void *p, mspan_t *s, const char *fn) {
  if (p == NULL)
    return;
  if (s == NULL)
    free_unmapped(p, fn);
  switch (s->state) {
  case MSPAN_SMALL: {
    void **o = p;
    if (!span_object_start(s, (uintptr_t)p))
      free_invalid(fn, p);
    if ((uintptr_t)o[1] == hl_free_key)
      hl_misuse("%s double free of %p", fn, p);
    mcache_t *c = tls_mcache;
    if (c == &empty_mcache)
      c = mcache_attach(); /* NULL if out of memory: a remote free */
    if (c && atomic_load_relaxed(&s->owner) == c) {
      free_fast(p, fn); /* first free by a thread that just attached */
      return;
    }
    o[1] = (void *)hl_free_key;
    uintptr_t head = atomic_load_relaxed(&s->xfree);
    do {
      o[0] = (void *)(head & XFREE_PTR_MASK);
      /* release: pairs with the acquire exchange in span_collect. */
    } while (!atomic_cas_weak_release(
        &s->xfree, &head, ((head & ~XFREE_PTR_MASK) + XFREE_ONE) | (uintptr_t)o));
    if (c) /* without a cache (out of memory) the free goes uncounted */
      counter_add(&c->nfree[s->sizeclass], 1);
    return;
  }
  case MSPAN_LARGE:
    free_large(p, s, fn);
    return;
  case MSPAN_SBRK:
    return; /* sbrk mode never frees */
  case MSPAN_FREE:
    free_unmapped(p, fn);
  default:
    free_invalid(fn, p);
  }
}

HL_API void hl_free(void *p) { free_fast(p, "free():"); }
