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

/* ------------------------------------------------------ common figures
 *
 * The latency workloads (msgring, lrucache, prodcons) record the same
 * extra figures (wl_metric) for their latency distribution, in ns:
 *   lat_p50, lat_p99, lat_p999   percentiles (from a log-linear histogram:
 *                                at most 1.6% above the true value, never
 *                                above lat_max, so p50 <= p99 <= p999 <=
 *                                max always holds)
 *   lat_max, lat_mean            exact
 *   lat_count                    samples (a count, unit "")
 * and every workload below records what the collector did during the run:
 *   gc_cycles      cycles completed during the run (a count)
 *   gc_pause_max   the longest cycle's stop-the-world time among them (ns)
 *   gc_mark_cpu    mark work: background mark workers + assists (ns)
 * Random choices come from splitmix64 streams seeded by a `seed`
 * parameter and the goroutine's index, so the data (and the checksums) of
 * a run do not depend on scheduling or on HLMAXPROCS.
 */

/* ---------------------------------------------------------------- msgring
 *
 * Message-buffer latency: the classic Go GC latency benchmark (a ring of
 * messages; each push allocates a new message and replaces the oldest), in
 * one goroutine:
 *   1. a ring of `window` slots (a collected array of pointers) starts
 *      empty;
 *   2. for n = 0 .. messages - 1: push n — allocate `size` pointer-free
 *      bytes (hl_alloc_noscan), write n in its first 8 bytes and the byte
 *      n & 0xff in every other byte, store it into slot n % window (the
 *      previous message there becomes garbage). Each push is timed with
 *      hl_nanotime: the latency of a push includes any assist, sweep or
 *      stop-the-world it ran into;
 *   3. every message left in the ring is checked byte by byte.
 * metrics.check is the sum of wl-mixed numbers of the messages found in
 * the ring, expected the same over the numbers that must be there
 * (max(0, messages - window) .. messages - 1); ok also needs every byte
 * right. Figures: lat_* (per push), pushes_per_s, gc_*.
 */
struct wl_msgslot {
  void *msg; /* hl_alloc_noscan(size) */
};

typedef struct wl_msgring_params {
  long window;   /* slots in the ring (default 200000; 1..1e8) */
  long messages; /* pushes (default 1000000; 1..1e10) */
  long size;     /* bytes per message (default 1024; 16..1 MiB) */
} wl_msgring_params_t;

#define WL_MSGRING_DEFAULTS                                                    \
  { .window = 200000, .messages = 1000000, .size = 1024 }

/* Runs msgring; writes a summary line to out (NULL: none). Returns 0,
 * -EINVAL (parameters out of range: nothing run) or -ENOMEM (no memory
 * for its bookkeeping outside the collected heap). */
int wl_msgring_run(const wl_msgring_params_t *p, FILE *out, wl_metrics_t *m);

/* --------------------------------------------------------------- lrucache
 *
 * A key-value cache under churn: a hash map with chaining plus an LRU
 * doubly linked list, every node, value and bucket array on the collected
 * heap, every pointer store through HL_STORE.
 *   1. `goroutines` goroutines each own one shard: a cache of
 *      capacity / goroutines entries, touched by nobody else (no lock: the
 *      figures measure the heap, not a mutex);
 *   2. each goroutine serves requests / goroutines requests (the first
 *      requests % goroutines serve one more) for keys drawn from a Zipf
 *      distribution over 0..keys-1 with exponent skew / 100 (YCSB's
 *      generator: skew 99 is YCSB's 0.99, 0 is uniform);
 *   3. a request looks the key up; a hit moves its node to the front and
 *      reads the value; a miss allocates a node and a value of value_size
 *      pointer-free bytes filled from the key, inserts it at the front and,
 *      if the shard is full, unlinks the least recently used node (the
 *      evicted node and value become garbage). Each request is timed;
 *   4. each shard is walked: the list both ways, every node found in its
 *      bucket, no more than capacity nodes, every value right.
 * metrics.check is the sum over requests of the first word of the value
 * each request read (after its insertion on a miss), a function of the key;
 * expected is the same sum over the keys drawn again from the same
 * streams. ok also needs the walks to pass. Figures: lat_* (per request),
 * hit_rate (0..1), hits, evictions, requests_per_s, gc_*.
 */
