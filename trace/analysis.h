/*
 * trace/analysis.h — summaries and exports of a trace: the statistics of
 * `heaplab trace stats` and the Chrome trace-event JSON of
 * `heaplab trace export --perfetto`.
 */
#ifndef HL_TRACE_ANALYSIS_H
#define HL_TRACE_ANALYSIS_H

#include "trace/reader.h"

#include <stdint.h>
#include <stdio.h>

typedef struct hlt_stats {
  int64_t duration_ns;
  int nprocs;
  uint64_t nevents, nlost;
  uint64_t gc_cycles;             /* GC_START events */
  uint64_t npauses;               /* STW pauses */
  int64_t pause_p50, pause_p99, pause_max, pause_total; /* ns */
  int64_t mark_ns, assist_ns, sweep_ns; /* P time in each */
  double gc_cpu; /* (mark + assist + STW x nprocs) / (duration x nprocs) */
  uint64_t go_created, go_ended, go_blocks, go_max_alive;
  uint64_t syscalls;
  int64_t syscall_ns, syscall_p99, syscall_max;
  uint64_t heap_live_max, heap_goal_last, heap_rss_max;
  uint64_t regions, logs;
  double clock_drift_ppm; /* end record's clock vs the calibrated ticks */
  uint64_t block_by_reason[TRACE_MAX_NAMES];
} hlt_stats_t;

/* Reads the whole trace. 0, or -1 with a message (reader errors too). */
int hlt_stats_compute(hlt_reader_t *r, hlt_stats_t *st, char *err,
                      size_t errlen);
/* Prints st as "name: value" lines. */
void hlt_stats_print(FILE *out, const hlt_reader_t *r, const hlt_stats_t *st);

/* Writes the Chrome trace-event JSON of the trace to out: a track per P
 * (goroutine slices), a GC-work track per P (mark workers, assists,
 * sweeping), a GC track (cycles, STW pauses), heap counters, regions as
 * async slices and logs as instant events. 0, or -1 with a message (the
 * JSON written so far is closed so that it stays valid). */
int hlt_export_perfetto(hlt_reader_t *r, FILE *out, char *err, size_t errlen);

#endif
