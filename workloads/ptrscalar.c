/*
 * workloads/ptrscalar.c — pointers versus scalars: the same records as
 * linked collected objects or as pointer-free arrays (definition in
 * workloads.h).
 *
 * Entry point: wl_ptrscalar_run.
 *
 * The experiment: the collector's mark work is proportional to the
 * pointers it must follow, not to the bytes it keeps. Mode 0 gives it
 * `records` objects to find through `records` * 3 pointers (index array,
 * next, other); mode 1 gives it four noscan arrays it marks without
 * looking inside. Both modes do the same arithmetic in the same order on
 * the same values, so their checks are equal and their pass times compare
 * the cost of following a pointer with that of indexing an array.
 *
 * The run:
 *   1. build: other[i] = wl_rand_below(records) from the seed's stream,
 *      i = 0, 1, ...; a = wl_mix64(i), b = i;
 *   2. `passes` times: one pass (follow next from record 0, records steps:
 *      a += other.b; b ^= a >> 3), then hl_gc(), timed alone;
 *   3. check = sum of a + b;
 *   4. expected: steps 1-3 again on malloc'ed arrays (plain C).
 * The collector figures (gc_*) cover step 2 only: with no allocation
 * there, its cycles are the forced ones.
 */
#include "workloads/internal.h"

#include "heaplab/gc.h"
#include "heaplab/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

struct recref {
  struct wl_psrec *r;
};

/* Scalar layout (mode 1 and the reference): four arrays. */
struct soa {
  uint64_t *a, *b;
  uint32_t *next, *other;
};

static void soa_build(struct soa *s, uint64_t n, uint64_t seed) {
  uint64_t rng = seed;
  for (uint64_t i = 0; i < n; i++) {
    s->a[i] = wl_mix64(i);
    s->b[i] = i;
    s->next[i] = (uint32_t)((i + 1) % n);
    s->other[i] = (uint32_t)wl_rand_below(&rng, n);
  }
}

static void soa_pass(struct soa *s, uint64_t n) {
  uint32_t i = 0;
  for (uint64_t k = 0; k < n; k++) {
    s->a[i] += s->b[s->other[i]];
    s->b[i] ^= s->a[i] >> 3;
    i = s->next[i];
  }
}

static uint64_t soa_sum(const struct soa *s, uint64_t n) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; i++)
    sum += s->a[i] + s->b[i];
  return sum;
}

static void ptr_pass(struct wl_psrec *r, uint64_t n) {
  for (uint64_t k = 0; k < n; k++) {
    r->a += r->other->b;
    r->b ^= r->a >> 3;
    r = r->next;
  }
}

/* 4. The reference, on malloc'ed memory; 1 and *sum, or 0 (no memory). */
static int reference(uint64_t n, long passes, uint64_t seed, uint64_t *sum) {
  struct soa s = {malloc(n * 8), malloc(n * 8), malloc(n * 4), malloc(n * 4)};
  int ok = s.a && s.b && s.next && s.other;
  if (ok) {
    soa_build(&s, n, seed);
    for (long k = 0; k < passes; k++)
      soa_pass(&s, n);
    *sum = soa_sum(&s, n);
  }
  free(s.a);
  free(s.b);
  free(s.next);
  free(s.other);
  return ok;
}

int wl_ptrscalar_run(const wl_ptrscalar_params_t *p, FILE *out,
                     wl_metrics_t *m) {
  if (p->records < 2 || p->records > 100000000L || p->passes < 1 ||
      p->passes > 1000000 || (p->mode != 0 && p->mode != 1))
    return -EINVAL;
  const uint64_t n = (uint64_t)p->records;
  const uint64_t seed = (uint64_t)p->seed;
  *m = (wl_metrics_t){0};

  /* 1. */
  int64_t t0 = hl_nanotime();
  struct recref *index = NULL;
  struct soa s = {0};
  if (p->mode == 0) {
    const hl_type_t *rt = HL_TYPE(struct wl_psrec, next, other);
    index = hl_new_array(HL_TYPE(struct recref, r), n);
    for (uint64_t i = 0; i < n; i++) {
      struct wl_psrec *r = hl_new(rt);
      r->a = wl_mix64(i);
      r->b = i;
      HL_STORE(index[i].r, r);
    }
    uint64_t rng = seed;
    for (uint64_t i = 0; i < n; i++) {
      HL_STORE(index[i].r->next, index[(i + 1) % n].r);
      HL_STORE(index[i].r->other, index[wl_rand_below(&rng, n)].r);
    }
    m->objects = n + 1;
    m->bytes = n * (sizeof(struct wl_psrec) + sizeof(struct recref));
  } else {
    s.a = hl_alloc_noscan(n * 8);
    s.b = hl_alloc_noscan(n * 8);
    s.next = hl_alloc_noscan(n * 4);
    s.other = hl_alloc_noscan(n * 4);
    soa_build(&s, n, seed);
    m->objects = 4;
    m->bytes = n * 24;
  }

  /* 2. */
  wl_gc_mark_t gc0;
  wl_gc_mark(&gc0);
  int64_t pass_ns = 0, gc_ns = 0;
  for (long k = 0; k < p->passes; k++) {
    int64_t a = hl_nanotime();
    if (p->mode == 0) ptr_pass(index[0].r, n);
    else soa_pass(&s, n);
    int64_t b = hl_nanotime();
    hl_gc();
    int64_t c = hl_nanotime();
    pass_ns += b - a;
    gc_ns += c - b;
  }
  wl_gc_figures(m, &gc0);

  /* 3. */
  if (p->mode == 0) {
    for (uint64_t i = 0; i < n; i++)
      m->check += index[i].r->a + index[i].r->b;
  } else {
    m->check = soa_sum(&s, n);
  }
  int64_t t1 = hl_nanotime();

  /* 4. */
  if (!reference(n, p->passes, seed, &m->expected)) return -ENOMEM;
  m->wall_ns = t1 - t0;
  m->ok = m->check == m->expected;
  wl_metric(m, "pass_ns", "ns", (double)pass_ns);
  wl_metric(m, "gc_ns", "ns", (double)gc_ns);
  wl_metric(m, "gc_ns_per_cycle", "ns", (double)gc_ns / (double)p->passes);
  if (out != NULL)
    fprintf(out,
            "ptrscalar: %" PRIu64 " records as %s, %ld passes: passes %.1f ms,"
            " collections %.1f ms (%.2f ms each)%s\n",
            n, p->mode == 0 ? "pointers" : "scalars", p->passes,
            (double)pass_ns / 1e6, (double)gc_ns / 1e6,
            (double)gc_ns / 1e6 / (double)p->passes,
            m->ok ? "" : " (CHECK FAILED)");
  return 0;
}
