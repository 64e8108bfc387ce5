/*
 * trace/format.h — the binary trace format shared by the emitter
 * (emit.c) and the reader (reader.c): constants, event kinds, their
 * arguments, and the varint codec. The format is described for humans in
 * docs/trace-format.md; a change here that changes the bytes on disk
 * bumps TRACE_VERSION.
 *
 * File layout:
 *   header   "HLTRACE\0", version (u16 little endian), header length
 *            (uvarint), header fields (uvarints, then name tables)
 *   records  a tag byte each: TRACE_REC_BATCH (a P's or the global
 *            buffer's events) or TRACE_REC_END (the last record)
 * An event inside a batch: kind byte, tick delta (uvarint) from the
 * previous event of the batch (the first: from the batch's base tick),
 * then the kind's arguments: `nargs` uvarints, then `nstr` strings
 * (uvarint length, bytes).
 */
#ifndef HL_TRACE_FORMAT_H
#define HL_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_MAGIC "HLTRACE" /* + NUL: 8 bytes */
#define TRACE_MAGIC_LEN 8
#define TRACE_VERSION 1

#define TRACE_REC_BATCH 0x42 /* 'B' */
#define TRACE_REC_END 0x45   /* 'E' */

#define TRACE_MAX_PROCS 1024      /* P ids are 0..TRACE_MAX_PROCS-1 */
#define TRACE_MAX_BATCH (1u << 20) /* bytes of events in one batch */
#define TRACE_MAX_STRING 1024      /* bytes of one string argument */
#define TRACE_MAX_HEADER (1u << 16)
#define TRACE_MAX_NAMES 256 /* entries of one name table */
#define TRACE_MAX_NAME 64   /* bytes of one name */

/* Clock of the tick values (header field clock). */
enum trace_clock {
  TRACE_CLOCK_NS = 1,    /* CLOCK_MONOTONIC nanoseconds */
  TRACE_CLOCK_TSC = 2,   /* x86-64 rdtsc */
  TRACE_CLOCK_CNTVCT = 3 /* arm64 virtual counter */
};

/* Name tables in the header (table id, count, names). */
enum trace_names {
  TRACE_NAMES_BLOCK = 1, /* goroutine block reasons (sched waitreason) */
  TRACE_NAMES_STW = 2,   /* stop-the-world reasons */
  TRACE_NAMES_MARK = 3,  /* mark worker modes */
  TRACE_NAMES_COUNT_
};

/* Event kinds. Arguments in order; "str" arguments follow the integers.
 * Events without a P (the global buffer, P id -1) are allowed for every
 * kind; the analysis attributes them to no P. */
#define TRACE_EVENTS(X)                                                        \
  X(PROCS, 1, 0)          /* HLMAXPROCS value n */                           \
  X(PROC_START, 1, 0)     /* this P starts running on thread tid */          \
  X(PROC_STOP, 0, 0)      /* this P stops (idle) */                          \
  X(GO_CREATE, 1, 0)      /* goid created */                                 \
  X(GO_START, 1, 0)       /* goid starts running on this P */                \
  X(GO_YIELD, 1, 0)       /* goid yields (stays runnable) */                 \
  X(GO_BLOCK, 2, 0)       /* goid blocks, reason (TRACE_NAMES_BLOCK) */      \
  X(GO_UNBLOCK, 1, 0)     /* goid made runnable */                           \
  X(GO_END, 1, 0)         /* goid exits */                                   \
  X(GO_SYSCALL, 1, 0)     /* goid enters a system call (P left) */           \
  X(GO_SYSCALL_END, 1, 0) /* goid back from it (on this P or none) */        \
  X(GC_START, 1, 0)       /* GC cycle seq starts */                          \
  X(GC_END, 1, 0)         /* GC cycle seq ends */                            \
  X(STW_START, 1, 0)      /* world stopped, reason (TRACE_NAMES_STW) */      \
  X(STW_END, 0, 0)        /* world restarted */                              \
  X(MARK_START, 1, 0)     /* mark worker on this P, mode (TRACE_NAMES_MARK) */ \
  X(MARK_END, 0, 0)       /* that worker stops */                            \
  X(ASSIST_START, 0, 0)   /* mark assist by this P's goroutine */            \
  X(ASSIST_END, 0, 0)                                                        \
  X(SWEEP_START, 0, 0)    /* sweeping on this P */                           \
  X(SWEEP_END, 1, 0)      /* pages swept */                                  \
  X(HEAP_LIVE, 1, 0)      /* bytes */                                        \
  X(HEAP_GOAL, 1, 0)      /* bytes */                                        \
  X(HEAP_RSS, 1, 0)       /* bytes */                                        \
  X(REGION_BEGIN, 1, 1)   /* goid, name */                                   \
  X(REGION_END, 1, 1)     /* goid, name */                                   \
  X(LOG, 1, 2)            /* goid, category, message */

