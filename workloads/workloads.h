/*
 * workloads/workloads.h — garbage-collector workloads shared by the
 * benchmarks (bench/gc, bench/micro_gc.c), the tests and the `heaplab run`
 * command line (library target heaplab_workloads, linked to `heaplab`).
 *
 * Every workload runs on the collected heap (include/heaplab/gc.h) and must
 * be called from a goroutine (inside hl_main). Each has:
 *   - a parameter struct with documented defaults (WL_<NAME>_DEFAULTS),
 *   - a run function filling a wl_metrics_t (time, checks),
 *   - an entry in the table of workloads (wl_find / wl_workloads), which
 *     names its parameters as `name=value` options for command lines.
 * The same definitions are written for Go (bench/gc/go/gcbench.go) and for
 * Boehm GC (bench/gc/boehm.c): same node layouts, same depths, same order
 * of allocations, same parallelism.
 *
 * Object rules (gc.h): nodes come from hl_new(HL_TYPE(...)) with their
 * pointer fields named; a node's fields are set after it is allocated, and
 * every pointer store into a node goes through HL_STORE.
 *
 * Return values: 0, or -EINVAL for parameters out of range (nothing run).
 * A run whose own checks fail returns 0 with metrics.ok == 0: the caller
 * decides what a wrong checksum means (the benchmarks exit with status 1).
 */
#ifndef HEAPLAB_WORKLOADS_H
#define HEAPLAB_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A workload's own figure beyond the common ones (latency percentiles,
 * requests per second, ...): a name in snake_case, a unit ("ns", "ops/s",
 * "bytes", "" for a count) and the value. Added with wl_metric. */
#define WL_MAX_EXTRA 24
typedef struct wl_extra {
  const char *name; /* static string */
  const char *unit; /* static string */
  double value;
} wl_extra_t;

/* What one run measured. Zero it before a run (the run functions do). */
typedef struct wl_metrics {
  int64_t wall_ns;   /* from the first allocation to the last check */
  uint64_t check;    /* the workload's checksum (see each workload) */
  uint64_t expected; /* what check must be, computed arithmetically */
  uint64_t objects;  /* objects allocated (counted, not sampled) */
  uint64_t bytes;    /* bytes requested by those allocations */
  int ok;            /* 1: check == expected and every other check passed */
  int nextra;
  wl_extra_t extra[WL_MAX_EXTRA];
} wl_metrics_t;

/* Records a workload-specific figure (a name already recorded is
 * overwritten; beyond WL_MAX_EXTRA figures the call aborts: a bug). */
void wl_metric(wl_metrics_t *m, const char *name, const char *unit,
               double value);

/* ------------------------------------------------------------ binary-trees
 *
 * The Benchmarks Game's binary-trees, with the structure of its Go #2
 * program:
 *   1. max = max(min_depth + 2, depth); a stretch tree of depth max + 1 is
 *      built, checked and dropped;
 *   2. a long-lived tree of depth max is built and kept until the end;
 *   3. for d = min_depth, min_depth + 2, ..., max: 2^(max - d + min_depth)
 *      trees of depth d are built, checked and dropped;
 *   4. the long-lived tree is checked.
 * A tree of depth 0 is one node with no children; a tree of depth d > 0
 * is built bottom-up: both subtrees first, then the node, whose fields are
 * then set. The check of a tree is its node count (2^(d+1) - 1), walked.
 * With parallel = 1, steps 1, 2 and each depth of step 3 run in their own
 * goroutine (all started at once, as Go #2 does) and the main goroutine
 * waits for them; with parallel = 0 they run one after the other in the
 * calling goroutine. The output is the same either way, in this order:
 *
 *   stretch tree of depth 11\t check: 4095
 *   1024\t trees of depth 4\t check: 31744
 *   ...
 *   long lived tree of depth 10\t check: 2047
 *
 * metrics.check is the sum of every check printed; expected likewise.
 */
struct wl_btnode {
  struct wl_btnode *left, *right;
};

