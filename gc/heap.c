/*
 * gc/heap.c — collected spans: the span registry, the per-P gcache and
 * gcentral, allocation (small, tiny, large), the heap bitmap, object
 * lookup for the marker, and sweeping.
 *
 * Allocation (Go's mallocgc, nextFreeFast): the P's span for the
 * spanclass gives the next free slot by ctz over allocCache; on a miss,
 * gc_refill returns the span to gcentral and takes another: a swept one
 * with free slots, else one it sweeps itself (lazy sweep), else a new
 * span from the page heap. Heap accounting follows Go: a span's free
 * slots count as live when a P takes it, and the unused ones are taken
 * back when the P gives it up, so heap_live is updated per span, not per
 * object.
 *
 * Sweeping (Go's sweepLocked.sweep): the marks become the alloc bits,
 * the freed slots are free again (zeroed on reuse), an empty span goes
 * back to the page heap, a large object's span is freed when unmarked.
 * Who sweeps: the background sweeper goroutine, any P that needs a span
 * (lazy), and the goroutine starting the next cycle (what is left).
 */
#include "gc/internal.h"
#include "gc/alloc_fast.h"
#include "base/env.h"
#include "base/os.h"

#include <sched.h>
#include <string.h>

HL_HIDDEN gcentral_t gcentral[NUM_SPANCLASS];

static inline uint32_t load_sg(void) {
  return atomic_load_acquire(&gc.sweepgen);
}

/* ------------------------------------------------------------ registry */

/* Every collected span has a slot (Go's allspans): chunks never move, so
 * the sweeper and checkmark read slots without a lock. A slot holds a
 * span, 0, or (next free slot + 1) << 1 | 1 when free. */
#define REG_CHUNK 4096
#define REG_CHUNKS 8192
static _Atomic(_Atomic uintptr_t *) reg_chunks[REG_CHUNKS];
static _Atomic uint32_t reg_len;
static uintptr_t reg_freehead; /* index + 1 of a free slot, 0: none */
static hl_lock_t reg_lock;

static _Atomic uintptr_t *reg_slot(uint32_t i) {
  return &atomic_load_acquire(&reg_chunks[i / REG_CHUNK])[i % REG_CHUNK];
}

static uint32_t registry_add(mspan_t *s) {
  hl_lock(&reg_lock);
  uint32_t i;
  if (reg_freehead) {
    i = (uint32_t)(reg_freehead - 1);
    reg_freehead = atomic_load_relaxed(reg_slot(i)) >> 1;
  } else {
    i = atomic_load_relaxed(&reg_len);
    if (i / REG_CHUNK >= REG_CHUNKS)
      hl_throw("gc: too many collected spans");
    if (!atomic_load_relaxed(&reg_chunks[i / REG_CHUNK])) {
      _Atomic uintptr_t *c = meta_alloc(REG_CHUNK * sizeof(uintptr_t));
      if (!c)
        gc_out_of_memory(REG_CHUNK * sizeof(uintptr_t));
      atomic_store_release(&reg_chunks[i / REG_CHUNK], c);
    }
    atomic_store_release(&reg_len, i + 1);
  }
  atomic_store_release(reg_slot(i), (uintptr_t)s);
  hl_unlock(&reg_lock);
  return i;
}

static void registry_remove(uint32_t i) {
  hl_lock(&reg_lock);
  atomic_store_release(reg_slot(i), (reg_freehead << 1) | 1);
  reg_freehead = i + 1;
  hl_unlock(&reg_lock);
}

uint32_t gc_registry_len(void) { return atomic_load_acquire(&reg_len); }

mspan_t *gc_registry_get(uint32_t i) {
  uintptr_t v = atomic_load_acquire(reg_slot(i));
  return (v & 1) ? NULL : (mspan_t *)v;
}

/* ------------------------------------------------- bitmaps and metadata */

/* A span's slot metadata, one block: the alloc bitmap (GCBITS_BYTES,
 * one bit per slot) and then the mark bytes (one byte per slot, 0 or 1:
 * markers set them with a plain store, see grey() in mark.c), rounded up
 * to a power of two of at least 64, so blocks come in GCBITS_BUCKETS
 * sizes, each with its free list. */
#define GCBITS_BUCKETS 5 /* mark bytes for 64, 128, ..., 1024 slots */
static hl_lock_t bits_lock;
static void *bits_free[GCBITS_BUCKETS];

static int gcbits_bucket(uint32_t nelems) {
  int b = 0;
  while ((64u << b) < nelems)
    b++;
  HL_ASSERT_INTERNAL(b < GCBITS_BUCKETS);
  return b;
}

