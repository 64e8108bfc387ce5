/*
 * bench/gc/boehm.c — the Boehm GC side of heaplab's collector benchmarks
 * (program gc_boehm): the workloads of workloads/ (heaplab) and
 * bench/gc/go/gcbench.go (Go), with the same definitions, on Boehm GC 8.2
 * (Debian's libgc-dev). scripts/gc_bench.sh runs the three side by side.
 *
 *   gc_boehm binarytrees [depth=N] [min_depth=N] [parallel=0|1]
 *                        [threads=N] [-q]
 *   gc_boehm gcbench [stretch_depth=N] [long_lived_depth=N]
 *                    [array_size=N] [min_depth=N] [max_depth=N] [-q]
 *
 * Definitions: workloads/workloads.h. Nodes come from GC_MALLOC (scanned
 * conservatively, as Boehm does every object without a type descriptor),
 * the GCBench array from GC_MALLOC_ATOMIC (never scanned). Boehm needs no
 * write barrier (non-incremental mode, the default): the stores are plain.
 *
 * Parallelism. C has no goroutines, so binary-trees' tasks (the stretch
 * tree, the long-lived tree, one per depth: the goroutines of the Go and
 * heaplab programs) are taken in order from a shared counter by `threads`
 * worker threads (default 2, the script passes the Ps of the other two),
 * created with pthread_create, which gc.h turns into GC_pthread_create
 * under GC_THREADS so that the collector knows and stops them. Marking is
 * parallel with GC_MARKERS markers (the script sets GC_MARKERS=2). GCBench
 * runs in the main thread, as in the other two.
 *
 * Pauses. A collection in Boehm's default mode stops the world for all
 * of its marking (sweeping is lazy, at allocation). The collection-event
 * callback timestamps GC_EVENT_PRE_STOP_WORLD and GC_EVENT_POST_START_WORLD;
 * each stop is one pause. Output, after the workload's own lines (unless
 * -q):
 *
 *   result side=boehm workload=W params=P wall_ns=N check=C expected=E ok=1
 *          procs=T numgc=K gc_no=G pause_total_ns=T pause_max_ns=M
 *          gc_cpu_fraction=F heap_size=H ...
 *
 * numgc counts the collections seen by the callback (those of the run);
 * gc_no is Boehm's own counter, which includes the collection GC_INIT
 * makes before the run.
 *   pauses ns=P1,P2,...      (the last min(numgc, 256) pauses)
 *
 * gc_cpu_fraction here is stopped time / wall time: while the world is
 * stopped every processor works for the collector (the markers) or
 * waits; concurrent lazy sweeping in allocation is not counted (Go and
 * heaplab count their sweeping, so this flatters Boehm a little).
 */
#define GC_THREADS 1
#include <gc/gc.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t tree_size(int depth) {
  return (UINT64_C(1) << (depth + 1)) - 1;
}

typedef struct metrics {
  int64_t wall_ns;
  uint64_t check, expected, objects, bytes;
  int ok;
} metrics_t;

/* ------------------------------------------------------ pause recording */

#define PAUSES_MAX 65536
static int64_t pause_start;
static int64_t pauses[PAUSES_MAX];
static uint64_t npauses;
static int64_t pause_total, pause_max;

/* Called with the allocation lock held, by the thread collecting. */
static void on_event(GC_EventType e) {
  if (e == GC_EVENT_PRE_STOP_WORLD) {
    pause_start = now_ns();
  } else if (e == GC_EVENT_POST_START_WORLD && pause_start != 0) {
    int64_t d = now_ns() - pause_start;
    pauses[npauses % PAUSES_MAX] = d;
    npauses++;
    pause_total += d;
    if (d > pause_max) pause_max = d;
    pause_start = 0;
  }
}

/* ------------------------------------------------------------ binary-trees */

struct btnode {
  struct btnode *left, *right;
};

static struct btnode *bt_make(int depth) {
  if (depth <= 0) return GC_MALLOC(sizeof(struct btnode));
  struct btnode *l = bt_make(depth - 1);
  struct btnode *r = bt_make(depth - 1);
  struct btnode *n = GC_MALLOC(sizeof(struct btnode));
  n->left = l;
  n->right = r;
  return n;
}

