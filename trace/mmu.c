/*
 * trace/mmu.c — utilization functions from a trace, exact MMU by bands,
 * and the mutator utilization distribution (trace/mmu.h).
 *
 * Building u(t) (hlt_util_builder_*):
 *  1. Per stream (a P, or the global buffer), a P is "busy" while it runs
 *     any selected kind of GC work; each 0<->1 change is recorded in that
 *     stream's list, already in time order (streams are). A stream whose
 *     first event of a kind is its end was busy from the trace start.
 *  2. STW starts/ends and P count changes go to one list, sorted at the
 *     end (they come from any stream).
 *  3. finish merges the stream lists (a heap over the streams' heads) with
 *     the global list: u = 0 during STW, else 1 - busy/nprocs (whole
 *     program), or per P: 0 while STW or busy, else 1.
 *
 * Exact MMU of a step function for window w: the mean over [s, s+w] is
 * (A(s+w) - A(s))/w with A the integral of u, piecewise linear in s; its
 * minimum is at an end of the range or where s or s+w is a step edge. So
 * the candidates are s = t[k] and s = t[k] - w: one linear sweep.
 *
 * Bands (the idea of Go's internal/trace/gc.go): cut the range of s into
 * bands (width w/8, at most 16384 bands); every window starting in band
 * [lo, hi] covers [hi, lo + w] exactly, and its two ends, of total length
 * hi - lo, lie in bands whose smallest u is known (per-band minima from
 * one pass): that gives a lower bound of their means (see series_mmu).
 * Visit bands by increasing bound and sweep a band exactly only while its
 * bound is below the best mean found (and that is above 0): on real
 * traces a small fraction of the bands is swept.
 *
 * MUD of window w: between consecutive candidates the mean is linear in
 * s, so each piece spreads its length uniformly over the values between
 * its ends; a histogram takes each piece in O(1) (a difference array for
 * the fully covered buckets) and quantiles interpolate within a bucket.
 */
#include "trace/mmu.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void errf(char *err, size_t len, const char *fmt, ...) {
  if (!err || !len)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------ building */

typedef struct change {
  int64_t t;
  int32_t v; /* stream list: new busy (0/1); global list: see gkind */
  int32_t kind;
} change_t;

enum { G_STW_START, G_STW_END, G_PROCS };

typedef struct clist {
  change_t *a;
  size_t n, cap;
} clist_t;

typedef struct sstate {
  clist_t ch;
  uint32_t bits;    /* kinds running now */
  uint32_t seen;    /* kinds seen at all */
  int init_busy;    /* busy from the trace start */
  int idle_mark;    /* an idle mark worker runs: not counted (see below) */
} sstate_t;

struct hlt_util_builder {
  unsigned flags;
  int nprocs;
  sstate_t s[TRACE_MAX_PROCS + 1]; /* 0: global buffer, i+1: P i */
  clist_t g;
  int maxp; /* highest P id seen + 1 */
};

static int clist_push(clist_t *l, int64_t t, int32_t v, int32_t kind) {
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 256;
    change_t *a = realloc(l->a, nc * sizeof *a);
    if (!a)
      return -1;
    l->a = a;
    l->cap = nc;
  }
  l->a[l->n++] = (change_t){t, v, kind};
  return 0;
}

hlt_util_builder_t *hlt_util_builder_new(unsigned flags, int nprocs) {
  hlt_util_builder_t *b = calloc(1, sizeof *b);
  if (b) {
    b->flags = flags;
    b->nprocs = nprocs > 0 ? nprocs : 1;
  }
  return b;
}

static void builder_free(hlt_util_builder_t *b) {
  for (int i = 0; i <= TRACE_MAX_PROCS; i++)
    free(b->s[i].ch.a);
  free(b->g.a);
  free(b);
}

/* GC work kinds: bit and flag. */
static int work_bit(uint32_t kind, bool *start) {
  *start = true;
  switch (kind) {
  case TRACE_EV_MARK_END:
    *start = false;
    /* fall through */
  case TRACE_EV_MARK_START:
    return 1;
  case TRACE_EV_ASSIST_END:
    *start = false;
    /* fall through */
  case TRACE_EV_ASSIST_START:
    return 2;
  case TRACE_EV_SWEEP_END:
    *start = false;
    /* fall through */
  case TRACE_EV_SWEEP_START:
    return 4;
  default:
    return 0;
  }
}

