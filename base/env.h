/*
 * base/env.h — HLDEBUG and size/duration parsing.
 *
 * HLDEBUG is a comma-separated list of key=value settings, like GODEBUG:
 *   HLDEBUG=sbrk=1,scavdelay=500
 * Every key is known and every value is checked: an unknown key or a
 * malformed value is rejected with a message naming the variable, the key
 * and the accepted forms; the process then exits with status 2. Nothing is
 * silently ignored. Parsing never allocates (it runs inside malloc).
 *
 * Keys known today (later layers add theirs to the table in env.c):
 *   sbrk=0|1            bump-pointer allocation, free does nothing
 *   scavdelay=MS        free pages idle this long are returned to the OS
 *                       (0..3600000, default 1000)
 *   madvdontneed=0|1    release with MADV_DONTNEED (1, default) or
 *                       MADV_FREE (0)
 *   scavenger=0|1       run the background scavenger thread (default 1)
 *   stacksize=KIB       goroutine stack reservation (16..65536, default 256)
 *   schedtrace=MS       print a scheduler summary line every MS ms (0: off)
 *   scheddetail=0|1     with schedtrace: one line per P, M and goroutine
 *   gctrace=0|1         one line per collection on stderr (Go's fields)
 *   gccheckmark=0|1     re-mark under stop-the-world after every
 *                       concurrent mark and abort on a missed object
 *   gcstoptheworld=0|1  every collection fully stop-the-world
 *   gctrigger=PCT       a cycle never starts before the heap has gone PCT%
 *                       of the way from the marked heap to the goal
 *                       (0..95, default 30; Go's is 70: less floating
 *                       garbage, more assists; docs/gc.md)
 *   gcassistcap=PCT     assists take at most PCT% of an allocating
 *                       goroutine's CPU until the heap passes the goal,
 *                       then more, up to no cap at goal + 50% (0..100,
 *                       default 5; 0: uncapped, Go's; docs/gc.md)
 * Fault injection (base/os_linux.c; docs/hardening.md):
 *   failmmap=N          the Nth mapping the runtime makes (os_map,
 *                       os_map_guarded: heap arenas, metadata, goroutine
 *                       stacks, trace buffers), counted from 1 at process
 *                       start, fails with ENOMEM, and so does every later
 *                       one (0, the default: off)
 *   failthread=N        the Nth thread the runtime starts (os_thread_start)
 *                       fails with EAGAIN, and so does every later one
 *   maplimit=SIZE       a mapping that would take the bytes mapped by the
 *                       runtime above SIZE fails with ENOMEM (K/M/G/T
 *                       suffixes; 0, the default: no limit)
 */
#ifndef HL_BASE_ENV_H
#define HL_BASE_ENV_H

#include <stddef.h>
#include <stdint.h>

typedef struct hl_debug_vars {
  int sbrk;
  int64_t scavdelay_ms;
  int madvdontneed;
  int scavenger;
  int64_t stacksize_kib;
  int64_t schedtrace_ms;
  int scheddetail;
  int gctrace;
  int gccheckmark;
  int gcstoptheworld;
  int64_t gctrigger;
  int64_t gcassistcap;
  int64_t failmmap;
  int64_t failthread;
  uint64_t maplimit;
} hl_debug_vars_t;

/* The process-wide settings, filled by hl_env_init(). */
extern hl_debug_vars_t hl_debug;

/* Sets *out to the defaults. */
void hl_debug_defaults(hl_debug_vars_t *out);

/* Parses an HLDEBUG string into *out (which keeps values for keys the
 * string does not mention). Returns 0, or -1 with a one-line message in
 * err (naming the key and the accepted forms). Never allocates. */
int hl_debug_parse(const char *s, hl_debug_vars_t *out, char *err,
                   size_t errlen);

/* Parses HLDEBUG from the environment once (idempotent, thread-safe).
 * On error prints "heaplab: HLDEBUG: <message>" and exits with status 2. */
void hl_env_init(void);

/* Parses a byte size: a decimal integer with an optional unit B, KiB, MiB,
 * GiB, TiB (also K/M/G/T, KB/MB/GB/TB taken as powers of 1024). Returns 0 or
 * -1 (malformed or overflow). */
int hl_parse_size(const char *s, uint64_t *out);

/* Parses a non-negative decimal integer in [min, max]. Returns 0 or -1. */
int hl_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