static size_t gcbits_size(int bucket) {
  return GCBITS_BYTES + ((size_t)64 << bucket);
}

/* A zeroed metadata block for a span of nelems slots. */
static uint8_t *gcbits_alloc(uint32_t nelems) {
  int b = gcbits_bucket(nelems);
  hl_lock(&bits_lock);
  void *p = bits_free[b];
  if (p)
    bits_free[b] = *(void **)p;
  hl_unlock(&bits_lock);
  if (p) {
    memset(p, 0, gcbits_size(b));
    return p;
  }
  p = meta_alloc(gcbits_size(b));
  if (!p)
    gc_out_of_memory(gcbits_size(b));
  return p;
}

static void gcbits_free(mspan_t *s) {
  void *p = s->allocBits;
  int b = gcbits_bucket(s->nelems);
  hl_lock(&bits_lock);
  *(void **)p = bits_free[b];
  bits_free[b] = p;
  hl_unlock(&bits_lock);
}

uint64_t *heapbits_arena_slow(uintptr_t addr) {
  heaparena_t *a = arena_of(addr);
  uint64_t *hb;
  hl_lock(&bits_lock);
  hb = atomic_load_relaxed(&a->heapbits);
  if (!hb) {
    hb = meta_alloc(ARENA_SIZE / 8 / 8);
    if (!hb)
      gc_out_of_memory(ARENA_SIZE / 64);
    atomic_store_release(&a->heapbits, hb);
  }
  hl_unlock(&bits_lock);
  return hb;
}

static void heapbits_clear(uintptr_t base, size_t bytes) {
  uint64_t *hb = heapbits_arena(base);
  size_t w0 = (base & (ARENA_SIZE - 1)) / 8;
  size_t nw = bytes / 8;
  HL_ASSERT_INTERNAL(w0 % 64 == 0 && nw % 64 == 0);
  for (size_t i = 0; i < nw / 64; i++)
    __atomic_store_n(&hb[w0 / 64 + i], 0, __ATOMIC_RELAXED);
}