static unsigned bit_flag(int bit) {
  return bit == 1 ? HLT_UTIL_BACKGROUND
                  : bit == 2 ? HLT_UTIL_ASSIST : HLT_UTIL_SWEEP;
}

int hlt_util_builder_add(hlt_util_builder_t *b, const hlt_event_t *ev,
                         char *err, size_t errlen) {
  int64_t t = ev->ts;
  switch (ev->kind) {
  case TRACE_EV_STW_START:
  case TRACE_EV_STW_END:
    if (!(b->flags & HLT_UTIL_STW))
      return 0;
    if (clist_push(&b->g, t, (int32_t)(ev->offset & 0x7fffffff),
                   ev->kind == TRACE_EV_STW_START ? G_STW_START : G_STW_END))
      goto oom;
    return 0;
  case TRACE_EV_PROCS:
    if (clist_push(&b->g, t, (int32_t)ev->args[0], G_PROCS))
      goto oom;
    return 0;
  default:
    break;
  }
  bool start;
  int bit = work_bit(ev->kind, &start);
  if (!bit)
    return 0;
  int idx = ev->p + 1;
  if (ev->p >= 0 && ev->p + 1 > b->maxp)
    b->maxp = ev->p + 1;
  if (!(b->flags & bit_flag(bit)))
    return 0;
  sstate_t *s = &b->s[idx];
  /* Idle mark workers run only on a P with nothing else to run: they take
   * no time from the mutator, and Go's MMU leaves them out too ("GC
   * (idle)" workers are not background work in its utilization). */
  if (ev->kind == TRACE_EV_MARK_START && ev->args[0] == TRACE_MARK_IDLE) {
    s->idle_mark = 1;
    return 0;
  }
  if (ev->kind == TRACE_EV_MARK_END && s->idle_mark) {
    s->idle_mark = 0;
    return 0;
  }
  uint32_t before = s->bits;
  if (start) {
    if (s->bits & (uint32_t)bit) {
      errf(err, errlen,
           "offset %llu: %s on P %d while one is already running there",
           (unsigned long long)ev->offset, trace_evinfo[ev->kind].name,
           ev->p);
      return -1;
    }
    s->bits |= (uint32_t)bit;
  } else if (s->bits & (uint32_t)bit) {
    s->bits &= ~(uint32_t)bit;
  } else if (!(s->seen & (uint32_t)bit) && s->ch.n == 0) {
    /* started before the trace: busy from the start until now */
    s->init_busy = 1;
    before = 1;
  } else {
    errf(err, errlen, "offset %llu: %s on P %d without a start",
         (unsigned long long)ev->offset, trace_evinfo[ev->kind].name, ev->p);
    return -1;
  }
  s->seen |= (uint32_t)bit;
  int now = s->bits != 0;
  if ((before != 0) != now && clist_push(&s->ch, t, now, 0))
    goto oom;
  return 0;
oom:
  errf(err, errlen, "out of memory");
  return -1;
}

static int cmp_change(const void *a, const void *b) {
  const change_t *x = a, *y = b;
  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  /* at one instant: ends before starts (a zero-length gap is no gap) */
  return (x->kind == G_STW_END ? 0 : 1) - (y->kind == G_STW_END ? 0 : 1);
}

typedef struct sbuild {
  int64_t *t;
  double *u;
  size_t n, cap;
} sbuild_t;

static int sb_put(sbuild_t *s, int64_t t, double u) {
  if (s->n && s->t[s->n - 1] == t) {
    s->u[s->n - 1] = u;
    if (s->n >= 2 && s->u[s->n - 2] == u)
      s->n--;
    return 0;
  }
  if (s->n && s->u[s->n - 1] == u)
    return 0;
  if (s->n + 1 >= s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 256;
    int64_t *nt = realloc(s->t, nc * sizeof *nt);
    if (nt)
      s->t = nt;
    double *nu = realloc(s->u, nc * sizeof *nu);
    if (nu)
      s->u = nu;
    if (!nt || !nu)
      return -1;
    s->cap = nc;
  }
  s->t[s->n] = t;
  s->u[s->n] = u;
  s->n++;
  return 0;
}

