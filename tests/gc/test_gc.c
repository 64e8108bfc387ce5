/*
 * tests/gc/test_gc.c — the collector's pieces: typed, noscan,
 * conservative, tiny and large allocation; what keeps an object alive
 * (stacks, registered roots, pointer fields, conservative words, channel
 * buffers) and what does not (noscan memory, unregistered roots);
 * finalizers and resurrection; hl_gc_stats; the write barrier API.
 *
 * Liveness is observed through finalizers: a finalizer runs only for an
 * object the collector found unreachable.
 */
#include "../sched/harness.h"
#include "heaplab/gc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct node {
  struct node *left, *right;
  uint64_t value;
  uint64_t check;
};
#define NODE_T HL_TYPE(struct node, left, right)

static void *finalized_obj;

/* arg: the test's own counter, so that a late finalizer of an object
 * another test left behind (kept alive conservatively for a while) does
 * not count here */
static void count_fin(void *obj, void *arg) {
  finalized_obj = obj;
  atomic_fetch_add((_Atomic int *)arg, 1);
}

/* Runs cycles until the finalizer goroutine had a chance to run. */
static void gc_and_settle(void) {
  hl_gc();
  for (int i = 0; i < 20; i++) {
    hl_yield();
    hl_sleep(HL_MILLISECOND / 4);
  }
}

static struct node *build(int depth, uint64_t *n) {
  struct node *x = hl_new(NODE_T);
  x->value = (*n)++;
  x->check = x->value * 2654435761u;
  if (depth > 0) {
    struct node *l = build(depth - 1, n);
    HL_STORE(x->left, l);
    struct node *r = build(depth - 1, n);
    HL_STORE(x->right, r);
  }
  return x;
}

static uint64_t verify(struct node *x) {
  if (!x)
    return 0;
  assert_int_equal(x->check, x->value * 2654435761u);
  return 1 + verify(x->left) + verify(x->right);
}

static void test_new_is_zeroed_and_typed(void **state) {
  (void)state;
  for (int i = 0; i < 10000; i++) {
    struct node *x = hl_new(NODE_T);
    assert_non_null(x);
    assert_null(x->left);
    assert_null(x->right);
    assert_int_equal(x->value, 0);
    x->value = 0xdeadbeef; /* dirty it: reuse must zero again */
    x->check = 0xdeadbeef;
  }
  hl_gc();
  for (int i = 0; i < 10000; i++) {
    struct node *x = hl_new(NODE_T);
    assert_int_equal(x->value, 0);
    assert_int_equal(x->check, 0);
  }
  assert_int_equal(hl_gc_usable_size(hl_new(NODE_T)), 32);
}

static void test_live_tree_survives_cycles(void **state) {
  (void)state;
  uint64_t n = 0;
  struct node *root = build(14, &n);
  for (int c = 0; c < 3; c++) {
    /* garbage in between so the live objects' slots would be reused */
    for (int i = 0; i < 100000; i++)
      (void)hl_new(NODE_T);
    hl_gc();
    assert_int_equal(verify(root), n);
  }
  hl_gc_stats_t st;
  hl_gc_stats(&st);
  assert_true(st.numgc >= 3);
  assert_true(st.heap_live >= n * 32);
  assert_true(st.heap_live < n * 32 * 3);
}

static void test_garbage_is_collected(void **state) {
  (void)state;
  hl_gc();
  hl_gc_stats_t a, b;
  hl_gc_stats(&a);
  for (int i = 0; i < 200000; i++)
    (void)hl_new(NODE_T);
  hl_gc();
  hl_gc_stats(&b);
  assert_true(b.total_alloc - a.total_alloc >= 200000 * 32);
  /* nothing of it is live */
  assert_true(b.heap_live < a.heap_live + (1 << 20));
  assert_true(b.numgc > a.numgc);
  assert_true(b.numforced > a.numforced);
}

/* Allocates in its own frame and hands back the address disguised, so
 * that no word on the stack still points at the object afterwards. */
static __attribute__((noinline)) uintptr_t make_finalized(_Atomic int *cnt) {
  struct node *x = hl_new(NODE_T);
  hl_set_finalizer(x, count_fin, (void *)cnt);
  return ~(uintptr_t)x;
}

