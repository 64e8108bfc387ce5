/*
 * trace/reader.h — a streaming reader of heaplab traces
 * (docs/trace-format.md).
 *
 *   char err[256];
 *   hlt_reader_t *r = hlt_open_file(path, err, sizeof err);
 *   if (!r) { fprintf(stderr, "%s: %s\n", path, err); ... }
 *   hlt_event_t ev;
 *   int k;
 *   while ((k = hlt_next(r, &ev)) > 0)
 *     ...;
 *   if (k < 0) fprintf(stderr, "%s: %s\n", path, hlt_error(r));
 *   hlt_close(r);
 *
 * Events come in file order: each P's (and the global buffer's) events in
 * time order, the streams interleaved batch by batch. Memory use is one
 * batch (at most TRACE_MAX_BATCH bytes) whatever the file's size.
 *
 * Every byte is checked: the magic, the version, the header's fields and
 * name tables, each record's tag, each batch's P id, base tick (not before
 * the trace start nor before the previous batch of its P), sizes, each
 * event's kind, varints, arguments (reasons and modes within their name
 * tables, P counts within 1..1024), strings within the batch, the batch's
 * event count and length, the end record's totals, and nothing after it.
 * The first problem ends the reading with a message naming the byte offset
 * ("offset 1234: ..."); the reader never reads outside its buffers.
 */
#ifndef HL_TRACE_READER_H
#define HL_TRACE_READER_H

#include "trace/format.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct hlt_header {
  int version;
  int clock; /* enum trace_clock */
  uint64_t tick0;
  int64_t mono0; /* CLOCK_MONOTONIC ns at tick0 */
  uint64_t cal_ticks, cal_ns; /* cal_ticks ticks take cal_ns ns */
  int nprocs;                 /* HLMAXPROCS at start */
  int64_t pid;                /* process id of the traced program */
  /* name tables: names[t][i], t an enum trace_names */
  int nnames[TRACE_NAMES_COUNT_];
  char names[TRACE_NAMES_COUNT_][TRACE_MAX_NAMES][TRACE_MAX_NAME + 1];
} hlt_header_t;

typedef struct hlt_event {
  uint32_t kind;   /* enum trace_ev */
  int32_t p;       /* P id, -1: no P (global buffer) */
  int64_t ts;      /* ns since the trace start */
  uint64_t tick;   /* raw clock value */
  uint64_t offset; /* byte offset of the event in the file */
  uint64_t args[TRACE_MAX_ARGS];
  const char *str[TRACE_MAX_STRS]; /* valid until the next hlt_next; */
  uint32_t slen[TRACE_MAX_STRS];   /* not NUL-terminated */
} hlt_event_t;

typedef struct hlt_end {
  uint64_t tick;
  int64_t ts;   /* ns since the trace start */
  int64_t mono; /* CLOCK_MONOTONIC ns at the end */
  uint64_t nevents, nbatches, nlost;
} hlt_end_t;

typedef struct hlt_reader hlt_reader_t;

/* Opens a trace and reads its header. NULL with a message in err (with
 * the byte offset) when the file cannot be read or its header is wrong. */
hlt_reader_t *hlt_open_file(const char *path, char *err, size_t errlen);
/* The same over a stream the caller keeps open (closed by the caller). */
hlt_reader_t *hlt_open_stream(FILE *f, char *err, size_t errlen);
/* The same over memory, which must outlive the reader. */
hlt_reader_t *hlt_open_mem(const void *buf, size_t len, char *err,
                           size_t errlen);
/* Next event: 1 with *ev filled, 0 at the (valid) end record, -1 on an
 * error (hlt_error). After 0 or -1 it keeps returning the same. */
int hlt_next(hlt_reader_t *r, hlt_event_t *ev);
const char *hlt_error(const hlt_reader_t *r);
const hlt_header_t *hlt_header(const hlt_reader_t *r);
/* The end record (valid after hlt_next returned 0). */
const hlt_end_t *hlt_end(const hlt_reader_t *r);
void hlt_close(hlt_reader_t *r);

/* Name of entry i of table t, or "?" when the trace has none. */
const char *hlt_name(const hlt_header_t *h, int t, uint64_t i);
/* Ticks to ns since the trace start. */
int64_t hlt_ticks_ns(const hlt_header_t *h, uint64_t tick);

#endif
