/*
 * gc/internal.h — the collector's structures, invariants and cross-file
 * prototypes (docs/gc.md has the design).
 *
 * Collected spans (mspan state MSPAN_GC) are separate from the manual
 * allocator's: they never sit on a malloc free list, hl_free rejects them,
 * and their objects are found by index, as in Go:
 *   - allocBits: slot i allocated as of the last sweep; slots below
 *     freeindex were handed out since (allocate-black marks them too);
 *     allocCache caches ~allocBits from freeindex for ctz.
 *   - gcmarks: byte i is 1 when slot i was marked this cycle (bytes, so
 *     that markers set them with a plain store). Sweeping packs them into
 *     the new alloc bits and clears them.
 *   - sweepgen (Go's protocol; sg = gc.sweepgen, += 2 per cycle):
 *       sg - 2: needs sweeping; sg - 1: being swept; sg: swept.
 *     Spans in a P's gcache are always swept: mark termination releases
 *     every cached span before it advances sg.
 *   - heap bitmap (per arena, one bit per 8-byte word): the words of
 *     collected objects that hold pointers; written at allocation for the
 *     whole slot (type bits, then zeros), read by the marker.
 *
 * Lock order: gcentral[i].lock -> mheap.lock; registry lock and
 * specials lock are leaves.
 */
#ifndef HL_GC_INTERNAL_H
#define HL_GC_INTERNAL_H

#include "alloc/internal.h"
#include "heaplab/alloc.h"
#include "heaplab/gc.h"
#include "heaplab/sched.h"
#include "sched/internal.h"

#define NUM_SPANCLASS (NUM_SIZE_CLASSES * 2)
#define GCBITS_BYTES 128  /* per bitmap: 1024 slots at most (8 B class) */
#define OBLET_BYTES (128u << 10)
#define WORKBUF_N 253
#define WBBUF_N 256
#define TINY_SIZE 16

enum gc_phase { GC_OFF = 0, GC_MARK, GC_MARKTERM };
enum worker_mode { WORKER_NONE = 0, WORKER_DEDICATED, WORKER_FRACTIONAL,
                   WORKER_IDLE };

/* A buffer of grey objects (addresses: object starts, or oblet starts of
 * large objects). Global lists link them through next. */
typedef struct workbuf {
  struct workbuf *next;
  uint32_t nobj;
  uint32_t pad_;
  uintptr_t obj[WORKBUF_N];
} workbuf_t;

/* Go's gcWork: a P's two buffers (put/get on wbuf1; when it fills or
 * empties, swap with wbuf2, then trade with the global lists). */
typedef struct gcwork {
  workbuf_t *wbuf1, *wbuf2;
  uint64_t bytes_marked; /* flushed into gc.bytes_marked */
  int64_t scan_work;     /* bytes scanned, flushed into gc.scan_work */
  bool flushed;          /* put something on the global list */
} gcwork_t;

/* Per-P collector state (p->gc). Touched only by the goroutine holding
 * the P (inside a runtime critical section), or by the world stopper. */
typedef struct gcache {
  mspan_t *alloc[NUM_SPANCLASS];
  uintptr_t tiny;        /* current tiny block (noscan, 16 B) */
  uintptr_t tinyoffset;
  gcwork_t gcw;
  uintptr_t wbbuf[WBBUF_N]; /* write-barrier buffer: pointers to shade */
  uint32_t wbn;
  /* mark worker of this P */
  g_t *worker;
  uint32_t worker_mode;    /* mode of the current run (enum worker_mode) */
  int64_t worker_start;    /* when it started running */
  int64_t fractional_ns;   /* fractional worker time this cycle */
  int64_t fractional_end;  /* when its last slice ended */
  int64_t fractional_last; /* and how long that slice was */
  uint64_t alloc_bytes;    /* stats: bytes allocated (owner) */
  uint64_t alloc_objects;
  /* a span was taken since the last trigger check (gc_refill, large) */
  bool check_trigger;
  /* the heap bitmap of the arena last allocated from (heap.c
   * heapbits_set_small): saves the arena lookup on most allocations */
  uintptr_t hb_base;
  uint64_t *hb_bits;
  /* the heap-bitmap word of alloc[i]'s first slot, scan classes (set with
   * alloc[i] by gc_refill; spans start on a bitmap word): hl_new's fast
   * path writes its bits without looking up the arena */
  uint64_t *alloc_hb[NUM_SPANCLASS];
} gcache_t;