static void test_finalizer_runs_once_unreachable(void **state) {
  (void)state;
  static _Atomic int finalized;
  atomic_store(&finalized, 0);
  struct node *volatile keep = hl_new(NODE_T);
  hl_set_finalizer(keep, count_fin, (void *)&finalized);
  gc_and_settle();
  assert_int_equal(atomic_load(&finalized), 0); /* still on our stack */
  hl_set_finalizer(keep, NULL, NULL); /* removed: never runs */
  keep = NULL;
  uintptr_t naddr = make_finalized(&finalized); /* ~address */
  hl_test_scrub_stack();
  for (int i = 0; i < 6 && atomic_load(&finalized) == 0; i++)
    gc_and_settle();
#ifdef HL_SANITIZE
  /* sanitizer frames keep stale copies on the stack, which the
   * conservative stack scan honours: the object may stay alive */
  if (atomic_load(&finalized) == 0)
    return;
#endif
  assert_int_equal(atomic_load(&finalized), 1);
  assert_int_equal(~(uintptr_t)finalized_obj, naddr);
  gc_and_settle();
  gc_and_settle();
  assert_int_equal(atomic_load(&finalized), 1); /* once */
}

static struct node *resurrected;
static void resurrect_fin(void *obj, void *arg) {
  (void)arg;
  struct node *x = obj;
  x->value = 77; /* the object is intact when its finalizer runs */
  resurrected = x;
}

static void test_finalizer_resurrects(void **state) {
  (void)state;
  hl_gc_add_root(&resurrected, sizeof resurrected);
  struct node *volatile x = hl_new(NODE_T);
  struct node *child = hl_new(NODE_T);
  child->check = 12345;
  HL_STORE(x->left, child);
  hl_set_finalizer(x, resurrect_fin, NULL);
  x = NULL;
  child = NULL;
  for (int i = 0; i < 4 && !resurrected; i++)
    gc_and_settle();
  assert_non_null(resurrected);
  assert_int_equal(resurrected->value, 77);
  /* what the finalized object reaches was kept alive for it */
  assert_int_equal(resurrected->left->check, 12345);
  gc_and_settle();
  assert_int_equal(resurrected->left->check, 12345);
  HL_STORE(resurrected, NULL);
  hl_gc_remove_root(&resurrected);
}

static struct node *global_root;

static void test_registered_root_keeps_alive(void **state) {
  (void)state;
  static _Atomic int finalized;
  atomic_store(&finalized, 0);
  hl_gc_add_root(&global_root, sizeof global_root);
  /* only the root holds it: made in a helper frame, which is scrubbed */
  HL_STORE(global_root, (struct node *)~make_finalized(&finalized));
  hl_test_scrub_stack();
  gc_and_settle();
  gc_and_settle();
  assert_int_equal(atomic_load(&finalized), 0);
  HL_STORE(global_root, NULL);
  hl_test_scrub_stack();
  for (int i = 0; i < 6 && atomic_load(&finalized) == 0; i++)
    gc_and_settle();
#ifdef HL_SANITIZE
  /* sanitizer frames may keep a stale copy the conservative scan honours */
  if (atomic_load(&finalized) == 0)
    return;
#endif
  assert_int_equal(atomic_load(&finalized), 1);
  hl_gc_remove_root(&global_root);
}

/* Builds the structure in a separate frame so no copy of the pointer is
 * left in this frame's slots. */
static __attribute__((noinline)) void *make_holder(bool noscan,
                                                   _Atomic int *cnt) {
  void **h = noscan ? hl_alloc_noscan(64) : hl_alloc_conservative(64);
  struct node *x = hl_new(NODE_T);
  hl_set_finalizer(x, count_fin, (void *)cnt);
  HL_STORE(h[3], (void *)((char *)x + 8)); /* interior pointer */
  return h;
}

static void test_conservative_and_noscan(void **state) {
  (void)state;
  static _Atomic int finalized;
  atomic_store(&finalized, 0);
  void *volatile cons = make_holder(false, &finalized);
  gc_and_settle();
  gc_and_settle();
  assert_int_equal(atomic_load(&finalized), 0); /* word 3 keeps it */
  void *volatile nos = make_holder(true, &finalized);
  gc_and_settle();
  gc_and_settle();
  /* the node referenced only from noscan memory was collected */
  assert_int_equal(atomic_load(&finalized), 1);
  (void)cons;
  (void)nos;
}

