/*
 * wl_prodcons — producer/consumer: every free is a remote free.
 *
 * -t P starts P producers and P consumers (-t 1: one of each). Producers
 * malloc objects of uniform random size in [min, max] (default 16..512),
 * write a tag into them and push the pointers through one bounded queue;
 * consumers pop them, check the tag and free them. So every object is freed
 * by a thread other than the one that allocated it, which exercises the
 * allocator's cross-thread free path (remote free lists, returning memory
 * to its owner).
 *
 * The queue is a ring of pointers under a mutex with two condition
 * variables (not full / not empty). Both sides move objects in batches of
 * up to B pointers per lock acquisition, so that the queue costs far less
 * than the allocation it carries; a producer blocks while the ring is full,
 * which bounds the objects in flight to the ring capacity.
 *
 * 1. All threads start together (barrier).
 * 2. Each producer allocates N objects, then the last producer to finish
 *    closes the queue; consumers drain it and stop when it is closed and
 *    empty.
 * ops = P * N objects (one malloc + one remote free each).
 */
#include "wl_common.h"

static const char usage[] =
    "[-t PAIRS] [-s SCALE] [--seed N] [--min BYTES] [--max BYTES] "
    "[--capacity C] [--batch B]";

enum { BASE_ITERS = 8000000 };

typedef struct queue {
  pthread_mutex_t mu;
  pthread_cond_t not_full, not_empty;
  void **ring; /* capacity entries; head/count/closed protected by mu */
  size_t capacity, head, count;
  int producers_left;
} queue_t;

typedef struct worker {
  pthread_t tid;
  int id;
  int producer;
  uint64_t consumed;
  double t_start, t_end;
} worker_t;

static wl_opts_t opts;
static size_t min_size = 16, max_size = 512, capacity = 16384, batch = 256;
static uint64_t iters;
static queue_t q;
static pthread_barrier_t start_barrier;

static inline uint64_t tag_of(const void *p) {
  return (uint64_t)(uintptr_t)p ^ 0x9e3779b97f4a7c15ull;
}

/* Object layout: [size_t n][tag bytes ... last byte]. */
static void produce(worker_t *w) {
  wl_rng_t rng = wl_rng_init(opts.seed, (uint64_t)w->id);
  void **buf = malloc(batch * sizeof *buf);
  WL_CHECK(buf, "out of memory");
  uint64_t left = iters;
  while (left) {
    size_t k = left < batch ? (size_t)left : batch;
    for (size_t i = 0; i < k; i++) {
      size_t n = wl_rand_range(&rng, min_size, max_size);
      unsigned char *p = malloc(n);
      if (!p) WL_FAIL("malloc(%zu) failed", n);
      memcpy(p, &n, sizeof n);
      wl_touch(p + sizeof n, n - sizeof n, tag_of(p));
      buf[i] = p;
    }
    left -= k;
    size_t done = 0;
    pthread_mutex_lock(&q.mu);
    while (done < k) {
      while (q.count == q.capacity)
        pthread_cond_wait(&q.not_full, &q.mu);
      while (done < k && q.count < q.capacity) {
        q.ring[(q.head + q.count) % q.capacity] = buf[done++];
        q.count++;
      }
      pthread_cond_signal(&q.not_empty);
    }
    pthread_mutex_unlock(&q.mu);
  }
  free(buf);
  pthread_mutex_lock(&q.mu);
  if (--q.producers_left == 0) pthread_cond_broadcast(&q.not_empty);
  pthread_mutex_unlock(&q.mu);
}

static void consume(worker_t *w) {
  void **buf = malloc(batch * sizeof *buf);
  WL_CHECK(buf, "out of memory");
  for (;;) {
    size_t k = 0;
    pthread_mutex_lock(&q.mu);
    while (q.count == 0 && q.producers_left > 0)
      pthread_cond_wait(&q.not_empty, &q.mu);
    while (k < batch && q.count > 0) {
      buf[k++] = q.ring[q.head];
      q.head = (q.head + 1) % q.capacity;
      q.count--;
    }
    if (k) pthread_cond_broadcast(&q.not_full);
    pthread_mutex_unlock(&q.mu);
    if (k == 0) break; /* closed and empty */
    for (size_t i = 0; i < k; i++) {
      unsigned char *p = buf[i];
      size_t n;
      memcpy(&n, p, sizeof n);
      if (n < min_size || n > max_size ||
          !wl_touched_ok(p + sizeof n, n - sizeof n, tag_of(p)))
        WL_FAIL("object %p was overwritten", (void *)p);
      free(p);
    }
    w->consumed += k;
  }
  free(buf);
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  pthread_barrier_wait(&start_barrier);
  w->t_start = wl_now();
  if (w->producer)
    produce(w);
  else
    consume(w);
  w->t_end = wl_now();
  return NULL;
}

int main(int argc, char **argv) {
  wl_opts_defaults(&opts);
  for (int i = 1; i < argc; i++) {
    if (wl_common_arg(&opts, usage, argc, argv, &i)) continue;
    if (!strcmp(argv[i], "--min"))
      min_size = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 30);
    else if (!strcmp(argv[i], "--max"))
      max_size = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 30);
    else if (!strcmp(argv[i], "--capacity"))
      capacity = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 26);
    else if (!strcmp(argv[i], "--batch"))
      batch = wl_opt_u64(usage, argc, argv, &i, 1, 1u << 20);
    else
      wl_usage_error(argv[0], usage, "unknown option", argv[i]);
  }
  if (max_size < min_size)
    wl_usage_error(argv[0], usage, "--max is below --min", NULL);
  if (min_size < sizeof(size_t) + 1)
    wl_usage_error(argv[0], usage, "--min must be at least 9 (size header)",
                   NULL);

  iters = wl_scaled(BASE_ITERS, opts.scale, 1000);
  int pairs = opts.threads, t = 2 * pairs;
  pthread_mutex_init(&q.mu, NULL);
  pthread_cond_init(&q.not_full, NULL);
  pthread_cond_init(&q.not_empty, NULL);
  q.capacity = capacity;
  q.ring = malloc(capacity * sizeof *q.ring);
  q.producers_left = pairs;
  worker_t *ws = calloc((size_t)t, sizeof *ws);
  WL_CHECK(ws && q.ring, "out of memory");
  pthread_barrier_init(&start_barrier, NULL, (unsigned)t);
  for (int i = 0; i < t; i++) {
    ws[i].id = i;
    ws[i].producer = i < pairs;
    wl_thread_create(&ws[i].tid, worker_main, &ws[i]);
  }
  double t0 = 1e300, t1 = 0;
  uint64_t consumed = 0;
  for (int i = 0; i < t; i++) {
    wl_thread_join(ws[i].tid);
    if (ws[i].t_start < t0) t0 = ws[i].t_start;
    if (ws[i].t_end > t1) t1 = ws[i].t_end;
    consumed += ws[i].consumed;
  }
  uint64_t ops = iters * (uint64_t)pairs;
  WL_CHECK(consumed == ops, "consumed %llu objects of %llu",
           (unsigned long long)consumed, (unsigned long long)ops);
  pthread_barrier_destroy(&start_barrier);
  free(ws);
  free(q.ring);

  wl_result_begin("wl_prodcons", &opts);
  printf(" producers=%d consumers=%d min=%zu max=%zu capacity=%zu batch=%zu",
         pairs, pairs, min_size, max_size, capacity, batch);
  wl_result_end(ops, t1 - t0);
  return 0;
}
