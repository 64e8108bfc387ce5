/*
 * alloc/span.c — small-object spans: set-up, collecting remote frees, and
 * the span validity walker.
 *
 * Entry points: span_init_small, span_collect, span_is_valid.
 *
 * Free lists are singly linked through word 0 of each free object; word 1
 * of a free object holds hl_free_key (the free mark: see fastpath.h).
 */
#include "alloc/internal.h"

#include <string.h>

HL_HIDDEN _Atomic uint64_t span_count[NUM_SIZE_CLASSES];

/* Objects carved per extension: about one OS page worth, at least one. */
#define EXTEND_BYTES 4096

void span_init_small(mspan_t *s, int sizeclass, int needzero) {
  uint32_t size = class_to_size[sizeclass];
  s->sizeclass = (uint8_t)sizeclass;
  s->elemsize = size;
  s->divmul = class_to_divmul[sizeclass];
  s->nelems = (uint32_t)(s->npages * PAGE_SIZE / size);
  s->limit = s->nelems * size;
  s->divtest = UINT64_MAX / size + 1;
  s->used = 0;
  s->carved = 0;
  s->in_central = 0;
  s->needzero = (uint8_t)needzero;
  s->freelist = NULL;
  atomic_store_relaxed(&s->xfree, 0);
  s->link.next = s->link.prev = NULL;
  atomic_add_relaxed(&span_count[sizeclass], 1);
}

/* Threads the next never-used objects onto the (empty) free list, in
 * address order, about EXTEND_BYTES at a time (as mimalloc extends its
 * pages), so untouched pages of a new span stay out of RSS. Each object
 * gets the free mark in word 1. Returns 0 when every object was already
 * carved. */
static int span_extend(mspan_t *s) {
  if (s->carved >= s->nelems)
    return 0;
  uint32_t n = EXTEND_BYTES / s->elemsize;
  if (n == 0)
    n = 1;
  if (n > s->nelems - s->carved)
    n = s->nelems - s->carved;
  char *first = (char *)s->base + (size_t)s->carved * s->elemsize;
  void *head = s->freelist;
  for (uint32_t i = n; i-- > 0;) {
    void **obj = (void **)(first + (size_t)i * s->elemsize);
    obj[0] = head;
    obj[1] = (void *)hl_free_key; /* free mark, checked when popped */
    head = obj;
  }
  s->freelist = head;
  s->carved += n;
  return 1;
}

int span_refresh(mspan_t *s) {
  if (s->freelist)
    return 1;
  span_collect(s);
  return s->freelist != NULL || span_extend(s);
}

uint32_t span_collect(mspan_t *s) {
  if (atomic_load_relaxed(&s->xfree) == 0)
    return 0;
  /* acquire: pairs with the release CAS in free_slow, so the link words
   * written by the freeing threads are visible. */
  uintptr_t x = atomic_exchange_acquire(&s->xfree, 0);
  void **list = (void **)(x & XFREE_PTR_MASK);
  uint32_t n = (uint32_t)(x >> XFREE_PTR_BITS);
  if (hl_unlikely(n > s->used || n == 0 || list == NULL)) {
    /* more remote frees than objects out: some object was freed twice */
    s->freelist = NULL;
    uint32_t seen[MANUAL_SPAN_MIN_PAGES * PAGE_SIZE / 16 / 32 + 1] = {0};
    void **o = list;
    for (uint32_t i = 0; o && i < n; i++, o = *o) {
      uint32_t idx = (uint32_t)((((uintptr_t)o - s->base) * s->divmul) >> 32);
      if (!span_object_start(s, (uintptr_t)o) || idx >= s->nelems)
        break;
      if (seen[idx / 32] & (1u << (idx % 32)))
        free_list_corrupt(s, o);
      seen[idx / 32] |= 1u << (idx % 32);
    }
    hl_throwf("span %p: %u remote frees but %u objects in use (double free "
              "or heap corruption)", (void *)s, n, s->used);
  }
  if (s->freelist) {
    /* rare (a scan found local and remote frees): append, walking */
    void **tail = list;
    for (uint32_t i = 1; i < n; i++)
      tail = *tail;
    *tail = s->freelist;
  }
  /* Usually the free list is empty here and the remote list becomes it
   * without touching a single (cache-cold) object. */
  s->freelist = list;
  s->used -= n;
  return n;
}