static uint64_t bt_check(const struct btnode *n) {
  if (n->left == NULL) return 1;
  return 1 + bt_check(n->left) + bt_check(n->right);
}

struct task {
  int depth;
  uint64_t iterations;
  uint64_t check;
};

static struct task tasks[2 + 15];
static int ntasks;
static _Atomic int next_task;
/* The long-lived tree: a static, which Boehm scans as a root (the data
 * segment), as Go's escaped closure variable lives in the heap. */
static struct btnode *volatile long_lived;

static void bt_task(int i) {
  struct task *t = &tasks[i];
  if (i == 0) {
    t->check = bt_check(bt_make(t->depth));
  } else if (i == 1) {
    long_lived = bt_make(t->depth);
  } else {
    uint64_t acc = 0;
    for (uint64_t j = 0; j < t->iterations; j++)
      acc += bt_check(bt_make(t->depth));
    t->check = acc;
  }
}

static void *bt_worker(void *arg) {
  (void)arg;
  for (;;) {
    int i = atomic_fetch_add(&next_task, 1);
    if (i >= ntasks) return NULL;
    bt_task(i);
  }
}

static metrics_t binarytrees(const long *v, int threads, int quiet) {
  int min = (int)v[1];
  int max = v[0] > min + 2 ? (int)v[0] : min + 2;
  ntasks = 0;
  tasks[ntasks++] = (struct task){max + 1, 1, 0};
  tasks[ntasks++] = (struct task){max, 1, 0};
  for (int d = min; d <= max; d += 2)
    tasks[ntasks++] = (struct task){d, UINT64_C(1) << (max - d + min), 0};

  int64_t t0 = now_ns();
  if (v[2]) {
    pthread_t th[64];
    for (int i = 0; i < threads; i++)
      if (pthread_create(&th[i], NULL, bt_worker, NULL) != 0) {
        fprintf(stderr, "gc_boehm: pthread_create: %s\n", strerror(errno));
        exit(1);
      }
    for (int i = 0; i < threads; i++)
      pthread_join(th[i], NULL);
  } else {
    for (int i = 0; i < ntasks; i++)
      bt_task(i);
  }
  tasks[1].check = bt_check(long_lived);
  metrics_t m = {.wall_ns = now_ns() - t0};
  for (int i = 0; i < ntasks; i++) {
    m.check += tasks[i].check;
    m.expected += tasks[i].iterations * tree_size(tasks[i].depth);
  }
  m.objects = m.expected;
  m.bytes = m.objects * sizeof(struct btnode);
  m.ok = m.check == m.expected;
  if (!quiet) {
    printf("stretch tree of depth %d\t check: %" PRIu64 "\n", tasks[0].depth,
           tasks[0].check);
    for (int i = 2; i < ntasks; i++)
      printf("%" PRIu64 "\t trees of depth %d\t check: %" PRIu64 "\n",
             tasks[i].iterations, tasks[i].depth, tasks[i].check);
    printf("long lived tree of depth %d\t check: %" PRIu64 "\n", tasks[1].depth,
           tasks[1].check);
  }
  return m;
}

/* ----------------------------------------------------------------- GCBench */

struct gcbnode {
  struct gcbnode *left, *right;
  int32_t i, j;
};

static void gcb_populate(int depth, struct gcbnode *node) {
  if (depth <= 0) return;
  depth--;
  node->left = GC_MALLOC(sizeof(struct gcbnode));
  node->right = GC_MALLOC(sizeof(struct gcbnode));
  gcb_populate(depth, node->left);
  gcb_populate(depth, node->right);
}

static struct gcbnode *gcb_make(int depth) {
  if (depth <= 0) return GC_MALLOC(sizeof(struct gcbnode));
  struct gcbnode *l = gcb_make(depth - 1);
  struct gcbnode *r = gcb_make(depth - 1);
  struct gcbnode *n = GC_MALLOC(sizeof(struct gcbnode));
  n->left = l;
  n->right = r;
  return n;
}

static uint64_t gcb_count(const struct gcbnode *n) {
  if (n == NULL) return 0;
  return 1 + gcb_count(n->left) + gcb_count(n->right);
}