enum trace_ev {
  TRACE_EV_NONE = 0,
#define TRACE_X_(name, nargs, nstr) TRACE_EV_##name,
  TRACE_EVENTS(TRACE_X_)
#undef TRACE_X_
  TRACE_EV_COUNT_
};

#define TRACE_MAX_ARGS 3
#define TRACE_MAX_STRS 2

typedef struct trace_evinfo {
  const char *name;
  uint8_t nargs;
  uint8_t nstr;
} trace_evinfo_t;

/* Indexed by enum trace_ev (entry 0 unused). Defined in format.c. */
extern const trace_evinfo_t trace_evinfo[TRACE_EV_COUNT_];

/* Stop-the-world reasons (the collector passes these to trace_stw_start). */
enum trace_stw_reason {
  TRACE_STW_OTHER = 0,
  TRACE_STW_SWEEP_TERM,   /* GC: sweep termination */
  TRACE_STW_MARK_TERM,    /* GC: mark termination */
  TRACE_STW_GC_FORCED,    /* hl_gc() / HLDEBUG=gcstoptheworld */
  TRACE_STW_MAXPROCS,     /* changing the number of Ps */
  TRACE_STW_READ_STATS,   /* hl_gc_stats and the like */
  TRACE_STW_COUNT_
};

/* Mark worker modes (Go's gcMarkWorkerMode). */
enum trace_mark_mode {
  TRACE_MARK_DEDICATED = 0,
  TRACE_MARK_FRACTIONAL,
  TRACE_MARK_IDLE,
  TRACE_MARK_COUNT_
};

extern const char *const trace_stw_names[TRACE_STW_COUNT_];
extern const char *const trace_mark_names[TRACE_MARK_COUNT_];

/* ---- header ---- */

/* What a header holds (trace_header_encode). */
typedef struct trace_hdr {
  int clock; /* enum trace_clock */
  uint64_t tick0;
  int64_t mono0;
  uint64_t cal_ticks, cal_ns;
  int nprocs;
  int64_t pid;
  const char *(*block_name)(uint32_t); /* may be NULL */
  int nblock;
} trace_hdr_t;

/* Bytes a header may take at most. */
#define TRACE_HEADER_CAP (TRACE_MAX_HEADER + 16)
/* Encodes the whole header (magic, version, length, body with the block,
 * STW and mark name tables) into out (cap >= TRACE_HEADER_CAP); returns
 * its length, 0 if it does not fit. */
size_t trace_header_encode(uint8_t *out, size_t cap, const trace_hdr_t *h);

/* ---- varints (LEB128, 7 bits a byte, least significant first) ---- */

#define TRACE_VARINT_MAX 10

static inline uint8_t *trace_put_uvarint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

/* Decodes one uvarint from [p, end). Returns the bytes used, 0 when the
 * input ends inside it, -1 when it is longer than 10 bytes or overflows
 * 64 bits. */
static inline int trace_get_uvarint(const uint8_t *p, const uint8_t *end,
                                    uint64_t *out) {
  uint64_t v = 0;
  for (int i = 0; i < TRACE_VARINT_MAX; i++) {
    if (p + i >= end)
      return 0;
    uint8_t b = p[i];
    if (i == 9 && b > 1)
      return -1;
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *out = v;
      return i + 1;
    }
  }
  return -1;
}

#endif
