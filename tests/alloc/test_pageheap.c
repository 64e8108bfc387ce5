/*
 * tests/alloc/test_pageheap.c — the page heap: best fit, splitting,
 * coalescing, the treap of long runs, aligned runs, growth in place, the
 * arena index and the heap validity walker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/internal.h"
#include "heaplab/alloc.h"

static mspan_t *take(size_t n, size_t align) {
  hl_lock(&mheap.lock);
  mspan_t *s = heap_alloc_run(n, align, MSPAN_LARGE);
  assert_non_null(s);
  span_map_ends(s); /* as malloc_large does */
  hl_unlock(&mheap.lock);
  assert_int_equal(s->npages, n);
  return s;
}

static void give(mspan_t *s) {
  hl_lock(&mheap.lock);
  heap_free_run(s);
  hl_unlock(&mheap.lock);
}

static void test_index_lookup(void **st) {
  (void)st;
  mspan_t *s = take(3, 1);
  for (uintptr_t a = s->base; a < s->base + PAGE_SIZE; a += 1000)
    assert_ptr_equal(span_of(a), s);
  assert_null(span_of(s->base + PAGE_SIZE)); /* LARGE: ends only */
  assert_ptr_equal(span_of(s->base + 3 * PAGE_SIZE - 1), s);
  assert_null(span_of(0x10));
  assert_null(span_of((uintptr_t)1 << 50)); /* beyond 48 bits */
  int on_stack;
  assert_null(span_of((uintptr_t)&on_stack));
  give(s);
  assert_true(heap_is_valid(0));
}

static void test_coalesce(void **st) {
  (void)st;
  /* three runs carved in order from one free run are adjacent */
  mspan_t *a = take(5, 1), *b = take(7, 1), *c = take(9, 1);
  uintptr_t base = a->base;
  assert_int_equal(b->base, a->base + 5 * PAGE_SIZE);
  assert_int_equal(c->base, b->base + 7 * PAGE_SIZE);
  mspan_t *guard = take(1, 1); /* keeps the run after c from merging */
  give(a);
  give(c);
  assert_true(heap_is_valid(0));
  give(b); /* joins a and c */
  assert_true(heap_is_valid(0));
  mspan_t *m = span_of(base);
  assert_non_null(m);
  assert_int_equal(m->state, MSPAN_FREE);
  assert_int_equal(m->base, base);
  assert_int_equal(m->npages, 21);
  /* the merged run serves a 21-page request exactly (best fit) */
  mspan_t *d = take(21, 1);
  assert_int_equal(d->base, base);
  give(d);
  give(guard);
  assert_true(heap_is_valid(0));
}

static void test_best_fit_bins(void **st) {
  (void)st;
  /* holes of 6 and 3 pages between live runs: a 3-page request must take
   * the 3-page hole even though the 6-page one comes first */
  mspan_t *h6 = take(6, 1), *sep1 = take(1, 1), *h3 = take(3, 1),
          *sep2 = take(1, 1);
  uintptr_t b3 = h3->base;
  give(h6);
  give(h3);
  mspan_t *x = take(3, 1);
  assert_int_equal(x->base, b3);
  give(x);
  give(sep1);
  give(sep2);
  assert_true(heap_is_valid(0));
}

/* Smallest free run in the treap with at least n pages (brute force). */
static mspan_t *brute_best(mspan_t *t, size_t n, mspan_t *best) {
  if (!t)
    return best;
  if (t->npages >= n && (!best || t->npages < best->npages))
    best = t;
  best = brute_best(t->tleft, n, best);
  return brute_best(t->tright, n, best);
}

