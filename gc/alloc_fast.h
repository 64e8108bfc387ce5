/*
 * gc/alloc_fast.h — the pieces of small-object allocation shared by
 * gc_alloc (gc/heap.c) and hl_new's inline fast path (gc/gc.c): taking
 * the next free slot of a cached span, zeroing it, writing its heap bits
 * and allocate-black. Internal to the collector.
 */
#ifndef HEAPLAB_GC_ALLOC_FAST_H
#define HEAPLAB_GC_ALLOC_FAST_H

#include "gc/internal.h"

#include <string.h>

/* Heap bitmap words are written by the P allocating in the span (one
 * writer: spans start on page boundaries, 16 bitmap words per page) and
 * read by markers: relaxed atomics. */
static inline void hb_write(uint64_t *w, uint64_t mask, uint64_t bits) {
  uint64_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
  __atomic_store_n(w, (old & ~mask) | (bits & mask), __ATOMIC_RELAXED);
}

/* The next free slot of s (its index in *out), or false when s is full:
 * the allocCache holds the complement of the alloc bitmap from freeindex
 * on, 64 slots at a time (Go's nextFreeFast / nextFree). */
static inline bool span_nextfree(mspan_t *s, uint32_t *out) {
  for (;;) {
    uint64_t c = s->allocCache;
    uint32_t fi = atomic_load_relaxed(&s->freeindex);
    if (hl_likely(c != 0)) {
      unsigned b = (unsigned)__builtin_ctzll(c);
      uint32_t idx = fi + b;
      if (idx >= s->nelems)
        return false;
      uint32_t nfi = idx + 1;
      if ((nfi & 63) == 0) {
        if (nfi < s->nelems) {
          uint64_t w;
          memcpy(&w, s->allocBits + nfi / 8, 8);
          s->allocCache = ~w;
        } else {
          s->allocCache = 0;
        }
      } else {
        s->allocCache = c >> (b + 1);
      }
      atomic_store_relaxed(&s->freeindex, nfi);
      *out = idx;
      return true;
    }
    uint32_t next = (fi & ~63u) + 64;
    if (next >= s->nelems) {
      atomic_store_relaxed(&s->freeindex, s->nelems);
      return false;
    }
    uint64_t w;
    memcpy(&w, s->allocBits + next / 8, 8);
    s->allocCache = ~w;
    atomic_store_relaxed(&s->freeindex, next);
  }
}

/* Zeroes a small object: inline stores for the sizes binary-trees-like
 * programs allocate most (a libc memset call for 16 bytes was 4% of such
 * a run), memset above. */
static inline void zero_words(uint64_t *p, size_t words) {
  switch (words) { /* at most 8: the classes up to 64 B are 8-32, 48, 64 */
  case 8:
    p[7] = 0;
    /* fall through */
  case 7:
    p[6] = 0;
    /* fall through */
  case 6:
    p[5] = 0;
    /* fall through */
  case 5:
    p[4] = 0;
    /* fall through */
  case 4:
    p[3] = 0;
    /* fall through */
  case 3:
    p[2] = 0;
    /* fall through */
  case 2:
    p[1] = 0;
    /* fall through */
  case 1:
    p[0] = 0;
    /* fall through */
  default:
    break;
  }
}
static inline void zero_small(uintptr_t v, size_t n) {
  if (n <= 64)
    zero_words((uint64_t *)v, n / 8);
  else
    memset((void *)v, 0, n);
}

/*
 * Allocate-black for small objects, in bulk. Go sets each new object's
 * mark bit as it is allocated (gcmarknewobject: an atomic OR, because
 * markers set other bits of the same byte); a profile of binary-trees put
 * 9% of the sampled time on that locked OR, and doing without it took the
 * run's median from 1.10 s to 1.07 s (5 interleaved runs). Here the first
 * allocation of a cycle's mark from a cached span records where it
 * started (blackfrom, blackcycle), and the slots allocated from there on
 * — those below freeindex that were free at the sweep (allocBits clear) —
 * get their marks, found 64 slots at a time in the alloc bitmap, when the
 * span leaves the P's cache: at refill, or at mark termination
 * (gcache_release_all, before the checkmark), so every object
 * allocated while marking is marked before anything reads the bits for
 * sweeping. Until then a marker that reaches such an object treats it as
 * black (grey() in mark.c asks black_pending), so the write barrier's
 * shading of new objects queues nothing, as with Go's immediate bit.
 * Races are benign: a marker that reads the span's fields while they
 * change at worst queues a new object and scans it once more (its slots
 * hold only barrier-shaded pointers, or nothing); the range only grows
 * within a cycle (a span cached again by any P keeps its blackfrom), and
 * freeindex does not move back while marking (no sweeping then).
 */