typedef struct wl_lrucache_params {
  long requests;   /* default 4000000 (1..1e10) */
  long keys;       /* key space (default 1000000; 1..1e9) */
  long capacity;   /* entries, all shards (default 100000; 1..1e8) */
  long skew;       /* Zipf exponent in hundredths (default 99; 0..99) */
  long value_size; /* bytes per value (default 64; 8..65536) */
  long goroutines; /* shards, one goroutine each (default 4; 1..1024) */
  long seed;       /* default 1 */
} wl_lrucache_params_t;

#define WL_LRUCACHE_DEFAULTS                                                   \
  {                                                                            \
    .requests = 4000000, .keys = 1000000, .capacity = 100000, .skew = 99,      \
    .value_size = 64, .goroutines = 4, .seed = 1                               \
  }

/* Runs lrucache; writes a summary line to out (NULL: none). Returns 0,
 * -EINVAL (parameters out of range: nothing run) or -ENOMEM (no memory
 * for its bookkeeping outside the collected heap). */
int wl_lrucache_run(const wl_lrucache_params_t *p, FILE *out,
                    wl_metrics_t *m);

/* ----------------------------------------------------------------- larson
 *
 * A larson-style server simulation (Larson and Krishnan's benchmark):
 *   1. `goroutines` goroutines each fill a slot array (a collected array of
 *      pointers) with `slots` objects of random sizes in
 *      min_size..max_size (hl_alloc_noscan);
 *   2. `rounds` rounds: in each, every goroutine replaces `ops` random
 *      slots with new objects, then sends its slot array to the next
 *      goroutine (i -> i + 1 mod goroutines, over a channel) and receives
 *      the previous one's: from round two on, objects are dropped by a
 *      goroutine other than the one that allocated them (larson's frees
 *      by another thread);
 *   3. the slot arrays left are walked.
 * Each object carries an id (goroutine << 40 | its count), its size and a
 * tag, checked when it is dropped or walked. metrics.check is the sum of
 * the ids checked (every object exactly once), expected the sum of the
 * ids handed out (goroutine g hands out slots + rounds * ops ids). ok also
 * needs every tag right. Figures: ops_per_s (replacements per second).
 */
typedef struct wl_larson_params {
  long goroutines; /* default 4 (1..1024) */
  long slots;      /* live objects per goroutine (default 5000; 1..1e7) */
  long min_size;   /* default 16 (16..1 MiB) */
  long max_size;   /* default 1000 (min_size..1 MiB) */
  long ops;        /* replacements per goroutine per round (default 20000) */
  long rounds;     /* default 60 (1..1e6) */
  long seed;       /* default 1 */
} wl_larson_params_t;

#define WL_LARSON_DEFAULTS                                                     \
  {                                                                            \
    .goroutines = 4, .slots = 5000, .min_size = 16, .max_size = 1000,          \
    .ops = 20000, .rounds = 60, .seed = 1                                      \
  }

/* Runs larson; writes a summary line to out (NULL: none). Returns 0,
 * -EINVAL (parameters out of range: nothing run) or -ENOMEM (no memory
 * for its bookkeeping outside the collected heap). */
int wl_larson_run(const wl_larson_params_t *p, FILE *out, wl_metrics_t *m);

/* --------------------------------------------------------------- prodcons
 *
 * Producer/consumer over a heaplab channel (hl_chan_make): `producers`
 * goroutines send `messages` messages in all (producer i sends the ids
 * i, i + producers, ...) through one channel of capacity `capacity`
 * (0: unbuffered) to `consumers` goroutines. A message is a collected
 * object holding a pointer to a pointer-free payload of `size` bytes
 * filled from its id, and the hl_nanotime() at which it was sent; the
 * consumer records now - sent (end-to-end latency, queueing included) and
 * checks the payload. The last producer to finish closes the channel.
 * metrics.check is the sum of the ids received, expected
 * messages * (messages - 1) / 2; ok also needs every payload right and
 * exactly `messages` receipts. Figures: lat_* (end to end), msgs_per_s.
 */
struct wl_pcmsg {
  uint8_t *payload; /* hl_alloc_noscan(size) */
  int64_t sent_ns;
  uint64_t id;
};

typedef struct wl_prodcons_params {
  long producers; /* default 2 (1..1024) */
  long consumers; /* default 2 (1..1024) */
  long capacity;  /* channel buffer (default 128; 0..1e6) */
  long messages;  /* default 2000000 (1..1e10) */
  long size;      /* payload bytes (default 64; 8..1 MiB) */
} wl_prodcons_params_t;

#define WL_PRODCONS_DEFAULTS                                                   \
  {                                                                            \
    .producers = 2, .consumers = 2, .capacity = 128, .messages = 2000000,      \
    .size = 64                                                                 \
  }