static void test_treap_best_fit(void **st) {
  (void)st;
  enum { N = 40 };
  mspan_t *runs[N], *seps[N], *got[10];
  srand(7);
  for (int i = 0; i < N; i++) {
    runs[i] = take(128 + (size_t)(rand() % 300), 1);
    seps[i] = take(1, 1);
  }
  for (int i = 0; i < N; i++)
    give(runs[i]);
  assert_true(heap_is_valid(0));
  /* each request gets a run of the smallest sufficient length */
  for (int k = 0; k < 10; k++) {
    size_t want = 128 + (size_t)(rand() % 300);
    hl_lock(&mheap.lock);
    mspan_t *b = brute_best(mheap.treap, want, NULL);
    assert_non_null(b);
    uint32_t best_pages = b->npages;
    hl_unlock(&mheap.lock);
    got[k] = take(want, 1);
    /* carved from the low end of a run of exactly best_pages pages: the
     * remainder (if any) follows it */
    mspan_t *rest = span_of(got[k]->base + want * PAGE_SIZE);
    size_t after = rest && rest->state == MSPAN_FREE &&
                           rest->base == got[k]->base + want * PAGE_SIZE
                       ? rest->npages
                       : 0;
    assert_int_equal(want + after, best_pages);
    assert_true(heap_is_valid(0));
  }
  for (int k = 0; k < 10; k++)
    give(got[k]);
  for (int i = 0; i < N; i++)
    give(seps[i]);
  assert_true(heap_is_valid(0));
}

static void test_aligned_run(void **st) {
  (void)st;
  mspan_t *pad = take(1, 1);
  mspan_t *s = take(10, 64); /* 512 KiB alignment */
  assert_int_equal(s->base % (64 * PAGE_SIZE), 0);
  give(s);
  give(pad);
  assert_true(heap_is_valid(0));
}

static void test_grow_in_place(void **st) {
  (void)st;
  mspan_t *a = take(4, 1), *b = take(4, 1), *sep = take(1, 1);
  give(b);
  hl_lock(&mheap.lock);
  assert_true(heap_grow_in_place(a, 8));
  assert_false(heap_grow_in_place(a, 9)); /* sep is in the way */
  hl_unlock(&mheap.lock);
  assert_int_equal(a->npages, 8);
  assert_ptr_equal(span_of(a->base + 7 * PAGE_SIZE), a);
  assert_null(span_of(a->base + 3 * PAGE_SIZE)); /* the old end */
  give(a);
  give(sep);
  assert_true(heap_is_valid(0));
}

static void test_huge_run(void **st) {
  (void)st;
  /* more than one arena: contiguous arenas, one span */
  mspan_t *s = take(PAGES_PER_ARENA + 10, 1);
  assert_ptr_equal(span_of(s->base + (PAGES_PER_ARENA + 9) * PAGE_SIZE), s);
  give(s);
  assert_true(heap_is_valid(0));
}

static void test_scavenge_releases(void **st) {
  (void)st;
  mspan_t *s = take(64, 1);
  memset((void *)s->base, 1, 64 * PAGE_SIZE);
  give(s);
  hl_heap_stats_t a, b;
  hl_heap_stats(&a);
  size_t n = heap_scavenge(0, SIZE_MAX);
  hl_heap_stats(&b);
  assert_true(n >= 64 * PAGE_SIZE);
  assert_true(b.bytes_released >= a.bytes_released + 64 * PAGE_SIZE);
  /* released pages read back as zero and give a no-zeroing run */
  mspan_t *t = take(64, 1);
  assert_false(t->needzero);
  for (size_t i = 0; i < 64 * PAGE_SIZE; i += 4096)
    assert_int_equal(((char *)t->base)[i], 0);
  give(t);
  assert_true(heap_is_valid(0));
}

int main(void) {
  hl_free(hl_malloc(1)); /* attaches the thread and sets up the heap */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index_lookup),
      cmocka_unit_test(test_coalesce),
      cmocka_unit_test(test_best_fit_bins),
      cmocka_unit_test(test_treap_best_fit),
      cmocka_unit_test(test_aligned_run),
      cmocka_unit_test(test_grow_in_place),
      cmocka_unit_test(test_huge_run),
      cmocka_unit_test(test_scavenge_releases),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
