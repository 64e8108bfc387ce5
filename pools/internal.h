/*
 * pools/internal.h — structures of hl_pool (the others are private to
 * their files), the pinning and shading helpers every strategy uses, and
 * the hooks tests need. docs/pools.md has the design.
 *
 * Pinning (Go's procPin): pool code that reads per-P state enters the
 * calling M's runtime critical section with rt_enter (m->locks > 0): the
 * preemption signal then leaves the thread alone, no stop-the-world can
 * happen, and the P cannot change until pool_unpin. Nothing that may
 * park, allocate from the collected heap (an allocation may assist or
 * start a cycle) or call user code runs while pinned.
 *
 * Shading: a pointer moved between pool storage (collected objects and
 * registered roots) and a goroutine's stack while the collector marks must
 * be shaded, as HL_STORE does for plain fields: the stack was scanned
 * once, at the start of the cycle, and a pointer taken out of a slot the
 * marker has not reached yet would otherwise be found by nobody (the
 * hybrid barrier's deletion half); a pointer put into a slot already
 * scanned likewise (its insertion half). The lock-free slots are written
 * with atomics, which HL_STORE cannot do, so they shade explicitly.
 */
#ifndef HL_POOLS_INTERNAL_H
#define HL_POOLS_INTERNAL_H

#include "heaplab/gc.h"
#include "heaplab/pools.h"
#include "heaplab/sched.h"
#include "sched/internal.h"

#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------------------ helpers */

/* Pins the calling goroutine to its P (fatal outside a goroutine, naming
 * fn). Returns the M; the P is mp->p until pool_unpin(mp). */
static inline m_t *pool_pin(const char *fn) {
  return rt_enter(curg_or_die(fn));
}
static inline void pool_unpin(m_t *mp) { m_unlock(mp); }

/* Shades p if the collector marks (the barrier's slow path, applied to a
 * scratch local: it shades the old value, NULL, and the new one, p). */
static inline void pool_shade(void *p) {
  if (__builtin_expect(hl_gc_wb_enabled != 0, 0) && p != NULL) {
    void *scratch = NULL;
    hl_gc_wb_slow(&scratch, p);
  }
}

/* --------------------------------------------------------- pool chain
 *
 * A P's shared cache is Go's poolChain: a list of single-producer,
 * multi-consumer rings (poolDequeue), each twice the size of the one
 * before. The owner P pushes and pops at the head of the newest ring;
 * other Ps pop at the tail of the oldest and unlink a ring they emptied.
 *
 * Ring invariants (headtail = head << 32 | tail, 32-bit indexes that
 * wrap): slots [tail, head) hold objects; head - tail <= n; a slot is
 * free for the producer only when its value is NULL (a consumer that
 * advanced tail clears the slot after reading it).
 * Ordering: pushHead writes the slot, then adds to head with release;
 * popTail's acquire CAS on headtail pairs with it. popTail clears the
 * slot with a release store; pushHead's acquire load of the slot pairs
 * with it.
 */
struct pool_slot {
  void *_Atomic val;
};

struct pool_ring {
  _Atomic uint64_t headtail;
  uint32_t n; /* a power of two */
  uint32_t pad_;
  struct pool_slot *vals;            /* collected array of n slots */
  struct pool_ring *_Atomic next;    /* newer ring (owner writes) */
  struct pool_ring *_Atomic prev;    /* older ring; cleared on unlink */
};

#define POOL_RING_MIN 8
#define POOL_RING_MAX (1u << 20)

/* A P's entry in a pool's local or victim array (malloc'ed, registered
 * as a collector root). private and head: the owner P only (pinned), or
 * the cleanup with the world stopped; tail: any P (CAS). Padded to its
 * own cache lines. */
struct pool_local {
  void *private;
  struct pool_ring *head;
  struct pool_ring *_Atomic tail;
  char pad_[128 - 3 * sizeof(void *)];
};
_Static_assert(sizeof(struct pool_local) == 128, "pool_local: 128 bytes");

/* Per-P counters (owner writes with relaxed load + store; stats sums). */
struct pool_counters {
  _Atomic uint64_t gets, puts, hit_private, hit_shared, hit_steal,
      hit_victim, news, put_private, put_shared, chain_allocs;
  char pad_[128 - 10 * sizeof(uint64_t)];
};

struct hl_pool {
  void *(*new_fn)(void *arg);
  void *arg;
  int nprocs;
  /* swapped by the cleanup (world stopped); read pinned */
  struct pool_local *_Atomic local;
  struct pool_local *_Atomic victim;
  struct pool_local *arrays[2]; /* both registered roots */
  /* the victim may hold objects (cleared by a get that found none) */
  _Atomic uint32_t victim_live;
  _Atomic uint64_t cleanups;
  struct pool_counters *counters; /* [nprocs] */
  struct hl_pool *next, *prev;    /* all pools (pools_lock) */
};

/* ---- pool.c, for tests ---- */
/* The calling goroutine's P id right now (it may move afterwards). */
int pool_procid(void);

#endif
