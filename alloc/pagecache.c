/*
 * alloc/pagecache.c — per-thread page caches (Go's pageCache).
 *
 * Entry points: pagecache_alloc, pagecache_flush.
 *
 * An mcache holds one 64-page chunk taken from the heap and a bitmap of its
 * free pages. Small spans (<= PAGECACHE_MAX_SPAN pages) are carved from it
 * with bit tricks and no lock:
 *  1. x = bits & bits>>1 & ... & bits>>(n-1) marks the pages that start a
 *     run of n free pages; ctz(x) is the lowest.
 *  2. When no run fits, the heap lock is taken and a free run shorter
 *     than a chunk that fits the span is used directly (best fit); only
 *     when there is none do the leftover free pages go back to the heap
 *     (they coalesce there) and a new 64-page chunk is taken. Growing the heap for a chunk only costs address space: pages
 *     become resident when a span is carved and written.
 * Pages in a cache map to no span, so a free of one is "invalid pointer".
 */
#include "alloc/internal.h"

static uint64_t run_mask(size_t n, unsigned at) {
  return (n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << at;
}

static int cache_take(pagecache_t *pc, size_t npages, uintptr_t *out,
                      int *needzero) {
  uint64_t x = pc->bits;
  for (size_t i = 1; i < npages && x; i++)
    x &= pc->bits >> i;
  if (!x)
    return 0;
  unsigned at = (unsigned)__builtin_ctzll(x);
  uint64_t m = run_mask(npages, at);
  pc->bits &= ~m;
  *needzero = (pc->released & m) != m;
  pc->released &= ~m;
  atomic_sub_relaxed(&mheap.cached_bytes, (uint64_t)npages * PAGE_SIZE);
  *out = pc->base + (uintptr_t)at * PAGE_SIZE;
  return 1;
}

/* Returns the cache's free pages to the heap as runs. Caller holds the
 * heap lock. */
void pagecache_flush(mcache_t *c) {
  HL_ASSERT_INTERNAL(hl_lock_held(&mheap.lock));
  pagecache_t *pc = &c->pcache;
  while (pc->bits) {
    unsigned at = (unsigned)__builtin_ctzll(pc->bits);
    unsigned n = 0;
    while (at + n < 64 && ((pc->bits >> (at + n)) & 1))
      n++;
    heap_free_pages(pc->base + (uintptr_t)at * PAGE_SIZE, n, 0);
    atomic_sub_relaxed(&mheap.cached_bytes, (uint64_t)n * PAGE_SIZE);
    pc->bits &= ~run_mask(n, at);
  }
  pc->base = 0;
  pc->released = 0;
}

uintptr_t pagecache_alloc(mcache_t *c, size_t npages, int *needzero) {
  uintptr_t base;
  if (cache_take(&c->pcache, npages, &base, needzero))
    return base;
  hl_lock(&mheap.lock);
  /* Reuse a short free run (a span freed earlier) before taking a chunk:
   * otherwise freed spans would sit in the bins, never coalescing into
   * the 64-page runs a chunk needs, while the heap grows. */
  mspan_t *r = heap_alloc_short_run(npages, PAGECACHE_PAGES);
  if (r) {
    base = r->base;
    *needzero = r->needzero;
    spanstruct_free(r);
    hl_unlock(&mheap.lock);
    return base;
  }
  pagecache_flush(c);
  mspan_t *chunk = heap_alloc_run(PAGECACHE_PAGES, 1, MSPAN_BUSY);
  if (!chunk) {
    hl_unlock(&mheap.lock);
    return 0;
  }
  /* heap_alloc_run cleared the released bits: remember which pages were
   * zero so spans carved from them skip zeroing. */
  c->pcache.base = chunk->base;
  c->pcache.bits = ~(uint64_t)0;
  c->pcache.released = chunk->needzero ? 0 : ~(uint64_t)0;
  atomic_add_relaxed(&mheap.cached_bytes, PAGECACHE_PAGES * PAGE_SIZE);
  spanstruct_free(chunk);
  hl_unlock(&mheap.lock);
  if (!cache_take(&c->pcache, npages, &base, needzero))
    hl_throw("pagecache: fresh chunk cannot hold a small span");
  return base;
}
