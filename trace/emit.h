/*
 * trace/emit.h — the runtime's side of the execution tracer: one call per
 * event, made where the event happens (the scheduler in sched/, the
 * collector in gc/). Public control and user annotations are in
 * include/heaplab/trace.h; the format in trace/format.h and
 * docs/trace-format.md.
 *
 * Cost when tracing is off: each hook is inline and does one relaxed load
 * of a global flag and a branch predicted not taken (trace_enabled()).
 * The hooks that say which P a thread holds (trace_proc_start/stop,
 * trace_go_syscall*) and which goroutine it runs (trace_go_start) also
 * store a thread-local word, on or off, so that a trace started at run
 * time knows where every thread's events belong.
 *
 * Which buffer an event goes to: the P the calling thread holds (per-P
 * buffer, appended without locks or atomic read-modify-writes), or,
 * without a P (sysmon, a goroutine in a syscall, a thread outside the
 * runtime), a global buffer under a lock. The scheduler tells the tracer
 * which P a thread holds through these hooks only; the tracer knows
 * nothing else of the scheduler.
 *
 * Rules for callers:
 *  - trace_proc_start(id) right after a thread takes P id, and
 *    trace_proc_stop() right before it lets the P go (another thread may
 *    take it as soon as it is released); trace_go_syscall() before a P is
 *    left in a syscall, trace_go_syscall_end(goid, id) after it is taken
 *    back; trace_proc_lost() when a signal handler takes the P away.
 *  - Hooks run in any context but a signal handler (except
 *    trace_proc_lost). They never allocate with the heaplab allocator,
 *    never park and never take a runtime lock other than the tracer's own
 *    (a leaf).
 *  - GC hooks (used by gc/): trace_gc_start/end around a cycle;
 *    trace_stw_start(reason)/trace_stw_end around a stop-the-world (from
 *    the thread that stops it); trace_mark_worker_start(mode)/end,
 *    trace_assist_start/end and trace_sweep_start/end on the P doing the
 *    work (they nest neither with themselves nor with each other on one
 *    P); trace_heap_live/goal/rss whenever the value changes enough to be
 *    worth a point on a plot.
 */
#ifndef HL_TRACE_EMIT_H
#define HL_TRACE_EMIT_H

#include "base/atomic.h"
#include "base/debug.h"
#include "trace/format.h"

#include <stdbool.h>
#include <stdint.h>

/* 1 while a trace is being written (written under the tracer's control
 * lock; read relaxed by the hooks, acquire by the emitter). */
extern _Atomic uint32_t trace_on;
/* P held by this thread (-1: none); goroutine it runs (0: none). */
extern __thread int32_t trace_tls_pid __attribute__((tls_model("initial-exec")));
extern __thread int64_t trace_tls_goid
    __attribute__((tls_model("initial-exec")));

static inline bool trace_enabled(void) {
  return hl_unlikely(atomic_load_relaxed(&trace_on) != 0);
}

/* Out of line: append one event to this thread's buffer. trace_evN_
 * take the kind's N arguments (the hooks' fast paths); trace_ev_ any
 * kind without strings (the argument count from trace_evinfo). */
void trace_ev0_(uint32_t kind);
void trace_ev1_(uint32_t kind, uint64_t a0);
void trace_ev2_(uint32_t kind, uint64_t a0, uint64_t a1);
void trace_ev_(uint32_t kind, uint64_t a0, uint64_t a1);
void trace_go_start_same_(int64_t goid);
void trace_ev_gc_(uint32_t kind); /* GC_START / GC_END: cycle numbers */

/* Called once by hl_main before the first P is taken: the number of Ps,
 * the goroutine block reasons' names (reason -> name, nreasons of them),
 * and starts the trace named by HLTRACE if set (exits with status 2 when
 * the file cannot be written). */
void trace_init(int nprocs, const char *(*block_reason_name)(uint32_t),
                int nreasons);

