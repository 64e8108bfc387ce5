/*
 * trace/clock.h — the tracer's cheap clock: rdtsc on x86-64, the virtual
 * counter (cntvct_el0) on arm64, CLOCK_MONOTONIC elsewhere. Ticks are
 * converted to nanoseconds by the reader with the calibration the emitter
 * writes into the header (trace_clock_calibrate).
 *
 * rdtsc is used only where the kernel says the TSC is invariant
 * (constant_tsc and nonstop_tsc in /proc/cpuinfo): otherwise the emitter
 * falls back to CLOCK_MONOTONIC (trace_clock_kind tells which).
 */
#ifndef HL_TRACE_CLOCK_H
#define HL_TRACE_CLOCK_H

#include "base/os.h"
#include "trace/format.h"

#include <stdbool.h>
#include <stdint.h>

/* enum trace_clock in use (set once by trace_clock_init). */
extern int trace_clock_kind;

/* The hardware counter: true (and *t set) when the clock in use is one
 * (rdtsc, cntvct_el0), false when it is CLOCK_MONOTONIC. Inline and
 * without a call, so the emitter's fast path needs to save no register;
 * it takes the slow path for the other clock. */
static inline bool trace_ticks_hw(uint64_t *t) {
#if defined(__x86_64__)
  if (__builtin_expect(trace_clock_kind == TRACE_CLOCK_TSC, 1)) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    *t = ((uint64_t)hi << 32) | lo;
    return true;
  }
#elif defined(__aarch64__)
  if (__builtin_expect(trace_clock_kind == TRACE_CLOCK_CNTVCT, 1)) {
    uint64_t v;
    __asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v));
    *t = v;
    return true;
  }
#endif
  (void)t;
  return false;
}

static inline uint64_t trace_ticks(void) {
  uint64_t t;
  if (trace_ticks_hw(&t))
    return t;
  return (uint64_t)os_nanotime();
}

/* Chooses the clock (idempotent). */
void trace_clock_init(void);
/* A (ticks, ns) pair read as close together as possible. */
void trace_clock_pair(uint64_t *ticks, int64_t *ns);
/* Measures ticks against CLOCK_MONOTONIC: *ticks ticks took *ns ns.
 * Exact (1/1) for TRACE_CLOCK_NS; the counter frequency on arm64; a 2 ms
 * measurement on x86-64. */
void trace_clock_calibrate(uint64_t *ticks, uint64_t *ns);

#endif
