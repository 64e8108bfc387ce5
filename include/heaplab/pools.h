/*
 * heaplab/pools.h — allocation strategies layered on the collected heap,
 * compared by the poolbench workload (docs/pools.md):
 *
 *   hl_pool      Go's sync.Pool: a cache of reusable collected objects with
 *                a private slot and a lock-free shared chain per P (other
 *                Ps steal from it) and a victim cache; the collector empties
 *                it (each cycle start moves the caches to the victim and
 *                drops the old victim, as Go 1.13+ does).
 *   hl_slab      batch allocation: objects carved out of one collected
 *                allocation of `batch` objects. A retained object retains
 *                its whole slab (an interior pointer keeps the allocation
 *                alive).
 *   hl_freelist  Go's "leaky buffer": a buffered heaplab channel of free
 *                objects; get = try-receive or allocate, put = try-send or
 *                drop.
 *   hl_region    bump allocation in memory outside the collected heap
 *                (heaplab's manual allocator), freed all at once by
 *                hl_region_reset / hl_region_destroy.
 *
 * Every call here is made from a goroutine (inside hl_main); misuse is
 * fatal with a message naming the call. Creation functions return NULL
 * with errno EINVAL for a bad argument (the message is the caller's to
 * print) and ENOMEM when memory runs out.
 *
 * What a pooled object may hold: pool, slab and freelist objects are
 * collected objects and follow gc.h's rules (pointer fields stored with
 * HL_STORE). Region memory is not collected: a region created without
 * HL_REGION_SCAN must not hold the only pointer to a collected object.
 * Objects in a pool or a freelist may vanish at any time (the collector
 * drops pools; a freelist drops on overflow): never keep state in them
 * that must survive, and reset what a previous user left.
 */
#ifndef HEAPLAB_POOLS_H
#define HEAPLAB_POOLS_H

#include <stddef.h>
#include <stdint.h>

#include "heaplab/gc.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HL_API
#define HL_API __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------- hl_pool */

typedef struct hl_pool hl_pool_t;

/* Counters of a pool, summed over the Ps (each P counts its own; a sum
 * taken while goroutines use the pool is approximate). gets = hit_private
 * + hit_shared + hit_steal + hit_victim + news. */
typedef struct hl_pool_stats {
  uint64_t gets, puts;
  uint64_t hit_private; /* from this P's private slot */
  uint64_t hit_shared;  /* from the head of this P's shared chain */
  uint64_t hit_steal;   /* from the tail of another P's shared chain */
  uint64_t hit_victim;  /* from the victim cache (any P) */
  uint64_t news;        /* misses: New was called (or NULL returned) */
  uint64_t put_private; /* puts that filled the private slot */
  uint64_t put_shared;  /* puts pushed on the shared chain */
  uint64_t chain_allocs; /* ring buffers the shared chains allocated */
  uint64_t cleanups;    /* collector cycles that moved it to the victim */
} hl_pool_stats_t;

/* A pool whose misses call new_fn(arg) (Go's Pool.New; NULL: hl_pool_get
 * returns NULL on a miss). new_fn runs in the calling goroutine, outside
 * any runtime critical section: it may allocate and block. The pool's
 * storage is registered with the collector; pools are few and long-lived
 * (Go's are globals). Returns NULL with ENOMEM. */
HL_API hl_pool_t *hl_pool_create(void *(*new_fn)(void *arg), void *arg);
/* Frees a pool no goroutine uses any more; its cached objects become
 * garbage. NULL is ignored. */
HL_API void hl_pool_destroy(hl_pool_t *pool);
/* An object from the pool (this P's private slot, then its shared chain,
 * then other Ps' chains, then the victim cache), or new_fn(arg) on a miss.
 * The object is the caller's until it is put back; its contents are what
 * the last user left. */
HL_API void *hl_pool_get(hl_pool_t *pool);
/* Gives obj (the start of a collected object, or NULL: ignored) to the
 * pool. The caller must not use it afterwards. */
HL_API void hl_pool_put(hl_pool_t *pool, void *obj);
HL_API void hl_pool_stats(hl_pool_t *pool, hl_pool_stats_t *st);

/* ------------------------------------------------------------- hl_slab */

/* A slab allocator: one collected allocation holds `batch` objects, handed
 * out one by one. It is itself a collected object: keep it in a local
 * variable or store it with HL_STORE; it is never freed explicitly. Not
 * for concurrent use: one goroutine at a time (give each goroutine its
 * own, or hand it over through a channel). */
