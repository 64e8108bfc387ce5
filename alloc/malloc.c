/*
 * alloc/malloc.c — the allocation entry points: hl_malloc, hl_calloc,
 * hl_realloc, hl_reallocarray, hl_aligned_alloc, hl_posix_memalign,
 * hl_usable_size, and the slow and large paths behind them.
 *
 * Allocation path (numbered as in Go's malloc.go):
 *  1. Small (<= 32 KiB): malloc_fast (fastpath.h) pops the thread's span
 *     for the size class; on an empty span mcache_refill collects remote
 *     frees, scans other owned spans, adopts from mcentral, or carves a new
 *     span from the thread's page cache (mcache.c).
 *  2. Large (> 32 KiB): a span of its own from the heap under mheap.lock
 *     (malloc_large), zeroed only if its pages may hold old data.
 *  3. sbrk mode (HLDEBUG=sbrk=1): bump allocation, see sbrk.c.
 * Errors: an impossible size or an OS refusal gives NULL with ENOMEM; a
 * bad alignment gives EINVAL.
 */
#include "alloc/fastpath.h"
#include "base/env.h"
#include "heaplab/alloc.h"

#include <errno.h>
#include <string.h>

/* Requests above this are impossible (more than the 48-bit heap space). */
#define MAX_REQUEST ((size_t)1 << 46)

void *malloc_large(size_t size, size_t align_pages, int zero) {
  if (size > MAX_REQUEST) {
    errno = ENOMEM;
    return NULL;
  }
  size_t npages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
  hl_lock(&mheap.lock);
  mspan_t *s = heap_alloc_run(npages, align_pages, MSPAN_LARGE);
  if (!s) {
    hl_unlock(&mheap.lock);
    errno = ENOMEM;
    return NULL;
  }
  s->large_size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
  mheap.large_bytes += (uint64_t)npages * PAGE_SIZE;
  mheap.large_objects++;
  span_map_ends(s);
  hl_unlock(&mheap.lock);
  if (zero && s->needzero)
    memset((void *)s->base, 0, size);
  return (void *)s->base;
}

HL_NOINLINE void *malloc_slow(size_t size, int zero) {
  mcache_t *c = tls_mcache;
  if (c == &empty_mcache && !(c = mcache_attach())) {
    errno = ENOMEM; /* no memory for this thread's cache */
    return NULL;
  }
  if (hl_unlikely(hl_debug.sbrk))
    return sbrk_alloc(size, 16); /* fresh memory: already zero */
  if (size <= MAX_SMALL_SIZE) {
    unsigned sc = size_class_of(size);
    mspan_t *s = c->alloc[sc];
    void *p = s->freelist ? span_pop(c, s, (int)sc) : mcache_refill(c, (int)sc);
    if (!p) {
      errno = ENOMEM;
      return NULL;
    }
    if (zero)
      memset(p, 0, size);
    return p;
  }
  return malloc_large(size, 1, zero);
}

HL_API void *hl_malloc(size_t size) { return malloc_fast(size); }

HL_API void *hl_calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  if (total <= MAX_SMALL_SIZE) {
    void *p = malloc_fast(total);
    if (p && !hl_debug.sbrk)
      memset(p, 0, total);
    return p;
  }
  return malloc_slow(total, 1);
}

HL_API size_t hl_usable_size(const void *p) {
  if (!p)
    return 0;
  mspan_t *s = span_of((uintptr_t)p);
  if (s && s->state == MSPAN_SMALL) {
    if (span_object_start(s, (uintptr_t)p))
      return s->elemsize;
  } else if (s && s->state == MSPAN_LARGE && (uintptr_t)p == s->base) {
    return (size_t)s->npages * PAGE_SIZE;
  } else if (s && s->state == MSPAN_SBRK) {
    return sbrk_usable(p);
  }
  free_invalid("malloc_usable_size():", (void *)p);
}

HL_API void *hl_realloc(void *p, size_t size) {
  if (!p)
    return hl_malloc(size);
  if (size == 0) { /* glibc's behaviour: free and return NULL */
    free_fast(p, "realloc():");
    return NULL;
  }
  mspan_t *s = span_of((uintptr_t)p);
  size_t old;
  if (s && s->state == MSPAN_SMALL) {
    if (!span_object_start(s, (uintptr_t)p))
      free_invalid("realloc():", p);
    if ((uintptr_t)((void **)p)[1] == hl_free_key)
      hl_misuse("realloc(): pointer %p was already freed", p);
    old = s->elemsize;
    if (size <= old && (size > old / 2 || old <= 16))
      return p;
  } else if (s && s->state == MSPAN_LARGE && (uintptr_t)p == s->base) {
    old = (size_t)s->npages * PAGE_SIZE;
    if (size <= old && size > old / 2)
      return p;
    if (size > old && size <= MAX_REQUEST) {
      size_t npages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
      hl_lock(&mheap.lock);
      size_t before = s->npages;
      int ok = s->state == MSPAN_LARGE && heap_grow_in_place(s, npages);
      if (ok)
        mheap.large_bytes += (uint64_t)(s->npages - before) * PAGE_SIZE;
      hl_unlock(&mheap.lock);
      if (ok)
        return p;
    }
  } else if (s && s->state == MSPAN_SBRK) {
    old = sbrk_usable(p);
    if (size <= old)
      return p;
  } else {
    free_invalid("realloc():", p);
  }
  void *q = hl_malloc(size);
  if (!q)
    return NULL; /* p is left untouched, as realloc(3) says */
  memcpy(q, p, old < size ? old : size);
  free_fast(p, "realloc():");
  return q;
}

HL_API void *hl_reallocarray(void *p, size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return hl_realloc(p, total);
}

HL_API void *hl_aligned_alloc(size_t align, size_t size) {
  if (align == 0 || (align & (align - 1)) != 0) {
    errno = EINVAL;
    return NULL;
  }
  if (align <= 8)
    return hl_malloc(size);
  if (tls_mcache == &empty_mcache && !mcache_attach()) {
    errno = ENOMEM;
    return NULL;
  }
  if (hl_debug.sbrk)
    return sbrk_alloc(size, align);
  size_t n = size < align ? align : size;
  if (align <= PAGE_SIZE && n <= MAX_SMALL_SIZE) {
    /* Objects of a class whose size is a multiple of align sit at
     * align-multiples (spans are page-aligned): find the first such class
     * that fits. Power-of-two classes exist up to 8 KiB. */
    for (unsigned sc = size_class_of(n); sc < NUM_SIZE_CLASSES; sc++) {
      if (class_to_size[sc] % align == 0)
        return hl_malloc(class_to_size[sc]);
    }
  }
  if (size == 0)
    size = 1;
  return malloc_large(size, align > PAGE_SIZE ? align / PAGE_SIZE : 1, 0);
}

HL_API int hl_posix_memalign(void **out, size_t align, size_t size) {
  if (align < sizeof(void *) || (align & (align - 1)) != 0)
    return EINVAL;
  int saved = errno;
  void *p = hl_aligned_alloc(align, size);
  if (!p) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}
