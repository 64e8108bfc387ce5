/*
 * alloc/internal.h — cross-file prototypes of the allocator, grouped by the
 * file that defines them. Lock order: mcache registry -> mcentral[i].lock
 * -> mheap.lock -> meta lock (docs/design/locking.md).
 */
#ifndef HL_ALLOC_INTERNAL_H
#define HL_ALLOC_INTERNAL_H

#include "alloc/types.h"
#include "base/debug.h"

/* ---- heap.c: arenas, arena index, page runs, metadata ---- */
extern HL_HIDDEN mheap_t mheap;
#if ARENA_L1_BITS == 0
extern HL_HIDDEN _Atomic(heaparena_t *) arena_l2[ARENA_L2_SIZE];
#else
extern HL_HIDDEN _Atomic(_Atomic(heaparena_t *) *) arena_l1[ARENA_L1_SIZE];
#endif
extern HL_HIDDEN uintptr_t hl_free_key; /* word 1 of every free object */

/* Arena holding addr, or NULL when addr is not heap memory. Lock-free.
 * Addresses above 2^48 alias lower ones: every caller checks the address
 * against the span it finds (object boundary, span base). */
HL_INLINE heaparena_t *arena_of(uintptr_t addr) {
#if ARENA_L1_BITS == 0
  return atomic_load_relaxed(
      &arena_l2[(addr >> ARENA_SHIFT) & (ARENA_L2_SIZE - 1)]);
#else
  if (hl_unlikely(addr >> HEAP_ADDR_BITS))
    return NULL;
  _Atomic(heaparena_t *) *l2 =
      atomic_load_relaxed(&arena_l1[addr >> (ARENA_SHIFT + ARENA_L2_BITS)]);
  if (hl_unlikely(l2 == NULL))
    return NULL;
  return atomic_load_relaxed(&l2[(addr >> ARENA_SHIFT) & (ARENA_L2_SIZE - 1)]);
#endif
}
/* Span holding the page of addr, or NULL. Lock-free, O(1). Relaxed: a
 * caller freeing an object it obtained from malloc is already ordered after
 * the store that published the span. */
HL_INLINE mspan_t *span_of(uintptr_t addr) {
  heaparena_t *a = arena_of(addr);
  if (hl_unlikely(a == NULL))
    return NULL;
  return atomic_load_relaxed(
      &a->spans[(addr >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)]);
}

/* True when p starts an object slot of SMALL span s. Lemire's test: for
 * n < 2^32, d divides n iff n * ceil(2^64/d) mod 2^64 < ceil(2^64/d) —
 * one multiply and one compare instead of a division. */
HL_INLINE int span_object_start(const mspan_t *s, uintptr_t p) {
  uintptr_t off = p - s->base;
  return off < s->limit && off * s->divtest < s->divtest;
}

/* Pages of a manual span of class sc: the class's span length times the
 * smallest factor reaching MANUAL_SPAN_MIN_PAGES (tail waste keeps its
 * fraction). */
HL_INLINE size_t manual_span_pages(int sc) {
  size_t n = class_to_npages[sc];
  return n * ((MANUAL_SPAN_MIN_PAGES + n - 1) / n);
}

/* span_of for the heap's own neighbour checks: acquire, pairing with the
 * release in pagemap_set, because a neighbour page may belong to another
 * thread's page cache and be turning into a span right now (its struct is
 * written without the heap lock before it is published). */
HL_INLINE mspan_t *span_of_acquire(uintptr_t addr) {
  heaparena_t *a = arena_of(addr);
  if (hl_unlikely(a == NULL))
    return NULL;
  return atomic_load_acquire(
      &a->spans[(addr >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)]);
}

void heap_init(void);                   /* once, from mcache_attach */
void pagemap_set(uintptr_t base, size_t npages, mspan_t *s);
/* Maps only the first and last page to s: LARGE spans, whose interior
 * pages stay unmapped so allocating and freeing them is O(1) (coalescing
 * needs only the ends; a free of an interior address finds no span and is
 * reported as an invalid pointer). */
void span_map_ends(mspan_t *s);
mspan_t *spanstruct_alloc(void);        /* caller holds mheap.lock */
void spanstruct_free(mspan_t *s);       /* caller holds mheap.lock */
/* Allocates a run of npages (aligned to align pages) as a span in state
 * `state`; grows the heap when needed. Caller holds mheap.lock. NULL when
 * the OS refuses memory. */
