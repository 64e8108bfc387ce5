/*
 * heaplab/trace.h — the execution tracer: start and stop a trace, and
 * annotate it from the program.
 *
 * A trace records what the runtime did, with timestamps: processors
 * starting and stopping, goroutines created, running, blocking (with the
 * reason), unblocked and ending, system calls, garbage collection cycles,
 * stop-the-world pauses, mark workers, assists, sweeping, heap counters,
 * and the program's own regions and log messages. It is written to a file
 * in a compact binary format (docs/trace-format.md) by a writer thread
 * while the program runs, and read by the `heaplab` command:
 *
 *   HLTRACE=out.hltrace ./prog         # trace from start-up to exit
 *   heaplab trace stats out.hltrace    # cycles, pauses, GC CPU, ...
 *   heaplab mmu out.hltrace            # minimum mutator utilization curve
 *   heaplab trace export --perfetto out.hltrace > out.json
 *
 * See docs/tracing.md.
 */
#ifndef HEAPLAB_TRACE_H
#define HEAPLAB_TRACE_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HL_API
#define HL_API __attribute__((visibility("default")))
#endif

/* Starts writing a trace to path (created or truncated). Returns 0,
 * -EBUSY when a trace is already being written, or a negative errno when
 * the file cannot be opened. Callable from any thread; blocks the calling
 * thread for the clock calibration the first time (about 2 ms). HLTRACE=path
 * starts one from hl_main and stops it at exit. */
HL_API int hl_trace_start(const char *path);

/* Stops the trace: every buffered event is written, then the end record,
 * and the file is closed. Returns 0, -EINVAL when no trace is being
 * written, or the negative errno of the first write that failed. Blocks the
 * calling thread until the file is complete. */
HL_API int hl_trace_stop(void);

/* True while a trace is being written. */
HL_API bool hl_trace_enabled(void);

/* A region of the calling goroutine's time named name (at most 1024
 * bytes are kept): begin and end must pair, with the same name, on the
 * same goroutine; regions may nest. Nothing happens when not tracing. */
HL_API void hl_trace_region_begin(const char *name);
HL_API void hl_trace_region_end(const char *name);

/* A timestamped message in category (both at most 1024 bytes kept). */
HL_API void hl_trace_log(const char *category, const char *message);

#ifdef __cplusplus
}
#endif

#endif
