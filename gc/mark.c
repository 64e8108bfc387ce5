/*
 * gc/mark.c — marking: work buffers and the global lists, grey/shade,
 * object and root scanning, the write barrier, goroutine stacks, and the
 * checkmark verifier.
 *
 * Tri-color invariant (Go's): white = unmarked, grey = marked and queued
 * in some gcWork, black = marked and scanned. Objects allocated while
 * marking are black at birth. The hybrid barrier (HL_STORE) shades both
 * the overwritten pointer and the new one, so a stack scanned once (at
 * the start of the cycle, under stop-the-world) is never rescanned.
 *
 * Scanning reads memory mutators write concurrently (that is the point
 * of a concurrent collector): the scanners are excluded from the
 * sanitizers, and every word is read once, into a local, before it is
 * interpreted.
 */
#include "gc/internal.h"
#include "base/env.h"
#include "base/os.h"

#include <sched.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GC_NOSAN __attribute__((no_sanitize("address", "thread")))
#endif
#endif
#ifndef GC_NOSAN
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GC_NOSAN __attribute__((no_sanitize_address, no_sanitize_thread))
#else
#define GC_NOSAN
#endif
#endif

/* ------------------------------------------------ lock-free work lists */

/* Go's lfstack: the top 16 bits count pushes (ABA), the low 48 hold the
 * pointer (user addresses fit 48 bits on x86-64 and AArch64). */
#define LF_PTR_MASK (((uintptr_t)1 << 48) - 1)

static void lf_push(_Atomic uintptr_t *head, workbuf_t *b) {
  uintptr_t old = atomic_load_relaxed(head), nw;
  do {
    /* atomic: a concurrent lf_pop may read next of a b it saw earlier */
    __atomic_store_n(&b->next, (workbuf_t *)(old & LF_PTR_MASK),
                     __ATOMIC_RELAXED);
    nw = ((old & ~LF_PTR_MASK) + ((uintptr_t)1 << 48)) | (uintptr_t)b;
  } while (!atomic_cas_weak_acq_rel(head, &old, nw));
}

static workbuf_t *lf_pop(_Atomic uintptr_t *head) {
  uintptr_t old = atomic_load_acquire(head), nw;
  for (;;) {
    workbuf_t *b = (workbuf_t *)(old & LF_PTR_MASK);
    if (!b)
      return NULL;
    /* b stays mapped (workbufs are never freed): reading next is safe
     * even if b was popped meanwhile; the counter makes the CAS fail */
    workbuf_t *next = __atomic_load_n(&b->next, __ATOMIC_RELAXED);
    nw = ((old & ~LF_PTR_MASK) + ((uintptr_t)1 << 48)) | (uintptr_t)next;
    if (atomic_cas_weak_acq_rel(head, &old, nw))
      return b;
  }
}

static workbuf_t *getempty(void) {
  workbuf_t *b = lf_pop(&gc.empty);
  if (!b) {
    b = meta_alloc(sizeof(workbuf_t));
    if (!b)
      gc_out_of_memory(sizeof(workbuf_t));
  }
  b->nobj = 0;
  return b;
}

bool gc_work_available(void) {
  return (atomic_load_acquire(&gc.full) & LF_PTR_MASK) != 0;
}

void gcw_put(gcwork_t *w, uintptr_t obj) {
  workbuf_t *b = w->wbuf1;
  if (hl_unlikely(!b)) {
    w->wbuf1 = b = getempty();
    w->wbuf2 = getempty();
  }
  if (hl_unlikely(b->nobj == WORKBUF_N)) {
    w->wbuf1 = w->wbuf2;
    w->wbuf2 = b;
    b = w->wbuf1;
    if (b->nobj == WORKBUF_N) {
      lf_push(&gc.full, b);
      w->flushed = true;
      w->wbuf1 = b = getempty();
      /* an idle P can take it (Go's enlistWorker) */
      if (atomic_load_relaxed(&sched.npidle) > 0 &&
          !atomic_load_relaxed(&sched.gcwaiting) &&
          atomic_load_relaxed(&gc.phase) == GC_MARK)
        wakep();
    }
  }
  b->obj[b->nobj++] = obj;
}

