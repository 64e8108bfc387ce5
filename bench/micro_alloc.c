/*
 * bench/micro_alloc.c — micro benchmarks of heaplab's manual allocator
 * (include/heaplab/alloc.h), each run side by side with the process's
 * malloc (label "libc"). Executable: bench_alloc; see docs/benchmarks.md.
 *
 * "libc" means whatever malloc/free/realloc resolve to in this process:
 * glibc normally, another allocator under LD_PRELOAD (the report's context
 * line malloc_preload shows LD_PRELOAD). Under LD_PRELOAD of heaplab's own
 * malloc shim both columns measure heaplab.
 *
 * Benchmarks (name/allocator/arguments); one item = one malloc+free pair
 * unless stated; every run reports items_per_second and time_per_item:
 *   malloc_free/A/size:S     hl_malloc(S) + hl_free, S = every size class
 *                            (hl_heap_stats classes[1..nclasses-1]); the
 *                            fast path of the thread cache.
 *   batch/A/count:N/size:S   N allocations, then N frees in allocation
 *                            order (pointers kept in an array).
 *   large/A/size:S/touch:T   one allocation of S > 32 KiB and its free;
 *                            with touch:1 one byte per 4 KiB page is
 *                            written, so page faults after memory was
 *                            returned to the OS are counted too.
 *   realloc_step/A/size:S    grow one block from 64 B to S by +64 B
 *                            reallocs, writing the last byte each time;
 *                            one item = one realloc.
 *   realloc_double/A/size:S  the same, doubling from 16 B.
 *   remote_free/A/size:S/batch:B/real_time/threads:2
 *                            thread 0 allocates batches of B objects and
 *                            passes each batch through a lock-free SPSC
 *                            ring to thread 1, which frees them (frees
 *                            from a thread other than the owner's).
 *                            time_per_item is the pipeline's time per
 *                            object (the slower side's cost, not the sum
 *                            of both). Google Benchmark's Time column
 *                            divides by the iterations of both threads
 *                            (half a batch's time): read time_per_item.
 *
 * Design choices
 * - Each body is an always_inline function of the allocator (a constant),
 *   instantiated once per allocator: both columns call malloc directly, with
 *   no indirect call through a table of function pointers.
 * - remote_free uses Google Benchmark's threads (Threads(2), real time),
 *   not a private pthread: both threads run the same iteration count, both
 *   are timed between the framework's start and stop barriers, so every
 *   free is inside the measured interval; the reported real time is the
 *   mean of the two threads, which differ by at most one ring of batches
 *   (the producer may finish up to RING_SLOTS batches early). Rejected: a
 *   pthread consumer outside the framework — its frees after the loop end
 *   would fall outside the timing, and its CPU time would not be reported.
 */
#include "bench/gbench.h"

#include "base/atomic.h"
#include "heaplab/alloc.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef HL_BENCH_COMMIT
#define HL_BENCH_COMMIT "unknown"
#endif
#ifndef HL_BENCH_BUILD_TYPE
#define HL_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef HL_DEBUG
#define HL_DEBUG 0
#endif
#ifndef HL_BENCH_SANITIZE
#define HL_BENCH_SANITIZE ""
#endif

#define BENCH_INLINE static inline __attribute__((always_inline))

/* ---- the two allocators ------------------------------------------------ */

enum { ALLOC_HEAPLAB, ALLOC_LIBC };

static const char *const alloc_label[] = {"heaplab", "libc"};

BENCH_INLINE void *xmalloc(int a, size_t n) {
  return a == ALLOC_HEAPLAB ? hl_malloc(n) : malloc(n);
}

BENCH_INLINE void xfree(int a, void *p) {
  if (a == ALLOC_HEAPLAB)
    hl_free(p);
  else
    free(p);
}

BENCH_INLINE void *xrealloc(int a, void *p, size_t n) {
  return a == ALLOC_HEAPLAB ? hl_realloc(p, n) : realloc(p, n);
}

/* After the loop: label, items_per_second, and time_per_item (seconds per
 * item, printed as e.g. "9.8ns"). */
static void report(hl_bench_state_t *st, int a, int64_t items) {
  hl_bench_set_label(st, alloc_label[a]);
  if (items <= 0) return;
  hl_bench_set_items_processed(st, items);
  hl_bench_counter(st, "time_per_item", (double)items,
                   HL_BENCH_COUNTER_RATE | HL_BENCH_COUNTER_INVERT);
}

/* ---- malloc_free: one pair per iteration ------------------------------- */