typedef struct hl_slab hl_slab_t;

typedef struct hl_slab_stats {
  uint64_t objects; /* objects handed out */
  uint64_t slabs;   /* collected allocations made for them */
  uint64_t bytes;   /* bytes of those allocations */
} hl_slab_stats_t;

/* Objects of type t (precise pointer fields), batch per slab
 * (1..1048576). NULL with EINVAL when t is NULL, t->size is 0 or the
 * slab would exceed 1 GiB. */
HL_API hl_slab_t *hl_slab_create(const hl_type_t *t, size_t batch);
/* Pointer-free objects of size bytes (1..1 MiB; rounded up to 8), batch
 * per slab (noscan: never scanned by the collector). */
HL_API hl_slab_t *hl_slab_create_bytes(size_t size, size_t batch);
/* The next zeroed object; starts a new slab when the current one is
 * used up. */
HL_API void *hl_slab_alloc(hl_slab_t *s);
HL_API void hl_slab_stats(const hl_slab_t *s, hl_slab_stats_t *st);

/* --------------------------------------------------------- hl_freelist */

typedef struct hl_freelist hl_freelist_t;

typedef struct hl_freelist_stats {
  uint64_t gets, hits, news; /* gets = hits + news */
  uint64_t puts, drops;      /* drops: puts that found the list full */
} hl_freelist_stats_t;

/* A free list of at most cap objects (1..2^24) over a buffered channel;
 * misses call new_fn(arg) (NULL: hl_freelist_get returns NULL). The
 * channel's buffer is scanned by the collector: the free objects stay
 * alive while listed. NULL with EINVAL or ENOMEM. */
HL_API hl_freelist_t *hl_freelist_create(size_t cap, void *(*new_fn)(void *),
                                         void *arg);
/* Frees a free list no goroutine uses any more (fatal if a goroutine is
 * blocked on it; its objects become garbage). NULL is ignored. */
HL_API void hl_freelist_destroy(hl_freelist_t *fl);
/* A free object (try-receive), or new_fn(arg) when the list is empty. */
HL_API void *hl_freelist_get(hl_freelist_t *fl);
/* Lists obj (try-send); when the list is full obj is dropped (left to the
 * collector). NULL is ignored. */
HL_API void hl_freelist_put(hl_freelist_t *fl, void *obj);
HL_API void hl_freelist_stats(hl_freelist_t *fl, hl_freelist_stats_t *st);

/* ----------------------------------------------------------- hl_region */

typedef struct hl_region hl_region_t;

/* hl_region_create flags. HL_REGION_SCAN: the region's chunks are
 * registered as collector roots (scanned word by word), so region memory
 * may hold pointers to collected objects (stored with HL_STORE). Without
 * it the collector never looks at region memory. */
#define HL_REGION_SCAN 1u

typedef struct hl_region_stats {
  uint64_t allocs;     /* hl_region_alloc calls since creation */
  uint64_t bytes;      /* bytes requested since creation */
  uint64_t chunks;     /* chunks obtained from the manual allocator */
  uint64_t resets;
  uint64_t used;       /* bytes in use now */
  uint64_t reserved;   /* bytes in the chunks held now */
} hl_region_stats_t;

/* A region taking chunks of chunk_size bytes (0: 64 KiB; else 4 KiB ..
 * 1 GiB) from heaplab's manual allocator (hl_malloc), never from the
 * collected heap. NULL with EINVAL (bad size or unknown flag) or ENOMEM.
 * Not for concurrent use: one goroutine at a time. */
HL_API hl_region_t *hl_region_create(size_t chunk_size, unsigned flags);
/* size zeroed bytes aligned to align (a power of two, 1..4096; fatal
 * otherwise), valid until the next reset or destroy. Requests larger than
 * a chunk get a chunk of their own. NULL when memory runs out. */
HL_API void *hl_region_alloc(hl_region_t *r, size_t size, size_t align);
/* Frees everything allocated at once: the first chunk is kept for reuse
 * (the next allocation gets its first bytes again), the others go back
 * to the manual allocator. Every pointer into the region dangles. */
HL_API void hl_region_reset(hl_region_t *r);
/* Frees the region and all its memory. NULL is ignored. */
HL_API void hl_region_destroy(hl_region_t *r);
HL_API void hl_region_stats(const hl_region_t *r, hl_region_stats_t *st);

#ifdef __cplusplus
}
#endif
#endif
