/*
 * alloc/sbrk.c — sbrk mode (HLDEBUG=sbrk=1), the trivial-allocator
 * baseline of an experiment, after Go's GODEBUG=sbrk=1.
 *
 * Entry points: sbrk_alloc, sbrk_usable, sbrk_bytes.
 *
 *  1. Memory comes in chunks of at least 64 MiB taken from the heap as
 *     SBRK spans (so the page map knows them and free recognises them).
 *  2. An allocation bumps the chunk's cursor with one atomic add; the
 *     object is preceded by a 16-byte header holding its size (realloc and
 *     malloc_usable_size need it).
 *  3. When the chunk is exhausted, a thread takes sbrk_lock, installs a new
 *     chunk if nobody did meanwhile, and retries. The old chunk's tail is
 *     wasted.
 *  4. free does nothing.
 */
#include "alloc/internal.h"

#include <errno.h>

#define SBRK_CHUNK (64u << 20)
#define SBRK_HDR 16

typedef struct sbrk_chunk {
  uintptr_t base, end;
  _Atomic uintptr_t cur;
} sbrk_chunk_t;

HL_HIDDEN hl_lock_t sbrk_lock;
static _Atomic(sbrk_chunk_t *) current;
static _Atomic uint64_t handed_out;

static int sbrk_refill(sbrk_chunk_t *seen, size_t need) {
  hl_lock(&sbrk_lock);
  if (atomic_load_relaxed(&current) != seen) {
    hl_unlock(&sbrk_lock);
    return 0;
  }
  size_t bytes = need + PAGE_SIZE > SBRK_CHUNK ? need + PAGE_SIZE : SBRK_CHUNK;
  hl_lock(&mheap.lock);
  mspan_t *s = heap_alloc_run((bytes + PAGE_SIZE - 1) >> PAGE_SHIFT, 1,
                              MSPAN_SBRK);
  if (s)
    pagemap_set(s->base, s->npages, s);
  hl_unlock(&mheap.lock);
  sbrk_chunk_t *ch = s ? meta_alloc(sizeof *ch) : NULL;
  if (!ch) {
    hl_unlock(&sbrk_lock);
    return -1;
  }
  ch->base = s->base;
  ch->end = s->base + (uintptr_t)s->npages * PAGE_SIZE;
  atomic_store_relaxed(&ch->cur, ch->base);
  /* release: a thread loading `current` sees the chunk's fields. */
  atomic_store_release(&current, ch);
  hl_unlock(&sbrk_lock);
  return 0;
}

void *sbrk_alloc(size_t size, size_t align) {
  if (size > ((size_t)1 << 46)) {
    errno = ENOMEM;
    return NULL;
  }
  if (align < SBRK_HDR)
    align = SBRK_HDR;
  size_t need = SBRK_HDR + size + (align - SBRK_HDR);
  need = (need + 15) & ~(size_t)15;
  for (;;) {
    /* acquire: pairs with the release in sbrk_refill. */
    sbrk_chunk_t *ch = atomic_load_acquire(&current);
    if (ch) {
      uintptr_t at = atomic_add_relaxed(&ch->cur, need);
      if (at + need <= ch->end) {
        uintptr_t obj = (at + SBRK_HDR + align - 1) & ~(uintptr_t)(align - 1);
        ((size_t *)obj)[-1] = size;
        atomic_add_relaxed(&handed_out, size);
        return (void *)obj;
      }
    }
    if (sbrk_refill(ch, need) != 0) {
      errno = ENOMEM;
      return NULL;
    }
  }
}

size_t sbrk_usable(const void *p) { return ((const size_t *)p)[-1]; }

uint64_t sbrk_bytes(void) { return atomic_load_relaxed(&handed_out); }