typedef struct wl_binarytrees_params {
  int depth;     /* n: the long-lived tree's depth (default 10; 1..29) */
  int min_depth; /* the smallest trees (default 4, the rules'; 0..27) */
  int parallel;  /* 1 (default): one goroutine per task; 0: sequential */
} wl_binarytrees_params_t;

#define WL_BINARYTREES_DEFAULTS                                                \
  { .depth = 10, .min_depth = 4, .parallel = 1 }

/* Runs binary-trees; writes the Benchmarks Game lines to out (NULL: none).
 * Returns 0 or -EINVAL. */
int wl_binarytrees_run(const wl_binarytrees_params_t *p, FILE *out,
                       wl_metrics_t *m);

/* ----------------------------------------------------------------- GCBench
 *
 * Boehm and Ellis's GCBench (the C version of GCBench.c), in one goroutine:
 *   1. a stretch tree of depth stretch_depth is built bottom-up and dropped;
 *   2. a long-lived tree of depth long_lived_depth is built top-down
 *      (Populate: each node's children are allocated and stored into it,
 *      then populated) and kept;
 *   3. a long-lived pointer-free array of array_size doubles is allocated
 *      and its first half filled with 1.0 / i;
 *   4. for d = min_depth, min_depth + 2, ..., max_depth: NumIters(d) =
 *      2 * TreeSize(stretch_depth) / TreeSize(d) trees of depth d are built
 *      top-down and dropped, then as many bottom-up, where TreeSize(d) =
 *      2^(d+1) - 1;
 *   5. the long-lived tree and array[1000] are checked.
 * Nodes are struct wl_gcbnode (two pointers and two ints: 24 bytes). The
 * output follows GCBench.c's (times in ms, which vary from run to run).
 * metrics.check is the long-lived tree's node count (expected:
 * TreeSize(long_lived_depth)); ok also needs array[1000] == 1.0 / 1000.
 */
struct wl_gcbnode {
  struct wl_gcbnode *left, *right;
  int32_t i, j;
};

typedef struct wl_gcbench_params {
  int stretch_depth;    /* default 18 (1..30) */
  int long_lived_depth; /* default 16 (1..30) */
  int array_size;       /* default 500000 doubles (1001..1e8) */
  int min_depth;        /* default 4 (0..max_depth) */
  int max_depth;        /* default 16 (min_depth..stretch_depth) */
} wl_gcbench_params_t;

#define WL_GCBENCH_DEFAULTS                                                    \
  {                                                                            \
    .stretch_depth = 18, .long_lived_depth = 16, .array_size = 500000,         \
    .min_depth = 4, .max_depth = 16                                            \
  }

/* Runs GCBench; writes GCBench.c's lines to out (NULL: none). Returns 0 or
 * -EINVAL. */
int wl_gcbench_run(const wl_gcbench_params_t *p, FILE *out, wl_metrics_t *m);

/* --------------------------------------------------------------- poolbench
 *
 * Allocation strategies compared (include/heaplab/pools.h, docs/pools.md)
 * on two patterns, with `goroutines` goroutines sharing `ops` operations:
 *   - request (pattern 0): each request takes a buffer — a header with two
 *     pointer fields and a noscan data block of bufsize bytes — fills and
 *     checks its data, and releases it at the end of the request;
 *   - parser (pattern 1): each document builds `objects` tokens (a typed
 *     object and its text, 1..2*strlen-1 bytes) linked in a list, walks
 *     and checks them, and drops the document as a whole.
 * Strategies (wl_poolbench_strategies, the table's `strategies`): none
 * (allocate and drop), pool (hl_pool), slab (per-goroutine hl_slab),
 * freelist (hl_freelist), region (per-goroutine hl_region, reset per
 * request or document). Every buffer or token is claimed with an owner
 * word (compare-and-swap 0 -> goid) while in use: one handed out twice at
 * once is a failure.
 * metrics: check/expected = data sums computed arithmetically; objects,
 * bytes = allocations from the collected heap the run made (counted where
 * they happen: New functions, slabs, plain allocations); extra figures
 * (wl_metric): ops_per_s, heap_allocs, heap_alloc_bytes, gc_total_alloc
 * (hl_gc_stats' total_alloc delta: every collected byte, size-class
 * rounded), gc_cycles, failures, hit_rate (pool: gets not calling New;
 * freelist: gets served from the list; slab: objects not needing a new
 * slab; region: allocations not needing a new chunk; absent for none),
 * and pool_steals, pool_victim_hits, freelist_drops.
 */