static void test_tiny_allocations_share_blocks(void **state) {
  (void)state;
  char *a = hl_alloc_noscan(3);
  char *b = hl_alloc_noscan(5);
  assert_true(b > a && b < a + 16);
  memset(a, 1, 3);
  memset(b, 2, 5);
  assert_int_equal(a[2], 1);
  assert_int_equal(b[0], 2);
  void *z = hl_alloc_noscan(0);
  assert_non_null(z);
}

static void test_large_array_of_pointers(void **state) {
  (void)state;
  size_t n = 100000; /* 800 KB: scanned in 128 KiB oblets */
  struct node **arr = hl_new_array(HL_TYPE(struct { struct node *p; }, p), n);
  for (size_t i = 0; i < n; i++) {
    struct node *x = hl_new(NODE_T);
    x->value = i;
    x->check = i * 2654435761u;
    HL_STORE(arr[i], x);
  }
  for (int i = 0; i < 200000; i++)
    (void)hl_new(NODE_T);
  hl_gc();
  hl_gc();
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(arr[i]->value, i);
    assert_int_equal(arr[i]->check, i * 2654435761u);
  }
  /* large noscan: not scanned, freed when dropped */
  char *big = hl_alloc_noscan(3 << 20);
  memset(big, 7, 3 << 20);
  assert_int_equal(big[(3 << 20) - 1], 7);
  assert_int_equal(hl_gc_usable_size(big), 3 << 20);
}

static void test_channel_buffer_is_a_root(void **state) {
  (void)state;
  static _Atomic int finalized;
  atomic_store(&finalized, 0);
  hl_chan_t *ch = hl_chan_make(sizeof(void *), 4);
  struct node *x = hl_new(NODE_T);
  x->check = 99;
  hl_set_finalizer(x, count_fin, (void *)&finalized);
  hl_chan_send(ch, &x);
  x = NULL;
  gc_and_settle();
  gc_and_settle();
  assert_int_equal(atomic_load(&finalized), 0);
  struct node *y = NULL;
  assert_true(hl_chan_recv(ch, &y));
  assert_int_equal(y->check, 99);
  hl_chan_free(ch);
}

static void test_wb_memmove_copies(void **state) {
  (void)state;
  struct node **a = hl_alloc_conservative(16 * sizeof(void *));
  struct node **b = hl_alloc_conservative(16 * sizeof(void *));
  for (int i = 0; i < 16; i++) {
    struct node *x = hl_new(NODE_T);
    x->value = (uint64_t)i;
    HL_STORE(a[i], x);
  }
  hl_wb_memmove(b, a, 16 * sizeof(void *));
  memset(a, 0, 16 * sizeof(void *)); /* nil stores need no barrier */
  hl_gc();
  for (int i = 0; i < 16; i++)
    assert_int_equal(b[i]->value, (uint64_t)i);
}

static void test_set_percent_and_memlimit(void **state) {
  (void)state;
  int old = hl_gc_set_percent(50);
  assert_int_equal(old, 100);
  assert_int_equal(hl_gc_set_percent(old), 50);
  int64_t lim = hl_gc_set_memlimit(-1);
  assert_true(lim == INT64_MAX);
  assert_true(hl_gc_set_memlimit(1LL << 40) == INT64_MAX);
  assert_true(hl_gc_set_memlimit(INT64_MAX) == 1LL << 40);
  hl_gc_stats_t st;
  hl_gc_stats(&st);
  assert_int_equal(st.gc_percent, 100);
  assert_true(st.memory_limit == INT64_MAX);
  assert_true(st.heap_goal >= 4u << 20);
  /* off: no cycle is triggered however much is allocated */
  hl_gc_set_percent(-1);
  hl_gc_stats(&st);
  uint64_t n = st.numgc;
  for (int i = 0; i < 300000; i++)
    (void)hl_new(NODE_T);
  hl_gc_stats(&st);
  assert_int_equal(st.numgc, n);
  hl_gc_set_percent(100);
}

