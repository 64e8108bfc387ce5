/*
 * trace/mmu.h — mutator utilization and minimum mutator utilization
 * (MMU, Cheng & Blelloch, PLDI 2001), as Go's internal/trace computes
 * them.
 *
 * The utilization function u(t) in [0, 1] is the fraction of the Ps
 * running the mutator at time t. The flags choose what is not mutator:
 *   HLT_UTIL_STW         stop-the-world pauses (u = 0)
 *   HLT_UTIL_BACKGROUND  mark workers (dedicated, fractional, idle)
 *   HLT_UTIL_ASSIST      mark assists
 *   HLT_UTIL_SWEEP       sweeping
 *   HLT_UTIL_PERPROC     one function per P (each 0 or 1) instead of
 *                        one for the whole program (steps of 1/nprocs)
 * A P doing any of the selected kinds of work counts as one P of GC work,
 * whatever it does beside. Work recorded without a P counts for one P in
 * the whole-program function and for none per P.
 *
 * MMU(w) is the smallest mean of u over any window of length w; with
 * several functions (per P), the smallest over all of them. A window
 * longer than the trace is the whole trace. The mutator utilization
 * distribution (MUD) of w is the distribution of the window means over all
 * window positions; its quantile q ("the worst q of windows") is the
 * percentile curve point (q = 0.001, 0.01, 0.05 for 0.1 %, 1 %, 5 %).
 */
#ifndef HL_TRACE_MMU_H
#define HL_TRACE_MMU_H

#include "trace/reader.h"

#include <stddef.h>
#include <stdint.h>

enum hlt_util_flags {
  HLT_UTIL_STW = 1,
  HLT_UTIL_BACKGROUND = 2,
  HLT_UTIL_ASSIST = 4,
  HLT_UTIL_SWEEP = 8,
  HLT_UTIL_PERPROC = 16,
};
#define HLT_UTIL_DEFAULT (HLT_UTIL_STW | HLT_UTIL_BACKGROUND | HLT_UTIL_ASSIST)

/* A step function: u[k] on [t[k], t[k+1]) for k < n; t[n] is the end.
 * Times in ns since the trace start; t increasing. */
typedef struct hlt_util_series {
  int64_t *t;
  double *u;
  size_t n;
} hlt_util_series_t;

typedef struct hlt_util {
  hlt_util_series_t *series;
  int nseries;
  int64_t start, end;
} hlt_util_t;

typedef struct hlt_util_builder hlt_util_builder_t;

/* A builder fed events in the reader's order (each P's in time order). */
hlt_util_builder_t *hlt_util_builder_new(unsigned flags, int nprocs);
/* Adds one event. -1 with a message (naming the event's offset) when the
 * event contradicts the ones before (a nested or unmatched start/end). */
int hlt_util_builder_add(hlt_util_builder_t *b, const hlt_event_t *ev,
                         char *err, size_t errlen);
/* Builds the functions over [0, end] and frees the builder. -1 with a
 * message on an inconsistency found only in time order (STW). */
int hlt_util_builder_finish(hlt_util_builder_t *b, int64_t end,
                            hlt_util_t *out, char *err, size_t errlen);
/* Reads a whole trace into *out. -1 with a message (reader errors too). */
int hlt_util_read(hlt_reader_t *r, unsigned flags, hlt_util_t *out, char *err,
                  size_t errlen);
void hlt_util_free(hlt_util_t *u);

typedef struct hlt_mmu hlt_mmu_t;

/* Prepares the MMU of u (keeps pointers into u: free u after). */
hlt_mmu_t *hlt_mmu_new(const hlt_util_t *u);
void hlt_mmu_free(hlt_mmu_t *m);
/* Exact MMU for window w ns (banded: exact only where a lower bound says
 * the minimum may be). */
double hlt_mmu_window(hlt_mmu_t *m, int64_t w);
/* The same by evaluating every candidate window (reference for tests). */
double hlt_mmu_window_full(hlt_mmu_t *m, int64_t w);
/* Quantiles q[i] (0..1) of the MUD of window w into out[i], within about
 * 1e-4 (a histogram of 16384 buckets), and never below the MMU. */
void hlt_mmu_quantiles(hlt_mmu_t *m, int64_t w, const double *q, int nq,
                       double *out);
/* Log-spaced windows from lo to hi, per_decade a decade (at most max):
 * returns how many were written. */
int hlt_mmu_windows(int64_t lo, int64_t hi, int per_decade, int64_t *out,
                    int max);

/* Parses "stw,background,assist,sweep,perproc" (any subset, or "all",
 * or "default"). 0 or -1 naming the bad word in err. */
int hlt_util_parse_flags(const char *s, unsigned *flags, char *err,
                         size_t errlen);

#endif