static int sb_finish(sbuild_t *s, int64_t end, hlt_util_series_t *out) {
  if (s->n == 0 && sb_put(s, 0, 1.0))
    return -1;
  if (s->n && s->t[s->n - 1] >= end && s->n > 1)
    s->n--; /* a step starting at the end is empty */
  if (sb_put(s, end, -1.0)) /* sentinel time t[n] */
    return -1;
  out->t = s->t;
  out->u = s->u;
  out->n = s->n - 1;
  out->t[out->n] = end;
  return 0;
}

/* Min-heap of stream heads, keyed by the time of their next change. */
typedef struct mheap {
  int *idx;
  size_t *pos;
  int n;
  sstate_t *s;
} mheap_t;

static int64_t mh_key(const mheap_t *h, int i) {
  return h->s[i].ch.a[h->pos[i]].t;
}

static void mh_down(mheap_t *h, int k) {
  for (;;) {
    int l = 2 * k + 1, m = k;
    if (l < h->n && mh_key(h, h->idx[l]) < mh_key(h, h->idx[m]))
      m = l;
    if (l + 1 < h->n && mh_key(h, h->idx[l + 1]) < mh_key(h, h->idx[m]))
      m = l + 1;
    if (m == k)
      return;
    int x = h->idx[k];
    h->idx[k] = h->idx[m];
    h->idx[m] = x;
    k = m;
  }
}

int hlt_util_builder_finish(hlt_util_builder_t *b, int64_t end,
                            hlt_util_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  int rc = -1;
  if (b->g.n) /* qsort(NULL, 0, ...) is undefined */
    qsort(b->g.a, b->g.n, sizeof(change_t), cmp_change);
  /* STW nesting, in time order */
  int depth = 0, init_stw = 0;
  for (size_t i = 0; i < b->g.n; i++) {
    change_t *c = &b->g.a[i];
    if (c->kind == G_STW_START) {
      if (depth) {
        errf(err, errlen, "offset %d: STW_START while the world is stopped",
             c->v);
        goto done;
      }
      depth = 1;
    } else if (c->kind == G_STW_END) {
      if (!depth) {
        bool first = true;
        for (size_t j = 0; j < i; j++)
          first &= b->g.a[j].kind == G_PROCS;
        if (!first) {
          errf(err, errlen, "offset %d: STW_END without a STW_START", c->v);
          goto done;
        }
        init_stw = 1;
      }
      depth = 0;
    }
  }
  int nprocs = b->nprocs;
  for (size_t i = 0; i < b->g.n; i++)
    if (b->g.a[i].kind == G_PROCS && b->g.a[i].v > nprocs)
      nprocs = b->g.a[i].v; /* per P: every P that ever existed */
  if (b->maxp > nprocs)
    nprocs = b->maxp;
  bool perproc = b->flags & HLT_UTIL_PERPROC;
  int nseries = perproc ? nprocs : 1;
  out->series = calloc((size_t)nseries, sizeof *out->series);
  if (!out->series)
    goto oom;
  out->nseries = nseries;
  out->start = 0;
  out->end = end;
  for (int sidx = 0; sidx < nseries; sidx++) {
    /* streams merged into this series */
    int first = perproc ? sidx + 1 : 0;
    int last = perproc ? sidx + 1 : TRACE_MAX_PROCS;
    mheap_t h = {malloc(sizeof(int) * (size_t)(last - first + 1)),
                 calloc(TRACE_MAX_PROCS + 1, sizeof(size_t)), 0, b->s};
    if (!h.idx || !h.pos) {
      free(h.idx);
      free(h.pos);
      goto oom;
    }
    int busy = 0;
    for (int i = first; i <= last; i++) {
      busy += b->s[i].init_busy;
      if (b->s[i].ch.n)
        h.idx[h.n++] = i;
    }
    for (int k = h.n / 2 - 1; k >= 0; k--)
      mh_down(&h, k);
    int stw = init_stw, np = b->nprocs;
    size_t gi = 0;
    sbuild_t sb = {0};
    int bad = 0;
#define UTIL_NOW()                                                             \
  (stw ? 0.0                                                                   \
   : perproc ? (busy ? 0.0 : 1.0)                                              \
             : (busy >= np ? 0.0 : 1.0 - (double)busy / np))
    bad |= sb_put(&sb, 0, UTIL_NOW());
    for (;;) {
      int64_t th = h.n ? mh_key(&h, h.idx[0]) : INT64_MAX;
      int64_t tg = gi < b->g.n ? b->g.a[gi].t : INT64_MAX;
      if (th == INT64_MAX && tg == INT64_MAX)
        break;
      int64_t t;
      if (tg <= th) {
        change_t *c = &b->g.a[gi++];
        t = c->t;
        if (c->kind == G_STW_START)
          stw = 1;
        else if (c->kind == G_STW_END)
          stw = 0;
        else
          np = c->v;
      } else {
        int i = h.idx[0];
        change_t *c = &b->s[i].ch.a[h.pos[i]++];
        t = c->t;
        busy += c->v ? 1 : -1;
        if (h.pos[i] == b->s[i].ch.n)
          h.idx[0] = h.idx[--h.n];
        mh_down(&h, 0);
      }
      if (t < 0)
        t = 0;
      if (t > end)
        t = end;
      bad |= sb_put(&sb, t, UTIL_NOW());
    }
#undef UTIL_NOW
    free(h.idx);
    free(h.pos);
    if (bad || sb_finish(&sb, end, &out->series[sidx])) {
      free(sb.t);
      free(sb.u);
      goto oom;
    }
  }
  rc = 0;
  goto done;
oom:
  errf(err, errlen, "out of memory");
done:
  if (rc)
    hlt_util_free(out);
  builder_free(b);
  return rc;
}

