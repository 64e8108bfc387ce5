/*
 * workloads/binarytrees.c — the Benchmarks Game's binary-trees on the
 * collected heap (definition and output in workloads.h).
 *
 * Entry point: wl_binarytrees_run.
 *
 * The run, with parallel = 1 (Go #2's structure):
 *   1. one task per line of output: the stretch tree, the long-lived tree,
 *      and one per depth d = min, min + 2, ..., max;
 *   2. every task is started at once with hl_go; the main goroutine waits
 *      on a waitgroup (the runtime's HLMAXPROCS processors run them);
 *   3. each task writes its check into its own slot of the task array,
 *      which lives on the main goroutine's stack: no slot is written by two
 *      goroutines, and the waitgroup orders the writes before the main
 *      goroutine's reads;
 *   4. the long-lived tree is checked, and the lines are printed in the
 *      Benchmarks Game's order.
 * The long-lived tree is handed over in a collected cell (struct
 * bt_holder) stored with HL_STORE, as Go's closure variable escapes to the
 * heap: a plain store of it into the waiting goroutine's stack, already
 * scanned in this cycle, would hide the tree from the collector if its
 * builder exited before its own stack was scanned (the hybrid barrier
 * assumes a goroutine writes only its own stack).
 * With parallel = 0 the tasks run in order in the calling goroutine.
 *
 * Rejected: a pool of HLMAXPROCS worker goroutines taking depths from a
 * counter (what bench/gc/boehm.c must do with threads). Go #2 starts one
 * goroutine per depth and lets the scheduler spread them; doing the same
 * keeps the heaplab and Go programs the same program.
 */
#include "workloads/workloads.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <inttypes.h>

/* One descriptor for every allocation of a node (each HL_TYPE expansion
 * is a descriptor of its own). */
static const hl_type_t *bt_type(void) {
  return HL_TYPE(struct wl_btnode, left, right);
}

/* Bottom-up, as the Go program: both subtrees, then the node. The subtree
 * pointers are locals (the goroutine's stack or registers, both scanned)
 * while hl_new runs. */
static struct wl_btnode *bt_make(int depth) {
  if (depth <= 0) return hl_new(bt_type());
  struct wl_btnode *l = bt_make(depth - 1);
  struct wl_btnode *r = bt_make(depth - 1);
  struct wl_btnode *n = hl_new(bt_type());
  HL_STORE(n->left, l);
  HL_STORE(n->right, r);
  return n;
}

/* Node count, walked (a complete tree: only left is tested). */
static uint64_t bt_check(const struct wl_btnode *n) {
  if (n->left == NULL) return 1;
  return 1 + bt_check(n->left) + bt_check(n->right);
}

static uint64_t tree_size(int depth) {
  return (UINT64_C(1) << (depth + 1)) - 1;
}

enum task_kind { TASK_STRETCH, TASK_LONGLIVED, TASK_DEPTH };

/* The long-lived tree's cell (a collected object). */
struct bt_holder {
  struct wl_btnode *tree;
};

struct task {
  enum task_kind kind;
  int depth;
  uint64_t iterations;
  hl_waitgroup_t *wg;       /* NULL when run sequentially */
  struct bt_holder *holder; /* TASK_LONGLIVED: where the tree is kept */
  uint64_t check;           /* the line's check */
};

static void task_run(struct task *t) {
  switch (t->kind) {
  case TASK_STRETCH:
    t->check = bt_check(bt_make(t->depth));
    break;
  case TASK_LONGLIVED:
    HL_STORE(t->holder->tree, bt_make(t->depth));
    break;
  case TASK_DEPTH: {
    uint64_t acc = 0;
    for (uint64_t i = 0; i < t->iterations; i++)
      acc += bt_check(bt_make(t->depth));
    t->check = acc;
    break;
  }
  }
}

static void task_goroutine(void *arg) {
  struct task *t = arg;
  task_run(t);
  hl_waitgroup_done(t->wg);
}

int wl_binarytrees_run(const wl_binarytrees_params_t *p, FILE *out,
                       wl_metrics_t *m) {
  if (p->depth < 1 || p->depth > 29 || p->min_depth < 0 || p->min_depth > 27 ||
      (p->parallel != 0 && p->parallel != 1))
    return -EINVAL;
  const int min = p->min_depth;
  const int max = p->depth > min + 2 ? p->depth : min + 2;
  if (max + 1 > 30) return -EINVAL; /* the stretch tree: 2^31 nodes */

  /* 1. the tasks: stretch, long-lived, then one per depth (at most 15:
   * 0..28 by 2) */
  struct task tasks[2 + 15];
  int ntasks = 0;
  int64_t t0 = hl_nanotime();
  struct bt_holder *holder = hl_new(HL_TYPE(struct bt_holder, tree));
  tasks[ntasks++] = (struct task){.kind = TASK_STRETCH, .depth = max + 1};
  tasks[ntasks++] =
      (struct task){.kind = TASK_LONGLIVED, .depth = max, .holder = holder};
  for (int d = min; d <= max; d += 2)
    tasks[ntasks++] =
        (struct task){.kind = TASK_DEPTH,
                      .depth = d,
                      .iterations = UINT64_C(1) << (max - d + min)};

  if (p->parallel) {
    /* 2. all at once */
    hl_waitgroup_t wg = HL_WAITGROUP_INIT;
    hl_waitgroup_add(&wg, ntasks);
    for (int i = 0; i < ntasks; i++) {
      tasks[i].wg = &wg;
      hl_go(task_goroutine, &tasks[i]);
    }
    hl_waitgroup_wait(&wg);
  } else {
    for (int i = 0; i < ntasks; i++)
      task_run(&tasks[i]);
  }
  /* 4. the long-lived tree */
  tasks[1].check = bt_check(holder->tree);
  int64_t t1 = hl_nanotime();

  *m = (wl_metrics_t){.wall_ns = t1 - t0, .ok = 1};
  for (int i = 0; i < ntasks; i++) {
    const struct task *t = &tasks[i];
    uint64_t trees = t->kind == TASK_DEPTH ? t->iterations : 1;
    m->check += t->check;
    m->expected += trees * tree_size(t->depth);
    m->objects += trees * tree_size(t->depth);
  }
  m->bytes = m->objects * sizeof(struct wl_btnode);
  m->ok = m->check == m->expected;

  if (out != NULL) {
    fprintf(out, "stretch tree of depth %d\t check: %" PRIu64 "\n",
            tasks[0].depth, tasks[0].check);
    for (int i = 2; i < ntasks; i++)
      fprintf(out, "%" PRIu64 "\t trees of depth %d\t check: %" PRIu64 "\n",
              tasks[i].iterations, tasks[i].depth, tasks[i].check);
    fprintf(out, "long lived tree of depth %d\t check: %" PRIu64 "\n",
            tasks[1].depth, tasks[1].check);
  }
  return 0;
}
