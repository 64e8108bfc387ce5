/*
 * bench/micro_gc.c — micro benchmarks of the collected heap's fast paths
 * under Google Benchmark (bench/gbench.h). Executable: bench_gc.
 *
 * Google Benchmark runs inside the runtime, as bench_sched's: main()
 * starts hl_main, whose main goroutine calls hl_bench_main(), so every
 * benchmark function is in a goroutine and may call hl_*. Every benchmark
 * reports wall-clock time (the goroutine may move between threads when it
 * parks in hl_gc).
 *
 * Benchmarks (each reports time_per_item):
 *   store/plain          8 pointer stores `n[k]->left = v` per iteration
 *                        (item = one store), each forced to memory by a
 *                        compiler barrier: the baseline.
 *   store/hl_store       the same 8 stores through HL_STORE, with the
 *                        collector not marking (a full hl_gc() runs
 *                        before the loop; the counter marking_at_end says
 *                        whether a cycle started during it, which would
 *                        make the figure meaningless). The target (issue
 *                        4) is <= 1 ns per store; the plain store of the
 *                        same run is the reference: the difference is the
 *                        barrier's fast path (one load, one branch).
 *   new/node             hl_new(HL_TYPE(struct node, left, right)) of a
 *                        16-byte node that dies at once, with the
 *                        collector on (HLGC): allocation plus the amortized
 *                        share of the collections it causes (counter
 *                        cycles: collections during the run).
 *   alloc_noscan/size:S  hl_alloc_noscan(S), S = 8 (the tiny allocator)
 *                        ... 1024, dying at once.
 *   mark/depth:D         marking throughput: a live binary tree of depth D
 *                        (2^(D+1) - 1 nodes of 16 bytes) is built, then each
 *                        iteration runs hl_gc(). Counters, from hl_gc_stats
 *                        around every cycle: live_MB (heap_live, 10^6
 *                        bytes), mark_cpu_ms (mark_worker_ns + assist_ns per
 *                        cycle) and MB_per_worker_s = live MB / worker-
 *                        seconds of marking (the "MB of live heap
 *                        per worker-second"). Time per iteration = one
 *                        whole forced cycle (mark and sweep).
 *
 * Processors: HLMAXPROCS; heap growth: HLGC; both in the context lines,
 * with the commit and build type, as bench_alloc's and bench_sched's.
 */
#include "bench/gbench.h"
#include "heaplab/gc.h"
#include "heaplab/pools.h"
#include "heaplab/sched.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef HL_BENCH_COMMIT
#define HL_BENCH_COMMIT "unknown"
#endif
#ifndef HL_BENCH_BUILD_TYPE
#define HL_BENCH_BUILD_TYPE "unknown"
#endif

struct node {
  struct node *left, *right;
};

static const hl_type_t *node_type(void) {
  return HL_TYPE(struct node, left, right);
}

static void report(hl_bench_state_t *st, int64_t items) {
  if (items <= 0) return;
  hl_bench_set_items_processed(st, items);
  hl_bench_counter(st, "time_per_item", (double)items,
                   HL_BENCH_COUNTER_RATE | HL_BENCH_COUNTER_INVERT);
}

static uint64_t numgc(void) {
  static hl_gc_stats_t st; /* 4 KiB; benchmarks run one at a time */
  hl_gc_stats(&st);
  return st.numgc;
}

/* ---- stores -------------------------------------------------------------- */

#define NSTORE 8

/* Eight nodes to store into and a value to store. The nodes are kept
 * reachable by the caller's locals. */
struct store_setup {
  struct node *n[NSTORE];
  struct node *v;
};

static void store_setup(struct store_setup *s) {
  for (int k = 0; k < NSTORE; k++)
    s->n[k] = hl_new(node_type());
  s->v = hl_new(node_type());
  hl_gc(); /* no cycle in progress when the loop starts */
}

static void bm_store_plain(hl_bench_state_t *st) {
  struct store_setup s;
  store_setup(&s);
  while (hl_bench_keep_running(st)) {
    for (int k = 0; k < NSTORE; k++) {
      s.n[k]->left = s.v;
      hl_bench_clobber_memory();
    }
  }
  hl_bench_do_not_optimize(&s);
  report(st, hl_bench_iterations(st) * NSTORE);
}

static void bm_store_hl_store(hl_bench_state_t *st) {
  struct store_setup s;
  store_setup(&s);
  while (hl_bench_keep_running(st)) {
    for (int k = 0; k < NSTORE; k++) {
      HL_STORE(s.n[k]->left, s.v);
      hl_bench_clobber_memory();
    }
  }
  hl_bench_do_not_optimize(&s);
  hl_bench_counter(st, "marking_at_end", hl_gc_wb_enabled != 0,
                   HL_BENCH_COUNTER_DEFAULT);
  report(st, hl_bench_iterations(st) * NSTORE);
}

/* ---- allocation ---------------------------------------------------------- */

static void bm_new_node(hl_bench_state_t *st) {
  uint64_t gc0 = numgc();
  while (hl_bench_keep_running(st)) {
    struct node *n = hl_new(node_type());
    hl_bench_do_not_optimize(n);
  }
  hl_bench_counter(st, "cycles", (double)(numgc() - gc0),
                   HL_BENCH_COUNTER_DEFAULT);
  report(st, hl_bench_iterations(st));
}

