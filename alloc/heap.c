/*
 * alloc/heap.c — the mheap: arenas, the arena index, free page runs.
 *
 * Entry points: heap_alloc_run, heap_free_run, heap_free_pages,
 * heap_grow_in_place, heap_scavenge, pagemap_set, meta_alloc.
 *
 * Page allocation (caller holds mheap.lock):
 *  1. Runs of n < HEAP_BINS pages sit in bins[n]; binmask marks the
 *     non-empty bins, so the smallest bin >= n is found with two ctz.
 *  2. Longer runs sit in a treap keyed by (npages, base): the best fit is
 *     a lower-bound descent, O(log runs) expected.
 *  3. The chosen run is split: the low pages are returned, the rest goes
 *     back to 1/2. When nothing fits, a new arena (or several contiguous
 *     ones for a huge request) is mapped and added as one free run.
 *  4. Freeing a run coalesces it with free neighbours, found through the
 *     page map (first and last page of a free run map to its span).
 * Why not Go's bitmap + radix summaries: its strength is scaling address
 * spaces of many GiB with lock-free-ish summaries; at heaplab's sizes the
 * bins + treap (Go's own allocator before 1.14) give the same O(log heap)
 * bound with far less code, and coalescing falls out of the page map the
 * free path needs anyway.
 *
 * Released pages: each arena keeps a bit per page that is returned to the
 * OS (fresh arenas start all released). A run taken from the heap clears
 * its bits; if not every page was released the span `needzero`s.
 */
#include "alloc/internal.h"
#include "base/env.h"
#include "base/os.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

HL_HIDDEN mheap_t mheap;
#if ARENA_L1_BITS == 0
HL_HIDDEN _Atomic(heaparena_t *) arena_l2[ARENA_L2_SIZE];
#else
HL_HIDDEN _Atomic(_Atomic(heaparena_t *) *) arena_l1[ARENA_L1_SIZE];
#endif
HL_HIDDEN uintptr_t hl_free_key;
static hl_lock_t meta_lock;

/* ---------------------------------------------------------------- meta */

void *meta_alloc(size_t size) {
  size = (size + 63) & ~(size_t)63;
  hl_lock(&meta_lock);
  if ((size_t)(mheap.meta_end - mheap.meta_cur) < size) {
    size_t chunk = size > (1 << 20) ? size : (1 << 20);
    chunk = (chunk + 4095) & ~(size_t)4095;
    char *p = os_map(chunk, 0);
    if (!p) {
      hl_unlock(&meta_lock);
      return NULL;
    }
    mheap.meta_cur = p;
    mheap.meta_end = p + chunk;
    mheap.meta_bytes += chunk;
  }
  void *r = mheap.meta_cur;
  mheap.meta_cur += size;
  hl_unlock(&meta_lock);
  return r;
}

mspan_t *spanstruct_alloc(void) {
  HL_ASSERT_INTERNAL(hl_lock_held(&mheap.lock));
  mspan_t *s = mheap.deadspans;
  if (s) {
    mheap.deadspans = s->next_dead;
    memset(s, 0, sizeof *s);
    return s;
  }
  return meta_alloc(sizeof(mspan_t));
}

void spanstruct_free(mspan_t *s) {
  HL_ASSERT_INTERNAL(hl_lock_held(&mheap.lock));
  __atomic_store_n(&s->state, MSPAN_DEAD, __ATOMIC_RELAXED);
  s->next_dead = mheap.deadspans;
  mheap.deadspans = s;
}

/* ------------------------------------------------------------ page map */