uintptr_t gcw_get(gcwork_t *w) {
  workbuf_t *b = w->wbuf1;
  if (hl_unlikely(!b)) {
    w->wbuf1 = b = getempty();
    w->wbuf2 = getempty();
  }
  if (hl_unlikely(b->nobj == 0)) {
    w->wbuf1 = w->wbuf2;
    w->wbuf2 = b;
    b = w->wbuf1;
    if (b->nobj == 0) {
      workbuf_t *f = lf_pop(&gc.full);
      if (!f)
        return 0;
      lf_push(&gc.empty, b);
      w->wbuf1 = b = f;
    }
  }
  return b->obj[--b->nobj];
}

bool gcw_empty(gcwork_t *w) {
  return (!w->wbuf1 || w->wbuf1->nobj == 0) &&
         (!w->wbuf2 || w->wbuf2->nobj == 0);
}

void gcw_flush(gcwork_t *w) {
  workbuf_t *bs[2] = {w->wbuf1, w->wbuf2};
  for (int i = 0; i < 2; i++)
    if (bs[i] && bs[i]->nobj) {
      lf_push(&gc.full, bs[i]);
      w->flushed = true;
      if (i == 0)
        w->wbuf1 = getempty();
      else
        w->wbuf2 = getempty();
    }
  if (w->bytes_marked) {
    atomic_add_relaxed(&gc.bytes_marked, w->bytes_marked);
    w->bytes_marked = 0;
  }
  if (w->scan_work) {
    atomic_add_relaxed(&gc.scan_work, w->scan_work);
    w->scan_work = 0;
  }
}

/* ---------------------------------------------------------------- grey */

/* Allocated while marking in a span still cached by a P: black already,
 * its mark is set when the span leaves the cache (black_flush in heap.c).
 * A stale read at worst answers false: the object is queued and scanned
 * once more. */
static inline bool black_pending(mspan_t *s, uint32_t idx) {
  /* acquire: pairs with black_note's release (blackfrom) */
  if (atomic_load_acquire(&s->blackcycle) !=
      (uint32_t)atomic_load_relaxed(&gc.cycle))
    return false;
  if (idx < atomic_load_relaxed(&s->blackfrom) ||
      idx >= atomic_load_relaxed(&s->freeindex))
    return false;
  return !((s->allocBits[idx >> 3] >> (idx & 7)) & 1);
}

/* Marks the object and queues it (grey) unless it is noscan (black at
 * once). Mark bytes, not bits: a plain store of 1 needs no locked
 * instruction, and concurrent markers cannot lose each other's marks
 * (with bits and the black_pending check the mark benchmark did 1.00-1.03
 * GB/s per worker at depth 18, with bytes 1.17-1.20). Two markers that
 * race on the same unmarked object may both queue it and count its bytes:
 * it is scanned twice — harmless, and rare (Go's greyobject accepts the
 * same). */
static inline void grey(gcwork_t *w, uintptr_t obj, mspan_t *s, uint32_t idx) {
  uint8_t *m = &s->gcmarks[idx];
  if (__atomic_load_n(m, __ATOMIC_RELAXED))
    return;
  if (black_pending(s, idx))
    return;
  __atomic_store_n(m, 1, __ATOMIC_RELAXED);
  w->bytes_marked += s->sizeclass ? s->elemsize
                                  : (uint64_t)s->npages * PAGE_SIZE;
  if (s->spanclass & 1)
    return; /* noscan: black at once */
  gcw_put(w, obj);
}

void shade(gcwork_t *w, uintptr_t p) {
  mspan_t *s;
  uint32_t idx;
  uintptr_t obj = gc_find_object(p, &s, &idx);
  if (obj)
    grey(w, obj, s, idx);
}

/* shade for a word of a typed (precise) slot */
static inline void shade_precise(gcwork_t *w, uintptr_t p) {
  mspan_t *s;
  uint32_t idx;
  uintptr_t obj = gc_find_object_(p, &s, &idx, true);
  if (obj)
    grey(w, obj, s, idx);
}

/* Conservative scan of [b, b + n): every aligned word that points into an
 * allocated collected object keeps it alive. */