enum { WL_POOL_REQUEST = 0, WL_POOL_PARSER = 1 };

typedef struct wl_poolbench_params {
  int pattern;    /* WL_POOL_REQUEST (default) or WL_POOL_PARSER */
  int strategy;   /* index in wl_poolbench_strategies (default 0: none) */
  int goroutines; /* default 8 (1..4096) */
  long ops;       /* requests or documents; 0 (default): 200000 requests
                     or 20000 documents, about 1 s each (0..1e9) */
  int bufsize;    /* request: data bytes per buffer (default 4096; 64..1 MiB) */
  int objects;    /* parser: tokens per document (default 256; 1..1e6) */
  int strlen;     /* parser: mean text length (default 24; 1..1024) */
} wl_poolbench_params_t;

#define WL_POOLBENCH_DEFAULTS                                                  \
  {                                                                            \
    .pattern = WL_POOL_REQUEST, .strategy = 0, .goroutines = 8, .ops = 0,      \
    .bufsize = 4096, .objects = 256, .strlen = 24                              \
  }

/* "none", "pool", "slab", "freelist", "region", NULL. */
extern const char *const wl_poolbench_strategies[];

/* Runs poolbench; writes one summary line to out (NULL: none). Returns 0,
 * -EINVAL or -ENOMEM. */
int wl_poolbench_run(const wl_poolbench_params_t *p, FILE *out,
                     wl_metrics_t *m);
/* The driver: runs every pattern x strategy with base's other parameters
 * (results[pattern][strategy]). Returns how many runs failed their checks,
 * or a negative errno from a run. */
int wl_poolbench_all(const wl_poolbench_params_t *base, FILE *out,
                     wl_metrics_t results[2][5]);

/* ------------------------------------------- the table, for command lines
 *
 * Each workload names its parameters; values are longs in [min, max].
 *   const wl_workload_t *w = wl_find("binarytrees");
 *   long v[WL_MAX_PARAMS];
 *   wl_defaults(w, v);
 *   if (wl_set(w, v, "depth=18", stderr) != 0) ...   // usage error
 *   w->run(v, 0, stdout, &m);
 */
#define WL_MAX_PARAMS 8

typedef struct wl_param {
  const char *name;
  long def, min, max;
  const char *help;
} wl_param_t;

typedef struct wl_workload {
  const char *name;
  const char *summary;
  const wl_param_t *params;
  int nparams;
  /* Allocation strategies the workload can run under (`heaplab run
   * --strategy=NAME`), NULL-terminated; strategies[0] is the default.
   * NULL: the workload has one way of allocating (strategy 0). */
  const char *const *strategies;
  /* values[i] is params[i]'s value; strategy indexes strategies[] */
  int (*run)(const long *values, int strategy, FILE *out, wl_metrics_t *m);
} wl_workload_t;

/* Every workload, NULL-terminated. */
extern const wl_workload_t *const wl_workloads[];

/* The workload called name, or NULL. */
const wl_workload_t *wl_find(const char *name);
/* The index of strategy name in w->strategies, or -1 after writing to err
 * (if not NULL) a line listing the valid names. */
int wl_strategy(const wl_workload_t *w, const char *name, FILE *err);
/* Sets values[0..nparams-1] to the defaults. */
void wl_defaults(const wl_workload_t *w, long *values);
/* Applies one "name=value" option. Returns 0, or -EINVAL after writing to
 * err (if not NULL) a line naming the option and what is accepted. */
int wl_set(const wl_workload_t *w, long *values, const char *option, FILE *err);
/* Writes the workload's parameters, one per line: name, default, range,
 * help. */
void wl_usage(const wl_workload_t *w, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