/* The pointer bitmap of t (one bit per word), built on first use. */
static const uint64_t *type_mask(const hl_type_t *t) {
  hl_type_t *tt = (hl_type_t *)t;
  const uint64_t *m = __atomic_load_n(&tt->ptrmask_, __ATOMIC_ACQUIRE);
  if (hl_likely(m != NULL))
    return m;
  size_t words = (t->size + 7) / 8;
  uint64_t *nm = hl_calloc((words + 63) / 64 + 1, sizeof(uint64_t));
  if (!nm)
    gc_out_of_memory(words / 8);
  for (uint32_t i = 0; i < t->nfields; i++) {
    const hl_ptrfield_t *f = &t->fields[i];
    if (f->offset % 8 != 0 || f->size % 8 != 0 || f->size == 0 ||
        f->offset + f->size > t->size)
      hl_misuse("HL_TYPE(%s): pointer field %u (offset %u, size %u) is "
                "not a whole number of 8-byte-aligned pointers",
                t->name ? t->name : "?", i, f->offset, f->size);
    for (uint32_t w = f->offset / 8; w < (f->offset + f->size) / 8; w++)
      nm[w / 64] |= (uint64_t)1 << (w % 64);
  }
  const uint64_t *none = NULL;
  if (!__atomic_compare_exchange_n(&tt->ptrmask_, &none, nm, false,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    hl_free(nm);
    return none;
  }
  return nm;
}

static HL_NOINLINE void heapbits_set(uintptr_t v, size_t slot,
                                     const hl_type_t *t, size_t n);

/* The bits of an object of nw <= 64 words starting at word w0 of the
 * arena's bitmap hb: its type's one-word mask (the rest of the slot
 * zero), over one bitmap word or two. */
static inline void hb_set_one(uint64_t *hb, size_t w0, size_t nw,
                              uint64_t bits) {
  size_t off = w0 & 63;
  uint64_t lo = nw == 64 ? ~(uint64_t)0 : (((uint64_t)1 << nw) - 1);
  hb_write(&hb[w0 >> 6], lo << off, bits << off);
  if (off + nw > 64)
    hb_write(&hb[(w0 >> 6) + 1], lo >> (64 - off), bits >> (64 - off));
}

/* The allocation path's: one typed object of a small class (its type's
 * bitmap in one word), inline, with the P's cached arena bitmap; the rest
 * out of line. */
static inline void heapbits_set_small(gcache_t *c, uintptr_t v, size_t slot,
                                      const hl_type_t *t, size_t n) {
  const uint64_t *mask =
      t ? __atomic_load_n(&((hl_type_t *)t)->ptrmask_, __ATOMIC_ACQUIRE) : NULL;
  uintptr_t base = v & ~(uintptr_t)(ARENA_SIZE - 1);
  size_t nw = slot / 8;
  /* one object of at most 64 words (n == 1: it fits its slot, so its
   * type fits one mask word) */
  if (hl_likely(mask && n == 1 && nw <= 64 && base == c->hb_base)) {
    hb_set_one(c->hb_bits, (v - base) / 8, nw, mask[0]);
    return;
  }
  heapbits_set(v, slot, t, n);
  if (base != c->hb_base) {
    c->hb_base = base;
    c->hb_bits = heapbits_arena(v);
  }
}

/* Writes the heap bits of the slot [v, v + slot): n objects of type t
 * (t NULL: every word may be a pointer), zeros after them. */
static HL_NOINLINE void heapbits_set(uintptr_t v, size_t slot,
                                     const hl_type_t *t, size_t n) {
  uint64_t *hb = heapbits_arena(v);
  size_t w0 = (v & (ARENA_SIZE - 1)) / 8;
  size_t nw = slot / 8;
  const uint64_t *mask = t ? type_mask(t) : NULL;
  size_t tw = t ? t->size / 8 : 0;
  if (mask && n == 1 && tw <= 64 && nw <= 64) {
    hb_set_one(hb, w0, nw, mask[0]); /* a small object, one type word */
    return;
  }
  size_t used = t ? (n * t->size) / 8 : nw;
  for (size_t w = 0; w < nw;) {
    size_t idx = w0 + w, off = idx & 63;
    size_t take = 64 - off < nw - w ? 64 - off : nw - w;
    uint64_t bits = 0;
    for (size_t k = 0; k < take; k++) {
      size_t ow = w + k;
      int set;
      if (!mask)
        set = 1;
      else if (ow >= used)
        set = 0;
      else {
        size_t e = ow % tw;
        set = (int)((mask[e / 64] >> (e % 64)) & 1);
      }
      bits |= (uint64_t)set << k;
    }
    uint64_t m = take == 64 ? ~(uint64_t)0 : (((uint64_t)1 << take) - 1);
    hb_write(&hb[idx >> 6], m << off, bits << off);
    w += take;
  }
}

/* ------------------------------------------------------------- gcache */

gcache_t *gcache_create(void) {
  gcache_t *c = meta_alloc(sizeof(gcache_t));
  if (!c)
    gc_out_of_memory(sizeof(gcache_t));
  return c;
}

void gcheap_init(void) {
  for (int i = 0; i < NUM_SPANCLASS; i++) {
    hl_list_init(&gcentral[i].partial[0]);
    hl_list_init(&gcentral[i].partial[1]);
    hl_list_init(&gcentral[i].full[0]);
    hl_list_init(&gcentral[i].full[1]);
  }
}

/* s back to its gcentral list of the swept set (after a sweep that did
 * not free it, or from a P giving it up). */
static void put_swept(mspan_t *s, uint32_t sg) {
  gcentral_t *c = &gcentral[s->spanclass];
  int set = (sg / 2) % 2;
  hl_lock(&c->lock);
  if (s->allocCount == s->nelems)
    hl_list_push_back(&c->full[set], &s->link);
  else
    hl_list_push_back(&c->partial[set], &s->link);
  __atomic_store_n(&s->inlist, 1, __ATOMIC_RELAXED);
  hl_unlock(&c->lock);
}

/* Returns a span a P gave up to gcentral (swept set of the current
 * sweepgen). */
static void black_flush(mspan_t *s);

static void gc_uncache(mspan_t *s) {
  HL_ASSERT_INTERNAL(s->incache);
  black_flush(s);
  uint64_t unused = (uint64_t)(s->nelems - s->allocCount) * s->elemsize;
  atomic_sub_relaxed(&gc.heap_live, unused);
  s->incache = 0;
  put_swept(s, load_sg());
}

void gcache_release_all(gcache_t *c) {
  for (int i = 0; i < NUM_SPANCLASS; i++)
    if (c->alloc[i]) {
      gc_uncache(c->alloc[i]);
      c->alloc[i] = NULL;
    }
  c->tiny = 0;
  c->tinyoffset = 0;
}

static void span_free_gc(mspan_t *s) {
  registry_remove(s->gcidx);
  gcbits_free(s);
  atomic_sub_relaxed(&gc.span_bytes, (uint64_t)s->npages * PAGE_SIZE);
  hl_lock(&mheap.lock);
  heap_free_run(s);
  hl_unlock(&mheap.lock);
}

/* Writes a zero into every OS page of [base, base + bytes), which is
 * known to read as zero (fresh or released). HL_STORE's barrier reads the
 * slot's old value before the store: on an untouched page that read maps
 * the kernel's shared zero page, and the store then takes a second,
 * copy-on-write fault whose TLB flush interrupts every other CPU running
 * the process (15% of binary-trees' sampled time on 2 Ps was in the
 * kernel for these). Writing first takes one ordinary fault per page:
 * binary-trees 18 went from 1.36-1.49 s to 1.09-1.12 s. Small-object scan spans only:
 * their objects are written soon; a large object may be used sparsely. */
static void prefault(uintptr_t base, size_t bytes) {
  size_t step = os_page_size();
  for (size_t off = 0; off < bytes; off += step)
    __atomic_store_n((uintptr_t *)(base + off), 0, __ATOMIC_RELAXED);
}

/* A fresh span from the page heap for spanclass spc (npages for large). */
static mspan_t *gc_new_span(int spc, size_t npages, size_t large_size) {
  int sc = spc >> 1;
  bool noscan = spc & 1;
  if (sc)
    npages = class_to_npages[sc];
  uint8_t *bits = gcbits_alloc(
      sc ? (uint32_t)(npages * PAGE_SIZE / class_to_size[sc]) : 1);
  hl_lock(&mheap.lock);
  mspan_t *s = heap_alloc_run(npages, 1, MSPAN_GC);
  if (!s) {
    hl_unlock(&mheap.lock);
    gc_out_of_memory(npages * PAGE_SIZE);
  }
  /* atomic: a sweeper may still read these of the span struct's
   * previous life (gc_sweep_one; its sweepgen CAS rejects it) */
  __atomic_store_n(&s->sizeclass, (uint8_t)sc, __ATOMIC_RELAXED);
  __atomic_store_n(&s->spanclass, (uint8_t)spc, __ATOMIC_RELAXED);
  if (sc) {
    s->elemsize = class_to_size[sc];
    s->divmul = class_to_divmul[sc];
    s->nelems = (uint32_t)(npages * PAGE_SIZE / s->elemsize);
    s->limit = s->nelems * s->elemsize;
    s->divtest = UINT64_MAX / s->elemsize + 1;
    s->gcsize = s->elemsize;
  } else {
    s->elemsize = 0;
    s->nelems = 1;
    s->gcsize = large_size;
  }
  s->allocBits = bits;
  s->gcmarks = bits + GCBITS_BYTES;
  atomic_store_relaxed(&s->freeindex, 0);
  s->allocCache = ~(uint64_t)0;
  s->allocCount = 0;
  s->incache = 0;
  atomic_store_relaxed(&s->blackcycle, 0); /* cycles count from 1 */
  /* atomic: a sweeper holding a stale registry pointer to this struct
   * reads it under the gcentral lock (claim_locked; the sweepgen test
   * there rejects the span) */
  __atomic_store_n(&s->inlist, 0, __ATOMIC_RELAXED);
  s->gcneedzero = s->needzero;
  atomic_store_relaxed(&s->nspecials, 0);
  atomic_store_relaxed(&s->sweepgen, load_sg());
  s->link.next = s->link.prev = NULL;
  hl_unlock(&mheap.lock);
  if (!noscan)
    heapbits_clear(s->base, npages * PAGE_SIZE);
  if (sc && !noscan && !s->gcneedzero)
    prefault(s->base, npages * PAGE_SIZE);
  s->gcidx = registry_add(s);
  atomic_add_relaxed(&gc.span_bytes, (uint64_t)npages * PAGE_SIZE);
  /* publish: markers find the span through the page map */
  hl_lock(&mheap.lock);
  pagemap_set(s->base, npages, s);
  hl_unlock(&mheap.lock);
  return s;
}

/* ------------------------------------------------------------ sweeping */

static inline int bit_get(const uint8_t *b, uint32_t i) {
  return (b[i >> 3] >> (i & 7)) & 1;
}

static bool poison_freed;
void gc_poison_check_enabled(void) {
  poison_freed = HL_DEBUG >= 2 || hl_debug.gccheckmark;
}

/* Sweeps s, which the caller owns (sweepgen sg - 1, in no list, not
 * cached). Returns true when the span was freed to the page heap. */
static bool sweep_span(mspan_t *s, uint32_t sg) {
  uint32_t n = s->nelems;
  if (hl_unlikely(s->incache))
    hl_throwf("gc: span %p (class %d) swept while a P allocates from it",
              (void *)s, s->sizeclass);
  uint8_t *mark = s->gcmarks;
  if (atomic_load_relaxed(&s->nspecials)) {
    /* finalizers of unmarked objects: queued, object resurrected */
    for (uint32_t i = 0; i < n; i++) {
      if (mark[i])
        continue;
      uintptr_t obj = s->base + (uintptr_t)i * (s->sizeclass ? s->elemsize : 0);
      if (gc_sweep_special(s, obj))
        mark[i] = 1;
    }
  }
  uint32_t nmarked = 0;
  for (uint32_t i = 0; i < n; i++)
    nmarked += mark[i];
  uint32_t nfreed = s->allocCount - nmarked;
  if (s->allocCount < nmarked)
    hl_throwf("gc: span %p (class %d) has %u marked objects but only %u "
              "allocated",
              (void *)s, s->sizeclass, nmarked, s->allocCount);
  if (poison_freed && nfreed) {
    uint32_t fi = atomic_load_relaxed(&s->freeindex);
    size_t sz = s->sizeclass ? s->elemsize : s->gcsize;
    for (uint32_t i = 0; i < n; i++)
      if (!mark[i] && (i < fi || bit_get(s->allocBits, i)))
        memset((void *)(s->base + (uintptr_t)i * s->elemsize), 0xdb, sz);
  }
  atomic_sub_relaxed(&gc.heap_objects, nfreed);
  /* the marks become the alloc bits: eight mark bytes (each 0 or 1) to a
   * byte of bits by one multiplication (bit k from byte k), then the mark
   * bytes are cleared for the next cycle. The mark array is a multiple of
   * 64 bytes and zero past n. */
  for (uint32_t i = 0; i < (n + 7) / 8; i++) {
    uint64_t x;
    memcpy(&x, mark + i * 8, 8);
    s->allocBits[i] = (uint8_t)((x * 0x0102040810204080ull) >> 56);
  }
  memset(mark, 0, (n + 7) & ~7u);
  atomic_store_relaxed(&s->freeindex, 0);
  uint64_t c0;
  memcpy(&c0, s->allocBits, 8);
  s->allocCache = ~c0;
  s->allocCount = nmarked;
  s->gcneedzero = 1;
  if (nmarked == 0) {
    span_free_gc(s);
    return true;
  }
  atomic_store_release(&s->sweepgen, sg);
  return false;
}

/* Takes s out of its gcentral list for sweeping if it still needs it.
 * Caller holds the gcentral lock. */
static bool claim_locked(mspan_t *s, uint32_t sg) {
  if (!__atomic_load_n(&s->inlist, __ATOMIC_RELAXED) ||
      atomic_load_relaxed(&s->sweepgen) != sg - 2)
    return false;
  hl_list_remove(&s->link);
  __atomic_store_n(&s->inlist, 0, __ATOMIC_RELAXED);
  atomic_store_relaxed(&s->sweepgen, sg - 1);
  return true;
}

/* tests only (gc/internal.h) */
HL_HIDDEN void (*_Atomic gc_sweep_test_hook)(uint32_t sg);

/* gc_sweep_one's body: the caller holds a P in a runtime critical section
 * (or the world is stopped), so no cycle can start and flip the sweepgen
 * while it runs. */
static bool sweep_one_pinned(void) {
  atomic_add_relaxed(&gc.sweepers, 1);
  uint32_t sg = load_sg();
  void (*hook)(uint32_t) = atomic_load_relaxed(&gc_sweep_test_hook);
  if (hl_unlikely(hook != NULL))
    hook(sg);
  for (;;) {
    uint32_t i = atomic_add_relaxed(&gc.sweep_cursor, 1);
    if (i >= gc_registry_len()) {
      atomic_store_release(&gc.sweep_done, 1);
      atomic_sub_acq_rel(&gc.sweepers, 1);
      return false;
    }
    mspan_t *s = gc_registry_get(i);
    if (!s || atomic_load_relaxed(&s->sweepgen) != sg - 2)
      continue;
    if (__atomic_load_n(&s->sizeclass, __ATOMIC_RELAXED) == 0) {
      uint32_t want = sg - 2;
      if (!atomic_cas_strong_acq_rel(&s->sweepgen, &want, sg - 1))
        continue;
      sweep_span(s, sg);
      break;
    }
    int spc = __atomic_load_n(&s->spanclass, __ATOMIC_RELAXED);
    gcentral_t *c = &gcentral[spc];
    hl_lock(&c->lock);
    bool mine = __atomic_load_n(&s->state, __ATOMIC_RELAXED) == MSPAN_GC &&
                __atomic_load_n(&s->spanclass, __ATOMIC_RELAXED) == spc &&
                claim_locked(s, sg);
    hl_unlock(&c->lock);
    if (!mine)
      continue;
    if (!sweep_span(s, sg))
      put_swept(s, sg);
    break;
  }
  atomic_sub_acq_rel(&gc.sweepers, 1);
  return true;
}

/* Sweeps one span; false when none is left. Runs pinned to a P (Go's
 * sweepone holds m.locks for the same reason): a sweeper that read the
 * sweepgen and then lost its P to the preemption signal could run on,
 * without a P, past the next cycle's stop-the-world and its sweepgen flip,
 * and then — comparing spans against the stale generation — skip every
 * span it took from the new sweep's cursor: those spans missed the sweep,
 * kept their marks into the next mark (objects marked without being
 * scanned: their children freed) and their stale alloc bits (live slots
 * handed out again). The background sweeper, hl_gc's closing sweep and
 * the object queries' ensure_swept called it outside a critical section.
 * The lost binary-trees tree and pooled objects of docs/gc.md. */
bool gc_sweep_one(void) {
  m_t *mp = tls_m;
  if (mp && mp->curg && !(mp->locks > 0 && mp->p)) {
    mp = rt_enter(mp->curg);
    bool more = sweep_one_pinned();
    m_unlock(mp);
    return more;
  }
  return sweep_one_pinned();
}

void gc_finish_sweep(void) {
  while (gc_sweep_one())
    ;
  while (atomic_load_acquire(&gc.sweepers) > 0)
    sched_yield();
}

void gc_check_swept(void) {
  uint32_t sg = load_sg();
  for (uint32_t i = 0, n = gc_registry_len(); i < n; i++) {
    mspan_t *s = gc_registry_get(i);
    if (s && atomic_load_relaxed(&s->sweepgen) != sg)
      hl_throwf("gc: span %p (class %d, registry slot %u) has sweepgen %u "
                "at the start of a cycle (current %u): it missed a sweep",
                (void *)s, s->sizeclass, i,
                (unsigned)atomic_load_relaxed(&s->sweepgen), (unsigned)sg);
  }
}

void gc_sweep_start(void) {
  atomic_store_relaxed(&gc.sweep_cursor, 0);
  atomic_store_release(&gc.sweep_done, 0);
}

/* A swept span of spc with a free slot, sweeping unswept ones if needed
 * (Go's mcentral.cacheSpan); NULL when gcentral has none. */
static mspan_t *gcentral_get(int spc) {
  uint32_t sg = load_sg();
  gcentral_t *c = &gcentral[spc];
  int sw = (sg / 2) % 2, un = 1 - sw;
  hl_lock(&c->lock);
  hl_list_t *e = hl_list_first(&c->partial[sw]);
  if (e) {
    mspan_t *s = hl_container_of(e, mspan_t, link);
    hl_list_remove(e);
    __atomic_store_n(&s->inlist, 0, __ATOMIC_RELAXED);
    hl_unlock(&c->lock);
    return s;
  }
  for (int budget = 0; budget < 100; budget++) {
    e = hl_list_first(&c->partial[un]);
    if (!e)
      e = hl_list_first(&c->full[un]);
    if (!e)
      break;
    mspan_t *s = hl_container_of(e, mspan_t, link);
    if (!claim_locked(s, sg)) {
      /* swept by someone else meanwhile: it sits in the wrong set. Any
       * other sweepgen means a span that missed a sweep: its marks and
       * alloc bits are stale, and caching it would hand out live slots */
      if (hl_unlikely(atomic_load_relaxed(&s->sweepgen) != sg))
        hl_throwf("gc: span %p (class %d) in gcentral with sweepgen %u, "
                  "current %u: it missed a sweep",
                  (void *)s, s->sizeclass,
                  (unsigned)atomic_load_relaxed(&s->sweepgen), (unsigned)sg);
      hl_list_remove(e);
      __atomic_store_n(&s->inlist, 0, __ATOMIC_RELAXED);
      if (s->allocCount < s->nelems) {
        hl_unlock(&c->lock);
        return s;
      }
      hl_list_push_back(&c->full[sw], e);
      __atomic_store_n(&s->inlist, 1, __ATOMIC_RELAXED);
      continue;
    }
    hl_unlock(&c->lock);
    atomic_add_relaxed(&gc.sweepers, 1);
    bool freed = sweep_span(s, sg);
    atomic_sub_acq_rel(&gc.sweepers, 1);
    if (!freed && s->allocCount < s->nelems)
      return s;
    if (!freed)
      put_swept(s, sg);
    hl_lock(&c->lock);
  }
  hl_unlock(&c->lock);
  return NULL;
}

/* ---------------------------------------------------------- allocation */

static HL_NOINLINE mspan_t *gc_refill(gcache_t *c, int spc) {
  mspan_t *s = c->alloc[spc];
  if (s) {
    c->alloc[spc] = NULL;
    gc_uncache(s);
  }
  /* proportional sweep: sweep some span per refill while any is left
   * (Go paces by pages; a span per span taken keeps sweeping ahead) */
  if (!atomic_load_relaxed(&gc.sweep_done))
    gc_sweep_one();
  s = gcentral_get(spc);
  if (!s)
    s = gc_new_span(spc, 0, 0);
  /* a cached span is swept (validity check: one compare per span taken;
   * a stale one would hand out live slots and keep stale marks) */
  if (hl_unlikely(atomic_load_relaxed(&s->sweepgen) != load_sg() ||
                  s->incache))
    hl_throwf("gc: span %p (class %d) cached with sweepgen %u (current "
              "%u), incache %u",
              (void *)s, s->sizeclass,
              (unsigned)atomic_load_relaxed(&s->sweepgen),
              (unsigned)load_sg(), (unsigned)s->incache);
  s->incache = 1;
  atomic_add_relaxed(&gc.heap_live,
                     (uint64_t)(s->nelems - s->allocCount) * s->elemsize);
  c->alloc[spc] = s;
  if (!(spc & 1)) {
    size_t w0 = (s->base & (ARENA_SIZE - 1)) / 8;
    HL_ASSERT_INTERNAL(w0 % 64 == 0);
    c->alloc_hb[spc] = heapbits_arena(s->base) + w0 / 64;
  }
  c->check_trigger = true; /* heap_live moved: alloc_common looks */
  return s;
}

static const uint64_t zerobase[2];

/* A large object allocated while marking is black at once (its mark byte
 * set as it is allocated; large objects are rare). */
static inline void mark_new(gcache_t *c, mspan_t *s, uint32_t idx,
                            size_t size) {
  __atomic_store_n(&s->gcmarks[idx], 1, __ATOMIC_RELAXED);
  c->gcw.bytes_marked += size;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "alloc bitmaps are read as 64-bit words");

static void black_flush(mspan_t *s) {
  if (!gc_marking() || atomic_load_relaxed(&s->blackcycle) !=
                           (uint32_t)atomic_load_relaxed(&gc.cycle))
    return;
  uint32_t from = atomic_load_relaxed(&s->blackfrom);
  uint32_t to = atomic_load_relaxed(&s->freeindex);
  uint64_t newly = 0;
  for (uint32_t w = from / 64; w * 64 < to; w++) {
    uint64_t m = ~(uint64_t)0, alloc;
    if (w == from / 64)
      m &= ~(uint64_t)0 << (from & 63);
    if ((w + 1) * 64 > to)
      m &= ((uint64_t)1 << (to & 63)) - 1;
    memcpy(&alloc, s->allocBits + w * 8, 8);
    m &= ~alloc; /* allocated before the sweep: not new */
    while (m) {
      uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(m);
      m &= m - 1;
      /* a marker may have reached it first (it then counted it) */
      if (!__atomic_load_n(&s->gcmarks[i], __ATOMIC_RELAXED)) {
        __atomic_store_n(&s->gcmarks[i], 1, __ATOMIC_RELAXED);
        newly++;
      }
    }
  }
  if (newly)
    atomic_add_relaxed(&gc.bytes_marked, newly * s->elemsize);
}

static void *gc_alloc_large(m_t *mp, size_t size, const hl_type_t *t,
                            size_t n, bool noscan) {
  gcache_t *c = mp->p->gc;
  if (size > ((size_t)1 << 46))
    gc_out_of_memory(size);
  size_t npages = (size + PAGE_SIZE - 1) / PAGE_SIZE;
  if (!atomic_load_relaxed(&gc.sweep_done))
    for (size_t i = 0; i < npages && gc_sweep_one(); i++)
      ;
  mspan_t *s = gc_new_span(noscan ? 1 : 0, npages, size);
  uintptr_t v = s->base;
  if (s->gcneedzero)
    memset((void *)v, 0, size);
  if (!noscan)
    heapbits_set(v, (size + 7) & ~(size_t)7, t, n);
  atomic_store_relaxed(&s->freeindex, 1);
  s->allocCount = 1;
  if (gc_marking())
    mark_new(c, s, 0, npages * PAGE_SIZE);
  atomic_add_relaxed(&gc.heap_live, (uint64_t)npages * PAGE_SIZE);
  atomic_add_relaxed(&gc.heap_objects, 1);
  c->check_trigger = true;
  GC_OWNER_ADD(c->alloc_bytes, size);
  GC_OWNER_ADD(c->alloc_objects, 1);
  return (void *)v;
}

/* The span class of a small object of size bytes (0 < size <=
 * MAX_SMALL_SIZE); noscan objects under TINY_SIZE take tiny blocks. */
static inline int size_spanclass(size_t size, bool noscan) {
  unsigned sc = size <= SMALL_SIZE_MAX
                    ? size_to_class8[(size + SMALL_SIZE_DIV - 1) / SMALL_SIZE_DIV]
                    : size_to_class128[(size - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) /
                                       LARGE_SIZE_DIV];
  if (noscan && size < TINY_SIZE)
    sc = size_to_class8[TINY_SIZE / SMALL_SIZE_DIV];
  return (int)(sc << 1 | (noscan ? 1 : 0));
}

uint32_t gc_type_fast(const hl_type_t *t) {
  hl_type_t *tt = (hl_type_t *)t;
  uint32_t f = atomic_load_acquire(&tt->fast_);
  if (f)
    return f;
  bool noscan = t->nfields == 0;
  size_t size = t->size;
  f = TYPE_FAST_NONE;
  /* what gc_alloc does for one object of t without its tiny and large
   * paths; a scan type's bitmap must fit the one word hb_set_one takes */
  if (size > 0 && size <= MAX_SMALL_SIZE && !(noscan && size < TINY_SIZE)) {
    int spc = size_spanclass(size, noscan);
    size_t slot = class_to_size[spc >> 1];
    uint32_t big = slot > 64 ? TYPE_FAST_BIG : 0;
    if (noscan) {
      f = TYPE_FAST_OK | big | (uint32_t)spc;
    } else if (slot / 8 <= 64) {
      /* atomic: two first allocations may both get here, and fast paths
       * that saw the other's fast_ read them meanwhile (the same values) */
      __atomic_store_n(&tt->hbits_, type_mask(t)[0], __ATOMIC_RELAXED);
      __atomic_store_n(&tt->hlo_, ~(uint64_t)0 >> (64 - slot / 8),
                       __ATOMIC_RELAXED);
      f = TYPE_FAST_OK | big | (uint32_t)spc;
    }
  }
  /* release: a reader that sees fast_ sees hbits_ */
  atomic_store_release(&tt->fast_, f);
  return f;
}

void *gc_alloc(m_t *mp, size_t size, const hl_type_t *t, size_t n,
               bool noscan) {
  gcache_t *c = mp->p->gc;
  if (hl_unlikely(size == 0))
    return (void *)zerobase;
  if (size > MAX_SMALL_SIZE)
    return gc_alloc_large(mp, size, t, n, noscan);
  if (noscan && size < TINY_SIZE) {
    /* Go's tiny allocator: pointer-free objects under 16 B share blocks */
    uintptr_t off = c->tinyoffset;
    if ((size & 7) == 0)
      off = (off + 7) & ~(uintptr_t)7;
    else if ((size & 3) == 0)
      off = (off + 3) & ~(uintptr_t)3;
    else if ((size & 1) == 0)
      off = (off + 1) & ~(uintptr_t)1;
    if (c->tiny && off + size <= TINY_SIZE) {
      c->tinyoffset = off + size;
      GC_OWNER_ADD(c->alloc_bytes, size);
      return (void *)(c->tiny + off);
    }
  }
  int spc = size_spanclass(size, noscan);
  mspan_t *s = c->alloc[spc];
  uint32_t idx;
  if (hl_unlikely(!s || !span_nextfree(s, &idx))) {
    s = gc_refill(c, spc);
    if (!span_nextfree(s, &idx))
      hl_throw("gc: a span from gcentral has no free slot");
  }
  s->allocCount++;
  size_t elem = s->elemsize;
  uintptr_t v = s->base + (uintptr_t)idx * elem;
  if (s->gcneedzero)
    zero_small(v, elem);
  if (!noscan)
    heapbits_set_small(c, v, elem, t, n);
  if (gc_marking())
    black_note(s, idx);
  GC_OWNER_ADD(c->alloc_bytes, elem);
  GC_OWNER_ADD(c->alloc_objects, 1);
  if (noscan && size < TINY_SIZE) {
    c->tiny = v;
    c->tinyoffset = size;
  }
  return (void *)v;
}

