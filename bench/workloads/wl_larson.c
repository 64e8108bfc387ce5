/*
 * wl_larson — a Larson-style server simulation (Larson & Krishnan, 1998).
 *
 * T threads each own a slot array of S objects. One operation frees a random
 * slot and mallocs a new object of random size in [min, max] into it. Every
 * K rounds (a round is S operations) the threads pass their whole slot array
 * to the next thread in a ring and take the previous thread's array, so from
 * then on they free objects that another thread allocated — as a server
 * whose requests are handled by different workers over their lifetime.
 * With one thread the array comes back to the same thread (no remote frees).
 *
 * 1. Each thread fills its slot array (not timed).
 * 2. All threads start together and do N operations each; after every K*S
 *    operations, thread i hands its array to thread (i+1) % T through a
 *    one-slot mailbox (mutex + condition variable; the hand-off waits only
 *    while the next thread has not yet taken the previous array) and takes
 *    the array thread i-1 left in its own mailbox.
 * 3. Each thread checks and frees the array it holds at the end.
 * ops = T * N (one free + one malloc each); handoffs counts ring passes.
 */
#include "wl_common.h"

static const char usage[] =
    "[-t THREADS] [-s SCALE] [--seed N] [--slots S] [--rounds-per-pass K] "
    "[--min BYTES] [--max BYTES]";

enum { BASE_ITERS = 30000000 };

typedef struct slot {
  void *p;
  size_t n;
} slot_t;

typedef struct mailbox {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  slot_t *arr; /* protected by mu; NULL when empty */
} mailbox_t;

typedef struct worker {
  pthread_t tid;
  int id;
  uint64_t handoffs;
  double t_start, t_end;
} worker_t;

static wl_opts_t opts;
static size_t nslots = 2000, min_size = 8, max_size = 1024;
static uint64_t rounds_per_pass = 4, iters;
static mailbox_t *boxes;
static pthread_barrier_t start_barrier;

static void mailbox_put(mailbox_t *b, slot_t *arr) {
  pthread_mutex_lock(&b->mu);
  while (b->arr)
    pthread_cond_wait(&b->cv, &b->mu);
  b->arr = arr;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

static slot_t *mailbox_take(mailbox_t *b) {
  pthread_mutex_lock(&b->mu);
  while (!b->arr)
    pthread_cond_wait(&b->cv, &b->mu);
  slot_t *arr = b->arr;
  b->arr = NULL;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  return arr;
}

/* The tag identifies the object's contents; it does not depend on which
 * thread frees it. */
static inline uint64_t tag_of(const void *p, size_t n) {
  return (uint64_t)(uintptr_t)p * 31 + n;
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  wl_rng_t rng = wl_rng_init(opts.seed, (uint64_t)w->id);
  slot_t *slots = malloc(nslots * sizeof *slots);
  WL_CHECK(slots, "out of memory");
  for (size_t i = 0; i < nslots; i++) {
    size_t n = wl_rand_range(&rng, min_size, max_size);
    slots[i].p = malloc(n);
    slots[i].n = n;
    WL_CHECK(slots[i].p, "malloc(%zu) failed", n);
    wl_touch(slots[i].p, n, tag_of(slots[i].p, n));
  }
  uint64_t pass_every = rounds_per_pass * nslots;
  pthread_barrier_wait(&start_barrier);
  w->t_start = wl_now();
  for (uint64_t it = 1; it <= iters; it++) {
    uint64_t r = wl_rand(&rng);
    size_t i = (size_t)(((r >> 32) * nslots) >> 32);
    size_t n = min_size +
               (size_t)(((r & 0xffffffffu) * (max_size - min_size + 1)) >> 32);
    free(slots[i].p);
    void *p = malloc(n);
    if (!p) WL_FAIL("malloc(%zu) failed", n);
    wl_touch(p, n, tag_of(p, n));
    slots[i].p = p;
    slots[i].n = n;
    if (it % pass_every == 0 && it != iters) {
      mailbox_put(&boxes[(w->id + 1) % opts.threads], slots);
      slots = mailbox_take(&boxes[w->id]);
      w->handoffs++;
    }
  }
  w->t_end = wl_now();
  for (size_t i = 0; i < nslots; i++) {
    WL_CHECK(
        wl_touched_ok(slots[i].p, slots[i].n, tag_of(slots[i].p, slots[i].n)),
        "object %p (%zu bytes) was overwritten", slots[i].p, slots[i].n);
    free(slots[i].p);
  }
  free(slots);
  return NULL;
}

int main(int argc, char **argv) {
  wl_opts_defaults(&opts);
  for (int i = 1; i < argc; i++) {
    if (wl_common_arg(&opts, usage, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--slots"))
      nslots = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 26);
    else if (!strcmp(argv[i], "--rounds-per-pass"))
      rounds_per_pass = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 20);
    else if (!strcmp(argv[i], "--min"))
      min_size = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 30);
    else if (!strcmp(argv[i], "--max"))
      max_size = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 30);
    else
      wl_usage_error(argv[0], usage, "unknown option", argv[i]);
  }
  if (max_size < min_size)
    wl_usage_error(argv[0], usage, "--max is below --min", NULL);

  iters = wl_scaled(BASE_ITERS, opts.scale, 1000);
  int t = opts.threads;
  worker_t *ws = calloc((size_t)t, sizeof *ws);
  boxes = calloc((size_t)t, sizeof *boxes);
  WL_CHECK(ws && boxes, "out of memory");
  for (int i = 0; i < t; i++) {
    pthread_mutex_init(&boxes[i].mu, NULL);
    pthread_cond_init(&boxes[i].cv, NULL);
  }
  pthread_barrier_init(&start_barrier, NULL, (unsigned)t);
  for (int i = 0; i < t; i++) {
    ws[i].id = i;
    wl_thread_create(&ws[i].tid, worker_main, &ws[i]);
  }
  double t0 = 1e300, t1 = 0;
  uint64_t handoffs = 0;
  for (int i = 0; i < t; i++) {
    wl_thread_join(ws[i].tid);
    if (ws[i].t_start < t0) t0 = ws[i].t_start;
    if (ws[i].t_end > t1) t1 = ws[i].t_end;
    handoffs += ws[i].handoffs;
  }
  for (int i = 0; i < t; i++) {
    pthread_mutex_destroy(&boxes[i].mu);
    pthread_cond_destroy(&boxes[i].cv);
  }
  pthread_barrier_destroy(&start_barrier);
  free(boxes);
  free(ws);

  wl_result_begin("wl_larson", &opts);
  printf(" slots=%zu rounds_per_pass=%llu min=%zu max=%zu handoffs=%llu",
         nslots, (unsigned long long)rounds_per_pass, min_size, max_size,
         (unsigned long long)handoffs);
  wl_result_end(iters * (uint64_t)t, t1 - t0);
  return 0;
}
