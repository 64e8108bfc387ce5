/*
 * workloads/gcbench.c — Boehm and Ellis's GCBench on the collected heap
 * (definition and output in workloads.h).
 *
 * Entry point: wl_gcbench_run.
 *
 * It follows the C version of GCBench.c step by step (numbered as in
 * workloads.h): Populate builds top-down by storing freshly allocated
 * children into an older node, which is what exercises the write barrier
 * and allocate-black; MakeTree builds bottom-up, children first. The
 * temporary trees die when the next one replaces them in a local
 * variable; the long-lived tree and array stay reachable from locals of
 * this function (the goroutine's stack) until the final checks.
 */
#include "workloads/workloads.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <inttypes.h>

/* One descriptor for every allocation of a node (each HL_TYPE expansion
 * is a descriptor of its own). */
static const hl_type_t *gcb_type(void) {
  return HL_TYPE(struct wl_gcbnode, left, right);
}

static uint64_t tree_size(int depth) {
  return (UINT64_C(1) << (depth + 1)) - 1;
}

/* Top-down: the children are allocated and stored into the (older) node,
 * then populated. */
static void gcb_populate(int depth, struct wl_gcbnode *node) {
  if (depth <= 0) return;
  depth--;
  HL_STORE(node->left, hl_new(gcb_type()));
  HL_STORE(node->right, hl_new(gcb_type()));
  gcb_populate(depth, node->left);
  gcb_populate(depth, node->right);
}

/* Bottom-up: both subtrees, then the node, whose fields are then set. */
static struct wl_gcbnode *gcb_make(int depth) {
  if (depth <= 0) return hl_new(gcb_type());
  struct wl_gcbnode *l = gcb_make(depth - 1);
  struct wl_gcbnode *r = gcb_make(depth - 1);
  struct wl_gcbnode *n = hl_new(gcb_type());
  HL_STORE(n->left, l);
  HL_STORE(n->right, r);
  return n;
}

static uint64_t gcb_count(const struct wl_gcbnode *n) {
  if (n == NULL) return 0;
  return 1 + gcb_count(n->left) + gcb_count(n->right);
}

static int64_t ms_since(int64_t t) {
  return (hl_nanotime() - t) / 1000000;
}

/* Keeps a dropped tree's pointer from being optimized away (the loop
 * must build it). */
static void gcb_sink(struct wl_gcbnode *volatile n) {
  (void)n;
}

/* 4. One depth: NumIters(d) trees top-down, then as many bottom-up. */
static uint64_t gcb_time_construction(const wl_gcbench_params_t *p, int depth,
                                      FILE *out) {
  uint64_t iters = 2 * tree_size(p->stretch_depth) / tree_size(depth);
  if (out)
    fprintf(out, "Creating %" PRIu64 " trees of depth %d\n", iters, depth);
  int64_t t = hl_nanotime();
  for (uint64_t i = 0; i < iters; i++) {
    struct wl_gcbnode *temp = hl_new(gcb_type());
    gcb_populate(depth, temp);
    gcb_sink(temp);
  }
  if (out)
    fprintf(out, "\tTop down construction took %" PRId64 " msec\n",
            ms_since(t));
  t = hl_nanotime();
  for (uint64_t i = 0; i < iters; i++)
    gcb_sink(gcb_make(depth));
  if (out)
    fprintf(out, "\tBottom up construction took %" PRId64 " msec\n",
            ms_since(t));
  return 2 * iters * tree_size(depth);
}

int wl_gcbench_run(const wl_gcbench_params_t *p, FILE *out, wl_metrics_t *m) {
  if (p->stretch_depth < 1 || p->stretch_depth > 30 ||
      p->long_lived_depth < 1 || p->long_lived_depth > 30 ||
      p->array_size < 1001 || p->array_size > 100000000 || p->min_depth < 0 ||
      p->max_depth < p->min_depth || p->max_depth > p->stretch_depth)
    return -EINVAL;
  uint64_t nodes = 0;
  if (out) {
    fprintf(out, "Garbage Collector Test\n");
    fprintf(out, " Live storage will peak at %" PRIu64 " bytes.\n\n",
            2 * sizeof(struct wl_gcbnode) * tree_size(p->long_lived_depth) +
                sizeof(double) * (uint64_t)p->array_size);
    fprintf(out, " Stretching memory with a binary tree of depth %d\n",
            p->stretch_depth);
  }
  int64_t t0 = hl_nanotime();

  /* 1. stretch */
  gcb_sink(gcb_make(p->stretch_depth));
  nodes += tree_size(p->stretch_depth);

  /* 2. the long-lived tree, top-down */
  if (out)
    fprintf(out, " Creating a long-lived binary tree of depth %d\n",
            p->long_lived_depth);
  struct wl_gcbnode *volatile long_lived = hl_new(gcb_type());
  gcb_populate(p->long_lived_depth, long_lived);
  nodes += tree_size(p->long_lived_depth);

  /* 3. the long-lived array, pointer-free */
  if (out)
    fprintf(out, " Creating a long-lived array of %d doubles\n", p->array_size);
  double *volatile array =
      hl_alloc_noscan(sizeof(double) * (size_t)p->array_size);
  for (int i = 0; i < p->array_size / 2; i++)
    array[i] = 1.0 / i;

  /* 4. */
  for (int d = p->min_depth; d <= p->max_depth; d += 2)
    nodes += gcb_time_construction(p, d, out);

  /* 5. */
  uint64_t check = gcb_count(long_lived);
  int array_ok = array[1000] == 1.0 / 1000;
  int64_t t1 = hl_nanotime();

  *m = (wl_metrics_t){.wall_ns = t1 - t0,
                      .check = check,
                      .expected = tree_size(p->long_lived_depth),
                      .objects = nodes + 1, /* + the array */
                      .bytes = nodes * sizeof(struct wl_gcbnode) +
                               sizeof(double) * (uint64_t)p->array_size};
  m->ok = m->check == m->expected && array_ok;
  if (out) {
    if (!array_ok) fprintf(out, "Failed: array[1000] != 1.0/1000\n");
    fprintf(out, "Completed in %" PRId64 " msec\n", (t1 - t0) / 1000000);
  }
  return 0;
}
