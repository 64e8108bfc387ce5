/*
 * alloc/types.h — every struct and constant of the allocator, with the
 * invariants each one keeps.
 *
 * Vocabulary (Go's): a *page* is 8 KiB; a *span* (mspan) is a run of pages
 * that is free, holds objects of one size class, or holds one large object;
 * an *arena* is 64 MiB of address space; the *mheap* owns the arenas and the
 * free page runs; an *mcentral* per size class holds spans that no thread
 * owns; an *mcache* is a thread's private allocation state.
 *
 * Object ownership (free-list sharding, after mimalloc): every small span in
 * use is owned by exactly one mcache, or by none while it sits in its
 * mcentral. The owner allocates from and frees onto `freelist` without
 * atomics; every other thread frees onto the atomic `xfree` stack, which
 * the owner folds back into `freelist` when it runs dry ("collect").
 */
#ifndef HL_ALLOC_TYPES_H
#define HL_ALLOC_TYPES_H

#include "alloc/sizeclasses.h"
#include "base/atomic.h"
#include "base/list.h"
#include "base/lock.h"

#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT 13
#define PAGE_SIZE ((size_t)1 << PAGE_SHIFT)
#define ARENA_SHIFT 26
#define ARENA_SIZE ((size_t)1 << ARENA_SHIFT) /* 64 MiB */
#define PAGES_PER_ARENA (ARENA_SIZE / PAGE_SIZE) /* 8192 */

/* Arena index (Go's arenas[L1][L2]): a 48-bit address splits into L1, L2
 * and the offset inside the arena (26 bits). Linux user addresses on
 * x86-64 and AArch64 fit 48 bits, so — as Go does on amd64 — L1 has a
 * single entry and the one L2 table (2^22 pointers: 32 MiB of .bss address
 * space, resident only where arenas exist) is static, making the lookup
 * one shift, one mask and one load. With ARENA_L1_BITS > 0 (wider address
 * spaces) L1 points to L2 tables mapped on demand. */
#define HEAP_ADDR_BITS 48
#define ARENA_L1_BITS 0
#define ARENA_L2_BITS (HEAP_ADDR_BITS - ARENA_SHIFT - ARENA_L1_BITS)
#define ARENA_L1_SIZE ((size_t)1 << ARENA_L1_BITS)
#define ARENA_L2_SIZE ((size_t)1 << ARENA_L2_BITS)

/* Page runs of fewer pages than this live in exact-size bins; longer runs
 * live in a treap ordered by (npages, address). */
#define HEAP_BINS 128
/* Pages in a per-thread page cache chunk (one bit each). */
#define PAGECACHE_PAGES 64
/* Spans of up to this many pages are carved from the page cache. */
#define PAGECACHE_MAX_SPAN 16 /* >= manual_span_pages() of every class */
/* mspan structs kept per mcache to make spans without the heap lock. */
#define SPANCACHE_SIZE 16
/* Manual (malloc) spans are a whole multiple of the class's span length of
 * at least this many pages (see manual_span_pages). */
#ifndef MANUAL_SPAN_MIN_PAGES
#define MANUAL_SPAN_MIN_PAGES 8
#endif
/* Owned spans an mcache examines for free objects before taking a new one. */
#define MCACHE_SCAN_LIMIT 8

_Static_assert(PAGES_PER_ARENA == 8192, "arena/page geometry");
_Static_assert(NUM_SIZE_CLASSES <= 96, "HL_MAX_SIZE_CLASSES");
_Static_assert(MAX_SMALL_SIZE == 32768, "small object limit");

#define XFREE_PTR_BITS 48
#define XFREE_PTR_MASK (((uintptr_t)1 << XFREE_PTR_BITS) - 1)
#define XFREE_ONE ((uintptr_t)1 << XFREE_PTR_BITS)
_Static_assert(MANUAL_SPAN_MIN_PAGES * 8192 / 16 < 65536, "xfree count bits");

/* Span states. Transitions (caller holds the heap lock for all but the
 * SMALL owner changes):
 *   FREE  --alloc--> SMALL | LARGE | (page cache: no span)
 *   SMALL/LARGE --free--> FREE (coalesced with free neighbours)
 *   FREE  --scavenge--> BUSY (pages out of the heap while madvise runs)
 *         --> FREE
 *   SBRK  spans cover sbrk-mode chunks and never change. */