int hlt_util_read(hlt_reader_t *r, unsigned flags, hlt_util_t *out, char *err,
                  size_t errlen) {
  hlt_util_builder_t *b =
      hlt_util_builder_new(flags, hlt_header(r)->nprocs);
  if (!b) {
    errf(err, errlen, "out of memory");
    return -1;
  }
  hlt_event_t ev;
  int k;
  while ((k = hlt_next(r, &ev)) > 0) {
    if (hlt_util_builder_add(b, &ev, err, errlen)) {
      builder_free(b);
      return -1;
    }
  }
  if (k < 0) {
    errf(err, errlen, "%s", hlt_error(r));
    builder_free(b);
    return -1;
  }
  return hlt_util_builder_finish(b, hlt_end(r)->ts, out, err, errlen);
}

void hlt_util_free(hlt_util_t *u) {
  for (int i = 0; i < u->nseries; i++) {
    free(u->series[i].t);
    free(u->series[i].u);
  }
  free(u->series);
  memset(u, 0, sizeof *u);
}

/* ----------------------------------------------------------------- MMU */

typedef struct mseries {
  const int64_t *t; /* t[0..n] */
  const double *u;  /* u[0..n-1] */
  size_t n;
  double *I; /* I[k] = integral of u over [t[0], t[k]], k = 0..n */
} mseries_t;

struct hlt_mmu {
  mseries_t *s;
  int ns;
  int64_t start, end;
};

hlt_mmu_t *hlt_mmu_new(const hlt_util_t *u) {
  hlt_mmu_t *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->s = calloc((size_t)(u->nseries ? u->nseries : 1), sizeof *m->s);
  if (!m->s) {
    free(m);
    return NULL;
  }
  m->ns = u->nseries;
  m->start = u->start;
  m->end = u->end;
  for (int i = 0; i < u->nseries; i++) {
    mseries_t *s = &m->s[i];
    s->t = u->series[i].t;
    s->u = u->series[i].u;
    s->n = u->series[i].n;
    s->I = malloc((s->n + 1) * sizeof(double));
    if (!s->I) {
      hlt_mmu_free(m);
      return NULL;
    }
    s->I[0] = 0;
    for (size_t k = 0; k < s->n; k++)
      s->I[k + 1] = s->I[k] + s->u[k] * (double)(s->t[k + 1] - s->t[k]);
  }
  return m;
}

void hlt_mmu_free(hlt_mmu_t *m) {
  if (!m)
    return;
  for (int i = 0; i < m->ns; i++)
    free(m->s[i].I);
  free(m->s);
  free(m);
}