BENCH_INLINE void bm_malloc_free(hl_bench_state_t *st, int a) {
  size_t size = (size_t)hl_bench_range_arg(st, 0);
  while (hl_bench_keep_running(st)) {
    void *p = xmalloc(a, size);
    if (p == NULL) {
      hl_bench_skip_with_error(st, "malloc returned NULL");
      return;
    }
    hl_bench_do_not_optimize(p);
    xfree(a, p);
  }
  report(st, a, hl_bench_iterations(st));
}

/* ---- batch: N mallocs, then N frees ------------------------------------ */

BENCH_INLINE void bm_batch(hl_bench_state_t *st, int a) {
  size_t count = (size_t)hl_bench_range_arg(st, 0);
  size_t size = (size_t)hl_bench_range_arg(st, 1);
  /* The pointer array comes from libc in both columns, outside the loop. */
  void **v = malloc(count * sizeof *v);
  if (v == NULL) {
    hl_bench_skip_with_error(st, "no memory for the pointer array");
    return;
  }
  while (hl_bench_keep_running(st)) {
    for (size_t i = 0; i < count; i++) {
      v[i] = xmalloc(a, size);
      if (v[i] == NULL) {
        for (size_t j = 0; j < i; j++)
          xfree(a, v[j]);
        free(v);
        hl_bench_skip_with_error(st, "malloc returned NULL");
        return;
      }
    }
    hl_bench_do_not_optimize(v);
    for (size_t i = 0; i < count; i++)
      xfree(a, v[i]);
  }
  free(v);
  report(st, a, hl_bench_iterations(st) * (int64_t)count);
}

/* ---- large: one big block per iteration -------------------------------- */

BENCH_INLINE void bm_large(hl_bench_state_t *st, int a) {
  size_t size = (size_t)hl_bench_range_arg(st, 0);
  int touch = (int)hl_bench_range_arg(st, 1);
  while (hl_bench_keep_running(st)) {
    char *p = xmalloc(a, size);
    if (p == NULL) {
      hl_bench_skip_with_error(st, "malloc returned NULL");
      return;
    }
    if (touch) {
      for (size_t off = 0; off < size; off += 4096)
        p[off] = 1;
    }
    hl_bench_do_not_optimize(p);
    xfree(a, p);
  }
  report(st, a, hl_bench_iterations(st));
}

/* ---- realloc growth ---------------------------------------------------- */

/* Grows one block from `from` to `to`, by +step bytes (step > 0) or by
 * doubling (step == 0); returns the number of realloc calls or -1. */
BENCH_INLINE int64_t grow(int a, size_t from, size_t to, size_t step) {
  int64_t calls = 0;
  char *p = xmalloc(a, from);
  if (p == NULL) return -1;
  p[from - 1] = 1;
  for (size_t n = from; n < to;) {
    n = step ? n + step : n * 2;
    if (n > to) n = to;
    char *q = xrealloc(a, p, n);
    if (q == NULL) {
      xfree(a, p);
      return -1;
    }
    p = q;
    p[n - 1] = 1;
    calls++;
  }
  hl_bench_do_not_optimize(p);
  xfree(a, p);
  return calls;
}

BENCH_INLINE void bm_realloc(hl_bench_state_t *st, int a, size_t from,
                             size_t step) {
  size_t to = (size_t)hl_bench_range_arg(st, 0);
  int64_t calls = 0;
  while (hl_bench_keep_running(st)) {
    int64_t c = grow(a, from, to, step);
    if (c < 0) {
      hl_bench_skip_with_error(st, "realloc returned NULL");
      return;
    }
    calls += c;
  }
  report(st, a, calls);
}

/* ---- remote_free: SPSC ring of batches between two threads ------------- */

#define RING_SLOTS 64 /* power of two */
#define RING_BATCH_MAX 256
#define SPIN_BEFORE_YIELD 256

/* Lock-free single-producer single-consumer ring of batches.
 *
 * Invariants: head <= tail <= head + RING_SLOTS; the slots with index
 * i % RING_SLOTS for head <= i < tail hold full batches owned by the
 * consumer, all other slots belong to the producer.
 * Protocol:
 *  1. The producer waits for tail - head < RING_SLOTS (acquire load of
 *     head, partner of the consumer's release in step 4: the consumer's
 *     reads of the slot happen before the producer overwrites it).
 *  2. It fills slot tail % RING_SLOTS with B fresh objects.
 *  3. It publishes with a release store of tail + 1 (partner of the
 *     consumer's acquire load of tail: the pointers are visible).
 *  4. The consumer waits for head < tail, frees the B objects of slot
 *     head % RING_SLOTS and release-stores head + 1.
 * head and tail are reset by thread 0 before its loop; Google Benchmark's
 * start barrier orders that before thread 1's first access. `failed` lets
 * one side stop the other (relaxed: it only ends a wait). */