enum mspan_state {
  MSPAN_DEAD = 0, /* struct unused (on a span free list) */
  MSPAN_FREE,
  MSPAN_BUSY,
  MSPAN_SMALL,
  MSPAN_LARGE,
  MSPAN_SBRK,
  MSPAN_GC, /* collected objects (gc/): small (sizeclass > 0) or one large
               object (sizeclass 0); every page maps to the span */
};

typedef struct mcache mcache_t;

/*
 * mspan. Invariants:
 *  - state FREE: the page map sends the first and the last page to this
 *    span; no neighbour run is FREE (runs are coalesced); the span is in
 *    bins[npages] (npages < HEAP_BINS) or in the treap.
 *  - state SMALL/LARGE: the page map sends every page to this span.
 *  - state SMALL, for the owner (or the mcentral lock holder when unowned):
 *        |freelist| + used + (nelems - carved) == nelems
 *    (objects past `carved` were never touched: the free list is extended
 *    a few KiB at a time, so a span's pages become resident only as used)
 *    and |xfree| <= used (remote frees not yet collected still count in
 *    used).
 *  - a free object's word 1 holds hl_free_key (the double-free check); an
 *    allocated object's word 1 is cleared on allocation.
 */
typedef struct mspan {
  /* --- line 1: read by every thread's free path, written only while the
   * span is set up (before it is published in the page map) --- */
  uintptr_t base;  /* first byte */
  uint32_t npages; /* pages in the span */
  uint8_t state;   /* enum mspan_state */
  uint8_t sizeclass;
  uint8_t needzero;  /* LARGE/FREE: pages may hold old data */
  uint8_t in_central; /* SMALL: sits in its mcentral (owner NULL) */
  uint32_t elemsize;
  uint32_t divmul;     /* offset * divmul >> 32 == offset / elemsize */
  uint32_t limit;      /* nelems * elemsize: offsets past it are tail */
  uint32_t nelems;
  uint64_t divtest;    /* UINT64_MAX / elemsize + 1 (span_object_start) */
  _Atomic(mcache_t *) owner; /* owner mcache, NULL when unowned */

  /* --- line 2: owner-only (kept off line 1 so the owner's writes do not
   * invalidate the line remote freers read) --- */
  _Alignas(64) void *freelist; /* allocation pops here, owner frees push */
  uint32_t used;    /* objects handed out and not back on freelist */
  uint32_t carved;  /* objects threaded onto the free list so far */
  hl_list_t link;   /* mcache span list / mcentral list / heap bin */

  /* --- line 3: any thread --- */
  /* Remote frees: a Treiber stack of objects linked through word 0. The
   * word packs the head pointer (low XFREE_PTR_BITS bits) and the number of
   * objects on the stack (high bits), so the owner learns the count from
   * its exchange without walking the (cache-cold) list. */
  _Alignas(64) _Atomic(uintptr_t) xfree;

  /* heap fields (caller holds the heap lock; never touched while SMALL) */
  int64_t freed_at;             /* FREE: when it became free (ns) */
  struct mspan *tleft, *tright; /* treap children (FREE, npages >= bins) */
  struct mspan *next_dead;      /* DEAD: span struct free list */
  uint32_t tprio;
  uint32_t large_size;          /* LARGE: requested bytes (for stats) */

  /* --- line 4: collected spans (state GC; gc/types.h has the protocol) */
  _Alignas(64) _Atomic uint32_t sweepgen; /* Go's sweepgen protocol */
  _Atomic uint32_t freeindex; /* next slot to look at (owner writes) */
  uint32_t allocCount;        /* objects allocated (owner / sweeper) */
  uint8_t spanclass;          /* sizeclass << 1 | noscan */
  uint8_t incache;            /* owned by a P's gcache */
  uint8_t inlist;             /* on a gcentral list (its lock) */
  uint8_t gcneedzero;         /* slots may hold old data */
  uint64_t allocCache;        /* free slots from freeindex (bit set: free) */
  uint8_t *allocBits;         /* bit i: slot i allocated (as of the sweep) */
  uint8_t *gcmarks;           /* byte i: slot i marked this cycle */
  uint32_t gcidx;             /* index in the span registry */
  _Atomic uint32_t nspecials; /* finalizers attached to objects here */
  uint64_t gcsize;            /* large: the object's size in bytes */
  /* allocate-black in bulk (gc/heap.c, "allocate-black"): the slots from
   * blackfrom up to freeindex that were free at the sweep are black in
   * cycle blackcycle; their marks are set when the span leaves the
   * P's cache. Owner writes, markers read. */
  _Atomic uint32_t blackcycle;
  _Atomic uint32_t blackfrom;
} mspan_t;
_Static_assert(sizeof(mspan_t) == 256, "mspan: four cache lines");