mspan_t *heap_alloc_run(size_t npages, size_t align_pages, int state);
/* Like heap_alloc_run (state BUSY, no alignment) but only from a free run
 * shorter than `below` pages, and never growing the heap; NULL if none. */
mspan_t *heap_alloc_short_run(size_t npages, size_t below);
/* Returns s's pages to the free runs, coalescing. Caller holds the lock. */
void heap_free_run(mspan_t *s);
/* Frees pages [base, base+npages) that are outside any span (page-cache
 * leftovers). Caller holds mheap.lock. */
void heap_free_pages(uintptr_t base, size_t npages, uint64_t released_mask);
/* Grows a LARGE span in place to npages when the run after it is free.
 * Caller holds the lock. Returns 1 on success. */
int heap_grow_in_place(mspan_t *s, size_t npages);
/* Releases pages free for at least min_age_ns to the OS; returns bytes. */
size_t heap_scavenge(int64_t min_age_ns, size_t max_bytes);
void *meta_alloc(size_t size);          /* zeroed, never freed */
int heap_is_valid(int fatal);

/* ---- pagecache.c ---- */
/* Takes npages (<= PAGECACHE_MAX_SPAN) from c's page cache, refilling it
 * from the heap; returns 0 when the OS refuses memory. */
uintptr_t pagecache_alloc(mcache_t *c, size_t npages, int *needzero);
void pagecache_flush(mcache_t *c); /* caller holds mheap.lock */

/* ---- span.c ---- */
void span_init_small(mspan_t *s, int sizeclass, int needzero);
/* Makes s's free list non-empty if it can: collects remote frees, then
 * carves never-used objects. Returns 1 when the list is non-empty. */
int span_refresh(mspan_t *s);
/* Folds xfree into freelist; returns the number of objects recovered. */
uint32_t span_collect(mspan_t *s);
int span_is_valid(mspan_t *s, int fatal);
/* Reports the double free that left p on s's free list without its free
 * mark (or a write to p after it was freed), and aborts. */
__attribute__((noreturn, cold)) void free_list_corrupt(mspan_t *s, void *p);
/* Walks s's free list before s is released as empty: every carved object
 * on it exactly once, each with its free mark, or free_list_corrupt. */
void span_check_free_list(mspan_t *s);
/* Returns an empty SMALL span`s pages to the heap (takes mheap.lock). */
void span_free_small(mspan_t *s);
extern HL_HIDDEN _Atomic uint64_t span_count[NUM_SIZE_CLASSES];

/* ---- mcentral.c ---- */
extern HL_HIDDEN mcentral_t mcentral[NUM_SIZE_CLASSES];
void mcentral_init(void); /* from heap_init */
mspan_t *mcentral_adopt(int sizeclass, mcache_t *c);
void mcentral_put(mspan_t *s);
size_t mcentral_reclaim(void); /* frees spans that became empty */

/* ---- mcache.c ---- */
extern HL_HIDDEN mspan_t empty_span;
extern HL_HIDDEN mcache_t empty_mcache;
extern HL_HIDDEN __thread mcache_t *tls_mcache
    __attribute__((tls_model("initial-exec")));
mcache_t *mcache_attach(void); /* gives the thread an mcache; NULL: ENOMEM */
/* An mcache owned by no thread (a scheduler P's): the owner sets
 * tls_mcache to it while it runs there. */
mcache_t *mcache_create(void);
/* Flushes an mcache from mcache_create and returns it to the pool. Caller
 * is its only user. */
void mcache_destroy(mcache_t *c);
void *mcache_refill(mcache_t *c, int sizeclass); /* returns an object */
/* Pops s's free list (non-empty), checking the free mark. */
void *span_pop(mcache_t *c, mspan_t *s, int sizeclass);
void mcache_release_span(mcache_t *c, mspan_t *s); /* s became empty */
void mcache_flush(mcache_t *c);
void mcache_foreach(void (*fn)(mcache_t *, void *), void *arg);
void mcache_fork_prepare(void);
void mcache_fork_parent(void);
void mcache_fork_child(void);

/* ---- malloc.c / free.c ---- */
void *malloc_large(size_t size, size_t align, int zero);
void free_slow(void *p, mspan_t *s, const char *fn);
__attribute__((noreturn, cold)) void free_invalid(const char *fn, void *p);

/* ---- sbrk.c ---- */
void *sbrk_alloc(size_t size, size_t align);
size_t sbrk_usable(const void *p);
uint64_t sbrk_bytes(void);

/* ---- scavenger.c ---- */
void scavenger_kick(void); /* starts the thread on first call */
void scavenger_fork_child(void);

#endif