GC_NOSAN void scanblock(gcwork_t *w, uintptr_t b, size_t n) {
  uintptr_t *p = (uintptr_t *)((b + 7) & ~(uintptr_t)7);
  uintptr_t *end = (uintptr_t *)((b + n) & ~(uintptr_t)7);
  for (; p < end; p++) {
    uintptr_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
    if (v >= 4096 && arena_of(v))
      shade(w, v);
  }
}

/* Scans the object (or oblet) at b using the heap bitmap. */
GC_NOSAN void scanobject(gcwork_t *w, uintptr_t b) {
  mspan_t *s = span_of(b);
  uintptr_t end;
  if (s->sizeclass == 0) {
    uintptr_t objend = s->base + s->gcsize;
    if (s->gcsize > OBLET_BYTES) {
      if (b == s->base)
        /* split into oblets: queue all but the first (Go's) */
        for (uintptr_t o = b + OBLET_BYTES; o < objend; o += OBLET_BYTES)
          gcw_put(w, o);
      end = b + OBLET_BYTES < objend ? b + OBLET_BYTES : objend;
    } else {
      end = objend;
    }
  } else {
    end = b + s->elemsize;
  }
  const uint64_t *hb = heapbits_arena(b);
  uintptr_t abase = b & ~(uintptr_t)(ARENA_SIZE - 1);
  size_t w0 = (b - abase) / 8, w1 = (end - abase + 7) / 8;
  w->scan_work += (int64_t)(end - b);
  for (size_t i = w0; i < w1;) {
    uint64_t bits = __atomic_load_n(&hb[i >> 6], __ATOMIC_RELAXED) >> (i & 63);
    size_t span = 64 - (i & 63);
    if (span > w1 - i) {
      span = w1 - i;
      bits &= ((uint64_t)1 << span) - 1;
    }
    while (bits) {
      unsigned k = (unsigned)__builtin_ctzll(bits);
      bits &= bits - 1;
      uintptr_t v = __atomic_load_n((uintptr_t *)(abase + (i + k) * 8),
                                    __ATOMIC_RELAXED);
      if (v >= 4096)
        shade_precise(w, v);
    }
    i += span;
  }
}

/* Another P's mark worker found nothing to do (worker_hook) while this
 * one drains: hand it half of what is queued here. A depth-first mark of
 * a tree keeps a few dozen grey objects, never a full buffer, so the
 * full-buffer sharing above never happens on it and one assist or worker
 * marked a whole tree while the other P's worker had nothing (seen in
 * traces of binary-trees: a single 11 ms assist, MMU(10 ms) 0.5). Go
 * balances whenever the global list is empty; asking first keeps a lone
 * marker's buffers local (no lock-free list traffic). Only objects that
 * are themselves grey move: nothing is lost, and the prefetch FIFO keeps
 * its own. */
static void gcw_share(gcwork_t *w) {
  atomic_store_relaxed(&gc.work_wanted, 0);
  if (gc_work_available())
    return;
  workbuf_t *b = w->wbuf2 && w->wbuf2->nobj > 0 ? w->wbuf2 : w->wbuf1;
  if (!b || b->nobj < 2)
    return;
  workbuf_t *h = getempty();
  /* the oldest half: in a depth-first mark those are the subtrees
   * furthest from the current path, the largest pieces of work */
  uint32_t n = b->nobj / 2;
  memcpy(h->obj, b->obj, n * sizeof b->obj[0]);
  memmove(b->obj, b->obj + n, (b->nobj - n) * sizeof b->obj[0]);
  h->nobj = n;
  b->nobj -= n;
  lf_push(&gc.full, h);
  w->flushed = true;
}

/* 16 (was 8): HLMAXPROCS=1 bench_gc --benchmark_filter=mark, 3
 * repetitions each, 2026-11-23: depth 18 1.30 -> 1.38 GB/s per worker,
 * depth 20 1.22 -> 1.32; 32 gave 1.43 and 1.27 */
#define GC_PREFETCH_N 16