/* Largest k < n with t[k] <= x (0 if x < t[0]). */
static size_t find(const mseries_t *s, int64_t x) {
  size_t lo = 0, hi = s->n; /* t[lo] <= x < t[hi] */
  if (s->n == 0 || x < s->t[0])
    return 0;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->t[mid] <= x)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* A(x) with k a hint: moves k forward to the step holding x. */
static inline double integ(const mseries_t *s, size_t *k, int64_t x) {
  while (*k + 1 < s->n && s->t[*k + 1] <= x)
    (*k)++;
  return s->I[*k] + s->u[*k] * (double)(x - s->t[*k]);
}

typedef void (*piece_fn)(void *ctx, int64_t s0, double m0, int64_t s1,
                         double m1);

/* Sweeps the window starts s in [lo, hi] at every candidate; returns the
 * smallest mean; calls piece(ctx, ...) for each linear piece if set. */
static double sweep(const mseries_t *s, int64_t w, int64_t lo, int64_t hi,
                    piece_fn piece, void *ctx) {
  size_t ka = find(s, lo), kb = find(s, lo + w);
  size_t i = ka + 1, j = kb + 1; /* next edge after lo, after lo + w */
  double dw = (double)w;
  double best = (integ(s, &kb, lo + w) - integ(s, &ka, lo)) / dw;
  int64_t ps = lo;
  double pm = best;
  for (;;) {
    int64_t ci = i <= s->n ? s->t[i] : INT64_MAX;
    int64_t cj = j <= s->n ? s->t[j] - w : INT64_MAX;
    int64_t c = ci < cj ? ci : cj;
    if (c >= hi)
      c = hi;
    if (c == ci)
      i++;
    if (c == cj)
      j++;
    if (c <= ps && c != hi)
      continue;
    double mv = (integ(s, &kb, c + w) - integ(s, &ka, c)) / dw;
    if (mv < best)
      best = mv;
    if (piece && c > ps)
      piece(ctx, ps, pm, c, mv);
    ps = c;
    pm = mv;
    if (c >= hi)
      break;
  }
  return best;
}

static double series_total_mean(const mseries_t *s) {
  int64_t d = s->t[s->n] - s->t[0];
  return d > 0 ? s->I[s->n] / (double)d : 1.0;
}

typedef struct band {
  int64_t lo, hi;
  double lb;
} band_t;

static int cmp_band(const void *a, const void *b) {
  double x = ((const band_t *)a)->lb, y = ((const band_t *)b)->lb;
  return x < y ? -1 : x > y;
}