/* hl_type_t.fast_: the span class of one object of the type (low 8
 * bits) when hl_new's fast path takes it (TYPE_FAST_OK: a small object,
 * not tiny; a scan type's bitmap in one word, hbits_), TYPE_FAST_NONE
 * when it does not; 0 before the first allocation looked. */
#define TYPE_FAST_SPC 0xffu
#define TYPE_FAST_OK (1u << 8)
#define TYPE_FAST_NONE (1u << 9)
#define TYPE_FAST_BIG (1u << 10) /* the slot is over 64 bytes */
_Static_assert(NUM_SPANCLASS <= 256, "span classes fit fast_'s low byte");
/* Computes (once) and returns t's fast_. */
uint32_t gc_type_fast(const hl_type_t *t);

/* gcentral: spans of one spanclass no P owns, split by whether they are
 * swept for the current sweepgen: set (sg / 2) % 2 is swept. */
typedef struct gcentral {
  hl_lock_t lock;
  hl_list_t partial[2]; /* has free slots */
  hl_list_t full[2];
} gcentral_t;

/* The collector's global state. */
typedef struct gcstate {
  _Atomic uint32_t phase;      /* enum gc_phase */
  _Atomic uint32_t sweepgen;
  _Atomic uint64_t cycle;      /* cycles started */
  _Atomic uint32_t running;    /* a cycle is between start and end */
  /* pacing */
  _Atomic uint64_t heap_live;  /* bytes in cached spans + large + marked */
  uint64_t heap_marked;        /* marked by the last cycle */
  _Atomic uint64_t heap_goal;
  _Atomic uint64_t trigger;
  _Atomic int32_t gcpercent;   /* < 0: off */
  _Atomic int64_t memlimit;
  uint64_t last_scan_work;     /* scan work of the last cycle (bytes) */
  double cons_mark;            /* Go 1.18's cons/mark ratio estimate */
  _Atomic uint64_t assist_ceiling; /* the memory limit's: capped assists
                                      * never let the heap past it */
  /* marking */
  _Atomic uintptr_t full;      /* lock-free stacks of workbufs */
  _Atomic uintptr_t empty;
  _Atomic uint64_t bytes_marked;
  _Atomic int64_t scan_work;
  _Atomic int64_t bg_credit;   /* background scan credit (bytes) */
  _Atomic int64_t bg_work;     /* scan work of mark workers this cycle */
  double assist_work_per_byte;
  double assist_bytes_per_work;
  int64_t mark_start_ns;
  _Atomic int32_t dedicated_needed; /* dedicated workers still to start */
  double fractional_goal;      /* per-P utilization of fractional work */
  _Atomic uint32_t markdone_busy;
  _Atomic uint32_t roots_pending; /* root scan not yet queued: no mark done */
  _Atomic int32_t nworking;    /* workers and assists draining now */
  _Atomic uint32_t work_wanted; /* a P's worker found no work to share */
  /* sweeping */
  _Atomic uint32_t sweep_cursor;   /* registry index */
  _Atomic int32_t sweepers;        /* sweeps in progress */
  _Atomic uint32_t sweep_done;
  /* statistics */
  _Atomic uint64_t numgc, numforced;
  uint64_t pause_ns[HL_GC_PAUSES];
  uint64_t pause_end[HL_GC_PAUSES];
  uint64_t pause_total_ns, pause_max_ns;
  _Atomic uint64_t total_alloc;
  _Atomic uint64_t heap_objects;   /* allocated objects after last sweep +- */
  _Atomic uint64_t span_bytes;     /* bytes in collected spans */
  _Atomic int64_t assist_ns;
  _Atomic int64_t worker_ns;
  _Atomic int64_t stw_ns_cpu;      /* pauses x gomaxprocs (GC CPU) */
  int64_t start_ns;                /* process start (for GC CPU fraction) */
  uint64_t last_gc_end;
} gcstate_t;

