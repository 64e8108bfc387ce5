/*
 * tools/heaplab/hiccup.h — the machine's own stalls, as `heaplab hiccup`
 * measures them: threads that do nothing but read the clock record every
 * gap longer than a threshold (the thread was not running: the kernel ran
 * something else, or the hypervisor took the virtual CPU — steal time that
 * no context switch or CPU clock of the guest shows). From the gaps, the
 * utilization ceiling they put on any program measured on this machine:
 * for a window w, the smallest fraction of any window of length w in which
 * the spinning threads ran (the MMU of a program with no collector at
 * all). A collector's MMU measured here cannot be read as finer than that.
 */
#ifndef HL_TOOLS_HEAPLAB_HICCUP_H
#define HL_TOOLS_HEAPLAB_HICCUP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hl_gap {
  int64_t start; /* ns since the measurement began */
  int64_t len;   /* ns */
} hl_gap_t;

/* The smallest utilization over every window of length w inside [0,
 * duration) of nthreads threads whose stalls are gaps[t][0..ngaps[t]) (each
 * thread's sorted by start, not overlapping): 1 - (the stalled time of all
 * threads inside the window) / (nthreads * w). 1 when w > duration or
 * there are no gaps; exact (the worst window starts at a gap's start or
 * ends at a gap's end); -1 when out of memory. */
double hl_hiccup_min_util(const hl_gap_t *const *gaps, const size_t *ngaps,
                          int nthreads, int64_t duration, int64_t w);

#endif