static void gcb_sink(struct gcbnode *volatile n) {
  (void)n;
}

static metrics_t gcbench(const long *v, int quiet) {
  int stretch = (int)v[0], long_depth = (int)v[1], array_size = (int)v[2];
  uint64_t nodes = 0;
  if (!quiet) {
    printf("Garbage Collector Test\n");
    printf(" Live storage will peak at %" PRIu64 " bytes.\n\n",
           2 * sizeof(struct gcbnode) * tree_size(long_depth) +
               sizeof(double) * (uint64_t)array_size);
    printf(" Stretching memory with a binary tree of depth %d\n", stretch);
  }
  int64_t t0 = now_ns();
  gcb_sink(gcb_make(stretch));
  nodes += tree_size(stretch);

  if (!quiet)
    printf(" Creating a long-lived binary tree of depth %d\n", long_depth);
  struct gcbnode *volatile ll = GC_MALLOC(sizeof(struct gcbnode));
  gcb_populate(long_depth, ll);
  nodes += tree_size(long_depth);

  if (!quiet)
    printf(" Creating a long-lived array of %d doubles\n", array_size);
  double *volatile array =
      GC_MALLOC_ATOMIC(sizeof(double) * (size_t)array_size);
  memset(array, 0, sizeof(double) * (size_t)array_size); /* as hl/Go: zeroed */
  for (int i = 0; i < array_size / 2; i++)
    array[i] = 1.0 / i;

  for (int d = (int)v[3]; d <= (int)v[4]; d += 2) {
    uint64_t iters = 2 * tree_size(stretch) / tree_size(d);
    if (!quiet) printf("Creating %" PRIu64 " trees of depth %d\n", iters, d);
    int64_t t = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
      struct gcbnode *temp = GC_MALLOC(sizeof(struct gcbnode));
      gcb_populate(d, temp);
      gcb_sink(temp);
    }
    if (!quiet)
      printf("\tTop down construction took %" PRId64 " msec\n",
             (now_ns() - t) / 1000000);
    t = now_ns();
    for (uint64_t i = 0; i < iters; i++)
      gcb_sink(gcb_make(d));
    if (!quiet)
      printf("\tBottom up construction took %" PRId64 " msec\n",
             (now_ns() - t) / 1000000);
    nodes += 2 * iters * tree_size(d);
  }
  uint64_t check = gcb_count(ll);
  int array_ok = array[1000] == 1.0 / 1000;
  metrics_t m = {.wall_ns = now_ns() - t0,
                 .check = check,
                 .expected = tree_size(long_depth),
                 .objects = nodes + 1,
                 .bytes = nodes * sizeof(struct gcbnode) +
                          sizeof(double) * (uint64_t)array_size};
  m.ok = check == m.expected && array_ok;
  if (!quiet) {
    if (!array_ok) printf("Failed: array[1000] != 1.0/1000\n");
    printf("Completed in %" PRId64 " msec\n", m.wall_ns / 1000000);
  }
  return m;
}

/* ------------------------------------------------------------------- main */

struct param {
  const char *name;
  long def, min, max;
};

static const struct param bt_params[] = {{"depth", 10, 1, 29},
                                         {"min_depth", 4, 0, 27},
                                         {"parallel", 1, 0, 1},
                                         {"threads", 2, 1, 64}};