static inline void black_note(mspan_t *s, uint32_t idx) {
  uint32_t cyc = (uint32_t)atomic_load_relaxed(&gc.cycle);
  if (hl_unlikely(atomic_load_relaxed(&s->blackcycle) != cyc)) {
    atomic_store_relaxed(&s->blackfrom, idx);
    /* release: a marker that reads blackcycle == cyc sees blackfrom */
    atomic_store_release(&s->blackcycle, cyc);
  }
}

/*
 * hl_new's fast path: one object of a type whose fast_ is TYPE_FAST_OK,
 * from the P's cached span of its class — the slot, zeroing, heap bits
 * and allocate-black of gc_alloc without its size-class lookup, tiny and
 * large paths or generic bitmap writer. NULL, with nothing done, when it
 * would need a call (no cached span or a full one: gc_alloc refills; a
 * slot over 64 bytes to zero): the caller stays a leaf that saves no
 * register. Caller is in a critical section on the P that owns c.
 */
static inline void *gc_new_fast(gcache_t *c, const hl_type_t *t, uint32_t f) {
  uint32_t spc = f & TYPE_FAST_SPC;
  mspan_t *s = c->alloc[spc];
  if (hl_unlikely(!s || (s->gcneedzero && (f & TYPE_FAST_BIG))))
    return NULL;
  uint32_t idx;
  if (hl_unlikely(!span_nextfree(s, &idx)))
    return NULL;
  s->allocCount++;
  size_t elem = s->elemsize, off_bytes = (size_t)idx * elem;
  uintptr_t v = s->base + off_bytes;
  if (s->gcneedzero)
    zero_words((uint64_t *)v, elem / 8); /* elem <= 64: checked above */
  if (!(f & 1)) { /* a scan class: the object's bits, then zeros */
    size_t w0 = off_bytes / 8, off = w0 & 63, nw = elem / 8;
    uint64_t lo = __atomic_load_n(&t->hlo_, __ATOMIC_RELAXED);
    uint64_t bits = __atomic_load_n(&t->hbits_, __ATOMIC_RELAXED);
    uint64_t *w = c->alloc_hb[spc] + (w0 >> 6);
    hb_write(w, lo << off, bits << off);
    if (hl_unlikely(off + nw > 64))
      hb_write(w + 1, lo >> (64 - off), bits >> (64 - off));
  }
  if (gc_marking())
    black_note(s, idx);
  GC_OWNER_ADD(c->alloc_bytes, elem);
  GC_OWNER_ADD(c->alloc_objects, 1);
  return (void *)v;
}

/* hl_alloc_noscan's fast path: size in [TINY_SIZE, SMALL_SIZE_MAX], from
 * the P's cached noscan span of its class; NULL when that span is
 * missing or full. No heap bits; a reused slot over 64 bytes is zeroed
 * with memset. Caller is in a critical section on the P that owns c. */
static inline void *gc_noscan_fast(gcache_t *c, size_t size) {
  unsigned sc = size_to_class8[(size + SMALL_SIZE_DIV - 1) / SMALL_SIZE_DIV];
  mspan_t *s = c->alloc[sc << 1 | 1];
  uint32_t idx;
  if (hl_unlikely(!s || !span_nextfree(s, &idx)))
    return NULL;
  s->allocCount++;
  size_t elem = s->elemsize;
  uintptr_t v = s->base + (uintptr_t)idx * elem;
  if (s->gcneedzero)
    zero_small(v, elem);
  if (gc_marking())
    black_note(s, idx);
  GC_OWNER_ADD(c->alloc_bytes, elem);
  GC_OWNER_ADD(c->alloc_objects, 1);
  return (void *)v;
}

#endif