typedef struct ring {
  _Alignas(64) _Atomic uint64_t head; /* written by the consumer only */
  _Alignas(64) _Atomic uint64_t tail; /* written by the producer only */
  _Alignas(64) _Atomic int failed;
  _Alignas(64) void *slot[RING_SLOTS][RING_BATCH_MAX];
} ring_t;

static ring_t g_ring;

/* Waits (spinning, then yielding) until *p != v; returns the new value,
 * or v if the ring failed. Acquire: see the protocol's partners. */
static uint64_t ring_wait_change(_Atomic uint64_t *p, uint64_t v) {
  for (unsigned spins = 0;; spins++) {
    uint64_t now = atomic_load_acquire(p);
    if (now != v || atomic_load_relaxed(&g_ring.failed)) return now;
    if (spins < SPIN_BEFORE_YIELD)
      cpu_relax();
    else
      sched_yield();
  }
}

BENCH_INLINE void remote_produce(hl_bench_state_t *st, int a, size_t size,
                                 int batch) {
  ring_t *r = &g_ring;
  /* Local copies start at the values thread 0 stored before the start
   * barrier; the ring's fields are read only inside the loop. */
  uint64_t tail = 0, head = 0;
  while (hl_bench_keep_running(st)) {
    while (tail - head == RING_SLOTS) {
      head = ring_wait_change(&r->head, head);
      if (atomic_load_relaxed(&r->failed)) {
        hl_bench_skip_with_error(st, "the consumer failed");
        return;
      }
    }
    void **s = r->slot[tail % RING_SLOTS];
    for (int i = 0; i < batch; i++) {
      s[i] = xmalloc(a, size);
      if (s[i] == NULL) {
        for (int j = 0; j < i; j++)
          xfree(a, s[j]);
        atomic_store_relaxed(&r->failed, 1);
        hl_bench_skip_with_error(st, "malloc returned NULL");
        return;
      }
    }
    tail++;
    /* release: partner of the consumer's acquire load of tail (step 3) */
    atomic_store_release(&r->tail, tail);
  }
  report(st, a, hl_bench_iterations(st) * batch);
}

BENCH_INLINE void remote_consume(hl_bench_state_t *st, int a, int batch) {
  ring_t *r = &g_ring;
  /* No access to the ring before the loop: thread 0 may not have reset
   * it yet (its reset is ordered before our first iteration by the start
   * barrier, not before this point). */
  uint64_t head = 0, tail = 0;
  while (hl_bench_keep_running(st)) {
    while (head == tail) {
      tail = ring_wait_change(&r->tail, tail);
      if (atomic_load_relaxed(&r->failed)) {
        hl_bench_skip_with_error(st, "the producer failed");
        return;
      }
    }
    void **s = r->slot[head % RING_SLOTS];
    for (int i = 0; i < batch; i++)
      xfree(a, s[i]);
    head++;
    /* release: partner of the producer's acquire load of head (step 1) */
    atomic_store_release(&r->head, head);
  }
}

BENCH_INLINE void bm_remote_free(hl_bench_state_t *st, int a) {
  size_t size = (size_t)hl_bench_range_arg(st, 0);
  int batch = (int)hl_bench_range_arg(st, 1);
  if (hl_bench_threads_count(st) != 2) {
    hl_bench_skip_with_error(st, "remote_free needs exactly 2 threads");
    return;
  }
  if (batch < 1 || batch > RING_BATCH_MAX) {
    hl_bench_skip_with_error(st, "remote_free batch out of 1..256");
    return;
  }
  if (hl_bench_thread_index(st) == 0) {
    /* Before the start barrier; thread 1 touches the ring only after it. */
    atomic_store_relaxed(&g_ring.head, 0);
    atomic_store_relaxed(&g_ring.tail, 0);
    atomic_store_relaxed(&g_ring.failed, 0);
    remote_produce(st, a, size, batch);
  } else {
    remote_consume(st, a, batch);
  }
}

/* ---- one instance of each body per allocator --------------------------- */

#define BENCH_PAIR(name, call)                                                 \
  static void name##_heaplab(hl_bench_state_t *st) {                           \
    int a = ALLOC_HEAPLAB;                                                     \
    call;                                                                      \
  }                                                                            \
  static void name##_libc(hl_bench_state_t *st) {                              \
    int a = ALLOC_LIBC;                                                        \
    call;                                                                      \
  }

BENCH_PAIR(malloc_free, bm_malloc_free(st, a))
BENCH_PAIR(batch, bm_batch(st, a))
BENCH_PAIR(large, bm_large(st, a))
BENCH_PAIR(realloc_step, bm_realloc(st, a, 64, 64))
BENCH_PAIR(realloc_double, bm_realloc(st, a, 16, 0))
BENCH_PAIR(remote_free, bm_remote_free(st, a))

/* ---- registration ------------------------------------------------------ */