int64_t gc_drain(gcwork_t *w, int64_t budget, bool (*should_stop)(void *),
                 void *arg, void (*credit)(int64_t)) {
  int64_t done0 = w->scan_work, credited = done0;
  int n = 0;
  /* Prefetch FIFO (Boehm's mark stack prefetching; Cher, Hosking and
   * Vijaykumar, ASPLOS 2004): objects taken from the work buffers wait
   * here for GC_PREFETCH_N scans while their first line is fetched, so
   * the misses of a pointer-chasing mark overlap. */
  uintptr_t fifo[GC_PREFETCH_N];
  unsigned fhead = 0, fn = 0;
  for (;;) {
    if ((++n & 15) == 0) {
      if (should_stop && should_stop(arg))
        break;
      if (budget >= 0 && w->scan_work - done0 >= budget)
        break;
      if (credit && w->scan_work - credited >= GC_CREDIT_SLACK) {
        /* pay parked assists as the work is done, not when the worker
         * stops (Go's gcFlushBgCredit every gcCreditSlack): a goroutine
         * waiting for credit otherwise waits for the whole mark */
        credit(w->scan_work - credited);
        credited = w->scan_work;
      }
      if (w->wbuf2 && w->wbuf2->nobj == WORKBUF_N && !gc_work_available()) {
        /* others may be idle: share a full buffer (Go's balance) */
        lf_push(&gc.full, w->wbuf2);
        w->wbuf2 = getempty();
      } else if (atomic_load_relaxed(&gc.work_wanted))
        gcw_share(w);
    }
    while (fn < GC_PREFETCH_N) {
      uintptr_t b = gcw_get(w);
      if (!b)
        break;
      __builtin_prefetch((const void *)b);
      fifo[(fhead + fn++) % GC_PREFETCH_N] = b;
    }
    if (fn == 0)
      break;
    uintptr_t b = fifo[fhead];
    fhead = (fhead + 1) % GC_PREFETCH_N;
    fn--;
    scanobject(w, b);
  }
  /* stopped early: the objects still waiting go back (they are grey) */
  for (; fn > 0; fn--, fhead = (fhead + 1) % GC_PREFETCH_N)
    gcw_put(w, fifo[fhead]);
  int64_t done = w->scan_work - done0;
  if (credit && w->scan_work > credited)
    credit(w->scan_work - credited);
  gcw_flush(w);
  if (w->flushed) {
    /* work on the global list: an idle P can mark it (Go's enlistWorker) */
    w->flushed = false;
    if (atomic_load_relaxed(&sched.npidle) > 0 &&
        !atomic_load_relaxed(&sched.gcwaiting))
      wakep();
  }
  return done;
}

/* ------------------------------------------------------- write barrier */

void wbbuf_flush(gcache_t *c) {
  uint32_t n = c->wbn;
  c->wbn = 0;
  for (uint32_t i = 0; i < n; i++)
    shade(&c->gcw, c->wbbuf[i]);
}

static inline void wbbuf_put(gcache_t *c, uintptr_t p) {
  if (p < 4096 || !arena_of(p))
    return;
  c->wbbuf[c->wbn++] = p;
  if (hl_unlikely(c->wbn == WBBUF_N))
    wbbuf_flush(c);
}

/* The barrier's entry: on a goroutine, holding its P in a critical
 * section (the world cannot stop, so the flag cannot change under us). */
static m_t *wb_enter(void) {
  m_t *mp = tls_m;
  if (hl_unlikely(!mp || !mp->curg))
    hl_misuse("HL_STORE: called outside a goroutine (the collected heap "
              "is used from goroutines under hl_main)");
  return rt_enter(mp->curg);
}

/* Shades old and val while the collector marks. */
static inline void wb_shade2(m_t *mp, void *old, void *val) {
  if (__atomic_load_n(&hl_gc_wb_enabled, __ATOMIC_RELAXED)) {
    gcache_t *c = mp->p->gc;
    wbbuf_put(c, (uintptr_t)old);
    wbbuf_put(c, (uintptr_t)val);
  }
}

HL_API void hl_gc_wb_slow(void **slot, void *val) {
  m_t *mp = wb_enter();
  wb_shade2(mp, __atomic_load_n(slot, __ATOMIC_RELAXED), val);
  __atomic_store_n(slot, val, __ATOMIC_RELAXED);
  m_unlock(mp);
}

HL_API void hl_gc_wb_late(void *old, void *val) {
  m_t *mp = wb_enter();
  wb_shade2(mp, old, val);
  m_unlock(mp);
}