extern HL_HIDDEN gcstate_t gc;
extern HL_HIDDEN gcentral_t gcentral[NUM_SPANCLASS];

/* Adds to a counter written by its owner only and read by others
 * (hl_gc_stats): a relaxed load and store, no read-modify-write. */
#define GC_OWNER_ADD(x, v)                                                     \
  __atomic_store_n(&(x), __atomic_load_n(&(x), __ATOMIC_RELAXED) + (v),        \
                   __ATOMIC_RELAXED)

/* Relaxed atomic doubles (the pacer's ratios: written by whoever revises
 * them, read by every assist). */
static inline double gc_load_d(const double *p) {
  double v;
  __atomic_load(p, &v, __ATOMIC_RELAXED);
  return v;
}
static inline void gc_store_d(double *p, double v) {
  __atomic_store(p, &v, __ATOMIC_RELAXED);
}

static inline bool gc_marking(void) {
  return atomic_load_relaxed(&gc.phase) != GC_OFF;
}

/* ---- heap.c: collected spans, allocation, sweeping ---- */
void gcheap_init(void);
gcache_t *gcache_create(void);
/* Allocates size bytes (class or large) for type t (NULL: conservative;
 * noscan: no pointers). Caller is in a runtime critical section on a P. */
void *gc_alloc(m_t *mp, size_t size, const hl_type_t *t, size_t n,
               bool noscan);
/* Span holding the object at p (interior allowed): the object start and
 * slot index, or 0 when p is not in an allocated collected object. */
/* The collected object containing p: its start, span and slot, or 0 (p
 * is not in an allocated collected object). Precise (typed) pointers skip
 * the allocated check: a pointer the program holds in a typed slot names
 * an object it allocated (a free slot is only ever reached through a
 * conservative word). Inline: the mark loop calls it for every pointer. */
static inline uintptr_t gc_find_object_(uintptr_t p, mspan_t **sp,
                                        uint32_t *idxp, bool precise) {
  heaparena_t *a = arena_of(p);
  if (!a)
    return 0;
  /* acquire: pairs with pagemap_set's release, so the span's fields are
   * those it was mapped with (a stale word from a stack may name a page
   * whose span is being carved meanwhile: its state says so) */
  mspan_t *s =
      atomic_load_acquire(&a->spans[(p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)]);
  if (!s || __atomic_load_n(&s->state, __ATOMIC_RELAXED) != MSPAN_GC)
    return 0;
  uintptr_t off = p - s->base;
  if (p < s->base || off >= (uintptr_t)s->npages * PAGE_SIZE)
    return 0;
  uint32_t idx;
  uintptr_t obj;
  if (s->sizeclass == 0) {
    if (off >= s->gcsize)
      return 0;
    idx = 0;
    obj = s->base;
  } else {
    idx = (uint32_t)((off * s->divmul) >> 32);
    if (idx >= s->nelems)
      return 0;
    obj = s->base + (uintptr_t)idx * s->elemsize;
  }
  if (!precise && idx >= atomic_load_relaxed(&s->freeindex) &&
      !((s->allocBits[idx >> 3] >> (idx & 7)) & 1))
    return 0; /* a free slot */
  *sp = s;
  *idxp = idx;
  return obj;
}
static inline uintptr_t gc_find_object(uintptr_t p, mspan_t **sp,
                                       uint32_t *idxp) {
  return gc_find_object_(p, sp, idxp, false);
}
/* Returns every span of c to gcentral (mark termination, STW). */
void gcache_release_all(gcache_t *c);
bool gc_sweep_one(void);          /* false when nothing is left */
/* Tests only (tests/gc/test_sweep_pin.c): called by every sweep with the
 * sweepgen it read, while the sweep holds its P. */