static hl_heap_stats_t g_stats; /* 4 KiB: not on main's stack */

static void cfg_malloc_free(hl_bench_t *b) {
  hl_bench_arg_name(b, "size");
  for (uint32_t c = 1; c < g_stats.nclasses; c++)
    hl_bench_arg(b, g_stats.classes[c].size);
}

static void cfg_batch(hl_bench_t *b) {
  static const char *const names[] = {"count", "size"};
  static const int64_t args[][2] = {
      {1000, 16}, {1000, 64}, {1000, 256}, {10000, 64}};
  hl_bench_arg_names(b, names, 2);
  for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
    hl_bench_args(b, args[i], 2);
  hl_bench_unit(b, HL_BENCH_US);
}

static void cfg_large(hl_bench_t *b) {
  static const char *const names[] = {"size", "touch"};
  static const int64_t sizes[] = {64 << 10, 256 << 10, 1 << 20, 8 << 20};
  hl_bench_arg_names(b, names, 2);
  for (int64_t touch = 0; touch <= 1; touch++) {
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      int64_t v[2] = {sizes[i], touch};
      hl_bench_args(b, v, 2);
    }
  }
}

static void cfg_realloc_step(hl_bench_t *b) {
  hl_bench_arg_name(b, "size");
  hl_bench_arg(hl_bench_arg(hl_bench_arg(b, 4 << 10), 64 << 10), 1 << 20);
  hl_bench_unit(b, HL_BENCH_US);
}

static void cfg_realloc_double(hl_bench_t *b) {
  hl_bench_arg_name(b, "size");
  hl_bench_arg(hl_bench_arg(hl_bench_arg(b, 64 << 10), 1 << 20), 8 << 20);
  hl_bench_unit(b, HL_BENCH_US);
}

static void cfg_remote_free(hl_bench_t *b) {
  static const char *const names[] = {"size", "batch"};
  static const int64_t args[][2] = {{64, 1}, {64, 64}, {64, 256}, {1024, 64}};
  hl_bench_arg_names(b, names, 2);
  for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
    hl_bench_args(b, args[i], 2);
  hl_bench_threads(hl_bench_use_real_time(b), 2);
}

/* Each family is registered for heaplab and then for libc, so the two
 * columns of one benchmark are reported next to each other. */
static const struct family {
  const char *name;
  hl_bench_fn fn[2]; /* indexed by ALLOC_* */
  void (*configure)(hl_bench_t *b);
} families[] = {
    {"malloc_free", {malloc_free_heaplab, malloc_free_libc}, cfg_malloc_free},
    {"batch", {batch_heaplab, batch_libc}, cfg_batch},
    {"large", {large_heaplab, large_libc}, cfg_large},
    {"realloc_step",
     {realloc_step_heaplab, realloc_step_libc},
     cfg_realloc_step},
    {"realloc_double",
     {realloc_double_heaplab, realloc_double_libc},
     cfg_realloc_double},
    {"remote_free", {remote_free_heaplab, remote_free_libc}, cfg_remote_free},
};

static void register_all(void) {
  hl_heap_stats(&g_stats);
  if (g_stats.nclasses < 2 || g_stats.nclasses > HL_MAX_SIZE_CLASSES) {
    fprintf(stderr,
            "bench_alloc: hl_heap_stats() reports %u size classes; "
            "expected 2..%u\n",
            g_stats.nclasses, (unsigned)HL_MAX_SIZE_CLASSES);
    exit(1);
  }
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
    for (int a = ALLOC_HEAPLAB; a <= ALLOC_LIBC; a++) {
      char name[64];
      snprintf(name, sizeof name, "%s/%s", families[f].name, alloc_label[a]);
      families[f].configure(hl_bench_register(name, families[f].fn[a]));
    }
  }
}

/* Self-describing results: what was built and what malloc "libc" is. */
static void add_context(void) {
  char buf[32];
  const char *preload = getenv("LD_PRELOAD");
  hl_bench_add_context("heaplab_commit", HL_BENCH_COMMIT);
  hl_bench_add_context("heaplab_build_type", HL_BENCH_BUILD_TYPE);
  snprintf(buf, sizeof buf, "%d", (int)HL_DEBUG);
  hl_bench_add_context("heaplab_hl_debug", buf);
  hl_bench_add_context("heaplab_sanitize",
                       HL_BENCH_SANITIZE[0] ? HL_BENCH_SANITIZE : "none");
  snprintf(buf, sizeof buf, "%u", g_stats.nclasses - 1);
  hl_bench_add_context("heaplab_size_classes", buf);
  hl_bench_add_context("malloc_preload",
                       preload && preload[0] ? preload : "none");
}

int main(int argc, char **argv) {
  register_all();
  add_context();
  return hl_bench_main(argc, argv);
}
