/*
 * heaplab/alloc.h — the manual allocator: malloc-family entry points and
 * heap statistics.
 *
 * These functions use heaplab's size-class allocator (spans, per-thread
 * caches, mcentral, mheap; see docs/allocator.md). They are thread-safe and
 * may be mixed freely across threads: an object may be freed by a thread
 * other than the one that allocated it.
 *
 * Misuse is never silent: freeing a pointer heaplab did not return, freeing
 * an interior pointer or freeing twice prints a message naming the call and
 * the address on stderr and aborts ("heaplab: free(): invalid pointer 0x..").
 */
#ifndef HEAPLAB_ALLOC_H
#define HEAPLAB_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HL_API
#define HL_API __attribute__((visibility("default")))
#endif

/* Largest request that is served from a size class; larger requests get a
 * span of their own. */
#define HL_MAX_SMALL_SIZE 32768u
/* Page size of the heap (not necessarily the OS page size). */
#define HL_PAGE_SIZE 8192u
/* Upper bound on the number of size classes (the real count is
 * hl_heap_stats_t.nclasses). */
#define HL_MAX_SIZE_CLASSES 96

/* malloc(3) semantics: NULL with errno = ENOMEM when the size is impossible
 * or the OS refuses memory. hl_malloc(0) returns a unique pointer. */
HL_API void *hl_malloc(size_t size);
/* free(3) semantics; hl_free(NULL) does nothing. */
HL_API void hl_free(void *p);
/* calloc(3): zeroed memory; NULL with ENOMEM when n * size overflows. */
HL_API void *hl_calloc(size_t n, size_t size);
/* realloc(3): grows large objects in place when the following pages are
 * free. realloc(p, 0) frees p and returns a unique minimal allocation. */
HL_API void *hl_realloc(void *p, size_t size);
/* reallocarray(3): realloc with an overflow check on n * size. */
HL_API void *hl_reallocarray(void *p, size_t n, size_t size);
/* aligned_alloc(3): alignment must be a power of two (EINVAL otherwise). */
HL_API void *hl_aligned_alloc(size_t alignment, size_t size);
/* posix_memalign(3): returns EINVAL unless alignment is a power of two
 * multiple of sizeof(void *), ENOMEM on failure, 0 on success. */
HL_API int hl_posix_memalign(void **out, size_t alignment, size_t size);
/* malloc_usable_size(3): bytes usable at p (0 for NULL). */
HL_API size_t hl_usable_size(const void *p);

/* Per size class figures. */
typedef struct hl_size_class_stats {
  uint32_t size;          /* object size of the class in bytes */
  uint32_t span_pages;    /* pages per span */
  uint64_t objects_in_use;
  uint64_t spans;         /* spans of this class currently in use */
  uint64_t mallocs;       /* cumulative allocations */
  uint64_t frees;         /* cumulative frees */
} hl_size_class_stats_t;

typedef struct hl_heap_stats {
  uint64_t bytes_in_use;      /* bytes of live objects (class size / span size) */
  uint64_t bytes_in_spans;    /* bytes of pages held by in-use spans */
  uint64_t bytes_free_spans;  /* free pages still backed by memory */
  uint64_t bytes_released;    /* free pages returned to the OS (not in RSS) */
  uint64_t bytes_mapped;      /* heap address space mapped from the OS */
  uint64_t bytes_metadata;    /* spans, arena maps, caches */
  uint64_t large_objects;     /* live objects > HL_MAX_SMALL_SIZE */
  uint64_t large_bytes;       /* bytes of pages held by large objects */
  uint64_t sbrk_bytes;        /* bytes handed out in sbrk mode */
  uint64_t scavenged_total;   /* cumulative bytes returned to the OS */
  uint32_t nclasses;          /* valid entries in classes[] (index 0 unused) */
  hl_size_class_stats_t classes[HL_MAX_SIZE_CLASSES];
} hl_heap_stats_t;

/* Fills *out with a snapshot. Exact when no other thread allocates or
 * frees concurrently; otherwise each counter is individually consistent. */
HL_API void hl_heap_stats(hl_heap_stats_t *out);

/* Returns this thread's cached memory to the shared heap (done
 * automatically when a thread exits). */
HL_API void hl_thread_flush(void);

/* Releases every free page to the OS now (what the scavenger does over
 * time). Returns the number of bytes released. */
HL_API size_t hl_heap_release(void);

/* Walks every heap structure and checks its invariants; returns 1 when the
 * heap is valid. Calls hl_throw on the first broken invariant when `fatal`. */
HL_API int hl_heap_validate(int fatal);

#ifdef __cplusplus
}
#endif
#endif
