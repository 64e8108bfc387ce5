/*
 * pools/region.c — hl_region, bump allocation freed all at once.
 *
 * Entry points: hl_region_create, hl_region_alloc, hl_region_reset,
 * hl_region_destroy, hl_region_stats.
 *
 * Where the memory lives: in chunks from heaplab's manual allocator
 * (hl_malloc: manual spans, which the collector never sweeps or scans),
 * not on the collected heap. So region allocations cost no collected
 * bytes, do not advance the pacer and cause no cycles; and the collector
 * does not see region memory at all unless the region was created with
 * HL_REGION_SCAN, which registers every chunk as a root (hl_gc_add_root:
 * scanned word by word, conservatively, in every cycle — a cost
 * proportional to the chunks held). Pointers from collected objects into
 * a region keep nothing alive: the region decides alone when its memory
 * goes.
 *
 * Allocation: bump in the current chunk (aligned, zeroed); when it does
 * not fit, a new chunk (or, for a request larger than a chunk, a chunk of
 * its own size) becomes current. Reset rewinds to the first chunk and
 * frees the others; destroy frees all. With AddressSanitizer the memory a
 * reset or destroy frees is poisoned, so a use after reset is reported;
 * with HL_DEBUG >= 1 it is filled with 0xdb.
 *
 * Rejected: chunks on the collected heap (hl_alloc_conservative), freed by
 * dropping them — that is the slab's trade (one collected allocation per
 * batch, retention by interior pointers), not a region's, whose point in
 * an experiment is memory the collector never pays for.
 */
#include "pools/internal.h"

#include "base/throw.h"
#include "heaplab/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define REGION_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REGION_ASAN 1
#endif
#endif
#ifdef REGION_ASAN
#include <sanitizer/asan_interface.h>
#define region_poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define region_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define region_poison(p, n) ((void)(p), (void)(n))
#define region_unpoison(p, n) ((void)(p), (void)(n))
#endif

#define REGION_DEFAULT_CHUNK ((size_t)64 << 10)
#define REGION_MIN_CHUNK ((size_t)4 << 10)
#define REGION_MAX_CHUNK ((size_t)1 << 30)
#define REGION_MAGIC 0x5245474eu /* "REGN" */

/* A chunk: this header, then `size` usable bytes. */
struct chunk {
  struct chunk *next; /* older chunks */
  size_t size;
  uint64_t pad_[2];   /* 32 bytes: the data keeps hl_malloc's alignment */
};

struct hl_region {
  uint32_t magic;
  unsigned flags;
  size_t chunk_size;
  struct chunk *cur; /* newest; its next is older; the last is the first */
  size_t off;        /* bytes used in cur */
  hl_region_stats_t st;
};

static inline char *chunk_data(struct chunk *c) { return (char *)(c + 1); }

static void region_check(const hl_region_t *r, const char *fn) {
  if (r == NULL)
    hl_misuse("%s: NULL region", fn);
  if (r->magic != REGION_MAGIC)
    hl_misuse("%s: %p is not a live region (destroyed, or not from "
              "hl_region_create)",
              fn, (const void *)r);
}

static struct chunk *chunk_new(hl_region_t *r, size_t size) {
  struct chunk *c = hl_malloc(sizeof *c + size);
  if (c == NULL)
    return NULL;
  c->size = size;
  c->next = NULL;
  if (r->flags & HL_REGION_SCAN) {
    /* scanned from now on: no stale words (allocations zero their own) */
    memset(chunk_data(c), 0, size);
    hl_gc_add_root(chunk_data(c), size);
  }
  r->st.chunks++;
  r->st.reserved += size;
  return c;
}

static void chunk_free(hl_region_t *r, struct chunk *c) {
  if (r->flags & HL_REGION_SCAN)
    hl_gc_remove_root(chunk_data(c));
  r->st.reserved -= c->size;
#if HL_DEBUG >= 1
  memset(chunk_data(c), 0xdb, c->size);
#endif
  hl_free(c);
}

HL_API hl_region_t *hl_region_create(size_t chunk_size, unsigned flags) {
  (void)curg_or_die("hl_region_create");
  if (chunk_size == 0)
    chunk_size = REGION_DEFAULT_CHUNK;
  if (chunk_size < REGION_MIN_CHUNK || chunk_size > REGION_MAX_CHUNK ||
      (flags & ~HL_REGION_SCAN) != 0) {
    errno = EINVAL;
    return NULL;
  }
  hl_region_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  r->magic = REGION_MAGIC;
  r->flags = flags;
  r->chunk_size = (chunk_size + 15) & ~(size_t)15;
  r->cur = chunk_new(r, r->chunk_size);
  if (r->cur == NULL) {
    free(r);
    errno = ENOMEM;
    return NULL;
  }
  region_poison(chunk_data(r->cur), r->cur->size);
  return r;
}

HL_API void *hl_region_alloc(hl_region_t *r, size_t size, size_t align) {
  region_check(r, "hl_region_alloc");
  if (align == 0 || (align & (align - 1)) != 0 || align > 4096)
    hl_misuse("hl_region_alloc: align %zu is not a power of two in 1..4096",
              align);
  if (size > REGION_MAX_CHUNK)
    return NULL;
  struct chunk *c = r->cur;
  uintptr_t base = (uintptr_t)chunk_data(c);
  uintptr_t p = (base + r->off + align - 1) & ~(uintptr_t)(align - 1);
  if (p + size > base + c->size) {
    /* a new chunk: one of the usual size, or one of its own */
    size_t need = size + align;
    struct chunk *nc = chunk_new(r, need > r->chunk_size ? need : r->chunk_size);
    if (nc == NULL)
      return NULL;
    region_poison(chunk_data(nc), nc->size);
    nc->next = c;
    r->cur = c = nc;
    base = (uintptr_t)chunk_data(c);
    p = (base + align - 1) & ~(uintptr_t)(align - 1);
  }
  r->off = p + size - base;
  r->st.allocs++;
  r->st.bytes += size;
  r->st.used += size;
  region_unpoison((void *)p, size);
  memset((void *)p, 0, size);
  return (void *)p;
}

HL_API void hl_region_reset(hl_region_t *r) {
  region_check(r, "hl_region_reset");
  struct chunk *c = r->cur;
  while (c->next != NULL) {
    struct chunk *older = c->next;
    region_unpoison(chunk_data(c), c->size);
    chunk_free(r, c);
    c = older;
  }
  /* the first chunk stays; what was used is poisoned until reused */
  region_unpoison(chunk_data(c), c->size);
#if HL_DEBUG >= 1
  memset(chunk_data(c), 0xdb, c->size);
#else
  if (r->flags & HL_REGION_SCAN)
    memset(chunk_data(c), 0, r->off); /* no stale roots */
#endif
  region_poison(chunk_data(c), c->size);
  r->cur = c;
  r->off = 0;
  r->st.used = 0;
  r->st.resets++;
}

HL_API void hl_region_destroy(hl_region_t *r) {
  if (r == NULL)
    return;
  region_check(r, "hl_region_destroy");
  for (struct chunk *c = r->cur; c != NULL;) {
    struct chunk *older = c->next;
    region_unpoison(chunk_data(c), c->size);
    chunk_free(r, c);
    c = older;
  }
  r->magic = 0;
  free(r);
}

HL_API void hl_region_stats(const hl_region_t *r, hl_region_stats_t *st) {
  region_check(r, "hl_region_stats");
  *st = r->st;
}
