/*
 * trace/synth.h — writes traces from given events (tests, benchmarks,
 * the fuzz corpus): the same format as the runtime's, with a nanosecond
 * clock (tick = ns since the start). Single-threaded.
 */
#ifndef HL_TRACE_SYNTH_H
#define HL_TRACE_SYNTH_H

#include "trace/format.h"

#include <stdint.h>
#include <stdio.h>

typedef struct hlt_synth hlt_synth_t;

/* Starts a trace in path with nprocs Ps (block reasons unnamed). */
hlt_synth_t *hlt_synth_open(const char *path, int nprocs);
/* Appends an event of P pid (-1: the global buffer) at t ns; t must not
 * go back within one pid. args: the kind's integers; strs: its strings
 * (may be NULL when it has none). Returns 0 or -1 (write error). */
int hlt_synth_event(hlt_synth_t *s, int32_t pid, uint32_t kind, uint64_t t,
                    const uint64_t *args, const char *const *strs);
/* Flushes, writes the end record at end_t and closes. 0 or -1. */
int hlt_synth_close(hlt_synth_t *s, uint64_t end_t);

#endif