void free_list_corrupt(mspan_t *s, void *p) {
  (void)s;
  hl_misuse("free(): double free of %p (or a write to it after it was "
            "freed), found when it came off the free list", p);
}

void span_check_free_list(mspan_t *s) {
  uint32_t seen[MANUAL_SPAN_MIN_PAGES * PAGE_SIZE / 16 / 32 + 1] = {0};
  uint32_t n = 0;
  for (void **o = s->freelist; o; o = *o) {
    uint32_t idx = (uint32_t)((((uintptr_t)o - s->base) * s->divmul) >> 32);
    if (!span_object_start(s, (uintptr_t)o) || idx >= s->carved ||
        (seen[idx / 32] & (1u << (idx % 32))) ||
        (uintptr_t)o[1] != hl_free_key)
      free_list_corrupt(s, o);
    seen[idx / 32] |= 1u << (idx % 32);
    n++;
  }
  if (n != s->carved)
    hl_throwf("span %p: %u objects on the free list of an empty span of %u",
              (void *)s, n, s->carved);
}

void span_free_small(mspan_t *s) {
  HL_ASSERT_INTERNAL(s->used == 0);
  atomic_sub_relaxed(&span_count[s->sizeclass], 1);
  atomic_store_relaxed(&s->owner, NULL);
  s->freelist = NULL;
  hl_lock(&mheap.lock);
  heap_free_run(s);
  hl_unlock(&mheap.lock);
}

#define CHECK(c, msg)                                                          \
  do {                                                                         \
    if (!(c)) {                                                                \
      if (fatal)                                                               \
        hl_throwf("span %p invalid: %s", (void *)s, msg);                      \
      return 0;                                                                \
    }                                                                          \
  } while (0)

/* Checks a SMALL span. The caller owns it (or holds its mcentral lock). */
int span_is_valid(mspan_t *s, int fatal) {
  CHECK(s->state == MSPAN_SMALL, "state is not SMALL");
  CHECK(s->sizeclass > 0 && s->sizeclass < NUM_SIZE_CLASSES, "size class");
  CHECK(s->elemsize == class_to_size[s->sizeclass], "elemsize");
  CHECK(s->npages == manual_span_pages(s->sizeclass), "npages");
  CHECK(s->nelems == s->npages * PAGE_SIZE / s->elemsize, "nelems");
  for (uint32_t i = 0; i < s->npages; i++)
    CHECK(span_of(s->base + i * PAGE_SIZE) == s, "page map");
  uint32_t nfree = 0;
  uintptr_t end = s->base + (uintptr_t)s->nelems * s->elemsize;
  for (void **p = s->freelist; p; p = *p) {
    uintptr_t a = (uintptr_t)p;
    CHECK(a >= s->base && a < s->base + (uintptr_t)s->carved * s->elemsize,
          "free list leaves the carved part of the span");
    CHECK((a - s->base) % s->elemsize == 0, "free list object misaligned");
    CHECK(++nfree <= s->nelems, "free list cycle");
  }
  CHECK(s->carved <= s->nelems, "carved beyond the span");
  CHECK(nfree + s->used == s->carved, "|freelist| + used != carved");
  uint32_t nx = 0;
  uintptr_t x = atomic_load_acquire(&s->xfree);
  for (void **p = (void **)(x & XFREE_PTR_MASK); p; p = *p) {
    uintptr_t a = (uintptr_t)p;
    CHECK(a >= s->base && a < end, "remote free list leaves the span");
    CHECK(++nx <= s->used, "more remote frees than objects in use");
  }
  /* the count may have grown after the load, never shrunk (owner only) */
  CHECK(nx >= (uint32_t)(x >> XFREE_PTR_BITS), "remote free count");
  return 1;
}
