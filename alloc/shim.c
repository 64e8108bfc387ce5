/*
 * alloc/shim.c — libheaplab_malloc.so: the whole malloc family for
 * LD_PRELOAD, on top of the hl_* allocator.
 *
 *   LD_PRELOAD=libheaplab_malloc.so program
 *
 * Overrides malloc, free, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size (and cfree,
 * __libc_memalign for old callers). malloc and free inline the fast paths
 * (alloc/fastpath.h), so a preloaded program pays no extra call.
 *
 * Fork: handlers registered at start-up hold every allocator lock across
 * fork (mcache.c). Thread exit: a pthread key destructor flushes the
 * thread's cache. glibc's malloc_trim/mallopt/mallinfo still act on glibc's
 * own (unused) arena and are harmless.
 */
#include "alloc/fastpath.h"
#include "heaplab/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#define SHIM __attribute__((visibility("default")))

SHIM void *malloc(size_t size) { return malloc_fast(size); }
SHIM void free(void *p) { free_fast(p, "free():"); }
SHIM void cfree(void *p) { free_fast(p, "free():"); }
SHIM void *calloc(size_t n, size_t size) { return hl_calloc(n, size); }
SHIM void *realloc(void *p, size_t size) { return hl_realloc(p, size); }
SHIM void *reallocarray(void *p, size_t n, size_t size) {
  return hl_reallocarray(p, n, size);
}
SHIM int posix_memalign(void **out, size_t align, size_t size) {
  return hl_posix_memalign(out, align, size);
}
SHIM void *aligned_alloc(size_t align, size_t size) {
  return hl_aligned_alloc(align, size);
}
/* memalign accepts any alignment, rounding it up to a power of two (as
 * glibc does). */
SHIM void *memalign(size_t align, size_t size) {
  if (align == 0)
    align = 1;
  if (align & (align - 1)) {
    if (align > ((size_t)1 << 62)) {
      errno = EINVAL;
      return NULL;
    }
    size_t a = 1;
    while (a < align)
      a <<= 1;
    align = a;
  }
  return hl_aligned_alloc(align, size);
}
SHIM void *__libc_memalign(size_t align, size_t size) {
  return memalign(align, size);
}
SHIM void *valloc(size_t size) {
  return hl_aligned_alloc((size_t)sysconf(_SC_PAGESIZE), size);
}
SHIM void *pvalloc(size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t rounded = (size + page - 1) & ~(page - 1);
  if (rounded < size) {
    errno = ENOMEM;
    return NULL;
  }
  return hl_aligned_alloc(page, rounded ? rounded : page);
}
SHIM size_t malloc_usable_size(void *p) { return hl_usable_size(p); }