static void *wb_bulk(void *dst, const void *src, size_t n, bool move) {
  if (hl_likely(!__atomic_load_n(&hl_gc_wb_enabled, __ATOMIC_RELAXED)) || n < 8) {
    return move ? memmove(dst, src, n) : memcpy(dst, src, n);
  }
  m_t *mp = tls_m;
  if (!mp || !mp->curg)
    hl_misuse("hl_wb_memmove: called outside a goroutine");
  mp = rt_enter(mp->curg);
  if (__atomic_load_n(&hl_gc_wb_enabled, __ATOMIC_RELAXED)) {
    gcache_t *c = mp->p->gc;
    const uintptr_t *d = (const uintptr_t *)(((uintptr_t)dst + 7) & ~(uintptr_t)7);
    const uintptr_t *de = (const uintptr_t *)(((uintptr_t)dst + n) & ~(uintptr_t)7);
    for (; d < de; d++)
      wbbuf_put(c, __atomic_load_n(d, __ATOMIC_RELAXED));
    const uintptr_t *s = (const uintptr_t *)(((uintptr_t)src + 7) & ~(uintptr_t)7);
    const uintptr_t *se = (const uintptr_t *)(((uintptr_t)src + n) & ~(uintptr_t)7);
    for (; s < se; s++)
      wbbuf_put(c, __atomic_load_n(s, __ATOMIC_RELAXED));
  }
  void *r = move ? memmove(dst, src, n) : memcpy(dst, src, n);
  m_unlock(mp);
  return r;
}

HL_API void *hl_wb_memmove(void *dst, const void *src, size_t n) {
  return wb_bulk(dst, src, n, true);
}
HL_API void *hl_wb_memcpy(void *dst, const void *src, size_t n) {
  return wb_bulk(dst, src, n, false);
}

/* Channel element copies while marking: the value moves between a stack
 * that may be scanned already and a buffer that may be scanned already,
 * so it is shaded (Go's typedmemmove barrier). Runs in the channel's
 * critical section (on a P). */
GC_NOSAN void gc_shade_words(const void *p, size_t n) {
  m_t *mp = tls_m;
  if (!mp || !__atomic_load_n(&hl_gc_wb_enabled, __ATOMIC_RELAXED))
    return;
  /* the channel took its lock on a P (chan_lock_onp): without one the
   * value would go unshaded, and could be swept while held */
  if (hl_unlikely(!mp->p))
    hl_throw("gc: a channel copy while marking, without a P");
  gcache_t *c = mp->p->gc;
  const uintptr_t *w = (const uintptr_t *)(((uintptr_t)p + 7) & ~(uintptr_t)7);
  const uintptr_t *e = (const uintptr_t *)(((uintptr_t)p + n) & ~(uintptr_t)7);
  for (; w < e; w++)
    wbbuf_put(c, __atomic_load_n(w, __ATOMIC_RELAXED));
}

/* ---------------------------------------------------------------- roots */

/* The stack pointer of the caller's frame. */
static inline uintptr_t current_sp(void) {
  uintptr_t sp;
#if defined(__x86_64__)
  __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
  __asm__ volatile("mov %0, sp" : "=r"(sp));
#else
  sp = (uintptr_t)__builtin_frame_address(0);
#endif
  return sp;
}

/* What a stack walk reports: each live stack range, and the registers of
 * goroutines suspended while running (the marker and checkmark differ only
 * in what they do with a word). */
typedef struct stackwalk {
  void (*range)(uintptr_t lo, size_t n, void *arg);
  void (*word)(uintptr_t v, void *arg);
  void *arg;
} stackwalk_t;

/* A G running without a P, suspended by signal: its registers, then its
 * stack from the interrupted stack pointer less the x86-64 red zone. Runs
 * while sched_suspend_g holds the thread: once the thread goes on, a
 * pointer read from the stack here could already have moved back into a
 * register (a callee-saved register restored on return) and its slot been
 * overwritten by the next call, and the registers were read at the
 * suspension. */