/* Runs prodcons; writes a summary line to out (NULL: none). Returns 0,
 * -EINVAL (parameters out of range: nothing run) or -ENOMEM (no memory
 * for its bookkeeping outside the collected heap). */
int wl_prodcons_run(const wl_prodcons_params_t *p, FILE *out,
                    wl_metrics_t *m);

/* ----------------------------------------------------------------- parser
 *
 * A tokenizer that allocates many small strings, in one goroutine. For
 * each of `documents` documents:
 *   1. about doc_size bytes of text are generated from a splitmix64
 *      stream (seed, document index): words of 1..12 lower-case letters,
 *      numbers of 1..6 digits, separated by spaces, ", ", ". " and newlines;
 *      the generator hashes every token it writes (the expected value);
 *   2. the text (a pointer-free collected buffer) is tokenized: a token is
 *      a run of letters, a run of digits or one punctuation character;
 *      each becomes a string (hl_alloc_noscan, NUL-terminated) and a node
 *      (struct wl_token, hl_new) appended to the document's list;
 *   3. the list is walked to hash the tokens in order;
 *   4. the list is kept among the last `keep` documents' (a ring of lists:
 *      older documents become garbage).
 * metrics.check is the sum over documents of the walked hashes, expected
 * the sum of the generator's; ok also needs equal token counts. Figures:
 * docs_per_s, tokens, text_bytes, mb_per_s.
 */
struct wl_token {
  struct wl_token *next;
  char *str;     /* hl_alloc_noscan(len + 1) */
  uint32_t len;
  uint32_t kind; /* 0 word, 1 number, 2 punctuation */
};

typedef struct wl_parser_params {
  long documents; /* default 1000 (1..1e8) */
  long doc_size;  /* bytes of text per document (default 32768; 64..64 MiB) */
  long keep;      /* documents kept alive (default 16; 0..1e6) */
  long seed;      /* default 1 */
} wl_parser_params_t;

#define WL_PARSER_DEFAULTS                                                     \
  { .documents = 1000, .doc_size = 32768, .keep = 16, .seed = 1 }

/* Runs parser; writes a summary line to out (NULL: none). Returns 0,
 * -EINVAL (parameters out of range: nothing run) or -ENOMEM (no memory
 * for its bookkeeping outside the collected heap). */
int wl_parser_run(const wl_parser_params_t *p, FILE *out, wl_metrics_t *m);

/* -------------------------------------------------------------- ptrscalar
 *
 * Pointers versus scalars: the same data in two layouts, chosen by mode.
 * `records` records, each with two 64-bit fields a and b and two
 * references: next (record i + 1, the last to the first) and other (a
 * record chosen at random from the seed).
 *   mode 0 (pointers): each record is a collected object (hl_new) whose
 *     references are pointers; an array of pointers (hl_new_array) holds
 *     the records too, as an index would;
 *   mode 1 (scalars): four pointer-free arrays (hl_alloc_noscan): a[], b[]
 *     and next[], other[] holding 32-bit indices.
 * Then `passes` passes, each: follow next from record 0 around the ring,
 * doing a += other.b and b ^= a >> 3 on each record, then one forced
 * collection (hl_gc), timed. The collector marks every record in mode 0
 * and four objects in mode 1: compare gc_ns and gc_mark_cpu of the two
 * modes (same data, same passes, same checksum).
 * metrics.check is the sum of a + b over the records after the passes;
 * expected is the same computation on a malloc'ed copy (plain C, outside
 * the collected heap), identical for both modes. Figures: pass_ns (total
 * time in the mutating passes), gc_ns (total time in the forced
 * collections), gc_ns_per_cycle, gc_*.
 */
struct wl_psrec {
  struct wl_psrec *next, *other;
  uint64_t a, b;
};

typedef struct wl_ptrscalar_params {
  long records; /* default 500000 (2..1e8) */
  long passes;  /* default 20 (1..1e6) */
  long mode;    /* 0 pointers (default), 1 scalars */
  long seed;    /* default 1 */
} wl_ptrscalar_params_t;

#define WL_PTRSCALAR_DEFAULTS                                                  \
  { .records = 500000, .passes = 20, .mode = 0, .seed = 1 }

/* Runs ptrscalar; writes a summary line to out (NULL: none). Returns 0,
 * -EINVAL (parameters out of range: nothing run) or -ENOMEM (no memory
 * for its bookkeeping outside the collected heap). */
int wl_ptrscalar_run(const wl_ptrscalar_params_t *p, FILE *out,
                     wl_metrics_t *m);
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