static const struct param gcb_params[] = {
    {"stretch_depth", 18, 1, 30},
    {"long_lived_depth", 16, 1, 30},
    {"array_size", 500000, 1001, 100000000},
    {"min_depth", 4, 0, 30},
    {"max_depth", 16, 0, 30}};

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void usage(const char *msg) {
  fprintf(stderr,
          "gc_boehm: %s\nusage: gc_boehm binarytrees|gcbench [name=value "
          "...] [-q]\n",
          msg);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) usage("no workload");
  const char *name = argv[1];
  const struct param *params;
  int nparams;
  if (strcmp(name, "binarytrees") == 0) {
    params = bt_params;
    nparams = sizeof bt_params / sizeof bt_params[0];
  } else if (strcmp(name, "gcbench") == 0) {
    params = gcb_params;
    nparams = sizeof gcb_params / sizeof gcb_params[0];
  } else {
    usage("unknown workload");
    return 2;
  }
  long v[8];
  for (int i = 0; i < nparams; i++)
    v[i] = params[i].def;
  int quiet = 0;
  const char *given[64];
  int ngiven = 0;
  for (int a = 2; a < argc; a++) {
    if (strcmp(argv[a], "-q") == 0) {
      quiet = 1;
      continue;
    }
    const char *eq = strchr(argv[a], '=');
    int found = 0;
    for (int i = 0; eq && i < nparams; i++) {
      if (strlen(params[i].name) != (size_t)(eq - argv[a]) ||
          strncmp(params[i].name, argv[a], (size_t)(eq - argv[a])) != 0)
        continue;
      char *end;
      errno = 0;
      long x = strtol(eq + 1, &end, 10);
      if (eq[1] == '\0' || *end != '\0' || errno || x < params[i].min ||
          x > params[i].max) {
        char msg[160];
        snprintf(msg, sizeof msg, "option '%s': wants an integer in %ld..%ld",
                 argv[a], params[i].min, params[i].max);
        usage(msg);
      }
      v[i] = x;
      found = 1;
    }
    if (!found) usage("unknown option");
    /* `threads` is how this program stands in for Ps: not a workload
     * parameter, so it is left out of params= (which must match the
     * other two sides' for the report to pair them) */
    if (strncmp(argv[a], "threads=", 8) != 0 && ngiven < 64)
      given[ngiven++] = argv[a];
  }
  /* sorted, comma-separated, "-" for none: as the other two print it */
  qsort(given, (size_t)ngiven, sizeof given[0], cmp_str);
  char params_str[512] = "-";
  for (int i = 0; i < ngiven; i++) {
    size_t len = i == 0 ? 0 : strlen(params_str);
    snprintf(params_str + len, sizeof params_str - len, "%s%s", i ? "," : "",
             given[i]);
  }
  if (nparams == 5 && (v[4] < v[3] || v[4] > v[0]))
    usage("gcbench wants min_depth <= max_depth <= stretch_depth");

  GC_INIT();
  /* Multi-threaded mode from the start: Boehm starts its parallel markers
   * only once it knows of threads, which GCBench (one thread) would
   * otherwise never tell it. */
  GC_allow_register_threads();
  GC_set_on_collection_event(on_event);

  metrics_t m =
      nparams == 4 ? binarytrees(v, (int)v[3], quiet) : gcbench(v, quiet);

  struct GC_prof_stats_s ps;
  GC_get_prof_stats(&ps, sizeof ps);
  double frac = m.wall_ns > 0 ? (double)pause_total / (double)m.wall_ns : 0;
  printf("result side=boehm workload=%s params=%s wall_ns=%" PRId64
         " check=%" PRIu64 " expected=%" PRIu64 " ok=%d objects=%" PRIu64
         " bytes=%" PRIu64 " procs=%ld markers=%d numgc=%" PRIu64
         " gc_no=%lu pause_total_ns=%" PRId64 " pause_max_ns=%" PRId64
         " gc_cpu_fraction=%.6f heap_size=%lu full_gc_ms=%lu"
         " gc_version=%d.%d.%d\n",
         name, params_str, m.wall_ns, m.check, m.expected, m.ok, m.objects,
         m.bytes, nparams == 4 ? v[3] : 1L, GC_get_parallel() + 1, npauses,
         (unsigned long)GC_get_gc_no(), pause_total, pause_max, frac,
         (unsigned long)ps.heapsize_full, GC_get_full_gc_total_time(),
         GC_VERSION_MAJOR, GC_VERSION_MINOR, GC_VERSION_MICRO);
  /* the last min(npauses, 256) pauses, oldest first */
  uint64_t n = npauses < 256 ? npauses : 256;
  printf("pauses ns=");
  for (uint64_t i = npauses - n; i < npauses; i++)
    printf("%s%" PRId64, i == npauses - n ? "" : ",", pauses[i % PAUSES_MAX]);
  printf("\n");
  if (!m.ok) {
    fprintf(stderr, "gc_boehm: %s: check %" PRIu64 ", expected %" PRIu64 "\n",
            name, m.check, m.expected);
    return 1;
  }
  return 0;
}