void pagemap_set(uintptr_t base, size_t npages, mspan_t *s) {
  for (size_t i = 0; i < npages;) {
    uintptr_t addr = base + i * PAGE_SIZE;
    heaparena_t *a = arena_of(addr);
    size_t first = (addr >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
    size_t n = PAGES_PER_ARENA - first;
    if (n > npages - i)
      n = npages - i;
    for (size_t j = 0; j < n; j++)
      /* release: a thread that finds s through the map sees it set up. */
      atomic_store_release(&a->spans[first + j], s);
    i += n;
  }
}

static inline void pagemap_set1(uintptr_t addr, mspan_t *s) {
  heaparena_t *a = arena_of(addr);
  atomic_store_release(&a->spans[(addr >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)],
                       s);
}

void span_map_ends(mspan_t *s) {
  pagemap_set1(s->base, s);
  pagemap_set1(s->base + ((uintptr_t)s->npages - 1) * PAGE_SIZE, s);
}

/* Counts and clears (clear=1) or sets (clear=0) released bits of pages
 * [base, base+npages), a word at a time. Returns how many bits changed. */
static size_t released_update(uintptr_t base, size_t npages, int clear) {
  size_t changed = 0;
  while (npages > 0) {
    heaparena_t *a = arena_of(base);
    size_t pg = (base >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
    size_t n = 64 - (pg & 63);
    if (n > npages)
      n = npages;
    uint64_t m = (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1))
                 << (pg & 63);
    /* Written under the heap lock; read without it by the scavenger for
     * pages of a BUSY run, whose bits nobody changes, but which share
     * words with other runs' bits: relaxed atomics on the whole word. */
    uint64_t *w = &a->released[pg >> 6];
    uint64_t old = __atomic_load_n(w, __ATOMIC_RELAXED);
    if (clear) {
      changed += (size_t)__builtin_popcountll(old & m);
      __atomic_store_n(w, old & ~m, __ATOMIC_RELAXED);
    } else {
      changed += (size_t)__builtin_popcountll(~old & m);
      __atomic_store_n(w, old | m, __ATOMIC_RELAXED);
    }
    npages -= n;
    base += n * PAGE_SIZE;
  }
  return changed;
}

static int page_released(uintptr_t addr) {
  heaparena_t *a = arena_of(addr);
  size_t pg = (addr >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
  return (__atomic_load_n(&a->released[pg >> 6], __ATOMIC_RELAXED) >>
          (pg & 63)) & 1;
}

/* --------------------------------------------------------------- treap */

static int tkey_less(const mspan_t *a, const mspan_t *b) {
  return a->npages < b->npages || (a->npages == b->npages && a->base < b->base);
}

static mspan_t *treap_insert(mspan_t *t, mspan_t *x) {
  if (!t)
    return x;
  if (tkey_less(x, t)) {
    t->tleft = treap_insert(t->tleft, x);
    if (t->tleft->tprio > t->tprio) { /* rotate right */
      mspan_t *l = t->tleft;
      t->tleft = l->tright;
      l->tright = t;
      return l;
    }
  } else {
    t->tright = treap_insert(t->tright, x);
    if (t->tright->tprio > t->tprio) { /* rotate left */
      mspan_t *r = t->tright;
      t->tright = r->tleft;
      r->tleft = t;
      return r;
    }
  }
  return t;
}

static mspan_t *treap_merge(mspan_t *a, mspan_t *b) {
  if (!a)
    return b;
  if (!b)
    return a;
  if (a->tprio > b->tprio) {
    a->tright = treap_merge(a->tright, b);
    return a;
  }
  b->tleft = treap_merge(a, b->tleft);
  return b;
}

static mspan_t *treap_remove(mspan_t *t, mspan_t *x) {
  if (!t)
    hl_throw("mheap: free run missing from the treap");
  if (t == x)
    return treap_merge(t->tleft, t->tright);
  if (tkey_less(x, t))
    t->tleft = treap_remove(t->tleft, x);
  else
    t->tright = treap_remove(t->tright, x);
  return t;
}

static mspan_t *treap_lower_bound(mspan_t *t, size_t n) {
  mspan_t *best = NULL;
  while (t) {
    if (t->npages >= n) {
      best = t;
      t = t->tleft;
    } else {
      t = t->tright;
    }
  }
  return best;
}

/* ----------------------------------------------------------- free runs */

static void run_insert(mspan_t *s) {
  __atomic_store_n(&s->state, MSPAN_FREE, __ATOMIC_RELAXED);
  mheap.free_bytes += (uint64_t)s->npages * PAGE_SIZE;
  pagemap_set1(s->base, s);
  pagemap_set1(s->base + (s->npages - 1) * PAGE_SIZE, s);
  if (s->npages < HEAP_BINS) {
    hl_list_push_back(&mheap.bins[s->npages], &s->link);
    mheap.binmask[s->npages >> 6] |= (uint64_t)1 << (s->npages & 63);
  } else {
    mheap.rng = mheap.rng * 1103515245u + 12345u;
    s->tprio = mheap.rng;
    s->tleft = s->tright = NULL;
    mheap.treap = treap_insert(mheap.treap, s);
  }
}

static void run_remove(mspan_t *s) {
  HL_ASSERT_INTERNAL(s->state == MSPAN_FREE);
  mheap.free_bytes -= (uint64_t)s->npages * PAGE_SIZE;
  if (s->npages < HEAP_BINS) {
    hl_list_remove(&s->link);
    if (hl_list_empty(&mheap.bins[s->npages]))
      mheap.binmask[s->npages >> 6] &= ~((uint64_t)1 << (s->npages & 63));
  } else {
    mheap.treap = treap_remove(mheap.treap, s);
  }
  pagemap_set1(s->base, NULL);
  pagemap_set1(s->base + (s->npages - 1) * PAGE_SIZE, NULL);
}

/* Smallest free run with at least n pages, or NULL. */
static mspan_t *run_find(size_t n) {
  if (n < HEAP_BINS) {
    for (size_t w = n >> 6; w < HEAP_BINS / 64; w++) {
      uint64_t m = mheap.binmask[w];
      if (w == n >> 6)
        m &= ~(uint64_t)0 << (n & 63);
      if (m) {
        size_t b = w * 64 + (size_t)__builtin_ctzll(m);
        return hl_container_of(hl_list_first(&mheap.bins[b]), mspan_t, link);
      }
    }
    n = HEAP_BINS;
  }
  return treap_lower_bound(mheap.treap, n);
}

void heap_free_run(mspan_t *s) {
  HL_ASSERT_INTERNAL(hl_lock_held(&mheap.lock));
  int64_t freed_at = os_nanotime();
  /* Interior pages no longer map to s, so a stale free finds nothing.
   * Only SMALL spans (<= 10 pages) map their interior; LARGE spans map
   * their end pages only (span_map_ends), so freeing one is O(1). */
  if ((s->state == MSPAN_SMALL || s->state == MSPAN_GC) && s->npages > 2)
    pagemap_set(s->base + PAGE_SIZE, s->npages - 2, NULL);
  /* atomic: the collector's sweepers read the state of spans in their
   * registry without the heap lock (gc/heap.c, gc_sweep_one) */
  __atomic_store_n(&s->state, MSPAN_FREE, __ATOMIC_RELAXED);
  s->needzero = 1; /* "may hold unreleased pages": the scavenger's hint */
  /* coalesce with the run before (run_remove clears its end pages) */
  if (arena_of(s->base - 1)) {
    mspan_t *prev = span_of_acquire(s->base - 1);
    if (prev && prev->state == MSPAN_FREE) {
      run_remove(prev);
      pagemap_set1(s->base, NULL);
      s->base = prev->base;
      s->npages += prev->npages;
      if (prev->freed_at > freed_at)
        freed_at = prev->freed_at;
      spanstruct_free(prev);
    }
  }
  uintptr_t end = s->base + (uintptr_t)s->npages * PAGE_SIZE;
  if (arena_of(end)) {
    mspan_t *next = span_of_acquire(end);
    if (next && next->state == MSPAN_FREE) {
      run_remove(next);
      pagemap_set1(end - PAGE_SIZE, NULL);
      s->npages += next->npages;
      if (next->freed_at > freed_at)
        freed_at = next->freed_at;
      spanstruct_free(next);
    }
  }
  s->freed_at = freed_at;
  run_insert(s);
}

void heap_free_pages(uintptr_t base, size_t npages, uint64_t released_mask) {
  (void)released_mask;
  mspan_t *s = spanstruct_alloc();
  if (!s)
    hl_throw("out of memory for span metadata");
  s->base = base;
  s->npages = (uint32_t)npages;
  heap_free_run(s);
}

/* ---------------------------------------------------------------- grow */

static _Atomic(heaparena_t *) *l2_for(uintptr_t addr) {
#if ARENA_L1_BITS == 0
  (void)addr;
  return arena_l2;
#else
  size_t i1 = addr >> (ARENA_SHIFT + ARENA_L2_BITS);
  _Atomic(heaparena_t *) *l2 = atomic_load_relaxed(&arena_l1[i1]);
  if (!l2) {
    l2 = os_map(ARENA_L2_SIZE * sizeof(heaparena_t *), 0);
    if (!l2)
      return NULL;
    mheap.meta_bytes += ARENA_L2_SIZE * sizeof(heaparena_t *);
    /* release: pairs with the lookup in arena_of. */
    atomic_store_release(&arena_l1[i1], l2);
  }
  return l2;
#endif
}

/* Maps enough contiguous arenas for npages and adds them as a free run.
 * Caller holds mheap.lock. Returns 0, or -1 when the OS refuses memory;
 * then nothing is published and nothing leaks:
 *  1. take the span struct for the new run and map every arena's metadata
 *     (unpublished: nobody can see them yet);
 *  2. map the arenas themselves, and the index level for each (an empty
 *     level may stay: it is reused by the next grow);
 *  3. only then publish the arenas in the index and insert the free run.
 * (Before, the metadata was mapped arena by arena after the arenas and
 * published at once: a refusal for the second arena's metadata left the
 * first one in the index, pointing at memory that had been unmapped.) */
static int heap_grow(size_t npages) {
  size_t narenas = (npages * PAGE_SIZE + ARENA_SIZE - 1) / ARENA_SIZE;
  if (narenas > ((size_t)1 << 20))
    return -1;
  mspan_t *run = spanstruct_alloc();
  if (!run)
    return -1;
  /* one struct per arena, chained through their base field until step 3 */
  heaparena_t *fresh = NULL;
  size_t nfresh = 0;
  for (; nfresh < narenas; nfresh++) {
    heaparena_t *a = os_map(sizeof(heaparena_t), 0);
    if (!a)
      goto fail;
    a->base = (uintptr_t)fresh;
    fresh = a;
  }
  char *mem = os_map(narenas * ARENA_SIZE, ARENA_SIZE);
  if (!mem)
    goto fail;
  if ((uintptr_t)mem >> HEAP_ADDR_BITS)
    hl_throw("mheap: arena above the 48-bit heap address space");
  for (size_t k = 0; k < narenas; k++) {
    if (!l2_for((uintptr_t)mem + k * ARENA_SIZE)) {
      os_unmap(mem, narenas * ARENA_SIZE);
      goto fail;
    }
  }
  for (size_t k = 0; k < narenas; k++) {
    uintptr_t base = (uintptr_t)mem + k * ARENA_SIZE;
    heaparena_t *a = fresh;
    fresh = (heaparena_t *)a->base;
    mheap.meta_bytes += sizeof(heaparena_t);
    a->base = base;
    memset(a->released, 0xff, sizeof a->released);
    /* release: a thread finding the arena sees its fields. */
    atomic_store_release(
        &l2_for(base)[(base >> ARENA_SHIFT) & (ARENA_L2_SIZE - 1)], a);
  }
  mheap.arena_bytes += narenas * ARENA_SIZE;
  mheap.released_bytes += narenas * ARENA_SIZE;
  run->base = (uintptr_t)mem;
  run->npages = (uint32_t)(narenas * PAGES_PER_ARENA);
  heap_free_run(run);
  /* fresh pages hold zeros: a run carved from them needs no zeroing */
  return 0;

fail:
  while (fresh) {
    heaparena_t *next = (heaparena_t *)fresh->base;
    os_unmap(fresh, sizeof(heaparena_t));
    fresh = next;
  }
  spanstruct_free(run);
  return -1;
}

/* --------------------------------------------------------------- alloc */

/* Splits run r (removed from the free structures) so that [base, base+n)
 * becomes span `out`; the pieces before and after go back as free runs.
 * h is a span struct for the piece before base (used iff base > r->base),
 * taken by the caller before anything changed, so that running out of
 * metadata cannot leave the heap half-carved. */
static void run_carve(mspan_t *r, uintptr_t base, size_t n, mspan_t *out,
                      mspan_t *h) {
  uintptr_t rend = r->base + (uintptr_t)r->npages * PAGE_SIZE;
  uintptr_t end = base + n * PAGE_SIZE;
  int64_t freed_at = r->freed_at;
  if (base > r->base) { /* h: the caller's struct for the head piece */
    h->base = r->base;
    h->npages = (uint32_t)((base - r->base) >> PAGE_SHIFT);
    h->freed_at = freed_at;
    run_insert(h);
  }
  if (end < rend) {
    r->base = end;
    r->npages = (uint32_t)((rend - end) >> PAGE_SHIFT);
    r->freed_at = freed_at;
    run_insert(r);
  } else {
    spanstruct_free(r);
  }
  out->base = base;
  out->npages = (uint32_t)n;
}

mspan_t *heap_alloc_run(size_t npages, size_t align_pages, int state) {
  HL_ASSERT_INTERNAL(hl_lock_held(&mheap.lock));
  if (npages == 0 || npages > ((size_t)1 << 31))
    return NULL;
  size_t want = npages + (align_pages > 1 ? align_pages - 1 : 0);
  mspan_t *r = run_find(want);
  if (!r) {
    if (heap_grow(want) != 0)
      return NULL;
    r = run_find(want);
    if (!r)
      hl_throw("mheap: grown heap has no run for the request");
  }
  uintptr_t base = r->base;
  if (align_pages > 1) {
    uintptr_t a = (uintptr_t)align_pages * PAGE_SIZE;
    base = (base + a - 1) & ~(a - 1);
  }
  mspan_t *s = spanstruct_alloc(), *h = NULL;
  if (s && base > r->base && !(h = spanstruct_alloc())) {
    spanstruct_free(s);
    s = NULL;
  }
  if (!s)
    return NULL;
  run_remove(r);
  run_carve(r, base, npages, s, h);
  size_t rel = released_update(base, npages, 1);
  mheap.released_bytes -= rel * PAGE_SIZE;
  s->needzero = !(rel == npages && hl_debug.madvdontneed);
  __atomic_store_n(&s->state, (uint8_t)state, __ATOMIC_RELAXED);
  return s;
}

mspan_t *heap_alloc_short_run(size_t npages, size_t below) {
  HL_ASSERT_INTERNAL(hl_lock_held(&mheap.lock));
  mspan_t *r = run_find(npages);
  if (!r || r->npages >= below)
    return NULL;
  return heap_alloc_run(npages, 1, MSPAN_BUSY);
}

int heap_grow_in_place(mspan_t *s, size_t npages) {
  HL_ASSERT_INTERNAL(hl_lock_held(&mheap.lock));
  if (npages <= s->npages)
    return 1;
  uintptr_t end = s->base + (uintptr_t)s->npages * PAGE_SIZE;
  if (!arena_of(end))
    return 0;
  mspan_t *next = span_of_acquire(end);
  size_t extra = npages - s->npages;
  if (!next || next->state != MSPAN_FREE || next->npages < extra)
    return 0;
  run_remove(next);
  mspan_t tmp;
  memset(&tmp, 0, sizeof tmp);
  run_carve(next, end, extra, &tmp, NULL); /* end == next->base */
  size_t rel = released_update(end, extra, 1);
  mheap.released_bytes -= rel * PAGE_SIZE;
  pagemap_set1(end - PAGE_SIZE, s->npages > 1 ? NULL : s); /* now interior */
  s->npages = (uint32_t)npages;
  span_map_ends(s);
  return 1;
}

/* ------------------------------------------------------------ scavenge */

/* Visits free runs (bins, then treap) in no particular order. */
static mspan_t *scav_pick(int64_t cutoff) {
  for (size_t b = 1; b < HEAP_BINS; b++) {
    for (hl_list_t *e = mheap.bins[b].next; e != &mheap.bins[b]; e = e->next) {
      mspan_t *s = hl_container_of(e, mspan_t, link);
      if (s->freed_at <= cutoff && s->needzero)
        return s;
    }
  }
  /* treap: iterative in-order walk with an explicit stack */
  mspan_t *stack[128];
  int sp = 0;
  mspan_t *t = mheap.treap;
  while (t || sp) {
    while (t && sp < 128) {
      stack[sp++] = t;
      t = t->tleft;
    }
    if (!sp)
      break;
    t = stack[--sp];
    if (t->freed_at <= cutoff && t->needzero)
      return t;
    t = t->tright;
  }
  return NULL;
}

size_t heap_scavenge(int64_t min_age_ns, size_t max_bytes) {
  size_t done = 0;
  int64_t cutoff = os_nanotime() - min_age_ns;
  hl_lock(&mheap.lock);
  while (done < max_bytes) {
    mspan_t *s = scav_pick(cutoff);
    if (!s)
      break;
    /* Take the run out of the heap (BUSY) so nobody allocates or merges
     * it while madvise runs without the lock. */
    run_remove(s);
    __atomic_store_n(&s->state, MSPAN_BUSY, __ATOMIC_RELAXED);
    pagemap_set1(s->base, s);
    pagemap_set1(s->base + (s->npages - 1) * PAGE_SIZE, s);
    uintptr_t base = s->base;
    size_t n = s->npages;
    /* collect maximal ranges of unreleased pages */
    hl_unlock(&mheap.lock);
    size_t i = 0, rel = 0;
    while (i < n) {
      /* page_released reads bits written under the lock; the run is BUSY,
       * so nobody writes them meanwhile. */
      if (page_released(base + i * PAGE_SIZE)) {
        i++;
        continue;
      }
      size_t j = i;
      while (j < n && !page_released(base + j * PAGE_SIZE))
        j++;
      os_decommit((void *)(base + i * PAGE_SIZE), (j - i) * PAGE_SIZE);
      rel += j - i;
      i = j;
    }
    hl_lock(&mheap.lock);
    released_update(base, n, 0);
    mheap.released_bytes += rel * PAGE_SIZE;
    mheap.scavenged_total += rel * PAGE_SIZE;
    done += rel * PAGE_SIZE;
    int64_t freed_at = s->freed_at;
    s->needzero = !hl_debug.madvdontneed;
    /* reinsert (coalescing); keep the age so the run is not picked again */
    heap_free_run(s);
    if (s->state == MSPAN_FREE && s->freed_at < freed_at)
      s->freed_at = freed_at;
    /* the merged run may include unreleased neighbours: needzero again */
    {
      mspan_t *m = span_of(base);
      if (m && m->state == MSPAN_FREE) {
        size_t unrel = 0;
        for (size_t k = 0; k < m->npages && !unrel; k++)
          unrel = !page_released(m->base + k * PAGE_SIZE);
        m->needzero = unrel || !hl_debug.madvdontneed;
        if (!hl_debug.madvdontneed && !unrel)
          m->needzero = 1;
      }
    }
    if (!hl_debug.madvdontneed)
      break; /* MADV_FREE runs stay needzero: one pass per call */
  }
  hl_unlock(&mheap.lock);
  return done;
}

/* ---------------------------------------------------------------- init */

void heap_init(void) {
  for (size_t i = 0; i < HEAP_BINS; i++)
    hl_list_init(&mheap.bins[i]);
  uintptr_t key = 0;
  if (getrandom(&key, sizeof key, GRND_NONBLOCK) != sizeof key)
    key = (uintptr_t)os_nanotime() * 0x9E3779B97F4A7C15ull ^ (uintptr_t)&key;
  hl_free_key = key | 1; /* never 0: fresh memory is not "free" */
  mcentral_init();
  mheap.rng = (uint32_t)(key >> 32) | 1;
}

/* ------------------------------------------------------------ validity */

#define CHECK(c, msg)                                                          \
  do {                                                                         \
    if (!(c)) {                                                                \
      if (fatal)                                                               \
        hl_throw("heap invalid: " msg);                                        \
      return 0;                                                                \
    }                                                                          \
  } while (0)

static int run_is_valid(mspan_t *s, int fatal) {
  CHECK(s->state == MSPAN_FREE, "run in free structures is not FREE");
  CHECK(span_of(s->base) == s, "first page of a free run does not map to it");
  CHECK(span_of(s->base + (s->npages - 1) * PAGE_SIZE) == s,
        "last page of a free run does not map to it");
  if (arena_of(s->base - 1)) {
    mspan_t *p = span_of_acquire(s->base - 1);
    CHECK(!p || p->state != MSPAN_FREE, "two adjacent free runs");
  }
  return 1;
}

static int treap_is_valid(mspan_t *t, size_t *n, int fatal) {
  if (!t)
    return 1;
  CHECK(!t->tleft || tkey_less(t->tleft, t), "treap order (left)");
  CHECK(!t->tright || tkey_less(t, t->tright), "treap order (right)");
  CHECK(!t->tleft || t->tleft->tprio <= t->tprio, "treap heap order");
  CHECK(!t->tright || t->tright->tprio <= t->tprio, "treap heap order");
  CHECK(t->npages >= HEAP_BINS, "short run in the treap");
  (*n) += t->npages;
  return run_is_valid(t, fatal) && treap_is_valid(t->tleft, n, fatal) &&
         treap_is_valid(t->tright, n, fatal);
}

int heap_is_valid(int fatal) {
  hl_lock(&mheap.lock);
  size_t pages = 0;
  int ok = 1;
  for (size_t b = 1; b < HEAP_BINS && ok; b++) {
    int nonempty = !hl_list_empty(&mheap.bins[b]);
    int bit = (mheap.binmask[b >> 6] >> (b & 63)) & 1;
    if (nonempty != bit) {
      if (fatal)
        hl_throw("heap invalid: binmask disagrees with bin");
      ok = 0;
      break;
    }
    for (hl_list_t *e = mheap.bins[b].next; ok && e != &mheap.bins[b];
         e = e->next) {
      mspan_t *s = hl_container_of(e, mspan_t, link);
      if (s->npages != b) {
        if (fatal)
          hl_throw("heap invalid: run in the wrong bin");
        ok = 0;
      }
      ok = ok && run_is_valid(s, fatal);
      pages += s->npages;
    }
  }
  ok = ok && treap_is_valid(mheap.treap, &pages, fatal);
  if (ok && pages * PAGE_SIZE != mheap.free_bytes) {
    if (fatal)
      hl_throw("heap invalid: free_bytes disagrees with the free runs");
    ok = 0;
  }
  hl_unlock(&mheap.lock);
  return ok;
}