static double series_mmu(const mseries_t *s, int64_t w, band_t *bands,
                         double *bmin, int maxbands) {
  int64_t start = s->t[0], end = s->t[s->n];
  if (w <= 0 || s->n == 0)
    return s->n ? 0.0 : 1.0;
  if (w >= end - start)
    return series_total_mean(s);
  int64_t last = end - w; /* window starts: [start, last] */
  int64_t bw = w / 8 > 0 ? w / 8 : 1;
  if ((end - start) / bw + 1 > maxbands)
    bw = (end - start) / maxbands + 1;
  int nall = (int)((end - start) / bw + 1); /* bands over all of [start, end] */
  /* bmin[i]: smallest u in band i, in one pass without divisions (a step
   * touches the bands it overlaps; consecutive steps share at most one) */
  for (int i = 0; i < nall; i++)
    bmin[i] = 1.0;
  int b = 0;
  int64_t bend = start + bw;
  for (size_t k = 0; k < s->n; k++) {
    while (bend <= s->t[k] && b + 1 < nall) {
      b++;
      bend += bw;
    }
    double uk = s->u[k];
    if (uk < bmin[b])
      bmin[b] = uk;
    for (int bb = b + 1; bend + (int64_t)(bb - b - 1) * bw < s->t[k + 1] &&
                         bb < nall;
         bb++)
      if (uk < bmin[bb])
        bmin[bb] = uk;
  }
  int nb = (int)((last - start) / bw + 1);
  size_t ka = 0, kb = 0;
  for (int j = 0; j < nb; j++) {
    band_t *bd = &bands[j];
    bd->lo = start + (int64_t)j * bw;
    bd->hi = bd->lo + bw < last ? bd->lo + bw : last;
    /* A window [s, s + w] with s in [lo, hi] is [s, hi) in band j, then
     * [hi, lo + w] (the same for all), then (lo + w, s + w] in the bands
     * of [lo + w, hi + w]; the two ends add up to hi - lo. So its mean is
     * at least (A(lo + w) - A(hi) + (hi - lo) * umin) / w, with umin the
     * smallest u of those bands; and at least umin over all bands it can
     * touch when the band is wider than the window. */
    int64_t e0 = (bd->lo + w - start) / bw, e1 = (bd->hi + w - start) / bw;
    double lb;
    if (bd->hi < bd->lo + w) {
      double umin = bmin[j];
      for (int64_t i = e0; i <= e1 && i < nall; i++)
        if (bmin[i] < umin)
          umin = bmin[i];
      double a = integ(s, &ka, bd->hi), c = integ(s, &kb, bd->lo + w);
      lb = (c - a + (double)(bd->hi - bd->lo) * umin) / (double)w;
    } else {
      lb = 1.0;
      for (int64_t i = j; i <= e1 && i < nall; i++)
        if (bmin[i] < lb)
          lb = bmin[i];
    }
    bd->lb = lb - 1e-12; /* rounding must not hide the minimum */
  }
  /* sweep the band of the lowest bound first; then only the bands whose
   * bound is below what it found need sorting */
  int jmin = 0;
  for (int j = 1; j < nb; j++)
    if (bands[j].lb < bands[jmin].lb)
      jmin = j;
  double best = sweep(s, w, bands[jmin].lo, bands[jmin].hi, NULL, NULL);
  bands[jmin].lb = INFINITY;
  int nkeep = 0;
  for (int j = 0; j < nb; j++)
    if (bands[j].lb < best)
      bands[nkeep++] = bands[j];
  if (nkeep > 0)
    qsort(bands, (size_t)nkeep, sizeof *bands, cmp_band);
  for (int j = 0; j < nkeep && bands[j].lb < best && best > 0; j++) {
    double v = sweep(s, w, bands[j].lo, bands[j].hi, NULL, NULL);
    if (v < best)
      best = v;
  }
  return best;
}

#define MAX_BANDS 16384

double hlt_mmu_window(hlt_mmu_t *m, int64_t w) {
  band_t *bands = malloc((MAX_BANDS + 2) * sizeof *bands);
  double *bmin = malloc((MAX_BANDS + 2) * sizeof *bmin);
  if (!bands || !bmin) {
    free(bands);
    free(bmin);
    return NAN;
  }
  double best = 1.0;
  for (int i = 0; i < m->ns && best > 0; i++) {
    double v = series_mmu(&m->s[i], w, bands, bmin, MAX_BANDS);
    if (v < best)
      best = v;
  }
  free(bands);
  free(bmin);
  return best < 0 ? 0 : best;
}

double hlt_mmu_window_full(hlt_mmu_t *m, int64_t w) {
  double best = 1.0;
  for (int i = 0; i < m->ns; i++) {
    const mseries_t *s = &m->s[i];
    int64_t start = s->t[0], end = s->t[s->n];
    double v = w >= end - start ? series_total_mean(s)
                                : sweep(s, w, start, end - w, NULL, NULL);
    if (v < best)
      best = v;
  }
  return best < 0 ? 0 : best;
}

/* ---------------------------------------------------------------- MUD */

#define MUD_BUCKETS 16384

typedef struct mud {
  double *mass;  /* partial buckets and point masses */
  double *diff;  /* difference array of full-bucket masses */
  double total;
} mud_t;

static void mud_add(void *ctx, int64_t s0, double m0, int64_t s1, double m1) {
  mud_t *d = ctx;
  double len = (double)(s1 - s0);
  double lo = m0 < m1 ? m0 : m1, hi = m0 < m1 ? m1 : m0;
  if (lo < 0)
    lo = 0;
  if (hi > 1)
    hi = 1;
  if (lo > hi)
    lo = hi;
  d->total += len;
  double x0 = lo * MUD_BUCKETS, x1 = hi * MUD_BUCKETS;
  int b0 = (int)x0, b1 = (int)x1;
  if (b0 >= MUD_BUCKETS)
    b0 = MUD_BUCKETS - 1;
  if (b1 >= MUD_BUCKETS)
    b1 = MUD_BUCKETS - 1;
  if (b0 == b1 || x1 - x0 < 1e-12) {
    d->mass[b0] += len;
    return;
  }
  double dens = len / (x1 - x0); /* mass per bucket width */
  d->mass[b0] += dens * ((double)(b0 + 1) - x0);
  d->mass[b1] += dens * (x1 - (double)b1);
  d->diff[b0 + 1] += dens;
  d->diff[b1] -= dens;
}

