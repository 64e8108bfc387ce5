/*
 * tools/heaplab/hiccup.c — the utilization ceiling of a machine's stalls
 * (hiccup.h). Each candidate window costs a binary search per thread over
 * the gaps' prefix sums: n log n for n gaps, so a busy machine's
 * thousands of gaps take milliseconds.
 */
#include "tools/heaplab/hiccup.h"

#include <stdlib.h>

typedef struct {
  const hl_gap_t *g;
  size_t n;
  int64_t *prefix; /* prefix[i]: the lengths of gaps [0, i) */
} thread_gaps_t;

/* first gap whose end is past a */
static size_t first_ending_after(const thread_gaps_t *t, int64_t a) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->g[mid].start + t->g[mid].len > a)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* first gap that starts at or after b */
static size_t first_starting_from(const thread_gaps_t *t, int64_t b) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->g[mid].start >= b)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* the stalled time of t inside [a, b) */
static int64_t stalled(const thread_gaps_t *t, int64_t a, int64_t b) {
  size_t i = first_ending_after(t, a), j = first_starting_from(t, b);
  if (i >= j)
    return 0;
  int64_t s = t->prefix[j] - t->prefix[i];
  if (t->g[i].start < a)
    s -= a - t->g[i].start;
  int64_t end = t->g[j - 1].start + t->g[j - 1].len;
  if (end > b)
    s -= end - b;
  return s;
}

double hl_hiccup_min_util(const hl_gap_t *const *gaps, const size_t *ngaps,
                          int nthreads, int64_t duration, int64_t w) {
  if (w <= 0 || w > duration || nthreads <= 0)
    return 1.0;
  thread_gaps_t *t = calloc((size_t)nthreads, sizeof *t);
  if (!t)
    return -1.0;
  double worst = 1.0;
  int err = 0;
  for (int k = 0; k < nthreads; k++) {
    t[k].g = gaps[k];
    t[k].n = ngaps[k];
    t[k].prefix = malloc((ngaps[k] + 1) * sizeof(int64_t));
    if (!t[k].prefix) {
      err = 1;
      goto out;
    }
    t[k].prefix[0] = 0;
    for (size_t i = 0; i < ngaps[k]; i++)
      t[k].prefix[i + 1] = t[k].prefix[i] + gaps[k][i].len;
  }
  /* the stalled time of a window is piecewise linear in its start, so its
   * maximum is at a start where a gap begins inside it or ends at its end */
  for (int k = 0; k < nthreads; k++) {
    for (size_t i = 0; i < ngaps[k]; i++) {
      int64_t cand[2] = {gaps[k][i].start,
                         gaps[k][i].start + gaps[k][i].len - w};
      for (int c = 0; c < 2; c++) {
        int64_t a = cand[c];
        if (a < 0)
          a = 0;
        if (a > duration - w)
          a = duration - w;
        int64_t s = 0;
        for (int m = 0; m < nthreads; m++)
          s += stalled(&t[m], a, a + w);
        double u = 1.0 - (double)s / ((double)nthreads * (double)w);
        if (u < worst)
          worst = u;
      }
    }
  }
out:
  for (int k = 0; k < nthreads; k++)
    free(t[k].prefix);
  free(t);
  return err ? -1.0 : worst;
}