/* Goroutine stacks are roots: parked goroutines hold the only references
 * to their trees in locals while a waker resumes them and cycles run back
 * to back (a goroutine may be parked, runnable or running when a cycle
 * starts). A stack missed would lose a tree: its nodes are reused by the
 * garbage allocated in between (counted as bad). */
#define SG_WORKERS 300
struct sg_arg {
  hl_chan_t *wake;
  hl_waitgroup_t *wg;
  _Atomic int *bad, *visits;
};

static uint64_t sg_count(const struct node *x, _Atomic int *bad) {
  if (!x)
    return 0;
  if (x->check != x->value * 2654435761u)
    atomic_fetch_add(bad, 1);
  return 1 + sg_count(x->left, bad) + sg_count(x->right, bad);
}

static void sg_worker(void *p) {
  struct sg_arg *a = p;
  uint64_t n = 0;
  struct node *root = build(5, &n); /* only here, on this stack */
  int tok;
  while (hl_chan_recv(a->wake, &tok)) {
    if (sg_count(root, a->bad) != n)
      atomic_fetch_add(a->bad, 1);
    atomic_fetch_add(a->visits, 1);
    for (int i = 0; i < 64; i++) {
      struct node *g = hl_new(NODE_T);
      g->value = 7;
    }
  }
  if (sg_count(root, a->bad) != n)
    atomic_fetch_add(a->bad, 1);
  hl_waitgroup_done(a->wg);
}

static void sg_waker(void *p) {
  struct sg_arg *a = p;
  for (int i = 0; i < SG_WORKERS * 40; i++) {
    int tok = i;
    hl_chan_send(a->wake, &tok);
  }
  hl_chan_close(a->wake);
}

static void test_parked_stacks_are_roots(void **state) {
  (void)state;
  hl_waitgroup_t wg = {0};
  _Atomic int bad = 0, visits = 0;
  struct sg_arg a = {hl_chan_make(sizeof(int), 0), &wg, &bad, &visits};
  assert_non_null(a.wake);
  hl_gc_stats_t s0, s1;
  hl_gc_stats(&s0);
  hl_waitgroup_add(&wg, SG_WORKERS);
  for (int i = 0; i < SG_WORKERS; i++)
    hl_go(sg_worker, &a);
  hl_go(sg_waker, &a);
  int cycles = 0;
  while (atomic_load(&visits) < SG_WORKERS * 40 && cycles < 2000) {
    hl_gc();
    cycles++;
  }
  hl_waitgroup_wait(&wg);
  hl_chan_free(a.wake);
  hl_gc_stats(&s1);
  assert_int_equal(atomic_load(&bad), 0);
  assert_int_equal(atomic_load(&visits), SG_WORKERS * 40);
  print_message("%d cycles while %d goroutines parked and woke\n", cycles,
                SG_WORKERS);
  /* cycles ran while the goroutines parked and woke */
  assert_true(cycles >= 2);
  assert_true(s1.numgc - s0.numgc >= (uint64_t)cycles);
}

/* A goroutine's argument is a root until it runs: goroutines created
 * just before a cycle, whose argument (a tree) nothing else references,
 * may not have started when the first pause scans the stacks — their
 * stacks hold nothing yet, the argument is in the G. Each then waits on a
 * channel, holding the tree only in its frame, while cycles run and
 * garbage of the tree's size reuses whatever was freed; then it checks
 * the tree (counted as bad when freed and reused). */
#define GA_WORKERS 400
struct ga_tree {
  struct node *root;
  uint64_t nodes;
};
static hl_chan_t *ga_start;
static hl_waitgroup_t ga_wg;
static _Atomic int ga_bad;

static void ga_worker(void *p) {
  struct ga_tree *t = p;
  hl_chan_recv(ga_start, NULL); /* closed after the cycles */
  uint64_t n = 0;
  struct node *stack[16];
  int sp = 0;
  if (t->nodes != 15 || t->root == NULL) { /* t itself freed and reused */
    atomic_fetch_add(&ga_bad, 1);
    hl_waitgroup_done(&ga_wg);
    return;
  }
  stack[sp++] = t->root;
  while (sp > 0) {
    struct node *x = stack[--sp];
    if (x == NULL || x->check != x->value * 2654435761u) {
      atomic_fetch_add(&ga_bad, 1);
      break;
    }
    n++;
    if (x->left && sp + 2 <= 16) {
      stack[sp++] = x->left;
      stack[sp++] = x->right;
    }
  }
  if (n != 15)
    atomic_fetch_add(&ga_bad, 1);
  hl_waitgroup_done(&ga_wg);
}

