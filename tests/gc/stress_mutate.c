/*
 * tests/gc/stress_mutate.c — goroutines mutate shared linked lists, trees
 * and channels of pointers while cycles run back to back (a goroutine
 * calls hl_gc in a loop, and allocation triggers more). Every object
 * carries a checksum of its contents, verified on every visit: an object
 * freed while reachable is reused (or, with gccheckmark, poisoned on
 * sweep) and fails its checksum. Run with HLDEBUG=gccheckmark=1, which
 * also re-marks every cycle from scratch and aborts on a missed object.
 *
 *   stress_mutate GOROUTINES SECONDS SEED
 */
#include "heaplab/heaplab.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct obj {
  struct obj *next, *left, *right;
  uint64_t key;
  uint64_t sum; /* key * K ^ salt: checked on every visit */
  uint64_t salt;
};
#define OBJ_T HL_TYPE(struct obj, next, left, right)
#define K 0x9E3779B97F4A7C15ull

#define NLISTS 8
#define NTREES 4

static struct obj *lists[NLISTS];
static struct obj *trees[NTREES];
static hl_mutex_t locks[NLISTS + NTREES];
static hl_chan_t *pipe_ch;
static _Atomic int stop;
static _Atomic long visits, failures;
static int64_t deadline;

static void check(struct obj *o) {
  atomic_fetch_add_explicit(&visits, 1, memory_order_relaxed);
  if (o->sum != (o->key * K ^ o->salt)) {
    if (atomic_fetch_add(&failures, 1) < 5)
      fprintf(stderr, "stress_mutate: object %p corrupt: key %lx sum %lx "
              "salt %lx\n", (void *)o, (unsigned long)o->key,
              (unsigned long)o->sum, (unsigned long)o->salt);
  }
}

static struct obj *mk(uint64_t key, uint64_t *rng) {
  struct obj *o = hl_new(OBJ_T);
  *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
  o->key = key;
  o->salt = *rng >> 11;
  o->sum = key * K ^ o->salt;
  return o;
}

static struct obj *tree_insert(struct obj *t, struct obj *n) {
  if (!t)
    return n;
  check(t);
  if (n->key < t->key) {
    struct obj *l = tree_insert(t->left, n);
    HL_STORE(t->left, l);
  } else {
    struct obj *r = tree_insert(t->right, n);
    HL_STORE(t->right, r);
  }
  return t;
}

static long tree_walk(struct obj *t, int depth) {
  if (!t || depth > 64)
    return 0;
  check(t);
  return 1 + tree_walk(t->left, depth + 1) + tree_walk(t->right, depth + 1);
}

static void mutator(void *arg) {
  uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + 1;
  while (!atomic_load(&stop)) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    unsigned op = (unsigned)(rng >> 33) % 8;
    unsigned which = (unsigned)(rng >> 40);
    if (op < 3) { /* list: push front, walk, trim to 200 */
      int i = (int)(which % NLISTS);
      hl_mutex_lock(&locks[i]);
      struct obj *o = mk(rng >> 20, &rng);
      HL_STORE(o->next, lists[i]);
      HL_STORE(lists[i], o);
      int n = 0;
      for (struct obj *p = lists[i]; p; p = p->next) {
        check(p);
        if (++n == 200) {
          HL_STORE(p->next, NULL);
          break;
        }
      }
      hl_mutex_unlock(&locks[i]);
    } else if (op < 5) { /* tree: insert, sometimes replace */
      int i = (int)(which % NTREES);
      hl_mutex_lock(&locks[NLISTS + i]);
      if ((rng >> 50) % 64 == 0) {
        HL_STORE(trees[i], NULL); /* drop the whole tree */
      } else {
        struct obj *t = tree_insert(trees[i], mk(rng >> 24, &rng));
        HL_STORE(trees[i], t);
      }
      tree_walk(trees[i], 0);
      hl_mutex_unlock(&locks[NLISTS + i]);
    } else if (op < 7) { /* channel: objects in flight */
      struct obj *o = mk(rng >> 16, &rng);
      struct obj *c = mk(rng >> 18, &rng);
      HL_STORE(o->left, c);
      if (!hl_chan_trysend(pipe_ch, &o)) {
        struct obj *r = NULL;
        bool ok;
        if (hl_chan_tryrecv(pipe_ch, &r, &ok) && ok && r) {
          check(r);
          if (r->left)
            check(r->left);
        }
      }
    } else { /* garbage with pointers */
      struct obj *a = mk(1, &rng), *b = mk(2, &rng);
      HL_STORE(a->next, b);
      HL_STORE(b->next, a);
      void **arr = hl_alloc_conservative(64 * sizeof(void *));
      HL_STORE(arr[(rng >> 30) % 64], (void *)a);
      check(((struct obj *)arr[(rng >> 30) % 64])->next);
    }
    if (hl_nanotime() > deadline)
      atomic_store(&stop, 1);
  }
}

static void collector_loop(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    hl_gc();
    hl_sleep(HL_MILLISECOND);
  }
}

struct args {
  int n;
  double seconds;
  unsigned seed;
};

static int run(void *p) {
  struct args *a = p;
  hl_gc_add_root(lists, sizeof lists);
  hl_gc_add_root(trees, sizeof trees);
  pipe_ch = hl_chan_make(sizeof(struct obj *), 64);
  deadline = hl_nanotime() + (int64_t)(a->seconds * 1e9);
  for (int i = 0; i < a->n; i++)
    hl_go(mutator, (void *)(uintptr_t)(a->seed * 1000u + (unsigned)i + 1));
  hl_go(collector_loop, NULL);
  while (!atomic_load(&stop))
    hl_sleep(10 * HL_MILLISECOND);
  hl_sleep(20 * HL_MILLISECOND);
  /* a final verification of everything still reachable */
  for (int i = 0; i < NLISTS; i++) {
    hl_mutex_lock(&locks[i]);
    for (struct obj *o = lists[i]; o; o = o->next)
      check(o);
    hl_mutex_unlock(&locks[i]);
  }
  for (int i = 0; i < NTREES; i++) {
    hl_mutex_lock(&locks[NLISTS + i]);
    tree_walk(trees[i], 0);
    hl_mutex_unlock(&locks[NLISTS + i]);
  }
  hl_gc_stats_t st;
  hl_gc_stats(&st);
  printf("stress_mutate: %d goroutines, %.1f s: %ld visits, %lu cycles, "
         "max pause %.1f us, failures %ld\n",
         a->n, a->seconds, atomic_load(&visits), (unsigned long)st.numgc,
         (double)st.pause_max_ns / 1e3, atomic_load(&failures));
  if (atomic_load(&failures) != 0 || st.numgc < 5) {
    fprintf(stderr, "stress_mutate: FAILED (%ld corrupt objects, %lu "
            "cycles)\n", atomic_load(&failures), (unsigned long)st.numgc);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  struct args a = {8, 3.0, 1};
  if (argc > 1)
    a.n = atoi(argv[1]);
  if (argc > 2)
    a.seconds = atof(argv[2]);
  if (argc > 3)
    a.seed = (unsigned)atoi(argv[3]);
  return hl_main(run, &a);
}
