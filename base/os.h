/*
 * base/os.h — the OS contract. Every primitive states its preconditions;
 * the implementation lives in base/os_linux.c.
 *
 * Memory is reserved and committed in one step (MAP_NORESERVE): the kernel
 * backs pages when first touched, and os_decommit returns them (RSS drops,
 * the address range stays valid and reads back as zero).
 */
#ifndef HL_BASE_OS_H
#define HL_BASE_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* OS page size (4096 on x86-64 Linux). */
size_t os_page_size(void);
/* Number of CPUs available to this process (sched_getaffinity). */
int os_ncpu(void);

/* Maps size bytes of zeroed read-write memory aligned to align.
 * Pre: size and align are multiples of os_page_size(); align is a power
 * of two. Returns NULL (errno ENOMEM) on failure. */
void *os_map(size_t size, size_t align);
/* Maps guard + size bytes of zeroed memory whose first guard bytes are
 * inaccessible (PROT_NONE): a goroutine stack with its guard page below.
 * Returns the start of the whole mapping (the guard), or NULL (errno
 * ENOMEM). Counted like os_map (mapped bytes, fault injection); release it
 * with os_unmap(p, guard + size). Pre: both multiples of os_page_size(). */
void *os_map_guarded(size_t size, size_t guard);
/* Unmaps [p, p+size). Pre: the range came from os_map or os_map_guarded. */
void os_unmap(void *p, size_t size);
/* Returns the physical pages of [p, p+size) to the OS; the range stays
 * mapped and reads as zero afterwards (MADV_DONTNEED) or, with
 * madvdontneed=0, lazily (MADV_FREE: contents undefined until written).
 * Pre: p and size are multiples of os_page_size(). */
void os_decommit(void *p, size_t size);

/* Total bytes currently mapped through os_map and os_map_guarded. */
uint64_t os_mapped_bytes(void);

/* Fault injection (see os_linux.c and docs/hardening.md). The limits come
 * from HLDEBUG=failmmap=N,failthread=N,maplimit=SIZE until a test calls
 * os_fault_set, which replaces all three (0: off):
 *   failmmap    mapping attempts numbered >= failmmap fail with ENOMEM
 *   failthread  os_thread_start calls numbered >= failthread fail (-EAGAIN)
 *   maplimit    a mapping that would take os_mapped_bytes() above it fails
 * Numbers count from 1 at process start: to fail the next mapping and all
 * later ones, pass os_map_count() + 1. A test hook, not public API. */
void os_fault_set(uint64_t failmmap, uint64_t failthread, uint64_t maplimit);
/* Mapping attempts (os_map, os_map_guarded) made so far. */
uint64_t os_map_count(void);
/* Thread starts (os_thread_start) attempted so far. */
uint64_t os_thread_count(void);

/* Monotonic clock in nanoseconds. */
int64_t os_nanotime(void);
/* CPU time consumed by the calling thread, in nanoseconds. */
int64_t os_thread_cputime(void);
/* Sleeps for ns nanoseconds (may return early on a signal). */
void os_nanosleep(int64_t ns);
/* Resident set size of this process in bytes (from /proc/self/statm;
 * does not allocate). */
uint64_t os_rss_bytes(void);

/* futex_wait sleeps while *addr == val, at most timeout_ns (< 0: forever).
 * Returns 0 when woken or on a value mismatch, -ETIMEDOUT on timeout. */
int futex_wait(_Atomic uint32_t *addr, uint32_t val, int64_t timeout_ns);
/* Wakes up to n waiters on addr. */
void futex_wake(_Atomic uint32_t *addr, int n);

/* Starts a detached OS thread running fn(arg) with the given stack size
 * (0: default). Returns 0 or a negative errno. Signals are blocked in the
 * new thread. */
int os_thread_start(void *(*fn)(void *), void *arg, size_t stacksize);
/* Small integer id of the calling thread (gettid). */
int os_gettid(void);

#endif