/* Out of line, so that the caller's frame keeps no copy of the pointer. */
static __attribute__((noinline)) void ga_spawn(uint64_t first) {
  struct ga_tree *t = hl_new(HL_TYPE(struct ga_tree, root));
  uint64_t n = first;
  HL_STORE(t->root, build(3, &n));
  t->nodes = n - first;
  hl_go(ga_worker, t);
}

static __attribute__((noinline)) void ga_garbage(void) {
  for (int i = 0; i < 20000; i++) {
    struct node *x = hl_new(NODE_T);
    x->value = 1;
    x->check = 0; /* wrong on purpose: a reused node fails the check */
    struct ga_tree *t = hl_new(HL_TYPE(struct ga_tree, root));
    t->nodes = 0;
  }
}

static void test_unstarted_goroutine_args_are_roots(void **state) {
  (void)state;
  atomic_store(&ga_bad, 0);
  ga_start = hl_chan_make(0, 0);
  hl_waitgroup_add(&ga_wg, GA_WORKERS);
  hl_gc_stats_t s0, s1;
  hl_gc_stats(&s0);
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < GA_WORKERS / 4; i++)
      ga_spawn((uint64_t)(round * 1000 + i) * 16);
    hl_gc(); /* the goroutines just made may not have run yet */
    ga_garbage();
  }
  hl_gc();
  ga_garbage();
  hl_gc_stats(&s1);
  hl_chan_close(ga_start);
  hl_waitgroup_wait(&ga_wg);
  assert_int_equal(atomic_load(&ga_bad), 0);
  assert_true(s1.numgc - s0.numgc >= 5);
}

/* hl_new's fast path writes each object's bits itself (gc/alloc_fast.h):
 * types whose pointer is not the first word, in classes whose slots
 * straddle heap-bitmap words (24 B: 3 words, 40 B in the 48 B class: 6),
 * from fresh and reused (zeroed) slots. A pointer field keeps its leaf;
 * a scalar field holding another object's address does not keep it. */
struct h24 {
  uintptr_t fake; /* a target's address in a scalar: not a pointer */
  struct leaf16 *child;
  uint64_t magic;
};
struct h40 {
  uint64_t magic;
  uintptr_t fake;
  uint64_t pad;
  struct leaf16 *child;
  uint64_t tail;
};
struct leaf16 {
  uint64_t magic, pad;
};
#define H24_T HL_TYPE(struct h24, child)
#define H40_T HL_TYPE(struct h40, child)
#define LEAF_T HL_TYPE_NOPTR(struct leaf16)
#define PB_N 1500
static void *pb_hold[2 * PB_N]; /* a registered root */
static _Atomic int pb_targets, pb_leaves;

static __attribute__((noinline)) uintptr_t pb_target(void) {
  struct leaf16 *t = hl_new(LEAF_T);
  hl_set_finalizer(t, count_fin, (void *)&pb_targets);
  return ~(uintptr_t)t; /* no copy of the address stays on the stack */
}

static __attribute__((noinline)) void pb_build(void) {
  for (int i = 0; i < PB_N; i++) {
    for (int g = 0; g < 8; g++) { /* garbage between: slots get reused */
      struct h24 *a = hl_new(H24_T);
      struct h40 *b = hl_new(H40_T);
      memset(a, 0xa5, sizeof *a);
      memset(b, 0xa5, sizeof *b);
    }
    if (i % 500 == 0)
      hl_gc();
    struct h24 *a = hl_new(H24_T);
    struct h40 *b = hl_new(H40_T);
    assert_int_equal(a->fake | (uintptr_t)a->child | a->magic, 0);
    assert_int_equal(b->magic | b->fake | b->pad | (uintptr_t)b->child |
                         b->tail, 0);
    struct leaf16 *la = hl_new(LEAF_T), *lb = hl_new(LEAF_T);
    la->magic = 3u * (uint64_t)i + 1;
    lb->magic = 3u * (uint64_t)i + 2;
    hl_set_finalizer(la, count_fin, (void *)&pb_leaves);
    hl_set_finalizer(lb, count_fin, (void *)&pb_leaves);
    HL_STORE(a->child, la);
    HL_STORE(b->child, lb);
    a->magic = b->magic = (uint64_t)i;
    a->fake = ~pb_target();
    b->fake = ~pb_target();
    b->tail = ~pb_target();
    pb_hold[2 * i] = a;
    pb_hold[2 * i + 1] = b;
  }
}