static void bm_alloc_noscan(hl_bench_state_t *st) {
  size_t size = (size_t)hl_bench_range_arg(st, 0);
  uint64_t gc0 = numgc();
  while (hl_bench_keep_running(st)) {
    void *p = hl_alloc_noscan(size);
    hl_bench_do_not_optimize(p);
  }
  hl_bench_counter(st, "cycles", (double)(numgc() - gc0),
                   HL_BENCH_COUNTER_DEFAULT);
  report(st, hl_bench_iterations(st));
}

/* ---- pools (pools/: the sync.Pool fast path against allocating) ---------- */

static void *pool_new_node(void *arg) {
  (void)arg;
  return hl_new(node_type());
}

/* get + put on one P: the private slot's round trip (Go's Pool.Get/Put) */
static void bm_pool_get_put(hl_bench_state_t *st) {
  static hl_pool_t *pool;
  if (!pool)
    pool = hl_pool_create(pool_new_node, NULL);
  uint64_t gc0 = numgc();
  while (hl_bench_keep_running(st)) {
    struct node *n = hl_pool_get(pool);
    hl_bench_do_not_optimize(n);
    hl_pool_put(pool, n);
  }
  hl_bench_counter(st, "cycles", (double)(numgc() - gc0),
                   HL_BENCH_COUNTER_DEFAULT);
  report(st, hl_bench_iterations(st));
}

/* the same object from a slab of 64 */
static void bm_slab_alloc(hl_bench_state_t *st) {
  hl_slab_t *slab = hl_slab_create(node_type(), 64);
  uint64_t gc0 = numgc();
  while (hl_bench_keep_running(st)) {
    struct node *n = hl_slab_alloc(slab);
    hl_bench_do_not_optimize(n);
  }
  hl_bench_counter(st, "cycles", (double)(numgc() - gc0),
                   HL_BENCH_COUNTER_DEFAULT);
  report(st, hl_bench_iterations(st));
}

/* ---- marking throughput -------------------------------------------------- */

static struct node *tree_make(int depth) {
  struct node *n = hl_new(node_type());
  if (depth > 0) {
    struct node *l = tree_make(depth - 1);
    HL_STORE(n->left, l);
    struct node *r = tree_make(depth - 1);
    HL_STORE(n->right, r);
  }
  return n;
}

static void bm_mark(hl_bench_state_t *st) {
  int depth = (int)hl_bench_range_arg(st, 0);
  hl_gc_stats_t *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  if (a == NULL || b == NULL) {
    hl_bench_skip_with_error(st, "malloc of the stats failed");
    free(a);
    free(b);
    return;
  }
  struct node *volatile tree = tree_make(depth);
  hl_gc(); /* the tree's allocation is swept and settled */
  double live = 0, mark_ns = 0;
  uint64_t cycles = 0;
  while (hl_bench_keep_running(st)) {
    hl_gc_stats(a);
    hl_gc();
    hl_gc_stats(b);
    live += (double)b->heap_live;
    mark_ns += (double)(b->mark_worker_ns - a->mark_worker_ns) +
               (double)(b->assist_ns - a->assist_ns);
    cycles++;
  }
  hl_bench_do_not_optimize(tree);
  free(a);
  free(b);
  if (cycles == 0) return;
  if (mark_ns <= 0) {
    hl_bench_skip_with_error(st, "hl_gc_stats reported no mark worker or "
                                 "assist time");
    return;
  }
  hl_bench_counter(st, "live_MB", live / (double)cycles / 1e6,
                   HL_BENCH_COUNTER_DEFAULT);
  hl_bench_counter(st, "mark_cpu_ms", mark_ns / (double)cycles / 1e6,
                   HL_BENCH_COUNTER_DEFAULT);
  hl_bench_counter(st, "MB_per_worker_s", (live / 1e6) / (mark_ns / 1e9),
                   HL_BENCH_COUNTER_DEFAULT);
  report(st, (int64_t)cycles);
}

/* ---- main ---------------------------------------------------------------- */

static void register_all(void) {
  hl_bench_t *b[] = {
      hl_bench_register("store/plain", bm_store_plain),
      hl_bench_register("store/hl_store", bm_store_hl_store),
      hl_bench_register("new/node", bm_new_node),
      hl_bench_arg_name(hl_bench_register("alloc_noscan", bm_alloc_noscan),
                        "size"),
      hl_bench_register("pool/get_put", bm_pool_get_put),
      hl_bench_register("slab/alloc", bm_slab_alloc),
  };
  for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
    hl_bench_unit(hl_bench_use_real_time(b[i]), HL_BENCH_NS);
  hl_bench_range(hl_bench_range_multiplier(b[3], 2), 8, 1024);
  hl_bench_t *mark = hl_bench_register("mark", bm_mark);
  hl_bench_arg(hl_bench_arg(hl_bench_arg_name(mark, "depth"), 18), 20);
  hl_bench_unit(hl_bench_use_real_time(mark), HL_BENCH_MS);
}

struct args {
  int argc;
  char **argv;
};

static int run(void *arg) {
  struct args *a = arg;
  char procs[16], pct[16];
  snprintf(procs, sizeof procs, "%d", hl_maxprocs());
  int p = hl_gc_set_percent(100);
  hl_gc_set_percent(p);
  snprintf(pct, sizeof pct, "%d", p);
  hl_bench_add_context("heaplab_commit", HL_BENCH_COMMIT);
  hl_bench_add_context("heaplab_build_type", HL_BENCH_BUILD_TYPE);
  hl_bench_add_context("heaplab_maxprocs", procs);
  hl_bench_add_context("heaplab_gc_percent", pct);
  register_all();
  return hl_bench_main(a->argc, a->argv);
}

int main(int argc, char **argv) {
  struct args a = {argc, argv};
  return hl_main(run, &a);
}