extern HL_HIDDEN void (*_Atomic gc_sweep_test_hook)(uint32_t sg);
void gc_finish_sweep(void);       /* sweeps everything left */
void gc_sweep_start(void);        /* after the sweepgen flip (STW) */
/* Validity walker (debug builds, gccheckmark): every span is swept at
 * the start of a cycle (STW); throws naming one that is not. */
void gc_check_swept(void);
uint32_t gc_registry_len(void);
mspan_t *gc_registry_get(uint32_t i);
uint64_t *heapbits_arena_slow(uintptr_t addr);
/* the arena's heap bitmap (made on first use) */
static inline uint64_t *heapbits_arena(uintptr_t addr) {
  uint64_t *hb = atomic_load_acquire(&arena_of(addr)->heapbits);
  return hl_likely(hb != NULL) ? hb : heapbits_arena_slow(addr);
}
void gc_poison_check_enabled(void);

/* ---- mark.c ---- */
void gcw_put(gcwork_t *w, uintptr_t obj);
uintptr_t gcw_get(gcwork_t *w);
void gcw_flush(gcwork_t *w);        /* everything to the global list */
bool gcw_empty(gcwork_t *w);
bool gc_work_available(void);       /* global full list non-empty */

/* The assist ratio (scan work per byte allocated) wpb, as Go's pacer
 * computes it, after heaplab's cap (pacer_revise): pct is
 * HLDEBUG=gcassistcap, cm the cons/mark (0: none measured yet), live and
 * goal the heap and its goal, most the furthest the memory limit lets
 * the heap go (no limit: infinity), last the last cycle's scan
 * work (0: none) and expected this one's; the growth allowance is a
 * fraction of the goal, or of minbase when the goal is smaller. */
double gc_assist_capped(double wpb, double pct, double cm, double live,
                        double goal, double most, double last,
                        double expected, double minbase);
void shade(gcwork_t *w, uintptr_t p);
void scanblock(gcwork_t *w, uintptr_t b, size_t n);
void scanobject(gcwork_t *w, uintptr_t b);
/* Drains w; stops when should_stop(arg) or after `budget` bytes of scan
 * work (< 0: none). Returns the scan work done. With credit, the work is
 * passed to credit as it is done, every GC_CREDIT_SLACK bytes (background
 * workers pay parked assists). */
#define GC_CREDIT_SLACK (16 << 10)
int64_t gc_drain(gcwork_t *w, int64_t budget, bool (*should_stop)(void *),
                 void *arg, void (*credit)(int64_t));
void wbbuf_flush(gcache_t *c);
void gc_scan_stacks(gcwork_t *w);   /* STW: every goroutine stack */
/* the stacks' words copied by gc_scan_stacks: scanned after the pause,
 * before the concurrent root scan ends */
void gc_scan_stack_snapshot(gcwork_t *w);
void gc_snapshot_prepare(void);     /* before the pause */
void gc_scan_globals(gcwork_t *w);  /* registered roots */
void gc_scan_runtime(gcwork_t *w);  /* channels, finalizer queue, specials */
void gc_shade_words(const void *p, size_t n); /* channel copies */
void gc_checkmark(void);            /* STW, gccheckmark=1 */

/* ---- gc.c ---- */
void gc_init_once(void);
void gc_maybe_start(void);       /* heap_live passed the trigger */
void gc_assist_alloc(g_t *gp);   /* gp is in debt */
void gc_mark_done(void);         /* a worker found no more work */
void gc_specials_scan(gcwork_t *w);
/* sweep: an unmarked object with a finalizer; returns true when it is
 * queued (the object is resurrected: the caller keeps it marked). */
bool gc_sweep_special(mspan_t *s, uintptr_t obj);
void gc_finq_scan(gcwork_t *w);
__attribute__((noreturn)) void gc_out_of_memory(size_t size);

#endif