struct suspended {
  stackwalk_t *sw;
  g_t *gp;
};
static GC_NOSAN void walk_suspended(uintptr_t isp, const uintptr_t *regs,
                                    int nregs, void *arg) {
  struct suspended *su = arg;
  stackwalk_t *sw = su->sw;
  for (int i = 0; i < nregs; i++)
    sw->word(regs[i], sw->arg);
  uintptr_t sp = isp - 128; /* red zone */
  if (sp < su->gp->stack.lo)
    sp = su->gp->stack.lo;
  sw->range(sp, su->gp->stack.hi - sp, sw->arg);
}

/*
 * Every goroutine's stack (the world is stopped: no G runs with a P).
 * Our own stack from this frame up, callee-saved registers spilled into
 * it first (nothing below our stack pointer is live); parked and runnable
 * Gs from their saved stack pointer (the context switch pushed their
 * callee-saved registers there), and the argument of those not started
 * yet (hl_go's arg: in the G until goentry runs); Gs running C code
 * without a P (a preempted hog, a syscall) suspended by signal, with
 * their registers and the x86-64 red zone below the interrupted stack
 * pointer.
 */
static HL_NOINLINE GC_NOSAN void walk_stacks(stackwalk_t *sw) {
  __builtin_unwind_init();
  g_t *self = getm()->curg;
  for (g_t *gp = __atomic_load_n(&sched.allgs, __ATOMIC_ACQUIRE); gp;
       gp = gp->alllink) {
    if (gp == self) {
      uintptr_t lo = current_sp();
      if (lo < gp->stack.lo || lo >= gp->stack.hi)
        hl_throw("gc: scanning our own stack from outside it");
      sw->range(lo, gp->stack.hi - lo, sw->arg);
      continue;
    }
    for (int tries = 0;; tries++) {
      uint32_t st = atomic_load_acquire(&gp->status);
      if (st == G_DEAD || st == G_IDLE)
        break;
      if (st == G_RUNNABLE || st == G_WAITING) {
        uintptr_t sp = (uintptr_t)gp->sp;
        if (sp >= gp->stack.lo && sp < gp->stack.hi)
          sw->range(sp, gp->stack.hi - sp, sw->arg);
        else if (gp->stack.kind != STACK_NONE)
          sw->range(gp->stack.lo, gp->stack.hi - gp->stack.lo, sw->arg);
        /* a G that has not started yet holds its argument in the G, not
         * on its stack (goentry clears it once it has started) */
        sw->word((uintptr_t)gp->arg, sw->arg);
        break;
      }
      m_t *mp = gp->m; /* RUNNING or SYSCALL on a thread without P */
      struct suspended su = {sw, gp};
      if (mp && sched_suspend_g(gp, mp, walk_suspended, &su))
        break;
      if (tries > 100000)
        hl_throwf("gc: cannot scan the stack of goroutine %ld (status %u)",
                  (long)gp->goid, st);
      sched_yield();
    }
  }
}

/*
 * Stack snapshots. Scanning a stack in the first pause cost 30-100 µs on
 * binary-trees (about 10 KB of stacks: every word a conservative lookup,
 * most of them cache misses on another CPU's lines), most of the pause.
 * Copying the same words costs a few µs, and scanning the copy later is
 * the same marking: the roots are the stacks' contents at the pause
 * (nothing is freed while marking, every later store goes through the
 * barrier, and the goroutines are black from the pause on). So the pause
 * copies each live stack range into the snapshot buffer, and the
 * concurrent root scan (gc_scan_stack_snapshot, before roots_pending is
 * cleared, so the mark cannot end first) scans the copy. Stacks beyond
 * the buffer (SNAP_MAX_BYTES; a program with very many goroutines) are
 * scanned in the pause, as before.
 */
#define SNAP_MAX_BYTES ((size_t)8 << 20)
static uintptr_t *snap;          /* os_map'd, SNAP_MAX_BYTES reserved */
static size_t snap_len;          /* words copied this cycle */