/* ---- processors ---- */
static inline void trace_proc_start(int32_t pid) {
  trace_tls_pid = pid;
  if (trace_enabled())
    trace_ev_(TRACE_EV_PROC_START, 0, 0);
}
static inline void trace_proc_stop(void) {
  if (trace_enabled())
    trace_ev0_(TRACE_EV_PROC_STOP);
  trace_tls_pid = -1;
}
/* Async-signal-safe: the preemption handler took this thread's P. */
static inline void trace_proc_lost(void) { trace_tls_pid = -1; }
void trace_procs(int n); /* the number of Ps changed */

/* ---- goroutines ---- */
static inline void trace_go_create(int64_t goid) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_GO_CREATE, (uint64_t)goid);
}
static inline void trace_go_start(int64_t goid) {
  trace_tls_goid = goid;
  if (trace_enabled())
    trace_ev1_(TRACE_EV_GO_START, (uint64_t)goid);
}
/* goid starts running on this P at the tick of this P's previous event,
 * without reading the clock: for a switch straight from the goroutine
 * that emitted that event (GO_BLOCK or GO_YIELD) to goid, in the same
 * critical section and with nothing that waits in between (the scheduler's
 * direct switch). It saves one clock read per switch, a seventh of a
 * thread-ring hop; the start is stamped early by the few loads and stores
 * between the two events (tens of nanoseconds at most). */
static inline void trace_go_start_same(int64_t goid) {
  trace_tls_goid = goid;
  if (trace_enabled())
    trace_go_start_same_(goid);
}
static inline void trace_go_yield(int64_t goid) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_GO_YIELD, (uint64_t)goid);
}
static inline void trace_go_block(int64_t goid, int reason) {
  if (trace_enabled())
    trace_ev2_(TRACE_EV_GO_BLOCK, (uint64_t)goid, (uint64_t)reason);
}
static inline void trace_go_unblock(int64_t goid) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_GO_UNBLOCK, (uint64_t)goid);
}
static inline void trace_go_end(int64_t goid) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_GO_END, (uint64_t)goid);
}
/* The calling goroutine enters a syscall: its P is no longer this
 * thread's (call before the P can be retaken). */
static inline void trace_go_syscall(int64_t goid) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_GO_SYSCALL, (uint64_t)goid);
  trace_tls_pid = -1;
}
/* Back from the syscall holding P pid (-1: none yet). */
static inline void trace_go_syscall_end(int64_t goid, int32_t pid) {
  trace_tls_pid = pid;
  if (trace_enabled())
    trace_ev1_(TRACE_EV_GO_SYSCALL_END, (uint64_t)goid);
}

/* ---- garbage collector ---- */
static inline void trace_gc_start(void) {
  if (trace_enabled())
    trace_ev_gc_(TRACE_EV_GC_START);
}
static inline void trace_gc_end(void) {
  if (trace_enabled())
    trace_ev_gc_(TRACE_EV_GC_END);
}
/* reason: enum trace_stw_reason */
static inline void trace_stw_start(int reason) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_STW_START, (uint64_t)reason);
}
static inline void trace_stw_end(void) {
  if (trace_enabled())
    trace_ev0_(TRACE_EV_STW_END);
}
/* mode: enum trace_mark_mode */
static inline void trace_mark_worker_start(int mode) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_MARK_START, (uint64_t)mode);
}
static inline void trace_mark_worker_end(void) {
  if (trace_enabled())
    trace_ev0_(TRACE_EV_MARK_END);
}
static inline void trace_assist_start(void) {
  if (trace_enabled())
    trace_ev0_(TRACE_EV_ASSIST_START);
}
static inline void trace_assist_end(void) {
  if (trace_enabled())
    trace_ev0_(TRACE_EV_ASSIST_END);
}
static inline void trace_sweep_start(void) {
  if (trace_enabled())
    trace_ev0_(TRACE_EV_SWEEP_START);
}
static inline void trace_sweep_end(uint64_t npages) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_SWEEP_END, npages);
}
static inline void trace_heap_live(uint64_t bytes) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_HEAP_LIVE, bytes);
}
static inline void trace_heap_goal(uint64_t bytes) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_HEAP_GOAL, bytes);
}
static inline void trace_heap_rss(uint64_t bytes) {
  if (trace_enabled())
    trace_ev1_(TRACE_EV_HEAP_RSS, bytes);
}

#endif
