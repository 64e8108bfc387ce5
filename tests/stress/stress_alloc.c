/*
 * tests/stress/stress_alloc.c — seeded multi-threaded allocator stress.
 *
 *   stress_alloc THREADS SCALE ITER [SEED]
 *
 * THREADS threads share SCALE*256 atomic slots. Each step a thread picks a
 * random slot, makes a new object (malloc, calloc, realloc of its own
 * previous object, aligned_alloc; sizes from 1 byte to 256 KiB, mostly
 * small), stamps it with its size and a checksum of its content, and swaps
 * it into the slot; the object it takes out (made by any thread) is
 * verified and freed, so most frees are remote. Every ITER/8 steps a thread
 * runs the validity walker (hl_heap_validate) on the heap and its own
 * cache. Worker threads exit and are replaced ITER/4 steps into each
 * round, so exiting caches are flushed into mcentral while other threads
 * still free into them. Exit status 0 only if every check passed.
 * Not a benchmark: it measures nothing.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heaplab/alloc.h"

typedef struct obj {
  size_t size; /* bytes including this header */
  uint64_t sum;
} obj_t;

static _Atomic(obj_t *) *slots;
static size_t nslots;
static long iters;
static _Atomic long failures;

static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static uint64_t checksum(const obj_t *o) {
  const unsigned char *p = (const unsigned char *)(o + 1);
  size_t n = o->size - sizeof *o;
  uint64_t h = 1469598103934665603ull ^ n;
  size_t step = n > 4096 ? 61 : 1;
  for (size_t i = 0; i < n; i += step)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* May realloc *reuse (then sets *reuse to NULL: it is consumed). */
static obj_t *make(uint64_t *seed, obj_t **reusep) {
  obj_t *reuse = *reusep;
  uint64_t r = rnd(seed);
  size_t size;
  switch (r % 16) {
  case 0:
    size = sizeof(obj_t) + (r >> 8) % (256 << 10);
    break;
  case 1:
  case 2:
    size = sizeof(obj_t) + (r >> 8) % 32768;
    break;
  default:
    size = sizeof(obj_t) + (r >> 8) % 512;
  }
  obj_t *o;
  switch ((r >> 40) % 8) {
  case 0:
    o = hl_calloc(1, size);
    if (o)
      for (size_t i = sizeof *o; i < size; i++)
        if (((unsigned char *)o)[i] != 0) {
          fprintf(stderr, "calloc memory not zero\n");
          atomic_fetch_add(&failures, 1);
          break;
        }
    break;
  case 1:
    o = hl_aligned_alloc((size_t)64 << ((r >> 50) % 6), size);
    break;
  case 2:
    if (reuse) {
      uint64_t old_sum = reuse->sum;
      size_t old_size = reuse->size;
      o = hl_realloc(reuse, size);
      if (o) {
        *reusep = NULL;
        o->size = old_size;
        o->sum = old_sum;
        size_t keep = old_size < size ? old_size : size;
        o->size = keep;
        if (checksum(o) != old_sum && keep == old_size) {
          fprintf(stderr, "realloc lost data\n");
          atomic_fetch_add(&failures, 1);
        }
      }
      break;
    }
    /* fall through */
  default:
    o = hl_malloc(size);
  }
  if (!o) {
    fprintf(stderr, "allocation of %zu bytes failed\n", size);
    atomic_fetch_add(&failures, 1);
    return NULL;
  }
  o->size = size;
  unsigned char *p = (unsigned char *)(o + 1);
  size_t n = size - sizeof *o;
  unsigned char v = (unsigned char)r;
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(v + i);
  o->sum = checksum(o);
  if (hl_usable_size(o) < size) {
    fprintf(stderr, "usable size too small\n");
    atomic_fetch_add(&failures, 1);
  }
  return o;
}

static void verify_and_free(obj_t *o) {
  if (checksum(o) != o->sum) {
    fprintf(stderr, "object %p (%zu bytes) corrupted\n", (void *)o, o->size);
    atomic_fetch_add(&failures, 1);
  }
  hl_free(o);
}

static void *worker(void *arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
  obj_t *mine = NULL;
  long steps = iters / 4;
  for (long i = 0; i < steps; i++) {
    size_t k = rnd(&seed) % nslots;
    obj_t *none = NULL;
    obj_t *o = make(&seed, (rnd(&seed) & 7) == 0 ? &mine : &none);
    if (!o)
      continue;
    obj_t *old = atomic_exchange(&slots[k], o);
    if (old)
      verify_and_free(old);
    /* keep one private object for realloc */
    if (!mine && (rnd(&seed) & 3) == 0) {
      mine = atomic_exchange(&slots[rnd(&seed) % nslots], NULL);
    }
    if (i % (iters / 8 + 1) == 0 && !hl_heap_validate(0)) {
      fprintf(stderr, "heap validity walker failed\n");
      atomic_fetch_add(&failures, 1);
    }
  }
  if (mine)
    verify_and_free(mine);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: stress_alloc THREADS SCALE ITER [SEED]\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  int scale = atoi(argv[2]);
  iters = atol(argv[3]);
  uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 0) : 42;
  if (threads < 1 || scale < 1 || iters < 1) {
    fprintf(stderr, "stress_alloc: THREADS, SCALE, ITER must be positive\n");
    return 2;
  }
  nslots = (size_t)scale * 256;
  slots = calloc(nslots, sizeof *slots);
  printf("stress_alloc: threads=%d scale=%d iter=%ld seed=%llu\n", threads,
         scale, iters, (unsigned long long)seed);
  pthread_t *t = malloc(sizeof *t * (size_t)threads);
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < threads; i++)
      pthread_create(&t[i], NULL, worker,
                     (void *)(uintptr_t)(seed + (uint64_t)round * 1000 +
                                         (uint64_t)i));
    for (int i = 0; i < threads; i++)
      pthread_join(t[i], NULL);
    if (!hl_heap_validate(0)) {
      fprintf(stderr, "heap invalid after round %d\n", round);
      atomic_fetch_add(&failures, 1);
    }
  }
  for (size_t k = 0; k < nslots; k++) {
    obj_t *o = atomic_exchange(&slots[k], NULL);
    if (o)
      verify_and_free(o);
  }
  hl_heap_release();
  hl_heap_stats_t st;
  hl_heap_stats(&st);
  printf("stress_alloc: in use after freeing everything: %llu bytes, "
         "large objects %llu\n",
         (unsigned long long)st.bytes_in_use,
         (unsigned long long)st.large_objects);
  if (st.bytes_in_use != 0 || st.large_objects != 0) {
    fprintf(stderr, "objects still counted in use\n");
    atomic_fetch_add(&failures, 1);
  }
  long f = atomic_load(&failures);
  printf("stress_alloc: %s (%ld failures)\n", f ? "FAILED" : "ok", f);
  free(slots);
  free(t);
  return f ? 1 : 0;
}