/* Per-arena metadata: page -> span map and which pages are released to the
 * OS. Lives outside the arena so the arena itself is only objects. */
typedef struct heaparena {
  /* spans[i]: span holding page i (see mspan invariants); NULL for pages
   * owned by a page cache or inside a free run. Written under the heap
   * lock, or by the page-cache owner for its pages; read lock-free. */
  _Atomic(mspan_t *) spans[PAGES_PER_ARENA];
  /* released[i]: page i is returned to the OS (reads as zero). Heap lock. */
  uint64_t released[PAGES_PER_ARENA / 64];
  uintptr_t base;
  /* gc/: one bit per 8-byte word, set for pointer words of collected
   * objects (allocated on the arena's first collected span) */
  _Atomic(uint64_t *) heapbits;
} heaparena_t;

/* A thread's private run of pages (Go's pageCache): `bits` marks the free
 * pages of the 64-page chunk at `base`. Owned by one mcache: no lock. */
typedef struct pagecache {
  uintptr_t base;
  uint64_t bits;
  uint64_t released; /* of the free pages, those released to the OS */
} pagecache_t;

/*
 * mcache: a thread's allocation state. alloc[sc] is the span small objects
 * of class sc come from (a sentinel empty span when there is none).
 * spans[sc] lists every other span of class sc this mcache owns, oldest
 * first; the slow path scans a few of them for collected free objects
 * before asking mcentral or the heap for another.
 *
 * Counters are written only by the owner (counter_add) and read by
 * hl_heap_stats (counter_read).
 */
struct mcache {
  mspan_t *alloc[NUM_SIZE_CLASSES];
  uint64_t nmalloc[NUM_SIZE_CLASSES]; /* counter_add by the owner */
  uint64_t nfree[NUM_SIZE_CLASSES];
  hl_list_t spans[NUM_SIZE_CLASSES];
  uint32_t nspans[NUM_SIZE_CLASSES];
  pagecache_t pcache;
  mspan_t *spancache[SPANCACHE_SIZE];
  int nspancache;
  int in_use;             /* attached to a thread (registry lock) */
  struct mcache *next;    /* registry list (never unlinked) */
};

/* mcentral: spans of one class that no mcache owns (left by exiting
 * threads or flushed). Protected by lock. */
typedef struct mcentral {
  hl_lock_t lock;
  hl_list_t spans;
  _Atomic uint64_t nspans; /* written under lock; read without it as a hint */
} mcentral_t;

/* The treap of long free runs. */
typedef struct mheap {
  hl_lock_t lock; /* protects everything below */
  hl_list_t bins[HEAP_BINS]; /* free runs of exactly n pages, n >= 1 */
  uint64_t binmask[HEAP_BINS / 64];
  mspan_t *treap;
  uint32_t rng;
  mspan_t *deadspans; /* mspan structs to reuse */
  /* page accounting (bytes), heap lock */
  uint64_t free_bytes;      /* in free runs, backed or not */
  uint64_t released_bytes;  /* of free_bytes + page caches, released */
  uint64_t large_bytes, large_objects;
  uint64_t arena_bytes;
  uint64_t scavenged_total;
  _Atomic uint64_t cached_bytes; /* free pages in page caches (atomic) */
  /* metadata bump allocator */
  char *meta_cur, *meta_end;
  uint64_t meta_bytes;
} mheap_t;

#endif
