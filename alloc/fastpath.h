/*
 * alloc/fastpath.h — the inline fast paths of malloc and free, shared by
 * the hl_* entry points (malloc.c) and the malloc shim (shim.c) so neither
 * pays a call.
 *
 * malloc (small, the common case), no lock, no atomic RMW:
 *  1. c = this thread's mcache (an initial-exec TLS load; a sentinel mcache
 *     with empty spans before the first call, so no NULL test).
 *  2. sc = size class from a 129-entry table (<= 1 KiB) or a 249-entry one (requests of 0..8 bytes use
 *     the 16-byte class: word 1 of a free object is the double-free mark).
 *  3. pop the current span's free list (its head must carry the free mark
 *     in word 1); clear word 1; used++.
 *  Anything else (empty list, large, first call, sbrk mode) -> malloc_slow.
 *
 * free, owner thread (the common case):
 *  1. span = page map lookup (two table loads and the arena's page map).
 *  2. the span is owned by this thread's mcache (so it is SMALL);
 *     the offset is a multiple of the object size (span_object_start);
 *     the object is not the head of the free list (free(p); free(p)).
 *  3. push onto the span's free list, mark word 1, used--.
 * The object itself is only written, never read: reading it (to look for
 * the free mark) cost 20% of throughput on random frees of cold objects.
 * Any other double free is caught before it can do harm: when the object
 * comes off the free list a second time (its mark was cleared by the
 * first), when remote frees outnumber the objects in use, or when a span
 * that looks empty is checked before it is released (free.c).
 *  Anything else (remote owner, large, misuse, span now empty) -> free_slow.
 */
#ifndef HL_ALLOC_FASTPATH_H
#define HL_ALLOC_FASTPATH_H

#include "alloc/internal.h"

void *malloc_slow(size_t size, int zero);

/* Pre: size <= MAX_SMALL_SIZE. */
HL_INLINE unsigned size_class_of(size_t size) {
  if (hl_likely(size <= SMALL_SIZE_MAX)) {
    return size_to_class8_min16[(size + SMALL_SIZE_DIV - 1) / SMALL_SIZE_DIV];
  }
  return size_to_class128[(size - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) /
                          LARGE_SIZE_DIV];
}

HL_INLINE void *malloc_fast(size_t size) {
  mcache_t *c = tls_mcache;
  if (hl_likely(size <= MAX_SMALL_SIZE)) {
    unsigned sc = size_class_of(size);
    mspan_t *s = c->alloc[sc];
    void **p = s->freelist;
    /* word 1 must still hold the free mark: an object freed twice sits on
     * the list twice, and its second turn finds the mark cleared by the
     * first (free_list_corrupt reports it; nothing was handed out twice) */
    if (hl_likely(p != NULL && (uintptr_t)p[1] == hl_free_key)) {
      s->freelist = p[0];
      p[1] = NULL;
      s->used++;
      counter_add(&c->nmalloc[sc], 1);
      return p;
    }
  }
  return malloc_slow(size, 0);
}

HL_INLINE void free_fast(void *p, const char *fn) {
  mspan_t *s = span_of((uintptr_t)p);
  mcache_t *c = tls_mcache;
  /* Only SMALL spans have an owner, and no span is owned by the sentinel
   * mcache, so the owner test also proves the span's state. */
  if (hl_likely(s != NULL && atomic_load_relaxed(&s->owner) == c)) {
    void **o = p;
    void *head = s->freelist;
    if (hl_likely(span_object_start(s, (uintptr_t)p) && o != head)) {
      o[0] = head;
      o[1] = (void *)hl_free_key;
      s->freelist = o;
      counter_add(&c->nfree[s->sizeclass], 1);
      if (hl_likely(--s->used != 0) || c->alloc[s->sizeclass] == s)
        return;
      mcache_release_span(c, s);
      return;
    }
  }
  free_slow(p, s, fn);
}

#endif