static GC_NOSAN void snap_range(uintptr_t lo, size_t n, void *arg) {
  uintptr_t b = (lo + 7) & ~(uintptr_t)7, e = (lo + n) & ~(uintptr_t)7;
  size_t words = e > b ? (e - b) / 8 : 0;
  if (snap && snap_len + words <= SNAP_MAX_BYTES / 8) {
    /* the sanitizers exclude this function: the words are read as the
     * marker reads them (racy for the ones a suspended hog may hold) */
    const uintptr_t *src = (const uintptr_t *)b;
    for (size_t i = 0; i < words; i++)
      snap[snap_len + i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    snap_len += words;
    return;
  }
  scanblock(arg, lo, n); /* over the buffer: now, in the pause */
}

static void mark_word(uintptr_t v, void *arg) {
  if (v >= 4096 && arena_of(v))
    shade(arg, v);
}

/* Before the pause: the buffer's reservation (pages are committed as
 * they are touched; the first cycles take their faults). Without it
 * (no memory) stacks are scanned in the pause. */
void gc_snapshot_prepare(void) {
  if (!snap)
    snap = os_map(SNAP_MAX_BYTES, 0);
}

void gc_scan_stacks(gcwork_t *w) {
  snap_len = 0;
  stackwalk_t sw = {snap_range, mark_word, w};
  walk_stacks(&sw);
}

void gc_scan_stack_snapshot(gcwork_t *w) {
  if (snap_len)
    scanblock(w, (uintptr_t)snap, snap_len * 8);
  snap_len = 0;
}

/* Registered roots (hl_gc_add_root). */
typedef struct root {
  uintptr_t base;
  size_t size;
  struct root *next;
} root_t;
static hl_lock_t roots_lock;
static root_t *roots;

HL_API void hl_gc_add_root(void *addr, size_t size) {
  root_t *r = hl_malloc(sizeof *r);
  if (!r)
    hl_throw("out of memory: hl_gc_add_root");
  r->base = (uintptr_t)addr;
  r->size = size;
  hl_lock(&roots_lock);
  r->next = roots;
  roots = r;
  hl_unlock(&roots_lock);
}

HL_API void hl_gc_remove_root(void *addr) {
  hl_lock(&roots_lock);
  for (root_t **pp = &roots; *pp; pp = &(*pp)->next)
    if ((*pp)->base == (uintptr_t)addr) {
      root_t *r = *pp;
      *pp = r->next;
      hl_unlock(&roots_lock);
      hl_free(r);
      return;
    }
  hl_unlock(&roots_lock);
  hl_misuse("hl_gc_remove_root(%p): no root registered at that address",
            addr);
}

void gc_scan_globals(gcwork_t *w) {
  hl_lock(&roots_lock);
  for (root_t *r = roots; r; r = r->next)
    scanblock(w, r->base, r->size);
  hl_unlock(&roots_lock);
}

static void scan_chan_buf(const void *p, size_t n, void *arg) {
  scanblock(arg, (uintptr_t)p, n);
}

void gc_scan_runtime(gcwork_t *w) {
  chan_scan_buffers(scan_chan_buf, w);
  gc_specials_scan(w);
  gc_finq_scan(w);
}

/* ------------------------------------------------------------ checkmark */

/*
 * HLDEBUG=gccheckmark=1 (Go's checkmark mode): after the concurrent mark,
 * with the world stopped, marks everything reachable again from scratch
 * into a separate bitmap and verifies that each object found was marked
 * by the concurrent mark; if not, a pointer store bypassed the barrier
 * (or the collector has a bug): the object and its span are named.
 */
static uint8_t **ck_bits; /* per registry slot: a checkmark bitmap */
static uint32_t ck_len;

static bool ck_mark(mspan_t *s, uint32_t idx) {
  uint8_t *b = ck_bits[s->gcidx];
  if (!b) {
    b = hl_calloc(1, GCBITS_BYTES);
    if (!b)
      hl_throw("checkmark: out of memory");
    ck_bits[s->gcidx] = b;
  }
  if (b[idx >> 3] & (1u << (idx & 7)))
    return false;
  b[idx >> 3] |= (uint8_t)(1u << (idx & 7));
  return true;
}

static uintptr_t *ck_stack;
static size_t ck_n, ck_cap;

/* A word on a goroutine stack may be stale: a slot of a frame that was
 * never written since an older frame left a pointer there, and that
 * pointer may name an object that was already garbage when the cycle
 * began (the concurrent mark rightly left it white). Stacks are scanned
 * conservatively, so such a word cannot be told from a live one: an
 * unmarked object found directly from a stack is neither reported nor
 * followed. Everything found through a heap object, a registered root or
 * a channel buffer must be marked. */
static bool ck_from_stack;

static GC_NOSAN void ck_shade(uintptr_t p, uintptr_t from) {
  mspan_t *s;
  uint32_t idx;
  uintptr_t obj = gc_find_object(p, &s, &idx);
  if (!obj)
    return;
  bool marked = __atomic_load_n(&s->gcmarks[idx], __ATOMIC_RELAXED) != 0;
  if (ck_from_stack && !marked)
    return;
  if (!ck_mark(s, idx))
    return;
  if (!marked)
    hl_throwf("checkmark: reachable object %p (found through %p, from "
              "%p) was not marked by the concurrent mark: span %p [%p, %p) "
              "class %d size %u%s. A pointer store that bypassed HL_STORE?",
              (void *)obj, (void *)p, (void *)from, (void *)s,
              (void *)s->base, (void *)(s->base + s->npages * PAGE_SIZE),
              s->sizeclass, s->sizeclass ? s->elemsize : (unsigned)s->gcsize,
              (s->spanclass & 1) ? " noscan" : "");
  if (s->spanclass & 1)
    return;
  if (ck_n == ck_cap) {
    ck_cap = ck_cap ? ck_cap * 2 : 4096;
    ck_stack = hl_realloc(ck_stack, ck_cap * sizeof *ck_stack);
    if (!ck_stack)
      hl_throw("checkmark: out of memory");
  }
  ck_stack[ck_n++] = obj;
}

static GC_NOSAN void ck_block(uintptr_t b, size_t n, uintptr_t from) {
  uintptr_t *p = (uintptr_t *)((b + 7) & ~(uintptr_t)7);
  uintptr_t *end = (uintptr_t *)((b + n) & ~(uintptr_t)7);
  for (; p < end; p++) {
    uintptr_t v = *p;
    if (v >= 4096 && arena_of(v))
      ck_shade(v, from);
  }
}

static void ck_range(uintptr_t lo, size_t n, void *arg) {
  (void)arg;
  ck_block(lo, n, 0);
}

static void ck_word(uintptr_t v, void *arg) {
  (void)arg;
  if (v >= 4096 && arena_of(v))
    ck_shade(v, 0);
}

static void ck_chan(const void *p, size_t n, void *arg) {
  (void)arg;
  ck_block((uintptr_t)p, n, 0);
}

GC_NOSAN void gc_checkmark(void) {
  ck_len = gc_registry_len();
  ck_bits = hl_calloc(ck_len + 1, sizeof *ck_bits);
  if (!ck_bits)
    hl_throw("checkmark: out of memory");
  ck_n = 0;
  ck_from_stack = true;
  /* roots: the same as the concurrent mark's */
  stackwalk_t sw = {ck_range, ck_word, NULL};
  walk_stacks(&sw);
  ck_from_stack = false;
  hl_lock(&roots_lock);
  for (root_t *r = roots; r; r = r->next)
    ck_block(r->base, r->size, 0);
  hl_unlock(&roots_lock);
  chan_scan_buffers(ck_chan, NULL);
  /* the runtime's own roots: scanned into a throwaway gcWork, then
   * re-checked (they are roots of the concurrent mark too) */
  while (ck_n > 0) {
    uintptr_t b = ck_stack[--ck_n];
    mspan_t *s = span_of(b);
    size_t size = s->sizeclass ? s->elemsize : s->gcsize;
    const uint64_t *hb = heapbits_arena(b);
    uintptr_t abase = b & ~(uintptr_t)(ARENA_SIZE - 1);
    for (size_t i = (b - abase) / 8; i < (b - abase + size + 7) / 8; i++)
      if ((hb[i >> 6] >> (i & 63)) & 1) {
        uintptr_t v = *(uintptr_t *)(abase + i * 8);
        if (v >= 4096 && arena_of(v))
          ck_shade(v, b);
      }
  }
  for (uint32_t i = 0; i <= ck_len; i++)
    hl_free(ck_bits[i]);
  hl_free(ck_bits);
  ck_bits = NULL;
}
