/*
 * alloc/stats.c — hl_heap_stats, hl_heap_validate, hl_thread_flush.
 *
 * Object counts per class are the sum over every mcache (live or pooled)
 * of its owner-written malloc and free counters; page figures come from
 * the heap under its lock. The snapshot is exact when no thread allocates
 * meanwhile.
 */
#include "alloc/internal.h"
#include "base/os.h"
#include "heaplab/alloc.h"

#include <string.h>

static void add_counts(mcache_t *c, void *arg) {
  hl_heap_stats_t *st = arg;
  for (int sc = 1; sc < NUM_SIZE_CLASSES; sc++) {
    st->classes[sc].mallocs += counter_read(&c->nmalloc[sc]);
    st->classes[sc].frees += counter_read(&c->nfree[sc]);
  }
}

HL_API void hl_heap_stats(hl_heap_stats_t *out) {
  memset(out, 0, sizeof *out);
  if (tls_mcache == &empty_mcache)
    mcache_attach();
  out->nclasses = NUM_SIZE_CLASSES;
  mcache_foreach(add_counts, out);
  uint64_t span_bytes = 0;
  for (int sc = 1; sc < NUM_SIZE_CLASSES; sc++) {
    hl_size_class_stats_t *k = &out->classes[sc];
    k->size = class_to_size[sc];
    k->span_pages = (uint32_t)manual_span_pages(sc);
    k->objects_in_use = k->mallocs >= k->frees ? k->mallocs - k->frees : 0;
    k->spans = atomic_load_relaxed(&span_count[sc]);
    out->bytes_in_use += k->objects_in_use * k->size;
    span_bytes += k->spans * k->span_pages * PAGE_SIZE;
  }
  hl_lock(&mheap.lock);
  out->bytes_in_use += mheap.large_bytes;
  out->bytes_in_spans = span_bytes + mheap.large_bytes;
  /* released_bytes counts free-run pages only (a run taken from the heap
   * clears its bits), so it never exceeds free_bytes. */
  out->bytes_free_spans = mheap.free_bytes - mheap.released_bytes +
                          atomic_load_relaxed(&mheap.cached_bytes);
  out->bytes_released = mheap.released_bytes;
  out->bytes_mapped = mheap.arena_bytes;
  out->bytes_metadata = mheap.meta_bytes;
  out->large_objects = mheap.large_objects;
  out->large_bytes = mheap.large_bytes;
  out->scavenged_total = mheap.scavenged_total;
  hl_unlock(&mheap.lock);
  out->sbrk_bytes = sbrk_bytes();
}

HL_API void hl_thread_flush(void) {
  mcache_t *c = tls_mcache;
  if (c != &empty_mcache)
    mcache_flush(c);
}

static int list_is_valid(hl_list_t *l, mcache_t *owner, int fatal) {
  for (hl_list_t *e = l->next; e != l; e = e->next) {
    mspan_t *s = hl_container_of(e, mspan_t, link);
    if (!span_is_valid(s, fatal))
      return 0;
    if (atomic_load_relaxed(&s->owner) != owner) {
      if (fatal)
        hl_throw("span on a list of a cache that does not own it");
      return 0;
    }
  }
  return 1;
}

HL_API int hl_heap_validate(int fatal) {
  mcache_t *c = tls_mcache;
  if (c == &empty_mcache)
    c = mcache_attach(); /* NULL if out of memory: no cache to check */
  if (!heap_is_valid(fatal))
    return 0;
  for (int sc = 1; sc < NUM_SIZE_CLASSES; sc++) {
    if (c && c->alloc[sc] != &empty_span) {
      if (!span_is_valid(c->alloc[sc], fatal))
        return 0;
      if (atomic_load_relaxed(&c->alloc[sc]->owner) != c) {
        if (fatal)
          hl_throw("current span not owned by its cache");
        return 0;
      }
    }
    if (c && !list_is_valid(&c->spans[sc], c, fatal))
      return 0;
    mcentral_t *mc = &mcentral[sc];
    {
      hl_lock(&mc->lock);
      int ok = list_is_valid(&mc->spans, NULL, fatal);
      hl_unlock(&mc->lock);
      if (!ok)
        return 0;
    }
  }
  return 1;
}