void hlt_mmu_quantiles(hlt_mmu_t *m, int64_t w, const double *q, int nq,
                       double *out) {
  mud_t d = {calloc(MUD_BUCKETS, sizeof(double)),
             calloc(MUD_BUCKETS + 1, sizeof(double)), 0};
  if (!d.mass || !d.diff) {
    for (int i = 0; i < nq; i++)
      out[i] = NAN;
    goto done;
  }
  double mmu = 1.0;
  for (int i = 0; i < m->ns; i++) {
    const mseries_t *s = &m->s[i];
    int64_t start = s->t[0], end = s->t[s->n];
    double v;
    if (w >= end - start || w <= 0) {
      v = series_total_mean(s);
      mud_add(&d, 0, v, 1, v);
    } else {
      v = sweep(s, w, start, end - w, mud_add, &d);
      if (end - w == start)
        mud_add(&d, 0, v, 1, v);
    }
    if (v < mmu)
      mmu = v;
  }
  double run = 0;
  for (int b = 0; b < MUD_BUCKETS; b++) {
    run += d.diff[b];
    d.mass[b] += run;
  }
  for (int i = 0; i < nq; i++) {
    double target = q[i] * d.total, cum = 0, v = 1.0;
    for (int b = 0; b < MUD_BUCKETS; b++) {
      if (d.mass[b] > 0 && cum + d.mass[b] >= target) {
        double f = (target - cum) / d.mass[b];
        v = ((double)b + f) / MUD_BUCKETS;
        break;
      }
      cum += d.mass[b];
    }
    out[i] = v < mmu ? mmu : v;
    if (out[i] < 0)
      out[i] = 0;
  }
done:
  free(d.mass);
  free(d.diff);
}

/* ------------------------------------------------------------- helpers */

int hlt_mmu_windows(int64_t lo, int64_t hi, int per_decade, int64_t *out,
                    int max) {
  int n = 0;
  if (lo < 1)
    lo = 1;
  for (int i = 0; n < max; i++) {
    double w = (double)lo * pow(10.0, (double)i / per_decade);
    int64_t wi = (int64_t)llround(w);
    if (wi > hi)
      break;
    if (n == 0 || wi > out[n - 1])
      out[n++] = wi;
  }
  if (n < max && (n == 0 || out[n - 1] < hi))
    out[n++] = hi;
  return n;
}

int hlt_util_parse_flags(const char *s, unsigned *flags, char *err,
                         size_t errlen) {
  static const struct {
    const char *name;
    unsigned f;
  } words[] = {{"stw", HLT_UTIL_STW},
               {"background", HLT_UTIL_BACKGROUND},
               {"assist", HLT_UTIL_ASSIST},
               {"sweep", HLT_UTIL_SWEEP},
               {"perproc", HLT_UTIL_PERPROC},
               {"default", HLT_UTIL_DEFAULT},
               {"all", HLT_UTIL_STW | HLT_UTIL_BACKGROUND | HLT_UTIL_ASSIST |
                           HLT_UTIL_SWEEP}};
  unsigned f = 0;
  const char *p = s;
  while (*p) {
    size_t l = strcspn(p, ",");
    size_t i;
    for (i = 0; i < sizeof words / sizeof words[0]; i++)
      if (strlen(words[i].name) == l && strncmp(words[i].name, p, l) == 0)
        break;
    if (i == sizeof words / sizeof words[0]) {
      errf(err, errlen,
           "unknown utilization flag \"%.*s\" (valid: stw, background, "
           "assist, sweep, perproc, default, all)",
           (int)l, p);
      return -1;
    }
    f |= words[i].f;
    p += l;
    if (*p == ',')
      p++;
  }
  if (!(f & ~HLT_UTIL_PERPROC)) {
    errf(err, errlen, "no kind of GC work chosen (give at least one of stw, "
                      "background, assist, sweep)");
    return -1;
  }
  *flags = f;
  return 0;
}