static void test_precise_bits_fast_path(void **state) {
  (void)state;
  atomic_store(&pb_targets, 0);
  atomic_store(&pb_leaves, 0);
  hl_gc_add_root(pb_hold, sizeof pb_hold);
  pb_build();
  hl_test_scrub_stack();
  for (int k = 0; k < 4; k++) {
    gc_and_settle();
    for (int g = 0; g < 20000; g++) /* reuse what was freed */
      memset(hl_new(LEAF_T), 0x5a, sizeof(struct leaf16));
  }
  for (int i = 0; i < PB_N; i++) {
    struct h24 *a = pb_hold[2 * i];
    struct h40 *b = pb_hold[2 * i + 1];
    assert_int_equal(a->magic, (uint64_t)i);
    assert_int_equal(b->magic, (uint64_t)i);
    assert_int_equal(a->child->magic, 3u * (uint64_t)i + 1);
    assert_int_equal(b->child->magic, 3u * (uint64_t)i + 2);
  }
  assert_int_equal(atomic_load(&pb_leaves), 0);
  /* the scalars kept nothing: every target but the odd one a stale
   * stack word holds (conservatively) is gone */
  assert_true(atomic_load(&pb_targets) >= 3 * PB_N - 16);
  hl_gc_remove_root(pb_hold);
  memset(pb_hold, 0, sizeof pb_hold);
}

/* hl_alloc_noscan's fast path (gc/alloc_fast.h): sizes across the small
 * classes, reused slots zeroed (up to 64 bytes inline, above by memset),
 * objects distinct and as large as asked. */
static void test_noscan_fast_path(void **state) {
  (void)state;
  static const size_t sizes[] = {16, 17, 24, 40, 64, 65, 100, 255, 1000, 1024};
  enum { N = 400 };
  for (int round = 0; round < 3; round++) {
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
      uint8_t *prev = NULL;
      for (int i = 0; i < N; i++) {
        uint8_t *p = hl_alloc_noscan(sizes[k]);
        assert_non_null(p);
        for (size_t b = 0; b < sizes[k]; b++)
          if (p[b] != 0)
            fail_msg("size %zu, round %d: byte %zu of a new object is %#x",
                     sizes[k], round, b, p[b]);
        assert_true(hl_gc_usable_size(p) >= sizes[k]);
        if (prev)
          assert_true(p >= prev + sizes[k] || p + sizes[k] <= prev);
        memset(p, 0xff, sizes[k]); /* garbage for the next round's reuse */
        prev = p;
      }
    }
    hl_gc();
  }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_new_is_zeroed_and_typed),
    cmocka_unit_test(test_live_tree_survives_cycles),
    cmocka_unit_test(test_garbage_is_collected),
    cmocka_unit_test(test_finalizer_runs_once_unreachable),
    cmocka_unit_test(test_finalizer_resurrects),
    cmocka_unit_test(test_registered_root_keeps_alive),
    cmocka_unit_test(test_conservative_and_noscan),
    cmocka_unit_test(test_tiny_allocations_share_blocks),
    cmocka_unit_test(test_large_array_of_pointers),
    cmocka_unit_test(test_channel_buffer_is_a_root),
    cmocka_unit_test(test_wb_memmove_copies),
    cmocka_unit_test(test_set_percent_and_memlimit),
    cmocka_unit_test(test_parked_stacks_are_roots),
    cmocka_unit_test(test_unstarted_goroutine_args_are_roots),
    cmocka_unit_test(test_precise_bits_fast_path),
    cmocka_unit_test(test_noscan_fast_path),
};

HL_SCHED_TEST_MAIN(tests)
